//! Remote keys (feature `jwks`): a JWKS URL, or an OpenID provider's discovery document,
//! fetched in the background and refreshed without ever blocking or failing a request.
//!
//! The refresh model:
//! - the first fetch starts when the layer is built; until it succeeds, requests get `503`
//!   with `Retry-After` (gRPC: `UNAVAILABLE`), and [`JwtAuthLayer::ready`] waits for it;
//! - after a success, the next refresh comes after the response's `Cache-Control: max-age`,
//!   kept between [`JwksOptions::min_refresh_interval`] and
//!   [`JwksOptions::max_refresh_interval`], or after [`JwksOptions::refresh_interval`]
//!   without that header;
//! - after a failure (unreachable, timeout, non-2xx, not a JWKS, too large, no usable key) the
//!   last good keys keep serving and the fetch is retried after about 1 s, 2 s, 4 s… (each
//!   wait drawn at random from the upper half of its step, so that replicas spread out) up to
//!   [`JwksOptions::max_retry_backoff`] — for at most [`JwksOptions::max_staleness`] (one
//!   day by default) after the last success: then the fetched keys are dropped, at that
//!   moment even if a fetch is still waiting for an answer (it is abandoned), and requests
//!   get `503` again until a fetch succeeds;
//! - a token whose `kid` is not in the set triggers one refetch, shared by every request that
//!   arrives while it runs; those requests wait for it (at most the fetch timeout), then are
//!   checked against the new keys. Another refetch for an unknown key waits for
//!   [`JwksOptions::unknown_key_cooldown`]: a flood of made-up `kid`s costs the provider at
//!   most one fetch per cooldown;
//! - requests read an immutable snapshot of the keys, swapped whole after a fetch: they never
//!   wait behind a lock while a fetch runs.
//!
//! [`JwtAuthLayer::ready`]: crate::JwtAuthLayer::ready
//!
//! # Getting started
//!
//! ```no_run
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! use tower_jwt_auth::{JwtAuthLayer, RegisteredClaims};
//!
//! let auth = JwtAuthLayer::<RegisteredClaims>::builder()
//!     .oidc_issuer("https://login.example.com") // discovery: jwks_uri, and iss pinned
//!     .audience("https://api.example.com")
//!     .build()?; // inside a Tokio runtime; does not block
//! auth.ready().await; // optional: wait for the first fetch (a readiness probe can ask is_ready())
//! # Ok(())
//! # }
//! ```
//!
//! [`jwks_url`](crate::JwtAuthBuilder::jwks_url) takes a JWKS URL directly (enough on its
//! own when the JWKs carry `alg`; otherwise list the algorithms). Static keys serve beside
//! remote ones. The provider presets and per-issuer policies fetch the same way: see
//! [`tenant`](crate::tenant). `cargo run --example jwks --features jwks` runs an issuer that
//! rotates its key every 20 s and an API that keeps accepting its tokens.
//!
//! # Defaults ([`JwksOptions`], set with [`jwks_options`](crate::JwtAuthBuilder::jwks_options))
//!
//! | what | default |
//! |---|---|
//! | first fetch | when the layer is built, in the background; until it succeeds, `503` + `Retry-After: 1` (gRPC `UNAVAILABLE`) |
//! | regular refresh | `Cache-Control: max-age`, kept within `min_refresh_interval` 30 s – `max_refresh_interval` 1 h; `refresh_interval` 5 min without it |
//! | a token names an unknown `kid` | one refetch, shared by every request that waits for it; then at most one more per `unknown_key_cooldown` (30 s) |
//! | the key server fails (down, slow beyond `timeout` 5 s, non-2xx, not a JWKS, over `max_body` 256 KiB, no usable key) | the last good keys keep serving; retried after about 1 s, 2 s, 4 s… up to `max_retry_backoff` 60 s, jittered; no request gets a 5xx for it |
//! | the key server stays down longer than `max_staleness` (24 h; `None`: forever) | the fetched keys are dropped, so a key the provider withdrew meanwhile stops too: `503` + `Retry-After` until a fetch succeeds |
//! | URLs | `https://`, or `http://` on loopback; plain `http` elsewhere only with `allow_http: true`. A discovery document's `jwks_uri` may be on another host (Google's is), but on loopback only if the issuer is |
//! | a JWK of an unknown type, for encryption, with an unsupported `alg`, an RSA key under 2048 bits, or a shared secret (`oct`, unless `allow_hmac_keys: true`: a public document must not carry one) | skipped with a log line; the rest of the set serves |
//!
//! A fetched set keeps at most four keys without `kid`, so no token can make the layer try
//! more; an unknown `kid` is never tried with the keys that lack one: it asks for a refetch.
//! A JWK's `alg`, `use` and `key_ops` are honoured.
//!
//! # Proxies, private CAs, your own HTTP client
//!
//! The default key client ([`DefaultJwksClient`]) speaks HTTPS through rustls with the
//! Mozilla roots (the system's with feature `native-roots`: a corporate CA), and follows the
//! environment as curl does — `HTTPS_PROXY`, `ALL_PROXY`, `NO_PROXY` — tunnelling through the
//! proxy with `CONNECT`; [`DefaultJwksClient::with_proxy`] / [`DefaultJwksClient::without_proxy`]
//! choose explicitly. Anything else — another HTTP stack, mutual TLS to the key server — is an
//! `impl` [`JwksClient`] away ([`jwks_client`](crate::JwtAuthBuilder::jwks_client)).
//! With feature `reqwest`, the application's own `reqwest::Client` is a [`JwksClient`]: keys
//! are fetched with its proxy, roots and timeouts (its redirects too, never from `https` down
//! to `http`).
//!
//! ```no_run
//! # fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! use std::time::Duration;
//! use tower_jwt_auth::jwks::{DefaultJwksClient, JwksOptions};
//! use tower_jwt_auth::{JwtAuthLayer, RegisteredClaims};
//!
//! let auth = JwtAuthLayer::<RegisteredClaims>::builder()
//!     .oidc_issuer("https://login.example.com")
//!     .jwks_client(DefaultJwksClient::with_proxy("http://proxy.internal:3128", "localhost"))
//!     .jwks_options(JwksOptions::default().max_staleness(Some(Duration::from_secs(6 * 3600))))
//!     .build()?;
//! # let _ = auth;
//! # Ok(())
//! # }
//! ```

mod client;
#[cfg(feature = "reqwest")]
mod reqwest;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError, Weak};
use std::time::{Duration, Instant};

use arc_swap::ArcSwap;
use bytes::Bytes;
use http::header::CACHE_CONTROL;
use http::{Response, Uri};
use jsonwebtoken::crypto::CryptoProvider;
use jsonwebtoken::jwk::JwkSet;
use serde::Deserialize;
use tokio::sync::Notify;

pub use self::client::{BoxError, DefaultJwksClient, JwksClient};
use crate::backoff::Backoff;
use crate::url::{http_url, is_loopback};
use crate::verifier::key_store::{KeyStore, RemoteKeys};
use crate::verifier::keys::{KeyEntry, KeySet};
use crate::verifier::wait::{Changes, KeysChanged};
use crate::{Algorithm, ConfigError, metrics};

/// How remote keys are fetched and refreshed; see the [module documentation](self). Start
/// from the defaults and change what you need:
///
/// ```
/// use std::time::Duration;
/// use tower_jwt_auth::jwks::JwksOptions;
///
/// let options = JwksOptions::default()
///     .timeout(Duration::from_secs(2))
///     .max_staleness(Some(Duration::from_secs(6 * 60 * 60)));
/// assert_eq!(options.refresh_interval, Duration::from_secs(300));
/// ```
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct JwksOptions {
    /// Between two refreshes when the response has no `Cache-Control: max-age`. Default 5 min.
    pub refresh_interval: Duration,
    /// The shortest interval `max-age` can ask for. Default 30 s.
    pub min_refresh_interval: Duration,
    /// The longest interval `max-age` can ask for. Default 1 h.
    pub max_refresh_interval: Duration,
    /// The least time between two refetches caused by unknown `kid`s. Default 30 s.
    pub unknown_key_cooldown: Duration,
    /// The longest a fetch may take, connection included. Default 5 s.
    pub timeout: Duration,
    /// The largest document accepted. Default 256 KiB.
    pub max_body: usize,
    /// The longest wait between retries after failures. Default 60 s.
    pub max_retry_backoff: Duration,
    /// Accepts plain `http://` key, issuer and `jwks_uri` URLs on hosts other than loopback
    /// (a key server inside a network you trust). Default `false`: over plain HTTP anyone on
    /// the path can replace the keys, and with them forge any token.
    pub allow_http: bool,
    /// Accepts symmetric (`oct`) keys in a fetched key set. Default `false`: a document
    /// served to anyone who asks must not carry a shared secret, and one that does is a
    /// misconfiguration of the key server; such keys are skipped with a log line.
    pub allow_hmac_keys: bool,
    /// How long after the last successful fetch the fetched keys may keep serving while
    /// every refresh fails; then they are dropped, and requests they verified get `503`
    /// until the key server answers again. `None` keeps them forever. Default 24 h. The
    /// bound is exact: a fetch still waiting for a key server that does not answer is
    /// abandoned at the deadline, not after its `timeout`.
    ///
    /// The trade-off: while the key server cannot be reached, the layer cannot learn that
    /// a key was removed (after a compromise, say), so a longer staleness keeps serving
    /// through a longer outage of the provider, and keeps a removed key alive that much
    /// longer for whoever can keep this server from reaching the provider. One day rides out
    /// any outage that a provider's own status page would call short, and caps how long a
    /// withdrawn key can outlive its withdrawal.
    pub max_staleness: Option<Duration>,
}

impl Default for JwksOptions {
    fn default() -> Self {
        JwksOptions {
            refresh_interval: Duration::from_secs(300),
            min_refresh_interval: Duration::from_secs(30),
            max_refresh_interval: Duration::from_secs(3600),
            unknown_key_cooldown: Duration::from_secs(30),
            timeout: Duration::from_secs(5),
            max_body: 256 * 1024,
            max_retry_backoff: Duration::from_secs(60),
            allow_http: false,
            allow_hmac_keys: false,
            max_staleness: Some(Duration::from_secs(24 * 60 * 60)),
        }
    }
}

option_setters!(JwksOptions {
    refresh_interval: Duration,
    min_refresh_interval: Duration,
    max_refresh_interval: Duration,
    unknown_key_cooldown: Duration,
    timeout: Duration,
    max_body: usize,
    max_retry_backoff: Duration,
    max_staleness: Option<Duration>,
    allow_http: bool,
    allow_hmac_keys: bool,
});

/// The keys of one [`IssuerPolicy`](crate::tenant::IssuerPolicy) that fetches them: from
/// `fetch`, beside `fixed`, for the algorithms of `allowed`.
pub(crate) struct PolicyKeySource {
    pub(crate) fetch: Fetch,
    pub(crate) fixed: Vec<KeyEntry>,
    pub(crate) allowed: Option<Vec<Algorithm>>,
}

/// Where a policy's keys are fetched from.
pub(crate) enum Fetch {
    /// The issuer's discovery document.
    Discovery(String),
    /// A JWKS URL.
    Jwks(String),
}

/// What the builder collected about remote keys.
#[derive(Clone, Default)]
pub(crate) struct RemoteConfig {
    pub(crate) url: Option<String>,
    pub(crate) issuers: Vec<String>,
    pub(crate) client: Option<Arc<dyn JwksClient>>,
    pub(crate) options: JwksOptions,
}

impl RemoteConfig {
    /// The key stores: the default one (static keys, and the JWKS URL's), then one per
    /// OpenID issuer; those issuers, in store order; and, when `for_policies` or a store is
    /// remote, what starts more remote stores later (issuer policies), if a Tokio runtime
    /// runs.
    pub(crate) fn stores(
        self,
        fixed: Vec<KeyEntry>,
        allowed: Option<&[Algorithm]>,
        provider: &'static CryptoProvider,
        for_policies: bool,
    ) -> Result<Stores, ConfigError> {
        if self.url.is_none() && self.issuers.is_empty() {
            if !for_policies {
                return Ok(Stores {
                    stores: vec![KeyStore::of_static_keys(fixed, allowed)?],
                    oidc_issuers: Vec::new(),
                    starter: None,
                });
            }
            // Outside a runtime, issuer policies can still bring static keys.
            let starter = match Starter::new(self.client, self.options, provider) {
                Ok(starter) => Some(starter),
                Err(ConfigError::NoTokioRuntime) => None,
                Err(err) => return Err(err),
            };
            let default = KeyStore::fixed(KeySet::new(fixed, allowed));
            return Ok(Stores {
                stores: vec![default],
                oidc_issuers: Vec::new(),
                starter,
            });
        }
        let starter = Starter::new(self.client, self.options, provider)?;
        let allow_http = starter.options.allow_http;
        let default = match &self.url {
            Some(url) => starter.start(Source::Jwks(http_url(url, allow_http)?), fixed, allowed),
            None if fixed.is_empty() && self.issuers.is_empty() && !for_policies => {
                return Err(ConfigError::NoKeys);
            }
            None => KeyStore::fixed(KeySet::new(fixed, allowed)),
        };
        let mut stores = vec![default];
        for issuer in &self.issuers {
            http_url(issuer, allow_http)?;
            let source = Source::Discovery {
                issuer: issuer.clone(),
            };
            stores.push(starter.start(source, Vec::new(), allowed));
        }
        Ok(Stores {
            stores,
            oidc_issuers: self.issuers,
            starter: Some(starter),
        })
    }
}

/// The key stores a layer starts with, and what starts more.
pub(crate) struct Stores {
    /// The default store, then one per OpenID issuer.
    pub(crate) stores: Vec<KeyStore>,
    /// The OpenID issuers, in store order.
    pub(crate) oidc_issuers: Vec<String>,
    pub(crate) starter: Option<Starter>,
}

/// What starts remote key stores: the runtime their refresh tasks run on, the client and
/// the options, as the layer was built with.
#[derive(Clone)]
pub(crate) struct Starter {
    runtime: tokio::runtime::Handle,
    client: Arc<dyn JwksClient>,
    options: JwksOptions,
    provider: &'static CryptoProvider,
}

impl Starter {
    fn new(
        client: Option<Arc<dyn JwksClient>>,
        options: JwksOptions,
        provider: &'static CryptoProvider,
    ) -> Result<Self, ConfigError> {
        let runtime =
            tokio::runtime::Handle::try_current().map_err(|_| ConfigError::NoTokioRuntime)?;
        let client = client.unwrap_or_else(|| Arc::new(DefaultJwksClient::new()));
        if let Some(err) = client.misconfigured() {
            return Err(err);
        }
        Ok(Starter {
            runtime,
            client,
            options,
            provider,
        })
    }

    fn start(
        &self,
        source: Source,
        fixed: Vec<KeyEntry>,
        allowed: Option<&[Algorithm]>,
    ) -> KeyStore {
        let parts = RemoteParts {
            source,
            client: Arc::clone(&self.client),
            options: self.options.clone(),
            fixed,
            allowed: allowed.map(<[Algorithm]>::to_vec),
            provider: self.provider,
        };
        let (snapshot, remote) = Remote::start(parts, &self.runtime);
        KeyStore::remote(snapshot, remote)
    }

    /// The key store of one issuer policy that fetches its keys.
    pub(crate) fn policy_store(&self, policy: PolicyKeySource) -> Result<KeyStore, ConfigError> {
        let allow_http = self.options.allow_http;
        let source = match policy.fetch {
            Fetch::Discovery(issuer) => {
                http_url(&issuer, allow_http)?;
                Source::Discovery { issuer }
            }
            Fetch::Jwks(url) => Source::Jwks(http_url(&url, allow_http)?),
        };
        Ok(self.start(source, policy.fixed, policy.allowed.as_deref()))
    }
}

/// The URL a discovery document names as `member` (`jwks_uri`, `introspection_endpoint`),
/// if the layer may use it: a valid URL as [`http_url`] asks, and on loopback only when the
/// issuer is on loopback too, so that a remote issuer cannot point the layer at this
/// machine's own services. It may be on another host than the issuer: Google and Firebase
/// serve their keys from `www.googleapis.com`, not from the issuer's host.
pub(crate) fn named_by_discovery(
    issuer: &str,
    member: &str,
    url: &str,
    allow_http: bool,
) -> Result<Uri, BoxError> {
    let uri = http_url(url, allow_http).map_err(|e| format!("the {member}: {e}"))?;
    let issuer_is_local = issuer.parse::<Uri>().is_ok_and(|i| is_loopback(&i));
    if is_loopback(&uri) && !issuer_is_local {
        return Err(format!("the {member} {url:?} is on loopback, the issuer is not").into());
    }
    Ok(uri)
}

/// Where remote keys come from.
#[derive(Debug, Clone)]
pub(crate) enum Source {
    /// A JWKS document.
    Jwks(Uri),
    /// An OpenID provider: its discovery document names the JWKS (`jwks_uri`) and must name
    /// exactly this issuer.
    Discovery { issuer: String },
}

/// One remote key source and the state of its refreshes.
pub(crate) struct Remote {
    source: Source,
    client: Arc<dyn JwksClient>,
    options: JwksOptions,
    /// Static keys that every snapshot keeps before the fetched ones.
    fixed: Vec<KeyEntry>,
    allowed: Option<Vec<Algorithm>>,
    provider: &'static CryptoProvider,
    snapshot: Arc<ArcSwap<KeySet>>,
    changes: Arc<Changes>,
    ready: AtomicBool,
    fetching: AtomicBool,
    last_unknown_key_fetch: Mutex<Option<Instant>>,
    wake: Arc<Notify>,
}

/// What [`Remote::new`] needs.
pub(crate) struct RemoteParts {
    pub(crate) source: Source,
    pub(crate) client: Arc<dyn JwksClient>,
    pub(crate) options: JwksOptions,
    pub(crate) fixed: Vec<KeyEntry>,
    pub(crate) allowed: Option<Vec<Algorithm>>,
    pub(crate) provider: &'static CryptoProvider,
}

impl Remote {
    /// A remote source, its first snapshot (the fixed keys alone), and its refresh task,
    /// started on `runtime`.
    pub(crate) fn start(
        parts: RemoteParts,
        runtime: &tokio::runtime::Handle,
    ) -> (Arc<ArcSwap<KeySet>>, Arc<Remote>) {
        let first = KeySet::remote(parts.fixed.clone(), parts.allowed.as_deref());
        let snapshot = Arc::new(ArcSwap::from_pointee(first));
        let remote = Arc::new(Remote {
            source: parts.source,
            client: parts.client,
            options: parts.options,
            fixed: parts.fixed,
            allowed: parts.allowed,
            provider: parts.provider,
            snapshot: Arc::clone(&snapshot),
            changes: Arc::default(),
            ready: AtomicBool::new(false),
            fetching: AtomicBool::new(true),
            last_unknown_key_fetch: Mutex::new(None),
            wake: Arc::default(),
        });
        runtime.spawn(refresh(Arc::downgrade(&remote)));
        (snapshot, remote)
    }

    /// Fetches once; on success swaps in the new keys and returns the response's `max-age`.
    async fn fetch(&self, jwks_uri: &mut Option<Uri>) -> Result<Option<Duration>, BoxError> {
        let uri = match (&self.source, &*jwks_uri) {
            (Source::Jwks(uri), _) | (Source::Discovery { .. }, Some(uri)) => uri.clone(),
            (Source::Discovery { issuer }, None) => {
                let found = self.discover(issuer).await?;
                jwks_uri.insert(found).clone()
            }
        };
        let (body, max_age) = self.get(&uri).await?;
        let set: JwkSet =
            serde_json::from_slice(&body).map_err(|e| format!("not a JWKS document: {e}"))?;
        let snapshot = KeySet::with_fetched(
            &self.fixed,
            &set,
            self.allowed.as_deref(),
            self.provider,
            self.options.allow_hmac_keys,
        );
        if snapshot.len() == self.fixed.len() {
            return Err("the JWKS has no usable signature key".into());
        }
        self.snapshot.store(Arc::new(snapshot));
        self.ready.store(true, Ordering::Release);
        Ok(max_age)
    }

    /// Reads the discovery document of `issuer` and returns its `jwks_uri`.
    async fn discover(&self, issuer: &str) -> Result<Uri, BoxError> {
        #[derive(Deserialize)]
        struct Discovery {
            issuer: String,
            jwks_uri: String,
        }
        let url = format!(
            "{}/.well-known/openid-configuration",
            issuer.trim_end_matches('/')
        );
        let (body, _) = self.get(&url.parse()?).await?;
        let doc: Discovery = serde_json::from_slice(&body)
            .map_err(|e| format!("not an OpenID discovery document: {e}"))?;
        // OpenID Connect Discovery §4.3: the issuer must be exactly the one asked for.
        if doc.issuer != issuer {
            return Err(format!("the discovery document names the issuer {:?}", doc.issuer).into());
        }
        named_by_discovery(issuer, "jwks_uri", &doc.jwks_uri, self.options.allow_http)
    }

    /// `GET uri` with the timeout and size cap; a 2xx body and its `max-age`.
    async fn get(&self, uri: &Uri) -> Result<(Bytes, Option<Duration>), BoxError> {
        let response = tokio::time::timeout(
            self.options.timeout,
            self.client.get(uri, self.options.max_body),
        )
        .await
        .map_err(|_| format!("no answer within {:?}", self.options.timeout))??;
        if !response.status().is_success() {
            return Err(format!("answered {}", response.status()).into());
        }
        if response.body().len() > self.options.max_body {
            return Err("the document is larger than max_body".into());
        }
        let max_age = max_age(&response);
        Ok((response.into_body(), max_age))
    }

    /// How long the fetched keys may still serve, after the last successful fetch at
    /// `last_success`: `None` when there is nothing to expire (never fetched, already
    /// dropped, or no limit).
    fn fresh_for(&self, last_success: Option<Instant>) -> Option<Duration> {
        let limit = self.options.max_staleness?;
        if !self.ready.load(Ordering::Acquire) {
            return None;
        }
        Some(limit.saturating_sub(last_success?.elapsed()))
    }

    /// Drops the fetched keys: they are older than `max_staleness`.
    fn expire(&self) {
        let fixed = KeySet::remote(self.fixed.clone(), self.allowed.as_deref());
        self.snapshot.store(Arc::new(fixed));
        self.ready.store(false, Ordering::Release);
    }

    /// When the next regular refresh is due after a success.
    fn interval(&self, max_age: Option<Duration>) -> Duration {
        let o = &self.options;
        max_age.map_or(o.refresh_interval, |age| {
            age.clamp(
                o.min_refresh_interval,
                o.max_refresh_interval.max(o.min_refresh_interval),
            )
        })
    }
}

impl RemoteKeys for Remote {
    fn is_ready(&self) -> bool {
        self.ready.load(Ordering::Acquire)
    }

    fn next_change(&self) -> KeysChanged {
        self.changes.next()
    }

    fn refetch_for_unknown_key(&self) -> Option<KeysChanged> {
        // Take the waiter first, so that a fetch ending right now still wakes this request.
        let waiter = self.changes.next();
        if self.fetching.load(Ordering::Acquire) {
            return Some(waiter);
        }
        let mut last = self
            .last_unknown_key_fetch
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if last.is_some_and(|at| at.elapsed() < self.options.unknown_key_cooldown) {
            return None;
        }
        *last = Some(Instant::now());
        self.fetching.store(true, Ordering::Release);
        self.wake.notify_one();
        Some(waiter)
    }
}

impl Drop for Remote {
    fn drop(&mut self) {
        // Ends the refresh task now rather than at its next wake-up.
        self.wake.notify_one();
    }
}

/// The refresh task: fetch, wait, fetch again, until the layer is dropped.
async fn refresh(remote: Weak<Remote>) {
    let Some(r) = remote.upgrade() else { return };
    let mut backoff = Backoff::new(Duration::from_secs(1), r.options.max_retry_backoff);
    drop(r);
    let mut jwks_uri = None;
    let mut last_success = None;
    loop {
        let Some(r) = remote.upgrade() else { return };
        r.fetching.store(true, Ordering::Release);
        let start = Instant::now();
        // The keys may serve until `max_staleness` after the last success, not until a
        // fetch running at that moment gives up: the deadline cuts it short.
        let fetched = match r.fresh_for(last_success) {
            Some(left) => tokio::time::timeout(left, r.fetch(&mut jwks_uri))
                .await
                .unwrap_or_else(|_| Err("still fetching when max_staleness ran out".into())),
            None => r.fetch(&mut jwks_uri).await,
        };
        let keys = fetched.is_ok().then(|| r.snapshot.load().len());
        metrics::key_fetch(start.elapsed(), keys);
        let delay = match fetched {
            Ok(max_age) => {
                backoff.reset();
                last_success = Some(Instant::now());
                tracing::debug!(source = ?r.source, "remote keys refreshed");
                r.interval(max_age)
            }
            Err(why) => {
                let backoff = backoff.next();
                let fresh_for = r.fresh_for(last_success);
                if fresh_for == Some(Duration::ZERO) {
                    r.expire();
                    tracing::error!(source = ?r.source, %why, retry_in = ?backoff, "fetching remote keys failed for longer than max_staleness; the fetched keys were dropped");
                } else {
                    tracing::warn!(source = ?r.source, %why, retry_in = ?backoff, "fetching remote keys failed; the last good keys keep serving");
                }
                // Woken in time to drop the keys when they go stale.
                fresh_for
                    .filter(|d| !d.is_zero())
                    .map_or(backoff, |d| backoff.min(d))
            }
        };
        r.fetching.store(false, Ordering::Release);
        r.changes.announce();
        let wake = Arc::clone(&r.wake);
        drop(r);
        let _ = tokio::time::timeout(delay, wake.notified()).await;
    }
}

/// The `max-age` of a `Cache-Control` header, if any.
fn max_age(response: &Response<Bytes>) -> Option<Duration> {
    let value = response.headers().get(CACHE_CONTROL)?.to_str().ok()?;
    value.split(',').find_map(|directive| {
        let (name, secs) = directive.trim().split_once('=')?;
        name.eq_ignore_ascii_case("max-age")
            .then(|| secs.trim_matches('"').parse().ok())
            .flatten()
            .map(Duration::from_secs)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with_cache_control(value: &str) -> Response<Bytes> {
        Response::builder()
            .header(CACHE_CONTROL, value)
            .body(Bytes::new())
            .unwrap()
    }

    #[test]
    fn key_urls_are_https_or_loopback_unless_http_is_allowed() {
        for url in [
            "https://idp.example/jwks.json",
            "http://127.0.0.1:8080/jwks.json",
            "http://127.3.4.5/jwks.json",
            "http://localhost/jwks.json",
            "http://[::1]:9/jwks.json",
        ] {
            assert!(http_url(url, false).is_ok(), "{url}");
        }
        for url in ["http://idp.example/jwks.json", "http://10.0.0.5/jwks.json"] {
            assert_eq!(
                http_url(url, false).unwrap_err(),
                ConfigError::InsecureUrl(url.into())
            );
            assert!(http_url(url, true).is_ok(), "{url}");
        }
        for url in ["ftp://idp.example/k", "/jwks.json", "https:///k"] {
            assert_eq!(
                http_url(url, true).unwrap_err(),
                ConfigError::InvalidUrl(url.into())
            );
        }
    }

    #[test]
    fn a_remote_issuer_cannot_name_keys_on_loopback_or_over_plain_http() {
        let google = "https://accounts.google.com";
        // Another host is fine: Google's own discovery document does it.
        assert!(
            named_by_discovery(
                google,
                "jwks_uri",
                "https://www.googleapis.com/oauth2/v3/certs",
                false
            )
            .is_ok()
        );
        for refused in [
            "http://www.googleapis.com/oauth2/v3/certs",
            "https://127.0.0.1:6379/",
            "http://localhost:8080/admin",
            "https://[::1]/keys",
            // Other spellings of this machine (issue #20).
            "https://0.0.0.0/keys",
            "https://127.1/keys",
            "https://2130706433/keys",
            "https://[::ffff:127.0.0.1]/keys",
            "https://keys.localhost./",
            "jwks.json",
        ] {
            assert!(
                named_by_discovery(google, "jwks_uri", refused, false).is_err(),
                "{refused}"
            );
        }
        let local = "http://127.0.0.1:8080";
        assert!(
            named_by_discovery(local, "jwks_uri", "http://127.0.0.1:8080/jwks.json", false).is_ok()
        );
        assert!(
            named_by_discovery(local, "jwks_uri", "http://keys.example/jwks.json", false).is_err()
        );
        assert!(
            named_by_discovery(local, "jwks_uri", "http://keys.example/jwks.json", true).is_ok()
        );
    }

    #[test]
    fn reads_max_age() {
        assert_eq!(
            max_age(&with_cache_control("public, max-age=600")),
            Some(Duration::from_secs(600))
        );
        assert_eq!(
            max_age(&with_cache_control("Max-Age=\"60\", must-revalidate")),
            Some(Duration::from_secs(60))
        );
        assert_eq!(max_age(&with_cache_control("no-cache")), None);
        assert_eq!(max_age(&with_cache_control("max-age=soon")), None);
        assert_eq!(max_age(&Response::new(Bytes::new())), None);
    }
}
