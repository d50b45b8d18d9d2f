//! Paired measurements for a shared, noisy machine (BENCHMARKS.md, "authd-verify"):
//! alternates the compared runs in short rounds so that load from other processes hits
//! both alike, and prints medians.
//!
//! `cargo run --release -p authd-verify --example bench [ROUNDS]`
//!
//! 1. warm-cache `Verifier::verify` against `jsonwebtoken::decode` with the same key
//!    (signature + exp/iss/aud), both in one task, 2,000 tokens a round each;
//! 2. one verifier shared by 1 and by 8 threads, 0.5 s a round each: tokens/s.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use authd_verify::{FetchFuture, Fetched, JwksFetcher, Verifier};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use p256::pkcs8::EncodePrivateKey;

const ISSUER: &str = "https://auth.example.com";

struct Static(Vec<u8>);

impl JwksFetcher for Static {
    fn fetch<'a>(&'a self, _etag: Option<&'a str>) -> FetchFuture<'a> {
        let body = self.0.clone();
        Box::pin(async move {
            Ok(Fetched::Modified {
                body,
                etag: None,
                max_age: Some(Duration::from_secs(86_400)),
            })
        })
    }
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn main() {
    let rounds: usize = std::env::args()
        .nth(1)
        .map_or(21, |r| r.parse().expect("ROUNDS is a number"));
    let key = p256::ecdsa::SigningKey::random(&mut rand::rngs::OsRng);
    let point = key.verifying_key().to_encoded_point(false);
    let (x, y) = (
        URL_SAFE_NO_PAD.encode(point.x().unwrap()),
        URL_SAFE_NO_PAD.encode(point.y().unwrap()),
    );
    let jwks = serde_json::json!({"keys": [
        {"kty": "EC", "crv": "P-256", "alg": "ES256", "use": "sig", "kid": "k1", "x": x, "y": y}
    ]});
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let claims = serde_json::json!({
        "iss": ISSUER, "sub": "6f1c2a43-3c1e-4a8e-9a52-8c1d4a0b9d11", "aud": ["api"],
        "exp": now + 3600, "iat": now, "nbf": now,
        "jti": "0f8e2b47-5b2c-4f0e-8f7a-0c2a9d3e4b51", "client_id": "app",
        "sid": "a3b9c1d2-7e4f-4a6b-9c8d-1e2f3a4b5c6d", "roles": ["admin"], "scope": "orders:read",
    });
    let mut header = Header::new(Algorithm::ES256);
    header.typ = Some("at+jwt".into());
    header.kid = Some("k1".into());
    let der = key.to_pkcs8_der().unwrap();
    let token =
        jsonwebtoken::encode(&header, &claims, &EncodingKey::from_ec_der(der.as_bytes())).unwrap();
    let verifier =
        Verifier::with_fetcher(ISSUER, Static(jwks.to_string().into_bytes())).audience("api");
    let decoding = DecodingKey::from_ec_components(&x, &y).unwrap();
    let mut validation = Validation::new(Algorithm::ES256);
    validation.set_audience(&["api"]);
    validation.set_issuer(&[ISSUER]);

    let rt = runtime();
    rt.block_on(verifier.verify(&token)).unwrap();
    const N: u32 = 2000;
    let (mut bare, mut ours, mut ratios) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..rounds {
        let start = Instant::now();
        for _ in 0..N {
            jsonwebtoken::decode::<serde_json::Value>(&token, &decoding, &validation).unwrap();
        }
        let b = start.elapsed().as_secs_f64() * 1e6 / f64::from(N);
        let o = rt.block_on(async {
            let start = Instant::now();
            for _ in 0..N {
                verifier.verify(&token).await.unwrap();
            }
            start.elapsed().as_secs_f64() * 1e6 / f64::from(N)
        });
        bare.push(b);
        ours.push(o);
        ratios.push(o / b);
    }
    println!(
        "warm cache, median of {rounds} paired rounds: jsonwebtoken::decode {:.1} µs, authd-verify {:.1} µs, ratio {:.3} (min {:.3}, max {:.3})",
        median(bare),
        median(ours),
        median(ratios.clone()),
        ratios.iter().copied().fold(f64::MAX, f64::min),
        ratios.iter().copied().fold(0.0, f64::max),
    );

    let run = |threads: u64| -> f64 {
        let done = std::sync::atomic::AtomicU64::new(0);
        let deadline = Instant::now() + Duration::from_millis(500);
        let start = Instant::now();
        std::thread::scope(|scope| {
            for _ in 0..threads {
                let (verifier, token, done) = (verifier.clone(), &token, &done);
                scope.spawn(move || {
                    runtime().block_on(async {
                        let mut n = 0;
                        while Instant::now() < deadline {
                            verifier.verify(token).await.unwrap();
                            n += 1;
                        }
                        done.fetch_add(n, std::sync::atomic::Ordering::Relaxed);
                    })
                });
            }
        });
        done.into_inner() as f64 / start.elapsed().as_secs_f64()
    };
    // The control: the bare check on the same threads, sharing nothing but the key. What
    // it cannot gain from more threads, the machine does not have.
    let bare_run = |threads: u64| -> f64 {
        let done = std::sync::atomic::AtomicU64::new(0);
        let deadline = Instant::now() + Duration::from_millis(500);
        let start = Instant::now();
        std::thread::scope(|scope| {
            for _ in 0..threads {
                let (token, done, decoding, validation) = (&token, &done, &decoding, &validation);
                scope.spawn(move || {
                    let mut n = 0;
                    while Instant::now() < deadline {
                        jsonwebtoken::decode::<serde_json::Value>(token, decoding, validation)
                            .unwrap();
                        n += 1;
                    }
                    done.fetch_add(n, std::sync::atomic::Ordering::Relaxed);
                });
            }
        });
        done.into_inner() as f64 / start.elapsed().as_secs_f64()
    };
    let counts = [1u64, 2, 8];
    let mut rates: Vec<Vec<f64>> = vec![Vec::new(); counts.len()];
    let mut bare_rates: Vec<Vec<f64>> = vec![Vec::new(); counts.len()];
    let (mut scaling, mut bare_scaling) = (Vec::new(), Vec::new());
    for _ in 0..rounds {
        let round: Vec<f64> = counts.iter().map(|&t| run(t)).collect();
        let bare_round: Vec<f64> = counts.iter().map(|&t| bare_run(t)).collect();
        scaling.push(round[2] / round[0]);
        bare_scaling.push(bare_round[2] / bare_round[0]);
        for (all, r) in rates.iter_mut().zip(round) {
            all.push(r);
        }
        for (all, r) in bare_rates.iter_mut().zip(bare_round) {
            all.push(r);
        }
    }
    for ((t, r), b) in counts.iter().zip(rates).zip(bare_rates) {
        println!(
            "{t} thread(s): shared verifier {:.0} tokens/s, bare jsonwebtoken::decode {:.0}/s (medians of {rounds} rounds)",
            median(r),
            median(b)
        );
    }
    println!(
        "8 threads / 1 thread: shared verifier {:.2}x, bare decode {:.2}x (medians of per-round ratios); {} cores",
        median(scaling),
        median(bare_scaling),
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );
}
