//! The caller's own sessions at `/account/v1/sessions` (admin-api.md §3).

use actix_web::{web, HttpRequest, HttpResponse};
use chrono::Utc;
use uuid::Uuid;

use super::auth::AccountCaller;
use crate::accounts::AccountError;
use crate::routes::admin::sessions::SessionList;
use crate::routes::problem::{FieldError, Problem};
use crate::startup::AppState;

/// `GET /account/v1/sessions` → `{"items": [...]}`, the calling one `"current": true`.
#[utoipa::path(
    get,
    path = "/account/v1/sessions",
    tag = "account",
    responses((status = 200, description = "The caller's live sessions, newest first", body = SessionList))
)]
pub async fn list(
    caller: AccountCaller,
    state: web::Data<AppState>,
) -> Result<HttpResponse, Problem> {
    let sessions = state.accounts.sessions(caller.user_id, Utc::now()).await?;
    Ok(HttpResponse::Ok().json(SessionList::new(&sessions, Some(caller.sid))))
}

/// `DELETE /account/v1/sessions/{sid}` → `204` whatever the sid: one of the caller's
/// live sessions ends; anything else is left alone, and nothing says whether it exists.
#[utoipa::path(
    delete,
    path = "/account/v1/sessions/{sid}",
    tag = "account",
    params(("sid" = String, Path, description = "A session id; one not the caller's is left alone")),
    responses((status = 204, description = "The caller's session of that id, if any, ended"))
)]
pub async fn end(
    caller: AccountCaller,
    sid: web::Path<String>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, Problem> {
    if let Ok(sid) = Uuid::parse_str(&sid) {
        match state
            .accounts
            .end_session(&caller.actor, sid, Some(caller.user_id), Utc::now())
            .await
        {
            Ok(_) | Err(AccountError::NoSuchSession) => {}
            Err(e) => return Err(e.into()),
        }
    }
    Ok(HttpResponse::NoContent().finish())
}

/// `DELETE /account/v1/sessions?scope=others` → `204`, every session but the calling one
/// ended. Any other query is `400`: ending every session is logout's job.
#[utoipa::path(
    delete,
    path = "/account/v1/sessions",
    tag = "account",
    params(("scope" = String, Query, description = "Must be `others`")),
    responses((status = 204, description = "Every session but the calling one ended"))
)]
pub async fn end_others(
    caller: AccountCaller,
    req: HttpRequest,
    state: web::Data<AppState>,
) -> Result<HttpResponse, Problem> {
    let params: Vec<(String, String)> = form_urlencoded::parse(req.query_string().as_bytes())
        .into_owned()
        .collect();
    if !matches!(params.as_slice(), [(name, value)] if name == "scope" && value == "others") {
        return Err(Problem::invalid_fields(vec![FieldError::new(
            "scope",
            "the query must be scope=others",
        )]));
    }
    state
        .accounts
        .end_sessions(&caller.actor, caller.user_id, Some(caller.sid), Utc::now())
        .await?;
    Ok(HttpResponse::NoContent().finish())
}
