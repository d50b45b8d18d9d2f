//! The throttle in Redis, shared by every instance: Lua scripts check and reserve, and
//! settle, atomically (Redis runs a script without interleaving), by the same rules as
//! `local.rs`. Keys: `<prefix>login:user:<name>` and `<prefix>login:addr:<addr>`, hashes
//! of `n` (failures), `p` (attempts in flight) and `until` (blocked until, ms), expiring
//! with the window.

use redis::Script;

use super::{Attempt, Limits, Outcome, BASE_DELAY_MS, BUSY_RETRY_MS};
use crate::shared_state::RedisConnection;

/// KEYS: the attempt's keys. ARGV: now_ms, max_failures, window_ms, busy_retry_ms.
/// Returns the milliseconds to wait, or 0 after reserving a slot on every key.
const BEGIN: &str = r"
local now, max, window = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local wait, full = 0, false
for _, key in ipairs(KEYS) do
  local v = redis.call('HMGET', key, 'n', 'p', 'until')
  local n, p, blocked = tonumber(v[1] or '0'), tonumber(v[2] or '0'), tonumber(v[3] or '0')
  if blocked - now > wait then wait = blocked - now end
  if p >= math.max(max - n, 1) then full = true end
end
if wait > 0 then return wait end
if full then return tonumber(ARGV[4]) end
for _, key in ipairs(KEYS) do
  redis.call('HINCRBY', key, 'p', 1)
  if redis.call('PTTL', key) < window then redis.call('PEXPIRE', key, window) end
end
return 0
";

/// KEYS: user key, address key. ARGV: now_ms, max_failures, window_ms, base_delay_ms,
/// outcome (0 refunded, 1 failed, 2 succeeded).
const SETTLE: &str = r"
local now, max, window = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local base, outcome = tonumber(ARGV[4]), tonumber(ARGV[5])
for i, key in ipairs(KEYS) do
  if redis.call('HINCRBY', key, 'p', -1) < 0 then redis.call('HSET', key, 'p', 0) end
  if outcome == 1 then
    local n = redis.call('HINCRBY', key, 'n', 1)
    local delay = 0
    if n >= max then delay = math.min(base * math.pow(2, math.min(n - max, 40)), window) end
    redis.call('HSET', key, 'until', now + delay)
    redis.call('PEXPIRE', key, window + delay)
  elseif outcome == 2 and i == 1 then
    redis.call('HSET', key, 'n', 0, 'until', 0)
  end
  local v = redis.call('HMGET', key, 'n', 'p')
  if tonumber(v[1] or '0') <= 0 and tonumber(v[2] or '0') <= 0 then redis.call('DEL', key) end
end
return 0
";

pub struct RedisThrottle {
    conn: RedisConnection,
    prefix: String,
    begin: Script,
    settle: Script,
}

impl RedisThrottle {
    pub fn new(conn: RedisConnection, prefix: &str) -> Self {
        Self {
            conn,
            prefix: format!("{prefix}login:"),
            begin: Script::new(BEGIN),
            settle: Script::new(SETTLE),
        }
    }

    fn key(&self, key: &str) -> String {
        format!("{}{key}", self.prefix)
    }

    pub async fn begin(
        &self,
        attempt: &Attempt,
        now_ms: i64,
        limits: &Limits,
    ) -> anyhow::Result<i64> {
        let wait: i64 = self
            .begin
            .key(self.key(&attempt.user_key))
            .key(self.key(&attempt.address_key))
            .arg(now_ms)
            .arg(limits.max_failures)
            .arg(limits.window_ms)
            .arg(BUSY_RETRY_MS)
            .invoke_async(&mut self.conn.clone())
            .await?;
        Ok(wait)
    }

    pub async fn settle(
        &self,
        attempt: &Attempt,
        outcome: Outcome,
        now_ms: i64,
        limits: &Limits,
    ) -> anyhow::Result<()> {
        self.settle
            .key(self.key(&attempt.user_key))
            .key(self.key(&attempt.address_key))
            .arg(now_ms)
            .arg(limits.max_failures)
            .arg(limits.window_ms)
            .arg(BASE_DELAY_MS)
            .arg(outcome.code())
            .invoke_async::<()>(&mut self.conn.clone())
            .await?;
        Ok(())
    }
}
