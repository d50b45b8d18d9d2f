//! "Are these credentials right?": argon2id on a bounded pool, a dummy hash for
//! unknown users, and rehashing under newer parameters.

mod password;

use std::sync::Arc;

use chrono::{DateTime, Utc};

pub use password::{hash_password, HashPool, Hasher, PoolError, Verdict};

use crate::domain::{Password, Username};
use crate::store::{Store, StoreError, User};

#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    /// Wrong password, unknown user or disabled user: deliberately one case.
    #[error("invalid username or password")]
    InvalidCredentials,
    #[error(transparent)]
    Pool(#[from] PoolError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

#[derive(Clone)]
pub struct Authenticator {
    store: Arc<dyn Store>,
    hasher: HashPool,
}

impl Authenticator {
    pub fn new(store: Arc<dyn Store>, hasher: HashPool) -> Self {
        Self { store, hasher }
    }

    /// Checks a username and password. An unknown user costs the same argon2 work as a
    /// known one, and all three failures look alike to the caller.
    #[tracing::instrument(name = "authenticate", skip_all)]
    pub async fn authenticate(
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
