//! actix-web 4 integration (feature `actix`): the [`AuthdClaims`] extractor and the
//! [`RequireScope`] middleware. Refusals follow RFC 6750 (see [`Rejection`]).
//!
//! Build the [`Verifier`] once in `main` and share it (it is `Clone`; clones share the
//! key cache) as app data: `App::new().app_data(web::Data::new(verifier))`.
//!
//! ```no_run
//! use actix_web::{web, App, HttpServer};
//! use authd_verify::actix::{AuthdClaims, RequireScope};
//!
//! async fn hello(AuthdClaims(claims): AuthdClaims) -> String {
//!     format!("hello {}", claims.sub)
//! }
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let verifier = authd_verify::Verifier::discover("https://auth.example.com").await?.audience("api");
//! HttpServer::new(move || {
//!     App::new().app_data(web::Data::new(verifier.clone())).service(
//!         web::resource("/hello")
//!             .wrap(RequireScope::new(verifier.clone(), "hello:read"))
//!             .route(web::get().to(hello)),
//!     )
//! })
//! .bind("127.0.0.1:3000")?
//! .run()
//! .await?;
//! # Ok(()) }
//! ```

use std::fmt;
use std::future::{ready, Future, Ready};
use std::pin::Pin;
use std::rc::Rc;
use std::sync::Arc;

use actix_web::body::EitherBody;
use actix_web::dev::{forward_ready, Payload, Service, ServiceRequest, ServiceResponse, Transform};
use actix_web::http::header::{
    HeaderMap, HeaderValue, AUTHORIZATION, CONTENT_TYPE, WWW_AUTHENTICATE,
};
use actix_web::http::StatusCode;
use actix_web::{web, FromRequest, HttpMessage, HttpRequest, HttpResponse, ResponseError};

use crate::bearer::{self, Refusal};
use crate::{Claims, Verifier};

/// The verified claims of the request's bearer token. Finds the [`Verifier`] in app data
/// (`web::Data<Verifier>` or `Verifier`); reuses the claims a [`RequireScope`] middleware
/// already verified.
#[derive(Debug, Clone)]
pub struct AuthdClaims(pub Claims);

impl FromRequest for AuthdClaims {
    type Error = Rejection;
    type Future = Pin<Box<dyn Future<Output = Result<Self, Rejection>>>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        if let Some(claims) = req.extensions().get::<Claims>() {
            let claims = claims.clone();
            return Box::pin(async move { Ok(Self(claims)) });
        }
        let verifier = req
            .app_data::<web::Data<Verifier>>()
            .map(|data| data.get_ref().clone())
            .or_else(|| req.app_data::<Verifier>().cloned());
        let token = bearer_token(req.headers());
        let req = req.clone();
        Box::pin(async move {
            let verifier = verifier.ok_or_else(|| Rejection(Refusal::misconfigured()))?;
            let claims = bearer::authorize(&verifier, &token?, &[])
                .await
                .map_err(Rejection)?;
            req.extensions_mut().insert(claims.clone());
            Ok(Self(claims))
        })
    }
}

fn bearer_token(headers: &HeaderMap) -> Result<String, Rejection> {
    bearer::token(headers.get_all(AUTHORIZATION).map(HeaderValue::as_bytes))
        .map(str::to_owned)
        .map_err(Rejection)
}

/// An RFC 6750 refusal: `401` + `WWW-Authenticate: Bearer error="invalid_token"`, `403`
/// `insufficient_scope`, `400 invalid_request`, or `503` when the verifier cannot decide.
#[derive(Debug, Clone)]
pub struct Rejection(Refusal);

impl fmt::Display for Rejection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "bearer token refused ({})", self.0.status)
    }
}

impl ResponseError for Rejection {
    fn status_code(&self) -> StatusCode {
        StatusCode::from_u16(self.0.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
    }

    fn error_response(&self) -> HttpResponse {
        let mut response = HttpResponse::build(self.status_code());
        response.insert_header((CONTENT_TYPE, "application/json"));
        if let Some(challenge) = &self.0.challenge {
            response.insert_header((WWW_AUTHENTICATE, challenge.as_str()));
        }
        response.body(self.0.body.clone())
    }
}

/// Middleware that lets a request through only with a valid bearer token granting every
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

impl<S, B> Transform<S, ServiceRequest> for RequireScope
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = actix_web::Error> + 'static,
    B: 'static,
{
    type Response = ServiceResponse<EitherBody<B>>;
    type Error = actix_web::Error;
    type Transform = RequireScopeMiddleware<S>;
    type InitError = ();
    type Future = Ready<Result<Self::Transform, Self::InitError>>;

    fn new_transform(&self, service: S) -> Self::Future {
        ready(Ok(RequireScopeMiddleware {
            service: Rc::new(service),
            verifier: self.verifier.clone(),
            scopes: Arc::clone(&self.scopes),
        }))
    }
}

/// The service [`RequireScope`] wraps around a resource or scope.
pub struct RequireScopeMiddleware<S> {
    service: Rc<S>,
    verifier: Verifier,
    scopes: Arc<[String]>,
}

impl<S, B> Service<ServiceRequest> for RequireScopeMiddleware<S>
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = actix_web::Error> + 'static,
    B: 'static,
{
    type Response = ServiceResponse<EitherBody<B>>;
    type Error = actix_web::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, Self::Error>>>>;

    forward_ready!(service);

    fn call(&self, req: ServiceRequest) -> Self::Future {
        let service = Rc::clone(&self.service);
        let verifier = self.verifier.clone();
        let scopes = Arc::clone(&self.scopes);
        Box::pin(async move {
            let outcome = match bearer_token(req.headers()) {
                Ok(token) => bearer::authorize(&verifier, &token, &scopes)
                    .await
                    .map_err(Rejection),
                Err(rejection) => Err(rejection),
            };
            match outcome {
                Ok(claims) => {
                    req.extensions_mut().insert(claims);
                    service
                        .call(req)
                        .await
                        .map(ServiceResponse::map_into_left_body)
                }
                Err(rejection) => Ok(req
                    .into_response(rejection.error_response())
                    .map_into_right_body()),
            }
        })
    }
}
