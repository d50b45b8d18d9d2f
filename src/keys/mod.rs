//! Signing keys: generation, PEM files, the key ring and the JWKS document.
//! The only code that touches private key material.

pub mod lifecycle;
mod manager;
mod material;
pub mod operations;
mod ring;

pub use manager::{create_key, remove_key_file, KeyManager};
pub use material::prepare_dir;
pub use material::{KeyError, KeyPair};
pub use ring::{KeyRing, SharedKeyRing};
// The values the store records about keys live below it.
pub use crate::domain::{Algorithm, Kid};
