//! [`RedisStore`]: revocations and refresh-token uses shared by every replica through Redis
//! (feature `redis`).
//!
//! Each revocation is a key that expires (`EXAT`) five minutes after the last token it can
//! match (the largest leeway a layer grants), so Redis forgets it once it no longer
//! matters, and a message on a pub/sub channel. Every store keeps a local copy of all live
//! revocations: it subscribes, loads the keys, then applies each message; a request's check
//! is then a lookup in memory. While the subscription is down the copy may
//! be stale, so checks go to Redis itself (one `MGET`) until it is back and reloaded.
//!
//! A subscription that a NAT or a load balancer drops without closing it looks alive and
//! delivers nothing. So the copy is trusted only as long as the subscription has recently
//! proven itself: a `PING` on it every [`ping_interval`](RedisOptions::ping_interval), which
//! must be answered within [`timeout`](RedisOptions::timeout). Past that deadline the copy
//! counts as stale, whether or not the background task noticed (it may be gone with its
//! runtime), and the subscription is made again.
//!
//! **Durability**: Redis holds an epoch marker, a random value the first replica writes into
//! an empty Redis. When a replica finds it gone or changed — on reconnecting after a restart
//! without persistence, or after a `PING` when a `FLUSHALL` left the subscription up — it
//! writes every live revocation of its copy back before reloading, so revocations survive as
//! long as one replica that knew them does (logged at `warn`, counted in
//! `jwt_auth_revocation_store_resets_total`). The epoch also holds the server's run id (in a
//! cluster, every primary's): after a failover to a replica, or a restart, the replicas
//! write back their copies too (logged at `info`), so a revocation the old primary had
//! acknowledged but not yet passed to its replica is not lost while a replica of ours knew
//! it. Used refresh tokens and DPoP proofs are recorded in Redis alone and are lost with its
//! data.
//!
//! **TLS**: `rediss://` URLs speak TLS through rustls, with the crypto backend's provider;
//! the server's certificate is checked against the system's roots, or the root you give
//! [`Client::build_with_tls`] and [`RedisStore::from_client`].
//!
//! **Redis Cluster** (and Valkey in cluster mode): [`RedisStore::connect_cluster`]. Every
//! write that must be atomic touches one key — a revocation's record is written and
//! announced by one script on the record's node, a refresh token's or a DPoP proof's use is
//! one `SET NX` —, a check's `MGET` is split by slot, the copy is loaded by a `SCAN` of each
//! primary, and the subscription (classic pub/sub, which a cluster carries to every node)
//! may be made on any node.
//!
//! **Redis Sentinel**: [`RedisStore::connect_sentinel`]; the sentinels are asked where the
//! primary is at every (re)connection. A managed service's primary endpoint (a host name
//! that follows its failovers) needs nothing more than [`RedisStore::connect`]: the name is
//! resolved again at each reconnection.

mod connection;
mod records;

use std::future::Future;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError, Weak};
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use redis::aio::ConnectionManager;
use redis::cluster::ClusterClient;
use redis::sentinel::{SentinelClient, SentinelServerType};
use redis::{Client, Value};

use self::connection::{Commands, Connection, Primary, Server, fingerprint};
use self::records::{KINDS, decode_message, decode_value, encode, scoped};
use super::list::{RevocationList, kept_until};
use super::{BoxFuture, Revocation, RevocationStore, StoreError, TokenId};
use crate::backoff::Backoff;
use crate::verifier::now;
use crate::{metrics, tls};

/// Tunes a [`RedisStore`].
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct RedisOptions {
    /// Prepended to every key and to the channel (default `"jwt-auth:"`), so that several
    /// applications can share a Redis; no glob characters (`*`, `?`, `[`, `]`, `\`).
    pub prefix: String,
    /// How long one call to Redis may take before the store reports it unavailable
    /// (default 1 s).
    pub timeout: Duration,
    /// How long to wait before reconnecting the subscription after it dropped (default
    /// 1 s); each further failure in a row doubles it, up to
    /// [`max_reconnect_delay`](Self::max_reconnect_delay), and each wait is drawn at random
    /// from the upper half of its step, so that replicas do not reconnect in lockstep.
    pub reconnect_delay: Duration,
    /// The longest wait between two reconnection attempts (default 30 s).
    pub max_reconnect_delay: Duration,
    /// How often the subscription proves it is alive with a `PING` (default 1 s). The local
    /// copy is trusted for `ping_interval + timeout` after the last answer: a subscription
    /// dropped silently (by a NAT, a load balancer) is noticed within that time, and checks
    /// go to Redis itself until it is made again. A shorter interval narrows the window in
    /// which this replica may miss another's revocation, for one `PING` more per interval.
    pub ping_interval: Duration,
}

impl Default for RedisOptions {
    fn default() -> Self {
        RedisOptions {
            prefix: "jwt-auth:".to_owned(),
            timeout: Duration::from_secs(1),
            reconnect_delay: Duration::from_secs(1),
            max_reconnect_delay: Duration::from_secs(30),
            ping_interval: Duration::from_secs(1),
        }
    }
}

impl RedisOptions {
    /// Sets [`prefix`](Self::prefix).
    pub fn prefix(mut self, prefix: impl Into<String>) -> Self {
        self.prefix = prefix.into();
        self
    }
}

option_setters!(RedisOptions {
    timeout: Duration,
    reconnect_delay: Duration,
    max_reconnect_delay: Duration,
    ping_interval: Duration,
});

/// A [`RevocationStore`] in Redis, for several replicas of one API (feature `redis`).
///
/// Request checks read a local copy kept in sync through pub/sub: no round trip. A
/// revocation made on one replica reaches the others in the time a pub/sub message takes
/// (about a millisecond on one network; BENCHMARKS.md has the figure measured). While the
/// subscription is down, checks ask Redis directly, and fail (the layer then answers 503,
/// see [`OnStoreError`](super::OnStoreError)) while Redis cannot be reached.
///
/// ```no_run
/// # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
/// use tower_jwt_auth::{Algorithm, RegisteredClaims, JwtAuthLayer};
/// use tower_jwt_auth::revocation::RedisStore;
///
/// let store = RedisStore::connect("redis://127.0.0.1:6379/").await?;
/// let layer = JwtAuthLayer::<RegisteredClaims>::builder()
///     .hmac_secret(b"at least thirty-two bytes of secret!", Algorithm::HS256)
///     .revocation(store)
///     .build()?;
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct RedisStore {
    inner: Arc<Inner>,
}

struct Inner {
    /// Where the subscription is made: one server, or the nodes of a cluster given, tried
    /// in turn (classic pub/sub reaches every node of a cluster).
    nodes: Vec<Arc<Server>>,
    /// The node the next subscription tries.
    next_node: AtomicUsize,
    options: RedisOptions,
    channel: String,
    /// The local copy of every live revocation.
    list: RevocationList,
    /// Until when (milliseconds after `started`) the copy is complete and known current:
    /// the last proof of the subscription's life, plus `ping_interval + timeout`; 0 when
    /// it is not.
    synced_until: AtomicU64,
    started: Instant,
    commands: Commands,
    /// The epoch of the Redis data this copy was last synced with (see [`Inner::restore`]).
    epoch: Mutex<Option<Epoch>>,
}

impl RedisStore {
    /// Connects to Redis at `url` — `redis://host:port/db`, or `rediss://` for TLS, the
    /// server's certificate checked against the system's roots — loads the revocations and
    /// subscribes to new ones, with [`RedisOptions::default`].
    ///
    /// # Errors
    /// [`StoreError`] when the URL is invalid or Redis cannot be reached within the timeout.
    pub async fn connect(url: &str) -> Result<RedisStore, StoreError> {
        RedisStore::connect_with(url, RedisOptions::default()).await
    }

    /// [`connect`](Self::connect) with options. Must run inside a Tokio runtime: the
    /// subscription lives in a background task, which ends when the last clone of the
    /// store is dropped.
    ///
    /// # Errors
    /// [`StoreError`] when the URL or the prefix is invalid, or Redis cannot be reached
    /// within the timeout.
    pub async fn connect_with(url: &str, options: RedisOptions) -> Result<RedisStore, StoreError> {
        let client =
            Client::open(url).map_err(|e| StoreError(format!("invalid Redis URL: {e}")))?;
        RedisStore::from_client(client, options).await
    }

    /// A store that connects in the background, for a replica that must start while Redis
    /// is down: until its first sync, checks ask Redis and fail closed (the layer answers
    /// `503` with `Retry-After`, unless told otherwise by
    /// [`OnStoreError`](super::OnStoreError)); once Redis answers, it syncs and serves, no
    /// restart needed. [`is_synced`](Self::is_synced) says when. Must run inside a Tokio
    /// runtime.
    ///
    /// # Errors
    /// [`StoreError`] when the URL or the options are invalid; never because Redis is down.
    pub fn connect_later(url: &str, options: RedisOptions) -> Result<RedisStore, StoreError> {
        let client =
            Client::open(url).map_err(|e| StoreError(format!("invalid Redis URL: {e}")))?;
        let server = Arc::new(Server::Fixed(client));
        let inner = Inner::new(vec![Arc::clone(&server)], Commands::own(server), options)?;
        tokio::spawn(subscribe(Arc::downgrade(&inner), None));
        Ok(RedisStore { inner })
    }

    /// A store on a [`Client`] you configured: TLS with your own root certificate or client
    /// certificate ([`Client::build_with_tls`]), a username and password, a database.
    ///
    /// ```no_run
    /// # async fn demo(ca_pem: Vec<u8>) -> Result<(), Box<dyn std::error::Error>> {
    /// use tower_jwt_auth::revocation::{RedisOptions, RedisStore};
    /// use tower_jwt_auth::redis::{Client, TlsCertificates};
    ///
    /// let tls = TlsCertificates { client_tls: None, root_cert: Some(ca_pem) };
    /// let client = Client::build_with_tls("rediss://redis.internal:6380/", tls)?;
    /// let store = RedisStore::from_client(client, RedisOptions::default()).await?;
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    /// As [`connect_with`](Self::connect_with).
    pub async fn from_client(
        client: Client,
        options: RedisOptions,
    ) -> Result<RedisStore, StoreError> {
        let server = Arc::new(Server::Fixed(client));
        RedisStore::start(vec![Arc::clone(&server)], Commands::own(server), options).await
    }

    /// Connects to the primary that Redis Sentinel names for `service` (the name of a
    /// `sentinel monitor` line), through the sentinels at `sentinels` (`redis://host:port`,
    /// the sentinels' own ports), with `options`. The sentinels are asked again at every
    /// (re)connection, so the store follows a failover: while the old primary is gone and
    /// the new one not yet named, checks fail closed; then the subscription is made on the
    /// new primary, and — its run id being another — every replica writes back its copy, so
    /// a revocation the old primary had not yet passed to its replica is not lost.
    ///
    /// ```no_run
    /// # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
    /// use tower_jwt_auth::revocation::{RedisOptions, RedisStore};
    ///
    /// let sentinels = ["redis://10.0.0.1:26379", "redis://10.0.0.2:26379", "redis://10.0.0.3:26379"];
    /// let store = RedisStore::connect_sentinel(sentinels, "mymaster", RedisOptions::default()).await?;
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    /// [`StoreError`] when no sentinel URL is given, a URL or the options are invalid, or no
    /// primary can be reached within the timeout. For credentials or TLS on the primary,
    /// build a [`SentinelClient`](redis::sentinel::SentinelClient) and use
    /// [`from_sentinel_clients`](Self::from_sentinel_clients).
    pub async fn connect_sentinel<I, S>(
        sentinels: I,
        service: &str,
        options: RedisOptions,
    ) -> Result<RedisStore, StoreError>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let sentinels: Vec<String> = sentinels
            .into_iter()
            .map(|u| u.as_ref().to_owned())
            .collect();
        if sentinels.is_empty() {
            return Err(StoreError(
                "a Sentinel store needs the URL of at least one sentinel".to_owned(),
            ));
        }
        let build = || {
            SentinelClient::build(
                sentinels.iter().map(String::as_str).collect(),
                service,
                None,
                SentinelServerType::Master,
            )
            .map_err(|e| StoreError(format!("invalid Redis Sentinel configuration: {e}")))
        };
        if sentinels.iter().any(|url| url.starts_with("rediss:")) {
            tls::install_default_provider();
        }
        let (commands, subscription) = (build()?, build()?);
        RedisStore::from_sentinel_clients(commands, subscription, options).await
    }

    /// [`connect_sentinel`](Self::connect_sentinel) with [`SentinelClient`](redis::sentinel::SentinelClient)s
    /// you built (credentials, TLS): one for the commands, one for the subscription, both
    /// for the primary ([`SentinelServerType::Master`](redis::sentinel::SentinelServerType)).
    /// With TLS, install a rustls crypto provider as the process default first
    /// (`rustls::crypto::CryptoProvider::install_default`): these clients do not say
    /// whether they speak TLS, so the store cannot install one for them as it does for
    /// `rediss://` URLs.
    ///
    /// # Errors
    /// As [`connect_sentinel`](Self::connect_sentinel).
    pub async fn from_sentinel_clients(
        commands: SentinelClient,
        subscription: SentinelClient,
        options: RedisOptions,
    ) -> Result<RedisStore, StoreError> {
        let sentinel = |client| Arc::new(Server::Sentinel(tokio::sync::Mutex::new(client)));
        let commands = Commands::own(sentinel(commands));
        RedisStore::start(vec![sentinel(subscription)], commands, options).await
    }

    /// A store whose commands go through the application's [`ConnectionManager`]; `client`
    /// (the one the manager was made from) opens the subscription, which a connection
    /// manager cannot carry.
    ///
    /// # Errors
    /// As [`connect_with`](Self::connect_with).
    pub async fn with_connection_manager(
        client: Client,
        manager: ConnectionManager,
        options: RedisOptions,
    ) -> Result<RedisStore, StoreError> {
        let server = Arc::new(Server::Fixed(client));
        RedisStore::start(vec![server], Commands::Managed(manager), options).await
    }

    /// Connects to a Redis Cluster (or Valkey in cluster mode) through the nodes at `urls`
    /// (`redis://host:port`, or `rediss://` for TLS with the system's roots): one is
    /// enough, as the cluster tells where the others are; more let the subscription move
    /// when a node goes away. Loads the revocations from every primary and subscribes, with
    /// `options`.
    ///
    /// Each record lives in the slot of its key, and every operation that must be atomic
    /// touches one key; a token's check reads its records from their primaries (one `MGET`
    /// split by slot), and the local copy is loaded with a `SCAN` of each primary.
    /// Revocations are announced on classic pub/sub, which a cluster carries to every node,
    /// so the subscription may be made on any of them. A failover (or a restart) of a
    /// primary changes its run id: every replica then writes back what its copy holds, so
    /// that a revocation the failed primary had not yet passed to its replica is not lost.
    ///
    /// ```no_run
    /// # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
    /// use tower_jwt_auth::revocation::{RedisOptions, RedisStore};
    ///
    /// let nodes = ["redis://10.0.0.1:6379", "redis://10.0.0.2:6379", "redis://10.0.0.3:6379"];
    /// let store = RedisStore::connect_cluster(nodes, RedisOptions::default()).await?;
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    /// [`StoreError`] when no URL is given, a URL or the options are invalid, or the cluster
    /// cannot be reached within the timeout.
    pub async fn connect_cluster<I, S>(
        urls: I,
        options: RedisOptions,
    ) -> Result<RedisStore, StoreError>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let urls: Vec<String> = urls.into_iter().map(|u| u.as_ref().to_owned()).collect();
        if urls.is_empty() {
            return Err(no_node());
        }
        let nodes = urls
            .iter()
            .map(|url| Client::open(url.as_str()))
            .collect::<Result<Vec<Client>, _>>()
            .map_err(|e| StoreError(format!("invalid Redis URL: {e}")))?;
        let cluster = ClusterClient::builder(urls)
            .connection_timeout(options.timeout)
            .response_timeout(options.timeout)
            .build()
            .map_err(|e| StoreError(format!("invalid Redis Cluster configuration: {e}")))?;
        RedisStore::from_cluster_client(cluster, nodes, options).await
    }

    /// [`connect_cluster`](Self::connect_cluster) with a [`ClusterClient`] you configured
    /// (credentials, TLS with your own root certificate); `nodes` are clients to some of
    /// its nodes, configured alike, on which the subscription is made, each in turn.
    ///
    /// # Errors
    /// As [`connect_cluster`](Self::connect_cluster).
    pub async fn from_cluster_client(
        cluster: ClusterClient,
        nodes: Vec<Client>,
        options: RedisOptions,
    ) -> Result<RedisStore, StoreError> {
        if nodes.is_empty() {
            return Err(no_node());
        }
        let nodes: Vec<Arc<Server>> = nodes
            .into_iter()
            .map(|node| Arc::new(Server::Fixed(node)))
            .collect();
        // Before the first connection: the cluster client's TLS needs a provider too.
        if nodes.iter().any(|node| node.is_tls()) {
            tls::install_default_provider();
        }
        let connection = tokio::time::timeout(options.timeout, cluster.get_async_connection())
            .await
            .map_err(|_| StoreError("Redis Cluster did not answer in time".to_owned()))?
            .map_err(|e| StoreError(format!("cannot connect to Redis Cluster: {e}")))?;
        RedisStore::start(nodes, Commands::Cluster(connection), options).await
    }

    async fn start(
        nodes: Vec<Arc<Server>>,
        commands: Commands,
        options: RedisOptions,
    ) -> Result<RedisStore, StoreError> {
        let inner = Inner::new(nodes, commands, options)?;
        inner.connection().await?;
        let (ready, synced) = tokio::sync::oneshot::channel();
        tokio::spawn(subscribe(Arc::downgrade(&inner), Some(ready)));
        // The first sync is awaited, so that a new replica never starts with an empty view.
        match tokio::time::timeout(inner.options.timeout * 5, synced).await {
            Ok(Ok(())) => Ok(RedisStore { inner }),
            _ => Err(StoreError("could not load the revocations".to_owned())),
        }
    }

    /// Whether the local copy is complete and kept current: the subscription is up and has
    /// answered its last `PING` in time.
    pub fn is_synced(&self) -> bool {
        self.inner.is_synced()
    }
}

impl Inner {
    /// The store's state, its options checked; nothing connected yet.
    fn new(
        nodes: Vec<Arc<Server>>,
        commands: Commands,
        options: RedisOptions,
    ) -> Result<Arc<Inner>, StoreError> {
        if nodes.iter().any(|node| node.is_tls()) {
            tls::install_default_provider();
        }
        if options.ping_interval.is_zero() {
            return Err(StoreError("the ping interval must not be zero".to_owned()));
        }
        if options.prefix.contains(['*', '?', '[', ']', '\\']) {
            return Err(StoreError(format!(
                "the key prefix {:?} has a glob character",
                options.prefix
            )));
        }
        Ok(Arc::new(Inner {
            channel: format!("{}revocations", options.prefix),
            nodes,
            next_node: AtomicUsize::new(0),
            options,
            list: RevocationList::default(),
            synced_until: AtomicU64::new(0),
            started: Instant::now(),
            commands,
            epoch: Mutex::new(None),
        }))
    }
}

impl std::fmt::Debug for RedisStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisStore")
            .field("options", &self.inner.options)
            .field("synced", &self.is_synced())
            .finish_non_exhaustive()
    }
}

impl RevocationStore for RedisStore {
    fn check_local(&self, token: &TokenId, now: u64) -> Option<bool> {
        self.is_synced()
            .then(|| self.inner.list.is_revoked(token, now))
    }

    fn check(&self, token: &TokenId, now: u64) -> BoxFuture<'static, Result<bool, StoreError>> {
        let inner = Arc::clone(&self.inner);
        let token = token.clone();
        Box::pin(async move { inner.ask(&token, now).await })
    }

    fn revoke(&self, revocation: Revocation) -> BoxFuture<'static, Result<(), StoreError>> {
        let inner = Arc::clone(&self.inner);
        Box::pin(async move {
            let cmd = inner.write(&revocation, Some(&inner.channel));
            let _: Value = inner
                .run(|mut con| async move { cmd.query_async(&mut con).await })
                .await?;
            // Read your own writes, whatever the subscription is doing.
            inner.list.add([&revocation], now());
            Ok(())
        })
    }

    fn use_once(&self, jti: &str, expires_at: u64) -> BoxFuture<'static, Result<bool, StoreError>> {
        let inner = Arc::clone(&self.inner);
        let key = format!("{}used:{jti}", inner.options.prefix);
        // Kept past `exp` by the largest leeway a layer may grant.
        let until = kept_until(expires_at.max(now()));
        Box::pin(async move {
            let mut cmd = redis::cmd("SET");
            cmd.arg(&key).arg(1).arg("NX").arg("EXAT").arg(until);
            let set: Value = inner
                .run(|mut con| async move { cmd.query_async(&mut con).await })
                .await?;
            Ok(!matches!(set, Value::Nil))
        })
    }
}

impl Inner {
    fn elapsed_ms(&self) -> u64 {
        u64::try_from(self.started.elapsed().as_millis()).unwrap_or(u64::MAX)
    }

    fn is_synced(&self) -> bool {
        self.elapsed_ms() < self.synced_until.load(Ordering::Acquire)
    }

    /// The subscription just proved itself: trust the copy for one more interval.
    fn proven_alive(&self) {
        let trusted = self.options.ping_interval + self.options.timeout;
        let until = self
            .elapsed_ms()
            .saturating_add(u64::try_from(trusted.as_millis()).unwrap_or(u64::MAX));
        self.synced_until.store(until, Ordering::Release);
    }

    fn unsynced(&self) {
        self.synced_until.store(0, Ordering::Release);
    }

    /// The command connection, connected again if the last call failed.
    async fn connection(&self) -> Result<Connection, StoreError> {
        self.commands
            .connection(self.options.timeout)
            .await
            .map_err(|e| StoreError(format!("cannot connect to Redis: {e}")))
    }

    /// Runs one exchange with Redis within the timeout; after a failure, the next call
    /// connects again.
    async fn run<T, F, Fut>(&self, exchange: F) -> Result<T, StoreError>
    where
        F: FnOnce(Connection) -> Fut,
        Fut: Future<Output = redis::RedisResult<T>>,
    {
        let con = self.connection().await?;
        let failed = match tokio::time::timeout(self.options.timeout, exchange(con)).await {
            Ok(Ok(value)) => return Ok(value),
            Ok(Err(e)) => StoreError(format!("Redis: {e}")),
            Err(_) => StoreError("Redis did not answer in time".to_owned()),
        };
        self.commands.failed();
        Err(failed)
    }

    fn key(&self, kind: &str, id: &str) -> String {
        format!("{}{kind}:{id}", self.options.prefix)
    }

    /// The command that writes `revocation`'s record, and announces it on `channel` if given.
    fn write(&self, revocation: &Revocation, channel: Option<&str>) -> redis::Cmd {
        let (kind, id, _) = encode(revocation);
        records::write(&self.key(kind, &id), revocation, channel)
    }

    /// The marker of the Redis data: a random value the first replica writes (without
    /// expiry) into an empty Redis. It vanishes with the data — a restart without
    /// persistence, a `FLUSHALL`, a new server behind the same address — and a new one
    /// replaces it.
    fn marker_key(&self) -> String {
        format!("{}epoch", self.options.prefix)
    }

    /// The current [`Epoch`], `None` when Redis holds no marker.
    async fn current_epoch(&self) -> Result<Option<Epoch>, StoreError> {
        let key = self.marker_key();
        let marker: Option<String> = self
            .run(|mut con| async move { redis::cmd("GET").arg(&key).query_async(&mut con).await })
            .await?;
        let Some(marker) = marker else {
            return Ok(None);
        };
        let servers = match self.run(Connection::primaries).await? {
            Some(primaries) => fingerprint(&primaries),
            None => self.run(Connection::run_id).await?,
        };
        Ok(Some(Epoch { marker, servers }))
    }

    /// Whether Redis still holds the data this copy was synced with, on the same primaries.
    async fn same_epoch(&self) -> Result<bool, StoreError> {
        let current = self.current_epoch().await?;
        Ok(current.is_some() && current == *lock_epoch(&self.epoch))
    }

    /// Before a (re)load: if Redis is not the one this copy was synced with — it came back
    /// empty, or another replica already found it so, or a primary of the cluster failed
    /// over or restarted — writes every revocation this copy still holds back into it, so
    /// that nothing is lost while one replica that knew it lives; then takes (or makes) the
    /// current epoch.
    async fn restore(&self) -> Result<(), StoreError> {
        let current = self.current_epoch().await?;
        let known = lock_epoch(&self.epoch).clone();
        if current.is_some() && current == known {
            return Ok(());
        }
        let live = self.list.live(now());
        // One command a record, a thousand in flight: a cluster's records are in many slots.
        // Each is announced again: a replica that reloaded before this write-back (its
        // subscription made first) hears of it.
        for chunk in live.chunks(1000) {
            futures_util::future::try_join_all(chunk.iter().map(|revocation| {
                let cmd = self.write(revocation, Some(&self.channel));
                self.run(|mut con| async move { cmd.query_async::<Value>(&mut con).await })
            }))
            .await?;
        }
        match (&known, &current) {
            (None, None) => {
                tracing::warn!(
                    "Redis holds no revocation epoch: it is new, or lost its data before \
                     this replica started; this replica knows no revocation to restore"
                );
                metrics::revocation_store_reset(live.len());
            }
            (None, Some(_)) => {}
            (Some(known), Some(current)) if known.marker == current.marker => tracing::info!(
                restored = live.len(),
                "the Redis primary failed over or restarted (another run id); wrote back \
                 what this replica knew, in case it had not reached the new primary"
            ),
            (Some(_), _) => {
                tracing::warn!(
                    restored = live.len(),
                    "Redis lost the revocations (restarted without persistence, flushed or \
                     replaced); wrote back what this replica knew"
                );
                metrics::revocation_store_reset(live.len());
            }
        }
        let epoch = match current {
            Some(epoch) => epoch,
            None => {
                let mut fresh = [0u8; 16];
                getrandom::fill(&mut fresh)
                    .map_err(|e| StoreError(format!("no randomness for an epoch: {e}")))?;
                let fresh: String = fresh.iter().map(|b| format!("{b:02x}")).collect();
                let key = self.marker_key();
                // Whoever comes first sets it; everyone reads the one that stands.
                let _: Value = self
                    .run(|mut con| async move {
                        redis::cmd("SET")
                            .arg(&key)
                            .arg(&fresh)
                            .arg("NX")
                            .query_async(&mut con)
                            .await
                    })
                    .await?;
                self.current_epoch()
                    .await?
                    .ok_or_else(|| StoreError("the epoch vanished as it was set".to_owned()))?
            }
        };
        *lock_epoch(&self.epoch) = Some(epoch);
        Ok(())
    }

    /// Asks Redis whether `token` is revoked: one `MGET` of every record that could match it
    /// (its session and subject both unscoped and scoped to its issuer).
    async fn ask(&self, token: &TokenId, now: u64) -> Result<bool, StoreError> {
        let mut keys = Vec::new();
        let mut wanted = Vec::new();
        let mut want = |kind: &'static str, id: String| {
            keys.push(self.key(kind, &id));
            wanted.push((kind, id));
        };
        if let Some(jti) = &token.jti {
            want("jti", jti.clone());
        }
        for (kind, id) in [("sid", &token.sid), ("sub", &token.sub)] {
            let Some(id) = id else { continue };
            want(kind, id.clone());
            if let Some(iss) = &token.iss {
                let (kind, id) = scoped(kind, Some(iss), id);
                want(kind, id);
            }
        }
        if keys.is_empty() {
            return Ok(false);
        }
        let values: Vec<Option<String>> = self
            .run(|mut con| async move { redis::cmd("MGET").arg(&keys).query_async(&mut con).await })
            .await?;
        let found: Vec<Revocation> = wanted
            .into_iter()
            .zip(values)
            .filter_map(|((kind, id), value)| decode_value(kind, &id, &value?))
            .collect();
        let list = RevocationList::default();
        list.add(&found, now);
        // The local copy may miss what was revoked since it went stale, never hold what was
        // not: what it knows stays revoked even when Redis, just back empty and not yet
        // given its revocations again, does not know it (found by the soak run).
        Ok(list.is_revoked(token, now) || self.list.is_revoked(token, now))
    }

    /// Every live revocation in Redis: a `SCAN` of the server, or of each primary of a
    /// cluster.
    async fn load(&self) -> Result<Vec<Revocation>, StoreError> {
        let primaries = self.run(Connection::primaries).await?;
        let nodes: Vec<Option<&Primary>> = match &primaries {
            Some(primaries) => primaries.iter().map(Some).collect(),
            None => vec![None],
        };
        let mut all = Vec::new();
        for node in nodes {
            for kind in KINDS {
                self.load_kind(kind, node, &mut all).await?;
            }
        }
        Ok(all)
    }

    /// The records of one kind on `node` (the server when `None`).
    async fn load_kind(
        &self,
        kind: &str,
        node: Option<&Primary>,
        all: &mut Vec<Revocation>,
    ) -> Result<(), StoreError> {
        let pattern = self.key(kind, "*");
        let prefix_len = pattern.len() - 1;
        let mut cursor = 0u64;
        loop {
            let mut scan = redis::cmd("SCAN");
            scan.arg(cursor)
                .arg("MATCH")
                .arg(&pattern)
                .arg("COUNT")
                .arg(1000);
            let (next, keys): (u64, Vec<String>) = self.run(|con| con.query_on(scan, node)).await?;
            if !keys.is_empty() {
                let values: Vec<Option<String>> = self
                    .run(|mut con| {
                        let keys = keys.clone();
                        async move { redis::cmd("MGET").arg(&keys).query_async(&mut con).await }
                    })
                    .await?;
                all.extend(
                    keys.iter()
                        .zip(values)
                        .filter_map(|(key, value)| decode_value(kind, &key[prefix_len..], &value?)),
                );
            }
            if next == 0 {
                return Ok(());
            }
            cursor = next;
        }
    }
}

fn no_node() -> StoreError {
    StoreError("a cluster store needs the URL of at least one node".to_owned())
}

/// What this copy was synced with: the marker of the Redis data, and which server held it
/// (its run id; in a cluster, every primary's address and run id).
#[derive(Debug, Clone, PartialEq, Eq)]
struct Epoch {
    marker: String,
    servers: String,
}

fn lock_epoch(epoch: &Mutex<Option<Epoch>>) -> std::sync::MutexGuard<'_, Option<Epoch>> {
    epoch.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Keeps the local copy in sync for as long as the store lives: subscribe, load, apply
/// messages; when the subscription drops, mark the copy stale and start again.
async fn subscribe(store: Weak<Inner>, mut ready: Option<tokio::sync::oneshot::Sender<()>>) {
    let Some(inner) = store.upgrade() else { return };
    let (first, max) = (
        inner.options.reconnect_delay,
        inner.options.max_reconnect_delay,
    );
    let mut backoff = Backoff::new(first, max);
    drop(inner);
    loop {
        let Some(inner) = store.upgrade() else { return };
        let mut synced = false;
        if let Err(err) = sync(&inner, &mut ready, &mut synced).await {
            tracing::warn!(error = %err, "revocation sync with Redis failed");
        }
        // A subscription that was up starts the waits over; failures in a row grow them.
        if synced {
            backoff.reset();
        }
        inner.unsynced();
        drop(inner);
        tokio::time::sleep(backoff.next()).await;
    }
}

/// One subscription, until it drops or the store is dropped.
async fn sync(
    inner: &Arc<Inner>,
    ready: &mut Option<tokio::sync::oneshot::Sender<()>>,
    synced: &mut bool,
) -> Result<(), StoreError> {
    let failed = |e: redis::RedisError| StoreError(format!("Redis subscription: {e}"));
    let timeout = inner.options.timeout;
    // Each attempt the next node: one that went away is not tried again and again.
    let node = inner.next_node.fetch_add(1, Ordering::Relaxed) % inner.nodes.len();
    let client = inner.nodes[node].client(timeout).await.map_err(failed)?;
    let mut pubsub = tokio::time::timeout(timeout, client.get_async_pubsub())
        .await
        .map_err(|_| StoreError("Redis did not answer in time".to_owned()))?
        .map_err(failed)?;
    pubsub.subscribe(&inner.channel).await.map_err(failed)?;
    // Subscribed before loading: a revocation made meanwhile is in the load or in a message.
    // A Redis that lost its data gets back what this copy knew before it is reloaded.
    inner.restore().await?;
    let all = inner.load().await?;
    inner.list.replace(&all, now());
    inner.proven_alive();
    *synced = true;
    if let Some(ready) = ready.take() {
        let _ = ready.send(());
    }
    let (mut sink, mut messages) = pubsub.split();
    let mut next_ping = tokio::time::Instant::now() + inner.options.ping_interval;
    loop {
        let message = match tokio::time::timeout_at(next_ping, messages.next()).await {
            Ok(Some(message)) => message,
            Ok(None) => return Err(StoreError("the subscription was closed".to_owned())),
            Err(_) if Arc::strong_count(inner) == 1 => return Ok(()),
            Err(_) => {
                // Answered only if the connection still carries messages both ways.
                match tokio::time::timeout(timeout, sink.ping::<Value>()).await {
                    // A `FLUSHALL` keeps the subscription up: the epoch tells.
                    Ok(Ok(_)) if !inner.same_epoch().await? => {
                        return Err(StoreError("Redis lost its data (no epoch)".to_owned()));
                    }
                    Ok(Ok(_)) => inner.proven_alive(),
                    Ok(Err(e)) => return Err(failed(e)),
                    Err(_) => {
                        return Err(StoreError(
                            "the subscription did not answer a ping in time".to_owned(),
                        ));
                    }
                }
                next_ping = tokio::time::Instant::now() + inner.options.ping_interval;
                continue;
            }
        };
        let payload: Option<String> = message.get_payload().ok();
        match payload.as_deref().and_then(decode_message) {
            Some(revocation) => inner.list.add([&revocation], now()),
            None => tracing::warn!("ignored a malformed revocation message"),
        }
    }
}
