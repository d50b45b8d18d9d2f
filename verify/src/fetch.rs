//! How the verifier obtains the issuer's JWKS: the [`JwksFetcher`] trait (so tests and
//! unusual deployments can serve keys without a network) and the HTTP caching
//! vocabulary it speaks (RFC 9111 `Cache-Control: max-age`, RFC 9110 §13.1.2
//! `If-None-Match` / `304 Not Modified`).

use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use crate::error::FetchError;

/// The outcome of one successful JWKS request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fetched {
    /// `200`: a (possibly) new document.
    Modified {
        /// The JWKS document (RFC 7517 §5).
        body: Vec<u8>,
        /// Its `ETag`, sent back as `If-None-Match` on the next request.
        etag: Option<String>,
        /// `Cache-Control: max-age`, if the response had one.
        max_age: Option<Duration>,
    },
    /// `304`: the document named by the ETag sent is still current.
    NotModified {
        /// `Cache-Control: max-age` of the 304, if any (RFC 9111 §4.3.4 updates it).
        max_age: Option<Duration>,
    },
}

/// The future a [`JwksFetcher`] returns.
pub type FetchFuture<'a> = Pin<Box<dyn Future<Output = Result<Fetched, FetchError>> + Send + 'a>>;

/// Fetches the issuer's JWKS. The verifier calls it at most once at a time, wraps every
/// call in its fetch timeout, and decides when to call it (cache policy lives in the
/// verifier, not here).
///
/// ```
/// use authd_verify::{FetchFuture, Fetched, JwksFetcher};
///
/// /// Serves a fixed document: for tests, or keys distributed out of band.
/// struct Static(Vec<u8>);
///
/// impl JwksFetcher for Static {
///     fn fetch<'a>(&'a self, _etag: Option<&'a str>) -> FetchFuture<'a> {
///         let body = self.0.clone();
///         Box::pin(async move { Ok(Fetched::Modified { body, etag: None, max_age: None }) })
///     }
/// }
/// ```
pub trait JwksFetcher: Send + Sync + 'static {
    /// Requests the JWKS, conditionally on `etag` (the one of the cached document) when
    /// given.
    fn fetch<'a>(&'a self, etag: Option<&'a str>) -> FetchFuture<'a>;
}

/// The `max-age` of a `Cache-Control` header value (RFC 9111 §5.2.2.1). `no-store` and
/// `no-cache` count as zero (the verifier then applies its minimum). `None` when the
/// header says nothing about freshness.
pub fn max_age_of(cache_control: &str) -> Option<Duration> {
    let mut max_age = None;
    for directive in cache_control.split(',') {
        let directive = directive.trim();
        let (name, value) = match directive.split_once('=') {
            Some((name, value)) => (name.trim(), Some(value.trim().trim_matches('"'))),
            None => (directive, None),
        };
        if name.eq_ignore_ascii_case("no-store") || name.eq_ignore_ascii_case("no-cache") {
            return Some(Duration::ZERO);
        }
        if name.eq_ignore_ascii_case("max-age") {
            // RFC 9111 §1.2.2: a delta-seconds too large to represent is the largest
            // value; one that does not parse invalidates the directive.
            max_age = value.and_then(|v| {
                if !v.is_empty() && v.bytes().all(|b| b.is_ascii_digit()) {
                    Some(v.parse::<u64>().unwrap_or(u64::MAX))
                } else {
                    None
                }
            });
        }
    }
    max_age.map(Duration::from_secs)
}

#[cfg(test)]
mod tests {
    use super::max_age_of;
    use std::time::Duration;

    #[test]
    fn max_age_is_read_from_any_position_and_case() {
        assert_eq!(
            max_age_of("public, max-age=300"),
            Some(Duration::from_secs(300))
        );
        assert_eq!(
            max_age_of("Max-Age=\"60\", public"),
            Some(Duration::from_secs(60))
        );
        assert_eq!(max_age_of("public"), None);
        assert_eq!(max_age_of("max-age=abc"), None);
    }

    #[test]
    fn no_store_and_no_cache_mean_zero() {
        assert_eq!(max_age_of("no-store"), Some(Duration::ZERO));
        assert_eq!(max_age_of("max-age=600, no-cache"), Some(Duration::ZERO));
    }

    #[test]
    fn an_enormous_max_age_is_the_largest_value() {
        assert_eq!(
            max_age_of("max-age=99999999999999999999999"),
            Some(Duration::from_secs(u64::MAX))
        );
    }
}
