//! Security: every attack on a verifier, properties over generated input, each rule and
//! configuration check, and the published JWS vectors, all through the public API.

#[path = "../common/mod.rs"]
mod common;

mod attacks;
mod properties;
mod rules;
mod vectors;
