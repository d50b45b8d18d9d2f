//! Revocation state for access tokens, by `jti` and by family (`sid`).
//!
//! The database holds every revocation durably (`revocations`); a cache answers the hot
//! path: in process, and with `redis.url` set also in Redis (shared by every instance).
//! Each instance also polls the database every second and pushes what it finds into the
//! cache, so changes made elsewhere (the CLI, another instance without Redis) are honoured
//! within seconds, and a cache that lost its state (authd or Redis restarted, FLUSHALL)
//! is rebuilt from the durable record.
//!
//! With Redis, each instance keeps an in-process mirror that answers checks without a
//! round trip while it is current: it is loaded from the database after subscribing to
//! the revocation events every instance publishes, so it misses nothing published since,
//! and the database poll backs it up. While the subscription is down the checks go to
//! Redis, and when Redis cannot answer either, they fail closed.

mod local;
mod redis_cache;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use uuid::Uuid;

use self::local::LocalCache;
use self::redis_cache::RedisCache;
use crate::metrics::Metrics;
use crate::shared_state::SharedRedis;
use crate::store::{Revocation, RevocationKind, RevokeReason, Revoking, Store, StoreError};

/// How often an instance polls the database for revocations made elsewhere.
const SYNC_EVERY: Duration = Duration::from_secs(1);
/// Each poll re-reads this far back, so a revocation committed late is not missed.
const SYNC_OVERLAP: chrono::Duration = chrono::Duration::seconds(30);
/// Expired rows are pruned from the database this often.
const PRUNE_EVERY: u32 = 600;

#[derive(Debug, thiserror::Error)]
pub enum RevocationError {
    /// Redis did not answer: validation fails closed (503).
    #[error("revocation cache unavailable")]
    CacheUnavailable(#[source] anyhow::Error),
    #[error(transparent)]
    Store(#[from] StoreError),
}

enum Cache {
    Local(LocalCache),
    Redis(Mirrored),
}

/// Redis, and the in-process mirror of it that answers while `current`.
struct Mirrored {
    shared: RedisCache,
    mirror: LocalCache,
    /// Subscribed to the revocation events and loaded since: the mirror holds every
    /// revocation Redis does.
    current: AtomicBool,
}

/// How long to wait before subscribing again after the subscription failed.
const RESUBSCRIBE_AFTER: Duration = Duration::from_secs(1);

pub struct Revocations {
    store: Arc<dyn Store>,
    cache: Cache,
    /// access TTL + leeway: how long a family's `sid` entry must outlive its revocation.
    access_window: chrono::Duration,
    metrics: Arc<Metrics>,
}

impl Revocations {
    /// Connects the cache and fills it from the database.
    pub async fn start(
        store: Arc<dyn Store>,
        redis: Option<(SharedRedis, &str)>,
        access_window: Duration,
        metrics: Arc<Metrics>,
        now: DateTime<Utc>,
    ) -> anyhow::Result<Arc<Self>> {
        let cache = match redis {
            Some((redis, prefix)) => Cache::Redis(Mirrored {
                shared: RedisCache::new(redis, prefix),
                mirror: LocalCache::default(),
                current: AtomicBool::new(false),
            }),
            None => Cache::Local(LocalCache::default()),
        };
        let access_window = chrono::Duration::from_std(access_window)?;
        let this = Arc::new(Self {
            store,
            cache,
            access_window,
            metrics,
        });
        this.rebuild(now).await?;
        Ok(this)
    }

    /// What a revocation at `now` for `reason` must record.
    pub fn revoking(&self, reason: RevokeReason, now: DateTime<Utc>) -> Revoking {
        Revoking {
            at: now,
            sid_expires_at: now + self.access_window,
            reason,
        }
    }

    /// True when the token's `jti` or its family's `sid` is revoked.
    pub async fn is_revoked(
        &self,
        jti: &str,
        sid: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<bool, RevocationError> {
        // (the answer, whether it came from this process)
        let (answer, in_process) = match &self.cache {
            Cache::Local(cache) => (Some(cache.contains(jti, sid, now)), true),
            Cache::Redis(redis) if redis.current.load(Ordering::Acquire) => {
                (Some(redis.mirror.contains(jti, sid, now)), true)
            }
            Cache::Redis(redis) => {
                let shared = redis
                    .shared
                    .check(jti, sid)
                    .await
                    .map_err(RevocationError::CacheUnavailable)?;
                // The mirror only ever holds real revocations: it can add a "revoked".
                let revoked = shared.map(|r| r || redis.mirror.contains(jti, sid, now));
                (revoked, false)
            }
        };
        self.metrics.revocation_lookup(in_process);
        match answer {
            Some(revoked) => Ok(revoked),
            None => {
                // Redis lost its state (restart, FLUSHALL): the durable record answers,
                // and the cache is rebuilt from it.
                tracing::warn!("revocation cache is empty: rebuilding it from the database");
                let revoked = self.store.is_revoked(jti, sid, now).await?;
                self.rebuild(now).await?;
                Ok(revoked)
            }
        }
    }

    /// Revokes a family and tells the cache; false if it was already revoked.
    pub async fn revoke_family(
        &self,
        id: Uuid,
        reason: RevokeReason,
        now: DateTime<Utc>,
    ) -> Result<bool, RevocationError> {
        let revoked = self
            .store
            .revoke_family(id, self.revoking(reason, now))
            .await?;
        self.families_revoked(&[id], now).await;
        Ok(revoked)
    }

    /// Revokes one access token until it expires.
    pub async fn revoke_jti(
        &self,
        jti: &str,
        expires_at: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<(), RevocationError> {
        self.store.revoke_jti(jti, expires_at, now).await?;
        self.cache_add(
            &[Revocation {
                kind: RevocationKind::Jti,
                value: jti.to_owned(),
                expires_at,
            }],
            now,
        )
        .await;
        Ok(())
    }

    /// Tells the cache about families the store has just revoked.
    pub async fn families_revoked(&self, ids: &[Uuid], now: DateTime<Utc>) {
        let entries: Vec<Revocation> = ids
            .iter()
            .map(|id| Revocation {
                kind: RevocationKind::Sid,
                value: id.to_string(),
                expires_at: now + self.access_window,
            })
            .collect();
        self.cache_add(&entries, now).await;
    }

    /// Best effort: the database already holds the revocation, and the sync loop pushes
    /// it again once the cache answers. Other instances hear of it through Redis.
    async fn cache_add(&self, entries: &[Revocation], now: DateTime<Utc>) {
        if let Err(e) = self.add(entries, true, now).await {
            tracing::warn!(error = %e, "revocation recorded in the database; the cache will catch up");
        }
    }

    /// Adds `entries` to this process's cache, then to Redis (announcing them to the
    /// other instances with `publish`).
    async fn add(
        &self,
        entries: &[Revocation],
        publish: bool,
        now: DateTime<Utc>,
    ) -> Result<(), RevocationError> {
        match &self.cache {
            Cache::Local(cache) => {
                cache.add(entries);
                Ok(())
            }
            Cache::Redis(redis) => {
                redis.mirror.add(entries);
                redis
                    .shared
                    .add(entries, publish, now)
                    .await
                    .map_err(RevocationError::CacheUnavailable)
            }
        }
    }

    /// Loads every revocation that still matters into the cache.
    async fn rebuild(&self, now: DateTime<Utc>) -> Result<(), RevocationError> {
        let all = self
            .store
            .revocations_since(DateTime::<Utc>::UNIX_EPOCH, now)
            .await?;
        self.add(&all, false, now).await?;
        if let Cache::Redis(redis) = &self.cache {
            redis
                .shared
                .mark_loaded()
                .await
                .map_err(RevocationError::CacheUnavailable)?;
        }
        Ok(())
    }

    /// Readiness: the cache answers (always, in process).
    pub async fn ping(&self) -> Result<(), RevocationError> {
        match &self.cache {
            Cache::Local(_) => Ok(()),
            Cache::Redis(redis) => redis
                .shared
                .ping()
                .await
                .map_err(RevocationError::CacheUnavailable),
        }
    }

    /// One poll: revocations recorded since `since` go into the cache; a Redis that lost
    /// its state is rebuilt.
    async fn sync(&self, since: DateTime<Utc>, now: DateTime<Utc>) -> Result<(), RevocationError> {
        let recent = self
            .store
            .revocations_since(since - SYNC_OVERLAP, now)
            .await?;
        let Cache::Redis(redis) = &self.cache else {
            return self.add(&recent, false, now).await;
        };
        // The mirror first: it must not depend on Redis answering.
        redis.mirror.add(&recent);
        if !redis
            .shared
            .loaded()
            .await
            .map_err(RevocationError::CacheUnavailable)?
        {
            tracing::warn!("revocation cache is empty: rebuilding it from the database");
            return self.rebuild(now).await;
        }
        redis
            .shared
            .add(&recent, false, now)
            .await
            .map_err(RevocationError::CacheUnavailable)
    }

    /// With Redis: keeps the mirror current through the revocation events, and marks it
    /// stale while the subscription is down. Runs until its task is aborted.
    pub async fn watch_loop(self: Arc<Self>) {
        let Cache::Redis(redis) = &self.cache else {
            return;
        };
        loop {
            let loaded = async {
                // Subscribed: every revocation from now on arrives as an event, and
                // every one before it is in the database.
                let all = self
                    .store
                    .revocations_since(DateTime::<Utc>::UNIX_EPOCH, Utc::now())
                    .await?;
                redis.mirror.add(&all);
                redis.current.store(true, Ordering::Release);
                Ok(())
            };
            let result = redis
                .shared
                .watch(loaded, |revocation| {
                    redis.mirror.add(std::slice::from_ref(&revocation))
                })
                .await;
            redis.current.store(false, Ordering::Release);
            if let Err(e) = result {
                tracing::warn!(error = %e, "revocation events unavailable: checks ask Redis until resubscribed");
            }
            tokio::time::sleep(RESUBSCRIBE_AFTER).await;
        }
    }

    /// Polls the database until its task is aborted.
    pub async fn sync_loop(self: Arc<Self>) {
        let mut since = Utc::now();
        let mut ticks: u32 = 0;
        loop {
            tokio::time::sleep(SYNC_EVERY).await;
            let now = Utc::now();
            match self.sync(since, now).await {
                Ok(()) => since = now,
                Err(e) => tracing::warn!(error = %e, "revocation sync failed; retrying"),
            }
            ticks = ticks.wrapping_add(1);
            if ticks.is_multiple_of(PRUNE_EVERY) {
                match &self.cache {
                    Cache::Local(cache) => cache.prune(now),
                    Cache::Redis(redis) => redis.mirror.prune(now),
                }
                match self.store.prune_revocations(now).await {
                    Ok(n) if n > 0 => tracing::debug!(pruned = n, "expired revocations pruned"),
                    Ok(_) => {}
                    Err(e) => tracing::warn!(error = %e, "pruning revocations failed"),
                }
            }
        }
    }
}
