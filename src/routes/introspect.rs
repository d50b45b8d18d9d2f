//! `POST /auth/introspect` (RFC 7662, spec §3): a resource server, authenticated as a
//! confidential client, asks whether an access token is live and what it carries.

use actix_web::{web, HttpRequest, HttpResponse};
use chrono::Utc;
use serde::Serialize;

use super::body::{read_params, BodyKind};
use super::client_auth;
use crate::error::OAuthError;
use crate::startup::AppState;
use crate::tokens::AccessClaims;

/// RFC 7662 §2.2. Every field but `active` is omitted for an inactive token.
#[derive(Serialize)]
struct Introspection {
    active: bool,
    #[serde(flatten, skip_serializing_if = "Option::is_none")]
    token: Option<Live>,
}

#[derive(Serialize)]
struct Live {
    sub: String,
    client_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    scope: Option<String>,
    exp: i64,
    iat: i64,
    iss: String,
    aud: Vec<String>,
    jti: String,
    token_type: &'static str,
}

impl From<AccessClaims> for Live {
    fn from(c: AccessClaims) -> Self {
        Self {
            sub: c.sub,
            client_id: c.client_id,
            scope: c.scope,
            exp: c.exp,
            iat: c.iat,
            iss: c.iss,
            aud: c.aud,
            jti: c.jti,
            token_type: "Bearer",
        }
    }
}

pub async fn introspect(
    req: HttpRequest,
    payload: web::Payload,
    state: web::Data<AppState>,
) -> Result<HttpResponse, OAuthError> {
    let mut params = read_params(&req, payload).await?;
    if params.kind != BodyKind::Form {
        // RFC 7662 §2.1: application/x-www-form-urlencoded.
        return Err(OAuthError::unsupported_media_type());
    }
    let client = client_auth::authenticate(&req, &mut params, &state).await?;
    if !client.is_confidential() {
        // Spec §3: only registered confidential clients may introspect.
        return Err(OAuthError::invalid_client(
            "introspection requires an authenticated confidential client",
        ));
    }
    let token = params.require("token")?;
    // token_type_hint is only a hint (RFC 7662 §2.1): only access tokens can be active.
    params.take("token_type_hint");
    let live = state.sessions.introspect(&token, Utc::now()).await?;
    tracing::debug!(client_id = %client.id, active = live.is_some(), "token introspected");
    Ok(HttpResponse::Ok().json(Introspection {
        active: live.is_some(),
        token: live.map(Live::from),
    }))
}
