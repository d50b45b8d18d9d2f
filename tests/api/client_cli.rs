//! `authd client add | list | remove` (spec §1): secrets read from stdin or generated and
//! printed once, one-line errors, and removal that ends the client's sessions and tokens.

use serde_json::Value;

use crate::cli::{assert_one_line_error, stderr, stdout};
use crate::helpers::{assert_oauth_error, spawn_app, within_five_seconds, TestApp, PASSWORD};

async fn client_token(app: &TestApp, id: &str, secret: &str) -> reqwest::Response {
    app.post_form_basic(
        "/auth/token",
        (id, secret),
        &[("grant_type", "client_credentials")],
    )
    .await
}

#[tokio::test]
async fn a_generated_secret_is_printed_once_and_works_for_client_credentials() {
    let app = spawn_app().await;
    let output = app.cli(
        &[
            "client",
            "add",
            "backend",
            "--generate-secret",
            "--audience",
            "api",
            "--audience",
            "billing",
            "--scope",
            "read",
            "--scope",
            "write",
            "--default-scope",
            "read",
        ],
        None,
    );
    assert!(output.status.success(), "{}", stderr(&output));
    assert!(
        output.stderr.is_empty(),
        "no log lines: {}",
        stderr(&output)
    );
    let out = stdout(&output);
    let secret = out
        .lines()
        .find_map(|l| l.strip_prefix("client_secret: "))
        .unwrap_or_else(|| panic!("no secret printed: {out}"))
        .to_owned();
    assert!(
        secret.starts_with("authd_cs_") && secret.len() >= 43,
        "{secret}"
    );

    let body: Value = client_token(&app, "backend", &secret)
        .await
        .json()
        .await
        .unwrap();
    let claims = crate::helpers::segment(body["access_token"].as_str().unwrap(), 1);
    assert_eq!(claims["sub"], "backend");
    assert_eq!(claims["aud"], serde_json::json!(["api", "billing"]));
    assert_eq!(claims["scope"], "read", "the default scope");

    // Listed with its settings, never with its secret or digest.
    let list = app.cli(&["client", "list"], None);
    assert!(list.status.success(), "{}", stderr(&list));
    let listed = stdout(&list);
    let line = listed
        .lines()
        .find(|l| l.starts_with("backend\t"))
        .unwrap_or_else(|| panic!("backend not listed: {listed}"));
    for part in [
        "confidential",
        "grants=client_credentials",
        "audience=api,billing",
        "scopes=read,write",
        "default_scopes=read",
    ] {
        assert!(line.contains(part), "{line} lacks {part}");
    }
    assert!(!listed.contains(&secret) && !listed.contains(&secret[9..]));
    assert!(
        listed
            .lines()
            .any(|l| l.starts_with("app\tpublic\tgrants=password,refresh_token")),
        "the configured default client is listed: {listed}"
    );
}

#[tokio::test]
async fn a_secret_from_stdin_must_be_long_enough_and_loses_its_line_ending() {
    let app = spawn_app().await;
    let short = app.cli(
        &["client", "add", "job", "--secret-stdin"],
        Some("too-short-secret\n"),
    );
    assert_one_line_error(&short, 1, "at least 32 characters");

    let secret = "s3cr3t-for-the-nightly-job-0123456789";
    let output = app.cli(
        &[
            "client",
            "add",
            "job",
            "--secret-stdin",
            "--audience",
            "api",
        ],
        Some(&format!("{secret}\r\n")),
    );
    assert!(output.status.success(), "{}", stderr(&output));
    assert!(
        !stdout(&output).contains(secret),
        "a given secret is not echoed"
    );
    assert_eq!(client_token(&app, "job", secret).await.status(), 200);
    assert_eq!(
        client_token(&app, "job", &format!("{secret}\r"))
            .await
            .status(),
        401
    );
}

#[tokio::test]
async fn client_add_refuses_what_cannot_work_with_one_line() {
    let app = spawn_app().await;
    let cases: [(&[&str], i32, &str); 7] = [
        (
            &["client", "add", "pub", "--grant", "client_credentials"],
            1,
            "confidential",
        ),
        (
            &["client", "add", "x", "--grant", "implicit"],
            2,
            "invalid value 'implicit'",
        ),
        (&["client", "add", "app"], 1, "default client"),
        (
            &["client", "add", "x", "--audience", "two words"],
            1,
            "audience",
        ),
        (
            &["client", "add", "x", "--scope", "a", "--default-scope", "b"],
            1,
            "--default-scope",
        ),
        (
            &["client", "add", "x", "--secret-stdin", "--generate-secret"],
            2,
            "cannot be used with",
        ),
        (&["client", "remove", "nobody"], 1, "no client named nobody"),
    ];
    for (args, code, needle) in cases {
        let output = app.cli(args, None);
        assert_one_line_error(&output, code, needle);
    }
    assert!(app.cli(&["client", "add", "twice"], None).status.success());
    assert_one_line_error(
        &app.cli(&["client", "add", "twice"], None),
        1,
        "already exists",
    );
}

#[tokio::test]
async fn removing_a_client_ends_its_sessions_tokens_and_authentication() {
    let app = spawn_app().await;
    app.add_user("alice", PASSWORD, &[]).await;
    let rs = app.add_client("rs", true, &[], &["rs"], "").await.unwrap();
    assert!(app
        .cli(&["client", "add", "mobile", "--audience", "api"], None)
        .status
        .success());
    let backend = app
        .add_client("backend", true, &["client_credentials"], &["api"], "")
        .await
        .unwrap();

    let login: Value = app
        .post_form(
            "/auth/token",
            &[
                ("grant_type", "password"),
                ("username", "alice"),
                ("password", PASSWORD),
                ("client_id", "mobile"),
            ],
        )
        .await
        .json()
        .await
        .unwrap();
    let user_token = login["access_token"].as_str().unwrap().to_owned();
    let refresh = login["refresh_token"].as_str().unwrap().to_owned();
    let cc: Value = client_token(&app, "backend", &backend)
        .await
        .json()
        .await
        .unwrap();
    let cc_token = cc["access_token"].as_str().unwrap().to_owned();
    assert_eq!(app.userinfo(&user_token).await.status(), 200);

    let output = app.cli(&["client", "remove", "mobile"], None);
    assert!(output.status.success(), "{}", stderr(&output));
    assert!(
        stdout(&output).contains("1 session(s) revoked"),
        "{}",
        stdout(&output)
    );
    assert!(app
        .cli(&["client", "remove", "backend"], None)
        .status
        .success());

    assert!(
        within_five_seconds(async || app.userinfo(&user_token).await.status() == 401).await,
        "the removed client's user token rejected not within 5 s"
    );
    let inactive = within_five_seconds(async || {
        let body: Value = app
            .post_form_basic("/auth/introspect", ("rs", &rs), &[("token", &cc_token)])
            .await
            .json()
            .await
            .unwrap();
        body["active"] == false
    })
    .await;
    assert!(
        inactive,
        "the removed client's client_credentials token inactive not within 5 s"
    );
    assert!(
        within_five_seconds(async || client_token(&app, "backend", &backend).await.status() == 401)
            .await,
        "the removed client no longer authenticates not within 5 s"
    );
    let response = app
        .post_form(
            "/auth/refresh",
            &[("refresh_token", &refresh), ("client_id", "mobile")],
        )
        .await;
    assert_oauth_error(response, 401, "invalid_client").await;
}
