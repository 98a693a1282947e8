//! The revocation interface the verifier consults: what identifies a token
//! ([`TokenId`]), where revocations live ([`RevocationStore`]), and the step that asks it
//! ([`RevocationCheck`]). The stores themselves are in [`crate::revocation`].

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use crate::{AuthError, metrics};

/// A boxed, sendable future, as the store's methods return.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// What identifies a verified token for revocation: its registered claims `jti`, `sid`,
/// `sub`, `iss` and `iat`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TokenId {
    /// The token's own id (`jti`).
    pub jti: Option<String>,
    /// The session, or refresh-token family, it belongs to (`sid`).
    pub sid: Option<String>,
    /// Its subject (`sub`).
    pub sub: Option<String>,
    /// Its issuer (`iss`): sessions and subjects are scoped by it.
    pub iss: Option<String>,
    /// When it was issued (`iat`), in seconds since the epoch.
    pub iat: Option<u64>,
}

impl TokenId {
    /// Whether nothing in the token can be revoked.
    pub(crate) fn is_empty(&self) -> bool {
        self.jti.is_none() && self.sid.is_none() && self.sub.is_none()
    }
}

/// One revocation. A token's `jti` is unique across issuers (RFC 7519 §4.1.7), so a
/// [`Token`](Self::Token) revocation needs no issuer; a session or a subject is named by
/// its issuer and its id. Each says when the last token it can match expires (`expires_at`,
/// seconds since the epoch). A store keeps it five minutes longer (the largest leeway a
/// layer grants, see [`JwtAuthBuilder::leeway`](crate::JwtAuthBuilder::leeway)): a layer
/// still accepts a token until `exp` plus its leeway, and the revocation must outlive it.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Revocation {
    /// The token whose `jti` this is; remember it until the token's `exp`.
    Token {
        /// The `jti`.
        jti: String,
        /// The token's `exp`.
        expires_at: u64,
    },
    /// Every token of this session or refresh-token family (`sid`).
    Session {
        /// The `sid`.
        sid: String,
        /// The issuer whose session this is; `None` matches every issuer's. A `sid` is only
        /// unique within its issuer (OpenID Connect Front-Channel Logout §3).
        iss: Option<String>,
        /// When the last token of the session expires.
        expires_at: u64,
    },
    /// Every token of this subject issued (`iat`) before `issued_before`, and any of its
    /// tokens without `iat`: "log out everywhere".
    Subject {
        /// The `sub`.
        sub: String,
        /// The issuer whose subject this is; `None` matches every issuer's. A `sub` is only
        /// unique within its issuer (OpenID Connect Core §2): with several issuers, name it,
        /// or one issuer's `alice` logs out every issuer's.
        iss: Option<String>,
        /// Tokens with an earlier `iat` are revoked.
        issued_before: u64,
        /// When the last token issued before then expires.
        expires_at: u64,
    },
}

/// Why the store could not answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoreError(pub String);

impl fmt::Display for StoreError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "the revocation store is unavailable: {}", self.0)
    }
}

impl std::error::Error for StoreError {}

/// Where revocations live. Implement it to keep them in your own database.
///
/// `check_local` runs on every request and must not block: answer from memory, or return
/// `None` to have the request wait for `check`.
///
/// Every record — a revocation, a used refresh token — must be kept until five minutes
/// (300 s, the largest leeway a layer accepts) after the `expires_at` it was given: layers
/// accept a token until its `exp` plus their leeway, and a record that ends at `exp` would
/// let a revoked or replayed token through in that window. Both stores of this crate do so.
pub trait RevocationStore: Send + Sync + 'static {
    /// Whether the token is revoked, from a local view kept in sync, or `None` when the view
    /// cannot tell (not loaded yet, or out of touch with the shared store).
    fn check_local(&self, token: &TokenId, now: u64) -> Option<bool>;

    /// Whether the token is revoked, asking the store itself.
    fn check(&self, token: &TokenId, now: u64) -> BoxFuture<'static, Result<bool, StoreError>>;

    /// Records a revocation; every layer sharing the store refuses the tokens it matches.
    fn revoke(&self, revocation: Revocation) -> BoxFuture<'static, Result<(), StoreError>>;

    /// Records one use of the refresh token `jti`, which expires at `expires_at`: `true` the
    /// first time, `false` if it was used before (a replay: the caller revokes its family).
    /// Must be atomic across every process sharing the store, and remembered until five
    /// minutes after `expires_at` (see above).
    fn use_once(&self, jti: &str, expires_at: u64) -> BoxFuture<'static, Result<bool, StoreError>>;
}

/// A shared store is a store: `Arc<S>` (an `Arc<dyn RevocationStore>` among them) is given
/// wherever a store is taken.
impl<S: RevocationStore + ?Sized> RevocationStore for Arc<S> {
    fn check_local(&self, token: &TokenId, now: u64) -> Option<bool> {
        (**self).check_local(token, now)
    }

    fn check(&self, token: &TokenId, now: u64) -> BoxFuture<'static, Result<bool, StoreError>> {
        (**self).check(token, now)
    }

    fn revoke(&self, revocation: Revocation) -> BoxFuture<'static, Result<(), StoreError>> {
        (**self).revoke(revocation)
    }

    fn use_once(&self, jti: &str, expires_at: u64) -> BoxFuture<'static, Result<bool, StoreError>> {
        (**self).use_once(jti, expires_at)
    }
}

/// What the layer does when the revocation store cannot answer.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum OnStoreError {
    /// Refuse the request with 503 and `Retry-After` (gRPC `UNAVAILABLE`): a revoked token
    /// never passes. The default.
    #[default]
    Reject,
    /// Let the verified token through (logged at `warn`): availability over revocation.
    Allow,
}

/// The revocation step of a layer, set up at `build()`.
#[derive(Clone)]
pub(crate) struct RevocationCheck {
    pub(crate) store: Arc<dyn RevocationStore>,
    pub(crate) on_error: OnStoreError,
}

/// What the revocation step decided without waiting.
pub(crate) enum Decision {
    Decided(Result<(), AuthError>),
    /// Wait for the store, then [`RevocationCheck::settle`].
    Ask(BoxFuture<'static, Result<bool, StoreError>>),
}

impl RevocationCheck {
    pub(crate) fn decide(&self, token: &TokenId, now: u64) -> Decision {
        if token.is_empty() {
            return Decision::Decided(Ok(()));
        }
        match self.store.check_local(token, now) {
            Some(revoked) => {
                metrics::revocation_check(Some(revoked), None);
                Decision::Decided(verdict(revoked))
            }
            None => Decision::Ask(timed(self.store.check(token, now))),
        }
    }

    /// The answer once the store has been asked.
    pub(crate) fn settle(&self, answer: Result<bool, StoreError>) -> Result<(), AuthError> {
        match answer {
            Ok(revoked) => verdict(revoked),
            Err(err) => {
                tracing::warn!(error = %err, on_error = ?self.on_error, "revocation check failed");
                match self.on_error {
                    OnStoreError::Reject => Err(AuthError::RevocationUnavailable),
                    OnStoreError::Allow => Ok(()),
                }
            }
        }
    }
}

/// The store's answer, its latency recorded (feature `metrics`).
#[cfg(feature = "metrics")]
fn timed(
    asked: BoxFuture<'static, Result<bool, StoreError>>,
) -> BoxFuture<'static, Result<bool, StoreError>> {
    Box::pin(async move {
        let start = std::time::Instant::now();
        let answer = asked.await;
        metrics::revocation_check(answer.as_ref().ok().copied(), Some(start.elapsed()));
        answer
    })
}

#[cfg(not(feature = "metrics"))]
#[inline(always)]
fn timed(
    asked: BoxFuture<'static, Result<bool, StoreError>>,
) -> BoxFuture<'static, Result<bool, StoreError>> {
    asked
}

fn verdict(revoked: bool) -> Result<(), AuthError> {
    if revoked {
        Err(AuthError::Revoked)
    } else {
        Ok(())
    }
}

impl fmt::Debug for RevocationCheck {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RevocationCheck")
            .field("on_error", &self.on_error)
            .finish_non_exhaustive()
    }
}
