//! The RFC 9457 problem body of the admin and account APIs (admin-api.md §1), rendered in
//! one place: `application/problem+json` `{"type", "title", "status", "detail"}` and, for
//! fields that failed validation, `"errors": [{"field", "detail"}]`. The token endpoints
//! keep the RFC 6749 body of `error.rs`.
//!
//! `type` is a stable URN per kind. Details are phrases chosen by our code: never a
//! secret (password, hash, token); 5xx details are opaque and the cause goes to the log.

use actix_web::http::header::{self, HeaderValue};
use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};
use serde::Serialize;

use super::body::{BodyError, MAX_BODY_BYTES};
use crate::accounts::AccountError;
use crate::auth::PoolError;
use crate::keys::operations::KeyOpError;
use crate::sessions::AccessError;
use crate::store::StoreError;

/// RFC 9457 §3 media type.
pub const PROBLEM_JSON: &str = "application/problem+json";

/// The kinds of problem; each has one `type` URN, title and status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    InvalidRequest,
    Unauthorized,
    Forbidden,
    InsufficientScope,
    NotFound,
    MethodNotAllowed,
    UsernameTaken,
    ClientIdTaken,
    /// `DELETE /keys/{kid}` on the active key.
    KeyActive,
    /// `POST /keys/rotate` while a next key is already waiting.
    NextKeyWaiting,
    /// `If-Match` did not match the current `ETag`.
    PreconditionFailed,
    /// An `Idempotency-Key` reused with a different body.
    IdempotencyKeyReused,
    /// An `Idempotency-Key` whose first request is still running.
    IdempotencyKeyInProgress,
    /// `POST /account/v1/password` with a wrong current password.
    InvalidCurrentPassword,
    TooManyRequests,
    UnsupportedMediaType,
    PayloadTooLarge,
    Unavailable,
    Internal,
}

impl Kind {
    fn parts(self) -> (&'static str, &'static str, StatusCode) {
        match self {
            Self::InvalidRequest => (
                "urn:authd:problem:invalid-request",
                "Invalid request",
                StatusCode::BAD_REQUEST,
            ),
            Self::Unauthorized => (
                "urn:authd:problem:unauthorized",
                "Unauthorized",
                StatusCode::UNAUTHORIZED,
            ),
            Self::Forbidden => (
                "urn:authd:problem:forbidden",
                "Forbidden",
                StatusCode::FORBIDDEN,
            ),
            Self::InsufficientScope => (
                "urn:authd:problem:insufficient-scope",
                "Insufficient scope",
                StatusCode::FORBIDDEN,
            ),
            Self::NotFound => (
                "urn:authd:problem:not-found",
                "Not found",
                StatusCode::NOT_FOUND,
            ),
            Self::MethodNotAllowed => (
                "urn:authd:problem:method-not-allowed",
                "Method not allowed",
                StatusCode::METHOD_NOT_ALLOWED,
            ),
            Self::UsernameTaken => (
                "urn:authd:problem:username-taken",
                "Username taken",
                StatusCode::CONFLICT,
            ),
            Self::ClientIdTaken => (
                "urn:authd:problem:client-id-taken",
                "Client id taken",
                StatusCode::CONFLICT,
            ),
            Self::KeyActive => (
                "urn:authd:problem:key-active",
                "Key is active",
                StatusCode::CONFLICT,
            ),
            Self::NextKeyWaiting => (
                "urn:authd:problem:next-key-waiting",
                "A next key is already waiting",
                StatusCode::CONFLICT,
            ),
            Self::PreconditionFailed => (
                "urn:authd:problem:precondition-failed",
                "Precondition failed",
                StatusCode::PRECONDITION_FAILED,
            ),
            Self::IdempotencyKeyReused => (
                "urn:authd:problem:idempotency-key-reused",
                "Idempotency key reused with another request",
                StatusCode::UNPROCESSABLE_ENTITY,
            ),
            Self::IdempotencyKeyInProgress => (
                "urn:authd:problem:idempotency-key-in-progress",
                "Idempotency key in progress",
                StatusCode::CONFLICT,
            ),
            Self::InvalidCurrentPassword => (
                "urn:authd:problem:invalid-current-password",
                "Invalid current password",
                StatusCode::BAD_REQUEST,
            ),
            Self::TooManyRequests => (
                "urn:authd:problem:too-many-requests",
                "Too many requests",
                StatusCode::TOO_MANY_REQUESTS,
            ),
            Self::UnsupportedMediaType => (
                "urn:authd:problem:unsupported-media-type",
                "Unsupported media type",
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ),
            Self::PayloadTooLarge => (
                "urn:authd:problem:payload-too-large",
                "Payload too large",
                StatusCode::PAYLOAD_TOO_LARGE,
            ),
            Self::Unavailable => (
                "urn:authd:problem:unavailable",
                "Service unavailable",
                StatusCode::SERVICE_UNAVAILABLE,
            ),
            Self::Internal => (
                "urn:authd:problem:internal",
                "Internal error",
                StatusCode::INTERNAL_SERVER_ERROR,
            ),
        }
    }

    pub fn type_uri(self) -> &'static str {
        self.parts().0
    }

    pub const ALL: [Kind; 19] = [
        Kind::InvalidRequest,
        Kind::Unauthorized,
        Kind::Forbidden,
        Kind::InsufficientScope,
        Kind::NotFound,
        Kind::MethodNotAllowed,
        Kind::UsernameTaken,
        Kind::ClientIdTaken,
        Kind::KeyActive,
        Kind::NextKeyWaiting,
        Kind::PreconditionFailed,
        Kind::IdempotencyKeyReused,
        Kind::IdempotencyKeyInProgress,
        Kind::InvalidCurrentPassword,
        Kind::TooManyRequests,
        Kind::UnsupportedMediaType,
        Kind::PayloadTooLarge,
        Kind::Unavailable,
        Kind::Internal,
    ];
}

/// The default service of every admin/account resource: a method the path does not
/// have (RFC 9110 §15.5.6), with the `Allow` header listing the ones it has.
pub async fn method_not_allowed(allowed: &'static [&'static str]) -> HttpResponse {
    let mut response = Problem::new(
        Kind::MethodNotAllowed,
        "the resource does not allow this method",
    )
    .error_response();
    let allow = allowed
        .iter()
        .map(|m| m.to_ascii_uppercase())
        .collect::<Vec<_>>()
        .join(", ");
    if let Ok(value) = HeaderValue::from_str(&allow) {
        response.headers_mut().insert(header::ALLOW, value);
    }
    response
}

/// The default service of the admin and account scopes: a path that is not a route.
pub async fn no_such_route() -> HttpResponse {
    Problem::not_found().error_response()
}

/// One field that failed validation (the `errors` extension member).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FieldError {
    pub field: String,
    pub detail: String,
}

impl FieldError {
    pub fn new(field: impl Into<String>, detail: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            detail: detail.into(),
        }
    }
}

/// An RFC 9457 problem with its challenge and retry headers.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{kind:?}: {detail}")]
pub struct Problem {
    pub kind: Kind,
    pub detail: String,
    pub errors: Vec<FieldError>,
    challenge: Option<String>,
    retry_after: Option<u64>,
}

#[derive(Serialize)]
struct Body<'a> {
    #[serde(rename = "type")]
    type_uri: &'a str,
    title: &'a str,
    status: u16,
    detail: &'a str,
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    errors: &'a [FieldError],
}

impl Problem {
    pub fn new(kind: Kind, detail: impl Into<String>) -> Self {
        Self {
            kind,
            detail: detail.into(),
            errors: Vec::new(),
            challenge: None,
            retry_after: None,
        }
    }

    /// A 400 naming the fields that failed validation.
    pub fn invalid_fields(errors: Vec<FieldError>) -> Self {
        let mut p = Self::new(Kind::InvalidRequest, "the request body has invalid members");
        p.errors = errors;
        p
    }

    /// 401 (RFC 6750 §3): no token at all gets a bare challenge; a presented token that
    /// failed gets `error="invalid_token"` too.
    pub fn unauthorized(token_presented: bool) -> Self {
        let mut p = Self::new(
            Kind::Unauthorized,
            "a valid bearer access token is required",
        );
        p.challenge = Some(if token_presented {
            r#"Bearer realm="authd", error="invalid_token""#.to_owned()
        } else {
            r#"Bearer realm="authd""#.to_owned()
        });
        p
    }

    /// 403 for a valid token without the scope a route needs (RFC 6750 §3.1).
    pub fn insufficient_scope(scope: &str) -> Self {
        let mut p = Self::new(
            Kind::InsufficientScope,
            format!("the token lacks the scope {scope}"),
        );
        p.challenge = Some(format!(
            r#"Bearer realm="authd", error="insufficient_scope", scope="{scope}""#
        ));
        p
    }

    pub fn not_found() -> Self {
        Self::new(Kind::NotFound, "no such resource")
    }

    /// 503 with `Retry-After` (RFC 9110 §10.2.3).
    pub fn unavailable(retry_after: u64) -> Self {
        let mut p = Self::new(Kind::Unavailable, "temporarily unavailable, retry later");
        p.retry_after = Some(retry_after);
        p
    }

    /// 429 with `Retry-After` (RFC 6585 §4).
    pub fn too_many_requests(retry_after: u64) -> Self {
        let mut p = Self::new(Kind::TooManyRequests, "too many attempts, retry later");
        p.retry_after = Some(retry_after);
        p
    }

    /// 500 with an opaque detail; the caller logs the cause.
    pub fn internal() -> Self {
        Self::new(Kind::Internal, "internal error")
    }
}

impl ResponseError for Problem {
    fn status_code(&self) -> StatusCode {
        self.kind.parts().2
    }

    fn error_response(&self) -> HttpResponse {
        let (type_uri, title, status) = self.kind.parts();
        let body = Body {
            type_uri,
            title,
            status: status.as_u16(),
            detail: &self.detail,
            errors: &self.errors,
        };
        let mut response = HttpResponse::build(status);
        response.insert_header((header::CACHE_CONTROL, HeaderValue::from_static("no-store")));
        if let Some(challenge) = &self.challenge {
            response.insert_header((header::WWW_AUTHENTICATE, challenge.as_str()));
        }
        if let Some(secs) = self.retry_after {
            response.insert_header((header::RETRY_AFTER, secs.to_string()));
        }
        match serde_json::to_string(&body) {
            Ok(json) => response.content_type(PROBLEM_JSON).body(json),
            Err(_) => HttpResponse::InternalServerError().finish(),
        }
    }
}

impl From<BodyError> for Problem {
    fn from(e: BodyError) -> Self {
        match e {
            BodyError::TooLarge => Self::new(
                Kind::PayloadTooLarge,
                format!("request body is larger than {MAX_BODY_BYTES} bytes"),
            ),
            BodyError::Unreadable | BodyError::TimedOut => {
                Self::new(Kind::InvalidRequest, "could not read the request body")
            }
        }
    }
}

impl From<StoreError> for Problem {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Unavailable(cause) => {
                tracing::warn!(error = %cause, "database unavailable");
                Self::unavailable(5)
            }
            other => {
                tracing::error!(error = ?anyhow::Error::from(other), "database error");
                Self::internal()
            }
        }
    }
}

impl From<PoolError> for Problem {
    fn from(e: PoolError) -> Self {
        match e {
            PoolError::Busy => {
                tracing::warn!("argon2 queue full: shedding load with 503");
                Self::unavailable(1)
            }
            other => {
                tracing::error!(error = %other, "argon2 hashing failed");
                Self::internal()
            }
        }
    }
}

impl From<AccessError> for Problem {
    fn from(e: AccessError) -> Self {
        match e {
            AccessError::Rejected(rejection) => {
                tracing::debug!(?rejection, "access token rejected");
                Self::unauthorized(true)
            }
            AccessError::Revoked => Self::unauthorized(true),
            AccessError::Revocation(cause) => {
                // Fail closed: without the revocation state no token is accepted.
                tracing::warn!(error = %cause, "revocation state unavailable");
                Self::unavailable(2)
            }
            AccessError::Store(e) => e.into(),
        }
    }
}

impl From<AccountError> for Problem {
    fn from(e: AccountError) -> Self {
        match e {
            AccountError::UsernameTaken(_) => {
                Self::new(Kind::UsernameTaken, "the username is already taken")
            }
            AccountError::NoSuchUser(_)
            | AccountError::UnknownUser(_)
            | AccountError::NoSuchSession
            | AccountError::RegistrationDisabled => Self::not_found(),
            AccountError::WrongCurrentPassword => Self::new(
                Kind::InvalidCurrentPassword,
                "the current password is not right",
            ),
            AccountError::Throttled(wait) => Self::too_many_requests(wait.as_secs().max(1)),
            AccountError::ThrottleUnavailable(cause) => {
                // Fail closed, as logins do.
                tracing::warn!(error = %cause, "throttle state unavailable");
                Self::unavailable(2)
            }
            AccountError::NoSuchClient(_) | AccountError::NoPreviousSecret(_) => Self::not_found(),
            AccountError::ClientTaken(_) => {
                Self::new(Kind::ClientIdTaken, "the client id is already taken")
            }
            AccountError::DefaultClient(_) => Self::new(
                Kind::Forbidden,
                "the configured default client (default_client.id) is read-only here",
            ),
            AccountError::DefaultScopesNotAllowed => Self::invalid_fields(vec![FieldError::new(
                "default_scopes",
                "every default scope must also be one of scopes",
            )]),
            AccountError::PublicClientCredentials => Self::invalid_fields(vec![FieldError::new(
                "grants",
                "client_credentials needs a confidential client",
            )]),
            AccountError::PublicClient(_) => Self::new(
                Kind::InvalidRequest,
                "a public client has no secret to rotate",
            ),
            AccountError::PreconditionFailed => Self::new(
                Kind::PreconditionFailed,
                "the resource changed: If-Match does not name its current ETag",
            ),
            AccountError::RolesNotAllowed => {
                Self::insufficient_scope(crate::routes::admin::scope::ROLES_ASSIGN)
            }
            AccountError::Contended => Self::unavailable(1),
            AccountError::TooManyLines => Self::new(
                Kind::InvalidRequest,
                format!(
                    "the import has more than {} lines: split it",
                    crate::accounts::import::MAX_LINES
                ),
            ),
            AccountError::ImportStopped {
                line,
                created,
                source,
            } => {
                tracing::error!(line, created, "import stopped by a failure");
                (*source).into()
            }
            AccountError::Hash(e) => e.into(),
            AccountError::Store(e) => e.into(),
            other => {
                tracing::error!(error = %other, "account operation failed");
                Self::internal()
            }
        }
    }
}

impl From<KeyOpError> for Problem {
    fn from(e: KeyOpError) -> Self {
        match e {
            KeyOpError::NextWaiting => Self::new(
                Kind::NextKeyWaiting,
                "a next key is already waiting: remove it to replace it",
            ),
            KeyOpError::Active(_) => Self::new(
                Kind::KeyActive,
                "the active key cannot be removed: rotate with now first",
            ),
            KeyOpError::NoSuchKey(_) => Self::not_found(),
            KeyOpError::Store(e) => e.into(),
            other => {
                tracing::error!(error = %other, "key operation failed");
                Self::internal()
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_has_a_urn_type() {
        let mut seen = std::collections::BTreeSet::new();
        for kind in Kind::ALL {
            assert!(kind.type_uri().starts_with("urn:authd:problem:"));
            seen.insert(kind.type_uri());
        }
        assert_eq!(seen.len(), Kind::ALL.len(), "one URN per kind");
    }

    #[test]
    fn a_5xx_detail_is_opaque() {
        let p: Problem = AccountError::Read(std::io::Error::other("disk on fire")).into();
        assert_eq!(p.kind, Kind::Internal);
        assert_eq!(p.detail, "internal error");
    }
}
