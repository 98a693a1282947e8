//! The server `scripts/load-test.sh` drives (a `bench = false` target: built by the script,
//! never run by `cargo bench`): one route, `GET /me`, whose handler reads `sub` from the
//! verified claims — behind the layer in one of its configurations, or with no layer at all.
//!
//! `MODE`:
//! - `none`, `none-rs256`: no layer; the handler answers the same body from a constant (the
//!   client sends an HS256 or an RS256 token, so each baseline carries the same request
//!   bytes as the modes it is compared with);
//! - `hs256`, `rs256`: the layer, one key;
//! - `hs256-cached`, `rs256-cached`: with `token_cache(10_000)`, one token sent again and
//!   again (every request a hit);
//! - `rs256-cached-mix`: with the cache, `TOKENS` distinct tokens (default 1,000) sent in
//!   turn, as many users would;
//! - `hs256-revocation`: HS256 and a `MemoryStore` holding 10,000 revocations (none of them
//!   the token's), the token carrying `jti`, `sid` and `iat` so that every lookup happens;
//! - `dpop`: an HS256 token bound to an ES256 key (`cnf.jkt`), each request with a fresh
//!   proof (RFC 9449): the server makes `PROOFS` of them (default 200,000) for its own URL
//!   at start, one per line in `PROOFS_FILE`, which the client sends once each; the replay
//!   caches are sized for them (one client sending tens of thousands of proofs a second is
//!   the benchmark's shape, not a real one's);
//! - `none-rs256-mix`: the bare server receiving the mix's requests (the same `TOKENS`
//!   tokens in turn, sent by the same wrk script, whose Lua costs the load generator time);
//! - `none-dpop`: the bare server receiving the same `DPoP` requests;
//! - `introspection-cached` (feature `jwks`): an opaque token as long as the HS256 token
//!   (so that `none` carries the same request bytes), introspected once at the server's own
//!   `/introspect` (outside the layer) and kept for the run: every request a kept answer
//!   (RFC 7662), the counterpart of `hs256-cached`.
//!
//! `ADDR` (default `127.0.0.1:3002`), `WORKERS` = tokio worker threads (default 1). It prints
//! `TOKEN=` (a valid token), `TOKENS_FILE=` (one token per line, for the mix), then
//! `listening on http://…`. Every token carries `sub`, `iat`, `exp` and `scope`.
//!
//! `GET /allocations` (outside the layer) answers the number of heap allocations made so
//! far by the process: the script reads it around a run to give allocations per request.
//! The counting allocator costs every mode the same (one relaxed atomic add).

use std::alloc::{GlobalAlloc, Layout, System};
use std::io::BufWriter;
use std::io::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};

use axum::extract::Extension;
use axum::routing::get;
use axum::{Json, Router};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Serialize};
use serde_json::json;
use tower_jwt_auth::dpop::DpopOptions;
use tower_jwt_auth::jsonwebtoken::jwk::{Jwk, ThumbprintHash};
use tower_jwt_auth::jsonwebtoken::{self, Header};
use tower_jwt_auth::revocation::{MemoryStore, Revocation, RevocationStore};
use tower_jwt_auth::{Algorithm, DecodingKey, EncodingKey, JwtAuthLayer, install_crypto_provider};

struct Counting;

static ALLOCATIONS: AtomicU64 = AtomicU64::new(0);

// SAFETY: every call is passed to the system allocator unchanged; only a counter is added.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        // SAFETY: the caller's contract is System's.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: the caller's contract is System's.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        // SAFETY: the caller's contract is System's.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

#[derive(Clone, Serialize, Deserialize)]
struct Claims {
    sub: String,
    iat: u64,
    exp: u64,
    scope: String,
}

const SECRET: &[u8] = b"load-test-secret-of-at-least-32-bytes!";

async fn me(Extension(claims): Extension<Claims>) -> String {
    claims.sub
}

fn main() {
    let mode = std::env::var("MODE").unwrap_or_else(|_| "hs256".into());
    let addr = std::env::var("ADDR").unwrap_or_else(|_| "127.0.0.1:3002".into());
    let workers: usize =
        std::env::var("WORKERS").map_or(1, |w| w.parse().expect("WORKERS is a number"));
    let distinct: usize =
        std::env::var("TOKENS").map_or(1_000, |n| n.parse().expect("TOKENS is a number"));
    install_crypto_provider().expect("a crypto backend");

    let data =
        |f: &str| std::fs::read(format!("{}/tests/data/{f}", env!("CARGO_MANIFEST_DIR"))).unwrap();
    let (alg, encoding, decoding) = if mode.starts_with("rs256") || mode.starts_with("none-rs256") {
        let enc = EncodingKey::from_rsa_pem(&data("rsa_private.pem")).unwrap();
        let dec = DecodingKey::from_rsa_pem(&data("rsa_public.pem")).unwrap();
        (Algorithm::RS256, enc, dec)
    } else {
        let enc = EncodingKey::from_secret(SECRET).unwrap();
        let dec = DecodingKey::from_secret(SECRET).unwrap();
        (Algorithm::HS256, enc, dec)
    };
    let now = jsonwebtoken::get_current_timestamp();
    let mint = |sub: String| {
        let claims = Claims {
            sub,
            iat: now,
            exp: now + 3600,
            scope: "notes:read notes:write".into(),
        };
        if mode.ends_with("dpop") {
            let mut value = serde_json::to_value(&claims).unwrap();
            value["cnf"] = json!({ "jkt": dpop_jkt(&data("ec_private.pem")) });
            jsonwebtoken::encode(&Header::new(alg), &value, &encoding).unwrap()
        } else if mode == "hs256-revocation" {
            // The revocation lookups need the ids: `jti` and `sid` beside `sub` and `iat`.
            let mut value = serde_json::to_value(&claims).unwrap();
            value["jti"] = "load-test-jti".into();
            value["sid"] = "load-test-sid".into();
            jsonwebtoken::encode(&Header::new(alg), &value, &encoding).unwrap()
        } else {
            jsonwebtoken::encode(&Header::new(alg), &claims, &encoding).unwrap()
        }
    };
    let token = mint("load-test".into());
    // An opaque reference of the JWT's length: no dots, nothing readable.
    let token = if mode.starts_with("introspection") {
        let filler = URL_SAFE_NO_PAD.encode(token.as_bytes());
        filler[..token.len()].to_owned()
    } else {
        token
    };
    let tokens_file = std::env::temp_dir().join(format!("load-tokens-{}", std::process::id()));
    if mode.ends_with("-mix") {
        let mut file = std::fs::File::create(&tokens_file).unwrap();
        for user in 0..distinct {
            writeln!(file, "{}", mint(format!("user-{user:05}"))).unwrap();
        }
    }

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(workers)
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async move {
        let listener = tokio::net::TcpListener::bind(&addr).await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let proofs_file = std::env::temp_dir().join(format!("load-proofs-{}", std::process::id()));
        if mode.ends_with("dpop") {
            let count =
                std::env::var("PROOFS").map_or(200_000, |n| n.parse().expect("PROOFS is a number"));
            let htu = format!("{url}/me");
            write_proofs(&proofs_file, &data("ec_private.pem"), &htu, &token, count);
        }
        let app = match mode.as_str() {
            "none" | "none-rs256" | "none-rs256-mix" | "none-dpop" => {
                Router::new().route("/me", get(|| async { String::from("load-test") }))
            }
            "hs256" | "rs256" => Router::new()
                .route("/me", get(me))
                .layer(JwtAuthLayer::<Claims>::new(decoding, alg).unwrap()),
            "hs256-cached" | "rs256-cached" | "rs256-cached-mix" => {
                Router::new().route("/me", get(me)).layer(
                    JwtAuthLayer::<Claims>::builder()
                        .key(decoding, alg)
                        .token_cache(10_000)
                        .build()
                        .unwrap(),
                )
            }
            "hs256-revocation" => {
                let store = MemoryStore::new();
                for i in 0..10_000 {
                    let revocation = Revocation::Token {
                        jti: format!("revoked-{i}"),
                        expires_at: now + 3600,
                    };
                    store.revoke(revocation).await.unwrap();
                }
                Router::new().route("/me", get(me)).layer(
                    JwtAuthLayer::<Claims>::builder()
                        .key(decoding, alg)
                        .revocation(store)
                        .build()
                        .unwrap(),
                )
            }
            "dpop" => Router::new().route("/me", get(me)).layer(
                JwtAuthLayer::<Claims>::builder()
                    .key(decoding, alg)
                    .dpop(
                        DpopOptions::default()
                            .external_url(Some(url.clone()))
                            .replay_capacity(1_000_000)
                            .replay_per_key(1_000_000),
                    )
                    .build()
                    .unwrap(),
            ),
            #[cfg(feature = "jwks")]
            "introspection-cached" => {
                use tower_jwt_auth::introspection::{ClientAuth, Introspection};
                let endpoint = format!("{url}/introspect");
                let introspection =
                    Introspection::endpoint(endpoint, ClientAuth::basic("load", "test"))
                        .cache_for(std::time::Duration::from_secs(3600));
                Router::new().route("/me", get(me)).layer(
                    JwtAuthLayer::<Claims>::builder()
                        .introspection(introspection)
                        .build()
                        .unwrap(),
                )
            }
            other => panic!("unknown MODE {other:?}"),
        };
        // The authorization server's answer for any token, outside the layer.
        let answer = json!({
            "active": true, "sub": "load-test", "iat": now, "exp": now + 3600,
            "scope": "notes:read notes:write",
        })
        .to_string();
        let app = app.route(
            "/introspect",
            axum::routing::post(move || std::future::ready(answer.clone())),
        );
        let app = app.route(
            "/allocations",
            get(|| async { Json(ALLOCATIONS.load(Ordering::Relaxed)) }),
        );
        println!("TOKEN={token}");
        println!("TOKENS_FILE={}", tokens_file.display());
        println!("PROOFS_FILE={}", proofs_file.display());
        println!("listening on {url}");
        axum::serve(listener, app).await.unwrap();
    });
}

/// The RFC 7638 thumbprint of the DPoP client's key.
fn dpop_jkt(private_pem: &[u8]) -> String {
    let key = EncodingKey::from_ec_pem(private_pem).unwrap();
    let jwk = Jwk::from_encoding_key(&key, Algorithm::ES256).unwrap();
    jwk.thumbprint(ThumbprintHash::SHA256).unwrap()
}

/// `count` DPoP proofs of `GET htu` for `token`, each with its own `jti`, one per line.
#[inline(never)] // scripts/allocations.sh leaves out what it allocates, by its name
fn write_proofs(path: &std::path::Path, private_pem: &[u8], htu: &str, token: &str, count: usize) {
    let key = EncodingKey::from_ec_pem(private_pem).unwrap();
    let mut header = Header::new(Algorithm::ES256);
    header.typ = Some("dpop+jwt".into());
    header.jwk = Some(Jwk::from_encoding_key(&key, Algorithm::ES256).unwrap());
    let provider = jsonwebtoken::crypto::CryptoProvider::try_get_default().unwrap();
    let digest = (provider.key_utils.compute_digest)(token.as_bytes(), ThumbprintHash::SHA256);
    let ath = URL_SAFE_NO_PAD.encode(digest.unwrap());
    let iat = jsonwebtoken::get_current_timestamp();
    let mut out = BufWriter::new(std::fs::File::create(path).unwrap());
    for n in 0..count {
        let claims =
            json!({ "jti": format!("load-{n}"), "htm": "GET", "htu": htu, "iat": iat, "ath": ath });
        writeln!(
            out,
            "{}",
            jsonwebtoken::encode(&header, &claims, &key).unwrap()
        )
        .unwrap();
    }
}
