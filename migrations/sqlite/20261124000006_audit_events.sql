-- audit_events: the security trail an operator reads with `authd audit list`. Who did
-- what, when and from where; never a password, secret, token or a username that does
-- not exist. Rows are deleted after `audit.retention`.
create table audit_events (
    id          integer primary key autoincrement,
    -- RFC 3339 text in UTC
    occurred_at text not null,
    -- login_succeeded | login_failed | login_throttled | refresh_reuse | family_revoked |
    -- logout | token_revoked | user_added | user_disabled | user_enabled |
    -- password_changed | client_added | client_removed | key_created | key_rotated |
    -- key_removed
    event       text not null,
    -- no foreign keys: the trail outlives the users, clients and keys it names
    user_id     text,
    client_id   text,
    sid         text,
    jti         text,
    source      text,
    -- a short fixed-vocabulary note: a revocation reason, a kid, a count
    detail      text
);

create index audit_events_occurred_at on audit_events (occurred_at);
create index audit_events_user on audit_events (user_id, occurred_at);
