//! SQL text that Postgres and SQLite both run as written (`$N` placeholders, which
//! sqlx's SQLite driver accepts): written once, bound per dialect by `postgres.rs` and
//! `sqlite.rs` (see the decision in `store/mod.rs`).

/// The columns of a user row, in the order both row types expect.
pub(super) const USER_COLUMNS: &str = "id, username, password_hash, roles, disabled, email, \
     email_verified, name, given_name, family_name, password_changed_at, created_at, updated_at";

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
