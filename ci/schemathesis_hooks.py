"""schemathesis extension hooks for authd (loaded by ci/schemathesis.sh through
SCHEMATHESIS_HOOKS): how an `application/x-ndjson` body goes on the wire. The import
route documents its body as a string (one JSON object per line); it is sent as that
string's UTF-8 bytes, exactly like `text/plain`."""

import schemathesis

schemathesis.serializer.alias("application/x-ndjson", "text/plain")
