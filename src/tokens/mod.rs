//! Access tokens (spec §2, RFC 9068): the claim set, minting, and validation (spec §4).

mod claims;
mod issuer;
mod validate;

pub use claims::AccessClaims;
pub use issuer::{AccessGrant, IssuedToken, TokenIssuer};
pub use validate::{Rejection, Validator};

/// The JOSE `typ` of our access tokens (RFC 9068 §2.1).
pub const ACCESS_TOKEN_TYP: &str = "at+jwt";
