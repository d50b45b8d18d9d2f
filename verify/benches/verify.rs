//! Warm-cache verification against the bare signature check, and one shared verifier
//! under several threads (verifier.md §5). Results: BENCHMARKS.md, "authd-verify".
//!
//! `cargo bench -p authd-verify --bench verify`
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use authd_verify::{FetchFuture, Fetched, JwksFetcher, Verifier};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
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

struct Setup {
    token: String,
    verifier: Verifier,
    decoding: DecodingKey,
    x: String,
    y: String,
}

fn setup() -> Setup {
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
    // An authd-shaped token: the claims of spec §2 (same size as the real ones).
    let claims = serde_json::json!({
        "iss": ISSUER, "sub": "6f1c2a43-3c1e-4a8e-9a52-8c1d4a0b9d11", "aud": ["api"],
        "exp": now + 600, "iat": now, "nbf": now,
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
    Setup {
        token,
        verifier,
        decoding,
        x,
        y,
    }
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

fn warm(c: &mut Criterion) {
    let s = setup();
    let rt = runtime();
    rt.block_on(s.verifier.verify(&s.token)).unwrap();
    let mut validation = Validation::new(Algorithm::ES256);
    validation.set_audience(&["api"]);
    validation.set_issuer(&[ISSUER]);
    jsonwebtoken::decode::<serde_json::Value>(&s.token, &s.decoding, &validation).unwrap();

    let mut group = c.benchmark_group("warm");
    group.throughput(Throughput::Elements(1));
    // The bare check: jsonwebtoken's decode with the same key (signature, exp, iss, aud).
    group.bench_function("jsonwebtoken_decode", |b| {
        b.iter(|| {
            jsonwebtoken::decode::<serde_json::Value>(&s.token, &s.decoding, &validation).unwrap()
        })
    });
    // The same with the decoding key built from the JWK every time (what a verifier
    // without a parsed-key cache pays).
    group.bench_function("jsonwebtoken_decode_key_per_call", |b| {
        b.iter(|| {
            let key = DecodingKey::from_ec_components(&s.x, &s.y).unwrap();
            jsonwebtoken::decode::<serde_json::Value>(&s.token, &key, &validation).unwrap()
        })
    });
    // Inside one task, as in a service: no runtime entry per verification.
    group.bench_function("authd_verify", |b| {
        b.iter_custom(|iters| {
            rt.block_on(async {
                let start = Instant::now();
                for _ in 0..iters {
                    s.verifier.verify(&s.token).await.unwrap();
                }
                start.elapsed()
            })
        })
    });
    group.finish();
}

/// `threads` threads share one verifier (clones share its cache); each runs its share
/// of `iters` verifications on its own current-thread runtime.
fn shared(verifier: &Verifier, token: &str, threads: u64, iters: u64) -> Duration {
    let start = Instant::now();
    std::thread::scope(|scope| {
        for _ in 0..threads {
            let verifier = verifier.clone();
            scope.spawn(move || {
                runtime().block_on(async {
                    for _ in 0..iters.div_ceil(threads) {
                        verifier.verify(token).await.unwrap();
                    }
                });
            });
        }
    });
    start.elapsed()
}

fn threads(c: &mut Criterion) {
    let s = setup();
    runtime().block_on(s.verifier.verify(&s.token)).unwrap();
    let mut group = c.benchmark_group("shared_verifier");
    group.throughput(Throughput::Elements(1));
    for n in [1u64, 2, 8] {
        group.bench_function(format!("threads_{n}"), |b| {
            b.iter_custom(|iters| shared(&s.verifier, &s.token, n, iters))
        });
    }
    group.finish();
}

criterion_group!(benches, warm, threads);
criterion_main!(benches);
