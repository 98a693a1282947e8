//! The server `scripts/load-test.sh` drives (a `bench = false` target: built by the script, never run by `cargo bench`): one axum route behind the layer, or without it.
//!
//! `MODE` = `none` | `hs256` | `rs256` | `rs256-cached`; `ADDR` (default `127.0.0.1:3002`);
//! `WORKERS` = tokio worker threads (default 1). It prints a valid token for its mode on the
//! first line, then the address it listens on. The RS256 keys are the test keys of
//! `tests/data`.

use axum::Router;
use axum::routing::get;
use serde::{Deserialize, Serialize};
use tower_jwt_auth::jsonwebtoken::{self, Header};
use tower_jwt_auth::{Algorithm, DecodingKey, EncodingKey, JwtAuthLayer, install_crypto_provider};

#[derive(Clone, Serialize, Deserialize)]
struct Claims {
    sub: String,
    exp: u64,
    role: String,
}

const SECRET: &[u8] = b"load-test-secret-of-at-least-32-bytes!";

fn main() {
    let mode = std::env::var("MODE").unwrap_or_else(|_| "hs256".into());
    let addr = std::env::var("ADDR").unwrap_or_else(|_| "127.0.0.1:3002".into());
    let workers: usize =
        std::env::var("WORKERS").map_or(1, |w| w.parse().expect("WORKERS is a number"));
    install_crypto_provider().expect("a crypto backend");

    let data =
        |f: &str| std::fs::read(format!("{}/tests/data/{f}", env!("CARGO_MANIFEST_DIR"))).unwrap();
    let (alg, encoding, decoding) = if mode.starts_with("rs256") {
        let enc = EncodingKey::from_rsa_pem(&data("rsa_private.pem")).unwrap();
        let dec = DecodingKey::from_rsa_pem(&data("rsa_public.pem")).unwrap();
        (Algorithm::RS256, enc, dec)
    } else {
        let enc = EncodingKey::from_secret(SECRET).unwrap();
        let dec = DecodingKey::from_secret(SECRET).unwrap();
        (Algorithm::HS256, enc, dec)
    };
    let claims = Claims {
        sub: "load-test".into(),
        exp: jsonwebtoken::get_current_timestamp() + 3600,
        role: "reader".into(),
    };
    let token = jsonwebtoken::encode(&Header::new(alg), &claims, &encoding).unwrap();

    let app = Router::new().route("/", get(|| async { "ok" }));
    let app = match mode.as_str() {
        "none" => app,
        "hs256" | "rs256" => app.layer(JwtAuthLayer::<Claims>::new(decoding, alg).unwrap()),
        "rs256-cached" => app.layer(
            JwtAuthLayer::<Claims>::builder()
                .key(decoding, alg)
                .token_cache(10_000)
                .build()
                .unwrap(),
        ),
        other => panic!("unknown MODE {other:?}"),
    };

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(workers)
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async move {
        let listener = tokio::net::TcpListener::bind(&addr).await.unwrap();
        println!("TOKEN={token}");
        println!("listening on http://{}", listener.local_addr().unwrap());
        axum::serve(listener, app).await.unwrap();
    });
}
