//! The RFC 6749 §5.2 error body, rendered in one place: `{"error", "error_description"}`.
//! Descriptions are fixed phrases chosen by our code: never an echo of input, never a
//! secret, never whether a username exists. 5xx bodies are opaque; the cause goes to the log.

use actix_web::http::header::{self, HeaderValue};
use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};
use serde::Serialize;

use crate::metrics::Dependency;

/// An OAuth protocol error with its HTTP status and any challenge headers.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{code}: {description}")]
pub struct OAuthError {
    pub status: StatusCode,
    pub code: &'static str,
    pub description: String,
    challenge: Option<String>,
    retry_after: Option<u64>,
    /// The dependency that failed, for `authd_dependency_errors_total`.
    pub dependency: Option<Dependency>,
}

#[derive(Serialize)]
struct Body<'a> {
    error: &'a str,
    error_description: &'a str,
}

impl OAuthError {
    fn new(status: StatusCode, code: &'static str, description: impl Into<String>) -> Self {
        Self {
            status,
            code,
            description: description.into(),
            challenge: None,
            retry_after: None,
            dependency: None,
        }
    }

    fn caused_by(mut self, dependency: Dependency) -> Self {
        self.dependency = Some(dependency);
        self
    }

    pub fn invalid_request(description: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "invalid_request", description)
    }

    pub fn invalid_grant(description: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "invalid_grant", description)
    }

    pub fn invalid_scope(description: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "invalid_scope", description)
    }

    /// The client may not use this grant (RFC 6749 §5.2).
    pub fn unauthorized_client(description: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "unauthorized_client", description)
    }

    pub fn unsupported_grant_type(description: impl Into<String>) -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            "unsupported_grant_type",
            description,
        )
    }

    /// 401 with `WWW-Authenticate: Basic` (RFC 6749 §5.2).
    pub fn invalid_client(description: impl Into<String>) -> Self {
        let mut e = Self::new(StatusCode::UNAUTHORIZED, "invalid_client", description);
        e.challenge = Some(r#"Basic realm="authd""#.to_owned());
        e
    }

    pub fn payload_too_large(limit: usize) -> Self {
        Self::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "invalid_request",
            format!("request body is larger than {limit} bytes"),
        )
    }

    pub fn unsupported_media_type() -> Self {
        Self::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "invalid_request",
            "content type must be application/x-www-form-urlencoded or application/json",
        )
    }

    /// 401 at a bearer-protected endpoint (RFC 6750 §3).
    pub fn invalid_token(description: &'static str) -> Self {
        let mut e = Self::new(StatusCode::UNAUTHORIZED, "invalid_token", description);
        e.challenge = Some(format!(
            r#"Bearer realm="authd", error="invalid_token", error_description="{description}""#
        ));
        e
    }

    /// 403 for a valid token that cannot be used here (RFC 6750 §3.1).
    pub fn insufficient_scope(description: &'static str) -> Self {
        let mut e = Self::new(StatusCode::FORBIDDEN, "insufficient_scope", description);
        e.challenge = Some(format!(
            r#"Bearer realm="authd", error="insufficient_scope", error_description="{description}""#
        ));
        e
    }

    /// 503 + `Retry-After`: a dependency is down or a queue is full; try again shortly.
    pub fn unavailable(retry_after_secs: u64) -> Self {
        let mut e = Self::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "temporarily_unavailable",
            "the server is busy or a dependency is unavailable; retry later",
        );
        e.retry_after = Some(retry_after_secs);
        e
    }

    /// 429 + `Retry-After` (spec §3): too many failed logins for this username or
    /// source address. The same for every username, existing or not.
    pub fn too_many_attempts(retry_after_secs: u64) -> Self {
        let mut e = Self::new(
            StatusCode::TOO_MANY_REQUESTS,
            "too_many_attempts",
            "too many failed login attempts; retry later",
        );
        e.retry_after = Some(retry_after_secs);
        e
    }

    /// 500 with an opaque body. The caller logs the cause before returning this.
    pub fn internal() -> Self {
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "server_error",
            "internal error",
        )
    }
}

impl ResponseError for OAuthError {
    fn status_code(&self) -> StatusCode {
        self.status
    }

    fn error_response(&self) -> HttpResponse {
        let mut response = HttpResponse::build(self.status);
        response
            .insert_header((header::CACHE_CONTROL, HeaderValue::from_static("no-store")))
            .insert_header((header::PRAGMA, HeaderValue::from_static("no-cache")));
        if let Some(challenge) = &self.challenge {
            response.insert_header((header::WWW_AUTHENTICATE, challenge.as_str()));
        }
        if let Some(secs) = self.retry_after {
            response.insert_header((header::RETRY_AFTER, secs.to_string()));
        }
        response.json(Body {
            error: self.code,
            error_description: &self.description,
        })
    }
}

impl From<crate::store::StoreError> for OAuthError {
    fn from(e: crate::store::StoreError) -> Self {
        use crate::store::StoreError;
        match e {
            StoreError::Unavailable(cause) => {
                tracing::warn!(error = %cause, "database unavailable");
                Self::unavailable(5).caused_by(Dependency::Database)
            }
            other => {
                tracing::error!(error = ?anyhow::Error::from(other), "database error");
                Self::internal().caused_by(Dependency::Database)
            }
        }
    }
}

impl From<crate::auth::AuthError> for OAuthError {
    fn from(e: crate::auth::AuthError) -> Self {
        use crate::auth::{AuthError, PoolError};
        match e {
            AuthError::InvalidCredentials => Self::invalid_grant("invalid username or password"),
            AuthError::Throttle(crate::auth::ThrottleError::Throttled(wait)) => {
                Self::too_many_attempts(wait.as_secs())
            }
            AuthError::Throttle(crate::auth::ThrottleError::Unavailable(cause)) => {
                tracing::warn!(error = %cause, "login throttle state unavailable");
                Self::unavailable(2).caused_by(Dependency::Redis)
            }
            AuthError::Pool(PoolError::Busy) => {
                tracing::warn!("argon2 queue full: shedding load with 503");
                Self::unavailable(1)
            }
            AuthError::Pool(other) => {
                tracing::error!(error = %other, "argon2 hashing failed");
                Self::internal()
            }
            AuthError::Store(e) => e.into(),
        }
    }
}

impl From<crate::keys::KeyError> for OAuthError {
    fn from(e: crate::keys::KeyError) -> Self {
        tracing::error!(error = %e, "signing a token failed");
        Self::internal()
    }
}

impl From<crate::sessions::SessionError> for OAuthError {
    fn from(e: crate::sessions::SessionError) -> Self {
        use crate::sessions::SessionError;
        match e {
            SessionError::InvalidGrant => {
                Self::invalid_grant("refresh token is invalid, expired or revoked")
            }
            SessionError::Store(e) => e.into(),
            SessionError::Revocation(e) => e.into(),
            SessionError::Sign(e) => e.into(),
        }
    }
}

impl From<crate::sessions::AccessError> for OAuthError {
    fn from(e: crate::sessions::AccessError) -> Self {
        use crate::sessions::AccessError;
        match e {
            AccessError::Rejected(rejection) => {
                tracing::debug!(?rejection, "access token rejected");
                Self::invalid_token(rejection.description())
            }
            AccessError::Revoked => Self::invalid_token("token has been revoked"),
            AccessError::Revocation(e) => e.into(),
            AccessError::Store(e) => e.into(),
        }
    }
}

impl From<crate::clients::ClientError> for OAuthError {
    fn from(e: crate::clients::ClientError) -> Self {
        use crate::clients::ClientError;
        match e {
            ClientError::AuthenticationFailed => {
                Self::invalid_client("client authentication failed")
            }
            ClientError::Store(e) => e.into(),
        }
    }
}

impl From<crate::revocation::RevocationError> for OAuthError {
    fn from(e: crate::revocation::RevocationError) -> Self {
        use crate::revocation::RevocationError;
        match e {
            RevocationError::CacheUnavailable(cause) => {
                // Fail closed: without the revocation state no token is accepted.
                tracing::warn!(error = %cause, "revocation cache unavailable");
                Self::unavailable(2).caused_by(Dependency::Redis)
            }
            RevocationError::Store(e) => e.into(),
        }
    }
}
