//! `TokenIssuer` mints every access token, whatever the grant.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use jsonwebtoken::Header;
use uuid::Uuid;

use super::{AccessClaims, ACCESS_TOKEN_TYP};
use crate::domain::Scopes;
use crate::keys::{KeyError, KeyPair, SharedKeyRing};

/// Who a token is for and what it carries; the issuer adds the rest.
pub struct AccessGrant<'a> {
    pub subject: String,
    pub client_id: &'a str,
    pub audience: &'a [String],
    pub scopes: &'a Scopes,
    pub sid: Option<String>,
    pub roles: Vec<String>,
}

pub struct IssuedToken {
    pub token: String,
    pub claims: AccessClaims,
    pub kid: String,
}

#[derive(Clone)]
pub struct TokenIssuer {
    issuer: String,
    access_ttl: i64,
    keys: SharedKeyRing,
}

impl TokenIssuer {
    pub fn new(issuer: String, access_ttl_secs: i64, keys: SharedKeyRing) -> Self {
        Self {
            issuer,
            access_ttl: access_ttl_secs,
            keys,
        }
    }

    pub fn access_ttl(&self) -> i64 {
        self.access_ttl
    }

    /// Signs an access token with the active key. `now` is Unix seconds.
    pub fn issue(&self, grant: AccessGrant<'_>, now: i64) -> Result<IssuedToken, KeyError> {
        let ring = self.keys.current();
        let key = ring.signer();
        let claims = AccessClaims {
            iss: self.issuer.clone(),
            sub: grant.subject,
            aud: grant.audience.to_vec(),
            exp: now + self.access_ttl,
            iat: now,
            nbf: now,
            // UUIDv4: 122 random bits from the OS CSPRNG.
            jti: Uuid::new_v4().to_string(),
            client_id: grant.client_id.to_owned(),
            scope: grant.scopes.to_claim(),
            sid: grant.sid,
            roles: grant.roles,
        };
        let token = sign(key, &claims)?;
        Ok(IssuedToken {
            token,
            claims,
            kid: key.kid.as_str().to_owned(),
        })
    }
}

/// The compact JWS (RFC 7515 §7.1): base64url(header) "." base64url(claims) "."
/// base64url(signature over the first two parts), as jsonwebtoken's `encode` builds it,
/// signed by the key parsed once at load.
fn sign(key: &KeyPair, claims: &AccessClaims) -> Result<String, KeyError> {
    let mut header = Header::new(key.alg.jwt());
    header.typ = Some(ACCESS_TOKEN_TYP.to_owned());
    header.kid = Some(key.kid.as_str().to_owned());
    let json = |value: Result<Vec<u8>, serde_json::Error>| {
        value.map_err(|e| KeyError::Crypto(format!("cannot serialize the token: {e}")))
    };
    let mut token = URL_SAFE_NO_PAD.encode(json(serde_json::to_vec(&header))?);
    token.push('.');
    URL_SAFE_NO_PAD.encode_string(json(serde_json::to_vec(claims))?, &mut token);
    let signature = key.signer.sign(token.as_bytes())?;
    token.push('.');
    URL_SAFE_NO_PAD.encode_string(signature, &mut token);
    Ok(token)
}
