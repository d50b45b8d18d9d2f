use std::fmt;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use rand::rngs::OsRng;
use rand::RngCore;
use secrecy::{ExposeSecret, SecretString};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// A confidential client's secret. Secrets are high-entropy (at least 32 characters, or
/// 256 random bits when authd generates them), so a SHA-256 digest compared in constant
/// time protects them at rest; a slow password hash would only cap the token rate.
#[derive(Debug, Clone)]
pub struct ClientSecret(SecretString);

impl ClientSecret {
    /// Generated secrets start with this, so secret scanners can spot a leaked one.
    pub const PREFIX: &'static str = "authd_cs_";
    pub const MIN_CHARS: usize = 32;
    pub const MAX_BYTES: usize = 512;

    /// A secret chosen by an operator: 32 to 512 visible ASCII characters (RFC 6749
    /// Appendix A.2, VSCHAR).
    pub fn parse_new(raw: &str) -> Result<Self, String> {
        if raw.len() < Self::MIN_CHARS {
            return Err(format!(
                "a client secret must be at least {} characters (or use --generate-secret)",
                Self::MIN_CHARS
            ));
        }
        Self::parse(raw)
            .ok_or_else(|| "a client secret must be at most 512 visible ASCII characters".into())
    }

    /// A secret presented by a client: any visible ASCII value up to the limit. Too short
    /// to be one of ours is still parsed, so it fails like any wrong secret.
    pub fn parse(raw: &str) -> Option<Self> {
        let valid = !raw.is_empty()
            && raw.len() <= Self::MAX_BYTES
            && raw.bytes().all(|b| (0x20..=0x7e).contains(&b));
        valid.then(|| Self(SecretString::from(raw.to_owned())))
    }

    /// 256 random bits from the OS CSPRNG, base64url, with the prefix.
    pub fn generate() -> Self {
        let mut bytes = [0u8; 32];
        OsRng.fill_bytes(&mut bytes);
        Self(SecretString::from(format!(
            "{}{}",
            Self::PREFIX,
            URL_SAFE_NO_PAD.encode(bytes)
        )))
    }

    pub fn digest(&self) -> SecretDigest {
        SecretDigest(Sha256::digest(self.0.expose_secret().as_bytes()).into())
    }

    pub fn expose(&self) -> &str {
        self.0.expose_secret()
    }
}

/// The SHA-256 of a client secret, as stored.
#[derive(Clone, PartialEq, Eq)]
pub struct SecretDigest(pub [u8; 32]);

impl SecretDigest {
    /// Constant-time: how much of a guess matched never shows in the response time.
    pub fn matches(&self, presented: &ClientSecret) -> bool {
        self.0.ct_eq(&presented.digest().0).into()
    }
}

impl fmt::Debug for SecretDigest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SecretDigest([redacted])")
    }
}

#[cfg(test)]
mod tests {
    use super::ClientSecret;

    #[test]
    fn operator_secrets_are_long_visible_ascii() {
        assert!(ClientSecret::parse_new(&"s".repeat(31)).is_err());
        assert!(ClientSecret::parse_new(&"s".repeat(32)).is_ok());
        assert!(ClientSecret::parse_new(&"s".repeat(513)).is_err());
        assert!(ClientSecret::parse_new(&format!("{}\u{e9}", "s".repeat(32))).is_err());
    }

    #[test]
    fn generated_secrets_are_prefixed_and_unique() {
        let a = ClientSecret::generate();
        assert!(a.expose().starts_with("authd_cs_"));
        assert_eq!(a.expose().len(), 9 + 43);
        assert_ne!(a.expose(), ClientSecret::generate().expose());
    }

    #[test]
    fn a_digest_matches_only_its_secret() {
        let a = ClientSecret::generate();
        let digest = a.digest();
        assert!(digest.matches(&ClientSecret::parse(a.expose()).unwrap()));
        assert!(!digest.matches(&ClientSecret::generate()));
        assert!(!format!("{digest:?} {a:?}").contains(&a.expose()[9..]));
    }
}
