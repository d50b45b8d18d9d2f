//! axum 0.8 integration (feature `axum`): the [`AuthdClaims`] extractor and the
//! [`RequireScope`] layer. Refusals follow RFC 6750 (see [`Rejection`]).
//!
//! ```no_run
//! use authd_verify::axum::{AuthdClaims, RequireScope};
//! use axum::{routing::get, Router};
//!
//! async fn hello(AuthdClaims(claims): AuthdClaims) -> String {
//!     format!("hello {}", claims.sub)
//! }
//!
//! # async fn app() -> Result<(), Box<dyn std::error::Error>> {
//! let verifier = authd_verify::Verifier::discover("https://auth.example.com").await?.audience("api");
//! let app: Router = Router::new()
//!     .route("/hello", get(hello))
//!     .route_layer(RequireScope::new(verifier.clone(), "hello:read"))
//!     .with_state(verifier);
//! # Ok(()) }
//! ```

use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use axum::extract::{FromRef, FromRequestParts, Request};
use axum::http::header::{AUTHORIZATION, CONTENT_TYPE, WWW_AUTHENTICATE};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};

use crate::bearer::{self, Refusal};
use crate::{Claims, Verifier};

/// The verified claims of the request's bearer token. Needs the [`Verifier`] in the
/// router's state (`Verifier: FromRef<S>`); reuses the claims a [`RequireScope`] layer
/// already verified.
#[derive(Debug, Clone)]
pub struct AuthdClaims(pub Claims);

impl<S> FromRequestParts<S> for AuthdClaims
where
    Verifier: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = Rejection;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        if let Some(claims) = parts.extensions.get::<Claims>() {
            return Ok(Self(claims.clone()));
        }
        let verifier = Verifier::from_ref(state);
        let claims = authorize(&verifier, &parts.headers, &[]).await?;
        parts.extensions.insert(claims.clone());
        Ok(Self(claims))
    }
}

/// An RFC 6750 refusal: `401` + `WWW-Authenticate: Bearer error="invalid_token"`, `403`
/// `insufficient_scope`, `400 invalid_request`, or `503` when the verifier cannot decide.
#[derive(Debug, Clone)]
pub struct Rejection(Refusal);

impl Rejection {
    /// The HTTP status it answers with.
    pub fn status(&self) -> u16 {
        self.0.status
    }
}

impl IntoResponse for Rejection {
    fn into_response(self) -> Response {
        let status =
            StatusCode::from_u16(self.0.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let mut response = (status, self.0.body).into_response();
        let headers = response.headers_mut();
        headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        if let Some(value) = self
            .0
            .challenge
            .and_then(|c| HeaderValue::from_str(&c).ok())
        {
            headers.insert(WWW_AUTHENTICATE, value);
        }
        response
    }
}

async fn authorize(
    verifier: &Verifier,
    headers: &HeaderMap,
    scopes: &[String],
) -> Result<Claims, Rejection> {
    let token = bearer::token(headers.get_all(AUTHORIZATION).iter().map(|v| v.as_bytes()))
        .map_err(Rejection)?;
    bearer::authorize(verifier, token, scopes)
        .await
        .map_err(Rejection)
}

/// A layer that lets a request through only with a valid bearer token granting every
/// listed scope (else `401`/`403`), and hands the claims to [`AuthdClaims`].
#[derive(Debug, Clone)]
pub struct RequireScope {
    verifier: Verifier,
    scopes: Arc<[String]>,
}

impl RequireScope {
    /// Requires `scope`, verifying with `verifier`.
    pub fn new(verifier: Verifier, scope: impl Into<String>) -> Self {
        Self {
            verifier,
            scopes: Arc::from(vec![scope.into()]),
        }
    }

    /// Requires every scope of `scopes`.
    pub fn all<I: IntoIterator<Item = S>, S: Into<String>>(verifier: Verifier, scopes: I) -> Self {
        Self {
            verifier,
            scopes: scopes.into_iter().map(Into::into).collect(),
        }
    }
}

impl<S> tower_layer::Layer<S> for RequireScope {
    type Service = RequireScopeService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        RequireScopeService {
            inner,
            verifier: self.verifier.clone(),
            scopes: Arc::clone(&self.scopes),
        }
    }
}

/// The service [`RequireScope`] wraps around a route.
#[derive(Debug, Clone)]
pub struct RequireScopeService<S> {
    inner: S,
    verifier: Verifier,
    scopes: Arc<[String]>,
}

impl<S> tower_service::Service<Request> for RequireScopeService<S>
where
    S: tower_service::Service<Request, Response = Response, Error = Infallible>
        + Clone
        + Send
        + 'static,
    S::Future: Send + 'static,
{
    type Response = Response;
    type Error = Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<Response, Infallible>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: Request) -> Self::Future {
        // The clone that was polled ready serves this request (tower's usual dance).
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        let verifier = self.verifier.clone();
        let scopes = Arc::clone(&self.scopes);
        Box::pin(async move {
            match authorize(&verifier, request.headers(), &scopes).await {
                Ok(claims) => {
                    request.extensions_mut().insert(claims);
                    inner.call(request).await
                }
                Err(rejection) => Ok(rejection.into_response()),
            }
        })
    }
}
