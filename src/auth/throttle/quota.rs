//! A fixed-window quota per key: at most `limit` uses per `window`, counted from a key's
//! first use (self-registrations per source address, admin-api.md §3). Shared by every
//! instance through Redis when configured (one Lua script counts and answers
//! atomically), in process otherwise, like the login throttle.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use chrono::{DateTime, Utc};
use redis::Script;

use super::{address_key, ThrottleError};
use crate::shared_state::RedisConnection;

/// Expired entries are dropped once the map passes this size.
const PRUNE_ABOVE: usize = 10_000;

/// KEYS: the key. ARGV: window_ms, limit. Counts one use; returns the milliseconds until
/// the window ends when the limit is passed, else 0.
const TAKE: &str = r"
local n = redis.call('INCR', KEYS[1])
if n == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
if n > tonumber(ARGV[2]) then
  local ttl = redis.call('PTTL', KEYS[1])
  if ttl < 0 then
    redis.call('PEXPIRE', KEYS[1], ARGV[1])
    ttl = tonumber(ARGV[1])
  end
  return ttl
end
return 0
";

enum Backend {
    /// key → (uses, window end in ms)
    Local(Mutex<HashMap<String, (u32, i64)>>),
    Redis {
        conn: RedisConnection,
        prefix: String,
        take: Script,
    },
}

pub struct Quota {
    limit: u32,
    window_ms: i64,
    backend: Backend,
}

impl Quota {
    /// `name` keeps quotas apart in Redis (`<prefix><name>:<key>`).
    pub fn new(
        name: &str,
        limit: u32,
        window: Duration,
        redis: Option<(RedisConnection, &str)>,
    ) -> Self {
        let backend = match redis {
            Some((conn, prefix)) => Backend::Redis {
                conn,
                prefix: format!("{prefix}{name}:"),
                take: Script::new(TAKE),
            },
            None => Backend::Local(Mutex::default()),
        };
        Self {
            limit,
            window_ms: i64::try_from(window.as_millis()).unwrap_or(i64::MAX),
            backend,
        }
    }

    /// Counts one use by `source` (IPv6: its /64, as the login throttle counts), or
    /// refuses it with how long to wait.
    pub async fn take(&self, source: IpAddr, now: DateTime<Utc>) -> Result<(), ThrottleError> {
        let key = address_key(source);
        let wait_ms = match &self.backend {
            Backend::Local(map) => self.take_local(map, key, now.timestamp_millis()),
            Backend::Redis { conn, prefix, take } => take
                .key(format!("{prefix}{key}"))
                .arg(self.window_ms)
                .arg(self.limit)
                .invoke_async::<i64>(&mut conn.clone())
                .await
                .map_err(|e| ThrottleError::Unavailable(e.into()))?,
        };
        if wait_ms > 0 {
            let secs = u64::try_from(wait_ms).unwrap_or(0).div_ceil(1000);
            return Err(ThrottleError::Throttled(Duration::from_secs(secs.max(1))));
        }
        Ok(())
    }

    fn take_local(&self, map: &Mutex<HashMap<String, (u32, i64)>>, key: String, now: i64) -> i64 {
        let mut map = map.lock().unwrap_or_else(PoisonError::into_inner);
        if map.len() > PRUNE_ABOVE {
            map.retain(|_, (_, end)| *end > now);
        }
        let entry = map.entry(key).or_insert((0, now + self.window_ms));
        if entry.1 <= now {
            *entry = (0, now + self.window_ms);
        }
        entry.0 = entry.0.saturating_add(1);
        if entry.0 > self.limit {
            entry.1 - now
        } else {
            0
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_quota_refuses_past_its_limit_until_the_window_ends() {
        let quota = Quota::new("t", 2, Duration::from_secs(3600), None);
        let a: IpAddr = "192.0.2.1".parse().unwrap();
        let b: IpAddr = "192.0.2.2".parse().unwrap();
        let now = Utc::now();
        assert!(quota.take(a, now).await.is_ok());
        assert!(quota.take(a, now).await.is_ok());
        match quota.take(a, now).await {
            Err(ThrottleError::Throttled(wait)) => assert_eq!(wait.as_secs(), 3600),
            other => panic!("expected throttled, got {other:?}"),
        }
        assert!(
            quota.take(b, now).await.is_ok(),
            "another address has its own"
        );
        let later = now + chrono::Duration::seconds(3600);
        assert!(quota.take(a, later).await.is_ok(), "a new window");
    }
}
