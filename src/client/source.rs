//! Where a client's access tokens come from: [`TokenProvider`], and the providers the crate
//! ships without any I/O ([`StaticToken`], [`IssuedTokens`]).

use std::error::Error as StdError;
use std::fmt;
use std::future::{self, Future};
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;
use serde_json::Value;

use crate::issue::{IssueError, TokenIssuer};

/// The future a [`TokenProvider`] returns.
pub type FetchFuture<'a> =
    Pin<Box<dyn Future<Output = Result<AccessToken, TokenError>> + Send + 'a>>;

/// A source of access tokens for [`BearerLayer`](super::BearerLayer), asked for a new one
/// when there is none yet or the current one is about to expire.
///
/// Implement it for a source the crate does not ship (a token file a sidecar rewrites, a
/// cloud metadata endpoint…).
pub trait TokenProvider: Send + Sync + 'static {
    /// Gets a new access token.
    fn fetch(&self) -> FetchFuture<'_>;
}

/// An access token and how long it is valid from now. Its `Debug` output hides the token.
#[derive(Clone)]
pub struct AccessToken {
    token: String,
    expires_in: Option<Duration>,
}

impl AccessToken {
    /// A token valid for `expires_in` from now; `None` when it does not expire (or its
    /// lifetime is not known), so it is never refreshed.
    pub fn new(token: impl Into<String>, expires_in: Option<Duration>) -> Self {
        AccessToken {
            token: token.into(),
            expires_in,
        }
    }

    /// The token itself, as it goes after `Bearer `.
    pub fn secret(&self) -> &str {
        &self.token
    }

    /// How long it is valid, counted from when it was fetched.
    pub fn expires_in(&self) -> Option<Duration> {
        self.expires_in
    }
}

impl fmt::Debug for AccessToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AccessToken")
            .field("token", &"<redacted>")
            .field("expires_in", &self.expires_in)
            .finish()
    }
}

/// Why no access token could be had.
#[derive(Debug)]
#[non_exhaustive]
pub enum TokenError {
    /// The token endpoint could not be reached, or did not answer in time: worth retrying.
    Unreachable(Box<dyn StdError + Send + Sync>),
    /// The token endpoint refused, with the OAuth `error` code it gave (RFC 6749 §5.2),
    /// `invalid_client` say: the client's configuration needs fixing.
    Refused {
        /// The HTTP status of the answer.
        status: u16,
        /// The `error` member of the answer, when it had one.
        error: Option<String>,
    },
    /// The answer was not a token response this client can use: not JSON, no
    /// `access_token`, a `token_type` other than `Bearer`, a token that cannot be a header.
    InvalidResponse(String),
    /// A [`TokenIssuer`] could not mint the token.
    Issue(IssueError),
}

impl fmt::Display for TokenError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TokenError::Unreachable(why) => write!(f, "the token endpoint is unreachable: {why}"),
            TokenError::Refused {
                status,
                error: Some(error),
            } => write!(f, "the token endpoint refused ({status}): {error}"),
            TokenError::Refused {
                status,
                error: None,
            } => write!(f, "the token endpoint refused ({status})"),
            TokenError::InvalidResponse(why) => {
                write!(f, "the token endpoint's answer is unusable: {why}")
            }
            TokenError::Issue(why) => write!(f, "the token issuer failed: {why}"),
        }
    }
}

impl StdError for TokenError {
    fn source(&self) -> Option<&(dyn StdError + 'static)> {
        match self {
            TokenError::Unreachable(why) => Some(why.as_ref()),
            TokenError::Issue(why) => Some(why),
            TokenError::Refused { .. } | TokenError::InvalidResponse(_) => None,
        }
    }
}

/// One token, sent as it is: for a token minted elsewhere, or a long-lived service token.
///
/// ```
/// use tower_jwt_auth::client::{BearerLayer, StaticToken};
///
/// let layer = BearerLayer::new(StaticToken::new(std::env::var("API_TOKEN").unwrap_or_default()));
/// ```
#[derive(Clone)]
pub struct StaticToken(AccessToken);

impl StaticToken {
    /// A token that is never refreshed.
    pub fn new(token: impl Into<String>) -> Self {
        StaticToken(AccessToken::new(token, None))
    }
}

impl fmt::Debug for StaticToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("StaticToken").field(&self.0).finish()
    }
}

impl TokenProvider for StaticToken {
    fn fetch(&self) -> FetchFuture<'_> {
        Box::pin(future::ready(Ok(self.0.clone())))
    }
}

/// Tokens minted in process by a [`TokenIssuer`], with the same claims each time: a service
/// that calls another with its own identity, or a test.
///
/// ```
/// use std::sync::Arc;
/// use serde_json::json;
/// use tower_jwt_auth::client::{BearerLayer, IssuedTokens};
/// use tower_jwt_auth::Algorithm;
/// use tower_jwt_auth::issue::TokenIssuer;
///
/// let issuer = TokenIssuer::hmac(b"at least thirty-two bytes of secret!", Algorithm::HS256)
///     .build()
///     .unwrap();
/// let tokens = IssuedTokens::new(Arc::new(issuer), &json!({ "sub": "billing-service" })).unwrap();
/// let layer = BearerLayer::new(tokens);
/// ```
#[derive(Clone)]
pub struct IssuedTokens {
    issuer: Arc<TokenIssuer>,
    claims: Value,
}

impl IssuedTokens {
    /// Tokens of `issuer` carrying `claims` (the issuer adds `exp`, `iat`, `jti`…).
    ///
    /// # Errors
    /// [`IssueError`] when the claims cannot be minted: checked here, once, by minting one.
    pub fn new<C: Serialize>(issuer: Arc<TokenIssuer>, claims: &C) -> Result<Self, IssueError> {
        let claims =
            serde_json::to_value(claims).map_err(|e| IssueError::Encoding(e.to_string()))?;
        issuer.issue(&claims)?;
        Ok(IssuedTokens { issuer, claims })
    }
}

impl fmt::Debug for IssuedTokens {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IssuedTokens").finish_non_exhaustive()
    }
}

impl TokenProvider for IssuedTokens {
    fn fetch(&self) -> FetchFuture<'_> {
        let token = self
            .issuer
            .issue(&self.claims)
            .map(|token| AccessToken::new(token, Some(self.issuer.access_lifetime())))
            .map_err(TokenError::Issue);
        Box::pin(future::ready(token))
    }
}
