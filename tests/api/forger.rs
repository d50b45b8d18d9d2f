//! `Forger`: signs arbitrary headers and claims with the server's own key, for the
//! attack tests (forged.rs) and for tokens the server would not issue (expired ones).

use p256::ecdsa::signature::Signer;
use p256::ecdsa::{Signature, SigningKey};
use p256::pkcs8::DecodePrivateKey;
use serde_json::{json, Value};

use crate::helpers::{b64, TestApp, ISSUER, PASSWORD};

/// Signs arbitrary headers and claims with the server's own key (read from keys.dir),
/// so claim checks can be tested apart from the signature check.
pub struct Forger {
    pub kid: String,
    pub key: SigningKey,
    pub sub: String,
}

impl Forger {
    pub async fn new(app: &TestApp) -> Self {
        let user = app.add_user("alice", PASSWORD, &["admin"]).await;
        let (kid, pem) = app.signing_key_pem();
        Self {
            kid,
            key: SigningKey::from_pkcs8_pem(&pem).unwrap(),
            sub: user.id.to_string(),
        }
    }

    pub fn header(&self) -> Value {
        json!({"alg": "ES256", "typ": "at+jwt", "kid": self.kid})
    }

    pub fn claims(&self) -> Value {
        let now = chrono::Utc::now().timestamp();
        json!({
            "iss": ISSUER, "sub": self.sub, "aud": ["api"], "exp": now + 600, "iat": now, "nbf": now,
            "jti": uuid::Uuid::new_v4().to_string(), "client_id": "app", "sid": uuid::Uuid::new_v4().to_string(),
        })
    }

    pub fn sign_raw(&self, key: &SigningKey, header: &str, claims: &str) -> String {
        let signing_input = format!("{}.{}", b64(header.as_bytes()), b64(claims.as_bytes()));
        let signature: Signature = key.sign(signing_input.as_bytes());
        format!("{signing_input}.{}", b64(&signature.to_bytes()))
    }

    pub fn sign(&self, header: &Value, claims: &Value) -> String {
        self.sign_raw(&self.key, &header.to_string(), &claims.to_string())
    }

    pub fn with_claim(&self, name: &str, value: Value) -> String {
        let mut claims = self.claims();
        claims[name] = value;
        self.sign(&self.header(), &claims)
    }

    pub fn with_header(&self, name: &str, value: Value) -> String {
        let mut header = self.header();
        header[name] = value;
        self.sign(&header, &self.claims())
    }

    pub fn without_header(&self, name: &str) -> String {
        let mut header = self.header();
        header.as_object_mut().unwrap().remove(name);
        self.sign(&header, &self.claims())
    }
}
