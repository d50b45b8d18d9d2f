//! RFC 6750 for the extractors: reading `Authorization: Bearer` (§2.1) and shaping
//! refusals (§3): `401` with `WWW-Authenticate: Bearer error="invalid_token"`, `403` with
//! `error="insufficient_scope"`, `400 invalid_request` for an ambiguous request, and
//! `503` when the verifier cannot decide (keys or introspection unreachable): the token
//! may be fine, so it is not called invalid, but it is not accepted either.

use crate::error::VerifyError;

/// An HTTP refusal, framework-neutral.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Refusal {
    pub(crate) status: u16,
    /// The `WWW-Authenticate` value, if the status calls for one.
    pub(crate) challenge: Option<String>,
    /// The JSON body: `{"error": ..., "error_description": ...}`.
    pub(crate) body: String,
}

impl Refusal {
    /// No credentials (or another scheme): §3.1 says no error code then.
    pub(crate) fn missing() -> Self {
        Self {
            status: 401,
            challenge: Some("Bearer".to_owned()),
            body: body("invalid_token", "no bearer token"),
        }
    }

    /// The application forgot to provide the verifier: a server fault.
    #[cfg_attr(not(feature = "actix"), allow(dead_code))]
    pub(crate) fn misconfigured() -> Self {
        Self {
            status: 500,
            challenge: None,
            body: body("server_error", "no verifier configured"),
        }
    }

    fn invalid_request(description: &'static str) -> Self {
        Self {
            status: 400,
            challenge: Some(format!(
                "Bearer error=\"invalid_request\", error_description=\"{description}\""
            )),
            body: body("invalid_request", description),
        }
    }

    pub(crate) fn from_error(error: &VerifyError) -> Self {
        match error {
            VerifyError::InsufficientScope(scope) => {
                let scope = quoted_safe(scope);
                Self {
                    status: 403,
                    challenge: Some(format!(
                        "Bearer error=\"insufficient_scope\", error_description=\"the token lacks a required scope\", scope=\"{scope}\""
                    )),
                    body: body("insufficient_scope", "the token lacks a required scope"),
                }
            }
            e if e.is_unavailable() => Self {
                status: 503,
                challenge: None,
                body: body(
                    "temporarily_unavailable",
                    "the token cannot be verified now",
                ),
            },
            e => {
                // Coarse on purpose: which check failed is for the service's logs.
                let description = match e {
                    VerifyError::Expired => "the token expired",
                    VerifyError::WrongIssuer | VerifyError::WrongAudience => {
                        "the token is not for this service"
                    }
                    VerifyError::Revoked => "the token was revoked",
                    _ => "the token is invalid",
                };
                Self {
                    status: 401,
                    challenge: Some(format!(
                        "Bearer error=\"invalid_token\", error_description=\"{description}\""
                    )),
                    body: body("invalid_token", description),
                }
            }
        }
    }
}

/// Verifies `token` and checks that it grants every one of `scopes`.
pub(crate) async fn authorize(
    verifier: &crate::Verifier,
    token: &str,
    scopes: &[String],
) -> Result<crate::Claims, Refusal> {
    let refuse = |e: VerifyError| {
        tracing::debug!(kind = e.kind(), "authd-verify: bearer token refused");
        Refusal::from_error(&e)
    };
    let claims = verifier.verify(token).await.map_err(refuse)?;
    claims
        .require_scopes(scopes.iter().map(String::as_str))
        .map_err(refuse)?;
    Ok(claims)
}

/// The bearer token of a request, given its `Authorization` header values.
pub(crate) fn token<'a>(mut values: impl Iterator<Item = &'a [u8]>) -> Result<&'a str, Refusal> {
    let Some(value) = values.next() else {
        return Err(Refusal::missing());
    };
    // §3.1: more than one way (here: more than one header) to present a token.
    if values.next().is_some() {
        return Err(Refusal::invalid_request(
            "more than one Authorization header",
        ));
    }
    let value = std::str::from_utf8(value).map_err(|_| Refusal::missing())?;
    let Some((scheme, rest)) = value.split_once(' ') else {
        return Err(Refusal::missing());
    };
    // RFC 7235 §2.1: the scheme is case-insensitive.
    if !scheme.eq_ignore_ascii_case("bearer") {
        return Err(Refusal::missing());
    }
    let token = rest.trim_start_matches(' ');
    // §2.1: b64token = 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"="
    let well_formed = !token.is_empty()
        && token.trim_end_matches('=').bytes().all(|b| {
            b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~' | b'+' | b'/')
        });
    if !well_formed {
        return Err(Refusal::from_error(&VerifyError::Malformed));
    }
    Ok(token)
}

fn body(error: &str, description: &str) -> String {
    serde_json::json!({ "error": error, "error_description": description }).to_string()
}

/// A configured scope inside a quoted-string: `"` and `\` cannot appear in a scope token
/// (RFC 6749 §3.3) and are dropped if configured anyway.
fn quoted_safe(scope: &str) -> String {
    scope.chars().filter(|c| *c != '"' && *c != '\\').collect()
}

#[cfg(test)]
mod tests {
    use super::{token, Refusal};
    use crate::VerifyError;

    fn one(value: &str) -> Result<&str, Refusal> {
        token(std::iter::once(value.as_bytes()))
    }

    #[test]
    fn the_scheme_is_case_insensitive() {
        assert_eq!(one("Bearer abc.def.ghi"), Ok("abc.def.ghi"));
        assert_eq!(one("bearer abc"), Ok("abc"));
        assert_eq!(one("BEARER  abc"), Ok("abc"));
    }

    #[test]
    fn no_header_or_another_scheme_is_a_challenge_without_error_code() {
        assert_eq!(token(std::iter::empty()), Err(Refusal::missing()));
        assert_eq!(one("Basic dXNlcjpwYXNz"), Err(Refusal::missing()));
        assert_eq!(one("Bearer"), Err(Refusal::missing()));
    }

    #[test]
    fn a_token_outside_b64token_is_invalid() {
        assert_eq!(one("Bearer a b").unwrap_err().status, 401);
        assert_eq!(one("Bearer ").unwrap_err().status, 401);
        assert!(one("Bearer \"x\"")
            .unwrap_err()
            .challenge
            .unwrap()
            .contains("invalid_token"));
    }

    #[test]
    fn two_authorization_headers_are_an_invalid_request() {
        let values = ["Bearer a", "Bearer b"];
        let refusal = token(values.iter().map(|v| v.as_bytes())).unwrap_err();
        assert_eq!(refusal.status, 400);
    }

    #[test]
    fn refusals_follow_rfc_6750() {
        let r = Refusal::from_error(&VerifyError::Expired);
        assert_eq!(r.status, 401);
        assert!(r
            .challenge
            .unwrap()
            .starts_with("Bearer error=\"invalid_token\""));
        let r = Refusal::from_error(&VerifyError::InsufficientScope("orders:write".into()));
        assert_eq!(r.status, 403);
        assert!(r.challenge.unwrap().contains("scope=\"orders:write\""));
        let r = Refusal::from_error(&VerifyError::KeysStale);
        assert_eq!((r.status, r.challenge), (503, None));
    }
}
