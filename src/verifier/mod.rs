//! The verification core: one token in, a [`Verified`] proof or an [`AuthError`] out. It
//! knows nothing of requests, services or frameworks; the Tower shell
//! ([`JwtAuth`](crate::service::JwtAuth)) calls it, and so can anything else that holds a token: a
//! WebSocket message, a tonic interceptor, a queue consumer, the
//! [`TokenIssuer`](crate::issue::TokenIssuer).
//!
//! One token, start to end, top to bottom of [`Verifier::verify_at`]: split the JWS and read
//! its header ([`jws`]), choose the key set by issuer and the keys by `kid` ([`key_store`],
//! [`keys`]), check the signature ([`signature`]), read the payload in one pass
//! ([`payload`]) and check the registered claims ([`rules`]); then, for
//! [`Verifier::check`], ask the revocation store ([`revocation`]). The [`cache`] lets a
//! token seen before skip everything up to the claim rules' time checks.

mod cache;
pub(crate) mod claims;
mod crypto;
mod grants;
#[cfg(feature = "jwks")]
pub(crate) mod introspection;
mod json;
pub(crate) mod jws;
pub(crate) mod key_store;
pub(crate) mod keys;
pub(crate) mod mapping;
mod payload;
mod policy;
pub(crate) mod revocation;
pub(crate) mod rules;
mod signature;
pub(crate) mod tenants;
mod verified;
#[cfg(feature = "jwks")]
pub(crate) mod wait;

use std::fmt;
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use jsonwebtoken::crypto::CryptoProvider;
use serde::de::{DeserializeOwned, IgnoredAny};

pub(crate) use self::cache::TokenCache;
use self::claims::Confirmation;
use self::claims::Registered;
pub use self::claims::{Audience, Claim, RegisteredClaims};
pub use self::crypto::install_crypto_provider;
pub use self::grants::Grants;
use self::key_store::KeyStore;
use self::mapping::Mapping;
pub(crate) use self::policy::Policy;
use self::revocation::{BoxFuture, Decision, RevocationCheck, StoreError, TokenId};
pub(crate) use self::verified::Binding;
use self::verified::KeyStamp;
pub use self::verified::Verified;
use crate::{AuthError, metrics};

/// Verifies tokens: signature, algorithm, claims and, when a store is configured,
/// revocation. What [`JwtAuthLayer`](crate::JwtAuthLayer) runs for every request, without
/// the request.
///
/// Get one from a layer ([`JwtAuthLayer::verifier`](crate::JwtAuthLayer::verifier)) or
/// build one alone ([`JwtAuthBuilder::build_verifier`](crate::JwtAuthBuilder::build_verifier)),
/// for tokens that do not come in a request's header: a WebSocket message, a queue
/// consumer, a CLI argument. [`verify`](Self::verify) answers at once, from the revocation
/// store's local view; [`verify_async`](Self::verify_async) also waits for one refetch of
/// remote keys and asks the store itself, exactly as a request would. Both give a
/// [`Verified`] proof — the claims, the grants, the token's ids and lifetime — that only a
/// verifier can make.
///
/// ```
/// use serde::Deserialize;
/// use tower_jwt_auth::{Algorithm, AuthError, JwtAuthLayer};
///
/// #[derive(Clone, Debug, Deserialize)]
/// struct User {
///     sub: String,
/// }
///
/// let verifier = JwtAuthLayer::<User>::builder()
///     .hmac_secret(b"at least thirty-two bytes of secret!", Algorithm::HS256)
///     .build_verifier()
///     .unwrap();
/// // A token from a WebSocket message, a queue, a CLI argument…
/// assert_eq!(verifier.verify("not.a.token").unwrap_err(), AuthError::MalformedToken);
/// ```
pub struct Verifier<C> {
    pub(crate) config: Config,
    cache: Option<TokenCache<C>>,
    /// Introspection's answers, by the token's digest, each with the time it may be kept
    /// until.
    #[cfg(feature = "jwks")]
    introspected: Option<TokenCache<C, u64>>,
}

/// The checked configuration that every verification reads.
#[derive(Debug)]
pub(crate) struct Config {
    pub(crate) provider: &'static CryptoProvider,
    /// The keys for tokens of any accepted issuer, then one store per issuer that has keys
    /// of its own (`oidc_issuer`, an [`IssuerPolicy`](crate::tenant::IssuerPolicy)).
    pub(crate) stores: Vec<KeyStore>,
    /// The `iss` values that route a token to `stores[i + 1]`.
    pub(crate) tenants: Vec<Vec<String>>,
    /// The policy of each store's tokens, by store: claim rules and grant mapping.
    pub(crate) policies: Vec<Policy>,
    /// Whether the first store may verify anything: without keys of its own (only
    /// issuer policies), a token of no trusted issuer is refused before any key lookup.
    pub(crate) default_has_keys: bool,
    /// Issuers trusted at run time ([`TrustedIssuers`](crate::tenant::TrustedIssuers)).
    pub(crate) dynamic: Option<Arc<tenants::Tenants>>,
    /// The `typ` every token must declare, if any.
    pub(crate) required_typ: Option<String>,
    pub(crate) max_token_size: usize,
    /// Keep what identifies the token ([`TokenId`]): only read when it will be used.
    pub(crate) keep_id: bool,
    /// The revocation step, if a store was configured.
    pub(crate) revocation: Option<RevocationCheck>,
    /// Tokens the authorization server is asked about (RFC 7662), if configured.
    #[cfg(feature = "jwks")]
    pub(crate) introspection: Option<introspection::Introspection>,
}

/// Where a token goes: one of the layer's stores (and its policy), or an issuer trusted at
/// run time.
enum Route {
    Store(usize),
    Tenant(Arc<tenants::Tenant>),
}

/// What [`Verifier::check`] decided without waiting.
pub(crate) enum Checked<C> {
    /// Valid, and not revoked; or, with an answer to come, the revocation store must be
    /// asked, then [`Verifier::settle`] its answer. (One variant: the verified token is not
    /// moved again to be taken out.)
    Passed(
        Verified<C>,
        Option<BoxFuture<'static, Result<bool, StoreError>>>,
    ),
    /// Refused.
    Reject(AuthError),
    /// The authorization server must be asked about the token (RFC 7662), then
    /// [`Verifier::introspected`] its answer.
    #[cfg(feature = "jwks")]
    Introspect(introspection::Pending),
}

impl<C> Verifier<C> {
    pub(crate) fn new(config: Config, cache: Option<TokenCache<C>>) -> Self {
        #[cfg(feature = "jwks")]
        let introspected = config
            .introspection
            .as_ref()
            .filter(|i| i.cache_for > 0)
            .map(|i| TokenCache::new(i.cache_capacity));
        Verifier {
            config,
            cache,
            #[cfg(feature = "jwks")]
            introspected,
        }
    }
}

impl<C: DeserializeOwned + Clone + 'static> Verifier<C> {
    /// Verifies `token` now, as a bearer token: signature, algorithm, claims, and
    /// revocation as far as the store's local view can tell. When that view cannot answer,
    /// the result is [`AuthError::RevocationUnavailable`] (or the token passes, with
    /// [`OnStoreError::Allow`](crate::revocation::OnStoreError::Allow)). A DPoP-bound token
    /// (one with `cnf`) is refused ([`AuthError::BoundTokenAsBearer`]): only the layer,
    /// which sees the request's proof, takes it.
    ///
    /// A token the layer [introspects](crate::introspection) passes only on an answer it
    /// kept; otherwise [`AuthError::IntrospectionUnavailable`]: this call does not wait for
    /// the authorization server ([`verify_async`](Self::verify_async) does).
    ///
    /// # Errors
    /// The [`AuthError`] the layer would answer with.
    pub fn verify(&self, token: &str) -> Result<Verified<C>, AuthError> {
        let verified = self.verify_bound(token)?;
        verified.as_bearer()?;
        Ok(verified)
    }

    /// [`verify`](Self::verify), bound tokens included: for the issuer, which checks the
    /// binding of its own refresh tokens.
    pub(crate) fn verify_bound(&self, token: &str) -> Result<Verified<C>, AuthError> {
        let now = now();
        #[cfg(feature = "jwks")]
        let verified = match &self.config.introspection {
            // Nothing here waits: only an answer kept from before serves.
            Some(introspection) if introspection.takes(token) => {
                let (_, kept) = self.kept_answer(token, now)?;
                kept.ok_or(AuthError::IntrospectionUnavailable)?
            }
            _ => self.verify_at(token, now)?,
        };
        #[cfg(not(feature = "jwks"))]
        let verified = self.verify_at(token, now)?;
        if let (Some(revocation), Some(id)) = (&self.config.revocation, &verified.id) {
            let local = revocation.store.check_local(id, now);
            let unavailable = Err(StoreError("no local answer".to_owned()));
            revocation.settle(local.map_or(unavailable, Ok))?;
        }
        Ok(verified)
    }

    /// Verifies `token` now, as a bearer token through the layer is: a token naming a key
    /// not fetched yet waits for one refetch of remote keys, and the revocation store
    /// itself is asked when its local view cannot answer (a `RedisStore` whose subscription
    /// is down, say). A DPoP-bound token is refused, as by [`verify`](Self::verify).
    ///
    /// # Errors
    /// The [`AuthError`] the layer would answer with.
    pub async fn verify_async(&self, token: &str) -> Result<Verified<C>, AuthError> {
        let checked = self.check(token, now());
        #[cfg(feature = "jwks")]
        let checked = match checked {
            Checked::Reject(AuthError::UnknownKey) => match self.refetch(token) {
                Some(keys_changed) => {
                    keys_changed.await;
                    self.check(token, now())
                }
                None => checked,
            },
            Checked::Reject(AuthError::InvalidIssuer) => match self.resolve_later(token) {
                Some(resolved) => {
                    resolved.await;
                    self.check(token, now())
                }
                None => checked,
            },
            Checked::Introspect(mut pending) => {
                (&mut pending).await;
                self.introspected(pending.answer(), pending.digest(), now())
            }
            checked => checked,
        };
        let verified = match checked {
            Checked::Passed(verified, None) => verified,
            Checked::Passed(verified, Some(answer)) => {
                self.settle(answer.await)?;
                verified
            }
            Checked::Reject(err) => return Err(err),
            #[cfg(feature = "jwks")]
            Checked::Introspect(_) => return Err(AuthError::IntrospectionUnavailable),
        };
        verified.as_bearer()?;
        Ok(verified)
    }

    /// Verifies `token` at time `now`, asking the revocation store when its local view
    /// cannot answer.
    #[inline]
    pub(crate) fn check(&self, token: &str, now: u64) -> Checked<C> {
        #[cfg(feature = "jwks")]
        if let Some(introspection) = &self.config.introspection
            && introspection.takes(token)
        {
            return self.introspect(introspection, token, now);
        }
        match self.verify_at(token, now) {
            Ok(verified) => self.check_revocation(verified, now),
            Err(err) => Checked::Reject(err),
        }
    }

    /// A valid token's last step: the revocation store's local view, or its answer to come.
    fn check_revocation(&self, verified: Verified<C>, now: u64) -> Checked<C> {
        let (Some(revocation), Some(id)) = (&self.config.revocation, &verified.id) else {
            return Checked::Passed(verified, None);
        };
        match revocation.decide(id, now) {
            Decision::Decided(Ok(())) => Checked::Passed(verified, None),
            Decision::Decided(Err(err)) => Checked::Reject(err),
            Decision::Ask(answer) => Checked::Passed(verified, Some(answer)),
        }
    }

    /// Verifies `token` at time `now`, through the cache when there is one; revocation is
    /// not checked.
    #[inline]
    pub(crate) fn verify_at(&self, token: &str, now: u64) -> Result<Verified<C>, AuthError> {
        let Some(cache) = &self.cache else {
            return self
                .verify_uncached(token, now)
                .map(|(verified, _)| verified);
        };
        if let Some((verified, stamp)) = cache.get(token)
            && self.config.is_current(stamp)
        {
            metrics::cache_lookup(true);
            // The signature and the other claims were checked; time has moved on since.
            let rules = &self.config.policies[stamp.store].rules;
            rules.check_lifetime(verified.lifetime, now)?;
            return Ok(verified);
        }
        metrics::cache_lookup(false);
        let (verified, stamp) = self.verify_uncached(token, now)?;
        // An issuer trusted at run time may be removed: its tokens are not cached.
        if let Some(stamp) = stamp {
            cache.insert(token, stamp, &verified, now);
        }
        Ok(verified)
    }

    /// One token, start to end: read the header, pick the key, check the signature, read
    /// the payload once, check the claims.
    fn verify_uncached(
        &self,
        token: &str,
        now: u64,
    ) -> Result<(Verified<C>, Option<KeyStamp>), AuthError> {
        let config = &self.config;
        if token.len() > config.max_token_size {
            return Err(AuthError::TokenTooLarge);
        }
        let jws = jws::parse(token, config.required_typ.as_deref())?;
        let claims = |payload: &[u8], policy: &Policy| {
            let verified = config.read_claims(payload, now, policy);
            verified.map_err(|err| match err {
                AuthError::MalformedToken => AuthError::InvalidClaims,
                err => err,
            })
        };
        if !config.routes_by_issuer() {
            let set = config.check_signature(&jws, &config.stores[0])?;
            // Only now, with the signature checked, is the payload read.
            let verified =
                jws::decode_then(jws.payload, |payload| claims(payload, &config.policies[0]));
            let verified = verified.map_err(|err| match err {
                AuthError::MalformedToken => AuthError::InvalidClaims,
                err => err,
            })?;
            return Ok((verified, Some(KeyStamp { store: 0, set })));
        }
        // Decoded once: its `iss` chooses the keys, the signature is checked, then the
        // claims are read from the same bytes.
        jws::decode_then(jws.payload, |payload| {
            let route = config.route(payload)?;
            let (store, policy) = match &route {
                Route::Store(i) => (&config.stores[*i], &config.policies[*i]),
                Route::Tenant(tenant) => (&tenant.store, &tenant.policy),
            };
            let set = config.check_signature(&jws, store)?;
            let stamp = match route {
                Route::Store(store) => Some(KeyStamp { store, set }),
                Route::Tenant(_) => None,
            };
            Ok((claims(payload, policy)?, stamp))
        })
    }

    /// The answer of the revocation store, once asked after [`check`](Self::check).
    pub(crate) fn settle(&self, answer: Result<bool, StoreError>) -> Result<(), AuthError> {
        let revocation = self.config.revocation.as_ref();
        revocation.map_or(Ok(()), |r| r.settle(answer))
    }
}

impl Config {
    /// Whether tokens go to the keys and policy of the issuer they name (issuer policies, a
    /// run-time registry), or all to the layer's own.
    fn routes_by_issuer(&self) -> bool {
        !self.tenants.is_empty() || self.dynamic.is_some()
    }

    /// The store whose keys verify this token, and the policy for its claims: with several
    /// issuers configured with their own keys, the one its `iss` names (read from the
    /// payload before the signature is checked, only to choose; the claims are checked
    /// after). A token whose `iss` is not accepted is refused here, before any key is
    /// looked up or fetched.
    fn route(&self, payload: &[u8]) -> Result<Route, AuthError> {
        let iss = payload::issuer(payload).map_err(|_| AuthError::InvalidClaims)?;
        let iss = iss.as_deref();
        let named = |t: &Vec<String>| t.iter().any(|t| Some(t.as_str()) == iss);
        if let Some(i) = self.tenants.iter().position(named) {
            return Ok(Route::Store(i + 1));
        }
        let trusted_now = self.dynamic.as_ref().zip(iss);
        if let Some(tenant) = trusted_now.and_then(|(dynamic, iss)| dynamic.get(iss)) {
            return Ok(Route::Tenant(tenant));
        }
        if !self.default_has_keys {
            return Err(match iss {
                Some(_) => AuthError::InvalidIssuer,
                None => AuthError::MissingClaim,
            });
        }
        self.policies[0]
            .rules
            .check_issuer(iss)
            .map(|()| Route::Store(0))
    }

    /// Checks the signature with the keys of `store` that fit the token's `alg` and `kid`;
    /// gives the id of the key set that did.
    fn check_signature(&self, jws: &jws::Jws<'_>, store: &KeyStore) -> Result<u64, AuthError> {
        let alg = jws.header.alg;
        let keys = store.load();
        let unready = |err| {
            if store.is_ready() {
                err
            } else {
                AuthError::KeysUnavailable
            }
        };
        if !keys.allows(alg) {
            return Err(unready(AuthError::AlgorithmNotAllowed));
        }
        let message = jws.signing_input.as_bytes();
        jws::decode_then(jws.signature, |signature| {
            let mut candidates = keys.select(jws.header.kid.as_deref(), alg).peekable();
            if candidates.peek().is_none() {
                return Err(unready(AuthError::UnknownKey));
            }
            let verified =
                candidates.any(|entry| entry.verify(self.provider, alg, message, signature));
            if verified {
                Ok(())
            } else {
                Err(AuthError::InvalidSignature)
            }
        })?;
        Ok(keys.id())
    }

    /// `C` and the registered claims, in one pass over the payload, then the claim rules.
    fn read_claims<C: DeserializeOwned>(
        &self,
        payload: &[u8],
        now: u64,
        policy: &Policy,
    ) -> Result<Verified<C>, AuthError> {
        let mut registered = Registered::default();
        let captures = policy.mapping.as_ref().map_or(&[][..], Mapping::captures);
        let Some(claims) = payload::read_capturing::<C>(payload, &mut registered, captures) else {
            // Say why exactly: a registered claim of the wrong type, missing or out of
            // date comes before "`C` does not fit".
            let mut registered = Registered::default();
            payload::read::<IgnoredAny>(payload, &mut registered)
                .ok_or(AuthError::InvalidClaims)?;
            policy.rules.check(&registered, now)?;
            return Err(AuthError::InvalidClaims);
        };
        let lifetime = policy.rules.check(&registered, now)?;
        let grants = match &policy.mapping {
            None => Grants::from_claims(
                registered.scope.as_deref(),
                registered.scp.as_deref(),
                registered.roles.as_deref(),
            ),
            Some(mapping) => mapping.grants(&registered)?,
        }
        .authenticated(registered.acr.as_deref(), registered.auth_time);
        let id = self.keep_id.then(|| {
            Arc::new(TokenId {
                jti: registered.jti.as_deref().map(str::to_owned),
                sid: registered.sid.as_deref().map(str::to_owned),
                sub: registered.sub.as_deref().map(str::to_owned),
                iss: registered.iss.as_deref().map(str::to_owned),
                iat: registered.iat,
            })
        });
        let binding = match registered.cnf {
            None => Binding::Bearer,
            Some(Confirmation {
                jkt: Some(jkt),
                x5t_s256: None,
                unchecked: false,
            }) => Binding::Dpop(jkt.into()),
            Some(Confirmation {
                jkt: None,
                x5t_s256: Some(x5t),
                unchecked: false,
            }) => Binding::Certificate(x5t.into()),
            // A binding this crate cannot check, or two: proving one would drop the other.
            Some(_) => Binding::Other,
        };
        Ok(Verified {
            claims,
            grants,
            id,
            lifetime,
            binding,
            issuer: policy.name.clone(),
        })
    }

    /// Whether the key set that verified a cached token is still the current one.
    fn is_current(&self, stamp: KeyStamp) -> bool {
        self.stores[stamp.store].load().id() == stamp.set
    }
}

#[cfg(feature = "jwks")]
impl<C> Verifier<C> {
    /// Whether every remote key source (`jwks_url`, `oidc_issuer`) has keys: fetched once,
    /// and not dropped as older than [`max_staleness`](crate::jwks::JwksOptions::max_staleness);
    /// always `true` with static keys alone.
    pub fn is_ready(&self) -> bool {
        self.config.stores.iter().all(KeyStore::is_ready)
    }

    /// Waits until [`is_ready`](Self::is_ready). Fetches keep being retried after failures,
    /// so this waits as long as the key server is unreachable: bound it with a timeout.
    pub async fn ready(&self) {
        let stores = &self.config.stores;
        while let Some(store) = stores.iter().find(|s| !s.is_ready()) {
            let Some(change) = store.next_change() else {
                return;
            };
            // The fetch may have ended between the check and taking the waiter.
            if !store.is_ready() {
                change.await;
            }
        }
    }

    /// After [`AuthError::UnknownKey`]: asks the token's key store for a refetch; see
    /// [`KeyStore::refetch`].
    pub(crate) fn refetch(&self, token: &str) -> Option<wait::KeysChanged> {
        let config = &self.config;
        let jws = jws::parse(token, config.required_typ.as_deref()).ok()?;
        if !config.routes_by_issuer() {
            return config.stores[0].refetch();
        }
        match jws::decode_then(jws.payload, |payload| config.route(payload)).ok()? {
            Route::Store(i) => config.stores[i].refetch(),
            Route::Tenant(tenant) => tenant.store.refetch(),
        }
    }

    /// After [`AuthError::InvalidIssuer`]: when an asynchronous resolver may trust the
    /// token's issuer, the end of its lookup; see [`Tenants::resolve_later`].
    pub(crate) fn resolve_later(&self, token: &str) -> Option<wait::KeysChanged> {
        let dynamic = self.config.dynamic.as_ref()?;
        let jws = jws::parse(token, self.config.required_typ.as_deref()).ok()?;
        let iss = jws::decode_then(jws.payload, |payload| {
            payload::issuer(payload)
                .map(|iss| iss.map(|iss| iss.into_owned()))
                .map_err(|_| AuthError::InvalidClaims)
        })
        .ok()??;
        dynamic.resolve_later(&iss)
    }
}

#[cfg(feature = "jwks")]
impl<C: DeserializeOwned + Clone + 'static> Verifier<C> {
    /// A token the authorization server vouches for: its answer kept from before, or the
    /// call about it to wait for.
    fn introspect(
        &self,
        introspection: &introspection::Introspection,
        token: &str,
        now: u64,
    ) -> Checked<C> {
        match self.kept_answer(token, now) {
            Ok((_, Some(verified))) => self.check_revocation(verified, now),
            Ok((digest, None)) => match introspection.ask(token, digest) {
                Ok(pending) => Checked::Introspect(pending),
                Err(err) => Checked::Reject(err),
            },
            Err(err) => Checked::Reject(err),
        }
    }

    /// The token's digest, and the answer kept about it if there is one still to be
    /// trusted: within its time, and the token still within its lifetime.
    fn kept_answer(
        &self,
        token: &str,
        now: u64,
    ) -> Result<(introspection::Digest, Option<Verified<C>>), AuthError> {
        // Bounded before it is hashed, as before it is decoded.
        if token.len() > self.config.max_token_size {
            return Err(AuthError::TokenTooLarge);
        }
        let digest = introspection::digest(token, self.config.provider)?;
        let kept = self
            .introspected
            .as_ref()
            .and_then(|cache| cache.get(&digest));
        let Some((verified, _)) = kept.filter(|&(_, until)| now < until) else {
            return Ok((digest, None));
        };
        let rules = &self.config.policies[0].rules;
        rules.check_lifetime(verified.lifetime, now)?;
        Ok((digest, Some(verified)))
    }

    /// The authorization server's answer about the token a [`Checked::Introspect`] waited
    /// for: read as the token's claims and checked by the layer's own policy, then kept
    /// (no longer than the token's `exp`, nor the configured time).
    pub(crate) fn introspected(
        &self,
        answer: introspection::Reply,
        digest: &introspection::Digest,
        now: u64,
    ) -> Checked<C> {
        let verified = answer
            .map_err(|_| AuthError::IntrospectionUnavailable)
            .and_then(|body| self.config.read_introspected(&body, now));
        let verified = match verified {
            Ok(verified) => verified,
            Err(err) => return Checked::Reject(err),
        };
        if let (Some(cache), Some(introspection)) = (&self.introspected, &self.config.introspection)
        {
            let until = now.saturating_add(introspection.cache_for);
            let until = verified.lifetime.exp().map_or(until, |exp| exp.min(until));
            cache.insert(digest, until, &verified, now);
        }
        self.check_revocation(verified, now)
    }
}

#[cfg(feature = "jwks")]
impl Config {
    /// An RFC 9701 answer: a JWT of type `token-introspection+jwt`, signed with the keys
    /// of the issuer it names (the layer's for that issuer), for this client; gives its
    /// `token_introspection` member. Anything else is the server's (or the network's)
    /// fault, not the client's: `503`, logged, never a pass.
    fn read_signed_answer(
        &self,
        body: &[u8],
        signed: &introspection::SignedAnswers,
    ) -> Result<Vec<u8>, AuthError> {
        let refused = |why: &str| {
            tracing::warn!(why, "the introspection answer is not a valid RFC 9701 JWT");
            AuthError::IntrospectionUnavailable
        };
        let text = std::str::from_utf8(body).map_err(|_| refused("not text"))?;
        let jws = jws::parse(text.trim(), Some("token-introspection+jwt"))
            .map_err(|err| refused(err.reason()))?;
        let at = self.tenants.iter().position(|t| t.contains(&signed.issuer));
        let store = at
            .map(|i| &self.stores[i + 1])
            .ok_or_else(|| refused("no keys for its issuer"))?;
        if let Err(err) = self.check_signature(&jws, store) {
            if err == AuthError::UnknownKey {
                // The server signs with a key not fetched yet: fetched for the next one.
                let _ = store.refetch();
            }
            return Err(refused(err.reason()));
        }
        jws::decode_then(jws.payload, |payload| {
            introspection::read_signed_payload(payload, signed).map_err(refused)
        })
    }

    /// An RFC 7662 answer, read as a token's claims are: active, of an access token's
    /// type, then `C`, the registered claims and the grants, under the layer's own policy.
    fn read_introspected<C: DeserializeOwned>(
        &self,
        body: &[u8],
        now: u64,
    ) -> Result<Verified<C>, AuthError> {
        let signed = self.introspection.as_ref().and_then(|i| i.signed.as_ref());
        let unsigned;
        let body = match signed {
            Some(signed) => {
                unsigned = self.read_signed_answer(body, signed)?;
                &unsigned[..]
            }
            None => body,
        };
        introspection::read_status(body)?;
        self.read_claims(body, now, &self.policies[0])
            .map_err(|err| match err {
                AuthError::MalformedToken => AuthError::InvalidClaims,
                err => err,
            })
    }
}

impl<C> fmt::Debug for Verifier<C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Verifier")
            .field("config", &self.config)
            .field("token_cache", &self.cache.is_some())
            .finish()
    }
}

/// The current time in seconds since the epoch (0 if the clock is before 1970, which makes
/// every token with `nbf` not yet valid rather than valid).
pub(crate) fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use jsonwebtoken::{EncodingKey, Header};
    use serde_json::{Value, json};

    use super::*;
    use crate::verifier::rules::Lifetime;
    use crate::{Algorithm, JwtAuthLayer};

    const SECRET: &[u8] = b"unit-test-secret-of-at-least-32-bytes";
    const NOW: u64 = 1_700_000_000;

    fn cached() -> Verifier<Value> {
        JwtAuthLayer::builder()
            .hmac_secret(SECRET, Algorithm::HS256)
            .leeway(Duration::ZERO)
            .token_cache(100)
            .build_verifier()
            .unwrap()
    }

    fn claims(verified: Result<Verified<Value>, AuthError>) -> Result<Value, AuthError> {
        verified.map(Verified::into_claims)
    }

    fn token(exp: u64) -> String {
        let key = EncodingKey::from_secret(SECRET).unwrap();
        jsonwebtoken::encode(
            &Header::new(Algorithm::HS256),
            &json!({"sub": "a", "exp": exp}),
            &key,
        )
        .unwrap()
    }

    #[test]
    fn a_verified_token_is_cached_and_still_expires() {
        let verifier = cached();
        let t = token(NOW + 100);
        assert!(verifier.verify_at(&t, NOW).is_ok());
        let hit = verifier.cache.as_ref().unwrap().get(&t);
        let set = verifier.config.stores[0].load().id();
        assert_eq!(hit.as_ref().map(|h| h.1), Some(KeyStamp { store: 0, set }));
        assert_eq!(
            hit.map(|(v, _)| v.lifetime),
            Some(Lifetime::new(Some(NOW + 100), None, None))
        );
        assert_eq!(
            claims(verifier.verify_at(&t, NOW + 99)).unwrap()["sub"],
            "a"
        );
        assert_eq!(
            claims(verifier.verify_at(&t, NOW + 100)),
            Err(AuthError::Expired)
        );
    }

    #[test]
    fn only_the_exact_token_hits() {
        let verifier = cached();
        let t = token(NOW + 100);
        assert!(verifier.verify_at(&t, NOW).is_ok());
        let mut altered = t.clone();
        altered.pop();
        altered.push(if t.ends_with('A') { 'B' } else { 'A' });
        assert!(verifier.verify_at(&altered, NOW).is_err());
    }

    #[test]
    fn rejected_tokens_are_never_cached() {
        let verifier = cached();
        let key = EncodingKey::from_secret(b"another-secret-of-at-least-32-bytes!").unwrap();
        for i in 0..1_000 {
            let payload = json!({"sub": i, "exp": NOW + 100});
            let forged =
                jsonwebtoken::encode(&Header::new(Algorithm::HS256), &payload, &key).unwrap();
            assert_eq!(
                claims(verifier.verify_at(&forged, NOW)),
                Err(AuthError::InvalidSignature)
            );
            assert!(verifier.verify_at(&format!("garbage.{i}.x"), NOW).is_err());
        }
        assert_eq!(verifier.cache.as_ref().unwrap().len(), 0);
    }

    #[test]
    fn entries_of_another_key_set_are_ignored() {
        let verifier = cached();
        let forged = "not.a.token";
        let stale_entry = Verified {
            claims: json!({"sub": "x"}),
            grants: Grants::default(),
            id: None,
            lifetime: Lifetime::new(None, None, None),
            binding: Binding::Bearer,
            issuer: None,
        };
        let stale = KeyStamp {
            store: 0,
            set: verifier.config.stores[0].load().id() + 1_000_000,
        };
        let cache = verifier.cache.as_ref().unwrap();
        cache.insert(forged, stale, &stale_entry, NOW);
        assert_eq!(
            claims(verifier.verify_at(forged, NOW)),
            Err(AuthError::MalformedToken)
        );
    }
}
