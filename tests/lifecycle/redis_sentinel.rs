//! The Redis store behind Redis Sentinel (issue #24, item 3): a primary, its replica and
//! three sentinels started here (`redis-server sentinel.conf --sentinel`, configured as
//! Redis's Sentinel documentation shows: `sentinel monitor mymaster … 2`), the primary
//! killed under load.
#![cfg(feature = "redis")]

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::common::*;
use crate::redis::{Server, app, free_port, now_nanos, quick, token, within};
use crate::redis_cluster::support::{cli, send};
use crate::redis_cluster::{Load, after_failover, recover};
use tower_jwt_auth::revocation::{RedisOptions, RedisStore};

/// Three sentinels watching `mymaster`, stopped (and their files removed) when dropped.
struct Sentinels {
    children: Vec<(u16, Child)>,
    dir: PathBuf,
}

impl Sentinels {
    fn start(primary: u16) -> Sentinels {
        let dir = std::env::temp_dir().join(format!(
            "tower-jwt-auth-redis-sentinel-{}-{}",
            std::process::id(),
            now_nanos()
        ));
        std::fs::create_dir_all(&dir).unwrap();
        let children = (0..3)
            .map(|_| {
                let port = free_port();
                // The sentinel rewrites its file: one each.
                let config = dir.join(format!("sentinel-{port}.conf"));
                std::fs::write(
                    &config,
                    format!(
                        "port {port}\nbind 127.0.0.1\ndir {}\n\
                         sentinel monitor mymaster 127.0.0.1 {primary} 2\n\
                         sentinel down-after-milliseconds mymaster 1000\n\
                         sentinel failover-timeout mymaster 3000\n",
                        dir.display()
                    ),
                )
                .unwrap();
                let child = Command::new("redis-server")
                    .arg(&config)
                    .arg("--sentinel")
                    .stdout(Stdio::null())
                    .spawn()
                    .expect("redis-server must be installed: scripts/test-all.sh installs it");
                (port, child)
            })
            .collect();
        let sentinels = Sentinels { children, dir };
        // Up, and each knows the replica and the other two sentinels.
        let deadline = Instant::now() + Duration::from_secs(20);
        while !sentinels.children.iter().all(|(port, _)| {
            let master = cli(*port, &["SENTINEL", "MASTER", "mymaster"]);
            field(&master, "num-slaves") == Some("1")
                && field(&master, "num-other-sentinels") == Some("2")
        }) {
            assert!(Instant::now() < deadline, "the sentinels did not come up");
            std::thread::sleep(Duration::from_millis(100));
        }
        sentinels
    }

    fn urls(&self) -> Vec<String> {
        self.children
            .iter()
            .map(|(port, _)| format!("redis://127.0.0.1:{port}/"))
            .collect()
    }
}

impl Drop for Sentinels {
    fn drop(&mut self) {
        for (_, child) in &mut self.children {
            let _ = child.kill();
            let _ = child.wait();
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// The value after `name` in a reply `redis-cli` printed one item a line.
fn field<'a>(reply: &'a str, name: &str) -> Option<&'a str> {
    let mut lines = reply.lines();
    lines.find(|line| *line == name)?;
    lines.next()
}

async fn connect(sentinels: &Sentinels) -> RedisStore {
    RedisStore::connect_sentinel(sentinels.urls(), "mymaster", quick())
        .await
        .unwrap()
}

/// The primary is killed right after acknowledging a revocation its replica never received
/// (the replica stopped, its link cut): Sentinel promotes the replica, the stores find it
/// through the sentinels, fail closed meanwhile, write back what they knew (the new primary
/// has another run id), and recover; nothing is lost.
#[tokio::test]
async fn a_store_follows_a_sentinel_failover_and_loses_no_revocation() {
    let mut primary = Server::start();
    let replica_port = free_port();
    let replica = Server::with_args(
        replica_port,
        &[
            "--port",
            &replica_port.to_string(),
            "--replicaof",
            "127.0.0.1",
            &primary.port.to_string(),
        ],
    );
    let deadline = Instant::now() + Duration::from_secs(10);
    while !cli(replica_port, &["INFO", "replication"]).contains("master_link_status:up") {
        assert!(Instant::now() < deadline, "the replica did not sync");
        std::thread::sleep(Duration::from_millis(50));
    }
    let sentinels = Sentinels::start(primary.port);
    let (a, b) = (connect(&sentinels).await, connect(&sentinels).await);
    let (app_a, app_b) = (app(a.clone()), app(b.clone()));
    revoke_jti(&a, "earlier").await;

    send(&replica.child, "STOP");
    cli(primary.port, &["CLIENT", "KILL", "TYPE", "replica"]);
    revoke_jti(&a, "victim").await;
    within(Duration::from_secs(2), async || {
        status_of(&app_b, &token("victim")).await == 401
    })
    .await;
    let load = Load::start([app_a.clone(), app_b.clone()], &["earlier", "victim"]);
    tokio::time::sleep(Duration::from_millis(300)).await;
    let killed_at = Instant::now();
    primary.pause();
    send(&replica.child, "CONT");
    // Sentinel sees the primary down after 1 s, agrees, and promotes the replica.
    recover("sentinel", replica_port, [&a, &b], killed_at, load).await;
    after_failover(
        connect(&sentinels).await,
        &["earlier", "victim"],
        &b,
        &app_a,
    )
    .await;
}

#[tokio::test]
async fn a_sentinel_store_needs_a_sentinel() {
    let none: [&str; 0] = [];
    let err = RedisStore::connect_sentinel(none, "mymaster", RedisOptions::default())
        .await
        .unwrap_err();
    assert!(err.to_string().contains("at least one sentinel"), "{err}");
}
