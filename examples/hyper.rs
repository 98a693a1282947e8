//! A plain hyper 1 server (through hyper-util) with a `tower::ServiceBuilder` stack:
//! `JwtAuthLayer` in front of a `service_fn`.
//!
//! ```text
//! cargo run --example hyper
//! ```
//!
//! `JWT_SECRET` sets the HMAC secret, `ADDR` the address (default `127.0.0.1:3001`). It
//! prints a one-hour demo token to try it with; tokens minted by the axum example (same
//! secret) work here too.

mod common;

use std::convert::Infallible;
use std::time::Duration;

use http_body_util::Full;
use hyper::body::{Bytes, Incoming};
use hyper::{Request, Response};
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use hyper_util::service::TowerToHyperService;
use serde::Deserialize;
use tower::ServiceBuilder;
use tower_jwt_auth::issue::TokenIssuer;
use tower_jwt_auth::{Algorithm, JwtAuthLayer};

#[derive(Clone, Debug, Deserialize)]
struct Caller {
    sub: String,
}

/// Reached only with a verified token.
async fn hello(req: Request<Incoming>) -> Result<Response<Full<Bytes>>, Infallible> {
    let caller = req.extensions().get::<Caller>().expect("the layer ran");
    Ok(Response::new(Full::from(format!(
        "hello, {}\n",
        caller.sub
    ))))
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let secret = common::secret();
    let auth = JwtAuthLayer::<Caller>::builder()
        .hmac_secret(&secret, Algorithm::HS256)
        .build()?;
    // A token to try the server with, as a login endpoint would mint it.
    let demo_token = TokenIssuer::hmac(&secret, Algorithm::HS256)
        .lifetime(Duration::from_secs(3600))
        .build()?
        .issue(&serde_json::json!({ "sub": "demo" }))?;
    let service = ServiceBuilder::new()
        .layer(auth)
        .service(tower::service_fn(hello));

    let addr = common::addr("127.0.0.1:3001");
    let listener = tokio::net::TcpListener::bind(&addr).await?;
    let addr = listener.local_addr()?;
    println!("listening on http://{addr}\n");
    println!("a demo token for `demo`, valid for one hour:");
    println!("  TOKEN={demo_token}");
    println!("call the server with it (200), and without (401):");
    println!("  curl -i http://{addr}/ -H \"Authorization: Bearer $TOKEN\"");
    println!("  curl -i http://{addr}/");
    loop {
        let (stream, _) = listener.accept().await?;
        let service = TowerToHyperService::new(service.clone());
        tokio::spawn(async move {
            let conn = auto::Builder::new(TokioExecutor::new());
            if let Err(e) = conn.serve_connection(TokioIo::new(stream), service).await {
                eprintln!("connection error: {e}");
            }
        });
    }
}
