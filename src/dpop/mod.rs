//! DPoP (RFC 9449): tokens bound to a key the client holds. A bound token (`cnf.jkt`) is
//! sent as `Authorization: DPoP <token>` with a `DPoP` header, a *proof*: a fresh JWT
//! signed by that key, naming this request's method and URL and the token's hash. A leaked
//! token is useless without the key.
//!
//! Turned on per layer with [`JwtAuthBuilder::dpop`](crate::JwtAuthBuilder::dpop) and
//! [`DpopOptions`]. Whatever the options, a token that carries `cnf.jkt` is never accepted
//! as a plain bearer token, by any layer: whoever presents a bound token without its proof is
//! not its holder, and a resource that took it would undo the binding for every resource
//! that checks it (RFC 9449 §7.1 asks resource servers to refuse such downgrades).
//!
//! # Turning it on
//!
//! ```
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! use tower_jwt_auth::dpop::DpopOptions;
//! use tower_jwt_auth::{Algorithm, JwtAuthLayer, RegisteredClaims};
//!
//! let auth = JwtAuthLayer::<RegisteredClaims>::builder()
//!     .hmac_secret(b"at least thirty-two bytes of secret!", Algorithm::HS256)
//!     .dpop(
//!         DpopOptions::default()
//!             .external_url(Some("https://api.example.com".into())) // required: this server's URL
//!             .allow_bearer(true),                                  // unbound tokens too
//!     )
//!     .build()?;
//! # Ok(())
//! # }
//! ```
//!
//! # What is checked
//!
//! Every proof is checked as RFC 9449 §4.3 lists: one `DPoP` header, `typ: dpop+jwt`, an
//! asymmetric algorithm from the list (ES256, ES384, EdDSA, PS256, RS256 by default; never
//! `none` or HMAC), a `jwk` that is a public key and nothing more (no `d`, no `k`, RSA ≥ 2048
//! bits), its signature, `htm` and `htu` against the request (normalised as RFC 3986 says,
//! query and fragment ignored), `iat` within 60 s (plus 5 s of skew), `ath` the hash of the
//! token, the proof's key the one the token is bound to, and `jti` never seen before in that
//! window. Optional server nonces (`require_nonce`) answer `401 use_dpop_nonce` with a
//! `DPoP-Nonce` header. Failures answer `401` with
//! `WWW-Authenticate: DPoP realm="api", error="invalid_dpop_proof", error_description="…", algs="…"`
//! (`invalid_token` where the token is at fault), or `UNAUTHENTICATED` for gRPC.
//!
//! `external_url` is required: a proof must name this server, and only configuration can
//! say what this server's URL is (the `Host` header is the client's to choose, so a proof
//! captured at a sibling API that takes the same tokens would otherwise replay here). Give
//! further names with `alternate_urls`, and the path prefix a proxy strips, if any.
//!
//! # Replay caches
//!
//! The replay caches are in memory and bounded: `replay_capacity` (100,000 proofs of requests
//! with a token by default), `grant_replay_capacity` (10,000 token-endpoint
//! proofs, kept apart since anyone can make one), and `replay_per_key` (1,000 live proofs per
//! key). Full, they refuse new proofs with `503` rather than forget one. Several replicas share
//! them through a revocation store: `.replay_store(redis_store)` (records named by a
//! fixed-size digest; not bounded by count — see `SECURITY.md`).
//!
//! # Issuing bound tokens
//!
//! `TokenIssuer` issues bound tokens: `layer.dpop_key(&method, &uri, &headers).await` checks
//! the proof of a login or refresh request and gives the key's thumbprint (with
//! `require_nonce`, answer its `DpopNonceRequired` with `400 use_dpop_nonce` and the
//! `DPoP-Nonce` of `layer.dpop_nonce()`);
//! `issue_pair_bound(&claims, &jkt)` and `refresh_bound(&refresh_token, &jkt)` bind the
//! session to it (`token_type: DPoP`). The axum example does it; `cargo run --example
//! dpop-client` logs in with a proof, calls `/me` with `Authorization: DPoP`, sees the same
//! token refused as a bearer token, and refreshes.

mod htu;
mod nonce;
mod proof;
mod replay;

use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use http::{HeaderMap, HeaderName, HeaderValue, Method, Uri};
use jsonwebtoken::AlgorithmFamily;
use jsonwebtoken::crypto::CryptoProvider;

use self::nonce::{NonceAge, Nonces};
pub(crate) use self::replay::Seen;
use self::replay::{MemoryReplay, ReplayCache};
use crate::revocation::{RevocationStore, StoreError};
use crate::url::http_url;
use crate::{Algorithm, AuthError, ConfigError};

/// The request header that carries the proof.
pub(crate) const DPOP: HeaderName = HeaderName::from_static("dpop");
/// The response header that carries a server nonce (RFC 9449 §8.1).
pub(crate) const DPOP_NONCE: HeaderName = HeaderName::from_static("dpop-nonce");

/// The longest `jti` a proof may carry: a UUID is 36 characters, 32 random bytes in
/// base64url 43; a longer one only makes each replay record cost more.
const MAX_JTI_LEN: usize = 256;
/// The largest `max_age`: a proof is for one request, made just before it.
const MAX_AGE_LIMIT: Duration = Duration::from_secs(3600);
/// The largest `clock_skew`.
const SKEW_LIMIT: Duration = Duration::from_secs(300);
/// The largest `nonce_window`.
const NONCE_WINDOW_LIMIT: Duration = Duration::from_secs(86_400);

/// How a layer takes DPoP-bound tokens (RFC 9449). Built from `Default` and its setters.
///
/// ```
/// use std::time::Duration;
/// use tower_jwt_auth::dpop::DpopOptions;
///
/// let options = DpopOptions::default()
///     .external_url(Some("https://api.example.com".into())) // what proofs must name: required
///     .allow_bearer(true)                                   // and plain bearer tokens too
///     .max_age(Duration::from_secs(60));
/// ```
///
/// `external_url` (or [`alternate_urls`](Self::alternate_urls)) is required: `build()`
/// fails without it. A proof names the URL it was made for (`htu`), and only the server's
/// own configuration can say that this URL is this server: the request's `Host` header and
/// HTTP/2 `:authority` are the client's to choose, so a proof and token captured at a
/// sibling resource server that accepts the same audience would replay here.
#[derive(Clone)]
#[non_exhaustive]
pub struct DpopOptions {
    /// The algorithms a proof may be signed with (RFC 9449 §4.3, check 5), asymmetric only
    /// (default ES256, ES384, EdDSA, PS256, RS256); named in the challenges' `algs`.
    pub algorithms: Vec<Algorithm>,
    /// Whether plain bearer tokens (without `cnf`) are accepted beside DPoP-bound ones
    /// (default `false`: only DPoP).
    pub allow_bearer: bool,
    /// How old a proof's `iat` may be (default 60 s, at most an hour); the window in which
    /// its `jti` is remembered, plus `clock_skew`.
    pub max_age: Duration,
    /// How far ahead of this server's clock a proof's `iat` may be (default 5 s, at most
    /// 5 minutes).
    pub clock_skew: Duration,
    /// The URL clients reach this server at: scheme, host, port if not the default, and the
    /// path prefix a proxy strips, if any (`https://example.com/api`). A proof's `htu` must
    /// be this followed by the request's path. Required (or `alternate_urls`): see above.
    pub external_url: Option<String>,
    /// Further URLs clients reach this server at, beside `external_url` (another host
    /// name, say): a proof may name any of them. No other URL passes.
    pub alternate_urls: Vec<String>,
    /// Whether every proof must carry a nonce this server gave out (RFC 9449 §9; default
    /// `false`). A proof without a current one gets `401 use_dpop_nonce` with a `DPoP-Nonce`.
    pub require_nonce: bool,
    /// How long a nonce is good for: the window it was made in and the next (default 60 s,
    /// at most a day). A request whose nonce is from the window before gets a new one in
    /// its response's `DPoP-Nonce` (RFC 9449 §8.2).
    pub nonce_window: Duration,
    /// The secret nonces are made with, shared by every replica (at least 32 bytes);
    /// random per process when `None`, which suits one replica.
    pub nonce_secret: Option<Vec<u8>>,
    /// The longest proof read (default 4 KiB); a longer one is refused before decoding.
    pub max_proof_size: usize,
    /// How many proofs of requests with a token the in-memory replay cache remembers
    /// (default 100,000, about 4 MB). Full of proofs still in their window, it refuses new
    /// ones with `503`: forgetting one would let it be replayed. Size it to the DPoP
    /// requests of `max_age + 2 × clock_skew`.
    pub replay_capacity: usize,
    /// How many live records one key (`jkt`) may hold in either in-memory cache (default
    /// 1,000: a client sending more than ~15 requests a second with one key needs more).
    /// Past it, that key's proofs get `503` until its records expire; other keys go on.
    pub replay_per_key: usize,
    /// How many proofs of token-endpoint requests ([`JwtAuthLayer::dpop_key`](crate::JwtAuthLayer::dpop_key))
    /// the in-memory cache remembers (default 10,000), apart from the API's: anyone can
    /// make such a proof, so a flood of them can at worst hold up DPoP logins (rate-limit
    /// the token endpoint), never the API's traffic.
    pub grant_replay_capacity: usize,
    replay_store: Option<Arc<dyn RevocationStore>>,
}

impl Default for DpopOptions {
    fn default() -> Self {
        DpopOptions {
            algorithms: vec![
                Algorithm::ES256,
                Algorithm::ES384,
                Algorithm::EdDSA,
                Algorithm::PS256,
                Algorithm::RS256,
            ],
            allow_bearer: false,
            max_age: Duration::from_secs(60),
            clock_skew: Duration::from_secs(5),
            external_url: None,
            alternate_urls: Vec::new(),
            require_nonce: false,
            nonce_window: Duration::from_secs(60),
            nonce_secret: None,
            max_proof_size: 4096,
            replay_capacity: 100_000,
            replay_per_key: 1_000,
            grant_replay_capacity: 10_000,
            replay_store: None,
        }
    }
}

option_setters!(DpopOptions {
    algorithms: Vec<Algorithm>,
    allow_bearer: bool,
    max_age: Duration,
    clock_skew: Duration,
    external_url: Option<String>,
    alternate_urls: Vec<String>,
    require_nonce: bool,
    nonce_window: Duration,
    nonce_secret: Option<Vec<u8>>,
    max_proof_size: usize,
    replay_capacity: usize,
    replay_per_key: usize,
    grant_replay_capacity: usize,
});

impl DpopOptions {
    /// Remembers proofs in this store instead of in memory, through its atomic `use_once`:
    /// with a [`RedisStore`](crate::revocation::RedisStore), a proof used at one replica is
    /// refused at every other. A store that cannot answer fails the request closed (`503`).
    ///
    /// Each record is named by a SHA-256 digest of the key and `jti` (about 50 bytes,
    /// whatever the proof says) and lives `max_age + 2 × clock_skew + 1` seconds (71 s by
    /// default; a `RedisStore` keeps every `use_once` record 300 s longer, for the largest
    /// leeway). The store holds as many as arrive in that time: it is not bounded by
    /// `replay_capacity`, so give Redis the memory for your DPoP request rate (and
    /// rate-limit the token endpoint, whose proofs anyone can make).
    pub fn replay_store(mut self, store: impl RevocationStore) -> Self {
        self.replay_store = Some(Arc::new(store));
        self
    }

    /// Checks the options once, at `build()`.
    pub(crate) fn check(self, provider: &'static CryptoProvider) -> Result<Dpop, ConfigError> {
        let invalid = |why: &str| Err(ConfigError::InvalidDpopOptions(why.to_owned()));
        if self.algorithms.is_empty() {
            return invalid("no proof algorithm: give at least one asymmetric algorithm");
        }
        if let Some(alg) = self
            .algorithms
            .iter()
            .find(|alg| alg.family() == AlgorithmFamily::Hmac)
        {
            return Err(ConfigError::InvalidDpopOptions(format!(
                "{alg:?} is symmetric: a proof must be signed with a key only the client holds"
            )));
        }
        if self.max_age.as_secs() == 0 {
            return invalid("max_age must be at least one second");
        }
        for (name, value, limit) in [
            ("max_age", self.max_age, MAX_AGE_LIMIT),
            ("clock_skew", self.clock_skew, SKEW_LIMIT),
            ("nonce_window", self.nonce_window, NONCE_WINDOW_LIMIT),
        ] {
            if value > limit {
                return Err(ConfigError::InvalidDpopOptions(format!(
                    "{name} of {value:?} is longer than a proof should live: at most {limit:?}"
                )));
            }
        }
        if self.replay_capacity == 0 || self.replay_per_key == 0 || self.grant_replay_capacity == 0
        {
            return invalid(
                "replay_capacity, replay_per_key and grant_replay_capacity must be at least 1",
            );
        }
        if self.max_proof_size < 256 {
            return invalid("max_proof_size must be at least 256 bytes");
        }
        let mut bases = Vec::new();
        for url in self.external_url.iter().chain(&self.alternate_urls) {
            let uri = http_url(url, false)?;
            if uri.query().is_some() || url.contains('#') {
                return Err(ConfigError::InvalidDpopOptions(format!(
                    "the external URL {url:?} cannot have a query or a fragment"
                )));
            }
            if htu::normalize(url).is_none() {
                return Err(ConfigError::InvalidDpopOptions(format!(
                    "the external URL {url:?} has no place in a proof's htu: give scheme, \
                     host and an optional path, without user information"
                )));
            }
            bases.push(url.trim_end_matches('/').to_owned());
        }
        if bases.is_empty() {
            return invalid(
                "set external_url to the URL clients reach this server at (such as \
                 https://api.example.com): a proof must name this server, and the request's \
                 Host is the client's to choose",
            );
        }
        let nonces = match (self.require_nonce, self.nonce_secret) {
            (false, _) => None,
            (true, Some(secret)) if secret.len() < 32 => {
                return invalid("the nonce secret must be at least 32 bytes");
            }
            (true, secret) => {
                let secret = match secret {
                    Some(secret) => secret,
                    None => {
                        let mut random = vec![0; 32];
                        getrandom::fill(&mut random).map_err(|e| {
                            ConfigError::InvalidDpopOptions(format!(
                                "no randomness for the nonce secret: {e}"
                            ))
                        })?;
                        random
                    }
                };
                Some(Nonces::new(&secret, self.nonce_window.as_secs(), provider)?)
            }
        };
        let memory = |capacity| {
            let cache = MemoryReplay::new(capacity, self.replay_per_key);
            ReplayCache::Memory(Arc::new(Mutex::new(cache)))
        };
        // Token-endpoint proofs apart from the API's, under their own names in a store too.
        let (replay, grant_replay) = match self.replay_store {
            Some(store) => (
                ReplayCache::Store(Arc::clone(&store), "dpop:"),
                ReplayCache::Store(store, "dpop-grant:"),
            ),
            None => (
                memory(self.replay_capacity),
                memory(self.grant_replay_capacity),
            ),
        };
        let algs = self
            .algorithms
            .iter()
            .map(|alg| format!("{alg:?}"))
            .collect::<Vec<_>>()
            .join(" ");
        Ok(Dpop {
            algorithms: self.algorithms,
            allow_bearer: self.allow_bearer,
            max_age: self.max_age.as_secs(),
            skew: self.clock_skew.as_secs(),
            bases,
            nonces,
            max_proof_size: self.max_proof_size,
            replay,
            grant_replay,
            provider,
            algs,
        })
    }
}

impl fmt::Debug for DpopOptions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DpopOptions")
            .field("algorithms", &self.algorithms)
            .field("allow_bearer", &self.allow_bearer)
            .field("max_age", &self.max_age)
            .field("clock_skew", &self.clock_skew)
            .field("external_url", &self.external_url)
            .field("alternate_urls", &self.alternate_urls)
            .field("require_nonce", &self.require_nonce)
            .field("nonce_window", &self.nonce_window)
            .field("max_proof_size", &self.max_proof_size)
            .field("replay_capacity", &self.replay_capacity)
            .field("replay_per_key", &self.replay_per_key)
            .field("grant_replay_capacity", &self.grant_replay_capacity)
            .finish_non_exhaustive()
    }
}

/// The checked DPoP options of a layer, and the proof check itself.
pub(crate) struct Dpop {
    algorithms: Vec<Algorithm>,
    pub(crate) allow_bearer: bool,
    max_age: u64,
    skew: u64,
    /// The URLs clients reach this server at, without a final `/`.
    bases: Vec<String>,
    nonces: Option<Nonces>,
    max_proof_size: usize,
    /// Proofs of requests with a token.
    replay: ReplayCache,
    /// Proofs of token-endpoint requests, which anyone can make.
    grant_replay: ReplayCache,
    provider: &'static CryptoProvider,
    /// The `algs` of the challenges: the allowed algorithms, space-separated.
    pub(crate) algs: String,
}

/// A proof that passed every check but the replay cache's.
pub(crate) struct Proven {
    /// The replay cache's answer, perhaps still to come.
    pub(crate) seen: Seen,
    /// The RFC 7638 thumbprint of the proof's key.
    pub(crate) jkt: String,
    /// The proof's nonce is from the window before: send the client a new one.
    pub(crate) renew_nonce: bool,
}

/// The request a proof is checked against.
pub(crate) struct ProofRequest<'r> {
    pub(crate) method: &'r Method,
    pub(crate) uri: &'r Uri,
    pub(crate) headers: &'r HeaderMap,
}

impl Dpop {
    /// Check 9 of RFC 9449 §4.3: the proof's `htu` is this request's URL at one of the
    /// configured bases. Equal strings normalise alike, so a proof that spells the URL as
    /// the base and path do is taken as it is; any other spelling (case, default port,
    /// percent-encoding, dot segments, a query) is normalised first, as is a path with a
    /// `%` (whose normalisation may fail).
    fn names_this_request(&self, htu: &str, uri: &Uri) -> bool {
        let path = uri.path();
        let exact = |base: &String| htu.strip_prefix(base.as_str()) == Some(path);
        if !path.contains('%') && self.bases.iter().any(exact) {
            return true;
        }
        let Some(htu) = htu::normalize(htu) else {
            return false;
        };
        (self.bases.iter()).any(|base| htu::request_url(base, uri).is_some_and(|url| url == htu))
    }

    /// RFC 9449 §4.3 for a request that carries `bound`, a token and the key it is bound
    /// to (`None` at a token endpoint, before there is a token): one proof, well formed,
    /// signed by an allowed asymmetric public key (checks 1–7); for this method and URL
    /// (8, 9); with a current nonce if required (10); issued within the window (11); for
    /// this token (`ath`, check 12 of §7.1) and by its key (`cnf.jkt`, §6.1); then not seen
    /// before (replay, §11.1), the only step that may have to wait.
    pub(crate) fn check(
        &self,
        request: &ProofRequest<'_>,
        bound: Option<(&str, &str)>,
        now: u64,
    ) -> Result<Proven, AuthError> {
        let mut proofs = request.headers.get_all(DPOP).iter();
        let proof = match (proofs.next(), proofs.next()) {
            (None, _) => return Err(AuthError::DpopProofMissing),
            (Some(_), Some(_)) => return Err(AuthError::MultipleDpopProofs),
            (Some(proof), None) => proof,
        };
        if proof.len() > self.max_proof_size {
            return Err(AuthError::DpopProofTooLarge);
        }
        let proof = proof.to_str().map_err(|_| AuthError::DpopProofMalformed)?;
        let proof = proof::verify(proof, &self.algorithms, self.provider)?;
        let claims = &proof.claims;
        if claims.jti.is_empty() || claims.jti.len() > MAX_JTI_LEN {
            return Err(AuthError::DpopProofMalformed);
        }
        if claims.htm != request.method.as_str() {
            return Err(AuthError::DpopProofMismatch);
        }
        if !self.names_this_request(&claims.htu, request.uri) {
            return Err(AuthError::DpopProofMismatch);
        }
        let mut renew_nonce = false;
        if let Some(nonces) = &self.nonces {
            match claims.nonce.as_deref().and_then(|n| nonces.age(n, now)) {
                None => return Err(AuthError::DpopNonceRequired),
                Some(age) => renew_nonce = age == NonceAge::Previous,
            }
        }
        // `iat` is at most year 9999 and the window bounded at `build()`: no overflow.
        if claims.iat > now + self.skew || claims.iat + self.max_age + self.skew < now {
            return Err(AuthError::DpopProofStale);
        }
        if let Some((token, jkt)) = bound {
            let ath = proof::token_hash(token, self.provider);
            if ath.is_none() || claims.ath != ath {
                return Err(AuthError::DpopProofTokenHash);
            }
            if proof.jkt != jkt {
                return Err(AuthError::DpopKeyMismatch);
            }
        }
        // Remembered until no clock could take it for fresh any more.
        let until = claims.iat + self.max_age + self.skew + 1;
        let cache = if bound.is_some() {
            &self.replay
        } else {
            &self.grant_replay
        };
        let digest = || proof::record_digest(&proof.jkt, &claims.jti, self.provider);
        let seen = cache.first_use(&proof.jkt, &claims.jti, until, now, digest);
        Ok(Proven {
            seen,
            jkt: proof.jkt,
            renew_nonce,
        })
    }

    /// The replay cache's answer, as the request's outcome.
    pub(crate) fn settle(answer: Result<bool, StoreError>) -> Result<(), AuthError> {
        match answer {
            Ok(true) => Ok(()),
            Ok(false) => Err(AuthError::DpopProofReplayed),
            Err(err) => {
                tracing::warn!(error = %err.0, "the DPoP replay cache cannot answer");
                Err(AuthError::DpopReplayUnavailable)
            }
        }
    }

    /// Whether proofs must carry a server nonce.
    pub(crate) fn requires_nonce(&self) -> bool {
        self.nonces.is_some()
    }

    /// A nonce to send with `use_dpop_nonce`, when nonces are required.
    pub(crate) fn nonce(&self, now: u64) -> Option<HeaderValue> {
        let nonce = self.nonces.as_ref()?.fresh(now)?;
        HeaderValue::try_from(nonce).ok()
    }
}

impl fmt::Debug for Dpop {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Dpop")
            .field("algs", &self.algs)
            .field("allow_bearer", &self.allow_bearer)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::install_crypto_provider;

    /// The exact spelling is taken as it is, every other spelling of the same URL after
    /// normalising, and nothing that names another URL, either way.
    #[test]
    fn a_proof_names_this_request_in_any_spelling_of_its_url() {
        let provider = install_crypto_provider().unwrap();
        let options = DpopOptions::default().external_url(Some("https://api.example/v1/".into()));
        let dpop = options.check(provider).unwrap();
        let uri: Uri = "/notes/7?x=1".parse().unwrap();
        for htu in [
            "https://api.example/v1/notes/7",
            "HTTPS://API.example:443/v1/notes/7",
            "https://api.example/v1/notes/./7",
            "https://api.example/v1/%6Eotes/7",
            "https://api.example/v1/notes/7?y=2#f",
        ] {
            assert!(dpop.names_this_request(htu, &uri), "{htu}");
        }
        for htu in [
            "https://api.example/notes/7",
            "https://api.example/v1/notes/8",
            "https://api.example/v1/notes/7/",
            "https://other.example/v1/notes/7",
            "https://api.example:8443/v1/notes/7",
            "not a url",
        ] {
            assert!(!dpop.names_this_request(htu, &uri), "{htu}");
        }
        // A path whose percent-encoding cannot be read is refused, spelled alike or not.
        let bad: Uri = "/notes/%zz".parse().unwrap();
        assert!(!dpop.names_this_request("https://api.example/v1/notes/%zz", &bad));
        // A base the check could not normalise fails at build.
        let userinfo = DpopOptions::default().external_url(Some("https://me@api.example".into()));
        assert!(userinfo.check(provider).is_err());
    }
}
