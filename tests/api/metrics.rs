//! GET /metrics (spec §3, Operations): Prometheus text that moves with what the server
//! does. Each test app has its own registry, so the counts are exact.

use std::collections::BTreeMap;

use chrono::{Duration, Utc};
use serde_json::json;

use crate::helpers::{json_of, spawn_app, spawn_app_with, TestApp, PASSWORD};

/// Every sample of the exposition: `name{labels}` (labels as written) → value.
async fn scrape(app: &TestApp) -> BTreeMap<String, f64> {
    let response = app.client.get(app.url("/metrics")).send().await.unwrap();
    assert_eq!(response.status(), 200);
    let content_type = response.headers()["content-type"].to_str().unwrap();
    assert_eq!(content_type, "text/plain; version=0.0.4; charset=utf-8");
    let body = response.text().await.unwrap();
    body.lines()
        .filter(|line| !line.starts_with('#') && !line.is_empty())
        .map(|line| {
            let (series, value) = line.rsplit_once(' ').unwrap();
            (series.to_owned(), value.parse::<f64>().unwrap())
        })
        .collect()
}

/// The value of one series, 0 when it has no sample yet (a counter never touched).
fn value(samples: &BTreeMap<String, f64>, series: &str) -> f64 {
    samples.get(series).copied().unwrap_or(0.0)
}

fn http(route: &str, method: &str, status: u16) -> String {
    format!(r#"authd_http_requests_total{{route="{route}",method="{method}",status="{status}"}}"#)
}

#[tokio::test]
async fn metrics_move_with_logins_refreshes_reuse_and_client_tokens() {
    let app = spawn_app().await;
    app.add_user("alice", PASSWORD, &[]).await;
    let secret = app
        .add_client("svc", true, &["client_credentials"], &["api"], "")
        .await
        .unwrap();
    let before = scrape(&app).await;
    assert_eq!(
        value(&before, r#"authd_tokens_issued_total{grant="password"}"#),
        0.0
    );

    let pair = app.login_pair("alice", PASSWORD).await;
    let first = pair["refresh_token"].as_str().unwrap();
    let response = app.refresh(first).await;
    assert_eq!(response.status(), 200);
    let second = json_of(response).await;
    // The consumed token again: reuse, the family dies.
    assert_eq!(app.refresh(first).await.status(), 400);
    let wrong = app
        .post_json(
            "/auth/token",
            &json!({"username": "alice", "password": "wrong password here"}),
        )
        .await;
    assert_eq!(wrong.status(), 400);
    let cc = app
        .post_form_basic(
            "/auth/token",
            ("svc", &secret),
            &[("grant_type", "client_credentials")],
        )
        .await;
    assert_eq!(cc.status(), 200);
    let cc_token = json_of(cc).await["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    // Valid and unrevoked (a revocation lookup), but it names no user.
    assert_eq!(app.userinfo(&cc_token).await.status(), 403);
    // Revoked by the reuse: refused, after a revocation lookup.
    let dead = second["access_token"].as_str().unwrap();
    assert_eq!(app.userinfo(dead).await.status(), 401);

    let after = scrape(&app).await;
    let expect = [
        (r#"authd_tokens_issued_total{grant="password"}"#, 1.0),
        (r#"authd_tokens_issued_total{grant="refresh_token"}"#, 1.0),
        (
            r#"authd_tokens_issued_total{grant="client_credentials"}"#,
            1.0,
        ),
        ("authd_refresh_rotations_total", 1.0),
        ("authd_refresh_reuse_detected_total", 1.0),
        (r#"authd_families_revoked_total{reason="reuse"}"#, 1.0),
        (r#"authd_logins_total{outcome="success"}"#, 1.0),
        (r#"authd_logins_total{outcome="failure"}"#, 1.0),
        ("authd_login_throttled_total", 0.0),
        ("authd_password_queue_depth", 0.0),
        ("authd_audit_write_failures_total", 0.0),
    ];
    for (series, want) in expect {
        assert_eq!(value(&after, series), want, "{series}");
    }
    // Two revocation checks: in process, or (with Redis, before the in-process mirror is
    // subscribed and loaded) in Redis.
    let lookups = |result| {
        value(
            &after,
            &format!(r#"authd_revocation_cache_lookups_total{{result="{result}"}}"#),
        )
    };
    assert_eq!(lookups("hit") + lookups("miss"), 2.0);
    if crate::helpers::test_redis_url().is_none() {
        assert_eq!(lookups("hit"), 2.0);
    }
    // Per route, method and status; latency histograms alongside.
    assert_eq!(value(&after, &http("/auth/token", "POST", 200)), 2.0);
    assert_eq!(value(&after, &http("/auth/token", "POST", 400)), 1.0);
    assert_eq!(value(&after, &http("/auth/refresh", "POST", 200)), 1.0);
    assert_eq!(value(&after, &http("/auth/refresh", "POST", 400)), 1.0);
    assert_eq!(value(&after, &http("/auth/userinfo", "GET", 401)), 1.0);
    assert_eq!(value(&after, &http("/auth/userinfo", "GET", 403)), 1.0);
    // The scrape before this one counted itself.
    assert_eq!(value(&after, &http("/metrics", "GET", 200)), 1.0);
    assert_eq!(
        value(
            &after,
            r#"authd_http_request_duration_seconds_count{route="/auth/token",method="POST",status="200"}"#
        ),
        2.0
    );
    assert!(
        value(
            &after,
            r#"authd_http_request_duration_seconds_sum{route="/auth/token",method="POST",status="200"}"#
        ) > 0.0
    );
    assert!(after.contains_key("authd_active_key_age_seconds"));
}

#[tokio::test]
async fn unknown_paths_share_one_series_and_never_become_labels() {
    let app = spawn_app().await;
    for path in [
        "/no-such-page-7f3a",
        "/admin/../etc/passwd-7f3a",
        "/x?q=7f3a",
    ] {
        let response = app.client.get(app.url(path)).send().await.unwrap();
        assert_eq!(response.status(), 404, "{path}");
    }
    let body = app.metrics_text(&app.address).await;
    assert!(!body.contains("7f3a"), "a path became a label:\n{body}");
    assert!(
        body.contains(
            r#"authd_http_requests_total{route="unmatched",method="GET",status="404"} 3"#
        ),
        "{body}"
    );
}

#[tokio::test]
async fn throttled_logins_are_counted() {
    let app = spawn_app_with(|s| s.login.max_failures = 1).await;
    app.add_user("alice", PASSWORD, &[]).await;
    let body = json!({"username": "alice", "password": "wrong password here"});
    assert_eq!(app.post_json("/auth/token", &body).await.status(), 400);
    assert_eq!(app.post_json("/auth/token", &body).await.status(), 429);
    let samples = scrape(&app).await;
    assert_eq!(value(&samples, "authd_login_throttled_total"), 1.0);
    assert_eq!(
        value(&samples, r#"authd_logins_total{outcome="failure"}"#),
        1.0
    );
    assert_eq!(value(&samples, &http("/auth/token", "POST", 429)), 1.0);
}

#[tokio::test]
async fn a_key_rotation_is_counted_and_the_active_key_age_is_exported() {
    let app = spawn_app().await;
    let samples = scrape(&app).await;
    assert_eq!(value(&samples, "authd_key_rotations_total"), 0.0);
    let age = value(&samples, "authd_active_key_age_seconds");
    assert!((0.0..60.0).contains(&age), "a key created at boot: {age}");

    // Due for rotation: the next key is created, then promoted after prepublish.
    let policy = &app.settings.keys;
    let rotate = Duration::from_std(policy.rotate_every).unwrap();
    let prepublish = Duration::from_std(policy.prepublish).unwrap();
    let created = Utc::now() + rotate - prepublish + Duration::seconds(1);
    app.keys.tick(created).await.unwrap();
    app.keys.tick(created + prepublish).await.unwrap();
    let samples = scrape(&app).await;
    assert_eq!(value(&samples, "authd_key_rotations_total"), 1.0);
}

#[tokio::test]
async fn openmetrics_is_served_to_scrapers_that_ask_for_it_and_the_classic_text_to_others() {
    let app = spawn_app().await;
    // What Prometheus sends.
    let accept = "application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1";
    let response = app
        .client
        .get(app.url("/metrics"))
        .header("accept", accept)
        .send()
        .await
        .unwrap();
    assert_eq!(
        response.headers()["content-type"],
        "application/openmetrics-text; version=1.0.0; charset=utf-8"
    );
    let open = response.text().await.unwrap();
    assert!(open.ends_with("# EOF\n"));
    assert!(open.contains("# TYPE authd_login_throttled counter\n"));

    let classic = app
        .client
        .get(app.url("/metrics"))
        .header("accept", "text/plain")
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(!classic.contains("# EOF"));
    assert!(classic
        .contains("# TYPE authd_login_throttled_total counter\nauthd_login_throttled_total 0\n"));
}
