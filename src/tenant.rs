//! Several trusted issuers, each held to its own policy: the multi-tenant resource server.
//!
//! An [`IssuerPolicy`] names an issuer (the `iss` its tokens carry), where its keys come
//! from, and what its tokens must hold: audiences, claim mapping (scopes, roles), required
//! claims, leeway, algorithms. [`JwtAuthBuilder::issuer_policy`] trusts it; the provider
//! presets ([`JwtAuthBuilder::keycloak`] and the others) are issuer policies too, so two of
//! them side by side are two issuers with two policies, never one merged policy.
//!
//! A token is routed by the `iss` it names — read before the signature is checked, only to
//! choose — to that issuer's keys, and checked against that issuer's policy alone: a token of
//! issuer A never passes with B's audience, never receives B's mapped roles, and is never
//! verified with B's keys. A token naming no trusted issuer is refused (`invalid_token`)
//! before any key is looked up or fetched, unless the layer has keys of its own, which then
//! serve it under the layer's own rules.
//!
//! ```
//! use tower_jwt_auth::tenant::IssuerPolicy;
//! use tower_jwt_auth::{Algorithm, JwtAuthLayer, RegisteredClaims};
//!
//! // Two tenants with identity providers of their own (static keys here; `IssuerPolicy::oidc`
//! // and `IssuerPolicy::jwks` fetch them, with feature `jwks`).
//! let layer = JwtAuthLayer::<RegisteredClaims>::builder()
//!     .issuer_policy(
//!         IssuerPolicy::with_keys("https://idp.tenant-a.example")
//!             .hmac_secret(b"tenant A's secret, thirty-two bytes!", Algorithm::HS256)
//!             .audience("notes-api")
//!             .roles_from(["/groups"]),
//!     )
//!     .issuer_policy(
//!         IssuerPolicy::with_keys("https://idp.tenant-b.example")
//!             .hmac_secret(b"tenant B's secret, thirty-two bytes!", Algorithm::HS256)
//!             .audience("https://notes.tenant-b.example"),
//!     )
//!     .build()
//!     .unwrap();
//! ```
//!
//! Handlers learn which issuer a request's token came from through the [`TrustedIssuer`]
//! extension (or [`Verified::trusted_issuer`](crate::Verified::trusted_issuer)).
//!
//! [`JwtAuthBuilder::issuer_policy`]: crate::JwtAuthBuilder::issuer_policy
//! [`JwtAuthBuilder::keycloak`]: crate::JwtAuthBuilder::keycloak
//!
//! # Identity provider presets
//!
//! Each provider shapes its tokens its own way. One call (feature `jwks`) sets where its keys
//! are, its issuer and audience forms, where its scopes and roles are, and the checks its
//! documentation asks of a resource server; [`Require::scope`](crate::authorize::Require::scope)
//! and [`Require::role`](crate::authorize::Require::role) then work as with any token. Each
//! preset is also an [`IssuerPolicy`] constructor (`IssuerPolicy::keycloak(..)`, …), to
//! chain more rules onto.
//!
//! ```no_run
//! # #[cfg(feature = "jwks")]
//! # fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! use tower_jwt_auth::JwtAuthLayer;
//! # type Claims = tower_jwt_auth::RegisteredClaims;
//!
//! // Keycloak: realm + client roles (realm_access.roles, resource_access.<client>.roles).
//! let keycloak = JwtAuthLayer::<Claims>::builder()
//!     .keycloak("https://sso.example.com/realms/acme", "notes-api").build()?;
//! // Auth0: scopes from `scope` and RBAC `permissions`.
//! let auth0 = JwtAuthLayer::<Claims>::builder()
//!     .auth0("acme.us.auth0.com", "https://notes.example.com").build()?;
//! // Cognito access tokens: `token_use` must be `access`, `client_id` one of yours; groups as roles.
//! let cognito = JwtAuthLayer::<Claims>::builder()
//!     .cognito("us-east-1", "us-east-1_AbCdEf", ["1example23456789"]).build()?;
//! // Entra ID, one tenant: v1.0 and v2.0 tokens, `tid` checked; `scp` scopes, `roles` app roles.
//! let entra = JwtAuthLayer::<Claims>::builder()
//!     .entra_id("72f988bf-86f1-41af-91ab-2d7cd011db47", "6e74172b-be56-4843-9ff4-e66a39bb12e3").build()?;
//! // Okta: a custom authorization server; `scp` array, `groups` as roles.
//! let okta = JwtAuthLayer::<Claims>::builder()
//!     .okta("https://acme.okta.com/oauth2/default", "api://default").build()?;
//! // Google and Firebase ID tokens.
//! let google = JwtAuthLayer::<Claims>::builder()
//!     .google("1234567890-abc.apps.googleusercontent.com").build()?;
//! let firebase = JwtAuthLayer::<Claims>::builder().firebase("notes-1234").build()?;
//! # Ok(())
//! # }
//! # fn main() {}
//! ```
//!
//! # Other shapes: claim paths
//!
//! Another provider, or another shape: say where the grants are with claim paths (JSON
//! pointers; `{client_id}` filled by `.client_id(..)`), and what must hold with
//! `require_claim`. The paths' top-level members are read in the same single pass over the
//! payload (about +6 % instructions per request against the standard `scope` claim,
//! BENCHMARKS.md), and a token that repeats one is refused.
//!
//! ```
//! # use tower_jwt_auth::{Algorithm, JwtAuthLayer, RegisteredClaims};
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let auth = JwtAuthLayer::<RegisteredClaims>::builder()
//! #   .hmac_secret(b"at least thirty-two bytes of secret!", Algorithm::HS256)
//!     .scopes_from(["/scope", "/permissions"])
//!     .roles_from(["/realm_access/roles", "/resource_access/{client_id}/roles", "/cognito:groups"])
//!     .client_id("notes-api")
//!     .require_claim("/token_use", ["access"])
//!     .build()?;
//! # Ok(())
//! # }
//! ```
//!
//! Dates may be non-integer (`"exp": 1700000000.5`, RFC 7519 §2): they pass, in whole seconds
//! (`exp` rounded up, `nbf` and `iat` down).
//!
//! # Tenants known at run time
//!
//! Tenants known only at run time go in a `TrustedIssuers` registry, added and removed while
//! the layer serves (each change holds from the next request on; an added issuer's keys are
//! fetched when it is added; a token naming any other issuer costs no fetch). A multi-tenant
//! Entra ID application, say, trusts each tenant it has onboarded, `tid` checked against `iss`:
//!
//! ```no_run
//! # #[cfg(feature = "jwks")]
//! # fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! use tower_jwt_auth::JwtAuthLayer;
//! use tower_jwt_auth::tenant::{IssuerPolicy, TrustedIssuers};
//! # type MyClaims = tower_jwt_auth::RegisteredClaims;
//! let tenants = TrustedIssuers::new();
//! let auth = JwtAuthLayer::<MyClaims>::builder()
//!     .trusted_issuers(tenants.clone())
//!     .build()?;
//! // A customer onboards; later, offboards.
//! tenants.add(IssuerPolicy::entra_id("72f988bf-86f1-41af-91ab-2d7cd011db47", "6e74172b-be56-4843-9ff4-e66a39bb12e3"))?;
//! tenants.remove("https://login.microsoftonline.com/72f988bf-86f1-41af-91ab-2d7cd011db47/v2.0");
//! # Ok(())
//! # }
//! # fn main() {}
//! ```
//!
//! When the list of tenants lives elsewhere (a table of onboarded customers), let the
//! registry ask: [`TrustedIssuers::resolve_with`] gives it a function that answers, for an
//! `iss` it has not seen, the policy to trust it with — or none, and the token is refused
//! without any fetch. The issuers made so are kept up to a bound, the oldest forgotten
//! first. When the answer takes a round trip (a database), use
//! [`TrustedIssuers::resolve_with_async`] (feature `jwks`): a token naming a new issuer
//! waits for one lookup, shared by every request naming it, within a timeout. `cargo run
//! --example tenants` shows two tenants with their own providers.

use std::collections::HashSet;
use std::fmt;
#[cfg(feature = "jwks")]
use std::future::Future;
#[cfg(feature = "jwks")]
use std::pin::Pin;
use std::sync::{Arc, Mutex, OnceLock, PoisonError};
use std::time::Duration;

use jsonwebtoken::DecodingKey;
use jsonwebtoken::crypto::CryptoProvider;

use crate::claims::Claim;
use crate::verifier::Policy;
use crate::verifier::key_store::KeyStore;
use crate::verifier::keys::{KeyInput, KeySet};
use crate::verifier::mapping::GrantSources;
use crate::verifier::rules::Rules;
#[cfg(feature = "jwks")]
use crate::verifier::tenants::Resolved;
use crate::verifier::tenants::{Tenant, Tenants};
use crate::{Algorithm, AuthError, ConfigError};

/// One trusted issuer and the policy its tokens are held to. See the [module](self).
#[derive(Clone)]
pub struct IssuerPolicy {
    /// The `iss` values of this issuer: its name first, then other forms it uses.
    pub(crate) issuers: Vec<String>,
    pub(crate) keys: PolicyKeys,
    pub(crate) static_keys: Vec<KeyInput>,
    pub(crate) algorithms: Option<Vec<Algorithm>>,
    pub(crate) audiences: Vec<String>,
    pub(crate) any_audience: bool,
    pub(crate) leeway: Option<Duration>,
    pub(crate) required: Option<HashSet<Claim>>,
    pub(crate) grants: GrantSources,
    /// The first mistake made while configuring it, reported by `build()`.
    pub(crate) error: Option<ConfigError>,
}

/// Where an issuer's keys come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum PolicyKeys {
    /// Given with [`IssuerPolicy::key`].
    Static,
    /// From the issuer's OpenID discovery document.
    #[cfg(feature = "jwks")]
    Discovery,
    /// From this JWKS URL.
    #[cfg(feature = "jwks")]
    Jwks(String),
}

impl fmt::Debug for IssuerPolicy {
    // Keys, HMAC secrets above all, stay out of logs.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IssuerPolicy")
            .field("issuers", &self.issuers)
            .field("keys", &self.keys)
            .field("static_keys", &self.static_keys.len())
            .field("algorithms", &self.algorithms)
            .field("audiences", &self.audiences)
            .field("any_audience", &self.any_audience)
            .field("leeway", &self.leeway)
            .field("grants", &self.grants)
            .finish_non_exhaustive()
    }
}

impl IssuerPolicy {
    fn new(issuer: String, keys: PolicyKeys) -> Self {
        IssuerPolicy {
            issuers: vec![issuer],
            keys,
            static_keys: Vec::new(),
            algorithms: None,
            audiences: Vec::new(),
            any_audience: false,
            leeway: None,
            required: None,
            grants: GrantSources::default(),
            error: None,
        }
    }

    /// An issuer whose keys are given here, with [`key`](Self::key) or
    /// [`hmac_secret`](Self::hmac_secret).
    pub fn with_keys(issuer: impl Into<String>) -> Self {
        IssuerPolicy::new(issuer.into(), PolicyKeys::Static)
    }

    /// An OpenID provider: its keys from the `jwks_uri` of its discovery document
    /// (`{issuer}/.well-known/openid-configuration`, which must name exactly this issuer),
    /// fetched and refreshed as [`jwks`](crate::jwks) describes (feature `jwks`).
    #[cfg(feature = "jwks")]
    pub fn oidc(issuer: impl Into<String>) -> Self {
        IssuerPolicy::new(issuer.into(), PolicyKeys::Discovery)
    }

    /// An issuer whose keys are published at `jwks_url` (feature `jwks`).
    #[cfg(feature = "jwks")]
    pub fn jwks(issuer: impl Into<String>, jwks_url: impl Into<String>) -> Self {
        IssuerPolicy::new(issuer.into(), PolicyKeys::Jwks(jwks_url.into()))
    }

    /// Another `iss` value this issuer's tokens carry (Google's `accounts.google.com`
    /// beside `https://accounts.google.com`; Entra's v1.0 issuer beside its v2.0 one).
    pub fn also_named(mut self, issuer: impl Into<String>) -> Self {
        self.issuers.push(issuer.into());
        self
    }

    /// The issuer's name: the `iss` it was made with.
    pub fn issuer(&self) -> &str {
        &self.issuers[0]
    }

    /// Adds a key of this issuer (keys given here serve beside fetched ones).
    pub fn key(mut self, key: DecodingKey, algorithm: Algorithm) -> Self {
        self.static_keys.push(KeyInput::Key {
            kid: None,
            key,
            algorithm,
        });
        self
    }

    /// Adds an HMAC secret of this issuer, for `HS256`, `HS384` or `HS512`.
    pub fn hmac_secret(self, secret: impl AsRef<[u8]>, algorithm: Algorithm) -> Self {
        match DecodingKey::from_secret(secret.as_ref()) {
            Ok(key) => self.key(key, algorithm),
            Err(_) => self.invalid(ConfigError::invalid_key("the HMAC secret is empty")),
        }
    }

    fn invalid(mut self, error: ConfigError) -> Self {
        self.error.get_or_insert(error);
        self
    }

    /// The algorithms this issuer's tokens may use (default: those of its keys).
    pub fn algorithms(mut self, algorithms: impl IntoIterator<Item = Algorithm>) -> Self {
        self.algorithms = Some(algorithms.into_iter().collect());
        self
    }

    /// Requires `aud` to hold this audience (or one of several, with repeated calls).
    pub fn audience(mut self, audience: impl Into<String>) -> Self {
        self.audiences.push(audience.into());
        self
    }

    /// Requires `aud` to hold one of these audiences.
    pub fn audiences<I: Into<String>>(mut self, audiences: impl IntoIterator<Item = I>) -> Self {
        self.audiences.extend(audiences.into_iter().map(Into::into));
        self
    }

    /// Accepts a token with any audience, or none.
    pub fn accept_any_audience(mut self) -> Self {
        self.any_audience = true;
        self
    }

    /// The leeway for this issuer's `exp` and `nbf` (default: the layer's).
    pub fn leeway(mut self, leeway: Duration) -> Self {
        self.leeway = Some(leeway);
        self
    }

    /// The claims this issuer's tokens must carry (default: the layer's, `exp`).
    pub fn required_claims(mut self, claims: impl IntoIterator<Item = Claim>) -> Self {
        self.required = Some(claims.into_iter().collect());
        self
    }

    /// Where this issuer's scopes are, as [`JwtAuthBuilder::scopes_from`](crate::JwtAuthBuilder::scopes_from)
    /// says; never another issuer's.
    pub fn scopes_from<P: Into<String>>(mut self, paths: impl IntoIterator<Item = P>) -> Self {
        self.grants.scopes_from(paths);
        self
    }

    /// Where this issuer's roles are, as [`JwtAuthBuilder::roles_from`](crate::JwtAuthBuilder::roles_from)
    /// says; never another issuer's.
    pub fn roles_from<P: Into<String>>(mut self, paths: impl IntoIterator<Item = P>) -> Self {
        self.grants.roles_from(paths);
        self
    }

    /// Requires the claim at `path` to hold one of `values`, as
    /// [`JwtAuthBuilder::require_claim`](crate::JwtAuthBuilder::require_claim) does.
    pub fn require_claim<V: Into<String>>(
        self,
        path: impl Into<String>,
        values: impl IntoIterator<Item = V>,
    ) -> Self {
        self.require_claim_or(path, values, AuthError::InvalidClaims)
    }

    /// [`require_claim`](Self::require_claim), answering `error` when it does not hold.
    pub(crate) fn require_claim_or<V: Into<String>>(
        mut self,
        path: impl Into<String>,
        values: impl IntoIterator<Item = V>,
        error: AuthError,
    ) -> Self {
        self.grants.require(path, values, error);
        self
    }

    /// Requires one of the claims at `paths` to be present, else `error`.
    #[cfg(feature = "jwks")]
    pub(crate) fn require_one_of(mut self, paths: &[&str], error: AuthError) -> Self {
        let paths = paths.iter().map(|p| (*p).to_owned()).collect();
        self.grants.present.push((paths, error));
        self
    }

    /// The value of `{client_id}` in this issuer's claim paths.
    pub fn client_id(mut self, client_id: impl Into<String>) -> Self {
        self.grants.client_id = Some(client_id.into());
        self
    }
}

/// What a layer gives its issuer policies: its rules for what a policy leaves unsaid, its
/// algorithms, crypto provider and resource, and what starts remote key stores.
#[derive(Clone)]
pub(crate) struct Maker {
    pub(crate) base: Rules,
    pub(crate) allowed: Option<Vec<Algorithm>>,
    pub(crate) provider: &'static CryptoProvider,
    /// The resource a layer publishes metadata for: the audience of a policy that names none.
    pub(crate) resource: Option<String>,
    #[cfg(feature = "jwks")]
    pub(crate) starter: Option<crate::jwks::Starter>,
}

impl IssuerPolicy {
    /// Checks the policy as `build()` does and makes its key store (fetching starts now)
    /// and its policy; gives the `iss` values it goes by too.
    pub(crate) fn make(
        self,
        maker: &Maker,
    ) -> Result<(Vec<String>, KeyStore, Policy), ConfigError> {
        if let Some(error) = self.error {
            return Err(error);
        }
        if self.issuers.iter().any(String::is_empty) {
            return Err(ConfigError::EmptyClaimValue("issuer"));
        }
        let allowed = self.algorithms.as_deref().or(maker.allowed.as_deref());
        let fixed = KeySet::entries(self.static_keys, allowed, maker.provider)?;
        let store = match self.keys {
            PolicyKeys::Static => KeyStore::of_static_keys(fixed, allowed)?,
            #[cfg(feature = "jwks")]
            PolicyKeys::Discovery | PolicyKeys::Jwks(_) => {
                use crate::jwks::{Fetch, PolicyKeySource};
                let fetch = match self.keys {
                    PolicyKeys::Jwks(url) => Fetch::Jwks(url),
                    _ => Fetch::Discovery(self.issuers[0].clone()),
                };
                let starter = maker.starter.as_ref().ok_or(ConfigError::NoTokioRuntime)?;
                starter.policy_store(PolicyKeySource {
                    fetch,
                    fixed,
                    allowed: allowed.map(<[Algorithm]>::to_vec),
                })?
            }
        };
        let mut rules = maker.base.clone();
        rules.issuers.clone_from(&self.issuers);
        rules.audiences = self.audiences;
        rules.any_audience = self.any_audience;
        if let Some(resource) = &maker.resource
            && rules.audiences.is_empty()
            && !rules.any_audience
        {
            rules.audiences.push(resource.clone());
        }
        if let Some(leeway) = self.leeway {
            rules.leeway = leeway;
        }
        if let Some(required) = self.required {
            rules.required = required;
        }
        let policy = Policy {
            rules: rules.check()?,
            mapping: self.grants.build()?,
            name: Some(Arc::new(self.issuers[0].clone())),
        };
        Ok((self.issuers, store, policy))
    }
}

/// The first name that `names` holds twice, if any.
pub(crate) fn repeated(names: &[String]) -> Option<&String> {
    names
        .iter()
        .enumerate()
        .find_map(|(i, name)| names[i + 1..].iter().find(|other| *other == name))
}

/// Issuers trusted at run time: tenants onboarded while the layer serves, and removed the
/// same way. Give a clone to [`JwtAuthBuilder::trusted_issuers`](crate::JwtAuthBuilder::trusted_issuers)
/// and keep one to [`add`](Self::add) and [`remove`](Self::remove) issuers; each change
/// holds from the next request on.
///
/// Only the issuers added here (and the layer's own) are trusted: a token naming any other
/// `iss` is refused before any key is fetched, so a flood of made-up issuers costs nothing.
/// An added issuer's keys are fetched when it is added. Tokens of these issuers are not
/// kept in the layer's [token cache](crate::JwtAuthBuilder::token_cache), so that a
/// removed issuer's tokens stop at once.
///
/// ```
/// use tower_jwt_auth::tenant::{IssuerPolicy, TrustedIssuers};
/// use tower_jwt_auth::{Algorithm, JwtAuthLayer, RegisteredClaims};
///
/// let tenants = TrustedIssuers::new();
/// let layer = JwtAuthLayer::<RegisteredClaims>::builder()
///     .trusted_issuers(tenants.clone())
///     .build()
///     .unwrap();
/// // Later, as a tenant is onboarded (with feature `jwks`, `IssuerPolicy::oidc(..)`):
/// tenants
///     .add(
///         IssuerPolicy::with_keys("https://idp.new-tenant.example")
///             .hmac_secret(b"the new tenant's thirty-two bytes!", Algorithm::HS256)
///             .audience("notes-api"),
///     )
///     .unwrap();
/// // And offboarded:
/// assert!(tenants.remove("https://idp.new-tenant.example"));
/// ```
#[derive(Clone, Default)]
pub struct TrustedIssuers {
    inner: Arc<Registry>,
}

#[derive(Default)]
struct Registry {
    tenants: Arc<Tenants>,
    /// The application's resolver and its capacity, until the layer is built.
    resolver: Mutex<Option<(AppResolver, usize)>>,
    /// Added before the layer was built: made when it is.
    pending: Mutex<Vec<IssuerPolicy>>,
    /// The layer's, once built; and the names its own policies go by.
    layer: OnceLock<(Maker, Vec<String>)>,
}

/// What [`TrustedIssuers::resolve_with`] asks about an issuer no one added.
type ResolveIssuer = dyn Fn(&str) -> Option<IssuerPolicy> + Send + Sync;

/// What [`TrustedIssuers::resolve_with_async`] asks about an issuer no one added.
#[cfg(feature = "jwks")]
type ResolveIssuerLater =
    dyn Fn(&str) -> Pin<Box<dyn Future<Output = Option<IssuerPolicy>> + Send>> + Send + Sync;

/// The application's resolver.
#[derive(Clone)]
enum AppResolver {
    Now(Arc<ResolveIssuer>),
    /// With the longest a lookup may take.
    #[cfg(feature = "jwks")]
    Later(Arc<ResolveIssuerLater>, Duration),
}

impl TrustedIssuers {
    /// An empty registry.
    pub fn new() -> Self {
        TrustedIssuers::default()
    }

    /// Also trusts issuers no one [`add`](Self::add)ed, on first sight: a token naming an
    /// issuer the layer does not know yet is checked against the policy `resolve` gives for
    /// that `iss` (one that goes by it), or refused when it gives none. At most `capacity`
    /// issuers made so are kept; beyond, the one made longest ago is forgotten, and asked
    /// about again when a token names it.
    ///
    /// `resolve` runs on the request path, one call at a time, for every token naming an
    /// issuer not trusted yet (every unknown `iss` a client makes up included): answer from
    /// memory — an allow-list of onboarded tenants, a pattern — never by a network call. A
    /// `None` costs nothing else: no key is fetched for an issuer it does not trust. To
    /// offboard a tenant, stop answering for it and [`remove`](Self::remove) it.
    ///
    /// A policy that fetches keys starts fetching when it is made: that first request, and
    /// those until the keys arrive, get `503` with `Retry-After`. A registry has one
    /// resolver: once its layer is built, a second call changes nothing.
    ///
    /// ```
    /// use std::collections::HashSet;
    /// use std::sync::{Arc, RwLock};
    /// use tower_jwt_auth::tenant::{IssuerPolicy, TrustedIssuers};
    /// use tower_jwt_auth::{Algorithm, JwtAuthLayer, RegisteredClaims};
    ///
    /// // Entra ID multi-tenant apps: `iss` is `https://login.microsoftonline.com/{tid}/v2.0`,
    /// // every tenant's keys at the same URL; trust the tenants onboarded.
    /// let onboarded: Arc<RwLock<HashSet<String>>> = Arc::default();
    /// let known = Arc::clone(&onboarded);
    /// let tenants = TrustedIssuers::new().resolve_with(1_000, move |iss| {
    ///     let tid = iss
    ///         .strip_prefix("https://login.microsoftonline.com/")?
    ///         .strip_suffix("/v2.0")?;
    ///     if !known.read().unwrap().contains(tid) {
    ///         return None;
    ///     }
    /// #   #[cfg(feature = "jwks")]
    ///     return Some(
    ///         IssuerPolicy::jwks(iss, "https://login.microsoftonline.com/common/discovery/v2.0/keys")
    ///             .audience("api://notes"),
    ///     );
    /// #   #[cfg(not(feature = "jwks"))]
    /// #   None
    /// });
    /// # let _ = tenants;
    /// ```
    #[must_use]
    pub fn resolve_with(
        self,
        capacity: usize,
        resolve: impl Fn(&str) -> Option<IssuerPolicy> + Send + Sync + 'static,
    ) -> Self {
        self.set_resolver(AppResolver::Now(Arc::new(resolve)), capacity)
    }

    /// [`resolve_with`](Self::resolve_with) for an answer that takes a round trip — a
    /// tenant table in a database, a directory service. A token naming an issuer not
    /// trusted yet waits for the lookup of that issuer, which every request naming it
    /// meanwhile shares (one lookup per issuer at a time), then is decided again: checked
    /// against the policy given, or refused (`401 invalid_token`) when there is none, or
    /// none came within `timeout`. The lookup runs as a task on the request's Tokio runtime.
    ///
    /// Refusals are not kept: the next token naming that issuer is asked about again. At
    /// most 32 issuers are looked up at once; a token naming yet another unknown issuer is
    /// refused meanwhile, so a flood of made-up issuers keeps at most 32 lookups running
    /// and never delays the issuers already trusted. [`Verifier::verify`](crate::Verifier::verify),
    /// which cannot wait, refuses an issuer not trusted yet; `verify_async` waits as the
    /// layer does.
    ///
    /// ```
    /// use std::time::Duration;
    /// use tower_jwt_auth::tenant::{IssuerPolicy, TrustedIssuers};
    /// use tower_jwt_auth::Algorithm;
    ///
    /// # async fn tenant_secret(_tid: &str) -> Option<String> { None }
    /// let tenants = TrustedIssuers::new().resolve_with_async(1_000, Duration::from_secs(2), |iss| {
    ///     let iss = iss.to_owned();
    ///     async move {
    ///         let tid = iss.strip_prefix("https://idp.example.com/tenants/")?;
    ///         let secret = tenant_secret(tid).await?; // your database
    ///         Some(IssuerPolicy::with_keys(iss.as_str()).hmac_secret(secret, Algorithm::HS256))
    ///     }
    /// });
    /// # let _ = tenants;
    /// ```
    #[cfg(feature = "jwks")]
    #[must_use]
    pub fn resolve_with_async<F, Fut>(self, capacity: usize, timeout: Duration, resolve: F) -> Self
    where
        F: Fn(&str) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Option<IssuerPolicy>> + Send + 'static,
    {
        let resolve: Arc<ResolveIssuerLater> = Arc::new(move |iss| Box::pin(resolve(iss)));
        self.set_resolver(AppResolver::Later(resolve, timeout), capacity)
    }

    fn set_resolver(self, resolve: AppResolver, capacity: usize) -> Self {
        match self.inner.layer.get() {
            Some((maker, fixed)) => {
                install(&self.inner.tenants, maker, fixed, resolve, capacity);
            }
            None => {
                let mut pending = self
                    .inner
                    .resolver
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner);
                *pending = Some((resolve, capacity));
            }
        }
        self
    }

    /// Trusts the issuer of `policy` from the next request on, replacing an issuer that
    /// went by one of its names. Before the registry's layer is built, the policy is kept
    /// and checked at `build()`.
    ///
    /// # Errors
    /// What `build()` would say of the policy; [`ConfigError::DuplicateIssuer`] for a
    /// name the layer trusts with a policy of its own; [`ConfigError::NoTokioRuntime`]
    /// for a policy that fetches keys when the layer was built outside a Tokio runtime.
    pub fn add(&self, policy: IssuerPolicy) -> Result<(), ConfigError> {
        let Some((maker, fixed)) = self.inner.layer.get() else {
            lock(&self.inner.pending).push(policy);
            return Ok(());
        };
        self.make(policy, maker, fixed)
    }

    fn make(
        &self,
        policy: IssuerPolicy,
        maker: &Maker,
        fixed: &[String],
    ) -> Result<(), ConfigError> {
        if let Some(taken) = policy.issuers.iter().find(|name| fixed.contains(name)) {
            return Err(ConfigError::DuplicateIssuer(taken.clone()));
        }
        let (names, store, policy) = policy.make(maker)?;
        self.inner.tenants.insert(&names, Tenant { store, policy });
        Ok(())
    }

    /// Stops trusting the issuer that goes by `issuer` (under all its names) from the next
    /// request on; whether one did.
    pub fn remove(&self, issuer: &str) -> bool {
        lock(&self.inner.pending).retain(|p| !p.issuers.iter().any(|name| name == issuer));
        self.inner.tenants.remove(issuer)
    }

    /// Whether a token naming `issuer` is trusted through this registry now (without asking
    /// the resolver of [`resolve_with`](Self::resolve_with)).
    pub fn contains(&self, issuer: &str) -> bool {
        self.inner.tenants.contains(issuer)
    }

    /// Binds the registry to the layer being built, and makes what was added before.
    pub(crate) fn bind(
        &self,
        maker: Maker,
        fixed: Vec<String>,
    ) -> Result<Arc<Tenants>, ConfigError> {
        if self.inner.layer.set((maker, fixed)).is_err() {
            return Err(ConfigError::RegistryInUse);
        }
        let (maker, fixed) = self.inner.layer.get().expect("set above");
        let pending = std::mem::take(&mut *lock(&self.inner.pending));
        for policy in pending {
            self.make(policy, maker, fixed)?;
        }
        let resolve = self.inner.resolver.lock();
        if let Some((resolve, capacity)) = resolve.unwrap_or_else(PoisonError::into_inner).take() {
            install(&self.inner.tenants, maker, fixed, resolve, capacity);
        }
        Ok(Arc::clone(&self.inner.tenants))
    }
}

impl fmt::Debug for TrustedIssuers {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TrustedIssuers")
            .field("issuers", &self.inner.tenants.names())
            .finish_non_exhaustive()
    }
}

/// Gives the core the application's resolver, around [`made`].
fn install(
    tenants: &Tenants,
    maker: &Maker,
    fixed: &[String],
    resolve: AppResolver,
    capacity: usize,
) {
    let (maker, fixed) = (maker.clone(), fixed.to_vec());
    match resolve {
        AppResolver::Now(resolve) => {
            let resolve = move |iss: &str| made(&maker, &fixed, iss, resolve(iss)?);
            tenants.set_resolver(Box::new(resolve), capacity);
        }
        #[cfg(feature = "jwks")]
        AppResolver::Later(resolve, timeout) => {
            let start = move |iss: &str, done: Resolved| {
                let done = Done(Some(done));
                let Ok(runtime) = tokio::runtime::Handle::try_current() else {
                    tracing::warn!(issuer = ?iss, "resolve_with_async needs a Tokio runtime: the issuer is refused");
                    return;
                };
                let lookup = resolve(iss);
                let (maker, fixed, iss) = (maker.clone(), fixed.clone(), iss.to_owned());
                runtime.spawn(async move {
                    let policy = tokio::time::timeout(timeout, lookup).await.unwrap_or_else(|_| {
                        tracing::warn!(issuer = ?iss, ?timeout, "resolve_with_async did not answer in time: the issuer is refused");
                        None
                    });
                    done.answer(policy.and_then(|policy| made(&maker, &fixed, &iss, policy)));
                });
            };
            tenants.set_resolver_later(Box::new(start), capacity);
        }
    }
}

/// Ends a lookup exactly once: with its answer, or with none when it is dropped unanswered
/// (the application's future panicked, the runtime shut down), so that no request waits
/// for it forever.
#[cfg(feature = "jwks")]
struct Done(Option<Resolved>);

#[cfg(feature = "jwks")]
impl Done {
    fn answer(mut self, made: Option<(Vec<String>, Tenant)>) {
        if let Some(done) = self.0.take() {
            done(made);
        }
    }
}

#[cfg(feature = "jwks")]
impl Drop for Done {
    fn drop(&mut self) {
        if let Some(done) = self.0.take() {
            done(None);
        }
    }
}

/// The application's answer about `iss`, made into a tenant as `add` makes one. A policy
/// that does not go by the `iss` asked about, or that names an issuer the layer trusts with
/// a policy of its own, is not trusted; one that cannot be made is logged.
fn made(
    maker: &Maker,
    fixed: &[String],
    iss: &str,
    policy: IssuerPolicy,
) -> Option<(Vec<String>, Tenant)> {
    if !policy.issuers.iter().any(|name| name == iss)
        || policy.issuers.iter().any(|name| fixed.contains(name))
    {
        return None;
    }
    match policy.make(maker) {
        Ok((names, store, policy)) => Some((names, Tenant { store, policy })),
        Err(err) => {
            tracing::warn!(issuer = ?iss, error = %err, "an issuer policy from the resolver cannot be used");
            None
        }
    }
}

fn lock(pending: &Mutex<Vec<IssuerPolicy>>) -> std::sync::MutexGuard<'_, Vec<IssuerPolicy>> {
    pending.lock().unwrap_or_else(PoisonError::into_inner)
}

/// The trusted issuer a request's token came from, in the request's extensions when the
/// token passed an [`IssuerPolicy`]: its name, as the policy was made with.
///
/// ```
/// # #[cfg(feature = "axum")] {
/// use axum::Extension;
/// use tower_jwt_auth::tenant::TrustedIssuer;
///
/// async fn handler(Extension(tenant): Extension<TrustedIssuer>) -> String {
///     format!("hello, user of {}", tenant.as_str())
/// }
/// # }
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct TrustedIssuer(pub(crate) Arc<String>);

impl TrustedIssuer {
    /// The issuer's name.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for TrustedIssuer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}
