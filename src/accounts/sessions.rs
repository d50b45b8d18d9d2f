//! Sessions as users and administrators see them (admin-api.md §2, §3): a session is a
//! live refresh-token family, its id the `sid` of its access tokens. Listing them,
//! ending one or all (the store revokes each family and records its `sid`, so its access
//! tokens die with it), and a user's own password change, which ends every other
//! session of theirs.

use chrono::{DateTime, Utc};
use uuid::Uuid;

use super::{AccountError, Accounts, Actor};
use crate::audit::{AuditEvent, EventKind};
use crate::auth::{AuthError, Authenticator, ThrottleError};
use crate::domain::{Password, Username};
use crate::store::{Family, RevokeReason};

/// A live session as listed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    pub sid: Uuid,
    pub client_id: String,
    /// Space-separated scopes granted at login.
    pub scope: String,
    pub created_at: DateTime<Utc>,
    pub last_used_at: DateTime<Utc>,
    /// When it ends unless it is used: its absolute end, or sooner its idle end.
    pub expires_at: DateTime<Utc>,
}

/// A user calling the account API with a token of one of their sessions.
#[derive(Debug, Clone)]
pub struct SessionOwner {
    pub user_id: Uuid,
    pub sid: Uuid,
    pub actor: Actor,
}

impl Accounts {
    /// The user's live sessions, newest first; `UnknownUser` when there is no such user.
    pub async fn sessions(
        &self,
        user_id: Uuid,
        now: DateTime<Utc>,
    ) -> Result<Vec<Session>, AccountError> {
        let families = self
            .store
            .live_sessions(user_id, self.idle_ttl, now)
            .await?
            .ok_or(AccountError::UnknownUser(user_id))?;
        Ok(families
            .into_iter()
            .map(|f| Session {
                expires_at: f.expires_at.min(f.last_used_at + self.idle_ttl),
                sid: f.id,
                client_id: f.client_id,
                scope: f.scope,
                created_at: f.created_at,
                last_used_at: f.last_used_at,
            })
            .collect())
    }

    /// Ends one live session, only if it is `owner`'s when given; `NoSuchSession` when
    /// there is none (unknown, ended, or another user's).
    pub async fn end_session(
        &self,
        actor: &Actor,
        sid: Uuid,
        owner: Option<Uuid>,
        now: DateTime<Utc>,
    ) -> Result<Family, AccountError> {
        let revoking = self.revoking(RevokeReason::Revoked, now);
        let family = self
            .store
            .end_session(sid, owner, self.idle_ttl, revoking)
            .await?
            .ok_or(AccountError::NoSuchSession)?;
        self.sessions_ended(&[sid], now).await;
        self.record_ended(actor, family.user_id, &[sid], now).await;
        Ok(family)
    }

    /// Ends every session of a user but `keep`; returns how many.
    pub async fn end_sessions(
        &self,
        actor: &Actor,
        user_id: Uuid,
        keep: Option<Uuid>,
        now: DateTime<Utc>,
    ) -> Result<usize, AccountError> {
        let revoking = self.revoking(RevokeReason::Revoked, now);
        let ended = self
            .store
            .end_user_sessions(user_id, keep, revoking)
            .await?
            .ok_or(AccountError::UnknownUser(user_id))?;
        self.sessions_ended(&ended, now).await;
        self.record_ended(actor, user_id, &ended, now).await;
        Ok(ended.len())
    }

    /// A user changes their own password: `current` is checked like a login (the same
    /// argon2 pool, the same throttle, counted per username and source address), `new`
    /// is set, and every other session of theirs ends; the calling one lives on.
    /// Returns how many sessions ended.
    pub async fn change_own_password(
        &self,
        authenticator: &Authenticator,
        owner: &SessionOwner,
        current: &Password,
        new: Password,
        now: DateTime<Utc>,
    ) -> Result<usize, AccountError> {
        let user = self
            .store
            .user_by_id(owner.user_id)
            .await?
            .ok_or(AccountError::UnknownUser(owner.user_id))?;
        // Stored names were checked when written.
        let username =
            Username::parse(&user.username).map_err(|_| AccountError::UnknownUser(user.id))?;
        let source = match &owner.actor {
            Actor::User { source, .. } => *source,
            _ => std::net::IpAddr::from([0, 0, 0, 0]),
        };
        authenticator
            .authenticate(&username, current, source, now)
            .await
            .map_err(|e| match e {
                AuthError::InvalidCredentials => AccountError::WrongCurrentPassword,
                AuthError::Throttle(ThrottleError::Throttled(wait)) => {
                    AccountError::Throttled(wait)
                }
                AuthError::Throttle(ThrottleError::Unavailable(cause)) => {
                    AccountError::ThrottleUnavailable(cause)
                }
                AuthError::Pool(e) => AccountError::Hash(e),
                AuthError::Store(e) => AccountError::Store(e),
            })?;
        let hash = self.hashing.hash(new).await?;
        let revoking = self.revoking(RevokeReason::PasswordChanged, now);
        let ended = self
            .store
            .set_password_keeping(user.id, &hash, Some(owner.sid), revoking)
            .await?
            .ok_or(AccountError::UnknownUser(user.id))?;
        self.sessions_ended(&ended, now).await;
        let event = AuditEvent::new(EventKind::PasswordChanged, now)
            .user(user.id)
            .sid(owner.sid)
            .detail(format!("sessions_revoked={}", ended.len()));
        self.audit.record(owner.actor.on_user_event(event)).await;
        Ok(ended.len())
    }

    /// One `session_revoked` event per ended session.
    async fn record_ended(&self, actor: &Actor, user_id: Uuid, sids: &[Uuid], now: DateTime<Utc>) {
        for sid in sids {
            let event = AuditEvent::new(EventKind::SessionRevoked, now)
                .user(user_id)
                .sid(*sid);
            self.audit.record(actor.on_user_event(event)).await;
        }
    }
}
