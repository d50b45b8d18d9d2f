//! The in-process revocation cache: a map from (kind, value) to when the entry stops
//! mattering.

use std::collections::HashMap;
use std::sync::RwLock;

use chrono::{DateTime, Utc};

use crate::store::{Revocation, RevocationKind};

#[derive(Default)]
pub struct LocalCache {
    entries: RwLock<HashMap<(RevocationKind, String), DateTime<Utc>>>,
}

impl LocalCache {
    pub fn contains(&self, jti: &str, sid: Option<&str>, now: DateTime<Utc>) -> bool {
        let entries = match self.entries.read() {
            Ok(guard) => guard,
            Err(poisoned) => poisoned.into_inner(),
        };
        let live = |kind, value: &str| {
            entries
                .get(&(kind, value.to_owned()))
                .is_some_and(|exp| *exp > now)
        };
        live(RevocationKind::Jti, jti) || sid.is_some_and(|sid| live(RevocationKind::Sid, sid))
    }

    pub fn add(&self, revocations: &[Revocation]) {
        if revocations.is_empty() {
            return;
        }
        let mut entries = match self.entries.write() {
            Ok(guard) => guard,
            Err(poisoned) => poisoned.into_inner(),
        };
        for r in revocations {
            let expires = entries
                .entry((r.kind, r.value.clone()))
                .or_insert(r.expires_at);
            *expires = (*expires).max(r.expires_at);
        }
    }

    pub fn prune(&self, now: DateTime<Utc>) {
        let mut entries = match self.entries.write() {
            Ok(guard) => guard,
            Err(poisoned) => poisoned.into_inner(),
        };
        entries.retain(|_, expires| *expires > now);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_match_by_kind_and_expire() {
        let now = Utc::now();
        let cache = LocalCache::default();
        cache.add(&[
            Revocation {
                kind: RevocationKind::Jti,
                value: "j1".into(),
                expires_at: now + chrono::Duration::seconds(60),
            },
            Revocation {
                kind: RevocationKind::Sid,
                value: "s1".into(),
                expires_at: now + chrono::Duration::seconds(60),
            },
        ]);
        assert!(cache.contains("j1", None, now));
        assert!(cache.contains("other", Some("s1"), now));
        assert!(!cache.contains("s1", Some("j1"), now), "kinds do not mix");
        assert!(!cache.contains("j1", None, now + chrono::Duration::seconds(61)));
        cache.prune(now + chrono::Duration::seconds(61));
        assert!(!cache.contains("j1", None, now));
    }
}
