//! A user's sessions at `/admin/v1` (admin-api.md §2): list them, end them all, end one
//! by `sid` (its access tokens die at once). Audited as `session_revoked` with the
//! calling client.

use actix_web::{web, HttpResponse};
use chrono::{DateTime, SecondsFormat, Utc};
use serde::Serialize;
use uuid::Uuid;

use super::auth::AdminCaller;
use super::scope;
use crate::accounts::sessions::Session;
use crate::accounts::Actor;
use crate::routes::problem::Problem;
use crate::startup::AppState;

/// `GET /admin/v1/users/{id}/sessions` → `{"items": [...]}`, live sessions only, newest
/// first (scope `admin:users:read`); an unknown user is `404`.
#[utoipa::path(
    get,
    path = "/admin/v1/users/{id}/sessions",
    tag = "sessions",
    params(("id" = String, Path, description = "The user's id (a UUID)")),
    responses(
        (status = 200, description = "The user's live sessions, newest first", body = SessionList),
    )
)]
pub async fn list(
    caller: AdminCaller,
    id: web::Path<String>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, Problem> {
    caller.require(scope::USERS_READ)?;
    let id = Uuid::parse_str(&id).map_err(|_| Problem::not_found())?;
    let sessions = state.accounts.sessions(id, Utc::now()).await?;
    Ok(HttpResponse::Ok().json(SessionList::new(&sessions, None)))
}

/// `DELETE /admin/v1/users/{id}/sessions` → `204`, every session of the user ended
/// (scope `admin:users:write`); an unknown user is `404`.
#[utoipa::path(
    delete,
    path = "/admin/v1/users/{id}/sessions",
    tag = "sessions",
    params(("id" = String, Path, description = "The user's id (a UUID)")),
    responses(
        (status = 204, description = "Every session of the user ended, with its access tokens"),
    )
)]
pub async fn end_all(
    caller: AdminCaller,
    id: web::Path<String>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, Problem> {
    caller.require(scope::USERS_WRITE)?;
    let id = Uuid::parse_str(&id).map_err(|_| Problem::not_found())?;
    let actor = Actor::Client(caller.client_id);
    state
        .accounts
        .end_sessions(&actor, id, None, Utc::now())
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// `DELETE /admin/v1/sessions/{sid}` → `204` (scope `admin:users:write`); an unknown or
/// already ended session is `404`.
#[utoipa::path(
    delete,
    path = "/admin/v1/sessions/{sid}",
    tag = "sessions",
    params(("sid" = String, Path, description = "The session's id (the `sid` claim)")),
    responses(
        (status = 204, description = "The session ended, with its access tokens"),
    )
)]
pub async fn end(
    caller: AdminCaller,
    sid: web::Path<String>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, Problem> {
    caller.require(scope::USERS_WRITE)?;
    let sid = Uuid::parse_str(&sid).map_err(|_| Problem::not_found())?;
    let actor = Actor::Client(caller.client_id);
    state
        .accounts
        .end_session(&actor, sid, None, Utc::now())
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// `{"items": [...]}` of both APIs' session lists.
#[derive(Serialize, utoipa::ToSchema)]
#[schema(as = SessionList)]
pub struct SessionList<'a> {
    items: Vec<SessionView<'a>>,
}

impl<'a> SessionList<'a> {
    /// With `current`, the session of that sid is marked `"current": true` and the
    /// others `false` (the account API); without, no member says (the admin API).
    pub fn new(sessions: &'a [Session], current: Option<Uuid>) -> Self {
        let items = sessions
            .iter()
            .map(|s| SessionView {
                sid: s.sid,
                client_id: &s.client_id,
                scope: &s.scope,
                created_at: timestamp(s.created_at),
                last_used_at: timestamp(s.last_used_at),
                expires_at: timestamp(s.expires_at),
                current: current.map(|sid| sid == s.sid),
            })
            .collect();
        Self { items }
    }
}

/// One session (admin-api.md §2): `{"sid", "client_id", "scope", "created_at",
/// "last_used_at", "expires_at"}`.
#[derive(Serialize, utoipa::ToSchema)]
#[schema(as = Session)]
struct SessionView<'a> {
    sid: Uuid,
    client_id: &'a str,
    scope: &'a str,
    created_at: String,
    last_used_at: String,
    expires_at: String,
    /// The account API only: whether this is the calling session.
    #[serde(skip_serializing_if = "Option::is_none")]
    current: Option<bool>,
}

/// RFC 3339 in UTC (admin-api.md §1).
fn timestamp(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Secs, true)
}
