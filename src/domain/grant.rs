use std::fmt;

/// An RFC 6749 `grant_type` authd implements (spec §1, §3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum GrantType {
    /// RFC 6749 §4.3
    Password,
    /// RFC 6749 §6
    RefreshToken,
    /// RFC 6749 §4.4
    ClientCredentials,
}

impl GrantType {
    pub const ALL: [GrantType; 3] = [
        GrantType::Password,
        GrantType::RefreshToken,
        GrantType::ClientCredentials,
    ];

    pub fn parse(raw: &str) -> Result<Self, String> {
        Self::ALL
            .into_iter()
            .find(|g| g.as_str() == raw)
            .ok_or_else(|| {
                format!("unknown grant {raw:?}: use password, refresh_token or client_credentials")
            })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Password => "password",
            Self::RefreshToken => "refresh_token",
            Self::ClientCredentials => "client_credentials",
        }
    }
}

impl fmt::Display for GrantType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::GrantType;

    #[test]
    fn grant_types_are_the_rfc_strings() {
        for g in GrantType::ALL {
            assert_eq!(GrantType::parse(g.as_str()).unwrap(), g);
        }
        assert!(GrantType::parse("implicit").is_err());
        assert!(GrantType::parse("Password").is_err());
    }
}
