//! Verify authd's access tokens in Rust services.
//!
//! A resource server needs three things from an access token: that the issuer signed it,
//! that it is meant for this service, and that it is still valid. `authd-verify` checks
//! all of RFC 9068 §4 and RFC 8725 in a fixed order (see [`Verifier::verify_at`]), keeps
//! the issuer's keys in a lock-free cache that honours `Cache-Control: max-age` and
//! `ETag`, refreshes them in the background, refetches at most once per cooldown for an
//! unknown `kid`, and keeps working on the last good keys for a bounded time when the
//! issuer is down.
//!
//! ```no_run
//! # async fn run(token: &str) -> Result<(), Box<dyn std::error::Error>> {
//! let verifier = authd_verify::Verifier::discover("https://auth.example.com")
//!     .await?
//!     .audience("orders-api");
//! let claims: authd_verify::Claims = verifier.verify(token).await?;
//! println!("{} may {:?}", claims.sub, claims.scope);
//! # Ok(()) }
//! ```
//!
//! Offline verification cannot see revocation: a revoked token stays valid until it
//! expires (authd's live minutes). Turn on introspection with
//! [`Verifier::revocation`] where that matters.
//!
//! Verification is `async` and expects a Tokio runtime (background key refreshes are
//! spawned on it, fetches are timed with its timer); axum and actix-web provide one.
//!
//! Features: `reqwest` (default: discovery, the HTTP JWKS fetcher and introspection, over
//! rustls), `axum` and `actix` (extractors and scope requirements).
#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod cache;
mod claims;
mod error;
mod fetch;
mod jwks;
mod strict_json;
mod verifier;

#[cfg(feature = "reqwest")]
mod http;
#[cfg(feature = "reqwest")]
mod introspection;

#[cfg(any(feature = "axum", feature = "actix"))]
mod bearer;

#[cfg(feature = "actix")]
pub mod actix;
#[cfg(feature = "axum")]
pub mod axum;

pub use claims::Claims;
pub use error::{FetchError, SetupError, VerifyError};
pub use fetch::{max_age_of, FetchFuture, Fetched, JwksFetcher};
#[cfg(feature = "reqwest")]
pub use http::HttpFetcher;
#[cfg(feature = "reqwest")]
pub use introspection::Introspection;
pub use verifier::{Builder, Verifier, MAX_LEEWAY, MAX_TOKEN_BYTES};
