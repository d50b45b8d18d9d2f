//! `GET|POST /auth/userinfo` (spec §3): who the bearer of a valid access token is.

use actix_web::http::header::{self, HeaderValue};
use actix_web::{web, HttpRequest, HttpResponse};
use chrono::Utc;
use serde::Serialize;
use uuid::Uuid;

use super::authorize;
use crate::error::OAuthError;
use crate::startup::AppState;

#[derive(Serialize)]
struct UserInfo<'a> {
    sub: String,
    preferred_username: &'a str,
    roles: &'a [String],
}

pub async fn userinfo(
    req: HttpRequest,
    state: web::Data<AppState>,
) -> Result<HttpResponse, OAuthError> {
    let claims = authorize(&req, &state, Utc::now()).await?;
    if claims.sid.is_none() {
        // A client_credentials token names a client, not a user.
        return Err(OAuthError::insufficient_scope(
            "the token does not belong to a user",
        ));
    }
    let id =
        Uuid::parse_str(&claims.sub).map_err(|_| OAuthError::invalid_token("token is invalid"))?;
    let user = match state.users.get(id).await? {
        Some(user) if !user.disabled => user,
        _ => return Err(OAuthError::invalid_token("token is invalid")),
    };
    Ok(HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, HeaderValue::from_static("no-store")))
        .json(UserInfo {
            sub: claims.sub,
            preferred_username: &user.username,
            roles: &user.roles,
        }))
}
