use std::fmt;

/// An OAuth client identifier (RFC 6749 §2.2, VSCHAR): 1 to 128 visible ASCII characters.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ClientId(String);

impl ClientId {
    pub fn parse(raw: &str) -> Result<Self, String> {
        if (1..=128).contains(&raw.len()) && raw.bytes().all(|b| (0x20..=0x7e).contains(&b)) {
            Ok(Self(raw.to_owned()))
        } else {
            Err("client_id must be 1-128 visible ASCII characters".to_owned())
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for ClientId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::ClientId;

    #[test]
    fn client_ids_are_visible_ascii() {
        assert!(ClientId::parse("app").is_ok());
        assert!(ClientId::parse("").is_err());
        assert!(ClientId::parse("a\nb").is_err());
        assert!(ClientId::parse(&"a".repeat(129)).is_err());
    }
}
