//! `Idempotency-Key` on creates (admin-api.md §1): `POST /admin/v1/users` and
//! `POST /account/v1/register`.

use authd::domain::Username;
use authd::store::{ClaimOutcome, IdempotencyClaim};
use serde_json::{json, Value};

use crate::admin::{admin_token, assert_problem};
use crate::helpers::{spawn_app, spawn_app_with, TestApp, PASSWORD};

const MANAGER: &str = "admin:users:read admin:users:write";

async fn create(app: &TestApp, token: &str, key: &str, body: &Value) -> reqwest::Response {
    app.client
        .post(app.url("/admin/v1/users"))
        .bearer_auth(token)
        .header("idempotency-key", key)
        .json(body)
        .send()
        .await
        .unwrap()
}

async fn users_named(app: &TestApp, name: &str) -> usize {
    let name = Username::parse(name).unwrap();
    usize::from(app.store.user_by_username(&name).await.unwrap().is_some())
}

#[tokio::test]
async fn a_retry_with_the_same_key_and_body_gets_the_first_response_and_one_user() {
    let app = spawn_app().await;
    let token = admin_token(&app, "ops", "authd-admin", MANAGER).await;
    let body = json!({"username": "carol", "password": PASSWORD});

    let first = create(&app, &token, "key-1", &body).await;
    assert_eq!(first.status(), 201);
    let location = first.headers()["location"].clone();
    let first: Value = first.json().await.unwrap();

    let again = create(&app, &token, "key-1", &body).await;
    assert_eq!(again.status(), 201);
    assert_eq!(again.headers()["location"], location);
    assert_eq!(again.headers()["content-type"], "application/json");
    let again: Value = again.json().await.unwrap();
    assert_eq!(again, first, "the same body, the same id");
    assert_eq!(users_named(&app, "carol").await, 1);

    // Without the key, the same body is a second create: the name is taken.
    let response = app
        .client
        .post(app.url("/admin/v1/users"))
        .bearer_auth(&token)
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_problem(response, 409, "username-taken").await;
}

#[tokio::test]
async fn the_same_key_with_another_body_is_422() {
    let app = spawn_app().await;
    let token = admin_token(&app, "ops", "authd-admin", MANAGER).await;
    let first = create(
        &app,
        &token,
        "k",
        &json!({"username": "carol", "password": PASSWORD}),
    )
    .await;
    assert_eq!(first.status(), 201);
    let other = create(
        &app,
        &token,
        "k",
        &json!({"username": "dave", "password": PASSWORD}),
    )
    .await;
    assert_problem(other, 422, "idempotency-key-reused").await;
    assert_eq!(users_named(&app, "dave").await, 0);
}

#[tokio::test]
async fn concurrent_requests_with_one_key_create_exactly_one_user() {
    let app = spawn_app().await;
    let token = admin_token(&app, "ops", "authd-admin", MANAGER).await;
    let body = json!({"username": "carol", "password": PASSWORD});
    let responses =
        futures_util::future::join_all((0..8).map(|_| create(&app, &token, "race", &body))).await;
    let mut ids = std::collections::BTreeSet::new();
    let mut created = 0;
    for response in responses {
        match response.status().as_u16() {
            201 => {
                created += 1;
                let user: Value = response.json().await.unwrap();
                ids.insert(user["id"].as_str().unwrap().to_owned());
            }
            409 => {
                assert_problem(response, 409, "idempotency-key-in-progress").await;
            }
            other => panic!("unexpected {other}"),
        }
    }
    assert!(created >= 1);
    assert_eq!(ids.len(), 1, "every 201 names the one user");
    assert_eq!(users_named(&app, "carol").await, 1);
}

#[tokio::test]
async fn another_caller_with_the_same_key_is_independent() {
    let app = spawn_app().await;
    let one = admin_token(&app, "ops-1", "authd-admin", MANAGER).await;
    let two = admin_token(&app, "ops-2", "authd-admin", MANAGER).await;
    let first = create(
        &app,
        &one,
        "shared",
        &json!({"username": "carol", "password": PASSWORD}),
    )
    .await;
    assert_eq!(first.status(), 201);
    let second = create(
        &app,
        &two,
        "shared",
        &json!({"username": "dave", "password": PASSWORD}),
    )
    .await;
    assert_eq!(second.status(), 201);
    assert_eq!(users_named(&app, "dave").await, 1);
}

#[tokio::test]
async fn a_key_that_is_not_1_to_255_visible_characters_is_400() {
    let app = spawn_app().await;
    let token = admin_token(&app, "ops", "authd-admin", MANAGER).await;
    let body = json!({"username": "carol", "password": PASSWORD});
    for key in ["", "has space", &"k".repeat(256)] {
        let response = create(&app, &token, key, &body).await;
        assert_problem(response, 400, "invalid-request").await;
    }
    let response = app
        .client
        .post(app.url("/admin/v1/users"))
        .bearer_auth(&token)
        .header("idempotency-key", "a")
        .header("idempotency-key", "b")
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_problem(response, 400, "invalid-request").await;
    assert_eq!(users_named(&app, "carol").await, 0);
    assert_eq!(
        create(&app, &token, &"k".repeat(255), &body).await.status(),
        201
    );
}

#[tokio::test]
async fn a_failed_first_attempt_is_not_replayed_and_frees_its_key() {
    let app = spawn_app().await;
    let token = admin_token(&app, "ops", "authd-admin", MANAGER).await;
    let bad = json!({"username": "carol", "password": "short"});
    let response = create(&app, &token, "retry", &bad).await;
    assert_problem(response, 400, "invalid-request").await;
    let fixed = json!({"username": "carol", "password": PASSWORD});
    let response = create(&app, &token, "retry", &fixed).await;
    assert_eq!(
        response.status(),
        201,
        "not 422: the failed attempt left no record"
    );
}

#[tokio::test]
async fn a_registration_retry_is_replayed_and_does_not_use_up_the_quota() {
    let app = spawn_app_with(|s| {
        s.registration.enabled = true;
        s.registration.per_address = 1;
    })
    .await;
    let send = || {
        app.client
            .post(app.url("/account/v1/register"))
            .header("idempotency-key", "signup-1")
            .json(&json!({"username": "carol", "password": PASSWORD}))
            .send()
    };
    let first = send().await.unwrap();
    assert_eq!(first.status(), 201);
    let first: Value = first.json().await.unwrap();
    let again = send().await.unwrap();
    assert_eq!(again.status(), 201);
    assert_eq!(again.json::<Value>().await.unwrap(), first);
    assert_eq!(users_named(&app, "carol").await, 1);
}

#[tokio::test]
async fn expired_keys_are_taken_over_and_pruned() {
    let app = spawn_app().await;
    let long_ago = chrono::Utc::now() - chrono::Duration::days(2);
    let claim = |now: chrono::DateTime<chrono::Utc>| IdempotencyClaim {
        caller: "client:ops",
        key: "old",
        request_sha256: [7; 32],
        now,
        expires_at: now + chrono::Duration::hours(24),
        stale_before: now - chrono::Duration::seconds(60),
    };
    assert_eq!(
        app.store
            .claim_idempotency_key(&claim(long_ago))
            .await
            .unwrap(),
        ClaimOutcome::Claimed
    );
    assert_eq!(app.store.prune_idempotency_keys(long_ago).await.unwrap(), 0);
    let now = chrono::Utc::now();
    assert_eq!(
        app.store.claim_idempotency_key(&claim(now)).await.unwrap(),
        ClaimOutcome::Claimed,
        "expired: claimed afresh"
    );
    let later = now + chrono::Duration::hours(25);
    assert_eq!(app.store.prune_idempotency_keys(later).await.unwrap(), 1);
}

#[tokio::test]
async fn a_client_create_replays_without_its_secret_which_is_never_stored() {
    let app = spawn_app().await;
    let token = admin_token(&app, "ops", "authd-admin", "admin:clients:write").await;
    let body = json!({"client_id": "billing", "kind": "confidential", "secret": "generate"});
    let post = || async {
        app.client
            .post(app.url("/admin/v1/clients"))
            .bearer_auth(&token)
            .header("idempotency-key", "create-billing")
            .json(&body)
            .send()
            .await
            .unwrap()
    };

    let first = post().await;
    assert_eq!(first.status(), 201);
    let location = first.headers()["location"].clone();
    let first: Value = first.json().await.unwrap();
    let secret = first["client_secret"].as_str().unwrap().to_owned();

    let again = post().await;
    assert_eq!(again.status(), 201);
    assert_eq!(again.headers()["location"], location);
    let again: Value = again.json().await.unwrap();
    assert_eq!(again["client_id"], "billing");
    assert!(again.get("client_secret").is_none(), "{again}");
    let mut without = first.clone();
    without.as_object_mut().unwrap().remove("client_secret");
    assert_eq!(again, without, "the first response but its secret");

    // What rests in the database for the replay does not hold the secret.
    let now = chrono::Utc::now();
    let claim = IdempotencyClaim {
        caller: "client:ops",
        key: "create-billing",
        request_sha256: [0; 32],
        now,
        expires_at: now + chrono::Duration::hours(24),
        stale_before: now - chrono::Duration::seconds(60),
    };
    match app.store.claim_idempotency_key(&claim).await.unwrap() {
        ClaimOutcome::Done { response, .. } => {
            let stored = String::from_utf8_lossy(&response.body);
            assert!(stored.contains("billing"), "{stored}");
            assert!(!stored.contains(&secret), "the secret is not stored");
        }
        _ => panic!("the first create is stored as done"),
    }
    // One client: the first secret works.
    let response = app
        .post_form_basic(
            "/auth/token",
            ("billing", &secret),
            &[("grant_type", "client_credentials")],
        )
        .await;
    assert_eq!(response.status(), 200);
}
