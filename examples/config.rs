//! The layer configured from a TOML file (`examples/config/auth.toml`), its secret from the
//! environment.
//!
//! ```text
//! JWT_SECRET=$(openssl rand -hex 32) cargo run --example config [path/to/auth.toml]
//! ```
//!
//! It prints a token it signed with that secret and serves `GET /me` on `ADDR` (default
//! `127.0.0.1:3002`).

use axum::Router;
use axum::routing::get;
use serde::{Deserialize, Serialize};
use tower_jwt_auth::config::AuthConfig;
use tower_jwt_auth::issue::TokenIssuer;
use tower_jwt_auth::{Algorithm, Claims, JwtAuthLayer};

/// What the tokens say. Anyone can read a JWT's claims: never put a secret here.
#[derive(Clone, Serialize, Deserialize)]
struct User {
    sub: String,
}

async fn me(Claims(user): Claims<User>) -> String {
    format!("hello {}\n", user.sub)
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let path = std::env::args().nth(1).unwrap_or_else(|| {
        concat!(env!("CARGO_MANIFEST_DIR"), "/examples/config/auth.toml").into()
    });
    let config: AuthConfig = toml::from_str(&std::fs::read_to_string(&path)?)?;
    // The same checks and errors as the builder in code: a missing JWT_SECRET says so.
    let auth = JwtAuthLayer::<User>::from_config(&config)?.build()?;

    // A token to try it with, signed with the same secret (a real service would get its
    // tokens from its login endpoint or its identity provider).
    let secret = std::env::var("JWT_SECRET")?;
    let issuer = TokenIssuer::hmac(secret.as_bytes(), Algorithm::HS256)
        .audience("https://notes.example.com")
        .build()?;
    let token = issuer.issue(&User {
        sub: "alice".into(),
    })?;

    let app = Router::new().route("/me", get(me)).route_layer(auth);
    let addr = std::env::var("ADDR").unwrap_or_else(|_| "127.0.0.1:3002".into());
    let listener = tokio::net::TcpListener::bind(&addr).await?;
    println!("configured from {path}");
    println!(
        "curl http://{}/me -H 'Authorization: Bearer {token}'",
        listener.local_addr()?
    );
    axum::serve(listener, app).await?;
    Ok(())
}
