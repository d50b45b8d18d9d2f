//! `POST /account/v1/register` (admin-api.md §3): self-registration, when
//! `registration.enabled`; otherwise the route is `404` like any path that is not one.

use actix_web::http::header::LOCATION;
use actix_web::{web, HttpRequest, HttpResponse};
use chrono::Utc;
use serde_json::{Map, Value};

use super::me::AccountView;
use crate::accounts::registration::SelfRegistration;
use crate::domain::{Email, Password, PersonName, Username};
use crate::routes::admin::{parse_json_object, read_json_bytes};
use crate::routes::idempotency::idempotent;
use crate::routes::problem::{FieldError, Problem};
use crate::routes::source_address;
use crate::startup::AppState;
use crate::store::Profile;

/// `{"username", "password", "email"?, "name"?}` → `201` with the account and
/// `Location: /account/v1/me`; a taken username `409`; past `registration.per_address`
/// per hour from one address `429`. With an `Idempotency-Key` (per source address), a
/// retry gets the first response.
#[utoipa::path(
    post,
    path = "/account/v1/register",
    tag = "account",
    security(()),
    request_body(content = RegisterBody, content_type = "application/json"),
    params(("Idempotency-Key" = Option<String>, Header, description = "1-255 visible ASCII characters: a retry from the same address with the same key and body within 24 h gets the first response")),
    responses(
        (status = 201, description = "The user was registered", body = AccountView,
         headers(("Location" = String, description = "`/account/v1/me`"))),
        (status = 404, description = "Registration is disabled", body = crate::routes::openapi::ProblemBody, content_type = "application/problem+json"),
        (status = 409, description = "The username is taken, or the first request with this Idempotency-Key is still running", body = crate::routes::openapi::ProblemBody, content_type = "application/problem+json"),
        (status = 422, description = "The Idempotency-Key was used with another request", body = crate::routes::openapi::ProblemBody, content_type = "application/problem+json"),
        (status = 429, description = "Too many registrations from this address", body = crate::routes::openapi::ProblemBody, content_type = "application/problem+json",
         headers(("Retry-After" = u64, description = "Seconds to wait"))),
        (status = 503, description = "A dependency is unavailable; retry later", body = crate::routes::openapi::ProblemBody, content_type = "application/problem+json"),
    )
)]
pub async fn register(
    req: HttpRequest,
    payload: web::Payload,
    state: web::Data<AppState>,
) -> Result<HttpResponse, Problem> {
    if !state.registration.enabled() {
        return Err(Problem::not_found());
    }
    let body = read_json_bytes(&req, payload).await?;
    let source = source_address(&req, &state.trusted_proxies);
    let caller = format!("addr:{source}");
    idempotent(state.store.as_ref(), &caller, &req, &body, || async {
        let new = parse(parse_json_object(&body)?)?;
        let user = state
            .accounts
            .register(&state.registration, new, source, Utc::now())
            .await?;
        Ok(HttpResponse::Created()
            .insert_header((LOCATION, "/account/v1/me"))
            .json(AccountView::of(&user)))
    })
    .await
}

/// The body of `POST /account/v1/register`, for the OpenAPI document (the handler parses
/// the object itself to refuse unknown members).
#[derive(utoipa::ToSchema)]
#[schema(as = Register)]
#[allow(dead_code)]
pub struct RegisterBody {
    username: String,
    /// The CLI's rules: at least 8 characters, at most 1024 bytes.
    password: String,
    email: Option<String>,
    name: Option<String>,
}

const MEMBERS: [&str; 4] = ["username", "password", "email", "name"];

/// The body as domain values, one error per bad member; no detail repeats a value.
fn parse(mut object: Map<String, Value>) -> Result<SelfRegistration, Problem> {
    let mut errors: Vec<FieldError> = object
        .keys()
        .filter(|k| !MEMBERS.contains(&k.as_str()))
        .map(|k| FieldError::new(k.chars().take(64).collect::<String>(), "unknown member"))
        .collect();
    let username = member(&mut object, &mut errors, "username", true, Username::parse);
    let password = member(
        &mut object,
        &mut errors,
        "password",
        true,
        Password::parse_new,
    );
    let email = member(&mut object, &mut errors, "email", false, Email::parse);
    let name = member(&mut object, &mut errors, "name", false, |raw| {
        PersonName::parse(raw, "name")
    });
    match (username, password) {
        (Some(username), Some(password)) if errors.is_empty() => Ok(SelfRegistration {
            username,
            password,
            profile: Profile {
                email,
                name,
                ..Profile::default()
            },
        }),
        _ => Err(Problem::invalid_fields(errors)),
    }
}

/// One string member parsed, or an error noted; `null` is the same as absent.
fn member<T>(
    object: &mut Map<String, Value>,
    errors: &mut Vec<FieldError>,
    name: &str,
    required: bool,
    parse: impl FnOnce(&str) -> Result<T, String>,
) -> Option<T> {
    match object.remove(name) {
        Some(Value::String(raw)) => parse(&raw)
            .map_err(|detail| errors.push(FieldError::new(name, detail)))
            .ok(),
        None | Some(Value::Null) => {
            if required {
                errors.push(FieldError::new(name, format!("{name} is required")));
            }
            None
        }
        Some(_) => {
            errors.push(FieldError::new(name, format!("{name} must be a string")));
            None
        }
    }
}
