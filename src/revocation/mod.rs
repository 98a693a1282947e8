//! Revocation: making a verified token stop working before its `exp`.
//!
//! A token is revoked by its `jti`, by its session (`sid`: every access and refresh token of
//! one login, see [`TokenIssuer::issue_pair`](crate::TokenIssuer::issue_pair)), or by its
//! subject and issue time ("log out everywhere"). The layer asks a [`RevocationStore`] for
//! every verified token, cache hits included, once configured with
//! [`JwtAuthBuilder::revocation`](crate::JwtAuthBuilder::revocation).
//!
//! The store answers from a local view when it can ([`RevocationStore::check_local`]), so
//! the common case costs a hash lookup and no network round trip; only when the view cannot
//! answer (not synced yet, or the link to the shared store is down) does the request wait
//! for [`RevocationStore::check`]. If that fails, the layer fails closed by default:
//! 503 with `Retry-After` (gRPC `UNAVAILABLE`); see [`OnStoreError`].
//!
//! Two stores come with the crate: [`MemoryStore`] (one process) and, with feature `redis`,
//! `RedisStore` (several replicas share revocations and refresh-token use).

mod list;
mod memory;
#[cfg(feature = "redis")]
mod redis;

pub use self::memory::MemoryStore;
#[cfg(feature = "redis")]
pub use self::redis::{RedisOptions, RedisStore};
// The interface the verifier consults lives in the core; the stores here implement it.
pub use crate::verifier::revocation::{
    BoxFuture, OnStoreError, Revocation, RevocationStore, StoreError, TokenId,
};
