//! `VerifyError`: why a token was refused, one variant per check of the contract
//! (verifier.md §1), plus the few ways the verifier itself can be unable to decide.
//!
//! Nothing here carries token material: `Display` and `Debug` print fixed text and, at
//! most, the name of a claim or of a configured scope. A token is a credential (RFC 6750
//! §5.3) and its header is attacker-controlled text that must not reach logs verbatim.

use std::fmt;

/// Why `Verifier::verify` refused a token (or could not decide).
///
/// The token-shaped failures ([`VerifyError::is_invalid_token`]) map to RFC 6750
/// `401 invalid_token`, [`VerifyError::InsufficientScope`] to `403 insufficient_scope`, and
/// the availability failures ([`VerifyError::is_unavailable`]) to `503`: the token may be
/// fine but the verifier cannot tell, so it fails closed.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum VerifyError {
    /// Longer than 8 KiB: refused before any parsing.
    TooLarge,
    /// Not three strict base64url parts, or a header/payload that is not one JSON object
    /// without duplicate members, or a header member of the wrong type.
    Malformed,
    /// The header `typ` is not `at+jwt` (RFC 9068 §4, RFC 8725 §3.11).
    WrongType,
    /// The header has a `crit` member: this verifier implements no JWS extension
    /// (RFC 7515 §4.1.11).
    CriticalHeader,
    /// The header has no `kid`.
    MissingKeyId,
    /// The `kid` names no key of the issuer's JWKS, even after the allowed refetch.
    UnknownKey,
    /// `alg: none` in any spelling: an unsigned token (RFC 8725 §3.2).
    Unsigned,
    /// An algorithm other than ES256 and RS256, e.g. HMAC keyed with a public key
    /// (RFC 8725 §2.1, §3.1).
    DisallowedAlgorithm,
    /// ES256 or RS256, but not the algorithm of the key the `kid` names: each key is used
    /// with exactly one algorithm (RFC 8725 §3.1).
    AlgorithmMismatch,
    /// The signature does not verify with the named key.
    BadSignature,
    /// `iss` is not the configured issuer, exactly (RFC 9068 §4).
    WrongIssuer,
    /// `aud` contains none of the configured audiences (RFC 9068 §4).
    WrongAudience,
    /// The verifier has no audience configured, so it accepts no token (fail closed).
    NoAudienceConfigured,
    /// `exp` is past, beyond the leeway.
    Expired,
    /// `nbf` or `iat` is in the future, beyond the leeway.
    NotYetValid,
    /// `exp - iat` is longer than the configured maximum token lifetime: not a token the
    /// issuer mints (e.g. `exp` written in milliseconds).
    LifetimeTooLong,
    /// A required claim is absent (RFC 9068 §2.2: `iss exp aud sub client_id iat jti`).
    MissingClaim(&'static str),
    /// A claim has the wrong JSON type (e.g. a string `exp`, a fractional NumericDate).
    InvalidClaim(&'static str),
    /// A scope the verifier or the route requires is not granted: `403 insufficient_scope`
    /// (RFC 6750 §3.1). Holds the configured scope, not token data.
    InsufficientScope(String),
    /// Introspection (RFC 7662) answered `active: false`: revoked, or otherwise dead.
    Revoked,
    /// No key set could be obtained (never fetched, and fetching fails or is cooling down).
    KeysUnavailable,
    /// The cached key set is older than its `max-age` plus `stale_if_error` and the issuer
    /// cannot be reached: verification fails closed.
    KeysStale,
    /// Introspection was asked for but did not answer usably: fail closed.
    IntrospectionUnavailable,
}

impl VerifyError {
    /// A short stable name of the failure, for logs, metrics and the `verify` example.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::TooLarge => "too_large",
            Self::Malformed => "malformed",
            Self::WrongType => "wrong_type",
            Self::CriticalHeader => "critical_header",
            Self::MissingKeyId => "missing_kid",
            Self::UnknownKey => "unknown_key",
            Self::Unsigned => "unsigned",
            Self::DisallowedAlgorithm => "disallowed_algorithm",
            Self::AlgorithmMismatch => "algorithm_mismatch",
            Self::BadSignature => "bad_signature",
            Self::WrongIssuer => "wrong_issuer",
            Self::WrongAudience => "wrong_audience",
            Self::NoAudienceConfigured => "no_audience_configured",
            Self::Expired => "expired",
            Self::NotYetValid => "not_yet_valid",
            Self::LifetimeTooLong => "lifetime_too_long",
            Self::MissingClaim(_) => "missing_claim",
            Self::InvalidClaim(_) => "invalid_claim",
            Self::InsufficientScope(_) => "insufficient_scope",
            Self::Revoked => "revoked",
            Self::KeysUnavailable => "keys_unavailable",
            Self::KeysStale => "keys_stale",
            Self::IntrospectionUnavailable => "introspection_unavailable",
        }
    }

    /// The verifier could not decide (keys or introspection unreachable, no audience
    /// configured): a server-side condition, not a verdict on the token.
    pub fn is_unavailable(&self) -> bool {
        matches!(
            self,
            Self::KeysUnavailable
                | Self::KeysStale
                | Self::IntrospectionUnavailable
                | Self::NoAudienceConfigured
        )
    }

    /// The token itself was refused: RFC 6750 `invalid_token`.
    pub fn is_invalid_token(&self) -> bool {
        !self.is_unavailable() && !matches!(self, Self::InsufficientScope(_))
    }
}

impl fmt::Display for VerifyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::TooLarge => f.write_str("token is larger than 8 KiB"),
            Self::Malformed => f.write_str("token is not a well-formed JWS"),
            Self::WrongType => f.write_str("token type is not at+jwt"),
            Self::CriticalHeader => f.write_str("token has a critical header extension"),
            Self::MissingKeyId => f.write_str("token header has no kid"),
            Self::UnknownKey => f.write_str("token kid names no key of the issuer"),
            Self::Unsigned => f.write_str("token is unsigned (alg none)"),
            Self::DisallowedAlgorithm => f.write_str("token algorithm is not ES256 or RS256"),
            Self::AlgorithmMismatch => f.write_str("token algorithm is not its key's algorithm"),
            Self::BadSignature => f.write_str("token signature is invalid"),
            Self::WrongIssuer => f.write_str("token issuer is not the configured issuer"),
            Self::WrongAudience => f.write_str("token audience is not this service"),
            Self::NoAudienceConfigured => f.write_str("verifier has no audience configured"),
            Self::Expired => f.write_str("token expired"),
            Self::NotYetValid => f.write_str("token is not valid yet"),
            Self::LifetimeTooLong => f.write_str("token lifetime is longer than allowed"),
            Self::MissingClaim(name) => write!(f, "token has no {name} claim"),
            Self::InvalidClaim(name) => write!(f, "token {name} claim has the wrong type"),
            Self::InsufficientScope(scope) => write!(f, "token lacks the scope {scope}"),
            Self::Revoked => f.write_str("token is not active (revoked)"),
            Self::KeysUnavailable => f.write_str("issuer keys are unavailable"),
            Self::KeysStale => f.write_str(
                "issuer keys are stale beyond stale_if_error and the issuer is unreachable",
            ),
            Self::IntrospectionUnavailable => f.write_str("token introspection is unavailable"),
        }
    }
}

impl std::error::Error for VerifyError {}

/// Why a verifier could not be set up (discovery, HTTP client).
#[derive(Debug)]
#[non_exhaustive]
pub enum SetupError {
    /// The discovery metadata could not be fetched or read.
    Fetch(FetchError),
    /// The metadata is not what OpenID Connect Discovery 1.0 §3 / RFC 8414 §2 describe.
    InvalidMetadata(&'static str),
    /// The metadata's `issuer` differs from the one asked for (RFC 8414 §3.3, OpenID
    /// Connect Discovery 1.0 §4.3): someone else's metadata, refused.
    IssuerMismatch,
    /// The HTTP client could not be built.
    HttpClient(String),
    /// Neither a JWKS URI nor a fetcher was given to the builder.
    NoKeySource,
}

impl fmt::Display for SetupError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Fetch(e) => write!(f, "discovery: {e}"),
            Self::InvalidMetadata(what) => write!(f, "discovery: invalid metadata: {what}"),
            Self::IssuerMismatch => {
                f.write_str("discovery: the metadata's issuer is not the configured issuer")
            }
            Self::HttpClient(e) => write!(f, "cannot build the HTTP client: {e}"),
            Self::NoKeySource => f.write_str("no JWKS URI or fetcher configured"),
        }
    }
}

impl std::error::Error for SetupError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::Fetch(e) => Some(e),
            _ => None,
        }
    }
}

impl From<FetchError> for SetupError {
    fn from(e: FetchError) -> Self {
        Self::Fetch(e)
    }
}

/// A failed fetch of a document (JWKS, metadata, introspection). Carries a description
/// for logs; never a token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FetchError(String);

impl FetchError {
    /// A fetch error with this description.
    pub fn new(description: impl Into<String>) -> Self {
        Self(description.into())
    }
}

impl fmt::Display for FetchError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for FetchError {}
