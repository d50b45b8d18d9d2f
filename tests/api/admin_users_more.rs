//! The admin API's user routes beyond create and read (admin-api.md §1, §2; issue #14):
//! `GET /users` (keyset pages), `PATCH /users/{id}`, `PUT /users/{id}/password`,
//! `DELETE /users/{id}` and `POST /users/import`.

use std::collections::BTreeSet;

use authd::audit::{AuditQuery, EventKind};
use serde_json::{json, Value};

use crate::admin::{admin_token, assert_problem};
use crate::helpers::{json_of, spawn_app, within_five_seconds, TestApp, PASSWORD};

const EVERY_SCOPE: &str = "admin:users:read admin:users:write admin:roles:assign";
const MANAGER: &str = "admin:users:read admin:users:write";
const NEW_PASSWORD: &str = "a brand new passphrase 42";

/// A bcrypt hash at the lowest cost of `password`, as another system would have made it.
fn bcrypt_of(password: &str) -> String {
    bcrypt::hash_with_salt(password, 4, *b"sixteen byte slt")
        .unwrap()
        .format_for_version(bcrypt::Version::TwoB)
}

async fn every_scope(app: &TestApp) -> String {
    admin_token(app, "backoffice", "authd-admin", EVERY_SCOPE).await
}

async fn list(app: &TestApp, token: &str, query: &str) -> reqwest::Response {
    app.client
        .get(app.url(&format!("/admin/v1/users{query}")))
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
}

async fn patch(
    app: &TestApp,
    token: &str,
    id: &str,
    body: &Value,
    if_match: Option<&str>,
) -> reqwest::Response {
    let mut request = app
        .client
        .patch(app.url(&format!("/admin/v1/users/{id}")))
        .bearer_auth(token)
        .header("content-type", "application/merge-patch+json")
        .body(body.to_string());
    if let Some(tag) = if_match {
        request = request.header("if-match", tag);
    }
    request.send().await.unwrap()
}

async fn put_password(
    app: &TestApp,
    token: &str,
    id: &str,
    body: &Value,
    if_match: Option<&str>,
) -> reqwest::Response {
    let mut request = app
        .client
        .put(app.url(&format!("/admin/v1/users/{id}/password")))
        .bearer_auth(token)
        .json(body);
    if let Some(tag) = if_match {
        request = request.header("if-match", tag);
    }
    request.send().await.unwrap()
}

async fn delete(app: &TestApp, token: &str, id: &str, if_match: Option<&str>) -> reqwest::Response {
    let mut request = app
        .client
        .delete(app.url(&format!("/admin/v1/users/{id}")))
        .bearer_auth(token);
    if let Some(tag) = if_match {
        request = request.header("if-match", tag);
    }
    request.send().await.unwrap()
}

async fn import(app: &TestApp, token: &str, body: String) -> reqwest::Response {
    app.client
        .post(app.url("/admin/v1/users/import"))
        .bearer_auth(token)
        .header("content-type", "application/x-ndjson")
        .body(body)
        .send()
        .await
        .unwrap()
}

/// The user's representation and ETag, as `GET /users/{id}` gives them.
async fn read(app: &TestApp, token: &str, id: &str) -> (Value, String) {
    let response = app
        .client
        .get(app.url(&format!("/admin/v1/users/{id}")))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let etag = response.headers()["etag"].to_str().unwrap().to_owned();
    (json_of(response).await, etag)
}

async fn events(app: &TestApp, kind: EventKind) -> Vec<authd::audit::AuditRecord> {
    app.store
        .audit_events(&AuditQuery {
            since: None,
            user_id: None,
            event: Some(kind),
            limit: 100,
        })
        .await
        .unwrap()
}

/// Usernames of a page, and the page body.
async fn names(response: reqwest::Response) -> (Vec<String>, Value) {
    assert_eq!(response.status(), 200);
    let body = json_of(response).await;
    let names = body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["username"].as_str().unwrap().to_owned())
        .collect();
    (names, body)
}

/// Creates users `names` with one cheap imported hash, through the import route.
async fn import_names(app: &TestApp, token: &str, names: &[String]) {
    let hash = bcrypt_of("old password 1");
    let body: String = names
        .iter()
        .map(|n| format!("{}\n", json!({"username": n, "password_hash": hash})))
        .collect();
    let response = import(app, token, body).await;
    assert_eq!(response.status(), 200);
    let report = json_of(response).await;
    assert_eq!(report["created"], names.len(), "{report}");
}

// ---- GET /users -------------------------------------------------------------------

#[tokio::test]
async fn users_are_listed_by_username_in_pages_with_a_link_to_the_next() {
    let app = spawn_app().await;
    let token = every_scope(&app).await;
    let all: Vec<String> = ["erin", "alice", "dave", "carol", "bob"]
        .map(String::from)
        .to_vec();
    import_names(&app, &token, &all).await;

    let response = list(&app, &token, "?limit=2&disabled=false").await;
    let link = response.headers()["link"].to_str().unwrap().to_owned();
    let (first, body) = names(response).await;
    assert_eq!(first, ["alice", "bob"]);
    let cursor = body["next_cursor"].as_str().unwrap().to_owned();
    assert_eq!(
        link,
        format!("</admin/v1/users?limit=2&disabled=false&cursor={cursor}>; rel=\"next\"")
    );
    for member in ["password_hash", "password"] {
        assert!(body["items"][0].get(member).is_none(), "{body}");
    }

    // The Link target is the next page, filters kept.
    let target = link
        .trim_start_matches("</admin/v1/users")
        .split('>')
        .next()
        .unwrap()
        .to_owned();
    let (second, _) = names(list(&app, &token, &target).await).await;
    assert_eq!(second, ["carol", "dave"]);

    let response = list(
        &app,
        &token,
        &format!("?limit=2&cursor={}", {
            let (_, b) = names(list(&app, &token, &target).await).await;
            b["next_cursor"].as_str().unwrap().to_owned()
        }),
    )
    .await;
    assert!(response.headers().get("link").is_none());
    let (last, body) = names(response).await;
    assert_eq!(last, ["erin"]);
    assert_eq!(body["next_cursor"], Value::Null);

    // The default page holds them all, in order.
    let (every, body) = names(list(&app, &token, "").await).await;
    assert_eq!(every, ["alice", "bob", "carol", "dave", "erin"]);
    assert_eq!(body["next_cursor"], Value::Null);
}

#[tokio::test]
async fn pages_skip_and_repeat_nothing_while_users_are_inserted() {
    let app = spawn_app().await;
    let token = every_scope(&app).await;
    let first: Vec<String> = (0..20).map(|i| format!("user{:02}", i * 5)).collect();
    import_names(&app, &token, &first).await;

    let mut seen = Vec::new();
    let mut query = "?limit=3".to_owned();
    let mut round = 0;
    loop {
        let (page, body) = names(list(&app, &token, &query).await).await;
        seen.extend(page);
        // Between pages, users arrive before and after the cursor.
        round += 1;
        import_names(
            &app,
            &token,
            &[format!("user{:02}a{round}", round), format!("aaa{round}")],
        )
        .await;
        match body["next_cursor"].as_str() {
            Some(cursor) => query = format!("?limit=3&cursor={cursor}"),
            None => break,
        }
    }
    let unique: BTreeSet<&String> = seen.iter().collect();
    assert_eq!(unique.len(), seen.len(), "a user was repeated: {seen:?}");
    for name in &first {
        assert!(seen.contains(name), "{name} was skipped: {seen:?}");
    }
    let mut sorted = seen.clone();
    sorted.sort();
    assert_eq!(sorted, seen, "pages are in username order");
}

#[tokio::test]
async fn pages_filter_by_username_prefix_role_and_disabled() {
    let app = spawn_app().await;
    let token = every_scope(&app).await;
    let hash = bcrypt_of("old password 1");
    let lines = [
        json!({"username": "a_b", "password_hash": hash, "roles": ["ops"]}),
        json!({"username": "axb", "password_hash": hash, "roles": ["ops", "dev"]}),
        json!({"username": "a_c", "password_hash": hash, "disabled": true}),
        json!({"username": "b_a", "password_hash": hash, "roles": ["dev"], "disabled": true}),
    ];
    let body: String = lines.iter().map(|l| format!("{l}\n")).collect();
    assert_eq!(
        json_of(import(&app, &token, body).await).await["created"],
        4
    );

    for (query, expected) in [
        ("?username_prefix=a_", vec!["a_b", "a_c"]),
        ("?username_prefix=A_", vec!["a_b", "a_c"]),
        ("?username_prefix=a", vec!["a_b", "a_c", "axb"]),
        ("?username_prefix=zz", vec![]),
        ("?role=ops", vec!["a_b", "axb"]),
        ("?role=dev&disabled=true", vec!["b_a"]),
        ("?disabled=true", vec!["a_c", "b_a"]),
        ("?disabled=false&username_prefix=a", vec!["a_b", "axb"]),
        ("?role=nobody", vec![]),
    ] {
        let (found, _) = names(list(&app, &token, query).await).await;
        assert_eq!(found, expected, "{query}");
    }
    // A filtered page's Link keeps the filter.
    let response = list(&app, &token, "?username_prefix=a&limit=1").await;
    let link = response.headers()["link"].to_str().unwrap();
    assert!(link.contains("username_prefix=a&limit=1&cursor="), "{link}");
}

#[tokio::test]
async fn bad_list_parameters_are_400_problems_naming_the_parameter() {
    let app = spawn_app().await;
    let token = every_scope(&app).await;

    for (query, field) in [
        ("?limit=0", "limit"),
        ("?limit=501", "limit"),
        ("?limit=ten", "limit"),
        ("?limit=-1", "limit"),
        ("?limit=1&limit=2", "limit"),
        ("?cursor=%21%21%21", "cursor"),
        ("?cursor=YQ%3D%3D", "cursor"),
        // Not canonical base64url (any that is, is a position: `ALICE` is one).
        ("?cursor=QUxJQ0V", "cursor"),
        ("?cursor=", "cursor"),
        ("?disabled=yes", "disabled"),
        ("?username_prefix=", "username_prefix"),
        ("?username_prefix=%25", "username_prefix"),
        ("?role=", "role"),
        ("?offset=10", "offset"),
    ] {
        let problem = assert_problem(list(&app, &token, query).await, 400, "invalid-request").await;
        assert!(
            problem["errors"]
                .as_array()
                .unwrap()
                .iter()
                .any(|e| e["field"] == field),
            "{query}: {problem}"
        );
    }
    assert_eq!(list(&app, &token, "?limit=500").await.status(), 200);
    assert_eq!(list(&app, &token, "?limit=1").await.status(), 200);
}

#[tokio::test]
async fn listing_needs_users_read() {
    let app = spawn_app().await;
    let writer = admin_token(&app, "writer", "authd-admin", "admin:users:write").await;
    let problem = assert_problem(list(&app, &writer, "").await, 403, "insufficient-scope").await;
    assert!(problem["detail"]
        .as_str()
        .unwrap()
        .contains("admin:users:read"));
    let response = app
        .client
        .get(app.url("/admin/v1/users"))
        .send()
        .await
        .unwrap();
    assert_problem(response, 401, "unauthorized").await;
}

#[tokio::test]
async fn the_cli_lists_every_user_across_pages() {
    let app = spawn_app().await;
    let token = every_scope(&app).await;
    let all: Vec<String> = (0..1_200).map(|i| format!("cli{i:04}")).collect();
    import_names(&app, &token, &all).await;

    let output = app.cli(&["user", "list"], None);
    assert!(output.status.success());
    let stdout = String::from_utf8(output.stdout).unwrap();
    let listed: Vec<&str> = stdout
        .lines()
        .map(|l| l.split('\t').nth(1).unwrap())
        .collect();
    assert_eq!(listed.len(), 1_200);
    assert_eq!(listed, all.iter().map(String::as_str).collect::<Vec<_>>());
}

// ---- PATCH /users/{id} ------------------------------------------------------------

#[tokio::test]
async fn a_merge_patch_sets_and_removes_members_and_changes_the_etag() {
    let app = spawn_app().await;
    let token = every_scope(&app).await;
    let user = app.add_user("alice", PASSWORD, &["staff"]).await;
    let id = user.id.to_string();
    let (_, etag) = read(&app, &token, &id).await;

    let response = patch(
        &app,
        &token,
        &id,
        &json!({"email": "alice@example.com", "email_verified": true, "name": "Alice A",
                "given_name": "Alice", "family_name": "A"}),
        None,
    )
    .await;
    assert_eq!(response.status(), 200);
    let new_etag = response.headers()["etag"].to_str().unwrap().to_owned();
    assert_ne!(new_etag, etag);
    let patched = json_of(response).await;
    assert_eq!(patched["email"], "alice@example.com");
    assert_eq!(patched["email_verified"], true);
    assert_eq!(patched["given_name"], "Alice");
    assert_eq!(patched["roles"], json!(["staff"]), "untouched members stay");
    assert_eq!(read(&app, &token, &id).await, (patched.clone(), new_etag));

    // null removes an optional member; email_verified null is false; roles null is [].
    let response = patch(
        &app,
        &token,
        &id,
        &json!({"email": null, "email_verified": null, "name": null, "roles": null}),
        None,
    )
    .await;
    assert_eq!(response.status(), 200);
    let patched = json_of(response).await;
    for absent in ["email", "name"] {
        assert!(patched.get(absent).is_none(), "{absent}: {patched}");
    }
    assert_eq!(patched["email_verified"], false);
    assert_eq!(patched["roles"], json!([]));
    assert_eq!(patched["family_name"], "A");

    // Also as application/json.
    let response = app
        .client
        .patch(app.url(&format!("/admin/v1/users/{id}")))
        .bearer_auth(&token)
        .json(&json!({"roles": ["ops", "dev"]}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(json_of(response).await["roles"], json!(["ops", "dev"]));

    let updates = events(&app, EventKind::UserUpdated).await;
    assert_eq!(updates.len(), 3);
    assert!(updates
        .iter()
        .all(|e| e.client_id.as_deref() == Some("backoffice")
            && e.user_id.as_deref() == Some(id.as_str())));
    let trail = format!("{updates:?}");
    assert!(!trail.contains("alice@example.com"), "{trail}");
}

#[tokio::test]
async fn a_patch_naming_an_other_member_or_a_bad_value_is_400_and_changes_nothing() {
    let app = spawn_app().await;
    let token = every_scope(&app).await;
    let id = app.add_user("bob", PASSWORD, &[]).await.id.to_string();
    let before = read(&app, &token, &id).await;

    for (body, field) in [
        (json!({"username": "root"}), "username"),
        (json!({"password": PASSWORD}), "password"),
        (json!({"password_hash": bcrypt_of("x")}), "password_hash"),
        (json!({"id": "00000000-0000-4000-8000-000000000000"}), "id"),
        (json!({"created_at": "2020-01-01T00:00:00Z"}), "created_at"),
        (json!({"email": "nope", "name": "Bob"}), "email"),
        (json!({"email": 5}), "email"),
        (json!({"disabled": "yes"}), "disabled"),
        (json!({"email_verified": 1}), "email_verified"),
        (json!({"roles": "admin"}), "roles"),
        (json!({"roles": [1]}), "roles"),
        (json!({"name": ["Bob"]}), "name"),
    ] {
        let response = patch(&app, &token, &id, &body, None).await;
        let problem = assert_problem(response, 400, "invalid-request").await;
        assert!(
            problem["errors"]
                .as_array()
                .unwrap()
                .iter()
                .any(|e| e["field"] == field),
            "{field}: {problem}"
        );
        assert!(!problem.to_string().contains(PASSWORD), "{problem}");
    }
    for body in ["[]", "null", "not json", r#"{"name":"a","name":"b"}"#] {
        let response = app
            .client
            .patch(app.url(&format!("/admin/v1/users/{id}")))
            .bearer_auth(&token)
            .header("content-type", "application/merge-patch+json")
            .body(body)
            .send()
            .await
            .unwrap();
        assert_problem(response, 400, "invalid-request").await;
    }
    assert_eq!(read(&app, &token, &id).await, before);
}

#[tokio::test]
async fn a_patch_of_another_type_is_415_and_a_large_one_413() {
    let app = spawn_app().await;
    let token = every_scope(&app).await;
    let id = app.add_user("bob", PASSWORD, &[]).await.id.to_string();

    for content_type in [
        "text/plain",
        "application/x-www-form-urlencoded",
        "application/json-patch+json",
    ] {
        let response = app
            .client
            .patch(app.url(&format!("/admin/v1/users/{id}")))
            .bearer_auth(&token)
            .header("content-type", content_type)
            .body(r#"{"name":"Bob"}"#)
            .send()
            .await
            .unwrap();
        assert_problem(response, 415, "unsupported-media-type").await;
    }
    let response = app
        .client
        .patch(app.url(&format!("/admin/v1/users/{id}")))
        .bearer_auth(&token)
        .header("content-type", "application/merge-patch+json")
        .body(format!(r#"{{"name":"{}"}}"#, "x".repeat(16 * 1024)))
        .send()
        .await
        .unwrap();
    assert_problem(response, 413, "payload-too-large").await;
}

#[tokio::test]
async fn patching_roles_needs_roles_assign_and_otherwise_changes_nothing() {
    let app = spawn_app().await;
    let manager = admin_token(&app, "manager", "authd-admin", MANAGER).await;
    let id = app.add_user("carol", PASSWORD, &[]).await.id.to_string();
    let before = read(&app, &manager, &id).await;

    for body in [
        json!({"roles": ["admin"], "name": "Carol"}),
        json!({"roles": null}),
        json!({"roles": []}),
    ] {
        let response = patch(&app, &manager, &id, &body, None).await;
        let problem = assert_problem(response, 403, "insufficient-scope").await;
        assert!(problem["detail"]
            .as_str()
            .unwrap()
            .contains("admin:roles:assign"));
    }
    assert_eq!(read(&app, &manager, &id).await, before);

    let reader = admin_token(&app, "reader", "authd-admin", "admin:users:read").await;
    let response = patch(&app, &reader, &id, &json!({"name": "Carol"}), None).await;
    assert_problem(response, 403, "insufficient-scope").await;

    let response = patch(&app, &manager, &id, &json!({"name": "Carol"}), None).await;
    assert_eq!(response.status(), 200);
}

#[tokio::test]
async fn if_match_must_name_the_current_etag() {
    let app = spawn_app().await;
    let token = every_scope(&app).await;
    let id = app.add_user("dave", PASSWORD, &[]).await.id.to_string();
    let (_, etag) = read(&app, &token, &id).await;

    let response = patch(&app, &token, &id, &json!({"name": "Dave"}), Some(&etag)).await;
    assert_eq!(response.status(), 200);
    let current = response.headers()["etag"].to_str().unwrap().to_owned();

    // The old tag no longer matches: 412, and nothing changed.
    for stale in [
        etag.as_str(),
        "\"0123\"",
        &format!("W/{current}"),
        "garbage",
    ] {
        let response = patch(&app, &token, &id, &json!({"name": "Mallory"}), Some(stale)).await;
        assert_problem(response, 412, "precondition-failed").await;
    }
    assert_eq!(read(&app, &token, &id).await.0["name"], "Dave");

    // Any of a list, or `*`, matches.
    let response = patch(
        &app,
        &token,
        &id,
        &json!({"name": "Dave D"}),
        Some(&format!("\"nope\", {current}")),
    )
    .await;
    assert_eq!(response.status(), 200);
    let response = patch(&app, &token, &id, &json!({"name": "Dave E"}), Some("*")).await;
    assert_eq!(response.status(), 200);
}

#[tokio::test]
async fn concurrent_patches_with_one_etag_have_one_winner() {
    let app = spawn_app().await;
    let token = every_scope(&app).await;
    let id = app.add_user("erin", PASSWORD, &[]).await.id.to_string();
    let (_, etag) = read(&app, &token, &id).await;

    let attempts = (0..8).map(|i| {
        let (app, token, id, etag) = (&app, &token, &id, &etag);
        async move {
            patch(
                app,
                token,
                id,
                &json!({"name": format!("Erin {i}")}),
                Some(etag),
            )
            .await
            .status()
            .as_u16()
        }
    });
    let statuses = futures_util::future::join_all(attempts).await;
    assert_eq!(
        statuses.iter().filter(|s| **s == 200).count(),
        1,
        "{statuses:?}"
    );
    assert_eq!(
        statuses.iter().filter(|s| **s == 412).count(),
        7,
        "{statuses:?}"
    );
}

#[tokio::test]
async fn disabling_by_patch_ends_every_session_and_is_audited() {
    let app = spawn_app().await;
    let token = every_scope(&app).await;
    let id = app.add_user("frank", PASSWORD, &[]).await.id.to_string();
    let pair = app.login_pair("frank", PASSWORD).await;
    let access = pair["access_token"].as_str().unwrap();
    assert_eq!(app.userinfo(access).await.status(), 200);

    let response = patch(&app, &token, &id, &json!({"disabled": true}), None).await;
    assert_eq!(response.status(), 200);
    assert_eq!(json_of(response).await["disabled"], true);
    assert!(within_five_seconds(async || app.userinfo(access).await.status() == 401).await);
    let refreshed = app.refresh(pair["refresh_token"].as_str().unwrap()).await;
    assert_eq!(refreshed.status(), 400);

    let disabled = events(&app, EventKind::UserDisabled).await;
    assert_eq!(disabled.len(), 1);
    assert_eq!(disabled[0].client_id.as_deref(), Some("backoffice"));
    assert_eq!(disabled[0].detail.as_deref(), Some("sessions_revoked=1"));
    assert!(events(&app, EventKind::UserUpdated).await.is_empty());

    // The same value again changes nothing and records nothing.
    let (_, etag) = read(&app, &token, &id).await;
    let response = patch(&app, &token, &id, &json!({"disabled": true}), None).await;
    assert_eq!(response.headers()["etag"].to_str().unwrap(), etag);
    assert_eq!(events(&app, EventKind::UserDisabled).await.len(), 1);

    let response = patch(&app, &token, &id, &json!({"disabled": false}), None).await;
    assert_eq!(json_of(response).await["disabled"], false);
    assert_eq!(events(&app, EventKind::UserEnabled).await.len(), 1);
    app.login("frank", PASSWORD).await;
}

#[tokio::test]
async fn an_unknown_user_is_404_for_every_write() {
    let app = spawn_app().await;
    let token = every_scope(&app).await;
    for id in ["00000000-0000-4000-8000-000000000000", "not-a-uuid"] {
        let response = patch(&app, &token, id, &json!({"name": "Nobody"}), None).await;
        assert_problem(response, 404, "not-found").await;
        let response =
            put_password(&app, &token, id, &json!({"password": NEW_PASSWORD}), None).await;
        assert_problem(response, 404, "not-found").await;
        assert_problem(delete(&app, &token, id, None).await, 404, "not-found").await;
        let response = delete(&app, &token, id, Some("*")).await;
        assert_problem(response, 404, "not-found").await;
    }
}

// ---- PUT /users/{id}/password -----------------------------------------------------

#[tokio::test]
async fn setting_a_password_ends_every_session_and_the_old_password() {
    let app = spawn_app().await;
    let token = every_scope(&app).await;
    let id = app.add_user("gina", PASSWORD, &[]).await.id.to_string();
    let pair = app.login_pair("gina", PASSWORD).await;
    let (before, etag) = read(&app, &token, &id).await;

    let response = put_password(
        &app,
        &token,
        &id,
        &json!({"password": NEW_PASSWORD}),
        Some(&etag),
    )
    .await;
    assert_eq!(response.status(), 204);
    assert!(response.text().await.unwrap().is_empty());
    let access = pair["access_token"].as_str().unwrap();
    assert!(within_five_seconds(async || app.userinfo(access).await.status() == 401).await);
    assert_eq!(
        app.refresh(pair["refresh_token"].as_str().unwrap())
            .await
            .status(),
        400
    );
    let failed = app
        .post_form(
            "/auth/token",
            &[
                ("grant_type", "password"),
                ("username", "gina"),
                ("password", PASSWORD),
            ],
        )
        .await;
    assert_eq!(failed.status(), 400);
    app.login("gina", NEW_PASSWORD).await;

    let (after, new_etag) = read(&app, &token, &id).await;
    assert_ne!(new_etag, etag);
    assert_ne!(after["password_changed_at"], Value::Null);
    assert!(after["updated_at"].as_str() >= before["updated_at"].as_str());

    // The etag it was set with is now stale.
    let response = put_password(
        &app,
        &token,
        &id,
        &json!({"password": PASSWORD}),
        Some(&etag),
    )
    .await;
    assert_problem(response, 412, "precondition-failed").await;
    app.login("gina", NEW_PASSWORD).await;

    // An imported hash works too.
    let response = put_password(
        &app,
        &token,
        &id,
        &json!({"password_hash": bcrypt_of("old password 1")}),
        None,
    )
    .await;
    assert_eq!(response.status(), 204);
    app.login("gina", "old password 1").await;

    let changed = events(&app, EventKind::PasswordChanged).await;
    assert_eq!(changed.len(), 2);
    assert_eq!(changed[1].detail.as_deref(), Some("sessions_revoked=1"));
    assert!(changed
        .iter()
        .all(|e| e.client_id.as_deref() == Some("backoffice")));
    let trail = format!("{changed:?}");
    assert!(!trail.contains(NEW_PASSWORD), "{trail}");
}

#[tokio::test]
async fn a_bad_password_body_is_400_and_changes_nothing() {
    let app = spawn_app().await;
    let manager = admin_token(&app, "manager", "authd-admin", MANAGER).await;
    let id = app.add_user("hank", PASSWORD, &[]).await.id.to_string();

    for (body, field) in [
        (json!({}), "password"),
        (json!({"password": "short"}), "password"),
        (
            json!({"password": NEW_PASSWORD, "password_hash": bcrypt_of("x")}),
            "password",
        ),
        (json!({"password_hash": "$md5$nope"}), "password_hash"),
        (
            json!({"password": NEW_PASSWORD, "username": "root"}),
            "username",
        ),
        (json!({"password": 12345678}), "password"),
    ] {
        let response = put_password(&app, &manager, &id, &body, None).await;
        let problem = assert_problem(response, 400, "invalid-request").await;
        assert!(
            problem["errors"]
                .as_array()
                .unwrap()
                .iter()
                .any(|e| e["field"] == field),
            "{field}: {problem}"
        );
        assert!(!problem.to_string().contains(NEW_PASSWORD), "{problem}");
    }
    let response = app
        .client
        .put(app.url(&format!("/admin/v1/users/{id}/password")))
        .bearer_auth(&manager)
        .form(&[("password", NEW_PASSWORD)])
        .send()
        .await
        .unwrap();
    assert_problem(response, 415, "unsupported-media-type").await;
    let reader = admin_token(&app, "reader", "authd-admin", "admin:users:read").await;
    let response = put_password(&app, &reader, &id, &json!({"password": NEW_PASSWORD}), None).await;
    assert_problem(response, 403, "insufficient-scope").await;
    app.login("hank", PASSWORD).await;
}

// ---- DELETE /users/{id} -----------------------------------------------------------

#[tokio::test]
async fn deleting_a_user_ends_their_sessions_frees_the_name_and_keeps_the_id_in_the_trail() {
    let app = spawn_app().await;
    let token = every_scope(&app).await;
    let id = app.add_user("ivan", PASSWORD, &[]).await.id.to_string();
    let access = app.login("ivan", PASSWORD).await;
    let (_, etag) = read(&app, &token, &id).await;

    let response = delete(&app, &token, &id, Some("\"stale\"")).await;
    assert_problem(response, 412, "precondition-failed").await;
    assert_eq!(app.userinfo(&access).await.status(), 200);

    let response = delete(&app, &token, &id, Some(&etag)).await;
    assert_eq!(response.status(), 204);
    assert!(within_five_seconds(async || app.userinfo(&access).await.status() == 401).await);
    let response = app
        .client
        .get(app.url(&format!("/admin/v1/users/{id}")))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_problem(response, 404, "not-found").await;
    assert_problem(delete(&app, &token, &id, None).await, 404, "not-found").await;

    let response = app
        .client
        .post(app.url("/admin/v1/users"))
        .bearer_auth(&token)
        .json(&json!({"username": "ivan", "password": NEW_PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 201);
    let again: Value = response.json().await.unwrap();
    assert_eq!(again["username"], "ivan");
    assert_ne!(again["id"], id.as_str());

    let deleted = events(&app, EventKind::UserDeleted).await;
    assert_eq!(deleted.len(), 1);
    assert_eq!(deleted[0].user_id.as_deref(), Some(id.as_str()));
    assert_eq!(deleted[0].client_id.as_deref(), Some("backoffice"));
    assert_eq!(deleted[0].detail.as_deref(), Some("sessions_revoked=1"));
}

#[tokio::test]
async fn deleting_needs_users_write() {
    let app = spawn_app().await;
    let reader = admin_token(&app, "reader", "authd-admin", "admin:users:read").await;
    let id = app.add_user("judy", PASSWORD, &[]).await.id.to_string();
    assert_problem(
        delete(&app, &reader, &id, None).await,
        403,
        "insufficient-scope",
    )
    .await;
    assert_eq!(read(&app, &reader, &id).await.0["username"], "judy");
}

// ---- POST /users/import -----------------------------------------------------------

#[tokio::test]
async fn an_import_creates_each_good_line_and_reports_each_refused_one() {
    let app = spawn_app().await;
    let token = every_scope(&app).await;
    app.add_user("taken", PASSWORD, &[]).await;
    let hash = bcrypt_of("old password 1");
    let body = [
        json!({"username": "kim", "password_hash": hash, "roles": ["ops"], "email": "kim@example.com"}).to_string(),
        json!({"username": "taken", "password_hash": hash}).to_string(),
        String::new(),
        json!({"username": "lee", "password": PASSWORD}).to_string(),
        "{not json".to_owned(),
        json!({"username": "kim", "password_hash": hash}).to_string(),
        json!({"username": "mo", "password_hash": hash, "is_admin": true}).to_string(),
        json!({"username": "nia", "password_hash": hash, "disabled": true}).to_string(),
    ]
    .join("\n");

    let response = import(&app, &token, body).await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "application/json");
    let text = response.text().await.unwrap();
    assert!(!text.contains(PASSWORD) && !text.contains(&hash), "{text}");
    let report: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(report["created"], 2, "{report}");
    let failed: Vec<(u64, u64)> = report["failed"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            assert!(f["detail"].is_string());
            (f["line"].as_u64().unwrap(), f["status"].as_u64().unwrap())
        })
        .collect();
    assert_eq!(failed, [(2, 409), (4, 400), (5, 400), (6, 409), (7, 400)]);

    app.login("kim", "old password 1").await;
    let (found, body) = names(list(&app, &token, "?role=ops").await).await;
    assert_eq!(found, ["kim"]);
    assert_eq!(body["items"][0]["email"], "kim@example.com");
    let (found, _) = names(list(&app, &token, "?disabled=true").await).await;
    assert_eq!(found, ["nia"]);

    let added = events(&app, EventKind::UserAdded).await;
    assert_eq!(added.len(), 2);
    assert!(added
        .iter()
        .all(|e| e.client_id.as_deref() == Some("backoffice")
            && e.detail.as_deref() == Some("password_hash_imported")));
}

#[tokio::test]
async fn an_import_giving_roles_without_roles_assign_is_403_and_creates_nothing() {
    let app = spawn_app().await;
    let manager = admin_token(&app, "manager", "authd-admin", MANAGER).await;
    let hash = bcrypt_of("old password 1");
    let body = format!(
        "{}\n{}\n",
        json!({"username": "ola", "password_hash": hash}),
        json!({"username": "pat", "password_hash": hash, "roles": []}),
    );
    let response = import(&app, &manager, body).await;
    let problem = assert_problem(response, 403, "insufficient-scope").await;
    assert!(problem["detail"]
        .as_str()
        .unwrap()
        .contains("admin:roles:assign"));
    let (found, _) = names(list(&app, &manager, "").await).await;
    assert!(found.is_empty(), "{found:?}");

    let body = format!(
        "{}\n",
        json!({"username": "ola", "password_hash": hash, "roles": null})
    );
    assert_eq!(
        json_of(import(&app, &manager, body).await).await["created"],
        1
    );
    let reader = admin_token(&app, "reader", "authd-admin", "admin:users:read").await;
    let response = import(&app, &reader, String::new()).await;
    assert_problem(response, 403, "insufficient-scope").await;
}

#[tokio::test]
async fn an_import_of_another_type_is_415_too_large_413_too_long_400() {
    let app = spawn_app().await;
    let token = every_scope(&app).await;
    let hash = bcrypt_of("old password 1");
    let line = json!({"username": "quinn", "password_hash": hash}).to_string();

    let response = app
        .client
        .post(app.url("/admin/v1/users/import"))
        .bearer_auth(&token)
        .json(&json!({"username": "quinn", "password_hash": hash}))
        .send()
        .await
        .unwrap();
    assert_problem(response, 415, "unsupported-media-type").await;

    let huge = format!("{line}\n{}", " ".repeat(8 * 1024 * 1024));
    assert_problem(import(&app, &token, huge).await, 413, "payload-too-large").await;

    let many: String = (0..10_001)
        .map(|i| {
            format!(
                "{}\n",
                json!({"username": format!("u{i}"), "password_hash": hash})
            )
        })
        .collect();
    let problem = assert_problem(import(&app, &token, many).await, 400, "invalid-request").await;
    assert!(
        problem["detail"].as_str().unwrap().contains("10000"),
        "{problem}"
    );
    let (found, _) = names(list(&app, &token, "").await).await;
    assert!(found.is_empty(), "nothing created: {found:?}");

    // Exactly 10,000 lines (and blank lines between them) are fine.
    let most: String = (0..10_000)
        .map(|i| {
            format!(
                "{}\n\n",
                json!({"username": format!("u{i:05}"), "password_hash": hash})
            )
        })
        .collect();
    let report = json_of(import(&app, &token, most).await).await;
    assert_eq!(report["created"], 10_000, "{}", report["failed"]);
    assert_eq!(report["failed"], json!([]));
    let (found, body) = names(list(&app, &token, "?limit=500&username_prefix=u099").await).await;
    assert_eq!(found.len(), 100);
    assert_eq!(body["next_cursor"], Value::Null);
}

#[tokio::test]
async fn a_name_repeated_across_batches_is_a_409_for_the_later_line() {
    let app = spawn_app().await;
    let token = every_scope(&app).await;
    let hash = bcrypt_of("old password 1");
    // 1,200 lines: three batches; line 1's name comes back at lines 700 and 1,200.
    let lines: Vec<String> = (1..=1_200)
        .map(|line| {
            let name = if line == 700 || line == 1_200 {
                "r0001".to_owned()
            } else {
                format!("r{line:04}")
            };
            json!({"username": name, "password_hash": hash}).to_string()
        })
        .collect();
    let report = json_of(import(&app, &token, lines.join("\n")).await).await;
    assert_eq!(report["created"], 1_198, "{report}");
    assert_eq!(
        report["failed"],
        json!([
            {"line": 700, "status": 409, "detail": "user r0001 already exists"},
            {"line": 1200, "status": 409, "detail": "user r0001 already exists"},
        ])
    );
}
