//! Many writers at once on one database: logins, refresh chains, replays and a CLI in
//! another process all write together, and every HTTP answer is a protocol answer (200 or
//! 400), never a 500, nor a 503 or "database is locked" under mere load.

use futures_util::future::join_all;
use reqwest::Response;
use serde_json::{json, Value};

use crate::helpers::{spawn_app, spawn_app_with, ServeProcess, TestApp, PASSWORD};

const USERS: usize = 40;
const CLEAN_CHAINS: usize = 30;
const STEPS: usize = 25;

async fn login_from(app: &TestApp, address: &str, user: &str) -> Response {
    app.client
        .post(app.url("/auth/token"))
        .header("x-forwarded-for", address)
        .json(&json!({"username": user, "password": PASSWORD}))
        .send()
        .await
        .unwrap()
}

async fn status_and_body(response: Response) -> (u16, Value) {
    let status = response.status().as_u16();
    let body = response.json().await.unwrap_or(Value::Null);
    (status, body)
}

/// Logs every user in at once (each from its own address, so the per-address throttle
/// stays out of the way); returns the statuses and the refresh tokens of the 200s.
async fn login_everyone(app: &TestApp, round: usize) -> Vec<(u16, Value)> {
    join_all((0..USERS).map(|i| async move {
        let address = format!("10.{round}.{}.{}", i / 200, i % 200 + 1);
        status_and_body(login_from(app, &address, &format!("load-{i}")).await).await
    }))
    .await
}

/// Refreshes `STEPS` times in a row; every step must be 200 on a clean chain.
async fn clean_chain(app: &TestApp, mut token: String) -> Vec<u16> {
    let mut statuses = Vec::with_capacity(STEPS);
    for _ in 0..STEPS {
        let (status, body) = status_and_body(app.refresh(&token).await).await;
        statuses.push(status);
        match body["refresh_token"].as_str() {
            Some(next) => token = next.to_owned(),
            None => break,
        }
    }
    statuses
}

/// Refreshes a few times, then presents one token twice at once: one of the pair wins,
/// the other is reuse and kills the family, so the winner's successor is refused too.
async fn attacked_chain(app: &TestApp, mut token: String) -> Vec<u16> {
    let mut statuses = Vec::new();
    for _ in 0..5 {
        let (status, body) = status_and_body(app.refresh(&token).await).await;
        statuses.push(status);
        token = body["refresh_token"].as_str().unwrap().to_owned();
    }
    let (a, b) = tokio::join!(app.refresh(&token), app.refresh(&token));
    let (a, b) = (status_and_body(a).await, status_and_body(b).await);
    let mut pair = [a.0, b.0];
    pair.sort_unstable();
    assert_eq!(pair, [200, 400], "one winner, one reuse");
    let successor = [a.1, b.1]
        .into_iter()
        .find_map(|body| body["refresh_token"].as_str().map(str::to_owned))
        .unwrap();
    let (after, _) = status_and_body(app.refresh(&successor).await).await;
    assert_eq!(after, 400, "the reuse revoked the winner's successor too");
    statuses.extend(pair);
    statuses.push(after);
    statuses
}

#[tokio::test]
async fn concurrent_logins_refreshes_replays_and_cli_writes_all_get_200_or_400() {
    let app = spawn_app_with(|s| {
        s.server.trusted_proxies = vec!["127.0.0.1".parse().unwrap()];
    })
    .await;
    for i in 0..USERS {
        app.add_user(&format!("load-{i}"), PASSWORD, &[]).await;
    }

    let first = login_everyone(&app, 1).await;
    let statuses: Vec<u16> = first.iter().map(|(s, _)| *s).collect();
    assert!(statuses.iter().all(|s| *s == 200), "{statuses:?}");
    let tokens: Vec<String> = first
        .iter()
        .map(|(_, body)| body["refresh_token"].as_str().unwrap().to_owned())
        .collect();

    // Everything at once: 30 clean chains, 10 attacked ones, a second round of logins
    // and another process adding users through the CLI (the file lock across processes).
    let chains = join_all(tokens.into_iter().enumerate().map(|(i, token)| {
        let app = &app;
        async move {
            if i < CLEAN_CHAINS {
                (true, clean_chain(app, token).await)
            } else {
                (false, attacked_chain(app, token).await)
            }
        }
    }));
    let cli_db = app.db.url.clone();
    let cli_keys = app.keys_dir.clone();
    let cli = tokio::task::spawn_blocking(move || {
        (0..5)
            .map(|i| {
                crate::helpers::run_cli(
                    &cli_db,
                    &cli_keys,
                    &["user", "add", &format!("cli-{i}"), "--password-stdin"],
                    Some(&format!("{PASSWORD}\n")),
                    &[],
                )
            })
            .collect::<Vec<_>>()
    });
    let (chains, second, cli) = tokio::join!(chains, login_everyone(&app, 2), cli);

    let mut answered = 0;
    for (clean, statuses) in &chains {
        answered += statuses.len();
        assert!(
            statuses.iter().all(|s| *s == 200 || *s == 400),
            "{statuses:?}"
        );
        if *clean {
            assert_eq!(statuses, &vec![200; STEPS], "a clean chain never fails");
        }
    }
    let second: Vec<u16> = second.iter().map(|(s, _)| *s).collect();
    assert!(second.iter().all(|s| *s == 200), "{second:?}");
    for output in cli.unwrap() {
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
    assert_eq!(answered, CLEAN_CHAINS * STEPS + (USERS - CLEAN_CHAINS) * 8);

    // The other process's writes landed: its users can log in.
    let (status, _) = status_and_body(login_from(&app, "10.9.9.9", "cli-4").await).await;
    assert_eq!(status, 200);
}

/// A response is a promise: what authd answered before a SIGKILL (rotations, a logout) is
/// what a restarted authd knows, with nothing lost and nothing revoked coming back.
#[tokio::test]
async fn what_was_answered_before_a_sigkill_survives_it() {
    let app = spawn_app().await;
    app.add_user("kim", PASSWORD, &[]).await;
    // Quiet: its output goes to a pipe nobody reads until it stops.
    let quiet = [("AUTHD__LOG__LEVEL", "warn")];
    let server = ServeProcess::start(&app, &quiet).await;
    let post = |path: &'static str, body: Value| {
        let client = app.client.clone();
        let url = format!("{}{path}", server.base);
        async move { client.post(url).json(&body).send().await.unwrap() }
    };
    let login = json!({"username": "kim", "password": PASSWORD});
    let (_, ended) = status_and_body(post("/auth/token", login.clone()).await).await;
    let (_, pair) = status_and_body(post("/auth/token", login).await).await;
    let mut previous = String::new();
    let mut current = pair["refresh_token"].as_str().unwrap().to_owned();
    for _ in 0..20 {
        let (status, body) =
            status_and_body(post("/auth/refresh", json!({"refresh_token": current})).await).await;
        assert_eq!(status, 200);
        previous = std::mem::replace(
            &mut current,
            body["refresh_token"].as_str().unwrap().to_owned(),
        );
    }
    let logout = app
        .client
        .post(format!("{}/auth/logout", server.base))
        .bearer_auth(ended["access_token"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(logout.status(), 204);
    server.kill();

    let restarted = ServeProcess::start(&app, &quiet).await;
    let userinfo = app
        .client
        .get(format!("{}/auth/userinfo", restarted.base))
        .bearer_auth(ended["access_token"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(userinfo.status(), 401, "the logout survived");
    let refresh = |token: &str| {
        app.client
            .post(format!("{}/auth/refresh", restarted.base))
            .json(&json!({"refresh_token": token}))
            .send()
    };
    assert_eq!(
        refresh(&current).await.unwrap().status(),
        200,
        "the last rotation survived"
    );
    assert_eq!(
        refresh(&previous).await.unwrap().status(),
        400,
        "its consumption too"
    );
    restarted.kill();
}
