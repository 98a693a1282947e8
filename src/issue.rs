//! [`TokenIssuer`]: minting access tokens that the matching [`JwtAuthLayer`] accepts.

use std::fmt;
use std::time::Duration;

use jsonwebtoken::jwk::{Jwk, JwkSet, PublicKeyUse};
use jsonwebtoken::{AlgorithmFamily, DecodingKey, EncodingKey, Header};
use serde::Serialize;
use serde_json::{Map, Value, json};

use crate::keys::check_hmac_strength;
use crate::verify::now;
use crate::{Algorithm, ConfigError, JwtAuthLayer, install_crypto_provider};

/// The default access-token lifetime: short enough that a leaked token soon stops working.
pub const DEFAULT_ACCESS_TOKEN_LIFETIME: Duration = Duration::from_secs(15 * 60);
/// The `typ` of the access tokens it mints (RFC 9068).
const ACCESS_TOKEN_TYPE: &str = "at+jwt";

/// Mints short-lived access tokens, and builds the layer that accepts exactly them.
///
/// Each token gets `iat`, `nbf`, `exp` (15 minutes by default), a random `jti`, and the
/// issuer's `iss` and `aud`, over the claims you give; its header names the key (`kid`) and
/// the type `at+jwt` (RFC 9068), which [`layer`](Self::layer) requires, so that no other
/// kind of token from the same key is ever taken for an access token.
///
/// ```
/// use serde::{Deserialize, Serialize};
/// use tower_jwt_auth::{Algorithm, TokenIssuer};
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
    verifying: DecodingKey,
    public: Option<Jwk>,
}

/// Configures a [`TokenIssuer`]; mistakes are reported by [`build`](Self::build).
#[must_use = "call .build() to get the issuer"]
pub struct TokenIssuerBuilder {
    key: Result<EncodingKey, ConfigError>,
    algorithm: Algorithm,
    kid: Option<String>,
    issuer: Option<String>,
    audiences: Vec<String>,
    lifetime: Duration,
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
            .map_err(|e| ConfigError::InvalidKey(format!("the HMAC secret: {e}")));
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
        let key = key.map_err(|e| ConfigError::InvalidKey(format!("the PEM private key: {e}")));
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
        let Value::Object(mut payload) =
            serde_json::to_value(claims).map_err(|e| IssueError::Encoding(e.to_string()))?
        else {
            return Err(IssueError::NotAnObject);
        };
        self.registered(&mut payload)?;
        let mut header = Header::new(self.algorithm);
        header.typ = Some(ACCESS_TOKEN_TYPE.to_owned());
        header.kid.clone_from(&self.kid);
        jsonwebtoken::encode(&header, &payload, &self.key)
            .map_err(|e| IssueError::Encoding(e.to_string()))
    }

    /// The layer that accepts this issuer's tokens: the same key and algorithm, `iss` and
    /// `aud` checked, `typ` `at+jwt` required.
    ///
    /// # Errors
    /// [`ConfigError`] as [`JwtAuthBuilder::build`](crate::JwtAuthBuilder::build) gives.
    pub fn layer<C>(&self) -> Result<JwtAuthLayer<C>, ConfigError>
    where
        C: serde::de::DeserializeOwned + Clone + Send + Sync + 'static,
    {
        let mut builder = match &self.kid {
            Some(kid) => {
                JwtAuthLayer::builder().key_with_kid(kid, self.verifying.clone(), self.algorithm)
            }
            None => JwtAuthLayer::builder().key(self.verifying.clone(), self.algorithm),
        };
        builder = builder
            .issuers(self.issuer.clone())
            .audiences(self.audiences.clone());
        builder.required_typ(ACCESS_TOKEN_TYPE).build()
    }

    /// The public JWKS to publish for other services, or `None` for an HMAC issuer (its key
    /// is a secret).
    pub fn jwks(&self) -> Option<JwkSet> {
        self.public.clone().map(|jwk| JwkSet { keys: vec![jwk] })
    }

    fn registered(&self, payload: &mut Map<String, Value>) -> Result<(), IssueError> {
        let now = now();
        let mut jti = [0u8; 16];
        getrandom::fill(&mut jti)
            .map_err(|e| IssueError::Encoding(format!("no randomness for jti: {e}")))?;
        payload.insert("iat".into(), json!(now));
        payload.insert("nbf".into(), json!(now));
        payload.insert("exp".into(), json!(now + self.lifetime.as_secs()));
        payload.insert(
            "jti".into(),
            json!(jti.iter().map(|b| format!("{b:02x}")).collect::<String>()),
        );
        if let Some(issuer) = &self.issuer {
            payload.insert("iss".into(), json!(issuer));
        }
        match self.audiences.as_slice() {
            [] => None,
            [one] => payload.insert("aud".into(), json!(one)),
            many => payload.insert("aud".into(), json!(many)),
        };
        Ok(())
    }
}

impl fmt::Debug for TokenIssuer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenIssuer")
            .field("algorithm", &self.algorithm)
            .field("kid", &self.kid)
            .field("issuer", &self.issuer)
            .field("audiences", &self.audiences)
            .field("lifetime", &self.lifetime)
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
        }
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
        if self.lifetime.as_secs() == 0 {
            return Err(ConfigError::NoExpiry);
        }
        let (verifying, public) = if algorithm.family() == AlgorithmFamily::Hmac {
            let secret = DecodingKey::from_secret(key.as_bytes())
                .map_err(|e| ConfigError::InvalidKey(format!("the HMAC secret: {e}")))?;
            check_hmac_strength(&secret, algorithm)?;
            (secret, None)
        } else {
            let mut jwk = Jwk::from_encoding_key(&key, algorithm)
                .map_err(|e| ConfigError::InvalidKey(format!("the private key: {e}")))?;
            jwk.common.key_id.clone_from(&self.kid);
            jwk.common.public_key_use = Some(PublicKeyUse::Signature);
            let public = DecodingKey::from_jwk(&jwk)
                .map_err(|e| ConfigError::InvalidKey(format!("the private key: {e}")))?;
            (public, Some(jwk))
        };
        Ok(TokenIssuer {
            key,
            algorithm,
            kid: self.kid,
            issuer: self.issuer,
            audiences: self.audiences,
            lifetime: self.lifetime,
            verifying,
            public,
        })
    }
}
