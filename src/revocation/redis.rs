//! [`RedisStore`]: revocations and refresh-token uses shared by every replica through Redis
//! (feature `redis`).
//!
//! Each revocation is a key that expires (`EXAT`) five minutes after the last token it can
//! match (the largest leeway a layer grants), so Redis forgets it once it no longer matters, and a message on a pub/sub channel. Every store keeps a local copy
//! of all live revocations: it subscribes, loads the keys, then applies each message; a
//! request's check is then a lookup in memory. While the subscription is down the copy may
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
//! `jwt_auth_revocation_store_resets_total`). Used refresh tokens and DPoP proofs are
//! recorded in Redis alone and are lost with its data.
//!
//! **TLS**: `rediss://` URLs speak TLS through rustls, with the crypto backend's provider;
//! the server's certificate is checked against the system's roots, or the root you give
//! [`Client::build_with_tls`] and [`RedisStore::from_client`]. **Redis Cluster is not
//! supported**: a check reads a token's records with one `MGET`, whose keys live in
//! different hash slots (a cluster answers `CROSSSLOT`), and the first sync loads every
//! record with `SCAN`, which a cluster runs per node. The records are small (one key per
//! revocation): a single primary — a managed service's primary endpoint, with replicas
//! for failover — holds millions.

use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError, Weak};
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use redis::aio::{ConnectionLike, ConnectionManager, MultiplexedConnection};
use redis::{AsyncConnectionConfig, Client, ConnectionAddr, RedisFuture, Value};

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
    client: Client,
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
    epoch: Mutex<Option<String>>,
}

/// How commands reach Redis.
enum Commands {
    /// The store's own connection, made again after an error.
    Own(Mutex<Option<MultiplexedConnection>>),
    /// The application's connection manager, which reconnects by itself.
    Managed(ConnectionManager),
}

/// One connection for one exchange.
#[derive(Clone)]
enum Connection {
    Own(MultiplexedConnection),
    Managed(ConnectionManager),
}

impl ConnectionLike for Connection {
    fn req_packed_command<'a>(&'a mut self, cmd: &'a redis::Cmd) -> RedisFuture<'a, Value> {
        match self {
            Connection::Own(con) => con.req_packed_command(cmd),
            Connection::Managed(con) => con.req_packed_command(cmd),
        }
    }

    fn req_packed_commands<'a>(
        &'a mut self,
        pipeline: &'a redis::Pipeline,
        offset: usize,
        count: usize,
    ) -> RedisFuture<'a, Vec<Value>> {
        match self {
            Connection::Own(con) => con.req_packed_commands(pipeline, offset, count),
            Connection::Managed(con) => con.req_packed_commands(pipeline, offset, count),
        }
    }

    fn get_db(&self) -> i64 {
        match self {
            Connection::Own(con) => con.get_db(),
            Connection::Managed(con) => con.get_db(),
        }
    }
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
        let inner = Inner::new(client, Commands::Own(Mutex::new(None)), options)?;
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
        RedisStore::start(client, Commands::Own(Mutex::new(None)), options).await
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
        RedisStore::start(client, Commands::Managed(manager), options).await
    }

    async fn start(
        client: Client,
        commands: Commands,
        options: RedisOptions,
    ) -> Result<RedisStore, StoreError> {
        let inner = Inner::new(client, commands, options)?;
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
        client: Client,
        commands: Commands,
        options: RedisOptions,
    ) -> Result<Arc<Inner>, StoreError> {
        if matches!(
            client.get_connection_info().addr(),
            ConnectionAddr::TcpTls { .. }
        ) {
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
            client,
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
            let mut pipe = redis::pipe();
            let message = inner.write(&mut pipe, &revocation);
            pipe.cmd("PUBLISH")
                .arg(&inner.channel)
                .arg(&message)
                .ignore();
            pipe.atomic();
            let _: () = inner
                .run(|mut con| async move { pipe.query_async(&mut con).await })
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

/// Sets `KEYS[1]` to "cut-off expiry", kept until `ARGV[3]`, unless it holds a later cut-off.
const RAISE_CUT_OFF: &str = "local cur = redis.call('GET', KEYS[1]) \
    if cur and tonumber(string.match(cur, '^%d+')) >= tonumber(ARGV[1]) then return 0 end \
    redis.call('SET', KEYS[1], ARGV[1] .. ' ' .. ARGV[2], 'EXAT', ARGV[3]) return 1";

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
        let own = match &self.commands {
            Commands::Managed(manager) => return Ok(Connection::Managed(manager.clone())),
            Commands::Own(own) => own,
        };
        if let Some(con) = lock(own).as_ref() {
            return Ok(Connection::Own(con.clone()));
        }
        let config = AsyncConnectionConfig::new()
            .set_connection_timeout(Some(self.options.timeout))
            .set_response_timeout(Some(self.options.timeout));
        let con = self
            .client
            .get_multiplexed_async_connection_with_config(&config)
            .await
            .map_err(|e| StoreError(format!("cannot connect to Redis: {e}")))?;
        *lock(own) = Some(con.clone());
        Ok(Connection::Own(con))
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
        if let Commands::Own(own) = &self.commands {
            *lock(own) = None;
        }
        Err(failed)
    }

    fn key(&self, kind: &str, id: &str) -> String {
        format!("{}{kind}:{id}", self.options.prefix)
    }

    /// Adds the record of `revocation` to `pipe`; gives the message that announces it.
    fn write(&self, pipe: &mut redis::Pipeline, revocation: &Revocation) -> String {
        let (kind, id, message) = encode(revocation);
        let key = self.key(kind, &id);
        match revocation {
            Revocation::Subject {
                issued_before,
                expires_at,
                ..
            } => {
                // A later cut-off is never replaced by an earlier one.
                pipe.cmd("EVAL")
                    .arg(RAISE_CUT_OFF)
                    .arg(1)
                    .arg(&key)
                    .arg(issued_before)
                    .arg(expires_at)
                    .arg(kept_until(*expires_at))
                    .ignore();
            }
            Revocation::Token { expires_at, .. } | Revocation::Session { expires_at, .. } => {
                pipe.cmd("SET")
                    .arg(&key)
                    .arg(expires_at)
                    .arg("EXAT")
                    .arg(kept_until(*expires_at))
                    .ignore();
            }
        }
        message
    }

    /// The Redis data's epoch: a random marker the first replica writes (without expiry)
    /// into an empty Redis. It vanishes with the data — a restart without persistence, a
    /// `FLUSHALL`, a new server behind the same address — and a new one replaces it.
    fn epoch_key(&self) -> String {
        format!("{}epoch", self.options.prefix)
    }

    async fn current_epoch(&self) -> Result<Option<String>, StoreError> {
        let key = self.epoch_key();
        self.run(|mut con| async move { redis::cmd("GET").arg(&key).query_async(&mut con).await })
            .await
    }

    /// Whether Redis still holds the data this copy was synced with.
    async fn same_epoch(&self) -> Result<bool, StoreError> {
        let current = self.current_epoch().await?;
        Ok(current.is_some() && current == *lock_epoch(&self.epoch))
    }

    /// Before a (re)load: if Redis is not the one this copy was synced with — it came back
    /// empty, or another replica already found it so — writes every revocation this copy
    /// still holds back into it, so that nothing is lost while one replica that knew it
    /// lives; then takes (or makes) the current epoch.
    async fn restore(&self) -> Result<(), StoreError> {
        let current = self.current_epoch().await?;
        let known = lock_epoch(&self.epoch).clone();
        if current.is_some() && current == known {
            return Ok(());
        }
        let live = self.list.live(now());
        for chunk in live.chunks(1000) {
            let mut pipe = redis::pipe();
            for revocation in chunk {
                self.write(&mut pipe, revocation);
            }
            let _: () = self
                .run(|mut con| async move { pipe.query_async(&mut con).await })
                .await?;
        }
        match (&known, &current) {
            (None, None) => tracing::warn!(
                "Redis holds no revocation epoch: it is new, or lost its data before this \
                 replica started; this replica knows no revocation to restore"
            ),
            (None, Some(_)) => {}
            (Some(_), _) => tracing::warn!(
                restored = live.len(),
                "Redis lost the revocations (restarted without persistence, flushed or \
                 replaced); wrote back what this replica knew"
            ),
        }
        if known.is_some() || current.is_none() {
            metrics::revocation_store_reset(live.len());
        }
        let epoch = match current {
            Some(epoch) => epoch,
            None => {
                let mut fresh = [0u8; 16];
                getrandom::fill(&mut fresh)
                    .map_err(|e| StoreError(format!("no randomness for an epoch: {e}")))?;
                let fresh: String = fresh.iter().map(|b| format!("{b:02x}")).collect();
                let key = self.epoch_key();
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

    /// Every live revocation in Redis.
    async fn load(&self) -> Result<Vec<Revocation>, StoreError> {
        let mut all = Vec::new();
        for kind in KINDS {
            let pattern = self.key(kind, "*");
            let prefix_len = pattern.len() - 1;
            let mut cursor = 0u64;
            loop {
                let pattern = pattern.clone();
                let (next, keys): (u64, Vec<String>) = self
                    .run(|mut con| async move {
                        redis::cmd("SCAN")
                            .arg(cursor)
                            .arg("MATCH")
                            .arg(&pattern)
                            .arg("COUNT")
                            .arg(1000)
                            .query_async(&mut con)
                            .await
                    })
                    .await?;
                if !keys.is_empty() {
                    let values: Vec<Option<String>> = self
                        .run(|mut con| {
                            let keys = keys.clone();
                            async move { redis::cmd("MGET").arg(&keys).query_async(&mut con).await }
                        })
                        .await?;
                    all.extend(keys.iter().zip(values).filter_map(|(key, value)| {
                        decode_value(kind, &key[prefix_len..], &value?)
                    }));
                }
                if next == 0 {
                    break;
                }
                cursor = next;
            }
        }
        Ok(all)
    }
}

fn lock(
    connection: &Mutex<Option<MultiplexedConnection>>,
) -> std::sync::MutexGuard<'_, Option<MultiplexedConnection>> {
    connection.lock().unwrap_or_else(PoisonError::into_inner)
}

fn lock_epoch(epoch: &Mutex<Option<String>>) -> std::sync::MutexGuard<'_, Option<String>> {
    epoch.lock().unwrap_or_else(PoisonError::into_inner)
}

/// The kind and id of a revocation's record, and the message that announces it: "kind
/// expiry [cut-off] id", the id last, as it may contain spaces.
fn encode(revocation: &Revocation) -> (&'static str, String, String) {
    match revocation {
        Revocation::Token { jti, expires_at } => {
            ("jti", jti.clone(), format!("jti {expires_at} {jti}"))
        }
        Revocation::Session {
            sid,
            iss,
            expires_at,
        } => {
            let (kind, id) = scoped("sid", iss.as_deref(), sid);
            let message = format!("{kind} {expires_at} {id}");
            (kind, id, message)
        }
        Revocation::Subject {
            sub,
            iss,
            issued_before,
            expires_at,
        } => {
            let (kind, id) = scoped("sub", iss.as_deref(), sub);
            let message = format!("{kind} {expires_at} {issued_before} {id}");
            (kind, id, message)
        }
    }
}

/// The kinds of record, as they appear in keys and messages: a session or a subject scoped
/// to an issuer is an `isid` or `isub`, whose id is [`scoped`].
const KINDS: [&str; 5] = ["jti", "sid", "sub", "isid", "isub"];

/// The kind and id of a `sid` or `sub` record: as is without an issuer; otherwise `i`
/// before the kind, and the issuer with its length before the id — "19:https://a.example"
/// then "alice" — so that neither needs escaping.
fn scoped(kind: &'static str, iss: Option<&str>, id: &str) -> (&'static str, String) {
    match (kind, iss) {
        (_, None) => (kind, id.to_owned()),
        ("sid", Some(iss)) => ("isid", format!("{}:{iss}{id}", iss.len())),
        (_, Some(iss)) => ("isub", format!("{}:{iss}{id}", iss.len())),
    }
}

/// The issuer and the id of a [`scoped`] id.
fn unscoped(id: &str) -> Option<(String, String)> {
    let (len, rest) = id.split_once(':')?;
    let len: usize = len.parse().ok()?;
    let (iss, id) = (rest.get(..len)?, rest.get(len..)?);
    Some((iss.to_owned(), id.to_owned()))
}

/// A revocation from its kind and id, its expiry, and for a subject its cut-off.
fn revocation(kind: &str, id: &str, expires_at: u64, cut_off: Option<u64>) -> Option<Revocation> {
    let (iss, id) = match kind {
        "isid" | "isub" => {
            let (iss, id) = unscoped(id)?;
            (Some(iss), id)
        }
        _ => (None, id.to_owned()),
    };
    match (kind, cut_off) {
        ("jti", None) => Some(Revocation::Token {
            jti: id,
            expires_at,
        }),
        ("sid" | "isid", None) => Some(Revocation::Session {
            sid: id,
            iss,
            expires_at,
        }),
        ("sub" | "isub", Some(issued_before)) => Some(Revocation::Subject {
            sub: id,
            iss,
            issued_before,
            expires_at,
        }),
        _ => None,
    }
}

fn is_subject(kind: &str) -> bool {
    kind.ends_with("sub")
}

/// A revocation from its key's value: "expiry" for a `jti` or a session, "cut-off expiry"
/// for a subject.
fn decode_value(kind: &str, id: &str, value: &str) -> Option<Revocation> {
    let mut numbers = value.split(' ').map(str::parse::<u64>);
    let first = numbers.next()?.ok()?;
    let second = numbers.next().map(Result::ok);
    match (is_subject(kind), second) {
        (false, None) => revocation(kind, id, first, None),
        (true, Some(Some(expires_at))) => revocation(kind, id, expires_at, Some(first)),
        _ => None,
    }
}

/// A revocation from a pub/sub message (see [`Inner::encode`]): "kind expiry [cut-off] id".
fn decode_message(message: &str) -> Option<Revocation> {
    let (kind, rest) = message.split_once(' ')?;
    let (expires_at, rest) = rest.split_once(' ')?;
    let expires_at = expires_at.parse().ok()?;
    if !is_subject(kind) {
        return revocation(kind, rest, expires_at, None);
    }
    let (cut_off, id) = rest.split_once(' ')?;
    revocation(kind, id, expires_at, Some(cut_off.parse().ok()?))
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
    let mut pubsub = tokio::time::timeout(timeout, inner.client.get_async_pubsub())
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_and_values_round_trip() {
        let scoped_to = Some("https://idp.example/realms/a b:c".to_owned());
        for revocation in [
            Revocation::Token {
                jti: "a b c".into(),
                expires_at: 100,
            },
            Revocation::Session {
                sid: "s".into(),
                iss: None,
                expires_at: 100,
            },
            Revocation::Session {
                sid: "s 1".into(),
                iss: scoped_to.clone(),
                expires_at: 100,
            },
            Revocation::Subject {
                sub: "alice smith".into(),
                iss: None,
                issued_before: 50,
                expires_at: 100,
            },
            Revocation::Subject {
                sub: "12:alice".into(),
                iss: scoped_to.clone(),
                issued_before: 50,
                expires_at: 100,
            },
        ] {
            let (kind, id, message) = encode(&revocation);
            assert_eq!(
                decode_message(&message),
                Some(revocation.clone()),
                "{message}"
            );
            // The value Redis keeps: the expiry, after the cut-off for a subject.
            let value = match &revocation {
                Revocation::Subject {
                    issued_before,
                    expires_at,
                    ..
                } => format!("{issued_before} {expires_at}"),
                Revocation::Token { expires_at, .. } | Revocation::Session { expires_at, .. } => {
                    expires_at.to_string()
                }
            };
            assert_eq!(decode_value(kind, &id, &value), Some(revocation), "{id}");
        }
        assert_eq!(
            encode(&Revocation::Subject {
                sub: "alice".into(),
                iss: Some("https://a.example".into()),
                issued_before: 50,
                expires_at: 100,
            })
            .1,
            "17:https://a.examplealice"
        );
        for bad in [
            "",
            "jti",
            "jti x a",
            "zzz 1 a",
            "sub 100 alice",
            "isub 100 50 99:short",
            "isid 100 x:a",
        ] {
            assert_eq!(decode_message(bad), None, "{bad:?}");
        }
        assert_eq!(decode_value("sid", "s", "oops"), None);
        assert_eq!(decode_value("sub", "s", "100"), None);
    }
}
