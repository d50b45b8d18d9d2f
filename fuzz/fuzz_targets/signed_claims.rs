//! Arbitrary header and claims JSON, correctly signed with our key: exercises every
//! check after the signature (typ, crit, kid/alg, duplicate members, claim types, times)
//! on hostile JSON. Never panics; anything accepted meets the rules.
#![no_main]

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use libfuzzer_sys::fuzz_target;
use p256::ecdsa::signature::Signer;
use p256::ecdsa::{Signature, SigningKey};
use p256::pkcs8::DecodePrivateKey;

#[path = "common.rs"]
mod common;

fuzz_target!(|data: &[u8]| {
    // Input: header JSON (`{kid}` for our key id), a 0 byte, claims JSON.
    let Some(split) = data.iter().position(|&b| b == 0) else {
        return;
    };
    let f = common::fixture();
    // `{kid}` in the header stands for our key id, which the fuzzer could not guess.
    let header = String::from_utf8_lossy(&data[..split]).replace("{kid}", &f.kid);
    let (header, claims) = (header.as_bytes(), &data[split + 1..]);
    let key = SigningKey::from_pkcs8_pem(&f.pem).expect("key");
    let input = format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(header),
        URL_SAFE_NO_PAD.encode(claims)
    );
    let signature: Signature = key.sign(input.as_bytes());
    let token = format!("{input}.{}", URL_SAFE_NO_PAD.encode(signature.to_bytes()));
    if let Ok(c) = f.validator.validate(&token, common::NOW) {
        assert_eq!(c.iss, common::ISSUER);
        assert!(c.exp + 30 > common::NOW, "expired token accepted");
        assert!(c.nbf <= common::NOW + 30 && c.iat <= common::NOW + 30);
        assert!(c.exp - c.iat <= 600, "lifetime over the access TTL");
        assert!(!c.sub.is_empty() && !c.jti.is_empty());
        let h: serde_json::Value = serde_json::from_slice(header).expect("accepted header is JSON");
        assert_eq!(h["alg"], "ES256");
        assert_eq!(h["kid"], f.kid.as_str());
        assert!(h.get("crit").is_none());
    }
});
