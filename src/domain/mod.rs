//! Validated value types. Every input crossing HTTP or the CLI becomes one of these
//! through `parse` before any logic runs. No I/O here.

mod audience;
mod client;
mod client_id;
mod client_secret;
mod email;
mod grant;
mod imported_hash;
mod password;
mod person_name;
mod role;
mod scope;
mod signing;
mod username;

pub use audience::Audience;
pub use client::{Client, PreviousSecret};
pub use client_id::ClientId;
pub use client_secret::{ClientSecret, SecretDigest};
pub use email::Email;
pub use grant::GrantType;
pub use imported_hash::{HashScheme, ImportedHash};
pub use password::Password;
pub use person_name::PersonName;
pub use role::Role;
pub use scope::Scopes;
pub use signing::{Algorithm, Kid};
pub use username::Username;
