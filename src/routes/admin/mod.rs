//! The admin API, `/admin/v1` (admin-api.md §2): one file per resource, errors as
//! RFC 9457 problems (`routes/problem.rs`), callers authenticated by `auth::AdminCaller`.

pub mod auth;
pub mod users;

use actix_web::{web, HttpRequest};
use serde_json::{Map, Value};

use super::body;
use super::problem::{Kind, Problem};
use crate::json;

/// The scopes of admin-api.md §2's table that the mounted routes need.
pub mod scope {
    pub const USERS_READ: &str = "admin:users:read";
    pub const USERS_WRITE: &str = "admin:users:write";
    /// Needed as well to set `roles` (a caller that manages users cannot mint admins).
    pub const ROLES_ASSIGN: &str = "admin:roles:assign";
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
}

/// A request body that is one JSON object (admin-api.md §1): `application/json` or `415`,
/// at most 16 KiB or `413`, no duplicate member at any depth (`json.rs`) or `400`.
pub async fn read_json_object(
    req: &HttpRequest,
    payload: web::Payload,
) -> Result<Map<String, Value>, Problem> {
    if body::media_type(req).as_deref() != Some("application/json") {
        return Err(Problem::new(
            Kind::UnsupportedMediaType,
            "content type must be application/json",
        ));
    }
    read_object(req, payload).await
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
            read_object(req, payload).await
        }
        _ => Err(Problem::new(
            Kind::UnsupportedMediaType,
            "content type must be application/merge-patch+json or application/json",
        )),
    }
}

async fn read_object(
    req: &HttpRequest,
    payload: web::Payload,
) -> Result<Map<String, Value>, Problem> {
    let bytes = body::read_bytes(req, payload).await?;
    json::from_slice(&bytes).map_err(|_| {
        Problem::new(
            Kind::InvalidRequest,
            "request body is not a JSON object without duplicate members",
        )
    })
}
