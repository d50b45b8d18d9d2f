-- successor_hash: the SHA-256 of the refresh token that replaced this one when it was
-- consumed by a rotation (null while unused, and for tokens consumed by a revocation).
alter table refresh_tokens add column successor_hash blob;

-- The rotation of a live refresh token is one statement on SQLite: the conditional update
-- that consumes the token names its successor, and this trigger, inside that same
-- statement (so atomically with it), stores the successor and touches the family.
-- One statement is one hand-off to the database thread instead of six, which was most of
-- a refresh's cost. It fires only when the update both consumes the token and names a
-- successor; an update that only records a successor after the fact fires nothing.
create trigger refresh_tokens_rotate
after update of consumed_at on refresh_tokens
when old.consumed_at is null and new.consumed_at is not null and new.successor_hash is not null
begin
    insert into refresh_tokens (token_hash, family_id, created_at)
    values (new.successor_hash, new.family_id, new.consumed_at);
    update refresh_families set last_used_at = new.consumed_at where id = new.family_id;
end;
