//! Validated value types. Every input crossing HTTP or the CLI becomes one of these
//! through `parse` before any logic runs. No I/O here.

mod client_id;
mod password;
mod role;
mod scope;
mod username;

pub use client_id::ClientId;
pub use password::Password;
pub use role::Role;
pub use scope::Scopes;
pub use username::Username;
