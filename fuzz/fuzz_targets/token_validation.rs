//! Arbitrary bytes as a bearer token: validation must never panic, and whatever it
//! accepts must satisfy spec §4 (it cannot, without our key: so nothing is accepted).
#![no_main]

use libfuzzer_sys::fuzz_target;

#[path = "common.rs"]
mod common;

fuzz_target!(|data: &[u8]| {
    let Ok(token) = std::str::from_utf8(data) else {
        return;
    };
    let f = common::fixture();
    if let Ok(claims) = f.validator.validate(token, common::NOW) {
        panic!("a token not signed by us was accepted: {claims:?}");
    }
});
