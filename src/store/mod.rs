//! The storage seam: one trait, one implementation per database. This is the only
//! module that imports sqlx. Each method is one business operation with its
//! transaction inside; rules like "exactly one active key" live in SQL, not in Rust.
//!
//! ## How an operation is written once (issue #14, decided before the admin API doubled it)
//!
//! Evidence, counted over `postgres.rs` and `sqlite.rs` before the admin API: 41 SQL
//! statements each, 34 of them identical but for the placeholder spelling (`$1` against
//! `?1`). sqlx's SQLite driver accepts `$N` placeholders, so the text can be shared. What
//! differs is small and sits in two places: how values are represented (Postgres `uuid`,
//! `text[]`, `bytea`, `timestamptz`; SQLite `text` ids, JSON-text arrays, `blob`) and how
//! writes are serialised (Postgres row locks and single-statement CTEs; SQLite one writer
//! connection with `begin immediate`). The hot path (refresh rotation) is a deliberately
//! different single statement per dialect.
//!
//! Decision: **one SQL text, per-dialect binding.** A statement that both dialects run
//! as written lives once in `sql.rs` as a `pub(super) const` with `$N` placeholders;
//! each backend binds its own representation of the values and maps rows to the domain
//! types here. A statement only lives in a backend file when the dialects really differ
//! (a CTE, `for update`, a type cast), with a comment saying why. Rules that are not SQL
//! (cursor encoding, limits, validation) live above the store, once.
//!
//! Applied: after the admin API, `sql.rs` holds 44 statements and statement builders
//! that each backend uses 41 times; each backend keeps 17 statements of its own, the
//! dialect-specific ones (refresh rotation, array and JSON filters, bulk inserts) and
//! a few `format!`s around the shared column lists.
//!
//! Not chosen: a query builder such as `sea-query` — a new dependency and a second
//! language for the 34 statements that already agree, while it does not remove the two
//! real differences (types, write serialisation), which would still be written per
//! dialect; and one implementation generic over `sqlx::Database` — the `Encode`/`Decode`
//! bounds differ exactly for the types above (`Uuid`, `Vec<String>`), so every generic
//! function would carry wrapper types and per-dialect trait bounds, more code than the
//! binding it saves. Both databases stay first-class: every integration test runs on
//! SQLite by default and on Postgres + Redis in CI.
//!
//! The types a store speaks are below it: value types and `Client` in `domain/`, the
//! audit trail's records in `audit_trail.rs`. The store imports nothing from the services
//! that use it (`audit`, `clients`, `keys`), which re-export those types where their
//! callers always found them.

mod audit_trail;
mod postgres;
mod sql;
mod sqlite;

use std::fmt;
use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::config::{DatabaseKind, DatabaseSettings};
use crate::domain::{
    Algorithm, Client, ClientId, Email, GrantType, ImportedHash, Kid, PersonName, PreviousSecret,
    Role, Scopes, SecretDigest, Username,
};

pub use audit_trail::{
    AuditCursor, AuditEvent, AuditPageQuery, AuditQuery, AuditRecord, EventKind,
};
pub use postgres::PgStore;
pub use sqlite::SqliteStore;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A unique constraint refused the write (e.g. the username is taken).
    #[error("already exists")]
    Conflict,
    /// The database could not be reached or timed out: callers answer 503.
    #[error("database unavailable")]
    Unavailable(#[source] sqlx::Error),
    /// Anything else: a bug or a schema problem.
    #[error("database error")]
    Other(#[source] anyhow::Error),
}

impl From<sqlx::Error> for StoreError {
    fn from(e: sqlx::Error) -> Self {
        match &e {
            sqlx::Error::Database(db) if db.is_unique_violation() => Self::Conflict,
            sqlx::Error::Database(db) if sqlite_busy(db.as_ref()) => Self::Unavailable(e),
            sqlx::Error::Io(_)
            | sqlx::Error::PoolTimedOut
            | sqlx::Error::PoolClosed
            | sqlx::Error::WorkerCrashed
            | sqlx::Error::Tls(_) => Self::Unavailable(e),
            _ => Self::Other(e.into()),
        }
    }
}

/// SQLite's BUSY (5, with its extended codes) and LOCKED (6): the file stayed locked past
/// the busy timeout, a transient condition like a pool timeout (503, not 500).
fn sqlite_busy(db: &dyn sqlx::error::DatabaseError) -> bool {
    db.try_downcast_ref::<sqlx::sqlite::SqliteError>().is_some()
        && db
            .code()
            .and_then(|c| c.parse::<i32>().ok())
            .is_some_and(|code| matches!(code & 0xff, 5 | 6))
}

impl From<sqlx::migrate::MigrateError> for StoreError {
    fn from(e: sqlx::migrate::MigrateError) -> Self {
        match e {
            sqlx::migrate::MigrateError::Execute(inner) => inner.into(),
            other => Self::Other(other.into()),
        }
    }
}

/// A stored password hash: an argon2id PHC string authd made, or an imported hash
/// (`ImportedHash`) until its user's first login rewrites it as argon2id. Not secret like
/// a password, but never printed or logged.
/// The id of a new user: a UUIDv7 (RFC 9562 §5.7), time-ordered, so new rows land at
/// the end of the primary-key index instead of on a random page of it. With a million
/// users, random (v4) ids made an SQLite import 2.6x slower (BENCHMARKS.md). It keeps
/// 74 random bits (ids are names, never capabilities), and reveals the account's
/// creation time to the millisecond to whoever sees it, e.g. in a token's `sub`
/// (docs/SECURITY.md).
pub fn new_user_id() -> Uuid {
    Uuid::now_v7()
}

#[derive(Clone, PartialEq, Eq)]
pub struct PasswordHash(pub String);

impl From<ImportedHash> for PasswordHash {
    /// Stored as imported: the verifier reads the same string.
    fn from(hash: ImportedHash) -> Self {
        Self(hash.into_string())
    }
}

impl fmt::Debug for PasswordHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("PasswordHash([redacted])")
    }
}

#[derive(Debug, Clone)]
pub struct User {
    pub id: Uuid,
    pub username: String,
    pub password_hash: PasswordHash,
    pub roles: Vec<String>,
    pub disabled: bool,
    /// Profile members as stored (validated when written; not re-parsed on each read so
    /// a later, stricter rule cannot lock an existing user out).
    pub email: Option<String>,
    pub email_verified: bool,
    pub name: Option<String>,
    pub given_name: Option<String>,
    pub family_name: Option<String>,
    pub password_changed_at: DateTime<Utc>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Debug, Clone)]
pub struct NewUser {
    pub username: Username,
    pub password_hash: PasswordHash,
    pub roles: Vec<Role>,
    /// Created disabled (an import of accounts that were disabled elsewhere).
    pub disabled: bool,
    pub profile: Profile,
}

/// Which users a page holds (admin-api.md §1, §2 `GET /users`): ordered by username,
/// those after `after` (the last username of the previous page) that match every filter
/// given, at most `limit`.
#[derive(Debug, Clone, Default)]
pub struct UsersQuery {
    pub after: Option<String>,
    /// Names starting with this (a prefix of a valid name is a valid name).
    pub username_prefix: Option<Username>,
    pub role: Option<Role>,
    pub disabled: Option<bool>,
    pub limit: u32,
}

/// Every mutable member of a user, as it is to be after a change (a merge patch applied
/// to the version read): all but the username, the password and the times.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserChanges {
    pub roles: Vec<String>,
    pub disabled: bool,
    pub email: Option<String>,
    pub email_verified: bool,
    pub name: Option<String>,
    pub given_name: Option<String>,
    pub family_name: Option<String>,
}

impl From<&User> for UserChanges {
    fn from(user: &User) -> Self {
        Self {
            roles: user.roles.clone(),
            disabled: user.disabled,
            email: user.email.clone(),
            email_verified: user.email_verified,
            name: user.name.clone(),
            given_name: user.given_name.clone(),
            family_name: user.family_name.clone(),
        }
    }
}

/// The optional profile members of a user (admin-api.md §2), validated.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Profile {
    pub email: Option<Email>,
    pub email_verified: bool,
    pub name: Option<PersonName>,
    pub given_name: Option<PersonName>,
    pub family_name: Option<PersonName>,
}

/// A refresh-token family: one login's session, the `sid` of its access tokens.
#[derive(Debug, Clone)]
pub struct Family {
    pub id: Uuid,
    pub user_id: Uuid,
    pub client_id: String,
    pub scope: String,
    pub created_at: DateTime<Utc>,
    pub last_used_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub revoked_at: Option<DateTime<Utc>>,
    pub revoked_reason: Option<String>,
}

impl Family {
    /// Why a family that is not revoked yet must end at `now`, if it must: past its
    /// absolute lifetime or `idle_ttl` since last use, or its user is disabled.
    pub fn end_reason(
        &self,
        now: DateTime<Utc>,
        idle_ttl: chrono::Duration,
        user_disabled: bool,
    ) -> Option<RevokeReason> {
        if now >= self.expires_at || now >= self.last_used_at + idle_ttl {
            Some(RevokeReason::Expired)
        } else if user_disabled {
            Some(RevokeReason::UserDisabled)
        } else {
            None
        }
    }
}

/// Why a family was revoked; stored as text in `refresh_families.revoked_reason`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RevokeReason {
    Reuse,
    Logout,
    Revoked,
    UserDisabled,
    PasswordChanged,
    Expired,
    ClientRemoved,
    UserDeleted,
}

impl RevokeReason {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Reuse => "reuse",
            Self::Logout => "logout",
            Self::Revoked => "revoked",
            Self::UserDisabled => "user_disabled",
            Self::PasswordChanged => "password_changed",
            Self::Expired => "expired",
            Self::ClientRemoved => "client_removed",
            Self::UserDeleted => "user_deleted",
        }
    }
}

/// When revoking: the time, and until when a family's `sid` entry must be kept (every
/// access token of the family was issued before `at`, so it expires by then).
#[derive(Debug, Clone, Copy)]
pub struct Revoking {
    pub at: DateTime<Utc>,
    pub sid_expires_at: DateTime<Utc>,
    pub reason: RevokeReason,
}

/// The outcome of presenting a refresh token.
#[derive(Debug)]
pub enum Rotation {
    /// The token was live and is now consumed; its successor is stored.
    Rotated(Family),
    /// No such token.
    Unknown,
    /// The token had been consumed before: its family is now revoked.
    Reused(Family),
    /// The token was live but its family had ended (revoked, expired, user disabled).
    Ended(Family),
}

/// A request claiming an `Idempotency-Key` (admin-api.md §1).
#[derive(Debug, Clone)]
pub struct IdempotencyClaim<'a> {
    pub caller: &'a str,
    pub key: &'a str,
    /// SHA-256 of the request's method, path and body.
    pub request_sha256: [u8; 32],
    pub now: DateTime<Utc>,
    /// When the key may be used for another request (now + 24 h).
    pub expires_at: DateTime<Utc>,
    /// A claim still in progress since before this is taken over: its request died.
    pub stale_before: DateTime<Utc>,
}

/// A stored response: the first answer to a key, replayed to its retries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredResponse {
    pub status: u16,
    pub body: Vec<u8>,
    pub location: Option<String>,
}

/// What claiming an `Idempotency-Key` found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClaimOutcome {
    /// This request holds the key: it runs, then completes or releases it.
    Claimed,
    /// The key's first request is still running.
    InProgress { request_sha256: Vec<u8> },
    /// The key's first request is done: its response.
    Done {
        request_sha256: Vec<u8>,
        response: StoredResponse,
    },
}

/// The `idempotency_keys` row; the same column types decode on both databases.
#[derive(sqlx::FromRow)]
struct IdempotencyRow {
    request_sha256: Vec<u8>,
    state: String,
    status: Option<i32>,
    body: Option<Vec<u8>>,
    location: Option<String>,
}

impl TryFrom<IdempotencyRow> for ClaimOutcome {
    type Error = StoreError;

    fn try_from(r: IdempotencyRow) -> Result<Self, StoreError> {
        match (r.state.as_str(), r.status, r.body) {
            ("in_progress", _, _) => Ok(Self::InProgress {
                request_sha256: r.request_sha256,
            }),
            ("done", Some(status), Some(body)) => Ok(Self::Done {
                request_sha256: r.request_sha256,
                response: StoredResponse {
                    status: u16::try_from(status)
                        .map_err(|e| StoreError::Other(anyhow::anyhow!(e)))?,
                    body,
                    location: r.location,
                },
            }),
            (state, _, _) => Err(StoreError::Other(anyhow::anyhow!(
                "idempotency key in state {state:?} without its response"
            ))),
        }
    }
}

/// One durable revocation: an access token by `jti`, or a family by `sid`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Revocation {
    pub kind: RevocationKind,
    pub value: String,
    pub expires_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RevocationKind {
    Jti,
    Sid,
}

impl RevocationKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Jti => "jti",
            Self::Sid => "sid",
        }
    }

    fn parse(raw: &str) -> Result<Self, StoreError> {
        match raw {
            "jti" => Ok(Self::Jti),
            "sid" => Ok(Self::Sid),
            other => Err(StoreError::Other(anyhow::anyhow!(
                "unknown revocation kind {other:?}"
            ))),
        }
    }
}

/// The `revocations` row; the same column types decode on both databases.
#[derive(sqlx::FromRow)]
struct RevocationRow {
    kind: String,
    value: String,
    expires_at: DateTime<Utc>,
}

impl TryFrom<RevocationRow> for Revocation {
    type Error = StoreError;

    fn try_from(r: RevocationRow) -> Result<Self, StoreError> {
        Ok(Revocation {
            kind: RevocationKind::parse(&r.kind)?,
            value: r.value,
            expires_at: r.expires_at,
        })
    }
}

/// What changes when a client is added, changed or removed: polled by every instance.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ClientsVersion {
    pub count: i64,
    pub last_change: Option<DateTime<Utc>>,
}

/// A `clients` row, decoded alike from both databases (lists as `Vec<String>`).
struct ClientParts {
    id: String,
    kind: String,
    secret_sha256: Option<Vec<u8>>,
    grants: Vec<String>,
    audiences: Vec<String>,
    scopes: Vec<String>,
    default_scopes: Vec<String>,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
    previous_secret_sha256: Option<Vec<u8>>,
    previous_secret_expires_at: Option<DateTime<Utc>>,
}

impl ClientParts {
    /// The row of a client being registered (or changed) at `now`.
    fn new(client: &Client, now: DateTime<Utc>) -> Self {
        let strings = |s: &Scopes| s.iter().map(str::to_owned).collect();
        Self {
            updated_at: now,
            previous_secret_sha256: client.previous_secret.as_ref().map(|p| p.digest.0.to_vec()),
            previous_secret_expires_at: client.previous_secret.as_ref().map(|p| p.expires_at),
            id: client.id.as_str().to_owned(),
            kind: client.kind().to_owned(),
            secret_sha256: client.secret.as_ref().map(|d| d.0.to_vec()),
            grants: client
                .grants
                .iter()
                .map(|g| g.as_str().to_owned())
                .collect(),
            audiences: client.audience.clone(),
            scopes: strings(&client.scopes),
            default_scopes: strings(&client.default_scopes),
            created_at: now,
        }
    }
}

impl TryFrom<ClientParts> for Client {
    type Error = StoreError;

    fn try_from(r: ClientParts) -> Result<Self, StoreError> {
        let bad = |e: String| StoreError::Other(anyhow::anyhow!("client {}: {e}", r.id));
        let digest = |bytes: Vec<u8>| -> Result<SecretDigest, StoreError> {
            Ok(SecretDigest(bytes.try_into().map_err(|_| {
                bad("secret digest is not 32 bytes".into())
            })?))
        };
        let secret = match (r.kind.as_str(), r.secret_sha256) {
            ("confidential", Some(bytes)) => Some(digest(bytes)?),
            ("public", None) => None,
            _ => return Err(bad("kind and secret disagree".into())),
        };
        let previous_secret = match (r.previous_secret_sha256, r.previous_secret_expires_at) {
            (Some(bytes), Some(expires_at)) => Some(PreviousSecret {
                digest: digest(bytes)?,
                expires_at,
            }),
            _ => None,
        };
        Ok(Client {
            id: ClientId::parse(&r.id).map_err(bad)?,
            secret,
            grants: r
                .grants
                .iter()
                .map(|g| GrantType::parse(g))
                .collect::<Result<_, _>>()
                .map_err(bad)?,
            audience: r.audiences,
            scopes: Scopes::parse(&r.scopes.join(" ")).map_err(bad)?,
            default_scopes: Scopes::parse(&r.default_scopes.join(" ")).map_err(bad)?,
            created_at: Some(r.created_at),
            updated_at: Some(r.updated_at),
            previous_secret,
        })
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyState {
    Next,
    Active,
    Retired,
}

impl KeyState {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Next => "next",
            Self::Active => "active",
            Self::Retired => "retired",
        }
    }

    fn parse(raw: &str) -> Result<Self, StoreError> {
        match raw {
            "next" => Ok(Self::Next),
            "active" => Ok(Self::Active),
            "retired" => Ok(Self::Retired),
            other => Err(StoreError::Other(anyhow::anyhow!(
                "unknown key state {other:?}"
            ))),
        }
    }
}

/// A signing key's public record; its private half is `<kid>.pem` in `keys.dir`.
#[derive(Debug, Clone)]
pub struct KeyRecord {
    pub kid: Kid,
    pub alg: Algorithm,
    pub state: KeyState,
    pub created_at: DateTime<Utc>,
    pub activated_at: Option<DateTime<Utc>>,
    pub retired_at: Option<DateTime<Utc>>,
}

/// The `signing_keys` row; the same column types decode on both databases.
#[derive(sqlx::FromRow)]
struct KeyRow {
    kid: String,
    alg: String,
    state: String,
    created_at: DateTime<Utc>,
    activated_at: Option<DateTime<Utc>>,
    retired_at: Option<DateTime<Utc>>,
}

impl TryFrom<KeyRow> for KeyRecord {
    type Error = StoreError;

    fn try_from(r: KeyRow) -> Result<Self, StoreError> {
        Ok(KeyRecord {
            kid: Kid::parse(&r.kid).map_err(|e| StoreError::Other(anyhow::anyhow!(e)))?,
            alg: r
                .alg
                .parse()
                .map_err(|e: String| StoreError::Other(anyhow::anyhow!(e)))?,
            state: KeyState::parse(&r.state)?,
            created_at: r.created_at,
            activated_at: r.activated_at,
            retired_at: r.retired_at,
        })
    }
}

#[async_trait]
pub trait Store: Send + Sync + 'static {
    /// Applies pending migrations (embedded in the binary).
    async fn migrate(&self) -> Result<(), StoreError>;
    /// Answers when the database does (readiness).
    async fn ping(&self) -> Result<(), StoreError>;

    async fn create_user(&self, new: NewUser, now: DateTime<Utc>) -> Result<User, StoreError>;
    async fn user_by_username(&self, username: &Username) -> Result<Option<User>, StoreError>;
    async fn user_by_id(&self, id: Uuid) -> Result<Option<User>, StoreError>;
    /// One page of users ordered by username (`UsersQuery`), at most `limit` rows.
    async fn users_page(&self, query: &UsersQuery) -> Result<Vec<User>, StoreError>;
    /// Creates `users` in one statement at `now`, skipping any whose username is taken
    /// (by another user or an earlier one of `users`); returns those created.
    async fn insert_users(
        &self,
        users: &[NewUser],
        now: DateTime<Utc>,
    ) -> Result<Vec<(Uuid, String)>, StoreError>;
    /// Sets a new password and revokes every family of the user, in one transaction, only
    /// if the user's `updated_at` is still `expected` (when given); `updated_at` and
    /// `password_changed_at` become `revoking.at`. `None` when no row matched, else the
    /// revoked family ids.
    async fn set_password(
        &self,
        id: Uuid,
        hash: &PasswordHash,
        expected: Option<DateTime<Utc>>,
        revoking: Revoking,
    ) -> Result<Option<Vec<Uuid>>, StoreError>;
    /// Replaces the user's mutable members with `changes` only if its `updated_at` is
    /// still `expected`, setting it to `revoking.at`; a user left disabled has every family
    /// revoked in the same transaction. `None` when no row matched, else the user as it
    /// now is and the revoked family ids.
    async fn update_user(
        &self,
        id: Uuid,
        changes: &UserChanges,
        expected: DateTime<Utc>,
        revoking: Revoking,
    ) -> Result<Option<(User, Vec<Uuid>)>, StoreError>;
    /// Replaces `old` with `new` (same password, newer parameters) only if `old` is
    /// still the stored hash, so a concurrent password change is never undone.
    async fn upgrade_password_hash(
        &self,
        id: Uuid,
        old: &PasswordHash,
        new: &PasswordHash,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError>;

    /// Deletes a user after revoking every family of theirs (so their access tokens
    /// die by `sid`), in one transaction, only if its `updated_at` is still `expected`
    /// (when given); the username is free again. The audit trail keeps the id (it has no
    /// foreign key). `None` when no row matched, else the revoked family ids.
    async fn delete_user(
        &self,
        id: Uuid,
        expected: Option<DateTime<Utc>>,
        revoking: Revoking,
    ) -> Result<Option<Vec<Uuid>>, StoreError>;

    /// Starts a family with its first refresh token (by hash).
    async fn create_family(&self, family: &Family, token_hash: &[u8]) -> Result<(), StoreError>;
    /// Presents a refresh token: consumes it with one conditional update that only one
    /// caller can win, and stores `new_hash` as its successor; a consumed token revokes
    /// its family (reuse). `idle_ttl` ends a family unused for that long.
    async fn rotate_refresh_token(
        &self,
        presented_hash: &[u8],
        new_hash: &[u8],
        idle_ttl: chrono::Duration,
        revoking: Revoking,
    ) -> Result<Rotation, StoreError>;
    /// The refresh hot path, in one round trip on Postgres: consumes `presented` only if
    /// it is unconsumed, of a live family (not revoked, within its absolute lifetime and
    /// used within `idle_ttl`) issued to `client_id`, of an enabled user; stores
    /// `new_hash` as its successor and touches the family. Returns the family and the
    /// user's roles, or `None` when any condition fails: the caller then takes
    /// `rotate_refresh_token` to tell reuse, expiry and revocation apart.
    async fn rotate_live_refresh_token(
        &self,
        presented_hash: &[u8],
        new_hash: &[u8],
        client_id: &str,
        idle_ttl: chrono::Duration,
        now: DateTime<Utc>,
    ) -> Result<Option<(Family, Vec<String>)>, StoreError>;
    /// The family a refresh token belongs to, consumed or not.
    async fn family_by_token(&self, token_hash: &[u8]) -> Result<Option<Family>, StoreError>;
    /// Revokes a family (its refresh tokens and, by `sid`, its access tokens); false if
    /// it was already revoked or does not exist.
    async fn revoke_family(&self, id: Uuid, revoking: Revoking) -> Result<bool, StoreError>;
    /// Records a revoked access token until `expires_at`.
    async fn revoke_jti(
        &self,
        jti: &str,
        expires_at: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError>;
    /// Revocations recorded at or after `since` that still matter at `now`.
    async fn revocations_since(
        &self,
        since: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<Vec<Revocation>, StoreError>;
    /// Whether a jti or sid is revoked: the durable answer, when no cache can give it.
    async fn is_revoked(
        &self,
        jti: &str,
        sid: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError>;
    /// Deletes revocations that no longer matter; returns how many.
    async fn prune_revocations(&self, now: DateTime<Utc>) -> Result<u64, StoreError>;
    /// Deletes the families (and their refresh tokens) that ended before `before`:
    /// revoked, past their absolute lifetime, or unused for `idle_ttl`. Returns how many.
    async fn prune_families(
        &self,
        before: DateTime<Utc>,
        idle_ttl: chrono::Duration,
    ) -> Result<u64, StoreError>;

    /// Registers a client; `Conflict` when the id is taken. Returns it as stored.
    async fn create_client(
        &self,
        client: &Client,
        now: DateTime<Utc>,
    ) -> Result<Client, StoreError>;
    async fn client_by_id(&self, id: &str) -> Result<Option<Client>, StoreError>;
    /// Every registered client, by id.
    async fn list_clients(&self) -> Result<Vec<Client>, StoreError>;
    /// At most `limit` registered clients whose id sorts (byte by byte) after `after`,
    /// by id: one page of a keyset listing.
    async fn clients_page(
        &self,
        after: Option<&str>,
        limit: i64,
    ) -> Result<Vec<Client>, StoreError>;
    /// Replaces the audiences, grants, scopes and default scopes of `client` and sets
    /// `updated_at` to `now`, only if it is still the version last changed at
    /// `expected` (one conditional statement). `None` when no row matched: the client
    /// is gone or was changed since.
    async fn update_client(
        &self,
        client: &Client,
        expected: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<Option<Client>, StoreError>;
    /// Makes `secret` a confidential client's secret and its current secret the previous
    /// one until `previous_expires_at`, in one statement. `None` when there is no such
    /// confidential client.
    async fn rotate_client_secret(
        &self,
        id: &str,
        secret: &SecretDigest,
        previous_expires_at: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<Option<Client>, StoreError>;
    /// Forgets a client's previous secret; false when it has none that still works.
    async fn remove_previous_client_secret(
        &self,
        id: &str,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError>;
    /// Removes a client (only if it last changed at `expected`, when given) and revokes
    /// its families, in one transaction; `None` when no row matched, else the revoked
    /// family ids.
    async fn remove_client(
        &self,
        id: &str,
        expected: Option<DateTime<Utc>>,
        revoking: Revoking,
    ) -> Result<Option<Vec<Uuid>>, StoreError>;
    /// Changes whenever a client is added, changed or removed.
    async fn clients_version(&self) -> Result<ClientsVersion, StoreError>;

    /// Every key still in the ring (next, active, retired), oldest first.
    async fn signing_keys(&self) -> Result<Vec<KeyRecord>, StoreError>;
    /// Inserts `key` in its state (`active` for the first key, `next` for a rotation)
    /// only if no other key holds that state; false if another instance got there first.
    async fn insert_key(&self, key: &KeyRecord) -> Result<bool, StoreError>;
    /// Makes the next key `kid` active and retires the active one, in one transaction;
    /// false (and nothing changed) if `kid` is no longer next.
    async fn promote_key(&self, kid: &Kid, now: DateTime<Utc>) -> Result<bool, StoreError>;
    /// Deletes a key that is not active: with `retired_before`, only a key retired by
    /// then (the scheduled removal); without, a next or retired key (emergency). False
    /// when nothing matched.
    async fn remove_key(
        &self,
        kid: &Kid,
        retired_before: Option<DateTime<Utc>>,
    ) -> Result<bool, StoreError>;

    /// Appends one event to the audit trail.
    async fn record_audit(&self, event: &AuditEvent) -> Result<(), StoreError>;
    /// Appends events to the audit trail, in as few round trips as the database allows.
    async fn record_audits(&self, events: &[AuditEvent]) -> Result<(), StoreError>;
    /// Audit events matching `query`, newest first.
    async fn audit_events(&self, query: &AuditQuery) -> Result<Vec<AuditRecord>, StoreError> {
        self.audit_page(&AuditPageQuery::from(query.clone())).await
    }
    /// Audit events matching `query`, newest first by (occurred_at, id), those after its
    /// cursor only: one page of a keyset listing.
    async fn audit_page(&self, query: &AuditPageQuery) -> Result<Vec<AuditRecord>, StoreError>;
    /// Deletes audit events that occurred before `before`; returns how many.
    async fn prune_audit(&self, before: DateTime<Utc>) -> Result<u64, StoreError>;

    // ---- sessions (admin-api.md §2, §3) ----

    /// The user's live sessions at `now` (not revoked, within their absolute lifetime,
    /// used within `idle_ttl`), newest first; `None` when no such user.
    async fn live_sessions(
        &self,
        user_id: Uuid,
        idle_ttl: chrono::Duration,
        now: DateTime<Utc>,
    ) -> Result<Option<Vec<Family>>, StoreError>;
    /// Ends one live session (with, by `sid`, its access tokens) in one transaction,
    /// only if it is `owner`'s when given; returns it, or `None` when there was no such
    /// live session.
    async fn end_session(
        &self,
        sid: Uuid,
        owner: Option<Uuid>,
        idle_ttl: chrono::Duration,
        revoking: Revoking,
    ) -> Result<Option<Family>, StoreError>;
    /// Ends every session of a user but `keep`, in one transaction; `None` when no such
    /// user, else the ended session ids.
    async fn end_user_sessions(
        &self,
        user_id: Uuid,
        keep: Option<Uuid>,
        revoking: Revoking,
    ) -> Result<Option<Vec<Uuid>>, StoreError>;
    /// Sets a user's password and ends every session of theirs but `keep`, in one
    /// transaction; `None` when no such user, else the ended session ids.
    async fn set_password_keeping(
        &self,
        user_id: Uuid,
        hash: &PasswordHash,
        keep: Option<Uuid>,
        revoking: Revoking,
    ) -> Result<Option<Vec<Uuid>>, StoreError>;

    // ---- Idempotency-Key (admin-api.md §1) ----

    /// Claims `claim.key` for `claim.caller` with one insert that only one request can
    /// win; a key that expired, or whose first request died in progress, is taken over.
    /// Otherwise returns what is stored under it.
    async fn claim_idempotency_key(
        &self,
        claim: &IdempotencyClaim<'_>,
    ) -> Result<ClaimOutcome, StoreError>;
    /// Stores the response of a request that claimed its key.
    async fn complete_idempotency_key(
        &self,
        caller: &str,
        key: &str,
        response: &StoredResponse,
    ) -> Result<(), StoreError>;
    /// Releases the claim of a request that failed, so a retry runs again.
    async fn release_idempotency_key(&self, caller: &str, key: &str) -> Result<(), StoreError>;
    /// Deletes expired keys; returns how many.
    async fn prune_idempotency_keys(&self, now: DateTime<Utc>) -> Result<u64, StoreError>;
}

/// Opens the database named by the settings (creating a SQLite file when missing).
pub async fn connect(settings: &DatabaseSettings) -> Result<Arc<dyn Store>, StoreError> {
    let url = settings.url.expose();
    match settings.url.kind() {
        Ok(DatabaseKind::Postgres) => Ok(Arc::new(
            PgStore::connect(url, settings.max_connections).await?,
        )),
        Ok(DatabaseKind::Sqlite) => Ok(Arc::new(
            SqliteStore::connect(url, settings.max_connections).await?,
        )),
        Err(e) => Err(StoreError::Other(anyhow::anyhow!(e))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn new_user_ids_are_time_ordered_v7() {
        let (a, b) = (new_user_id(), new_user_id());
        assert_eq!(a.get_version_num(), 7);
        assert!(
            a < b || a.get_timestamp() == b.get_timestamp(),
            "{a} then {b}"
        );
    }

    fn family(now: DateTime<Utc>) -> Family {
        Family {
            id: Uuid::new_v4(),
            user_id: Uuid::new_v4(),
            client_id: "app".into(),
            scope: String::new(),
            created_at: now,
            last_used_at: now,
            expires_at: now + chrono::Duration::days(30),
            revoked_at: None,
            revoked_reason: None,
        }
    }

    #[test]
    fn a_family_ends_at_its_idle_or_absolute_lifetime_or_with_its_user() {
        let now = Utc::now();
        let idle = chrono::Duration::days(7);
        let f = family(now);
        assert_eq!(f.end_reason(now, idle, false), None);
        assert_eq!(
            f.end_reason(now + chrono::Duration::days(7), idle, false),
            Some(RevokeReason::Expired)
        );
        let used = Family {
            last_used_at: now + chrono::Duration::days(25),
            ..f.clone()
        };
        assert_eq!(
            used.end_reason(now + chrono::Duration::days(30), idle, false),
            Some(RevokeReason::Expired)
        );
        assert_eq!(
            used.end_reason(now + chrono::Duration::days(26), idle, false),
            None
        );
        assert_eq!(
            f.end_reason(now, idle, true),
            Some(RevokeReason::UserDisabled)
        );
    }
}
