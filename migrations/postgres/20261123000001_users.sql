-- users: everyone who can log in with a password.
create table users (
    id                  uuid primary key,
    -- the login name in normalized form (NFKC, lowercase); unique so two
    -- spellings of one name cannot become two accounts
    username            text not null unique,
    -- argon2id hash in PHC string format: $argon2id$v=19$m=...,t=...,p=...$salt$hash
    password_hash       text not null,
    -- coarse roles copied into access tokens
    roles               text[] not null default '{}',
    -- a disabled user cannot log in and their sessions are revoked
    disabled            boolean not null default false,
    password_changed_at timestamptz not null,
    created_at          timestamptz not null,
    updated_at          timestamptz not null
);
