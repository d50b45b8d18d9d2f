-- user profile members (admin-api.md §2), all optional: the OpenID Connect standard
-- claims of the same names (OIDC Core §5.1), for ID tokens and the admin API. None is
-- unique: two accounts may share an address (e.g. a person's work and test accounts).
alter table users
    -- an address as given, its domain lowercased; checked by the application
    -- (RFC 5321 length limits, one @)
    add column email          text,
    -- whether someone proved they receive mail at `email`; set by the operator or an
    -- application, never by authd guessing
    add column email_verified boolean not null default false,
    -- full name for display, and its parts as the user writes them
    add column name           text,
    add column given_name     text,
    add column family_name    text;

-- audit_events.event gains user_deleted (`authd user delete`): the event keeps the
-- deleted user's id, which no longer joins to a username.
