//! When keys change state (spec §5): a pure function of the ring's records and the time,
//! so the whole lifecycle is testable without waiting.
//!
//! `next` (published, not signing) → `active` after `prepublish` → `retired` when the
//! next key takes over → removed after `retired_grace`. A new `next` key is created
//! `prepublish` before the active key is `rotate_every` old, so it takes over on time.

use chrono::{DateTime, Utc};

use super::Kid;
use crate::store::{KeyRecord, KeyState};

#[derive(Debug, Clone, Copy)]
pub struct Policy {
    pub rotate_every: chrono::Duration,
    pub prepublish: chrono::Duration,
    /// How long a retired key stays published (see `KeySettings::retired_grace`).
    pub retired_grace: chrono::Duration,
}

/// One change that is due.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// Create a `next` key (a scheduled rotation).
    CreateNext,
    /// The `next` key has been published long enough: it signs from now on.
    Promote(Kid),
    /// Nothing this retired key signed can still be valid: unpublish it.
    Remove(Kid),
}

/// What is due at `now` for a ring in the state `keys`.
pub fn plan(keys: &[KeyRecord], now: DateTime<Utc>, policy: &Policy) -> Vec<Step> {
    let mut steps = Vec::new();
    let next = keys.iter().find(|k| k.state == KeyState::Next);
    let active = keys.iter().find(|k| k.state == KeyState::Active);
    match (next, active) {
        (Some(next), _) if now >= next.created_at + policy.prepublish => {
            steps.push(Step::Promote(next.kid.clone()));
        }
        (None, Some(active))
            if now
                >= active.activated_at.unwrap_or(active.created_at) + policy.rotate_every
                    - policy.prepublish =>
        {
            steps.push(Step::CreateNext);
        }
        _ => {}
    }
    for retired in keys.iter().filter(|k| k.state == KeyState::Retired) {
        if now >= retired.retired_at.unwrap_or(retired.created_at) + policy.retired_grace {
            steps.push(Step::Remove(retired.kid.clone()));
        }
    }
    steps
}

/// When a retired key may be removed: retired at or before this.
pub fn removable_before(now: DateTime<Utc>, policy: &Policy) -> DateTime<Utc> {
    now - policy.retired_grace
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keys::Algorithm;
    use chrono::Duration;

    fn kid(c: char) -> Kid {
        Kid::parse(&c.to_string().repeat(43)).unwrap()
    }

    fn key(c: char, state: KeyState, created: DateTime<Utc>) -> KeyRecord {
        KeyRecord {
            kid: kid(c),
            alg: Algorithm::Es256,
            state,
            created_at: created,
            activated_at: (state != KeyState::Next).then_some(created),
            retired_at: None,
        }
    }

    fn policy() -> Policy {
        Policy {
            rotate_every: Duration::days(30),
            prepublish: Duration::hours(1),
            retired_grace: Duration::minutes(16),
        }
    }

    #[test]
    fn a_young_active_key_needs_nothing() {
        let t0 = Utc::now();
        let ring = [key('a', KeyState::Active, t0)];
        assert!(plan(&ring, t0 + Duration::days(29), &policy()).is_empty());
    }

    #[test]
    fn the_next_key_is_created_one_prepublication_before_the_rotation_is_due() {
        let t0 = Utc::now();
        let ring = [key('a', KeyState::Active, t0)];
        let due = t0 + Duration::days(30) - Duration::hours(1);
        assert!(plan(&ring, due - Duration::seconds(1), &policy()).is_empty());
        assert_eq!(plan(&ring, due, &policy()), vec![Step::CreateNext]);
    }

    #[test]
    fn a_next_key_signs_only_after_its_prepublication() {
        let t0 = Utc::now();
        let t1 = t0 + Duration::days(3);
        let ring = [key('a', KeyState::Active, t0), key('b', KeyState::Next, t1)];
        assert!(plan(&ring, t1 + Duration::minutes(59), &policy()).is_empty());
        assert_eq!(
            plan(&ring, t1 + Duration::hours(1), &policy()),
            vec![Step::Promote(kid('b'))]
        );
    }

    #[test]
    fn a_waiting_next_key_is_never_doubled_even_when_rotation_is_overdue() {
        let t0 = Utc::now();
        let ring = [
            key('a', KeyState::Active, t0),
            key('b', KeyState::Next, t0 + Duration::days(40)),
        ];
        assert!(plan(&ring, t0 + Duration::days(40), &policy()).is_empty());
    }

    #[test]
    fn a_retired_key_stays_published_through_its_grace_then_goes() {
        let t0 = Utc::now();
        let retired_at = t0 + Duration::days(30);
        let mut old = key('a', KeyState::Retired, t0);
        old.retired_at = Some(retired_at);
        let ring = [old, key('b', KeyState::Active, retired_at)];
        assert!(plan(&ring, retired_at + Duration::minutes(15), &policy()).is_empty());
        assert_eq!(
            plan(&ring, retired_at + Duration::minutes(16), &policy()),
            vec![Step::Remove(kid('a'))]
        );
        assert_eq!(
            removable_before(retired_at + Duration::minutes(16), &policy()),
            retired_at
        );
    }
}
