//! The Redis store against a real `redis-server` (started here, on a free loopback port;
//! scripts/test-all.sh installs it when missing): replicas sharing revocations and refresh
//! tokens, a new replica loading what was revoked before it started, and Redis going away.
#![cfg(feature = "redis")]

use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use crate::common::*;
use axum::Router;
use serde_json::{Value, json};
use tower_jwt_auth::issue::{RefreshError, TokenIssuer};
use tower_jwt_auth::revocation::{RedisOptions, RedisStore, Revocation, RevocationStore, TokenId};
use tower_jwt_auth::{Algorithm, AuthError, JwtAuthLayer};

pub(crate) fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

pub(crate) fn now_nanos() -> u128 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos()
}

/// A `redis-server` of this test alone, stopped when dropped.
pub(crate) struct Server {
    pub(crate) port: u16,
    pub(crate) child: Child,
    /// What it was started with, to start it again.
    args: Vec<String>,
    /// Files it reads when it starts (TLS), removed when it is dropped.
    dir: Option<std::path::PathBuf>,
}

impl Server {
    pub(crate) fn start() -> Server {
        Server::on(free_port())
    }

    fn on(port: u16) -> Server {
        Server::with_args(port, &["--port", &port.to_string()])
    }

    /// A server that speaks TLS alone, with a certificate for 127.0.0.1 issued by a CA made
    /// for this test; returns the CA's certificate (PEM).
    fn tls() -> (Server, Vec<u8>) {
        let dir = std::env::temp_dir().join(format!(
            "tower-jwt-auth-redis-tls-{}-{}",
            std::process::id(),
            now_nanos()
        ));
        std::fs::create_dir_all(&dir).unwrap();
        let openssl = |args: &[&str]| {
            openssl(&dir, args);
        };
        let p256 = [
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-nodes",
        ];
        openssl(
            &[
                &["req", "-x509"][..],
                &p256,
                &[
                    "-subj",
                    "/CN=test-ca",
                    "-days",
                    "1",
                    "-keyout",
                    "ca.key",
                    "-out",
                    "ca.pem",
                ],
            ]
            .concat(),
        );
        openssl(
            &[
                &["req"][..],
                &p256,
                &[
                    "-subj",
                    "/CN=localhost",
                    "-keyout",
                    "key.pem",
                    "-out",
                    "req.csr",
                ],
            ]
            .concat(),
        );
        std::fs::write(
            dir.join("ext.cnf"),
            "subjectAltName=IP:127.0.0.1,DNS:localhost\n",
        )
        .unwrap();
        openssl(&[
            "x509",
            "-req",
            "-in",
            "req.csr",
            "-CA",
            "ca.pem",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-days",
            "1",
            "-extfile",
            "ext.cnf",
            "-out",
            "cert.pem",
        ]);
        let port = free_port();
        let path = |name: &str| dir.join(name).to_string_lossy().into_owned();
        let server = Server::with_args(
            port,
            &[
                "--port",
                "0",
                "--tls-port",
                &port.to_string(),
                "--tls-cert-file",
                &path("cert.pem"),
                "--tls-key-file",
                &path("key.pem"),
                "--tls-ca-cert-file",
                &path("ca.pem"),
                "--tls-auth-clients",
                "no",
            ],
        );
        let ca = std::fs::read(dir.join("ca.pem")).unwrap();
        // Kept for a restart; removed with the server.
        let mut server = server;
        server.dir = Some(dir);
        (server, ca)
    }

    pub(crate) fn with_args(port: u16, args: &[&str]) -> Server {
        let args: Vec<String> = args.iter().map(|a| (*a).to_owned()).collect();
        let child = Server::spawn(port, &args);
        Server {
            port,
            child,
            args,
            dir: None,
        }
    }

    /// Kills it and starts it again on the same port, with the same files: empty.
    fn restart(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        self.child = Server::spawn(self.port, &self.args);
    }

    /// Stops it, to be started again with [`restart`](Self::restart).
    pub(crate) fn pause(&mut self) {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
    }

    fn spawn(port: u16, args: &[String]) -> Child {
        let child = Command::new("redis-server")
            .args(args)
            .args(["--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no"])
            .stdout(Stdio::null())
            .spawn()
            .expect("redis-server must be installed: scripts/test-all.sh installs it");
        let deadline = Instant::now() + Duration::from_secs(10);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "redis-server did not start");
            std::thread::sleep(Duration::from_millis(20));
        }
        child
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
        if let Some(dir) = &self.dir {
            let _ = std::fs::remove_dir_all(dir);
        }
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

pub(crate) fn app(store: RedisStore) -> Router {
    let layer = JwtAuthLayer::<Value>::builder()
        .hmac_secret(SECRET, Algorithm::HS256)
        .revocation(store)
        .build()
        .unwrap();
    ok_behind(layer)
}

pub(crate) fn token(jti: &str) -> String {
    mint(&json!({ "jti": jti, "sub": "alice", "iat": now(), "exp": now() + 600 }))
}

/// Short timeouts and reconnection waits, for the tests that take Redis away.
pub(crate) fn quick() -> RedisOptions {
    RedisOptions::default()
        .timeout(Duration::from_millis(300))
        .reconnect_delay(Duration::from_millis(100))
        .max_reconnect_delay(Duration::from_millis(200))
}

/// The documented answer while the store cannot answer: `503` with `Retry-After`, never a
/// pass.
async fn assert_fails_closed(app: &Router, token: &str) {
    let res = call(app, "/", &[("authorization", &bearer(token))]).await;
    assert_eq!(res.status, 503, "no answer from the store: fail closed");
    assert_eq!(res.headers["retry-after"], "1");
}

/// Waits until `done`, polling; returns how long it took.
pub(crate) async fn within(limit: Duration, mut done: impl AsyncFnMut() -> bool) -> Duration {
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

/// A store whose Redis user may not run `INFO` (an ACL without `@dangerous`, as a
/// least-privilege user for this store would be) still syncs and shares revocations; it
/// only cannot see a failover by the server's run id.
#[tokio::test]
async fn a_user_without_info_still_syncs() {
    let server = Server::start();
    let client = tower_jwt_auth::redis::Client::open(server.url()).unwrap();
    let mut con = client.get_multiplexed_async_connection().await.unwrap();
    let _: () = tower_jwt_auth::redis::cmd("ACL")
        .arg(
            &[
                "SETUSER",
                "store",
                "on",
                ">store-password",
                "~*",
                "&*",
                "+@all",
                "-@dangerous",
            ][..],
        )
        .query_async(&mut con)
        .await
        .unwrap();
    let url = format!("redis://store:store-password@127.0.0.1:{}/", server.port);
    let info: Result<String, _> = {
        let limited = tower_jwt_auth::redis::Client::open(url.as_str()).unwrap();
        let mut limited = limited.get_multiplexed_async_connection().await.unwrap();
        tower_jwt_auth::redis::cmd("INFO")
            .arg("server")
            .query_async(&mut limited)
            .await
    };
    assert_eq!(
        info.unwrap_err().code(),
        Some("NOPERM"),
        "the user may not run INFO"
    );
    let (a, b) = (
        RedisStore::connect_with(&url, quick()).await.unwrap(),
        RedisStore::connect_with(&url, quick()).await.unwrap(),
    );
    revoke_jti(&a, "limited").await;
    within(Duration::from_secs(2), async || {
        status_of(&app(b.clone()), &token("limited")).await == 401
    })
    .await;
    // Still synced after a few pings (each also reads the epoch).
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert!(a.is_synced() && b.is_synced());
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
            iss: None,
            expires_at: until,
        },
        Revocation::Subject {
            sub: "bob".into(),
            iss: None,
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
        iss: None,
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

/// The revocations of one test: a token, a session (scoped to an issuer) and a subject.
pub(crate) fn three_revocations() -> [Revocation; 3] {
    let until = now() + 600;
    [
        Revocation::Token {
            jti: "j1".into(),
            expires_at: until,
        },
        Revocation::Session {
            sid: "s 1".into(),
            iss: Some("https://a.example".into()),
            expires_at: until,
        },
        Revocation::Subject {
            sub: "bob".into(),
            iss: None,
            issued_before: now(),
            expires_at: until,
        },
    ]
}

/// The revocation records in Redis itself (not in any replica's copy), by key.
async fn records_in(client: &tower_jwt_auth::redis::Client) -> Vec<String> {
    let Ok(mut con) = client.get_multiplexed_async_connection().await else {
        return Vec::new();
    };
    let keys: Vec<String> = tower_jwt_auth::redis::cmd("KEYS")
        .arg("jwt-auth:*")
        .query_async(&mut con)
        .await
        .unwrap_or_default();
    keys.into_iter()
        .filter(|k| !k.ends_with(":epoch"))
        .collect()
}

/// Whether Redis itself holds the records of each of [`three_revocations`], and no other.
async fn redis_holds_the_three(server: &Server) -> bool {
    let client = tower_jwt_auth::redis::Client::open(server.url()).unwrap();
    let mut keys = records_in(&client).await;
    keys.sort();
    keys == [
        "jwt-auth:isid:17:https://a.examples 1",
        "jwt-auth:jti:j1",
        "jwt-auth:sub:bob",
    ]
}

/// Issue #24, item 2: Redis restarted without persistence comes back empty. The replicas
/// that knew the revocations write them back before they reload, so none is lost while
/// one of them lives: both still refuse, and so does Redis itself, and a replica started
/// afterwards loads them.
#[tokio::test]
async fn revocations_survive_a_redis_restart_without_persistence() {
    let server = Server::start();
    let (a, b) = (store(&server).await, store(&server).await);
    for revocation in three_revocations() {
        a.revoke(revocation).await.unwrap();
    }
    within(Duration::from_secs(2), async || {
        redis_holds_the_three(&server).await
    })
    .await;
    let port = server.stop();
    within(Duration::from_secs(5), async || {
        !a.is_synced() && !b.is_synced()
    })
    .await;
    let again = Server::on(port);
    within(Duration::from_secs(10), async || {
        a.is_synced() && b.is_synced()
    })
    .await;
    assert!(redis_holds_the_three(&again).await, "written back to Redis");
    let t = token("j1");
    assert_eq!(status_of(&app(a), &t).await, 401);
    assert_eq!(status_of(&app(b), &t).await, 401);
    let late = store(&again).await;
    assert_eq!(status_of(&app(late), &t).await, 401);
}

/// Found by the soak run (issue #24): while a replica's copy is stale it asks Redis
/// directly — and a Redis just back empty, before any replica gave it its revocations again,
/// answered "not revoked". What the replica's copy knows stays revoked whatever Redis says.
#[tokio::test]
async fn a_stale_copy_still_refuses_what_it_knew_when_redis_comes_back_empty() {
    let mut server = Server::start();
    let options = RedisOptions::default()
        .timeout(Duration::from_millis(300))
        .ping_interval(Duration::from_millis(200))
        // The subscription is not made again during the test: checks ask Redis.
        .reconnect_delay(Duration::from_secs(30))
        .max_reconnect_delay(Duration::from_secs(30));
    let s = RedisStore::connect_with(&server.url(), options)
        .await
        .unwrap();
    let app = app(s.clone());
    revoke_jti(&s, "known").await;
    let t = token("known");
    assert_eq!(status_of(&app, &t).await, 401);
    server.restart();
    within(Duration::from_secs(5), async || !s.is_synced()).await;
    // Redis answers, empty; the copy is stale and not reloaded yet.
    let id = TokenId {
        jti: Some("known".into()),
        ..TokenId::default()
    };
    within(Duration::from_secs(5), async || {
        s.check(&id, now()).await.is_ok()
    })
    .await;
    assert!(!s.is_synced());
    assert_eq!(s.check(&id, now()).await, Ok(true));
    assert_eq!(status_of(&app, &t).await, 401);
    assert_eq!(status_of(&app, &token("other")).await, 200);
}

/// Issue #24, item 2: a `FLUSHALL` leaves the subscription up, so no reconnection tells of
/// it; the epoch marker does, within a ping, and the revocations are written back.
#[tokio::test]
async fn revocations_survive_a_flush_of_redis() {
    let server = Server::start();
    let a = store(&server).await;
    for revocation in three_revocations() {
        a.revoke(revocation).await.unwrap();
    }
    let client = tower_jwt_auth::redis::Client::open(server.url()).unwrap();
    let mut con = client.get_multiplexed_async_connection().await.unwrap();
    let _: () = tower_jwt_auth::redis::cmd("FLUSHALL")
        .query_async(&mut con)
        .await
        .unwrap();
    assert!(!redis_holds_the_three(&server).await, "flushed");
    within(Duration::from_secs(5), async || {
        redis_holds_the_three(&server).await
    })
    .await;
    let late = store(&server).await;
    assert_eq!(status_of(&app(late), &token("j1")).await, 401);
}

/// Issue #24, item 4: a replica (re)started while Redis is down starts anyway
/// (`connect_later`), answers `503` with `Retry-After` — never a pass — and serves once Redis
/// is back, without a restart.
#[tokio::test]
async fn a_replica_started_while_redis_is_down_fails_closed_then_recovers() {
    let port = Server::start().stop();
    let options = quick();
    let url = format!("redis://127.0.0.1:{port}/");
    let s = RedisStore::connect_later(&url, options).unwrap();
    assert!(!s.is_synced());
    let app = app(s.clone());
    let t = token("while-down");
    assert_fails_closed(&app, &t).await;
    let server = Server::on(port);
    within(Duration::from_secs(10), async || s.is_synced()).await;
    assert_eq!(status_of(&app, &t).await, 200);
    revoke_jti(&s, "while-down").await;
    assert_eq!(status_of(&app, &t).await, 401);
    drop(server);
}

/// Issue #24, item 4: TLS to Redis dropping mid-run (the server gone, then back with the same
/// certificate): requests fail closed meanwhile, the store reconnects over TLS by itself,
/// and what was revoked before holds after (written back to the emptied Redis).
#[tokio::test]
async fn tls_to_redis_dropping_mid_run_fails_closed_then_recovers() {
    use tower_jwt_auth::redis::{Client, TlsCertificates};
    let (mut server, ca) = Server::tls();
    let url = format!("rediss://127.0.0.1:{}/", server.port);
    let tls = TlsCertificates {
        client_tls: None,
        root_cert: Some(ca),
    };
    let client = Client::build_with_tls(url.as_str(), tls).unwrap();
    let s_client = client.clone();
    let options = quick();
    let s = RedisStore::from_client(client, options).await.unwrap();
    let app = app(s.clone());
    revoke_jti(&s, "revoked-before").await;
    let (fine, revoked) = (token("fine"), token("revoked-before"));
    assert_eq!(status_of(&app, &fine).await, 200);
    server.pause();
    within(Duration::from_secs(5), async || !s.is_synced()).await;
    assert_fails_closed(&app, &fine).await;
    server.restart();
    within(Duration::from_secs(10), async || s.is_synced()).await;
    assert_eq!(status_of(&app, &fine).await, 200);
    assert_eq!(status_of(&app, &revoked).await, 401);
    let records = records_in(&s_client).await;
    assert_eq!(
        records,
        ["jwt-auth:jti:revoked-before"],
        "written back to Redis"
    );
}

/// Issue #12, item 11, through Redis: a session or subject revoked for one issuer reaches
/// every replica (by message, by load, and by asking Redis) scoped to that issuer.
#[tokio::test]
async fn revocations_scoped_to_an_issuer_reach_every_replica_scoped() {
    let server = Server::start();
    let (a, b) = (store(&server).await, store(&server).await);
    let issuer_a = "https://a.example/realms/one two";
    let of = |iss: &str, sid: &str, sub: &str| TokenId {
        sid: Some(sid.into()),
        sub: Some(sub.into()),
        iss: Some(iss.into()),
        iat: Some(now() - 10),
        ..TokenId::default()
    };
    a.revoke(Revocation::Subject {
        sub: "alice".into(),
        iss: Some(issuer_a.into()),
        issued_before: now(),
        expires_at: now() + 600,
    })
    .await
    .unwrap();
    a.revoke(Revocation::Session {
        sid: "s1".into(),
        iss: Some(issuer_a.into()),
        expires_at: now() + 600,
    })
    .await
    .unwrap();
    within(Duration::from_secs(2), async || {
        b.check_local(&of(issuer_a, "s1", "x"), now()) == Some(true)
    })
    .await;
    let late = store(&server).await;
    for replica in [&a, &b, &late] {
        for (token, revoked) in [
            (of(issuer_a, "s9", "alice"), true),
            (of(issuer_a, "s1", "bob"), true),
            (of("https://b.example", "s9", "alice"), false),
            (of("https://b.example", "s1", "bob"), false),
        ] {
            assert_eq!(
                replica.check_local(&token, now()),
                Some(revoked),
                "{token:?}"
            );
            assert_eq!(replica.check(&token, now()).await, Ok(revoked), "{token:?}");
        }
    }
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
    assert_fails_closed(&app, &t).await;
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

/// A TCP proxy to Redis that can stop forwarding without closing anything, as a NAT or a
/// load balancer that forgot a flow does (`CLIENT KILL` closes cleanly and proves nothing).
struct Proxy {
    port: u16,
    state: Arc<ProxyState>,
}

#[derive(Default)]
struct ProxyState {
    /// Nothing is forwarded, on old or new connections.
    black_hole: AtomicBool,
    /// Connections opened before the last black hole stay dead for good.
    generation: AtomicU64,
}

impl Proxy {
    async fn start(upstream: u16) -> Proxy {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let state = Arc::new(ProxyState::default());
        let shared = Arc::clone(&state);
        tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                let Ok(server) = tokio::net::TcpStream::connect(("127.0.0.1", upstream)).await
                else {
                    continue;
                };
                let generation = shared.generation.load(Ordering::SeqCst);
                let (client_read, client_write) = client.into_split();
                let (server_read, server_write) = server.into_split();
                tokio::spawn(pipe(
                    client_read,
                    server_write,
                    Arc::clone(&shared),
                    generation,
                ));
                tokio::spawn(pipe(
                    server_read,
                    client_write,
                    Arc::clone(&shared),
                    generation,
                ));
            }
        });
        Proxy { port, state }
    }

    fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/", self.port)
    }

    fn black_hole(&self) {
        self.state.black_hole.store(true, Ordering::SeqCst);
        self.state.generation.fetch_add(1, Ordering::SeqCst);
    }

    fn forward_new_connections(&self) {
        self.state.black_hole.store(false, Ordering::SeqCst);
    }
}

/// Copies one direction; once the proxy forgets the flow, bytes are swallowed and both
/// sockets held open forever.
async fn pipe(
    mut from: tokio::net::tcp::OwnedReadHalf,
    mut to: tokio::net::tcp::OwnedWriteHalf,
    state: Arc<ProxyState>,
    generation: u64,
) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut buf = [0u8; 4096];
    loop {
        let n = match from.read(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(n) => n,
        };
        let forgotten = state.black_hole.load(Ordering::SeqCst)
            || state.generation.load(Ordering::SeqCst) != generation;
        if forgotten {
            std::future::pending::<()>().await;
        }
        if to.write_all(&buf[..n]).await.is_err() {
            return;
        }
    }
}

/// Issue #12, item 6: a subscription dropped silently (half-open) kept the local copy
/// "in sync" forever, so a revocation made on another replica was never refused here.
#[tokio::test]
async fn a_subscription_dropped_silently_is_noticed_and_made_again() {
    let server = Server::start();
    let proxy = Proxy::start(server.port).await;
    let options = RedisOptions::default()
        .timeout(Duration::from_millis(300))
        .reconnect_delay(Duration::from_millis(100))
        .ping_interval(Duration::from_millis(200));
    let a = RedisStore::connect_with(&proxy.url(), options)
        .await
        .unwrap();
    let b = store(&server).await;
    let app_a = app(a.clone());
    assert_eq!(status_of(&app_a, &token("silent")).await, 200);
    let id = TokenId {
        jti: Some("silent".into()),
        ..TokenId::default()
    };
    proxy.black_hole();
    revoke_jti(&b, "silent").await;
    // Within ping_interval + timeout the copy is no longer trusted; Redis cannot be asked
    // either (the same proxy), so the request fails closed.
    let noticed = within(Duration::from_secs(2), async || {
        a.check_local(&id, now()).is_none()
    })
    .await;
    println!("silent drop noticed after {noticed:?}");
    assert!(!a.is_synced());
    assert_eq!(status_of(&app_a, &token("silent")).await, 503);
    // New connections get through: `a` subscribes again, reloads, and refuses the token.
    proxy.forward_new_connections();
    within(Duration::from_secs(5), async || {
        a.check_local(&id, now()) == Some(true)
    })
    .await;
    assert!(a.is_synced());
    assert_eq!(status_of(&app_a, &token("silent")).await, 401);
}

/// The copy is trusted only until its deadline, not while a flag says so: when the runtime
/// that ran the subscription is gone, nobody is left to clear a flag.
#[test]
fn a_copy_whose_subscription_task_is_gone_stops_being_trusted() {
    let server = Server::start();
    let options = RedisOptions::default()
        .timeout(Duration::from_millis(200))
        .ping_interval(Duration::from_millis(200));
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let s = runtime
        .block_on(RedisStore::connect_with(&server.url(), options))
        .unwrap();
    assert!(s.is_synced());
    drop(runtime);
    let id = TokenId {
        jti: Some("j".into()),
        ..TokenId::default()
    };
    let start = Instant::now();
    while s.check_local(&id, now()).is_some() {
        assert!(start.elapsed() < Duration::from_secs(2), "still trusted");
        std::thread::sleep(Duration::from_millis(10));
    }
    assert!(!s.is_synced());
}

// Issue #15: `rediss://` failed (plain TCP only), and a store could only be made from a URL.
// Managed Redis services require TLS; the server's certificate is checked.
#[tokio::test]
async fn replicas_share_revocations_over_tls_with_the_servers_certificate_checked() {
    use tower_jwt_auth::redis::{Client, TlsCertificates};
    let (server, ca) = Server::tls();
    let url = format!("rediss://127.0.0.1:{}/", server.port);
    let options = || RedisOptions::default().timeout(Duration::from_millis(500));
    // The system's roots do not know the test CA: refused, not connected in the clear.
    assert!(RedisStore::connect_with(&url, options()).await.is_err());
    let client = || {
        let tls = TlsCertificates {
            client_tls: None,
            root_cert: Some(ca.clone()),
        };
        Client::build_with_tls(url.as_str(), tls).unwrap()
    };
    let a = RedisStore::from_client(client(), options()).await.unwrap();
    // A store on the application's connection manager.
    let managed = client().get_connection_manager().await.unwrap();
    let b = RedisStore::with_connection_manager(client(), managed, options())
        .await
        .unwrap();
    let id = TokenId {
        jti: Some("over-tls".into()),
        ..TokenId::default()
    };
    revoke_jti(&a, "over-tls").await;
    within(Duration::from_secs(2), async || {
        b.check_local(&id, now()) == Some(true)
    })
    .await;
    assert_eq!(b.check(&id, now()).await, Ok(true));
    assert_eq!(b.use_once("r1", now() + 60).await, Ok(true));
    assert_eq!(a.use_once("r1", now() + 60).await, Ok(false));
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

/// RFC 9449 §11.1 across replicas: a DPoP proof used at one replica is refused at the
/// other, through the Redis store's atomic `use_once`; with Redis gone, proofs are refused
/// (503) rather than taken unchecked.
#[tokio::test]
async fn a_dpop_proof_used_at_one_replica_is_a_replay_at_the_other() {
    use tower_jwt_auth::dpop::DpopOptions;
    let server = Server::start();
    let issuer = TokenIssuer::hmac(SECRET, Algorithm::HS256).build().unwrap();
    let replica = |store: RedisStore| {
        let options = DpopOptions::default()
            .external_url(Some("https://api.example.com".into()))
            .replay_store(store);
        ok_behind(
            issuer
                .layer_builder::<Value>()
                .dpop(options)
                .build()
                .unwrap(),
        )
    };
    let (a, b) = (replica(store(&server).await), replica(store(&server).await));
    let key = DpopKey::ec();
    let token = issuer
        .issue_bound(&json!({ "sub": "alice" }), &key.jkt)
        .unwrap();
    let auth = format!("DPoP {token}");
    let proof = key.proof("GET", "https://api.example.com/", Some(&token));
    let headers = [("authorization", auth.as_str()), ("dpop", proof.as_str())];
    assert_eq!(call(&a, "/", &headers).await.status, 200);
    let replayed = call(&b, "/", &headers).await;
    assert_eq!(replayed.status, 401);
    assert!(
        replayed
            .challenge()
            .contains(AuthError::DpopProofReplayed.description())
    );

    drop(server);
    let fresh = key.proof("GET", "https://api.example.com/", Some(&token));
    let headers = [("authorization", auth.as_str()), ("dpop", fresh.as_str())];
    let down = call(&a, "/", &headers).await;
    assert_eq!(down.status, 503, "{}", down.challenge());
}
