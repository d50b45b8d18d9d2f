//! `POST /auth/logout` (spec §3): ends the bearer token's family and the token itself.

use actix_web::{web, HttpRequest, HttpResponse};
use chrono::Utc;

use super::{authorize, source_address};
use crate::error::OAuthError;
use crate::startup::AppState;

pub async fn logout(
    req: HttpRequest,
    state: web::Data<AppState>,
) -> Result<HttpResponse, OAuthError> {
    let now = Utc::now();
    let claims = authorize(&req, &state, now).await?;
    let source = source_address(&req, &state.trusted_proxies);
    state.sessions.logout(&claims, source, now).await?;
    Ok(HttpResponse::NoContent().finish())
}
