//! HTTP only: extract, parse, call one service, shape the response.
//! Routes know nothing about SQL or crypto.

pub mod account;
pub mod admin;
pub mod body;
pub mod client_auth;
pub mod health;
pub mod idempotency;
pub mod introspect;
pub mod logout;
pub mod openapi;
pub mod openapi_rules;
pub mod problem;
pub mod revoke;
pub mod token;
pub mod userinfo;
pub mod well_known;

use std::net::IpAddr;

use actix_web::http::header::AUTHORIZATION;
use actix_web::HttpRequest;
use chrono::{DateTime, Utc};

use crate::error::OAuthError;
use crate::startup::AppState;
use crate::tokens::AccessClaims;

/// The validated, unrevoked claims of the request's bearer token (spec §4), or the
/// RFC 6750 error to answer with.
pub async fn authorize(
    req: &HttpRequest,
    state: &AppState,
    now: DateTime<Utc>,
) -> Result<AccessClaims, OAuthError> {
    let token = bearer_token(req)?;
    Ok(state.sessions.verify_access(token, now).await?)
}

/// The client's address (for login throttling): the peer, or, when the peer is a
/// trusted proxy (`server.trusted_proxies`), the nearest address in `X-Forwarded-For`
/// that is not itself a trusted proxy. A header from anyone else is ignored, so a client
/// cannot pick the address it is counted under.
pub fn source_address(req: &HttpRequest, trusted: &[IpAddr]) -> IpAddr {
    let peer = req
        .peer_addr()
        .map_or(IpAddr::from([0, 0, 0, 0]), |a| a.ip());
    if !trusted.contains(&peer) {
        return peer;
    }
    let hops: Vec<IpAddr> = req
        .headers()
        .get_all("x-forwarded-for")
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(|hop| hop.trim().parse::<IpAddr>())
        .collect::<Result<_, _>>()
        .unwrap_or_default();
    hops.into_iter()
        .rev()
        .find(|hop| !trusted.contains(hop))
        .unwrap_or(peer)
}

/// The bearer token of the `Authorization` header (RFC 6750 §2.1; the scheme name is
/// case-insensitive). Anything else is a 401 `invalid_token`.
pub fn bearer_token(req: &HttpRequest) -> Result<&str, OAuthError> {
    let mut values = req.headers().get_all(AUTHORIZATION);
    let (Some(value), None) = (values.next(), values.next()) else {
        return Err(OAuthError::invalid_token(
            "a single bearer token is required",
        ));
    };
    let value = value
        .to_str()
        .map_err(|_| OAuthError::invalid_token("token is invalid"))?;
    match value.split_once(' ') {
        Some((scheme, token))
            if scheme.eq_ignore_ascii_case("bearer") && !token.trim().is_empty() =>
        {
            Ok(token.trim())
        }
        _ => Err(OAuthError::invalid_token(
            "a single bearer token is required",
        )),
    }
}
