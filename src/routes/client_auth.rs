//! Client authentication at the token, revoke and introspect endpoints (RFC 6749 §2.3.1):
//! `client_secret_basic`, `client_secret_post`, or a public client's bare `client_id`.
//! Only extraction lives here; whether the credentials are right is `Clients`' call.

use std::sync::Arc;

use actix_web::http::header::AUTHORIZATION;
use actix_web::HttpRequest;
use base64::engine::general_purpose::STANDARD;
use base64::Engine;

use super::body::Params;
use crate::clients::{Client, Presented};
use crate::domain::{ClientId, ClientSecret};
use crate::error::OAuthError;
use crate::startup::AppState;

/// The client a request authenticates as (the default client when it names none).
pub async fn authenticate(
    req: &HttpRequest,
    params: &mut Params,
    state: &AppState,
) -> Result<Arc<Client>, OAuthError> {
    let presented = presented(req, params)?;
    Ok(state
        .clients
        .authenticate(presented, chrono::Utc::now())
        .await?)
}

/// How the request identifies its client: HTTP Basic, or `client_id` (with
/// `client_secret` for `client_secret_post`) in the body. Using both methods at once is
/// refused (RFC 6749 §2.3).
pub fn presented(req: &HttpRequest, params: &mut Params) -> Result<Presented, OAuthError> {
    let basic = basic_credentials(req)?;
    let body_id = params
        .take("client_id")
        .map(|id| ClientId::parse(&id))
        .transpose()
        .map_err(|_| OAuthError::invalid_request("client_id is malformed"))?;
    let body_secret = params.take("client_secret");
    match (basic, body_id, body_secret) {
        (Some(_), _, Some(_)) => Err(OAuthError::invalid_request(
            "use only one client authentication method",
        )),
        (Some((id, _)), Some(body_id), None) if body_id != id => Err(OAuthError::invalid_request(
            "client_id does not match the authenticated client",
        )),
        (Some((id, secret)), _, None) => Ok(Presented::Secret(id, secret)),
        (None, Some(id), Some(secret)) => ClientSecret::parse(&secret)
            .map(|secret| Presented::Secret(id, secret))
            .ok_or_else(failed),
        // A secret for no named client: the default client is public and has none.
        (None, None, Some(_)) => Err(failed()),
        (None, Some(id), None) => Ok(Presented::Id(id)),
        (None, None, None) => Ok(Presented::Nothing),
    }
}

fn failed() -> OAuthError {
    OAuthError::invalid_client("client authentication failed")
}

/// `Authorization: Basic base64(id ":" secret)`, each part form-urlencoded first
/// (RFC 6749 §2.3.1). Any other `Authorization` header fails client authentication.
fn basic_credentials(req: &HttpRequest) -> Result<Option<(ClientId, ClientSecret)>, OAuthError> {
    let mut values = req.headers().get_all(AUTHORIZATION);
    let Some(value) = values.next() else {
        return Ok(None);
    };
    if values.next().is_some() {
        return Err(failed());
    }
    let value = value.to_str().map_err(|_| failed())?;
    let (scheme, encoded) = value.trim().split_once(' ').ok_or_else(failed)?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return Err(failed());
    }
    let decoded = STANDARD.decode(encoded.trim()).map_err(|_| failed())?;
    let decoded = String::from_utf8(decoded).map_err(|_| failed())?;
    let (id, secret) = decoded.split_once(':').ok_or_else(failed)?;
    let id = ClientId::parse(&form_decode(id)?).map_err(|_| failed())?;
    let secret = ClientSecret::parse(&form_decode(secret)?).ok_or_else(failed)?;
    Ok(Some((id, secret)))
}

/// `application/x-www-form-urlencoded` decoding of one value: `+` is a space.
fn form_decode(raw: &str) -> Result<String, OAuthError> {
    let spaced = raw.replace('+', " ");
    percent_encoding::percent_decode_str(&spaced)
        .decode_utf8()
        .map(|s| s.into_owned())
        .map_err(|_| failed())
}
