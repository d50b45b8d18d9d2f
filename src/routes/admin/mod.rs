//! The admin API, `/admin/v1` (admin-api.md §2): one file per resource, errors as
//! RFC 9457 problems (`routes/problem.rs`), callers authenticated by `auth::AdminCaller`.

pub mod audit;
pub mod auth;
pub mod clients;
pub mod keys;
pub mod sessions;
pub mod users;

use std::collections::BTreeMap;

use actix_web::http::header::{IF_MATCH, LINK};
use actix_web::{web, HttpRequest, HttpResponse};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use chrono::{DateTime, SecondsFormat, Utc};
use serde::Serialize;
use serde_json::{Map, Value};

use super::body;
use super::problem::{FieldError, Kind, Problem};
use crate::json;

/// The scopes of admin-api.md §2's table that the mounted routes need.
pub mod scope {
    pub const USERS_READ: &str = "admin:users:read";
    pub const USERS_WRITE: &str = "admin:users:write";
    /// Needed as well to set `roles` (a caller that manages users cannot mint admins).
    pub const ROLES_ASSIGN: &str = "admin:roles:assign";
    pub const CLIENTS_READ: &str = "admin:clients:read";
    pub const CLIENTS_WRITE: &str = "admin:clients:write";
    pub const KEYS_READ: &str = "admin:keys:read";
    pub const KEYS_WRITE: &str = "admin:keys:write";
    pub const AUDIT_READ: &str = "admin:audit:read";
}

/// Declares a table of routes once: `routes(cfg)` registers them (one resource per path,
/// any other method `405` as a problem), and `ROUTES` lists every (method, path) for the
/// OpenAPI coverage test. A route added here and missing from the OpenAPI document fails
/// that test.
#[macro_export]
macro_rules! route_table {
    ($( $path:literal => { $( $method:ident : $handler:path ),+ $(,)? } ),* $(,)?) => {
        /// Every route of this API as (lower-case method, path under its scope).
        pub const ROUTES: &[(&str, &str)] = &[ $( $( (stringify!($method), $path) ),+ ),* ];

        /// Mounted under the API's scope by `startup.rs`.
        pub fn routes(cfg: &mut actix_web::web::ServiceConfig) {
            $(
                cfg.service(
                    actix_web::web::resource($path)
                        $( .route(actix_web::web::$method().to($handler)) )+
                        .default_service(actix_web::web::to(|| {
                            $crate::routes::problem::method_not_allowed(
                                &[ $( stringify!($method) ),+ ],
                            )
                        })),
                );
            )*
        }
    };
}

crate::route_table! {
    "/openapi.json" => { get: crate::routes::openapi::document },
    "/users" => { get: users::list, post: users::create },
    // Before `/users/{id}`: the first resource that matches a path serves it.
    "/users/import" => { post: users::import },
    "/users/{id}" => { get: users::get, patch: users::update, delete: users::delete },
    "/users/{id}/password" => { put: users::set_password },
    "/users/{id}/sessions" => { get: sessions::list, delete: sessions::end_all },
    "/sessions/{sid}" => { delete: sessions::end },
    "/clients" => { get: clients::list, post: clients::create },
    "/clients/{id}" => { get: clients::get, patch: clients::update, delete: clients::remove },
    "/clients/{id}/secret" => { post: clients::rotate_secret },
    "/clients/{id}/secret/previous" => { delete: clients::remove_previous_secret },
    "/keys" => { get: keys::list },
    "/keys/rotate" => { post: keys::rotate },
    "/keys/{kid}" => { delete: keys::remove },
    "/audit" => { get: audit::list },
}

/// A request body that is one JSON object (admin-api.md §1): `application/json` or `415`,
/// at most 16 KiB or `413`, no duplicate member at any depth (`json.rs`) or `400`.
pub async fn read_json_object(
    req: &HttpRequest,
    payload: web::Payload,
) -> Result<Map<String, Value>, Problem> {
    parse_json_object(&read_json_bytes(req, payload).await?)
}

/// The raw bytes of a JSON request body: `application/json` or `415`, at most 16 KiB or
/// `413` (for handlers that need the bytes, e.g. to digest them for `Idempotency-Key`).
pub async fn read_json_bytes(
    req: &HttpRequest,
    payload: web::Payload,
) -> Result<web::Bytes, Problem> {
    if body::media_type(req).as_deref() != Some("application/json") {
        return Err(Problem::new(
            Kind::UnsupportedMediaType,
            "content type must be application/json",
        ));
    }
    Ok(body::read_bytes(req, payload).await?.freeze())
}

/// A `PATCH` body (admin-api.md §1): a JSON merge patch (RFC 7396) that is an object,
/// as `application/json` or `application/merge-patch+json`, otherwise as
/// `read_json_object`.
pub async fn read_merge_patch(
    req: &HttpRequest,
    payload: web::Payload,
) -> Result<Map<String, Value>, Problem> {
    match body::media_type(req).as_deref() {
        Some("application/json" | "application/merge-patch+json") => {
            parse_json_object(&body::read_bytes(req, payload).await?)
        }
        _ => Err(Problem::new(
            Kind::UnsupportedMediaType,
            "content type must be application/merge-patch+json or application/json",
        )),
    }
}

/// One JSON object without duplicate members at any depth, or `400`.
pub fn parse_json_object(bytes: &[u8]) -> Result<Map<String, Value>, Problem> {
    json::from_slice(bytes).map_err(|_| {
        Problem::new(
            Kind::InvalidRequest,
            "request body is not a JSON object without duplicate members",
        )
    })
}

/// `400` naming every member of `object` that is not in `allowed` (no mass assignment).
pub fn refuse_unknown_members(
    object: &Map<String, Value>,
    allowed: &[&str],
) -> Result<(), Problem> {
    let unknown: Vec<FieldError> = object
        .keys()
        .filter(|k| !allowed.contains(&k.as_str()))
        .map(|k| FieldError::new(k.chars().take(64).collect::<String>(), "unknown member"))
        .collect();
    if unknown.is_empty() {
        Ok(())
    } else {
        Err(Problem::invalid_fields(unknown))
    }
}

/// RFC 3339 in UTC (admin-api.md §1).
pub fn timestamp(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// The entity tags of `If-Match` (RFC 9110 §13.1.1): `None` when absent or `*` (any
/// current version: the write is unconditional, and a missing resource is `404`
/// anyway). A weak tag never matches a strong comparison, so it is kept as written and
/// fails.
pub fn if_match(req: &HttpRequest) -> Result<Option<Vec<String>>, Problem> {
    let mut tags = Vec::new();
    for value in req.headers().get_all(IF_MATCH) {
        let value = value
            .to_str()
            .map_err(|_| Problem::new(Kind::InvalidRequest, "If-Match is not visible ASCII"))?;
        for tag in value.split(',').map(str::trim).filter(|t| !t.is_empty()) {
            if tag == "*" {
                return Ok(None);
            }
            tags.push(tag.to_owned());
        }
    }
    Ok((!tags.is_empty()).then_some(tags))
}

/// The query parameters of a listing (admin-api.md §1): each at most once, none but
/// `allowed`, else `400`.
pub struct Query(BTreeMap<String, String>);

impl Query {
    pub fn parse(req: &HttpRequest, allowed: &[&str]) -> Result<Self, Problem> {
        let mut params = BTreeMap::new();
        let mut errors = Vec::new();
        for (name, value) in form_urlencoded::parse(req.query_string().as_bytes()) {
            let name = name.into_owned();
            if !allowed.contains(&name.as_str()) {
                errors.push(FieldError::new(
                    name.chars().take(64).collect::<String>(),
                    "unknown query parameter",
                ));
            } else if params.insert(name.clone(), value.into_owned()).is_some() {
                errors.push(FieldError::new(name, "given more than once"));
            }
        }
        if errors.is_empty() {
            Ok(Self(params))
        } else {
            let mut p = Problem::invalid_fields(errors);
            p.detail = "the query has invalid parameters".to_owned();
            Err(p)
        }
    }

    pub fn get(&self, name: &str) -> Option<&str> {
        self.0.get(name).map(String::as_str)
    }

    /// `limit`: 1 to 500, 100 when absent.
    pub fn limit(&self) -> Result<usize, Problem> {
        match self.get("limit") {
            None => Ok(100),
            Some(raw) => raw
                .parse::<usize>()
                .ok()
                .filter(|n| (1..=500).contains(n))
                .ok_or_else(|| query_error("limit", "limit must be an integer from 1 to 500")),
        }
    }

    /// `cursor`: the bytes of its opaque form (non-empty base64url without padding,
    /// `CURSOR_PATTERN`), decoded by `decode`; malformed `400`.
    pub fn cursor<T>(&self, decode: impl FnOnce(&[u8]) -> Option<T>) -> Result<Option<T>, Problem> {
        self.get("cursor")
            .map(|raw| {
                decode_cursor_bytes(raw)
                    .and_then(|bytes| decode(&bytes))
                    .ok_or_else(|| query_error("cursor", "cursor is not one this API returned"))
            })
            .transpose()
    }
}

/// What every cursor is on the wire: base64url without padding (RFC 4648 §5), in its
/// canonical form (unused trailing bits zero, as `URL_SAFE_NO_PAD` decodes), non-empty.
pub const CURSOR_PATTERN: &str =
    "^(?:[A-Za-z0-9_-]{4})*(?:[A-Za-z0-9_-]{4}|[A-Za-z0-9_-]{2}[AEIMQUYcgkosw048]|[A-Za-z0-9_-][AQgw])$";

/// The bytes of a cursor matching `CURSOR_PATTERN`; `None` for anything else.
pub fn decode_cursor_bytes(raw: &str) -> Option<Vec<u8>> {
    if raw.is_empty() {
        return None;
    }
    URL_SAFE_NO_PAD.decode(raw).ok()
}

/// A cursor of a listing ordered by a text key: the key to start after. The server
/// emits the last key of a page; any other well-formed cursor is a position too (bytes
/// that are not UTF-8 read lossily; a NUL, which no key contains, ends the text: the
/// same position for every key, and a text Postgres can bind).
pub fn text_position(bytes: &[u8]) -> String {
    let text = String::from_utf8_lossy(bytes);
    match text.split_once('\0') {
        Some((before, _)) => before.to_owned(),
        None => text.into_owned(),
    }
}

/// A `400` naming one query parameter.
pub fn query_error(name: &str, detail: &str) -> Problem {
    let mut p = Problem::invalid_fields(vec![FieldError::new(name, detail)]);
    p.detail = "the query has invalid parameters".to_owned();
    p
}

/// A page of a keyset listing: `{"items", "next_cursor"}` and, when there is a next
/// page, `Link: <...>; rel="next"` (RFC 8288) repeating the query with the new cursor.
pub fn page<T: Serialize>(
    req: &HttpRequest,
    query: &Query,
    items: Vec<T>,
    next: Option<impl AsRef<[u8]>>,
) -> HttpResponse {
    let next_cursor = next.map(|raw| URL_SAFE_NO_PAD.encode(raw));
    let mut response = HttpResponse::Ok();
    if let Some(cursor) = &next_cursor {
        let mut link = form_urlencoded::Serializer::new(String::new());
        for (name, value) in query.0.iter().filter(|(name, _)| *name != "cursor") {
            link.append_pair(name, value);
        }
        link.append_pair("cursor", cursor);
        response.insert_header((
            LINK,
            format!("<{}?{}>; rel=\"next\"", req.path(), link.finish()),
        ));
    }
    response.json(Page { items, next_cursor })
}

#[derive(Serialize)]
struct Page<T> {
    items: Vec<T>,
    next_cursor: Option<String>,
}
