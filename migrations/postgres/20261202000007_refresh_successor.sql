-- successor_hash: the SHA-256 of the refresh token that replaced this one when it was
-- consumed by a rotation (null while unused, and for tokens consumed by a revocation).
-- Set by the rotation statement itself. (SQLite adds a trigger here that stores the
-- successor; Postgres does it in the rotation's data-modifying CTE.)
alter table refresh_tokens add column successor_hash bytea;
