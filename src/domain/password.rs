use secrecy::{ExposeSecret, SecretString};

/// A password as typed. Never printed: `Debug` is redacted by `SecretString`.
#[derive(Debug, Clone)]
pub struct Password(SecretString);

impl Password {
    /// Longest accepted password in bytes; argon2 cost does not depend on it, but an
    /// upper bound keeps request handling predictable.
    pub const MAX_BYTES: usize = 1024;
    /// Shortest password accepted when one is set (NIST SP 800-63B).
    pub const MIN_CHARS: usize = 8;

    /// A password presented at login: any non-empty value up to the limit.
    pub fn parse(raw: &str) -> Result<Self, String> {
        if raw.is_empty() {
            return Err("password is empty".to_owned());
        }
        if raw.len() > Self::MAX_BYTES {
            return Err(format!("password is longer than {} bytes", Self::MAX_BYTES));
        }
        Ok(Self(SecretString::from(raw.to_owned())))
    }

    /// A password being set for a user: the login rules plus a minimum length.
    pub fn parse_new(raw: &str) -> Result<Self, String> {
        let password = Self::parse(raw)?;
        if raw.chars().count() < Self::MIN_CHARS {
            return Err(format!(
                "password must be at least {} characters",
                Self::MIN_CHARS
            ));
        }
        Ok(password)
    }

    pub fn expose(&self) -> &str {
        self.0.expose_secret()
    }
}

#[cfg(test)]
mod tests {
    use super::Password;

    #[test]
    fn login_passwords_must_be_non_empty_and_bounded() {
        assert!(Password::parse("").is_err());
        assert!(Password::parse("x").is_ok());
        assert!(Password::parse(&"x".repeat(1024)).is_ok());
        assert!(Password::parse(&"x".repeat(1025)).is_err());
    }

    #[test]
    fn new_passwords_have_a_minimum_length() {
        assert!(Password::parse_new("short").is_err());
        assert!(Password::parse_new("eight ch").is_ok());
    }

    #[test]
    fn debug_does_not_show_the_password() {
        let p = Password::parse("hunter2-secret").unwrap();
        assert!(!format!("{p:?}").contains("hunter2"));
    }
}
