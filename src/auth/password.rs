//! argon2id hashing and verification on a bounded pool of dedicated threads. Async
//! workers never run argon2; when every thread is busy and the queue is full, callers
//! get `PoolError::Busy` at once (→ 503 + Retry-After) instead of piling up memory.

use std::cell::RefCell;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{self, Receiver, SyncSender, TrySendError};
use std::sync::{Arc, Mutex};

use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash as Phc, PasswordHasher as _, SaltString};
use argon2::{Argon2, Block, Params, Version};
use subtle::ConstantTimeEq;
use tokio::sync::oneshot;

use crate::config::PasswordSettings;
use crate::domain::Password;
use crate::store::PasswordHash;

#[derive(Debug, thiserror::Error)]
pub enum PoolError {
    #[error("password hashing queue is full")]
    Busy,
    #[error("password hashing pool stopped")]
    Stopped,
    #[error("password hashing failed: {0}")]
    Hash(String),
}

/// The outcome of a verification.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Verdict {
    pub matched: bool,
    /// The stored hash used other parameters than the configured ones.
    pub needs_rehash: bool,
}

type Job = Box<dyn FnOnce() + Send>;

/// argon2id with the configured parameters. Blocking: run it on a pool thread or in
/// `spawn_blocking`, never on an async worker.
#[derive(Clone)]
pub struct Hasher {
    argon2: Argon2<'static>,
    params: Params,
}

impl Hasher {
    pub fn new(settings: &PasswordSettings) -> Result<Self, PoolError> {
        let params = Params::new(
            settings.memory_kib,
            settings.iterations,
            settings.parallelism,
            None,
        )
        .map_err(|e| PoolError::Hash(e.to_string()))?;
        let argon2 = Argon2::new(argon2::Algorithm::Argon2id, Version::V0x13, params.clone());
        Ok(Self { argon2, params })
    }

    /// The parameters new hashes are made with.
    pub fn params(&self) -> &Params {
        &self.params
    }

    /// Hashes `password` with a random salt into a PHC string.
    pub fn hash(&self, password: &[u8]) -> Result<PasswordHash, PoolError> {
        let salt = SaltString::generate(&mut OsRng);
        self.argon2
            .hash_password(password, &salt)
            .map(|h| PasswordHash(h.to_string()))
            .map_err(|e| PoolError::Hash(e.to_string()))
    }
}

/// Hashes one password off the async workers without starting a pool: for the CLI,
/// which hashes once and verifies nothing.
pub async fn hash_password(
    settings: &PasswordSettings,
    password: Password,
) -> Result<PasswordHash, PoolError> {
    let hasher = Hasher::new(settings)?;
    tokio::task::spawn_blocking(move || hasher.hash(password.expose().as_bytes()))
        .await
        .map_err(|_| PoolError::Stopped)?
}

#[derive(Clone)]
pub struct HashPool {
    jobs: SyncSender<Job>,
    hasher: Hasher,
    /// A hash of a random password: what unknown users are verified against.
    dummy: Arc<String>,
    /// Jobs queued and not yet picked up by a worker (the metrics' queue depth).
    waiting: Arc<AtomicUsize>,
}

impl HashPool {
    /// Starts `workers` threads (0 = one per core) behind a queue of `queue` jobs.
    pub fn start(settings: &PasswordSettings) -> Result<Self, PoolError> {
        let hasher = Hasher::new(settings)?;
        let workers = match settings.workers {
            0 => std::thread::available_parallelism().map_or(1, usize::from),
            n => n,
        };
        let (jobs, rx) = mpsc::sync_channel::<Job>(settings.queue);
        let rx = Arc::new(Mutex::new(rx));
        for i in 0..workers {
            let rx = Arc::clone(&rx);
            std::thread::Builder::new()
                .name(format!("argon2-{i}"))
                .spawn(move || work(&rx))
                .map_err(|e| PoolError::Hash(e.to_string()))?;
        }
        let dummy_password: [u8; 32] = rand::random();
        let dummy = hasher.hash(&dummy_password)?.0;
        Ok(Self {
            jobs,
            hasher,
            dummy: Arc::new(dummy),
            waiting: Arc::new(AtomicUsize::new(0)),
        })
    }

    /// Password checks waiting for a worker now.
    pub fn queue_depth(&self) -> usize {
        self.waiting.load(Ordering::Relaxed)
    }

    /// Runs `f` on a pool thread with the caller's tracing span.
    async fn run<T: Send + 'static>(
        &self,
        f: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, PoolError> {
        let (tx, rx) = oneshot::channel();
        let span = tracing::Span::current();
        let waiting = Arc::clone(&self.waiting);
        let job: Job = Box::new(move || {
            waiting.fetch_sub(1, Ordering::Relaxed);
            let _entered = span.enter();
            let _ = tx.send(f());
        });
        // Counted before sending, so a worker that picks the job up at once never
        // takes the count below zero.
        self.waiting.fetch_add(1, Ordering::Relaxed);
        if let Err(e) = self.jobs.try_send(job) {
            self.waiting.fetch_sub(1, Ordering::Relaxed);
            return Err(match e {
                TrySendError::Full(_) => PoolError::Busy,
                TrySendError::Disconnected(_) => PoolError::Stopped,
            });
        }
        rx.await.map_err(|_| PoolError::Stopped)
    }

    /// Hashes a new password with the configured parameters and a random salt.
    pub async fn hash(&self, password: Password) -> Result<PasswordHash, PoolError> {
        let hasher = self.hasher.clone();
        self.run(move || hasher.hash(password.expose().as_bytes()))
            .await?
    }

    /// Verifies `password` against `stored`, or against the dummy hash when there is no
    /// user, so both cases cost the same.
    pub async fn verify(
        &self,
        stored: Option<PasswordHash>,
        password: Password,
    ) -> Result<Verdict, PoolError> {
        let known = stored.is_some();
        let phc = stored.map_or_else(|| self.dummy.as_str().to_owned(), |h| h.0);
        let params = self.hasher.params.clone();
        self.run(move || {
            let verdict = check(&phc, password.expose().as_bytes(), &params);
            Verdict {
                matched: verdict.matched && known,
                needs_rehash: verdict.needs_rehash && known,
            }
        })
        .await
    }
}

thread_local! {
    /// This thread's argon2 working memory, reused by every verification it runs.
    /// Allocating `m_cost` KiB per attempt instead left glibc holding several freed
    /// copies: the benchmark measured RSS 12 → 110 MiB after logins with one worker.
    static BLOCKS: RefCell<Vec<Block>> = const { RefCell::new(Vec::new()) };
}

/// The argon2 check itself, on the calling thread (the pool's workers run it; the
/// `ops` benchmark times it). The hash's own algorithm and parameters verify it; a
/// match under other parameters than `params` needs a rehash.
pub fn check(phc: &str, password: &[u8], params: &Params) -> Verdict {
    let checked = Phc::new(phc)
        .ok()
        .and_then(|parsed| Some((verify(&parsed, password)?, parsed)));
    match checked {
        Some((true, parsed)) => Verdict {
            matched: true,
            needs_rehash: outdated(&parsed, params),
        },
        _ => Verdict {
            matched: false,
            needs_rehash: false,
        },
    }
}

/// Recomputes the hash of `password` under the stored hash's algorithm, version,
/// parameters and salt, in this thread's reused memory, and compares it in constant
/// time. `None` when the stored hash cannot be used.
fn verify(hash: &Phc<'_>, password: &[u8]) -> Option<bool> {
    let algorithm = argon2::Algorithm::try_from(hash.algorithm).ok()?;
    let version = match hash.version {
        Some(v) => Version::try_from(v).ok()?,
        None => Version::default(),
    };
    let params = Params::try_from(hash).ok()?;
    let expected = hash.hash?;
    let mut salt = [0u8; 64];
    let salt = hash.salt?.decode_b64(&mut salt).ok()?;
    let mut out = vec![0u8; expected.len()];
    let argon2 = Argon2::new(algorithm, version, params.clone());
    BLOCKS.with(|blocks| {
        let mut blocks = blocks.borrow_mut();
        let needed = params.block_count();
        if blocks.len() < needed {
            blocks.resize(needed, Block::default());
        }
        argon2
            .hash_password_into_with_memory(password, salt, &mut out, &mut blocks[..needed])
            .ok()
    })?;
    Some(out.ct_eq(expected.as_bytes()).into())
}

fn work(rx: &Mutex<Receiver<Job>>) {
    loop {
        // Hold the lock only while waiting for a job, never while running one.
        let job = match rx.lock() {
            Ok(guard) => guard.recv(),
            Err(poisoned) => poisoned.into_inner().recv(),
        };
        match job {
            Ok(job) => job(),
            Err(_) => return, // every sender is gone: the pool was dropped
        }
    }
}

/// True when a hash was made with another algorithm, version or cost than `params`.
fn outdated(hash: &Phc<'_>, params: &Params) -> bool {
    if hash.algorithm != argon2::Algorithm::Argon2id.ident()
        || hash.version != Some(Version::V0x13.into())
    {
        return true;
    }
    match Params::try_from(hash) {
        Ok(p) => {
            p.m_cost() != params.m_cost()
                || p.t_cost() != params.t_cost()
                || p.p_cost() != params.p_cost()
        }
        Err(_) => true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(memory_kib: u32, queue: usize) -> PasswordSettings {
        PasswordSettings {
            memory_kib,
            iterations: 1,
            parallelism: 1,
            workers: 1,
            queue,
        }
    }

    fn pw(s: &str) -> Password {
        Password::parse(s).unwrap()
    }

    #[tokio::test]
    async fn a_hash_verifies_its_password_only() {
        let pool = HashPool::start(&settings(1024, 8)).unwrap();
        let hash = pool.hash(pw("correct horse")).await.unwrap();
        assert!(hash.0.starts_with("$argon2id$v=19$m=1024,t=1,p=1$"));
        let ok = pool
            .verify(Some(hash.clone()), pw("correct horse"))
            .await
            .unwrap();
        assert_eq!(
            ok,
            Verdict {
                matched: true,
                needs_rehash: false
            }
        );
        let bad = pool.verify(Some(hash), pw("wrong horse")).await.unwrap();
        assert!(!bad.matched);
    }

    #[tokio::test]
    async fn unknown_users_never_match() {
        let pool = HashPool::start(&settings(1024, 8)).unwrap();
        assert!(!pool.verify(None, pw("anything")).await.unwrap().matched);
    }

    #[tokio::test]
    async fn hashes_under_other_parameters_need_a_rehash() {
        let old = HashPool::start(&settings(1024, 8)).unwrap();
        let new = HashPool::start(&settings(2048, 8)).unwrap();
        let hash = old.hash(pw("correct horse")).await.unwrap();
        let verdict = new.verify(Some(hash), pw("correct horse")).await.unwrap();
        assert_eq!(
            verdict,
            Verdict {
                matched: true,
                needs_rehash: true
            }
        );
    }

    #[tokio::test]
    async fn a_full_queue_refuses_work_instead_of_queueing_it() {
        let pool = HashPool::start(&settings(8, 1)).unwrap();
        // Occupy the single worker until released...
        let (started_tx, started_rx) = std::sync::mpsc::channel::<()>();
        let (release, wait) = std::sync::mpsc::channel::<()>();
        let busy = pool.clone();
        let blocker = tokio::spawn(async move {
            busy.run(move || {
                started_tx.send(()).ok();
                wait.recv().ok()
            })
            .await
        });
        tokio::task::spawn_blocking(move || started_rx.recv())
            .await
            .unwrap()
            .unwrap();
        // ...fill the one queue slot...
        pool.jobs.try_send(Box::new(|| ())).unwrap();
        // ...and the next job is refused at once.
        assert!(matches!(pool.run(|| ()).await, Err(PoolError::Busy)));
        release.send(()).unwrap();
        blocker.await.unwrap().unwrap();
    }

    fn hasher(memory_kib: u32, iterations: u32) -> Hasher {
        Hasher::new(&PasswordSettings {
            memory_kib,
            iterations,
            parallelism: 1,
            workers: 1,
            queue: 1,
        })
        .unwrap()
    }

    #[test]
    fn check_matches_only_the_right_password_and_spots_old_parameters() {
        let old = hasher(1024, 1);
        let hash = old.hash(b"correct horse").unwrap();
        let verdict = check(&hash.0, b"correct horse", old.params());
        assert!(verdict.matched && !verdict.needs_rehash);
        assert!(!check(&hash.0, b"correct horsf", old.params()).matched);
        assert!(!check(&hash.0, b"", old.params()).matched);
        let newer = hasher(2048, 1);
        assert!(check(&hash.0, b"correct horse", newer.params()).needs_rehash);
        // The same thread's reused memory serves a larger hash next.
        let big = newer.hash(b"other").unwrap();
        assert!(check(&big.0, b"other", newer.params()).matched);
        assert!(!check("$argon2id$v=19$garbage", b"x", newer.params()).matched);
        assert!(!check("not a hash", b"x", newer.params()).matched);
    }
}
