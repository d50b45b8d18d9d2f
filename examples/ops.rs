//! Per-operation costs of authd's own code paths, on one thread: the ceilings the load
//! figures in BENCHMARKS.md are compared with (bench/run.sh runs this pinned to the
//! server's core). Prints one line per operation:
//! `op <name> <median µs> <min µs> <max µs> <ops/s on one core>`.
//!
//!   cargo run --release --example ops
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::hint::black_box;
use std::sync::Arc;
use std::time::{Duration, Instant};

use authd::auth::{check_password, Hasher};
use authd::config::Settings;
use authd::domain::Scopes;
use authd::keys::{Algorithm, KeyPair, KeyRing, SharedKeyRing};
use authd::store::KeyState;
use authd::tokens::{AccessGrant, RefreshToken, TokenIssuer, Validator};

/// Times `f`: calibrates a round to last about `round`, runs `rounds` rounds, and
/// returns the per-call times of the rounds (µs).
fn time(round: Duration, rounds: usize, mut f: impl FnMut()) -> Vec<f64> {
    let mut n = 1u64;
    loop {
        let start = Instant::now();
        for _ in 0..n {
            f();
        }
        if start.elapsed() >= round / 4 || n > 1 << 30 {
            let per = start.elapsed().as_secs_f64() / n as f64;
            n = ((round.as_secs_f64() / per) as u64).max(1);
            break;
        }
        n *= 2;
    }
    (0..rounds)
        .map(|_| {
            let start = Instant::now();
            for _ in 0..n {
                f();
            }
            start.elapsed().as_secs_f64() * 1e6 / n as f64
        })
        .collect()
}

fn report(name: &str, mut samples: Vec<f64>) {
    samples.sort_by(|a, b| a.partial_cmp(b).unwrap());
    let median = samples[samples.len() / 2];
    println!(
        "op {name} {median:.2} {:.2} {:.2} {:.0}",
        samples[0],
        samples[samples.len() - 1],
        1e6 / median
    );
}

fn ring(alg: Algorithm) -> SharedKeyRing {
    let (pair, _) = KeyPair::generate(alg).unwrap();
    SharedKeyRing::new(KeyRing::new(vec![(KeyState::Active, Arc::new(pair))]).unwrap())
}

fn main() {
    let settings = Settings::load(None).unwrap();
    let issuer = "http://127.0.0.1:8080".to_owned();
    let ttl = settings.tokens.access_ttl.as_secs() as i64;
    let leeway = settings.tokens.leeway.as_secs() as i64;
    let now = chrono::Utc::now().timestamp();
    let scopes = Scopes::parse("read write").unwrap();
    let audience = vec!["api".to_owned()];
    let fast = Duration::from_millis(300);

    for (alg, name) in [(Algorithm::Es256, "es256"), (Algorithm::Rs256, "rs256")] {
        let keys = ring(alg);
        let tokens = TokenIssuer::new(issuer.clone(), ttl, keys.clone());
        let grant = || AccessGrant {
            subject: "0b5f6a3e-8f1c-4c55-9d62-1f0f4a1b2c3d".to_owned(),
            client_id: "app",
            audience: &audience,
            scopes: &scopes,
            sid: Some("6f1c2b7e-2a55-4e8b-9f0a-3c1d2e4f5a6b".to_owned()),
            roles: vec!["admin".to_owned()],
        };
        // What a token issuance signs: the TokenIssuer, exactly as the server calls it.
        report(
            &format!("{name}_sign"),
            time(fast, 7, || {
                black_box(tokens.issue(grant(), now).unwrap());
            }),
        );
        let token = tokens.issue(grant(), now).unwrap().token;
        let validator = Validator::new(issuer.clone(), leeway, ttl, keys);
        // What every bearer request runs before the revocation check (spec §4).
        report(
            &format!("{name}_verify"),
            time(fast, 7, || {
                black_box(validator.validate(&token, now).unwrap());
            }),
        );
    }

    report(
        "refresh_token_new",
        time(fast, 7, || {
            black_box(RefreshToken::generate().hash());
        }),
    );

    // argon2id verify at the configured parameters (config/default.toml), as the pool's
    // workers run it.
    let hasher = Hasher::new(&settings.password).unwrap();
    let hash = hasher.hash(b"correct horse battery staple").unwrap();
    report(
        "argon2_verify",
        time(Duration::from_millis(1500), 5, || {
            let verdict = check_password(&hash.0, b"correct horse battery staple", hasher.params());
            assert!(verdict.matched);
        }),
    );
}
