//! The user- and client-management service: one place for the rules of creating,
//! importing, disabling, deleting users and setting their passwords, and of adding and
//! removing clients. Two doors call it and neither holds a rule: the CLI's `user` and
//! `client` commands today, the admin API (admin-api.md §2) next (STYLE.md, "Where the
//! next capabilities fit"; issue #14 item 8).
//!
//! The rules: disabling, deleting and setting a password revoke every session of the
//! user, and with it (by `sid`) every live access token, in the store's one transaction;
//! removing a client revokes its sessions; every change is audited after it committed,
//! naming who made it (`Actor`). No HTTP, no SQL, no clap here: callers pass parsed
//! domain values and `now`.

pub mod import;
pub mod registration;
pub mod sessions;

use std::collections::BTreeSet;
use std::net::IpAddr;
use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, SubsecRound, Utc};
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::audit::{Audit, AuditEvent, EventKind};
use crate::auth::{hash_password, HashPool, PoolError};
use crate::clients::Client;
use crate::config::{PasswordSettings, Settings};
use crate::domain::{
    Audience, ClientId, ClientSecret, Email, GrantType, ImportedHash, Password, PersonName, Role,
    Scopes, Username,
};
use crate::revocation::Revocations;
use crate::store::{
    NewUser, PasswordHash, Profile, RevokeReason, Revoking, Store, StoreError, User, UserChanges,
    UsersQuery,
};

pub use import::{FailureKind, ImportRecord, ImportReport, LineFailure};

/// Who makes a change, for the audit trail.
///
/// The trail's columns are fixed (`AuditEvent`): a user event made by a client names
/// that client in `client_id` (the column login events use for the client involved); a
/// client event already names its subject there, so its caller goes to `detail` as
/// `by=<client_id>`. The CLI is the operator at the server: its events name no calling
/// client, so an event with none was made from the CLI (as every such event recorded
/// before this service existed was).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Actor {
    /// `authd user ...` / `authd client ...` on the server.
    Cli,
    /// A client calling the admin API with its own token.
    Client(ClientId),
    /// A user acting on their own account through the account API (admin-api.md §3),
    /// with a token of `client_id`, from `source`.
    User { client_id: String, source: IpAddr },
}

impl Actor {
    /// Names the caller on an event whose `client_id` column is free: a user or key
    /// event.
    pub fn on_user_event(&self, event: AuditEvent) -> AuditEvent {
        match self {
            Self::Cli => event,
            Self::Client(id) => event.client(id.as_str()),
            Self::User { client_id, source } => event.client(client_id).source(*source),
        }
    }

    fn on_client_event(&self, event: AuditEvent) -> AuditEvent {
        let by = match self {
            Self::Cli => return event,
            Self::Client(id) => id.as_str(),
            Self::User { client_id, .. } => client_id.as_str(),
        };
        let detail = match &event.detail {
            Some(d) => format!("{d} by={by}"),
            None => format!("by={by}"),
        };
        event.detail(detail)
    }
}

/// Where the service's audit events go. Events are written after the change committed
/// and a failed write never undoes it; how a failure is reported is the door's business
/// (the server logs and counts it, the CLI warns the operator on stderr).
#[async_trait]
pub trait AuditSink: Send + Sync {
    async fn record(&self, event: AuditEvent);

    /// Records several events (an import's); one at a time unless the sink does better.
    async fn record_all(&self, events: Vec<AuditEvent>) {
        for event in events {
            self.record(event).await;
        }
    }
}

#[async_trait]
impl AuditSink for Audit {
    async fn record(&self, event: AuditEvent) {
        Audit::record(self, event).await;
    }

    async fn record_all(&self, events: Vec<AuditEvent>) {
        Audit::record_all(self, &events).await;
    }
}

/// How new passwords are hashed: the server's bounded pool, or (the CLI, which hashes
/// once) one blocking task with the same parameters.
#[derive(Clone)]
pub enum Hashing {
    Pool(HashPool),
    OneShot(PasswordSettings),
}

impl Hashing {
    async fn hash(&self, password: Password) -> Result<PasswordHash, PoolError> {
        match self {
            Self::Pool(pool) => pool.hash(password).await,
            Self::OneShot(settings) => hash_password(settings, password).await,
        }
    }
}

/// What a user's password is set from.
#[derive(Debug, Clone)]
pub enum Credential {
    /// A password, hashed here with the configured argon2id parameters.
    Password(Password),
    /// A hash from another system, stored as it is and rewritten as argon2id at the
    /// user's first login.
    Hash(ImportedHash),
}

/// A user's version as a strong entity tag (RFC 9110 §8.8.3), the admin API's `ETag`:
/// it changes on every change, as the store moves `updated_at` forward on each write
/// (`next_version`), so a digest of the id and `updated_at` at full precision.
pub fn etag(user: &User) -> String {
    let digest = Sha256::new()
        .chain_update(user.id.as_bytes())
        .chain_update(
            user.updated_at
                .to_rfc3339_opts(chrono::SecondsFormat::Nanos, true),
        )
        .finalize();
    let hex: String = digest[..16].iter().map(|b| format!("{b:02x}")).collect();
    format!("\"{hex}\"")
}

/// A write's precondition on the user's version (RFC 9110 §13.1.1 `If-Match`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IfMatch {
    /// `*`: any current version (the user exists).
    Any,
    /// One of these entity tags, compared strongly (a weak tag never matches).
    Tags(Vec<String>),
}

impl IfMatch {
    pub fn admits(&self, user: &User) -> bool {
        match self {
            Self::Any => true,
            Self::Tags(tags) => {
                let current = etag(user);
                tags.contains(&current)
            }
        }
    }
}

/// The `updated_at` of a write following `previous`: now (at the stores' microsecond
/// precision), or a microsecond past `previous` when the clock has not moved on, so the
/// version always changes.
fn next_version(now: DateTime<Utc>, previous: DateTime<Utc>) -> DateTime<Utc> {
    let now = now.trunc_subsecs(6);
    let floor = previous.trunc_subsecs(6) + chrono::Duration::microseconds(1);
    now.max(floor)
}

/// A merge patch of a user (RFC 7396, admin-api.md §2 `PATCH /users/{id}`): `None`
/// leaves a member alone; `Some(None)` removes an optional one.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UserPatch {
    pub roles: Option<Vec<Role>>,
    pub disabled: Option<bool>,
    pub email: Option<Option<Email>>,
    pub email_verified: Option<bool>,
    pub name: Option<Option<PersonName>>,
    pub given_name: Option<Option<PersonName>>,
    pub family_name: Option<Option<PersonName>>,
}

impl UserPatch {
    /// Disables or enables, and nothing else (`authd user disable|enable`).
    pub fn disabled(disabled: bool) -> Self {
        Self {
            disabled: Some(disabled),
            ..Self::default()
        }
    }

    /// The members as they are to be: `current` with the patch applied.
    fn apply(&self, current: &User) -> UserChanges {
        let mut changes = UserChanges::from(current);
        let text = |v: &Option<PersonName>| v.as_ref().map(|n| n.as_str().to_owned());
        if let Some(roles) = &self.roles {
            changes.roles = roles.iter().map(|r| r.as_str().to_owned()).collect();
        }
        if let Some(disabled) = self.disabled {
            changes.disabled = disabled;
        }
        if let Some(email) = &self.email {
            changes.email = email.as_ref().map(|e| e.as_str().to_owned());
        }
        if let Some(verified) = self.email_verified {
            changes.email_verified = verified;
        }
        if let Some(name) = &self.name {
            changes.name = text(name);
        }
        if let Some(name) = &self.given_name {
            changes.given_name = text(name);
        }
        if let Some(name) = &self.family_name {
            changes.family_name = text(name);
        }
        changes
    }

    /// The members given other than `disabled` (which has events of its own), for the
    /// `user_updated` event: names only, never values.
    fn profile_members(&self) -> Vec<&'static str> {
        [
            ("roles", self.roles.is_some()),
            ("email", self.email.is_some()),
            ("email_verified", self.email_verified.is_some()),
            ("name", self.name.is_some()),
            ("given_name", self.given_name.is_some()),
            ("family_name", self.family_name.is_some()),
        ]
        .into_iter()
        .filter_map(|(member, given)| given.then_some(member))
        .collect()
    }
}

/// A user after a change, and how many sessions the change revoked.
#[derive(Debug, Clone)]
pub struct Updated {
    pub user: User,
    pub revoked: usize,
}

/// One page of users and, when there are more, the last username of this page (what
/// the next page starts after).
#[derive(Debug, Clone)]
pub struct UsersPage {
    pub items: Vec<User>,
    pub next_after: Option<String>,
}

/// Most users in one page (admin-api.md §1).
pub const MAX_PAGE: u32 = 500;

/// How often an unconditional update re-reads a user that changed under it.
const UPDATE_ATTEMPTS: usize = 8;

/// A user to create.
#[derive(Debug, Clone)]
pub struct NewAccount {
    pub username: Username,
    pub credential: Credential,
    pub roles: Vec<Role>,
    pub disabled: bool,
    pub profile: Profile,
}

#[derive(Debug, thiserror::Error)]
pub enum AccountError {
    #[error("user {0} already exists")]
    UsernameTaken(Username),
    #[error("no user named {0}")]
    NoSuchUser(Username),
    #[error("no user with id {0}")]
    UnknownUser(uuid::Uuid),
    /// No live session with that id (or not the caller's).
    #[error("no such session")]
    NoSuchSession,
    /// `POST /account/v1/password` with a wrong current password.
    #[error("the current password is not right")]
    WrongCurrentPassword,
    /// Self-registration is off (`registration.enabled = false`).
    #[error("registration is disabled")]
    RegistrationDisabled,
    /// Too many registrations (or password checks) from one address: retry after this.
    #[error("too many attempts")]
    Throttled(std::time::Duration),
    /// The throttle's shared state (Redis) did not answer.
    #[error("throttle state unavailable")]
    ThrottleUnavailable(#[source] anyhow::Error),
    /// Setting roles needs a right the caller lacks (the admin API's `admin:roles:assign`).
    #[error("setting roles is not allowed to this caller")]
    RolesNotAllowed,
    /// Concurrent writes kept changing the user under an unconditional update.
    #[error("the user kept changing; try again")]
    Contended,
    #[error("client {0} already exists")]
    ClientTaken(ClientId),
    #[error("no client named {0}")]
    NoSuchClient(ClientId),
    /// The configured default client is not stored: it cannot be added or removed.
    #[error("{0} is the configured default client (default_client.id)")]
    DefaultClient(ClientId),
    #[error("every default scope must also be a scope the client may request")]
    DefaultScopesNotAllowed,
    #[error("client_credentials needs a confidential client")]
    PublicClientCredentials,
    /// A public client has no secret to rotate.
    #[error("{0} is a public client: it has no secret")]
    PublicClient(ClientId),
    /// The client has no previous secret that still works.
    #[error("client {0} has no previous secret")]
    NoPreviousSecret(ClientId),
    /// The caller's version (`If-Match`) of a user or client is not the current one:
    /// nothing was changed.
    #[error("the resource changed since the version the caller names")]
    PreconditionFailed,
    /// An import file longer than `import::MAX_LINES` is refused whole.
    #[error("the import has more than {max} lines: split it", max = import::MAX_LINES)]
    TooManyLines,
    #[error("cannot read the import")]
    Read(#[source] std::io::Error),
    /// The database failed during an import: lines before `line` were processed.
    #[error("the import stopped at line {line} after creating {created} user(s)")]
    ImportStopped {
        line: usize,
        created: usize,
        #[source]
        source: Box<AccountError>,
    },
    #[error(transparent)]
    Hash(#[from] PoolError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Refuses the configured default client's id: it lives in the configuration, not in
/// the database.
pub fn refuse_default_client(id: &ClientId, default: &ClientId) -> Result<(), AccountError> {
    if id == default {
        return Err(AccountError::DefaultClient(id.clone()));
    }
    Ok(())
}

/// A client being registered, checked before its secret is asked for: not the default
/// client's id, default scopes within its scopes. Grants may still be empty (then the
/// defaults for its kind apply when it is created).
#[derive(Debug, Clone)]
pub struct ClientDraft(Client);

impl ClientDraft {
    /// `audiences` empty means the client id; `default_scopes` `None` means every scope.
    pub fn new(
        id: ClientId,
        default_client: &ClientId,
        audiences: Vec<Audience>,
        grants: BTreeSet<GrantType>,
        scopes: Scopes,
        default_scopes: Option<Scopes>,
    ) -> Result<Self, AccountError> {
        refuse_default_client(&id, default_client)?;
        let audience = if audiences.is_empty() {
            vec![id.as_str().to_owned()]
        } else {
            audiences.iter().map(|a| a.as_str().to_owned()).collect()
        };
        let default_scopes = default_scopes.unwrap_or_else(|| scopes.clone());
        if !default_scopes.is_subset(&scopes) {
            return Err(AccountError::DefaultScopesNotAllowed);
        }
        Ok(Self(Client {
            id,
            secret: None,
            grants,
            audience,
            scopes,
            default_scopes,
            created_at: None,
            updated_at: None,
            previous_secret: None,
        }))
    }
}

/// The members of a client a change replaces (admin-api.md §2, `PATCH /clients/{id}`);
/// `None` leaves one as it is. The same defaults as at registration apply: no audiences
/// means the client id, no grants the defaults of its kind.
#[derive(Debug, Clone, Default)]
pub struct ClientChanges {
    pub audiences: Option<Vec<Audience>>,
    pub grants: Option<BTreeSet<GrantType>>,
    pub scopes: Option<Scopes>,
    pub default_scopes: Option<Scopes>,
}

impl ClientChanges {
    /// The names of the members it changes, for the audit trail.
    fn members(&self) -> String {
        [
            ("audiences", self.audiences.is_some()),
            ("grants", self.grants.is_some()),
            ("scopes", self.scopes.is_some()),
            ("default_scopes", self.default_scopes.is_some()),
        ]
        .iter()
        .filter(|(_, set)| *set)
        .map(|(name, _)| *name)
        .collect::<Vec<_>>()
        .join(",")
    }

    /// `client` with these changes, checked as a registration is.
    fn apply(&self, client: &Client) -> Result<Client, AccountError> {
        let mut next = client.clone();
        if let Some(audiences) = &self.audiences {
            next.audience = if audiences.is_empty() {
                vec![client.id.as_str().to_owned()]
            } else {
                audiences.iter().map(|a| a.as_str().to_owned()).collect()
            };
        }
        if let Some(grants) = &self.grants {
            next.grants = if grants.is_empty() {
                default_grants(client.is_confidential())
            } else {
                grants.clone()
            };
        }
        if let Some(scopes) = &self.scopes {
            next.scopes = scopes.clone();
        }
        if let Some(default_scopes) = &self.default_scopes {
            next.default_scopes = default_scopes.clone();
        }
        if !next.default_scopes.is_subset(&next.scopes) {
            return Err(AccountError::DefaultScopesNotAllowed);
        }
        if !next.is_confidential() && next.may_use(GrantType::ClientCredentials) {
            return Err(AccountError::PublicClientCredentials);
        }
        Ok(next)
    }
}

/// The grants of a client registered without any.
fn default_grants(confidential: bool) -> BTreeSet<GrantType> {
    if confidential {
        BTreeSet::from([GrantType::ClientCredentials])
    } else {
        BTreeSet::from([GrantType::Password, GrantType::RefreshToken])
    }
}

/// Whether the client's current version is one the caller names (`If-Match` entity
/// tags; `None`: no condition). The configured default client never matches a tag.
fn precondition_holds(client: &Client, expected: Option<&[String]>) -> bool {
    match expected {
        None => true,
        Some(tags) => client.etag().is_some_and(|etag| tags.contains(&etag)),
    }
}

/// How often a change without `If-Match` is recomputed when a concurrent change won
/// the race between its read and its conditional write.
const CHANGE_ATTEMPTS: usize = 3;

/// The service. Cheap to build: a store handle and settings.
pub struct Accounts {
    store: Arc<dyn Store>,
    hashing: Hashing,
    audit: Arc<dyn AuditSink>,
    /// How long an access token issued before a revocation can live: how long a revoked
    /// `sid` must be remembered.
    access_window: chrono::Duration,
    /// A session unused this long has ended (`tokens.refresh_idle_ttl`).
    idle_ttl: chrono::Duration,
    default_client: Client,
    /// The server's revocation cache, told at once of ended sessions so their access
    /// tokens die at once (the CLI has none: servers poll the database within a second).
    revocations: Option<Arc<Revocations>>,
    /// How long a rotated-out client secret keeps working.
    previous_secret_ttl: chrono::Duration,
}

impl Accounts {
    pub fn new(
        store: Arc<dyn Store>,
        hashing: Hashing,
        audit: Arc<dyn AuditSink>,
        settings: &Settings,
    ) -> anyhow::Result<Self> {
        Ok(Self {
            store,
            hashing,
            audit,
            access_window: chrono::Duration::from_std(settings.tokens.access_window())?,
            idle_ttl: chrono::Duration::from_std(settings.tokens.refresh_idle_ttl)?,
            default_client: Client::default_client(&settings.default_client),
            revocations: None,
            previous_secret_ttl: chrono::Duration::from_std(settings.clients.previous_secret_ttl)?,
        })
    }

    /// Tells `revocations` of every session this service ends (the server's setup).
    pub fn with_revocations(mut self, revocations: Arc<Revocations>) -> Self {
        self.revocations = Some(revocations);
        self
    }

    /// Pushes just-ended sessions into the revocation cache, when there is one.
    async fn sessions_ended(&self, ids: &[uuid::Uuid], now: DateTime<Utc>) {
        if let Some(revocations) = &self.revocations {
            revocations.families_revoked(ids, now).await;
        }
    }

    /// A revocation recorded in the database, which every running server polls every
    /// second (spec §4: honoured within 5 s).
    fn revoking(&self, reason: RevokeReason, now: DateTime<Utc>) -> Revoking {
        Revoking {
            at: now,
            sid_expires_at: now + self.access_window,
            reason,
        }
    }

    /// Creates a user; a taken username is `UsernameTaken`.
    pub async fn create_user(
        &self,
        actor: &Actor,
        new: NewAccount,
        now: DateTime<Utc>,
    ) -> Result<User, AccountError> {
        let imported = matches!(new.credential, Credential::Hash(_));
        let user = self.insert_user(new, now).await?;
        let mut event = AuditEvent::new(EventKind::UserAdded, now).user(user.id);
        if imported {
            event = event.detail("password_hash_imported");
        }
        self.audit.record(actor.on_user_event(event)).await;
        Ok(user)
    }

    /// Hashes the password (or keeps the imported hash) and stores the user.
    async fn insert_user(&self, new: NewAccount, now: DateTime<Utc>) -> Result<User, AccountError> {
        let password_hash = match new.credential {
            Credential::Password(password) => self.hashing.hash(password).await?,
            Credential::Hash(hash) => PasswordHash::from(hash),
        };
        let username = new.username.clone();
        let user = self
            .store
            .create_user(
                NewUser {
                    username: new.username,
                    password_hash,
                    roles: new.roles,
                    disabled: new.disabled,
                    profile: new.profile,
                },
                now,
            )
            .await
            .map_err(|e| match e {
                StoreError::Conflict => AccountError::UsernameTaken(username),
                other => AccountError::Store(other),
            })?;
        Ok(user)
    }

    /// The user named `username`, or `NoSuchUser`.
    async fn user_named(&self, username: &Username) -> Result<User, AccountError> {
        self.store
            .user_by_username(username)
            .await?
            .ok_or_else(|| AccountError::NoSuchUser(username.clone()))
    }

    /// The user `id` if it passes `expected`: `UnknownUser`, or `PreconditionFailed`.
    async fn user_as_expected(
        &self,
        id: Uuid,
        expected: Option<&IfMatch>,
    ) -> Result<User, AccountError> {
        let user = self
            .store
            .user_by_id(id)
            .await?
            .ok_or(AccountError::UnknownUser(id))?;
        if expected.is_some_and(|e| !e.admits(&user)) {
            return Err(AccountError::PreconditionFailed);
        }
        Ok(user)
    }

    /// Sets a new password (or imported hash) by name (`authd user passwd`); see
    /// `set_password_of`.
    pub async fn set_password(
        &self,
        actor: &Actor,
        username: &Username,
        credential: Credential,
        now: DateTime<Utc>,
    ) -> Result<usize, AccountError> {
        let user = self.user_named(username).await?;
        self.set_password_of(actor, user.id, credential, None, now)
            .await
    }

    /// Sets a new password (or imported hash) of user `id`, if it passes `expected`, and
    /// revokes every session of the user; returns how many sessions were revoked.
    pub async fn set_password_of(
        &self,
        actor: &Actor,
        id: Uuid,
        credential: Credential,
        expected: Option<&IfMatch>,
        now: DateTime<Utc>,
    ) -> Result<usize, AccountError> {
        // The precondition is checked before the (costly) hashing, and again by the
        // write itself against the version read here.
        let user = self.user_as_expected(id, expected).await?;
        let hash = match credential {
            Credential::Password(password) => self.hashing.hash(password).await?,
            Credential::Hash(hash) => PasswordHash::from(hash),
        };
        let at = next_version(now, user.updated_at);
        let revoking = self.revoking(RevokeReason::PasswordChanged, at);
        let version = expected.map(|_| user.updated_at);
        let Some(revoked) = self
            .store
            .set_password(id, &hash, version, revoking)
            .await?
        else {
            return Err(match expected {
                Some(_) => AccountError::PreconditionFailed,
                None => AccountError::UnknownUser(id),
            });
        };
        let event = AuditEvent::new(EventKind::PasswordChanged, now)
            .user(id)
            .detail(format!("sessions_revoked={}", revoked.len()));
        self.audit.record(actor.on_user_event(event)).await;
        Ok(revoked.len())
    }

    /// Disables (revoking every session and live access token of the user) or enables
    /// a user by name (`authd user disable|enable`); returns how many sessions were
    /// revoked.
    pub async fn set_disabled(
        &self,
        actor: &Actor,
        username: &Username,
        disabled: bool,
        now: DateTime<Utc>,
    ) -> Result<usize, AccountError> {
        let user = self.user_named(username).await?;
        let updated = self
            .update_user(actor, user.id, &UserPatch::disabled(disabled), None, now)
            .await?;
        Ok(updated.revoked)
    }

    /// Applies a merge patch to user `id` if it passes `expected` (else
    /// `PreconditionFailed`; without `expected` the write is unconditional). The write is
    /// conditional on the version read, so a concurrent change is never overwritten:
    /// with `expected` it is `PreconditionFailed`, without, the patch is applied again
    /// to the newer version. A user left disabled loses every session and live access
    /// token in the same transaction. Audited: `user_updated` naming the members given
    /// (other than `disabled`), and `user_disabled`/`user_enabled` when that changed.
    pub async fn update_user(
        &self,
        actor: &Actor,
        id: Uuid,
        patch: &UserPatch,
        expected: Option<&IfMatch>,
        now: DateTime<Utc>,
    ) -> Result<Updated, AccountError> {
        for _ in 0..UPDATE_ATTEMPTS {
            let current = self.user_as_expected(id, expected).await?;
            let changes = patch.apply(&current);
            if changes == UserChanges::from(&current) {
                // Nothing changes: no write, no new version, no event.
                return Ok(Updated {
                    user: current,
                    revoked: 0,
                });
            }
            let at = next_version(now, current.updated_at);
            let revoking = self.revoking(RevokeReason::UserDisabled, at);
            let Some((user, revoked)) = self
                .store
                .update_user(id, &changes, current.updated_at, revoking)
                .await?
            else {
                if expected.is_some() {
                    return Err(AccountError::PreconditionFailed);
                }
                continue;
            };
            let members = patch.profile_members();
            if !members.is_empty() {
                let event = AuditEvent::new(EventKind::UserUpdated, now)
                    .user(id)
                    .detail(format!("members={}", members.join(",")));
                self.audit.record(actor.on_user_event(event)).await;
            }
            if patch.disabled.is_some() && current.disabled != user.disabled {
                let kind = if user.disabled {
                    EventKind::UserDisabled
                } else {
                    EventKind::UserEnabled
                };
                let event = AuditEvent::new(kind, now)
                    .user(id)
                    .detail(format!("sessions_revoked={}", revoked.len()));
                self.audit.record(actor.on_user_event(event)).await;
            }
            return Ok(Updated {
                user,
                revoked: revoked.len(),
            });
        }
        Err(AccountError::Contended)
    }

    /// Deletes a user by name (`authd user delete`); see `delete_user_by_id`.
    pub async fn delete_user(
        &self,
        actor: &Actor,
        username: &Username,
        now: DateTime<Utc>,
    ) -> Result<usize, AccountError> {
        let user = self.user_named(username).await?;
        // By id: if the name was deleted and taken again since the read, nothing is
        // deleted rather than the newcomer.
        match self.delete_user_by_id(actor, user.id, None, now).await {
            Err(AccountError::UnknownUser(_)) => Err(AccountError::NoSuchUser(username.clone())),
            other => other,
        }
    }

    /// Deletes user `id` if it passes `expected`: every session and live access token
    /// is revoked as by disabling, then the user is gone and the username free. The
    /// audit event keeps the id. Returns how many sessions were revoked.
    pub async fn delete_user_by_id(
        &self,
        actor: &Actor,
        id: Uuid,
        expected: Option<&IfMatch>,
        now: DateTime<Utc>,
    ) -> Result<usize, AccountError> {
        let user = self.user_as_expected(id, expected).await?;
        let revoking = self.revoking(RevokeReason::UserDeleted, now);
        let version = expected.map(|_| user.updated_at);
        let Some(revoked) = self.store.delete_user(id, version, revoking).await? else {
            return Err(match expected {
                Some(_) => AccountError::PreconditionFailed,
                None => AccountError::UnknownUser(id),
            });
        };
        let event = AuditEvent::new(EventKind::UserDeleted, now)
            .user(id)
            .detail(format!("sessions_revoked={}", revoked.len()));
        self.audit.record(actor.on_user_event(event)).await;
        Ok(revoked.len())
    }

    /// One user by id; `None` when there is none.
    pub async fn user(&self, id: Uuid) -> Result<Option<User>, AccountError> {
        Ok(self.store.user_by_id(id).await?)
    }

    /// One page of users by username (`query.limit` of them, 1 to `MAX_PAGE`; the
    /// caller checks the range): one row more is read to know whether a next page
    /// exists, never more.
    pub async fn users_page(&self, query: &UsersQuery) -> Result<UsersPage, AccountError> {
        let limit = query.limit.clamp(1, MAX_PAGE);
        let mut items = self
            .store
            .users_page(&UsersQuery {
                limit: limit + 1,
                ..query.clone()
            })
            .await?;
        let more = items.len() > limit as usize;
        items.truncate(limit as usize);
        let next_after = more
            .then(|| items.last().map(|u| u.username.clone()))
            .flatten();
        Ok(UsersPage { items, next_after })
    }

    /// Registers a client from a checked draft with its secret (confidential) or none
    /// (public). Without grants it gets `client_credentials` when confidential, `password`
    /// and `refresh_token` when public; a public client cannot use `client_credentials`.
    /// Returns the client as stored.
    pub async fn create_client(
        &self,
        actor: &Actor,
        draft: ClientDraft,
        secret: Option<&ClientSecret>,
        now: DateTime<Utc>,
    ) -> Result<Client, AccountError> {
        let mut client = draft.0;
        refuse_default_client(&client.id, &self.default_client.id)?;
        client.secret = secret.map(ClientSecret::digest);
        if client.grants.is_empty() {
            client.grants = default_grants(client.is_confidential());
        }
        if !client.is_confidential() && client.may_use(GrantType::ClientCredentials) {
            return Err(AccountError::PublicClientCredentials);
        }
        let stored = match self.store.create_client(&client, now).await {
            Ok(stored) => stored,
            Err(StoreError::Conflict) => return Err(AccountError::ClientTaken(client.id)),
            Err(e) => return Err(e.into()),
        };
        let event = AuditEvent::new(EventKind::ClientAdded, now)
            .client(client.id.as_str())
            .detail(client.kind());
        self.audit.record(actor.on_client_event(event)).await;
        Ok(stored)
    }

    /// Changes a registered client's audiences, grants or scopes, if its current
    /// version is one of `expected` (when given); checked as a registration is. Returns
    /// the client as stored. Running instances see the change within a second
    /// (`clients_version`).
    pub async fn update_client(
        &self,
        actor: &Actor,
        id: &ClientId,
        changes: &ClientChanges,
        expected: Option<&[String]>,
        now: DateTime<Utc>,
    ) -> Result<Client, AccountError> {
        refuse_default_client(id, &self.default_client.id)?;
        for _ in 0..CHANGE_ATTEMPTS {
            let current = self.stored_client(id).await?;
            if !precondition_holds(&current, expected) {
                return Err(AccountError::PreconditionFailed);
            }
            let next = changes.apply(&current)?;
            let Some(seen) = current.updated_at else {
                return Err(AccountError::NoSuchClient(id.clone()));
            };
            // Written only over the version read above: a concurrent change makes
            // this match nothing instead of being overwritten.
            if let Some(stored) = self.store.update_client(&next, seen, now).await? {
                let event = AuditEvent::new(EventKind::ClientUpdated, now)
                    .client(id.as_str())
                    .detail(changes.members());
                self.audit.record(actor.on_client_event(event)).await;
                return Ok(stored);
            }
            if expected.is_some() {
                // Changed (or removed) since the caller's version.
                self.stored_client(id).await?;
                return Err(AccountError::PreconditionFailed);
            }
        }
        Err(AccountError::PreconditionFailed)
    }

    /// Gives a confidential client a new generated secret; the one it replaces keeps
    /// working for `clients.previous_secret_ttl` (replacing any older previous secret).
    /// The new secret is returned once and only its digest is stored.
    pub async fn rotate_client_secret(
        &self,
        actor: &Actor,
        id: &ClientId,
        now: DateTime<Utc>,
    ) -> Result<ClientSecret, AccountError> {
        refuse_default_client(id, &self.default_client.id)?;
        let secret = ClientSecret::generate();
        let rotated = self
            .store
            .rotate_client_secret(
                id.as_str(),
                &secret.digest(),
                now + self.previous_secret_ttl,
                now,
            )
            .await?;
        if rotated.is_none() {
            // No such client, or a public one.
            self.stored_client(id).await?;
            return Err(AccountError::PublicClient(id.clone()));
        }
        let event = AuditEvent::new(EventKind::ClientSecretRotated, now).client(id.as_str());
        self.audit.record(actor.on_client_event(event)).await;
        Ok(secret)
    }

    /// Ends a client's previous secret before its time.
    pub async fn remove_previous_client_secret(
        &self,
        actor: &Actor,
        id: &ClientId,
        now: DateTime<Utc>,
    ) -> Result<(), AccountError> {
        refuse_default_client(id, &self.default_client.id)?;
        if !self
            .store
            .remove_previous_client_secret(id.as_str(), now)
            .await?
        {
            self.stored_client(id).await?;
            return Err(AccountError::NoPreviousSecret(id.clone()));
        }
        let event =
            AuditEvent::new(EventKind::ClientPreviousSecretRemoved, now).client(id.as_str());
        self.audit.record(actor.on_client_event(event)).await;
        Ok(())
    }

    /// Removes a client and revokes its sessions, if its current version is one of
    /// `expected` (when given); returns how many sessions were revoked.
    pub async fn remove_client(
        &self,
        actor: &Actor,
        id: &ClientId,
        expected: Option<&[String]>,
        now: DateTime<Utc>,
    ) -> Result<usize, AccountError> {
        refuse_default_client(id, &self.default_client.id)?;
        let seen = match expected {
            None => None,
            Some(_) => {
                let current = self.stored_client(id).await?;
                if !precondition_holds(&current, expected) {
                    return Err(AccountError::PreconditionFailed);
                }
                current.updated_at
            }
        };
        let revoking = self.revoking(RevokeReason::ClientRemoved, now);
        let Some(revoked) = self
            .store
            .remove_client(id.as_str(), seen, revoking)
            .await?
        else {
            if seen.is_some() {
                self.stored_client(id).await?;
                return Err(AccountError::PreconditionFailed);
            }
            return Err(AccountError::NoSuchClient(id.clone()));
        };
        let event = AuditEvent::new(EventKind::ClientRemoved, now)
            .client(id.as_str())
            .detail(format!("sessions_revoked={}", revoked.len()));
        self.audit.record(actor.on_client_event(event)).await;
        Ok(revoked.len())
    }

    /// The configured default client first, then every registered client by id.
    pub async fn list_clients(&self) -> Result<Vec<Client>, AccountError> {
        let mut clients = vec![self.default_client.clone()];
        clients.extend(self.store.list_clients().await?);
        Ok(clients)
    }

    /// The configured default client's id (`default_client.id`).
    pub fn default_client_id(&self) -> &ClientId {
        &self.default_client.id
    }

    /// One client by id: the configured default client or a registered one.
    pub async fn client(&self, id: &ClientId) -> Result<Option<Client>, AccountError> {
        if *id == self.default_client.id {
            return Ok(Some(self.default_client.clone()));
        }
        Ok(self.store.client_by_id(id.as_str()).await?)
    }

    /// One page of the clients by id (byte order), after `after`: at most `limit`, and
    /// whether more follow. The configured default client is listed in its place, as
    /// `authd client list` lists it: it exists for every caller of the token endpoint
    /// (read-only: changing or removing it is refused). At most `limit + 1` rows are read.
    pub async fn clients_page(
        &self,
        after: Option<&str>,
        limit: usize,
    ) -> Result<(Vec<Client>, bool), AccountError> {
        let default = &self.default_client;
        let after_str = after;
        let mut page: Vec<Client> = self
            .store
            .clients_page(after_str, i64::try_from(limit + 1).unwrap_or(i64::MAX))
            .await?
            .into_iter()
            // A stored row under the default id (registered before the configuration
            // named it) is shadowed by the default client, as at the token endpoint.
            .filter(|c| c.id != default.id)
            .collect();
        if after_str.is_none_or(|after| default.id.as_str() > after) {
            let at = page.partition_point(|c| c.id.as_str() < default.id.as_str());
            page.insert(at, default.clone());
        }
        let more = page.len() > limit;
        page.truncate(limit);
        Ok((page, more))
    }

    /// A registered client, or `NoSuchClient`.
    async fn stored_client(&self, id: &ClientId) -> Result<Client, AccountError> {
        self.store
            .client_by_id(id.as_str())
            .await?
            .ok_or_else(|| AccountError::NoSuchClient(id.clone()))
    }
}
