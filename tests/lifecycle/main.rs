//! The token lifecycle: minting, refresh rotation and reuse detection, revocation on the
//! request path (in memory and through a real `redis-server`), authorization by scopes,
//! roles and predicates.

#[path = "../common/mod.rs"]
mod common;

mod authorize;
mod issue;
mod redis;
mod redis_cluster;
mod redis_sentinel;
mod refresh;
mod revocation;
mod step_up;
