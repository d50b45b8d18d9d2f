//! JWKS and discovery: the token verified by an independent path, caching, no private parts.

use p256::ecdsa::signature::Verifier;
use p256::ecdsa::{Signature, VerifyingKey};
use serde_json::Value;

use crate::helpers::{segment, spawn_app, spawn_app_with, ISSUER, PASSWORD};

fn b64d(s: &str) -> Vec<u8> {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(s)
        .unwrap()
}

#[tokio::test]
async fn a_token_verifies_against_the_served_jwks_by_an_independent_path() {
    let app = spawn_app().await;
    let user = app.add_user("alice", PASSWORD, &[]).await;
    let token = app.login("alice", PASSWORD).await;

    // Find the JWKS through discovery, then verify with p256 directly: no authd code.
    let discovery: Value = app
        .client
        .get(app.url("/.well-known/openid-configuration"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let jwks_path = discovery["jwks_uri"]
        .as_str()
        .unwrap()
        .strip_prefix(ISSUER)
        .unwrap()
        .to_owned();
    let jwks: Value = app
        .client
        .get(app.url(&jwks_path))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let header = segment(&token, 0);
    let jwk = jwks["keys"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["kid"] == header["kid"])
        .expect("kid is published");
    assert_eq!(
        (
            jwk["kty"].as_str(),
            jwk["crv"].as_str(),
            jwk["alg"].as_str(),
            jwk["use"].as_str()
        ),
        (Some("EC"), Some("P-256"), Some("ES256"), Some("sig"))
    );
    let mut sec1 = vec![0x04];
    sec1.extend(b64d(jwk["x"].as_str().unwrap()));
    sec1.extend(b64d(jwk["y"].as_str().unwrap()));
    let key = VerifyingKey::from_sec1_bytes(&sec1).unwrap();
    let (signing_input, signature) = token.rsplit_once('.').unwrap();
    let signature = Signature::from_slice(&b64d(signature)).unwrap();
    key.verify(signing_input.as_bytes(), &signature)
        .expect("signature verifies with the published key");

    let claims = segment(&token, 1);
    assert_eq!(claims["iss"], discovery["issuer"]);
    assert_eq!(claims["sub"], user.id.to_string());
    assert!(claims["aud"].as_array().unwrap().contains(&"api".into()));
    let now = chrono::Utc::now().timestamp();
    assert!(claims["exp"].as_i64().unwrap() > now && claims["nbf"].as_i64().unwrap() <= now);
}

#[tokio::test]
async fn the_jwks_is_cacheable_with_an_etag_and_never_holds_private_parts() {
    let app = spawn_app().await;
    let response = app
        .client
        .get(app.url("/.well-known/jwks.json"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["cache-control"], "public, max-age=300");
    let etag = response.headers()["etag"].to_str().unwrap().to_owned();
    assert!(
        etag.starts_with('"') && !etag.starts_with("W/"),
        "a strong ETag: {etag}"
    );
    let jwks: Value = response.json().await.unwrap();
    for key in jwks["keys"].as_array().unwrap() {
        for private in ["d", "p", "q", "dp", "dq", "qi", "k"] {
            assert!(key.get(private).is_none(), "no {private} in a public JWK");
        }
    }

    for if_none_match in [
        etag.clone(),
        format!("\"other\", {etag}"),
        format!("W/{etag}"),
        "*".to_owned(),
    ] {
        let response = app
            .client
            .get(app.url("/.well-known/jwks.json"))
            .header("if-none-match", &if_none_match)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 304, "If-None-Match: {if_none_match}");
        assert_eq!(response.headers()["etag"].to_str().unwrap(), etag);
        assert!(response.bytes().await.unwrap().is_empty());
    }
    let response = app
        .client
        .get(app.url("/.well-known/jwks.json"))
        .header("if-none-match", "\"stale\"")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
}

#[tokio::test]
async fn the_jwks_max_age_ends_before_a_new_key_can_sign() {
    let app = spawn_app_with(|s| s.keys.prepublish = std::time::Duration::from_secs(45)).await;
    let response = app
        .client
        .get(app.url("/.well-known/jwks.json"))
        .send()
        .await
        .unwrap();
    // An instance publishes a new key up to one refresh interval (10 s) late, so a cache
    // may keep the JWKS for the rest of the pre-publication time: 45 - 10.
    assert_eq!(response.headers()["cache-control"], "public, max-age=35");
}

#[tokio::test]
async fn both_discovery_documents_describe_this_server() {
    let app = spawn_app().await;
    let oidc: Value = app
        .client
        .get(app.url("/.well-known/openid-configuration"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let oauth: Value = app
        .client
        .get(app.url("/.well-known/oauth-authorization-server"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(oidc, oauth);
    assert_eq!(oidc["issuer"], ISSUER);
    for field in [
        "token_endpoint",
        "jwks_uri",
        "revocation_endpoint",
        "introspection_endpoint",
        "userinfo_endpoint",
    ] {
        let url = oidc[field]
            .as_str()
            .unwrap_or_else(|| panic!("{field} present"));
        assert!(url.starts_with(ISSUER), "{field} = {url}");
    }
    assert_eq!(oidc["token_endpoint"], format!("{ISSUER}/auth/token"));
    assert_eq!(oidc["jwks_uri"], format!("{ISSUER}/.well-known/jwks.json"));
    assert_eq!(
        oidc["id_token_signing_alg_values_supported"],
        serde_json::json!(["ES256"])
    );
    assert!(oidc["grant_types_supported"]
        .as_array()
        .unwrap()
        .contains(&"password".into()));
    for field in [
        "token_endpoint_auth_methods_supported",
        "scopes_supported",
        "claims_supported",
    ] {
        assert!(oidc[field].is_array(), "{field}");
    }
}

#[tokio::test]
async fn every_response_carries_nosniff_and_no_server_banner() {
    let app = spawn_app().await;
    for path in [
        "/healthz",
        "/.well-known/jwks.json",
        "/auth/userinfo",
        "/nope",
    ] {
        let response = app.client.get(app.url(path)).send().await.unwrap();
        assert_eq!(
            response.headers()["x-content-type-options"],
            "nosniff",
            "{path}"
        );
        assert!(response.headers().get("server").is_none(), "{path}");
        assert!(response.headers().contains_key("x-request-id"), "{path}");
    }
}
