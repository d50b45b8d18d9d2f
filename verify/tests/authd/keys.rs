//! Keys (verifier.md §2) against the real server: rotation, the unknown-kid cooldown,
//! revalidation with the ETag, and the issuer going away. Time is moved through
//! `verify_at` instead of sleeping; requests are counted at the fetcher.

use std::time::SystemTime;

use authd_verify::VerifyError;
use serde_json::json;

use crate::forger::Forger;
use crate::helpers::{segment, spawn_app, PASSWORD};
use crate::support::{authd_cli, counted, jwks_uri, later, secs};

fn kid(token: &str) -> String {
    segment(token, 0)["kid"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn keys_rotate_now_is_followed_without_a_failed_verification() {
    let app = spawn_app().await;
    app.add_user("alice", PASSWORD, &[]).await;
    let (builder, tally) = counted(&app);
    let verifier = builder.build().unwrap();
    let t0 = SystemTime::now();
    let old = app.login("alice", PASSWORD).await;
    verifier.verify_at(&old, t0).await.unwrap();
    assert_eq!(tally.requests(), 1);

    // The emergency rotation, through the CLI, once the verifier's cache is older than
    // its cooldown (the steady state; see the next test for a younger cache).
    authd_cli(&app, &["keys", "rotate", "--now"]).await;
    app.keys.tick(chrono::Utc::now()).await.unwrap();
    let new = app.login("alice", PASSWORD).await;
    assert_ne!(kid(&new), kid(&old));

    let mut failures = Vec::new();
    for step in 0..28 {
        let now = later(t0, 31 + step * 10);
        for token in [&new, &old] {
            if let Err(e) = verifier.verify_at(token, now).await {
                failures.push(format!("t0+{}s: {e}", 31 + step * 10));
            }
        }
    }
    assert!(failures.is_empty(), "{failures:?}");
    let mut both = vec![kid(&old), kid(&new)];
    both.sort();
    assert_eq!(verifier.cached_kids(), both);
    // One refetch for the new kid; at most one background refresh after it.
    assert!((2..=3).contains(&tally.requests()), "{}", tally.requests());
}

#[tokio::test]
async fn an_rs256_key_rotated_in_verifies_and_is_bound_to_rs256() {
    let app = spawn_app().await;
    app.add_user("alice", PASSWORD, &[]).await;
    let (builder, _) = counted(&app);
    let verifier = builder.build().unwrap();
    let t0 = SystemTime::now();
    let es256 = app.login("alice", PASSWORD).await;
    verifier.verify_at(&es256, t0).await.unwrap();

    authd_cli(&app, &["keys", "rotate", "--alg", "RS256", "--now"]).await;
    app.keys.tick(chrono::Utc::now()).await.unwrap();
    let rs256 = app.login("alice", PASSWORD).await;
    assert_eq!(segment(&rs256, 0)["alg"], "RS256");
    let later = later(t0, 31);
    verifier.verify_at(&rs256, later).await.unwrap();
    verifier.verify_at(&es256, later).await.unwrap();
    // The RSA key's signature under a header claiming ES256: the key decides the alg.
    let mut header = segment(&rs256, 0);
    header["alg"] = "ES256".into();
    let relabelled = format!(
        "{}.{}",
        crate::helpers::b64(header.to_string().as_bytes()),
        rs256.split_once('.').unwrap().1
    );
    assert_eq!(
        verifier.verify_at(&relabelled, later).await,
        Err(VerifyError::AlgorithmMismatch)
    );
}

#[tokio::test]
async fn a_new_kid_inside_the_cooldown_is_refused_until_the_cooldown_ends() {
    let app = spawn_app().await;
    app.add_user("alice", PASSWORD, &[]).await;
    let (builder, tally) = counted(&app);
    let verifier = builder.build().unwrap();
    let t0 = SystemTime::now();
    verifier
        .verify_at(&app.login("alice", PASSWORD).await, t0)
        .await
        .unwrap();
    authd_cli(&app, &["keys", "rotate", "--now"]).await;
    app.keys.tick(chrono::Utc::now()).await.unwrap();
    let new = app.login("alice", PASSWORD).await;
    // The price of the cooldown: 10 s after the last fetch, no refetch for a new kid...
    assert_eq!(
        verifier.verify_at(&new, later(t0, 10)).await,
        Err(VerifyError::UnknownKey)
    );
    assert_eq!(tally.requests(), 1);
    // ...and once it has passed, one.
    verifier.verify_at(&new, later(t0, 30)).await.unwrap();
    assert_eq!(tally.requests(), 2);
}

#[tokio::test]
async fn a_scheduled_rotation_reaches_the_verifier_by_its_background_refresh() {
    let app = spawn_app().await;
    app.add_user("alice", PASSWORD, &[]).await;
    let (builder, tally) = counted(&app);
    let verifier = builder.build().unwrap();
    let t0 = SystemTime::now();
    let old = app.login("alice", PASSWORD).await;
    verifier.verify_at(&old, t0).await.unwrap();

    // `keys rotate` publishes the next key now; it signs after the pre-publication time.
    authd_cli(&app, &["keys", "rotate"]).await;
    let created = chrono::Utc::now();
    app.keys.tick(created).await.unwrap();
    // The JWKS max-age is 300 s: past 3/4 of it a verification (served from the cache
    // at once) starts a refresh in the background.
    verifier.verify_at(&old, later(t0, 240)).await.unwrap();
    tally.wait_finished(2).await;
    assert_eq!(verifier.cached_kids().len(), 2);

    let prepublish = chrono::Duration::from_std(app.settings.keys.prepublish).unwrap();
    app.keys.tick(created + prepublish).await.unwrap();
    let new = app.login("alice", PASSWORD).await;
    assert_ne!(kid(&new), kid(&old));
    verifier.verify_at(&new, later(t0, 241)).await.unwrap();
    verifier.verify_at(&old, later(t0, 241)).await.unwrap();
    assert_eq!(tally.requests(), 2, "no unknown-kid refetch was needed");
}

#[tokio::test]
async fn a_refresh_revalidates_with_the_etag_and_a_304_keeps_the_keys() {
    let app = spawn_app().await;
    app.add_user("alice", PASSWORD, &[]).await;
    let token = app.login("alice", PASSWORD).await;
    let (builder, tally) = counted(&app);
    let verifier = builder.build().unwrap();
    let t0 = SystemTime::now();
    verifier.verify_at(&token, t0).await.unwrap();
    assert_eq!(tally.etags_sent(), 0);

    verifier.verify_at(&token, later(t0, 240)).await.unwrap();
    tally.wait_finished(2).await;
    assert_eq!((tally.etags_sent(), tally.not_modified()), (1, 1));
    // The 304 renewed the set's freshness: past the first max-age (300 s), no request.
    verifier.verify_at(&token, later(t0, 400)).await.unwrap();
    assert_eq!(tally.requests(), 2);
    assert_eq!(verifier.cached_kids(), vec![kid(&token)]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flood_of_random_kids_costs_at_most_one_jwks_request_per_cooldown() {
    let app = spawn_app().await;
    let f = Forger::new(&app).await;
    let (builder, tally) = counted(&app);
    let verifier = builder.build().unwrap();
    let t0 = SystemTime::now();
    let control = f.sign(&f.header(), &f.claims());
    verifier.verify_at(&control, t0).await.unwrap();
    assert_eq!(tally.requests(), 1);
    let random = |n: usize| -> Vec<String> {
        (0..n)
            .map(|_| f.with_header("kid", json!(uuid::Uuid::new_v4().simple().to_string())))
            .collect()
    };

    // Concurrent floods: inside the first fetch's cooldown none costs a request; after
    // it, the whole flood shares one.
    for (at, expected) in [(1, 1), (31, 2)] {
        let mut tasks = tokio::task::JoinSet::new();
        for token in random(300) {
            let verifier = verifier.clone();
            tasks.spawn(async move { verifier.verify_at(&token, later(t0, at)).await });
        }
        while let Some(outcome) = tasks.join_next().await {
            assert_eq!(outcome.unwrap(), Err(VerifyError::UnknownKey));
        }
        assert_eq!(tally.requests(), expected, "flood at t0+{at}s");
    }
    // A steady trickle, one per second for 90 s: one request per 30 s, no more.
    for (i, token) in random(90).into_iter().enumerate() {
        let now = later(t0, 32 + i as u64);
        assert_eq!(
            verifier.verify_at(&token, now).await,
            Err(VerifyError::UnknownKey)
        );
        // And a valid token verifies throughout, from the cache.
        verifier.verify_at(&control, now).await.unwrap();
    }
    assert_eq!(tally.requests(), 5, "t0, t0+31, t0+61, t0+91, t0+121");
}

#[tokio::test]
async fn with_the_issuer_down_cached_keys_verify_until_stale_if_error_then_fail_closed() {
    let app = spawn_app().await;
    app.add_user("alice", PASSWORD, &[]).await;
    let token = app.login("alice", PASSWORD).await;
    let (builder, tally) = counted(&app);
    let verifier = builder.stale_if_error(secs(120)).build().unwrap();
    let t0 = SystemTime::now();
    verifier.verify_at(&token, t0).await.unwrap();

    let jwks = jwks_uri(&app);
    drop(app);
    let client = reqwest::Client::new();
    let mut down = false;
    for _ in 0..100 {
        if client.get(&jwks).send().await.is_err() {
            down = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert!(down, "the issuer still answers");

    // Fresh (max-age 300 s): served from the cache, nothing asked.
    verifier.verify_at(&token, later(t0, 100)).await.unwrap();
    assert_eq!(tally.requests(), 1);
    // Stale but within stale_if_error: still served, while refreshes fail behind it.
    verifier.verify_at(&token, later(t0, 310)).await.unwrap();
    tally.wait_finished(2).await;
    verifier.verify_at(&token, later(t0, 419)).await.unwrap();
    // Past max-age + stale_if_error: fails closed, with its own error.
    assert_eq!(
        verifier.verify_at(&token, later(t0, 421)).await,
        Err(VerifyError::KeysStale)
    );
    assert!(VerifyError::KeysStale.is_unavailable());
}
