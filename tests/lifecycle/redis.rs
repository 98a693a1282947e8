//! The Redis store against a real `redis-server` (started here, on a free loopback port;
//! scripts/test-all.sh installs it when missing): replicas sharing revocations and refresh
//! tokens, a new replica loading what was revoked before it started, and Redis going away.
#![cfg(feature = "redis")]

use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::common::*;
use axum::Router;
use serde_json::{Value, json};
use tower_jwt_auth::revocation::{RedisOptions, RedisStore, Revocation, RevocationStore, TokenId};
use tower_jwt_auth::{Algorithm, AuthError, JwtAuthLayer, RefreshError, TokenIssuer};

/// A `redis-server` of this test alone, stopped when dropped.
struct Server {
    port: u16,
    child: Child,
}

impl Server {
    fn start() -> Server {
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        Server::on(port)
    }

    fn on(port: u16) -> Server {
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
        Server { port, child }
    }

    fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/", self.port)
    }

    fn stop(mut self) -> u16 {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
        self.port
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

async fn store(server: &Server) -> RedisStore {
    let options = RedisOptions::default()
        .timeout(Duration::from_millis(500))
        .reconnect_delay(Duration::from_millis(100));
    RedisStore::connect_with(&server.url(), options)
        .await
        .unwrap()
}

fn app(store: RedisStore) -> Router {
    let layer = JwtAuthLayer::<Value>::builder()
        .hmac_secret(SECRET, Algorithm::HS256)
        .revocation(store)
        .build()
        .unwrap();
    ok_behind(layer)
}

fn token(jti: &str) -> String {
    mint(&json!({ "jti": jti, "sub": "alice", "iat": now(), "exp": now() + 600 }))
}

/// Waits until `done`, polling; returns how long it took.
async fn within(limit: Duration, mut done: impl AsyncFnMut() -> bool) -> Duration {
    let start = Instant::now();
    while !done().await {
        assert!(start.elapsed() < limit, "not within {limit:?}");
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    start.elapsed()
}

/// Issue #12, item 2, with Redis: a revocation of a token past its `exp` but inside a
/// layer's leeway is kept (the key outlives `exp`) and reaches the other replica.
#[tokio::test]
async fn a_revocation_holds_through_the_leeway_on_every_replica() {
    let server = Server::start();
    let (a, b) = (store(&server).await, store(&server).await);
    let (app_a, app_b) = (app(a.clone()), app(b.clone()));
    let exp = now() - 10;
    let late = mint(&json!({ "jti": "late", "sub": "alice", "iat": exp - 60, "exp": exp }));
    assert_eq!(status_of(&app_b, &late).await, 200);
    a.revoke(Revocation::Token {
        jti: "late".into(),
        expires_at: exp,
    })
    .await
    .unwrap();
    assert_eq!(status_of(&app_a, &late).await, 401);
    within(Duration::from_secs(2), async || {
        status_of(&app_b, &late).await == 401
    })
    .await;
    // A replica started now loads it from Redis: the key did not expire at `exp`.
    let c = store(&server).await;
    within(Duration::from_secs(5), async || c.is_synced()).await;
    assert_eq!(status_of(&app(c), &late).await, 401);
}

#[tokio::test]
async fn a_revocation_on_one_replica_is_refused_by_the_other() {
    let server = Server::start();
    let (a, b) = (store(&server).await, store(&server).await);
    let (app_a, app_b) = (app(a.clone()), app(b.clone()));
    let t = token("shared");
    assert_eq!(status_of(&app_a, &t).await, 200);
    assert_eq!(status_of(&app_b, &t).await, 200);
    let id = TokenId {
        jti: Some("shared".into()),
        ..TokenId::default()
    };
    let start = Instant::now();
    revoke_jti(&a, "shared").await;
    // The replica that revoked knows at once; the other once the message arrives.
    assert_eq!(a.check_local(&id, now()), Some(true));
    within(Duration::from_secs(2), async || {
        b.check_local(&id, now()) == Some(true)
    })
    .await;
    println!(
        "revoke() to refused on the other replica: {:?}",
        start.elapsed()
    );
    assert_eq!(status_of(&app_a, &t).await, 401);
    let res = call(&app_b, "/", &[("authorization", &bearer(&t))]).await;
    assert_eq!(res.status, 401);
    assert_eq!(
        res.challenge(),
        invalid_token(AuthError::Revoked.description())
    );
    assert_eq!(status_of(&app_b, &token("other")).await, 200);
}

#[tokio::test]
async fn a_new_replica_loads_what_was_revoked_before_it_started() {
    let server = Server::start();
    let first = store(&server).await;
    let until = now() + 600;
    for revocation in [
        Revocation::Token {
            jti: "j1".into(),
            expires_at: until,
        },
        Revocation::Session {
            sid: "s 1".into(),
            expires_at: until,
        },
        Revocation::Subject {
            sub: "bob".into(),
            issued_before: now(),
            expires_at: until,
        },
    ] {
        first.revoke(revocation).await.unwrap();
    }
    let late = store(&server).await;
    assert!(late.is_synced());
    let check = |jti: &str, sid: &str, sub: &str, iat: u64| TokenId {
        jti: Some(jti.into()),
        sid: Some(sid.into()),
        sub: Some(sub.into()),
        iat: Some(iat),
    };
    let old = now() - 10;
    assert_eq!(
        late.check_local(&check("j1", "s", "a", old), now()),
        Some(true)
    );
    assert_eq!(
        late.check_local(&check("j", "s 1", "a", old), now()),
        Some(true)
    );
    assert_eq!(
        late.check_local(&check("j", "s", "bob", old), now()),
        Some(true)
    );
    assert_eq!(
        late.check_local(&check("j", "s", "a", old), now()),
        Some(false)
    );
    // Asking Redis directly gives the same answers.
    assert_eq!(
        late.check(&check("j", "s", "bob", old), now()).await,
        Ok(true)
    );
    assert_eq!(
        late.check(&check("j", "s", "a", old), now()).await,
        Ok(false)
    );
}

#[tokio::test]
async fn a_refresh_token_replayed_on_another_replica_revokes_the_session() {
    let server = Server::start();
    let replica = |store: RedisStore| {
        TokenIssuer::hmac(SECRET, Algorithm::HS256)
            .revocation_store(store)
            .build()
            .unwrap()
    };
    let one = replica(store(&server).await);
    let two = replica(store(&server).await);
    let pair = one.issue_pair(&json!({ "sub": "alice" })).unwrap();
    let next = one.refresh(&pair.refresh_token).await.unwrap();
    assert!(matches!(
        two.refresh(&pair.refresh_token).await,
        Err(RefreshError::Reused)
    ));
    let layer = one.layer::<Value>().unwrap();
    let revoked = within(Duration::from_secs(2), async || {
        layer.verify(&next.access_token) == Err(AuthError::Revoked)
    })
    .await;
    assert!(revoked < Duration::from_secs(2));
}

#[tokio::test]
async fn when_redis_goes_away_checks_fail_closed_and_recover_when_it_is_back() {
    let server = Server::start();
    let s = store(&server).await;
    let app = app(s.clone());
    let t = token("t");
    assert_eq!(status_of(&app, &t).await, 200);
    let port = server.stop();
    within(Duration::from_secs(5), async || !s.is_synced()).await;
    let res = call(&app, "/", &[("authorization", &bearer(&t))]).await;
    assert_eq!(res.status, 503, "no answer from the store: fail closed");
    assert_eq!(res.headers["retry-after"], "1");
    let again = Server::on(port);
    within(Duration::from_secs(10), async || s.is_synced()).await;
    assert_eq!(status_of(&app, &t).await, 200);
    revoke_jti(&s, "t").await;
    assert_eq!(status_of(&app, &t).await, 401);
    drop(again);
}

#[tokio::test]
async fn while_the_subscription_is_down_requests_ask_redis_itself() {
    let server = Server::start();
    let slow = RedisOptions::default().reconnect_delay(Duration::from_secs(30));
    let s = RedisStore::connect_with(&server.url(), slow).await.unwrap();
    let other = store(&server).await;
    let app = app(s.clone());
    // Cut the subscriptions alone; commands still work, and `s` waits 30 s to resubscribe.
    let killed = Command::new("redis-cli")
        .args([
            "-p",
            &server.port.to_string(),
            "CLIENT",
            "KILL",
            "TYPE",
            "pubsub",
        ])
        .output()
        .expect("redis-cli comes with redis-server");
    assert!(killed.status.success());
    within(Duration::from_secs(5), async || !s.is_synced()).await;
    // A revocation `s` never hears of: its copy is stale, so it asks Redis, and refuses.
    revoke_jti(&other, "missed").await;
    assert_eq!(status_of(&app, &token("missed")).await, 401);
    assert_eq!(status_of(&app, &token("fine")).await, 200);
}

#[tokio::test]
async fn an_unreachable_redis_fails_connect_with_an_error() {
    let port = Server::start().stop();
    let options = RedisOptions::default().timeout(Duration::from_millis(200));
    let url = format!("redis://127.0.0.1:{port}/");
    assert!(
        RedisStore::connect_with(&url, options.clone())
            .await
            .is_err()
    );
    assert!(
        RedisStore::connect_with("not a url", options.clone())
            .await
            .is_err()
    );
    let glob = options.prefix("app*");
    let server = Server::start();
    assert!(RedisStore::connect_with(&server.url(), glob).await.is_err());
}
