//! `GET /.well-known/jwks.json` (RFC 7517) and the discovery documents
//! (`openid-configuration`, OIDC Discovery §3; `oauth-authorization-server`, RFC 8414 §2).

use actix_web::http::header::{self, HeaderValue};
use actix_web::{web, HttpRequest, HttpResponse};
use serde::Serialize;

use crate::domain::GrantType;
use crate::startup::AppState;

pub async fn jwks(req: HttpRequest, state: web::Data<AppState>) -> HttpResponse {
    // The body, its ETag and the Cache-Control value are built once (per ring change);
    // a request only clones reference-counted bytes.
    let ring = state.keys.current();
    let etag = ring.etag();
    let cache_control = state.jwks_cache_control.clone();
    let not_modified = if_none_match(&req, etag);
    let mut response = if not_modified {
        HttpResponse::NotModified()
    } else {
        HttpResponse::Ok()
    };
    response
        .insert_header((header::ETAG, etag))
        .insert_header((header::CACHE_CONTROL, cache_control));
    if not_modified {
        return response.finish();
    }
    response
        .content_type("application/json")
        .body(ring.jwks().clone())
}

/// RFC 9110 §13.1.2: `*` or a list of entity tags, compared weakly.
fn if_none_match(req: &HttpRequest, etag: &str) -> bool {
    req.headers()
        .get_all(header::IF_NONE_MATCH)
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(|tag| tag.trim())
        .any(|tag| tag == "*" || tag.strip_prefix("W/").unwrap_or(tag) == etag)
}

#[derive(Serialize)]
struct Discovery<'a> {
    issuer: &'a str,
    token_endpoint: String,
    jwks_uri: String,
    revocation_endpoint: String,
    introspection_endpoint: String,
    userinfo_endpoint: String,
    grant_types_supported: Vec<&'static str>,
    subject_types_supported: &'a [&'a str],
    token_endpoint_auth_methods_supported: &'a [&'a str],
    revocation_endpoint_auth_methods_supported: &'a [&'a str],
    introspection_endpoint_auth_methods_supported: &'a [&'a str],
    scopes_supported: Vec<String>,
    claims_supported: &'a [&'a str],
    id_token_signing_alg_values_supported: &'a [&'static str],
}

pub async fn discovery(state: web::Data<AppState>) -> HttpResponse {
    let issuer = state.issuer_url.as_str();
    let base = issuer.trim_end_matches('/');
    let ring = state.keys.current();
    let body = Discovery {
        issuer,
        token_endpoint: format!("{base}/auth/token"),
        jwks_uri: format!("{base}/.well-known/jwks.json"),
        revocation_endpoint: format!("{base}/auth/revoke"),
        introspection_endpoint: format!("{base}/auth/introspect"),
        userinfo_endpoint: format!("{base}/auth/userinfo"),
        grant_types_supported: GrantType::ALL.iter().map(|g| g.as_str()).collect(),
        subject_types_supported: &["public"],
        // Confidential clients use a secret; public ones send only client_id ("none").
        token_endpoint_auth_methods_supported: &[
            "client_secret_basic",
            "client_secret_post",
            "none",
        ],
        revocation_endpoint_auth_methods_supported: &[
            "client_secret_basic",
            "client_secret_post",
            "none",
        ],
        // Introspection is for confidential clients only (spec §3).
        introspection_endpoint_auth_methods_supported: &[
            "client_secret_basic",
            "client_secret_post",
        ],
        scopes_supported: state.clients.scopes_supported(),
        claims_supported: &[
            "iss",
            "sub",
            "aud",
            "exp",
            "iat",
            "nbf",
            "jti",
            "client_id",
            "scope",
            "sid",
            "roles",
            "preferred_username",
        ],
        id_token_signing_alg_values_supported: ring.algorithms(),
    };
    HttpResponse::Ok()
        .insert_header((
            header::CACHE_CONTROL,
            HeaderValue::from_static("public, max-age=300"),
        ))
        .json(body)
}
