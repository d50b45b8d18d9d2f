//! "Are these credentials right?": argon2id on a bounded pool, a dummy hash for
//! unknown users, rehashing under newer parameters, and login throttling.

mod password;
mod throttle;

use std::net::IpAddr;
use std::sync::Arc;

use chrono::{DateTime, Utc};

pub use password::{check as check_password, hash_password, HashPool, Hasher, PoolError, Verdict};
pub use throttle::{Attempt, Outcome, Throttle, ThrottleError};

use crate::domain::{Password, Username};
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
}

impl Authenticator {
    pub fn new(store: Arc<dyn Store>, hasher: HashPool, throttle: Arc<Throttle>) -> Self {
        Self {
            store,
            hasher,
            throttle,
        }
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
            }
            return Err(e.into());
        }
        let result = self.check(username, password, now).await;
        let outcome = match &result {
            Ok(_) => Outcome::Succeeded,
            Err(AuthError::InvalidCredentials) => {
                tracing::info!(event = "login_failed", source = %source, "login failed");
                Outcome::Failed
            }
            Err(_) => Outcome::Refunded,
        };
        self.throttle.settle(&attempt, outcome, now).await;
        result
    }

    async fn check(
        &self,
        username: &Username,
        password: &Password,
        now: DateTime<Utc>,
    ) -> Result<User, AuthError> {
        let user = self.store.user_by_username(username).await?;
        let stored = user.as_ref().map(|u| u.password_hash.clone());
        let verdict = self.hasher.verify(stored, password.clone()).await?;
        let user = match user {
            Some(user) if verdict.matched && !user.disabled => user,
            _ => return Err(AuthError::InvalidCredentials),
        };
        if verdict.needs_rehash {
            self.upgrade_hash(&user, password, now).await;
        }
        Ok(user)
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
