//! What Hookline is, without HTTP or UI.
//!
//! Always compiled (also to wasm for the portal): the wire types of the Svix-compatible API,
//! validation and the error vocabulary. Behind the `server` feature: the PostgreSQL store,
//! services, Standard Webhooks signing, the retry policy and the delivery engine.
#![forbid(unsafe_code)]

pub mod error;
pub mod types;
pub mod validation;

#[cfg(feature = "server")]
pub mod crypto;
#[cfg(feature = "server")]
pub mod delivery;
#[cfg(feature = "server")]
pub mod filter;
pub mod ids;
#[cfg(feature = "server")]
pub mod retry;
pub mod search;
#[cfg(feature = "server")]
pub mod service;
#[cfg(feature = "server")]
pub mod signing;
#[cfg(feature = "server")]
pub mod ssrf;
#[cfg(feature = "server")]
pub mod store;
#[cfg(feature = "server")]
pub mod trace;

pub use error::{DomainError, ValidationErrorItem};
