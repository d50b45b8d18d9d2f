//! `GET /healthz` (the process is up) and `GET /readyz` (its dependencies answer).

use std::time::Duration;

use actix_web::{web, HttpResponse};
use serde_json::json;

use crate::startup::AppState;

pub async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(json!({"status": "ok"}))
}

/// 200 only when the database and, where configured, Redis answer (spec §3).
pub async fn readyz(state: web::Data<AppState>) -> HttpResponse {
    let limit = Duration::from_secs(2);
    let database = match tokio::time::timeout(limit, state.store.ping()).await {
        Ok(Ok(())) => "ok",
        Ok(Err(e)) => {
            tracing::warn!(error = %e, "readiness: database does not answer");
            "error"
        }
        Err(_) => "timeout",
    };
    let cache = match tokio::time::timeout(limit, state.revocations.ping()).await {
        Ok(Ok(())) => "ok",
        Ok(Err(e)) => {
            tracing::warn!(error = %e, "readiness: revocation cache does not answer");
            "error"
        }
        Err(_) => "timeout",
    };
    let body = json!({"database": database, "revocation_cache": cache});
    if database == "ok" && cache == "ok" {
        HttpResponse::Ok().json(body)
    } else {
        HttpResponse::ServiceUnavailable().json(body)
    }
}
