//! `/admin/v1/clients` (admin-api.md §2): list, read, register, change and remove
//! clients, rotate a confidential client's secret. The rules are `Accounts`' (the same
//! the CLI's `client` commands follow); this file only speaks HTTP.
//!
//! The configured default client (`default_client.id`) is listed and readable, as
//! `authd client list` shows it, but it lives in the configuration: changing, removing or
//! rotating it is `403`. It has no `ETag` (it never changes while the server runs).
//!
//! After a change this instance reloads its client registry at once; the others see it
//! within a second (`clients_version`, which every write moves).

use std::collections::BTreeSet;

use actix_web::http::header::{ETAG, LOCATION};
use actix_web::{web, HttpRequest, HttpResponse, HttpResponseBuilder};
use chrono::Utc;
use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use serde::Serialize;
use serde_json::{Map, Value};

use super::auth::AdminCaller;
use super::{
    if_match, page, parse_json_object, read_json_bytes, read_merge_patch, refuse_unknown_members,
    scope, timestamp, Query,
};
use crate::accounts::{Actor, ClientChanges, ClientDraft};
use crate::clients::Client;
use crate::domain::{Audience, ClientId, ClientSecret, GrantType, Scopes};
use crate::routes::idempotency::idempotent_storing;
use crate::routes::problem::{FieldError, Problem};
use crate::startup::AppState;

/// `GET /admin/v1/clients?limit&cursor` → a page of clients by `client_id` (scope
/// `admin:clients:read`).
#[utoipa::path(
    get,
    path = "/admin/v1/clients",
    tag = "clients",
    params(
        ("limit" = Option<u16>, Query, minimum = 1, maximum = 500, description = "Page size (default 100)"),
        ("cursor" = Option<String>, Query, description = "The `next_cursor` of the previous page"),
    ),
    responses(
        (status = 200, description = "A page of clients by client_id", body = ClientPage,
         headers(("Link" = String, description = "`<...>; rel=\"next\"` when there is a next page"))),
        (status = 400, description = "A bad limit, a malformed cursor or an unknown parameter", body = crate::routes::openapi::ProblemBody, content_type = "application/problem+json"),
    )
)]
pub async fn list(
    caller: AdminCaller,
    req: HttpRequest,
    state: web::Data<AppState>,
) -> Result<HttpResponse, Problem> {
    caller.require(scope::CLIENTS_READ)?;
    let query = Query::parse(&req, &["limit", "cursor"])?;
    let limit = query.limit()?;
    let after = query.cursor(|bytes| Some(super::text_position(bytes)))?;
    let (clients, more) = state.accounts.clients_page(after.as_deref(), limit).await?;
    let next = more
        .then(|| clients.last().map(|c| c.id.as_str().to_owned()))
        .flatten();
    let items: Vec<ClientView> = clients.iter().map(ClientView::of).collect();
    Ok(page(&req, &query, items, next))
}

/// `GET /admin/v1/clients/{id}` → the client with its `ETag` (scope
/// `admin:clients:read`); unknown `404`.
#[utoipa::path(
    get,
    path = "/admin/v1/clients/{id}",
    tag = "clients",
    params(("id" = String, Path, description = "The client_id")),
    responses(
        (status = 200, description = "The client", body = ClientView,
         headers(("ETag" = String, description = "The client's strong entity tag (none for the configured default client)"))),
    )
)]
pub async fn get(
    caller: AdminCaller,
    id: web::Path<String>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, Problem> {
    caller.require(scope::CLIENTS_READ)?;
    let id = client_id(&id)?;
    let client = state
        .accounts
        .client(&id)
        .await?
        .ok_or_else(Problem::not_found)?;
    Ok(represent(HttpResponse::Ok(), &client, None))
}

/// `POST /admin/v1/clients` → `201` + `Location` + the client, with `client_secret` in
/// this one response when confidential (scope `admin:clients:write`). A taken id `409`.
#[utoipa::path(
    post,
    path = "/admin/v1/clients",
    tag = "clients",
    params(("Idempotency-Key" = Option<String>, Header, description = "1-255 visible ASCII characters: a retry with the same key and body within 24 h gets the first response, without `client_secret` (never stored: rotate it if the first response was lost)")),
    request_body(content = CreateClientBody, content_type = "application/json"),
    responses(
        (status = 201, description = "The client was registered; `client_secret` is in this response only", body = ClientView,
         headers(("Location" = String, description = "The new client's URL"),
                 ("ETag" = String, description = "The client's strong entity tag"))),
        (status = 400, description = "An unknown or invalid member", body = crate::routes::openapi::ProblemBody, content_type = "application/problem+json"),
        (status = 403, description = "The scope is missing, or the id is the configured default client's", body = crate::routes::openapi::ProblemBody, content_type = "application/problem+json"),
        (status = 409, description = "The client_id is taken, or the first request with this Idempotency-Key is still running", body = crate::routes::openapi::ProblemBody, content_type = "application/problem+json"),
        (status = 422, description = "The Idempotency-Key was used with another request", body = crate::routes::openapi::ProblemBody, content_type = "application/problem+json"),
    )
)]
pub async fn create(
    caller: AdminCaller,
    req: HttpRequest,
    payload: web::Payload,
    state: web::Data<AppState>,
) -> Result<HttpResponse, Problem> {
    caller.require(scope::CLIENTS_WRITE)?;
    let body = read_json_bytes(&req, payload).await?;
    let idempotency_caller = format!("client:{}", caller.client_id.as_str());
    // A replay answers without `client_secret`: the secret is never stored, so a caller
    // that lost the first response rotates it (`POST /clients/{id}/secret`).
    idempotent_storing(
        state.store.as_ref(),
        &idempotency_caller,
        &req,
        &body,
        without_secret,
        || async {
            let (draft, confidential) = parse_create(parse_json_object(&body)?, &state)?;
            let secret = confidential.then(ClientSecret::generate);
            let actor = Actor::Client(caller.client_id.clone());
            let client = state
                .accounts
                .create_client(&actor, draft, secret.as_ref(), Utc::now())
                .await?;
            state.clients.reload_now().await;
            let mut response = HttpResponse::Created();
            response.insert_header((LOCATION, location(&client.id)));
            Ok(represent(response, &client, secret.as_ref()))
        },
    )
    .await
}

/// A created client's body as kept for an `Idempotency-Key` replay: without
/// `client_secret`.
fn without_secret(body: &[u8]) -> Vec<u8> {
    match serde_json::from_slice::<serde_json::Value>(body) {
        Ok(serde_json::Value::Object(mut object)) => {
            object.remove("client_secret");
            serde_json::to_vec(&object).unwrap_or_default()
        }
        _ => Vec::new(),
    }
}

/// `PATCH /admin/v1/clients/{id}` (RFC 7396 merge patch of `audiences`, `grants`,
/// `scopes`, `default_scopes`) → `200` + the client and its new `ETag` (scope
/// `admin:clients:write`); `If-Match` not current `412`.
#[utoipa::path(
    patch,
    path = "/admin/v1/clients/{id}",
    tag = "clients",
    params(
        ("id" = String, Path, description = "The client_id"),
        ("If-Match" = Option<String>, Header, description = "Change only this version (an ETag)"),
    ),
    request_body(content(
        (ClientPatchBody = "application/merge-patch+json"),
        (ClientPatchBody = "application/json"),
    )),
    responses(
        (status = 200, description = "The changed client", body = ClientView,
         headers(("ETag" = String, description = "The client's new strong entity tag"))),
        (status = 400, description = "An unknown or invalid member", body = crate::routes::openapi::ProblemBody, content_type = "application/problem+json"),
        (status = 403, description = "The scope is missing, or the client is the configured default client", body = crate::routes::openapi::ProblemBody, content_type = "application/problem+json"),
        (status = 412, description = "If-Match does not name the current version", body = crate::routes::openapi::ProblemBody, content_type = "application/problem+json"),
    )
)]
pub async fn update(
    caller: AdminCaller,
    req: HttpRequest,
    id: web::Path<String>,
    payload: web::Payload,
    state: web::Data<AppState>,
) -> Result<HttpResponse, Problem> {
    caller.require(scope::CLIENTS_WRITE)?;
    let id = client_id(&id)?;
    let expected = if_match(&req)?;
    let changes = parse_changes(read_merge_patch(&req, payload).await?)?;
    let actor = Actor::Client(caller.client_id);
    let client = state
        .accounts
        .update_client(&actor, &id, &changes, expected.as_deref(), Utc::now())
        .await?;
    state.clients.reload_now().await;
    Ok(represent(HttpResponse::Ok(), &client, None))
}

/// `DELETE /admin/v1/clients/{id}` → `204`, its sessions revoked (scope
/// `admin:clients:write`); `If-Match` honoured.
#[utoipa::path(
    delete,
    path = "/admin/v1/clients/{id}",
    tag = "clients",
    params(
        ("id" = String, Path, description = "The client_id"),
        ("If-Match" = Option<String>, Header, description = "Remove only this version (an ETag)"),
    ),
    responses(
        (status = 204, description = "The client is removed and its sessions revoked"),
        (status = 403, description = "The scope is missing, or the client is the configured default client", body = crate::routes::openapi::ProblemBody, content_type = "application/problem+json"),
        (status = 412, description = "If-Match does not name the current version", body = crate::routes::openapi::ProblemBody, content_type = "application/problem+json"),
    )
)]
pub async fn remove(
    caller: AdminCaller,
    req: HttpRequest,
    id: web::Path<String>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, Problem> {
    caller.require(scope::CLIENTS_WRITE)?;
    let id = client_id(&id)?;
    let expected = if_match(&req)?;
    let actor = Actor::Client(caller.client_id);
    state
        .accounts
        .remove_client(&actor, &id, expected.as_deref(), Utc::now())
        .await?;
    state.clients.reload_now().await;
    Ok(HttpResponse::NoContent().finish())
}

/// `POST /admin/v1/clients/{id}/secret` → `200 {"client_secret"}`: a new secret; the
/// previous one works for `clients.previous_secret_ttl` more (scope
/// `admin:clients:write`). A public client `400`.
#[utoipa::path(
    post,
    path = "/admin/v1/clients/{id}/secret",
    tag = "clients",
    params(("id" = String, Path, description = "The client_id")),
    responses(
        (status = 200, description = "The new secret (shown once); the previous one works for clients.previous_secret_ttl", body = SecretView),
        (status = 400, description = "A public client has no secret", body = crate::routes::openapi::ProblemBody, content_type = "application/problem+json"),
        (status = 403, description = "The scope is missing, or the client is the configured default client", body = crate::routes::openapi::ProblemBody, content_type = "application/problem+json"),
    )
)]
pub async fn rotate_secret(
    caller: AdminCaller,
    id: web::Path<String>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, Problem> {
    caller.require(scope::CLIENTS_WRITE)?;
    let id = client_id(&id)?;
    let actor = Actor::Client(caller.client_id);
    let secret = state
        .accounts
        .rotate_client_secret(&actor, &id, Utc::now())
        .await?;
    state.clients.reload_now().await;
    Ok(HttpResponse::Ok().json(SecretView {
        client_secret: secret.expose(),
    }))
}

/// `DELETE /admin/v1/clients/{id}/secret/previous` → `204`: the previous secret stops
/// working now (scope `admin:clients:write`); none that still works `404`.
#[utoipa::path(
    delete,
    path = "/admin/v1/clients/{id}/secret/previous",
    tag = "clients",
    params(("id" = String, Path, description = "The client_id")),
    responses(
        (status = 204, description = "The previous secret no longer works"),
        (status = 403, description = "The scope is missing, or the client is the configured default client", body = crate::routes::openapi::ProblemBody, content_type = "application/problem+json"),
        (status = 404, description = "No such client, or it has no previous secret that still works", body = crate::routes::openapi::ProblemBody, content_type = "application/problem+json"),
    )
)]
pub async fn remove_previous_secret(
    caller: AdminCaller,
    id: web::Path<String>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, Problem> {
    caller.require(scope::CLIENTS_WRITE)?;
    let id = client_id(&id)?;
    let actor = Actor::Client(caller.client_id);
    state
        .accounts
        .remove_previous_client_secret(&actor, &id, Utc::now())
        .await?;
    state.clients.reload_now().await;
    Ok(HttpResponse::NoContent().finish())
}

/// A path's client id; one that cannot be a client id names no client (`404`).
fn client_id(raw: &str) -> Result<ClientId, Problem> {
    ClientId::parse(raw).map_err(|_| Problem::not_found())
}

/// Characters left as they are in a path segment (RFC 3986 unreserved).
const SEGMENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

fn location(id: &ClientId) -> String {
    format!(
        "/admin/v1/clients/{}",
        utf8_percent_encode(id.as_str(), SEGMENT)
    )
}

/// The client representation of admin-api.md §2: never a secret or its digest.
/// `redirect_uris`, `post_logout_redirect_uris`, `first_party` and `token_policy` are
/// always present; later issues give them content.
#[derive(Serialize, utoipa::ToSchema)]
#[schema(as = Client)]
pub struct ClientView<'a> {
    client_id: &'a str,
    /// `confidential` or `public`.
    kind: &'static str,
    audiences: &'a [String],
    grants: Vec<&'static str>,
    scopes: Vec<&'a str>,
    default_scopes: Vec<&'a str>,
    /// Always empty (a later issue).
    #[schema(value_type = Vec<String>)]
    redirect_uris: [&'a str; 0],
    /// Always empty (a later issue).
    #[schema(value_type = Vec<String>)]
    post_logout_redirect_uris: [&'a str; 0],
    first_party: bool,
    /// Always `{}` (a later issue).
    #[schema(value_type = Object)]
    token_policy: Map<String, Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    created_at: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    updated_at: Option<String>,
    /// Only in the response that created the client.
    #[serde(skip_serializing_if = "Option::is_none")]
    client_secret: Option<&'a str>,
}

impl<'a> ClientView<'a> {
    fn of(client: &'a Client) -> Self {
        Self {
            client_id: client.id.as_str(),
            kind: client.kind(),
            audiences: &client.audience,
            grants: client.grants.iter().map(|g| g.as_str()).collect(),
            scopes: client.scopes.iter().collect(),
            default_scopes: client.default_scopes.iter().collect(),
            redirect_uris: [],
            post_logout_redirect_uris: [],
            first_party: false,
            token_policy: Map::new(),
            created_at: client.created_at.map(timestamp),
            updated_at: client.updated_at.map(timestamp),
            client_secret: None,
        }
    }
}

#[derive(Serialize, utoipa::ToSchema)]
#[schema(as = ClientSecret)]
pub struct SecretView<'a> {
    client_secret: &'a str,
}

/// A page of clients, for the OpenAPI document (`page` renders it).
#[derive(utoipa::ToSchema)]
#[allow(dead_code)]
pub struct ClientPage {
    #[schema(value_type = Vec<ClientView>)]
    items: Vec<()>,
    next_cursor: Option<String>,
}

/// The body of `POST /admin/v1/clients`, for the OpenAPI document (the handler parses
/// the object itself to refuse unknown members and report every bad one).
#[derive(utoipa::ToSchema)]
#[schema(as = CreateClient)]
#[allow(dead_code)]
pub struct CreateClientBody {
    client_id: String,
    /// `confidential` (with `"secret": "generate"`) or `public` (the default).
    kind: Option<String>,
    /// `generate`: authd generates the secret of a confidential client.
    secret: Option<String>,
    /// Default: the client_id.
    audiences: Option<Vec<String>>,
    /// `password`, `refresh_token`, `client_credentials`; default by kind.
    grants: Option<Vec<String>>,
    scopes: Option<Vec<String>>,
    /// Default: every scope.
    default_scopes: Option<Vec<String>>,
    /// Only `{}` for now.
    #[schema(value_type = Option<Object>)]
    token_policy: Option<()>,
}

/// A merge patch of a client (RFC 7396), for the OpenAPI document: each member given
/// replaces the whole list.
#[derive(utoipa::ToSchema)]
#[schema(as = ClientPatch)]
#[allow(dead_code)]
pub struct ClientPatchBody {
    audiences: Option<Vec<String>>,
    grants: Option<Vec<String>>,
    scopes: Option<Vec<String>>,
    default_scopes: Option<Vec<String>>,
}

fn represent(
    mut response: HttpResponseBuilder,
    client: &Client,
    secret: Option<&ClientSecret>,
) -> HttpResponse {
    if let Some(etag) = client.etag() {
        response.insert_header((ETAG, etag));
    }
    let mut view = ClientView::of(client);
    view.client_secret = secret.map(ClientSecret::expose);
    response.json(view)
}

/// Every member a create body may have.
const CREATE_MEMBERS: [&str; 7] = [
    "client_id",
    "kind",
    "secret",
    "audiences",
    "grants",
    "scopes",
    "default_scopes",
];

/// Every member a patch may have.
const PATCH_MEMBERS: [&str; 4] = ["audiences", "grants", "scopes", "default_scopes"];

/// A `POST /clients` body: the draft and whether it is confidential. `kind`
/// `confidential` goes with `"secret": "generate"` (either implies the other); neither
/// is a public client, as `authd client add` without a secret option.
fn parse_create(
    mut object: Map<String, Value>,
    state: &AppState,
) -> Result<(ClientDraft, bool), Problem> {
    // `token_policy` is a placeholder (a later issue): only `{}` is accepted.
    match object.remove("token_policy") {
        None | Some(Value::Null) => {}
        Some(Value::Object(policy)) if policy.is_empty() => {}
        Some(_) => {
            return Err(Problem::invalid_fields(vec![FieldError::new(
                "token_policy",
                "token_policy has no members yet: give {} or leave it out",
            )]))
        }
    }
    refuse_unknown_members(&object, &CREATE_MEMBERS)?;
    let mut f = Fields {
        object,
        errors: Vec::new(),
    };
    let id = match f.string("client_id") {
        Some(raw) => ClientId::parse(&raw)
            .map_err(|detail| f.fail("client_id", detail))
            .ok(),
        None => {
            f.fail("client_id", "client_id is required");
            None
        }
    };
    let kind = f.string("kind");
    let secret = f.string("secret");
    let confidential = match (kind.as_deref(), secret.as_deref()) {
        (None | Some("confidential"), Some("generate")) => true,
        (Some("confidential"), None) => true,
        (None | Some("public"), None) => false,
        (Some("public"), Some(_)) => {
            f.fail("secret", "a public client has no secret");
            false
        }
        (_, Some(s)) if s != "generate" => {
            f.fail(
                "secret",
                r#"secret must be "generate": authd generates the secret"#,
            );
            false
        }
        _ => {
            f.fail("kind", r#"kind must be "confidential" or "public""#);
            false
        }
    };
    let audiences = f.audiences().unwrap_or_default();
    let grants = f.grants().unwrap_or_default();
    let scopes = f.scopes("scopes").unwrap_or_default();
    let default_scopes = f.scopes("default_scopes");
    let Some(id) = id.filter(|_| f.errors.is_empty()) else {
        return Err(Problem::invalid_fields(f.errors));
    };
    let draft = ClientDraft::new(
        id,
        state.accounts.default_client_id(),
        audiences,
        grants,
        scopes,
        default_scopes,
    )?;
    Ok((draft, confidential))
}

/// A merge patch's changes: a member given replaces the whole list; `null` cannot
/// remove a member every client has (`400`).
fn parse_changes(object: Map<String, Value>) -> Result<ClientChanges, Problem> {
    refuse_unknown_members(&object, &PATCH_MEMBERS)?;
    let mut f = Fields {
        object,
        errors: Vec::new(),
    };
    for member in PATCH_MEMBERS {
        if f.object.get(member) == Some(&Value::Null) {
            f.fail(member, format!("{member} cannot be removed; give a list"));
        }
    }
    let changes = ClientChanges {
        audiences: f.audiences(),
        grants: f.grants(),
        scopes: f.scopes("scopes"),
        default_scopes: f.scopes("default_scopes"),
    };
    if f.errors.is_empty() {
        Ok(changes)
    } else {
        Err(Problem::invalid_fields(f.errors))
    }
}

/// The members of a body being parsed, and the errors found so far. No detail repeats
/// a value.
struct Fields {
    object: Map<String, Value>,
    errors: Vec<FieldError>,
}

impl Fields {
    fn fail(&mut self, member: &str, detail: impl Into<String>) {
        self.errors.push(FieldError::new(member, detail));
    }

    /// An optional string member; `null` is the same as absent.
    fn string(&mut self, member: &str) -> Option<String> {
        match self.object.remove(member) {
            None | Some(Value::Null) => None,
            Some(Value::String(s)) => Some(s),
            Some(_) => {
                self.fail(member, format!("{member} must be a string"));
                None
            }
        }
    }

    /// An optional array of strings, each parsed; `None` when absent, `null` or bad.
    fn list<T>(
        &mut self,
        member: &str,
        parse: impl Fn(&str) -> Result<T, String>,
    ) -> Option<Vec<T>> {
        let items = match self.object.remove(member) {
            None | Some(Value::Null) => return None,
            Some(Value::Array(items)) => items,
            Some(_) => {
                self.fail(member, format!("{member} must be an array of strings"));
                return None;
            }
        };
        let parsed = items
            .iter()
            .map(|item| match item {
                Value::String(s) => parse(s),
                _ => Err(format!("{member} must be an array of strings")),
            })
            .collect::<Result<Vec<T>, String>>();
        parsed.map_err(|detail| self.fail(member, detail)).ok()
    }

    fn audiences(&mut self) -> Option<Vec<Audience>> {
        self.list("audiences", Audience::parse)
    }

    fn grants(&mut self) -> Option<BTreeSet<GrantType>> {
        self.list("grants", GrantType::parse)
            .map(|grants| grants.into_iter().collect())
    }

    /// A list of scope tokens, each one token (no spaces).
    fn scopes(&mut self, member: &str) -> Option<Scopes> {
        let tokens = self.list(member, |token| {
            if token.is_empty() || token.contains(' ') {
                Err(format!("each item of {member} is one scope token"))
            } else {
                Ok(token.to_owned())
            }
        })?;
        Scopes::parse(&tokens.join(" "))
            .map_err(|detail| self.fail(member, detail))
            .ok()
    }
}
