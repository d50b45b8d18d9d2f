//! The account API, `/account/v1` (admin-api.md §3): a user's own token, `GET /me`,
//! `POST /password`, their sessions, and self-registration.

use authd::audit::{AuditQuery, EventKind};
use serde_json::{json, Value};

use crate::admin::{admin_token, assert_problem};
use crate::helpers::{segment, spawn_app, spawn_app_with, TestApp, PASSWORD};

const NEW_PASSWORD: &str = "a brand new passphrase";

async fn call(
    app: &TestApp,
    method: reqwest::Method,
    token: &str,
    path: &str,
    body: Option<&Value>,
) -> reqwest::Response {
    let mut request = app.client.request(method, app.url(path)).bearer_auth(token);
    if let Some(body) = body {
        request = request.json(body);
    }
    request.send().await.unwrap()
}

fn sid_of(access_token: &str) -> String {
    segment(access_token, 1)["sid"].as_str().unwrap().to_owned()
}

async fn change_password(
    app: &TestApp,
    token: &str,
    current: &str,
    new: &str,
) -> reqwest::Response {
    call(
        app,
        reqwest::Method::POST,
        token,
        "/account/v1/password",
        Some(&json!({"current_password": current, "new_password": new})),
    )
    .await
}

async fn events(
    app: &TestApp,
    user: uuid::Uuid,
    kind: EventKind,
) -> Vec<authd::audit::AuditRecord> {
    app.store
        .audit_events(&AuditQuery {
            since: None,
            user_id: Some(user),
            event: Some(kind),
            limit: 50,
        })
        .await
        .unwrap()
}

#[tokio::test]
async fn a_missing_or_garbage_token_is_401_with_a_bearer_challenge() {
    let app = spawn_app().await;
    let response = app
        .client
        .get(app.url("/account/v1/me"))
        .send()
        .await
        .unwrap();
    let challenge = response.headers()["www-authenticate"].to_str().unwrap();
    assert!(challenge.starts_with("Bearer"), "{challenge}");
    assert_problem(response, 401, "unauthorized").await;
    let response = call(
        &app,
        reqwest::Method::GET,
        "garbage",
        "/account/v1/me",
        None,
    )
    .await;
    assert!(response.headers()["www-authenticate"]
        .to_str()
        .unwrap()
        .contains("invalid_token"));
    assert_problem(response, 401, "unauthorized").await;
}

#[tokio::test]
async fn a_client_credentials_token_is_403() {
    let app = spawn_app().await;
    let token = admin_token(&app, "svc", "api", "").await;
    let response = call(&app, reqwest::Method::GET, &token, "/account/v1/me", None).await;
    assert_problem(response, 403, "forbidden").await;
}

#[tokio::test]
async fn a_token_of_an_ended_session_is_401() {
    let app = spawn_app().await;
    app.add_user("alice", PASSWORD, &[]).await;
    let token = app.login("alice", PASSWORD).await;
    let logout = call(&app, reqwest::Method::POST, &token, "/auth/logout", None).await;
    assert!(logout.status().is_success());
    let response = call(&app, reqwest::Method::GET, &token, "/account/v1/me", None).await;
    assert_problem(response, 401, "unauthorized").await;
}

#[tokio::test]
async fn me_is_the_users_own_representation_without_disabled_or_later_timestamps() {
    let app = spawn_app().await;
    let alice = app.add_user("alice", PASSWORD, &["reader"]).await;
    let token = app.login("alice", PASSWORD).await;
    let response = call(&app, reqwest::Method::GET, &token, "/account/v1/me", None).await;
    assert_eq!(response.status(), 200);
    let me: Value = response.json().await.unwrap();
    assert_eq!(me["id"], alice.id.to_string());
    assert_eq!(me["username"], "alice");
    assert_eq!(me["roles"], json!(["reader"]));
    assert_eq!(me["email_verified"], false);
    assert!(me["created_at"].as_str().unwrap().ends_with('Z'));
    for absent in [
        "disabled",
        "updated_at",
        "password_changed_at",
        "password_hash",
        "email",
    ] {
        assert!(me.get(absent).is_none(), "{absent} in {me}");
    }
}

#[tokio::test]
async fn changing_the_password_ends_every_other_session_and_keeps_the_calling_one() {
    let app = spawn_app().await;
    let alice = app.add_user("alice", PASSWORD, &[]).await;
    let mine = app.login_pair("alice", PASSWORD).await;
    let other = app.login_pair("alice", PASSWORD).await;
    let token = mine["access_token"].as_str().unwrap();

    let response = change_password(&app, token, PASSWORD, NEW_PASSWORD).await;
    assert_eq!(response.status(), 204);

    let other_token = other["access_token"].as_str().unwrap();
    assert_eq!(
        app.userinfo(other_token).await.status(),
        401,
        "dead at once"
    );
    let refreshed = app.refresh(other["refresh_token"].as_str().unwrap()).await;
    assert_eq!(refreshed.status(), 400);
    assert_eq!(app.userinfo(token).await.status(), 200, "mine lives on");
    let refreshed = app.refresh(mine["refresh_token"].as_str().unwrap()).await;
    assert_eq!(refreshed.status(), 200, "and still refreshes");

    let old = app
        .post_json(
            "/auth/token",
            &json!({"username": "alice", "password": PASSWORD}),
        )
        .await;
    assert_eq!(old.status(), 400);
    app.login("alice", NEW_PASSWORD).await;

    let changed = events(&app, alice.id, EventKind::PasswordChanged).await;
    assert_eq!(changed.len(), 1);
    assert_eq!(changed[0].client_id.as_deref(), Some("app"));
    assert_eq!(changed[0].detail.as_deref(), Some("sessions_revoked=1"));
}

#[tokio::test]
async fn a_wrong_current_password_is_400_and_counts_toward_login_throttling() {
    let app = spawn_app_with(|s| s.login.max_failures = 2).await;
    app.add_user("alice", PASSWORD, &[]).await;
    let token = app.login("alice", PASSWORD).await;
    for _ in 0..2 {
        let response = change_password(&app, &token, "not the password", NEW_PASSWORD).await;
        let body = assert_problem(response, 400, "invalid-current-password").await;
        assert!(!body.to_string().contains("not the password"));
    }
    let response = change_password(&app, &token, PASSWORD, NEW_PASSWORD).await;
    assert!(response.headers().contains_key("retry-after"));
    assert_problem(response, 429, "too-many-requests").await;
    let login = app
        .post_json(
            "/auth/token",
            &json!({"username": "alice", "password": PASSWORD}),
        )
        .await;
    assert_eq!(login.status(), 429, "the same throttle as logins");
    // Nothing changed.
    assert_eq!(app.userinfo(&token).await.status(), 200);
}

#[tokio::test]
async fn a_bad_password_change_body_is_400_415_or_413() {
    let app = spawn_app().await;
    app.add_user("alice", PASSWORD, &[]).await;
    let token = app.login("alice", PASSWORD).await;

    let response = change_password(&app, &token, PASSWORD, "short").await;
    let body = assert_problem(response, 400, "invalid-request").await;
    assert_eq!(body["errors"][0]["field"], "new_password", "{body}");
    assert!(!body.to_string().contains("short\""));

    let extra = json!({"current_password": PASSWORD, "new_password": NEW_PASSWORD, "user_id": "x"});
    let response = call(
        &app,
        reqwest::Method::POST,
        &token,
        "/account/v1/password",
        Some(&extra),
    )
    .await;
    let body = assert_problem(response, 400, "invalid-request").await;
    assert_eq!(body["errors"][0]["field"], "user_id", "{body}");

    let missing = json!({"new_password": NEW_PASSWORD});
    let response = call(
        &app,
        reqwest::Method::POST,
        &token,
        "/account/v1/password",
        Some(&missing),
    )
    .await;
    let body = assert_problem(response, 400, "invalid-request").await;
    assert_eq!(body["errors"][0]["field"], "current_password", "{body}");

    let response = app
        .client
        .post(app.url("/account/v1/password"))
        .bearer_auth(&token)
        .form(&[
            ("current_password", PASSWORD),
            ("new_password", NEW_PASSWORD),
        ])
        .send()
        .await
        .unwrap();
    assert_problem(response, 415, "unsupported-media-type").await;

    let huge = json!({"current_password": PASSWORD, "new_password": "x".repeat(17 * 1024)});
    let response = call(
        &app,
        reqwest::Method::POST,
        &token,
        "/account/v1/password",
        Some(&huge),
    )
    .await;
    assert_problem(response, 413, "payload-too-large").await;

    app.login("alice", PASSWORD).await;
}

#[tokio::test]
async fn my_sessions_are_listed_with_the_calling_one_current() {
    let app = spawn_app().await;
    app.add_user("alice", PASSWORD, &[]).await;
    app.add_user("bob", PASSWORD, &[]).await;
    let mine = app.login("alice", PASSWORD).await;
    let other = app.login("alice", PASSWORD).await;
    app.login("bob", PASSWORD).await;

    let response = call(
        &app,
        reqwest::Method::GET,
        &mine,
        "/account/v1/sessions",
        None,
    )
    .await;
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.unwrap();
    let items = body["items"].as_array().unwrap();
    assert_eq!(items.len(), 2, "only alice's: {body}");
    let current: Vec<&Value> = items.iter().filter(|i| i["current"] == true).collect();
    assert_eq!(current.len(), 1);
    assert_eq!(current[0]["sid"], sid_of(&mine));
    assert!(items
        .iter()
        .any(|i| i["sid"] == sid_of(&other) && i["current"] == false));
}

#[tokio::test]
async fn deleting_my_session_by_sid_ends_it_and_anything_else_is_204_and_left_alone() {
    let app = spawn_app().await;
    app.add_user("alice", PASSWORD, &[]).await;
    app.add_user("bob", PASSWORD, &[]).await;
    let mine = app.login("alice", PASSWORD).await;
    let other = app.login("alice", PASSWORD).await;
    let bobs = app.login("bob", PASSWORD).await;

    let path = format!("/account/v1/sessions/{}", sid_of(&other));
    let response = call(&app, reqwest::Method::DELETE, &mine, &path, None).await;
    assert_eq!(response.status(), 204);
    assert_eq!(app.userinfo(&other).await.status(), 401);

    for sid in [
        sid_of(&bobs),
        uuid::Uuid::new_v4().to_string(),
        "garbage".to_owned(),
    ] {
        let path = format!("/account/v1/sessions/{sid}");
        let response = call(&app, reqwest::Method::DELETE, &mine, &path, None).await;
        assert_eq!(response.status(), 204, "{sid}");
        assert!(response.bytes().await.unwrap().is_empty());
    }
    assert_eq!(
        app.userinfo(&bobs).await.status(),
        200,
        "bob's is left alone"
    );
    assert_eq!(app.userinfo(&mine).await.status(), 200);
}

#[tokio::test]
async fn deleting_sessions_with_scope_others_ends_all_but_mine() {
    let app = spawn_app().await;
    let alice = app.add_user("alice", PASSWORD, &[]).await;
    let mine = app.login("alice", PASSWORD).await;
    let a = app.login("alice", PASSWORD).await;
    let b = app.login("alice", PASSWORD).await;

    let response = call(
        &app,
        reqwest::Method::DELETE,
        &mine,
        "/account/v1/sessions?scope=others",
        None,
    )
    .await;
    assert_eq!(response.status(), 204);
    assert_eq!(app.userinfo(&a).await.status(), 401);
    assert_eq!(app.userinfo(&b).await.status(), 401);
    assert_eq!(app.userinfo(&mine).await.status(), 200);
    let revoked = events(&app, alice.id, EventKind::SessionRevoked).await;
    assert_eq!(revoked.len(), 2);
}

#[tokio::test]
async fn deleting_sessions_with_any_other_query_is_400_and_ends_nothing() {
    let app = spawn_app().await;
    app.add_user("alice", PASSWORD, &[]).await;
    let mine = app.login("alice", PASSWORD).await;
    let other = app.login("alice", PASSWORD).await;
    for query in [
        "",
        "?scope=all",
        "?scope=others&scope=others",
        "?scope=others&x=1",
    ] {
        let path = format!("/account/v1/sessions{query}");
        let response = call(&app, reqwest::Method::DELETE, &mine, &path, None).await;
        assert_problem(response, 400, "invalid-request").await;
    }
    assert_eq!(app.userinfo(&other).await.status(), 200);
}

// ---- registration ----

fn open_registration(s: &mut authd::config::Settings) {
    s.registration.enabled = true;
}

async fn register(app: &TestApp, body: &Value) -> reqwest::Response {
    app.post_json("/account/v1/register", body).await
}

#[tokio::test]
async fn registration_is_404_unless_enabled() {
    let app = spawn_app().await;
    let response = register(&app, &json!({"username": "carol", "password": PASSWORD})).await;
    assert_problem(response, 404, "not-found").await;
    assert!(app
        .store
        .user_by_username(&authd::domain::Username::parse("carol").unwrap())
        .await
        .unwrap()
        .is_none());
}

#[tokio::test]
async fn a_registered_user_is_201_with_the_default_roles_and_logs_in() {
    let app = spawn_app_with(|s| {
        open_registration(s);
        s.registration.default_roles = vec![authd::domain::Role::parse("member").unwrap()];
    })
    .await;
    let response = register(
        &app,
        &json!({"username": "carol", "password": PASSWORD, "email": "carol@example.com", "name": "Carol"}),
    )
    .await;
    assert_eq!(response.status(), 201);
    assert_eq!(response.headers()["location"], "/account/v1/me");
    assert_eq!(response.headers()["content-type"], "application/json");
    let user: Value = response.json().await.unwrap();
    assert_eq!(user["username"], "carol");
    assert_eq!(user["roles"], json!(["member"]));
    assert_eq!(user["email"], "carol@example.com");
    assert_eq!(user["email_verified"], false);
    assert_eq!(user["name"], "Carol");
    assert!(user.get("disabled").is_none());
    assert!(!user.to_string().contains(PASSWORD));

    let token = app.login("carol", PASSWORD).await;
    let me = call(&app, reqwest::Method::GET, &token, "/account/v1/me", None).await;
    assert_eq!(me.json::<Value>().await.unwrap()["id"], user["id"]);
    let id = uuid::Uuid::parse_str(user["id"].as_str().unwrap()).unwrap();
    let registered = events(&app, id, EventKind::UserRegistered).await;
    assert_eq!(registered.len(), 1);
    assert_eq!(registered[0].source.as_deref(), Some("127.0.0.1"));
}

#[tokio::test]
async fn registering_a_taken_username_is_409() {
    let app = spawn_app_with(open_registration).await;
    app.add_user("alice", PASSWORD, &[]).await;
    let response = register(
        &app,
        &json!({"username": "alice", "password": NEW_PASSWORD}),
    )
    .await;
    assert_problem(response, 409, "username-taken").await;
    app.login("alice", PASSWORD).await;
}

#[tokio::test]
async fn registrations_past_the_per_address_quota_are_429() {
    let app = spawn_app_with(|s| {
        open_registration(s);
        s.registration.per_address = 2;
    })
    .await;
    for name in ["u1", "u2"] {
        let response = register(&app, &json!({"username": name, "password": PASSWORD})).await;
        assert_eq!(response.status(), 201);
    }
    let response = register(&app, &json!({"username": "u3", "password": PASSWORD})).await;
    let retry: u64 = response.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(retry > 0 && retry <= 3600, "{retry}");
    assert_problem(response, 429, "too-many-requests").await;
    assert!(app
        .store
        .user_by_username(&authd::domain::Username::parse("u3").unwrap())
        .await
        .unwrap()
        .is_none());
}

#[tokio::test]
async fn the_registration_quota_is_shared_by_every_instance() {
    let app = spawn_app_with(|s| {
        open_registration(s);
        s.registration.per_address = 1;
    })
    .await;
    if crate::helpers::test_redis_url().is_none() {
        // Without Redis each instance counts on its own (as the login throttle does).
        return;
    }
    let sibling = app.sibling().await;
    let response = register(&app, &json!({"username": "u1", "password": PASSWORD})).await;
    assert_eq!(response.status(), 201);
    let response = app
        .client
        .post(format!("{}/account/v1/register", sibling.address))
        .json(&json!({"username": "u2", "password": PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_problem(response, 429, "too-many-requests").await;
}

#[tokio::test]
async fn a_registration_body_with_unknown_or_bad_members_is_400() {
    let app = spawn_app_with(open_registration).await;
    let cases = [
        (
            json!({"username": "carol", "password": PASSWORD, "roles": ["admin"]}),
            "roles",
        ),
        (
            json!({"username": "carol", "password": PASSWORD, "email_verified": true}),
            "email_verified",
        ),
        (
            json!({"username": "carol", "password": "short"}),
            "password",
        ),
        (json!({"password": PASSWORD}), "username"),
        (
            json!({"username": "carol", "password": PASSWORD, "email": "nope"}),
            "email",
        ),
        (
            json!({"username": "carol", "password": 12345678}),
            "password",
        ),
    ];
    for (body, field) in cases {
        let response = register(&app, &body).await;
        let problem = assert_problem(response, 400, "invalid-request").await;
        assert!(
            problem["errors"]
                .as_array()
                .unwrap()
                .iter()
                .any(|e| e["field"] == field),
            "{field}: {problem}"
        );
    }
    let response = app
        .client
        .post(app.url("/account/v1/register"))
        .header("content-type", "text/plain")
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_problem(response, 415, "unsupported-media-type").await;
    let huge = json!({"username": "carol", "password": "x".repeat(17 * 1024)});
    assert_problem(register(&app, &huge).await, 413, "payload-too-large").await;
    let response = app
        .client
        .post(app.url("/account/v1/register"))
        .header("content-type", "application/json")
        .body(r#"{"username":"a","username":"b","password":"x"}"#)
        .send()
        .await
        .unwrap();
    assert_problem(response, 400, "invalid-request").await;
}

#[tokio::test]
async fn unknown_paths_and_methods_under_account_v1_are_problems() {
    let app = spawn_app().await;
    app.add_user("alice", PASSWORD, &[]).await;
    let token = app.login("alice", PASSWORD).await;
    let response = call(&app, reqwest::Method::GET, &token, "/account/v1/nope", None).await;
    assert_problem(response, 404, "not-found").await;
    let response = call(&app, reqwest::Method::PUT, &token, "/account/v1/me", None).await;
    assert_problem(response, 405, "method-not-allowed").await;
}
