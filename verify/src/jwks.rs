//! The issuer's JWK Set, parsed once per fetch into decoding keys bound to exactly one
//! algorithm each (RFC 8725 §3.1).
//!
//! Keys this verifier cannot use are skipped, not fatal (RFC 7517 §5: "SHOULD ignore JWKs
//! within a JWK Set that use "kty" (key type) values that are not understood by them,
//! that are missing required members, or for which values are out of the supported
//! ranges"): another `kty` (`oct`, `OKP`), another curve, `use: enc`, `key_ops` without
//! `verify`, an `alg` other than ES256/RS256, no `kid`.

use std::collections::HashMap;
use std::sync::Arc;

use jsonwebtoken::{Algorithm, DecodingKey};
use serde_json::{Map, Value};

/// The two algorithms authd signs with. Anything else never verifies here.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Alg {
    Es256,
    Rs256,
}

impl Alg {
    /// The header/JWK spelling, exactly (RFC 7518 §3.1: names are case-sensitive).
    pub(crate) fn parse(name: &str) -> Option<Self> {
        match name {
            "ES256" => Some(Self::Es256),
            "RS256" => Some(Self::Rs256),
            _ => None,
        }
    }

    pub(crate) fn jwt(self) -> Algorithm {
        match self {
            Self::Es256 => Algorithm::ES256,
            Self::Rs256 => Algorithm::RS256,
        }
    }
}

/// One usable key: its algorithm and the decoded public key.
pub(crate) struct VerifyingKey {
    pub(crate) alg: Alg,
    pub(crate) decoding: DecodingKey,
}

/// The usable keys of one JWKS document, by `kid`.
#[derive(Default)]
pub(crate) struct KeySet {
    keys: HashMap<String, Arc<VerifyingKey>>,
}

impl KeySet {
    pub(crate) fn get(&self, kid: &str) -> Option<&Arc<VerifyingKey>> {
        self.keys.get(kid)
    }

    pub(crate) fn len(&self) -> usize {
        self.keys.len()
    }

    pub(crate) fn kids(&self) -> impl Iterator<Item = &str> {
        self.keys.keys().map(String::as_str)
    }

    /// Parses a JWKS document (RFC 7517 §5). `None` when the document itself is not a
    /// JWK Set; unusable keys inside one are skipped.
    pub(crate) fn parse(body: &[u8]) -> Option<Self> {
        let document: Value = serde_json::from_slice(body).ok()?;
        let keys = document.get("keys")?.as_array()?;
        let mut set = HashMap::new();
        for jwk in keys {
            let Some((kid, key)) = jwk.as_object().and_then(usable_key) else {
                continue;
            };
            // Two keys with one kid: the first one stands; a lookup by kid must be
            // unambiguous (RFC 7517 §4.5).
            set.entry(kid).or_insert_with(|| Arc::new(key));
        }
        Some(Self { keys: set })
    }
}

fn text<'a>(jwk: &'a Map<String, Value>, name: &str) -> Option<&'a str> {
    jwk.get(name).and_then(Value::as_str)
}

/// The key and its kid, if this verifier can use it for signatures.
fn usable_key(jwk: &Map<String, Value>) -> Option<(String, VerifyingKey)> {
    let kid = text(jwk, "kid")?;
    // RFC 7517 §4.2: only signature keys.
    if jwk.get("use").is_some_and(|u| u.as_str() != Some("sig")) {
        return None;
    }
    // RFC 7517 §4.3: if key_ops is given, it must allow verification.
    if let Some(ops) = jwk.get("key_ops") {
        let allows_verify = ops
            .as_array()
            .is_some_and(|ops| ops.iter().any(|op| op.as_str() == Some("verify")));
        if !allows_verify {
            return None;
        }
    }
    let declared = match jwk.get("alg") {
        None => None,
        Some(alg) => Some(Alg::parse(alg.as_str()?)?),
    };
    let (alg, decoding) = match text(jwk, "kty")? {
        "EC" => {
            if text(jwk, "crv")? != "P-256" || declared.is_some_and(|a| a != Alg::Es256) {
                return None;
            }
            let (x, y) = (text(jwk, "x")?, text(jwk, "y")?);
            // P-256 coordinates are 32 bytes: 43 base64url characters.
            if x.len() != 43 || y.len() != 43 {
                return None;
            }
            (Alg::Es256, DecodingKey::from_ec_components(x, y).ok()?)
        }
        "RSA" => {
            if declared.is_some_and(|a| a != Alg::Rs256) {
                return None;
            }
            let (n, e) = (text(jwk, "n")?, text(jwk, "e")?);
            // Below 2048 bits RSA is refused (RFC 7518 §3.3: "A key of size 2048 bits
            // or larger MUST be used"): 2048 bits are 342 base64url characters.
            if n.len() < 342 {
                return None;
            }
            (Alg::Rs256, DecodingKey::from_rsa_components(n, e).ok()?)
        }
        _ => return None,
    };
    Some((kid.to_owned(), VerifyingKey { alg, decoding }))
}

#[cfg(test)]
mod tests {
    use super::{Alg, KeySet};
    use serde_json::json;

    const X: &str = "f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU";
    const Y: &str = "x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0";

    fn parse(keys: serde_json::Value) -> KeySet {
        KeySet::parse(json!({ "keys": keys }).to_string().as_bytes()).unwrap()
    }

    #[test]
    fn an_es256_key_is_bound_to_es256() {
        let set = parse(
            json!([{"kty":"EC","crv":"P-256","x":X,"y":Y,"kid":"a","alg":"ES256","use":"sig"}]),
        );
        assert_eq!(set.get("a").unwrap().alg, Alg::Es256);
    }

    #[test]
    fn a_key_without_alg_gets_the_one_its_type_allows() {
        let set = parse(json!([{"kty":"EC","crv":"P-256","x":X,"y":Y,"kid":"a"}]));
        assert_eq!(set.get("a").unwrap().alg, Alg::Es256);
    }

    #[test]
    fn unusable_keys_are_skipped_and_the_rest_is_kept() {
        let set = parse(json!([
            {"kty":"oct","k":"c2VjcmV0","kid":"hmac"},
            {"kty":"OKP","crv":"Ed25519","x":X,"kid":"ed"},
            {"kty":"EC","crv":"P-384","x":X,"y":Y,"kid":"p384"},
            {"kty":"EC","crv":"P-256","x":X,"y":Y,"kid":"enc","use":"enc"},
            {"kty":"EC","crv":"P-256","x":X,"y":Y,"kid":"ops","key_ops":["encrypt"]},
            {"kty":"EC","crv":"P-256","x":X,"y":Y,"kid":"es384","alg":"ES384"},
            {"kty":"EC","crv":"P-256","x":X,"y":Y,"kid":"rs","alg":"RS256"},
            {"kty":"RSA","n":"AQAB","e":"AQAB","kid":"small-rsa"},
            {"kty":"EC","crv":"P-256","x":X,"y":Y},
            "not an object",
            {"kty":"EC","crv":"P-256","x":X,"y":Y,"kid":"good","alg":"ES256"}
        ]));
        assert_eq!(set.kids().collect::<Vec<_>>(), vec!["good"]);
    }

    #[test]
    fn a_document_that_is_not_a_jwk_set_is_refused() {
        assert!(KeySet::parse(b"{}").is_none());
        assert!(KeySet::parse(b"{\"keys\":{}}").is_none());
        assert!(KeySet::parse(b"<html>").is_none());
    }
}
