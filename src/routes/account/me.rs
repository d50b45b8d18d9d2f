//! `GET /account/v1/me` (admin-api.md §3): the caller's own user.

use actix_web::{web, HttpResponse};
use chrono::SecondsFormat;
use serde::Serialize;
use uuid::Uuid;

use super::auth::AccountCaller;
use crate::routes::problem::Problem;
use crate::startup::AppState;
use crate::store::User;

/// `GET /account/v1/me` → the user representation without `disabled` and without
/// timestamps but `created_at`.
#[utoipa::path(
    get,
    path = "/account/v1/me",
    tag = "account",
    responses((status = 200, description = "The caller's own user", body = AccountView))
)]
pub async fn get(
    caller: AccountCaller,
    state: web::Data<AppState>,
) -> Result<HttpResponse, Problem> {
    // A deleted user's sessions were revoked with it: only a race gets here.
    let user = state
        .accounts
        .user(caller.user_id)
        .await?
        .ok_or_else(|| Problem::unauthorized(true))?;
    Ok(HttpResponse::Ok().json(AccountView::of(&user)))
}

/// The account representation: absent optional members omitted, never `null`; never a
/// hash.
#[derive(Serialize, utoipa::ToSchema)]
#[schema(as = Account)]
pub struct AccountView<'a> {
    id: Uuid,
    username: &'a str,
    roles: &'a [String],
    #[serde(skip_serializing_if = "Option::is_none")]
    email: Option<&'a str>,
    email_verified: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    name: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    given_name: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    family_name: Option<&'a str>,
    created_at: String,
}

impl<'a> AccountView<'a> {
    pub fn of(user: &'a User) -> Self {
        Self {
            id: user.id,
            username: &user.username,
            roles: &user.roles,
            email: user.email.as_deref(),
            email_verified: user.email_verified,
            name: user.name.as_deref(),
            given_name: user.given_name.as_deref(),
            family_name: user.family_name.as_deref(),
            created_at: user.created_at.to_rfc3339_opts(SecondsFormat::Secs, true),
        }
    }
}
