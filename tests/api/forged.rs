//! Forged and broken tokens at /auth/userinfo: each attack of spec §4 gets a 401
//! `invalid_token`, never a 5xx. The cases themselves live in forged_cases.rs, shared
//! with authd-verify's suite, which requires the library to refuse every one of them too.

use serde_json::{json, Value};

use crate::forged_cases::{self, Forged};
use crate::forger::Forger;
use crate::helpers::{spawn_app, TestApp, PASSWORD};

/// Rejected at both places that accept an access token: userinfo (401) and
/// introspection (`active: false`).
async fn assert_rejected(app: &TestApp, token: &str, case: &str) {
    assert_rejected_at_userinfo(app, token, case).await;
    assert_eq!(
        app.introspect(token).await,
        json!({"active": false}),
        "{case}: introspection"
    );
}

async fn assert_rejected_at_userinfo(app: &TestApp, token: &str, case: &str) {
    let response = app.userinfo(token).await;
    assert_eq!(response.status(), 401, "{case} must be rejected");
    let challenge = response.headers()["www-authenticate"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(
        challenge.starts_with("Bearer ") && challenge.contains(r#"error="invalid_token""#),
        "{case}: {challenge}"
    );
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"], "invalid_token", "{case}");
}

#[tokio::test]
async fn the_control_forgery_is_accepted() {
    let app = spawn_app().await;
    let forger = Forger::new(&app).await;
    let control = forger.sign(&forger.header(), &forger.claims());
    assert_eq!(app.userinfo(&control).await.status(), 200);
    assert_eq!(app.introspect(&control).await["active"], true);
}

/// Every case rejected at userinfo and by introspection.
async fn assert_all_rejected(app: &TestApp, cases: Vec<Forged>) {
    assert!(!cases.is_empty());
    for Forged { case, token } in cases {
        assert_rejected(app, &token, &case).await;
    }
}

#[tokio::test]
async fn a_refresh_token_presented_as_a_bearer_token_is_rejected() {
    let app = spawn_app().await;
    app.add_user("alice", PASSWORD, &[]).await;
    let Forged { case, token } = forged_cases::a_refresh_token(&app).await;
    assert_rejected(&app, &token, &case).await;
    // And it was not consumed by being presented there.
    assert_eq!(app.refresh(&token).await.status(), 200);
}

#[tokio::test]
async fn unsigned_alg_none_tokens_are_rejected() {
    let app = spawn_app().await;
    let f = Forger::new(&app).await;
    assert_all_rejected(&app, forged_cases::unsigned_alg_none(&f)).await;
}

#[tokio::test]
async fn hmac_tokens_keyed_with_our_public_key_are_rejected() {
    let app = spawn_app().await;
    let f = Forger::new(&app).await;
    let cases = forged_cases::hmac_keyed_with_our_public_key(&app, &f).await;
    assert_all_rejected(&app, cases).await;
}

#[tokio::test]
async fn a_tampered_payload_is_rejected() {
    let app = spawn_app().await;
    Forger::new(&app).await; // creates alice
    assert_all_rejected(&app, vec![forged_cases::a_tampered_payload(&app).await]).await;
}

#[tokio::test]
async fn claims_outside_the_rules_are_rejected() {
    let app = spawn_app().await;
    let f = Forger::new(&app).await;
    assert_all_rejected(&app, forged_cases::claims_outside_the_rules(&f)).await;
    // A valid signature over a subject that is no user: userinfo finds no one. (Only
    // the holder of our private key could make one; not a forgery to a verifier.)
    for (sub, case) in [
        ("not-a-uuid".to_owned(), "a subject that is no user"),
        (
            uuid::Uuid::new_v4().to_string(),
            "a subject that does not exist",
        ),
    ] {
        assert_rejected_at_userinfo(&app, &f.with_claim("sub", json!(sub)), case).await;
    }
}

#[tokio::test]
async fn a_token_just_past_exp_is_accepted_within_the_leeway() {
    let app = spawn_app().await;
    let f = Forger::new(&app).await;
    let now = chrono::Utc::now().timestamp();
    let mut claims = f.claims();
    claims["exp"] = json!(now - 5);
    claims["iat"] = json!(now - 605);
    claims["nbf"] = json!(now - 605);
    assert_eq!(
        app.userinfo(&f.sign(&f.header(), &claims)).await.status(),
        200
    );
}

#[tokio::test]
async fn headers_outside_the_rules_are_rejected() {
    let app = spawn_app().await;
    let f = Forger::new(&app).await;
    assert_all_rejected(&app, forged_cases::headers_outside_the_rules(&f)).await;
}

#[tokio::test]
async fn duplicate_members_in_header_or_claims_are_rejected() {
    let app = spawn_app().await;
    let f = Forger::new(&app).await;
    assert_all_rejected(&app, forged_cases::duplicate_members(&f)).await;
}

#[tokio::test]
async fn bad_signatures_are_rejected() {
    let app = spawn_app().await;
    let f = Forger::new(&app).await;
    assert_all_rejected(&app, forged_cases::bad_signatures(&f)).await;
}

#[tokio::test]
async fn keys_named_in_the_token_itself_are_never_used() {
    let app = spawn_app().await;
    let f = Forger::new(&app).await;
    assert_all_rejected(&app, forged_cases::keys_named_in_the_token(&f)).await;
}

#[tokio::test]
async fn malformed_tokens_are_rejected() {
    let app = spawn_app().await;
    let f = Forger::new(&app).await;
    assert_all_rejected(&app, forged_cases::malformed(&f)).await;
}

#[tokio::test]
async fn a_token_without_a_user_gets_403_insufficient_scope() {
    let app = spawn_app().await;
    let f = Forger::new(&app).await;
    // What a client_credentials token looks like: sub = client id, no sid.
    let mut claims = f.claims();
    claims["sub"] = json!("app");
    claims.as_object_mut().unwrap().remove("sid");
    let response = app.userinfo(&f.sign(&f.header(), &claims)).await;
    assert_eq!(response.status(), 403);
    let challenge = response.headers()["www-authenticate"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(
        challenge.contains(r#"error="insufficient_scope""#),
        "{challenge}"
    );
}
