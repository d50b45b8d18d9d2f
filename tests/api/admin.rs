//! Shared fixtures of the admin and account API tests (admin-api.md): an admin client's
//! token and the RFC 9457 problem assertion.

use serde_json::Value;

use crate::helpers::{json_of, TestApp};

/// A confidential client with audience `authd-admin` and `scopes`; its cc token.
pub async fn admin_token(app: &TestApp, id: &str, audience: &str, scopes: &str) -> String {
    let secret = app
        .add_client(id, true, &["client_credentials"], &[audience], scopes)
        .await
        .unwrap();
    let response = app
        .post_form_basic(
            "/auth/token",
            (id, &secret),
            &[("grant_type", "client_credentials")],
        )
        .await;
    assert_eq!(response.status(), 200);
    json_of(response).await["access_token"]
        .as_str()
        .unwrap()
        .to_owned()
}

/// Asserts an RFC 9457 problem of `status` and `kind`; returns its body.
pub async fn assert_problem(response: reqwest::Response, status: u16, kind: &str) -> Value {
    assert_eq!(response.status(), status);
    assert_eq!(
        response.headers()["content-type"],
        "application/problem+json"
    );
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["type"], format!("urn:authd:problem:{kind}"), "{body}");
    assert_eq!(body["status"], status, "{body}");
    assert!(body["title"].is_string(), "{body}");
    assert!(body["detail"].is_string(), "{body}");
    body
}
