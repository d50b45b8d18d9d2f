//! Tokens (spec §2): access tokens (RFC 9068) with their claims, minting and validation
//! (spec §4), and opaque refresh tokens.

mod claims;
mod issuer;
mod refresh;
mod validate;

pub use claims::AccessClaims;
pub use issuer::{AccessGrant, IssuedToken, TokenIssuer};
pub use refresh::{RefreshToken, REFRESH_TOKEN_PREFIX};
pub use validate::{Rejection, Validator};

/// The JOSE `typ` of our access tokens (RFC 9068 §2.1).
pub const ACCESS_TOKEN_TYP: &str = "at+jwt";
