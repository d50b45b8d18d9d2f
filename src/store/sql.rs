//! SQL text that Postgres and SQLite both run as written (`$N` placeholders, which
//! sqlx's SQLite driver accepts): written once, bound per dialect by `postgres.rs` and
//! `sqlite.rs` (see the decision in `store/mod.rs`).

/// The columns of a user row, in the order both row types expect.
pub(super) const USER_COLUMNS: &str = "id, username, password_hash, roles, disabled, email, \
     email_verified, name, given_name, family_name, password_changed_at, created_at, updated_at";
