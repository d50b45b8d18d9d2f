use std::fmt;

/// A person's name as a profile member: `name`, `given_name` or `family_name`
/// (admin-api.md §2; the OpenID Connect claims of those names, OIDC Core §5.1).
/// Surrounding whitespace is trimmed; 1 to 256 characters; no control characters (they
/// would corrupt the tab-separated `authd user list` and a terminal), which also refuses
/// newlines and tabs.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct PersonName(String);

impl PersonName {
    pub const MAX_CHARS: usize = 256;

    /// Parses a name; `what` names the member in the error (e.g. "given_name").
    pub fn parse(raw: &str, what: &str) -> Result<Self, String> {
        // Bound the work before counting characters.
        if raw.len() > Self::MAX_CHARS * 4 {
            return Err(format!(
                "{what} is longer than {} characters",
                Self::MAX_CHARS
            ));
        }
        let trimmed = raw.trim();
        if trimmed.is_empty() {
            return Err(format!("{what} is empty"));
        }
        if trimmed.chars().count() > Self::MAX_CHARS {
            return Err(format!(
                "{what} is longer than {} characters",
                Self::MAX_CHARS
            ));
        }
        if trimmed.chars().any(char::is_control) {
            return Err(format!("{what} may not contain control characters"));
        }
        Ok(Self(trimmed.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn into_string(self) -> String {
        self.0
    }
}

impl fmt::Display for PersonName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::PersonName;

    #[test]
    fn names_are_trimmed_and_keep_their_spaces_and_case() {
        assert_eq!(
            PersonName::parse("  Jane van der Berg ", "name")
                .unwrap()
                .as_str(),
            "Jane van der Berg"
        );
        assert!(PersonName::parse("Zoë Ångström-李", "name").is_ok());
    }

    #[test]
    fn empty_long_and_control_characters_are_refused_naming_the_member() {
        let err = PersonName::parse("  ", "given_name").unwrap_err();
        assert!(err.contains("given_name"), "{err}");
        assert!(PersonName::parse(&"x".repeat(256), "name").is_ok());
        assert!(PersonName::parse(&"x".repeat(257), "name").is_err());
        assert!(PersonName::parse("Jane\tDoe", "name").is_err());
        assert!(PersonName::parse("Jane\nDoe", "name").is_err());
        assert!(PersonName::parse("Jane\u{1b}[31m", "name").is_err());
    }
}
