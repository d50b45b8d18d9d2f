//! What one check of an imported password hash costs at the bounds `ImportedHash::parse`
//! enforces (src/domain/imported_hash.rs), next to argon2id at the configured
//! parameters. One thread, as a pool worker runs it. Prints one line per hash:
//! `hash <name> <median ms> <min ms> <max ms>`.
//!
//!   cargo run --release --example imported_hash_costs
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::Instant;

use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHasher, SaltString};
use argon2::Algorithm::Argon2id;
use authd::auth::{check_password, Hasher};
use authd::config::Settings;
use authd::domain::ImportedHash;
use pbkdf2::Algorithm::{Pbkdf2Sha256, Pbkdf2Sha512};

const PASSWORD: &[u8] = b"correct horse battery staple";

fn main() {
    let settings = Settings::load(None).unwrap();
    let hasher = Hasher::new(&settings.password).unwrap();
    let salt = SaltString::generate(&mut OsRng);
    let argon2 = |alg, m, t, p| {
        let params = argon2::Params::new(m, t, p, None).unwrap();
        argon2::Argon2::new(alg, argon2::Version::V0x13, params)
            .hash_password(PASSWORD, &salt)
            .unwrap()
            .to_string()
    };
    let pbkdf2 = |alg: pbkdf2::Algorithm, rounds, output_length| {
        let params = pbkdf2::Params {
            rounds,
            output_length,
        };
        pbkdf2::Pbkdf2
            .hash_password_customized(PASSWORD, Some(alg.ident()), None, params, &salt)
            .unwrap()
            .to_string()
    };
    let scrypt = |ln, r, p| {
        let params = scrypt::Params::new(ln, r, p, 32).unwrap();
        scrypt::Scrypt
            .hash_password_customized(PASSWORD, None, None, params, &salt)
            .unwrap()
            .to_string()
    };
    let bcrypt = |cost| bcrypt::hash(PASSWORD, cost).unwrap();

    let configured = hasher.hash(PASSWORD).unwrap().0;
    let cases: Vec<(&str, String)> = vec![
        ("argon2id_configured", configured),
        ("argon2id_m262144_t4_p1", argon2(Argon2id, 262_144, 4, 1)),
        ("argon2id_m262144_t4_p4", argon2(Argon2id, 262_144, 4, 4)),
        ("argon2id_m19456_t53_p1", argon2(Argon2id, 19_456, 53, 1)),
        ("bcrypt_12", bcrypt(12)),
        ("bcrypt_14", bcrypt(14)),
        (
            "pbkdf2_sha256_i2000000",
            pbkdf2(Pbkdf2Sha256, 2_000_000, 32),
        ),
        (
            "pbkdf2_sha512_i2000000",
            pbkdf2(Pbkdf2Sha512, 2_000_000, 64),
        ),
        ("scrypt_ln18_r8_p1", scrypt(18, 8, 1)),
        ("scrypt_ln17_r8_p2", scrypt(17, 8, 2)),
    ];
    for (name, hash) in cases {
        if name != "argon2id_configured" {
            // Every case is at or inside the bounds, so an import would accept it.
            ImportedHash::parse(&hash).unwrap_or_else(|e| panic!("{name}: {e}"));
        }
        let mut samples: Vec<f64> = (0..5)
            .map(|_| {
                let start = Instant::now();
                let verdict = check_password(&hash, PASSWORD, hasher.params());
                let ms = start.elapsed().as_secs_f64() * 1e3;
                assert!(verdict.matched, "{name}");
                ms
            })
            .collect();
        samples.sort_by(|a, b| a.total_cmp(b));
        println!(
            "hash {name} {:.0} {:.0} {:.0}",
            samples[2], samples[0], samples[4]
        );
    }
}
