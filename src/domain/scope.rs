use std::collections::BTreeSet;

/// A set of OAuth scopes (RFC 6749 §3.3): space-delimited scope-tokens of
/// `%x21 / %x23-5B / %x5D-7E`, order-insensitive, duplicates collapsed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Scopes(BTreeSet<String>);

impl Scopes {
    const MAX_TOKENS: usize = 64;
    const MAX_TOKEN_LEN: usize = 128;

    pub fn parse(raw: &str) -> Result<Self, String> {
        let mut set = BTreeSet::new();
        for token in raw.split(' ').filter(|t| !t.is_empty()) {
            let valid = token.len() <= Self::MAX_TOKEN_LEN
                && token
                    .bytes()
                    .all(|b| b == 0x21 || (0x23..=0x5b).contains(&b) || (0x5d..=0x7e).contains(&b));
            if !valid {
                return Err("scope contains an invalid scope-token".to_owned());
            }
            set.insert(token.to_owned());
        }
        if set.len() > Self::MAX_TOKENS {
            return Err(format!("more than {} scopes", Self::MAX_TOKENS));
        }
        Ok(Self(set))
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn is_subset(&self, allowed: &Scopes) -> bool {
        self.0.is_subset(&allowed.0)
    }

    pub fn iter(&self) -> impl Iterator<Item = &str> {
        self.0.iter().map(String::as_str)
    }

    /// The space-separated form used in responses and the `scope` claim; `None` when empty.
    pub fn to_claim(&self) -> Option<String> {
        if self.0.is_empty() {
            None
        } else {
            Some(self.iter().collect::<Vec<_>>().join(" "))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Scopes;

    #[test]
    fn scopes_are_a_set() {
        let s = Scopes::parse("b a  b").unwrap();
        assert_eq!(s.to_claim().as_deref(), Some("a b"));
        assert!(Scopes::parse("").unwrap().is_empty());
        assert_eq!(Scopes::parse("").unwrap().to_claim(), None);
    }

    #[test]
    fn invalid_scope_tokens_are_rejected() {
        assert!(Scopes::parse("a\"b").is_err());
        assert!(Scopes::parse("a\\b").is_err());
        assert!(Scopes::parse("caf\u{e9}").is_err());
    }

    #[test]
    fn subset_checks_escalation() {
        let allowed = Scopes::parse("read write").unwrap();
        assert!(Scopes::parse("read").unwrap().is_subset(&allowed));
        assert!(!Scopes::parse("read admin").unwrap().is_subset(&allowed));
    }
}
