//! The audit trail: every security event the server or the CLI carries out lands in
//! `audit_events` with who, when and from where, never a secret; `authd audit list`
//! reads it back with filters; old events are deleted after `audit.retention`.

use chrono::{Duration, Utc};
use serde_json::json;

use crate::cli::{assert_one_line_error, stdout};
use crate::helpers::{json_of, spawn_app, spawn_app_with, within_five_seconds, PASSWORD};
use authd::audit::{AuditEvent, AuditQuery, EventKind};

/// One `authd audit list` line, split into its nine columns.
#[derive(Debug)]
struct Line {
    event: String,
    user_id: String,
    username: String,
    client_id: String,
    sid: String,
    jti: String,
    source: String,
    detail: String,
}

fn lines(out: &str) -> Vec<Line> {
    out.lines()
        .map(|line| {
            let cols: Vec<&str> = line.split('\t').collect();
            assert_eq!(cols.len(), 9, "{line:?}");
            assert!(
                chrono::DateTime::parse_from_rfc3339(cols[0]).is_ok(),
                "{line:?}"
            );
            Line {
                event: cols[1].into(),
                user_id: cols[2].into(),
                username: cols[3].into(),
                client_id: cols[4].into(),
                sid: cols[5].into(),
                jti: cols[6].into(),
                source: cols[7].into(),
                detail: cols[8].into(),
            }
        })
        .collect()
}

fn find<'a>(all: &'a [Line], event: &str) -> Vec<&'a Line> {
    all.iter().filter(|l| l.event == event).collect()
}

#[tokio::test]
async fn every_security_event_is_recorded_with_who_and_where_and_never_a_secret() {
    let app = spawn_app_with(|s| s.login.max_failures = 2).await;
    let alice = app.add_user("alice", PASSWORD, &[]).await;
    let alice_id = alice.id.to_string();

    // Login, refresh, then reuse of the consumed token.
    let pair = app.login_pair("alice", PASSWORD).await;
    let first = pair["refresh_token"].as_str().unwrap();
    let sid = crate::helpers::segment(pair["access_token"].as_str().unwrap(), 1)["sid"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(app.refresh(first).await.status(), 200);
    assert_eq!(app.refresh(first).await.status(), 400);
    // Logout of a second session; RFC 7009 revocation of a third.
    let second = app.login_pair("alice", PASSWORD).await;
    let logout = app
        .client
        .post(app.url("/auth/logout"))
        .bearer_auth(second["access_token"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(logout.status(), 204);
    let third = app.login_pair("alice", PASSWORD).await;
    let revoke = app
        .post_form(
            "/auth/revoke",
            &[
                ("token", third["refresh_token"].as_str().unwrap()),
                ("client_id", "app"),
            ],
        )
        .await;
    assert_eq!(revoke.status(), 200);
    // Two failures from this address (a real user, and a name that is nobody's: it could
    // be a password typed in the wrong field), then the address is throttled.
    let typo = "tr0ub4dor.3-typed-as-a-name";
    for name in ["alice", typo] {
        let response = app
            .post_json(
                "/auth/token",
                &json!({"username": name, "password": "wrong password 12345"}),
            )
            .await;
        assert_eq!(response.status(), 400);
    }
    let throttled = app
        .post_json(
            "/auth/token",
            &json!({"username": "alice", "password": PASSWORD}),
        )
        .await;
    assert_eq!(throttled.status(), 429);

    // The CLI's changes.
    assert!(app
        .cli(
            &["user", "add", "bob", "--password-stdin"],
            Some("bob's password 1\n")
        )
        .status
        .success());
    assert!(app
        .cli(
            &["user", "passwd", "alice", "--password-stdin"],
            Some("new password 12345\n")
        )
        .status
        .success());
    assert!(app.cli(&["user", "disable", "bob"], None).status.success());
    assert!(app.cli(&["user", "enable", "bob"], None).status.success());
    let added = app.cli(&["client", "add", "svc", "--generate-secret"], None);
    assert!(added.status.success());
    let client_secret = stdout(&added)
        .lines()
        .find_map(|l| l.strip_prefix("client_secret: "))
        .unwrap()
        .to_owned();
    assert!(app.cli(&["client", "remove", "svc"], None).status.success());
    let old_kid = crate::helpers::segment(pair["access_token"].as_str().unwrap(), 0)["kid"]
        .as_str()
        .unwrap()
        .to_owned();
    let rotated = app.cli(&["keys", "rotate", "--now"], None);
    assert!(rotated.status.success());
    assert!(app
        .cli(&["keys", "remove", &old_kid], None)
        .status
        .success());

    let out = app.cli(&["audit", "list", "--limit", "1000"], None);
    assert!(out.status.success(), "{out:?}");
    let text = stdout(&out);
    let all = lines(&text);

    let logins = find(&all, "login_succeeded");
    assert_eq!(logins.len(), 3, "{text}");
    for login in &logins {
        assert_eq!(
            (login.user_id.as_str(), login.username.as_str()),
            (alice_id.as_str(), "alice")
        );
        assert_eq!(login.client_id, "app");
        assert_eq!(login.source, "127.0.0.1");
        assert_ne!(login.sid, "-");
        assert_ne!(login.jti, "-");
    }
    let reuse = find(&all, "refresh_reuse");
    assert_eq!(reuse.len(), 1, "{text}");
    assert_eq!(
        (reuse[0].sid.as_str(), reuse[0].user_id.as_str()),
        (sid.as_str(), alice_id.as_str())
    );
    assert_eq!(reuse[0].source, "127.0.0.1");
    let logout = find(&all, "logout");
    assert_eq!(logout.len(), 1, "{text}");
    assert_eq!(logout[0].user_id, alice_id);
    assert_ne!(logout[0].sid, "-");
    let revoked = find(&all, "token_revoked");
    assert_eq!(revoked.len(), 1, "{text}");
    assert_eq!(
        (revoked[0].detail.as_str(), revoked[0].client_id.as_str()),
        ("refresh_token", "app")
    );
    let failed = find(&all, "login_failed");
    assert_eq!(failed.len(), 2, "{text}");
    // Newest first: the unknown name, then alice.
    assert_eq!(
        (failed[0].user_id.as_str(), failed[0].username.as_str()),
        ("-", "-")
    );
    assert_eq!(failed[1].user_id, alice_id);
    assert!(failed.iter().all(|l| l.source == "127.0.0.1"));
    assert_eq!(find(&all, "login_throttled").len(), 1, "{text}");
    assert_eq!(find(&all, "user_added").len(), 1, "{text}");
    assert_eq!(find(&all, "user_added")[0].username, "bob");
    let passwd = find(&all, "password_changed");
    assert_eq!(passwd.len(), 1, "{text}");
    assert_eq!(passwd[0].user_id, alice_id);
    assert_eq!(find(&all, "user_disabled").len(), 1, "{text}");
    assert_eq!(find(&all, "user_enabled").len(), 1, "{text}");
    assert_eq!(find(&all, "client_added")[0].client_id, "svc");
    assert_eq!(find(&all, "client_removed")[0].client_id, "svc");
    let created = find(&all, "key_created");
    let rotated = find(&all, "key_rotated");
    assert_eq!(rotated.len(), 1, "{text}");
    assert!(
        created.iter().any(|l| l.detail == rotated[0].detail),
        "{text}"
    );
    assert_eq!(find(&all, "key_removed")[0].detail, old_kid);

    // No secret anywhere in the trail.
    let secrets = [
        PASSWORD,
        "wrong password 12345",
        "new password 12345",
        "bob's password 1",
        typo,
        first,
        pair["access_token"].as_str().unwrap(),
        client_secret.as_str(),
    ];
    for secret in secrets {
        assert!(!text.contains(secret), "{secret:?} is in the audit trail");
    }
}

#[tokio::test]
async fn audit_list_filters_by_user_event_time_and_count() {
    let app = spawn_app().await;
    app.add_user("alice", PASSWORD, &[]).await;
    app.add_user("bob", PASSWORD, &[]).await;
    app.login("alice", PASSWORD).await;
    app.login("bob", PASSWORD).await;
    let wrong = app
        .post_json(
            "/auth/token",
            &json!({"username": "bob", "password": "wrong password 12345"}),
        )
        .await;
    assert_eq!(wrong.status(), 400);

    let list = |args: &[&str]| {
        let mut all = vec!["audit", "list"];
        all.extend_from_slice(args);
        let out = app.cli(&all, None);
        assert!(out.status.success(), "{args:?}: {out:?}");
        lines(&stdout(&out))
    };
    let bob = list(&["--user", "bob"]);
    assert_eq!(bob.len(), 2);
    assert!(bob.iter().all(|l| l.username == "bob"));
    assert_eq!(
        (bob[0].event.as_str(), bob[1].event.as_str()),
        ("login_failed", "login_succeeded"),
        "newest first"
    );
    let successes = list(&["--event", "login_succeeded"]);
    assert_eq!(successes.len(), 2);
    assert_eq!(list(&["--user", "bob", "--event", "login_failed"]).len(), 1);
    assert_eq!(list(&["--limit", "1"]).len(), 1);
    // The three logins and the first key, created at boot.
    assert_eq!(list(&["--since", "1h"]).len(), 4);
    let later = (Utc::now() + Duration::hours(1)).to_rfc3339();
    assert!(list(&["--since", &later]).is_empty());

    for (args, needle) in [
        (vec!["--since", "yesterday"], "--since"),
        (vec!["--user", "nobody"], "no user named nobody"),
    ] {
        let mut all = vec!["audit", "list"];
        all.extend(args);
        assert_one_line_error(&app.cli(&all, None), 1, needle);
    }
}

#[tokio::test]
async fn events_older_than_the_retention_are_deleted() {
    let app = spawn_app().await;
    let now = Utc::now();
    let old = AuditEvent::new(EventKind::LoginFailed, now - Duration::days(91)).detail("old");
    let recent = AuditEvent::new(EventKind::LoginFailed, now - Duration::days(89)).detail("recent");
    app.store.record_audit(&old).await.unwrap();
    app.store.record_audit(&recent).await.unwrap();
    // A restarted instance prunes at once, then hourly (retention: the default 90d).
    let app = app.restart().await;
    let query = AuditQuery {
        since: None,
        user_id: None,
        event: Some(EventKind::LoginFailed),
        limit: 10,
    };
    let pruned = within_five_seconds(async || {
        let left = app.store.audit_events(&query).await.unwrap();
        left.len() == 1
    })
    .await;
    assert!(pruned, "the 91-day-old event is gone");
    let left = app.store.audit_events(&query).await.unwrap();
    assert_eq!(left[0].detail.as_deref(), Some("recent"));
}

#[tokio::test]
async fn a_failed_audit_write_is_counted_and_does_not_fail_the_login() {
    let app = spawn_app().await;
    app.add_user("alice", PASSWORD, &[]).await;
    // The table is gone (e.g. a broken migration): logins still work, the loss is counted.
    crate::helpers::execute_sql(&app, "alter table audit_events rename to audit_gone").await;
    let response = app
        .post_json(
            "/auth/token",
            &json!({"username": "alice", "password": PASSWORD}),
        )
        .await;
    assert_eq!(response.status(), 200);
    assert!(json_of(response).await["access_token"].is_string());
    let body = app.metrics_text(&app.address).await;
    assert!(
        body.lines()
            .any(|l| l == "authd_audit_write_failures_total 1"),
        "{body}"
    );
}
