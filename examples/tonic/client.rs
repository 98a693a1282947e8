//! The client of `tonic-server`: an interceptor adds `authorization: Bearer <token>` to every
//! call. It mints its own demo token with the shared secret; a real client gets it from the
//! login of an identity provider.
//!
//! ```text
//! cargo run --example tonic-client
//! ```
//!
//! `JWT_SECRET` must match the server's; `ADDR` is the server (default `127.0.0.1:50051`).

#[path = "../common/mod.rs"]
mod common;
mod greeter {
    #![allow(clippy::all)]
    include!("proto/greeter.v1.rs");
}

use greeter::GreetRequest;
use greeter::greeter_client::GreeterClient;
use serde::Serialize;
use tonic::metadata::MetadataValue;
use tower_jwt_auth::jsonwebtoken::{self, Header};
use tower_jwt_auth::{Algorithm, EncodingKey, install_crypto_provider};

#[derive(Serialize)]
struct Claims<'a> {
    sub: &'a str,
    exp: u64,
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    install_crypto_provider()?;
    let key = EncodingKey::from_secret(&common::secret())?;
    let claims = Claims {
        sub: "demo",
        exp: common::now() + 15 * 60,
    };
    let token = jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &key)?;
    let bearer: MetadataValue<_> = format!("Bearer {token}").parse()?;

    let url = format!("http://{}", common::addr("127.0.0.1:50051"));
    let channel = tonic::transport::Endpoint::from_shared(url)?
        .connect()
        .await?;

    let mut client =
        GreeterClient::with_interceptor(channel.clone(), move |mut req: tonic::Request<()>| {
            req.metadata_mut().insert("authorization", bearer.clone());
            Ok(req)
        });
    let reply = client
        .greet(GreetRequest {
            greeting: "Hello".into(),
        })
        .await?;
    println!("with a token:    {:?}", reply.into_inner().message);

    let mut anonymous = GreeterClient::new(channel);
    let status = anonymous
        .greet(GreetRequest {
            greeting: "Hello".into(),
        })
        .await
        .expect_err("the server requires a token");
    println!(
        "without a token: {:?} {:?}",
        status.code(),
        status.message()
    );
    Ok(())
}
