//! Registered OAuth clients (spec §1, §3): client authentication (basic and post),
//! client_credentials, per-client grants, scopes and audiences, refresh-token binding,
//! and discovery. Introspection has its own file.

use serde_json::{json, Value};

use crate::helpers::{
    assert_oauth_error, json_of, segment, spawn_app, spawn_app_with, within_five_seconds, TestApp,
    PASSWORD,
};

const BACKEND: &str = "backend";

/// A confidential client allowed client_credentials with scopes `read write`,
/// `read` by default... (defaults equal the allowed scopes in `add_client`).
async fn backend(app: &TestApp) -> String {
    app.add_client(
        BACKEND,
        true,
        &["client_credentials"],
        &["https://api.example.com", "billing"],
        "read write",
    )
    .await
    .unwrap()
}

async fn assert_invalid_client(response: reqwest::Response, case: &str) {
    assert_eq!(response.status(), 401, "{case}");
    let challenge = response.headers()["www-authenticate"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(challenge.starts_with("Basic "), "{case}: {challenge}");
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"], "invalid_client", "{case}: {body}");
    assert!(body["error_description"].is_string(), "{case}");
}

#[tokio::test]
async fn client_credentials_with_basic_auth_returns_a_token_for_the_client() {
    let app = spawn_app().await;
    let secret = backend(&app).await;

    let response = app
        .post_form_basic(
            "/auth/token",
            (BACKEND, &secret),
            &[("grant_type", "client_credentials")],
        )
        .await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["cache-control"], "no-store");
    assert_eq!(response.headers()["pragma"], "no-cache");
    let body = json_of(response).await;
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["expires_in"], 600);
    assert!(body.get("refresh_token").is_none(), "{body}");
    assert_eq!(body["scope"], "read write", "the client's default scopes");

    let claims = segment(body["access_token"].as_str().unwrap(), 1);
    assert_eq!(claims["sub"], BACKEND);
    assert_eq!(claims["client_id"], BACKEND);
    assert_eq!(claims["aud"], json!(["https://api.example.com", "billing"]));
    assert_eq!(claims["scope"], "read write");
    assert!(claims.get("sid").is_none(), "{claims}");
    assert!(claims.get("roles").is_none(), "{claims}");

    // A token without a user: userinfo says so with 403 (spec §3).
    let response = app.userinfo(body["access_token"].as_str().unwrap()).await;
    assert_eq!(response.status(), 403);
}

#[tokio::test]
async fn client_secret_post_authenticates_too() {
    let app = spawn_app().await;
    let secret = backend(&app).await;
    let body = json_of(
        app.post_form(
            "/auth/token",
            &[
                ("grant_type", "client_credentials"),
                ("client_id", BACKEND),
                ("client_secret", &secret),
                ("scope", "read"),
            ],
        )
        .await,
    )
    .await;
    assert_eq!(body["scope"], "read");
    // JSON bodies carry the same fields.
    let body = json_of(
        app.post_json(
            "/auth/token",
            &json!({"grant_type": "client_credentials", "client_id": BACKEND, "client_secret": secret}),
        )
        .await,
    )
    .await;
    assert_eq!(
        segment(body["access_token"].as_str().unwrap(), 1)["sub"],
        BACKEND
    );
}

#[tokio::test]
async fn every_client_authentication_failure_is_401_invalid_client() {
    let app = spawn_app().await;
    let secret = backend(&app).await;
    app.add_client(
        "mobile",
        false,
        &["password", "refresh_token"],
        &["api"],
        "",
    )
    .await;
    let cc = ("grant_type", "client_credentials");
    let wrong = format!("{}x", &secret[..secret.len() - 1]);

    let cases: Vec<(&str, reqwest::Response)> = vec![
        (
            "wrong secret (basic)",
            app.post_form_basic("/auth/token", (BACKEND, &wrong), &[cc])
                .await,
        ),
        (
            "wrong secret (post)",
            app.post_form(
                "/auth/token",
                &[cc, ("client_id", BACKEND), ("client_secret", &wrong)],
            )
            .await,
        ),
        (
            "a prefix of the secret",
            app.post_form_basic("/auth/token", (BACKEND, &secret[..20]), &[cc])
                .await,
        ),
        (
            "unknown client",
            app.post_form_basic("/auth/token", ("nobody", &secret), &[cc])
                .await,
        ),
        (
            "no client authentication at all",
            app.post_form("/auth/token", &[cc]).await,
        ),
        (
            "a confidential client without its secret",
            app.post_form("/auth/token", &[cc, ("client_id", BACKEND)])
                .await,
        ),
        (
            "a public client presenting a secret",
            app.post_form(
                "/auth/token",
                &[
                    ("grant_type", "password"),
                    ("username", "alice"),
                    ("password", PASSWORD),
                    ("client_id", "mobile"),
                    ("client_secret", &secret),
                ],
            )
            .await,
        ),
        (
            "another client's secret",
            app.post_form_basic("/auth/token", ("mobile", &secret), &[cc])
                .await,
        ),
        (
            "Basic that is not base64",
            app.client
                .post(app.url("/auth/token"))
                .header("authorization", "Basic %%%not-base64")
                .form(&[cc])
                .send()
                .await
                .unwrap(),
        ),
        (
            "Basic without a colon",
            app.client
                .post(app.url("/auth/token"))
                .header("authorization", "Basic YmFja2VuZA==")
                .form(&[cc])
                .send()
                .await
                .unwrap(),
        ),
        (
            "a Bearer token instead of client credentials",
            app.client
                .post(app.url("/auth/token"))
                .bearer_auth(&secret)
                .form(&[cc])
                .send()
                .await
                .unwrap(),
        ),
    ];
    for (case, response) in cases {
        assert_invalid_client(response, case).await;
    }
}

#[tokio::test]
async fn basic_credentials_are_form_decoded_and_the_scheme_is_case_insensitive() {
    let app = spawn_app().await;
    let secret = backend(&app).await;
    // RFC 6749 §2.3.1: id and secret are form-urlencoded before base64.
    let encoded = crate::helpers::b64_std(format!("back%65nd:{secret}").as_bytes());
    let response = app
        .client
        .post(app.url("/auth/token"))
        .header("authorization", format!("bAsIc {encoded}"))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .unwrap();
    let body = json_of(response).await;
    assert_eq!(
        segment(body["access_token"].as_str().unwrap(), 1)["sub"],
        BACKEND
    );
}

#[tokio::test]
async fn two_authentication_methods_at_once_are_an_invalid_request() {
    let app = spawn_app().await;
    let secret = backend(&app).await;
    let response = app
        .post_form_basic(
            "/auth/token",
            (BACKEND, &secret),
            &[
                ("grant_type", "client_credentials"),
                ("client_id", BACKEND),
                ("client_secret", &secret),
            ],
        )
        .await;
    assert_oauth_error(response, 400, "invalid_request").await;
    let response = app
        .post_form_basic(
            "/auth/token",
            (BACKEND, &secret),
            &[("grant_type", "client_credentials"), ("client_id", "app")],
        )
        .await;
    assert_oauth_error(response, 400, "invalid_request").await;
}

#[tokio::test]
async fn a_grant_the_client_may_not_use_is_unauthorized_client() {
    let app = spawn_app().await;
    app.add_user("alice", PASSWORD, &[]).await;
    let secret = backend(&app).await;
    app.add_client(
        "mobile",
        false,
        &["password", "refresh_token"],
        &["api"],
        "",
    )
    .await;

    // A public client trying client_credentials.
    let response = app
        .post_form(
            "/auth/token",
            &[
                ("grant_type", "client_credentials"),
                ("client_id", "mobile"),
            ],
        )
        .await;
    assert_oauth_error(response, 400, "unauthorized_client").await;
    // The default client is public too.
    let response = app
        .post_form(
            "/auth/token",
            &[("grant_type", "client_credentials"), ("client_id", "app")],
        )
        .await;
    assert_oauth_error(response, 400, "unauthorized_client").await;
    // A client_credentials-only client trying the password and refresh grants.
    let response = app
        .post_form_basic(
            "/auth/token",
            (BACKEND, &secret),
            &[
                ("grant_type", "password"),
                ("username", "alice"),
                ("password", PASSWORD),
            ],
        )
        .await;
    assert_oauth_error(response, 400, "unauthorized_client").await;
    let response = app
        .post_form_basic(
            "/auth/refresh",
            (BACKEND, &secret),
            &[("refresh_token", "authd_rt_x")],
        )
        .await;
    assert_oauth_error(response, 400, "unauthorized_client").await;
}

#[tokio::test]
async fn requested_scopes_must_be_within_the_clients_allowed_scopes() {
    let app = spawn_app().await;
    let secret = backend(&app).await;
    for escalation in ["admin", "read admin", "write delete"] {
        let response = app
            .post_form_basic(
                "/auth/token",
                (BACKEND, &secret),
                &[("grant_type", "client_credentials"), ("scope", escalation)],
            )
            .await;
        assert_oauth_error(response, 400, "invalid_scope").await;
    }
    let body = json_of(
        app.post_form_basic(
            "/auth/token",
            (BACKEND, &secret),
            &[("grant_type", "client_credentials"), ("scope", "write")],
        )
        .await,
    )
    .await;
    assert_eq!(body["scope"], "write");
}

#[tokio::test]
async fn a_registered_public_client_logs_users_in_with_its_own_audience_and_scopes() {
    let app = spawn_app().await;
    app.add_user("alice", PASSWORD, &[]).await;
    app.add_client(
        "mobile",
        false,
        &["password", "refresh_token"],
        &["mobile-api"],
        "profile",
    )
    .await;
    let login = json_of(
        app.post_json(
            "/auth/token",
            &json!({"username": "alice", "password": PASSWORD, "client_id": "mobile"}),
        )
        .await,
    )
    .await;
    let claims = segment(login["access_token"].as_str().unwrap(), 1);
    assert_eq!(claims["client_id"], "mobile");
    assert_eq!(claims["aud"], json!(["mobile-api"]));
    assert_eq!(claims["scope"], "profile");
    assert!(claims["sid"].is_string());
    let response = app.userinfo(login["access_token"].as_str().unwrap()).await;
    assert_eq!(response.status(), 200, "its tokens validate");

    // Its refresh token works for it, with its client_id ...
    let refreshed = json_of(
        app.post_json(
            "/auth/refresh",
            &json!({"refresh_token": login["refresh_token"], "client_id": "mobile"}),
        )
        .await,
    )
    .await;
    assert_eq!(refreshed["scope"], "profile");
    // ... and not for the default client.
    let response = app
        .refresh(refreshed["refresh_token"].as_str().unwrap())
        .await;
    assert_oauth_error(response, 400, "invalid_grant").await;
}

#[tokio::test]
async fn a_refresh_token_presented_by_another_client_is_refused_and_not_consumed() {
    let app = spawn_app().await;
    app.add_user("alice", PASSWORD, &[]).await;
    let secret = app
        .add_client("web", true, &["password", "refresh_token"], &["api"], "")
        .await
        .unwrap();
    // A token of the default client, presented by an authenticated confidential client.
    let pair = app.login_pair("alice", PASSWORD).await;
    let token = pair["refresh_token"].as_str().unwrap();
    let response = app
        .post_form_basic(
            "/auth/refresh",
            ("web", &secret),
            &[("refresh_token", token)],
        )
        .await;
    assert_oauth_error(response, 400, "invalid_grant").await;
    // Still live for its own client.
    json_of(app.refresh(token).await).await;
}

#[tokio::test]
async fn a_confidential_client_must_authenticate_for_every_grant() {
    let app = spawn_app().await;
    app.add_user("alice", PASSWORD, &[]).await;
    let secret = app
        .add_client("web", true, &["password", "refresh_token"], &["api"], "")
        .await
        .unwrap();
    let password_grant = [
        ("grant_type", "password"),
        ("username", "alice"),
        ("password", PASSWORD),
    ];
    let mut without_secret = password_grant.to_vec();
    without_secret.push(("client_id", "web"));
    assert_invalid_client(
        app.post_form("/auth/token", &without_secret).await,
        "password grant without the secret",
    )
    .await;

    let pair = json_of(
        app.post_form_basic("/auth/token", ("web", &secret), &password_grant)
            .await,
    )
    .await;
    assert_eq!(
        segment(pair["access_token"].as_str().unwrap(), 1)["client_id"],
        "web"
    );
    let token = pair["refresh_token"].as_str().unwrap();
    assert_invalid_client(
        app.post_form(
            "/auth/refresh",
            &[("refresh_token", token), ("client_id", "web")],
        )
        .await,
        "refresh without the secret",
    )
    .await;
    json_of(
        app.post_form_basic(
            "/auth/refresh",
            ("web", &secret),
            &[("refresh_token", token)],
        )
        .await,
    )
    .await;
}

#[tokio::test]
async fn a_client_without_the_refresh_grant_gets_no_refresh_token() {
    let app = spawn_app().await;
    app.add_user("alice", PASSWORD, &[]).await;
    app.add_client("kiosk", false, &["password"], &["api"], "")
        .await;
    let body = json_of(
        app.post_json(
            "/auth/token",
            &json!({"username": "alice", "password": PASSWORD, "client_id": "kiosk"}),
        )
        .await,
    )
    .await;
    assert!(body.get("refresh_token").is_none(), "{body}");
    // The access token still belongs to a session: logout ends it.
    let access = body["access_token"].as_str().unwrap();
    assert!(segment(access, 1)["sid"].is_string());
    let response = app
        .client
        .post(app.url("/auth/logout"))
        .bearer_auth(access)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 204);
    assert_eq!(app.userinfo(access).await.status(), 401);
}

#[tokio::test]
async fn a_confidential_client_revokes_its_own_tokens_only() {
    let app = spawn_app().await;
    let secret = backend(&app).await;
    let other = app
        .add_client("reports", true, &["client_credentials"], &["api"], "")
        .await
        .unwrap();
    let token_of = |(id, secret): (&'static str, String)| {
        let app = &app;
        async move {
            let body = json_of(
                app.post_form_basic(
                    "/auth/token",
                    (id, &secret),
                    &[("grant_type", "client_credentials")],
                )
                .await,
            )
            .await;
            body["access_token"].as_str().unwrap().to_owned()
        }
    };
    let mine = token_of((BACKEND, secret.clone())).await;
    let theirs = token_of(("reports", other.clone())).await;

    // Unauthenticated: refused before anything happens.
    let response = app
        .post_form("/auth/revoke", &[("token", &mine), ("client_id", BACKEND)])
        .await;
    assert_invalid_client(response, "revoke without the secret").await;

    for token in [&mine, &theirs] {
        let response = app
            .post_form_basic("/auth/revoke", (BACKEND, &secret), &[("token", token)])
            .await;
        assert_eq!(response.status(), 200);
    }
    let active = |token: String| {
        let (app, other) = (&app, other.clone());
        async move {
            json_of(
                app.post_form_basic(
                    "/auth/introspect",
                    ("reports", &other),
                    &[("token", &token)],
                )
                .await,
            )
            .await["active"]
                .clone()
        }
    };
    assert_eq!(active(mine).await, json!(false), "its own token is revoked");
    assert_eq!(active(theirs).await, json!(true), "another client's is not");
}

#[tokio::test]
async fn discovery_lists_the_grants_auth_methods_and_scopes_supported() {
    let app = spawn_app_with(|s| {
        s.default_client.scopes = authd::domain::Scopes::parse("profile").unwrap();
    })
    .await;
    backend(&app).await;
    // Clients registered elsewhere (here: straight into the store) are picked up by the
    // registry's once-a-second check.
    let listed = within_five_seconds(async || {
        let doc = json_of(
            app.client
                .get(app.url("/.well-known/openid-configuration"))
                .send()
                .await
                .unwrap(),
        )
        .await;
        doc["scopes_supported"] != json!(["profile"])
    })
    .await;
    assert!(listed, "scopes not listed within 5 s");
    for path in [
        "/.well-known/openid-configuration",
        "/.well-known/oauth-authorization-server",
    ] {
        let doc = json_of(app.client.get(app.url(path)).send().await.unwrap()).await;
        assert_eq!(
            doc["grant_types_supported"],
            json!(["password", "refresh_token", "client_credentials"])
        );
        assert_eq!(
            doc["token_endpoint_auth_methods_supported"],
            json!(["client_secret_basic", "client_secret_post", "none"])
        );
        assert_eq!(
            doc["introspection_endpoint_auth_methods_supported"],
            json!(["client_secret_basic", "client_secret_post"])
        );
        assert_eq!(doc["scopes_supported"], json!(["profile", "read", "write"]));
    }
}
