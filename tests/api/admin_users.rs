//! The admin API's users (admin-api.md §1, §2): who may call it, `POST /admin/v1/users`,
//! `GET /admin/v1/users/{id}`, and RFC 9457 problems for every error.

use authd::audit::{AuditQuery, EventKind};
use serde_json::{json, Value};

use crate::admin::{admin_token, assert_problem};
use crate::helpers::{json_of, spawn_app, spawn_app_with, TestApp, PASSWORD};

const EVERY_SCOPE: &str = "admin:users:read admin:users:write admin:roles:assign";
const MANAGER: &str = "admin:users:read admin:users:write";

async fn create(app: &TestApp, token: &str, body: &Value) -> reqwest::Response {
    app.client
        .post(app.url("/admin/v1/users"))
        .bearer_auth(token)
        .json(body)
        .send()
        .await
        .unwrap()
}

async fn get(app: &TestApp, token: Option<&str>, path: &str) -> reqwest::Response {
    let mut request = app.client.get(app.url(path));
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    request.send().await.unwrap()
}

#[tokio::test]
async fn a_missing_or_garbage_token_is_401_with_a_bearer_challenge() {
    let app = spawn_app().await;

    let response = get(&app, None, "/admin/v1/users/not-a-uuid").await;
    let challenge = response.headers()["www-authenticate"].to_str().unwrap();
    assert!(challenge.starts_with("Bearer"), "{challenge}");
    assert!(!challenge.contains("error="), "{challenge}");
    assert_problem(response, 401, "unauthorized").await;

    let response = get(&app, Some("garbage"), "/admin/v1/users/not-a-uuid").await;
    let challenge = response.headers()["www-authenticate"].to_str().unwrap();
    assert!(
        challenge.contains(r#"error="invalid_token""#),
        "{challenge}"
    );
    assert_problem(response, 401, "unauthorized").await;

    let response = app
        .client
        .post(app.url("/admin/v1/users"))
        .header("authorization", "Basic Zm9vOmJhcg==")
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_problem(response, 401, "unauthorized").await;
}

#[tokio::test]
async fn a_users_token_is_403_whatever_its_scopes() {
    let app = spawn_app_with(|s| {
        s.default_client.audience = vec!["authd-admin".to_owned()];
        s.default_client.scopes = authd::domain::Scopes::parse(EVERY_SCOPE).unwrap();
    })
    .await;
    app.add_user("alice", PASSWORD, &["admin"]).await;
    let pair = app
        .login_pair_with_scope("alice", PASSWORD, EVERY_SCOPE)
        .await;
    let token = pair["access_token"].as_str().unwrap();

    let response = create(
        &app,
        token,
        &json!({"username": "mallory", "password": PASSWORD}),
    )
    .await;
    assert_problem(response, 403, "forbidden").await;
    let response = get(&app, Some(token), "/admin/v1/users/not-a-uuid").await;
    assert_problem(response, 403, "forbidden").await;
}

#[tokio::test]
async fn a_client_without_the_admin_audience_or_the_scope_is_403() {
    let app = spawn_app().await;
    let elsewhere = admin_token(&app, "billing", "billing-api", EVERY_SCOPE).await;
    let reader = admin_token(&app, "reader", "authd-admin", "admin:users:read").await;
    let body = json!({"username": "mallory", "password": PASSWORD});

    assert_problem(create(&app, &elsewhere, &body).await, 403, "forbidden").await;
    let response = create(&app, &reader, &body).await;
    let challenge = response.headers()["www-authenticate"].to_str().unwrap();
    assert!(challenge.contains("insufficient_scope"), "{challenge}");
    let problem = assert_problem(response, 403, "insufficient-scope").await;
    assert!(problem["detail"]
        .as_str()
        .unwrap()
        .contains("admin:users:write"));
    let mallory = authd::domain::Username::parse("mallory").unwrap();
    assert!(app
        .store
        .user_by_username(&mallory)
        .await
        .unwrap()
        .is_none());
}

#[tokio::test]
async fn a_created_user_is_201_with_location_reads_back_and_logs_in() {
    let app = spawn_app().await;
    let token = admin_token(&app, "backoffice", "authd-admin", EVERY_SCOPE).await;

    let response = create(
        &app,
        &token,
        &json!({
            "username": "bob",
            "password": PASSWORD,
            "roles": ["support"],
            "email": "bob@example.com",
            "email_verified": true,
            "name": "Bob Builder",
        }),
    )
    .await;
    assert_eq!(response.status(), 201);
    assert_eq!(response.headers()["content-type"], "application/json");
    let location = response.headers()["location"].to_str().unwrap().to_owned();
    let text = response.text().await.unwrap();
    assert!(
        !text.contains(PASSWORD) && !text.contains("argon2"),
        "{text}"
    );
    let created: Value = serde_json::from_str(&text).unwrap();
    let id = created["id"].as_str().unwrap();
    assert_eq!(location, format!("/admin/v1/users/{id}"));
    assert_eq!(created["username"], "bob");
    assert_eq!(created["roles"], json!(["support"]));
    assert_eq!(created["disabled"], false);
    assert_eq!(created["email"], "bob@example.com");
    assert_eq!(created["email_verified"], true);
    assert_eq!(created["name"], "Bob Builder");
    for absent in ["given_name", "family_name", "password", "password_hash"] {
        assert!(created.get(absent).is_none(), "{absent}: {created}");
    }
    for at in ["created_at", "updated_at", "password_changed_at"] {
        let value = created[at].as_str().unwrap();
        assert!(value.ends_with('Z'), "{at}: {value}");
        chrono::DateTime::parse_from_rfc3339(value).unwrap();
    }

    let response = get(&app, Some(&token), &location).await;
    assert_eq!(response.status(), 200);
    let etag = response.headers()["etag"].to_str().unwrap().to_owned();
    assert!(
        etag.starts_with('"') && etag.ends_with('"') && etag.len() > 2,
        "{etag}"
    );
    assert_eq!(json_of(response).await, created);

    app.login("bob", PASSWORD).await;

    let events = app
        .store
        .audit_events(&AuditQuery {
            since: None,
            user_id: None,
            event: Some(EventKind::UserAdded),
            limit: 10,
        })
        .await
        .unwrap();
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].client_id.as_deref(), Some("backoffice"));
    assert_eq!(events[0].user_id.as_deref(), Some(id));
    let trail = format!("{events:?}");
    assert!(!trail.contains(PASSWORD), "{trail}");
}

#[tokio::test]
async fn a_user_created_with_a_bcrypt_hash_logs_in_with_the_old_password() {
    let app = spawn_app().await;
    let token = admin_token(&app, "backoffice", "authd-admin", MANAGER).await;
    let hash = bcrypt::hash_with_salt("old password 1", 4, *b"sixteen byte slt")
        .unwrap()
        .format_for_version(bcrypt::Version::TwoB);

    let response = create(
        &app,
        &token,
        &json!({"username": "carol", "password_hash": hash}),
    )
    .await;
    assert_eq!(response.status(), 201);
    let text = response.text().await.unwrap();
    assert!(!text.contains(&hash) && !text.contains("$2b$"), "{text}");

    app.login("carol", "old password 1").await;
    let events = app
        .store
        .audit_events(&AuditQuery {
            since: None,
            user_id: None,
            event: Some(EventKind::UserAdded),
            limit: 10,
        })
        .await
        .unwrap();
    let trail = format!("{events:?}");
    assert!(!trail.contains(&hash) && !trail.contains("$2b$"), "{trail}");
}

#[tokio::test]
async fn setting_roles_without_roles_assign_is_403_and_creates_nothing() {
    let app = spawn_app().await;
    let token = admin_token(&app, "backoffice", "authd-admin", MANAGER).await;

    let response = create(
        &app,
        &token,
        &json!({"username": "dave", "password": PASSWORD, "roles": ["admin"]}),
    )
    .await;
    assert_problem(response, 403, "insufficient-scope").await;

    let response = create(
        &app,
        &token,
        &json!({"username": "dave", "password": PASSWORD}),
    )
    .await;
    assert_eq!(response.status(), 201);
    assert_eq!(response.json::<Value>().await.unwrap()["roles"], json!([]));
}

#[tokio::test]
async fn a_taken_username_is_409() {
    let app = spawn_app().await;
    let token = admin_token(&app, "backoffice", "authd-admin", MANAGER).await;
    app.add_user("erin", PASSWORD, &[]).await;

    let response = create(
        &app,
        &token,
        &json!({"username": "erin", "password": PASSWORD}),
    )
    .await;
    let problem = assert_problem(response, 409, "username-taken").await;
    assert!(!problem.to_string().contains(PASSWORD), "{problem}");
}

#[tokio::test]
async fn bad_bodies_are_400_problems_naming_the_field() {
    let app = spawn_app().await;
    let token = admin_token(&app, "backoffice", "authd-admin", MANAGER).await;
    let hash = bcrypt::hash_with_salt("old password 1", 4, *b"sixteen byte slt")
        .unwrap()
        .format_for_version(bcrypt::Version::TwoB);

    for (body, field) in [
        (
            json!({"username": "frank", "password": PASSWORD, "is_admin": true}),
            "is_admin",
        ),
        (json!({"username": "frank"}), "password"),
        (
            json!({"username": "frank", "password": PASSWORD, "password_hash": hash}),
            "password",
        ),
        (
            json!({"username": "frank", "password": "short"}),
            "password",
        ),
        (
            json!({"username": "frank", "password_hash": "$md5$nope"}),
            "password_hash",
        ),
        (json!({"password": PASSWORD}), "username"),
        (
            json!({"username": "frank", "password": 12345678}),
            "password",
        ),
        (
            json!({"username": "frank", "password": PASSWORD, "email": "nope"}),
            "email",
        ),
        (
            json!({"username": "frank", "password": PASSWORD, "disabled": "yes"}),
            "disabled",
        ),
    ] {
        let response = create(&app, &token, &body).await;
        let problem = assert_problem(response, 400, "invalid-request").await;
        let text = problem.to_string();
        assert!(
            problem["errors"]
                .as_array()
                .unwrap()
                .iter()
                .any(|e| e["field"] == field && e["detail"].is_string()),
            "{field}: {problem}"
        );
        assert!(!text.contains(PASSWORD) && !text.contains(&hash), "{text}");
    }

    let response = app
        .client
        .post(app.url("/admin/v1/users"))
        .bearer_auth(&token)
        .body(r#"{"username":"frank","username":"root","password":"correct horse battery staple"}"#)
        .header("content-type", "application/json")
        .send()
        .await
        .unwrap();
    assert_problem(response, 400, "invalid-request").await;

    let response = app
        .client
        .post(app.url("/admin/v1/users"))
        .bearer_auth(&token)
        .form(&[("username", "frank"), ("password", PASSWORD)])
        .send()
        .await
        .unwrap();
    assert_problem(response, 415, "unsupported-media-type").await;

    let response = app
        .client
        .post(app.url("/admin/v1/users"))
        .bearer_auth(&token)
        .header("content-type", "application/json")
        .body(vec![b' '; 16 * 1024 + 1])
        .send()
        .await
        .unwrap();
    assert_problem(response, 413, "payload-too-large").await;

    // Nothing was created along the way.
    let response = create(
        &app,
        &token,
        &json!({"username": "frank", "password": PASSWORD}),
    )
    .await;
    assert_eq!(response.status(), 201);
}

#[tokio::test]
async fn an_unknown_or_malformed_user_id_is_404() {
    let app = spawn_app().await;
    let token = admin_token(&app, "backoffice", "authd-admin", "admin:users:read").await;

    for path in [
        "/admin/v1/users/00000000-0000-4000-8000-000000000000",
        "/admin/v1/users/not-a-uuid",
    ] {
        let response = get(&app, Some(&token), path).await;
        assert_problem(response, 404, "not-found").await;
    }
    // RFC 6750 §2.1: the scheme name is case-insensitive.
    let response = app
        .client
        .get(app.url("/admin/v1/users/not-a-uuid"))
        .header("authorization", format!("bEaReR {token}"))
        .send()
        .await
        .unwrap();
    assert_problem(response, 404, "not-found").await;
}

#[tokio::test]
async fn unknown_paths_and_methods_under_admin_v1_are_problems() {
    let app = spawn_app().await;
    let token = admin_token(&app, "ops", "authd-admin", EVERY_SCOPE).await;

    let response = get(&app, Some(&token), "/admin/v1/nothing-here").await;
    assert_problem(response, 404, "not-found").await;

    let response = app
        .client
        .delete(app.url("/admin/v1/users"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_problem(response, 405, "method-not-allowed").await;
}
