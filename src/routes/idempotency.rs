//! `Idempotency-Key` for creates (admin-api.md §1): a `POST` that repeats a key its
//! caller used within 24 h with the same request gets the first response again (same
//! status, body and `Location`; one object created); with another request `422`; while
//! the first is still running `409`.
//!
//! Shared by every instance through the database: a request claims its key by inserting
//! a row under the primary key (caller, key), so of concurrent requests exactly one runs.
//! Only a success is stored and replayed: a request that failed (a `4xx` it may correct,
//! a `5xx`) releases its claim, so a retry runs again. A claim whose request died without
//! releasing it is taken over after `LEASE`.

use std::future::Future;

use actix_web::body::{self as actix_body, BoxBody};
use actix_web::http::header::{HeaderValue, CONTENT_TYPE, LOCATION};
use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, ResponseError};
use chrono::Utc;
use sha2::{Digest, Sha256};

use super::problem::{Kind, Problem};
use crate::store::{ClaimOutcome, IdempotencyClaim, Store, StoredResponse};

/// The request header (draft-ietf-httpapi-idempotency-key-header).
pub const HEADER: &str = "idempotency-key";
/// How long a key is remembered.
const TTL: chrono::Duration = chrono::Duration::hours(24);
/// A claim in progress for longer than this belongs to a request that died.
const LEASE: chrono::Duration = chrono::Duration::seconds(60);
const MAX_KEY_LEN: usize = 255;

/// Runs `create` under the request's `Idempotency-Key`, if it has one (see the module
/// comment); `caller` names who sent it (keys of different callers never meet) and
/// `body` is the request body as received.
pub async fn idempotent<F, Fut>(
    store: &dyn Store,
    caller: &str,
    req: &HttpRequest,
    body: &[u8],
    create: F,
) -> Result<HttpResponse, Problem>
where
    F: FnOnce() -> Fut,
    Fut: Future<Output = Result<HttpResponse, Problem>>,
{
    idempotent_storing(store, caller, req, body, |stored| stored.to_vec(), create).await
}

/// `idempotent`, storing for replay `keep(body)` instead of the whole first body: what
/// must not rest in the database (a client secret shown once) is left out of the
/// replay, which then answers without it.
pub async fn idempotent_storing<F, Fut>(
    store: &dyn Store,
    caller: &str,
    req: &HttpRequest,
    body: &[u8],
    keep: impl FnOnce(&[u8]) -> Vec<u8>,
    create: F,
) -> Result<HttpResponse, Problem>
where
    F: FnOnce() -> Fut,
    Fut: Future<Output = Result<HttpResponse, Problem>>,
{
    let Some(key) = key(req)? else {
        return create().await;
    };
    let now = Utc::now();
    let claim = IdempotencyClaim {
        caller,
        key: &key,
        request_sha256: digest(req, body),
        now,
        expires_at: now + TTL,
        stale_before: now - LEASE,
    };
    match store.claim_idempotency_key(&claim).await? {
        ClaimOutcome::Claimed => {}
        ClaimOutcome::InProgress { request_sha256 } | ClaimOutcome::Done { request_sha256, .. }
            if request_sha256 != claim.request_sha256 =>
        {
            return Err(Problem::new(
                Kind::IdempotencyKeyReused,
                "this Idempotency-Key was used with another request",
            ));
        }
        ClaimOutcome::InProgress { .. } => {
            return Err(Problem::new(
                Kind::IdempotencyKeyInProgress,
                "the first request with this Idempotency-Key is still running",
            ));
        }
        ClaimOutcome::Done { response, .. } => return Ok(replay(&response)),
    }
    let response = create().await.unwrap_or_else(|p| p.error_response());
    if !response.status().is_success() {
        if let Err(e) = store.release_idempotency_key(caller, &key).await {
            tracing::warn!(error = %e, "idempotency key not released; it is taken over after its lease");
        }
        return Ok(response);
    }
    let (head, body) = response.into_parts();
    let bytes = actix_body::to_bytes(body).await.map_err(|e| {
        tracing::error!(error = %e, "response body unreadable");
        Problem::internal()
    })?;
    let stored = StoredResponse {
        status: head.status().as_u16(),
        body: keep(&bytes),
        location: head
            .headers()
            .get(LOCATION)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned),
    };
    if let Err(e) = store.complete_idempotency_key(caller, &key, &stored).await {
        // The object exists; a retry will see the claim in progress (409) until the
        // lease ends, then run again.
        tracing::warn!(error = %e, "idempotent response not stored");
    }
    Ok(head.set_body(BoxBody::new(bytes)))
}

/// The header's value: absent, or 1-255 visible ASCII characters (else `400`).
fn key(req: &HttpRequest) -> Result<Option<String>, Problem> {
    let mut values = req.headers().get_all(HEADER);
    let (value, None) = (values.next(), values.next()) else {
        return Err(bad_key());
    };
    let Some(value) = value else { return Ok(None) };
    let bytes = value.as_bytes();
    if bytes.is_empty() || bytes.len() > MAX_KEY_LEN || !bytes.iter().all(u8::is_ascii_graphic) {
        return Err(bad_key());
    }
    Ok(Some(String::from_utf8_lossy(bytes).into_owned()))
}

fn bad_key() -> Problem {
    Problem::new(
        Kind::InvalidRequest,
        "Idempotency-Key must be one header of 1-255 visible ASCII characters",
    )
}

/// SHA-256 of the method, the path with its query, and the body.
fn digest(req: &HttpRequest, body: &[u8]) -> [u8; 32] {
    let target = req
        .uri()
        .path_and_query()
        .map_or_else(|| req.path(), |pq| pq.as_str());
    Sha256::new()
        .chain_update(req.method().as_str())
        .chain_update(b"\n")
        .chain_update(target)
        .chain_update(b"\n")
        .chain_update(body)
        .finalize()
        .into()
}

/// The first response again.
fn replay(stored: &StoredResponse) -> HttpResponse {
    let status = StatusCode::from_u16(stored.status).unwrap_or(StatusCode::OK);
    let mut response = HttpResponse::build(status);
    response.insert_header((CONTENT_TYPE, HeaderValue::from_static("application/json")));
    if let Some(location) = &stored.location {
        response.insert_header((LOCATION, location.as_str()));
    }
    response.body(stored.body.clone())
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::test::TestRequest;

    #[test]
    fn keys_are_one_header_of_1_to_255_visible_ascii_characters() {
        let with = |v: &str| {
            TestRequest::default()
                .insert_header((HEADER, v))
                .to_http_request()
        };
        assert_eq!(
            key(&with("abc-123_~!")).unwrap().as_deref(),
            Some("abc-123_~!")
        );
        assert_eq!(
            key(&with(&"k".repeat(255))).unwrap().map(|k| k.len()),
            Some(255)
        );
        assert!(key(&with(&"k".repeat(256))).is_err());
        assert!(key(&with("")).is_err());
        assert!(key(&with("a b")).is_err());
        assert!(key(&with("a\tb")).is_err());
        assert!(key(&TestRequest::default().to_http_request())
            .unwrap()
            .is_none());
        let twice = TestRequest::default()
            .append_header((HEADER, "a"))
            .append_header((HEADER, "b"))
            .to_http_request();
        assert!(key(&twice).is_err());
    }
}
