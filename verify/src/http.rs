//! HTTP: the reqwest-based JWKS fetcher, discovery and the introspection call.
//!
//! One client per verifier, built here: reqwest 0.13's rustls on the aws-lc-rs provider
//! (the backend jsonwebtoken uses in this workspace, so one crypto library is linked, no
//! OpenSSL) with the platform's certificate verifier, a timeout on every request, no redirects (a JWKS or
//! metadata URL that redirects elsewhere is not followed to someone else's keys), and no
//! idle connection pool: fetches are minutes apart, and a pooled connection belongs to
//! the runtime that opened it, which under actix-web (a runtime per worker) may be
//! another one than the next caller's.

use std::time::Duration;

use reqwest13::header::{ACCEPT, CACHE_CONTROL, ETAG, IF_NONE_MATCH};
use reqwest13::StatusCode;

use crate::error::{FetchError, SetupError};
use crate::fetch::{max_age_of, FetchFuture, Fetched, JwksFetcher};

/// Largest JWKS or metadata document read; authd's are a few KiB.
const MAX_DOCUMENT_BYTES: usize = 256 * 1024;

/// Builds the verifier's HTTP client.
pub(crate) fn client(timeout: Duration) -> Result<reqwest13::Client, SetupError> {
    reqwest13::Client::builder()
        .timeout(timeout)
        .connect_timeout(timeout)
        .redirect(reqwest13::redirect::Policy::none())
        .pool_max_idle_per_host(0)
        .user_agent(concat!("authd-verify/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|e| SetupError::HttpClient(e.to_string()))
}

/// Reads a response body, refusing one larger than `MAX_DOCUMENT_BYTES`.
pub(crate) async fn body(mut response: reqwest13::Response) -> Result<Vec<u8>, FetchError> {
    if response
        .content_length()
        .is_some_and(|n| n > MAX_DOCUMENT_BYTES as u64)
    {
        return Err(FetchError::new("response body too large"));
    }
    let mut body = Vec::new();
    while let Some(chunk) = response
        .chunk()
        .await
        .map_err(|e| FetchError::new(format!("reading the response: {e}")))?
    {
        if body.len() + chunk.len() > MAX_DOCUMENT_BYTES {
            return Err(FetchError::new("response body too large"));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// Fetches a JWKS over HTTP(S) with reqwest, conditionally on the cached ETag.
#[derive(Debug, Clone)]
pub struct HttpFetcher {
    client: reqwest13::Client,
    uri: String,
}

impl HttpFetcher {
    /// A fetcher for the JWKS at `uri`, with its own client (rustls, `timeout` per request).
    pub fn new(uri: impl Into<String>, timeout: Duration) -> Result<Self, SetupError> {
        Ok(Self::with_client(client(timeout)?, uri))
    }

    /// A fetcher using the given client (its timeouts, proxies, roots).
    pub fn with_client(client: reqwest13::Client, uri: impl Into<String>) -> Self {
        Self {
            client,
            uri: uri.into(),
        }
    }

    async fn get(&self, etag: Option<&str>) -> Result<Fetched, FetchError> {
        let mut request = self
            .client
            .get(&self.uri)
            .header(ACCEPT, "application/jwk-set+json, application/json");
        if let Some(etag) = etag {
            request = request.header(IF_NONE_MATCH, etag);
        }
        let response = request
            .send()
            .await
            .map_err(|e| FetchError::new(format!("JWKS request failed: {e}")))?;
        let max_age = response
            .headers()
            .get(CACHE_CONTROL)
            .and_then(|v| v.to_str().ok())
            .and_then(max_age_of);
        match response.status() {
            StatusCode::NOT_MODIFIED => Ok(Fetched::NotModified { max_age }),
            StatusCode::OK => {
                let etag = response
                    .headers()
                    .get(ETAG)
                    .and_then(|v| v.to_str().ok())
                    .map(str::to_owned);
                Ok(Fetched::Modified {
                    body: body(response).await?,
                    etag,
                    max_age,
                })
            }
            status => Err(FetchError::new(format!("JWKS request answered {status}"))),
        }
    }
}

impl JwksFetcher for HttpFetcher {
    fn fetch<'a>(&'a self, etag: Option<&'a str>) -> FetchFuture<'a> {
        Box::pin(self.get(etag))
    }
}

/// What discovery tells the verifier.
pub(crate) struct Metadata {
    pub(crate) jwks_uri: String,
    pub(crate) introspection_endpoint: Option<String>,
}

/// Reads `{issuer}/.well-known/openid-configuration` (OpenID Connect Discovery 1.0 §4) and
/// checks that it speaks for `issuer`, exactly (§4.3; RFC 8414 §3.3).
pub(crate) async fn discover(
    client: &reqwest13::Client,
    issuer: &str,
) -> Result<Metadata, SetupError> {
    let url = format!(
        "{}/.well-known/openid-configuration",
        issuer.trim_end_matches('/')
    );
    let response = client
        .get(&url)
        .header(ACCEPT, "application/json")
        .send()
        .await
        .map_err(|e| FetchError::new(format!("metadata request failed: {e}")))?;
    if response.status() != StatusCode::OK {
        return Err(
            FetchError::new(format!("metadata request answered {}", response.status())).into(),
        );
    }
    let document: serde_json::Value = serde_json::from_slice(&body(response).await?)
        .map_err(|_| SetupError::InvalidMetadata("not JSON"))?;
    if document.get("issuer").and_then(|v| v.as_str()) != Some(issuer) {
        return Err(SetupError::IssuerMismatch);
    }
    let jwks_uri = document
        .get("jwks_uri")
        .and_then(|v| v.as_str())
        .ok_or(SetupError::InvalidMetadata("no jwks_uri"))?
        .to_owned();
    let introspection_endpoint = document
        .get("introspection_endpoint")
        .and_then(|v| v.as_str())
        .map(str::to_owned);
    Ok(Metadata {
        jwks_uri,
        introspection_endpoint,
    })
}
