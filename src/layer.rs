//! [`JwtAuthLayer`]: the Tower layer.

use std::fmt;
use std::marker::PhantomData;
use std::sync::Arc;

use serde::de::DeserializeOwned;
use tower_layer::Layer;

use crate::response::DefaultErrorResponse;
use crate::revocation::StoreError;
use crate::service::JwtAuth;
use crate::verify::Shared;
use crate::verify::now;
use crate::{Algorithm, AuthError, ConfigError, DecodingKey, JwtAuthBuilder};

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
    pub(crate) shared: Arc<Shared<C>>,
    error_response: R,
    _claims: PhantomData<fn() -> C>,
}

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

impl<C, R> JwtAuthLayer<C, R> {
    pub(crate) fn from_parts(shared: Arc<Shared<C>>, error_response: R) -> Self {
        JwtAuthLayer {
            shared,
            error_response,
            _claims: PhantomData,
        }
    }

    /// Verifies a token exactly as the layer does for a request, for places where a token
    /// does not come in a header (a WebSocket message, a gRPC interceptor, a CLI).
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
        let now = now();
        let (claims, facts) = self.shared.verify(token, now)?;
        if let (Some(revocation), Some(id)) = (&self.shared.config.revocation, &facts.id) {
            let local = revocation.store.check_local(id, now);
            let unavailable = Err(StoreError("no local answer".to_owned()));
            revocation.settle(local.map_or(unavailable, Ok))?;
        }
        Ok(claims)
    }
}

#[cfg(feature = "jwks")]
impl<C, R> JwtAuthLayer<C, R> {
    /// Whether every remote key source (`jwks_url`, `oidc_issuer`) has been fetched once;
    /// always `true` with static keys alone. Until then, requests get `503` with
    /// `Retry-After`. Useful for a readiness probe.
    pub fn is_ready(&self) -> bool {
        self.shared.config.stores.iter().all(|s| s.is_ready())
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
        let stores = &self.shared.config.stores;
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
}

impl<C, R: Clone> Clone for JwtAuthLayer<C, R> {
    fn clone(&self) -> Self {
        JwtAuthLayer::from_parts(self.shared.clone(), self.error_response.clone())
    }
}

impl<C, R> fmt::Debug for JwtAuthLayer<C, R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JwtAuthLayer")
            .field("config", &self.shared.config)
            .finish_non_exhaustive()
    }
}

impl<S, C, R: Clone> Layer<S> for JwtAuthLayer<C, R> {
    type Service = JwtAuth<S, C, R>;

    fn layer(&self, inner: S) -> Self::Service {
        JwtAuth::new(inner, self.shared.clone(), self.error_response.clone())
    }
}
