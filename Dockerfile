# authd container image.
#
# Kept to what both the legacy builder and BuildKit accept offline: no `# syntax=` line
# (BuildKit would try to pull the frontend image) and no `RUN --mount` (legacy builder
# rejects it). Both stages are Debian bookworm, so the glibc the binary links against in
# the builder is the one it runs against.

# ---------------------------------------------------------------------------------------
# Builder
# ---------------------------------------------------------------------------------------
FROM rust:1.95-slim-bookworm AS builder

WORKDIR /build

# Dependency-cache layer: build every dependency against stub sources, so editing src/
# does not recompile the whole dependency tree. Cargo refuses to parse the manifest
# unless every explicitly declared target path exists (`path = "..."` of [lib], [[bin]],
# [[test]], [[bench]], [[example]]), so each gets a stub; the ones outside src/ are never
# compiled by `cargo build`. Auto-discovered targets (examples/, tests/) are simply absent
# (.dockerignore).
#
# The repository is a Cargo workspace: the server at the root and the authd-verify library
# in verify/. The image builds only the server (`-p authd`), but Cargo loads every member's
# manifest, so verify/Cargo.toml comes along with stubs for its targets; its sources and
# its dependencies never reach the image.
COPY Cargo.toml Cargo.lock ./
COPY verify/Cargo.toml verify/
RUN mkdir -p src verify/src \
    && printf 'fn main() {}\n' > src/main.rs \
    && : > src/lib.rs \
    && : > verify/src/lib.rs \
    && for m in . verify; do \
        for p in $(sed -n 's/^[[:space:]]*path[[:space:]]*=[[:space:]]*"\([^"]*\.rs\)".*/\1/p' "$m/Cargo.toml"); do \
            [ -e "$m/$p" ] || { mkdir -p "$(dirname "$m/$p")" && printf 'fn main() {}\n' > "$m/$p"; }; \
        done; \
    done \
    && cargo build --release --locked -p authd \
    && rm -rf src

# The real sources. migrations/ and config/ are embedded at compile time
# (sqlx::migrate! and the compiled-in defaults), so they belong to the build too.
COPY src/ src/
COPY migrations/ migrations/
COPY config/ config/

# COPY keeps the files' original mtimes, which can be older than the stub build above;
# drop the crate's own fingerprints so cargo cannot mistake the stub artifacts for
# up-to-date ones and ship an empty binary.
RUN rm -rf target/release/.fingerprint/authd-* \
    && cargo build --release --locked -p authd \
    && strip target/release/authd

# ---------------------------------------------------------------------------------------
# Runtime
# ---------------------------------------------------------------------------------------
FROM debian:bookworm-slim

# ca-certificates: outbound TLS (e.g. a managed Postgres/Redis with TLS).
RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates \
    && rm -rf /var/lib/apt/lists/*

# Fixed uid/gid so a mounted keys volume or secret can be chowned to match from outside.
# -l (--no-log-init) avoids a huge sparse /var/log/lastlog for a high uid.
RUN groupadd --system --gid 10001 authd \
    && useradd --system --uid 10001 --gid authd -l \
        --home-dir /var/lib/authd --no-create-home --shell /usr/sbin/nologin authd \
    && mkdir -p /var/lib/authd/data /var/lib/authd/keys \
    && chown -R authd:authd /var/lib/authd \
    && chmod 0750 /var/lib/authd/data \
    && chmod 0700 /var/lib/authd/keys

COPY --from=builder /build/target/release/authd /usr/local/bin/authd

# Relative defaults resolve under this directory: database.url = sqlite://data/authd.db
# and keys.dir = keys. Private keys are never baked into the image: keys/ is empty here and
# is meant to be a mounted volume or secret (an empty named volume inherits the 0700
# authd-owned directory above). With an empty keys/, `authd serve` creates a key.
WORKDIR /var/lib/authd
# Numeric, so runtimes that enforce "run as non-root" (e.g. Kubernetes runAsNonRoot) can
# verify it without reading /etc/passwd.
USER 10001:10001

ENV AUTHD__SERVER__BIND=0.0.0.0:8080
EXPOSE 8080

# authd handles SIGTERM itself (graceful shutdown), so it can run as PID 1.
# No HEALTHCHECK: the image has no curl; orchestrators probe GET /healthz and /readyz.
ENTRYPOINT ["/usr/local/bin/authd"]
CMD ["serve"]
