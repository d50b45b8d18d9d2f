-- client secret rotation (admin-api.md §2, `POST /admin/v1/clients/{id}/secret`): the
-- secret a rotation replaced keeps working until `previous_secret_expires_at`
-- (`clients.previous_secret_ttl` after the rotation) or until it is removed. Both are
-- null when there is none; only a confidential client can have one.
alter table clients
    -- SHA-256 of the replaced secret, compared in constant time like secret_sha256
    add column previous_secret_sha256     bytea check (octet_length(previous_secret_sha256) = 32),
    add column previous_secret_expires_at timestamptz,
    add constraint clients_previous_secret_whole
        check ((previous_secret_sha256 is null) = (previous_secret_expires_at is null)),
    add constraint clients_previous_secret_confidential
        check (previous_secret_sha256 is null or kind = 'confidential');

-- the admin API lists clients by id with a keyset cursor (`where id > $1 order by id`),
-- and merges the configured default client into that order: ids compare byte by byte, as
-- SQLite's binary collation does, whatever the database's locale.
alter table clients alter column id type text collate "C";

-- audit_events.event gains client_updated, client_secret_rotated and
-- client_previous_secret_removed.
