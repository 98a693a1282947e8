//! The soak run (issue #24, item 5): two replicas — each a layer with keys from a JWKS URL
//! and its own `RedisStore` on one real `redis-server` — under a steady load while faults come
//! and go, phase by phase: Redis paused (`SIGSTOP`/`SIGCONT`), Redis killed and restarted
//! empty, the key server answering 500, the key server hanging, a key rotated out. Per phase
//! it prints the requests, wrong accepts (a revoked, forged or withdrawn token let through),
//! valid tokens refused by status, how long a revocation took to reach the other replica,
//! how long recovery took once the fault healed, and the process's memory; and it fails on
//! any wrong accept, or any valid token refused other than by a documented `503`.
//!
//! `scripts/soak.sh [SECONDS]` runs it (ignored by a plain `cargo test`); `.ci/run` runs a
//! short form. It starts `redis-server` itself (scripts/test-all.sh installs it).
#![cfg(all(feature = "redis", feature = "jwks"))]

mod common;

use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU8, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::State;
use axum::response::IntoResponse;
use common::*;
use serde_json::{Value, json};
use tower_jwt_auth::jsonwebtoken::Header;
use tower_jwt_auth::jsonwebtoken::jwk::Jwk;
use tower_jwt_auth::jwks::JwksOptions;
use tower_jwt_auth::revocation::{RedisOptions, RedisStore, Revocation, RevocationStore, TokenId};
use tower_jwt_auth::{Algorithm, EncodingKey, JwtAuthLayer};

/// How the key server answers.
const KEYS_OK: u8 = 0;
const KEYS_500: u8 = 1;
const KEYS_HANG: u8 = 2;

/// The refresh pace of the replicas' keys: a withdrawn key may serve this long (plus a
/// fetch) after it is withdrawn.
const KEY_REFRESH: Duration = Duration::from_millis(500);

struct KeyServer {
    mode: AtomicU8,
    /// The `kid`s published now.
    published: Mutex<Vec<&'static str>>,
}

fn private(kid: &str) -> EncodingKey {
    let pem = if kid == "k1" {
        RSA_PRIVATE
    } else {
        RSA2_PRIVATE
    };
    EncodingKey::from_rsa_pem(pem).unwrap()
}

async fn jwks(State(server): State<Arc<KeyServer>>) -> axum::response::Response {
    match server.mode.load(Ordering::SeqCst) {
        KEYS_500 => return http::StatusCode::INTERNAL_SERVER_ERROR.into_response(),
        KEYS_HANG => return std::future::pending().await,
        _ => {}
    }
    let kids = server.published.lock().unwrap().clone();
    let keys: Vec<Value> = kids
        .iter()
        .map(|kid| {
            let jwk = Jwk::from_encoding_key(&private(kid), Algorithm::RS256).unwrap();
            let mut jwk = serde_json::to_value(jwk).unwrap();
            jwk["kid"] = json!(kid);
            jwk
        })
        .collect();
    axum::Json(json!({ "keys": keys })).into_response()
}

/// A `redis-server` without persistence, which the run pauses, kills and restarts.
struct Redis {
    port: u16,
    child: Child,
}

impl Redis {
    fn start(port: u16) -> Redis {
        let child = Command::new("redis-server")
            .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no"])
            .stdout(Stdio::null())
            .spawn()
            .expect("redis-server must be installed: scripts/test-all.sh installs it");
        let deadline = Instant::now() + Duration::from_secs(10);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "redis-server did not start");
            std::thread::sleep(Duration::from_millis(20));
        }
        Redis { port, child }
    }

    fn signal(&self, signal: &str) {
        let pid = self.child.id().to_string();
        let done = Command::new("kill").args([signal, &pid]).status().unwrap();
        assert!(done.success());
    }

    fn kill(&mut self) {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
    }
}

impl Drop for Redis {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn token(kid: &str, signer: &str, jti: &str) -> String {
    let mut header = Header::new(Algorithm::RS256);
    header.kid = Some(kid.into());
    let claims = json!({ "sub": "soak", "jti": jti, "iat": now(), "exp": now() + 3600 });
    mint_with(&header, &claims, &private(signer))
}

/// One replica: its layer (keys from the key server, revocations through Redis), served.
async fn replica(keys: SocketAddr, redis: u16) -> (SocketAddr, RedisStore) {
    let options = RedisOptions::default()
        .timeout(Duration::from_millis(300))
        .ping_interval(Duration::from_millis(500))
        .reconnect_delay(Duration::from_millis(100))
        .max_reconnect_delay(Duration::from_millis(400));
    let store = RedisStore::connect_with(&format!("redis://127.0.0.1:{redis}/"), options)
        .await
        .unwrap();
    let layer = JwtAuthLayer::<Value>::builder()
        .jwks_url(format!("http://{keys}/jwks.json"))
        .jwks_options(
            JwksOptions::default()
                .refresh_interval(KEY_REFRESH)
                .min_refresh_interval(KEY_REFRESH)
                .max_refresh_interval(KEY_REFRESH)
                .timeout(Duration::from_secs(1))
                .max_retry_backoff(Duration::from_millis(500))
                .unknown_key_cooldown(Duration::from_secs(1)),
        )
        .revocation(store.clone())
        .build()
        .unwrap();
    tokio::time::timeout(Duration::from_secs(5), layer.ready())
        .await
        .unwrap();
    (serve(ok_behind(layer)).await, store)
}

/// What one phase saw.
#[derive(Default)]
struct Tally {
    requests: u64,
    wrong_accepts: u64,
    valid_ok: u64,
    /// Valid tokens refused, by status.
    valid_refused: std::collections::BTreeMap<u16, u64>,
}

/// The kinds of token the load sends.
#[derive(Clone, Copy)]
enum Kind {
    Valid,
    Revoked,
    Forged,
    /// Signed by a key withdrawn at this instant.
    Withdrawn(Instant),
}

fn rss_mib() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let kib: f64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0.0);
    kib / 1024.0
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "the soak run: scripts/soak.sh [SECONDS]"]
async fn soak() {
    let seconds: u64 = std::env::var("SOAK_SECONDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(36);
    let phase = Duration::from_secs((seconds / 6).max(3));
    let keys = Arc::new(KeyServer {
        mode: AtomicU8::new(KEYS_OK),
        published: Mutex::new(vec!["k1"]),
    });
    let keys_addr = serve(
        axum::Router::new()
            .route("/jwks.json", axum::routing::get(jwks))
            .with_state(Arc::clone(&keys)),
    )
    .await;
    let mut redis = Redis::start(free_port());
    let (a, store_a) = replica(keys_addr, redis.port).await;
    let (b, store_b) = replica(keys_addr, redis.port).await;
    let revoked = token("k1", "k1", "revoked");
    store_a
        .revoke(Revocation::Token {
            jti: "revoked".into(),
            expires_at: now() + 3600,
        })
        .await
        .unwrap();
    let forged = token("k1", "k2", "forged");
    let next_jti = AtomicU64::new(0);

    println!(
        "\n{:<16} {:>8} {:>7} {:>10} {:>22} {:>12} {:>11} {:>8}",
        "phase",
        "requests",
        "wrong",
        "valid ok",
        "valid refused",
        "propagation",
        "recovery",
        "RSS MiB"
    );
    let mut total_wrong = 0;
    let mut refused_other_than_503 = 0;
    for name in [
        "steady",
        "redis-paused",
        "redis-restarted",
        "keys-500",
        "keys-hang",
        "key-rotated",
    ] {
        let start = Instant::now();
        let mut tally = Tally::default();
        let mut healed_at: Option<Instant> = None;
        let mut recovered_in: Option<Duration> = None;
        let mut withdrawn_at: Option<Instant> = None;
        let valid_kid = if name == "key-rotated" { "k2" } else { "k1" };
        // The fault, and when it heals.
        match name {
            "redis-paused" => redis.signal("-STOP"),
            "redis-restarted" => redis.kill(),
            "keys-500" => keys.mode.store(KEYS_500, Ordering::SeqCst),
            "keys-hang" => keys.mode.store(KEYS_HANG, Ordering::SeqCst),
            "key-rotated" => keys.published.lock().unwrap().push("k2"),
            _ => {}
        }
        // A revocation on A, timed until B refuses it (skipped while Redis is down).
        let propagation = if matches!(name, "redis-paused" | "redis-restarted") {
            None
        } else {
            let jti = format!("propagated-{name}");
            let t = token(valid_kid, valid_kid, &jti);
            let id = TokenId {
                jti: Some(jti.clone()),
                ..TokenId::default()
            };
            let began = Instant::now();
            store_a
                .revoke(Revocation::Token {
                    jti,
                    expires_at: now() + 3600,
                })
                .await
                .unwrap();
            while store_b.check_local(&id, now()) != Some(true)
                && began.elapsed() < Duration::from_secs(5)
            {
                tokio::time::sleep(Duration::from_micros(200)).await;
            }
            let took = began.elapsed();
            // And the request path agrees.
            assert_eq!(status_at(b, &t).await, 401);
            Some(took)
        };
        let mut i = 0u64;
        while start.elapsed() < phase {
            let elapsed = start.elapsed();
            if healed_at.is_none() && elapsed >= phase / 3 {
                match name {
                    "redis-paused" => redis.signal("-CONT"),
                    "redis-restarted" => redis = Redis::start(redis.port),
                    "keys-500" | "keys-hang" => keys.mode.store(KEYS_OK, Ordering::SeqCst),
                    _ => {}
                }
                healed_at = Some(Instant::now());
            }
            if name == "key-rotated" && withdrawn_at.is_none() && elapsed >= phase / 3 {
                keys.published.lock().unwrap().retain(|k| *k != "k1");
                withdrawn_at = Some(Instant::now());
            }
            i += 1;
            let replica = if i.is_multiple_of(2) { a } else { b };
            let kind = match i % 4 {
                0 | 1 => Kind::Valid,
                2 => Kind::Revoked,
                _ => match withdrawn_at {
                    Some(at) => Kind::Withdrawn(at),
                    None => Kind::Forged,
                },
            };
            let fresh;
            let t = match kind {
                Kind::Valid => {
                    let n = next_jti.fetch_add(1, Ordering::Relaxed);
                    fresh = token(valid_kid, valid_kid, &format!("v{n}"));
                    &fresh
                }
                Kind::Revoked => &revoked,
                Kind::Forged => &forged,
                Kind::Withdrawn(_) => {
                    fresh = token("k1", "k1", "withdrawn");
                    &fresh
                }
            };
            let status = status_at(replica, t).await;
            tally.requests += 1;
            match kind {
                Kind::Valid if status == 200 => {
                    tally.valid_ok += 1;
                    if let (Some(healed), None) = (healed_at, recovered_in) {
                        recovered_in = Some(healed.elapsed());
                    }
                }
                Kind::Valid => {
                    *tally.valid_refused.entry(status).or_default() += 1;
                    if status != 503 {
                        refused_other_than_503 += 1;
                    }
                }
                Kind::Revoked | Kind::Forged if status == 200 => tally.wrong_accepts += 1,
                // A withdrawn key may serve until the next refresh has landed.
                Kind::Withdrawn(at)
                    if status == 200 && at.elapsed() > KEY_REFRESH * 2 + Duration::from_secs(1) =>
                {
                    tally.wrong_accepts += 1;
                }
                _ => {}
            }
            // About 200 requests a second.
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        if name == "key-rotated" {
            // The next phase (or run) starts with k1 published again.
            keys.published.lock().unwrap().insert(0, "k1");
        }
        let ms = |d: Option<Duration>| {
            d.map_or("-".to_owned(), |d| {
                format!("{:.1} ms", d.as_secs_f64() * 1e3)
            })
        };
        let refused: Vec<String> = tally
            .valid_refused
            .iter()
            .map(|(status, n)| format!("{n}×{status}"))
            .collect();
        println!(
            "{:<16} {:>8} {:>7} {:>10} {:>22} {:>12} {:>11} {:>8.1}",
            name,
            tally.requests,
            tally.wrong_accepts,
            tally.valid_ok,
            if refused.is_empty() {
                "0".to_owned()
            } else {
                refused.join(" ")
            },
            ms(propagation),
            ms(recovered_in
                .filter(|_| healed_at.is_some() && !matches!(name, "steady" | "key-rotated"))),
            rss_mib()
        );
        total_wrong += tally.wrong_accepts;
        assert!(tally.valid_ok > 0, "{name}: no valid token passed at all");
    }
    assert_eq!(
        total_wrong, 0,
        "a revoked, forged or withdrawn token was let through"
    );
    assert_eq!(
        refused_other_than_503, 0,
        "a valid token was refused other than by a documented 503"
    );
}

async fn status_at(replica: SocketAddr, token: &str) -> u16 {
    fetch(replica, "/", &[("authorization", &bearer(token))])
        .await
        .status
        .as_u16()
}
