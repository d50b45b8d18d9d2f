//! `GET /healthz` (the process is up) and `GET /readyz` (its dependencies answer).

use std::time::Duration;

use actix_web::{web, HttpResponse};
use serde_json::json;

use crate::startup::AppState;

pub async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(json!({"status": "ok"}))
}

pub async fn readyz(state: web::Data<AppState>) -> HttpResponse {
    match tokio::time::timeout(Duration::from_secs(2), state.store.ping()).await {
        Ok(Ok(())) => HttpResponse::Ok().json(json!({"status": "ready", "database": "ok"})),
        Ok(Err(e)) => {
            tracing::warn!(error = %e, "readiness: database does not answer");
            HttpResponse::ServiceUnavailable()
                .json(json!({"status": "unavailable", "database": "error"}))
        }
        Err(_) => {
            tracing::warn!("readiness: database timed out");
            HttpResponse::ServiceUnavailable()
                .json(json!({"status": "unavailable", "database": "timeout"}))
        }
    }
}
