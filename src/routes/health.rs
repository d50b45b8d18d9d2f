//! `GET /healthz` (the process is up), `GET /readyz` (its dependencies answer) and
//! `GET /metrics` (Prometheus).

use std::time::Duration;

use actix_web::http::header::{self, HeaderValue};
use actix_web::{web, HttpRequest, HttpResponse};
use chrono::Utc;
use serde_json::json;

use crate::metrics::{self, Dependency, Metrics};
use crate::startup::AppState;

pub async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(json!({"status": "ok"}))
}

/// 200 only when the database and, where configured, Redis answer (spec §3).
pub async fn readyz(state: web::Data<AppState>, metrics: web::Data<Metrics>) -> HttpResponse {
    let limit = Duration::from_secs(2);
    let database = match tokio::time::timeout(limit, state.store.ping()).await {
        Ok(Ok(())) => "ok",
        Ok(Err(e)) => {
            tracing::warn!(error = %e, "readiness: database does not answer");
            "error"
        }
        Err(_) => "timeout",
    };
    if database != "ok" {
        metrics.dependency_error(Dependency::Database);
    }
    let cache = match tokio::time::timeout(limit, state.revocations.ping()).await {
        Ok(Ok(())) => "ok",
        Ok(Err(e)) => {
            tracing::warn!(error = %e, "readiness: revocation cache does not answer");
            "error"
        }
        Err(_) => "timeout",
    };
    if cache != "ok" {
        metrics.dependency_error(Dependency::Redis);
    }
    let body = json!({"database": database, "revocation_cache": cache});
    if database == "ok" && cache == "ok" {
        HttpResponse::Ok().json(body)
    } else {
        HttpResponse::ServiceUnavailable().json(body)
    }
}

/// Prometheus exposition (OpenMetrics text) of this process's metrics.
pub async fn metrics(
    req: HttpRequest,
    state: web::Data<AppState>,
    metrics: web::Data<Metrics>,
) -> HttpResponse {
    // OpenMetrics for a scraper that asks for it (Prometheus does), else the classic text.
    let openmetrics = req
        .headers()
        .get_all(header::ACCEPT)
        .filter_map(|v| v.to_str().ok())
        .any(|v| v.contains("application/openmetrics-text"));
    let age = state
        .key_manager
        .active_since()
        .and_then(|since| (Utc::now() - since).to_std().ok());
    let body = metrics.render(age, state.authenticator.queue_depth(), openmetrics);
    let content_type = if openmetrics {
        metrics::OPENMETRICS
    } else {
        metrics::PROMETHEUS_TEXT
    };
    HttpResponse::Ok()
        .insert_header((header::CONTENT_TYPE, HeaderValue::from_static(content_type)))
        .body(body)
}
