use std::fmt;

/// An e-mail address as a user profile member (admin-api.md §2): the length limits of
/// RFC 5321 §4.5.3.1 (local part at most 64 octets, the whole address at most 254, what
/// fits a 256-octet path with its angle brackets), exactly one `@`, a domain of
/// non-empty dot-separated labels of at most 63 octets, no whitespace or control
/// characters. Not an RFC 5322 parser: quoted local parts and comments are refused, and
/// non-ASCII is allowed (RFC 6531). The domain is lowercased (it is case-insensitive);
/// the local part is kept as given (RFC 5321 §2.4 leaves its case to the receiving host).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Email(String);

impl Email {
    pub const MAX_BYTES: usize = 254;
    pub const MAX_LOCAL_BYTES: usize = 64;
    pub const MAX_LABEL_BYTES: usize = 63;

    /// Parses an address; surrounding whitespace is trimmed. Errors are one line.
    pub fn parse(raw: &str) -> Result<Self, String> {
        let raw = raw.trim();
        if raw.is_empty() {
            return Err("email is empty".to_owned());
        }
        if raw.len() > Self::MAX_BYTES {
            return Err(format!("email is longer than {} bytes", Self::MAX_BYTES));
        }
        if raw.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err("email may not contain spaces or control characters".to_owned());
        }
        if raw.contains(['"', '(', ')', '<', '>', ',', ';', '\\', '[', ']']) {
            return Err("email must be a plain address like name@example.com".to_owned());
        }
        let (local, domain) = match raw.split_once('@') {
            Some((local, domain)) if !domain.contains('@') => (local, domain),
            _ => return Err("email must contain exactly one @".to_owned()),
        };
        if local.is_empty() || local.len() > Self::MAX_LOCAL_BYTES {
            return Err(format!(
                "the part of email before @ must be 1 to {} bytes",
                Self::MAX_LOCAL_BYTES
            ));
        }
        if local.starts_with('.') || local.ends_with('.') || local.contains("..") {
            return Err("the part of email before @ has a misplaced dot".to_owned());
        }
        if domain.is_empty()
            || domain
                .split('.')
                .any(|label| label.is_empty() || label.len() > Self::MAX_LABEL_BYTES)
        {
            return Err(
                "the domain of email must be dot-separated names of 1 to 63 bytes".to_owned(),
            );
        }
        if domain
            .split('.')
            .any(|label| label.starts_with('-') || label.ends_with('-'))
        {
            return Err("a name in the domain of email starts or ends with -".to_owned());
        }
        Ok(Self(format!("{local}@{}", domain.to_lowercase())))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn into_string(self) -> String {
        self.0
    }
}

impl fmt::Display for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::Email;

    #[test]
    fn plain_addresses_parse_and_their_domain_is_lowercased() {
        assert_eq!(
            Email::parse(" Jane.Doe+tag@Example.COM ").unwrap().as_str(),
            "Jane.Doe+tag@example.com"
        );
        assert!(Email::parse("a@b").is_ok());
        assert!(Email::parse("jörg@bücher.example").is_ok());
    }

    #[test]
    fn anything_but_exactly_one_at_is_refused() {
        for bad in [
            "",
            "   ",
            "jane",
            "jane@",
            "@example.com",
            "a@b@c",
            "jane@@example.com",
        ] {
            assert!(Email::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn spaces_control_characters_and_rfc_5322_syntax_are_refused() {
        for bad in [
            "jane doe@example.com",
            "jane@exa mple.com",
            "jane\t@example.com",
            "jane\u{0}@example.com",
            "jane\u{7f}@example.com",
            "\"jane\"@example.com",
            "Jane <jane@example.com>",
            "jane@[127.0.0.1]",
            "a,b@example.com",
        ] {
            assert!(Email::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn the_rfc_5321_length_limits_hold() {
        let local = "a".repeat(64);
        assert!(Email::parse(&format!("{local}@example.com")).is_ok());
        assert!(Email::parse(&format!("{local}a@example.com")).is_err());
        let label = "b".repeat(63);
        assert!(Email::parse(&format!("a@{label}.com")).is_ok());
        assert!(Email::parse(&format!("a@{label}b.com")).is_err());
        // 254 bytes in all is the most.
        let domain = format!(
            "{}.{}.{}.{}",
            "c".repeat(63),
            "d".repeat(63),
            "e".repeat(63),
            "f".repeat(59)
        );
        assert_eq!(format!("ab@{domain}").len(), 254);
        assert!(Email::parse(&format!("ab@{domain}")).is_ok());
        assert!(Email::parse(&format!("abc@{domain}")).is_err());
    }

    #[test]
    fn dots_and_hyphens_in_odd_places_are_refused() {
        for bad in [
            ".jane@example.com",
            "jane.@example.com",
            "ja..ne@example.com",
            "jane@example..com",
            "jane@.example.com",
            "jane@example.com.",
            "jane@-example.com",
            "jane@example-.com",
        ] {
            assert!(Email::parse(bad).is_err(), "{bad:?}");
        }
    }
}
