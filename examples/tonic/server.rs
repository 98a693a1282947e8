//! A gRPC server whose every RPC needs a JWT: `JwtAuthLayer` sits in tonic's layer stack and
//! answers `UNAUTHENTICATED` itself; the RPC reads the verified claims from the extensions.
//!
//! ```text
//! cargo run --example tonic-server      # then, in another terminal:
//! cargo run --example tonic-client
//! ```
//!
//! `JWT_SECRET` sets the HMAC secret, `ADDR` the address (default `127.0.0.1:50051`).

#[path = "../common/mod.rs"]
mod common;
mod greeter {
    #![allow(clippy::all)]
    include!("proto/greeter.v1.rs");
}

use greeter::greeter_server::{Greeter, GreeterServer};
use greeter::{GreetReply, GreetRequest};
use serde::Deserialize;
use tonic::{Request, Response, Status};
use tower_jwt_auth::{Algorithm, JwtAuthLayer};

/// The claims this service needs from a token.
#[derive(Clone, Debug, Deserialize)]
struct Caller {
    sub: String,
}

struct GreeterService;

#[tonic::async_trait]
impl Greeter for GreeterService {
    async fn greet(&self, request: Request<GreetRequest>) -> Result<Response<GreetReply>, Status> {
        // The layer only lets a request through with verified claims in its extensions.
        let caller = request
            .extensions()
            .get::<Caller>()
            .cloned()
            .ok_or_else(|| Status::unauthenticated("no verified claims"))?;
        let greeting = request.into_inner().greeting;
        Ok(Response::new(GreetReply {
            message: format!("{greeting}, {}!", caller.sub),
            subject: caller.sub,
        }))
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let auth = JwtAuthLayer::<Caller>::builder()
        .hmac_secret(common::secret(), Algorithm::HS256)
        .build()?;
    let addr = common::addr("127.0.0.1:50051").parse()?;
    println!("gRPC greeter on {addr}; try: cargo run --example tonic-client");
    tonic::transport::Server::builder()
        .layer(auth)
        .add_service(GreeterServer::new(GreeterService))
        .serve_with_shutdown(addr, async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await?;
    Ok(())
}
