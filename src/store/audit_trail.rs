//! The audit trail's records, as the store writes and reads them (`audit_events`); the
//! service that records them is `crate::audit`, above the store.

use std::net::IpAddr;

use chrono::{DateTime, Utc};
use uuid::Uuid;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventKind {
    LoginSucceeded,
    LoginFailed,
    LoginThrottled,
    RefreshReuse,
    FamilyRevoked,
    Logout,
    TokenRevoked,
    UserAdded,
    UserDisabled,
    UserEnabled,
    UserDeleted,
    PasswordChanged,
    ClientAdded,
    ClientRemoved,
    KeyCreated,
    KeyRotated,
    KeyRemoved,
    UserUpdated,
    UserRegistered,
    SessionRevoked,
    ClientUpdated,
    ClientSecretRotated,
    ClientPreviousSecretRemoved,
    RefreshGraceReplay,
}

impl EventKind {
    pub const ALL: [EventKind; 24] = [
        Self::LoginSucceeded,
        Self::LoginFailed,
        Self::LoginThrottled,
        Self::RefreshReuse,
        Self::FamilyRevoked,
        Self::Logout,
        Self::TokenRevoked,
        Self::UserAdded,
        Self::UserDisabled,
        Self::UserEnabled,
        Self::UserDeleted,
        Self::PasswordChanged,
        Self::ClientAdded,
        Self::ClientRemoved,
        Self::KeyCreated,
        Self::KeyRotated,
        Self::KeyRemoved,
        Self::UserUpdated,
        Self::UserRegistered,
        Self::SessionRevoked,
        Self::ClientUpdated,
        Self::ClientSecretRotated,
        Self::ClientPreviousSecretRemoved,
        Self::RefreshGraceReplay,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::LoginSucceeded => "login_succeeded",
            Self::LoginFailed => "login_failed",
            Self::LoginThrottled => "login_throttled",
            Self::RefreshReuse => "refresh_reuse",
            Self::FamilyRevoked => "family_revoked",
            Self::Logout => "logout",
            Self::TokenRevoked => "token_revoked",
            Self::UserAdded => "user_added",
            Self::UserDisabled => "user_disabled",
            Self::UserEnabled => "user_enabled",
            Self::UserDeleted => "user_deleted",
            Self::PasswordChanged => "password_changed",
            Self::ClientAdded => "client_added",
            Self::ClientRemoved => "client_removed",
            Self::KeyCreated => "key_created",
            Self::KeyRotated => "key_rotated",
            Self::KeyRemoved => "key_removed",
            Self::UserUpdated => "user_updated",
            Self::UserRegistered => "user_registered",
            Self::SessionRevoked => "session_revoked",
            Self::ClientUpdated => "client_updated",
            Self::ClientSecretRotated => "client_secret_rotated",
            Self::ClientPreviousSecretRemoved => "client_previous_secret_removed",
            Self::RefreshGraceReplay => "refresh_grace_replay",
        }
    }

    pub fn parse(raw: &str) -> Result<Self, String> {
        Self::ALL
            .into_iter()
            .find(|kind| kind.as_str() == raw)
            .ok_or_else(|| {
                let names: Vec<&str> = Self::ALL.iter().map(|k| k.as_str()).collect();
                format!("unknown audit event {raw:?}; one of: {}", names.join(", "))
            })
    }
}

/// One event to record. Build with `AuditEvent::new(kind, at)` and the setters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditEvent {
    pub at: DateTime<Utc>,
    pub kind: EventKind,
    pub user_id: Option<Uuid>,
    pub client_id: Option<String>,
    pub sid: Option<Uuid>,
    pub jti: Option<String>,
    pub source: Option<IpAddr>,
    pub detail: Option<String>,
}

impl AuditEvent {
    pub fn new(kind: EventKind, at: DateTime<Utc>) -> Self {
        Self {
            at,
            kind,
            user_id: None,
            client_id: None,
            sid: None,
            jti: None,
            source: None,
            detail: None,
        }
    }

    pub fn user(mut self, id: Uuid) -> Self {
        self.user_id = Some(id);
        self
    }

    pub fn client(mut self, id: &str) -> Self {
        self.client_id = Some(id.to_owned());
        self
    }

    pub fn sid(mut self, sid: Uuid) -> Self {
        self.sid = Some(sid);
        self
    }

    pub fn jti(mut self, jti: &str) -> Self {
        self.jti = Some(jti.to_owned());
        self
    }

    pub fn source(mut self, source: IpAddr) -> Self {
        self.source = Some(source);
        self
    }

    pub fn detail(mut self, detail: impl Into<String>) -> Self {
        self.detail = Some(detail.into());
        self
    }
}

/// A stored event as `authd audit list` shows it: ids as text, the user's current
/// name when the user still exists.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct AuditRecord {
    /// The row's id: with `occurred_at`, the position of a keyset cursor.
    pub id: i64,
    pub occurred_at: DateTime<Utc>,
    pub event: String,
    pub user_id: Option<String>,
    pub username: Option<String>,
    pub client_id: Option<String>,
    pub sid: Option<String>,
    pub jti: Option<String>,
    pub source: Option<String>,
    pub detail: Option<String>,
}

/// Which events `authd audit list` reads: newest first, at most `limit`.
#[derive(Debug, Clone)]
pub struct AuditQuery {
    pub since: Option<DateTime<Utc>>,
    pub user_id: Option<Uuid>,
    pub event: Option<EventKind>,
    pub limit: i64,
}

/// One page of the trail for the admin API (`GET /admin/v1/audit`): `query`, events of
/// one client, and only those strictly before a cursor in the newest-first order.
#[derive(Debug, Clone)]
pub struct AuditPageQuery {
    pub query: AuditQuery,
    pub client_id: Option<String>,
    pub before: Option<AuditCursor>,
}

impl From<AuditQuery> for AuditPageQuery {
    fn from(query: AuditQuery) -> Self {
        Self {
            query,
            client_id: None,
            before: None,
        }
    }
}

/// A position in the trail's newest-first order: (occurred_at, id) of the last event
/// seen. Events recorded while a caller pages never make it skip or repeat one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AuditCursor {
    pub occurred_at: DateTime<Utc>,
    pub id: i64,
}
