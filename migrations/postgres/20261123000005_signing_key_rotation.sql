-- Rotation (spec §5): a key is created as 'next' (published, not signing), becomes
-- 'active' after keys.prepublish, and is 'retired' when the next one takes over; retired
-- rows are deleted once nothing they signed can still be valid. At most one key waits as
-- 'next', so two instances running a scheduled rotation at the same moment create one
-- key: the second insert is a unique violation, and its key file is discarded.
create unique index signing_keys_one_next on signing_keys (state) where state = 'next';
