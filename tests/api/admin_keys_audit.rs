//! The admin API's keys and audit trail (admin-api.md §2): `GET /keys`, `POST
//! /keys/rotate`, `DELETE /keys/{kid}`, `GET /audit`.

use authd::audit::{AuditEvent, AuditQuery, EventKind};
use serde_json::{json, Value};

use crate::admin::{admin_token, assert_problem};
use crate::helpers::{json_of, spawn_app, TestApp};

const KEYS: &str = "admin:keys:read admin:keys:write";

async fn get(app: &TestApp, token: &str, path: &str) -> reqwest::Response {
    app.client
        .get(app.url(path))
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
}

async fn rotate(app: &TestApp, token: &str, body: &Value) -> reqwest::Response {
    app.client
        .post(app.url("/admin/v1/keys/rotate"))
        .bearer_auth(token)
        .json(body)
        .send()
        .await
        .unwrap()
}

async fn delete_key(app: &TestApp, token: &str, kid: &str) -> reqwest::Response {
    app.client
        .delete(app.url(&format!("/admin/v1/keys/{kid}")))
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
}

async fn jwks_kids(app: &TestApp) -> Vec<String> {
    let jwks = json_of(
        app.client
            .get(app.url("/.well-known/jwks.json"))
            .send()
            .await
            .unwrap(),
    )
    .await;
    jwks["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["kid"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn the_key_list_is_the_ring_as_the_cli_shows_it() {
    let app = spawn_app().await;
    let token = admin_token(&app, "ops", "authd-admin", "admin:keys:read").await;

    let body = json_of(get(&app, &token, "/admin/v1/keys").await).await;
    let items = body["items"].as_array().unwrap();
    assert_eq!(items.len(), 1);
    let key = &items[0];
    assert_eq!(key["kid"].as_str().unwrap().len(), 43);
    assert_eq!(key["alg"], "ES256");
    assert_eq!(key["state"], "active");
    assert!(key["created_at"].as_str().unwrap().ends_with('Z'));
    assert!(key["activated_at"].is_string());
    assert!(key.get("retired_at").is_none(), "{key}");
    assert!(!body.to_string().contains("PRIVATE"), "{body}");

    let listed = app.cli(&["keys", "list"], None);
    assert!(String::from_utf8_lossy(&listed.stdout).contains(key["kid"].as_str().unwrap()));
}

#[tokio::test]
async fn a_rotation_publishes_a_next_key_then_now_makes_one_sign_and_removal_unpublishes() {
    let app = spawn_app().await;
    let token = admin_token(&app, "ops", "authd-admin", KEYS).await;
    let first = json_of(get(&app, &token, "/admin/v1/keys").await).await["items"][0]["kid"]
        .as_str()
        .unwrap()
        .to_owned();

    let response = rotate(&app, &token, &json!({})).await;
    let next = json_of(response).await;
    assert_eq!(next["state"], "next");
    assert!(next["signs_from"].is_string(), "{next}");
    let next_kid = next["kid"].as_str().unwrap().to_owned();
    assert!(jwks_kids(&app).await.contains(&next_kid));

    // A second rotation while one waits is a conflict.
    let response = rotate(&app, &token, &json!({"now": true})).await;
    assert_problem(response, 409, "next-key-waiting").await;

    assert_eq!(delete_key(&app, &token, &next_kid).await.status(), 204);
    assert!(!jwks_kids(&app).await.contains(&next_kid));
    assert_problem(delete_key(&app, &token, &next_kid).await, 404, "not-found").await;

    let response = rotate(&app, &token, &json!({"alg": "RS256", "now": true})).await;
    let active = json_of(response).await;
    assert_eq!(active["state"], "active");
    assert_eq!(active["alg"], "RS256");
    let active_kid = active["kid"].as_str().unwrap().to_owned();

    let items = json_of(get(&app, &token, "/admin/v1/keys").await).await["items"].clone();
    let state_of = |kid: &str| {
        items
            .as_array()
            .unwrap()
            .iter()
            .find(|k| k["kid"] == kid)
            .map(|k| k["state"].clone())
    };
    assert_eq!(state_of(&first), Some(json!("retired")));
    assert_eq!(state_of(&active_kid), Some(json!("active")));

    // The active key cannot go; a retired one can.
    assert_problem(
        delete_key(&app, &token, &active_kid).await,
        409,
        "key-active",
    )
    .await;
    assert_problem(
        delete_key(&app, &token, "not-a-kid").await,
        404,
        "not-found",
    )
    .await;
    // Last: the admin token itself was signed by the first key.
    assert_eq!(delete_key(&app, &token, &first).await.status(), 204);

    let events = app
        .store
        .audit_events(&AuditQuery {
            since: None,
            user_id: None,
            event: None,
            limit: 50,
        })
        .await
        .unwrap();
    let key_events: Vec<(&str, Option<&str>, Option<&str>)> = events
        .iter()
        .filter(|e| e.event.starts_with("key_") && e.client_id.is_some())
        .map(|e| {
            (
                e.event.as_str(),
                e.client_id.as_deref(),
                e.detail.as_deref(),
            )
        })
        .collect();
    assert_eq!(
        key_events,
        [
            ("key_removed", Some("ops"), Some(first.as_str())),
            ("key_rotated", Some("ops"), Some(active_kid.as_str())),
            ("key_created", Some("ops"), Some(active_kid.as_str())),
            ("key_removed", Some("ops"), Some(next_kid.as_str())),
            ("key_created", Some("ops"), Some(next_kid.as_str())),
        ]
    );
}

#[tokio::test]
async fn bad_rotation_bodies_are_refused() {
    let app = spawn_app().await;
    let token = admin_token(&app, "ops", "authd-admin", KEYS).await;

    for (body, field) in [
        (json!({"alg": "HS256"}), "alg"),
        (json!({"alg": "none"}), "alg"),
        (json!({"now": "yes"}), "now"),
        (json!({"kid": "mine"}), "kid"),
    ] {
        let problem =
            assert_problem(rotate(&app, &token, &body).await, 400, "invalid-request").await;
        assert_eq!(problem["errors"][0]["field"], field, "{body} → {problem}");
    }
    let response = app
        .client
        .post(app.url("/admin/v1/keys/rotate"))
        .bearer_auth(&token)
        .header("content-type", "application/x-www-form-urlencoded")
        .body("now=true")
        .send()
        .await
        .unwrap();
    assert_problem(response, 415, "unsupported-media-type").await;
    let keys = json_of(get(&app, &token, "/admin/v1/keys").await).await;
    assert_eq!(keys["items"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn key_and_audit_routes_need_their_scopes() {
    let app = spawn_app().await;
    let reader = admin_token(&app, "reader", "authd-admin", "admin:keys:read").await;
    let auditor = admin_token(&app, "auditor", "authd-admin", "admin:audit:read").await;

    let problem = assert_problem(
        rotate(&app, &reader, &json!({})).await,
        403,
        "insufficient-scope",
    )
    .await;
    assert!(problem["detail"]
        .as_str()
        .unwrap()
        .contains("admin:keys:write"));
    let kid = "A".repeat(43);
    let problem = assert_problem(
        delete_key(&app, &reader, &kid).await,
        403,
        "insufficient-scope",
    )
    .await;
    assert!(problem["detail"]
        .as_str()
        .unwrap()
        .contains("admin:keys:write"));
    let problem = assert_problem(
        get(&app, &auditor, "/admin/v1/keys").await,
        403,
        "insufficient-scope",
    )
    .await;
    assert!(problem["detail"]
        .as_str()
        .unwrap()
        .contains("admin:keys:read"));
    let problem = assert_problem(
        get(&app, &reader, "/admin/v1/audit").await,
        403,
        "insufficient-scope",
    )
    .await;
    assert!(problem["detail"]
        .as_str()
        .unwrap()
        .contains("admin:audit:read"));
    assert_eq!(app.store.signing_keys().await.unwrap().len(), 1);
}

/// Records `n` events of `kind` for `client`, one millisecond apart from `start`.
async fn record(
    app: &TestApp,
    kind: EventKind,
    client: &str,
    start: chrono::DateTime<chrono::Utc>,
    n: i64,
) {
    for i in 0..n {
        let at = start + chrono::Duration::milliseconds(i);
        app.store
            .record_audit(&AuditEvent::new(kind, at).client(client))
            .await
            .unwrap();
    }
}

#[tokio::test]
async fn the_audit_trail_pages_newest_first_without_skipping_or_repeating() {
    let app = spawn_app().await;
    let token = admin_token(&app, "auditor", "authd-admin", "admin:audit:read").await;
    let t0 = chrono::Utc::now() - chrono::Duration::hours(1);
    // Two events share each time, so the order needs the id too.
    record(&app, EventKind::LoginFailed, "web", t0, 3).await;
    record(&app, EventKind::LoginFailed, "web", t0, 3).await;

    let mut seen: Vec<Value> = Vec::new();
    let mut path = "/admin/v1/audit?client_id=web&limit=4".to_owned();
    let mut pages = 0;
    loop {
        let response = get(&app, &token, &path).await;
        let link = response
            .headers()
            .get("link")
            .map(|l| l.to_str().unwrap().to_owned());
        let body = json_of(response).await;
        seen.extend(body["items"].as_array().unwrap().iter().cloned());
        pages += 1;
        if pages == 1 {
            // Events recorded while paging do not shift later pages: newer ones are
            // before the cursor, older ones after it and still to come.
            record(
                &app,
                EventKind::LoginFailed,
                "web",
                t0 + chrono::Duration::minutes(5),
                1,
            )
            .await;
            record(
                &app,
                EventKind::LoginFailed,
                "web",
                t0 - chrono::Duration::minutes(5),
                1,
            )
            .await;
        }
        match link {
            Some(link) => {
                assert!(link.contains("client_id=web"), "{link}");
                path = link[1..link.find('>').unwrap()].to_owned();
            }
            None => {
                assert!(body["next_cursor"].is_null());
                break;
            }
        }
    }
    assert_eq!(pages, 2);
    assert_eq!(seen.len(), 7, "{seen:?}");
    let times: Vec<&str> = seen
        .iter()
        .map(|e| e["occurred_at"].as_str().unwrap())
        .collect();
    let mut sorted = times.clone();
    sorted.sort_by(|a, b| b.cmp(a));
    assert_eq!(times, sorted, "newest first");
    let first = &seen[0];
    assert_eq!(first["event"], "login_failed");
    assert_eq!(first["client_id"], "web");
    assert!(
        first.get("user_id").is_none() && first.get("sid").is_none(),
        "{first}"
    );
}

#[tokio::test]
async fn the_audit_trail_filters_by_event_user_client_and_time() {
    let app = spawn_app().await;
    let token = admin_token(&app, "auditor", "authd-admin", "admin:audit:read").await;
    let user = app.add_user("alice", crate::helpers::PASSWORD, &[]).await;
    let t0 = chrono::Utc::now() - chrono::Duration::days(2);
    app.store
        .record_audit(
            &AuditEvent::new(EventKind::LoginSucceeded, t0)
                .user(user.id)
                .client("web"),
        )
        .await
        .unwrap();
    record(
        &app,
        EventKind::LoginFailed,
        "web",
        t0 + chrono::Duration::days(1),
        1,
    )
    .await;
    record(
        &app,
        EventKind::Logout,
        "mobile",
        t0 + chrono::Duration::days(1),
        1,
    )
    .await;

    async fn events(app: &TestApp, token: &str, query: &str) -> Vec<String> {
        let body = json_of(get(app, token, &format!("/admin/v1/audit?{query}")).await).await;
        body["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["event"].as_str().unwrap().to_owned())
            .collect()
    }
    assert_eq!(
        events(&app, &token, "event=login_succeeded").await,
        ["login_succeeded"]
    );
    let by_user = format!("user_id={}", user.id);
    assert_eq!(events(&app, &token, &by_user).await, ["login_succeeded"]);
    assert_eq!(events(&app, &token, "client_id=mobile").await, ["logout"]);
    let since =
        (t0 + chrono::Duration::hours(12)).to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let query = format!("since={since}&client_id=web");
    assert_eq!(events(&app, &token, &query).await, ["login_failed"]);

    for query in [
        "since=yesterday",
        "event=login",
        "user_id=alice",
        "limit=0",
        "limit=501",
        "cursor=bm9wZQ",
        "username=alice",
    ] {
        let response = get(&app, &token, &format!("/admin/v1/audit?{query}")).await;
        assert_problem(response, 400, "invalid-request").await;
    }
}
