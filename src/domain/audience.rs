use std::fmt;

/// An `aud` value of a client's access tokens (RFC 7519 §4.1.3): 1 to 256 visible ASCII
/// characters without spaces, usually the resource server's URL or name.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Audience(String);

impl Audience {
    pub fn parse(raw: &str) -> Result<Self, String> {
        if (1..=256).contains(&raw.len()) && raw.bytes().all(|b| (0x21..=0x7e).contains(&b)) {
            Ok(Self(raw.to_owned()))
        } else {
            Err("an audience must be 1-256 visible ASCII characters without spaces".to_owned())
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Audience {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::Audience;

    #[test]
    fn audiences_are_visible_ascii_without_spaces() {
        assert!(Audience::parse("https://api.example.com").is_ok());
        assert!(Audience::parse("").is_err());
        assert!(Audience::parse("two words").is_err());
        assert!(Audience::parse(&"a".repeat(257)).is_err());
    }
}
