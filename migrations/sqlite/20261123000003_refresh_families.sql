-- refresh_families: one per login (the `sid` claim). A family dies as a whole: on reuse
-- of a consumed token, logout, revocation, its user being disabled or changing password,
-- or when it passes its idle or absolute lifetime.
create table refresh_families (
    -- uuid in its hyphenated text form
    id             text primary key,
    user_id        text not null references users (id) on delete cascade,
    client_id      text not null,
    -- space-separated scopes granted at login; every rotation keeps them
    scope          text not null default '',
    -- times as RFC 3339 text in UTC
    created_at     text not null,
    last_used_at   text not null,
    -- absolute end: created_at + tokens.refresh_absolute_ttl
    expires_at     text not null,
    revoked_at     text,
    -- reuse | logout | revoked | user_disabled | password_changed | expired | client_removed
    revoked_reason text
);

create index refresh_families_user on refresh_families (user_id);

-- refresh_tokens: every refresh token ever issued, by the SHA-256 of its value (the value
-- itself is never stored). A token is single use: consumed_at is set by the one
-- conditional update that wins.
create table refresh_tokens (
    token_hash  blob primary key,
    family_id   text not null references refresh_families (id) on delete cascade,
    created_at  text not null,
    consumed_at text
);

create index refresh_tokens_family on refresh_tokens (family_id);

-- revocations: the durable record of revoked access tokens, by jti or by family (sid).
-- The revocation caches (in process or Redis) are rebuilt from it, so a restart of authd
-- or of Redis never brings a revoked token back. A row is only needed until every token
-- it kills has expired (expires_at), and is pruned after that.
create table revocations (
    kind       text not null check (kind in ('jti', 'sid')),
    value      text not null,
    expires_at text not null,
    revoked_at text not null,
    primary key (kind, value)
);

create index revocations_revoked_at on revocations (revoked_at);
