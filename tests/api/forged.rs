//! Forged and broken tokens at /auth/userinfo: each attack of spec §4 gets a 401
//! `invalid_token`, never a 5xx. Every forgery starts from a control token that the
//! server accepts, so a rejection is caused by the one thing the case changes.

use jsonwebtoken::{encode, Algorithm, EncodingKey, Header};
use p256::ecdsa::signature::Signer;
use p256::ecdsa::{Signature, SigningKey};
use p256::pkcs8::EncodePublicKey;
use serde_json::{json, Value};

use crate::forger::Forger;
use crate::helpers::{b64, segment, spawn_app, TestApp, ISSUER, PASSWORD};

impl Forger {
    /// The public key in the encodings an HMAC-confusion attacker would try as a secret.
    fn public_key_encodings(&self, app_jwks: &Value) -> Vec<Vec<u8>> {
        let public = self
            .key
            .verifying_key()
            .to_public_key_pem(p256::pkcs8::LineEnding::LF)
            .unwrap();
        let der = self.key.verifying_key().to_public_key_der().unwrap();
        vec![
            public.into_bytes(),
            der.as_bytes().to_vec(),
            app_jwks["keys"][0].to_string().into_bytes(),
        ]
    }
}

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

#[tokio::test]
async fn a_refresh_token_presented_as_a_bearer_token_is_rejected() {
    let app = spawn_app().await;
    app.add_user("alice", PASSWORD, &[]).await;
    let pair = app.login_pair("alice", PASSWORD).await;
    let refresh = pair["refresh_token"].as_str().unwrap();
    assert_rejected(&app, refresh, "a refresh token as a bearer token").await;
    // And it was not consumed by being presented there.
    assert_eq!(app.refresh(refresh).await.status(), 200);
}

#[tokio::test]
async fn unsigned_alg_none_tokens_are_rejected() {
    let app = spawn_app().await;
    let forger = Forger::new(&app).await;
    let claims = b64(forger.claims().to_string().as_bytes());
    for alg in ["none", "None", "NONE", "nOnE"] {
        let header = b64(json!({"alg": alg, "typ": "at+jwt", "kid": forger.kid})
            .to_string()
            .as_bytes());
        assert_rejected(
            &app,
            &format!("{header}.{claims}."),
            &format!("alg {alg} with trailing dot"),
        )
        .await;
        assert_rejected(
            &app,
            &format!("{header}.{claims}"),
            &format!("alg {alg} without trailing dot"),
        )
        .await;
    }
}

#[tokio::test]
async fn hmac_tokens_keyed_with_our_public_key_are_rejected() {
    let app = spawn_app().await;
    let forger = Forger::new(&app).await;
    let jwks: Value = app
        .client
        .get(app.url("/.well-known/jwks.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    for secret in forger.public_key_encodings(&jwks) {
        for alg in [Algorithm::HS256, Algorithm::HS384, Algorithm::HS512] {
            let mut header = Header::new(alg);
            header.typ = Some("at+jwt".into());
            header.kid = Some(forger.kid.clone());
            let token = encode(
                &header,
                &forger.claims(),
                &EncodingKey::from_secret(&secret),
            )
            .unwrap();
            assert_rejected(&app, &token, &format!("{alg:?} keyed with the public key")).await;
        }
    }
}

#[tokio::test]
async fn a_tampered_payload_is_rejected() {
    let app = spawn_app().await;
    Forger::new(&app).await; // creates alice
    let token = app.login("alice", PASSWORD).await;
    let mut claims = segment(&token, 1);
    claims["roles"] = json!(["admin", "root"]);
    let parts: Vec<&str> = token.split('.').collect();
    let tampered = format!(
        "{}.{}.{}",
        parts[0],
        b64(claims.to_string().as_bytes()),
        parts[2]
    );
    assert_rejected(&app, &tampered, "tampered payload").await;
}

#[tokio::test]
async fn claims_outside_the_rules_are_rejected() {
    let app = spawn_app().await;
    let f = Forger::new(&app).await;
    let now = chrono::Utc::now().timestamp();
    let cases = [
        (
            f.with_claim("exp", json!(now - 120)),
            "expired beyond the leeway",
        ),
        (
            f.with_claim("exp", json!(now * 1000)),
            "exp in milliseconds",
        ),
        (
            f.with_claim("exp", json!(now as f64 + 600.5)),
            "fractional exp",
        ),
        (f.with_claim("exp", json!("soon")), "exp as a string"),
        (f.with_claim("nbf", json!(now + 300)), "nbf in the future"),
        (f.with_claim("iat", json!(now + 300)), "iat in the future"),
        (f.with_claim("aud", json!(["other"])), "wrong audience"),
        (
            f.with_claim("aud", json!("other")),
            "wrong audience as a string",
        ),
        (
            f.with_claim("iss", json!("http://evil.test")),
            "wrong issuer",
        ),
        (
            f.with_claim("iss", json!(format!("{ISSUER}/"))),
            "issuer with a trailing slash",
        ),
    ];
    for (token, case) in cases {
        assert_rejected(&app, &token, case).await;
    }
    // A valid signature over a subject that is no user: userinfo finds no one. (Only
    // the holder of our private key could make one.)
    for (sub, case) in [
        ("not-a-uuid".to_owned(), "a subject that is no user"),
        (
            uuid::Uuid::new_v4().to_string(),
            "a subject that does not exist",
        ),
    ] {
        assert_rejected_at_userinfo(&app, &f.with_claim("sub", json!(sub)), case).await;
    }
    let mut claims = f.claims();
    claims.as_object_mut().unwrap().remove("exp");
    assert_rejected(&app, &f.sign(&f.header(), &claims), "no exp").await;
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
    let cases = [
        (f.without_header("kid"), "missing kid"),
        (
            f.with_header("kid", json!("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")),
            "unknown kid",
        ),
        (
            f.with_header("kid", json!("../../../../etc/passwd")),
            "kid with path traversal",
        ),
        (f.with_header("kid", json!("x' or '1'='1")), "kid with SQL"),
        (
            f.with_header("kid", json!("k".repeat(4000))),
            "a very long kid",
        ),
        (f.with_header("kid", json!(42)), "kid as a number"),
        (f.with_header("typ", json!("JWT")), "typ JWT"),
        (f.without_header("typ"), "missing typ"),
        (
            f.with_header("alg", json!("RS256")),
            "alg other than the key's",
        ),
        (
            f.with_header("alg", json!("ES384")),
            "alg ES384 on a P-256 key",
        ),
        (
            f.with_header("crit", json!(["exp"])),
            "an unknown crit header",
        ),
    ];
    for (token, case) in cases {
        assert_rejected(&app, &token, case).await;
    }
}

#[tokio::test]
async fn duplicate_members_in_header_or_claims_are_rejected() {
    let app = spawn_app().await;
    let f = Forger::new(&app).await;
    let claims = f.claims().to_string();
    // A second "sub" that a last-wins parser would read.
    let duplicated = claims.replacen('{', r#"{"sub":"00000000-0000-0000-0000-000000000000","#, 1);
    assert_rejected(
        &app,
        &f.sign_raw(&f.key, &f.header().to_string(), &duplicated),
        "duplicate sub",
    )
    .await;
    let header = format!(
        r#"{{"alg":"ES256","alg":"none","typ":"at+jwt","kid":"{}"}}"#,
        f.kid
    );
    assert_rejected(&app, &f.sign_raw(&f.key, &header, &claims), "duplicate alg").await;
}

#[tokio::test]
async fn bad_signatures_are_rejected() {
    let app = spawn_app().await;
    let f = Forger::new(&app).await;
    let good = f.sign(&f.header(), &f.claims());
    let signing_input = good.rsplit_once('.').unwrap().0.to_owned();

    // CVE-2022-21449: r = s = 0.
    assert_rejected(
        &app,
        &format!("{signing_input}.{}", b64(&[0u8; 64])),
        "r = s = 0",
    )
    .await;
    // A DER-encoded signature instead of raw r||s (RFC 7518 §3.4).
    let signature: Signature = f.key.sign(signing_input.as_bytes());
    assert_rejected(
        &app,
        &format!("{signing_input}.{}", b64(signature.to_der().as_bytes())),
        "DER signature",
    )
    .await;
    // A valid signature from a foreign key, claiming our kid.
    let foreign = SigningKey::random(&mut rand::rngs::OsRng);
    assert_rejected(
        &app,
        &f.sign_raw(&foreign, &f.header().to_string(), &f.claims().to_string()),
        "foreign key",
    )
    .await;
    // A truncated signature and an empty one.
    assert_rejected(&app, &good[..good.len() - 4], "truncated signature").await;
    assert_rejected(&app, &format!("{signing_input}."), "empty signature").await;
}

#[tokio::test]
async fn keys_named_in_the_token_itself_are_never_used() {
    let app = spawn_app().await;
    let f = Forger::new(&app).await;
    let attacker = SigningKey::random(&mut rand::rngs::OsRng);
    let point = attacker.verifying_key().to_encoded_point(false);
    let attacker_jwk = json!({"kty": "EC", "crv": "P-256", "x": b64(point.x().unwrap()), "y": b64(point.y().unwrap())});
    let claims = f.claims().to_string();
    for (name, value) in [
        ("jwk", attacker_jwk.clone()),
        ("jku", json!("http://127.0.0.1:1/jwks.json")),
        ("x5u", json!("http://127.0.0.1:1/cert.pem")),
        ("x5c", json!(["MIIBAAAA"])),
    ] {
        let mut header = f.header();
        header[name] = value.clone();
        assert_rejected(
            &app,
            &f.sign_raw(&attacker, &header.to_string(), &claims),
            &format!("{name} with our kid"),
        )
        .await;
        header.as_object_mut().unwrap().remove("kid");
        assert_rejected(
            &app,
            &f.sign_raw(&attacker, &header.to_string(), &claims),
            &format!("{name} without kid"),
        )
        .await;
    }
}

#[tokio::test]
async fn malformed_tokens_are_rejected() {
    let app = spawn_app().await;
    let f = Forger::new(&app).await;
    let good = f.sign(&f.header(), &f.claims());
    let padded = {
        let parts: Vec<&str> = good.split('.').collect();
        format!("{}=.{}.{}", parts[0], parts[1], parts[2])
    };
    let cases = [
        ("garbage".to_owned(), "garbage"),
        ("a.b".to_owned(), "two segments"),
        (format!("{good}.extra"), "four segments"),
        (good.replacen('.', ".$", 1), "a non-base64url character"),
        (padded, "base64 padding"),
        (
            format!("{}.{}", "A".repeat(8200), "B"),
            "a token over 8 KiB",
        ),
        (
            good.replace('-', "+").replace('_', "/"),
            "standard base64 alphabet",
        ),
    ];
    for (token, case) in cases {
        if token == good {
            continue; // no '-' or '_' in this token: nothing to change
        }
        assert_rejected(&app, &token, case).await;
    }
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
