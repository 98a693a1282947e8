//! Opaque access tokens, checked by asking the authorization server (RFC 7662), beside
//! JWTs verified locally on the same layer.
//!
//! ```text
//! cargo run --example introspection --features jwks
//! ```
//!
//! With `INTROSPECTION_URL`, `CLIENT_ID` and `CLIENT_SECRET` set, the API asks that endpoint
//! (authenticating with HTTP Basic). Without them, it starts a demo endpoint on loopback
//! that knows one opaque token and prints it; then, from another terminal:
//!
//! ```text
//! curl -i localhost:3012/me -H "Authorization: Bearer $TOKEN"      # 200, the server's answer
//! curl -i localhost:3012/notes -H "Authorization: Bearer $TOKEN"   # 200: scope notes:read
//! curl -i localhost:3012/me -H "Authorization: Bearer made-up"     # 401, not active
//! ```
//!
//! The API listens on `ADDR` (default 127.0.0.1:3012).

mod common;

use std::time::Duration;

use axum::routing::{get, post};
use axum::{Form, Router};
use serde::Deserialize;
use serde_json::json;
use tower_jwt_auth::authorize::Require;
use tower_jwt_auth::introspection::{ClientAuth, Introspection};
use tower_jwt_auth::{Claims, JwtAuthLayer};

/// What the handlers read: the members of the introspection answer (RFC 7662 §2.2), or of
/// a JWT's payload — one claims type for both.
#[derive(Clone, Debug, Deserialize)]
struct Token {
    sub: Option<String>,
    client_id: Option<String>,
    scope: Option<String>,
}

/// The opaque token the demo endpoint knows: a reference, meaningless without the server.
const DEMO_TOKEN: &str = "demo-opaque-5mV9qkL2xR8tYw3Z";

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let introspection = match std::env::var("INTROSPECTION_URL") {
        Ok(url) => Introspection::endpoint(
            url,
            ClientAuth::basic(std::env::var("CLIENT_ID")?, std::env::var("CLIENT_SECRET")?),
        ),
        Err(_) => demo_endpoint().await?,
    };
    let auth = JwtAuthLayer::<Token>::builder()
        // JWTs signed with the demo secret are verified here; anything else is introspected.
        .hmac_secret(common::secret(), tower_jwt_auth::Algorithm::HS256)
        .audience("notes-api")
        // A token revoked at the server passes here at most this long.
        .introspection(introspection.cache_for(Duration::from_secs(30)))
        .build()?;

    let app = Router::new()
        .route(
            "/me",
            get(|Claims(token): Claims<Token>| async move {
                format!(
                    "sub: {:?}, client_id: {:?}, scope: {:?}\n",
                    token.sub, token.client_id, token.scope
                )
            }),
        )
        .route(
            "/notes",
            get(|| async { "your notes\n" })
                .route_layer(Require::<Token>::scope("notes:read").build()?),
        )
        .layer(auth);
    let listener = tokio::net::TcpListener::bind(common::addr("127.0.0.1:3012")).await?;
    println!("API on http://{}", listener.local_addr()?);
    axum::serve(listener, app).await?;
    Ok(())
}

/// A stand-in for the authorization server's introspection endpoint, on a loopback port:
/// `DEMO_TOKEN` is active (for the API `notes-api`, scope `notes:read`), any other token
/// is not. A real server also checks the caller's credentials (RFC 7662 §2.1).
async fn demo_endpoint() -> Result<Introspection, Box<dyn std::error::Error>> {
    #[derive(Deserialize)]
    struct Asked {
        token: String,
    }
    let answer = |Form(asked): Form<Asked>| async move {
        if asked.token != DEMO_TOKEN {
            return json!({ "active": false }).to_string();
        }
        json!({
            "active": true,
            "sub": "alice",
            "client_id": "notes-web",
            "scope": "notes:read",
            "aud": "notes-api",
            "exp": common::now() + 15 * 60,
            "token_type": "Bearer",
        })
        .to_string()
    };
    let server = Router::new().route("/introspect", post(answer));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let url = format!("http://{}/introspect", listener.local_addr()?);
    tokio::spawn(async move { axum::serve(listener, server).await });
    eprintln!("warning: INTROSPECTION_URL is not set; using a demo endpoint at {url}");
    println!("TOKEN={DEMO_TOKEN}");
    Ok(Introspection::endpoint(
        url,
        ClientAuth::basic("notes-api", "demo-only"),
    ))
}
