//! JSON Web Token authentication for any [Tower](https://docs.rs/tower) service, as one
//! layer: [`JwtAuthLayer<C>`](JwtAuthLayer).
//!
//! The layer reads the token (by default from `Authorization: Bearer`), checks it — the
//! algorithm against an allow-list, the signature with the key chosen by `kid`, then
//! `exp`, `nbf`, issuer and audience — and inserts the claims, typed as your `C`, into the
//! request's extensions. Every failure gets the RFC 6750 §3 answer (`401`/`400` with a
//! `WWW-Authenticate: Bearer` challenge), or `UNAUTHENTICATED` for gRPC requests. The same
//! layer works in axum, tonic and hyper stacks.
//!
//! ```
//! use serde::Deserialize;
//! use tower_jwt_auth::{Algorithm, DecodingKey, JwtAuthLayer};
//!
//! #[derive(Clone, Deserialize)]
//! struct MyClaims {
//!     sub: String,
//!     exp: u64,
//! }
//!
//! let key = DecodingKey::from_secret(b"at least thirty-two bytes of secret!").unwrap();
//! let auth = JwtAuthLayer::<MyClaims>::new(key, Algorithm::HS256).unwrap();
//! // axum: Router::new().route(..).route_layer(auth)
//! // tonic: Server::builder().layer(auth)
//! // tower: ServiceBuilder::new().layer(auth).service(svc)
//! ```
//!
//! # Safe defaults
//! - The token's `alg` must be on the allow-list (by default, the algorithms of the
//!   configured keys) and fit the key's family; `none` never passes.
//! - Keys carried by the token (`jwk`, `x5c`) are never trusted; URLs it names (`jku`,
//!   `x5u`) are never fetched: such tokens are refused. So are `crit` and `b64: false`.
//! - `exp` is required; `nbf` is checked when present; registered claims of the wrong JSON
//!   type are refused.
//! - A token that carries `aud` is refused unless an audience is configured that it names
//!   (RFC 7519 §4.1.3), or [`accept_any_audience`](JwtAuthBuilder::accept_any_audience)
//!   is called.
//! - Tokens longer than 8 KiB are refused before decoding; HMAC secrets shorter than the
//!   hash are refused at build time.
//!
//! # Features
//! - `aws-lc-rs` (default) / `rust-crypto`: jsonwebtoken's crypto backend.
//! - `axum`: the `Claims` and `Authorized` extractors.
//! - `jwks`: keys fetched from a JWKS URL or an OpenID provider and refreshed in the
//!   background (`jwks_url`, `oidc_issuer`); see the `jwks` module.
//! - `redis`: `revocation::RedisStore`, revocations shared by several replicas.
//! - `tonic`: one service at a time (the middleware keeps the wrapped service's
//!   `NamedService` name), `AuthError` into a `tonic::Status`, `JwtInterceptor`, and the
//!   `client` module.
//! - `client`: the `client` module alone, on any Tower HTTP client: a layer that sends a
//!   self-refreshing bearer token.
//! - `metrics`: counters and histograms through the `metrics` facade.
//!
//! For asymmetric keys, [`token_cache`](JwtAuthBuilder::token_cache) lets a token presented
//! again skip the signature check.
//!
//! # Tokens that do not come in a request
//! The layer runs a [`Verifier`], the verification core, which knows nothing of Tower:
//! [`JwtAuthLayer::verifier`] gives it for a WebSocket message, a gRPC interceptor or a
//! queue consumer, and [`Verifier::verify`] / [`Verifier::verify_async`] answer exactly as
//! the layer would, with a [`Verified`] proof: the claims, the grants, the token's ids and
//! lifetime. The crate's layout is described in `ARCHITECTURE.md`.
//!
//! # Several issuers
//! [`tenant`]: each trusted issuer with its own policy — keys, audiences, claim mapping,
//! required claims, leeway ([`JwtAuthBuilder::issuer_policy`]); a token is held to the policy
//! of the issuer it names, and handlers learn which one it was. Issuers can be added and
//! removed while the layer serves ([`tenant::TrustedIssuers`]). The provider presets
//! ([`JwtAuthBuilder::keycloak`] and the others, feature `jwks`) are issuer policies.
//!
//! # Standards of an OAuth resource server
//! - [`metadata`]: RFC 9728 protected resource metadata, as MCP servers must publish it —
//!   the document, its well-known path, `resource_metadata` in every challenge, the
//!   audience defaulting to the resource ([`JwtAuthBuilder::resource_metadata`]).
//! - [`dpop`]: DPoP-bound tokens (RFC 9449), each request proven by the client's key
//!   ([`JwtAuthBuilder::dpop`]); a bound token never passes as a bearer token.
//!
//! # The token lifecycle
//! [`TokenIssuer`] mints access tokens, and access + refresh pairs that rotate on each
//! refresh (a replayed refresh token revokes its session); [`revocation`] refuses revoked
//! tokens on the request path (in memory, or shared through Redis with feature `redis`);
//! [`authorize::Require`] checks scopes, roles and predicates per route.
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
mod response;
mod service;
mod span;

// Framework glue.
#[cfg(feature = "axum")]
mod axum;
#[cfg(feature = "tonic")]
mod tonic;

// Add-ons.
pub mod authorize;
#[cfg(any(feature = "jwks", feature = "redis"))]
mod backoff;
#[cfg(feature = "client")]
pub mod client;
pub mod dpop;
mod issue;
#[cfg(feature = "jwks")]
pub mod jwks;
pub mod metadata;
mod metrics;
#[cfg(feature = "jwks")]
mod providers;
pub mod revocation;
mod spki;
pub mod tenant;
#[cfg(any(feature = "jwks", feature = "redis"))]
mod tls;
mod url;

/// The README's examples, compiled and run as doctests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;

pub use jsonwebtoken;
pub use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey};
/// The `redis` crate, for [`RedisStore::from_client`](revocation::RedisStore::from_client)
/// and [`with_connection_manager`](revocation::RedisStore::with_connection_manager).
#[cfg(feature = "redis")]
pub use redis;

#[cfg(feature = "axum")]
pub use crate::axum::{Authorized, Claims, ClaimsRejection, Permission};
pub use crate::builder::{DEFAULT_MAX_TOKEN_SIZE, JwtAuthBuilder};
pub use crate::error::{AuthError, ConfigError, ErrorCode};
pub use crate::extract::{CustomSource, TokenSource};
pub use crate::issue::{
    DEFAULT_ACCESS_TOKEN_LIFETIME, DEFAULT_REFRESH_TOKEN_LIFETIME, IssueError, RefreshError,
    TokenIssuer, TokenIssuerBuilder, TokenPair,
};
pub use crate::layer::JwtAuthLayer;
pub use crate::response::{
    DefaultErrorResponse, ErrorResponse, RequestHead, Unauthenticated, WithRequest, with_request,
};
pub use crate::service::{JwtAuth, ResponseFuture};
#[cfg(feature = "tonic")]
pub use crate::tonic::JwtInterceptor;
pub use crate::verifier::{
    Audience, Claim, Grants, RegisteredClaims, Verified, Verifier, install_crypto_provider,
};
