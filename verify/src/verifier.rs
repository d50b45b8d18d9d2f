//! `Verifier`: checks one access token in the order of verifier.md §1 (RFC 9068 §4,
//! RFC 8725), against keys from the [`KeyCache`](crate::cache).

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde_json::{Map, Value};

use crate::cache::{CachePolicy, KeyCache, Refetch};
use crate::claims::{ClaimRules, Claims};
use crate::error::{SetupError, VerifyError};
use crate::fetch::JwksFetcher;
#[cfg(feature = "reqwest")]
use crate::introspection::{Introspection, Introspector};
use crate::jwks::Alg;

/// Tokens longer than this are refused before any parsing (verifier.md §1).
pub const MAX_TOKEN_BYTES: usize = 8 * 1024;
/// `kid`s longer than this name no key and never cost a fetch.
const MAX_KID_BYTES: usize = 256;
/// The clock-skew leeway is at most this (verifier.md §1).
pub const MAX_LEEWAY: Duration = Duration::from_secs(60);

#[derive(Debug, Clone)]
struct Config {
    issuer: String,
    audiences: Vec<String>,
    leeway: Duration,
    max_lifetime: Duration,
    required_scopes: Vec<String>,
    #[cfg(feature = "reqwest")]
    introspection_endpoint: Option<String>,
    #[cfg(feature = "reqwest")]
    introspection_cache: Duration,
    #[cfg(feature = "reqwest")]
    fetch_timeout: Duration,
}

/// Verifies authd access tokens for one issuer. Cheap to clone: clones share the key
/// cache (and its single in-flight fetch).
#[derive(Clone)]
pub struct Verifier {
    config: Arc<Config>,
    keys: Arc<KeyCache>,
    #[cfg(feature = "reqwest")]
    introspector: Option<Arc<Introspector>>,
}

impl std::fmt::Debug for Verifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Verifier")
            .field("issuer", &self.config.issuer)
            .field("audiences", &self.config.audiences)
            .finish_non_exhaustive()
    }
}

/// Every option of a [`Verifier`]; start from [`Verifier::builder`].
#[must_use]
pub struct Builder {
    config: Config,
    policy: CachePolicy,
    fetcher: Option<Arc<dyn JwksFetcher>>,
    #[cfg(feature = "reqwest")]
    jwks_uri: Option<String>,
    #[cfg(feature = "reqwest")]
    introspection: Option<Introspection>,
}

impl Builder {
    /// Adds an accepted audience: a token must name at least one (RFC 9068 §4). A
    /// verifier without any accepts no token.
    pub fn audience(mut self, audience: impl Into<String>) -> Self {
        self.config.audiences.push(audience.into());
        self
    }

    /// Clock-skew leeway for `exp`, `nbf` and `iat`; default 30 s, at most 60 s (larger
    /// values are clamped).
    pub fn leeway(mut self, leeway: Duration) -> Self {
        self.config.leeway = leeway.min(MAX_LEEWAY);
        self
    }

    /// Longest `exp - iat` accepted; default 24 h. authd's access tokens live minutes; a
    /// longer one is not a token it minted (e.g. `exp` in milliseconds).
    pub fn max_token_lifetime(mut self, lifetime: Duration) -> Self {
        self.config.max_lifetime = lifetime;
        self
    }

    /// Requires `scope` on every token: missing, it is `InsufficientScope` (403).
    pub fn require_scope(mut self, scope: impl Into<String>) -> Self {
        self.config.required_scopes.push(scope.into());
        self
    }

    /// At most one JWKS fetch per this period for unknown kids (and after a failed
    /// fetch); default 30 s.
    pub fn cooldown(mut self, cooldown: Duration) -> Self {
        self.policy.cooldown = cooldown;
        self
    }

    /// How long past its `max-age` the last good key set is used while the issuer cannot
    /// be reached; default 1 h. Beyond it verification fails with `KeysStale`.
    pub fn stale_if_error(mut self, stale_if_error: Duration) -> Self {
        self.policy.stale_if_error = stale_if_error;
        self
    }

    /// Timeout of every fetch (JWKS, metadata, introspection); default 5 s.
    pub fn fetch_timeout(mut self, timeout: Duration) -> Self {
        self.policy.fetch_timeout = timeout;
        #[cfg(feature = "reqwest")]
        {
            self.config.fetch_timeout = timeout;
        }
        self
    }

    /// Serves keys through `fetcher` instead of HTTP (tests, keys distributed out of band).
    pub fn fetcher(mut self, fetcher: impl JwksFetcher) -> Self {
        self.fetcher = Some(Arc::new(fetcher));
        self
    }

    /// Fetches keys from `uri` (instead of discovering it).
    #[cfg(feature = "reqwest")]
    pub fn jwks_uri(mut self, uri: impl Into<String>) -> Self {
        self.jwks_uri = Some(uri.into());
        self
    }

    /// Asks the issuer's introspection endpoint about every token that passed the local
    /// checks, and refuses `active: false` (verifier.md §3).
    #[cfg(feature = "reqwest")]
    pub fn revocation(mut self, credentials: Introspection) -> Self {
        self.introspection = Some(credentials);
        self
    }

    /// The RFC 7662 endpoint; discovery sets it, otherwise `{issuer}/auth/introspect`.
    #[cfg(feature = "reqwest")]
    pub fn introspection_endpoint(mut self, url: impl Into<String>) -> Self {
        self.config.introspection_endpoint = Some(url.into());
        self
    }

    /// How long an introspection answer is reused for the same `jti`; default 5 s, at
    /// most 60 s. This is how late a revocation may be noticed. Zero: ask every time.
    #[cfg(feature = "reqwest")]
    pub fn introspection_cache(mut self, ttl: Duration) -> Self {
        self.config.introspection_cache = ttl.min(Duration::from_secs(60));
        self
    }

    /// Reads the issuer's discovery metadata for its `jwks_uri` (and introspection
    /// endpoint), then builds.
    #[cfg(feature = "reqwest")]
    pub async fn discover(mut self) -> Result<Verifier, SetupError> {
        let client = crate::http::client(self.policy.fetch_timeout)?;
        let metadata = crate::http::discover(&client, &self.config.issuer).await?;
        if self.jwks_uri.is_none() && self.fetcher.is_none() {
            self.jwks_uri = Some(metadata.jwks_uri);
        }
        if self.config.introspection_endpoint.is_none() {
            self.config.introspection_endpoint = metadata.introspection_endpoint;
        }
        self.build()
    }

    /// Builds the verifier. Nothing is fetched yet: the first verification fetches the
    /// keys (a failure then is `KeysUnavailable`).
    pub fn build(self) -> Result<Verifier, SetupError> {
        #[cfg(feature = "reqwest")]
        let fetcher: Arc<dyn JwksFetcher> = match (self.fetcher, self.jwks_uri) {
            (Some(fetcher), _) => fetcher,
            (None, Some(uri)) => Arc::new(crate::http::HttpFetcher::new(
                uri,
                self.policy.fetch_timeout,
            )?),
            (None, None) => return Err(SetupError::NoKeySource),
        };
        #[cfg(not(feature = "reqwest"))]
        let fetcher = self.fetcher.ok_or(SetupError::NoKeySource)?;
        let verifier = Verifier {
            config: Arc::new(self.config),
            keys: Arc::new(KeyCache::new(fetcher, self.policy)),
            #[cfg(feature = "reqwest")]
            introspector: None,
        };
        #[cfg(feature = "reqwest")]
        let verifier = match self.introspection {
            Some(credentials) => verifier.revocation(credentials),
            None => verifier,
        };
        Ok(verifier)
    }
}

impl Verifier {
    /// Every option: `Verifier::builder(issuer).audience(..).….build()` or `.discover()`.
    pub fn builder(issuer: impl Into<String>) -> Builder {
        Builder {
            config: Config {
                issuer: issuer.into(),
                audiences: Vec::new(),
                leeway: Duration::from_secs(30),
                max_lifetime: Duration::from_secs(24 * 60 * 60),
                required_scopes: Vec::new(),
                #[cfg(feature = "reqwest")]
                introspection_endpoint: None,
                #[cfg(feature = "reqwest")]
                introspection_cache: Duration::from_secs(5),
                #[cfg(feature = "reqwest")]
                fetch_timeout: CachePolicy::default().fetch_timeout,
            },
            policy: CachePolicy::default(),
            fetcher: None,
            #[cfg(feature = "reqwest")]
            jwks_uri: None,
            #[cfg(feature = "reqwest")]
            introspection: None,
        }
    }

    /// A verifier for `issuer` with default options, its JWKS found through the issuer's
    /// `/.well-known/openid-configuration` (whose `issuer` must equal `issuer`).
    #[cfg(feature = "reqwest")]
    pub async fn discover(issuer: impl Into<String>) -> Result<Self, SetupError> {
        Self::builder(issuer).discover().await
    }

    /// A verifier for `issuer` with default options and its JWKS at `jwks_uri`.
    #[cfg(feature = "reqwest")]
    pub fn with_jwks_uri(
        issuer: impl Into<String>,
        jwks_uri: impl Into<String>,
    ) -> Result<Self, SetupError> {
        Self::builder(issuer).jwks_uri(jwks_uri).build()
    }

    /// A verifier for `issuer` with default options, keys served by `fetcher`.
    pub fn with_fetcher(issuer: impl Into<String>, fetcher: impl JwksFetcher) -> Self {
        let builder = Self::builder(issuer);
        Self {
            config: Arc::new(builder.config),
            keys: Arc::new(KeyCache::new(Arc::new(fetcher), builder.policy)),
            #[cfg(feature = "reqwest")]
            introspector: None,
        }
    }

    /// Adds an accepted audience (see [`Builder::audience`]).
    #[must_use]
    pub fn audience(mut self, audience: impl Into<String>) -> Self {
        Arc::make_mut(&mut self.config)
            .audiences
            .push(audience.into());
        self
    }

    /// Requires `scope` on every token (see [`Builder::require_scope`]).
    #[must_use]
    pub fn require_scope(mut self, scope: impl Into<String>) -> Self {
        Arc::make_mut(&mut self.config)
            .required_scopes
            .push(scope.into());
        self
    }

    /// Turns on introspection (see [`Builder::revocation`]).
    #[cfg(feature = "reqwest")]
    #[must_use]
    pub fn revocation(mut self, credentials: Introspection) -> Self {
        let config = &self.config;
        let endpoint = config
            .introspection_endpoint
            .clone()
            .unwrap_or_else(|| format!("{}/auth/introspect", config.issuer.trim_end_matches('/')));
        // A client that cannot be built leaves every check failing closed.
        let client = crate::http::client(config.fetch_timeout).ok();
        self.introspector = Some(Arc::new(Introspector::new(
            client,
            endpoint,
            &credentials,
            config.introspection_cache,
        )));
        self
    }

    /// The issuer this verifier accepts.
    pub fn issuer(&self) -> &str {
        &self.config.issuer
    }

    /// The kids of the cached key set, sorted (empty before the first fetch).
    pub fn cached_kids(&self) -> Vec<String> {
        self.keys.kids()
    }

    /// Verifies `token` now. See [`Verifier::verify_at`].
    pub async fn verify(&self, token: &str) -> Result<Claims, VerifyError> {
        self.verify_at(token, SystemTime::now()).await
    }

    /// Verifies `token` as of `now` (claims and key-cache ages alike), in the order of
    /// verifier.md §1. Waits on the network only when no usable key set is cached or
    /// the token's kid is unknown (within the cooldown rule), or for introspection.
    pub async fn verify_at(&self, token: &str, now: SystemTime) -> Result<Claims, VerifyError> {
        let parsed = Compact::parse(token)?;
        let header = &parsed.header;
        // RFC 9068 §4 / RFC 8725 §3.11: explicit typing; media types are
        // case-insensitive and the "application/" prefix may be omitted (RFC 7515 §4.1.9).
        let typ = header.get("typ").and_then(Value::as_str).unwrap_or("");
        if !(typ.eq_ignore_ascii_case("at+jwt") || typ.eq_ignore_ascii_case("application/at+jwt")) {
            return Err(VerifyError::WrongType);
        }
        // RFC 7515 §4.1.11: we understand no extension, so any `crit` is unknown.
        if header.contains_key("crit") {
            return Err(VerifyError::CriticalHeader);
        }
        // `jku`, `x5u`, `jwk` and `x5c` are never read (RFC 8725 §3.10): keys come only
        // from the configured issuer's JWKS.
        let alg = match header.get("alg") {
            Some(Value::String(alg)) => alg.as_str(),
            _ => return Err(VerifyError::Malformed),
        };
        let kid = match header.get("kid") {
            None => return Err(VerifyError::MissingKeyId),
            Some(Value::String(kid)) => kid.as_str(),
            Some(_) => return Err(VerifyError::Malformed),
        };
        let allowed = Alg::parse(alg);
        let key = if kid.len() > MAX_KID_BYTES {
            return Err(VerifyError::UnknownKey);
        } else if let Some(alg) = allowed {
            let key = self.keys.key(kid, now, Refetch::Allowed).await?;
            if key.alg != alg {
                return Err(VerifyError::AlgorithmMismatch);
            }
            key
        } else {
            // A refused algorithm never verifies: the kid is checked against the cached
            // set only (no fetch for it), then the algorithm is the verdict.
            match self.keys.key(kid, now, Refetch::Never).await {
                Err(VerifyError::UnknownKey) => return Err(VerifyError::UnknownKey),
                _ if alg.eq_ignore_ascii_case("none") => return Err(VerifyError::Unsigned),
                _ => return Err(VerifyError::DisallowedAlgorithm),
            }
        };
        match jsonwebtoken::crypto::verify(
            parsed.signature,
            parsed.signing_input.as_bytes(),
            &key.decoding,
            key.alg.jwt(),
        ) {
            Ok(true) => {}
            _ => return Err(VerifyError::BadSignature),
        }
        let raw = parsed.claims()?;
        let config = &self.config;
        let claims = ClaimRules {
            issuer: &config.issuer,
            audiences: &config.audiences,
            leeway: seconds(config.leeway),
            max_lifetime: seconds(config.max_lifetime),
        }
        .check(raw, unix_seconds(now))?;
        claims.require_scopes(config.required_scopes.iter().map(String::as_str))?;
        #[cfg(feature = "reqwest")]
        if let Some(introspector) = &self.introspector {
            introspector.check(token, &claims, now).await?;
        }
        Ok(claims)
    }
}

/// A compact JWS split and its header read (RFC 7515 §7.1).
struct Compact<'a> {
    header: Map<String, Value>,
    payload: &'a str,
    signing_input: &'a str,
    signature: &'a str,
}

impl<'a> Compact<'a> {
    fn parse(token: &'a str) -> Result<Self, VerifyError> {
        if token.len() > MAX_TOKEN_BYTES {
            return Err(VerifyError::TooLarge);
        }
        let mut parts = token.split('.');
        let (Some(header), Some(payload), Some(signature), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(VerifyError::Malformed);
        };
        // Strict base64url (RFC 7515 §2): no padding, no other alphabet. Only the
        // signature may be empty (an unsecured JWS, RFC 7515 §A.5): refused below as
        // `Unsigned` or `BadSignature`, which says more than `Malformed`.
        let strict = is_base64url(header)
            && is_base64url(payload)
            && (signature.is_empty() || is_base64url(signature));
        if !strict {
            return Err(VerifyError::Malformed);
        }
        let header = decode_object(header)?;
        Ok(Self {
            header,
            payload,
            signing_input: &token[..token.len() - signature.len() - 1],
            signature,
        })
    }

    fn claims(&self) -> Result<Map<String, Value>, VerifyError> {
        decode_object(self.payload)
    }
}

fn is_base64url(segment: &str) -> bool {
    !segment.is_empty()
        && segment
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

fn decode_object(segment: &str) -> Result<Map<String, Value>, VerifyError> {
    let bytes = URL_SAFE_NO_PAD
        .decode(segment)
        .map_err(|_| VerifyError::Malformed)?;
    crate::strict_json::object(&bytes).ok_or(VerifyError::Malformed)
}

fn seconds(d: Duration) -> i64 {
    i64::try_from(d.as_secs()).unwrap_or(i64::MAX)
}

fn unix_seconds(t: SystemTime) -> i64 {
    match t.duration_since(UNIX_EPOCH) {
        Ok(d) => seconds(d),
        Err(e) => seconds(e.duration()).saturating_neg(),
    }
}
