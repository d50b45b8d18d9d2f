//! A validator over a fixed in-memory key ring, shared by the token targets.

use std::sync::{Arc, OnceLock};

use authd::keys::{Algorithm, KeyPair, KeyRing, SharedKeyRing};
use authd::store::KeyState;
use authd::tokens::Validator;
use p256::pkcs8::EncodePrivateKey;

pub const ISSUER: &str = "https://authd.fuzz";

#[allow(dead_code)] // each target uses part of it
pub struct Fixture {
    pub validator: Validator,
    pub kid: String,
    pub pem: String,
}

pub fn fixture() -> &'static Fixture {
    static FIXTURE: OnceLock<Fixture> = OnceLock::new();
    FIXTURE.get_or_init(|| {
        // A fixed key, so its kid is known and the seeds can name it.
        let secret = p256::SecretKey::from_slice(&[7u8; 32]).expect("scalar");
        let pem = secret
            .to_pkcs8_pem(p256::pkcs8::LineEnding::LF)
            .expect("pem")
            .to_string();
        let pair = KeyPair::from_pem(Algorithm::Es256, &pem).expect("key");
        let kid = pair.kid.as_str().to_owned();
        let ring = KeyRing::new(vec![(KeyState::Active, Arc::new(pair))]).expect("ring");
        Fixture {
            validator: Validator::new(ISSUER.to_owned(), 30, 600, SharedKeyRing::new(ring)),
            kid,
            pem,
        }
    })
}

/// A fixed "now" inside the seeds' validity, so runs are reproducible.
pub const NOW: i64 = 1_800_000_000;
