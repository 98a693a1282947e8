//! The Redis store against a real Redis Cluster (issue #24, item 3): three primaries and
//! three replicas started here (`redis-server --cluster-enabled yes`, joined by
//! `redis-cli --cluster create`, as Redis's cluster tutorial does), replicas of ours
//! subscribed on different nodes, records spread over every primary, and a primary killed
//! under load.
#![cfg(feature = "redis")]

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use crate::common::*;
use crate::redis::{app, quick, three_revocations, token, within};
use tower_jwt_auth::revocation::{RedisOptions, RedisStore, RevocationStore, TokenId};

#[path = "../support/redis_cluster.rs"]
pub(crate) mod support;
use support::{Cluster, cli};

/// Token ids whose records (`jwt-auth:jti:…`) lie on three different primaries.
fn one_jti_per_primary(cluster: &Cluster) -> Vec<String> {
    let mut chosen: Vec<(String, String)> = Vec::new();
    for i in 0.. {
        let jti = format!("t{i}");
        let primary = cluster.primary_of(&format!("jwt-auth:jti:{jti}")).id;
        if !chosen.iter().any(|(_, p)| *p == primary) {
            chosen.push((jti, primary));
        }
        if chosen.len() == 3 {
            break;
        }
    }
    chosen.into_iter().map(|(jti, _)| jti).collect()
}

async fn connect(urls: &[String]) -> RedisStore {
    RedisStore::connect_cluster(urls, quick()).await.unwrap()
}

fn id(jti: &str) -> TokenId {
    TokenId {
        jti: Some(jti.into()),
        ..TokenId::default()
    }
}

/// Records on every primary reach a replica subscribed on another node, a new replica
/// loads them from every primary, a check that asks the cluster itself reads them from
/// their slots, a use is recorded once for every replica, and a flushed cluster gets its
/// revocations back from the replicas that knew them.
#[tokio::test]
async fn replicas_share_revocations_through_a_cluster() {
    let cluster = Cluster::start(3, 1).unwrap();
    let urls = cluster.urls();
    // Each replica of ours knows one node, a different one.
    let a = connect(&urls[..1]).await;
    let b = connect(&urls[4..5]).await;
    let (app_a, app_b) = (app(a.clone()), app(b.clone()));
    let jtis = one_jti_per_primary(&cluster);
    for jti in &jtis {
        assert_eq!(status_of(&app_b, &token(jti)).await, 200);
    }
    let start = Instant::now();
    for jti in &jtis {
        revoke_jti(&a, jti).await;
    }
    for revocation in three_revocations() {
        a.revoke(revocation).await.unwrap();
    }
    for jti in &jtis {
        assert_eq!(status_of(&app_a, &token(jti)).await, 401, "{jti}");
        within(Duration::from_secs(2), async || {
            status_of(&app_b, &token(jti)).await == 401
        })
        .await;
    }
    eprintln!(
        "cluster: three revocations on three primaries reached the other replica in {:?}",
        start.elapsed()
    );
    // A new replica loads every primary's records.
    let c = connect(&urls[2..3]).await;
    let app_c = app(c.clone());
    for jti in jtis.iter().chain([&"j1".to_owned()]) {
        assert_eq!(status_of(&app_c, &token(jti)).await, 401, "{jti}");
    }
    let bob = mint(&serde_json::json!({ "sub": "bob", "iat": now() - 5, "exp": now() + 600 }));
    assert_eq!(status_of(&app_c, &bob).await, 401, "a subject's cut-off");
    assert_eq!(status_of(&app_c, &token("fine")).await, 200);
    // Asking the cluster itself: one MGET over several slots.
    for jti in &jtis {
        assert!(c.check(&id(jti), now()).await.unwrap(), "{jti}");
    }
    let session = TokenId {
        sid: Some("s 1".into()),
        iss: Some("https://a.example".into()),
        sub: Some("carol".into()),
        jti: Some("other".into()),
        ..TokenId::default()
    };
    assert!(c.check(&session, now()).await.unwrap());
    assert!(!c.check(&id("fine"), now()).await.unwrap());
    // A refresh token's (or a DPoP proof's) use: once, whichever replica records it.
    let until = now() + 60;
    assert!(a.use_once("refresh-1", until).await.unwrap());
    assert!(!b.use_once("refresh-1", until).await.unwrap());

    // FLUSHALL on every primary: the replicas write back what they knew.
    for node in cluster.nodes().iter().filter(|n| n.primary) {
        cli(node.port, &["FLUSHALL"]);
    }
    within(Duration::from_secs(10), async || {
        let d = RedisStore::connect_cluster(&urls[3..4], quick()).await;
        match d {
            Ok(d) => {
                let app_d = app(d);
                let mut all = true;
                for jti in &jtis {
                    all &= status_of(&app_d, &token(jti)).await == 401;
                }
                all
            }
            Err(_) => false,
        }
    })
    .await;
}

/// A primary killed (`SIGKILL`) under load, just after it acknowledged a revocation its
/// replica never received (the replica was stopped): the cluster fails over, the replicas
/// of ours fail closed meanwhile (503, never a pass, never a valid token refused as
/// invalid), write back what they knew once the new primary serves, and recover; nothing
/// is lost.
#[tokio::test]
async fn a_primary_killed_under_load_fails_over_and_loses_no_revocation() {
    let mut cluster = Cluster::start(3, 1).unwrap();
    let urls = cluster.urls();
    let mut reversed = urls.clone();
    reversed.reverse();
    let a = connect(&urls).await;
    let b = connect(&reversed).await;
    let (app_a, app_b) = (app(a.clone()), app(b.clone()));
    let earlier = one_jti_per_primary(&cluster);
    for jti in &earlier {
        revoke_jti(&a, jti).await;
    }

    // The victim: the primary of "victim"'s record. Its replica is stopped and its link to
    // the primary cut, so that the record reaches no other Redis node before the primary
    // dies: only the replicas of ours know it.
    let victim = cluster.primary_of("jwt-auth:jti:victim");
    let replica = cluster
        .nodes()
        .into_iter()
        .find(|n| n.replica_of.as_deref() == Some(victim.id.as_str()))
        .expect("the victim has a replica");
    cluster.signal(replica.port, "STOP");
    cli(victim.port, &["CLIENT", "KILL", "TYPE", "replica"]);
    revoke_jti(&a, "victim").await;
    within(Duration::from_secs(2), async || {
        status_of(&app_b, &token("victim")).await == 401
    })
    .await;

    let revoked: Vec<&str> = earlier
        .iter()
        .map(String::as_str)
        .chain(["victim"])
        .collect();
    let load = Load::start([app_a.clone(), app_b.clone()], &revoked);
    tokio::time::sleep(Duration::from_millis(300)).await;
    let killed_at = Instant::now();
    cluster.signal(victim.port, "KILL");
    cluster.signal(replica.port, "CONT");
    // The replica takes over after the node timeout (1 s) and an election.
    recover("cluster", replica.port, [&a, &b], killed_at, load).await;
    let fresh = RedisStore::connect_cluster(&urls[..], quick())
        .await
        .unwrap();
    after_failover(fresh, &revoked, &b, &app_a).await;
}

/// Waits until the replica on `replica_port` is the primary and both stores are synced
/// again, then finishes the load (which checks what it saw); logs both.
pub(crate) async fn recover(
    what: &str,
    replica_port: u16,
    [a, b]: [&RedisStore; 2],
    killed_at: Instant,
    load: Load,
) {
    within(Duration::from_secs(30), async || {
        let promoted = cli(replica_port, &["ROLE"]).starts_with("master");
        tokio::time::sleep(Duration::from_millis(50)).await;
        promoted && a.is_synced() && b.is_synced()
    })
    .await;
    let recovered = killed_at.elapsed();
    tokio::time::sleep(Duration::from_millis(500)).await;
    let seen = load.finish().await;
    eprintln!(
        "{what} failover under load: both replicas synced again {recovered:?} after the kill; \
         {seen}"
    );
}

/// After a failover: a replica started now (`fresh`) refuses every one of `revoked` — the one
/// the dead primary took with it was written back —, and a revocation made on `b` reaches
/// the replica behind `app_a` and `fresh`, as before.
pub(crate) async fn after_failover(
    fresh: RedisStore,
    revoked: &[&str],
    b: &RedisStore,
    app_a: &axum::Router,
) {
    let app_fresh = app(fresh);
    for jti in revoked {
        assert_eq!(status_of(&app_fresh, &token(jti)).await, 401, "{jti}");
    }
    revoke_jti(b, "after").await;
    within(Duration::from_secs(2), async || {
        status_of(app_a, &token("after")).await == 401
            && status_of(&app_fresh, &token("after")).await == 401
    })
    .await;
}

/// Requests all along on two replicas' apps: a valid token and revoked ones, counted by
/// answer.
pub(crate) struct Load {
    stop: Arc<AtomicBool>,
    counts: Arc<Counts>,
    task: tokio::task::JoinHandle<()>,
    apps: [axum::Router; 2],
}

impl Load {
    pub(crate) fn start(apps: [axum::Router; 2], revoked: &[&str]) -> Load {
        let stop = Arc::new(AtomicBool::new(false));
        let counts = Arc::new(Counts::default());
        let revoked: Vec<String> = revoked.iter().map(|jti| token(jti)).collect();
        let valid = token("valid");
        let task = {
            let (stop, counts, apps) = (Arc::clone(&stop), Arc::clone(&counts), apps.clone());
            tokio::spawn(async move {
                while !stop.load(Ordering::Relaxed) {
                    for app in &apps {
                        counts.valid(status_of(app, &valid).await);
                        for t in &revoked {
                            counts.revoked(status_of(app, t).await);
                        }
                    }
                    tokio::time::sleep(Duration::from_millis(2)).await;
                }
            })
        };
        Load {
            stop,
            counts,
            task,
            apps,
        }
    }

    /// Stops the load and checks what it saw: no revoked token passed, no valid one was
    /// refused as invalid (only `503`, the documented fail-closed answer), some passed; and
    /// once over, the valid token passes on both. Returns the counts, for the log.
    pub(crate) async fn finish(self) -> String {
        self.stop.store(true, Ordering::Relaxed);
        self.task.await.unwrap();
        let counts = &self.counts;
        let seen = counts.summary();
        assert_eq!(
            counts.wrong_accepts.load(Ordering::Relaxed),
            0,
            "a revoked token passed: {seen}"
        );
        assert_eq!(
            counts.valid_refused.load(Ordering::Relaxed),
            0,
            "a valid token refused as invalid: {seen}"
        );
        assert!(counts.valid_ok.load(Ordering::Relaxed) > 0, "{seen}");
        for app in &self.apps {
            assert_eq!(status_of(app, &token("valid")).await, 200);
        }
        seen
    }
}

/// What the load saw.
#[derive(Default)]
struct Counts {
    valid_ok: AtomicU64,
    valid_unavailable: AtomicU64,
    valid_refused: AtomicU64,
    revoked_refused: AtomicU64,
    revoked_unavailable: AtomicU64,
    wrong_accepts: AtomicU64,
}

impl Counts {
    fn valid(&self, status: u16) {
        match status {
            200 => &self.valid_ok,
            503 => &self.valid_unavailable,
            _ => &self.valid_refused,
        }
        .fetch_add(1, Ordering::Relaxed);
    }

    fn revoked(&self, status: u16) {
        match status {
            401 => &self.revoked_refused,
            503 => &self.revoked_unavailable,
            _ => &self.wrong_accepts,
        }
        .fetch_add(1, Ordering::Relaxed);
    }

    fn summary(&self) -> String {
        let n = |c: &AtomicU64| c.load(Ordering::Relaxed);
        format!(
            "valid: {} passed, {} 503, {} refused; revoked: {} refused, {} 503, {} passed",
            n(&self.valid_ok),
            n(&self.valid_unavailable),
            n(&self.valid_refused),
            n(&self.revoked_refused),
            n(&self.revoked_unavailable),
            n(&self.wrong_accepts),
        )
    }
}

/// Options are checked before anything is connected.
#[tokio::test]
async fn a_cluster_store_needs_a_node() {
    let none: [&str; 0] = [];
    let err = RedisStore::connect_cluster(none, RedisOptions::default())
        .await
        .unwrap_err();
    assert!(err.to_string().contains("at least one node"), "{err}");
    let err = RedisStore::connect_cluster(["not a url"], RedisOptions::default())
        .await
        .unwrap_err();
    assert!(err.to_string().contains("invalid Redis URL"), "{err}");
}
