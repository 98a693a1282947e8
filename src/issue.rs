//! Issuing tokens: [`TokenIssuer`] mints access tokens that the matching
//! [`JwtAuthLayer`] accepts, and refresh tokens that rotate, with reuse detection.
//!
//! # Access tokens
//!
//! A [`TokenIssuer`] fills `iat`, `nbf`, `exp` (15 minutes, [`DEFAULT_ACCESS_TOKEN_LIFETIME`]),
//! a random `jti`, `iss` and `aud` over your claims (replacing any of the same name), types
//! access tokens `at+jwt` (RFC 9068), refuses a lifetime of zero, and builds the matching
//! layer:
//!
//! ```
//! use serde::{Deserialize, Serialize};
//! use tower_jwt_auth::Algorithm;
//! use tower_jwt_auth::issue::TokenIssuer;
//!
//! #[derive(Clone, Serialize, Deserialize)]
//! struct UserClaims {
//!     sub: String,
//! }
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! # let secret = b"at least thirty-two bytes of secret!";
//! let claims = UserClaims { sub: "alice".into() };
//! let issuer = TokenIssuer::hmac(secret, Algorithm::HS256).issuer("my-api").build()?;
//! let auth = issuer.layer::<UserClaims>()?; // same key; iss checked; typ at+jwt; revocations refused
//! let token = issuer.issue(&claims)?; // an access token alone
//! let pair = issuer.issue_pair(&claims)?; // at login: access + refresh, one new session (sid)
//! // issuer.jwks() publishes the public key of an RS*/ES*/EdDSA issuer for other services
//! # let _ = (auth, token, pair);
//! # Ok(())
//! # }
//! ```
//!
//! JWTs are signed, not encrypted: anyone holding a token can read its claims. Never put a
//! secret in them.
//!
//! # Refresh tokens
//!
//! A refresh token is typed `refresh+jwt` (RFC 8725 §3.11), lives 14 days
//! ([`DEFAULT_REFRESH_TOKEN_LIFETIME`], [`refresh_lifetime`](TokenIssuerBuilder::refresh_lifetime)),
//! and shares a session id (`sid`) with its access token. No layer accepts it as an access
//! token — [`TokenIssuer::layer`] requires `at+jwt`, and a layer you build yourself with the
//! issuer's key refuses `refresh+jwt` (and `dpop+jwt`) unless you require that very type —
//! and [`refresh`](TokenIssuer::refresh) never accepts an access token.
//!
//! ```
//! # use tower_jwt_auth::Algorithm;
//! # use tower_jwt_auth::issue::TokenIssuer;
//! # #[tokio::main]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! # let issuer = TokenIssuer::hmac(b"at least thirty-two bytes of secret!", Algorithm::HS256).build()?;
//! # let login = issuer.issue_pair(&serde_json::json!({ "sub": "alice" }))?;
//! # let refresh_token = login.refresh_token;
//! let pair = issuer.refresh(&refresh_token).await?; // a new pair, same session, claims carried over
//! # let token = pair.access_token;
//! issuer.logout(&token).await?; // access or refresh token: its session ends
//! issuer.logout_everywhere("alice").await?; // every token this issuer gave alice until now
//! # Ok(())
//! # }
//! ```
//!
//! Each refresh token works once. Presented again, it is a replay (a stolen token, or its
//! owner after the thief): `refresh` answers [`RefreshError::Reused`] and revokes the whole
//! session, the access tokens already issued from it included. A client must therefore not
//! send two refreshes with the same token at once. Refreshing needs the issuer's revocation
//! store; while a shared store is down, `refresh` answers [`RefreshError::Store`] and issues
//! nothing.
//!
//! The issuer keeps its revocations in a [`MemoryStore`] by
//! default; several replicas share one through
//! [`revocation_store`](TokenIssuerBuilder::revocation_store) (a `RedisStore`, feature
//! `redis`). DPoP-bound pairs: [`TokenIssuer::issue_pair_bound`] and
//! [`TokenIssuer::refresh_bound`], with the key thumbprint that
//! [`JwtAuthLayer::dpop_key`](crate::JwtAuthLayer::dpop_key) gives (see [`dpop`](crate::dpop)).
//!
//! `cargo run --example axum` serves `POST /login`, `/refresh` and `/logout` this way.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use jsonwebtoken::jwk::{Jwk, JwkSet, PublicKeyUse};
use jsonwebtoken::{AlgorithmFamily, DecodingKey, EncodingKey, Header};
use serde::Serialize;
use serde_json::{Map, Value, json};

use crate::revocation::{MemoryStore, Revocation, RevocationStore, StoreError};
use crate::verifier::claims::Member;
// Distinct from the access tokens' type, so that neither kind passes for the other (RFC 8725
// §3.11); every layer refuses it unless it requires it.
use crate::verifier::jws::REFRESH_TOKEN_TYPE;
use crate::verifier::keys::check_hmac_strength;
use crate::verifier::{Binding, Verifier, now};
use crate::{Algorithm, AuthError, ConfigError, JwtAuthLayer, install_crypto_provider};

/// The default access-token lifetime: short enough that a leaked token soon stops working.
pub const DEFAULT_ACCESS_TOKEN_LIFETIME: Duration = Duration::from_secs(15 * 60);
/// The default refresh-token lifetime: how long a session may stay idle.
pub const DEFAULT_REFRESH_TOKEN_LIFETIME: Duration = Duration::from_secs(14 * 24 * 60 * 60);
/// The `typ` of the access tokens it mints (RFC 9068).
const ACCESS_TOKEN_TYPE: &str = "at+jwt";
/// The claims the issuer sets; any of the same name in the caller's claims is replaced, and
/// they are not carried over from a refresh token to the tokens that replace it.
const SET_BY_ISSUER: [Member; 8] = [
    Member::Iat,
    Member::Nbf,
    Member::Exp,
    Member::Jti,
    Member::Iss,
    Member::Aud,
    Member::Sid,
    // Only the `*_bound` methods bind a token to a key.
    Member::Cnf,
];

/// Mints short-lived access tokens, and builds the layer that accepts exactly them.
///
/// Each token gets `iat`, `nbf`, `exp` (15 minutes by default), a random `jti`, and the
/// issuer's `iss` and `aud`, over the claims you give; its header names the key (`kid`) and
/// the type `at+jwt` (RFC 9068), which [`layer`](Self::layer) requires, so that no other
/// kind of token from the same key is ever taken for an access token.
///
/// ```
/// use serde::{Deserialize, Serialize};
/// use tower_jwt_auth::Algorithm;
/// use tower_jwt_auth::issue::TokenIssuer;
///
/// #[derive(Clone, Serialize, Deserialize)]
/// struct User {
///     sub: String,
///     role: String,
/// }
///
/// let issuer = TokenIssuer::hmac(b"at least thirty-two bytes of secret!", Algorithm::HS256)
///     .issuer("https://api.example.com")
///     .build()
///     .unwrap();
/// let token = issuer.issue(&User { sub: "alice".into(), role: "admin".into() }).unwrap();
/// let user: User = issuer.layer::<User>().unwrap().verify(&token).unwrap();
/// assert_eq!(user.sub, "alice");
/// ```
pub struct TokenIssuer {
    key: EncodingKey,
    algorithm: Algorithm,
    kid: Option<String>,
    issuer: Option<String>,
    audiences: Vec<String>,
    lifetime: Duration,
    refresh_lifetime: Duration,
    verifying: DecodingKey,
    public: Option<Jwk>,
    store: Arc<dyn RevocationStore>,
    /// Verifies this issuer's refresh tokens, and its access tokens.
    refresh_tokens: Verifier<Map<String, Value>>,
    access_tokens: Verifier<Map<String, Value>>,
}

/// An access token and the refresh token that replaces it, shaped as an OAuth 2.0 token
/// response (RFC 6749 §5.1) when serialized. Its `Debug` output hides both tokens.
#[derive(Clone, Serialize)]
pub struct TokenPair {
    /// The access token (`typ: at+jwt`), for `Authorization: Bearer`.
    pub access_token: String,
    /// Always `"Bearer"`.
    pub token_type: &'static str,
    /// The access token's lifetime, in seconds.
    pub expires_in: u64,
    /// The refresh token: for [`TokenIssuer::refresh`] alone, used once.
    pub refresh_token: String,
}

impl fmt::Debug for TokenPair {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenPair")
            .field("access_token", &"<redacted>")
            .field("expires_in", &self.expires_in)
            .field("refresh_token", &"<redacted>")
            .finish()
    }
}

/// Why a refresh token was not exchanged, or a session not ended.
#[derive(Debug)]
#[non_exhaustive]
pub enum RefreshError {
    /// The token is not a valid refresh token of this issuer: bad signature, expired, an
    /// access token, no `jti` or `sid`…
    Invalid(AuthError),
    /// The refresh token was used before: a replay, so its whole session is now revoked.
    Reused,
    /// The session (or the subject's every session) was revoked.
    Revoked,
    /// The store could not be reached; nothing was issued.
    Store(StoreError),
    /// The new tokens could not be minted.
    Issue(IssueError),
}

impl fmt::Display for RefreshError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RefreshError::Invalid(err) => write!(f, "not a valid refresh token: {err}"),
            RefreshError::Reused => {
                f.write_str("the refresh token was already used: its session has been revoked")
            }
            RefreshError::Revoked => f.write_str("the session has been revoked"),
            RefreshError::Store(err) => err.fmt(f),
            RefreshError::Issue(err) => err.fmt(f),
        }
    }
}

impl std::error::Error for RefreshError {}

/// Configures a [`TokenIssuer`]; mistakes are reported by [`build`](Self::build).
#[must_use = "call .build() to get the issuer"]
#[derive(Clone)]
pub struct TokenIssuerBuilder {
    key: Result<EncodingKey, ConfigError>,
    algorithm: Algorithm,
    kid: Option<String>,
    issuer: Option<String>,
    audiences: Vec<String>,
    lifetime: Duration,
    refresh_lifetime: Duration,
    store: Option<Arc<dyn RevocationStore>>,
}

impl std::fmt::Debug for TokenIssuerBuilder {
    // The key stays out of logs.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenIssuerBuilder")
            .field("algorithm", &self.algorithm)
            .field("kid", &self.kid)
            .field("issuer", &self.issuer)
            .field("audiences", &self.audiences)
            .field("lifetime", &self.lifetime)
            .field("refresh_lifetime", &self.refresh_lifetime)
            .field("revocation", &self.store.is_some())
            .finish_non_exhaustive()
    }
}

/// Why a token could not be minted.
#[derive(Debug)]
#[non_exhaustive]
pub enum IssueError {
    /// The claims do not serialize to a JSON object.
    NotAnObject,
    /// Serializing the claims or signing failed.
    Encoding(String),
}

impl fmt::Display for IssueError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            IssueError::NotAnObject => f.write_str("the claims must serialize to a JSON object"),
            IssueError::Encoding(why) => write!(f, "the token could not be encoded: {why}"),
        }
    }
}

impl std::error::Error for IssueError {}

impl TokenIssuer {
    /// An issuer that signs with an HMAC secret (HS256, HS384, HS512; at least as long as
    /// the hash).
    pub fn hmac(secret: impl AsRef<[u8]>, algorithm: Algorithm) -> TokenIssuerBuilder {
        let key = EncodingKey::from_secret(secret.as_ref())
            .map_err(|e| ConfigError::unreadable_key("the HMAC secret cannot be used", e));
        TokenIssuerBuilder::new(key, algorithm)
    }

    /// An issuer that signs with a PEM private key: RSA for RS*/PS*, EC (PKCS#8) for ES*,
    /// Ed25519 (PKCS#8) for EdDSA. Its public key is what [`jwks`](Self::jwks) publishes.
    pub fn private_key_pem(pem: impl AsRef<[u8]>, algorithm: Algorithm) -> TokenIssuerBuilder {
        let pem = pem.as_ref();
        let key = match algorithm.family() {
            AlgorithmFamily::Rsa => EncodingKey::from_rsa_pem(pem),
            AlgorithmFamily::Ec => EncodingKey::from_ec_pem(pem),
            AlgorithmFamily::Ed => EncodingKey::from_ed_pem(pem),
            AlgorithmFamily::Hmac => {
                return TokenIssuerBuilder::new(
                    Err(ConfigError::KeyFamilyMismatch { algorithm }),
                    algorithm,
                );
            }
        };
        let key =
            key.map_err(|e| ConfigError::unreadable_key("the PEM private key cannot be read", e));
        TokenIssuerBuilder::new(key, algorithm)
    }

    /// Mints an access token carrying `claims` and the registered claims the issuer sets:
    /// `iat`, `nbf`, `exp`, `jti`, and `iss` / `aud` when configured (they replace any of
    /// the same name in `claims`). Tokens are signed, not encrypted: never put a secret in
    /// the claims.
    ///
    /// # Errors
    /// [`IssueError`] when the claims are not a JSON object or cannot be encoded.
    pub fn issue<C: Serialize>(&self, claims: &C) -> Result<String, IssueError> {
        self.mint(to_object(claims)?, Kind::Access, None, None)
    }

    /// Mints an access token as [`issue`](Self::issue) does, bound to the DPoP key whose
    /// RFC 7638 thumbprint is `jkt` (`cnf.jkt`, RFC 9449 §6.1): it is then accepted only
    /// with a proof signed by that key (`Authorization: DPoP`), never as a bearer token.
    /// Get `jkt` from the request's proof with [`JwtAuthLayer::dpop_key`].
    ///
    /// # Errors
    /// [`IssueError`] as [`issue`](Self::issue) gives.
    pub fn issue_bound<C: Serialize>(&self, claims: &C, jkt: &str) -> Result<String, IssueError> {
        self.mint(to_object(claims)?, Kind::Access, None, Some(jkt))
    }

    /// Starts a session: mints an access token and a refresh token that share a new session
    /// id (`sid`). The refresh token (`typ: refresh+jwt`, 14 days by default) is only good
    /// for [`refresh`](Self::refresh); the layer never takes it for an access token.
    ///
    /// ```
    /// use serde_json::json;
    /// use tower_jwt_auth::{Algorithm, AuthError};
    /// use tower_jwt_auth::issue::{RefreshError, TokenIssuer};
    ///
    /// # tokio::runtime::Runtime::new().unwrap().block_on(async {
    /// let issuer = TokenIssuer::hmac(b"at least thirty-two bytes of secret!", Algorithm::HS256)
    ///     .build()
    ///     .unwrap();
    /// let layer = issuer.layer::<serde_json::Value>().unwrap();
    /// let login = issuer.issue_pair(&json!({ "sub": "alice" })).unwrap();
    /// assert!(layer.verify(&login.access_token).is_ok());
    ///
    /// // Rotation: a new pair; the old refresh token is spent.
    /// let next = issuer.refresh(&login.refresh_token).await.unwrap();
    /// assert!(layer.verify(&next.access_token).is_ok());
    ///
    /// // A replay ends the session: every token of it is refused from now on.
    /// let replay = issuer.refresh(&login.refresh_token).await;
    /// assert!(matches!(replay, Err(RefreshError::Reused)));
    /// assert_eq!(layer.verify(&next.access_token).unwrap_err(), AuthError::Revoked);
    /// # });
    /// ```
    ///
    /// # Errors
    /// [`IssueError`] as [`issue`](Self::issue) gives.
    pub fn issue_pair<C: Serialize>(&self, claims: &C) -> Result<TokenPair, IssueError> {
        self.pair(to_object(claims)?, &random_id()?, None)
    }

    /// Starts a session as [`issue_pair`](Self::issue_pair) does, both tokens bound to the
    /// DPoP key whose thumbprint is `jkt` (RFC 9449 §5: a refresh token bound to the key of
    /// the client it was issued to). The pair's `token_type` is `DPoP`; refresh it with
    /// [`refresh_bound`](Self::refresh_bound).
    ///
    /// # Errors
    /// [`IssueError`] as [`issue`](Self::issue) gives.
    pub fn issue_pair_bound<C: Serialize>(
        &self,
        claims: &C,
        jkt: &str,
    ) -> Result<TokenPair, IssueError> {
        self.pair(to_object(claims)?, &random_id()?, Some(jkt))
    }

    /// Exchanges a refresh token for a new pair in the same session (rotation); the claims
    /// are carried over. Each refresh token works once: presented again, it revokes its
    /// whole session, the tokens already issued from it included (a stolen refresh token
    /// and its rightful owner cannot both keep going). So a client must not send two
    /// refreshes with one token at once.
    ///
    /// # Errors
    /// [`RefreshError`]: an invalid token, a replay, a revoked session, the store down.
    pub async fn refresh(&self, refresh_token: &str) -> Result<TokenPair, RefreshError> {
        self.rotate(refresh_token, None).await
    }

    /// Exchanges a DPoP-bound refresh token, as [`refresh`](Self::refresh) does, for a new
    /// pair bound to the same key: `jkt`, the thumbprint of the key that signed the
    /// request's proof ([`JwtAuthLayer::dpop_key`]), must be the one the token is bound to.
    ///
    /// # Errors
    /// As [`refresh`](Self::refresh); [`RefreshError::Invalid`] with
    /// [`AuthError::DpopKeyMismatch`] for another key, [`AuthError::DpopTokenNotBound`] for
    /// a token bound to none.
    pub async fn refresh_bound(
        &self,
        refresh_token: &str,
        jkt: &str,
    ) -> Result<TokenPair, RefreshError> {
        self.rotate(refresh_token, Some(jkt)).await
    }

    async fn rotate(
        &self,
        refresh_token: &str,
        jkt: Option<&str>,
    ) -> Result<TokenPair, RefreshError> {
        let verified = self
            .refresh_tokens
            .verify_bound(refresh_token)
            .map_err(RefreshError::Invalid)?;
        match (jkt, verified.binding()) {
            (None, _) => verified.as_bearer(),
            (Some(jkt), Binding::Dpop(bound)) if **bound == *jkt => Ok(()),
            (Some(_), Binding::Dpop(_)) => Err(AuthError::DpopKeyMismatch),
            (Some(_), _) => Err(AuthError::DpopTokenNotBound),
        }
        .map_err(RefreshError::Invalid)?;
        let id = verified.token_id().cloned().unwrap_or_default();
        let (Some(jti), Some(sid), Some(exp)) = (&id.jti, &id.sid, verified.expires_at()) else {
            return Err(RefreshError::Invalid(AuthError::MissingClaim));
        };
        let sid = sid.clone();
        if self
            .store
            .check(&id, now())
            .await
            .map_err(RefreshError::Store)?
        {
            return Err(RefreshError::Revoked);
        }
        if !self
            .store
            .use_once(jti, exp)
            .await
            .map_err(RefreshError::Store)?
        {
            tracing::warn!("a refresh token was used twice: its session is revoked");
            crate::metrics::refresh_reuse();
            self.end_session(sid).await?;
            return Err(RefreshError::Reused);
        }
        let mut claims = verified.into_claims();
        for member in SET_BY_ISSUER {
            claims.remove(member.name());
        }
        self.pair(claims, &sid, jkt).map_err(RefreshError::Issue)
    }

    /// Logs out: revokes the session of `token` (a valid access or refresh token of this
    /// issuer), so that every access and refresh token of that session stops
    /// working; a token minted by [`issue`](Self::issue), outside any session, is revoked
    /// alone.
    ///
    /// A DPoP-bound token is taken without a proof of its key, as RFC 7009 §2.1 lets a
    /// revocation request be: revoking can only end a session, so whoever holds a leaked
    /// bound token may end it, never use or extend it.
    ///
    /// # Errors
    /// [`RefreshError::Invalid`] for a token this issuer did not sign,
    /// [`RefreshError::Store`] when the store cannot be reached.
    pub async fn logout(&self, token: &str) -> Result<(), RefreshError> {
        let verified = self
            .refresh_tokens
            .verify_bound(token)
            .or_else(|_| self.access_tokens.verify_bound(token))
            .map_err(RefreshError::Invalid)?;
        let id = verified.token_id().cloned().unwrap_or_default();
        match (id.sid, id.jti) {
            (Some(sid), _) => self.end_session(sid).await,
            (None, Some(jti)) => {
                let expires_at = verified.expires_at().unwrap_or(u64::MAX);
                let revocation = Revocation::Token { jti, expires_at };
                self.store
                    .revoke(revocation)
                    .await
                    .map_err(RefreshError::Store)
            }
            (None, None) => Err(RefreshError::Invalid(AuthError::MissingClaim)),
        }
    }

    /// Logs `subject` out everywhere: every token issued to it until now, access or
    /// refresh, is refused from now on; tokens issued from the next second on are not
    /// affected.
    ///
    /// `iat` counts whole seconds, so the tokens of the logout's own second are all revoked,
    /// those minted just after it included: within that second, a token minted before the
    /// logout (a thief's, say) cannot be told from one minted after it, and letting them
    /// through would let the thief's through. A login in that same second must be repeated.
    ///
    /// # Errors
    /// [`StoreError`] when the store cannot be reached.
    pub async fn logout_everywhere(&self, subject: &str) -> Result<(), StoreError> {
        let now = now();
        self.store
            .revoke(Revocation::Subject {
                sub: subject.to_owned(),
                // This issuer's subject alone: another issuer's `alice` is someone else.
                iss: self.issuer.clone(),
                // `iat` counts whole seconds: revoke this whole second (see above).
                issued_before: now + 1,
                expires_at: now + 1 + self.longest_lifetime(),
            })
            .await
    }

    /// The store that holds this issuer's revocations and used refresh tokens; the layer
    /// from [`layer`](Self::layer) checks it.
    pub fn store(&self) -> &Arc<dyn RevocationStore> {
        &self.store
    }

    async fn end_session(&self, sid: String) -> Result<(), RefreshError> {
        let expires_at = now() + self.longest_lifetime();
        self.store
            .revoke(Revocation::Session {
                sid,
                iss: self.issuer.clone(),
                expires_at,
            })
            .await
            .map_err(RefreshError::Store)
    }

    /// How long the access tokens it mints are valid.
    pub fn access_lifetime(&self) -> Duration {
        self.lifetime
    }

    /// The longest any of its tokens lives.
    fn longest_lifetime(&self) -> u64 {
        self.lifetime.max(self.refresh_lifetime).as_secs()
    }

    fn pair(
        &self,
        claims: Map<String, Value>,
        sid: &str,
        jkt: Option<&str>,
    ) -> Result<TokenPair, IssueError> {
        Ok(TokenPair {
            access_token: self.mint(claims.clone(), Kind::Access, Some(sid), jkt)?,
            // RFC 9449 §5: a bound token's type is `DPoP`.
            token_type: if jkt.is_some() { "DPoP" } else { "Bearer" },
            expires_in: self.lifetime.as_secs(),
            refresh_token: self.mint(claims, Kind::Refresh, Some(sid), jkt)?,
        })
    }

    fn mint(
        &self,
        mut payload: Map<String, Value>,
        kind: Kind,
        sid: Option<&str>,
        jkt: Option<&str>,
    ) -> Result<String, IssueError> {
        let (typ, lifetime) = match kind {
            Kind::Access => (ACCESS_TOKEN_TYPE, self.lifetime),
            Kind::Refresh => (REFRESH_TOKEN_TYPE, self.refresh_lifetime),
        };
        self.registered(&mut payload, lifetime, sid)?;
        if let Some(jkt) = jkt {
            payload.insert(Member::Cnf.name().to_owned(), json!({ "jkt": jkt }));
        }
        let mut header = Header::new(self.algorithm);
        header.typ = Some(typ.to_owned());
        header.kid.clone_from(&self.kid);
        jsonwebtoken::encode(&header, &payload, &self.key)
            .map_err(|e| IssueError::Encoding(e.to_string()))
    }

    /// The layer that accepts this issuer's access tokens: the same key and algorithm,
    /// `iss` and `aud` checked, `typ` `at+jwt` required, revocations in the issuer's
    /// [`store`](Self::store) refused.
    ///
    /// # Errors
    /// [`ConfigError`] as [`JwtAuthBuilder::build`](crate::JwtAuthBuilder::build) gives.
    pub fn layer<C>(&self) -> Result<JwtAuthLayer<C>, ConfigError>
    where
        C: serde::de::DeserializeOwned + Clone + Send + Sync + 'static,
    {
        self.layer_builder().build()
    }

    /// The builder of [`layer`](Self::layer), for more options: DPoP, a realm, error
    /// bodies, resource metadata…
    ///
    /// ```
    /// use tower_jwt_auth::dpop::DpopOptions;
    /// use tower_jwt_auth::Algorithm;
    /// use tower_jwt_auth::issue::TokenIssuer;
    ///
    /// let issuer = TokenIssuer::hmac(b"at least thirty-two bytes of secret!", Algorithm::HS256)
    ///     .build()
    ///     .unwrap();
    /// let layer = issuer
    ///     .layer_builder::<serde_json::Value>()
    ///     .dpop(
    ///         DpopOptions::default()
    ///             .external_url(Some("https://api.example.com".into()))
    ///             .allow_bearer(true),
    ///     )
    ///     .build()
    ///     .unwrap();
    /// ```
    pub fn layer_builder<C>(&self) -> crate::JwtAuthBuilder<C>
    where
        C: serde::de::DeserializeOwned + Clone + Send + Sync + 'static,
    {
        verifier(
            &self.verifying,
            self.algorithm,
            self.kid.as_deref(),
            self.issuer.as_deref(),
            &self.audiences,
        )
        .required_typ(ACCESS_TOKEN_TYPE)
        .revocation(Arc::clone(&self.store))
    }

    /// The public JWKS to publish for other services, or `None` for an HMAC issuer (its key
    /// is a secret).
    pub fn jwks(&self) -> Option<JwkSet> {
        self.public.clone().map(|jwk| JwkSet { keys: vec![jwk] })
    }

    fn registered(
        &self,
        payload: &mut Map<String, Value>,
        lifetime: Duration,
        sid: Option<&str>,
    ) -> Result<(), IssueError> {
        let now = now();
        for member in SET_BY_ISSUER {
            payload.remove(member.name());
        }
        let mut set = |member: Member, value: Value| {
            payload.insert(member.name().to_owned(), value);
        };
        set(Member::Iat, json!(now));
        set(Member::Nbf, json!(now));
        set(Member::Exp, json!(now + lifetime.as_secs()));
        set(Member::Jti, json!(random_id()?));
        if let Some(sid) = sid {
            set(Member::Sid, json!(sid));
        }
        if let Some(issuer) = &self.issuer {
            set(Member::Iss, json!(issuer));
        }
        match self.audiences.as_slice() {
            [] => {}
            [one] => set(Member::Aud, json!(one)),
            many => set(Member::Aud, json!(many)),
        }
        Ok(())
    }
}

#[derive(Clone, Copy)]
enum Kind {
    Access,
    Refresh,
}

fn to_object<C: Serialize>(claims: &C) -> Result<Map<String, Value>, IssueError> {
    match serde_json::to_value(claims).map_err(|e| IssueError::Encoding(e.to_string()))? {
        Value::Object(map) => Ok(map),
        _ => Err(IssueError::NotAnObject),
    }
}

/// 128 random bits, in hex: a `jti` or a `sid`.
fn random_id() -> Result<String, IssueError> {
    let mut id = [0u8; 16];
    getrandom::fill(&mut id).map_err(|e| IssueError::Encoding(format!("no randomness: {e}")))?;
    Ok(id.iter().map(|b| format!("{b:02x}")).collect())
}

/// A layer builder for the tokens this key signs.
fn verifier<C>(
    key: &DecodingKey,
    algorithm: Algorithm,
    kid: Option<&str>,
    issuer: Option<&str>,
    audiences: &[String],
) -> crate::JwtAuthBuilder<C>
where
    C: serde::de::DeserializeOwned + Clone + Send + Sync + 'static,
{
    let builder = match kid {
        Some(kid) => JwtAuthLayer::builder().key_with_kid(kid, key.clone(), algorithm),
        None => JwtAuthLayer::builder().key(key.clone(), algorithm),
    };
    builder
        .issuers(issuer.map(str::to_owned))
        .audiences(audiences.to_vec())
}

impl fmt::Debug for TokenIssuer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenIssuer")
            .field("algorithm", &self.algorithm)
            .field("kid", &self.kid)
            .field("issuer", &self.issuer)
            .field("audiences", &self.audiences)
            .field("lifetime", &self.lifetime)
            .field("refresh_lifetime", &self.refresh_lifetime)
            .finish_non_exhaustive()
    }
}

impl TokenIssuerBuilder {
    fn new(key: Result<EncodingKey, ConfigError>, algorithm: Algorithm) -> Self {
        TokenIssuerBuilder {
            key,
            algorithm,
            kid: None,
            issuer: None,
            audiences: Vec::new(),
            lifetime: DEFAULT_ACCESS_TOKEN_LIFETIME,
            refresh_lifetime: DEFAULT_REFRESH_TOKEN_LIFETIME,
            store: None,
        }
    }

    /// How long each refresh token lives (default 14 days): a session idle for longer ends.
    pub fn refresh_lifetime(mut self, lifetime: Duration) -> Self {
        self.refresh_lifetime = lifetime;
        self
    }

    /// Where revocations and used refresh tokens are kept (default: a [`MemoryStore`] of
    /// this process). Give every replica the same shared store (`RedisStore`, feature
    /// `redis`) so that a logout or a replay seen by one holds for all.
    pub fn revocation_store(mut self, store: impl RevocationStore) -> Self {
        self.store = Some(Arc::new(store));
        self
    }

    /// Names the key in each token's header (`kid`), as a JWKS with several keys needs.
    pub fn kid(mut self, kid: impl Into<String>) -> Self {
        self.kid = Some(kid.into());
        self
    }

    /// Sets `iss` in every token.
    pub fn issuer(mut self, issuer: impl Into<String>) -> Self {
        self.issuer = Some(issuer.into());
        self
    }

    /// Adds an audience to `aud` in every token; may be called several times.
    pub fn audience(mut self, audience: impl Into<String>) -> Self {
        self.audiences.push(audience.into());
        self
    }

    /// How long each token lives (default 15 minutes). It must be positive: no token
    /// without expiry is ever minted.
    pub fn lifetime(mut self, lifetime: Duration) -> Self {
        self.lifetime = lifetime;
        self
    }

    /// Checks the configuration and builds the issuer.
    ///
    /// # Errors
    /// A [`ConfigError`]: an unreadable or weak key, a key of another algorithm family, a
    /// lifetime under one second, no crypto provider.
    pub fn build(self) -> Result<TokenIssuer, ConfigError> {
        install_crypto_provider()?;
        let key = self.key?;
        let algorithm = self.algorithm;
        if key.family() != algorithm.family() {
            return Err(ConfigError::KeyFamilyMismatch { algorithm });
        }
        if self.lifetime.as_secs() == 0 || self.refresh_lifetime.as_secs() == 0 {
            return Err(ConfigError::NoExpiry);
        }
        let (verifying, public) = if algorithm.family() == AlgorithmFamily::Hmac {
            let secret = DecodingKey::from_secret(key.as_bytes())
                .map_err(|e| ConfigError::unreadable_key("the HMAC secret cannot be used", e))?;
            check_hmac_strength(&secret, algorithm)?;
            (secret, None)
        } else {
            let mut jwk = Jwk::from_encoding_key(&key, algorithm).map_err(|e| {
                ConfigError::unreadable_key("the private key's public half cannot be made", e)
            })?;
            jwk.common.key_id.clone_from(&self.kid);
            jwk.common.public_key_use = Some(PublicKeyUse::Signature);
            let public = DecodingKey::from_jwk(&jwk).map_err(|e| {
                ConfigError::unreadable_key("the private key's public half cannot be made", e)
            })?;
            (public, Some(jwk))
        };
        let tokens = |typ| {
            verifier(
                &verifying,
                algorithm,
                self.kid.as_deref(),
                self.issuer.as_deref(),
                &self.audiences,
            )
            .required_typ(typ)
            .required_claims([crate::claims::Claim::Exp, crate::claims::Claim::Jti])
            .keep_token_ids()
            .build_verifier()
        };
        Ok(TokenIssuer {
            refresh_tokens: tokens(REFRESH_TOKEN_TYPE)?,
            access_tokens: tokens(ACCESS_TOKEN_TYPE)?,
            key,
            algorithm,
            kid: self.kid,
            issuer: self.issuer,
            audiences: self.audiences,
            lifetime: self.lifetime,
            refresh_lifetime: self.refresh_lifetime,
            verifying,
            public,
            store: self.store.unwrap_or_else(|| Arc::new(MemoryStore::new())),
        })
    }
}
