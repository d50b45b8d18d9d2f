//! Refresh tokens: rotation, single use under concurrency, reuse killing the family,
//! expiry, logout, RFC 7009 revocation, and revocation that holds across restarts and
//! instances.

use std::time::Duration;

use serde_json::{json, Value};

use crate::helpers::{
    assert_oauth_error, json_of, sample, segment, spawn_app, test_redis_url, within_five_seconds,
    TestApp, PASSWORD,
};

fn refresh_token(pair: &Value) -> String {
    pair["refresh_token"].as_str().unwrap().to_owned()
}

fn access_token(pair: &Value) -> String {
    pair["access_token"].as_str().unwrap().to_owned()
}

async fn login(app: &TestApp) -> Value {
    app.login_pair("alice", PASSWORD).await
}

#[tokio::test]
async fn a_login_returns_an_opaque_prefixed_refresh_token() {
    let app = spawn_app().await;
    app.add_user("alice", PASSWORD, &[]).await;
    let pair = login(&app).await;
    let refresh = refresh_token(&pair);
    assert!(refresh.starts_with("authd_rt_"));
    assert_eq!(
        refresh.len(),
        "authd_rt_".len() + 43,
        "256 bits in base64url"
    );
    assert!(!refresh.contains('.'), "opaque, not a JWT");
}

#[tokio::test]
async fn a_refresh_rotates_the_pair_within_the_same_family() {
    let app = spawn_app().await;
    app.add_user("alice", PASSWORD, &["admin"]).await;
    let first = login(&app).await;
    let second = json_of(app.refresh(&refresh_token(&first)).await).await;
    assert_ne!(refresh_token(&first), refresh_token(&second));
    let (a, b) = (
        segment(&access_token(&first), 1),
        segment(&access_token(&second), 1),
    );
    assert_eq!(a["sid"], b["sid"], "same family");
    assert_ne!(a["jti"], b["jti"]);
    assert_eq!(b["roles"], json!(["admin"]));
    assert_eq!(app.userinfo(&access_token(&second)).await.status(), 200);

    // The form at /auth/refresh and grant_type=refresh_token at /auth/token work alike.
    let third = json_of(
        app.post_form(
            "/auth/refresh",
            &[("refresh_token", &refresh_token(&second))],
        )
        .await,
    )
    .await;
    let fourth = json_of(
        app.post_form(
            "/auth/token",
            &[
                ("grant_type", "refresh_token"),
                ("refresh_token", &refresh_token(&third)),
            ],
        )
        .await,
    )
    .await;
    assert_eq!(segment(&access_token(&fourth), 1)["sid"], a["sid"]);
}

#[tokio::test]
async fn reusing_a_refresh_token_revokes_its_whole_family_and_nothing_else() {
    let app = spawn_app().await;
    app.add_user("alice", PASSWORD, &[]).await;
    let other_session = login(&app).await;
    let first = login(&app).await;
    let second = json_of(app.refresh(&refresh_token(&first)).await).await;

    // The consumed token again: reuse.
    assert_oauth_error(
        app.refresh(&refresh_token(&first)).await,
        400,
        "invalid_grant",
    )
    .await;

    // The newest refresh token and the newest access token of the family are dead...
    assert_oauth_error(
        app.refresh(&refresh_token(&second)).await,
        400,
        "invalid_grant",
    )
    .await;
    assert_eq!(app.userinfo(&access_token(&second)).await.status(), 401);
    assert_eq!(app.userinfo(&access_token(&first)).await.status(), 401);
    // ...and the user's other session lives on.
    assert_eq!(
        app.userinfo(&access_token(&other_session)).await.status(),
        200
    );
    json_of(app.refresh(&refresh_token(&other_session)).await).await;
}

#[tokio::test]
async fn of_many_concurrent_refreshes_with_one_token_at_most_one_wins() {
    let app = spawn_app().await;
    app.add_user("alice", PASSWORD, &[]).await;
    let pair = login(&app).await;
    let token = refresh_token(&pair);
    let attempts = (0..24).map(|_| app.refresh(&token));
    let responses = futures_util::future::join_all(attempts).await;
    let mut winners = Vec::new();
    for response in responses {
        match response.status().as_u16() {
            200 => winners.push(response.json::<Value>().await.unwrap()),
            400 => {
                assert_oauth_error(response, 400, "invalid_grant").await;
            }
            other => panic!("unexpected status {other}"),
        };
    }
    assert!(winners.len() <= 1, "{} refreshes succeeded", winners.len());
    // The others were reuse: the family ends consistent, with nothing of it alive.
    assert_oauth_error(app.refresh(&token).await, 400, "invalid_grant").await;
    assert_eq!(app.userinfo(&access_token(&pair)).await.status(), 401);
    for winner in &winners {
        assert_oauth_error(
            app.refresh(&refresh_token(winner)).await,
            400,
            "invalid_grant",
        )
        .await;
        assert_eq!(app.userinfo(&access_token(winner)).await.status(), 401);
    }
}

#[tokio::test]
async fn garbage_and_unknown_refresh_tokens_are_invalid_grant() {
    let app = spawn_app().await;
    for token in [
        "garbage",
        "authd_rt_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
        &"x".repeat(5000),
    ] {
        assert_oauth_error(app.refresh(token).await, 400, "invalid_grant").await;
    }
    assert_oauth_error(
        app.post_json("/auth/refresh", &json!({})).await,
        400,
        "invalid_request",
    )
    .await;
    assert_oauth_error(
        app.post_json("/auth/refresh", &json!({"refresh_token": ""}))
            .await,
        400,
        "invalid_request",
    )
    .await;
}

#[tokio::test]
async fn a_refresh_token_only_works_for_its_own_client() {
    let app = spawn_app().await;
    app.add_user("alice", PASSWORD, &[]).await;
    let pair = login(&app).await;
    let response = app
        .post_json(
            "/auth/refresh",
            &json!({"refresh_token": refresh_token(&pair), "client_id": "other"}),
        )
        .await;
    assert_oauth_error(response, 401, "invalid_client").await;
    // Not consumed by the failed attempt.
    json_of(app.refresh(&refresh_token(&pair)).await).await;
}

#[tokio::test]
async fn idle_and_absolute_lifetimes_end_a_family() {
    let app = spawn_app().await;
    app.add_user("alice", PASSWORD, &[]).await;
    let now = chrono::Utc::now();

    // Idle: last used more than refresh_idle_ttl (7 d) ago.
    let idle = login(&app).await;
    let sid = segment(&access_token(&idle), 1)["sid"]
        .as_str()
        .unwrap()
        .to_owned();
    age_family(
        &app,
        &sid,
        now - chrono::Duration::days(8),
        now + chrono::Duration::days(20),
    )
    .await;
    assert_oauth_error(
        app.refresh(&refresh_token(&idle)).await,
        400,
        "invalid_grant",
    )
    .await;

    // Absolute: past refresh_absolute_ttl although recently used.
    let old = login(&app).await;
    let sid = segment(&access_token(&old), 1)["sid"]
        .as_str()
        .unwrap()
        .to_owned();
    age_family(
        &app,
        &sid,
        now - chrono::Duration::hours(1),
        now - chrono::Duration::seconds(1),
    )
    .await;
    assert_oauth_error(
        app.refresh(&refresh_token(&old)).await,
        400,
        "invalid_grant",
    )
    .await;
    // Ended families stay ended, and their access tokens die with them.
    assert_eq!(app.userinfo(&access_token(&old)).await.status(), 401);

    // A family inside both lifetimes still refreshes.
    let fresh = login(&app).await;
    json_of(app.refresh(&refresh_token(&fresh)).await).await;
}

/// Sets a family's last use and absolute end: time as data, not a sleep.
async fn age_family(
    app: &TestApp,
    sid: &str,
    last_used_at: chrono::DateTime<chrono::Utc>,
    expires_at: chrono::DateTime<chrono::Utc>,
) {
    use sqlx::Connection;
    if app.db.url.starts_with("postgres") {
        let mut conn = sqlx::PgConnection::connect(&app.db.url).await.unwrap();
        sqlx::query("update refresh_families set last_used_at = $2, expires_at = $3 where id = $1")
            .bind(uuid::Uuid::parse_str(sid).unwrap())
            .bind(last_used_at)
            .bind(expires_at)
            .execute(&mut conn)
            .await
            .unwrap();
    } else {
        let mut conn = sqlx::SqliteConnection::connect(&app.db.url).await.unwrap();
        sqlx::query("update refresh_families set last_used_at = ?2, expires_at = ?3 where id = ?1")
            .bind(sid)
            .bind(last_used_at)
            .bind(expires_at)
            .execute(&mut conn)
            .await
            .unwrap();
    }
}

#[tokio::test]
async fn logout_ends_the_family_and_the_presented_token() {
    let app = spawn_app().await;
    app.add_user("alice", PASSWORD, &[]).await;
    let pair = login(&app).await;
    let second = json_of(app.refresh(&refresh_token(&pair)).await).await;

    let response = app
        .client
        .post(app.url("/auth/logout"))
        .bearer_auth(access_token(&second))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 204);

    assert_eq!(app.userinfo(&access_token(&second)).await.status(), 401);
    assert_oauth_error(
        app.refresh(&refresh_token(&second)).await,
        400,
        "invalid_grant",
    )
    .await;
    // Logging out again with the revoked token, or with none, is a 401.
    let again = app
        .client
        .post(app.url("/auth/logout"))
        .bearer_auth(access_token(&second))
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), 401);
    assert_eq!(
        app.client
            .post(app.url("/auth/logout"))
            .send()
            .await
            .unwrap()
            .status(),
        401
    );
}

#[tokio::test]
async fn rfc7009_revocation_of_a_refresh_token_ends_its_family() {
    let app = spawn_app().await;
    app.add_user("alice", PASSWORD, &[]).await;
    let pair = login(&app).await;
    let response = app
        .post_form(
            "/auth/revoke",
            &[
                ("token", &refresh_token(&pair)),
                ("token_type_hint", "refresh_token"),
            ],
        )
        .await;
    assert_eq!(response.status(), 200);
    assert_oauth_error(
        app.refresh(&refresh_token(&pair)).await,
        400,
        "invalid_grant",
    )
    .await;
    assert_eq!(app.userinfo(&access_token(&pair)).await.status(), 401);
}

#[tokio::test]
async fn rfc7009_revocation_of_an_access_token_ends_only_that_token() {
    let app = spawn_app().await;
    app.add_user("alice", PASSWORD, &[]).await;
    let pair = login(&app).await;
    let response = app
        .post_form(
            "/auth/revoke",
            &[("token", &access_token(&pair)), ("client_id", "app")],
        )
        .await;
    assert_eq!(response.status(), 200);
    assert_eq!(app.userinfo(&access_token(&pair)).await.status(), 401);
    // The family lives on: its refresh token still works and mints a live token.
    let next = json_of(app.refresh(&refresh_token(&pair)).await).await;
    assert_eq!(app.userinfo(&access_token(&next)).await.status(), 200);
}

#[tokio::test]
async fn rfc7009_answers_200_for_unknown_tokens_and_400_for_malformed_requests() {
    let app = spawn_app().await;
    for token in [
        "garbage",
        "authd_rt_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
        "a.b.c",
    ] {
        assert_eq!(
            app.post_form("/auth/revoke", &[("token", token)])
                .await
                .status(),
            200,
            "{token}"
        );
    }
    assert_oauth_error(
        app.post_form("/auth/revoke", &[("token_type_hint", "access_token")])
            .await,
        400,
        "invalid_request",
    )
    .await;
    assert_oauth_error(
        app.post_form("/auth/revoke", &[("token", "x"), ("client_id", "other")])
            .await,
        401,
        "invalid_client",
    )
    .await;
}

#[tokio::test]
async fn a_password_change_from_the_cli_revokes_live_tokens_within_five_seconds() {
    let app = spawn_app().await;
    app.add_user("alice", PASSWORD, &[]).await;
    let pair = login(&app).await;
    let output = app.cli(
        &["user", "passwd", "alice", "--password-stdin"],
        Some("an entirely new password\n"),
    );
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let token = access_token(&pair);
    assert!(within_five_seconds(async || app.userinfo(&token).await.status() == 401).await);
    assert_oauth_error(
        app.refresh(&refresh_token(&pair)).await,
        400,
        "invalid_grant",
    )
    .await;
}

#[tokio::test]
async fn disabling_a_user_from_the_cli_revokes_their_sessions() {
    let app = spawn_app().await;
    app.add_user("alice", PASSWORD, &[]).await;
    let pair = login(&app).await;
    assert!(app
        .cli(&["user", "disable", "alice"], None)
        .status
        .success());
    let token = access_token(&pair);
    assert!(within_five_seconds(async || app.userinfo(&token).await.status() == 401).await);
    assert_oauth_error(
        app.refresh(&refresh_token(&pair)).await,
        400,
        "invalid_grant",
    )
    .await;
    // Enabling again does not resurrect the revoked sessions.
    assert!(app.cli(&["user", "enable", "alice"], None).status.success());
    assert_oauth_error(
        app.refresh(&refresh_token(&pair)).await,
        400,
        "invalid_grant",
    )
    .await;
    assert_eq!(app.userinfo(&token).await.status(), 401);
}

#[tokio::test]
async fn revocation_survives_a_restart_of_authd() {
    let app = spawn_app().await;
    app.add_user("alice", PASSWORD, &[]).await;
    let revoked = login(&app).await;
    app.post_form("/auth/revoke", &[("token", &access_token(&revoked))])
        .await;
    let logged_out = login(&app).await;
    app.client
        .post(app.url("/auth/logout"))
        .bearer_auth(access_token(&logged_out))
        .send()
        .await
        .unwrap();
    let live = login(&app).await;

    let app = app.restart().await;

    assert_eq!(
        app.userinfo(&access_token(&revoked)).await.status(),
        401,
        "revoked jti stays revoked"
    );
    assert_eq!(
        app.userinfo(&access_token(&logged_out)).await.status(),
        401,
        "revoked family stays revoked"
    );
    assert_oauth_error(
        app.refresh(&refresh_token(&logged_out)).await,
        400,
        "invalid_grant",
    )
    .await;
    assert_eq!(app.userinfo(&access_token(&live)).await.status(), 200);
}

#[tokio::test]
async fn a_revocation_through_one_instance_is_honoured_by_another() {
    let app = spawn_app().await;
    let other = app.sibling().await;
    app.add_user("alice", PASSWORD, &[]).await;
    let pair = login(&app).await;
    let token = access_token(&pair);
    let userinfo_at_other = async || app.userinfo_at(&other.address, &token).await;
    assert_eq!(userinfo_at_other().await, 200);
    let response = app
        .client
        .post(app.url("/auth/logout"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 204);
    if test_redis_url().is_some() {
        // Shared Redis: at once.
        assert_eq!(userinfo_at_other().await, 401);
    } else {
        // In process: through the database poll.
        assert!(within_five_seconds(async || userinfo_at_other().await == 401).await);
    }
}

#[tokio::test]
async fn with_redis_revocations_survive_a_flushall() {
    let Some(url) = test_redis_url() else { return };
    let app = spawn_app().await;
    app.add_user("alice", PASSWORD, &[]).await;
    let pair = login(&app).await;
    app.client
        .post(app.url("/auth/logout"))
        .bearer_auth(access_token(&pair))
        .send()
        .await
        .unwrap();
    let client = redis::Client::open(url).unwrap();
    let mut conn = client.get_multiplexed_async_connection().await.unwrap();
    let _: () = redis::cmd("FLUSHALL").query_async(&mut conn).await.unwrap();
    // The durable record wins.
    assert_eq!(app.userinfo(&access_token(&pair)).await.status(), 401);
    let live = login(&app).await;
    assert_eq!(app.userinfo(&access_token(&live)).await.status(), 200);
}

#[tokio::test]
async fn when_redis_goes_away_validation_fails_closed_and_recovers() {
    if test_redis_url().is_none()
        || std::process::Command::new("redis-server")
            .arg("--version")
            .output()
            .is_err()
    {
        return;
    }
    // A private Redis this test may stop and start.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let start_redis = || {
        std::process::Command::new("redis-server")
            .args([
                "--port",
                &port.to_string(),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
            ])
            .stdout(std::process::Stdio::null())
            .spawn()
            .unwrap()
    };
    let mut redis = start_redis();
    tokio::time::sleep(Duration::from_millis(300)).await;
    let app = crate::helpers::spawn_app_with(|s| {
        s.redis.url = Some(secrecy::SecretString::from(format!(
            "redis://127.0.0.1:{port}"
        )));
    })
    .await;
    app.add_user("alice", PASSWORD, &[]).await;
    let pair = login(&app).await;
    let token = access_token(&pair);
    assert_eq!(app.userinfo(&token).await.status(), 200);

    redis.kill().unwrap();
    redis.wait().unwrap();
    assert!(
        within_five_seconds(async || app.userinfo(&token).await.status() == 503).await,
        "fails closed"
    );
    let response = app.userinfo(&token).await;
    assert_eq!(response.status(), 503);
    assert!(response.headers().contains_key("retry-after"));
    assert_eq!(
        app.client
            .get(app.url("/readyz"))
            .send()
            .await
            .unwrap()
            .status(),
        503
    );
    // Each of those failures is counted against Redis (the database answered).
    let metrics = app.metrics_text(&app.address).await;
    let redis_errors = sample(
        &metrics,
        r#"authd_dependency_errors_total{dependency="redis"}"#,
    );
    assert!(redis_errors.unwrap_or(0.0) >= 3.0, "{metrics}");
    assert!(!metrics.contains(r#"dependency="database""#), "{metrics}");

    let mut redis = start_redis();
    let recovered = within_five_seconds(async || app.userinfo(&token).await.status() == 200).await;
    redis.kill().unwrap();
    redis.wait().unwrap();
    assert!(recovered, "recovers by itself when Redis returns");
}

/// This instance's count of revocation checks answered in process.
async fn in_process_checks(app: &TestApp, base: &str) -> f64 {
    let metrics = app.metrics_text(base).await;
    sample(
        &metrics,
        r#"authd_revocation_cache_lookups_total{result="hit"}"#,
    )
    .unwrap_or(0.0)
}

#[tokio::test]
async fn with_redis_each_instance_answers_from_its_mirror_and_hears_revocations_at_once() {
    if test_redis_url().is_none() {
        return; // in process there is nothing to mirror
    }
    let app = spawn_app().await;
    let other = app.sibling().await;
    app.add_user("alice", PASSWORD, &[]).await;
    let pair = login(&app).await;
    let token = access_token(&pair);
    let userinfo_at_other = async || app.userinfo_at(&other.address, &token).await;
    // Once subscribed and loaded, the other instance answers without asking Redis.
    let mirrored = within_five_seconds(async || {
        let before = in_process_checks(&app, &other.address).await;
        assert_eq!(userinfo_at_other().await, 200);
        in_process_checks(&app, &other.address).await > before
    })
    .await;
    assert!(mirrored, "the mirror never became current");

    let before = in_process_checks(&app, &other.address).await;
    let response = app
        .client
        .post(app.url("/auth/logout"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 204);
    // Refused at once, and from the mirror: the event reached it, not a later poll.
    assert_eq!(userinfo_at_other().await, 401);
    assert_eq!(in_process_checks(&app, &other.address).await, before + 1.0);
}

#[tokio::test]
async fn sessions_that_ended_over_a_day_ago_are_deleted_with_their_tokens() {
    let app = spawn_app().await;
    app.add_user("alice", PASSWORD, &[]).await;
    let now = chrono::Utc::now();
    let sid_of = |pair: &Value| {
        segment(&access_token(pair), 1)["sid"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    let live = login(&app).await;
    let idle = login(&app).await;
    age_family(
        &app,
        &sid_of(&idle),
        now - chrono::Duration::days(9),
        now + chrono::Duration::days(20),
    )
    .await;
    let expired = login(&app).await;
    age_family(
        &app,
        &sid_of(&expired),
        now - chrono::Duration::days(3),
        now - chrono::Duration::days(2),
    )
    .await;
    // Ended just now: kept for a day.
    let logged_out = login(&app).await;
    let response = app
        .client
        .post(app.url("/auth/logout"))
        .bearer_auth(access_token(&logged_out))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 204);

    let family = async |pair: &Value| {
        let token = authd::tokens::RefreshToken::parse(&refresh_token(pair)).unwrap();
        app.store.family_by_token(&token.hash()).await.unwrap()
    };
    let idle_ttl = chrono::Duration::from_std(app.settings.tokens.refresh_idle_ttl).unwrap();
    let pruned = app
        .store
        .prune_families(now - chrono::Duration::days(1), idle_ttl)
        .await
        .unwrap();
    assert_eq!(pruned, 2);
    assert!(family(&idle).await.is_none(), "idle for 9 days");
    assert!(family(&expired).await.is_none(), "past its absolute end");
    assert!(
        family(&logged_out).await.is_some(),
        "ended less than a day ago"
    );
    assert!(family(&live).await.is_some());
    // The live session is untouched: its refresh token still rotates.
    assert_eq!(app.refresh(&refresh_token(&live)).await.status(), 200);
}
