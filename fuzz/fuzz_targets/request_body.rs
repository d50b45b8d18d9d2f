//! Arbitrary bytes as a token-endpoint body, form and JSON: parsing never panics, and
//! what it accepts has no empty value (duplicates and non-UTF-8 are refused).
#![no_main]

use authd::routes::body::{parse, BodyKind};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    for kind in [BodyKind::Form, BodyKind::Json] {
        if let Ok(mut params) = parse(kind, data) {
            for name in [
                "grant_type",
                "username",
                "password",
                "refresh_token",
                "scope",
            ] {
                if let Some(value) = params.take(name) {
                    assert!(!value.is_empty(), "{name} accepted empty");
                }
            }
        }
    }
    // The strict JSON reader never accepts what serde_json rejects.
    if authd::json::check(data).is_ok() {
        assert!(serde_json::from_slice::<serde_json::Value>(data).is_ok());
    }
});
