//! The admin API's sessions (admin-api.md §2): `GET/DELETE /admin/v1/users/{id}/sessions`
//! and `DELETE /admin/v1/sessions/{sid}`, and `admin.bind`.

use authd::audit::{AuditQuery, EventKind};
use serde_json::Value;

use crate::admin::{admin_token, assert_problem};
use crate::helpers::{segment, spawn_app, spawn_app_with, TestApp, PASSWORD};

const MANAGER: &str = "admin:users:read admin:users:write";

async fn send(
    app: &TestApp,
    method: reqwest::Method,
    token: &str,
    path: &str,
) -> reqwest::Response {
    app.client
        .request(method, app.url(path))
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
}

fn sid_of(access_token: &str) -> String {
    segment(access_token, 1)["sid"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn a_users_sessions_are_listed_live_only_with_their_members() {
    let app = spawn_app().await;
    let alice = app.add_user("alice", PASSWORD, &[]).await;
    let admin = admin_token(&app, "ops", "authd-admin", MANAGER).await;
    let kept = app.login_pair("alice", PASSWORD).await;
    let ended = app.login("alice", PASSWORD).await;
    let logout = app
        .client
        .post(app.url("/auth/logout"))
        .bearer_auth(&ended)
        .send()
        .await
        .unwrap();
    assert!(logout.status().is_success());

    let path = format!("/admin/v1/users/{}/sessions", alice.id);
    let response = send(&app, reqwest::Method::GET, &admin, &path).await;
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.unwrap();
    let items = body["items"].as_array().unwrap();
    assert_eq!(
        items.len(),
        1,
        "the logged-out session is not listed: {body}"
    );
    let item = &items[0];
    assert_eq!(item["sid"], sid_of(kept["access_token"].as_str().unwrap()));
    assert_eq!(item["client_id"], "app");
    assert!(item["scope"].is_string());
    for member in ["created_at", "last_used_at", "expires_at"] {
        let at = item[member].as_str().unwrap();
        assert!(
            chrono::DateTime::parse_from_rfc3339(at).is_ok() && at.ends_with('Z'),
            "{member}: {at}"
        );
    }
    assert!(item.get("current").is_none(), "{item}");
}

#[tokio::test]
async fn the_sessions_of_an_unknown_user_are_404() {
    let app = spawn_app().await;
    let admin = admin_token(&app, "ops", "authd-admin", MANAGER).await;
    let unknown = format!("/admin/v1/users/{}/sessions", uuid::Uuid::new_v4());
    for method in [reqwest::Method::GET, reqwest::Method::DELETE] {
        let response = send(&app, method.clone(), &admin, &unknown).await;
        assert_problem(response, 404, "not-found").await;
        let response = send(&app, method, &admin, "/admin/v1/users/nope/sessions").await;
        assert_problem(response, 404, "not-found").await;
    }
}

#[tokio::test]
async fn session_routes_need_their_scopes() {
    let app = spawn_app().await;
    let alice = app.add_user("alice", PASSWORD, &[]).await;
    let sid = sid_of(&app.login("alice", PASSWORD).await);
    let reader = admin_token(&app, "reader", "authd-admin", "admin:users:read").await;
    let writer = admin_token(&app, "writer", "authd-admin", "admin:users:write").await;
    let path = format!("/admin/v1/users/{}/sessions", alice.id);

    let response = send(&app, reqwest::Method::GET, &writer, &path).await;
    assert_problem(response, 403, "insufficient-scope").await;
    let response = send(&app, reqwest::Method::DELETE, &reader, &path).await;
    assert_problem(response, 403, "insufficient-scope").await;
    let one = format!("/admin/v1/sessions/{sid}");
    let response = send(&app, reqwest::Method::DELETE, &reader, &one).await;
    assert_problem(response, 403, "insufficient-scope").await;
    let response = send(&app, reqwest::Method::GET, &reader, &path).await;
    assert_eq!(response.status(), 200, "nothing was ended");
}

#[tokio::test]
async fn ending_one_session_kills_its_tokens_at_once_and_is_audited() {
    let app = spawn_app().await;
    let alice = app.add_user("alice", PASSWORD, &[]).await;
    let admin = admin_token(&app, "ops", "authd-admin", MANAGER).await;
    let ended = app.login_pair("alice", PASSWORD).await;
    let other = app.login("alice", PASSWORD).await;
    let access = ended["access_token"].as_str().unwrap();
    let sid = sid_of(access);

    let path = format!("/admin/v1/sessions/{sid}");
    let response = send(&app, reqwest::Method::DELETE, &admin, &path).await;
    assert_eq!(response.status(), 204);
    assert_eq!(app.userinfo(access).await.status(), 401, "dead at once");
    let refresh = app.refresh(ended["refresh_token"].as_str().unwrap()).await;
    assert_eq!(refresh.status(), 400);
    assert_eq!(app.userinfo(&other).await.status(), 200, "the other lives");

    let response = send(&app, reqwest::Method::DELETE, &admin, &path).await;
    assert_problem(response, 404, "not-found").await;

    let events = app
        .store
        .audit_events(&AuditQuery {
            since: None,
            user_id: Some(alice.id),
            event: Some(EventKind::SessionRevoked),
            limit: 10,
        })
        .await
        .unwrap();
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].client_id.as_deref(), Some("ops"));
    assert_eq!(events[0].sid.as_deref(), Some(sid.as_str()));
}

#[tokio::test]
async fn an_unknown_or_malformed_sid_is_404() {
    let app = spawn_app().await;
    let admin = admin_token(&app, "ops", "authd-admin", MANAGER).await;
    let path = format!("/admin/v1/sessions/{}", uuid::Uuid::new_v4());
    let response = send(&app, reqwest::Method::DELETE, &admin, &path).await;
    assert_problem(response, 404, "not-found").await;
    let response = send(
        &app,
        reqwest::Method::DELETE,
        &admin,
        "/admin/v1/sessions/x",
    )
    .await;
    assert_problem(response, 404, "not-found").await;
}

#[tokio::test]
async fn ending_all_of_a_users_sessions_kills_every_token_of_theirs_only() {
    let app = spawn_app().await;
    let alice = app.add_user("alice", PASSWORD, &[]).await;
    app.add_user("bob", PASSWORD, &[]).await;
    let admin = admin_token(&app, "ops", "authd-admin", MANAGER).await;
    let first = app.login("alice", PASSWORD).await;
    let second = app.login("alice", PASSWORD).await;
    let bobs = app.login("bob", PASSWORD).await;

    let path = format!("/admin/v1/users/{}/sessions", alice.id);
    let response = send(&app, reqwest::Method::DELETE, &admin, &path).await;
    assert_eq!(response.status(), 204);
    assert_eq!(app.userinfo(&first).await.status(), 401);
    assert_eq!(app.userinfo(&second).await.status(), 401);
    assert_eq!(app.userinfo(&bobs).await.status(), 200);
    let response = send(&app, reqwest::Method::GET, &admin, &path).await;
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["items"], serde_json::json!([]));
}

#[tokio::test]
async fn with_admin_bind_the_admin_api_is_served_only_on_its_own_listener() {
    let app = spawn_app_with(|s| s.admin.bind = Some("127.0.0.1:0".to_owned())).await;
    let alice = app.add_user("alice", PASSWORD, &[]).await;
    let admin = admin_token(&app, "ops", "authd-admin", MANAGER).await;
    let path = format!("/admin/v1/users/{}", alice.id);

    let public = send(&app, reqwest::Method::GET, &admin, &path).await;
    assert_problem(public, 404, "not-found").await;

    let admin_address = app.admin_address.clone().unwrap();
    assert_ne!(admin_address, app.address);
    let private = app
        .client
        .get(format!("{admin_address}{path}"))
        .bearer_auth(&admin)
        .send()
        .await
        .unwrap();
    assert_eq!(private.status(), 200);
    // Only the admin API is there.
    let token = app
        .client
        .post(format!("{admin_address}/auth/token"))
        .json(&serde_json::json!({"username": "alice", "password": PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_problem(token, 404, "not-found").await;
}
