//! SQL text that Postgres and SQLite both run as written (`$N` placeholders, which
//! sqlx's SQLite driver accepts): written once, bound per dialect by `postgres.rs` and
//! `sqlite.rs` (see the decision in `store/mod.rs`).

/// The columns of a user row, in the order both row types expect.
pub(super) const USER_COLUMNS: &str = "id, username, password_hash, roles, disabled, email, \
     email_verified, name, given_name, family_name, password_changed_at, created_at, updated_at";

// ---- sessions (admin-api.md §2, §3): a session is a live refresh family ----

/// A user's live sessions: not revoked, within their absolute lifetime ($2 = now) and
/// used since $3 (now − idle TTL); newest first.
pub(super) const LIVE_SESSIONS: &str = "select id, user_id, client_id, scope, created_at, \
     last_used_at, expires_at, revoked_at, revoked_reason
     from refresh_families
     where user_id = $1 and revoked_at is null and expires_at > $2 and last_used_at > $3
     order by created_at desc, id";

/// Ends one live session ($2 = now, $3 = reason, $4 = now − idle TTL) and returns it;
/// no row when it is unknown or had already ended.
pub(super) const END_SESSION: &str = "update refresh_families
     set revoked_at = $2, revoked_reason = $3
     where id = $1 and revoked_at is null and expires_at > $2 and last_used_at > $4
     returning id, user_id, client_id, scope, created_at, last_used_at, expires_at, \
     revoked_at, revoked_reason";

/// `END_SESSION` only when the session is user $5's.
pub(super) const END_OWN_SESSION: &str = "update refresh_families
     set revoked_at = $2, revoked_reason = $3
     where id = $1 and revoked_at is null and expires_at > $2 and last_used_at > $4
       and user_id = $5
     returning id, user_id, client_id, scope, created_at, last_used_at, expires_at, \
     revoked_at, revoked_reason";

/// Ends every session of user $1 but $4 (the nil uuid when none is kept); returns their
/// ids.
pub(super) const END_USER_SESSIONS: &str = "update refresh_families
     set revoked_at = $2, revoked_reason = $3
     where user_id = $1 and revoked_at is null and id <> $4
     returning id";

/// Whether user $1 exists (a count, which decodes alike on both databases).
pub(super) const USER_EXISTS: &str = "select count(*) from users where id = $1";

/// Sets user $1's password hash at $3.
pub(super) const SET_PASSWORD_BY_ID: &str = "update users
     set password_hash = $2, password_changed_at = $3, updated_at = $3
     where id = $1";

// ---- Idempotency-Key (admin-api.md §1) ----

/// Deletes caller $1's key $2 when it expired ($3 = now) or its first request has been
/// in progress since before $4 (it died without releasing its claim).
pub(super) const IDEMPOTENCY_DROP_STALE: &str = "delete from idempotency_keys
     where caller = $1 and key = $2
       and (expires_at <= $3 or (state = 'in_progress' and created_at <= $4))";

/// Claims a key: of concurrent claims of one (caller, key), one insert wins.
pub(super) const IDEMPOTENCY_CLAIM: &str = "insert into idempotency_keys
     (caller, key, request_sha256, state, created_at, expires_at)
     values ($1, $2, $3, 'in_progress', $4, $5)
     on conflict (caller, key) do nothing";

pub(super) const IDEMPOTENCY_GET: &str =
    "select request_sha256, state, status, body, location from idempotency_keys
     where caller = $1 and key = $2";

/// Stores the response of a claimed key.
pub(super) const IDEMPOTENCY_COMPLETE: &str = "update idempotency_keys
     set state = 'done', status = $3, body = $4, location = $5
     where caller = $1 and key = $2 and state = 'in_progress'";

/// Releases a claim whose request failed: a retry runs again.
pub(super) const IDEMPOTENCY_RELEASE: &str = "delete from idempotency_keys
     where caller = $1 and key = $2 and state = 'in_progress'";

pub(super) const IDEMPOTENCY_PRUNE: &str = "delete from idempotency_keys where expires_at <= $1";
/// The columns of a client row, in the order both row types expect.
pub(super) const CLIENT_COLUMNS: &str = "id, kind, secret_sha256, grants, audiences, scopes, \
     default_scopes, created_at, updated_at, previous_secret_sha256, previous_secret_expires_at";

/// Rotation: the current secret becomes the previous one, in one statement (a
/// concurrent rotation cannot lose a secret between a read and a write).
pub(super) const ROTATE_CLIENT_SECRET: &str = "update clients
     set previous_secret_sha256 = secret_sha256, previous_secret_expires_at = $3,
         secret_sha256 = $2, updated_at = $4
     where id = $1 and kind = 'confidential'";

/// Forgets a previous secret that still works (an expired one is already gone).
pub(super) const REMOVE_PREVIOUS_CLIENT_SECRET: &str = "update clients
     set previous_secret_sha256 = null, previous_secret_expires_at = null, updated_at = $2
     where id = $1 and previous_secret_expires_at > $2";

/// A merge patch's result, written only over the version the patch was computed from.
pub(super) const UPDATE_CLIENT: &str = "update clients
     set audiences = $2, grants = $3, scopes = $4, default_scopes = $5, updated_at = $6
     where id = $1 and updated_at = $7";
