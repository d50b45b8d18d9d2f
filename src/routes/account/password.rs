//! `POST /account/v1/password` (admin-api.md §3): a user changes their own password.

use actix_web::{web, HttpRequest, HttpResponse};
use chrono::Utc;
use serde_json::Value;

use super::auth::AccountCaller;
use crate::domain::Password;
use crate::routes::admin::read_json_object;
use crate::routes::problem::{FieldError, Problem};
use crate::startup::AppState;

/// `{"current_password", "new_password"}` → `204`. The current password is checked like
/// a login (argon2 pool, login throttle: wrong `400 invalid-current-password`, throttled
/// `429`); the new one follows the CLI's rules. Every other session of the user ends;
/// the calling one lives on.
#[utoipa::path(
    post,
    path = "/account/v1/password",
    tag = "account",
    request_body(content = ChangePasswordBody, content_type = "application/json"),
    responses(
        (status = 204, description = "The password changed; every other session ended"),
        (status = 400, description = "Invalid body (`invalid-request`) or wrong current password (`invalid-current-password`)", body = crate::routes::openapi::ProblemBody, content_type = "application/problem+json"),
        (status = 429, description = "Too many failed password checks (the login throttle)", body = crate::routes::openapi::ProblemBody, content_type = "application/problem+json",
         headers(("Retry-After" = u64, description = "Seconds to wait"))),
    )
)]
pub async fn change(
    caller: AccountCaller,
    req: HttpRequest,
    payload: web::Payload,
    state: web::Data<AppState>,
) -> Result<HttpResponse, Problem> {
    let mut object = read_json_object(&req, payload).await?;
    let mut errors: Vec<FieldError> = object
        .keys()
        .filter(|k| !matches!(k.as_str(), "current_password" | "new_password"))
        .map(|k| FieldError::new(k.chars().take(64).collect::<String>(), "unknown member"))
        .collect();
    let mut take =
        |member: &str, parse: fn(&str) -> Result<Password, String>| match object.remove(member) {
            Some(Value::String(raw)) => parse(&raw)
                .map_err(|detail| errors.push(FieldError::new(member, detail)))
                .ok(),
            Some(_) => {
                errors.push(FieldError::new(
                    member,
                    format!("{member} must be a string"),
                ));
                None
            }
            None => {
                errors.push(FieldError::new(member, format!("{member} is required")));
                None
            }
        };
    let current = take("current_password", Password::parse);
    let new = take("new_password", Password::parse_new);
    let (Some(current), Some(new), true) = (current, new, errors.is_empty()) else {
        return Err(Problem::invalid_fields(errors));
    };
    state
        .accounts
        .change_own_password(
            &state.authenticator,
            &caller.owner(),
            &current,
            new,
            Utc::now(),
        )
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// The body of `POST /account/v1/password`, for the OpenAPI document (the handler parses
/// the object itself to refuse unknown members).
#[derive(utoipa::ToSchema)]
#[schema(as = ChangePassword)]
#[allow(dead_code)]
pub struct ChangePasswordBody {
    current_password: String,
    /// The CLI's rules: at least 8 characters, at most 1024 bytes.
    new_password: String,
}
