//! The key cache (verifier.md §2): one immutable snapshot of the issuer's keys behind an
//! `ArcSwap`, so a verification reads it with one atomic load and never takes a lock.
//!
//! - Freshness is the JWKS response's `Cache-Control: max-age` (RFC 9111 §5.2.2.1),
//!   clamped to 30 s – 24 h; revalidation sends `If-None-Match` and a `304` keeps the
//!   parsed set (RFC 9110 §13.1.2, RFC 9111 §4.3.4).
//! - Past three quarters of `max-age` a verification starts a background refresh and goes
//!   on with the cached set; at most one fetch is in flight (`fetch_lock`).
//! - Past `max-age` the set is still used, for at most `stale_if_error` (RFC 5861 §4's
//!   idea), while refreshes are retried; beyond that verification fails closed.
//! - A `kid` missing from the set may trigger one refetch, shared by all callers: at most
//!   one fetch starts per `cooldown`, counting failed ones, so a flood of tokens with
//!   random kids costs the issuer at most one request per cooldown (OIDC Core §10.1.1 asks
//!   verifiers to refetch on an unknown kid; RFC 8725 §3.10 treats kid as hostile input).
//!
//! Times come from the caller (`verify_at`'s `now`), so tests move the clock instead of
//! sleeping. A clock that goes backwards reads as "no time has passed".

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use arc_swap::ArcSwap;

use crate::error::{FetchError, VerifyError};
use crate::fetch::{Fetched, JwksFetcher};
use crate::jwks::{KeySet, VerifyingKey};

/// Bounds on a JWKS response's `max-age` (verifier.md §2).
pub(crate) const MIN_MAX_AGE: Duration = Duration::from_secs(30);
/// See [`MIN_MAX_AGE`].
pub(crate) const MAX_MAX_AGE: Duration = Duration::from_secs(24 * 60 * 60);
/// Freshness of a JWKS response without `max-age`.
pub(crate) const DEFAULT_MAX_AGE: Duration = Duration::from_secs(5 * 60);

/// How the cache treats the issuer.
#[derive(Debug, Clone)]
pub(crate) struct CachePolicy {
    pub(crate) cooldown: Duration,
    pub(crate) stale_if_error: Duration,
    pub(crate) fetch_timeout: Duration,
}

impl Default for CachePolicy {
    fn default() -> Self {
        Self {
            cooldown: Duration::from_secs(30),
            stale_if_error: Duration::from_secs(60 * 60),
            fetch_timeout: Duration::from_secs(5),
        }
    }
}

/// What the cache holds at one moment. Replaced whole, never mutated.
struct Snapshot {
    keys: Arc<KeySet>,
    etag: Option<String>,
    /// When the issuer last confirmed this set (200 or 304); `None`: never fetched.
    confirmed_at: Option<SystemTime>,
    max_age: Duration,
}

/// Whether a snapshot can serve a verification at some `now`.
enum Usability {
    /// Serve from it; `refresh_due` asks for a background refresh.
    Usable { refresh_due: bool },
    /// Never fetched.
    Empty,
    /// Older than `max-age + stale_if_error`.
    Expired,
}

/// May a missing kid cost a fetch?
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Refetch {
    /// Yes, within the cooldown rule.
    Allowed,
    /// No: the token cannot verify anyway (e.g. its `alg` is refused).
    Never,
}

pub(crate) struct KeyCache {
    fetcher: Arc<dyn JwksFetcher>,
    policy: CachePolicy,
    snapshot: ArcSwap<Snapshot>,
    /// Start of the last fetch attempt, Unix milliseconds in the callers' clock; 0: never.
    last_attempt_ms: AtomicU64,
    /// Fetch attempts started so far: lets a caller that waited for the lock see that
    /// someone else fetched meanwhile.
    attempts: AtomicU64,
    /// Held for the whole of a fetch: at most one in flight.
    fetch_lock: Arc<tokio::sync::Mutex<()>>,
}

impl KeyCache {
    pub(crate) fn new(fetcher: Arc<dyn JwksFetcher>, policy: CachePolicy) -> Self {
        Self {
            fetcher,
            policy,
            snapshot: ArcSwap::from_pointee(Snapshot {
                keys: Arc::new(KeySet::default()),
                etag: None,
                confirmed_at: None,
                max_age: DEFAULT_MAX_AGE,
            }),
            last_attempt_ms: AtomicU64::new(0),
            attempts: AtomicU64::new(0),
            fetch_lock: Arc::new(tokio::sync::Mutex::new(())),
        }
    }

    /// The key named `kid`, fetching the set first when there is none usable, and once
    /// more (within the cooldown rule) when `kid` is not in it.
    pub(crate) async fn key(
        self: &Arc<Self>,
        kid: &str,
        now: SystemTime,
        refetch: Refetch,
    ) -> Result<Arc<VerifyingKey>, VerifyError> {
        let seen = self.attempts.load(Ordering::Acquire);
        {
            let snapshot = self.snapshot.load();
            match self.usability(&snapshot, now) {
                Usability::Usable { refresh_due } => {
                    if refresh_due {
                        self.spawn_refresh(now);
                    }
                    if let Some(key) = snapshot.keys.get(kid) {
                        return Ok(Arc::clone(key));
                    }
                    if refetch == Refetch::Never {
                        return Err(VerifyError::UnknownKey);
                    }
                }
                Usability::Empty | Usability::Expired if refetch == Refetch::Never => {
                    return Err(VerifyError::KeysUnavailable);
                }
                Usability::Empty | Usability::Expired => {}
            }
        }
        self.refetch(seen, now).await;
        let snapshot = self.snapshot.load();
        match self.usability(&snapshot, now) {
            Usability::Usable { .. } => snapshot
                .keys
                .get(kid)
                .map(Arc::clone)
                .ok_or(VerifyError::UnknownKey),
            Usability::Empty => Err(VerifyError::KeysUnavailable),
            Usability::Expired => Err(VerifyError::KeysStale),
        }
    }

    /// The kids of the cached set (diagnostics and tests).
    pub(crate) fn kids(&self) -> Vec<String> {
        let mut kids: Vec<String> = self
            .snapshot
            .load()
            .keys
            .kids()
            .map(str::to_owned)
            .collect();
        kids.sort();
        kids
    }

    fn usability(&self, snapshot: &Snapshot, now: SystemTime) -> Usability {
        let Some(confirmed_at) = snapshot.confirmed_at else {
            return Usability::Empty;
        };
        let age = now.duration_since(confirmed_at).unwrap_or(Duration::ZERO);
        if age < snapshot.max_age {
            Usability::Usable {
                refresh_due: age >= snapshot.max_age / 4 * 3,
            }
        } else if age < snapshot.max_age.saturating_add(self.policy.stale_if_error) {
            Usability::Usable { refresh_due: true }
        } else {
            Usability::Expired
        }
    }

    fn in_cooldown(&self, now: SystemTime) -> bool {
        let last = self.last_attempt_ms.load(Ordering::Acquire);
        if last == 0 {
            return false;
        }
        let since = unix_ms(now).saturating_sub(last);
        u128::from(since) < self.policy.cooldown.as_millis()
    }

    /// A fetch the caller waits for: joins one in flight, and starts one only if no
    /// attempt was made since the caller looked (`seen`) and the cooldown has passed.
    async fn refetch(&self, seen: u64, now: SystemTime) {
        let _guard = self.fetch_lock.lock().await;
        if self.attempts.load(Ordering::Acquire) != seen || self.in_cooldown(now) {
            return;
        }
        // The outcome is in the snapshot (or not); the caller reads it from there.
        let _ = self.fetch_locked(now).await;
    }

    /// A refresh nobody waits for: skipped when a fetch is in flight, in cooldown, or
    /// outside a Tokio runtime (the next verification past `max-age` fetches inline).
    fn spawn_refresh(self: &Arc<Self>, now: SystemTime) {
        if self.in_cooldown(now) {
            return;
        }
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            return;
        };
        let Ok(guard) = Arc::clone(&self.fetch_lock).try_lock_owned() else {
            return;
        };
        // Checked again under the lock: a refresh may have finished in between.
        if self.in_cooldown(now) {
            return;
        }
        let this = Arc::clone(self);
        runtime.spawn(async move {
            let _guard = guard;
            let _ = this.fetch_locked(now).await;
        });
    }

    /// One request to the issuer; the caller holds `fetch_lock`. On success the new
    /// snapshot replaces the old one whole (keys gone from the JWKS stop verifying).
    async fn fetch_locked(&self, now: SystemTime) -> Result<(), FetchError> {
        self.last_attempt_ms
            .store(unix_ms(now).max(1), Ordering::Release);
        self.attempts.fetch_add(1, Ordering::AcqRel);
        let current = self.snapshot.load_full();
        let etag = current.confirmed_at.and_then(|_| current.etag.as_deref());
        let fetch = self.fetcher.fetch(etag);
        // Tokio's timer needs a Tokio runtime; elsewhere the fetcher's own timeout (the
        // HTTP client has one) is all there is.
        let fetched = if tokio::runtime::Handle::try_current().is_ok() {
            tokio::time::timeout(self.policy.fetch_timeout, fetch)
                .await
                .map_err(|_| FetchError::new("JWKS request timed out"))
                .and_then(|result| result)
        } else {
            fetch.await
        };
        let next = match fetched {
            Ok(Fetched::NotModified { max_age }) => {
                if current.confirmed_at.is_none() || current.etag.is_none() {
                    return Err(self.failed(FetchError::new("304 for a document never fetched")));
                }
                Snapshot {
                    keys: Arc::clone(&current.keys),
                    etag: current.etag.clone(),
                    confirmed_at: Some(now),
                    max_age: max_age.map_or(current.max_age, clamp_max_age),
                }
            }
            Ok(Fetched::Modified {
                body,
                etag,
                max_age,
            }) => {
                let Some(keys) = KeySet::parse(&body) else {
                    return Err(self.failed(FetchError::new("the JWKS response is not a JWK Set")));
                };
                // A set without one usable key is an issuer fault, not a rotation: keep
                // the last good set (within stale_if_error) rather than refuse everything.
                if keys.len() == 0 {
                    return Err(self.failed(FetchError::new("the JWK Set has no usable key")));
                }
                Snapshot {
                    keys: Arc::new(keys),
                    etag,
                    confirmed_at: Some(now),
                    max_age: clamp_max_age(max_age.unwrap_or(DEFAULT_MAX_AGE)),
                }
            }
            Err(e) => return Err(self.failed(e)),
        };
        self.snapshot.store(Arc::new(next));
        Ok(())
    }

    fn failed(&self, error: FetchError) -> FetchError {
        tracing::warn!(error = %error, "authd-verify: JWKS fetch failed; keeping the cached key set");
        error
    }
}

fn clamp_max_age(max_age: Duration) -> Duration {
    max_age.clamp(MIN_MAX_AGE, MAX_MAX_AGE)
}

fn unix_ms(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

#[cfg(test)]
mod tests {
    //! The cache alone, with a fetcher in memory: what the end-to-end tests cannot time
    //! (a fetch held open, a hanging issuer).

    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;
    use std::time::{Duration, SystemTime};

    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use base64::Engine;
    use tokio::sync::Semaphore;

    use super::{CachePolicy, KeyCache, Refetch};
    use crate::error::{FetchError, VerifyError};
    use crate::fetch::{FetchFuture, Fetched, JwksFetcher};

    fn jwks(kids: &[&str]) -> Vec<u8> {
        let keys: Vec<_> = kids
            .iter()
            .map(|kid| {
                let key = p256::ecdsa::SigningKey::random(&mut rand::rngs::OsRng);
                let point = key.verifying_key().to_encoded_point(false);
                serde_json::json!({
                    "kty": "EC", "crv": "P-256", "alg": "ES256", "use": "sig", "kid": kid,
                    "x": URL_SAFE_NO_PAD.encode(point.x().unwrap()),
                    "y": URL_SAFE_NO_PAD.encode(point.y().unwrap()),
                })
            })
            .collect();
        serde_json::json!({ "keys": keys }).to_string().into_bytes()
    }

    /// Serves `body`; each fetch waits for a permit of `gate` (none: open), counting.
    struct Fake {
        body: Vec<u8>,
        gate: Option<Arc<Semaphore>>,
        fail: bool,
        calls: Arc<AtomicUsize>,
    }

    impl JwksFetcher for Fake {
        fn fetch<'a>(&'a self, _etag: Option<&'a str>) -> FetchFuture<'a> {
            Box::pin(async move {
                self.calls.fetch_add(1, Ordering::SeqCst);
                if let Some(gate) = &self.gate {
                    gate.acquire().await.unwrap().forget();
                }
                if self.fail {
                    return Err(FetchError::new("down"));
                }
                Ok(Fetched::Modified {
                    body: self.body.clone(),
                    etag: None,
                    max_age: Some(Duration::from_secs(100)),
                })
            })
        }
    }

    fn cache(fake: Fake) -> Arc<KeyCache> {
        Arc::new(KeyCache::new(Arc::new(fake), CachePolicy::default()))
    }

    fn fake(kids: &[&str]) -> (Fake, Arc<AtomicUsize>) {
        let calls = Arc::new(AtomicUsize::new(0));
        let fake = Fake {
            body: jwks(kids),
            gate: None,
            fail: false,
            calls: Arc::clone(&calls),
        };
        (fake, calls)
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_hundred_concurrent_first_verifications_share_one_fetch() {
        let (mut fake, calls) = fake(&["a"]);
        let gate = Arc::new(Semaphore::new(0));
        fake.gate = Some(Arc::clone(&gate));
        let cache = cache(fake);
        let now = SystemTime::now();
        let mut tasks = tokio::task::JoinSet::new();
        for _ in 0..100 {
            let cache = Arc::clone(&cache);
            tasks.spawn(async move { cache.key("a", now, Refetch::Allowed).await.is_ok() });
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
        gate.add_permits(1);
        while let Some(ok) = tasks.join_next().await {
            assert!(ok.unwrap());
        }
        assert_eq!(calls.load(Ordering::SeqCst), 1);
    }

    #[tokio::test]
    async fn verifications_never_wait_for_a_refresh_in_flight() {
        let (mut fake, calls) = fake(&["a"]);
        let gate = Arc::new(Semaphore::new(1)); // the first fetch passes, the refresh hangs
        fake.gate = Some(Arc::clone(&gate));
        let cache = cache(fake);
        let t0 = SystemTime::now();
        cache.key("a", t0, Refetch::Allowed).await.unwrap();
        // Past 3/4 of max-age (100 s): a refresh starts and stays in flight.
        let later = t0 + Duration::from_secs(80);
        cache.key("a", later, Refetch::Allowed).await.unwrap();
        while calls.load(Ordering::SeqCst) < 2 {
            tokio::task::yield_now().await;
        }
        for _ in 0..1000 {
            // Would hang here if a verification awaited the refresh.
            let key = tokio::time::timeout(
                Duration::from_secs(1),
                cache.key("a", later, Refetch::Allowed),
            );
            key.await.unwrap().unwrap();
        }
        assert_eq!(
            calls.load(Ordering::SeqCst),
            2,
            "one refresh in flight, not more"
        );
        gate.add_permits(1);
    }

    #[tokio::test(start_paused = true)]
    async fn a_hanging_issuer_costs_the_fetch_timeout_and_then_an_error() {
        let (mut fake, _) = fake(&["a"]);
        fake.gate = Some(Arc::new(Semaphore::new(0))); // never answers
        let cache = cache(fake);
        let started = tokio::time::Instant::now();
        let result = cache.key("a", SystemTime::now(), Refetch::Allowed).await;
        assert!(matches!(result, Err(VerifyError::KeysUnavailable)));
        assert_eq!(started.elapsed(), Duration::from_secs(5));
    }

    #[tokio::test]
    async fn a_failed_first_fetch_counts_for_the_cooldown() {
        let (mut fake, calls) = fake(&["a"]);
        fake.fail = true;
        let cache = cache(fake);
        let t0 = SystemTime::now();
        for s in [0, 1, 29] {
            let at = t0 + Duration::from_secs(s);
            let result = cache.key("a", at, Refetch::Allowed).await;
            assert!(matches!(result, Err(VerifyError::KeysUnavailable)));
        }
        assert_eq!(calls.load(Ordering::SeqCst), 1);
        let _ = cache
            .key("a", t0 + Duration::from_secs(30), Refetch::Allowed)
            .await;
        assert_eq!(calls.load(Ordering::SeqCst), 2);
    }

    #[tokio::test]
    async fn max_age_is_clamped_to_thirty_seconds_at_least() {
        let calls = Arc::new(AtomicUsize::new(0));
        struct Short(Vec<u8>, Arc<AtomicUsize>);
        impl JwksFetcher for Short {
            fn fetch<'a>(&'a self, _etag: Option<&'a str>) -> FetchFuture<'a> {
                Box::pin(async move {
                    self.1.fetch_add(1, Ordering::SeqCst);
                    Ok(Fetched::Modified {
                        body: self.0.clone(),
                        etag: None,
                        max_age: Some(Duration::ZERO),
                    })
                })
            }
        }
        let cache = Arc::new(KeyCache::new(
            Arc::new(Short(jwks(&["a"]), Arc::clone(&calls))),
            CachePolicy::default(),
        ));
        let t0 = SystemTime::now();
        cache.key("a", t0, Refetch::Allowed).await.unwrap();
        // max-age=0 read as 30 s: at 20 s nothing is due (3/4 of 30 s is 22.5 s).
        cache
            .key("a", t0 + Duration::from_secs(20), Refetch::Allowed)
            .await
            .unwrap();
        tokio::task::yield_now().await;
        assert_eq!(calls.load(Ordering::SeqCst), 1);
    }

    #[tokio::test]
    async fn a_refused_algorithm_never_costs_a_fetch() {
        let (fake, calls) = fake(&["a"]);
        let cache = cache(fake);
        let result = cache.key("b", SystemTime::now(), Refetch::Never).await;
        assert!(matches!(result, Err(VerifyError::KeysUnavailable)));
        assert_eq!(calls.load(Ordering::SeqCst), 0);
    }
}
