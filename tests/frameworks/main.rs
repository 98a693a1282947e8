//! The layer in each framework it is dropped into: axum, plain hyper with
//! `tower::ServiceBuilder`, and tonic (gRPC statuses over a real client).

#[path = "../common/mod.rs"]
mod common;

mod axum;
mod client;
mod hyper;
mod tonic;
