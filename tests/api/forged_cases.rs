//! The forged and broken access tokens of spec §4, built once and shared: the server's
//! suite (forged.rs) requires each to get 401 at userinfo and `active: false` from
//! introspection; authd-verify's suite (verify/tests/authd) requires the library to
//! refuse each. Every forgery starts from a control token the server accepts
//! (`Forger::claims`/`Forger::header`), so a refusal is caused by the one thing a case
//! changes.

use jsonwebtoken::{encode, Algorithm, EncodingKey, Header};
use p256::ecdsa::signature::Signer;
use p256::ecdsa::{Signature, SigningKey};
use p256::pkcs8::EncodePublicKey;
use serde_json::{json, Value};

use crate::forger::Forger;
use crate::helpers::{b64, segment, TestApp, ISSUER, PASSWORD};

/// One forged token and what it tries.
pub struct Forged {
    pub case: String,
    pub token: String,
}

fn case(case: impl Into<String>, token: impl Into<String>) -> Forged {
    Forged {
        case: case.into(),
        token: token.into(),
    }
}

/// Every case below, for a suite that checks them all at once. `app` must have been
/// given to `Forger::new` (which creates alice).
#[allow(dead_code)] // authd-verify's suite; the server's checks them group by group
pub async fn all(app: &TestApp, f: &Forger) -> Vec<Forged> {
    let mut cases = vec![a_refresh_token(app).await, a_tampered_payload(app).await];
    cases.extend(unsigned_alg_none(f));
    cases.extend(hmac_keyed_with_our_public_key(app, f).await);
    cases.extend(claims_outside_the_rules(f));
    cases.extend(headers_outside_the_rules(f));
    cases.extend(duplicate_members(f));
    cases.extend(bad_signatures(f));
    cases.extend(keys_named_in_the_token(f));
    cases.extend(malformed(f));
    cases
}

/// A refresh token of alice's presented as a bearer token.
pub async fn a_refresh_token(app: &TestApp) -> Forged {
    let pair = app.login_pair("alice", PASSWORD).await;
    case(
        "a refresh token as a bearer token",
        pair["refresh_token"].as_str().unwrap(),
    )
}

/// alice's real token with `roles` changed after signing.
pub async fn a_tampered_payload(app: &TestApp) -> Forged {
    let token = app.login("alice", PASSWORD).await;
    let mut claims = segment(&token, 1);
    claims["roles"] = json!(["admin", "root"]);
    let parts: Vec<&str> = token.split('.').collect();
    case(
        "tampered payload",
        format!(
            "{}.{}.{}",
            parts[0],
            b64(claims.to_string().as_bytes()),
            parts[2]
        ),
    )
}

/// `alg: none` in four spellings, with and without the trailing dot.
pub fn unsigned_alg_none(f: &Forger) -> Vec<Forged> {
    let claims = b64(f.claims().to_string().as_bytes());
    let mut cases = Vec::new();
    for alg in ["none", "None", "NONE", "nOnE"] {
        let header = b64(json!({"alg": alg, "typ": "at+jwt", "kid": f.kid})
            .to_string()
            .as_bytes());
        cases.push(case(
            format!("alg {alg} with trailing dot"),
            format!("{header}.{claims}."),
        ));
        cases.push(case(
            format!("alg {alg} without trailing dot"),
            format!("{header}.{claims}"),
        ));
    }
    cases
}

/// HS256/384/512 keyed with our public key in the encodings an attacker would try.
pub async fn hmac_keyed_with_our_public_key(app: &TestApp, f: &Forger) -> Vec<Forged> {
    let jwks: Value = app
        .client
        .get(app.url("/.well-known/jwks.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let public = f
        .key
        .verifying_key()
        .to_public_key_pem(p256::pkcs8::LineEnding::LF)
        .unwrap();
    let der = f.key.verifying_key().to_public_key_der().unwrap();
    let secrets = [
        public.into_bytes(),
        der.as_bytes().to_vec(),
        jwks["keys"][0].to_string().into_bytes(),
    ];
    let mut cases = Vec::new();
    for secret in secrets {
        for alg in [Algorithm::HS256, Algorithm::HS384, Algorithm::HS512] {
            let mut header = Header::new(alg);
            header.typ = Some("at+jwt".into());
            header.kid = Some(f.kid.clone());
            let token = encode(&header, &f.claims(), &EncodingKey::from_secret(&secret)).unwrap();
            cases.push(case(format!("{alg:?} keyed with the public key"), token));
        }
    }
    cases
}

/// Validly signed, with one claim outside the rules.
pub fn claims_outside_the_rules(f: &Forger) -> Vec<Forged> {
    let now = chrono::Utc::now().timestamp();
    let mut no_exp = f.claims();
    no_exp.as_object_mut().unwrap().remove("exp");
    vec![
        case(
            "expired beyond the leeway",
            f.with_claim("exp", json!(now - 120)),
        ),
        case(
            "exp in milliseconds",
            f.with_claim("exp", json!(now * 1000)),
        ),
        case(
            "fractional exp",
            f.with_claim("exp", json!(now as f64 + 600.5)),
        ),
        case("exp as a string", f.with_claim("exp", json!("soon"))),
        case("nbf in the future", f.with_claim("nbf", json!(now + 300))),
        case("iat in the future", f.with_claim("iat", json!(now + 300))),
        case("wrong audience", f.with_claim("aud", json!(["other"]))),
        case(
            "wrong audience as a string",
            f.with_claim("aud", json!("other")),
        ),
        case(
            "wrong issuer",
            f.with_claim("iss", json!("http://evil.test")),
        ),
        case(
            "issuer with a trailing slash",
            f.with_claim("iss", json!(format!("{ISSUER}/"))),
        ),
        case("no exp", f.sign(&f.header(), &no_exp)),
    ]
}

/// Validly signed, with one header member outside the rules.
pub fn headers_outside_the_rules(f: &Forger) -> Vec<Forged> {
    vec![
        case("missing kid", f.without_header("kid")),
        case(
            "unknown kid",
            f.with_header("kid", json!("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")),
        ),
        case(
            "kid with path traversal",
            f.with_header("kid", json!("../../../../etc/passwd")),
        ),
        case("kid with SQL", f.with_header("kid", json!("x' or '1'='1"))),
        case(
            "a very long kid",
            f.with_header("kid", json!("k".repeat(4000))),
        ),
        case("kid as a number", f.with_header("kid", json!(42))),
        case("typ JWT", f.with_header("typ", json!("JWT"))),
        case("missing typ", f.without_header("typ")),
        case(
            "alg other than the key's",
            f.with_header("alg", json!("RS256")),
        ),
        case(
            "alg ES384 on a P-256 key",
            f.with_header("alg", json!("ES384")),
        ),
        case(
            "an unknown crit header",
            f.with_header("crit", json!(["exp"])),
        ),
    ]
}

/// A second `sub` a last-wins parser would read; a second `alg`.
pub fn duplicate_members(f: &Forger) -> Vec<Forged> {
    let claims = f.claims().to_string();
    let duplicated = claims.replacen('{', r#"{"sub":"00000000-0000-0000-0000-000000000000","#, 1);
    let header = format!(
        r#"{{"alg":"ES256","alg":"none","typ":"at+jwt","kid":"{}"}}"#,
        f.kid
    );
    vec![
        case(
            "duplicate sub",
            f.sign_raw(&f.key, &f.header().to_string(), &duplicated),
        ),
        case("duplicate alg", f.sign_raw(&f.key, &header, &claims)),
    ]
}

/// Signatures that must not verify.
pub fn bad_signatures(f: &Forger) -> Vec<Forged> {
    let good = f.sign(&f.header(), &f.claims());
    let signing_input = good.rsplit_once('.').unwrap().0.to_owned();
    let signature: Signature = f.key.sign(signing_input.as_bytes());
    let foreign = SigningKey::random(&mut rand::rngs::OsRng);
    vec![
        // CVE-2022-21449: r = s = 0.
        case("r = s = 0", format!("{signing_input}.{}", b64(&[0u8; 64]))),
        // A DER-encoded signature instead of raw r||s (RFC 7518 §3.4).
        case(
            "DER signature",
            format!("{signing_input}.{}", b64(signature.to_der().as_bytes())),
        ),
        // A valid signature from a foreign key, claiming our kid.
        case(
            "foreign key",
            f.sign_raw(&foreign, &f.header().to_string(), &f.claims().to_string()),
        ),
        case("truncated signature", &good[..good.len() - 4]),
        case("empty signature", format!("{signing_input}.")),
    ]
}

/// `jwk`/`jku`/`x5u`/`x5c` naming the attacker's key, with and without our kid.
pub fn keys_named_in_the_token(f: &Forger) -> Vec<Forged> {
    let attacker = SigningKey::random(&mut rand::rngs::OsRng);
    let point = attacker.verifying_key().to_encoded_point(false);
    let attacker_jwk = json!({"kty": "EC", "crv": "P-256", "x": b64(point.x().unwrap()), "y": b64(point.y().unwrap())});
    let claims = f.claims().to_string();
    let mut cases = Vec::new();
    for (name, value) in [
        ("jwk", attacker_jwk),
        ("jku", json!("http://127.0.0.1:1/jwks.json")),
        ("x5u", json!("http://127.0.0.1:1/cert.pem")),
        ("x5c", json!(["MIIBAAAA"])),
    ] {
        let mut header = f.header();
        header[name] = value;
        cases.push(case(
            format!("{name} with our kid"),
            f.sign_raw(&attacker, &header.to_string(), &claims),
        ));
        header.as_object_mut().unwrap().remove("kid");
        cases.push(case(
            format!("{name} without kid"),
            f.sign_raw(&attacker, &header.to_string(), &claims),
        ));
    }
    cases
}

/// Not a well-formed compact JWS.
pub fn malformed(f: &Forger) -> Vec<Forged> {
    let good = f.sign(&f.header(), &f.claims());
    let parts: Vec<&str> = good.split('.').collect();
    let mut cases = vec![
        case("garbage", "garbage"),
        case("two segments", "a.b"),
        case("four segments", format!("{good}.extra")),
        case("a non-base64url character", good.replacen('.', ".$", 1)),
        case(
            "base64 padding",
            format!("{}=.{}.{}", parts[0], parts[1], parts[2]),
        ),
        case(
            "a token over 8 KiB",
            format!("{}.{}", "A".repeat(8200), "B"),
        ),
    ];
    let standard = good.replace('-', "+").replace('_', "/");
    // Only a case when the token has a '-' or '_' to change.
    if standard != good {
        cases.push(case("standard base64 alphabet", standard));
    }
    cases
}
