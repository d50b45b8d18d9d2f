//! Optional online check (verifier.md §3): after local validation, ask the issuer's
//! RFC 7662 endpoint whether the token is still active, and refuse `active: false`.
//!
//! Offline verification cannot see revocation: a revoked token stays valid until it
//! expires. Introspection closes that gap at the price of one request per token per
//! cache period. Answers are cached by `jti` for a few seconds (never past the token's
//! `exp`): that period is how late a revocation may be noticed.

use std::collections::HashMap;
use std::fmt;
use std::sync::Mutex;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use reqwest13::header::{ACCEPT, AUTHORIZATION};
use reqwest13::StatusCode;

use crate::claims::Claims;
use crate::error::VerifyError;

/// Entries kept at most; past this, expired ones are dropped, then all.
const MAX_CACHED: usize = 10_000;

/// Credentials of this service as a confidential client of the issuer, for
/// `client_secret_basic` (RFC 6749 §2.3.1) at the introspection endpoint.
#[derive(Clone)]
pub struct Introspection {
    /// The client id registered for this service.
    pub client_id: String,
    /// Its secret.
    pub client_secret: String,
}

impl fmt::Debug for Introspection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Introspection")
            .field("client_id", &self.client_id)
            .field("client_secret", &"<redacted>")
            .finish()
    }
}

pub(crate) struct Introspector {
    client: Option<reqwest13::Client>,
    endpoint: String,
    authorization: String,
    ttl: Duration,
    /// jti → (active, valid until). Held only to read or insert, never across a request.
    cache: Mutex<HashMap<String, (bool, SystemTime)>>,
}

impl Introspector {
    /// `client: None` (it could not be built) makes every check fail closed.
    pub(crate) fn new(
        client: Option<reqwest13::Client>,
        endpoint: String,
        credentials: &Introspection,
        ttl: Duration,
    ) -> Self {
        // RFC 6749 §2.3.1: id and secret are form-urlencoded before Basic encoding.
        let pair = format!(
            "{}:{}",
            form_urlencoded::byte_serialize(credentials.client_id.as_bytes()).collect::<String>(),
            form_urlencoded::byte_serialize(credentials.client_secret.as_bytes())
                .collect::<String>()
        );
        Self {
            client,
            endpoint,
            authorization: format!("Basic {}", STANDARD.encode(pair)),
            ttl,
            cache: Mutex::new(HashMap::new()),
        }
    }

    pub(crate) async fn check(
        &self,
        token: &str,
        claims: &Claims,
        now: SystemTime,
    ) -> Result<(), VerifyError> {
        if let Some(active) = self.cached(&claims.jti, now) {
            return verdict(active);
        }
        let active = self.ask(token).await?;
        let exp = UNIX_EPOCH + Duration::from_secs(u64::try_from(claims.exp).unwrap_or(0));
        self.remember(&claims.jti, active, (now + self.ttl).min(exp), now);
        verdict(active)
    }

    fn cached(&self, jti: &str, now: SystemTime) -> Option<bool> {
        let cache = self.cache.lock().ok()?;
        cache
            .get(jti)
            .filter(|(_, until)| now < *until)
            .map(|(active, _)| *active)
    }

    fn remember(&self, jti: &str, active: bool, until: SystemTime, now: SystemTime) {
        if self.ttl.is_zero() {
            return;
        }
        let Ok(mut cache) = self.cache.lock() else {
            return;
        };
        if cache.len() >= MAX_CACHED {
            cache.retain(|_, (_, until)| now < *until);
            if cache.len() >= MAX_CACHED {
                cache.clear();
            }
        }
        cache.insert(jti.to_owned(), (active, until));
    }

    /// RFC 7662 §2.1–2.2: POST the token, read `active`. Anything else than a 200 with a
    /// boolean `active` fails closed.
    async fn ask(&self, token: &str) -> Result<bool, VerifyError> {
        let client = self
            .client
            .as_ref()
            .ok_or(VerifyError::IntrospectionUnavailable)?;
        let response = client
            .post(&self.endpoint)
            .header(AUTHORIZATION, &self.authorization)
            .header(ACCEPT, "application/json")
            .form(&[("token", token), ("token_type_hint", "access_token")])
            .send()
            .await
            .map_err(|e| unavailable(&e.to_string()))?;
        if response.status() != StatusCode::OK {
            return Err(unavailable(&format!("answered {}", response.status())));
        }
        let body = crate::http::body(response)
            .await
            .map_err(|e| unavailable(&e.to_string()))?;
        let answer: serde_json::Value =
            serde_json::from_slice(&body).map_err(|_| unavailable("not JSON"))?;
        answer
            .get("active")
            .and_then(serde_json::Value::as_bool)
            .ok_or_else(|| unavailable("no boolean active member"))
    }
}

fn verdict(active: bool) -> Result<(), VerifyError> {
    if active {
        Ok(())
    } else {
        Err(VerifyError::Revoked)
    }
}

fn unavailable(why: &str) -> VerifyError {
    tracing::warn!(
        error = why,
        "authd-verify: introspection failed; refusing the token"
    );
    VerifyError::IntrospectionUnavailable
}
