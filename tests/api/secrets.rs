//! Secrets never leak (issue #6): every flow runs with distinctive passwords, client
//! secrets and tokens through the real binary with debug-level JSON logs, and none of
//! them may appear in the logs, in any error body, or on the CLI's stderr.

use reqwest::Response;
use serde_json::{json, Value};

use crate::helpers::{spawn_app, ServeProcess};

const USER_PASSWORD: &str = "Secret-Pw-Narwhal-7731";
const WRONG_PASSWORD: &str = "Secret-Wrong-Okapi-2208";
const NEW_PASSWORD: &str = "Secret-New-Axolotl-5560";
const CLIENT_SECRET: &str = "Secret-Client-Pangolin-0123456789-abcdef";
const WRONG_CLIENT_SECRET: &str = "Secret-WrongClient-Tapir-0123456789-xyz";

/// What every response said, to search afterwards.
#[derive(Default)]
struct Transcript {
    error_bodies: Vec<(String, String)>,
}

impl Transcript {
    /// Records the body of a non-2xx response; returns the parsed JSON of any response.
    async fn record(&mut self, what: &str, response: Response) -> Value {
        let status = response.status();
        let text = response.text().await.unwrap();
        assert!(!status.is_server_error(), "{what}: {status} {text}");
        if !status.is_success() {
            self.error_bodies
                .push((format!("{what} ({status})"), text.clone()));
        }
        serde_json::from_str(&text).unwrap_or(Value::Null)
    }
}

#[tokio::test]
async fn no_password_secret_or_token_reaches_a_log_line_or_an_error_body() {
    let app = spawn_app().await;
    let mut cli_output = String::new();
    let mut cli = |args: &[&str], stdin: Option<&str>| {
        let output = app.cli(args, stdin);
        assert!(output.status.success(), "{args:?}: {output:?}");
        cli_output.push_str(&String::from_utf8_lossy(&output.stderr));
        String::from_utf8_lossy(&output.stdout).into_owned()
    };
    cli(
        &["user", "add", "erin", "--password-stdin"],
        Some(&format!("{USER_PASSWORD}\n")),
    );
    cli(
        &[
            "client",
            "add",
            "job",
            "--secret-stdin",
            "--grant",
            "client_credentials",
        ],
        Some(&format!("{CLIENT_SECRET}\n")),
    );
    let generated = cli(&["client", "add", "rs", "--generate-secret"], None);
    let generated = generated
        .lines()
        .find_map(|l| l.strip_prefix("client_secret: "))
        .unwrap()
        .to_owned();

    let server = ServeProcess::start(&app, &[("AUTHD__LOGIN__MAX_FAILURES", "3")]).await;
    let base = server.base.clone();
    let http = reqwest::Client::new();
    let url = |path: &str| format!("{base}{path}");
    let mut t = Transcript::default();

    // Password grant: right, wrong, malformed, duplicated.
    let pair = t
        .record(
            "login",
            http.post(url("/auth/token"))
                .json(&json!({"username": "erin", "password": USER_PASSWORD}))
                .send()
                .await
                .unwrap(),
        )
        .await;
    let (access, refresh) = (
        pair["access_token"].as_str().unwrap().to_owned(),
        pair["refresh_token"].as_str().unwrap().to_owned(),
    );
    t.record(
        "wrong password",
        http.post(url("/auth/token"))
            .form(&[
                ("grant_type", "password"),
                ("username", "erin"),
                ("password", WRONG_PASSWORD),
            ])
            .send()
            .await
            .unwrap(),
    )
    .await;
    t.record(
        "duplicate password member",
        http.post(url("/auth/token"))
            .header("content-type", "application/json")
            .body(format!(
                r#"{{"username":"erin","password":"{WRONG_PASSWORD}","password":"{USER_PASSWORD}"}}"#
            ))
            .send()
            .await
            .unwrap(),
    )
    .await;
    t.record(
        "password as a number",
        http.post(url("/auth/token"))
            .header("content-type", "application/json")
            .body(format!(
                r#"{{"username":"erin","password":{{"x":"{WRONG_PASSWORD}"}}}}"#
            ))
            .send()
            .await
            .unwrap(),
    )
    .await;

    // Client authentication: right and wrong secrets, both methods.
    let cc = t
        .record(
            "client_credentials",
            http.post(url("/auth/token"))
                .basic_auth("job", Some(CLIENT_SECRET))
                .form(&[("grant_type", "client_credentials")])
                .send()
                .await
                .unwrap(),
        )
        .await;
    let client_token = cc["access_token"].as_str().unwrap().to_owned();
    t.record(
        "wrong client secret (basic)",
        http.post(url("/auth/token"))
            .basic_auth("job", Some(WRONG_CLIENT_SECRET))
            .form(&[("grant_type", "client_credentials")])
            .send()
            .await
            .unwrap(),
    )
    .await;
    t.record(
        "wrong client secret (post)",
        http.post(url("/auth/token"))
            .form(&[
                ("grant_type", "client_credentials"),
                ("client_id", "job"),
                ("client_secret", WRONG_CLIENT_SECRET),
            ])
            .send()
            .await
            .unwrap(),
    )
    .await;

    // Refresh, then reuse of the consumed token.
    let next = t
        .record(
            "refresh",
            http.post(url("/auth/refresh"))
                .json(&json!({"refresh_token": refresh}))
                .send()
                .await
                .unwrap(),
        )
        .await;
    let (access2, refresh2) = (
        next["access_token"].as_str().unwrap().to_owned(),
        next["refresh_token"].as_str().unwrap().to_owned(),
    );
    t.record(
        "refresh token reuse",
        http.post(url("/auth/refresh"))
            .json(&json!({"refresh_token": refresh}))
            .send()
            .await
            .unwrap(),
    )
    .await;

    // Tokens presented where they are checked.
    for (what, token) in [
        ("userinfo with a revoked token", access.clone()),
        ("userinfo with a mangled token", format!("{access2}x")),
        ("userinfo with a refresh token", refresh2.clone()),
        ("userinfo with a client token", client_token.clone()),
    ] {
        t.record(
            what,
            http.get(url("/auth/userinfo"))
                .bearer_auth(&token)
                .send()
                .await
                .unwrap(),
        )
        .await;
    }
    for token in [&access2, &refresh2, &client_token] {
        t.record(
            "introspection",
            http.post(url("/auth/introspect"))
                .basic_auth("rs", Some(&generated))
                .form(&[("token", token.as_str())])
                .send()
                .await
                .unwrap(),
        )
        .await;
        t.record(
            "revocation",
            http.post(url("/auth/revoke"))
                .basic_auth("job", Some(CLIENT_SECRET))
                .form(&[("token", token.as_str())])
                .send()
                .await
                .unwrap(),
        )
        .await;
    }
    t.record(
        "logout",
        http.post(url("/auth/logout"))
            .bearer_auth(&access2)
            .send()
            .await
            .unwrap(),
    )
    .await;

    // Throttled logins, then a password change and a login with the new password.
    for _ in 0..4 {
        t.record(
            "throttled",
            http.post(url("/auth/token"))
                .json(&json!({"username": "erin", "password": WRONG_PASSWORD}))
                .send()
                .await
                .unwrap(),
        )
        .await;
    }
    cli(
        &["user", "passwd", "erin", "--password-stdin"],
        Some(&format!("{NEW_PASSWORD}\n")),
    );
    let (status, logs) = server.stop().await;
    assert!(status.success());
    assert!(
        logs.contains("refresh_token_reuse") && logs.contains("login_throttled"),
        "the security events themselves are logged"
    );

    let signature = |token: &str| token.rsplit('.').next().unwrap().to_owned();
    let secrets = [
        USER_PASSWORD.to_owned(),
        WRONG_PASSWORD.to_owned(),
        NEW_PASSWORD.to_owned(),
        CLIENT_SECRET.to_owned(),
        WRONG_CLIENT_SECRET.to_owned(),
        generated.clone(),
        access.clone(),
        signature(&access),
        access2.clone(),
        signature(&access2),
        client_token.clone(),
        signature(&client_token),
        refresh.clone(),
        refresh2.clone(),
        "$argon2".to_owned(),
        "PRIVATE KEY".to_owned(),
    ];
    assert!(t.error_bodies.len() >= 12, "the error paths were exercised");
    for secret in &secrets {
        assert!(
            !logs.contains(secret.as_str()),
            "the server log leaks {secret:?}"
        );
        assert!(
            !cli_output.contains(secret.as_str()),
            "the CLI's stderr leaks {secret:?}"
        );
        for (what, body) in &t.error_bodies {
            assert!(
                !body.contains(secret.as_str()),
                "{what} leaks {secret:?}: {body}"
            );
        }
    }
}
