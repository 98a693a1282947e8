//! [`JwtAuthBuilder`]: every option of a layer, checked once at `build()` so that requests
//! never have to. It assembles the verification core ([`Verifier`]: keys, remote key
//! sources, claim rules, cache, revocation) and the shell around it (token sources,
//! optional mode, rejections).

use std::collections::HashSet;
use std::marker::PhantomData;
use std::sync::Arc;
use std::time::Duration;

use jsonwebtoken::crypto::CryptoProvider;
use jsonwebtoken::jwk::{Jwk, JwkSet};
use jsonwebtoken::{AlgorithmFamily, DecodingKey};
use serde::de::DeserializeOwned;

use crate::dpop::DpopOptions;
use crate::extract::TokenSource;
use crate::metadata::ResourceMetadata;
use crate::response::{DEFAULT_REALM, DefaultErrorResponse, Rejections, is_quotable};
use crate::service::Shared;
use crate::tenant::{IssuerPolicy, Maker, TrustedIssuers, repeated};
#[cfg(not(feature = "jwks"))]
use crate::verifier::key_store::KeyStore;
use crate::verifier::keys::{KeyInput, KeySet};
use crate::verifier::mapping::GrantSources;
use crate::verifier::revocation::{OnStoreError, RevocationCheck, RevocationStore};
use crate::verifier::rules::Rules;
use crate::verifier::{Claim, Config, Policy, TokenCache, Verifier, install_crypto_provider};
use crate::{Algorithm, AuthError, ConfigError, JwtAuthLayer};

/// The default maximum token length: far above any real JWT, far below a header limit.
pub(crate) const DEFAULT_MAX_TOKEN_SIZE: usize = 8 * 1024;

impl<C> JwtAuthLayer<C>
where
    C: DeserializeOwned + Clone + Send + Sync + 'static,
{
    /// The common case: one key, one algorithm, `exp` required, the token read from
    /// `Authorization: Bearer`.
    ///
    /// # Errors
    /// [`ConfigError`] if the key does not belong to `algorithm`'s family, an HMAC secret is
    /// too short, or no crypto provider is available.
    pub fn new(key: DecodingKey, algorithm: Algorithm) -> Result<Self, ConfigError> {
        Self::builder().key(key, algorithm).build()
    }

    /// A builder for everything else: several keys, JWKs, issuers, audiences, token
    /// sources, optional mode, custom error bodies.
    pub fn builder() -> JwtAuthBuilder<C> {
        JwtAuthBuilder::new()
    }
}

/// Configures a [`JwtAuthLayer`]; every mistake is reported by [`build`](Self::build).
///
/// ```
/// use std::time::Duration;
/// use tower_jwt_auth::claims::Claim;
/// use tower_jwt_auth::{Algorithm, JwtAuthLayer, RegisteredClaims, TokenSource};
///
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// # let jwks = r#"{"keys":[{"kty":"EC","crv":"P-256","kid":"k1",
/// #   "x":"GL5zS8QcTdYFmHFKpHjxrl1rqMERUYvNqPyXwE9JmpY",
/// #   "y":"FnzRvaYDZYfb6rr98cv7eKmZfYqrAUbTKi-7AK1ssD0"}]}"#;
/// let auth = JwtAuthLayer::<RegisteredClaims>::builder()
///     .jwks_json(jwks) // or .jwk(..), .key(..), .public_key_pem(..), .oidc_issuer(..)
///     .algorithms([Algorithm::RS256, Algorithm::ES256]) // the allow-list
///     .issuer("https://auth.example.com")
///     .audience("https://api.example.com")
///     .leeway(Duration::from_secs(10))
///     .required_claims([Claim::Exp, Claim::Sub])
///     .token_sources([TokenSource::Bearer, TokenSource::cookie("access_token")])
///     .build()?; // every mistake is reported here
/// # let _ = auth;
/// # Ok(())
/// # }
/// ```
///
/// # Options and their defaults
///
/// | option | default |
/// |---|---|
/// | keys: [`key`](Self::key), [`key_with_kid`](Self::key_with_kid), [`hmac_secret`](Self::hmac_secret), [`public_key_pem`](Self::public_key_pem), [`public_key_der`](Self::public_key_der), [`jwk`](Self::jwk), [`jwks`](Self::jwks), [`jwks_json`](Self::jwks_json); remote: `jwks_url`, `oidc_issuer` (feature `jwks`); per issuer: [`issuer_policy`](Self::issuer_policy), [`trusted_issuers`](Self::trusted_issuers) | at least one source of keys is required, or `introspection` |
/// | [`algorithms`](Self::algorithms) | the algorithms of the configured keys |
/// | [`issuer`](Self::issuer) / [`issuers`](Self::issuers), [`audience`](Self::audience) / [`audiences`](Self::audiences) | not checked; once set, the claim is required. A token that carries `aud` is refused unless an audience is configured (or [`accept_any_audience`](Self::accept_any_audience)) |
/// | [`leeway`](Self::leeway) (on `exp`, `nbf`) | 30 s, at most 300 s |
/// | [`required_claims`](Self::required_claims) | `exp` |
/// | [`token_sources`](Self::token_sources) | `Authorization: Bearer` |
/// | [`optional`](Self::optional) | off: a request without a token is refused |
/// | [`allow_cors_preflight`](Self::allow_cors_preflight) | off |
/// | [`max_token_size`](Self::max_token_size) | 8 KiB |
/// | [`realm`](Self::realm) | `"api"` |
/// | [`error_response`](Self::error_response) | empty body (see [`response`](crate::response)) |
/// | [`token_cache`](Self::token_cache) | off: every request checks the signature |
/// | [`required_typ`](Self::required_typ)`("at+jwt")` | any `typ` but `refresh+jwt` and `dpop+jwt`: set it to keep ID tokens out too (RFC 8725 §3.11) |
/// | [`max_token_age`](Self::max_token_age), [`max_token_lifetime`](Self::max_token_lifetime) | no bound beyond `exp` |
/// | [`revocation`](Self::revocation), [`on_revocation_store_error`](Self::on_revocation_store_error) | no revocation check; with a store, fail closed (`503`) when it cannot answer |
/// | [`scopes_from`](Self::scopes_from), [`roles_from`](Self::roles_from), [`require_claim`](Self::require_claim) | scopes from `scope`/`scp`, roles from `roles`; no further claim required |
/// | [`dpop`](Self::dpop), [`resource_metadata`](Self::resource_metadata) | off |
/// | `introspection` (feature `jwks`; the `introspection` module) | off: a token that is not a JWT is refused as malformed |
///
/// **Keys and `kid`.** A key configured with a `kid` only verifies tokens whose header
/// names exactly that `kid`. A key without one verifies tokens that have none, and, when
/// every key is static, tokens whose `kid` names no configured key. With remote keys, an
/// unknown `kid` is never tried with the keys that lack one: it asks for a refetch (see
/// [`jwks`](crate::jwks)).
///
/// **Dates** may be non-integer (`"exp": 1700000000.5`, RFC 7519 §2): they pass, in whole
/// seconds (`exp` rounded up, `nbf` and `iat` down).
#[must_use = "call .build() to get the layer"]
#[derive(Clone)]
pub struct JwtAuthBuilder<C, R = DefaultErrorResponse> {
    keys: Vec<KeyInput>,
    algorithms: Option<Vec<Algorithm>>,
    rules: Rules,
    required_typ: Option<String>,
    sources: Vec<TokenSource>,
    max_token_size: usize,
    optional: bool,
    pass_rejections: bool,
    cors_preflight: bool,
    realm: String,
    metadata: Option<ResourceMetadata>,
    dpop: Option<DpopOptions>,
    provider: Option<&'static CryptoProvider>,
    cache_capacity: Option<usize>,
    revocation: Option<Arc<dyn RevocationStore>>,
    on_store_error: OnStoreError,
    keep_token_ids: bool,
    grants: GrantSources,
    /// Trusted issuers, each with its own policy.
    policies: Vec<IssuerPolicy>,
    /// Issuers trusted at run time.
    registry: Option<TrustedIssuers>,
    #[cfg(feature = "jwks")]
    remote: crate::jwks::RemoteConfig,
    #[cfg(feature = "jwks")]
    introspection: Option<crate::introspection::Introspection>,
    error_response: R,
    _claims: PhantomData<fn() -> C>,
}

impl<C, R> std::fmt::Debug for JwtAuthBuilder<C, R> {
    // Keys and secrets stay out of logs: only what shapes the checks.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JwtAuthBuilder")
            .field("keys", &self.keys.len())
            .field("algorithms", &self.algorithms)
            .field("rules", &self.rules)
            .field("required_typ", &self.required_typ)
            .field("sources", &self.sources)
            .field("max_token_size", &self.max_token_size)
            .field("optional", &self.optional)
            .field("issuer_policies", &self.policies.len())
            .field("dpop", &self.dpop.is_some())
            .field("token_cache", &self.cache_capacity)
            .field("revocation", &self.revocation.is_some())
            .finish_non_exhaustive()
    }
}

impl<C> JwtAuthBuilder<C> {
    pub(crate) fn new() -> Self {
        JwtAuthBuilder {
            keys: Vec::new(),
            algorithms: None,
            rules: Rules::default(),
            required_typ: None,
            sources: vec![TokenSource::Bearer],
            max_token_size: DEFAULT_MAX_TOKEN_SIZE,
            optional: false,
            pass_rejections: false,
            cors_preflight: false,
            realm: DEFAULT_REALM.to_owned(),
            metadata: None,
            dpop: None,
            provider: None,
            cache_capacity: None,
            revocation: None,
            on_store_error: OnStoreError::default(),
            keep_token_ids: false,
            grants: GrantSources::default(),
            policies: Vec::new(),
            registry: None,
            #[cfg(feature = "jwks")]
            remote: crate::jwks::RemoteConfig::default(),
            #[cfg(feature = "jwks")]
            introspection: None,
            error_response: DefaultErrorResponse,
            _claims: PhantomData,
        }
    }
}

impl<C, R> JwtAuthBuilder<C, R> {
    /// Adds a key that verifies tokens signed with `algorithm` and any `kid` that no other
    /// key claims.
    pub fn key(mut self, key: DecodingKey, algorithm: Algorithm) -> Self {
        self.keys.push(KeyInput::Key {
            kid: None,
            key,
            algorithm,
        });
        self
    }

    /// Adds a key that only verifies tokens whose header has exactly this `kid`.
    pub fn key_with_kid(
        mut self,
        kid: impl Into<String>,
        key: DecodingKey,
        algorithm: Algorithm,
    ) -> Self {
        self.keys.push(KeyInput::Key {
            kid: Some(kid.into()),
            key,
            algorithm,
        });
        self
    }

    /// Adds an HMAC secret for `HS256`, `HS384` or `HS512`. It must be at least as long as
    /// the hash (32, 48 or 64 bytes).
    pub fn hmac_secret(self, secret: impl AsRef<[u8]>, algorithm: Algorithm) -> Self {
        let key = DecodingKey::from_secret(secret.as_ref());
        self.key_or_error(key, algorithm, "the HMAC secret is empty")
    }

    /// Adds a PEM public key (RSA, EC or Ed25519, chosen by `algorithm`'s family).
    pub fn public_key_pem(self, pem: impl AsRef<[u8]>, algorithm: Algorithm) -> Self {
        match pem_key(pem.as_ref(), algorithm) {
            Ok(key) => self.key(key, algorithm),
            Err(err) => self.invalid(err),
        }
    }

    /// Adds a DER public key, in either of two encodings: a `SubjectPublicKeyInfo` (what
    /// `openssl pkey -pubin -outform DER` writes, the body of a `PUBLIC KEY` PEM), whose
    /// algorithm must fit `algorithm`'s family; or the bare key — PKCS#1 `RSAPublicKey` for
    /// RSA, the uncompressed point for EC, the 32 raw bytes for Ed25519 (what `ring` and
    /// `aws-lc-rs` take).
    pub fn public_key_der(self, der: impl AsRef<[u8]>, algorithm: Algorithm) -> Self {
        let der = match crate::spki::key_of(der.as_ref(), algorithm.family()) {
            Ok(key) => key,
            Err(why) => return self.invalid(ConfigError::invalid_key(why)),
        };
        let key = match algorithm.family() {
            AlgorithmFamily::Rsa => DecodingKey::from_rsa_der(der),
            AlgorithmFamily::Ec => DecodingKey::from_ec_der(der),
            AlgorithmFamily::Ed => DecodingKey::from_ed_der(der),
            AlgorithmFamily::Hmac => {
                return self.invalid(ConfigError::KeyFamilyMismatch { algorithm });
            }
        };
        self.key(key, algorithm)
    }

    /// Adds a JWK. Its `kid`, `alg`, `use` and `key_ops` are honoured; a key that is not
    /// for verifying signatures is skipped.
    pub fn jwk(mut self, jwk: Jwk) -> Self {
        self.keys.push(KeyInput::Jwk(Box::new(jwk)));
        self
    }

    /// Adds every signature key of a JWKS document.
    pub fn jwks(mut self, jwks: JwkSet) -> Self {
        self.keys.push(KeyInput::Jwks(jwks));
        self
    }

    /// Adds every signature key of a JWKS document given as JSON text.
    pub fn jwks_json(self, json: &str) -> Self {
        match serde_json::from_str::<JwkSet>(json) {
            Ok(set) => self.jwks(set),
            Err(e) => self.invalid(ConfigError::unreadable_key("the JWKS is not valid JSON", e)),
        }
    }

    /// Sets the algorithm allow-list. Without it, the algorithms of the configured keys are
    /// allowed. A token whose `alg` is not listed is refused before any key is looked at.
    pub fn algorithms(mut self, algorithms: impl IntoIterator<Item = Algorithm>) -> Self {
        self.algorithms = Some(algorithms.into_iter().collect());
        self
    }

    /// Accepts tokens from this issuer (`iss`); may be called several times. Once an issuer is
    /// set, `iss` is required.
    pub fn issuer(mut self, issuer: impl Into<String>) -> Self {
        self.rules.issuers.push(issuer.into());
        self
    }

    /// Accepts tokens from any of these issuers.
    pub fn issuers<I: Into<String>>(mut self, issuers: impl IntoIterator<Item = I>) -> Self {
        self.rules
            .issuers
            .extend(issuers.into_iter().map(Into::into));
        self
    }

    /// Accepts tokens for this audience (`aud`); may be called several times. Once an
    /// audience is set, `aud` is required and must name one of them.
    ///
    /// With no audience configured, a token that carries `aud` is refused (RFC 7519
    /// §4.1.3) unless [`accept_any_audience`](Self::accept_any_audience) is called.
    pub fn audience(mut self, audience: impl Into<String>) -> Self {
        self.rules.audiences.push(audience.into());
        self
    }

    /// Accepts tokens for any of these audiences.
    pub fn audiences<I: Into<String>>(mut self, audiences: impl IntoIterator<Item = I>) -> Self {
        self.rules
            .audiences
            .extend(audiences.into_iter().map(Into::into));
        self
    }

    /// Relaxation: with no audience configured, accepts tokens whatever their `aud` says.
    /// Only sound when every token of your issuer is meant for this service.
    pub fn accept_any_audience(mut self) -> Self {
        self.rules.any_audience = true;
        self
    }

    /// Clock skew tolerated on `exp` and `nbf` (default 30 s, at most 300 s).
    pub fn leeway(mut self, leeway: Duration) -> Self {
        self.rules.leeway = leeway;
        self
    }

    /// Sets the claims that must be present (default: `exp` alone). Leaving `exp` out is a
    /// relaxation: tokens without expiry live forever.
    pub fn required_claims(mut self, claims: impl IntoIterator<Item = Claim>) -> Self {
        self.rules.required = claims.into_iter().collect::<HashSet<_>>();
        self
    }

    /// Requires every token to declare this type in its header (`typ`), compared
    /// case-insensitively with `application/` optional: `"at+jwt"` accepts RFC 9068 access
    /// tokens and refuses refresh or ID tokens from the same issuer (RFC 8725 §3.11).
    ///
    /// Without it, any `typ` passes except the types that are never access tokens:
    /// `refresh+jwt` (a [`TokenIssuer`](crate::issue::TokenIssuer)'s refresh tokens, which carry the
    /// same `iss`, `aud` and `sub`) and `dpop+jwt` (a DPoP proof).
    pub fn required_typ(mut self, typ: impl Into<String>) -> Self {
        self.required_typ = Some(typ.into());
        self
    }

    /// Refuses tokens issued (`iat`) longer than `age` ago, whatever their `exp`; `iat` is
    /// then required. Checked again on every cache hit.
    pub fn max_token_age(mut self, age: Duration) -> Self {
        self.rules.max_age = Some(age);
        self
    }

    /// Refuses tokens whose lifetime, `exp - iat`, is longer than `lifetime`: an issuer
    /// bug or a stolen signing key minting near-eternal tokens. `exp` and `iat` are then
    /// required.
    pub fn max_token_lifetime(mut self, lifetime: Duration) -> Self {
        self.rules.max_lifetime = Some(lifetime);
        self
    }

    /// Where to look for the token, in order (default: `Authorization: Bearer` alone).
    pub fn token_sources(mut self, sources: impl IntoIterator<Item = TokenSource>) -> Self {
        self.sources = sources.into_iter().collect();
        self
    }

    /// Optional mode: a request without any token goes through without claims (a bad token
    /// is still refused). Handlers then read `Option<C>` from the extensions.
    pub fn optional(mut self, optional: bool) -> Self {
        self.optional = optional;
        self
    }

    /// Passes every request on to the inner service, refused or not: a request the layer
    /// would refuse (no token, a bad one, a revoked one, keys unavailable…) goes on without
    /// claims, carrying an [`Unauthenticated`](crate::response::Unauthenticated) that says why and
    /// how the layer would have answered — for a handler that decides itself (a page that
    /// shows a login link, an API that answers in its own format). It never carries claims
    /// the layer did not verify: those of a token refused after it was read (revoked, say)
    /// are taken out again. axum's [`Claims`](crate::Claims) still answers as the layer
    /// would; `Option<Claims<C>>` gives `None`.
    pub fn pass_rejections(mut self, pass: bool) -> Self {
        self.pass_rejections = pass;
        self
    }

    /// Lets CORS preflight requests (`OPTIONS` with `Origin` and
    /// `Access-Control-Request-Method`) through without a token, as browsers send none.
    pub fn allow_cors_preflight(mut self, allow: bool) -> Self {
        self.cors_preflight = allow;
        self
    }

    /// The longest token accepted, in bytes (default 8 KiB); longer ones are refused before
    /// any decoding.
    pub fn max_token_size(mut self, bytes: usize) -> Self {
        self.max_token_size = bytes;
        self
    }

    /// The realm named in `WWW-Authenticate` (default `"api"`).
    pub fn realm(mut self, realm: impl Into<String>) -> Self {
        self.realm = realm.into();
        self
    }

    /// Publishes this resource's RFC 9728 metadata: every challenge then names the document
    /// (`resource_metadata="…"`, RFC 9728 §5.1), and unless an audience is configured, tokens
    /// must be issued for the resource identifier (`aud`, RFC 8707). Serve the document with
    /// [`ResourceMetadata::service`] at [`ResourceMetadata::well_known_path`]; the layer does
    /// no routing of its own.
    ///
    /// ```
    /// use tower_jwt_auth::metadata::ResourceMetadata;
    /// use tower_jwt_auth::{Algorithm, JwtAuthLayer, RegisteredClaims};
    ///
    /// let metadata = ResourceMetadata::new("https://mcp.example.com/mcp")
    ///     .authorization_server("https://auth.example.com")
    ///     .scopes_supported(["tools:call"]);
    /// let auth = JwtAuthLayer::<RegisteredClaims>::builder()
    ///     .hmac_secret(b"at least thirty-two bytes of secret!", Algorithm::HS256)
    ///     .resource_metadata(metadata.clone())
    ///     .build()
    ///     .unwrap();
    /// // Router::new().route_service(&metadata.well_known_path(), metadata.service()?)
    /// ```
    pub fn resource_metadata(mut self, metadata: ResourceMetadata) -> Self {
        self.metadata = Some(metadata);
        self
    }

    /// Takes DPoP-bound tokens (RFC 9449): `Authorization: DPoP <token>` with a `DPoP`
    /// proof, checked as RFC 9449 §4.3 says; see [`dpop`](crate::dpop). Plain bearer tokens
    /// are refused unless [`DpopOptions::allow_bearer`]; a bound token is never taken as a
    /// bearer token, with or without this. [`DpopOptions::external_url`], the URL clients
    /// reach this server at, is required: `build()` fails without it.
    ///
    /// ```
    /// use tower_jwt_auth::dpop::DpopOptions;
    /// use tower_jwt_auth::{Algorithm, JwtAuthLayer, RegisteredClaims};
    ///
    /// let auth = JwtAuthLayer::<RegisteredClaims>::builder()
    ///     .hmac_secret(b"at least thirty-two bytes of secret!", Algorithm::HS256)
    ///     .dpop(DpopOptions::default().external_url(Some("https://api.example.com".into())))
    ///     .build()
    ///     .unwrap();
    /// ```
    pub fn dpop(mut self, options: DpopOptions) -> Self {
        self.dpop = Some(options);
        self
    }

    /// Uses this jsonwebtoken crypto provider instead of the process default.
    pub fn crypto_provider(mut self, provider: &'static CryptoProvider) -> Self {
        self.provider = Some(provider);
        self
    }

    /// Keeps up to `max_tokens` verified tokens, so that a token presented again skips the
    /// signature check: worth it for RS*, PS*, ES* and EdDSA, whose checks cost tens of
    /// microseconds; HS* checks cost about what a lookup does. Off by default.
    ///
    /// A hit still has its `exp` and `nbf` checked, an entry is only ever found by the
    /// exact token that created it, and entries made before a key set change are ignored.
    /// Each entry holds the token and a clone of its claims; each thread also keeps the
    /// entry of its last hit, so that a token presented again and again is found without
    /// a lock.
    pub fn token_cache(mut self, max_tokens: usize) -> Self {
        self.cache_capacity = Some(max_tokens);
        self
    }

    /// Refuses revoked tokens: every verified token (cache hits included) is looked up in
    /// `store` by its `jti`, `sid`, and `sub` with `iat`. See
    /// [`revocation`](crate::revocation) for the stores and what a lookup costs. A store
    /// already shared (an `Arc<dyn RevocationStore>`, a [`TokenIssuer`](crate::issue::TokenIssuer)'s
    /// say) is a store too: pass it here.
    pub fn revocation(mut self, store: impl RevocationStore) -> Self {
        self.revocation = Some(Arc::new(store));
        self
    }

    /// [`revocation`](Self::revocation) with a shared store, which `revocation` now takes
    /// itself.
    #[deprecated(note = "pass the shared store to `revocation`: an `Arc` of a store is a store")]
    pub fn revocation_shared(self, store: Arc<dyn RevocationStore>) -> Self {
        self.revocation(store)
    }

    /// What to do when the revocation store cannot answer (default
    /// [`OnStoreError::Reject`]: 503, fail closed).
    pub fn on_revocation_store_error(mut self, on_error: OnStoreError) -> Self {
        self.on_store_error = on_error;
        self
    }

    /// Replaces the body (and any other header) of HTTP rejections; see
    /// [`ErrorResponse`](crate::response::ErrorResponse).
    pub fn error_response<R2>(self, error_response: R2) -> JwtAuthBuilder<C, R2> {
        JwtAuthBuilder {
            keys: self.keys,
            algorithms: self.algorithms,
            rules: self.rules,
            required_typ: self.required_typ,
            sources: self.sources,
            max_token_size: self.max_token_size,
            optional: self.optional,
            pass_rejections: self.pass_rejections,
            cors_preflight: self.cors_preflight,
            realm: self.realm,
            metadata: self.metadata,
            dpop: self.dpop,
            provider: self.provider,
            cache_capacity: self.cache_capacity,
            revocation: self.revocation,
            on_store_error: self.on_store_error,
            keep_token_ids: self.keep_token_ids,
            grants: self.grants,
            policies: self.policies,
            registry: self.registry,
            #[cfg(feature = "jwks")]
            remote: self.remote,
            #[cfg(feature = "jwks")]
            introspection: self.introspection,
            error_response,
            _claims: PhantomData,
        }
    }

    /// Checks the configuration and builds the layer.
    ///
    /// # Errors
    /// A [`ConfigError`] that says what to fix: no key, a key of the wrong family for its
    /// algorithm, a weak HMAC secret, an unreadable key, a leeway above 300 s, no crypto
    /// provider, …
    pub fn build(mut self) -> Result<JwtAuthLayer<C, R>, ConfigError> {
        let verifier = self.verifier()?;
        if self.sources.is_empty() {
            return Err(ConfigError::NoTokenSources);
        }
        for source in &self.sources {
            source.check()?;
        }
        if !is_quotable(&self.realm) {
            return Err(ConfigError::InvalidRealm);
        }
        let metadata_url = match &self.metadata {
            Some(metadata) => {
                metadata.check()?;
                Some(metadata.url())
            }
            None => None,
        };
        let dpop = match self.dpop {
            Some(options) => Some(options.check(verifier.config.provider)?),
            None => None,
        };
        let rejections = Rejections::new(
            &self.realm,
            metadata_url.as_deref(),
            dpop.as_ref()
                .map(|dpop| (dpop.algs.as_str(), dpop.allow_bearer)),
        );
        Ok(JwtAuthLayer::from_shared(Shared {
            verifier,
            sources: self.sources,
            optional: self.optional || self.pass_rejections,
            pass_rejections: self.pass_rejections,
            cors_preflight: self.cors_preflight,
            metadata: rejections.metadata(),
            rejections,
            dpop,
            error_response: self.error_response,
        }))
    }

    /// Checks the configuration and builds the verification core alone, for tokens that
    /// do not come in a request (the options of the request side — token sources, realm,
    /// optional mode, error bodies — are then unused). A layer's own is
    /// [`JwtAuthLayer::verifier`].
    ///
    /// # Errors
    /// A [`ConfigError`], as [`build`](Self::build) gives.
    pub fn build_verifier(mut self) -> Result<Verifier<C>, ConfigError> {
        self.verifier()
    }

    /// The verification core, from the options that belong to it (taken out of `self`,
    /// which keeps the request side's for [`build`](Self::build)).
    fn verifier(&mut self) -> Result<Verifier<C>, ConfigError> {
        let provider = match self.provider {
            Some(provider) => provider,
            None => install_crypto_provider()?,
        };
        let allowed = self.algorithms.as_deref();
        let fixed = KeySet::entries(std::mem::take(&mut self.keys), allowed, provider)?;
        #[cfg(feature = "jwks")]
        let default_has_keys = !fixed.is_empty() || self.remote.url.is_some();
        #[cfg(not(feature = "jwks"))]
        let default_has_keys = !fixed.is_empty();
        let policies = std::mem::take(&mut self.policies);
        let registry = self.registry.take();
        let per_issuer = !policies.is_empty() || registry.is_some();
        #[cfg(feature = "jwks")]
        let introspection = self.introspection.take();
        #[cfg(feature = "jwks")]
        let for_policies = per_issuer || introspection.is_some();
        #[cfg(not(feature = "jwks"))]
        let for_policies = per_issuer;
        #[cfg(feature = "jwks")]
        let crate::jwks::Stores {
            mut stores,
            oidc_issuers,
            starter,
        } = std::mem::take(&mut self.remote).stores(fixed, allowed, provider, for_policies)?;
        #[cfg(not(feature = "jwks"))]
        let (mut stores, oidc_issuers): (Vec<KeyStore>, Vec<String>) = if for_policies {
            (
                vec![KeyStore::fixed(KeySet::new(fixed, allowed))],
                Vec::new(),
            )
        } else {
            (vec![KeyStore::of_static_keys(fixed, allowed)?], Vec::new())
        };
        // OpenID issuers join the accepted issuers of the layer's own rules.
        let mut rules = std::mem::take(&mut self.rules);
        rules.issuers.extend(oidc_issuers.iter().cloned());
        let resource = self.metadata.as_ref().map(|m| m.resource().to_owned());
        // Each issuer policy takes the layer's rules for what it leaves unsaid.
        let maker = Maker {
            base: rules.clone(),
            allowed: self.algorithms.clone(),
            provider,
            resource: resource.clone(),
            #[cfg(feature = "jwks")]
            starter,
        };
        // A resource that publishes metadata takes only the tokens issued for it (RFC 8707).
        if let Some(resource) = resource
            && rules.audiences.is_empty()
            && !rules.any_audience
        {
            rules.audiences.push(resource);
        }
        let own = Policy {
            rules: rules.check()?,
            mapping: std::mem::take(&mut self.grants).build()?,
            name: None,
        };
        // The layer's own policy serves its keys and the OpenID issuers; then each issuer
        // policy its own store.
        let mut all = vec![own; 1 + oidc_issuers.len()];
        let mut tenants: Vec<Vec<String>> = oidc_issuers.into_iter().map(|i| vec![i]).collect();
        for policy in policies {
            let (names, store, policy) = policy.make(&maker)?;
            stores.push(store);
            all.push(policy);
            tenants.push(names);
        }
        let fixed_names: Vec<String> = tenants.iter().flatten().cloned().collect();
        if let Some(twice) = repeated(&fixed_names) {
            return Err(ConfigError::DuplicateIssuer(twice.clone()));
        }
        let dynamic = match registry {
            Some(registry) => Some(registry.bind(maker, fixed_names)?),
            None => None,
        };
        if self.max_token_size < 16 {
            return Err(ConfigError::MaxTokenSizeTooSmall);
        }
        let cache = match self.cache_capacity {
            Some(0) => return Err(ConfigError::EmptyTokenCache),
            Some(capacity) => Some(TokenCache::new(capacity)),
            None => None,
        };
        let revocation = self.revocation.take();
        #[cfg(feature = "jwks")]
        let introspection = match introspection {
            Some(introspection) => {
                let has_keys = default_has_keys || !tenants.is_empty() || dynamic.is_some();
                Some(introspection.start(has_keys, &tenants)?)
            }
            None => None,
        };
        let config = Config {
            provider,
            stores,
            tenants,
            policies: all,
            default_has_keys,
            dynamic,
            required_typ: self.required_typ.take(),
            max_token_size: self.max_token_size,
            keep_id: revocation.is_some() || self.keep_token_ids,
            revocation: revocation.map(|store| RevocationCheck {
                store,
                on_error: self.on_store_error,
            }),
            #[cfg(feature = "jwks")]
            introspection,
        };
        Ok(Verifier::new(config, cache))
    }

    /// Reads the token's scopes from these claim paths instead of `scope` and `scp`.
    ///
    /// A path is a JSON pointer (RFC 6901) into the claims: `/scp`, `/permissions`,
    /// `/cognito:groups`, `/realm_access/roles`; `{client_id}` stands for the value given to
    /// [`client_id`](Self::client_id). At the end of a path, a string grants each of its
    /// space-separated words, an array each of its strings; anything else grants nothing.
    /// The top-level members the paths start with are read in the payload's one pass, and a
    /// token that repeats one is refused. Paths of scopes, roles and required claims
    /// together may start at 8 distinct top-level members besides the registered ones;
    /// `build()` refuses more.
    ///
    /// ```
    /// use tower_jwt_auth::{Algorithm, JwtAuthLayer, RegisteredClaims};
    ///
    /// // Auth0 with RBAC: the API's permissions are in `permissions`.
    /// let layer = JwtAuthLayer::<RegisteredClaims>::builder()
    ///     .hmac_secret(b"at least thirty-two bytes of secret!", Algorithm::HS256)
    ///     .scopes_from(["/scope", "/permissions"])
    ///     .build()
    ///     .unwrap();
    /// ```
    pub fn scopes_from<P: Into<String>>(mut self, paths: impl IntoIterator<Item = P>) -> Self {
        self.grants.scopes_from(paths);
        self
    }

    /// Reads the token's roles from these claim paths instead of `roles` (see
    /// [`scopes_from`](Self::scopes_from) for the paths): Keycloak's
    /// `/realm_access/roles` and `/resource_access/{client_id}/roles`, Okta's `/groups`,
    /// Cognito's `/cognito:groups`.
    pub fn roles_from<P: Into<String>>(mut self, paths: impl IntoIterator<Item = P>) -> Self {
        self.grants.roles_from(paths);
        self
    }

    /// Requires the claim at `path` (a claim path, as in [`scopes_from`](Self::scopes_from))
    /// to hold one of `values`: a string equal to one, or an array holding one. A token
    /// without it, or with another value, is refused (`401 invalid_token`). For what a
    /// provider's documentation asks a resource server to check beyond `iss` and `aud` —
    /// Cognito's `token_use` and `client_id`, say.
    ///
    /// ```
    /// use tower_jwt_auth::{Algorithm, JwtAuthLayer, RegisteredClaims};
    ///
    /// let layer = JwtAuthLayer::<RegisteredClaims>::builder()
    ///     .hmac_secret(b"at least thirty-two bytes of secret!", Algorithm::HS256)
    ///     .require_claim("/token_use", ["access"])
    ///     .build()
    ///     .unwrap();
    /// ```
    pub fn require_claim<V: Into<String>>(
        mut self,
        path: impl Into<String>,
        values: impl IntoIterator<Item = V>,
    ) -> Self {
        self.grants.require(path, values, AuthError::InvalidClaims);
        self
    }

    /// Trusts an issuer with its own policy: its tokens are routed by `iss` to its keys and
    /// held to its audiences, claim mapping, required claims and leeway alone, never to
    /// another issuer's or to the layer's. See [`tenant`](crate::tenant).
    pub fn issuer_policy(mut self, policy: IssuerPolicy) -> Self {
        self.policies.push(policy);
        self
    }

    /// Also trusts the issuers of `registry`, which can be added and removed while the
    /// layer serves: tenants onboarded (or offboarded) at run time. A registry serves one
    /// layer. See [`TrustedIssuers`].
    pub fn trusted_issuers(mut self, registry: TrustedIssuers) -> Self {
        self.registry = Some(registry);
        self
    }

    /// The value of `{client_id}` in claim paths: your application's client id at the
    /// identity provider.
    pub fn client_id(mut self, client_id: impl Into<String>) -> Self {
        self.grants.client_id = Some(client_id.into());
        self
    }

    /// Keeps every verified token's ids even without a revocation store (the
    /// [`TokenIssuer`](crate::issue::TokenIssuer) revokes by them).
    pub(crate) fn keep_token_ids(mut self) -> Self {
        self.keep_token_ids = true;
        self
    }

    #[cfg(feature = "jwks")]
    /// Fetches keys from this JWKS URL, in the background, and keeps them fresh (feature
    /// `jwks`); they serve beside any static key. See [`jwks`](crate::jwks) for the refresh
    /// model. Enough on its own when the JWKs carry `alg`; otherwise list the algorithms
    /// with [`algorithms`](Self::algorithms). `build()` must then run inside a Tokio runtime.
    pub fn jwks_url(mut self, url: impl Into<String>) -> Self {
        self.remote.url = Some(url.into());
        self
    }

    #[cfg(feature = "jwks")]
    /// Trusts this OpenID provider (feature `jwks`): its keys come from the `jwks_uri` of
    /// `{issuer}/.well-known/openid-configuration`, whose `issuer` must be exactly this one,
    /// and its tokens must carry this `iss`. Call it once per provider: each token is checked
    /// with the keys of the issuer it names, and a token naming no configured issuer is
    /// refused before any key is fetched.
    pub fn oidc_issuer(mut self, issuer: impl Into<String>) -> Self {
        self.remote.issuers.push(issuer.into());
        self
    }

    #[cfg(feature = "jwks")]
    /// Asks the authorization server about tokens that are not JWTs (or about every token):
    /// OAuth 2.0 Token Introspection, RFC 7662 (feature `jwks`). See
    /// [`introspection`](crate::introspection). A layer with no keys of its own introspects
    /// every token. Call `build()` inside a Tokio runtime.
    pub fn introspection(mut self, introspection: crate::introspection::Introspection) -> Self {
        self.introspection = Some(introspection);
        self
    }

    #[cfg(feature = "jwks")]
    /// Replaces the HTTP client that fetches remote keys (feature `jwks`).
    pub fn jwks_client(mut self, client: impl crate::jwks::JwksClient) -> Self {
        self.remote.client = Some(Arc::new(client));
        self
    }

    #[cfg(feature = "jwks")]
    /// Tunes the refresh of remote keys (feature `jwks`).
    pub fn jwks_options(mut self, options: crate::jwks::JwksOptions) -> Self {
        self.remote.options = options;
        self
    }

    fn key_or_error(
        self,
        key: jsonwebtoken::errors::Result<DecodingKey>,
        algorithm: Algorithm,
        what: &str,
    ) -> Self {
        match key {
            Ok(key) => self.key(key, algorithm),
            Err(e) => self.invalid(ConfigError::unreadable_key(what, e)),
        }
    }

    fn invalid(mut self, err: ConfigError) -> Self {
        self.keys.push(KeyInput::Invalid(err));
        self
    }
}

/// A PEM public key for `algorithm`'s family.
pub(crate) fn pem_key(pem: &[u8], algorithm: Algorithm) -> Result<DecodingKey, ConfigError> {
    let key = match algorithm.family() {
        AlgorithmFamily::Rsa => DecodingKey::from_rsa_pem(pem),
        AlgorithmFamily::Ec => DecodingKey::from_ec_pem(pem),
        AlgorithmFamily::Ed => DecodingKey::from_ed_pem(pem),
        AlgorithmFamily::Hmac => return Err(ConfigError::KeyFamilyMismatch { algorithm }),
    };
    key.map_err(|e| ConfigError::unreadable_key("the PEM public key cannot be read", e))
}
