//! "Are these credentials right?": argon2id on a bounded pool, a dummy hash for
//! unknown users, rehashing under newer parameters (and of imported bcrypt, pbkdf2 and
//! scrypt hashes, into argon2id), and login throttling.

mod password;
mod throttle;

use std::net::IpAddr;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use uuid::Uuid;

pub use password::{check as check_password, hash_password, HashPool, Hasher, PoolError, Verdict};
pub use throttle::{Attempt, Outcome, Quota, Throttle, ThrottleError};

use crate::audit::{Audit, AuditEvent, EventKind};
use crate::domain::{Password, Username};
use crate::metrics::Metrics;
use crate::store::{Store, StoreError, User};

#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    /// Wrong password, unknown user or disabled user: deliberately one case.
    #[error("invalid username or password")]
    InvalidCredentials,
    #[error(transparent)]
    Throttle(#[from] ThrottleError),
    #[error(transparent)]
    Pool(#[from] PoolError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

#[derive(Clone)]
pub struct Authenticator {
    store: Arc<dyn Store>,
    hasher: HashPool,
    throttle: Arc<Throttle>,
    metrics: Arc<Metrics>,
    audit: Audit,
}

impl Authenticator {
    pub fn new(
        store: Arc<dyn Store>,
        hasher: HashPool,
        throttle: Arc<Throttle>,
        metrics: Arc<Metrics>,
        audit: Audit,
    ) -> Self {
        Self {
            store,
            hasher,
            throttle,
            metrics,
            audit,
        }
    }

    /// Password checks waiting for an argon2 worker.
    pub fn queue_depth(&self) -> usize {
        self.hasher.queue_depth()
    }

    /// Checks a username and password from `source`, unless that username or address is
    /// throttled. An unknown user costs the same argon2 work and the same throttle count
    /// as a known one, and all three failures look alike to the caller.
    #[tracing::instrument(name = "authenticate", skip_all)]
    pub async fn authenticate(
        &self,
        username: &Username,
        password: &Password,
        source: IpAddr,
        now: DateTime<Utc>,
    ) -> Result<User, AuthError> {
        let attempt = Attempt::new(username, source);
        if let Err(e) = self.throttle.begin(&attempt, now).await {
            if matches!(e, ThrottleError::Throttled(_)) {
                tracing::warn!(event = "login_throttled", source = %source, "login refused: too many failures");
                self.metrics.login_throttled();
                self.audit
                    .record(AuditEvent::new(EventKind::LoginThrottled, now).source(source))
                    .await;
            }
            return Err(e.into());
        }
        let (result, user_id) = self.check(username, password, now).await;
        let outcome = match &result {
            Ok(_) => {
                self.metrics.login(true);
                Outcome::Succeeded
            }
            Err(AuthError::InvalidCredentials) => {
                tracing::info!(event = "login_failed", source = %source, "login failed");
                self.metrics.login(false);
                // The user only when the name is a user's: a mistyped name can be a
                // password typed into the wrong field.
                let mut event = AuditEvent::new(EventKind::LoginFailed, now).source(source);
                event.user_id = user_id;
                self.audit.record(event).await;
                Outcome::Failed
            }
            Err(e) => {
                if matches!(e, AuthError::Pool(PoolError::Busy)) {
                    self.metrics.password_pool_busy();
                }
                Outcome::Refunded
            }
        };
        self.throttle.settle(&attempt, outcome, now).await;
        result
    }

    /// The check, and the id of the user the name belongs to, if any.
    async fn check(
        &self,
        username: &Username,
        password: &Password,
        now: DateTime<Utc>,
    ) -> (Result<User, AuthError>, Option<Uuid>) {
        let user = match self.store.user_by_username(username).await {
            Ok(user) => user,
            Err(e) => return (Err(e.into()), None),
        };
        let user_id = user.as_ref().map(|u| u.id);
        let stored = user.as_ref().map(|u| u.password_hash.clone());
        let verdict = match self.hasher.verify(stored, password.clone()).await {
            Ok(verdict) => verdict,
            Err(e) => return (Err(e.into()), user_id),
        };
        let user = match user {
            Some(user) if verdict.matched && !user.disabled => user,
            _ => return (Err(AuthError::InvalidCredentials), user_id),
        };
        if verdict.needs_rehash {
            self.upgrade_hash(&user, password, now).await;
        }
        (Ok(user), user_id)
    }

    /// Rehashes under the configured parameters after a successful login. Best effort:
    /// the login has already succeeded, so a failure here is only logged.
    async fn upgrade_hash(&self, user: &User, password: &Password, now: DateTime<Utc>) {
        let result = match self.hasher.hash(password.clone()).await {
            Ok(new) => self
                .store
                .upgrade_password_hash(user.id, &user.password_hash, &new, now)
                .await
                .map_err(anyhow::Error::from),
            Err(e) => Err(e.into()),
        };
        match result {
            Ok(true) => {
                tracing::info!(user_id = %user.id, "stored hash upgraded to the current argon2 parameters")
            }
            Ok(false) => {}
            Err(e) => {
                tracing::warn!(user_id = %user.id, error = %e, "stored hash upgrade skipped")
            }
        }
    }
}
