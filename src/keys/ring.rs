//! The key ring: every published key (next, active, retired) and the one that signs,
//! with the JWKS body and its ETag serialized once per ring change.

use std::collections::HashMap;
use std::sync::{Arc, PoisonError, RwLock};

use actix_web::web::Bytes;
use sha2::{Digest, Sha256};

use super::material::{KeyError, KeyPair};
use crate::store::{KeyRecord, KeyState};

pub struct KeyRing {
    active: Arc<KeyPair>,
    published: HashMap<String, Arc<KeyPair>>,
    jwks: Bytes,
    etag: String,
    algorithms: Vec<&'static str>,
    /// (kid, state) of every key, in ring order: what a reload compares against.
    states: Vec<(String, KeyState)>,
}

impl KeyRing {
    /// Builds the ring from loaded keys; exactly one of them must be active.
    pub fn new(keys: Vec<(KeyState, Arc<KeyPair>)>) -> Result<Self, KeyError> {
        let mut active = None;
        let mut published = HashMap::new();
        let mut entries = Vec::new();
        let mut algorithms = Vec::new();
        let mut states = Vec::new();
        for (state, pair) in keys {
            states.push((pair.kid.as_str().to_owned(), state));
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
            states,
        })
    }

    /// Whether the ring holds exactly these keys in these states.
    pub fn matches(&self, records: &[KeyRecord]) -> bool {
        self.states.len() == records.len()
            && self
                .states
                .iter()
                .zip(records)
                .all(|((kid, state), r)| kid == r.kid.as_str() && *state == r.state)
    }

    /// A key of the ring, to reuse when the ring is rebuilt.
    pub fn key(&self, kid: &str) -> Option<Arc<KeyPair>> {
        self.published.get(kid).cloned()
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
        Arc::clone(&self.0.read().unwrap_or_else(PoisonError::into_inner))
    }

    /// Swaps in a rebuilt ring; requests holding the old one finish with it.
    pub fn replace(&self, ring: KeyRing) {
        *self.0.write().unwrap_or_else(PoisonError::into_inner) = Arc::new(ring);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keys::Algorithm;

    #[test]
    fn the_ring_publishes_every_key_and_signs_with_the_active_one() {
        let (a, _) = KeyPair::generate(Algorithm::Es256).unwrap();
        let (b, _) = KeyPair::generate(Algorithm::Es256).unwrap();
        let (kid_a, kid_b) = (a.kid.clone(), b.kid.clone());
        let ring = KeyRing::new(vec![
            (KeyState::Retired, Arc::new(a)),
            (KeyState::Active, Arc::new(b)),
        ])
        .unwrap();
        assert_eq!(ring.signer().kid, kid_b);
        assert!(ring.verifier(kid_a.as_str()).is_some());
        let jwks: serde_json::Value = serde_json::from_slice(ring.jwks()).unwrap();
        assert_eq!(jwks["keys"].as_array().unwrap().len(), 2);
        assert!(ring.etag().starts_with('"') && ring.etag().ends_with('"'));
    }

    #[test]
    fn a_ring_without_an_active_key_is_an_error() {
        let (a, _) = KeyPair::generate(Algorithm::Es256).unwrap();
        assert!(KeyRing::new(vec![(KeyState::Next, Arc::new(a))]).is_err());
    }
}
