#![doc = include_str!("docs/crate.md")]
#![forbid(unsafe_code)]
#![warn(missing_docs)]
#![warn(missing_debug_implementations)]
#![cfg_attr(docsrs, feature(doc_cfg))]

#[macro_use]
mod macros;

// The verification core: no Tower, no request.
mod error;
mod verifier;

// The Tower shell around it.
mod builder;
mod extract;
mod future;
mod layer;
pub mod response;
pub mod service;
mod span;

// Framework glue.
#[cfg(feature = "axum")]
pub mod axum;
#[cfg(feature = "tonic")]
pub mod tonic;

// Add-ons.
pub mod authorize;
#[cfg(any(feature = "jwks", feature = "redis"))]
mod backoff;
#[cfg(feature = "client")]
pub mod client;
pub mod config;
pub mod dpop;
#[cfg(feature = "jwks")]
pub mod introspection;
pub mod issue;
#[cfg(feature = "jwks")]
pub mod jwks;
pub mod metadata;
mod metrics;
pub mod mtls;
#[cfg(feature = "jwks")]
mod providers;
pub mod revocation;
mod spki;
pub mod tenant;
#[cfg(any(feature = "jwks", feature = "redis"))]
mod tls;
mod url;

/// What a token says, as the layer reads it: the registered claims, the grants (scopes and
/// roles) it carries, and the names of the claims a layer can require.
pub mod claims {
    pub use crate::verifier::{Audience, Claim, Grants, RegisteredClaims};
}

/// Where the layer finds the token in a request ([`TokenSource`]): `Authorization: Bearer`
/// by default, a cookie, another header, a query parameter, or a function of the headers.
pub mod source {
    pub use crate::extract::{CustomSource, TokenSource};
}

#[doc = include_str!("docs/observability.md")]
pub mod observability {}

/// The README's examples, compiled and run as doctests.
#[cfg(all(doctest, feature = "axum", feature = "jwks"))]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;

pub use jsonwebtoken;
pub use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey};
/// The `redis` crate, for [`RedisStore::from_client`](revocation::RedisStore::from_client)
/// and [`with_connection_manager`](revocation::RedisStore::with_connection_manager).
#[cfg(feature = "redis")]
pub use redis;

#[cfg(feature = "axum")]
#[doc(inline)]
pub use crate::axum::{Authorized, Claims};
pub use crate::builder::JwtAuthBuilder;
pub use crate::error::{AuthError, ConfigError, KeyError};
#[doc(inline)]
pub use crate::extract::TokenSource;
pub use crate::layer::JwtAuthLayer;
#[doc(inline)]
pub use crate::verifier::{RegisteredClaims, Verified, Verifier, install_crypto_provider};
