//! The in-process revocation cache: per kind, a map from the revoked value to when the
//! entry stops mattering. Looked up by `&str`, so a check allocates nothing.

use std::collections::HashMap;
use std::sync::RwLock;

use chrono::{DateTime, Utc};

use crate::store::{Revocation, RevocationKind};

#[derive(Default)]
struct Entries {
    jti: HashMap<String, DateTime<Utc>>,
    sid: HashMap<String, DateTime<Utc>>,
}

impl Entries {
    fn of(&mut self, kind: RevocationKind) -> &mut HashMap<String, DateTime<Utc>> {
        match kind {
            RevocationKind::Jti => &mut self.jti,
            RevocationKind::Sid => &mut self.sid,
        }
    }
}

#[derive(Default)]
pub struct LocalCache {
    entries: RwLock<Entries>,
}

impl LocalCache {
    pub fn contains(&self, jti: &str, sid: Option<&str>, now: DateTime<Utc>) -> bool {
        let entries = match self.entries.read() {
            Ok(guard) => guard,
            Err(poisoned) => poisoned.into_inner(),
        };
        let live = |map: &HashMap<String, DateTime<Utc>>, value: &str| {
            map.get(value).is_some_and(|exp| *exp > now)
        };
        live(&entries.jti, jti) || sid.is_some_and(|sid| live(&entries.sid, sid))
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
                .of(r.kind)
                .entry(r.value.clone())
                .or_insert(r.expires_at);
            *expires = (*expires).max(r.expires_at);
        }
    }

    pub fn prune(&self, now: DateTime<Utc>) {
        let mut entries = match self.entries.write() {
            Ok(guard) => guard,
            Err(poisoned) => poisoned.into_inner(),
        };
        entries.jti.retain(|_, expires| *expires > now);
        entries.sid.retain(|_, expires| *expires > now);
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
