//! POST /auth/token: the password grant, its response, and every bad-input case of spec §3.

use serde_json::{json, Value};
use uuid::Uuid;

use crate::helpers::{assert_oauth_error, segment, spawn_app, spawn_app_with, ISSUER, PASSWORD};

#[tokio::test]
async fn a_password_login_returns_a_bearer_token_with_the_full_claim_set() {
    let app = spawn_app().await;
    let user = app.add_user("alice", PASSWORD, &["admin", "billing"]).await;

    let response = app
        .post_json(
            "/auth/token",
            &json!({"grant_type": "password", "username": "alice", "password": PASSWORD}),
        )
        .await;

    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["cache-control"], "no-store");
    assert_eq!(response.headers()["pragma"], "no-cache");
    assert!(response.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("application/json"));
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["expires_in"], 600);
    assert!(body.get("scope").is_none(), "no scope when none granted");
    let token = body["access_token"].as_str().unwrap();
    assert!(
        token.len() < 1024,
        "a token stays under 1 KiB ({} bytes)",
        token.len()
    );

    let header = segment(token, 0);
    assert_eq!(header["alg"], "ES256");
    assert_eq!(header["typ"], "at+jwt");
    let (kid, _) = app.signing_key_pem();
    assert_eq!(header["kid"], kid.as_str());

    let claims = segment(token, 1);
    assert_eq!(claims["iss"], ISSUER);
    assert_eq!(claims["sub"], user.id.to_string());
    assert_eq!(claims["aud"], json!(["api"]));
    assert_eq!(claims["client_id"], "app");
    assert_eq!(claims["roles"], json!(["admin", "billing"]));
    let (exp, iat, nbf) = (
        claims["exp"].as_i64().unwrap(),
        claims["iat"].as_i64().unwrap(),
        claims["nbf"].as_i64().unwrap(),
    );
    assert_eq!(exp - iat, 600);
    assert_eq!(nbf, iat);
    let now = chrono::Utc::now().timestamp();
    assert!((now - iat).abs() < 60, "iat is now, in seconds");
    assert_eq!(
        Uuid::parse_str(claims["jti"].as_str().unwrap())
            .unwrap()
            .get_version_num(),
        4
    );
    assert!(Uuid::parse_str(claims["sid"].as_str().unwrap()).is_ok());
    assert!(claims.get("scope").is_none());
    let names: Vec<&String> = claims.as_object().unwrap().keys().collect();
    assert_eq!(names.len(), 10, "exactly the spec's claims: {names:?}");
    assert!(
        !token.contains("password") && !claims.to_string().contains("alice"),
        "no personal data"
    );
}

#[tokio::test]
async fn every_login_gets_a_fresh_jti_and_sid() {
    let app = spawn_app().await;
    app.add_user("alice", PASSWORD, &[]).await;
    let (a, b) = (
        app.login("alice", PASSWORD).await,
        app.login("alice", PASSWORD).await,
    );
    assert_ne!(segment(&a, 1)["jti"], segment(&b, 1)["jti"]);
    assert_ne!(segment(&a, 1)["sid"], segment(&b, 1)["sid"]);
}

#[tokio::test]
async fn a_form_body_works_like_json() {
    let app = spawn_app().await;
    app.add_user("alice", PASSWORD, &[]).await;
    let response = app
        .post_form(
            "/auth/token",
            &[
                ("grant_type", "password"),
                ("username", "alice"),
                ("password", PASSWORD),
                ("client_id", "app"),
            ],
        )
        .await;
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.unwrap();
    assert_eq!(
        segment(body["access_token"].as_str().unwrap(), 1)["client_id"],
        "app"
    );
}

#[tokio::test]
async fn a_json_body_without_grant_type_is_the_password_grant() {
    let app = spawn_app().await;
    app.add_user("alice", PASSWORD, &[]).await;
    let response = app
        .post_json(
            "/auth/token",
            &json!({"username": "alice", "password": PASSWORD}),
        )
        .await;
    assert_eq!(response.status(), 200);
}

#[tokio::test]
async fn usernames_are_matched_in_normalized_form() {
    let app = spawn_app().await;
    app.add_user("alice", PASSWORD, &[]).await;
    app.login("  ALICE ", PASSWORD).await;
}

#[tokio::test]
async fn wrong_password_unknown_user_and_disabled_user_get_byte_identical_bodies() {
    let app = spawn_app().await;
    app.add_user("alice", PASSWORD, &[]).await;
    app.add_user("bob", PASSWORD, &[]).await;
    app.disable_user("bob").await;

    let mut bodies = Vec::new();
    for (username, password) in [
        ("alice", "wrong password"),
        ("nobody", PASSWORD),
        ("bob", PASSWORD),
    ] {
        let response = app
            .post_json(
                "/auth/token",
                &json!({"username": username, "password": password}),
            )
            .await;
        assert_eq!(response.status(), 400, "{username}");
        bodies.push(response.bytes().await.unwrap());
    }
    assert_eq!(bodies[0], bodies[1], "wrong password vs unknown user");
    assert_eq!(bodies[0], bodies[2], "wrong password vs disabled user");
    let body: Value = serde_json::from_slice(&bodies[0]).unwrap();
    assert_eq!(body["error"], "invalid_grant");
}

#[tokio::test]
async fn requested_scopes_must_be_within_the_clients_scopes() {
    let app = spawn_app_with(|s| {
        s.default_client.scopes = authd::domain::Scopes::parse("read write").unwrap()
    })
    .await;
    app.add_user("alice", PASSWORD, &[]).await;

    let narrowed = app
        .post_json(
            "/auth/token",
            &json!({"username": "alice", "password": PASSWORD, "scope": "read"}),
        )
        .await;
    let body: Value = narrowed.json().await.unwrap();
    assert_eq!(body["scope"], "read");
    assert_eq!(
        segment(body["access_token"].as_str().unwrap(), 1)["scope"],
        "read"
    );

    let defaulted = app
        .post_json(
            "/auth/token",
            &json!({"username": "alice", "password": PASSWORD}),
        )
        .await;
    let body: Value = defaulted.json().await.unwrap();
    assert_eq!(body["scope"], "read write");

    let escalated = app
        .post_json(
            "/auth/token",
            &json!({"username": "alice", "password": PASSWORD, "scope": "read admin"}),
        )
        .await;
    assert_oauth_error(escalated, 400, "invalid_scope").await;
}

#[tokio::test]
async fn a_login_with_a_hash_under_older_parameters_rehashes_it() {
    let app = spawn_app_with(|s| s.password.memory_kib = 2048).await;
    // Hash with other parameters than the app's, as an older configuration would have.
    let mut old = app.settings.password.clone();
    old.memory_kib = 1024;
    let hash = authd::auth::hash_password(&old, authd::domain::Password::parse(PASSWORD).unwrap())
        .await
        .unwrap();
    let new = authd::store::NewUser {
        username: authd::domain::Username::parse("alice").unwrap(),
        password_hash: hash,
        roles: vec![],
        disabled: false,
        profile: authd::store::Profile::default(),
    };
    app.store
        .create_user(new, chrono::Utc::now())
        .await
        .unwrap();

    app.login("alice", PASSWORD).await;

    let user = app
        .store
        .user_by_username(&authd::domain::Username::parse("alice").unwrap())
        .await
        .unwrap()
        .unwrap();
    assert!(
        user.password_hash.0.contains("m=2048,t=1,p=1"),
        "rehashed under the current parameters"
    );
    app.login("alice", PASSWORD).await;
}

#[tokio::test]
async fn a_full_hashing_queue_gets_503_with_retry_after_not_a_pile_up() {
    // One worker, one queue slot, and an argon2 cost high enough that twenty
    // simultaneous logins cannot all be absorbed.
    // Login throttling would refuse most of twenty simultaneous attempts from one address
    // before they reach the pool (see throttle.rs); this test is about the pool.
    let app = spawn_app_with(|s| {
        s.password.memory_kib = 65536;
        s.password.iterations = 4;
        s.password.workers = 1;
        s.password.queue = 1;
        s.login.max_failures = 100;
    })
    .await;
    app.add_user("alice", PASSWORD, &[]).await;
    let body = json!({"username": "alice", "password": PASSWORD});
    let attempts = (0..20).map(|_| app.post_json("/auth/token", &body));
    let responses = futures_util::future::join_all(attempts).await;
    let mut busy = 0;
    for response in responses {
        match response.status().as_u16() {
            200 => {}
            503 => {
                busy += 1;
                assert!(response.headers().contains_key("retry-after"));
                assert_oauth_error(response, 503, "temporarily_unavailable").await;
            }
            other => panic!("unexpected status {other}"),
        }
    }
    assert!(busy > 0, "some logins were shed with 503");
}

/// One bad request and what it must get.
struct Case {
    name: &'static str,
    content_type: Option<&'static str>,
    body: Vec<u8>,
    status: u16,
    error: &'static str,
}

fn case(
    name: &'static str,
    content_type: &'static str,
    body: &str,
    status: u16,
    error: &'static str,
) -> Case {
    Case {
        name,
        content_type: Some(content_type),
        body: body.as_bytes().to_vec(),
        status,
        error,
    }
}

const FORM: &str = "application/x-www-form-urlencoded";
const JSON: &str = "application/json";

#[tokio::test]
async fn every_bad_input_gets_its_4xx_never_a_5xx() {
    let app = spawn_app().await;
    app.add_user("alice", PASSWORD, &[]).await;
    let long_name = "a".repeat(65);
    let long_password = "p".repeat(1025);
    let cases = vec![
        case(
            "form without grant_type",
            FORM,
            "username=alice&password=x",
            400,
            "invalid_request",
        ),
        case(
            "unknown grant_type",
            FORM,
            "grant_type=magic&username=alice&password=x",
            400,
            "unsupported_grant_type",
        ),
        case(
            "missing username",
            FORM,
            "grant_type=password&password=x",
            400,
            "invalid_request",
        ),
        case(
            "missing password",
            FORM,
            "grant_type=password&username=alice",
            400,
            "invalid_request",
        ),
        case(
            "empty value",
            FORM,
            "grant_type=password&username=&password=x",
            400,
            "invalid_request",
        ),
        case(
            "duplicate parameter",
            FORM,
            "grant_type=password&username=alice&username=bob&password=x",
            400,
            "invalid_request",
        ),
        case(
            "duplicate grant_type",
            FORM,
            "grant_type=password&grant_type=password&username=alice&password=x",
            400,
            "invalid_request",
        ),
        case(
            "non-UTF-8 form value",
            FORM,
            "grant_type=password&username=%FF%FE&password=x",
            400,
            "invalid_request",
        ),
        case(
            "duplicate JSON member",
            JSON,
            r#"{"username":"alice","username":"bob","password":"x"}"#,
            400,
            "invalid_request",
        ),
        case(
            "non-string JSON value",
            JSON,
            r#"{"username":"alice","password":123}"#,
            400,
            "invalid_request",
        ),
        case(
            "malformed JSON",
            JSON,
            r#"{"username":"alice","#,
            400,
            "invalid_request",
        ),
        case("JSON array", JSON, r#"["alice"]"#, 400, "invalid_request"),
        case(
            "JSON without credentials or grant_type",
            JSON,
            r#"{"username":"alice"}"#,
            400,
            "invalid_request",
        ),
        case(
            "deeply nested JSON",
            JSON,
            &("[".repeat(5000) + &"]".repeat(5000)),
            400,
            "invalid_request",
        ),
        case(
            "username too long",
            JSON,
            &format!(r#"{{"username":"{long_name}","password":"x"}}"#),
            400,
            "invalid_request",
        ),
        case(
            "password too long",
            JSON,
            &format!(r#"{{"username":"alice","password":"{long_password}"}}"#),
            400,
            "invalid_request",
        ),
        case(
            "unknown client_id",
            JSON,
            r#"{"username":"alice","password":"x","client_id":"other"}"#,
            401,
            "invalid_client",
        ),
        case(
            "a client secret from a public client",
            FORM,
            "grant_type=password&username=alice&password=x&client_secret=s",
            401,
            "invalid_client",
        ),
        case(
            "malformed scope",
            JSON,
            r#"{"username":"alice","password":"x","scope":"a\"b"}"#,
            400,
            "invalid_scope",
        ),
        case(
            "text/plain",
            "text/plain",
            "grant_type=password",
            415,
            "invalid_request",
        ),
        case(
            "multipart",
            "multipart/form-data; boundary=x",
            "--x--",
            415,
            "invalid_request",
        ),
        Case {
            name: "no content type",
            content_type: None,
            body: b"grant_type=password".to_vec(),
            status: 415,
            error: "invalid_request",
        },
        Case {
            name: "16385-byte body",
            content_type: Some(FORM),
            body: vec![b'a'; 16385],
            status: 413,
            error: "invalid_request",
        },
    ];
    for c in cases {
        let mut request = app.client.post(app.url("/auth/token")).body(c.body.clone());
        if let Some(ct) = c.content_type {
            request = request.header("content-type", ct);
        }
        let response = request.send().await.unwrap();
        assert_eq!(response.status(), c.status, "{}", c.name);
        if c.status == 401 {
            assert!(
                response.headers()["www-authenticate"]
                    .to_str()
                    .unwrap()
                    .starts_with("Basic"),
                "{}",
                c.name
            );
        }
        let body: Value = response
            .json()
            .await
            .unwrap_or_else(|_| panic!("{}: body is JSON", c.name));
        assert_eq!(body["error"], c.error, "{}: {body}", c.name);
        assert!(body["error_description"].is_string(), "{}", c.name);
    }
}

#[tokio::test]
async fn the_public_default_client_presenting_a_secret_fails_client_authentication() {
    let app = spawn_app().await;
    app.add_user("alice", PASSWORD, &[]).await;
    let response = app
        .client
        .post(app.url("/auth/token"))
        .basic_auth("app", Some("guess"))
        .form(&[
            ("grant_type", "password"),
            ("username", "alice"),
            ("password", PASSWORD),
        ])
        .send()
        .await
        .unwrap();
    assert!(response.headers()["www-authenticate"]
        .to_str()
        .unwrap()
        .starts_with("Basic"));
    assert_oauth_error(response, 401, "invalid_client").await;
}

#[tokio::test]
async fn an_oversized_body_without_content_length_gets_413() {
    let app = spawn_app().await;
    // A streamed body is sent chunked, with no Content-Length.
    let chunks: Vec<Result<Vec<u8>, std::io::Error>> =
        (0..17).map(|_| Ok(vec![b'a'; 1024])).collect();
    let body = reqwest::Body::wrap_stream(futures_util::stream::iter(chunks));
    let response = app
        .client
        .post(app.url("/auth/token"))
        .header("content-type", FORM)
        .body(body)
        .send()
        .await
        .unwrap();
    assert_oauth_error(response, 413, "invalid_request").await;
}

#[tokio::test]
async fn a_body_of_exactly_16384_bytes_is_read() {
    let app = spawn_app().await;
    let prefix = "grant_type=password&username=alice&password=";
    let body = format!("{prefix}{}", "p".repeat(16384 - prefix.len()));
    assert_eq!(body.len(), 16384);
    let response = app
        .client
        .post(app.url("/auth/token"))
        .header("content-type", FORM)
        .body(body)
        .send()
        .await
        .unwrap();
    // Read and parsed: the over-long password is the complaint, not the size.
    assert_oauth_error(response, 400, "invalid_request").await;
}

#[tokio::test]
async fn grants_that_are_not_supported_get_unsupported_grant_type() {
    let app = spawn_app().await;
    for grant in [
        "implicit",
        "authorization_code",
        "urn:ietf:params:oauth:grant-type:device_code",
    ] {
        let response = app
            .post_form(
                "/auth/token",
                &[("grant_type", grant), ("refresh_token", "x")],
            )
            .await;
        assert_oauth_error(response, 400, "unsupported_grant_type").await;
    }
}

#[tokio::test]
async fn other_methods_on_the_token_endpoint_are_refused_without_a_5xx() {
    let app = spawn_app().await;
    let response = app.client.get(app.url("/auth/token")).send().await.unwrap();
    assert!(response.status().is_client_error());
}
