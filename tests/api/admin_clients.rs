//! The admin API's clients (admin-api.md §1, §2): list, read, register, change, remove,
//! secret rotation, and a problem for every refusal.

use authd::audit::{AuditQuery, EventKind};
use serde_json::{json, Value};

use crate::admin::{admin_token, assert_problem};
use crate::helpers::{json_of, spawn_app, spawn_app_with, within_five_seconds, TestApp, PASSWORD};

const WRITER: &str = "admin:clients:read admin:clients:write";

async fn send(
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

async fn create(app: &TestApp, token: &str, body: &Value) -> reqwest::Response {
    send(
        app,
        reqwest::Method::POST,
        token,
        "/admin/v1/clients",
        Some(body),
    )
    .await
}

async fn get(app: &TestApp, token: &str, path: &str) -> reqwest::Response {
    send(app, reqwest::Method::GET, token, path, None).await
}

async fn patch(
    app: &TestApp,
    token: &str,
    path: &str,
    if_match: Option<&str>,
    body: &Value,
) -> reqwest::Response {
    let mut request = app
        .client
        .patch(app.url(path))
        .bearer_auth(token)
        .header("content-type", "application/merge-patch+json")
        .body(body.to_string());
    if let Some(tag) = if_match {
        request = request.header("if-match", tag);
    }
    request.send().await.unwrap()
}

async fn delete(app: &TestApp, token: &str, path: &str, if_match: Option<&str>) -> u16 {
    let mut request = app.client.delete(app.url(path)).bearer_auth(token);
    if let Some(tag) = if_match {
        request = request.header("if-match", tag);
    }
    request.send().await.unwrap().status().as_u16()
}

/// A client_credentials token request's status for `id` with `secret`.
async fn cc_status(app: &TestApp, id: &str, secret: &str) -> u16 {
    app.post_form_basic(
        "/auth/token",
        (id, secret),
        &[("grant_type", "client_credentials")],
    )
    .await
    .status()
    .as_u16()
}

/// Registers a confidential client through the API; returns its secret.
async fn create_confidential(app: &TestApp, token: &str, id: &str, scopes: &[&str]) -> String {
    let response = create(
        app,
        token,
        &json!({"client_id": id, "secret": "generate", "audiences": ["billing"], "scopes": scopes}),
    )
    .await;
    assert_eq!(response.status(), 201);
    let body: Value = response.json().await.unwrap();
    body["client_secret"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn a_confidential_client_is_201_with_location_its_secret_once_and_gets_tokens() {
    let app = spawn_app().await;
    let token = admin_token(&app, "backoffice", "authd-admin", WRITER).await;

    let response = create(
        &app,
        &token,
        &json!({
            "client_id": "billing-worker",
            "secret": "generate",
            "audiences": ["billing-api"],
            "grants": ["client_credentials"],
            "scopes": ["invoices:read", "invoices:write"],
            "default_scopes": ["invoices:read"],
        }),
    )
    .await;
    assert_eq!(response.status(), 201);
    assert_eq!(response.headers()["content-type"], "application/json");
    assert_eq!(
        response.headers()["location"],
        "/admin/v1/clients/billing-worker"
    );
    let etag = response.headers()["etag"].to_str().unwrap().to_owned();
    let created: Value = response.json().await.unwrap();
    let secret = created["client_secret"].as_str().unwrap().to_owned();
    assert!(secret.starts_with("authd_cs_"), "{created}");
    assert_eq!(created["client_id"], "billing-worker");
    assert_eq!(created["kind"], "confidential");
    assert_eq!(created["audiences"], json!(["billing-api"]));
    assert_eq!(created["grants"], json!(["client_credentials"]));
    assert_eq!(
        created["scopes"],
        json!(["invoices:read", "invoices:write"])
    );
    assert_eq!(created["default_scopes"], json!(["invoices:read"]));
    assert_eq!(created["redirect_uris"], json!([]));
    assert_eq!(created["post_logout_redirect_uris"], json!([]));
    assert_eq!(created["first_party"], false);
    assert_eq!(created["token_policy"], json!({}));
    for at in ["created_at", "updated_at"] {
        assert!(created[at].as_str().unwrap().ends_with('Z'), "{created}");
    }

    // Read back: the same representation and ETag, and never the secret again.
    let response = get(&app, &token, "/admin/v1/clients/billing-worker").await;
    assert_eq!(response.headers()["etag"].to_str().unwrap(), etag);
    let text = response.text().await.unwrap();
    assert!(
        !text.contains(&secret) && !text.contains("secret"),
        "{text}"
    );
    let mut expected = created.clone();
    expected.as_object_mut().unwrap().remove("client_secret");
    assert_eq!(serde_json::from_str::<Value>(&text).unwrap(), expected);

    assert_eq!(cc_status(&app, "billing-worker", &secret).await, 200);

    let events = app
        .store
        .audit_events(&AuditQuery {
            since: None,
            user_id: None,
            event: Some(EventKind::ClientAdded),
            limit: 10,
        })
        .await
        .unwrap();
    let added = events
        .iter()
        .find(|e| e.client_id.as_deref() == Some("billing-worker"))
        .unwrap();
    assert_eq!(added.detail.as_deref(), Some("confidential by=backoffice"));
    assert!(!format!("{events:?}").contains(&secret));
}

#[tokio::test]
async fn a_public_client_has_no_secret_and_the_public_grants() {
    let app = spawn_app().await;
    let token = admin_token(&app, "backoffice", "authd-admin", WRITER).await;

    let response = create(
        &app,
        &token,
        &json!({"client_id": "mobile", "kind": "public"}),
    )
    .await;
    assert_eq!(response.status(), 201);
    let created: Value = response.json().await.unwrap();
    assert_eq!(created["kind"], "public");
    assert!(created.get("client_secret").is_none(), "{created}");
    assert_eq!(created["grants"], json!(["password", "refresh_token"]));
    assert_eq!(created["audiences"], json!(["mobile"]));

    app.add_user("alice", PASSWORD, &[]).await;
    let response = app
        .post_json(
            "/auth/token",
            &json!({"client_id": "mobile", "username": "alice", "password": PASSWORD}),
        )
        .await;
    assert_eq!(response.status(), 200);
}

#[tokio::test]
async fn a_taken_client_id_is_409_and_the_default_clients_is_403() {
    let app = spawn_app().await;
    let token = admin_token(&app, "backoffice", "authd-admin", WRITER).await;

    let response = create(&app, &token, &json!({"client_id": "backoffice"})).await;
    assert_problem(response, 409, "client-id-taken").await;
    let default = app.settings.default_client.id.as_str().to_owned();
    let response = create(&app, &token, &json!({"client_id": default})).await;
    assert_problem(response, 403, "forbidden").await;
}

#[tokio::test]
async fn bad_create_bodies_are_400_naming_the_member_and_create_nothing() {
    let app = spawn_app().await;
    let token = admin_token(&app, "backoffice", "authd-admin", WRITER).await;

    let cases = [
        (
            json!({"client_id": "x", "secret_sha256": "00"}),
            "secret_sha256",
        ),
        (
            json!({"client_id": "x", "secret": "my own secret of many characters"}),
            "secret",
        ),
        (
            json!({"client_id": "x", "kind": "public", "secret": "generate"}),
            "secret",
        ),
        (json!({"client_id": "x", "kind": "trusted"}), "kind"),
        (
            json!({"client_id": "x", "scopes": ["a"], "default_scopes": ["b"]}),
            "default_scopes",
        ),
        (
            json!({"client_id": "x", "grants": ["client_credentials"]}),
            "grants",
        ),
        (json!({"client_id": "x", "grants": ["implicit"]}), "grants"),
        (json!({"client_id": "x", "scopes": ["two words"]}), "scopes"),
        (json!({"client_id": "x", "audiences": "api"}), "audiences"),
        (
            json!({"client_id": "x", "token_policy": {"access_ttl": "1m"}}),
            "token_policy",
        ),
        (json!({"client_id": ""}), "client_id"),
        (json!({"kind": "public"}), "client_id"),
    ];
    for (body, field) in cases {
        let problem =
            assert_problem(create(&app, &token, &body).await, 400, "invalid-request").await;
        assert_eq!(problem["errors"][0]["field"], field, "{body} → {problem}");
    }
    assert!(app.store.client_by_id("x").await.unwrap().is_none());

    let response = app
        .client
        .post(app.url("/admin/v1/clients"))
        .bearer_auth(&token)
        .header("content-type", "text/plain")
        .body(r#"{"client_id": "x"}"#)
        .send()
        .await
        .unwrap();
    assert_problem(response, 415, "unsupported-media-type").await;
    let response = app
        .client
        .post(app.url("/admin/v1/clients"))
        .bearer_auth(&token)
        .header("content-type", "application/json")
        .body(format!(
            r#"{{"client_id": "x", "scopes": ["{}"]}}"#,
            "a".repeat(17_000)
        ))
        .send()
        .await
        .unwrap();
    assert_problem(response, 413, "payload-too-large").await;
}

#[tokio::test]
async fn each_client_route_needs_its_scope() {
    let app = spawn_app().await;
    let reader = admin_token(&app, "reader", "authd-admin", "admin:clients:read").await;
    let writer = admin_token(&app, "writer", "authd-admin", "admin:clients:write").await;
    use reqwest::Method;

    for (method, path, body) in [
        (
            Method::POST,
            "/admin/v1/clients",
            Some(json!({"client_id": "x"})),
        ),
        (
            Method::PATCH,
            "/admin/v1/clients/writer",
            Some(json!({"scopes": []})),
        ),
        (Method::DELETE, "/admin/v1/clients/writer", None),
        (Method::POST, "/admin/v1/clients/writer/secret", None),
        (
            Method::DELETE,
            "/admin/v1/clients/writer/secret/previous",
            None,
        ),
    ] {
        let response = send(&app, method, &reader, path, body.as_ref()).await;
        let problem = assert_problem(response, 403, "insufficient-scope").await;
        assert!(problem["detail"]
            .as_str()
            .unwrap()
            .contains("admin:clients:write"));
    }
    for path in ["/admin/v1/clients", "/admin/v1/clients/writer"] {
        let problem =
            assert_problem(get(&app, &writer, path).await, 403, "insufficient-scope").await;
        assert!(problem["detail"]
            .as_str()
            .unwrap()
            .contains("admin:clients:read"));
    }
    assert!(app.store.client_by_id("x").await.unwrap().is_none());
    assert!(app.store.client_by_id("writer").await.unwrap().is_some());
}

#[tokio::test]
async fn the_listing_pages_by_client_id_with_the_default_client_in_its_place() {
    let app = spawn_app().await;
    // The default client is "app"; "a-" and "b" sort around it byte by byte.
    for id in ["b", "a-", "zeta", "c d"] {
        app.add_client(id, false, &["password"], &["api"], "").await;
    }
    let token = admin_token(&app, "backoffice", "authd-admin", "admin:clients:read").await;

    let mut seen = Vec::new();
    let mut path = "/admin/v1/clients?limit=2".to_owned();
    loop {
        let response = get(&app, &token, &path).await;
        assert_eq!(response.status(), 200);
        let link = response
            .headers()
            .get("link")
            .map(|l| l.to_str().unwrap().to_owned());
        let body: Value = response.json().await.unwrap();
        let items = body["items"].as_array().unwrap();
        assert!(items.len() <= 2);
        seen.extend(
            items
                .iter()
                .map(|c| c["client_id"].as_str().unwrap().to_owned()),
        );
        match body["next_cursor"].as_str() {
            Some(cursor) => {
                let link = link.expect("a next page has a Link");
                assert!(link.ends_with(r#">; rel="next""#), "{link}");
                assert!(link.contains("limit=2") && link.contains(cursor), "{link}");
                path = link[1..link.find('>').unwrap()].to_owned();
            }
            None => {
                assert!(link.is_none(), "no next page, no Link");
                assert!(body["next_cursor"].is_null());
                break;
            }
        }
    }
    assert_eq!(seen, ["a-", "app", "b", "backoffice", "c d", "zeta"]);

    let body = json_of(get(&app, &token, "/admin/v1/clients").await).await;
    let default = &body["items"][1];
    assert_eq!(default["client_id"], "app");
    assert_eq!(default["kind"], "public");
    assert!(default.get("created_at").is_none(), "{default}");
    let response = get(&app, &token, "/admin/v1/clients/app").await;
    assert!(response.headers().get("etag").is_none());
    assert_eq!(json_of(response).await, *default);
}

#[tokio::test]
async fn bad_listing_parameters_are_400_and_unknown_ids_404() {
    let app = spawn_app().await;
    let token = admin_token(&app, "backoffice", "authd-admin", "admin:clients:read").await;

    for query in [
        "limit=0",
        "limit=501",
        "limit=ten",
        "cursor=!!!",
        // Not base64url in canonical form (any that is, is a position).
        "cursor=A",
        "cursor=AB",
        "cursor=",
        "offset=2",
        "limit=1&limit=2",
    ] {
        let response = get(&app, &token, &format!("/admin/v1/clients?{query}")).await;
        assert_problem(response, 400, "invalid-request").await;
    }
    let body = json_of(get(&app, &token, "/admin/v1/clients?limit=500").await).await;
    assert_eq!(body["items"].as_array().unwrap().len(), 2);
    let response = get(&app, &token, "/admin/v1/clients/nobody").await;
    assert_problem(response, 404, "not-found").await;
}

#[tokio::test]
async fn a_patch_replaces_members_changes_the_etag_and_running_servers_follow() {
    let app = spawn_app().await;
    let token = admin_token(&app, "backoffice", "authd-admin", WRITER).await;
    let secret = create_confidential(&app, &token, "worker", &["a"]).await;
    let sibling = app.sibling().await;
    let path = "/admin/v1/clients/worker";
    let before = get(&app, &token, path).await;
    let etag = before.headers()["etag"].to_str().unwrap().to_owned();

    let response = patch(
        &app,
        &token,
        path,
        Some(&etag),
        &json!({"scopes": ["a", "b"], "default_scopes": ["b"]}),
    )
    .await;
    assert_eq!(response.status(), 200);
    let new_etag = response.headers()["etag"].to_str().unwrap().to_owned();
    assert_ne!(new_etag, etag);
    let patched: Value = response.json().await.unwrap();
    assert_eq!(patched["scopes"], json!(["a", "b"]));
    assert_eq!(patched["default_scopes"], json!(["b"]));
    assert_eq!(patched["audiences"], json!(["billing"]));

    // The stale ETag is refused and changes nothing.
    let response = patch(&app, &token, path, Some(&etag), &json!({"scopes": []})).await;
    assert_problem(response, 412, "precondition-failed").await;
    let now = get(&app, &token, path).await;
    assert_eq!(now.headers()["etag"].to_str().unwrap(), new_etag);

    // Another instance issues the new default scope within seconds.
    assert!(
        within_five_seconds(async || {
            let response = app
                .client
                .post(format!("{}/auth/token", sibling.address))
                .basic_auth("worker", Some(&secret))
                .form(&[("grant_type", "client_credentials")])
                .send()
                .await
                .unwrap();
            let body: Value = response.json().await.unwrap();
            body["scope"] == "b"
        })
        .await
    );

    // application/json is a merge patch too, and without If-Match the write is
    // unconditional.
    let response = app
        .client
        .patch(app.url(path))
        .bearer_auth(&token)
        .json(&json!({"grants": []}))
        .send()
        .await
        .unwrap();
    assert_eq!(
        json_of(response).await["grants"],
        json!(["client_credentials"])
    );

    let events = app
        .store
        .audit_events(&AuditQuery {
            since: None,
            user_id: None,
            event: Some(EventKind::ClientUpdated),
            limit: 10,
        })
        .await
        .unwrap();
    assert_eq!(events.len(), 2);
    assert_eq!(
        events[1].detail.as_deref(),
        Some("scopes,default_scopes by=backoffice")
    );
}

#[tokio::test]
async fn bad_patches_are_refused_and_change_nothing() {
    let app = spawn_app().await;
    let token = admin_token(&app, "backoffice", "authd-admin", WRITER).await;
    create_confidential(&app, &token, "worker", &["a"]).await;
    let path = "/admin/v1/clients/worker";
    let etag = get(&app, &token, path).await.headers()["etag"]
        .to_str()
        .unwrap()
        .to_owned();

    for (body, field) in [
        (json!({"kind": "public"}), "kind"),
        (json!({"client_id": "other"}), "client_id"),
        (json!({"scopes": null}), "scopes"),
        (json!({"default_scopes": ["z"]}), "default_scopes"),
        (json!({"grants": ["password", 7]}), "grants"),
    ] {
        let problem = assert_problem(
            patch(&app, &token, path, None, &body).await,
            400,
            "invalid-request",
        )
        .await;
        assert_eq!(problem["errors"][0]["field"], field, "{body} → {problem}");
    }
    let response = app
        .client
        .patch(app.url(path))
        .bearer_auth(&token)
        .header("content-type", "text/plain")
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_problem(response, 415, "unsupported-media-type").await;
    let response = patch(&app, &token, "/admin/v1/clients/nobody", None, &json!({})).await;
    assert_problem(response, 404, "not-found").await;
    let response = patch(&app, &token, "/admin/v1/clients/app", None, &json!({})).await;
    assert_problem(response, 403, "forbidden").await;

    let after = get(&app, &token, path).await;
    assert_eq!(after.headers()["etag"].to_str().unwrap(), etag);
}

#[tokio::test]
async fn deleting_a_client_revokes_its_sessions_and_honours_if_match() {
    let app = spawn_app().await;
    let token = admin_token(&app, "backoffice", "authd-admin", WRITER).await;
    app.add_client(
        "mobile",
        false,
        &["password", "refresh_token"],
        &["api"],
        "",
    )
    .await;
    app.add_user("alice", PASSWORD, &[]).await;
    let pair: Value = app
        .post_json(
            "/auth/token",
            &json!({"client_id": "mobile", "username": "alice", "password": PASSWORD}),
        )
        .await
        .json()
        .await
        .unwrap();
    let access = pair["access_token"].as_str().unwrap();
    assert_eq!(app.userinfo(access).await.status(), 200);
    let path = "/admin/v1/clients/mobile";

    assert_eq!(delete(&app, &token, path, Some(r#""stale""#)).await, 412);
    assert!(app.store.client_by_id("mobile").await.unwrap().is_some());
    let etag = get(&app, &token, path).await.headers()["etag"]
        .to_str()
        .unwrap()
        .to_owned();
    assert_eq!(delete(&app, &token, path, Some(&etag)).await, 204);
    assert!(app.store.client_by_id("mobile").await.unwrap().is_none());
    assert_eq!(app.userinfo(access).await.status(), 401);
    assert_eq!(delete(&app, &token, path, None).await, 404);
    assert_eq!(
        delete(&app, &token, "/admin/v1/clients/app", None).await,
        403
    );

    let events = app
        .store
        .audit_events(&AuditQuery {
            since: None,
            user_id: None,
            event: Some(EventKind::ClientRemoved),
            limit: 10,
        })
        .await
        .unwrap();
    assert_eq!(events.len(), 1);
    assert_eq!(
        events[0].detail.as_deref(),
        Some("sessions_revoked=1 by=backoffice")
    );
}

#[tokio::test]
async fn after_a_rotation_both_secrets_work_until_the_previous_is_removed() {
    let app = spawn_app().await;
    let token = admin_token(&app, "backoffice", "authd-admin", WRITER).await;
    let old = create_confidential(&app, &token, "worker", &[]).await;
    let etag = get(&app, &token, "/admin/v1/clients/worker")
        .await
        .headers()["etag"]
        .to_str()
        .unwrap()
        .to_owned();

    let response = send(
        &app,
        reqwest::Method::POST,
        &token,
        "/admin/v1/clients/worker/secret",
        None,
    )
    .await;
    let body = json_of(response).await;
    let new = body["client_secret"].as_str().unwrap().to_owned();
    assert_eq!(body.as_object().unwrap().len(), 1, "{body}");
    assert_ne!(new, old);
    let after = get(&app, &token, "/admin/v1/clients/worker").await;
    assert_ne!(after.headers()["etag"].to_str().unwrap(), etag);
    let text = after.text().await.unwrap();
    assert!(!text.contains(&new) && !text.contains(&old), "{text}");

    assert_eq!(cc_status(&app, "worker", &new).await, 200);
    assert_eq!(cc_status(&app, "worker", &old).await, 200);
    assert_eq!(
        cc_status(&app, "worker", "authd_cs_not-the-secret-at-all-0000000000").await,
        401
    );

    let previous = "/admin/v1/clients/worker/secret/previous";
    assert_eq!(delete(&app, &token, previous, None).await, 204);
    assert_eq!(cc_status(&app, "worker", &old).await, 401);
    assert_eq!(cc_status(&app, "worker", &new).await, 200);
    assert_eq!(delete(&app, &token, previous, None).await, 404);

    let events = app
        .store
        .audit_events(&AuditQuery {
            since: None,
            user_id: None,
            event: None,
            limit: 20,
        })
        .await
        .unwrap();
    let kinds: Vec<&str> = events.iter().map(|e| e.event.as_str()).collect();
    assert!(kinds.contains(&"client_secret_rotated"), "{kinds:?}");
    assert!(
        kinds.contains(&"client_previous_secret_removed"),
        "{kinds:?}"
    );
    let trail = format!("{events:?}");
    assert!(!trail.contains(&new) && !trail.contains(&old));
}

#[tokio::test]
async fn a_rotated_out_secret_stops_after_the_configured_ttl() {
    let app = spawn_app_with(|s| {
        s.clients.previous_secret_ttl = std::time::Duration::from_secs(2);
    })
    .await;
    let token = admin_token(&app, "backoffice", "authd-admin", WRITER).await;
    let old = create_confidential(&app, &token, "worker", &[]).await;

    let response = send(
        &app,
        reqwest::Method::POST,
        &token,
        "/admin/v1/clients/worker/secret",
        None,
    )
    .await;
    let new = json_of(response).await["client_secret"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(cc_status(&app, "worker", &old).await, 200);
    tokio::time::sleep(std::time::Duration::from_millis(2500)).await;
    assert_eq!(cc_status(&app, "worker", &old).await, 401);
    assert_eq!(cc_status(&app, "worker", &new).await, 200);
    // An expired previous secret is no longer there to remove.
    let previous = "/admin/v1/clients/worker/secret/previous";
    assert_eq!(delete(&app, &token, previous, None).await, 404);
}

#[tokio::test]
async fn public_unknown_and_default_clients_have_no_secret_to_rotate() {
    let app = spawn_app().await;
    let token = admin_token(&app, "backoffice", "authd-admin", WRITER).await;
    app.add_client("mobile", false, &["password"], &["api"], "")
        .await;
    let post = |path: &'static str| send(&app, reqwest::Method::POST, &token, path, None);

    assert_problem(
        post("/admin/v1/clients/mobile/secret").await,
        400,
        "invalid-request",
    )
    .await;
    assert_problem(
        post("/admin/v1/clients/nobody/secret").await,
        404,
        "not-found",
    )
    .await;
    assert_problem(post("/admin/v1/clients/app/secret").await, 403, "forbidden").await;
    assert_eq!(
        delete(
            &app,
            &token,
            "/admin/v1/clients/mobile/secret/previous",
            None
        )
        .await,
        404
    );
    assert_eq!(
        delete(
            &app,
            &token,
            "/admin/v1/clients/nobody/secret/previous",
            None
        )
        .await,
        404
    );
}
