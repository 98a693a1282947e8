//! The whole flow in one axum app: log in → a signed 15-minute JWT → `Authorization: Bearer`
//! → `JwtAuthLayer` → the handler reads the verified claims.
//!
//! ```text
//! cargo run --example axum
//! ```
//!
//! `JWT_SECRET` sets the HMAC secret (at least 32 bytes; a built-in demo secret otherwise),
//! `ADDR` the address (default `127.0.0.1:3000`).

mod common;

use std::sync::Arc;

use axum::extract::{Extension, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use tower_jwt_auth::{Algorithm, DEFAULT_ACCESS_TOKEN_LIFETIME, RegisteredClaims, TokenIssuer};

/// What the tokens say. Anyone can read a JWT's claims: never put a secret here.
#[derive(Clone, Debug, Serialize, Deserialize)]
struct UserClaims {
    #[serde(flatten)]
    registered: RegisteredClaims,
    name: String,
}

#[derive(Deserialize)]
struct Login {
    username: String,
    password: String,
}

#[derive(Serialize)]
struct TokenResponse {
    access_token: String,
    token_type: &'static str,
    expires_in: u64,
}

#[tokio::main]
async fn main() {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "info,tower_jwt_auth=debug".into()),
        )
        .init();

    let secret = common::secret();
    let addr = common::addr("127.0.0.1:3000");

    // The issuer mints 15-minute access tokens; the layer it builds accepts exactly them.
    let issuer = TokenIssuer::hmac(&secret, Algorithm::HS256)
        .issuer("tower-jwt-auth-demo")
        .build()
        .unwrap_or_else(|e| panic!("cannot build the token issuer: {e}"));
    let auth = issuer
        .layer::<UserClaims>()
        .unwrap_or_else(|e| panic!("cannot build the JWT layer: {e}"));

    let app = Router::new()
        .route("/me", get(me))
        // `route_layer` guards the routes above; an unknown path still answers 404.
        .route_layer(auth)
        .route("/login", post(login))
        .route("/health", get(|| async { "ok" }))
        .with_state(Arc::new(issuer));

    let listener = tokio::net::TcpListener::bind(&addr)
        .await
        .unwrap_or_else(|e| panic!("cannot listen on {addr}: {e}"));
    let addr = listener.local_addr().expect("bound address");
    println!("listening on http://{addr}\n");
    println!("log in (demo credentials):");
    println!(
        "  TOKEN=$(curl -s -X POST http://{addr}/login -H 'content-type: application/json' \
         -d '{{\"username\":\"demo\",\"password\":\"demo\"}}' | sed 's/.*\"access_token\":\"\\([^\"]*\\)\".*/\\1/')"
    );
    println!("call the protected route:");
    println!("  curl -i http://{addr}/me -H \"Authorization: Bearer $TOKEN\"");
    println!("without a token (401 and a WWW-Authenticate challenge):");
    println!("  curl -i http://{addr}/me");
    axum::serve(listener, app)
        .with_graceful_shutdown(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await
        .expect("server error");
}

/// Checks the credentials and issues a signed, short-lived access token.
async fn login(
    State(issuer): State<Arc<TokenIssuer>>,
    Json(login): Json<Login>,
) -> Result<Json<TokenResponse>, StatusCode> {
    // A real service checks a password hash in its user store.
    if login.username != "demo" || login.password != "demo" {
        return Err(StatusCode::UNAUTHORIZED);
    }
    let claims = UserClaims {
        registered: RegisteredClaims {
            sub: Some(login.username),
            ..RegisteredClaims::default()
        },
        name: "Demo User".to_owned(),
    };
    // The issuer adds iat, nbf, exp, jti and iss.
    let token = issuer
        .issue(&claims)
        .map_err(|_| StatusCode::INTERNAL_SERVER_ERROR)?;
    Ok(Json(TokenResponse {
        access_token: token,
        token_type: "Bearer",
        expires_in: DEFAULT_ACCESS_TOKEN_LIFETIME.as_secs(),
    }))
}

/// Protected: only reached with a valid token; the layer put the claims in the extensions.
async fn me(Extension(claims): Extension<UserClaims>) -> Json<UserClaims> {
    Json(claims)
}
