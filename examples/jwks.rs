//! Key rotation end to end: a small issuer publishes its JWKS and rotates its signing key on a
//! timer; an API verifies through `JwtAuthLayer` with `jwks_url`. Tokens keep working across
//! rotations: a new key is picked up on the first token that names it, and a retired key stays
//! published for one period so that the tokens it signed live out their lifetime.
//!
//! ```text
//! cargo run --example jwks --features jwks
//! ```
//!
//! The issuer listens on 127.0.0.1:3010, the API on 127.0.0.1:3011; `ROTATE_SECS` sets the
//! rotation period (default 20; keep it above the 5 s unknown-key cooldown set below). The two RSA key pairs are the demo keys of `tests/data`.

mod common;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::{Extension, State};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use tower_jwt_auth::jsonwebtoken::jwk::Jwk;
use tower_jwt_auth::jsonwebtoken::{self, Header};
use tower_jwt_auth::jwks::JwksOptions;
use tower_jwt_auth::{Algorithm, EncodingKey, JwtAuthLayer, install_crypto_provider};

#[derive(Clone, Debug, Serialize, Deserialize)]
struct Claims {
    sub: String,
    exp: u64,
    iss: String,
}

/// The issuer's keys: the current signing key and the one before it, both published.
struct Issuer {
    url: String,
    generation: u32,
    current: (String, EncodingKey),
    previous: Option<(String, EncodingKey)>,
}

impl Issuer {
    fn key_pair(generation: u32) -> (String, EncodingKey) {
        let file = if generation.is_multiple_of(2) {
            "rsa_private.pem"
        } else {
            "rsa2_private.pem"
        };
        let pem =
            std::fs::read(format!("{}/tests/data/{file}", env!("CARGO_MANIFEST_DIR"))).unwrap();
        (
            format!("key-{generation}"),
            EncodingKey::from_rsa_pem(&pem).unwrap(),
        )
    }

    fn rotate(&mut self) {
        self.generation += 1;
        let next = Issuer::key_pair(self.generation);
        self.previous = Some(std::mem::replace(&mut self.current, next));
        println!("issuer: now signing with {}", self.current.0);
    }

    fn jwks(&self) -> Value {
        let keys: Vec<Value> = [Some(&self.current), self.previous.as_ref()]
            .into_iter()
            .flatten()
            .map(|(kid, key)| {
                let mut jwk = Jwk::from_encoding_key(key, Algorithm::RS256).unwrap();
                jwk.common.key_id = Some(kid.clone());
                serde_json::to_value(jwk).unwrap()
            })
            .collect();
        json!({ "keys": keys })
    }
}

type Shared = Arc<Mutex<Issuer>>;

async fn jwks(State(issuer): State<Shared>) -> Json<Value> {
    Json(issuer.lock().unwrap().jwks())
}

/// Issues a token for the demo user (a real issuer checks credentials first).
async fn token(State(issuer): State<Shared>) -> Json<Value> {
    let issuer = issuer.lock().unwrap();
    let (kid, key) = &issuer.current;
    let mut header = Header::new(Algorithm::RS256);
    header.kid = Some(kid.clone());
    let claims = Claims {
        sub: "demo".into(),
        exp: jsonwebtoken::get_current_timestamp() + 15 * 60,
        iss: issuer.url.clone(),
    };
    Json(
        json!({ "access_token": jsonwebtoken::encode(&header, &claims, key).unwrap(), "kid": kid }),
    )
}

async fn me(Extension(claims): Extension<Claims>) -> Json<Claims> {
    Json(claims)
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    install_crypto_provider()?;
    let period = Duration::from_secs(
        std::env::var("ROTATE_SECS").map_or(20, |s| s.parse().expect("ROTATE_SECS")),
    );
    let issuer_url = "http://127.0.0.1:3010".to_owned();
    let issuer: Shared = Arc::new(Mutex::new(Issuer {
        url: issuer_url.clone(),
        generation: 0,
        current: Issuer::key_pair(0),
        previous: None,
    }));

    let rotating = Arc::clone(&issuer);
    tokio::spawn(async move {
        let mut timer = tokio::time::interval(period);
        timer.tick().await;
        loop {
            timer.tick().await;
            rotating.lock().unwrap().rotate();
        }
    });
    let issuer_app = Router::new()
        .route("/jwks.json", get(jwks))
        .route("/token", post(token))
        .with_state(issuer);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:3010").await?;
    tokio::spawn(async move { axum::serve(listener, issuer_app).await });

    let auth = JwtAuthLayer::<Claims>::builder()
        .jwks_url(format!("{issuer_url}/jwks.json"))
        .issuer(&issuer_url)
        // A demo rotates far faster than a real issuer (days): refetch for a new key sooner
        // than the 30 s default allows.
        .jwks_options(JwksOptions::default().unknown_key_cooldown(Duration::from_secs(5)))
        .build()?;
    if tokio::time::timeout(Duration::from_secs(5), auth.ready())
        .await
        .is_err()
    {
        eprintln!("warning: the issuer's keys are not reachable yet");
    }
    let api = Router::new()
        .route("/me", get(me))
        .route_layer(auth)
        // With `--features metrics`: key fetches, keys in use, requests, for Prometheus.
        .merge(common::metrics());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:3011").await?;
    println!("issuer on {issuer_url} (rotates every {period:?}), API on http://127.0.0.1:3011");
    println!(
        "  TOKEN=$(curl -s -X POST {issuer_url}/token | sed 's/.*\"access_token\":\"\\([^\"]*\\)\".*/\\1/')"
    );
    println!("  curl -i http://127.0.0.1:3011/me -H \"Authorization: Bearer $TOKEN\"");
    axum::serve(listener, api)
        .with_graceful_shutdown(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await?;
    Ok(())
}
