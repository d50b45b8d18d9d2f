//! What the verifier's tests add to the shared harness: a JWKS fetcher that counts what
//! it asks the issuer, verifiers pointed at a `TestApp`, and the CLI run in-process.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use authd_verify::{FetchFuture, Fetched, HttpFetcher, JwksFetcher, Verifier};
use clap::Parser;

use crate::helpers::{TestApp, ISSUER};

/// Counts of the JWKS requests a verifier made through a [`Counting`] fetcher.
#[derive(Clone, Default)]
pub struct Tally {
    started: Arc<AtomicUsize>,
    finished: Arc<AtomicUsize>,
    not_modified: Arc<AtomicUsize>,
    etags_sent: Arc<AtomicUsize>,
}

impl Tally {
    /// Requests sent to the issuer.
    pub fn requests(&self) -> usize {
        self.started.load(Ordering::SeqCst)
    }
    pub fn finished(&self) -> usize {
        self.finished.load(Ordering::SeqCst)
    }
    pub fn not_modified(&self) -> usize {
        self.not_modified.load(Ordering::SeqCst)
    }
    pub fn etags_sent(&self) -> usize {
        self.etags_sent.load(Ordering::SeqCst)
    }

    /// Waits (at most 5 s) until `n` requests have finished: background refreshes.
    pub async fn wait_finished(&self, n: usize) {
        for _ in 0..500 {
            if self.finished() >= n {
                return;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        panic!("{} JWKS requests finished, expected {n}", self.finished());
    }
}

/// The real HTTP fetcher, counting.
pub struct Counting {
    inner: HttpFetcher,
    tally: Tally,
}

impl JwksFetcher for Counting {
    fn fetch<'a>(&'a self, etag: Option<&'a str>) -> FetchFuture<'a> {
        Box::pin(async move {
            self.tally.started.fetch_add(1, Ordering::SeqCst);
            if etag.is_some() {
                self.tally.etags_sent.fetch_add(1, Ordering::SeqCst);
            }
            let result = self.inner.fetch(etag).await;
            if matches!(result, Ok(Fetched::NotModified { .. })) {
                self.tally.not_modified.fetch_add(1, Ordering::SeqCst);
            }
            self.tally.finished.fetch_add(1, Ordering::SeqCst);
            result
        })
    }
}

pub fn jwks_uri(app: &TestApp) -> String {
    app.url("/.well-known/jwks.json")
}

/// A builder for `app`'s issuer, audience `api`, keys through a counting fetcher.
pub fn counted(app: &TestApp) -> (authd_verify::Builder, Tally) {
    let tally = Tally::default();
    let fetcher = Counting {
        inner: HttpFetcher::new(jwks_uri(app), Duration::from_secs(5)).unwrap(),
        tally: tally.clone(),
    };
    let builder = Verifier::builder(ISSUER).audience("api").fetcher(fetcher);
    (builder, tally)
}

/// The plain verifier a service would build: issuer, JWKS URI, audience `api`.
pub fn verifier(app: &TestApp) -> Verifier {
    Verifier::with_jwks_uri(ISSUER, jwks_uri(app))
        .unwrap()
        .audience("api")
}

/// Runs `authd ARGS` in this process (the binary's own `cli::run`) against `app`'s
/// database and keys, through a config file.
pub async fn authd_cli(app: &TestApp, args: &[&str]) {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("authd.toml");
    std::fs::write(
        &config,
        format!(
            "[database]\nurl = {:?}\n[keys]\ndir = {:?}\n",
            app.db.url,
            app.keys_dir.display().to_string()
        ),
    )
    .unwrap();
    let config = config.display().to_string();
    let argv = ["authd", "--config", config.as_str()]
        .into_iter()
        .chain(args.iter().copied());
    let cli = authd::cli::Cli::try_parse_from(argv).unwrap();
    authd::cli::run(cli).await.unwrap();
}

pub fn secs(n: u64) -> Duration {
    Duration::from_secs(n)
}

/// `now` moved by `n` seconds.
pub fn later(now: SystemTime, n: u64) -> SystemTime {
    now + secs(n)
}
