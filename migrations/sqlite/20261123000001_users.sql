-- users: everyone who can log in with a password.
create table users (
    -- uuid in its hyphenated text form
    id                  text primary key,
    -- the login name in normalized form (NFKC, lowercase); unique so two
    -- spellings of one name cannot become two accounts
    username            text not null unique,
    -- argon2id hash in PHC string format: $argon2id$v=19$m=...,t=...,p=...$salt$hash
    password_hash       text not null,
    -- coarse roles copied into access tokens, as a JSON array of strings
    roles               text not null default '[]',
    -- a disabled user cannot log in and their sessions are revoked (0 or 1)
    disabled            integer not null default 0 check (disabled in (0, 1)),
    -- times as RFC 3339 text in UTC
    password_changed_at text not null,
    created_at          text not null,
    updated_at          text not null
);
