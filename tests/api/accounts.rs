//! The user-management service through its CLI door (admin-api.md §2 and §4): profile
//! members, NDJSON import of password hashes, deleting a user; and the service called
//! directly as an admin-API caller would.

use std::io::Write;
use std::sync::Arc;

use async_trait::async_trait;
use authd::accounts::{Accounts, Actor, AuditSink, Hashing};
use authd::audit::{AuditEvent, AuditQuery, EventKind};
use authd::domain::{ClientId, Username};
use authd::store::Store;

use crate::cli::{assert_one_line_error, stderr, stdout};
use crate::helpers::{spawn_app, within_five_seconds, TestApp, PASSWORD};

fn bcrypt_of(password: &str) -> String {
    bcrypt::hash_with_salt(password, 4, *b"sixteen byte slt")
        .unwrap()
        .format_for_version(bcrypt::Version::TwoB)
}

/// An argon2id hash under other parameters than the app's, as another system made it.
async fn foreign_argon2id(app: &TestApp, password: &str) -> String {
    let mut other = app.settings.password.clone();
    other.memory_kib = 2048;
    authd::auth::hash_password(&other, authd::domain::Password::parse(password).unwrap())
        .await
        .unwrap()
        .0
}

async fn stored(app: &TestApp, name: &str) -> Option<authd::store::User> {
    app.store
        .user_by_username(&Username::parse(name).unwrap())
        .await
        .unwrap()
}

fn ndjson(lines: &[String]) -> tempfile::NamedTempFile {
    let mut file = tempfile::NamedTempFile::new().unwrap();
    for line in lines {
        writeln!(file, "{line}").unwrap();
    }
    file
}

#[tokio::test]
async fn profile_members_round_trip_through_user_add_and_list() {
    let app = spawn_app().await;
    let output = app.cli(
        &[
            "user",
            "add",
            "jane",
            "--role",
            "ops",
            "--email",
            "Jane.Doe@Example.COM",
            "--email-verified",
            "--name",
            "Jane van Doe",
            "--given-name",
            "Jane",
            "--family-name",
            "van Doe",
            "--password-stdin",
        ],
        Some(&format!("{PASSWORD}\n")),
    );
    assert!(output.status.success(), "{}", stderr(&output));
    app.add_user("bob", PASSWORD, &[]).await;

    let listed = stdout(&app.cli(&["user", "list"], None));
    let jane: Vec<&str> = listed
        .lines()
        .find(|l| l.contains("\tjane\t"))
        .unwrap()
        .split('\t')
        .collect();
    let user = stored(&app, "jane").await.unwrap();
    // The first five columns are where they always were; the profile follows.
    assert_eq!(
        jane[..4],
        [user.id.to_string().as_str(), "jane", "enabled", "roles=ops"]
    );
    assert!(jane[4].starts_with("created="));
    assert_eq!(
        jane[5..],
        [
            "email=Jane.Doe@example.com",
            "email_verified=true",
            "name=Jane van Doe",
            "given_name=Jane",
            "family_name=van Doe",
        ]
    );
    let bob = listed.lines().find(|l| l.contains("\tbob\t")).unwrap();
    assert!(
        bob.ends_with("\temail=\temail_verified=false\tname=\tgiven_name=\tfamily_name="),
        "{bob}"
    );
    assert_eq!(user.email.as_deref(), Some("Jane.Doe@example.com"));
    assert!(user.email_verified);
    assert_eq!(user.family_name.as_deref(), Some("van Doe"));
    app.login("jane", PASSWORD).await;
}

#[tokio::test]
async fn a_malformed_email_or_name_is_a_usage_error_and_creates_nothing() {
    let app = spawn_app().await;
    for (args, needle) in [
        (&["--email", "jane"][..], "@"),
        (&["--email", "jane doe@example.com"][..], "spaces"),
        (&["--email", "a@b@c"][..], "@"),
        (
            &["--email", &format!("{}@example.com", "x".repeat(65))][..],
            "64",
        ),
        (&["--name", "Jane\tDoe"][..], "control"),
        (&["--given-name", " "][..], "given name"),
        // --email-verified says something about an address: without one it is a mistake.
        (&["--email-verified"][..], "--email"),
    ] {
        let mut all = vec!["user", "add", "jane"];
        all.extend_from_slice(args);
        all.push("--password-stdin");
        assert_one_line_error(&app.cli(&all, Some(PASSWORD)), 2, needle);
    }
    assert!(stored(&app, "jane").await.is_none());
}

#[tokio::test]
async fn an_import_creates_the_good_lines_and_names_each_bad_one_by_its_line() {
    let app = spawn_app().await;
    app.add_user("alice", PASSWORD, &[]).await;
    let bcrypt = bcrypt_of(PASSWORD);
    let argon2 = foreign_argon2id(&app, PASSWORD).await;
    // Same format, but a cost over the bound (14): refused before anything runs.
    let costly = bcrypt.replacen("$2b$04$", "$2b$15$", 1);
    let plaintext = "Plain-Text-Password-9931";
    let lines = vec![
        serde_json::json!({"username": "bea", "password_hash": bcrypt, "email": "bea@example.com",
            "email_verified": true, "given_name": "Bea", "family_name": "Stone", "name": "Bea Stone"})
        .to_string(),
        serde_json::json!({"username": "ari", "password_hash": argon2, "roles": ["ops"]}).to_string(),
        serde_json::json!({"username": "pam", "password": plaintext}).to_string(),
        serde_json::json!({"username": "uma", "password_hash": bcrypt, "is_admin": true}).to_string(),
        serde_json::json!({"username": "ALICE", "password_hash": bcrypt}).to_string(),
        String::new(),
        serde_json::json!({"username": "hal", "password_hash": "$md5$abc"}).to_string(),
        serde_json::json!({"username": "cos", "password_hash": costly}).to_string(),
        r#"{"username": "jo", "password_hash": "#.to_owned(),
        serde_json::json!({"username": "dee", "password_hash": bcrypt, "disabled": true}).to_string(),
    ];
    let file = ndjson(&lines);

    let output = app.cli(&["user", "import", file.path().to_str().unwrap()], None);

    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
    assert_eq!(stdout(&output), "created 3 user(s)\n");
    let err = stderr(&output);
    let reported: Vec<&str> = err.lines().collect();
    assert_eq!(reported.len(), 7, "{err}");
    for (line, needle) in [
        (3, "plaintext password is refused"),
        (4, "unknown member \"is_admin\""),
        (5, "user alice already exists"),
        (7, "password_hash must be"),
        (8, "cost"),
        (9, "not valid JSON"),
    ] {
        assert!(
            reported
                .iter()
                .any(|l| l.starts_with(&format!("line {line}: ")) && l.contains(needle)),
            "line {line} should say {needle:?}: {err}"
        );
    }
    assert!(reported[6].starts_with("error: 6 line(s) refused"), "{err}");
    for secret in [plaintext, bcrypt.as_str(), argon2.as_str(), costly.as_str()] {
        assert!(!err.contains(secret) && !stdout(&output).contains(secret));
    }
    for refused in ["pam", "uma", "hal", "cos", "jo"] {
        assert!(stored(&app, refused).await.is_none(), "{refused}");
    }

    // The imported users log in with their old passwords, which rehashes them.
    let bea = stored(&app, "bea").await.unwrap();
    assert_eq!(
        (
            bea.email.as_deref(),
            bea.email_verified,
            bea.name.as_deref()
        ),
        (Some("bea@example.com"), true, Some("Bea Stone"))
    );
    for name in ["bea", "ari"] {
        app.login(name, PASSWORD).await;
        let hash = stored(&app, name).await.unwrap().password_hash.0;
        assert!(hash.starts_with("$argon2id$v=19$m=1024,t=1,p=1$"), "{name}");
    }
    let token = app.login("ari", PASSWORD).await;
    let info: serde_json::Value = app.userinfo(&token).await.json().await.unwrap();
    assert_eq!(info["roles"], serde_json::json!(["ops"]));
    // Imported disabled: present, but no login.
    assert!(stored(&app, "dee").await.unwrap().disabled);
    let refused = app
        .post_json(
            "/auth/token",
            &serde_json::json!({"username": "dee", "password": PASSWORD}),
        )
        .await;
    assert_eq!(refused.status(), 400);

    let audit = stdout(&app.cli(&["audit", "list", "--event", "user_added"], None));
    assert_eq!(
        audit.matches("password_hash_imported").count(),
        3,
        "{audit}"
    );
}

#[tokio::test]
async fn an_import_without_bad_lines_exits_0_and_one_over_the_line_limit_creates_nothing() {
    let app = spawn_app().await;
    let bcrypt = bcrypt_of(PASSWORD);
    let good = ndjson(&[
        serde_json::json!({"username": "one", "password_hash": bcrypt}).to_string(),
        serde_json::json!({"username": "two", "password_hash": bcrypt}).to_string(),
    ]);
    let output = app.cli(&["user", "import", good.path().to_str().unwrap()], None);
    assert!(output.status.success(), "{}", stderr(&output));
    assert_eq!(stdout(&output), "created 2 user(s)\n");
    assert!(output.stderr.is_empty());

    let lines: Vec<String> = (0..10_001)
        .map(|i| {
            serde_json::json!({"username": format!("u{i}"), "password_hash": bcrypt}).to_string()
        })
        .collect();
    let big = ndjson(&lines);
    let output = app.cli(&["user", "import", big.path().to_str().unwrap()], None);
    assert_one_line_error(&output, 1, "more than 10000 lines");
    assert!(stored(&app, "u0").await.is_none());

    assert_one_line_error(
        &app.cli(&["user", "import", "/nonexistent.ndjson"], None),
        1,
        "/nonexistent.ndjson",
    );
}

#[tokio::test]
async fn deleting_a_user_revokes_their_tokens_and_frees_the_name_and_the_trail_keeps_the_id() {
    let app = spawn_app().await;
    let carol = app.add_user("carol", PASSWORD, &[]).await;
    let pair = app.login_pair("carol", PASSWORD).await;
    let token = pair["access_token"].as_str().unwrap();
    assert_eq!(app.userinfo(token).await.status(), 200);

    let output = app.cli(&["user", "delete", "carol"], None);

    assert!(output.status.success(), "{}", stderr(&output));
    assert_eq!(stdout(&output), "deleted carol; 1 session(s) revoked\n");
    assert!(
        within_five_seconds(async || app.userinfo(token).await.status() == 401).await,
        "the deleted user's access token still works"
    );
    let refresh = app.refresh(pair["refresh_token"].as_str().unwrap()).await;
    assert_eq!(refresh.status(), 400);
    // The name is free again, for someone new.
    let again = app.add_user("carol", PASSWORD, &[]).await;
    assert_ne!(again.id, carol.id);
    let trail = stdout(&app.cli(&["audit", "list", "--event", "user_deleted"], None));
    assert!(
        trail.contains(&carol.id.to_string()) && trail.contains("sessions_revoked=1"),
        "{trail}"
    );
    assert_one_line_error(
        &app.cli(&["user", "delete", "nobody"], None),
        1,
        "no user named nobody",
    );
}

/// Records straight into the store, as the server's `Audit` does.
struct StoreSink(Arc<dyn Store>);

#[async_trait]
impl AuditSink for StoreSink {
    async fn record(&self, event: AuditEvent) {
        self.0.record_audit(&event).await.unwrap();
    }
}

#[tokio::test]
async fn a_change_made_by_a_client_through_the_service_is_audited_with_that_client() {
    let app = spawn_app().await;
    app.add_user("carol", PASSWORD, &[]).await;
    let token = app.login("carol", PASSWORD).await;
    let accounts = Accounts::new(
        Arc::clone(&app.store),
        Hashing::OneShot(app.settings.password.clone()),
        Arc::new(StoreSink(Arc::clone(&app.store))),
        &app.settings,
    )
    .unwrap();
    let caller = Actor::Client(ClientId::parse("backoffice").unwrap());
    let carol = Username::parse("carol").unwrap();

    let revoked = accounts
        .set_disabled(&caller, &carol, true, chrono::Utc::now())
        .await
        .unwrap();

    assert_eq!(revoked, 1);
    assert!(within_five_seconds(async || app.userinfo(&token).await.status() == 401).await);
    let events = app
        .store
        .audit_events(&AuditQuery {
            since: None,
            user_id: None,
            event: Some(EventKind::UserDisabled),
            limit: 10,
        })
        .await
        .unwrap();
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].client_id.as_deref(), Some("backoffice"));
    assert_eq!(events[0].detail.as_deref(), Some("sessions_revoked=1"));
}
