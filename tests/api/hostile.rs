//! Hostile input (issue #6): deep or wide JSON, header floods, slow clients, bytes that
//! are not UTF-8. Each gets a 4xx (or the connection is closed), never a 5xx, and the
//! server keeps serving. Every response carries the security headers and no banner.

use std::time::{Duration, Instant};

use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::helpers::{b64, spawn_app, TestApp, PASSWORD};

/// The server still answers normally.
async fn assert_still_serving(app: &TestApp) {
    let response = app.client.get(app.url("/healthz")).send().await.unwrap();
    assert_eq!(response.status(), 200, "the server keeps serving");
}

async fn post_token_raw(app: &TestApp, content_type: &str, body: Vec<u8>) -> reqwest::Response {
    app.client
        .post(app.url("/auth/token"))
        .header("content-type", content_type)
        .body(body)
        .send()
        .await
        .unwrap()
}

/// Sends raw bytes on a new connection and reads until the server answers or closes
/// (bounded by `limit`). Returns what was read and how long it took.
async fn raw_exchange(app: &TestApp, request: &[u8], limit: Duration) -> (String, Duration) {
    let address = app.address.trim_start_matches("http://");
    let mut stream = TcpStream::connect(address).await.unwrap();
    let start = Instant::now();
    // The server may close before everything is written; that is an answer too.
    let _ = stream.write_all(request).await;
    let mut answer = Vec::new();
    let mut buf = [0u8; 4096];
    while start.elapsed() < limit {
        match tokio::time::timeout(limit - start.elapsed(), stream.read(&mut buf)).await {
            Ok(Ok(0)) | Ok(Err(_)) | Err(_) => break,
            Ok(Ok(n)) => {
                answer.extend_from_slice(&buf[..n]);
                if answer.windows(4).any(|w| w == b"\r\n\r\n") {
                    break;
                }
            }
        }
    }
    (
        String::from_utf8_lossy(&answer).into_owned(),
        start.elapsed(),
    )
}

fn status_of(raw: &str) -> Option<u16> {
    raw.strip_prefix("HTTP/1.1 ")?.get(..3)?.parse().ok()
}

#[tokio::test]
async fn deeply_nested_or_wide_json_is_a_400_not_a_crash() {
    let app = spawn_app().await;
    let deep = format!(
        r#"{{"username":"alice","password":"x","scope":{}{}}}"#,
        "[".repeat(8000),
        "]".repeat(8000)
    );
    let wide = format!(
        "{{{}\"username\":\"alice\"}}",
        (0..1000)
            .map(|i| format!("\"k{i}\":\"v\","))
            .collect::<String>()
    );
    let unterminated = format!(r#"{{"username":{}"#, "{\"a\":".repeat(3000));
    for (body, case) in [
        (deep, "8000 levels of arrays"),
        (wide, "1000 members"),
        (unterminated, "3000 unterminated objects"),
    ] {
        assert!(body.len() <= 16 * 1024, "{case} fits the body limit");
        let response = post_token_raw(&app, "application/json", body.into_bytes()).await;
        assert_eq!(response.status(), 400, "{case}");
        let error: Value = response.json().await.unwrap();
        assert_eq!(error["error"], "invalid_request", "{case}");
    }
    // The same in a token: a JOSE header nested 3000 deep is an invalid token.
    let header = b64(format!("{}{}", "[".repeat(3000), "]".repeat(3000)).as_bytes());
    let token = format!("{header}.{}.{}", b64(b"{}"), b64(b"sig"));
    assert_eq!(app.userinfo(&token).await.status(), 401);
    assert_eq!(app.introspect(&token).await["active"], false);
    assert_still_serving(&app).await;
}

#[tokio::test]
async fn header_floods_are_refused_with_a_4xx() {
    let app = spawn_app().await;
    let many: String = (0..300).map(|i| format!("X-Flood-{i}: v\r\n")).collect();
    let huge = format!("X-Huge: {}\r\n", "a".repeat(128 * 1024));
    for (headers, case) in [(many, "300 headers"), (huge, "a 128 KiB header")] {
        let request = format!("GET /healthz HTTP/1.1\r\nHost: x\r\n{headers}\r\n");
        let (answer, _) = raw_exchange(&app, request.as_bytes(), Duration::from_secs(10)).await;
        assert_eq!(status_of(&answer), Some(431), "{case}: {answer}");
    }
    assert_still_serving(&app).await;
}

#[tokio::test]
async fn a_client_that_never_finishes_its_headers_is_cut_off() {
    let app = spawn_app().await;
    let (answer, took) = raw_exchange(
        &app,
        b"POST /auth/token HTTP/1.1\r\nHost: x\r\nContent-Type: appl",
        Duration::from_secs(20),
    )
    .await;
    assert!(
        took < Duration::from_secs(20),
        "the server hung up or answered"
    );
    // actix-web's client_request_timeout (5 s): 408 and the connection closed.
    assert_eq!(status_of(&answer), Some(408), "{answer}");
    assert_still_serving(&app).await;
}

#[tokio::test]
async fn a_client_that_never_finishes_its_body_gets_a_400() {
    let app = spawn_app().await;
    let request = b"POST /auth/token HTTP/1.1\r\nHost: x\r\n\
        Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 100\r\n\r\n\
        grant_type=pass";
    let (answer, took) = raw_exchange(&app, request, Duration::from_secs(30)).await;
    assert!(
        took < Duration::from_secs(30),
        "the server answered: {answer}"
    );
    // The body read gives up after 10 s with the RFC 6749 error body.
    assert_eq!(status_of(&answer), Some(400), "{answer}");
    assert!(answer.contains(r#""error":"invalid_request""#), "{answer}");
    assert_still_serving(&app).await;
}

#[tokio::test]
async fn bytes_that_are_not_utf8_in_headers_get_a_4xx() {
    let app = spawn_app().await;
    let raw =
        b"GET /auth/userinfo HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer \xff\xfe\xfd\r\n\r\n";
    let (answer, _) = raw_exchange(&app, raw, Duration::from_secs(10)).await;
    assert_eq!(status_of(&answer), Some(401), "{answer}");
    let raw = b"POST /auth/token HTTP/1.1\r\nHost: x\r\nAuthorization: Basic \xff\xfe\r\n\
        Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 29\r\n\r\n\
        grant_type=client_credentials";
    let (answer, _) = raw_exchange(&app, raw, Duration::from_secs(10)).await;
    assert_eq!(status_of(&answer), Some(401), "{answer}");
    assert_still_serving(&app).await;
}

#[tokio::test]
async fn every_response_has_the_security_headers_and_no_server_banner() {
    let app = spawn_app().await;
    app.add_user("alice", PASSWORD, &[]).await;
    let token = app.login("alice", PASSWORD).await;
    let requests = [
        app.client.get(app.url("/healthz")),
        app.client.get(app.url("/.well-known/jwks.json")),
        app.client.get(app.url("/.well-known/openid-configuration")),
        app.client.get(app.url("/no-such-page")),
        app.client.delete(app.url("/auth/token")),
        app.client.get(app.url("/auth/userinfo")),
        app.client
            .get(app.url("/auth/userinfo"))
            .bearer_auth(&token),
        app.client
            .post(app.url("/auth/token"))
            .json(&serde_json::json!({"username": "alice", "password": PASSWORD})),
        app.client
            .post(app.url("/auth/token"))
            .json(&serde_json::json!({"username": "alice", "password": "wrong"})),
        app.client
            .post(app.url("/auth/token"))
            .header("content-type", "text/plain")
            .body("x"),
    ];
    for request in requests {
        let response = request.send().await.unwrap();
        let what = format!("{} {}", response.status(), response.url().path());
        let headers = response.headers();
        assert_eq!(headers["x-content-type-options"], "nosniff", "{what}");
        assert!(headers.get("server").is_none(), "{what}: no Server banner");
        assert!(headers.get("x-powered-by").is_none(), "{what}");
        if response.url().path().starts_with("/auth/") {
            assert_eq!(headers["cache-control"], "no-store", "{what}");
        }
        assert!(
            !response.status().is_server_error(),
            "{what} is not a server error"
        );
    }
}
