-- clients: registered OAuth clients (RFC 6749 §2). The configured default client
-- (default_client.* in the configuration) is not stored here: it always exists, public,
-- with the password and refresh_token grants.
create table clients (
    -- the client_id (RFC 6749 §2.2): 1-128 visible ASCII characters
    id             text primary key,
    -- confidential clients authenticate with a secret; public ones never present one
    kind           text not null check (kind in ('public', 'confidential')),
    -- SHA-256 of the secret (a random string of at least 32 characters, so a fast digest
    -- compared in constant time is enough); the secret itself is never stored
    secret_sha256  bytea check (octet_length(secret_sha256) = 32),
    -- RFC 6749 grant_type values the client may use
    grants         text[] not null,
    -- the `aud` of its access tokens
    audiences      text[] not null,
    -- scopes it may request, and those it gets when it requests none
    scopes         text[] not null default '{}',
    default_scopes text[] not null default '{}',
    created_at     timestamptz not null,
    updated_at     timestamptz not null,
    check ((kind = 'confidential') = (secret_sha256 is not null))
);

-- instances poll this to notice clients added or removed elsewhere
create index clients_updated_at on clients (updated_at);
