//! Access-token validation per spec §4. The algorithm comes from our key for the
//! token's `kid`, never from the header alone; `jku`/`x5u`/`jwk`/`x5c` are never used to
//! find a key; time is an argument. The audience needs the client registry and the
//! revocation check needs the cache: `Sessions::verify_access` does both after this.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde::Deserialize;

use super::{AccessClaims, ACCESS_TOKEN_TYP};
use crate::json;
use crate::keys::SharedKeyRing;

/// Tokens longer than this are rejected before any parsing (spec §4).
pub const MAX_TOKEN_BYTES: usize = 8192;

/// Why a token was refused. Only the short description reaches the client.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rejection {
    TooLarge,
    Malformed,
    UnknownKey,
    WrongAlgorithm,
    WrongType,
    CriticalHeader,
    BadSignature,
    Expired,
    NotYetValid,
    WrongIssuer,
    WrongAudience,
    Lifetime,
}

impl Rejection {
    pub fn description(self) -> &'static str {
        match self {
            Self::TooLarge => "token is too large",
            Self::Expired => "token expired",
            Self::NotYetValid => "token is not valid yet",
            Self::WrongIssuer | Self::WrongAudience => "token is not for this server",
            Self::Malformed
            | Self::UnknownKey
            | Self::WrongAlgorithm
            | Self::WrongType
            | Self::CriticalHeader
            | Self::BadSignature
            | Self::Lifetime => "token is invalid",
        }
    }
}

/// The JOSE header members we read. Others (`jku`, `x5u`, `jwk`, `x5c`, ...) are ignored.
#[derive(Deserialize)]
struct JoseHeader {
    alg: String,
    kid: Option<String>,
    typ: Option<String>,
    crit: Option<serde_json::Value>,
}

#[derive(Clone)]
pub struct Validator {
    issuer: String,
    leeway: i64,
    max_lifetime: i64,
    keys: SharedKeyRing,
}

impl Validator {
    /// `max_lifetime`: the access TTL; a longer `exp - iat` is not one of ours. The
    /// audience is checked by the caller, against the token's client (`Sessions`).
    pub fn new(
        issuer: String,
        leeway_secs: i64,
        max_lifetime_secs: i64,
        keys: SharedKeyRing,
    ) -> Self {
        Self {
            issuer,
            leeway: leeway_secs,
            max_lifetime: max_lifetime_secs,
            keys,
        }
    }

    /// The clock-skew leeway applied to `exp`.
    pub fn leeway(&self) -> chrono::Duration {
        chrono::Duration::seconds(self.leeway)
    }

    /// Validates a compact JWS access token at time `now` (Unix seconds).
    pub fn validate(&self, token: &str, now: i64) -> Result<AccessClaims, Rejection> {
        if token.len() > MAX_TOKEN_BYTES {
            return Err(Rejection::TooLarge);
        }
        let mut parts = token.split('.');
        let (Some(header_b64), Some(payload_b64), Some(signature_b64), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(Rejection::Malformed);
        };
        if ![header_b64, payload_b64, signature_b64]
            .iter()
            .all(|s| is_base64url(s))
        {
            return Err(Rejection::Malformed);
        }

        let header: JoseHeader = decode_json(header_b64)?;
        if header.crit.is_some() {
            // We implement no JWS extensions, so every critical one is unknown (RFC 7515 §4.1.11).
            return Err(Rejection::CriticalHeader);
        }
        let typ_ok = header.typ.as_deref().is_some_and(|typ| {
            typ.eq_ignore_ascii_case(ACCESS_TOKEN_TYP)
                || typ.eq_ignore_ascii_case(&format!("application/{ACCESS_TOKEN_TYP}"))
        });
        if !typ_ok {
            return Err(Rejection::WrongType);
        }
        let ring = self.keys.current();
        let key = header
            .kid
            .as_deref()
            .and_then(|kid| ring.verifier(kid))
            .ok_or(Rejection::UnknownKey)?;
        if header.alg != key.alg.as_str() {
            return Err(Rejection::WrongAlgorithm);
        }
        let signed = &token[..header_b64.len() + 1 + payload_b64.len()];
        match jsonwebtoken::crypto::verify(
            signature_b64,
            signed.as_bytes(),
            &key.decoding,
            key.alg.jwt(),
        ) {
            Ok(true) => {}
            _ => return Err(Rejection::BadSignature),
        }

        let claims: AccessClaims = decode_json(payload_b64)?;
        if claims.iss != self.issuer {
            return Err(Rejection::WrongIssuer);
        }
        if claims.sub.is_empty() || claims.jti.is_empty() {
            return Err(Rejection::Malformed);
        }
        if now >= claims.exp.saturating_add(self.leeway) {
            return Err(Rejection::Expired);
        }
        if claims.nbf > now.saturating_add(self.leeway)
            || claims.iat > now.saturating_add(self.leeway)
        {
            return Err(Rejection::NotYetValid);
        }
        // An `exp` far beyond what we issue (e.g. milliseconds) is not one of our tokens.
        if claims.exp.saturating_sub(claims.iat) > self.max_lifetime
            || claims.exp > now.saturating_add(self.max_lifetime + self.leeway)
        {
            return Err(Rejection::Lifetime);
        }
        Ok(claims)
    }
}

fn is_base64url(segment: &str) -> bool {
    !segment.is_empty()
        && segment
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

fn decode_json<T: serde::de::DeserializeOwned>(segment: &str) -> Result<T, Rejection> {
    let bytes = URL_SAFE_NO_PAD
        .decode(segment)
        .map_err(|_| Rejection::Malformed)?;
    json::from_slice(&bytes).map_err(|_| Rejection::Malformed)
}
