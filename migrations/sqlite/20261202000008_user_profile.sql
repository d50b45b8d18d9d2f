-- user profile members (admin-api.md §2), all optional: the OpenID Connect standard
-- claims of the same names (OIDC Core §5.1), for ID tokens and the admin API. None is
-- unique: two accounts may share an address (e.g. a person's work and test accounts).

-- an address as given, its domain lowercased; checked by the application
-- (RFC 5321 length limits, one @)
alter table users add column email text;
-- whether someone proved they receive mail at `email` (0 or 1); set by the operator or
-- an application, never by authd guessing
alter table users add column email_verified integer not null default 0
    check (email_verified in (0, 1));
-- full name for display, and its parts as the user writes them
alter table users add column name text;
alter table users add column given_name text;
alter table users add column family_name text;

-- audit_events.event gains user_deleted (`authd user delete`): the event keeps the
-- deleted user's id, which no longer joins to a username.
