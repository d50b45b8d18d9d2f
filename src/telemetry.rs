//! Logging: tracing, JSON when not on a terminal, one request id per request, and the
//! per-request metrics. Nothing here ever records a body, a query string or an
//! Authorization header.

use std::future::Future;
use std::io::IsTerminal;
use std::time::Instant;

use actix_web::body::MessageBody;
use actix_web::dev::{Service, ServiceRequest, ServiceResponse};
use actix_web::http::header::{HeaderName, HeaderValue};
use actix_web::http::Method;
use actix_web::web;
use tracing::Instrument;
use tracing_subscriber::EnvFilter;

use crate::config::{LogFormat, LogSettings};
use crate::error::OAuthError;
use crate::metrics::{HttpLabels, Metrics};

/// Installs the global subscriber (for `serve` only; other commands log nothing).
pub fn init(settings: &LogSettings) -> Result<(), String> {
    let filter = match std::env::var("RUST_LOG") {
        Ok(env) if !env.is_empty() => {
            EnvFilter::try_new(env).map_err(|e| format!("RUST_LOG: {e}"))?
        }
        _ => EnvFilter::try_new(&settings.level)
            .map_err(|e| format!("invalid configuration: log.level: {e}"))?,
    };
    let json = match settings.format {
        LogFormat::Json => true,
        LogFormat::Pretty => false,
        LogFormat::Auto => !std::io::stdout().is_terminal(),
    };
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_target(false);
    let result = if json {
        builder
            .json()
            .flatten_event(true)
            .with_current_span(true)
            .with_span_list(false)
            .try_init()
    } else {
        builder.try_init()
    };
    result.map_err(|e| format!("cannot start logging: {e}"))
}

const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// Middleware (for `App::wrap_fn`): a span with a fresh request id around each request,
/// one log line when it completes, the id echoed in `X-Request-Id`, and the request
/// counted in the app's `Metrics` (registered as app data) by route pattern.
pub fn request_span<S, B>(
    req: ServiceRequest,
    service: &S,
) -> impl Future<Output = Result<ServiceResponse<B>, actix_web::Error>>
where
    S: Service<ServiceRequest, Response = ServiceResponse<B>, Error = actix_web::Error>,
    B: MessageBody,
{
    // A v4 UUID from the thread's CSPRNG: no system call per request.
    let request_id = uuid::Builder::from_random_bytes(rand::random()).into_uuid();
    let span = tracing::info_span!(
        "request",
        %request_id,
        method = %req.method(),
        path = %Truncated(req.path())
    );
    let started = Instant::now();
    let response = span.in_scope(|| service.call(req));
    async move {
        let mut response = response.await?;
        let status = response.status().as_u16();
        let elapsed_ms = started.elapsed().as_secs_f64() * 1000.0;
        let mut buffer = uuid::Uuid::encode_buffer();
        if let Ok(value) = HeaderValue::from_str(request_id.hyphenated().encode_lower(&mut buffer))
        {
            response.headers_mut().insert(REQUEST_ID, value);
        }
        record(&response, started);
        if status >= 500 {
            tracing::error!(status, elapsed_ms, "request failed");
        } else {
            tracing::info!(status, elapsed_ms, "request");
        }
        Ok(response)
    }
    .instrument(span)
}

fn record<B>(response: &ServiceResponse<B>, started: Instant) {
    let req = response.request();
    let Some(metrics) = req.app_data::<web::Data<Metrics>>() else {
        return;
    };
    let method = match *req.method() {
        Method::GET => "GET",
        Method::POST => "POST",
        Method::HEAD => "HEAD",
        Method::PUT => "PUT",
        Method::DELETE => "DELETE",
        Method::OPTIONS => "OPTIONS",
        Method::PATCH => "PATCH",
        _ => "other",
    };
    let labels = HttpLabels {
        // The pattern, never the path: unknown paths all count as one series.
        route: req
            .match_pattern()
            .unwrap_or_else(|| "unmatched".to_owned()),
        method,
        status: response.status().as_u16(),
    };
    metrics.request(labels, started.elapsed());
    if let Some(dependency) = response
        .response()
        .error()
        .and_then(|e| e.as_error::<OAuthError>())
        .and_then(|e| e.dependency)
    {
        metrics.dependency_error(dependency);
    }
}

/// At most the first 128 characters of a path, formatted only when a log line is.
struct Truncated<'a>(&'a str);

impl std::fmt::Display for Truncated<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.0.char_indices().nth(128) {
            Some((end, _)) => f.write_str(&self.0[..end]),
            None => f.write_str(self.0),
        }
    }
}
