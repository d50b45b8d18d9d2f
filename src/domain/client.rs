//! An OAuth client (RFC 6749 §2) as stored: what it may do and how it authenticates.
//! The registry that loads and checks clients is `crate::clients`.

use std::collections::BTreeSet;

use chrono::{DateTime, SecondsFormat, Utc};
use sha2::{Digest, Sha256};

use super::{ClientId, GrantType, Scopes, SecretDigest};

#[derive(Debug, Clone)]
pub struct Client {
    pub id: ClientId,
    /// The SHA-256 of the secret of a confidential client; `None` for a public one.
    pub secret: Option<SecretDigest>,
    pub grants: BTreeSet<GrantType>,
    /// The `aud` of its access tokens.
    pub audience: Vec<String>,
    /// Scopes the client may request.
    pub scopes: Scopes,
    /// Scopes it gets when it requests none.
    pub default_scopes: Scopes,
    /// `None` for the configured default client, which is not stored.
    pub created_at: Option<DateTime<Utc>>,
    /// When it last changed (as stored); `None` for the default client.
    pub updated_at: Option<DateTime<Utc>>,
    /// The secret a rotation replaced, while it still works.
    pub previous_secret: Option<PreviousSecret>,
}

/// A confidential client's replaced secret and when it stops working
/// (`clients.previous_secret_ttl` after the rotation).
#[derive(Debug, Clone)]
pub struct PreviousSecret {
    pub digest: SecretDigest,
    pub expires_at: DateTime<Utc>,
}

impl Client {
    /// The replaced secret's digest while it works at `now`.
    pub fn live_previous_secret(&self, now: DateTime<Utc>) -> Option<&SecretDigest> {
        self.previous_secret
            .as_ref()
            .filter(|p| now < p.expires_at)
            .map(|p| &p.digest)
    }

    /// A strong entity tag (RFC 9110 §8.8.3) of the stored client that changes on every
    /// change: every write sets `updated_at`, so a digest of the id and `updated_at` at
    /// full precision. `None` for the configured default client, which never changes.
    pub fn etag(&self) -> Option<String> {
        let updated_at = self.updated_at?;
        let digest = Sha256::new()
            .chain_update(self.id.as_str().as_bytes())
            .chain_update([0])
            .chain_update(updated_at.to_rfc3339_opts(SecondsFormat::Nanos, true))
            .finalize();
        let hex: String = digest[..16].iter().map(|b| format!("{b:02x}")).collect();
        Some(format!("\"{hex}\""))
    }

    pub fn is_confidential(&self) -> bool {
        self.secret.is_some()
    }

    pub fn kind(&self) -> &'static str {
        if self.is_confidential() {
            "confidential"
        } else {
            "public"
        }
    }

    pub fn may_use(&self, grant: GrantType) -> bool {
        self.grants.contains(&grant)
    }

    /// Whether a token's `aud` names one of this client's audiences (spec §4).
    pub fn accepts_audience(&self, aud: &[String]) -> bool {
        aud.iter().any(|a| self.audience.contains(a))
    }
}
