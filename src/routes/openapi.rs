//! The OpenAPI 3.1 document of the admin and account APIs (admin-api.md §1), generated
//! from the handlers' `#[utoipa::path]` annotations and served without authentication at
//! `GET /admin/v1/openapi.json`. It is the oracle schemathesis tests the server against,
//! so it must say everything a route can answer:
//!
//! - each handler's annotation lists its own outcomes (`201`, `409`, `412`, ...);
//! - `Common` adds, once for every operation, the answers the shared machinery gives:
//!   `401`/`403`/`503` from `AdminCaller`/`AccountCaller` and the stores, `400`/`413`/`415`
//!   where a body or query is read, `404` where the path names a resource.
//!
//! Two tests hold it to the code (tests/api/openapi.rs): every route of every
//! `route_table!` is in the document (and nothing else is), and the committed
//! `docs/openapi.json` equals what the code generates.

use actix_web::{HttpResponse, ResponseError};
use utoipa::openapi::path::Operation;
use utoipa::openapi::response::ResponseBuilder;
use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityRequirement, SecurityScheme};
use utoipa::openapi::{Content, OpenApi as Document, Ref, RefOr};
use utoipa::{Modify, OpenApi, ToSchema};

use super::problem::PROBLEM_JSON;
use super::{account, admin};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "authd admin and account API",
        description = "Manage users, sessions, clients and keys (`/admin/v1`, client_credentials \
                       tokens with audience `authd-admin`), and a user's own account \
                       (`/account/v1`, the user's access token). Errors are RFC 9457 problems."
    ),
    paths(
        document,
        admin::users::list,
        admin::users::create,
        admin::users::import,
        admin::users::get,
        admin::users::update,
        admin::users::delete,
        admin::users::set_password,
        admin::sessions::list,
        admin::sessions::end_all,
        admin::sessions::end,
        account::me::get,
        account::password::change,
        account::sessions::list,
        account::sessions::end_others,
        account::sessions::end,
        account::register::register,
        admin::clients::list,
        admin::clients::get,
        admin::clients::create,
        admin::clients::update,
        admin::clients::remove,
        admin::clients::rotate_secret,
        admin::clients::remove_previous_secret,
        admin::keys::list,
        admin::keys::rotate,
        admin::keys::remove,
        admin::audit::list,
    ),
    components(schemas(ProblemBody, FieldErrorBody)),
    modifiers(&Common),
    security(("bearer" = []))
)]
pub struct ApiDoc;

/// The document as served and committed: pretty JSON with a final newline.
pub fn document_json() -> Result<String, serde_json::Error> {
    // The input rules are JSON Schema that utoipa's model cannot hold (`not`, `const`,
    // `contains`, untyped `enum`): they are written into the JSON (`openapi_rules`).
    let mut doc = serde_json::to_value(ApiDoc::openapi())?;
    super::openapi_rules::apply(&mut doc);
    let mut json = serde_json::to_string_pretty(&doc)?;
    json.push('\n');
    Ok(json)
}

/// `GET /admin/v1/openapi.json` — this document (no authentication).
#[utoipa::path(
    get,
    path = "/admin/v1/openapi.json",
    tag = "meta",
    security(()),
    responses((status = 200, description = "The OpenAPI 3.1 document", content_type = "application/json", body = Object))
)]
pub async fn document() -> HttpResponse {
    match document_json() {
        Ok(json) => HttpResponse::Ok()
            .content_type("application/json")
            .body(json),
        Err(e) => {
            tracing::error!(error = %e, "cannot serialise the OpenAPI document");
            super::problem::Problem::internal().error_response()
        }
    }
}

/// An RFC 9457 problem (`application/problem+json`) as every admin/account error is.
#[derive(ToSchema)]
#[schema(as = Problem)]
#[allow(dead_code)] // a schema only: `problem.rs` renders the real body
pub struct ProblemBody {
    /// A stable URN per kind of error, e.g. `urn:authd:problem:username-taken`.
    #[schema(rename = "type")]
    type_uri: String,
    title: String,
    status: u16,
    detail: String,
    /// For a body that failed validation: one entry per member.
    errors: Option<Vec<FieldErrorBody>>,
}

#[derive(ToSchema)]
#[schema(as = FieldError)]
#[allow(dead_code)]
pub struct FieldErrorBody {
    field: String,
    detail: String,
}

/// A problem response of `status` for the document.
fn problem(description: &str) -> utoipa::openapi::Response {
    ResponseBuilder::new()
        .description(description)
        .content(
            PROBLEM_JSON,
            Content::new(Some(RefOr::Ref(Ref::from_schema_name("Problem")))),
        )
        .build()
}

/// Adds the bearer scheme and the answers every operation shares (module doc).
struct Common;

impl Modify for Common {
    fn modify(&self, doc: &mut Document) {
        let components = doc.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(Http::new(HttpAuthScheme::Bearer)),
        );
        for (path, item) in doc.paths.paths.iter_mut() {
            let names_a_resource = path.contains('{');
            for (method, op) in [
                ("get", &mut item.get),
                ("post", &mut item.post),
                ("put", &mut item.put),
                ("patch", &mut item.patch),
                ("delete", &mut item.delete),
            ] {
                if let Some(op) = op {
                    // Unique by construction (handler names repeat across resources).
                    op.operation_id = Some(operation_id(method, path));
                    add_common(op, names_a_resource);
                }
            }
        }
    }
}

/// `post /admin/v1/users/{id}/password` → `post_admin_v1_users_id_password`.
fn operation_id(method: &str, path: &str) -> String {
    let words: Vec<String> = path
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_owned)
        .collect();
    format!("{method}_{}", words.join("_"))
}

fn add_common(op: &mut Operation, names_a_resource: bool) {
    // `security(())` on a route is one empty requirement: no authentication.
    let authenticated = op.security.as_ref().is_none_or(|requirements| {
        requirements
            .iter()
            .any(|r| *r != SecurityRequirement::default())
    });
    let reads_input = op.request_body.is_some()
        || op
            .parameters
            .as_ref()
            .is_some_and(|params| !params.is_empty());
    let mut common: Vec<(&str, &str)> = Vec::new();
    if authenticated {
        common.push(("401", "Missing, invalid or revoked access token"));
        common.push(("403", "The token may not call this route"));
        common.push(("503", "A dependency is unavailable; retry later"));
    }
    if reads_input {
        common.push(("400", "Invalid request"));
    }
    if op.request_body.is_some() {
        common.push(("413", "Request body too large"));
        common.push(("415", "Unsupported content type"));
    }
    if names_a_resource {
        common.push(("404", "No such resource"));
    }
    for (status, description) in common {
        op.responses
            .responses
            .entry(status.to_owned())
            .or_insert_with(|| RefOr::T(problem(description)));
    }
}
