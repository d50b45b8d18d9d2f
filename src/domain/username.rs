use std::fmt;

use unicode_normalization::UnicodeNormalization;

/// A login name in normalized form: Unicode NFKC, lowercased, 1 to 64 characters of
/// letters, digits and `. _ - @ +`. Two spellings that normalize alike are one user.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Username(String);

impl Username {
    pub const MAX_CHARS: usize = 64;

    pub fn parse(raw: &str) -> Result<Self, String> {
        // Bound the work before normalizing: NFKC can expand, but not below this.
        if raw.len() > Self::MAX_CHARS * 4 {
            return Err(format!(
                "username is longer than {} characters",
                Self::MAX_CHARS
            ));
        }
        let normalized: String = raw.trim().nfkc().flat_map(char::to_lowercase).collect();
        let count = normalized.chars().count();
        if count == 0 {
            return Err("username is empty".to_owned());
        }
        if count > Self::MAX_CHARS {
            return Err(format!(
                "username is longer than {} characters",
                Self::MAX_CHARS
            ));
        }
        if !normalized
            .chars()
            .all(|c| c.is_alphanumeric() || "._-@+".contains(c))
        {
            return Err("username may only contain letters, digits and . _ - @ +".to_owned());
        }
        Ok(Self(normalized))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Username {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::Username;

    #[test]
    fn usernames_are_trimmed_and_lowercased() {
        assert_eq!(Username::parse("  Alice ").unwrap().as_str(), "alice");
    }

    #[test]
    fn compatibility_forms_normalize_to_one_name() {
        // Fullwidth letters are NFKC-equivalent to ASCII.
        assert_eq!(
            Username::parse("ＡＬＩＣＥ").unwrap(),
            Username::parse("alice").unwrap()
        );
    }

    #[test]
    fn empty_long_and_odd_names_are_rejected() {
        assert!(Username::parse("").is_err());
        assert!(Username::parse("   ").is_err());
        assert!(Username::parse(&"a".repeat(65)).is_err());
        assert!(Username::parse("a b").is_err());
        assert!(Username::parse("a\u{0}b").is_err());
        assert!(Username::parse("a/b").is_err());
        assert!(Username::parse(&"a".repeat(64)).is_ok());
        assert!(Username::parse("first.last+tag@example.com").is_ok());
    }
}
