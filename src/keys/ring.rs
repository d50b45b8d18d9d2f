//! The key ring: every published key (next, active, retired) and the one that signs,
//! with the JWKS body and its ETag serialized once per ring change.

use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, RwLock};

use actix_web::web::Bytes;
use chrono::{DateTime, Utc};
use sha2::{Digest, Sha256};

use super::material::{prepare_dir, read_key, write_key, KeyError, KeyPair};
use super::Algorithm;
use crate::store::{KeyRecord, KeyState, Store};

pub struct KeyRing {
    active: Arc<KeyPair>,
    published: HashMap<String, Arc<KeyPair>>,
    jwks: Bytes,
    etag: String,
    algorithms: Vec<&'static str>,
}

impl KeyRing {
    /// Builds the ring from loaded keys; exactly one of them must be active.
    pub fn new(keys: Vec<(KeyState, KeyPair)>) -> Result<Self, KeyError> {
        let mut active = None;
        let mut published = HashMap::new();
        let mut entries = Vec::new();
        let mut algorithms = Vec::new();
        for (state, pair) in keys {
            let pair = Arc::new(pair);
            if state == KeyState::Active {
                active = Some(Arc::clone(&pair));
            }
            entries.push(pair.jwk());
            if !algorithms.contains(&pair.alg.as_str()) {
                algorithms.push(pair.alg.as_str());
            }
            published.insert(pair.kid.as_str().to_owned(), pair);
        }
        let active = active.ok_or_else(|| KeyError::Crypto("no active signing key".into()))?;
        let jwks = serde_json::to_vec(&serde_json::json!({ "keys": entries }))
            .map_err(|e| KeyError::Crypto(e.to_string()))?;
        let digest = Sha256::digest(&jwks);
        let etag = format!(
            "\"{}\"",
            digest[..16]
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect::<String>()
        );
        Ok(Self {
            active,
            published,
            jwks: Bytes::from(jwks),
            etag,
            algorithms,
        })
    }

    /// The key that signs new tokens.
    pub fn signer(&self) -> &KeyPair {
        &self.active
    }

    /// A published key by `kid`, for verification.
    pub fn verifier(&self, kid: &str) -> Option<&KeyPair> {
        self.published.get(kid).map(Arc::as_ref)
    }

    /// The serialized JWKS document (public keys only).
    pub fn jwks(&self) -> &Bytes {
        &self.jwks
    }

    /// A strong ETag of the JWKS body, quoted.
    pub fn etag(&self) -> &str {
        &self.etag
    }

    /// The algorithms of the published keys, for discovery.
    pub fn algorithms(&self) -> &[&'static str] {
        &self.algorithms
    }
}

/// The ring shared by every request; replaced whole when keys change.
#[derive(Clone)]
pub struct SharedKeyRing(Arc<RwLock<Arc<KeyRing>>>);

impl SharedKeyRing {
    pub fn new(ring: KeyRing) -> Self {
        Self(Arc::new(RwLock::new(Arc::new(ring))))
    }

    pub fn current(&self) -> Arc<KeyRing> {
        match self.0.read() {
            Ok(guard) => Arc::clone(&guard),
            Err(poisoned) => Arc::clone(&poisoned.into_inner()),
        }
    }
}

/// Loads the ring from the database and `dir`. With no active key (first start), a new
/// key of `alg` is generated, written as `<kid>.pem` (0600) and recorded as active; if
/// another instance records one first, ours is discarded and theirs is loaded.
pub async fn load_or_create(
    store: &dyn Store,
    dir: &Path,
    alg: Algorithm,
    now: DateTime<Utc>,
) -> Result<KeyRing, KeyError> {
    prepare_dir(dir)?;
    let mut records = store.signing_keys().await?;
    if !records.iter().any(|r| r.state == KeyState::Active) {
        let (pair, pem) = tokio::task::spawn_blocking(move || KeyPair::generate(alg))
            .await
            .map_err(|e| KeyError::Crypto(e.to_string()))??;
        let path = write_key(dir, &pair.kid, &pem)?;
        let record = KeyRecord {
            kid: pair.kid.clone(),
            alg,
            state: KeyState::Active,
            created_at: now,
            activated_at: Some(now),
            retired_at: None,
        };
        let inserted = store.insert_first_active_key(&record).await;
        if !matches!(inserted, Ok(true)) {
            // Lost the race, or the write failed: the file must not outlive its row.
            let _ = std::fs::remove_file(&path);
            inserted?;
        } else {
            tracing::info!(kid = %pair.kid, alg = %alg, "created the first signing key");
        }
        records = store.signing_keys().await?;
    }
    let mut keys = Vec::with_capacity(records.len());
    for record in records {
        keys.push((record.state, read_key(dir, &record.kid, record.alg)?));
    }
    KeyRing::new(keys)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_ring_publishes_every_key_and_signs_with_the_active_one() {
        let (a, _) = KeyPair::generate(Algorithm::Es256).unwrap();
        let (b, _) = KeyPair::generate(Algorithm::Es256).unwrap();
        let (kid_a, kid_b) = (a.kid.clone(), b.kid.clone());
        let ring = KeyRing::new(vec![(KeyState::Retired, a), (KeyState::Active, b)]).unwrap();
        assert_eq!(ring.signer().kid, kid_b);
        assert!(ring.verifier(kid_a.as_str()).is_some());
        let jwks: serde_json::Value = serde_json::from_slice(ring.jwks()).unwrap();
        assert_eq!(jwks["keys"].as_array().unwrap().len(), 2);
        assert!(ring.etag().starts_with('"') && ring.etag().ends_with('"'));
    }

    #[test]
    fn a_ring_without_an_active_key_is_an_error() {
        let (a, _) = KeyPair::generate(Algorithm::Es256).unwrap();
        assert!(KeyRing::new(vec![(KeyState::Next, a)]).is_err());
    }
}
