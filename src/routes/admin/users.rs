//! `/admin/v1/users` (admin-api.md §2): create, import, list, read, patch, delete users
//! and set their passwords. Handlers parse and shape; the rules are the `Accounts`
//! service's, shared with the CLI.

use std::io::Cursor;
use std::time::Duration;

use actix_web::http::header::ETAG;
use actix_web::http::header::{IF_MATCH, LINK, LOCATION};
use actix_web::{web, HttpRequest, HttpResponse, HttpResponseBuilder};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use chrono::{DateTime, SecondsFormat, Utc};
use serde::Serialize;
use serde_json::{Map, Value};
use uuid::Uuid;

use super::auth::AdminCaller;
use super::{parse_json_object, read_json_bytes, read_json_object, read_merge_patch, scope};
use crate::accounts::{
    etag, Actor, Credential, FailureKind, IfMatch, NewAccount, UserPatch, MAX_PAGE,
};
use crate::domain::{Email, ImportedHash, Password, PersonName, Role, Username};
use crate::routes::body::{self, BodyError};
use crate::routes::idempotency::idempotent;
use crate::routes::problem::{FieldError, Kind, Problem};
use crate::startup::AppState;
use crate::store::{Profile, User, UsersQuery};

/// Largest import body (admin-api.md §1).
pub const MAX_IMPORT_BYTES: usize = 8 * 1024 * 1024;
/// A slow client has this long to send an import.
const IMPORT_TIMEOUT: Duration = Duration::from_secs(60);
/// `GET /users` without `limit` (admin-api.md §1).
const DEFAULT_PAGE: u32 = 100;

/// `POST /admin/v1/users` → `201` + `Location` + the user (scope `admin:users:write`;
/// `roles` also needs `admin:roles:assign`). Audited with the calling client. With an
/// `Idempotency-Key`, a retry gets the first response (`routes/idempotency.rs`).
#[utoipa::path(
    post,
    path = "/admin/v1/users",
    tag = "users",
    request_body(content = CreateUserBody, content_type = "application/json"),
    params(("Idempotency-Key" = Option<String>, Header, description = "1-255 visible ASCII characters: a retry with the same key and body within 24 h gets the first response")),
    responses(
        (status = 201, description = "The user was created", body = UserView,
         headers(("Location" = String, description = "The new user's URL"),
                 ("ETag" = String, description = "The user's strong entity tag"))),
        (status = 409, description = "The username is taken, or the first request with this Idempotency-Key is still running", body = crate::routes::openapi::ProblemBody, content_type = "application/problem+json"),
        (status = 422, description = "The Idempotency-Key was used with another request", body = crate::routes::openapi::ProblemBody, content_type = "application/problem+json"),
    )
)]
pub async fn create(
    caller: AdminCaller,
    req: HttpRequest,
    payload: web::Payload,
    state: web::Data<AppState>,
) -> Result<HttpResponse, Problem> {
    caller.require(scope::USERS_WRITE)?;
    let body = read_json_bytes(&req, payload).await?;
    let idempotency_caller = format!("client:{}", caller.client_id.as_str());
    idempotent(
        state.store.as_ref(),
        &idempotency_caller,
        &req,
        &body,
        || async {
            let create = CreateUser::parse(parse_json_object(&body)?)?;
            if create.sets_roles {
                caller.require(scope::ROLES_ASSIGN)?;
            }
            let actor = Actor::Client(caller.client_id.clone());
            let user = state
                .accounts
                .create_user(&actor, create.account, Utc::now())
                .await?;
            let location = format!("/admin/v1/users/{}", user.id);
            let mut response = HttpResponse::Created();
            response.insert_header((LOCATION, location));
            Ok(represent(response, &user))
        },
    )
    .await
}

/// `GET /admin/v1/users/{id}` → the user with its `ETag` (scope `admin:users:read`); an
/// unknown id, or one that is not a UUID, is `404`.
#[utoipa::path(
    get,
    path = "/admin/v1/users/{id}",
    tag = "users",
    params(("id" = String, Path, description = "The user's id (a UUID)")),
    responses(
        (status = 200, description = "The user", body = UserView,
         headers(("ETag" = String, description = "The user's strong entity tag"))),
    )
)]
pub async fn get(
    caller: AdminCaller,
    id: web::Path<String>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, Problem> {
    caller.require(scope::USERS_READ)?;
    let id = Uuid::parse_str(&id).map_err(|_| Problem::not_found())?;
    let user = state
        .accounts
        .user(id)
        .await?
        .ok_or_else(Problem::not_found)?;
    Ok(represent(HttpResponse::Ok(), &user))
}

/// `GET /admin/v1/users?limit&cursor&username_prefix&role&disabled` (scope
/// `admin:users:read`) → `{"items", "next_cursor"}` ordered by username, with
/// `Link: <...>; rel="next"` (RFC 8288) when there is a next page (admin-api.md §1).
/// The cursor is the last username of the page, base64url: the next page starts after
/// it, so a user inserted meanwhile is neither skipped nor repeated.
#[utoipa::path(
    get,
    path = "/admin/v1/users",
    tag = "users",
    params(
        ("limit" = Option<u32>, Query, minimum = 1, maximum = 500, description = "Users per page (default 100)"),
        ("cursor" = Option<String>, Query, description = "The `next_cursor` of the previous page"),
        ("username_prefix" = Option<String>, Query, description = "Only usernames starting with this"),
        ("role" = Option<String>, Query, description = "Only users with this role"),
        ("disabled" = Option<bool>, Query, description = "Only disabled (true) or enabled (false) users"),
    ),
    responses(
        (status = 200, description = "A page of users ordered by username", body = UsersPageView,
         headers(("Link" = String, description = "RFC 8288 `rel=\"next\"` link to the next page, when there is one"))),
    )
)]
pub async fn list(
    caller: AdminCaller,
    req: HttpRequest,
    state: web::Data<AppState>,
) -> Result<HttpResponse, Problem> {
    caller.require(scope::USERS_READ)?;
    let params = ListParams::parse(req.query_string())?;
    let page = state.accounts.users_page(&params.query).await?;
    let next_cursor = page
        .next_after
        .as_deref()
        .map(|last| URL_SAFE_NO_PAD.encode(last));
    let mut response = HttpResponse::Ok();
    if let Some(cursor) = &next_cursor {
        let mut query = form_urlencoded::Serializer::new(String::new());
        for (name, value) in &params.kept {
            query.append_pair(name, value);
        }
        query.append_pair("cursor", cursor);
        response.insert_header((
            LINK,
            format!("</admin/v1/users?{}>; rel=\"next\"", query.finish()),
        ));
    }
    Ok(response.json(UsersPageView {
        items: page.items.iter().map(UserView::of).collect(),
        next_cursor,
    }))
}

/// `PATCH /admin/v1/users/{id}` (scope `admin:users:write`; `roles` also
/// `admin:roles:assign`) with a JSON merge patch (RFC 7396) of `roles`, `disabled`,
/// `email`, `email_verified`, `name`, `given_name`, `family_name` → `200` with the user
/// and its new `ETag`. `If-Match` not naming the current `ETag` is `412`.
#[utoipa::path(
    patch,
    path = "/admin/v1/users/{id}",
    tag = "users",
    params(("id" = String, Path, description = "The user's id (a UUID)"), ("If-Match" = Option<String>, Header, description = "Write only if the user's current ETag is one of these (or `*`); otherwise 412")),
    request_body(content(
        (PatchUserBody = "application/merge-patch+json"),
        (PatchUserBody = "application/json"),
    )),
    responses(
        (status = 200, description = "The user as patched", body = UserView,
         headers(("ETag" = String, description = "The user's new strong entity tag"))),
        (status = 412, description = "If-Match does not name the current ETag", body = crate::routes::openapi::ProblemBody, content_type = "application/problem+json"),
    )
)]
pub async fn update(
    caller: AdminCaller,
    req: HttpRequest,
    id: web::Path<String>,
    payload: web::Payload,
    state: web::Data<AppState>,
) -> Result<HttpResponse, Problem> {
    caller.require(scope::USERS_WRITE)?;
    let id = user_id(&id)?;
    let object = read_merge_patch(&req, payload).await?;
    let sets_roles = object.contains_key("roles");
    let patch = parse_patch(object)?;
    if sets_roles {
        caller.require(scope::ROLES_ASSIGN)?;
    }
    let updated = state
        .accounts
        .update_user(
            &Actor::Client(caller.client_id),
            id,
            &patch,
            if_match(&req).as_ref(),
            Utc::now(),
        )
        .await?;
    Ok(represent(HttpResponse::Ok(), &updated.user))
}

/// `PUT /admin/v1/users/{id}/password` `{"password"}` or `{"password_hash"}` (scope
/// `admin:users:write`) → `204`; every session of the user is revoked. `If-Match`
/// honoured.
#[utoipa::path(
    put,
    path = "/admin/v1/users/{id}/password",
    tag = "users",
    params(("id" = String, Path, description = "The user's id (a UUID)"), ("If-Match" = Option<String>, Header, description = "Write only if the user's current ETag is one of these (or `*`); otherwise 412")),
    request_body(content = SetPasswordBody, content_type = "application/json"),
    responses(
        (status = 204, description = "The password was set; every session of the user is revoked"),
        (status = 412, description = "If-Match does not name the current ETag", body = crate::routes::openapi::ProblemBody, content_type = "application/problem+json"),
    )
)]
pub async fn set_password(
    caller: AdminCaller,
    req: HttpRequest,
    id: web::Path<String>,
    payload: web::Payload,
    state: web::Data<AppState>,
) -> Result<HttpResponse, Problem> {
    caller.require(scope::USERS_WRITE)?;
    let id = user_id(&id)?;
    let credential = parse_credential(read_json_object(&req, payload).await?)?;
    state
        .accounts
        .set_password_of(
            &Actor::Client(caller.client_id),
            id,
            credential,
            if_match(&req).as_ref(),
            Utc::now(),
        )
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// `DELETE /admin/v1/users/{id}` (scope `admin:users:write`) → `204`; `404` when there
/// is no such user. Every session and live access token is revoked, the username is
/// free again, the audit trail keeps the id. `If-Match` honoured.
#[utoipa::path(
    delete,
    path = "/admin/v1/users/{id}",
    tag = "users",
    params(("id" = String, Path, description = "The user's id (a UUID)"), ("If-Match" = Option<String>, Header, description = "Write only if the user's current ETag is one of these (or `*`); otherwise 412")),
    responses(
        (status = 204, description = "The user was deleted; every session and access token is revoked"),
        (status = 412, description = "If-Match does not name the current ETag", body = crate::routes::openapi::ProblemBody, content_type = "application/problem+json"),
    )
)]
pub async fn delete(
    caller: AdminCaller,
    req: HttpRequest,
    id: web::Path<String>,
    state: web::Data<AppState>,
) -> Result<HttpResponse, Problem> {
    caller.require(scope::USERS_WRITE)?;
    let id = user_id(&id)?;
    state
        .accounts
        .delete_user_by_id(
            &Actor::Client(caller.client_id),
            id,
            if_match(&req).as_ref(),
            Utc::now(),
        )
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// `POST /admin/v1/users/import` (scope `admin:users:write`): `application/x-ndjson`,
/// at most 8 MiB and 10,000 lines, one user per line with `password_hash` (never a
/// `password`) → `200 {"created", "failed": [{"line", "status", "detail"}]}`, each line
/// created or refused on its own (`409` for a taken name). A line giving `roles`
/// without `admin:roles:assign` is `403` for the whole request, nothing created.
#[utoipa::path(
    post,
    path = "/admin/v1/users/import",
    tag = "users",
    request_body(
        content = String,
        content_type = "application/x-ndjson",
        description = "One user per line (at most 10,000 lines, 8 MiB): the members of                        `CreateUser` with `password_hash`, never `password`"
    ),
    responses(
        (status = 200, description = "Each line created or refused on its own", body = ImportView),
    )
)]
pub async fn import(
    caller: AdminCaller,
    req: HttpRequest,
    payload: web::Payload,
    state: web::Data<AppState>,
) -> Result<HttpResponse, Problem> {
    caller.require(scope::USERS_WRITE)?;
    if body::media_type(&req).as_deref() != Some("application/x-ndjson") {
        return Err(Problem::new(
            Kind::UnsupportedMediaType,
            "content type must be application/x-ndjson",
        ));
    }
    let bytes = body::read_bytes_up_to(&req, payload, MAX_IMPORT_BYTES, IMPORT_TIMEOUT)
        .await
        .map_err(|e| match e {
            BodyError::TooLarge => Problem::new(
                Kind::PayloadTooLarge,
                format!("an import is at most {MAX_IMPORT_BYTES} bytes"),
            ),
            other => other.into(),
        })?;
    let may_assign_roles = caller.scopes.contains(scope::ROLES_ASSIGN);
    let report = state
        .accounts
        .import_users(
            &Actor::Client(caller.client_id),
            Cursor::new(bytes.freeze()),
            may_assign_roles,
            Utc::now(),
        )
        .await?;
    Ok(HttpResponse::Ok().json(ImportView {
        created: report.created,
        failed: report
            .failed
            .into_iter()
            .map(|f| LineView {
                line: f.line,
                status: match f.kind {
                    FailureKind::Invalid => 400,
                    FailureKind::Conflict => 409,
                },
                detail: f.detail,
            })
            .collect(),
    }))
}

/// A user id from the path: not a UUID is no such user.
fn user_id(raw: &str) -> Result<Uuid, Problem> {
    Uuid::parse_str(raw).map_err(|_| Problem::not_found())
}

/// `If-Match` (RFC 9110 §13.1.1): `*`, or the entity tags listed (in any number of
/// header lines); absent, the write is unconditional. A weak tag is kept as written
/// and never matches (strong comparison), nor does anything malformed.
fn if_match(req: &HttpRequest) -> Option<IfMatch> {
    let mut tags = Vec::new();
    let mut any = false;
    for value in req.headers().get_all(IF_MATCH) {
        let Ok(value) = value.to_str() else {
            tags.push(String::new());
            continue;
        };
        for tag in value.split(',').map(str::trim).filter(|t| !t.is_empty()) {
            if tag == "*" {
                any = true;
            } else {
                tags.push(tag.to_owned());
            }
        }
    }
    match (any, tags.is_empty()) {
        (true, true) => Some(IfMatch::Any),
        (false, true) if req.headers().get(IF_MATCH).is_none() => None,
        _ => Some(IfMatch::Tags(tags)),
    }
}

/// The query of `GET /users`, parsed; `kept` is every parameter but `cursor`, as given,
/// for the `Link` to the next page.
struct ListParams {
    query: UsersQuery,
    kept: Vec<(String, String)>,
}

impl ListParams {
    fn parse(raw: &str) -> Result<Self, Problem> {
        let mut query = UsersQuery {
            limit: DEFAULT_PAGE,
            ..UsersQuery::default()
        };
        let mut kept = Vec::new();
        let mut seen = Vec::new();
        let mut errors = Vec::new();
        for (name, value) in form_urlencoded::parse(raw.as_bytes()) {
            let field: String = name.chars().take(64).collect();
            if seen.contains(&field) {
                errors.push(FieldError::new(field, "given more than once"));
                continue;
            }
            seen.push(field.clone());
            let outcome = match name.as_ref() {
                "limit" => value
                    .parse::<u32>()
                    .ok()
                    .filter(|n| (1..=MAX_PAGE).contains(n))
                    .map(|n| query.limit = n)
                    .ok_or_else(|| format!("limit must be an integer from 1 to {MAX_PAGE}")),
                "cursor" => decode_cursor(&value).map(|after| query.after = Some(after)),
                "username_prefix" => Username::parse(&value)
                    .map(|p| query.username_prefix = Some(p))
                    .map_err(|e| format!("username_prefix: {e}")),
                "role" => Role::parse(&value).map(|r| query.role = Some(r)),
                "disabled" => match value.as_ref() {
                    "true" | "false" => {
                        query.disabled = Some(value == "true");
                        Ok(())
                    }
                    _ => Err("disabled must be true or false".to_owned()),
                },
                _ => Err("unknown query parameter".to_owned()),
            };
            match outcome {
                Err(detail) => errors.push(FieldError::new(field, detail)),
                Ok(()) if name != "cursor" => kept.push((name.into_owned(), value.into_owned())),
                Ok(()) => {}
            }
        }
        if !errors.is_empty() {
            let mut problem = Problem::invalid_fields(errors);
            problem.detail = "the query has invalid parameters".to_owned();
            return Err(problem);
        }
        Ok(Self { query, kept })
    }
}

/// A cursor is a username (normalized, as stored) in base64url without padding; any
/// other well-formed cursor is the position after its text (`super::text_position`).
fn decode_cursor(raw: &str) -> Result<String, String> {
    super::decode_cursor_bytes(raw)
        .map(|bytes| super::text_position(&bytes))
        .ok_or_else(|| "cursor is malformed: use next_cursor as given".to_owned())
}

/// Every member a merge patch may have (admin-api.md §2); others are refused.
const PATCH_MEMBERS: [&str; 7] = [
    "roles",
    "disabled",
    "email",
    "email_verified",
    "name",
    "given_name",
    "family_name",
];

/// Parses a merge patch: `null` removes an optional member (`roles` becomes `[]`,
/// `disabled` and `email_verified` false). One error per bad member; no detail repeats
/// a value.
fn parse_patch(object: Map<String, Value>) -> Result<UserPatch, Problem> {
    let mut errors = Vec::new();
    let mut patch = UserPatch::default();
    for (member, value) in object {
        let mut fail = |detail: String| errors.push(FieldError::new(member.as_str(), detail));
        match member.as_str() {
            "roles" => match value {
                Value::Null => patch.roles = Some(Vec::new()),
                Value::Array(items) => match items
                    .iter()
                    .map(|item| match item {
                        Value::String(role) => Role::parse(role),
                        _ => Err("roles must be an array of strings".to_owned()),
                    })
                    .collect::<Result<Vec<_>, _>>()
                {
                    Ok(roles) => patch.roles = Some(roles),
                    Err(e) => fail(e),
                },
                _ => fail("roles must be an array of strings or null".to_owned()),
            },
            "disabled" | "email_verified" => {
                let flag = match value {
                    Value::Null => false,
                    Value::Bool(b) => b,
                    _ => {
                        fail(format!("{member} must be true, false or null"));
                        continue;
                    }
                };
                if member == "disabled" {
                    patch.disabled = Some(flag);
                } else {
                    patch.email_verified = Some(flag);
                }
            }
            "email" => match value {
                Value::Null => patch.email = Some(None),
                Value::String(raw) => match Email::parse(&raw) {
                    Ok(email) => patch.email = Some(Some(email)),
                    Err(e) => fail(e),
                },
                _ => fail("email must be a string or null".to_owned()),
            },
            "name" | "given_name" | "family_name" => {
                let parsed = match value {
                    Value::Null => None,
                    Value::String(raw) => match PersonName::parse(&raw, &member) {
                        Ok(name) => Some(name),
                        Err(e) => {
                            fail(e);
                            continue;
                        }
                    },
                    _ => {
                        fail(format!("{member} must be a string or null"));
                        continue;
                    }
                };
                match member.as_str() {
                    "name" => patch.name = Some(parsed),
                    "given_name" => patch.given_name = Some(parsed),
                    _ => patch.family_name = Some(parsed),
                }
            }
            _ => {
                let shown: String = member.chars().take(64).collect();
                errors.push(FieldError::new(
                    shown,
                    format!(
                        "unknown member; a patch may have {}",
                        PATCH_MEMBERS.join(", ")
                    ),
                ));
            }
        }
    }
    if errors.is_empty() {
        Ok(patch)
    } else {
        Err(Problem::invalid_fields(errors))
    }
}

/// Parses `{"password"}` or `{"password_hash"}`, nothing else.
fn parse_credential(object: Map<String, Value>) -> Result<Credential, Problem> {
    let unknown: Vec<FieldError> = object
        .keys()
        .filter(|k| !["password", "password_hash"].contains(&k.as_str()))
        .map(|k| FieldError::new(k.chars().take(64).collect::<String>(), "unknown member"))
        .collect();
    if !unknown.is_empty() {
        return Err(Problem::invalid_fields(unknown));
    }
    let mut f = Fields {
        object,
        errors: Vec::new(),
    };
    match f.credential() {
        Some(credential) if f.errors.is_empty() => Ok(credential),
        _ => Err(Problem::invalid_fields(f.errors)),
    }
}

/// A page of `GET /users` (admin-api.md §1).
#[derive(Serialize, utoipa::ToSchema)]
#[schema(as = UsersPage)]
pub struct UsersPageView<'a> {
    items: Vec<UserView<'a>>,
    next_cursor: Option<String>,
}

/// What `POST /users/import` did.
#[derive(Serialize, utoipa::ToSchema)]
#[schema(as = ImportReport)]
pub struct ImportView {
    created: usize,
    failed: Vec<LineView>,
}

/// A refused line: its number (from 1), `400` (invalid) or `409` (taken), and why.
#[derive(Serialize, utoipa::ToSchema)]
#[schema(as = ImportFailure)]
pub struct LineView {
    line: usize,
    status: u16,
    detail: String,
}

/// The user representation of admin-api.md §2: absent optional members omitted, never
/// `null`; never a hash.
#[derive(Serialize, utoipa::ToSchema)]
#[schema(as = User)]
pub struct UserView<'a> {
    id: Uuid,
    username: &'a str,
    roles: &'a [String],
    disabled: bool,
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
    updated_at: String,
    password_changed_at: String,
}

/// RFC 3339 in UTC (admin-api.md §1).
fn timestamp(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Secs, true)
}

impl<'a> UserView<'a> {
    fn of(user: &'a User) -> Self {
        Self {
            id: user.id,
            username: &user.username,
            roles: &user.roles,
            disabled: user.disabled,
            email: user.email.as_deref(),
            email_verified: user.email_verified,
            name: user.name.as_deref(),
            given_name: user.given_name.as_deref(),
            family_name: user.family_name.as_deref(),
            created_at: timestamp(user.created_at),
            updated_at: timestamp(user.updated_at),
            password_changed_at: timestamp(user.password_changed_at),
        }
    }
}

/// The user with its strong `ETag` (RFC 9110 §8.8.3), the version `If-Match` names.
fn represent(mut response: HttpResponseBuilder, user: &User) -> HttpResponse {
    response
        .insert_header((ETAG, etag(user)))
        .json(UserView::of(user))
}

/// The body of `POST /admin/v1/users`, for the OpenAPI document (the handler parses the
/// object itself to refuse unknown members and report every bad one).
#[derive(utoipa::ToSchema)]
#[schema(as = CreateUser)]
#[allow(dead_code)]
pub struct CreateUserBody {
    username: String,
    /// A new password (the CLI's rules); give this or `password_hash`.
    password: Option<String>,
    /// An existing hash in PHC or modular-crypt form (argon2, bcrypt, pbkdf2, scrypt).
    password_hash: Option<String>,
    roles: Option<Vec<String>>,
    disabled: Option<bool>,
    email: Option<String>,
    email_verified: Option<bool>,
    name: Option<String>,
    given_name: Option<String>,
    family_name: Option<String>,
}

/// The body of `PATCH /admin/v1/users/{id}`, for the OpenAPI document: a JSON merge
/// patch (RFC 7396); `null` removes an optional member. Parsed by hand (`parse_patch`).
#[derive(utoipa::ToSchema)]
#[schema(as = PatchUser)]
#[allow(dead_code)]
pub struct PatchUserBody {
    /// Needs the scope `admin:roles:assign` too; `null` is `[]`.
    roles: Option<Vec<String>>,
    /// `true` revokes every session and access token of the user; `null` is `false`.
    disabled: Option<bool>,
    email: Option<String>,
    /// `null` is `false`.
    email_verified: Option<bool>,
    name: Option<String>,
    given_name: Option<String>,
    family_name: Option<String>,
}

/// The body of `PUT /admin/v1/users/{id}/password`, for the OpenAPI document: exactly
/// one of the two members.
#[derive(utoipa::ToSchema)]
#[schema(as = SetPassword)]
#[allow(dead_code)]
pub struct SetPasswordBody {
    /// A new password (the CLI's rules).
    password: Option<String>,
    /// An existing hash in PHC or modular-crypt form (argon2, bcrypt, pbkdf2, scrypt).
    password_hash: Option<String>,
}

/// Every member a create body may have; any other is refused (no mass assignment).
const MEMBERS: [&str; 10] = [
    "username",
    "password",
    "password_hash",
    "roles",
    "disabled",
    "email",
    "email_verified",
    "name",
    "given_name",
    "family_name",
];

/// A parsed `POST /users` body.
struct CreateUser {
    account: NewAccount,
    /// `roles` was given: the caller needs `admin:roles:assign` too.
    sets_roles: bool,
}

impl CreateUser {
    /// Parses the body into domain values, collecting one error per bad member. No
    /// detail repeats a value: it may be a password or a hash.
    fn parse(object: Map<String, Value>) -> Result<Self, Problem> {
        let unknown: Vec<FieldError> = object
            .keys()
            .filter(|k| !MEMBERS.contains(&k.as_str()))
            .map(|k| FieldError::new(k.chars().take(64).collect::<String>(), "unknown member"))
            .collect();
        if !unknown.is_empty() {
            return Err(Problem::invalid_fields(unknown));
        }
        let sets_roles = !matches!(object.get("roles"), None | Some(Value::Null));
        let mut f = Fields {
            object,
            errors: Vec::new(),
        };
        let username = f.parsed("username", Username::parse);
        if username.is_none() && f.errors.is_empty() {
            f.fail("username", "username is required");
        }
        let credential = f.credential();
        let roles = f.roles();
        let disabled = f.boolean("disabled");
        let profile = Profile {
            email: f.parsed("email", Email::parse),
            email_verified: f.boolean("email_verified"),
            name: f.parsed("name", |raw| PersonName::parse(raw, "name")),
            given_name: f.parsed("given_name", |raw| PersonName::parse(raw, "given_name")),
            family_name: f.parsed("family_name", |raw| PersonName::parse(raw, "family_name")),
        };
        match (username, credential) {
            (Some(username), Some(credential)) if f.errors.is_empty() => Ok(Self {
                account: NewAccount {
                    username,
                    credential,
                    roles,
                    disabled,
                    profile,
                },
                sets_roles,
            }),
            _ => Err(Problem::invalid_fields(f.errors)),
        }
    }
}

/// The members of a body being parsed, and the errors found so far.
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

    fn parsed<T>(
        &mut self,
        member: &str,
        parse: impl FnOnce(&str) -> Result<T, String>,
    ) -> Option<T> {
        let raw = self.string(member)?;
        parse(&raw).map_err(|detail| self.fail(member, detail)).ok()
    }

    /// An optional boolean member, false when absent or `null`.
    fn boolean(&mut self, member: &str) -> bool {
        match self.object.remove(member) {
            None | Some(Value::Null) => false,
            Some(Value::Bool(b)) => b,
            Some(_) => {
                self.fail(member, format!("{member} must be true or false"));
                false
            }
        }
    }

    fn roles(&mut self) -> Vec<Role> {
        let roles = match self.object.remove("roles") {
            None | Some(Value::Null) => return Vec::new(),
            Some(Value::Array(items)) => items
                .iter()
                .map(|item| match item {
                    Value::String(role) => Role::parse(role),
                    _ => Err("roles must be an array of strings".to_owned()),
                })
                .collect::<Result<_, _>>(),
            Some(_) => Err("roles must be an array of strings".to_owned()),
        };
        roles
            .map_err(|detail| self.fail("roles", detail))
            .unwrap_or_default()
    }

    /// Exactly one of `password` (the CLI's rules for a new password) and
    /// `password_hash` (an existing hash, admin-api.md §2).
    fn credential(&mut self) -> Option<Credential> {
        let password = self.parsed("password", Password::parse_new);
        let hash = self.parsed("password_hash", ImportedHash::parse);
        match (password, hash) {
            (Some(password), None) => Some(Credential::Password(password)),
            (None, Some(hash)) => Some(Credential::Hash(hash)),
            (Some(_), Some(_)) => {
                self.fail("password", "give password or password_hash, not both");
                None
            }
            (None, None) => {
                if !self.errors.iter().any(|e| e.field.starts_with("password")) {
                    self.fail("password", "password or password_hash is required");
                }
                None
            }
        }
    }
}
