#![allow(dead_code)] // each user takes what it needs
//! A Redis Cluster of this process alone, as Redis's cluster tutorial makes one: nodes
//! started with `redis-server --cluster-enabled yes` on free loopback ports (and free bus
//! ports, 10000 above), joined by `redis-cli --cluster create`; stopped, and their files
//! removed, when dropped. Used by `tests/lifecycle/redis_cluster.rs` (and its `cli` and
//! `send` by `redis_sentinel.rs`) and `benches/revocation.rs`.

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub struct Cluster {
    nodes: Vec<(u16, Child)>,
    dir: PathBuf,
}

/// A node as `CLUSTER NODES` lists it.
pub struct Node {
    pub id: String,
    pub port: u16,
    pub primary: bool,
    /// A replica's primary.
    pub replica_of: Option<String>,
    pub slots: Vec<(u16, u16)>,
}

impl Cluster {
    /// `primaries` primaries with `replicas` replicas each, up and synced; an error when
    /// `redis-server` or `redis-cli` is missing or the cluster does not form.
    pub fn start(primaries: usize, replicas: usize) -> Result<Cluster, String> {
        let dir = std::env::temp_dir().join(format!(
            "tower-jwt-auth-redis-cluster-{}-{:?}",
            std::process::id(),
            Instant::now()
        ));
        std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
        let mut cluster = Cluster {
            nodes: Vec::new(),
            dir,
        };
        let count = primaries * (1 + replicas);
        while cluster.nodes.len() < count {
            let port = bus_free_port();
            if cluster.nodes.iter().any(|(p, _)| *p == port) {
                continue;
            }
            let child = cluster.spawn(port)?;
            cluster.nodes.push((port, child));
        }
        for (port, _) in &cluster.nodes {
            let deadline = Instant::now() + Duration::from_secs(10);
            while std::net::TcpStream::connect(("127.0.0.1", *port)).is_err() {
                if Instant::now() > deadline {
                    return Err(format!("redis-server on port {port} did not start"));
                }
                std::thread::sleep(Duration::from_millis(20));
            }
        }
        let mut create = Command::new("redis-cli");
        create.arg("--cluster").arg("create");
        for (port, _) in &cluster.nodes {
            create.arg(format!("127.0.0.1:{port}"));
        }
        let created = create
            .args(["--cluster-replicas", &replicas.to_string(), "--cluster-yes"])
            .output()
            .map_err(|e| format!("redis-cli: {e}"))?;
        if !created.status.success() {
            return Err(format!(
                "redis-cli --cluster create: {}",
                String::from_utf8_lossy(&created.stdout)
            ));
        }
        cluster.wait_until_ok(primaries, Duration::from_secs(20))?;
        Ok(cluster)
    }

    fn spawn(&self, port: u16) -> Result<Child, String> {
        let config = self.dir.join(format!("nodes-{port}.conf"));
        Command::new("redis-server")
            .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no"])
            .args(["--cluster-enabled", "yes"])
            .arg("--cluster-config-file")
            .arg(&config)
            .arg("--dir")
            .arg(&self.dir)
            // A primary that stops answering is failed over after a second.
            .args(["--cluster-node-timeout", "1000"])
            // A replica's first sync at once, not after the default 5 s.
            .args(["--repl-diskless-sync-delay", "0"])
            .stdout(Stdio::null())
            .spawn()
            .map_err(|e| format!("redis-server: {e}"))
    }

    /// Waits until every node says the cluster is up, there are `primaries` primaries, and
    /// every replica has its primary's data (a replica that never synced cannot take over).
    fn wait_until_ok(&self, primaries: usize, limit: Duration) -> Result<(), String> {
        let deadline = Instant::now() + limit;
        loop {
            let nodes = self.nodes();
            let ok = self
                .nodes
                .iter()
                .all(|(port, _)| cli(*port, &["CLUSTER", "INFO"]).contains("cluster_state:ok"))
                && nodes.iter().filter(|n| n.primary).count() == primaries
                && nodes.iter().filter(|n| !n.primary).all(|n| {
                    cli(n.port, &["INFO", "replication"]).contains("master_link_status:up")
                });
            if ok {
                return Ok(());
            }
            if Instant::now() > deadline {
                return Err("the cluster did not come up".to_owned());
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    pub fn urls(&self) -> Vec<String> {
        self.nodes
            .iter()
            .map(|(port, _)| format!("redis://127.0.0.1:{port}/"))
            .collect()
    }

    /// The nodes, failed ones left out, as the first node that answers sees them.
    pub fn nodes(&self) -> Vec<Node> {
        let listing = self
            .nodes
            .iter()
            .map(|(port, _)| cli(*port, &["CLUSTER", "NODES"]))
            .find(|listing| !listing.is_empty())
            .unwrap_or_default();
        listing
            .lines()
            .filter(|line| !line.contains("fail") && !line.contains("noaddr"))
            .map(|line| {
                let fields: Vec<&str> = line.split(' ').collect();
                let port = fields[1]
                    .split(['@', ','])
                    .next()
                    .and_then(|addr| addr.rsplit_once(':'))
                    .and_then(|(_, port)| port.parse().ok())
                    .expect("a node's address");
                let slots = fields[8..]
                    .iter()
                    .filter(|range| !range.starts_with('['))
                    .map(|range| match range.split_once('-') {
                        Some((a, b)) => (a.parse().unwrap(), b.parse().unwrap()),
                        None => (range.parse().unwrap(), range.parse().unwrap()),
                    })
                    .collect();
                Node {
                    id: fields[0].to_owned(),
                    port,
                    primary: fields[2].contains("master"),
                    replica_of: (fields[3] != "-").then(|| fields[3].to_owned()),
                    slots,
                }
            })
            .collect()
    }

    /// The primary that holds `key` (or serves the shard channel `key`).
    pub fn primary_of(&self, key: &str) -> Node {
        let slot: u16 = cli(self.nodes[0].0, &["CLUSTER", "KEYSLOT", key])
            .trim()
            .parse()
            .expect("CLUSTER KEYSLOT");
        self.nodes()
            .into_iter()
            .find(|n| n.primary && n.slots.iter().any(|(a, b)| (*a..=*b).contains(&slot)))
            .expect("every slot has a primary")
    }

    /// Sends `signal` (`STOP`, `CONT`, `KILL`) to the node on `port`.
    pub fn signal(&mut self, port: u16, signal: &str) {
        let (_, child) = self.nodes.iter_mut().find(|(p, _)| *p == port).unwrap();
        send(child, signal);
        if signal == "KILL" {
            let _ = child.wait();
        }
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        for (_, child) in &mut self.nodes {
            let _ = child.kill();
            let _ = child.wait();
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Sends `signal` (`STOP`, `CONT`, `KILL`) to a process.
pub fn send(child: &Child, signal: &str) {
    let sent = Command::new("kill")
        .args([&format!("-{signal}"), &child.id().to_string()])
        .status()
        .unwrap();
    assert!(sent.success());
}

/// What `redis-cli -p port args…` prints (nothing when the node does not answer).
pub fn cli(port: u16, args: &[&str]) -> String {
    let out = Command::new("redis-cli")
        .args(["-p", &port.to_string()])
        .args(args)
        .output()
        .expect("redis-cli comes with redis-server");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// A free port whose cluster bus port (10000 above it) is free too.
fn bus_free_port() -> u16 {
    loop {
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        if port <= 55535 && TcpListener::bind(("127.0.0.1", port + 10000)).is_ok() {
            return port;
        }
    }
}
