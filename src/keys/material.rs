//! One key pair: generated or read from its PKCS#8 PEM file, with its public JWK,
//! RFC 7638 thumbprint, its aws-lc-rs signing key and jsonwebtoken verifying key, both
//! parsed once at load.

use std::fs::{self, OpenOptions};
use std::io::Write;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{
    EcdsaKeyPair, RsaKeyPair, ECDSA_P256_SHA256_FIXED_SIGNING, RSA_PKCS1_SHA256,
};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use jsonwebtoken::DecodingKey;
use p256::pkcs8::{DecodePrivateKey, EncodePrivateKey, LineEnding};
use rand::rngs::OsRng;
use rsa::pkcs1::EncodeRsaPrivateKey;
use rsa::traits::PublicKeyParts;
use serde_json::json;
use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

use super::{Algorithm, Kid};

/// RSA modulus size for new RS256 keys (spec: 3072 by default, never under 2048).
const RSA_BITS: usize = 3072;
const RSA_MIN_BITS: usize = 2048;

#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("keys.dir {0}: {1}")]
    Dir(PathBuf, String),
    #[error("signing key file {0}: {1}")]
    File(PathBuf, String),
    #[error("signing key store: {0}")]
    Store(#[from] crate::store::StoreError),
    #[error("signing key: {0}")]
    Crypto(String),
}

/// The private half, parsed once into aws-lc-rs, the backend jsonwebtoken itself signs
/// with. jsonwebtoken's `encode` re-parses the PKCS#8 document on every call: about 9 of
/// the 20 µs an ES256 signature took.
pub enum Signer {
    /// ES256: P-256, signature as the fixed-width r || s of RFC 7518 §3.4.
    Ecdsa(EcdsaKeyPair),
    /// RS256: RSASSA-PKCS1-v1_5 with SHA-256.
    Rsa(RsaKeyPair),
}

impl Signer {
    /// The JWS signature over `message` (the `header.payload` signing input).
    pub fn sign(&self, message: &[u8]) -> Result<Vec<u8>, KeyError> {
        let rng = SystemRandom::new();
        match self {
            Self::Ecdsa(key) => key
                .sign(&rng, message)
                .map(|sig| sig.as_ref().to_vec())
                .map_err(crypto),
            Self::Rsa(key) => {
                let mut sig = vec![0; key.public_modulus_len()];
                key.sign(&RSA_PKCS1_SHA256, &rng, message, &mut sig)
                    .map_err(crypto)?;
                Ok(sig)
            }
        }
    }
}

pub struct KeyPair {
    pub kid: Kid,
    pub alg: Algorithm,
    pub signer: Signer,
    pub decoding: DecodingKey,
    /// The public JWK members (without kid/alg/use), e.g. kty, crv, x, y.
    pub public_jwk: serde_json::Map<String, serde_json::Value>,
}

impl std::fmt::Debug for KeyPair {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeyPair")
            .field("kid", &self.kid)
            .field("alg", &self.alg)
            .finish()
    }
}

fn b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

fn crypto(e: impl std::fmt::Display) -> KeyError {
    KeyError::Crypto(e.to_string())
}

/// RFC 7638 §3: SHA-256 over the required members in lexicographic order, no whitespace.
fn thumbprint(canonical: &str) -> Result<Kid, KeyError> {
    Kid::parse(&b64(&Sha256::digest(canonical.as_bytes()))).map_err(KeyError::Crypto)
}

impl KeyPair {
    /// A fresh key from the OS CSPRNG, with its PKCS#8 PEM.
    pub fn generate(alg: Algorithm) -> Result<(Self, Zeroizing<String>), KeyError> {
        let pem = match alg {
            Algorithm::Es256 => p256::SecretKey::random(&mut OsRng)
                .to_pkcs8_pem(LineEnding::LF)
                .map_err(crypto)?,
            Algorithm::Rs256 => rsa::RsaPrivateKey::new(&mut OsRng, RSA_BITS)
                .map_err(crypto)?
                .to_pkcs8_pem(LineEnding::LF)
                .map_err(crypto)?,
        };
        Ok((Self::from_pem(alg, &pem)?, pem))
    }

    /// Parses a PKCS#8 PEM private key of the given algorithm.
    pub fn from_pem(alg: Algorithm, pem: &str) -> Result<Self, KeyError> {
        match alg {
            Algorithm::Es256 => {
                let secret = p256::SecretKey::from_pkcs8_pem(pem).map_err(crypto)?;
                let der = secret.to_pkcs8_der().map_err(crypto)?;
                let point = p256::EncodedPoint::from(secret.public_key());
                let (Some(x), Some(y)) = (point.x(), point.y()) else {
                    return Err(KeyError::Crypto(
                        "P-256 public key has no coordinates".into(),
                    ));
                };
                let (x, y) = (b64(x), b64(y));
                let kid = thumbprint(&format!(
                    r#"{{"crv":"P-256","kty":"EC","x":"{x}","y":"{y}"}}"#
                ))?;
                Ok(Self {
                    kid,
                    alg,
                    signer: Signer::Ecdsa(
                        EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, der.as_bytes())
                            .map_err(crypto)?,
                    ),
                    decoding: DecodingKey::from_ec_components(&x, &y).map_err(crypto)?,
                    public_jwk: jwk_members(json!({"kty": "EC", "crv": "P-256", "x": x, "y": y})),
                })
            }
            Algorithm::Rs256 => {
                let secret = rsa::RsaPrivateKey::from_pkcs8_pem(pem).map_err(crypto)?;
                if secret.size() * 8 < RSA_MIN_BITS {
                    return Err(KeyError::Crypto(format!(
                        "RSA keys must be at least {RSA_MIN_BITS} bits"
                    )));
                }
                let der = secret.to_pkcs1_der().map_err(crypto)?;
                let (n, e) = (
                    b64(&secret.n().to_bytes_be()),
                    b64(&secret.e().to_bytes_be()),
                );
                let kid = thumbprint(&format!(r#"{{"e":"{e}","kty":"RSA","n":"{n}"}}"#))?;
                Ok(Self {
                    kid,
                    alg,
                    signer: Signer::Rsa(RsaKeyPair::from_der(der.as_bytes()).map_err(crypto)?),
                    decoding: DecodingKey::from_rsa_components(&n, &e).map_err(crypto)?,
                    public_jwk: jwk_members(json!({"kty": "RSA", "n": n, "e": e})),
                })
            }
        }
    }

    /// The JWKS entry: public members plus kid, alg and use (RFC 7517 §4).
    pub fn jwk(&self) -> serde_json::Value {
        let mut jwk = self.public_jwk.clone();
        jwk.insert("kid".into(), self.kid.as_str().into());
        jwk.insert("alg".into(), self.alg.as_str().into());
        jwk.insert("use".into(), "sig".into());
        serde_json::Value::Object(jwk)
    }
}

fn jwk_members(value: serde_json::Value) -> serde_json::Map<String, serde_json::Value> {
    match value {
        serde_json::Value::Object(map) => map,
        _ => serde_json::Map::new(),
    }
}

/// The file holding a key's private half.
pub fn key_path(dir: &Path, kid: &Kid) -> PathBuf {
    dir.join(format!("{kid}.pem"))
}

/// Makes sure `dir` exists and is private. A directory that already holds keys and is
/// open to other users is refused with the fix; a new or still key-less one is
/// created or tightened to 0700, since we are about to put the first key in it.
pub fn prepare_dir(dir: &Path) -> Result<(), KeyError> {
    let err = |msg: String| KeyError::Dir(dir.to_path_buf(), msg);
    fs::create_dir_all(dir).map_err(|e| err(format!("cannot create it: {e}")))?;
    let mode = fs::metadata(dir)
        .map_err(|e| err(format!("cannot read it: {e}")))?
        .permissions()
        .mode();
    if mode & 0o077 == 0 {
        return Ok(());
    }
    let holds_keys = fs::read_dir(dir)
        .map_err(|e| err(format!("cannot list it: {e}")))?
        .filter_map(Result::ok)
        .any(|entry| entry.path().extension().is_some_and(|ext| ext == "pem"));
    if holds_keys {
        return Err(err(format!(
            "is accessible by other users (mode {:o}); run: chmod 700 {}",
            mode & 0o777,
            dir.display()
        )));
    }
    fs::set_permissions(dir, fs::Permissions::from_mode(0o700))
        .map_err(|e| err(format!("cannot make it private (chmod 700): {e}")))
}

/// Writes a new key file with mode 0600; never overwrites an existing one.
pub fn write_key(dir: &Path, kid: &Kid, pem: &str) -> Result<PathBuf, KeyError> {
    let path = key_path(dir, kid);
    let err = |e: std::io::Error| KeyError::File(path.clone(), format!("cannot write it: {e}"));
    let mut file = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&path)
        .map_err(err)?;
    file.write_all(pem.as_bytes()).map_err(err)?;
    file.sync_all().map_err(err)?;
    Ok(path)
}

/// Reads a key file, refusing one that other users can read, and checks that the key
/// inside is the one its name and the database say.
pub fn read_key(dir: &Path, kid: &Kid, alg: Algorithm) -> Result<KeyPair, KeyError> {
    let path = key_path(dir, kid);
    let err = |msg: String| KeyError::File(path.clone(), msg);
    let meta = fs::metadata(&path).map_err(|e| {
        err(format!(
            "cannot read it ({e}); mount the keys.dir shared by every instance"
        ))
    })?;
    let mode = meta.permissions().mode();
    if mode & 0o077 != 0 {
        return Err(err(format!(
            "is accessible by other users (mode {:o}); run: chmod 600 {}",
            mode & 0o777,
            path.display()
        )));
    }
    let pem =
        Zeroizing::new(fs::read_to_string(&path).map_err(|e| err(format!("cannot read it: {e}")))?);
    // SEC1 ("EC PRIVATE KEY") and PKCS#1 ("RSA PRIVATE KEY") files are common: say how
    // to convert them rather than only that they are wrong.
    if pem.contains(" EC PRIVATE KEY-----") || pem.contains(" RSA PRIVATE KEY-----") {
        return Err(err(format!(
            "holds a SEC1 or PKCS#1 key, not PKCS#8; convert it: openssl pkcs8 -topk8 -nocrypt -in {0} -out {0}.new && mv {0}.new {0}",
            path.display()
        )));
    }
    let pair = KeyPair::from_pem(alg, &pem)
        .map_err(|e| err(format!("is not a PKCS#8 PEM {alg} private key: {e}")))?;
    if pair.kid != *kid {
        return Err(err(format!("holds key {} instead of {kid}", pair.kid)));
    }
    Ok(pair)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn es256_kid_is_the_rfc7638_thumbprint() {
        let (pair, pem) = KeyPair::generate(Algorithm::Es256).unwrap();
        let jwk = pair.jwk();
        let canonical = format!(
            r#"{{"crv":"P-256","kty":"EC","x":"{}","y":"{}"}}"#,
            jwk["x"].as_str().unwrap(),
            jwk["y"].as_str().unwrap()
        );
        assert_eq!(
            pair.kid.as_str(),
            b64(&Sha256::digest(canonical.as_bytes()))
        );
        assert_eq!(jwk["kid"], pair.kid.as_str());
        assert_eq!(jwk["alg"], "ES256");
        assert!(jwk.get("d").is_none(), "no private member in a JWK");
        // Reloading the PEM gives the same key.
        assert_eq!(
            KeyPair::from_pem(Algorithm::Es256, &pem).unwrap().kid,
            pair.kid
        );
    }

    #[test]
    fn rfc7638_example_thumbprint_matches() {
        // RFC 7638 §3.1: the example RSA key's thumbprint.
        let n = "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw";
        let canonical = format!(r#"{{"e":"AQAB","kty":"RSA","n":"{n}"}}"#);
        assert_eq!(
            thumbprint(&canonical).unwrap().as_str(),
            "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"
        );
    }

    #[test]
    fn key_files_are_written_0600_and_read_back() {
        let dir = tempfile::tempdir().unwrap();
        let (pair, pem) = KeyPair::generate(Algorithm::Es256).unwrap();
        let path = write_key(dir.path(), &pair.kid, &pem).unwrap();
        assert_eq!(
            fs::metadata(&path).unwrap().permissions().mode() & 0o777,
            0o600
        );
        assert_eq!(
            read_key(dir.path(), &pair.kid, Algorithm::Es256)
                .unwrap()
                .kid,
            pair.kid
        );
        assert!(
            write_key(dir.path(), &pair.kid, &pem).is_err(),
            "never overwrites"
        );
    }

    #[test]
    fn key_files_readable_by_others_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let (pair, pem) = KeyPair::generate(Algorithm::Es256).unwrap();
        let path = write_key(dir.path(), &pair.kid, &pem).unwrap();
        fs::set_permissions(&path, fs::Permissions::from_mode(0o644)).unwrap();
        let err = read_key(dir.path(), &pair.kid, Algorithm::Es256)
            .unwrap_err()
            .to_string();
        assert!(err.contains("chmod 600"), "{err}");
        fs::set_permissions(dir.path(), fs::Permissions::from_mode(0o755)).unwrap();
        let err = prepare_dir(dir.path()).unwrap_err().to_string();
        assert!(err.contains("chmod 700"), "{err}");
    }

    #[test]
    fn an_empty_key_dir_is_made_private() {
        let dir = tempfile::tempdir().unwrap();
        fs::set_permissions(dir.path(), fs::Permissions::from_mode(0o755)).unwrap();
        prepare_dir(dir.path()).unwrap();
        assert_eq!(
            fs::metadata(dir.path()).unwrap().permissions().mode() & 0o777,
            0o700
        );
    }

    #[test]
    fn a_key_file_holding_another_key_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let (a, _) = KeyPair::generate(Algorithm::Es256).unwrap();
        let (_, pem_b) = KeyPair::generate(Algorithm::Es256).unwrap();
        write_key(dir.path(), &a.kid, &pem_b).unwrap();
        assert!(read_key(dir.path(), &a.kid, Algorithm::Es256).is_err());
    }
}
