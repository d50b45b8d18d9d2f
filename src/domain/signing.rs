//! What names a signing key: its algorithm and its id (spec §5). The keys themselves
//! are `crate::keys`.

use std::fmt;
use std::str::FromStr;

/// The JWS algorithms authd signs with (spec §5). Never `none`, never HMAC.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Algorithm {
    /// ECDSA on P-256 with SHA-256; the default.
    Es256,
    /// RSASSA-PKCS1-v1_5 with SHA-256, 3072-bit keys.
    Rs256,
}

impl Algorithm {
    pub const ALL: [Algorithm; 2] = [Self::Es256, Self::Rs256];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Es256 => "ES256",
            Self::Rs256 => "RS256",
        }
    }

    pub fn jwt(self) -> jsonwebtoken::Algorithm {
        match self {
            Self::Es256 => jsonwebtoken::Algorithm::ES256,
            Self::Rs256 => jsonwebtoken::Algorithm::RS256,
        }
    }
}

impl FromStr for Algorithm {
    type Err = String;

    fn from_str(raw: &str) -> Result<Self, String> {
        match raw {
            "ES256" => Ok(Self::Es256),
            "RS256" => Ok(Self::Rs256),
            other => Err(format!("unknown signing algorithm {other:?}")),
        }
    }
}

impl fmt::Display for Algorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A key id: the RFC 7638 JWK SHA-256 thumbprint, base64url without padding (43 chars).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Kid(String);

impl Kid {
    pub fn parse(raw: &str) -> Result<Self, String> {
        let valid = raw.len() == 43
            && raw
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        if valid {
            Ok(Self(raw.to_owned()))
        } else {
            Err(format!(
                "{raw:?} is not a key id (a 43-character JWK thumbprint)"
            ))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Kid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}
