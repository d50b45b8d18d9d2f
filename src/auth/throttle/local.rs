//! The in-process throttle: one map behind a mutex, so check-and-reserve is atomic.

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};

use super::{Attempt, Limits, Outcome, BUSY_RETRY_MS};

/// Expired entries are dropped once the map passes this size.
const PRUNE_ABOVE: usize = 10_000;

#[derive(Debug, Clone, Copy, Default)]
struct Entry {
    failures: u32,
    pending: u32,
    blocked_until_ms: i64,
    expires_ms: i64,
}

#[derive(Default)]
pub struct LocalThrottle {
    entries: Mutex<HashMap<String, Entry>>,
}

impl LocalThrottle {
    /// Milliseconds to wait, or 0 after reserving a slot on both keys.
    pub fn begin(&self, attempt: &Attempt, now_ms: i64, limits: &Limits) -> i64 {
        let mut entries = self.entries.lock().unwrap_or_else(PoisonError::into_inner);
        if entries.len() > PRUNE_ABOVE {
            entries.retain(|_, e| e.expires_ms > now_ms);
        }
        let keys = [&attempt.user_key, &attempt.address_key];
        let current: Vec<Entry> = keys
            .iter()
            .map(|k| {
                entries
                    .get(k.as_str())
                    .filter(|e| e.expires_ms > now_ms)
                    .copied()
                    .unwrap_or_default()
            })
            .collect();
        let wait = current
            .iter()
            .map(|e| e.blocked_until_ms - now_ms)
            .max()
            .unwrap_or(0);
        if wait > 0 {
            return wait;
        }
        if current.iter().any(|e| e.pending >= limits.room(e.failures)) {
            return BUSY_RETRY_MS;
        }
        for (key, mut entry) in keys.into_iter().zip(current) {
            entry.pending += 1;
            entry.expires_ms = entry.expires_ms.max(now_ms + limits.window_ms);
            entries.insert(key.clone(), entry);
        }
        0
    }

    pub fn settle(&self, attempt: &Attempt, outcome: Outcome, now_ms: i64, limits: &Limits) {
        let mut entries = self.entries.lock().unwrap_or_else(PoisonError::into_inner);
        for key in [&attempt.user_key, &attempt.address_key] {
            let Some(entry) = entries.get_mut(key.as_str()) else {
                continue;
            };
            entry.pending = entry.pending.saturating_sub(1);
            match outcome {
                Outcome::Failed => {
                    entry.failures = entry.failures.saturating_add(1);
                    let delay = limits.delay_ms(entry.failures);
                    entry.blocked_until_ms = now_ms + delay;
                    entry.expires_ms = now_ms + limits.window_ms.saturating_add(delay);
                }
                Outcome::Succeeded if *key == attempt.user_key => {
                    entry.failures = 0;
                    entry.blocked_until_ms = 0;
                }
                Outcome::Succeeded | Outcome::Refunded => {}
            }
            if entry.failures == 0 && entry.pending == 0 {
                entries.remove(key.as_str());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::Username;

    fn attempt(user: &str, ip: &str) -> Attempt {
        Attempt::new(&Username::parse(user).unwrap(), ip.parse().unwrap())
    }

    const LIMITS: Limits = Limits {
        max_failures: 3,
        window_ms: 60_000,
    };

    fn fail(t: &LocalThrottle, a: &Attempt, now: i64) -> i64 {
        let wait = t.begin(a, now, &LIMITS);
        if wait == 0 {
            t.settle(a, Outcome::Failed, now, &LIMITS);
        }
        wait
    }

    #[test]
    fn the_attempt_after_the_limit_waits_and_later_ones_wait_longer() {
        let t = LocalThrottle::default();
        let a = attempt("alice", "192.0.2.1");
        for i in 0..3 {
            assert_eq!(fail(&t, &a, i), 0, "attempt {i}");
        }
        assert_eq!(t.begin(&a, 3, &LIMITS), 999);
        assert_eq!(fail(&t, &a, 1002), 0, "allowed after the delay");
        assert_eq!(
            t.begin(&a, 1003, &LIMITS),
            1999,
            "the fourth failure doubles it"
        );
    }

    #[test]
    fn attempts_in_flight_hold_slots_so_concurrent_guesses_cannot_exceed_the_limit() {
        let t = LocalThrottle::default();
        let a = attempt("alice", "192.0.2.1");
        let started = (0..10).filter(|_| t.begin(&a, 0, &LIMITS) == 0).count();
        assert_eq!(started, 3);
        for _ in 0..3 {
            t.settle(&a, Outcome::Succeeded, 1, &LIMITS);
        }
        // Three successes: the username is clear and the address has no failures.
        assert_eq!(t.begin(&a, 2, &LIMITS), 0);
    }

    #[test]
    fn a_success_clears_the_username_but_not_the_address() {
        let t = LocalThrottle::default();
        let a = attempt("alice", "192.0.2.1");
        fail(&t, &a, 0);
        fail(&t, &a, 1);
        assert_eq!(t.begin(&a, 2, &LIMITS), 0);
        t.settle(&a, Outcome::Succeeded, 2, &LIMITS);
        // Alice starts afresh from another address; the address keeps its two failures.
        assert_eq!(fail(&t, &attempt("alice", "192.0.2.9"), 3), 0);
        let bob = attempt("bob", "192.0.2.1");
        assert_eq!(fail(&t, &bob, 4), 0);
        assert!(
            t.begin(&bob, 5, &LIMITS) > 0,
            "the address reached 3 failures"
        );
    }

    #[test]
    fn counts_expire_after_the_window_and_refunds_count_nothing() {
        let t = LocalThrottle::default();
        let a = attempt("alice", "192.0.2.1");
        for i in 0..3 {
            fail(&t, &a, i);
        }
        assert!(t.begin(&a, 10, &LIMITS) > 0);
        assert_eq!(t.begin(&a, 2 + 61_000 + 1, &LIMITS), 0);
        t.settle(&a, Outcome::Refunded, 61_004, &LIMITS);
        for i in 0..3 {
            assert_eq!(t.begin(&a, 61_005 + i, &LIMITS), 0);
            t.settle(&a, Outcome::Refunded, 61_005 + i, &LIMITS);
        }
    }
}
