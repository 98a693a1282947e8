//! The client of `tonic-server`: checks the public health service without a token, then
//! calls the greeter through `BearerLayer`, which sends a token on every call and mints the
//! next one before the current one expires. Here the tokens come from a `TokenIssuer` with
//! the shared secret; a real client would use `ClientCredentials` against its identity
//! provider's token endpoint (feature `jwks`).
//!
//! ```text
//! cargo run --example tonic-client --features tonic
//! ```
//!
//! `JWT_SECRET` must match the server's; `ADDR` is the server (default `127.0.0.1:50051`).

#[path = "../common/mod.rs"]
mod common;
mod greeter {
    #![allow(clippy::all)]
    include!("proto/greeter.v1.rs");
}

use std::sync::Arc;

use greeter::GreetRequest;
use greeter::greeter_client::GreeterClient;
use serde_json::json;
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_client::HealthClient;
use tower::ServiceBuilder;
use tower_jwt_auth::Algorithm;
use tower_jwt_auth::client::{BearerLayer, IssuedTokens};
use tower_jwt_auth::issue::TokenIssuer;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let url = format!("http://{}", common::addr("127.0.0.1:50051"));
    let channel = tonic::transport::Endpoint::from_shared(url)?
        .connect()
        .await?;

    // Public: no token needed.
    let health = HealthClient::new(channel.clone())
        .check(HealthCheckRequest {
            service: "greeter.v1.Greeter".into(),
        })
        .await?;
    println!("health, no token: {:?}", health.into_inner().status());

    // Protected: every call carries a fresh token (15 minutes, replaced a minute before).
    let issuer = TokenIssuer::hmac(common::secret(), Algorithm::HS256).build()?;
    let tokens = IssuedTokens::new(Arc::new(issuer), &json!({ "sub": "demo" }))?;
    let authenticated = ServiceBuilder::new()
        .layer(BearerLayer::new(tokens))
        .service(channel.clone());
    let reply = GreeterClient::new(authenticated)
        .greet(GreetRequest {
            greeting: "Hello".into(),
        })
        .await?;
    println!("greet, with a token:    {:?}", reply.into_inner().message);

    let status = GreeterClient::new(channel)
        .greet(GreetRequest {
            greeting: "Hello".into(),
        })
        .await
        .expect_err("the server requires a token");
    println!(
        "greet, without a token: {:?} {:?}",
        status.code(),
        status.message()
    );
    Ok(())
}
