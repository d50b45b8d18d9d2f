//! Login throttling (spec §3, issue #6): per username and per source address, after
//! `login.max_failures` failures within `login.window`, attempts are refused with 429 for
//! a delay that doubles with each further failure (1 s, 2 s, 4 s, ... at most the
//! window): a progressive delay, never a permanent lockout an attacker could impose.
//!
//! Each attempt reserves a slot *before* the password is checked, in one atomic step
//! with the "is it blocked?" check, and is refused while failures plus attempts in flight
//! would pass the limit (past it: one attempt per delay): so concurrent attempts cannot
//! slip past it (of 20 simultaneous guesses with 5 allowed, at most 5 are checked). The outcome then settles the slot: a
//! failure counts (and may start a delay), a success clears the username's failures.
//! Shared by every instance through Redis when configured, in process otherwise. Both
//! keys are counted whether or not the username exists.

mod local;
mod quota;
mod redis;

use std::net::IpAddr;
use std::time::Duration;

use chrono::{DateTime, Utc};

use self::local::LocalThrottle;
pub use self::quota::Quota;
use self::redis::RedisThrottle;
use crate::config::LoginSettings;
use crate::domain::Username;
use crate::shared_state::RedisConnection;

/// The first delay once the limit is reached; each further failure doubles it.
const BASE_DELAY_MS: i64 = 1000;
/// What a client refused only because attempts are in flight is told to wait.
const BUSY_RETRY_MS: i64 = 1000;

/// How an attempt ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Wrong password, unknown or disabled user.
    Failed,
    /// The right password.
    Succeeded,
    /// No verdict (a dependency failed): the slot is released, nothing counted.
    Refunded,
}

impl Outcome {
    fn code(self) -> u8 {
        match self {
            Self::Refunded => 0,
            Self::Failed => 1,
            Self::Succeeded => 2,
        }
    }
}

#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub max_failures: u32,
    pub window_ms: i64,
}

impl Limits {
    pub fn new(settings: &LoginSettings) -> Self {
        Self {
            max_failures: settings.max_failures,
            window_ms: i64::try_from(settings.window.as_millis()).unwrap_or(i64::MAX),
        }
    }

    /// How many attempts may be in flight after `failures` failures: the ones left
    /// before the limit, and once it is reached, one per delay.
    pub fn room(&self, failures: u32) -> u32 {
        self.max_failures.saturating_sub(failures).max(1)
    }

    /// How long attempts are refused after the `failures`-th failure (0: not at all).
    pub fn delay_ms(&self, failures: u32) -> i64 {
        if failures < self.max_failures {
            return 0;
        }
        let doublings = (failures - self.max_failures).min(40);
        BASE_DELAY_MS
            .saturating_mul(1_i64 << doublings)
            .min(self.window_ms)
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ThrottleError {
    /// Too many failures: retry after this long.
    #[error("too many failed attempts")]
    Throttled(Duration),
    /// Redis did not answer: logins fail closed (503).
    #[error("throttle state unavailable")]
    Unavailable(#[source] anyhow::Error),
}

/// The keys one attempt counts against.
#[derive(Debug, Clone)]
pub struct Attempt {
    user_key: String,
    address_key: String,
}

impl Attempt {
    pub fn new(username: &Username, source: IpAddr) -> Self {
        Self {
            user_key: format!("user:{}", username.as_str()),
            address_key: format!("addr:{}", address_key(source)),
        }
    }
}

/// An IPv6 client controls at least a /64, so that is what is counted.
fn address_key(source: IpAddr) -> String {
    match source {
        IpAddr::V4(v4) => v4.to_string(),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => v4.to_string(),
            None => {
                let s = v6.segments();
                format!("{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3])
            }
        },
    }
}

enum Backend {
    Local(LocalThrottle),
    Redis(RedisThrottle),
}

pub struct Throttle {
    limits: Limits,
    backend: Backend,
}

impl Throttle {
    pub fn new(settings: &LoginSettings, redis: Option<(RedisConnection, &str)>) -> Self {
        let backend = match redis {
            Some((conn, prefix)) => Backend::Redis(RedisThrottle::new(conn, prefix)),
            None => Backend::Local(LocalThrottle::default()),
        };
        Self {
            limits: Limits::new(settings),
            backend,
        }
    }

    /// Before checking a password: refuses the attempt if either key is blocked or has
    /// no slot left, else reserves one (atomically with the check).
    pub async fn begin(&self, attempt: &Attempt, now: DateTime<Utc>) -> Result<(), ThrottleError> {
        let now_ms = now.timestamp_millis();
        let wait_ms = match &self.backend {
            Backend::Local(t) => t.begin(attempt, now_ms, &self.limits),
            Backend::Redis(t) => t
                .begin(attempt, now_ms, &self.limits)
                .await
                .map_err(ThrottleError::Unavailable)?,
        };
        if wait_ms > 0 {
            // Retry-After is whole seconds: round up so a retry is never early.
            let secs = u64::try_from(wait_ms).unwrap_or(0).div_ceil(1000);
            return Err(ThrottleError::Throttled(Duration::from_secs(secs.max(1))));
        }
        Ok(())
    }

    /// Releases the attempt's slot and records its outcome. Best effort: if Redis fails
    /// here, the slot expires with the window.
    pub async fn settle(&self, attempt: &Attempt, outcome: Outcome, now: DateTime<Utc>) {
        let now_ms = now.timestamp_millis();
        let result = match &self.backend {
            Backend::Local(t) => {
                t.settle(attempt, outcome, now_ms, &self.limits);
                Ok(())
            }
            Backend::Redis(t) => t.settle(attempt, outcome, now_ms, &self.limits).await,
        };
        if let Err(e) = result {
            tracing::warn!(error = %e, "login throttle count not settled");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_delay_starts_at_the_limit_doubles_and_is_capped_by_the_window() {
        let limits = Limits {
            max_failures: 5,
            window_ms: 900_000,
        };
        assert_eq!(limits.delay_ms(4), 0);
        assert_eq!(limits.delay_ms(5), 1000);
        assert_eq!(limits.delay_ms(6), 2000);
        assert_eq!(limits.delay_ms(9), 16_000);
        assert_eq!(limits.delay_ms(20), 900_000);
        assert_eq!(limits.delay_ms(u32::MAX), 900_000);
    }

    #[test]
    fn ipv6_clients_are_counted_by_their_64_prefix() {
        let a: IpAddr = "2001:db8:1:2:aaaa::1".parse().unwrap();
        let b: IpAddr = "2001:db8:1:2:bbbb::2".parse().unwrap();
        let c: IpAddr = "2001:db8:1:3::1".parse().unwrap();
        assert_eq!(address_key(a), address_key(b));
        assert_ne!(address_key(a), address_key(c));
        let mapped: IpAddr = "::ffff:192.0.2.1".parse().unwrap();
        assert_eq!(address_key(mapped), "192.0.2.1");
    }
}
