//! Strict JSON: a document with a duplicated object member is rejected, at any depth.
//! serde_json keeps the last of two equal keys silently, which lets an attacker hide a
//! second `alg` or `sub` behind the first one a different parser would read (spec §3, §4).

use std::collections::HashSet;
use std::fmt;

use serde::de::{
    self, DeserializeOwned, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor,
};

/// Parses `bytes` as `T`, first rejecting duplicate members anywhere in the document.
pub fn from_slice<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, serde_json::Error> {
    let mut de = serde_json::Deserializer::from_slice(bytes);
    NoDuplicates.deserialize(&mut de)?;
    de.end()?;
    serde_json::from_slice(bytes)
}

/// Walks a JSON value and fails on the first object with a repeated key.
struct NoDuplicates;

impl<'de> DeserializeSeed<'de> for NoDuplicates {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for NoDuplicates {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_bool<E>(self, _: bool) -> Result<(), E> {
        Ok(())
    }
    fn visit_i64<E>(self, _: i64) -> Result<(), E> {
        Ok(())
    }
    fn visit_u64<E>(self, _: u64) -> Result<(), E> {
        Ok(())
    }
    fn visit_f64<E>(self, _: f64) -> Result<(), E> {
        Ok(())
    }
    fn visit_str<E>(self, _: &str) -> Result<(), E> {
        Ok(())
    }
    fn visit_unit<E>(self) -> Result<(), E> {
        Ok(())
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        while seq.next_element_seed(NoDuplicates)?.is_some() {}
        Ok(())
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let mut seen = HashSet::new();
        while let Some(key) = map.next_key::<String>()? {
            if !seen.insert(key) {
                return Err(de::Error::custom("duplicate member in JSON object"));
            }
            map.next_value_seed(NoDuplicates)?;
        }
        Ok(())
    }
}

/// Checks that `bytes` is one JSON document, without duplicate members, that serde_json
/// reads as a `Value`. (Parsing into `Value`, not `IgnoredAny`: serde_json refuses an
/// object whose key is its private RawValue marker as a `Value` but skips it as
/// `IgnoredAny`; the fuzzer found the difference, see docs/SECURITY.md.)
pub fn check(bytes: &[u8]) -> Result<(), serde_json::Error> {
    from_slice::<serde_json::Value>(bytes).map(|_| ())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn duplicate_members_are_rejected_at_any_depth() {
        assert!(check(br#"{"a":1,"a":2}"#).is_err());
        assert!(check(br#"{"x":{"a":1,"a":2}}"#).is_err());
        assert!(check(br#"[{"a":1},{"a":1,"b":[{"c":1,"c":1}]}]"#).is_err());
    }

    #[test]
    fn ordinary_documents_pass() {
        assert!(check(br#"{"a":1,"b":{"a":2},"c":[1,"x",null,true,1.5]}"#).is_ok());
    }

    #[test]
    fn serde_jsons_private_marker_key_is_refused_like_serde_json_does() {
        // Found by fuzz/request_body (crash-797351b6...): accepted before, refused by
        // serde_json as a Value.
        let doc = br#"{"$serde_json::private::RawValue":"p","":null}"#;
        assert_eq!(
            check(doc).is_ok(),
            serde_json::from_slice::<serde_json::Value>(doc).is_ok()
        );
    }

    #[test]
    fn trailing_garbage_and_deep_nesting_are_errors_not_panics() {
        assert!(check(br#"{"a":1} x"#).is_err());
        let deep = "[".repeat(10_000) + &"]".repeat(10_000);
        assert!(check(deep.as_bytes()).is_err());
    }
}
