-- idempotency_keys: the first response to a create sent with an `Idempotency-Key`
-- (admin-api.md §1), so that a retry by the same caller with the same key and body within
-- 24 h gets that response again instead of creating a second object. Shared by every
-- instance: a request claims its key by inserting the row (the primary key lets one
-- insert win), and the winner stores its response when it is done.
create table idempotency_keys (
    -- who sent it: `client:<client_id>` for the admin API, `addr:<address>` for
    -- self-registration; two callers never share a key
    caller         text not null,
    -- the header's value: 1-255 visible ASCII characters
    key            text not null,
    -- SHA-256 of the method, path and body of the first request: a retry must match it
    request_sha256 blob not null check (length(request_sha256) = 32),
    -- in_progress while the first request runs; done once its response is stored
    state          text not null check (state in ('in_progress', 'done')),
    -- the stored response (only a success is stored: a failure releases the claim)
    status         integer,
    body           blob,
    location       text,
    -- times as RFC 3339 text in UTC
    created_at     text not null,
    -- created_at + 24 h; expired rows are deleted by the hourly pruning
    expires_at     text not null,
    primary key (caller, key)
);

create index idempotency_keys_expires_at on idempotency_keys (expires_at);
