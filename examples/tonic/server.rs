//! A gRPC server with a public service beside a protected one: the standard health service
//! (`grpc.health.v1.Health`) answers anyone, while `JwtAuthLayer` wraps the greeter alone and
//! answers `UNAUTHENTICATED` itself; the RPC reads the verified claims from the extensions.
//!
//! ```text
//! cargo run --example tonic-server --features tonic    # then, in another terminal:
//! cargo run --example tonic-client --features tonic
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
use tower_layer::Layer;

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
    let (health, health_service) = tonic_health::server::health_reporter();
    health.set_serving::<GreeterServer<GreeterService>>().await;
    let addr = common::addr("127.0.0.1:50051").parse()?;
    println!("gRPC greeter on {addr}; try: cargo run --example tonic-client --features tonic");
    tonic::transport::Server::builder()
        // Public: load balancers and probes check health without a token.
        .add_service(health_service)
        // Protected: the layer wraps this one service, which keeps its gRPC name.
        .add_service(auth.layer(GreeterServer::new(GreeterService)))
        .serve_with_shutdown(addr, async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await?;
    Ok(())
}
