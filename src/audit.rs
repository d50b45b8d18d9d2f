//! The audit trail: security events written to `audit_events` (read with
//! `authd audit list`), kept for `audit.retention`. An event names who (user, client),
//! what (event, session or token id, a fixed-vocabulary detail), when and from where;
//! never a password, a secret, a token, or a username that matches no user.
//!
//! Events are written after the change they describe has committed. A failed write
//! does not undo that change or fail the request: it is logged and counted
//! (`authd_audit_write_failures_total`).

use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::metrics::Metrics;
use crate::store::Store;

/// Expired events are deleted this often by every running instance.
const PRUNE_EVERY: Duration = Duration::from_secs(3600);

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

/// Where a service reports what it did: counters, and the audit trail.
#[derive(Clone)]
pub struct Events {
    pub metrics: Arc<Metrics>,
    pub audit: Audit,
}

/// Writes events; shared by the request handlers and the background loops.
#[derive(Clone)]
pub struct Audit {
    store: Arc<dyn Store>,
    metrics: Arc<Metrics>,
    retention: Option<chrono::Duration>,
}

impl Audit {
    /// `retention` zero keeps events forever.
    pub fn new(
        store: Arc<dyn Store>,
        metrics: Arc<Metrics>,
        retention: Duration,
    ) -> anyhow::Result<Self> {
        let retention = (!retention.is_zero())
            .then(|| chrono::Duration::from_std(retention))
            .transpose()?;
        Ok(Self {
            store,
            metrics,
            retention,
        })
    }

    /// Records `event`; a failure is logged and counted, never returned.
    pub async fn record(&self, event: AuditEvent) {
        if let Err(e) = self.store.record_audit(&event).await {
            self.metrics.audit_write_failed();
            tracing::error!(error = %e, event = event.kind.as_str(), "audit event not recorded");
        }
    }

    /// Records `events` in one write (an import's); a failure is logged and counted
    /// once per event, never returned.
    pub async fn record_all(&self, events: &[AuditEvent]) {
        if let Err(e) = self.store.record_audits(events).await {
            for _ in events {
                self.metrics.audit_write_failed();
            }
            tracing::error!(error = %e, events = events.len(), "audit events not recorded");
        }
    }

    /// Deletes events older than the retention, every hour, until the task is aborted.
    pub async fn prune_loop(self) {
        let Some(retention) = self.retention else {
            return;
        };
        loop {
            match self.store.prune_audit(Utc::now() - retention).await {
                Ok(n) if n > 0 => tracing::info!(pruned = n, "expired audit events deleted"),
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "pruning audit events failed"),
            }
            tokio::time::sleep(PRUNE_EVERY).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_event_name_parses_back_and_unknown_names_list_the_known_ones() {
        for kind in EventKind::ALL {
            assert_eq!(EventKind::parse(kind.as_str()), Ok(kind));
        }
        let err = EventKind::parse("login").unwrap_err();
        assert!(err.contains("login_succeeded") && err.contains("key_removed"));
    }
}
