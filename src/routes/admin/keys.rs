//! `/admin/v1/keys` (admin-api.md §2): the rows of `authd keys list`, a rotation as
//! `authd keys rotate`, an emergency removal as `authd keys remove`. Both doors call
//! `keys::operations`; this file only speaks HTTP.

use actix_web::{web, HttpRequest, HttpResponse};
use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::Value;

use super::auth::AdminCaller;
use super::{read_json_object, refuse_unknown_members, scope, timestamp};
use crate::accounts::Actor;
use crate::keys::operations::KeyListing;
use crate::keys::{Algorithm, Kid};
use crate::routes::problem::{FieldError, Problem};
use crate::startup::AppState;

/// `GET /admin/v1/keys` → `{"items": [...]}`, the ring oldest first (scope
/// `admin:keys:read`). The ring is a handful of keys: no pagination.
#[utoipa::path(
    get,
    path = "/admin/v1/keys",
    tag = "keys",
    responses((status = 200, description = "The signing keys, oldest first", body = Keys))
)]
pub async fn list(
    caller: AdminCaller,
    state: web::Data<AppState>,
) -> Result<HttpResponse, Problem> {
    caller.require(scope::KEYS_READ)?;
    let keys = state.key_ops.list().await?;
    let items: Vec<KeyView> = keys.iter().map(KeyView::of).collect();
    Ok(HttpResponse::Ok().json(Keys { items }))
}

/// `POST /admin/v1/keys/rotate {"alg"?, "now"?}` → `200` + the new key (scope
/// `admin:keys:write`): published at once, signing after `keys.prepublish`, or at once
/// with `"now": true`. A next key already waiting `409`. This instance reloads its ring
/// at once; the others within `keys.refresh_interval`.
#[utoipa::path(
    post,
    path = "/admin/v1/keys/rotate",
    tag = "keys",
    request_body(content = RotateBody, content_type = "application/json"),
    responses(
        (status = 200, description = "The new key", body = KeyView),
        (status = 400, description = "An unknown or invalid member", body = crate::routes::openapi::ProblemBody, content_type = "application/problem+json"),
        (status = 409, description = "A next key is already waiting", body = crate::routes::openapi::ProblemBody, content_type = "application/problem+json"),
    )
)]
pub async fn rotate(
    caller: AdminCaller,
    req: HttpRequest,
    payload: web::Payload,
    state: web::Data<AppState>,
) -> Result<HttpResponse, Problem> {
    caller.require(scope::KEYS_WRITE)?;
    let mut object = read_json_object(&req, payload).await?;
    refuse_unknown_members(&object, &["alg", "now"])?;
    let mut errors = Vec::new();
    let alg = match object.remove("alg") {
        None | Some(Value::Null) => None,
        Some(Value::String(raw)) => raw
            .parse::<Algorithm>()
            .map_err(|_| errors.push(FieldError::new("alg", "alg must be ES256 or RS256")))
            .ok(),
        Some(_) => {
            errors.push(FieldError::new("alg", "alg must be ES256 or RS256"));
            None
        }
    };
    let at_once = match object.remove("now") {
        None | Some(Value::Null) => false,
        Some(Value::Bool(b)) => b,
        Some(_) => {
            errors.push(FieldError::new("now", "now must be true or false"));
            false
        }
    };
    if !errors.is_empty() {
        return Err(Problem::invalid_fields(errors));
    }
    let now = Utc::now();
    let actor = Actor::Client(caller.client_id);
    let key = state.key_ops.rotate(&actor, alg, at_once, now).await?;
    refresh_ring(&state, now).await;
    Ok(HttpResponse::Ok().json(KeyView::of(&key)))
}

/// `DELETE /admin/v1/keys/{kid}` → `204` (scope `admin:keys:write`): a next or retired
/// key is unpublished at once; the active key `409`; unknown `404`.
#[utoipa::path(
    delete,
    path = "/admin/v1/keys/{kid}",
    tag = "keys",
    params(("kid" = String, Path, description = "The key id")),
    responses(
        (status = 204, description = "The key is unpublished; tokens it signed no longer verify"),
        (status = 404, description = "No next or retired key with this kid", body = crate::routes::openapi::ProblemBody, content_type = "application/problem+json"),
        (status = 409, description = "The key is the active key", body = crate::routes::openapi::ProblemBody, content_type = "application/problem+json"),
    )
)]
pub async fn remove(
    caller: AdminCaller,
    kid: web::Path<String>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, Problem> {
    caller.require(scope::KEYS_WRITE)?;
    let kid = Kid::parse(&kid).map_err(|_| Problem::not_found())?;
    let now = Utc::now();
    let actor = Actor::Client(caller.client_id);
    state.key_ops.remove(&actor, &kid, now).await?;
    refresh_ring(&state, now).await;
    Ok(HttpResponse::NoContent().finish())
}

/// The change is made: this instance's ring follows it now rather than at its next
/// refresh. A failure is only logged (the sync loop retries).
async fn refresh_ring(state: &AppState, now: DateTime<Utc>) {
    if let Err(e) = state.key_manager.tick(now).await {
        tracing::warn!(error = %e, "signing key refresh after an admin change failed");
    }
}

#[derive(Serialize, utoipa::ToSchema)]
#[schema(as = KeyList)]
pub struct Keys<'a> {
    items: Vec<KeyView<'a>>,
}

/// The body of `POST /admin/v1/keys/rotate`, for the OpenAPI document.
#[derive(utoipa::ToSchema)]
#[schema(as = RotateKey)]
#[allow(dead_code)]
pub struct RotateBody {
    /// `ES256` or `RS256`; default `keys.algorithm`.
    alg: Option<String>,
    /// Sign with the new key at once (emergency), without pre-publication.
    now: Option<bool>,
}

/// A row of `authd keys list`: absent times are omitted.
#[derive(Serialize, utoipa::ToSchema)]
#[schema(as = Key)]
pub struct KeyView<'a> {
    kid: &'a str,
    alg: &'static str,
    state: &'static str,
    created_at: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    activated_at: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    retired_at: Option<String>,
    /// A next key: when it starts signing.
    #[serde(skip_serializing_if = "Option::is_none")]
    signs_from: Option<String>,
    /// A retired key: when it is unpublished.
    #[serde(skip_serializing_if = "Option::is_none")]
    removed_after: Option<String>,
}

impl<'a> KeyView<'a> {
    fn of(key: &'a KeyListing) -> Self {
        let r = &key.record;
        Self {
            kid: r.kid.as_str(),
            alg: r.alg.as_str(),
            state: r.state.as_str(),
            created_at: timestamp(r.created_at),
            activated_at: r.activated_at.map(timestamp),
            retired_at: r.retired_at.map(timestamp),
            signs_from: key.signs_from.map(timestamp),
            removed_after: key.removed_after.map(timestamp),
        }
    }
}
