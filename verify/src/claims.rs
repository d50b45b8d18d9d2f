//! `Claims`: the verified claim set of an authd access token (RFC 9068 §2.2 plus authd's
//! `sid`, `roles` and `scope`), typed, with the raw JSON object beside it for anything
//! else.

use std::collections::BTreeSet;

use serde_json::{Map, Value};

use crate::error::VerifyError;

/// The claims of a token that passed every check.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct Claims {
    /// `iss`: the issuer, equal to the configured one.
    pub iss: String,
    /// `sub`: the user id, or the client id for a client-credentials token.
    pub sub: String,
    /// `client_id`: the OAuth client the token was issued to (RFC 9068 §2.2).
    pub client_id: String,
    /// `scope`: the granted scopes, as a set (RFC 8693 §4.2: space-separated).
    pub scope: BTreeSet<String>,
    /// `roles`: authd's role names for the user (empty when absent).
    pub roles: Vec<String>,
    /// `sid`: the login session, absent on client-credentials tokens.
    pub sid: Option<String>,
    /// `jti`: the token's unique id.
    pub jti: String,
    /// `exp`: expiry, NumericDate seconds.
    pub exp: i64,
    /// `iat`: issue time, NumericDate seconds.
    pub iat: i64,
    /// `aud`: the audiences, one of which is this service's.
    pub aud: Vec<String>,
    /// The whole claim set as received.
    pub raw: Map<String, Value>,
}

impl Claims {
    /// Whether `scope` was granted.
    pub fn has_scope(&self, scope: &str) -> bool {
        self.scope.contains(scope)
    }

    /// Whether the user has `role`.
    pub fn has_role(&self, role: &str) -> bool {
        self.roles.iter().any(|r| r == role)
    }

    /// `Err(InsufficientScope)` naming the first of `scopes` not granted.
    pub fn require_scopes<'a>(
        &self,
        scopes: impl IntoIterator<Item = &'a str>,
    ) -> Result<(), VerifyError> {
        match scopes.into_iter().find(|s| !self.has_scope(s)) {
            Some(missing) => Err(VerifyError::InsufficientScope(missing.to_owned())),
            None => Ok(()),
        }
    }
}

/// The claim checks of verifier.md §1 after the signature, in its order: `iss`, `aud`,
/// `exp`, `nbf`/`iat`, then the presence of `sub`, `client_id`, `jti`, `iat`.
pub(crate) struct ClaimRules<'a> {
    pub(crate) issuer: &'a str,
    pub(crate) audiences: &'a [String],
    pub(crate) leeway: i64,
    pub(crate) max_lifetime: i64,
}

impl ClaimRules<'_> {
    pub(crate) fn check(&self, raw: Map<String, Value>, now: i64) -> Result<Claims, VerifyError> {
        let iss = string(&raw, "iss")?;
        if iss != self.issuer {
            return Err(VerifyError::WrongIssuer);
        }
        let aud = audience(&raw)?;
        if self.audiences.is_empty() {
            return Err(VerifyError::NoAudienceConfigured);
        }
        if !aud.iter().any(|a| self.audiences.contains(a)) {
            return Err(VerifyError::WrongAudience);
        }
        // RFC 7519 §4.1.4: the current time MUST be before exp; a small leeway allowed.
        let exp = numeric_date(&raw, "exp")?.ok_or(VerifyError::MissingClaim("exp"))?;
        if now >= exp.saturating_add(self.leeway) {
            return Err(VerifyError::Expired);
        }
        let not_after_now = now.saturating_add(self.leeway);
        let nbf = numeric_date(&raw, "nbf")?;
        let iat = numeric_date(&raw, "iat")?;
        if nbf.is_some_and(|t| t > not_after_now) || iat.is_some_and(|t| t > not_after_now) {
            return Err(VerifyError::NotYetValid);
        }
        let sub = string(&raw, "sub")?;
        let client_id = string(&raw, "client_id")?;
        let jti = string(&raw, "jti")?;
        let iat = iat.ok_or(VerifyError::MissingClaim("iat"))?;
        if exp.saturating_sub(iat) > self.max_lifetime {
            return Err(VerifyError::LifetimeTooLong);
        }
        let scope = match raw.get("scope") {
            None => BTreeSet::new(),
            Some(Value::String(s)) => s
                .split(' ')
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
                .collect(),
            Some(_) => return Err(VerifyError::InvalidClaim("scope")),
        };
        let roles = match raw.get("roles") {
            None => Vec::new(),
            Some(value) => strings(value).ok_or(VerifyError::InvalidClaim("roles"))?,
        };
        let sid = match raw.get("sid") {
            None => None,
            Some(Value::String(s)) => Some(s.clone()),
            Some(_) => return Err(VerifyError::InvalidClaim("sid")),
        };
        Ok(Claims {
            iss,
            sub,
            client_id,
            scope,
            roles,
            sid,
            jti,
            exp,
            iat,
            aud,
            raw,
        })
    }
}

/// A required, non-empty string claim.
fn string(raw: &Map<String, Value>, name: &'static str) -> Result<String, VerifyError> {
    match raw.get(name) {
        None => Err(VerifyError::MissingClaim(name)),
        Some(Value::String(s)) if !s.is_empty() => Ok(s.clone()),
        Some(_) => Err(VerifyError::InvalidClaim(name)),
    }
}

/// RFC 7519 §4.1.3: a string or an array of strings.
fn audience(raw: &Map<String, Value>) -> Result<Vec<String>, VerifyError> {
    match raw.get("aud") {
        None => Err(VerifyError::MissingClaim("aud")),
        Some(Value::String(s)) => Ok(vec![s.clone()]),
        Some(value) => strings(value).ok_or(VerifyError::InvalidClaim("aud")),
    }
}

fn strings(value: &Value) -> Option<Vec<String>> {
    value
        .as_array()?
        .iter()
        .map(|v| v.as_str().map(str::to_owned))
        .collect()
}

/// A NumericDate (RFC 7519 §2) as whole seconds. authd writes integers; a fraction, a
/// string or an out-of-range number is refused rather than rounded.
fn numeric_date(raw: &Map<String, Value>, name: &'static str) -> Result<Option<i64>, VerifyError> {
    match raw.get(name) {
        None => Ok(None),
        Some(value) => value
            .as_i64()
            .map(Some)
            .ok_or(VerifyError::InvalidClaim(name)),
    }
}
