//! argon2id hashing and verification on a bounded pool of dedicated threads. Async
//! workers never run argon2; when every thread is busy and the queue is full, callers
//! get `PoolError::Busy` at once (→ 503 + Retry-After) instead of piling up memory.
//! Imported bcrypt, pbkdf2 and scrypt hashes (`domain::ImportedHash`) are verified on the
//! same pool, and always need a rehash: the first login rewrites them as argon2id.

use std::cell::RefCell;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{self, Receiver, SyncSender, TrySendError};
use std::sync::{Arc, Mutex};

use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{
    PasswordHash as Phc, PasswordHasher as _, PasswordVerifier as _, SaltString,
};
use argon2::{Argon2, Block, Params, Version};
use subtle::ConstantTimeEq;
use tokio::sync::oneshot;

use crate::config::PasswordSettings;
use crate::domain::{HashScheme, ImportedHash, Password};
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

/// The password check itself, on the calling thread (the pool's workers run it; the
/// `ops` benchmark times it), dispatched on the stored hash's format. The hash's own
/// algorithm and parameters verify it; a match under anything but argon2id with
/// `params` needs a rehash. A string in no known format matches nothing.
pub fn check(phc: &str, password: &[u8], params: &Params) -> Verdict {
    let matched = match HashScheme::of(phc) {
        Some(HashScheme::Argon2) => return check_argon2(phc, password, params),
        Some(_) => check_imported(phc, password),
        None => false,
    };
    Verdict {
        matched,
        needs_rehash: matched,
    }
}

fn check_argon2(phc: &str, password: &[u8], params: &Params) -> Verdict {
    let checked = Phc::new(phc)
        .ok()
        .and_then(|parsed| Some((verify(&parsed, password, params)?, parsed)));
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

/// bcrypt, pbkdf2 and scrypt through their crates, which recompute the hash under the
/// stored parameters and salt and compare in constant time (`bcrypt::verify` with
/// `subtle::ConstantTimeEq`; pbkdf2 and scrypt through `PasswordVerifier`, whose
/// `Output` equality is `subtle`'s too). The string must first pass the import bounds
/// (`ImportedHash::parse`), so a hash written to the database by other means cannot
/// make a check cost more than an import could. bcrypt reads only the first 72 bytes
/// of a password, like every bcrypt; the rehash then keeps the whole password typed.
/// These checks cost other than the dummy argon2 hash does, so until its first login a
/// failed login's time can tell an imported user from an unknown name (STYLE.md habit
/// 7 holds again once the login rewrites the hash).
fn check_imported(raw: &str, password: &[u8]) -> bool {
    let Ok(hash) = ImportedHash::parse(raw) else {
        return false;
    };
    match hash.scheme() {
        HashScheme::Bcrypt => bcrypt::verify(password, raw).unwrap_or(false),
        HashScheme::Pbkdf2 => {
            Phc::new(raw).is_ok_and(|phc| pbkdf2::Pbkdf2.verify_password(password, &phc).is_ok())
        }
        HashScheme::Scrypt => {
            Phc::new(raw).is_ok_and(|phc| scrypt::Scrypt.verify_password(password, &phc).is_ok())
        }
        HashScheme::Argon2 => false, // `check` sends argon2 to `check_argon2`
    }
}

/// Recomputes the hash of `password` under the stored hash's algorithm, version,
/// parameters and salt, in this thread's reused memory, and compares it in constant
/// time. `None` when the stored hash cannot be used.
fn verify(hash: &Phc<'_>, password: &[u8], configured: &Params) -> Option<bool> {
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
    let needed = params.block_count();
    if needed > configured.block_count() {
        // Larger than the configured parameters (an imported hash, or one from before
        // the setting shrank): memory of its own, freed after, so the thread does not
        // keep up to 256 MiB for the rest of the process for one login.
        let mut own = vec![Block::default(); needed];
        argon2
            .hash_password_into_with_memory(password, salt, &mut out, &mut own)
            .ok()?;
        return Some(out.ct_eq(expected.as_bytes()).into());
    }
    BLOCKS.with(|blocks| {
        let mut blocks = blocks.borrow_mut();
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

    /// Hashes made elsewhere than the crates that verify them. pbkdf2 and scrypt: Python's
    /// hashlib (OpenSSL), pbkdf2_hmac(alg, PASSWORD, "authd-import-salt", 1000) and
    /// scrypt(n=2^10, r=8, p=1, dklen=32) in PHC B64.
    const PASSWORD: &[u8] = b"correct horse battery staple";
    const PBKDF2_SHA256: &str = "$pbkdf2-sha256$i=1000,l=32$YXV0aGQtaW1wb3J0LXNhbHQ$CJV+NHgEfgFJJu6QX1vTSJ6cSgIzdr/JE2C3QidnApk";
    const PBKDF2_SHA512: &str = "$pbkdf2-sha512$i=1000,l=64$YXV0aGQtaW1wb3J0LXNhbHQ$/aVHhF7OkDUfClFf7qskx2rp8MvzEwHFkjCofW0H6r2r5ndLnu0J7bJIBxlM9gp+eKI5ZAOJZeJ9Ojrme+k1sQ";
    const SCRYPT: &str =
        "$scrypt$ln=10,r=8,p=1$YXV0aGQtaW1wb3J0LXNhbHQ$8PbYVnoWPdHHtkmMEvBc+8ybLpLSYgbsP2KKBMDQF/U";
    /// Over the import bound (i = 2,000,001), yet the right hash of PASSWORD.
    const PBKDF2_OVER_BOUND: &str = "$pbkdf2-sha256$i=2000001,l=32$YXV0aGQtaW1wb3J0LXNhbHQ$OdFBl0Y7aGhYxY5QbTSyZMWIccNzZa27Iz5VR9BaLFY";

    /// A match that must be rewritten, a wrong password that must not match.
    fn assert_verifies(hash: &str, password: &[u8]) {
        let params = hasher(1024, 1).params().clone();
        let verdict = check(hash, password, &params);
        assert_eq!(
            verdict,
            Verdict {
                matched: true,
                needs_rehash: true
            },
            "{hash}"
        );
        let mut wrong = password.to_vec();
        wrong[0] ^= 1;
        assert!(!check(hash, &wrong, &params).matched, "{hash}");
        assert!(!check(hash, b"", &params).matched, "{hash}");
    }

    #[test]
    fn bcrypt_hashes_verify_and_need_a_rehash() {
        // PHP's password_verify() manual page and Openwall crypt_blowfish's test vectors.
        assert_verifies(
            "$2y$10$.vGA1O9wmRjrwAVXD98HNOgsNpDczlqm3Jq7KnEd1rVAGv3Fykk1a",
            b"rasmuslerdorf",
        );
        assert_verifies(
            "$2a$05$CCCCCCCCCCCCCCCCCCCCC.E5YPO9kmyuRGyh0XouQYb4YMJKvyOeW",
            b"U*U",
        );
        let made = bcrypt::hash_with_salt(PASSWORD, 4, [7; 16]).unwrap();
        for version in [
            bcrypt::Version::TwoA,
            bcrypt::Version::TwoB,
            bcrypt::Version::TwoY,
        ] {
            assert_verifies(&made.format_for_version(version), PASSWORD);
        }
    }

    #[test]
    fn pbkdf2_hashes_verify_and_need_a_rehash() {
        assert_verifies(PBKDF2_SHA256, PASSWORD);
        assert_verifies(PBKDF2_SHA512, PASSWORD);
        let salt = SaltString::generate(&mut OsRng);
        for alg in [
            pbkdf2::Algorithm::Pbkdf2Sha256,
            pbkdf2::Algorithm::Pbkdf2Sha512,
        ] {
            let params = pbkdf2::Params {
                rounds: 1000,
                output_length: 32,
            };
            let made = pbkdf2::Pbkdf2
                .hash_password_customized(PASSWORD, Some(alg.ident()), None, params, &salt)
                .unwrap()
                .to_string();
            assert!(made.starts_with(&format!("${alg}$i=1000,l=32$")), "{made}");
            assert_verifies(&made, PASSWORD);
        }
    }

    #[test]
    fn scrypt_hashes_verify_and_need_a_rehash() {
        assert_verifies(SCRYPT, PASSWORD);
        let salt = SaltString::generate(&mut OsRng);
        let params = scrypt::Params::new(10, 8, 2, 32).unwrap();
        let made = scrypt::Scrypt
            .hash_password_customized(PASSWORD, None, None, params, &salt)
            .unwrap()
            .to_string();
        assert!(made.starts_with("$scrypt$ln=10,r=8,p=2$"), "{made}");
        assert_verifies(&made, PASSWORD);
    }

    #[test]
    fn argon2i_argon2d_and_larger_argon2id_verify_and_need_a_rehash() {
        // The argon2 reference implementation's README: "password", salt "somesalt".
        assert_verifies(
            "$argon2i$v=19$m=65536,t=2,p=4$c29tZXNhbHQ$RdescudvJCsgt3ub+b+dWRWJTmaaJObG",
            b"password",
        );
        let salt = SaltString::generate(&mut OsRng);
        for (alg, m) in [
            (argon2::Algorithm::Argon2d, 1024),
            (argon2::Algorithm::Argon2i, 1024),
            // Above the configured 1024 KiB: verified in memory of its own.
            (argon2::Algorithm::Argon2id, 4096),
        ] {
            let params = Params::new(m, 1, 1, None).unwrap();
            let made = Argon2::new(alg, Version::V0x13, params)
                .hash_password(PASSWORD, &salt)
                .unwrap()
                .to_string();
            assert_verifies(&made, PASSWORD);
        }
    }

    #[test]
    fn hashes_in_no_accepted_form_never_match() {
        let params = hasher(1024, 1).params().clone();
        // The right hash of PASSWORD, but over the import bound: refused before hashing.
        assert!(!check(PBKDF2_OVER_BOUND, PASSWORD, &params).matched);
        // What import refuses, check refuses: a bcrypt cost over 14, another scheme.
        let slow = "$2y$15$.vGA1O9wmRjrwAVXD98HNOgsNpDczlqm3Jq7KnEd1rVAGv3Fykk1a";
        assert!(!check(slow, b"rasmuslerdorf", &params).matched);
        for raw in [
            "$1$saltsalt$RkkBOmYRcNj2IXTIVIUOm/",
            "{SSHA}c2VjcmV0",
            "",
            "password",
        ] {
            assert_eq!(
                check(raw, b"password", &params),
                Verdict {
                    matched: false,
                    needs_rehash: false
                }
            );
        }
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
