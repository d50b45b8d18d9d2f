-- client secret rotation (admin-api.md §2, `POST /admin/v1/clients/{id}/secret`): the
-- secret a rotation replaced keeps working until `previous_secret_expires_at`
-- (`clients.previous_secret_ttl` after the rotation) or until it is removed. Both are
-- null when there is none; only a confidential client can have one (the service
-- guarantees it: SQLite cannot add a table constraint to an existing table).

-- SHA-256 of the replaced secret, compared in constant time like secret_sha256
alter table clients add column previous_secret_sha256 blob
    check (previous_secret_sha256 is null or length(previous_secret_sha256) = 32);
-- RFC 3339 text in UTC
alter table clients add column previous_secret_expires_at text;

-- (Postgres switches clients.id to the "C" collation here so that the admin API's
-- keyset listing orders ids byte by byte; SQLite's binary collation already does.)

-- audit_events.event gains client_updated, client_secret_rotated and
-- client_previous_secret_removed.
