//! `POST /auth/revoke` (RFC 7009): a refresh token revokes its family, an access token
//! its `jti`. Unknown or foreign tokens are ignored: the answer is 200 either way.

use actix_web::{web, HttpRequest, HttpResponse};
use chrono::Utc;

use super::body::{read_params, BodyKind};
use super::{client_auth, source_address};
use crate::error::OAuthError;
use crate::startup::AppState;

pub async fn revoke(
    req: HttpRequest,
    payload: web::Payload,
    state: web::Data<AppState>,
) -> Result<HttpResponse, OAuthError> {
    let mut params = read_params(&req, payload).await?;
    if params.kind != BodyKind::Form {
        // RFC 7009 §2.1: application/x-www-form-urlencoded.
        return Err(OAuthError::unsupported_media_type());
    }
    let client = client_auth::authenticate(&req, &mut params, &state).await?;
    let token = params.require("token")?;
    // token_type_hint is only a hint (RFC 7009 §2.1); both kinds are recognized anyway.
    params.take("token_type_hint");
    let source = source_address(&req, &state.trusted_proxies);
    state
        .sessions
        .revoke(&token, &client, source, Utc::now())
        .await?;
    Ok(HttpResponse::Ok().finish())
}
