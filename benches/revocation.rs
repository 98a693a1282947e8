//! What the revocation check adds to a request: the HS256 layer alone, then with a
//! revocation store holding 10,000 revocations (the token checked is not among them) — in
//! memory, and Redis-backed (answered from its local view); the RS256 cache hit likewise.
//! With feature `redis` and a `redis-server` on the PATH (started here on a free port):
//! one direct question to Redis (`MGET`, what a check costs while the local view is
//! down), and the delay for a revocation to reach another replica through pub/sub; the
//! same in a Redis Cluster (three primaries, started here), beside the two kinds of pub/sub
//! a cluster offers. Last, the cost of one refresh token's use in a memory store that
//! remembers 100,000.
//!
//! `cargo bench --features redis --bench revocation`

use std::hint::black_box;

mod common;

use common::{Noop, call, keys};
use criterion::{Criterion, criterion_group, criterion_main};
use http::HeaderValue;
use serde_json::{Value, json};
use tower::Layer;
use tower_jwt_auth::jsonwebtoken::{self, Header};
use tower_jwt_auth::revocation::{MemoryStore, Revocation, RevocationStore};
use tower_jwt_auth::{Algorithm, JwtAuthLayer, install_crypto_provider};

const REVOKED: usize = 10_000;

/// 10,000 revocations: a third each by `jti`, session and subject.
fn revocations(now: u64) -> Vec<Revocation> {
    (0..REVOKED)
        .map(|i| match i % 3 {
            0 => Revocation::Token {
                jti: format!("jti-{i}"),
                expires_at: now + 3600,
            },
            1 => Revocation::Session {
                sid: format!("sid-{i}"),
                iss: None,
                expires_at: now + 3600,
            },
            _ => Revocation::Subject {
                sub: format!("user-{i}"),
                iss: None,
                issued_before: now,
                expires_at: now + 3600,
            },
        })
        .collect()
}

fn block_on<T>(runtime: &tokio::runtime::Runtime, f: impl Future<Output = T>) -> T {
    runtime.block_on(f)
}

/// One refresh's use of its token, in a memory store that already remembers 100,000 used
/// refresh tokens of their 14 days: what every user's refresh pays for everyone's.
fn use_once(c: &mut Criterion, runtime: &tokio::runtime::Runtime, now: u64) {
    let store = MemoryStore::new();
    let until = now + 14 * 24 * 3600;
    for i in 0..100_000 {
        assert!(block_on(runtime, store.use_once(&format!("used-{i}"), until)).unwrap());
    }
    let mut next = 0u64;
    let mut group = c.benchmark_group("revocation/memory");
    group.bench_function("use_once_100k", |b| {
        b.iter(|| {
            next += 1;
            let jti = format!("new-{next}");
            block_on(runtime, store.use_once(black_box(&jti), until)).unwrap()
        })
    });
    group.finish();
}

fn bench(c: &mut Criterion) {
    install_crypto_provider().unwrap();
    // Worker threads run the Redis stores' subscriptions, as in a server.
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let now = jsonwebtoken::get_current_timestamp();
    let claims = json!({
        "sub": "user-1234", "jti": "0123456789abcdef0123456789abcdef",
        "sid": "fedcba9876543210fedcba9876543210", "iat": now, "exp": now + 3600,
        "name": "Jane Doe", "role": "admin",
    });
    let memory = MemoryStore::new();
    for r in revocations(now) {
        block_on(&runtime, memory.revoke(r)).unwrap();
    }
    #[cfg(feature = "redis")]
    let redis = redis_store::start(&runtime, now);

    for alg in [Algorithm::HS256, Algorithm::RS256] {
        let (encoding, decoding) = keys(alg);
        let token = jsonwebtoken::encode(&Header::new(alg), &claims, &encoding).unwrap();
        let bearer = HeaderValue::try_from(format!("Bearer {token}")).unwrap();
        // HS256 uncached, RS256 from the cache: where a lookup's share is the largest.
        let builder = || {
            let b = JwtAuthLayer::<Value>::builder().key(decoding.clone(), alg);
            if alg == Algorithm::HS256 {
                b
            } else {
                b.token_cache(1_000)
            }
        };
        let mut group = c.benchmark_group(format!("revocation/{alg:?}"));
        let mut plain = builder().build().unwrap().layer(Noop);
        assert_eq!(call(&mut plain, &bearer), 200);
        group.bench_function("layer", |b| b.iter(|| call(&mut plain, black_box(&bearer))));
        let mut with_memory = builder()
            .revocation(memory.clone())
            .build()
            .unwrap()
            .layer(Noop);
        assert_eq!(call(&mut with_memory, &bearer), 200);
        group.bench_function("layer_memory_10k", |b| {
            b.iter(|| call(&mut with_memory, black_box(&bearer)))
        });
        #[cfg(feature = "redis")]
        if let Some((_, store, _)) = &redis {
            assert!(store.is_synced());
            let mut with_redis = builder()
                .revocation(store.clone())
                .build()
                .unwrap()
                .layer(Noop);
            assert_eq!(call(&mut with_redis, &bearer), 200);
            group.bench_function("layer_redis_10k", |b| {
                b.iter(|| call(&mut with_redis, black_box(&bearer)))
            });
        }
        group.finish();
    }
    use_once(c, &runtime, now);
    #[cfg(feature = "redis")]
    if let Some((_server, store, other)) = &redis {
        redis_store::round_trips(c, &runtime, store, other, now);
    }
    #[cfg(feature = "redis")]
    redis_store::cluster(c, &runtime, now);
}

#[cfg(feature = "redis")]
#[path = "../tests/support/redis_cluster.rs"]
mod cluster_support;

#[cfg(feature = "redis")]
mod redis_store {
    use std::process::{Child, Command, Stdio};
    use std::time::{Duration, Instant};

    use std::io::{Read, Write};
    use std::net::TcpStream;

    use criterion::measurement::WallTime;
    use criterion::{BenchmarkGroup, Criterion};
    use tower_jwt_auth::revocation::{
        RedisOptions, RedisStore, Revocation, RevocationStore, TokenId,
    };

    use super::cluster_support::Cluster;

    /// Stops the server when dropped.
    pub struct Server(Child);

    impl Drop for Server {
        fn drop(&mut self) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }

    /// A redis-server with the 10,000 revocations, and two replicas' stores; `None` (and a
    /// note) without redis-server.
    pub fn start(
        runtime: &tokio::runtime::Runtime,
        now: u64,
    ) -> Option<(Server, RedisStore, RedisStore)> {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .ok()?
            .local_addr()
            .ok()?
            .port();
        let Ok(child) = Command::new("redis-server")
            .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no"])
            .stdout(Stdio::null())
            .spawn()
        else {
            eprintln!("redis-server not found: the Redis benchmarks are skipped");
            return None;
        };
        let server = Server(child);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            std::thread::sleep(Duration::from_millis(20));
        }
        let url = format!("redis://127.0.0.1:{port}/");
        let (store, other) = runtime.block_on(async {
            let store = RedisStore::connect(&url).await.unwrap();
            for r in super::revocations(now) {
                store.revoke(r).await.unwrap();
            }
            (store, RedisStore::connect(&url).await.unwrap())
        });
        Some((server, store, other))
    }

    pub fn round_trips(
        c: &mut Criterion,
        runtime: &tokio::runtime::Runtime,
        store: &RedisStore,
        other: &RedisStore,
        now: u64,
    ) {
        let mut group = c.benchmark_group("revocation/redis");
        ask_and_propagate(&mut group, runtime, store, other, now);
        group.finish();
    }

    /// One direct question to Redis (`MGET` of the token's three records), and the delay
    /// from `revoke` on `store` until `other` refuses the token.
    fn ask_and_propagate(
        group: &mut BenchmarkGroup<'_, WallTime>,
        runtime: &tokio::runtime::Runtime,
        store: &RedisStore,
        other: &RedisStore,
        now: u64,
    ) {
        let token = TokenId {
            jti: Some("not-revoked".into()),
            sid: Some("no-session".into()),
            sub: Some("user-1234".into()),
            iss: None,
            iat: Some(now),
        };
        group.bench_function("ask_redis", |b| {
            b.iter(|| runtime.block_on(store.check(&token, now)).unwrap())
        });
        let mut n = 0u64;
        group.bench_function("propagation", |b| {
            b.iter_custom(|iters| {
                let mut total = Duration::ZERO;
                for _ in 0..iters {
                    n += 1;
                    let jti = format!("propagation-{n}");
                    let id = TokenId {
                        jti: Some(jti.clone()),
                        ..TokenId::default()
                    };
                    let start = Instant::now();
                    let revocation = Revocation::Token {
                        jti,
                        expires_at: now + 3600,
                    };
                    runtime.block_on(store.revoke(revocation)).unwrap();
                    while other.check_local(&id, now) != Some(true) {
                        std::hint::spin_loop();
                    }
                    total += start.elapsed();
                }
                total
            })
        });
    }

    /// In a cluster of three primaries (no replicas), two stores subscribed on different
    /// nodes: a question to the cluster (the token's records are in three slots) and the
    /// propagation delay; then the two kinds of pub/sub a cluster offers, measured alike on
    /// bare connections: classic (`PUBLISH` on one node, reaching a subscriber on another
    /// over the cluster bus) and sharded (`SPUBLISH` and `SSUBSCRIBE` on the channel's own
    /// shard).
    pub fn cluster(c: &mut Criterion, runtime: &tokio::runtime::Runtime, now: u64) {
        let cluster = match Cluster::start(3, 0) {
            Ok(cluster) => cluster,
            Err(e) => {
                eprintln!("no Redis Cluster ({e}): the cluster benchmarks are skipped");
                return;
            }
        };
        let urls = cluster.urls();
        let (store, other) = runtime.block_on(async {
            let connect = |url: String| async move {
                RedisStore::connect_cluster([url], RedisOptions::default())
                    .await
                    .unwrap()
            };
            (
                connect(urls[0].clone()).await,
                connect(urls[1].clone()).await,
            )
        });
        let mut group = c.benchmark_group("revocation/redis-cluster");
        ask_and_propagate(&mut group, runtime, &store, &other, now);
        let channel = "jwt-auth:revocations";
        let owner = cluster.primary_of(channel).port;
        let elsewhere = cluster
            .nodes()
            .into_iter()
            .map(|n| n.port)
            .find(|p| *p != owner)
            .unwrap();
        group.bench_function("pubsub_classic", |b| {
            let mut link = PubSubLink::new(elsewhere, owner, "SUBSCRIBE", "PUBLISH", channel);
            b.iter_custom(|iters| (0..iters).map(|_| link.one()).sum())
        });
        group.bench_function("pubsub_sharded", |b| {
            let mut link = PubSubLink::new(owner, owner, "SSUBSCRIBE", "SPUBLISH", channel);
            b.iter_custom(|iters| (0..iters).map(|_| link.one()).sum())
        });
        group.finish();
    }

    /// A subscriber and a publisher on bare RESP connections: what pub/sub itself costs,
    /// without any client library's machinery.
    struct PubSubLink {
        subscriber: TcpStream,
        publisher: TcpStream,
        publish: &'static str,
        channel: &'static str,
        sent: u64,
    }

    impl PubSubLink {
        fn new(
            subscriber: u16,
            publisher: u16,
            subscribe: &'static str,
            publish: &'static str,
            channel: &'static str,
        ) -> PubSubLink {
            let connect = |port| {
                let stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
                stream.set_nodelay(true).unwrap();
                stream
            };
            let mut link = PubSubLink {
                subscriber: connect(subscriber),
                publisher: connect(publisher),
                publish,
                channel,
                sent: 0,
            };
            link.subscriber
                .write_all(&resp(&[subscribe, channel]))
                .unwrap();
            read_until(&mut link.subscriber, channel.as_bytes());
            link
        }

        /// From the publication until the subscriber has read the message.
        fn one(&mut self) -> Duration {
            self.sent += 1;
            let message = format!("revocation-{}-end", self.sent);
            let start = Instant::now();
            self.publisher
                .write_all(&resp(&[self.publish, self.channel, &message]))
                .unwrap();
            read_until(&mut self.subscriber, message.as_bytes());
            let elapsed = start.elapsed();
            // The publisher's answer: the count of subscribers that got it.
            read_until(&mut self.publisher, b"\r\n");
            elapsed
        }
    }

    fn resp(args: &[&str]) -> Vec<u8> {
        let mut out = format!("*{}\r\n", args.len());
        for arg in args {
            out.push_str(&format!("${}\r\n{arg}\r\n", arg.len()));
        }
        out.into_bytes()
    }

    fn read_until(stream: &mut TcpStream, needle: &[u8]) {
        let mut seen = Vec::new();
        let mut buf = [0u8; 512];
        while !seen.windows(needle.len()).any(|w| w == needle) {
            let n = stream.read(&mut buf).unwrap();
            assert!(n > 0, "the connection closed");
            seen.extend_from_slice(&buf[..n]);
        }
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
