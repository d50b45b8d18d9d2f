//! The `authd` binary: user commands, exit codes, one-line errors, config, shutdown.

use crate::helpers::{run_cli, spawn_app, ServeProcess, PASSWORD};

pub fn stderr(output: &std::process::Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

pub fn stdout(output: &std::process::Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

pub fn assert_one_line_error(output: &std::process::Output, code: i32, needle: &str) {
    assert_eq!(
        output.status.code(),
        Some(code),
        "stderr: {}",
        stderr(output)
    );
    let err = stderr(output);
    assert_eq!(
        err.trim_end().lines().count(),
        1,
        "exactly one line: {err:?}"
    );
    assert!(err.contains(needle), "{err:?} should mention {needle:?}");
    assert!(
        !err.contains("panicked") && !err.contains("backtrace"),
        "{err}"
    );
}

#[tokio::test]
async fn a_user_added_from_the_cli_can_log_in_with_their_roles() {
    let app = spawn_app().await;
    let output = app.cli(
        &[
            "user",
            "add",
            "Carol",
            "--role",
            "admin",
            "--role",
            "ops",
            "--password-stdin",
        ],
        Some(&format!("{PASSWORD}\n")),
    );
    assert!(output.status.success(), "{}", stderr(&output));
    assert!(output.stderr.is_empty(), "no log lines from user commands");
    let token = app.login("carol", PASSWORD).await;
    let body: serde_json::Value = app.userinfo(&token).await.json().await.unwrap();
    assert_eq!(body["roles"], serde_json::json!(["admin", "ops"]));
}

#[tokio::test]
async fn a_crlf_terminated_password_loses_only_its_line_ending() {
    let app = spawn_app().await;
    let output = app.cli(
        &["user", "add", "dave", "--password-stdin"],
        Some(&format!("{PASSWORD}\r\n")),
    );
    assert!(output.status.success(), "{}", stderr(&output));
    app.login("dave", PASSWORD).await;
}

#[tokio::test]
async fn adding_a_user_twice_is_a_one_line_runtime_error() {
    let app = spawn_app().await;
    app.add_user("carol", PASSWORD, &[]).await;
    let output = app.cli(
        &["user", "add", "CAROL", "--password-stdin"],
        Some(PASSWORD),
    );
    assert_one_line_error(&output, 1, "already exists");
}

#[tokio::test]
async fn usage_errors_exit_2_with_one_line() {
    let app = spawn_app().await;
    assert_one_line_error(
        &app.cli(&["user", "add", "carol"], Some(PASSWORD)),
        2,
        "--password-stdin",
    );
    assert_one_line_error(&app.cli(&["user", "frobnicate"], None), 2, "frobnicate");
    assert_one_line_error(&app.cli(&[], None), 2, "error");
}

#[tokio::test]
async fn weak_or_missing_passwords_and_bad_names_are_refused() {
    let app = spawn_app().await;
    assert_one_line_error(
        &app.cli(
            &["user", "add", "carol", "--password-stdin"],
            Some("short\n"),
        ),
        1,
        "at least 8",
    );
    assert_one_line_error(
        &app.cli(&["user", "add", "carol", "--password-stdin"], Some("")),
        1,
        "no password",
    );
    assert_one_line_error(
        &app.cli(
            &["user", "add", "bad name", "--password-stdin"],
            Some(PASSWORD),
        ),
        1,
        "username",
    );
    assert_one_line_error(
        &app.cli(
            &[
                "user",
                "add",
                "carol",
                "--role",
                "Admin!",
                "--password-stdin",
            ],
            Some(PASSWORD),
        ),
        1,
        "role",
    );
}

#[tokio::test]
async fn disabling_a_user_stops_their_logins_and_enabling_restores_them() {
    let app = spawn_app().await;
    app.add_user("carol", PASSWORD, &[]).await;
    assert!(app
        .cli(&["user", "disable", "carol"], None)
        .status
        .success());
    let refused = app
        .post_json(
            "/auth/token",
            &serde_json::json!({"username": "carol", "password": PASSWORD}),
        )
        .await;
    assert_eq!(refused.status(), 400);
    assert!(app.cli(&["user", "enable", "carol"], None).status.success());
    app.login("carol", PASSWORD).await;
    assert_one_line_error(
        &app.cli(&["user", "disable", "nobody"], None),
        1,
        "no user named nobody",
    );
}

#[tokio::test]
async fn passwd_replaces_the_password() {
    let app = spawn_app().await;
    app.add_user("carol", PASSWORD, &[]).await;
    let output = app.cli(
        &["user", "passwd", "carol", "--password-stdin"],
        Some("a brand new password\n"),
    );
    assert!(output.status.success(), "{}", stderr(&output));
    let old = app
        .post_json(
            "/auth/token",
            &serde_json::json!({"username": "carol", "password": PASSWORD}),
        )
        .await;
    assert_eq!(old.status(), 400);
    app.login("carol", "a brand new password").await;
    let user = app
        .store
        .user_by_username(&authd::domain::Username::parse("carol").unwrap())
        .await
        .unwrap()
        .unwrap();
    assert!(user.password_changed_at > user.created_at);
}

#[tokio::test]
async fn user_list_shows_one_line_per_user_and_never_a_hash() {
    let app = spawn_app().await;
    let alice = app.add_user("alice", PASSWORD, &["admin"]).await;
    app.add_user("bob", PASSWORD, &[]).await;
    let output = app.cli(&["user", "list"], None);
    assert!(output.status.success());
    let stdout = String::from_utf8(output.stdout).unwrap();
    assert_eq!(stdout.lines().count(), 2);
    assert!(stdout.contains(&alice.id.to_string()) && stdout.contains("admin"));
    assert!(!stdout.contains("$argon2"), "no hash: {stdout}");
}

#[tokio::test]
async fn invalid_configuration_stops_with_one_line_naming_the_setting() {
    let app = spawn_app().await;
    let db = app.db.url.clone();
    for (key, value, needle) in [
        ("AUTHD__TOKENS__LEEWAY", "61s", "tokens.leeway"),
        (
            "AUTHD__TOKENS__ACCESS_TTL",
            "ten minutes",
            "tokens.access_ttl",
        ),
        ("AUTHD__KEYS__ALGORITHM", "HS256", "keys.algorithm"),
        ("AUTHD__PASSWORD__ITERATIONS", "many", "password.iterations"),
        ("AUTHD__SERVER__ISSUER", "ftp://x", "server.issuer"),
        ("AUTHD__REDIS__URL", "http://x", "redis.url"),
        // A key must be published (by every instance) before it signs ...
        ("AUTHD__KEYS__PREPUBLISH", "10s", "keys.prepublish"),
        // ... and must sign for a while before the next takes over.
        ("AUTHD__KEYS__ROTATE_EVERY", "1h", "keys.rotate_every"),
    ] {
        let output = run_cli(&db, &app.keys_dir, &["migrate"], None, &[(key, value)]);
        assert_one_line_error(&output, 1, needle);
    }
    let output = run_cli("mysql://x/y", &app.keys_dir, &["migrate"], None, &[]);
    assert_one_line_error(&output, 1, "database.url");
}

#[tokio::test]
async fn a_config_file_overrides_the_defaults_and_the_environment_overrides_it() {
    let app = spawn_app().await;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("authd.toml");
    std::fs::write(&file, "[tokens]\nleeway = \"90s\"\n").unwrap();
    let path = file.to_str().unwrap();
    // The file's value applies (and is out of range)...
    assert_one_line_error(
        &run_cli(
            &app.db.url,
            &app.keys_dir,
            &["--config", path, "migrate"],
            None,
            &[],
        ),
        1,
        "tokens.leeway",
    );
    // ...unless the environment overrides it.
    let output = run_cli(
        &app.db.url,
        &app.keys_dir,
        &["--config", path, "migrate"],
        None,
        &[("AUTHD__TOKENS__LEEWAY", "10s")],
    );
    assert!(output.status.success(), "{}", stderr(&output));
    assert_one_line_error(
        &run_cli(
            &app.db.url,
            &app.keys_dir,
            &["--config", "/nonexistent.toml", "migrate"],
            None,
            &[],
        ),
        1,
        "--config",
    );
}

#[tokio::test]
async fn serve_refuses_a_key_directory_open_to_others() {
    use std::os::unix::fs::PermissionsExt;
    let app = spawn_app().await;
    std::fs::set_permissions(&app.keys_dir, std::fs::Permissions::from_mode(0o755)).unwrap();
    let output = run_cli(
        &app.db.url,
        &app.keys_dir,
        &["serve"],
        None,
        &[
            ("AUTHD__SERVER__BIND", "127.0.0.1:0"),
            ("AUTHD__LOG__FORMAT", "json"),
        ],
    );
    assert_eq!(output.status.code(), Some(1));
    let err = stderr(&output);
    assert!(err.contains("chmod 700"), "{err}");
    std::fs::set_permissions(&app.keys_dir, std::fs::Permissions::from_mode(0o700)).unwrap();
}

#[tokio::test]
async fn serve_logs_json_without_secrets_and_stops_gracefully_on_sigterm() {
    let app = spawn_app().await;
    let secret_password = "Quokka-Zebra-Unique-Secret-4431";
    app.add_user("carol", secret_password, &[]).await;
    let server = ServeProcess::start(&app, &[]).await;
    let base = server.base.clone();

    // Every flow this server has, with values that must never reach a log line.
    let client = reqwest::Client::new();
    let login = serde_json::json!({"username": "carol", "password": secret_password});
    let body: serde_json::Value = client
        .post(format!("{base}/auth/token"))
        .json(&login)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let token = body["access_token"].as_str().unwrap().to_owned();
    let wrong = serde_json::json!({"username": "carol", "password": "Wrong-Secret-Walrus-9917"});
    client
        .post(format!("{base}/auth/token"))
        .json(&wrong)
        .send()
        .await
        .unwrap();
    client
        .get(format!("{base}/auth/userinfo"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    client
        .get(format!("{base}/auth/userinfo"))
        .bearer_auth(format!("{token}x"))
        .send()
        .await
        .unwrap();

    let (status, logs) = server.stop().await;
    assert!(status.success(), "exit status {status}");
    assert!(
        logs.lines()
            .all(|l| serde_json::from_str::<serde_json::Value>(l).is_ok()),
        "JSON logs: {logs}"
    );
    assert!(logs.contains("authd stopped"));
    assert!(
        logs.contains("request_id"),
        "requests are logged with their id"
    );
    let signature = token.rsplit('.').next().unwrap();
    for secret in [
        secret_password,
        "Wrong-Secret-Walrus-9917",
        token.as_str(),
        signature,
        "$argon2",
        "PRIVATE KEY",
    ] {
        assert!(!logs.contains(secret), "the logs leak {secret:?}");
    }
}

/// Spec §1: an invalid value for an option is a usage error (exit 2, one line naming the
/// choices), caught before anything runs; every listed value is taken.
#[tokio::test]
async fn every_enumerated_option_takes_each_of_its_values_and_refuses_others_with_exit_2() {
    use authd::audit::EventKind;
    use authd::domain::GrantType;
    use authd::keys::Algorithm;

    let app = spawn_app().await;
    let mut accepted: Vec<Vec<String>> = Vec::new();
    for alg in Algorithm::ALL {
        accepted.push(vec![
            "keys".into(),
            "rotate".into(),
            "--alg".into(),
            alg.as_str().into(),
            "--now".into(),
        ]);
    }
    for grant in GrantType::ALL {
        let id = format!("c-{}", grant.as_str().replace('_', "-"));
        accepted.push(vec![
            "client".into(),
            "add".into(),
            id,
            "--generate-secret".into(),
            "--grant".into(),
            grant.as_str().into(),
        ]);
    }
    for kind in EventKind::ALL {
        accepted.push(vec![
            "audit".into(),
            "list".into(),
            "--event".into(),
            kind.as_str().into(),
        ]);
    }
    for args in &accepted {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let output = app.cli(&args, None);
        assert_eq!(
            output.status.code(),
            Some(0),
            "{args:?}: {}",
            stderr(&output)
        );
    }
    let listed = stdout(&app.cli(&["client", "list"], None));
    for grant in GrantType::ALL {
        assert!(
            listed.contains(&format!("grants={}", grant.as_str())),
            "{listed}"
        );
    }

    let refused: [(&[&str], &str); 9] = [
        (&["keys", "rotate", "--alg", "HS256"], "ES256, RS256"),
        (&["keys", "rotate", "--alg", "es256"], "ES256, RS256"),
        (&["keys", "rotate", "--alg", "none"], "ES256, RS256"),
        (&["keys", "rotate", "--alg", ""], "--alg"),
        (
            &["client", "add", "x", "--grant", "implicit"],
            "client_credentials",
        ),
        (
            &["client", "add", "x", "--grant", "Password"],
            "client_credentials",
        ),
        (
            &["client", "add", "x", "--grant", "authorization_code"],
            "--grant",
        ),
        (&["audit", "list", "--event", "login"], "login_succeeded"),
        (&["audit", "list", "--limit", "0"], "--limit"),
    ];
    for (args, needle) in refused {
        assert_one_line_error(&app.cli(args, None), 2, needle);
    }
    // Nothing ran: no client x, and the ring still has exactly the keys made above.
    assert!(!stdout(&app.cli(&["client", "list"], None)).contains("x\t"));
    let keys = stdout(&app.cli(&["keys", "list"], None));
    assert_eq!(keys.lines().count(), 3, "{keys}");
}
