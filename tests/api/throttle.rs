//! Login throttling (spec §3): per username and per source address, 429 with
//! `Retry-After` after `login.max_failures` failures, a progressive delay rather than a
//! lockout, the same answer for every username, atomic under concurrency, and shared by
//! instances through Redis.

use std::time::Duration;

use reqwest::Response;
use serde_json::{json, Value};

use crate::helpers::{spawn_app_with, test_redis_url, TestApp, PASSWORD};

const WRONG: &str = "not the password at all";

/// An app that believes X-Forwarded-For from the test client (127.0.0.1), so each
/// request can say which address it comes from.
async fn behind_a_proxy(max_failures: u32) -> TestApp {
    spawn_app_with(|s| {
        s.login.max_failures = max_failures;
        s.server.trusted_proxies = vec!["127.0.0.1".parse().unwrap()];
    })
    .await
}

async fn login_from(app: &TestApp, base: &str, address: &str, user: &str, pw: &str) -> Response {
    app.client
        .post(format!("{base}/auth/token"))
        .header("x-forwarded-for", address)
        .json(&json!({"username": user, "password": pw}))
        .send()
        .await
        .unwrap()
}

async fn login(app: &TestApp, address: &str, user: &str, pw: &str) -> Response {
    login_from(app, &app.address, address, user, pw).await
}

/// Asserts a 429 `too_many_attempts` and returns (Retry-After seconds, body).
async fn assert_throttled(response: Response) -> (u64, Value) {
    assert_eq!(response.status(), 429);
    let retry_after: u64 = response.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(retry_after >= 1);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"], "too_many_attempts", "{body}");
    (retry_after, body)
}

#[tokio::test]
async fn after_the_limit_even_the_right_password_is_refused_and_unknown_names_look_the_same() {
    let app = behind_a_proxy(3).await;
    app.add_user("alice", PASSWORD, &[]).await;
    // Failures from different addresses: only the username's count grows.
    for (i, user) in ["alice", "ghost"].iter().enumerate() {
        for n in 0..3 {
            let address = format!("198.51.100.{}", i * 10 + n);
            let response = login(&app, &address, user, WRONG).await;
            assert_eq!(response.status(), 400, "{user} failure {n}");
        }
    }
    let (alice_wait, alice) =
        assert_throttled(login(&app, "198.51.100.99", "alice", PASSWORD).await).await;
    let (ghost_wait, ghost) =
        assert_throttled(login(&app, "198.51.100.98", "ghost", PASSWORD).await).await;
    assert_eq!(alice, ghost, "the same body whether the user exists or not");
    assert_eq!(alice_wait, ghost_wait);
    // Another user is not affected.
    app.add_user("bob", PASSWORD, &[]).await;
    assert_eq!(
        login(&app, "198.51.100.97", "bob", PASSWORD).await.status(),
        200
    );
}

#[tokio::test]
async fn the_delay_doubles_with_each_failure_and_a_success_clears_it() {
    let app = behind_a_proxy(3).await;
    app.add_user("alice", PASSWORD, &[]).await;
    for n in 0..3 {
        login(&app, &format!("198.51.100.{n}"), "alice", WRONG).await;
    }
    let (first, _) = assert_throttled(login(&app, "198.51.100.9", "alice", PASSWORD).await).await;
    assert_eq!(first, 1, "one second after reaching the limit");
    tokio::time::sleep(Duration::from_millis(1100)).await;
    // One more guess is allowed after the delay; failing it doubles the delay.
    assert_eq!(
        login(&app, "198.51.100.10", "alice", WRONG).await.status(),
        400
    );
    let (second, _) = assert_throttled(login(&app, "198.51.100.11", "alice", PASSWORD).await).await;
    assert_eq!(second, 2, "the next delay is twice as long");
    tokio::time::sleep(Duration::from_millis(2100)).await;
    // Not a lockout: after the delay the right password works and the count is clear.
    assert_eq!(
        login(&app, "198.51.100.12", "alice", PASSWORD)
            .await
            .status(),
        200
    );
    assert_eq!(
        login(&app, "198.51.100.13", "alice", WRONG).await.status(),
        400
    );
}

#[tokio::test]
async fn one_address_guessing_many_usernames_is_throttled() {
    let app = behind_a_proxy(3).await;
    app.add_user("dave", PASSWORD, &[]).await;
    for user in ["u1", "u2", "u3"] {
        let response = login(&app, "203.0.113.7", user, WRONG).await;
        assert_eq!(response.status(), 400);
    }
    assert_throttled(login(&app, "203.0.113.7", "dave", PASSWORD).await).await;
    // The user is fine from elsewhere; the proxy's own address is not what is counted.
    assert_eq!(
        login(&app, "203.0.113.8", "dave", PASSWORD).await.status(),
        200
    );
}

#[tokio::test]
async fn a_forwarded_for_header_from_an_untrusted_peer_is_ignored() {
    // No trusted proxies: every request counts against the peer, 127.0.0.1, whatever
    // address it claims.
    let app = spawn_app_with(|s| s.login.max_failures = 3).await;
    for (n, user) in ["u1", "u2", "u3"].iter().enumerate() {
        let response = login(&app, &format!("192.0.2.{n}"), user, WRONG).await;
        assert_eq!(response.status(), 400);
    }
    assert_throttled(login(&app, "192.0.2.200", "u4", WRONG).await).await;
}

#[tokio::test]
async fn concurrent_guesses_cannot_slip_past_the_limit() {
    let app = behind_a_proxy(5).await;
    app.add_user("alice", PASSWORD, &[]).await;
    let guesses = (0..20).map(|n| {
        let app = &app;
        async move { login(app, &format!("198.51.100.{n}"), "alice", WRONG).await }
    });
    let responses = futures_util::future::join_all(guesses).await;
    let mut checked = 0;
    for response in responses {
        match response.status().as_u16() {
            400 => checked += 1,
            429 => {
                assert!(response.headers().contains_key("retry-after"));
            }
            other => panic!("unexpected status {other}"),
        }
    }
    assert!((1..=5).contains(&checked), "{checked} guesses were checked");
    assert_throttled(login(&app, "198.51.100.99", "alice", PASSWORD).await).await;
}

#[tokio::test]
async fn instances_share_the_count_through_redis() {
    if test_redis_url().is_none() {
        // Without Redis each instance counts alone (documented); CI runs this with Redis.
        return;
    }
    let app = behind_a_proxy(3).await;
    app.add_user("alice", PASSWORD, &[]).await;
    let sibling = app.sibling().await;
    for n in 0..3 {
        login(&app, &format!("198.51.100.{n}"), "alice", WRONG).await;
    }
    assert_throttled(login_from(&app, &sibling.address, "198.51.100.50", "alice", PASSWORD).await)
        .await;
}
