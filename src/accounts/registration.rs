//! Self-registration (admin-api.md §3): off unless `registration.enabled`; at most
//! `registration.per_address` per source address per hour, counted before the user is
//! created (a taken name counts too, so names cannot be probed for free); new users get
//! `registration.default_roles`; audited as `user_registered`.

use std::net::IpAddr;
use std::time::Duration;

use chrono::{DateTime, Utc};

use super::{AccountError, Accounts, Credential, NewAccount};
use crate::audit::{AuditEvent, EventKind};
use crate::auth::{Quota, ThrottleError};
use crate::config::RegistrationSettings;
use crate::domain::{Password, Role, Username};
use crate::shared_state::RedisConnection;
use crate::store::{Profile, User};

/// The quota's window.
const WINDOW: Duration = Duration::from_secs(3600);

/// The registration rules of one server.
pub struct Registration {
    enabled: bool,
    default_roles: Vec<Role>,
    quota: Quota,
}

/// What a user registering gives.
#[derive(Debug, Clone)]
pub struct SelfRegistration {
    pub username: Username,
    pub password: Password,
    /// Only `email` and `name`: `email_verified` is never the user's to claim.
    pub profile: Profile,
}

impl Registration {
    /// With Redis, the quota is shared by every instance.
    pub fn new(settings: &RegistrationSettings, redis: Option<(RedisConnection, &str)>) -> Self {
        Self {
            enabled: settings.enabled,
            default_roles: settings.default_roles.clone(),
            quota: Quota::new("register", settings.per_address, WINDOW, redis),
        }
    }

    pub fn enabled(&self) -> bool {
        self.enabled
    }
}

impl Accounts {
    /// Registers a user from `source`; `RegistrationDisabled`, `Throttled` or
    /// `UsernameTaken` otherwise.
    pub async fn register(
        &self,
        registration: &Registration,
        new: SelfRegistration,
        source: IpAddr,
        now: DateTime<Utc>,
    ) -> Result<User, AccountError> {
        if !registration.enabled {
            return Err(AccountError::RegistrationDisabled);
        }
        registration
            .quota
            .take(source, now)
            .await
            .map_err(|e| match e {
                ThrottleError::Throttled(wait) => AccountError::Throttled(wait),
                ThrottleError::Unavailable(cause) => AccountError::ThrottleUnavailable(cause),
            })?;
        let user = self
            .insert_user(
                NewAccount {
                    username: new.username,
                    credential: Credential::Password(new.password),
                    roles: registration.default_roles.clone(),
                    disabled: false,
                    profile: Profile {
                        email_verified: false,
                        given_name: None,
                        family_name: None,
                        ..new.profile
                    },
                },
                now,
            )
            .await?;
        let event = AuditEvent::new(EventKind::UserRegistered, now)
            .user(user.id)
            .source(source);
        self.audit.record(event).await;
        Ok(user)
    }
}
