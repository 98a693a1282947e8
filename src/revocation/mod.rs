//! Revocation: making a verified token stop working before its `exp`.
//!
//! A token is revoked by its `jti`, by its session (`sid`: every access and refresh token of
//! one login, see [`TokenIssuer::issue_pair`](crate::issue::TokenIssuer::issue_pair)), or by
//! its subject for tokens issued before a time ("log out everywhere"). A session or a subject
//! is named with its issuer (`iss: Some(..)`; `None` matches every issuer's), since `sid` and
//! `sub` are unique only within an issuer. A layer given a store
//! ([`JwtAuthBuilder::revocation`](crate::JwtAuthBuilder::revocation); a
//! [`TokenIssuer`](crate::issue::TokenIssuer)'s layer has its own) refuses every revoked
//! token, cache hits included, with `401 invalid_token` "the token has been revoked".
//!
//! # Stores
//!
//! | store | for | a check costs |
//! |---|---|---|
//! | [`MemoryStore`] (the issuer's default) | one process | a lookup in a lock-free snapshot: about +0.2–0.3 µs on an HS256 request with 10,000 revocations |
//! | `RedisStore` (feature `redis`) | several replicas sharing revocations, refresh-token use and DPoP replay records | the same lookup, in a local copy kept in sync through pub/sub: no round trip |
//! | your own (`impl` [`RevocationStore`]) | your database | [`check_local`](RevocationStore::check_local) from memory when you can; else the request waits for [`check`](RevocationStore::check) |
//!
//! The store answers from a local view when it can, so the common case costs a hash lookup and
//! no network round trip; only when the view cannot answer (not synced yet, or the link to the
//! shared store is down) does the request wait for [`RevocationStore::check`]. If that fails,
//! the layer **fails closed** by default: `503` with `Retry-After: 1` (gRPC `UNAVAILABLE`),
//! never a pass for a possibly revoked token; [`OnStoreError::Allow`] chooses availability
//! instead (logged at `warn`).
//!
//! ```no_run
//! # #[cfg(feature = "redis")]
//! # async fn demo(secret: &[u8]) -> Result<(), Box<dyn std::error::Error>> {
//! use tower_jwt_auth::Algorithm;
//! use tower_jwt_auth::issue::TokenIssuer;
//! use tower_jwt_auth::revocation::RedisStore;
//!
//! let store = RedisStore::connect("redis://redis:6379/").await?; // loads, then subscribes
//! let issuer = TokenIssuer::hmac(secret, Algorithm::HS256).revocation_store(store).build()?;
//! # let _ = issuer;
//! # Ok(())
//! # }
//! # fn main() {}
//! ```
//!
//! # Redis: propagation, outages, durability
//!
//! A revocation made on one replica is refused by the others once its pub/sub message
//! arrives: 0.2–0.27 ms from the call to `revoke` on loopback, Redis round trip included,
//! 0.4 ms in a cluster (`BENCHMARKS.md`). A new replica loads every live revocation before `connect` returns.
//! Each record expires in Redis with the last token it can match. While the subscription is
//! down — closed, or dropped silently by a NAT or load balancer, which a `PING` every second
//! (`RedisOptions::ping_interval`) with the one-second timeout detects — the local copy may be
//! stale, so checks ask Redis directly (one `MGET`, about 75–90 µs on loopback); while Redis
//! cannot be reached, the layer fails closed as above. `RedisStore::connect` waits for the
//! first sync and fails if Redis is down; `RedisStore::connect_later` lets a replica start
//! anyway, failing closed until Redis answers.
//!
//! **Durability.** Revocations outlive a Redis that loses its data (a restart without
//! persistence, a `FLUSHALL`, a new server behind the same address) as long as one replica
//! that knew them lives: Redis holds an epoch marker, and a replica that finds it gone (on
//! reconnecting, or within a `PING` when the subscription stayed up) writes every live
//! revocation of its copy back before it reloads, logs it at `warn` and counts it
//! (`jwt_auth_revocation_store_resets_total`, `jwt_auth_revocations_restored_total`). A
//! replica that starts into an empty Redis with no peer has nothing to restore and says so in
//! its log. The epoch also holds the server's run id: after a failover to a replica (or a
//! restart) the replicas write back too (at `info`), so a revocation the old primary
//! acknowledged but had not yet replicated is not lost. Not kept that way: the records of used refresh tokens and of DPoP proofs, which
//! live in Redis alone — after such a loss a spent refresh token can be used once more (then
//! its reuse is detected again), and a DPoP proof can be replayed within its minute. Give
//! Redis persistence (AOF) where that matters.
//!
//! **Managed Redis.** `RedisStore::connect("rediss://…")` speaks TLS and checks the server's
//! certificate against the system's roots. For a private CA, a client certificate or
//! credentials, build a `redis::Client` (re-exported as `tower_jwt_auth::redis`) and use
//! `RedisStore::from_client`; to share the application's connection,
//! `RedisStore::with_connection_manager`. A managed service's primary endpoint follows its
//! failovers; the store reconnects to it.
//!
//! **Redis Cluster** (Valkey too): `RedisStore::connect_cluster([..node URLs..], options)`
//! (or `from_cluster_client`). Records spread over the primaries by their keys' slots; every
//! write that must be atomic touches one key; the copy loads from every primary; revocations
//! travel on classic pub/sub, which reaches every node, so each replica's subscription may be
//! on any node (why not sharded pub/sub, and figures: `BENCHMARKS.md`, "Redis Cluster"). While a
//! primary fails over, checks whose records it holds fail closed; after it, each replica
//! writes back what its copy holds (a revocation the dead primary had acknowledged but not
//! passed to its replica is not lost), then reloads. **Redis Sentinel**:
//! `RedisStore::connect_sentinel([..sentinel URLs..], "mymaster", options)`, which asks the
//! sentinels for the primary at every reconnection, and writes back after a failover alike.
//!
//! ```no_run
//! # #[cfg(feature = "redis")]
//! # async fn demo(ca_pem: Vec<u8>) -> Result<(), Box<dyn std::error::Error>> {
//! use tower_jwt_auth::redis::{Client, TlsCertificates};
//! use tower_jwt_auth::revocation::{RedisOptions, RedisStore};
//!
//! let tls = TlsCertificates { client_tls: None, root_cert: Some(ca_pem) };
//! let client = Client::build_with_tls("rediss://default:password@redis.internal:6380/", tls)?;
//! let store = RedisStore::from_client(client, RedisOptions::default()).await?;
//! # let _ = store;
//! # Ok(())
//! # }
//! # fn main() {}
//! ```

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
