//! Signing-key rotation (spec §5): a key is published before it signs, a retired key
//! verifies until nothing it signed can be valid, RS256 beside ES256, several instances
//! agreeing on one ring, and a verifier that caches the JWKS never rejecting a valid token.

use std::collections::HashSet;
use std::time::{Duration, Instant};

use chrono::Utc;
use jsonwebtoken::jwk::{Jwk, JwkSet};
use jsonwebtoken::{DecodingKey, Validation};
use serde_json::Value;

use crate::cli::{assert_one_line_error, stderr, stdout};
use crate::helpers::{run_cli, segment, spawn_app, spawn_app_with, ISSUER, PASSWORD};

async fn jwks(client: &reqwest::Client, base: &str) -> (JwkSet, reqwest::header::HeaderMap) {
    let response = client
        .get(format!("{base}/.well-known/jwks.json"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let headers = response.headers().clone();
    (response.json().await.unwrap(), headers)
}

fn kids(set: &JwkSet) -> Vec<String> {
    set.keys
        .iter()
        .map(|k| k.common.key_id.clone().unwrap())
        .collect()
}

/// The kid printed by `authd keys rotate`: "created key KID (ALG); ...".
fn rotated_kid(output: &std::process::Output) -> String {
    assert!(output.status.success(), "{}", stderr(output));
    let out = stdout(output);
    out.strip_prefix("created key ")
        .and_then(|rest| rest.split(' ').next())
        .unwrap_or_else(|| panic!("unexpected output: {out}"))
        .to_owned()
}

/// Verifies a token the way a standard library does: the key by `kid` from the JWKS,
/// the algorithm from that key.
fn verify_with(set: &JwkSet, token: &str) -> Result<Value, String> {
    let kid = jsonwebtoken::decode_header(token)
        .map_err(|e| e.to_string())?
        .kid
        .ok_or("no kid")?;
    let jwk: &Jwk = set.find(&kid).ok_or_else(|| format!("unknown kid {kid}"))?;
    let alg = jwk.common.key_algorithm.ok_or("jwk without alg")?;
    let alg: jsonwebtoken::Algorithm = alg.to_string().parse().map_err(|_| "bad alg")?;
    let mut validation = Validation::new(alg);
    validation.set_audience(&["api"]);
    validation.set_issuer(&[ISSUER]);
    let key = DecodingKey::from_jwk(jwk).map_err(|e| e.to_string())?;
    jsonwebtoken::decode::<Value>(token, &key, &validation)
        .map(|data| data.claims)
        .map_err(|e| e.to_string())
}

#[tokio::test]
async fn a_rotated_key_is_published_before_it_signs_and_the_old_one_verifies_until_removed() {
    let app = spawn_app().await;
    app.add_user("alice", PASSWORD, &[]).await;
    let old_token = app.login("alice", PASSWORD).await;
    let old_kid = segment(&old_token, 0)["kid"].as_str().unwrap().to_owned();
    let prepublish = chrono::Duration::from_std(app.settings.keys.prepublish).unwrap();
    let grace = chrono::Duration::from_std(
        app.settings
            .keys
            .retired_grace(app.settings.tokens.access_window()),
    )
    .unwrap();

    let new_kid = rotated_kid(&app.cli(&["keys", "rotate"], None));
    assert_ne!(new_kid, old_kid);
    // Time is an input: the lifecycle is driven from the next key's creation time.
    let t0 = app
        .store
        .signing_keys()
        .await
        .unwrap()
        .into_iter()
        .find(|k| k.kid.as_str() == new_kid)
        .unwrap()
        .created_at;
    let (_, before) = jwks(&app.client, &app.address).await;
    app.keys.tick(t0).await.unwrap();

    // Published at once, not signing yet.
    let (set, headers) = jwks(&app.client, &app.address).await;
    assert_eq!(kids(&set), vec![old_kid.clone(), new_kid.clone()]);
    assert_ne!(headers["etag"], before["etag"], "a new ring, a new ETag");
    assert_eq!(
        segment(&app.login("alice", PASSWORD).await, 0)["kid"],
        old_kid.as_str()
    );
    let list = stdout(&app.cli(&["keys", "list"], None));
    assert!(
        list.contains(&format!("{new_kid}\tES256\tnext\t")),
        "{list}"
    );

    // After the pre-publication time it signs; the old key still verifies.
    app.keys.tick(t0 + prepublish).await.unwrap();
    let new_token = app.login("alice", PASSWORD).await;
    assert_eq!(segment(&new_token, 0)["kid"], new_kid.as_str());
    assert_eq!(app.userinfo(&old_token).await.status(), 200);
    assert_eq!(app.userinfo(&new_token).await.status(), 200);
    let list = stdout(&app.cli(&["keys", "list"], None));
    assert!(
        list.contains(&format!("{old_kid}\tES256\tretired\t")),
        "{list}"
    );
    assert!(
        list.contains(&format!("{new_kid}\tES256\tactive\t")),
        "{list}"
    );

    // Through the grace period it stays published ...
    app.keys
        .tick(t0 + prepublish + grace - chrono::Duration::seconds(1))
        .await
        .unwrap();
    assert_eq!(kids(&jwks(&app.client, &app.address).await.0).len(), 2);
    assert_eq!(app.userinfo(&old_token).await.status(), 200);
    // ... then it leaves the JWKS, its file is deleted, and its tokens stop verifying.
    app.keys.tick(t0 + prepublish + grace).await.unwrap();
    assert_eq!(
        kids(&jwks(&app.client, &app.address).await.0),
        vec![new_kid.clone()]
    );
    assert!(!app.keys_dir.join(format!("{old_kid}.pem")).exists());
    assert_eq!(app.userinfo(&old_token).await.status(), 401);
    assert_eq!(app.userinfo(&new_token).await.status(), 200);
}

#[tokio::test]
async fn an_rs256_key_signs_tokens_a_standard_library_verifies_against_the_jwks() {
    let app = spawn_app().await;
    app.add_user("alice", PASSWORD, &[]).await;
    let es_token = app.login("alice", PASSWORD).await;
    let kid = rotated_kid(&app.cli(&["keys", "rotate", "--alg", "RS256", "--now"], None));
    app.keys.tick(Utc::now()).await.unwrap();

    let token = app.login("alice", PASSWORD).await;
    let header = segment(&token, 0);
    assert_eq!(header["alg"], "RS256");
    assert_eq!(header["kid"], kid.as_str());
    let (set, _) = jwks(&app.client, &app.address).await;
    let rsa = set.find(&kid).unwrap();
    let raw: Value = serde_json::to_value(rsa).unwrap();
    assert_eq!(raw["kty"], "RSA");
    assert_eq!(raw["alg"], "RS256");
    assert!(
        raw.get("d").is_none() && raw.get("p").is_none(),
        "public only"
    );
    let n = base64::Engine::decode(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD,
        raw["n"].as_str().unwrap(),
    )
    .unwrap();
    assert_eq!(n.len() * 8, 3072, "3072-bit modulus");

    // Both keys verify with a standard library, each with its own algorithm.
    assert_eq!(
        verify_with(&set, &token).unwrap()["aud"],
        serde_json::json!(["api"])
    );
    verify_with(&set, &es_token).unwrap();
    assert_eq!(app.userinfo(&token).await.status(), 200);
    assert_eq!(app.userinfo(&es_token).await.status(), 200);

    let discovery: Value = app
        .client
        .get(app.url("/.well-known/openid-configuration"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        discovery["id_token_signing_alg_values_supported"],
        serde_json::json!(["ES256", "RS256"])
    );
}

#[tokio::test]
async fn a_token_naming_the_rs256_key_with_another_alg_is_rejected() {
    let app = spawn_app().await;
    app.add_user("alice", PASSWORD, &[]).await;
    rotated_kid(&app.cli(&["keys", "rotate", "--alg", "RS256", "--now"], None));
    app.keys.tick(Utc::now()).await.unwrap();
    let token = app.login("alice", PASSWORD).await;
    // Same signature, header claiming another algorithm of the allowlist.
    let mut header = segment(&token, 0);
    header["alg"] = "ES256".into();
    let forged = format!(
        "{}.{}",
        crate::helpers::b64(header.to_string().as_bytes()),
        token.split_once('.').unwrap().1
    );
    assert_eq!(app.userinfo(&forged).await.status(), 401);
}

#[tokio::test]
async fn key_commands_refuse_what_cannot_work_with_one_line() {
    let app = spawn_app().await;
    let (active, _) = app.signing_key_pem();
    assert_one_line_error(
        &app.cli(&["keys", "rotate", "--alg", "HS256"], None),
        2,
        "invalid value 'HS256'",
    );
    assert_one_line_error(
        &app.cli(&["keys", "remove", &active], None),
        1,
        "active key cannot be removed",
    );
    assert_one_line_error(
        &app.cli(&["keys", "remove", "../etc"], None),
        1,
        "not a key id",
    );
    let next = rotated_kid(&app.cli(&["keys", "rotate"], None));
    assert_one_line_error(&app.cli(&["keys", "rotate"], None), 1, "already waiting");

    // A kid is base64url and may start with '-': still taken as the kid.
    assert_one_line_error(
        &app.cli(&["keys", "remove", "-lnot-a-kid"], None),
        1,
        "not a key id",
    );
    // Emergency removal of a published key: gone from the ring and the directory.
    let output = app.cli(&["keys", "remove", &next], None);
    assert!(output.status.success(), "{}", stderr(&output));
    assert!(!app.keys_dir.join(format!("{next}.pem")).exists());
    app.keys.tick(Utc::now()).await.unwrap();
    assert_eq!(kids(&jwks(&app.client, &app.address).await.0), vec![active]);
}

#[tokio::test]
async fn bad_key_files_stop_startup_with_one_line_saying_what_to_do() {
    use p256::pkcs8::{DecodePrivateKey, LineEnding};
    use std::os::unix::fs::PermissionsExt;
    let app = spawn_app().await;
    let (kid, pem) = app.signing_key_pem();
    let file = app.keys_dir.join(format!("{kid}.pem"));
    let serve = || {
        run_cli(
            &app.db.url,
            &app.keys_dir,
            &["serve"],
            None,
            &[("AUTHD__SERVER__BIND", "127.0.0.1:0")],
        )
    };
    let write = |content: &str, mode: u32| {
        std::fs::write(&file, content).unwrap();
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(mode)).unwrap();
    };

    write(&pem, 0o644);
    assert_one_line_error(&serve(), 1, "chmod 600");

    write("not a key at all\n", 0o600);
    assert_one_line_error(&serve(), 1, "is not a PKCS#8 PEM ES256 private key");

    let sec1 = p256::SecretKey::from_pkcs8_pem(&pem)
        .unwrap()
        .to_sec1_pem(LineEnding::LF)
        .unwrap();
    write(&sec1, 0o600);
    assert_one_line_error(&serve(), 1, "openssl pkcs8 -topk8");

    std::fs::remove_file(&file).unwrap();
    assert_one_line_error(&serve(), 1, "cannot read it");
    write(&pem, 0o600);
}

#[tokio::test]
async fn a_rotation_through_one_instance_reaches_the_other_within_the_refresh_interval() {
    let app = spawn_app_with(|s| {
        s.keys.refresh_interval = Duration::from_secs(1);
        s.keys.prepublish = Duration::from_secs(30);
    })
    .await;
    let sibling = app.sibling().await;
    let kid = rotated_kid(&app.cli(&["keys", "rotate"], None));
    let start = Instant::now();
    loop {
        if kids(&jwks(&app.client, &sibling.address).await.0).contains(&kid) {
            break;
        }
        // One refresh interval, plus slack for a loaded machine.
        assert!(
            start.elapsed() < Duration::from_secs(4),
            "the other instance did not publish the new key"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn a_scheduled_rotation_with_two_instances_running_happens_once() {
    let app = spawn_app_with(|s| {
        s.keys.refresh_interval = Duration::from_secs(1);
        s.keys.prepublish = Duration::from_secs(5);
        s.keys.rotate_every = Duration::from_secs(7);
    })
    .await;
    let _sibling = app.sibling().await;
    // The next key is due 2 s after the first one became active; wait for it, then
    // give both instances time to have acted on it.
    let start = Instant::now();
    while app.store.signing_keys().await.unwrap().len() < 2 {
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "no scheduled rotation"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    tokio::time::sleep(Duration::from_millis(2500)).await;
    let keys = app.store.signing_keys().await.unwrap();
    assert_eq!(keys.len(), 2, "exactly one next key: {keys:?}");
    let files = std::fs::read_dir(&app.keys_dir).unwrap().count();
    assert_eq!(
        files, 2,
        "the instance that lost the race deleted its key file"
    );
}

/// A verifier as the spec expects one: caches the JWKS for its `max-age` and refetches
/// once when a token names a kid it does not have.
struct CachingVerifier {
    client: reqwest::Client,
    base: String,
    set: JwkSet,
    expires: Instant,
    fetches: usize,
}

impl CachingVerifier {
    async fn new(base: &str) -> Self {
        let mut v = Self {
            client: reqwest::Client::new(),
            base: base.to_owned(),
            set: JwkSet { keys: Vec::new() },
            expires: Instant::now(),
            fetches: 0,
        };
        v.fetch().await;
        v
    }

    async fn fetch(&mut self) {
        let (set, headers) = jwks(&self.client, &self.base).await;
        let max_age: u64 = headers["cache-control"]
            .to_str()
            .unwrap()
            .split("max-age=")
            .nth(1)
            .unwrap()
            .parse()
            .unwrap();
        self.set = set;
        self.expires = Instant::now() + Duration::from_secs(max_age);
        self.fetches += 1;
    }

    async fn verify(&mut self, token: &str) -> Result<Value, String> {
        if Instant::now() >= self.expires {
            self.fetch().await;
        }
        match verify_with(&self.set, token) {
            Err(e) if e.starts_with("unknown kid") => {
                self.fetch().await;
                verify_with(&self.set, token)
            }
            other => other,
        }
    }
}

#[tokio::test]
async fn a_caching_verifier_never_rejects_a_valid_token_across_several_rotations() {
    let app = spawn_app_with(|s| {
        s.keys.refresh_interval = Duration::from_secs(1);
        s.keys.prepublish = Duration::from_secs(2);
        s.keys.rotate_every = Duration::from_secs(3);
    })
    .await;
    let sibling = app.sibling().await;
    let secret = app
        .add_client("job", true, &["client_credentials"], &["api"], "")
        .await
        .unwrap();
    let rs = app.add_client("rs", true, &[], &["rs"], "").await.unwrap();
    let instances = [app.address.clone(), sibling.address.clone()];
    let mut verifiers = [
        CachingVerifier::new(&instances[0]).await,
        CachingVerifier::new(&instances[1]).await,
    ];
    let mut seen = HashSet::new();
    let mut issued = 0usize;
    let start = Instant::now();
    // Bounded: at most 20 s and 3,000 tokens; done once three rotations were seen.
    while seen.len() < 4 && start.elapsed() < Duration::from_secs(20) && issued < 3000 {
        let signer = issued % 2;
        let body: Value = app
            .client
            .post(format!("{}/auth/token", instances[signer]))
            .basic_auth("job", Some(&secret))
            .form(&[("grant_type", "client_credentials")])
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let token = body["access_token"].as_str().unwrap().to_owned();
        seen.insert(segment(&token, 0)["kid"].as_str().unwrap().to_owned());
        // Offline verifiers of both instances' JWKS, and the other instance itself.
        for verifier in verifiers.iter_mut() {
            if let Err(e) = verifier.verify(&token).await {
                panic!("token {issued} rejected by a caching verifier: {e}");
            }
        }
        let introspection: Value = app
            .client
            .post(format!("{}/auth/introspect", instances[1 - signer]))
            .basic_auth("rs", Some(&rs))
            .form(&[("token", token.as_str())])
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(
            introspection["active"], true,
            "token {issued} at the other instance"
        );
        issued += 1;
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(
        seen.len() >= 3,
        "expected at least two rotations, saw {} keys in {issued} tokens",
        seen.len()
    );
    assert!(
        verifiers.iter().all(|v| v.fetches >= 2),
        "the caches were refreshed"
    );
}
