//! The checks of verifier.md §1 against tokens of the real server: a fresh token
//! verifies, every forged case of the server's suite is refused, and each way of being
//! wrong has its own error.

use std::time::SystemTime;

use authd_verify::{SetupError, Verifier, VerifyError};
use serde_json::json;

use crate::forged_cases::{self, Forged};
use crate::forger::Forger;
use crate::helpers::{b64, spawn_app, spawn_app_at_its_issuer, ISSUER, PASSWORD};
use crate::support::verifier;

#[tokio::test]
async fn a_fresh_token_from_the_server_verifies_with_its_claims_typed() {
    let app = spawn_app().await;
    let alice = app.add_user("alice", PASSWORD, &["admin"]).await;
    let token = app.login("alice", PASSWORD).await;
    let claims = verifier(&app).verify(&token).await.unwrap();
    assert_eq!(claims.sub, alice.id.to_string());
    assert_eq!(claims.iss, ISSUER);
    assert_eq!(claims.client_id, "app");
    assert_eq!(claims.aud, vec!["api".to_owned()]);
    assert_eq!(claims.roles, vec!["admin".to_owned()]);
    assert!(claims.has_role("admin"));
    assert!(claims.sid.is_some());
    assert!(!claims.jti.is_empty());
    assert!(claims.exp > claims.iat);
    assert_eq!(claims.raw["jti"], claims.jti.as_str());
}

#[tokio::test]
async fn discovery_finds_the_jwks_and_the_token_verifies() {
    let app = spawn_app_at_its_issuer().await;
    app.add_user("alice", PASSWORD, &[]).await;
    let token = app.login("alice", PASSWORD).await;
    let verifier = Verifier::discover(app.address.clone())
        .await
        .unwrap()
        .audience("api");
    let claims = verifier.verify(&token).await.unwrap();
    assert_eq!(claims.iss, app.address);
    assert_eq!(verifier.cached_kids().len(), 1);
}

#[tokio::test]
async fn discovery_refuses_metadata_that_speaks_for_another_issuer() {
    // This server's metadata says issuer = ISSUER, not the address it is asked at.
    let app = spawn_app().await;
    let result = Verifier::discover(app.address.clone()).await;
    assert!(
        matches!(result, Err(SetupError::IssuerMismatch)),
        "{result:?}"
    );
}

#[tokio::test]
async fn every_forged_token_of_the_servers_suite_is_refused_by_the_library() {
    let app = spawn_app().await;
    let f = Forger::new(&app).await;
    let verifier = verifier(&app);
    let control = f.sign(&f.header(), &f.claims());
    verifier.verify(&control).await.unwrap();
    let cases = forged_cases::all(&app, &f).await;
    assert!(cases.len() > 50, "{} cases", cases.len());
    for Forged { case, token } in cases {
        match verifier.verify(&token).await {
            Ok(claims) => panic!("{case}: accepted as {claims:?}"),
            // A verdict on the token, not a verifier that could not decide.
            Err(e) => assert!(e.is_invalid_token(), "{case}: {e:?}"),
        }
    }
}

#[tokio::test]
async fn each_way_of_being_wrong_has_its_own_error() {
    let app = spawn_app().await;
    let f = Forger::new(&app).await;
    let verifier = verifier(&app);
    let now = chrono::Utc::now().timestamp();
    let without = |name: &str| {
        let mut claims = f.claims();
        claims.as_object_mut().unwrap().remove(name);
        f.sign(&f.header(), &claims)
    };
    let hs256 = {
        let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256);
        header.typ = Some("at+jwt".into());
        header.kid = Some(f.kid.clone());
        jsonwebtoken::encode(
            &header,
            &f.claims(),
            &jsonwebtoken::EncodingKey::from_secret(b"k"),
        )
        .unwrap()
    };
    let none = format!(
        "{}.{}.",
        b64(json!({"alg": "none", "typ": "at+jwt", "kid": f.kid})
            .to_string()
            .as_bytes()),
        b64(f.claims().to_string().as_bytes())
    );
    // Media types are case-insensitive, and "application/" may be written (RFC 7515 §4.1.9).
    verifier
        .verify(&f.with_header("typ", json!("application/AT+JWT")))
        .await
        .unwrap();
    let foreign = p256::ecdsa::SigningKey::random(&mut rand::rngs::OsRng);
    let cases = [
        ("x".repeat(9000), VerifyError::TooLarge),
        ("a.b".to_owned(), VerifyError::Malformed),
        (f.with_header("typ", json!("JWT")), VerifyError::WrongType),
        (
            f.with_header("crit", json!(["exp"])),
            VerifyError::CriticalHeader,
        ),
        (f.without_header("kid"), VerifyError::MissingKeyId),
        (
            f.with_header("kid", json!("no-such-key")),
            VerifyError::UnknownKey,
        ),
        (none, VerifyError::Unsigned),
        (hs256, VerifyError::DisallowedAlgorithm),
        (
            f.with_header("alg", json!("RS256")),
            VerifyError::AlgorithmMismatch,
        ),
        (
            f.sign_raw(&foreign, &f.header().to_string(), &f.claims().to_string()),
            VerifyError::BadSignature,
        ),
        (
            f.with_claim("iss", json!("http://evil.test")),
            VerifyError::WrongIssuer,
        ),
        (
            f.with_claim("aud", json!(["other"])),
            VerifyError::WrongAudience,
        ),
        (f.with_claim("exp", json!(now - 120)), VerifyError::Expired),
        (
            f.with_claim("nbf", json!(now + 300)),
            VerifyError::NotYetValid,
        ),
        (
            f.with_claim("exp", json!(now * 1000)),
            VerifyError::LifetimeTooLong,
        ),
        (
            f.with_claim("exp", json!(now as f64 + 0.5)),
            VerifyError::InvalidClaim("exp"),
        ),
        (without("exp"), VerifyError::MissingClaim("exp")),
        (without("sub"), VerifyError::MissingClaim("sub")),
        (without("client_id"), VerifyError::MissingClaim("client_id")),
        (without("jti"), VerifyError::MissingClaim("jti")),
        (without("iat"), VerifyError::MissingClaim("iat")),
    ];
    for (token, expected) in cases {
        let error = verifier
            .verify_at(&token, SystemTime::now())
            .await
            .unwrap_err();
        assert_eq!(error, expected, "{expected}");
        // Display and Debug never carry the token (nor its signature part).
        let signature = token.rsplit('.').next().unwrap();
        for text in [error.to_string(), format!("{error:?}")] {
            assert!(
                !text.contains(&token) && (signature.len() < 8 || !text.contains(signature)),
                "{text}"
            );
        }
    }
}

#[tokio::test]
async fn a_scope_the_verifier_requires_is_insufficient_scope_when_missing() {
    let app = spawn_app().await;
    let secret = app
        .add_client(
            "job",
            true,
            &["client_credentials"],
            &["api"],
            "orders:read",
        )
        .await
        .unwrap();
    let response = app
        .post_form_basic(
            "/auth/token",
            ("job", &secret),
            &[("grant_type", "client_credentials")],
        )
        .await;
    assert_eq!(response.status(), 200);
    let body: serde_json::Value = response.json().await.unwrap();
    let token = body["access_token"].as_str().unwrap();

    let claims = verifier(&app)
        .require_scope("orders:read")
        .verify(token)
        .await
        .unwrap();
    assert!(claims.has_scope("orders:read"));
    assert_eq!(
        claims.sid, None,
        "a client-credentials token has no session"
    );
    let refused = verifier(&app)
        .require_scope("orders:write")
        .verify(token)
        .await;
    assert_eq!(
        refused.unwrap_err(),
        VerifyError::InsufficientScope("orders:write".into())
    );
}
