//! POST /auth/introspect (RFC 7662, spec §3): only authenticated confidential clients may
//! ask; a live access token is described, anything else is `{"active": false}`.

use serde_json::{json, Value};

use crate::forger::Forger;
use crate::helpers::{
    assert_oauth_error, segment, spawn_app, within_five_seconds, TestApp, ISSUER, PASSWORD,
};

/// A resource server: a confidential client with no grant of its own.
async fn resource_server(app: &TestApp) -> (&'static str, String) {
    let secret = app.add_client("rs", true, &[], &["rs"], "").await.unwrap();
    ("rs", secret)
}

async fn introspect(app: &TestApp, rs: &(&str, String), token: &str) -> Value {
    let response = app
        .post_form_basic("/auth/introspect", (rs.0, &rs.1), &[("token", token)])
        .await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["cache-control"], "no-store");
    response.json().await.unwrap()
}

async fn assert_inactive(app: &TestApp, rs: &(&str, String), token: &str, case: &str) {
    assert_eq!(
        introspect(app, rs, token).await,
        json!({"active": false}),
        "{case}"
    );
}

#[tokio::test]
async fn a_live_user_token_is_described() {
    let app = spawn_app().await;
    let rs = resource_server(&app).await;
    let user = app.add_user("alice", PASSWORD, &["admin"]).await;
    let token = app.login("alice", PASSWORD).await;
    let claims = segment(&token, 1);

    let body = introspect(&app, &rs, &token).await;
    assert_eq!(
        body,
        json!({
            "active": true,
            "sub": user.id.to_string(),
            "client_id": "app",
            "exp": claims["exp"],
            "iat": claims["iat"],
            "iss": ISSUER,
            "aud": ["api"],
            "jti": claims["jti"],
            "token_type": "Bearer",
        }),
        "scope omitted when empty"
    );
}

#[tokio::test]
async fn a_live_client_credentials_token_is_described_with_its_scope() {
    let app = spawn_app().await;
    let rs = resource_server(&app).await;
    let secret = app
        .add_client("job", true, &["client_credentials"], &["api"], "read")
        .await
        .unwrap();
    let response = app
        .post_form_basic(
            "/auth/token",
            ("job", &secret),
            &[("grant_type", "client_credentials")],
        )
        .await;
    let token: Value = response.json().await.unwrap();
    let body = introspect(&app, &rs, token["access_token"].as_str().unwrap()).await;
    assert_eq!(body["active"], true);
    assert_eq!(body["sub"], "job");
    assert_eq!(body["client_id"], "job");
    assert_eq!(body["scope"], "read");
}

#[tokio::test]
async fn anything_but_a_live_access_token_is_inactive() {
    let app = spawn_app().await;
    let rs = resource_server(&app).await;
    let forger = Forger::new(&app).await; // adds alice
    let control = forger.sign(&forger.header(), &forger.claims());
    assert_eq!(introspect(&app, &rs, &control).await["active"], true);

    let now = chrono::Utc::now().timestamp();
    let mut expired = forger.claims();
    expired["iat"] = json!(now - 700);
    expired["nbf"] = json!(now - 700);
    expired["exp"] = json!(now - 100);
    let mut unknown_kid = forger.header();
    unknown_kid["kid"] = json!("no-such-key");
    let mut tampered = control.clone();
    tampered.replace_range(tampered.len() - 4.., "AAAA");
    let pair = app.login_pair("alice", PASSWORD).await;

    let cases = [
        (forger.sign(&forger.header(), &expired), "expired"),
        (forger.sign(&unknown_kid, &forger.claims()), "unknown kid"),
        (tampered, "bad signature"),
        (
            forger.with_claim("aud", json!(["elsewhere"])),
            "foreign audience",
        ),
        (
            forger.with_claim("client_id", json!("nobody")),
            "unknown client",
        ),
        (
            forger.with_claim("iss", json!("https://evil.example")),
            "foreign issuer",
        ),
        (
            pair["refresh_token"].as_str().unwrap().to_owned(),
            "a refresh token",
        ),
        ("garbage".to_owned(), "garbage"),
        ("a.b.c".to_owned(), "three garbage segments"),
        ("x".repeat(9000), "over 8 KiB"),
    ];
    for (token, case) in cases {
        assert_inactive(&app, &rs, &token, case).await;
    }
}

#[tokio::test]
async fn revoked_tokens_are_inactive_by_jti_sid_and_user() {
    let app = spawn_app().await;
    let rs = resource_server(&app).await;
    app.add_user("alice", PASSWORD, &[]).await;

    // By jti: RFC 7009 revocation of the access token.
    let by_jti = app.login("alice", PASSWORD).await;
    let response = app
        .post_form("/auth/revoke", &[("token", &by_jti), ("client_id", "app")])
        .await;
    assert_eq!(response.status(), 200);
    assert_inactive(&app, &rs, &by_jti, "revoked by jti").await;

    // By sid: logout ends the family, and with it a sibling token of the same session.
    let pair = app.login_pair("alice", PASSWORD).await;
    let first = pair["access_token"].as_str().unwrap().to_owned();
    let refreshed: Value = app
        .refresh(pair["refresh_token"].as_str().unwrap())
        .await
        .json()
        .await
        .unwrap();
    let second = refreshed["access_token"].as_str().unwrap();
    let response = app
        .client
        .post(app.url("/auth/logout"))
        .bearer_auth(second)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 204);
    assert_inactive(&app, &rs, &first, "revoked by sid").await;

    // By user: disabling alice (as the CLI does) ends every family; a running server
    // honours it within 5 s (spec §4).
    let by_user = app.login("alice", PASSWORD).await;
    assert_eq!(introspect(&app, &rs, &by_user).await["active"], true);
    app.disable_user("alice").await;
    let inactive =
        within_five_seconds(async || introspect(&app, &rs, &by_user).await["active"] != true).await;
    assert!(inactive, "still active 5 s after the user was disabled");
}

#[tokio::test]
async fn only_authenticated_confidential_clients_may_introspect() {
    let app = spawn_app().await;
    let rs = resource_server(&app).await;
    app.add_user("alice", PASSWORD, &[]).await;
    let token = app.login("alice", PASSWORD).await;

    let unauthenticated = [
        (
            app.post_form("/auth/introspect", &[("token", &token)])
                .await,
            "no client authentication",
        ),
        (
            app.post_form(
                "/auth/introspect",
                &[("token", &token), ("client_id", "app")],
            )
            .await,
            "the public default client",
        ),
        (
            app.post_form(
                "/auth/introspect",
                &[("token", &token), ("client_id", "rs")],
            )
            .await,
            "a confidential client without its secret",
        ),
        (
            app.post_form_basic(
                "/auth/introspect",
                ("rs", &"x".repeat(43)),
                &[("token", &token)],
            )
            .await,
            "a wrong secret",
        ),
    ];
    for (response, case) in unauthenticated {
        assert_eq!(response.status(), 401, "{case}");
        assert!(response.headers()["www-authenticate"]
            .to_str()
            .unwrap()
            .starts_with("Basic "));
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["error"], "invalid_client", "{case}");
        assert!(
            body.get("active").is_none(),
            "{case}: nothing about the token"
        );
    }

    // Malformed requests from an authenticated client.
    let response = app
        .post_form_basic(
            "/auth/introspect",
            (rs.0, &rs.1),
            &[("token_type_hint", "access_token")],
        )
        .await;
    assert_oauth_error(response, 400, "invalid_request").await;
    let response = app
        .client
        .post(app.url("/auth/introspect"))
        .basic_auth(rs.0, Some(&rs.1))
        .json(&json!({"token": token}))
        .send()
        .await
        .unwrap();
    assert_oauth_error(response, 415, "invalid_request").await;
    // A hint never changes the answer.
    let response = app
        .post_form_basic(
            "/auth/introspect",
            (rs.0, &rs.1),
            &[("token", &token), ("token_type_hint", "refresh_token")],
        )
        .await;
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["active"], true);
}
