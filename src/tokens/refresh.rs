//! Refresh tokens (spec §2): opaque, 256 random bits from the OS CSPRNG, base64url,
//! with a fixed prefix secret scanners can spot. Only the SHA-256 is ever stored.

use std::fmt;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use rand::rngs::OsRng;
use rand::RngCore;
use sha2::{Digest, Sha256};

pub const REFRESH_TOKEN_PREFIX: &str = "authd_rt_";
/// 32 random bytes are 43 base64url characters.
const RANDOM_CHARS: usize = 43;

/// A refresh token value. `Debug` never shows it.
#[derive(Clone, PartialEq, Eq)]
pub struct RefreshToken(String);

impl RefreshToken {
    pub fn generate() -> Self {
        let mut bytes = [0u8; 32];
        OsRng.fill_bytes(&mut bytes);
        Self(format!(
            "{REFRESH_TOKEN_PREFIX}{}",
            URL_SAFE_NO_PAD.encode(bytes)
        ))
    }

    /// A presented value, if it has our shape; anything else cannot be one of ours.
    pub fn parse(raw: &str) -> Option<Self> {
        let random = raw.strip_prefix(REFRESH_TOKEN_PREFIX)?;
        let valid = random.len() == RANDOM_CHARS
            && random
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        valid.then(|| Self(raw.to_owned()))
    }

    /// The SHA-256 under which the token is stored and looked up.
    pub fn hash(&self) -> [u8; 32] {
        Sha256::digest(self.0.as_bytes()).into()
    }

    pub fn expose(&self) -> &str {
        &self.0
    }

    pub fn into_string(self) -> String {
        self.0
    }
}

impl fmt::Debug for RefreshToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("RefreshToken([redacted])")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_tokens_have_the_prefix_and_256_bits() {
        let token = RefreshToken::generate();
        assert!(token.expose().starts_with("authd_rt_"));
        assert_eq!(
            URL_SAFE_NO_PAD.decode(&token.expose()[9..]).unwrap().len(),
            32
        );
        assert_eq!(RefreshToken::parse(token.expose()), Some(token.clone()));
        assert_ne!(RefreshToken::generate(), token);
    }

    #[test]
    fn other_shapes_are_not_refresh_tokens() {
        assert!(RefreshToken::parse("authd_rt_short").is_none());
        assert!(RefreshToken::parse(&format!("other_{}", "a".repeat(43))).is_none());
        assert!(RefreshToken::parse(&format!("authd_rt_{}", "+".repeat(43))).is_none());
    }

    #[test]
    fn debug_hides_the_value() {
        let token = RefreshToken::generate();
        assert!(!format!("{token:?}").contains(&token.expose()[9..]));
    }
}
