//! Opaque tokens, by asking the authorization server: OAuth 2.0 Token Introspection
//! (RFC 7662) (feature `jwks`).
//!
//! Many authorization servers issue access tokens that are references, not JWTs (Okta's
//! org server, Auth0 without an audience, Keycloak's and most servers' "reference
//! tokens"), and some deployments want every token checked online. With
//! [`JwtAuthBuilder::introspection`](crate::JwtAuthBuilder::introspection), the layer asks
//! the server's introspection endpoint about such a token and treats its answer as the
//! token's claims: `active: false` is `401 invalid_token`; an active token's `scope`,
//! `client_id`, `sub`, `aud`, `iss`, `exp` (and `cnf`, for DPoP and certificate-bound
//! tokens) are checked and mapped exactly as a JWT's are, by the layer's own policy, and
//! fill the same claims type `C`.
//!
//! # Getting started
//!
//! ```no_run
//! use serde::Deserialize;
//! use tower_jwt_auth::JwtAuthLayer;
//! use tower_jwt_auth::introspection::{ClientAuth, Introspection};
//!
//! #[derive(Clone, Debug, Deserialize)]
//! struct Token {
//!     client_id: String,
//!     sub: Option<String>,
//! }
//!
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! let auth = JwtAuthLayer::<Token>::builder()
//!     .oidc_issuer("https://login.example.com") // JWTs: verified here, with its keys
//!     .audience("https://api.example.com")
//!     .introspection(Introspection::discover(
//!         "https://login.example.com", // introspection_endpoint from its discovery document
//!         ClientAuth::basic("notes-api", std::env::var("INTROSPECTION_SECRET")?),
//!     ))
//!     .build()?;
//! # let _ = auth; Ok(()) }
//! ```
//!
//! # Local verification, introspection, or both
//!
//! | | a JWT, verified here | an opaque token, introspected |
//! | --- | --- | --- |
//! | cost per request | a signature check (none on a [`token_cache`](crate::JwtAuthBuilder::token_cache) hit) | a call to the server (none on a hit of the answers kept) |
//! | the server down | no effect | `503` with `Retry-After` for tokens not kept |
//! | revocation | at expiry, or with a [revocation store](crate::revocation) | at the server, seen within [`cache_for`](Introspection::cache_for) |
//! | what the client can read | every claim | nothing |
//!
//! - **Keys and introspection on one layer** (the example above): a token that is a JWS
//!   (three segments) is verified locally; anything else (an opaque reference, a JWE only
//!   the server can read) is introspected.
//! - **Introspection only**: a layer with no keys introspects every token;
//!   [`every_token`](Introspection::every_token) does so beside keys too.
//!
//! # What is kept, and for how long
//!
//! Answers are kept by a SHA-256 digest of the token (never the token), each no longer than
//! the token's `exp` and [`cache_for`](Introspection::cache_for) (30 s by default): a token
//! revoked at the server is refused here at most that long after. Refusals are not kept.
//! Requests that carry the same token while it is being asked about share one call;
//! at most [`max_concurrent`](Introspection::max_concurrent) calls run at once, and a token
//! beyond them is answered `503` with `Retry-After`, as is any token when the endpoint is
//! down, slow ([`timeout`](Introspection::timeout)) or answers anything but an RFC 7662
//! response: never a pass.
//!
//! A layer's [`Verifier::verify`](crate::Verifier::verify) cannot wait, so it only
//! serves tokens whose answer is kept (so does the tonic interceptor: prefer the layer);
//! [`verify_async`](crate::Verifier::verify_async) asks the server as a request would.
//!
//! # Signed answers (RFC 9701)
//!
//! Where the answer must be proven to come from the authorization server, not only over
//! TLS, [`jwt_answers`](Introspection::jwt_answers) asks for it as a JWT signed with the
//! server's keys, which the layer already has when it trusts that issuer for JWTs.

use std::fmt;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use bytes::Bytes;
use http::header::{ACCEPT, AUTHORIZATION, CONTENT_TYPE};
use http::{Request, StatusCode, Uri};
use http_body_util::Full;
use jsonwebtoken::{EncodingKey, Header};
use serde::{Deserialize, Serialize};
use tokio::sync::OnceCell;

use crate::jwks::{BoxError, DefaultJwksClient, JwksClient, named_by_discovery};
use crate::url::{basic_credentials, form_encode, http_url};
use crate::verifier::introspection::{self as core, Answered, Reply, Unreachable};
use crate::{Algorithm, ConfigError, metrics};

/// The largest introspection answer or discovery document read.
const MAX_BODY: usize = 64 * 1024;

/// Where and how the layer asks about tokens: the endpoint, the layer's own client
/// credentials at the authorization server, and how answers are kept. Given to
/// [`JwtAuthBuilder::introspection`](crate::JwtAuthBuilder::introspection); see the
/// [module](self) page.
#[derive(Clone)]
pub struct Introspection {
    endpoint: Endpoint,
    auth: ClientAuth,
    token_type_hint: bool,
    cache_for: Duration,
    cache_capacity: usize,
    timeout: Duration,
    max_concurrent: usize,
    every_token: bool,
    allow_http: bool,
    jwt_answers: bool,
    http: Option<DefaultJwksClient>,
}

#[derive(Clone, Debug)]
enum Endpoint {
    Url(String),
    Discover(String),
}

/// How the layer authenticates to the introspection endpoint, as a client of the
/// authorization server (RFC 7662 §2.1 requires it).
#[derive(Clone)]
pub struct ClientAuth {
    client_id: String,
    method: Method,
}

#[derive(Clone)]
enum Method {
    Basic(String),
    Post(String),
    PrivateKeyJwt {
        key: EncodingKey,
        algorithm: Algorithm,
        kid: Option<String>,
    },
}

impl ClientAuth {
    /// `client_secret_basic` (RFC 6749 §2.3.1): the id and secret in HTTP Basic.
    pub fn basic(client_id: impl Into<String>, client_secret: impl Into<String>) -> Self {
        ClientAuth {
            client_id: client_id.into(),
            method: Method::Basic(client_secret.into()),
        }
    }

    /// `client_secret_post` (RFC 6749 §2.3.1): the id and secret in the form.
    pub fn post(client_id: impl Into<String>, client_secret: impl Into<String>) -> Self {
        ClientAuth {
            client_id: client_id.into(),
            method: Method::Post(client_secret.into()),
        }
    }

    /// `private_key_jwt` (OpenID Connect Core §9, RFC 7523 §2.2): a JWT signed with the
    /// client's private key (`key`, an asymmetric `algorithm` its family fits), naming the
    /// client as `iss` and `sub` and the endpoint as `aud`, valid 60 s, with a fresh
    /// `jti`. The server knows the public key from the client's registration.
    ///
    /// ```
    /// use tower_jwt_auth::{Algorithm, EncodingKey};
    /// use tower_jwt_auth::introspection::ClientAuth;
    ///
    /// # let pem = include_bytes!("../tests/data/ec_private.pem");
    /// let key = EncodingKey::from_ec_pem(pem).unwrap();
    /// let auth = ClientAuth::private_key_jwt("notes-api", key, Algorithm::ES256).key_id("2026-12");
    /// ```
    pub fn private_key_jwt(
        client_id: impl Into<String>,
        key: EncodingKey,
        algorithm: Algorithm,
    ) -> Self {
        ClientAuth {
            client_id: client_id.into(),
            method: Method::PrivateKeyJwt {
                key,
                algorithm,
                kid: None,
            },
        }
    }

    /// With `private_key_jwt`, the `kid` of the assertion's header (when the client
    /// registered several keys); unused otherwise.
    pub fn key_id(mut self, kid: impl Into<String>) -> Self {
        if let Method::PrivateKeyJwt { kid: slot, .. } = &mut self.method {
            *slot = Some(kid.into());
        }
        self
    }
}

impl Introspection {
    /// Asks the introspection endpoint at `url` (`https://`, or `http://` on loopback).
    pub fn endpoint(url: impl Into<String>, auth: ClientAuth) -> Self {
        Introspection::with(Endpoint::Url(url.into()), auth)
    }

    /// Asks the introspection endpoint that `issuer`'s discovery document names
    /// (`introspection_endpoint` in `/.well-known/openid-configuration`, or in RFC 8414's
    /// `/.well-known/oauth-authorization-server`), read at the first token to introspect
    /// and again after a failure.
    pub fn discover(issuer: impl Into<String>, auth: ClientAuth) -> Self {
        Introspection::with(Endpoint::Discover(issuer.into()), auth)
    }

    fn with(endpoint: Endpoint, auth: ClientAuth) -> Self {
        Introspection {
            endpoint,
            auth,
            token_type_hint: true,
            cache_for: Duration::from_secs(30),
            cache_capacity: 10_000,
            timeout: Duration::from_secs(5),
            max_concurrent: 64,
            every_token: false,
            allow_http: false,
            jwt_answers: false,
            http: None,
        }
    }

    /// How long an answer is kept at most (default 30 s; never beyond the token's `exp`):
    /// the longest a token revoked at the server may still pass here.
    /// [`Duration::ZERO`] keeps nothing: every request asks.
    pub fn cache_for(mut self, max: Duration) -> Self {
        self.cache_for = max;
        self
    }

    /// How many answers are kept at most (default 10,000).
    pub fn cache_capacity(mut self, capacity: usize) -> Self {
        self.cache_capacity = capacity;
        self
    }

    /// How long a call may take before the request is answered `503` (default 5 s).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// How many calls may run at once (default 64): requests with yet another token are
    /// answered `503` with `Retry-After` meanwhile, so that a flood of made-up tokens costs
    /// the server no more than this.
    pub fn max_concurrent(mut self, calls: usize) -> Self {
        self.max_concurrent = calls;
        self
    }

    /// Whether to send `token_type_hint=access_token` (default: yes).
    pub fn token_type_hint(mut self, send: bool) -> Self {
        self.token_type_hint = send;
        self
    }

    /// Introspects JWTs too, instead of verifying them with the layer's keys: every token
    /// is checked online. (A layer with no keys does so anyway.)
    pub fn every_token(mut self) -> Self {
        self.every_token = true;
        self
    }

    /// Asks for answers as signed JWTs (RFC 9701: `Accept:
    /// application/token-introspection+jwt`), for when the answer must be proven to come
    /// from the authorization server, not only over TLS. Each answer must be a JWT of type
    /// `token-introspection+jwt`, signed with the keys the layer has for the issuer given to
    /// [`discover`](Self::discover) (so that issuer must also be trusted for JWTs:
    /// `oidc_issuer`, or an issuer policy, else `build()` fails), naming it as `iss` and this
    /// client as `aud`; its `token_introspection` member is the answer. An answer that is
    /// not is a `503`, never a pass.
    pub fn jwt_answers(mut self) -> Self {
        self.jwt_answers = true;
        self
    }

    /// Allows a plain `http://` endpoint on a host other than loopback. Only for a
    /// network you trust: the token and the layer's credentials travel in the clear.
    pub fn allow_http(mut self, allow: bool) -> Self {
        self.allow_http = allow;
        self
    }

    /// The HTTP client to use (a proxy, say); by default a [`DefaultJwksClient::new`].
    pub fn http_client(mut self, http: DefaultJwksClient) -> Self {
        self.http = Some(http);
        self
    }

    /// Checks the options and starts: the core's side, calling the endpoint on the Tokio
    /// runtime `build()` runs in. `keys` says whether the layer has keys of its own (none:
    /// every token is introspected); `issuers`, the issuers it has keys for.
    pub(crate) fn start(
        self,
        keys: bool,
        issuers: &[Vec<String>],
    ) -> Result<core::Introspection, ConfigError> {
        let runtime =
            tokio::runtime::Handle::try_current().map_err(|_| ConfigError::NoTokioRuntime)?;
        let http = self.http.unwrap_or_default();
        if let Some(err) = http.misconfigured() {
            return Err(err);
        }
        let endpoint = match &self.endpoint {
            Endpoint::Url(url) => OnceCell::new_with(Some(http_url(url, self.allow_http)?)),
            Endpoint::Discover(issuer) => {
                http_url(issuer, self.allow_http)?;
                OnceCell::new()
            }
        };
        if let Method::PrivateKeyJwt { key, algorithm, .. } = &self.auth.method {
            // A private key, of the algorithm's family: found here, not at the first request.
            let mismatch = ConfigError::KeyFamilyMismatch {
                algorithm: *algorithm,
            };
            if algorithm.family() == jsonwebtoken::AlgorithmFamily::Hmac {
                return Err(mismatch);
            }
            jsonwebtoken::encode(&Header::new(*algorithm), &serde_json::json!({}), key)
                .map_err(|_| mismatch)?;
        }
        if self.max_concurrent == 0 {
            return Err(ConfigError::Introspection(
                "max_concurrent must be at least 1".into(),
            ));
        }
        if self.cache_for > Duration::ZERO && self.cache_capacity == 0 {
            return Err(ConfigError::Introspection(
                "cache_capacity must be at least 1 (or keep nothing: cache_for(Duration::ZERO))"
                    .into(),
            ));
        }
        let signed = match (&self.endpoint, self.jwt_answers) {
            (_, false) => None,
            (Endpoint::Discover(issuer), true) => {
                if !issuers.iter().flatten().any(|i| i == issuer) {
                    return Err(ConfigError::Introspection(format!(
                        "JWT answers are verified with the keys of {issuer}: trust it for JWTs \
                         too (oidc_issuer, or an issuer policy)"
                    )));
                }
                Some(core::SignedAnswers {
                    issuer: issuer.clone(),
                    client_id: self.auth.client_id.clone(),
                })
            }
            (Endpoint::Url(_), true) => {
                return Err(ConfigError::Introspection(
                    "JWT answers name their issuer: find the endpoint with \
                     Introspection::discover(issuer, ..)"
                        .into(),
                ));
            }
        };
        let caller = Arc::new(Caller {
            endpoint,
            discover: match self.endpoint {
                Endpoint::Discover(issuer) => Some(issuer),
                Endpoint::Url(_) => None,
            },
            auth: self.auth,
            token_type_hint: self.token_type_hint,
            accept: if signed.is_some() {
                "application/token-introspection+jwt"
            } else {
                "application/json"
            },
            timeout: self.timeout,
            allow_http: self.allow_http,
            http,
        });
        let start = move |token: &str, answered: Answered| {
            let caller = Arc::clone(&caller);
            let token = token.to_owned();
            // Dropped unanswered if the runtime is gone: the request is answered 503.
            runtime.spawn(async move {
                let reply = caller.introspect(&token).await;
                answered.send(reply);
            });
        };
        // Whole seconds: the layer's clock is in seconds, and an answer is kept no longer.
        let cache_for = self.cache_for.as_secs();
        Ok(core::Introspection::new(
            Box::new(start),
            self.every_token || !keys,
            (cache_for, self.cache_capacity),
            self.max_concurrent,
            signed,
        ))
    }
}

/// What calls the endpoint.
struct Caller {
    endpoint: OnceCell<Uri>,
    discover: Option<String>,
    auth: ClientAuth,
    token_type_hint: bool,
    accept: &'static str,
    timeout: Duration,
    allow_http: bool,
    http: DefaultJwksClient,
}

impl Caller {
    /// Asks about `token`: the body of a `200` answer, or [`Unreachable`] (logged, without
    /// the token).
    async fn introspect(&self, token: &str) -> Reply {
        let started = Instant::now();
        let asked = tokio::time::timeout(self.timeout, self.ask(token)).await;
        metrics::introspection(started.elapsed(), matches!(asked, Ok(Ok(_))));
        match asked {
            Ok(Ok(body)) => Ok(Arc::from(&body[..])),
            Ok(Err(why)) => {
                tracing::warn!(%why, "the token could not be introspected");
                Err(Unreachable)
            }
            Err(_) => {
                tracing::warn!(timeout = ?self.timeout, "the introspection endpoint did not answer in time");
                Err(Unreachable)
            }
        }
    }

    async fn ask(&self, token: &str) -> Result<Bytes, BoxError> {
        let endpoint = self.endpoint.get_or_try_init(|| self.discover()).await?;
        let request = self.request(endpoint, token)?;
        let response = self.http.send(request, MAX_BODY).await?;
        let status = response.status();
        if status != StatusCode::OK {
            // RFC 7662 §2.3: `401` when the layer's own credentials are refused.
            #[derive(Deserialize)]
            struct Refusal {
                error: String,
            }
            let error = serde_json::from_slice::<Refusal>(response.body()).ok();
            let error = error.map_or(String::new(), |refusal| format!(" ({})", refusal.error));
            return Err(format!("the introspection endpoint answered {status}{error}").into());
        }
        Ok(response.into_body())
    }

    /// The `introspection_endpoint` of the issuer's discovery document: OpenID Connect's,
    /// else RFC 8414's.
    async fn discover(&self) -> Result<Uri, BoxError> {
        let issuer = self
            .discover
            .as_deref()
            .ok_or("no endpoint and no issuer")?;
        let base = issuer.trim_end_matches('/');
        let mut why = String::new();
        for well_known in ["openid-configuration", "oauth-authorization-server"] {
            match self
                .discovered(issuer, &format!("{base}/.well-known/{well_known}"))
                .await
            {
                Ok(endpoint) => return Ok(endpoint),
                Err(err) => why = err.to_string(),
            }
        }
        Err(format!("no introspection endpoint discovered for {issuer}: {why}").into())
    }

    async fn discovered(&self, issuer: &str, url: &str) -> Result<Uri, BoxError> {
        #[derive(Deserialize)]
        struct Discovery {
            issuer: String,
            introspection_endpoint: String,
        }
        let uri: Uri = url.parse()?;
        let response = self.http.get(&uri, MAX_BODY).await?;
        if !response.status().is_success() {
            return Err(format!("{url} answered {}", response.status()).into());
        }
        let doc: Discovery = serde_json::from_slice(response.body())
            .map_err(|e| format!("{url} names no introspection_endpoint: {e}"))?;
        // RFC 8414 §3.3, OpenID Connect Discovery §4.3: exactly the issuer asked for.
        if doc.issuer != issuer {
            return Err(format!("{url} names the issuer {:?}", doc.issuer).into());
        }
        let endpoint = named_by_discovery(
            issuer,
            "introspection_endpoint",
            &doc.introspection_endpoint,
            self.allow_http,
        )?;
        Ok(endpoint)
    }

    /// `POST` of RFC 7662 §2.1, the client authenticated as configured.
    fn request(&self, endpoint: &Uri, token: &str) -> Result<Request<Full<Bytes>>, BoxError> {
        let mut form = format!("token={}", form_encode(token));
        if self.token_type_hint {
            form.push_str("&token_type_hint=access_token");
        }
        let id = &self.auth.client_id;
        let mut request = Request::post(endpoint.clone())
            .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
            .header(ACCEPT, self.accept);
        match &self.auth.method {
            Method::Basic(secret) => {
                let basic = basic_credentials(id, secret)?;
                request = request.header(AUTHORIZATION, basic);
            }
            Method::Post(secret) => {
                form.push_str(&format!(
                    "&client_id={}&client_secret={}",
                    form_encode(id),
                    form_encode(secret)
                ));
            }
            Method::PrivateKeyJwt {
                key,
                algorithm,
                kid,
            } => {
                let assertion = assertion(id, endpoint, key, *algorithm, kid.as_deref())?;
                form.push_str(&format!(
                    "&client_id={}&client_assertion_type={}&client_assertion={assertion}",
                    form_encode(id),
                    form_encode("urn:ietf:params:oauth:client-assertion-type:jwt-bearer"),
                ));
            }
        }
        Ok(request.body(Full::new(Bytes::from(form)))?)
    }
}

/// A `private_key_jwt` client assertion for one call to `endpoint`.
fn assertion(
    client_id: &str,
    endpoint: &Uri,
    key: &EncodingKey,
    algorithm: Algorithm,
    kid: Option<&str>,
) -> Result<String, BoxError> {
    #[derive(Serialize)]
    struct Assertion<'a> {
        iss: &'a str,
        sub: &'a str,
        aud: String,
        jti: String,
        iat: u64,
        exp: u64,
    }
    let now = SystemTime::now().duration_since(UNIX_EPOCH)?.as_secs();
    let mut jti = [0; 16];
    getrandom::fill(&mut jti).map_err(|e| format!("no randomness: {e}"))?;
    let mut header = Header::new(algorithm);
    header.kid = kid.map(str::to_owned);
    let claims = Assertion {
        iss: client_id,
        sub: client_id,
        aud: endpoint.to_string(),
        jti: URL_SAFE_NO_PAD.encode(jti),
        iat: now,
        exp: now + 60,
    };
    Ok(jsonwebtoken::encode(&header, &claims, key)?)
}

impl fmt::Debug for Introspection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Introspection")
            .field("endpoint", &self.endpoint)
            .field("auth", &self.auth)
            .field("cache_for", &self.cache_for)
            .field("every_token", &self.every_token)
            .field("jwt_answers", &self.jwt_answers)
            .finish_non_exhaustive()
    }
}

impl fmt::Debug for ClientAuth {
    // The secret and the key stay out of logs.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let method = match self.method {
            Method::Basic(_) => "client_secret_basic",
            Method::Post(_) => "client_secret_post",
            Method::PrivateKeyJwt { .. } => "private_key_jwt",
        };
        f.debug_struct("ClientAuth")
            .field("client_id", &self.client_id)
            .field("method", &method)
            .finish()
    }
}
