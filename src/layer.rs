//! [`JwtAuthLayer`]: the Tower layer.

use std::fmt;
use std::marker::PhantomData;
use std::sync::Arc;

use http::{HeaderMap, HeaderValue, Method, Uri};
use serde::de::DeserializeOwned;
use tower_layer::Layer;

use crate::AuthError;
use crate::dpop::{Dpop, ProofRequest, Seen};
use crate::response::DefaultErrorResponse;
use crate::service::{JwtAuth, Shared};
use crate::verifier::{Verifier, now};

/// A Tower layer that authenticates every request by a JSON Web Token.
///
/// On success the verified claims, of type `C`, are inserted into the request's extensions
/// and the inner service is called; on failure the inner service is not called and the
/// client gets the RFC 6750 answer (or a gRPC `UNAUTHENTICATED` status for gRPC requests).
///
/// The layer is cheap to clone (an `Arc`), `Send + Sync` whatever `C` is, and works with
/// axum, tonic, hyper and `tower::ServiceBuilder`.
///
/// ```
/// use serde::Deserialize;
/// use tower_jwt_auth::{Algorithm, DecodingKey, JwtAuthLayer};
///
/// #[derive(Clone, Deserialize)]
/// struct Claims {
///     sub: String,
/// }
///
/// let key = DecodingKey::from_secret(b"at least thirty-two bytes of secret!").unwrap();
/// let layer = JwtAuthLayer::<Claims>::new(key, Algorithm::HS256).unwrap();
/// ```
pub struct JwtAuthLayer<C, R = DefaultErrorResponse> {
    pub(crate) shared: Arc<Shared<C, R>>,
    _claims: PhantomData<fn() -> C>,
}

impl<C, R> JwtAuthLayer<C, R> {
    pub(crate) fn from_shared(shared: Shared<C, R>) -> Self {
        JwtAuthLayer {
            shared: Arc::new(shared),
            _claims: PhantomData,
        }
    }

    /// The verifier the layer runs for every request, for tokens that do not come in a
    /// request's header: a WebSocket message, a gRPC interceptor, a queue consumer.
    pub fn verifier(&self) -> &Verifier<C> {
        &self.shared.verifier
    }

    /// Verifies a token exactly as the layer does for a request and returns its claims;
    /// see [`Verifier::verify`], which also gives the grants and the token's ids.
    ///
    /// With a revocation store, only its local view is consulted: when that cannot answer,
    /// the result is [`AuthError::RevocationUnavailable`] (or the token passes, with
    /// [`OnStoreError::Allow`](crate::revocation::OnStoreError::Allow)).
    ///
    /// # Errors
    /// The [`AuthError`] the layer would answer with.
    pub fn verify(&self, token: &str) -> Result<C, AuthError>
    where
        C: DeserializeOwned + Clone + 'static,
    {
        self.shared.verifier.verify(token).map(|v| v.into_claims())
    }
}

impl<C, R> JwtAuthLayer<C, R> {
    /// Checks the DPoP proof of a request that carries no access token yet — a login or a
    /// refresh at your own token endpoint (RFC 9449 §4.3, §5) — with this layer's DPoP
    /// options, and gives the thumbprint of its key: the `jkt` to bind the tokens to
    /// ([`TokenIssuer::issue_pair_bound`](crate::issue::TokenIssuer::issue_pair_bound),
    /// [`refresh_bound`](crate::issue::TokenIssuer::refresh_bound)).
    ///
    /// The proof must name one of the layer's
    /// [`external_url`](crate::dpop::DpopOptions::external_url)s, and is recorded in a
    /// replay cache of its own
    /// ([`grant_replay_capacity`](crate::dpop::DpopOptions::grant_replay_capacity)), apart
    /// from the API's: anyone can make such a proof before any credential is checked, so a
    /// flood of them never holds up requests that carry a token.
    ///
    /// With [`require_nonce`](crate::dpop::DpopOptions::require_nonce), a proof without a
    /// current nonce is refused with [`AuthError::DpopNonceRequired`]: answer
    /// `400 {"error":"use_dpop_nonce"}` with a `DPoP-Nonce` header from
    /// [`dpop_nonce`](Self::dpop_nonce) (RFC 9449 §8), and send one with the tokens too.
    ///
    /// # Errors
    /// [`AuthError::DpopRequired`] when the layer takes no DPoP; else the proof's error
    /// (`DpopProofMissing`, `DpopProofSignature`, `DpopNonceRequired`, …).
    pub async fn dpop_key(
        &self,
        method: &Method,
        uri: &Uri,
        headers: &HeaderMap,
    ) -> Result<String, AuthError> {
        let dpop = self.shared.dpop.as_ref().ok_or(AuthError::DpopRequired)?;
        let request = ProofRequest {
            method,
            uri,
            headers,
        };
        let proven = dpop.check(&request, None, now())?;
        let answer = match proven.seen {
            Seen::Now(answer) => answer,
            Seen::Ask(answer) => answer.await,
        };
        Dpop::settle(answer).map(|()| proven.jkt)
    }

    /// A fresh server nonce for a `DPoP-Nonce` response header (RFC 9449 §8, §9), when the
    /// layer [requires nonces](crate::dpop::DpopOptions::require_nonce): for your token
    /// endpoint's `use_dpop_nonce` answer and its successful ones. `None` otherwise. The
    /// layer adds one itself to its own `use_dpop_nonce` answers, to
    /// [`Unauthenticated::response`](crate::response::Unauthenticated::response)'s, and to the
    /// response of a request whose nonce is about to expire.
    pub fn dpop_nonce(&self) -> Option<HeaderValue> {
        self.shared.dpop.as_ref()?.nonce(now())
    }
}

#[cfg(feature = "jwks")]
impl<C, R> JwtAuthLayer<C, R> {
    /// Whether every remote key source (`jwks_url`, `oidc_issuer`) has keys: fetched once,
    /// and not dropped as older than [`max_staleness`](crate::jwks::JwksOptions::max_staleness);
    /// always `true` with static keys alone. Until then, requests get `503` with
    /// `Retry-After`. Useful for a readiness probe.
    pub fn is_ready(&self) -> bool {
        self.shared.verifier.is_ready()
    }

    /// Waits until [`is_ready`](Self::is_ready). Fetches keep being retried after failures,
    /// so this waits as long as the key server is unreachable: bound it with a timeout.
    ///
    /// ```no_run
    /// # async fn demo(layer: tower_jwt_auth::JwtAuthLayer<tower_jwt_auth::RegisteredClaims>) {
    /// use std::time::Duration;
    /// if tokio::time::timeout(Duration::from_secs(10), layer.ready()).await.is_err() {
    ///     eprintln!("the identity provider's keys are not reachable yet");
    /// }
    /// # }
    /// ```
    pub async fn ready(&self) {
        self.shared.verifier.ready().await;
    }
}

impl<C, R> Clone for JwtAuthLayer<C, R> {
    fn clone(&self) -> Self {
        JwtAuthLayer {
            shared: Arc::clone(&self.shared),
            _claims: PhantomData,
        }
    }
}

impl<C, R> fmt::Debug for JwtAuthLayer<C, R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JwtAuthLayer")
            .field("verifier", &self.shared.verifier)
            .finish_non_exhaustive()
    }
}

impl<S, C, R> Layer<S> for JwtAuthLayer<C, R> {
    type Service = JwtAuth<S, C, R>;

    fn layer(&self, inner: S) -> Self::Service {
        JwtAuth::new(inner, Arc::clone(&self.shared))
    }
}
