//! tonic (feature `tonic`), one service at a time: the layer's services keep the name of the
//! service they wrap ([`NamedService`]), so `Server::add_service` takes a protected service
//! beside public ones (health, reflection); [`AuthError`] converts into a [`Status`]; and
//! [`JwtInterceptor`] verifies by hand, for code built around tonic's interceptors.
//!
//! # Getting started
//!
//! ```ignore
//! // From examples/tonic/server.rs (built by CI; its service comes from a .proto).
//! use tower::Layer;
//!
//! let (health, health_service) = tonic_health::server::health_reporter();
//! tonic::transport::Server::builder()
//!     .add_service(health_service)                                // no token needed
//!     .add_service(auth.layer(GreeterServer::new(MyGreeter)))     // a token needed
//!     .serve(addr)
//!     .await?;
//!
//! // in the RPC:
//! let claims = request.extensions().get::<MyClaims>();
//! ```
//!
//! (`Server::builder().layer(auth)` protects every service at once, with or without the
//! feature.) A gRPC request (a `POST` over HTTP/2 with `content-type: application/grpc…`; the
//! content type alone over HTTP/1.1 gets the HTTP answer) without a valid token gets a
//! trailers-only answer with `grpc-status: 16` and the reason in `grpc-message`, so the client
//! sees `Code::Unauthenticated` (`PERMISSION_DENIED` from [`authorize`](crate::authorize),
//! `UNAVAILABLE` while keys or the revocation store are unavailable). Code that verifies by
//! hand gets the same status with `Status::from(err)`, or uses the layer's checks as an
//! interceptor: `GreeterServer::with_interceptor(MyGreeter, auth.interceptor())` (it cannot
//! wait for a key being fetched; the layer can).
//!
//! The calling side sends a token on every call and replaces it before it expires
//! ([`client`](crate::client)):
//!
//! ```ignore
//! use tower_jwt_auth::client::{BearerLayer, ClientCredentials};
//!
//! let tokens = ClientCredentials::new("https://auth.example.com/oauth/token", "billing", secret)?
//!     .scope("greeter:greet");
//! let channel = tower::ServiceBuilder::new()
//!     .layer(BearerLayer::new(tokens))        // or StaticToken, or IssuedTokens (a TokenIssuer)
//!     .service(Endpoint::from_static("https://greeter.internal").connect().await?);
//! let mut client = GreeterClient::new(channel);
//! ```
//!
//! The example has its own `.proto`, compiled without `protoc`:
//!
//! ```sh
//! cargo run --example tonic-server --features tonic   # 127.0.0.1:50051
//! cargo run --example tonic-client --features tonic   # health without a token; greet with and without one
//! ```

use http::Uri;
use serde::de::DeserializeOwned;
use tonic::server::NamedService;
use tonic::service::Interceptor;
use tonic::{Code, Request, Status};

use crate::authorize::RequireService;
use crate::service::{JwtAuth, insert_into};
use crate::{AuthError, JwtAuthLayer, extract, metrics, mtls};

/// A protected service keeps its gRPC name, so it can be added to a tonic server on its own:
///
/// ```
/// # mod greeter { pub struct GreeterServer; impl tonic::server::NamedService for GreeterServer { const NAME: &'static str = "greeter.v1.Greeter"; } }
/// use tonic::server::NamedService;
/// use tower_jwt_auth::{Algorithm, JwtAuthLayer, RegisteredClaims};
/// use tower_jwt_auth::service::JwtAuth;
/// use tower_layer::Layer;
///
/// let auth = JwtAuthLayer::<RegisteredClaims>::builder()
///     .hmac_secret(b"at least thirty-two bytes of secret!", Algorithm::HS256)
///     .build()
///     .unwrap();
/// // Server::builder().add_service(health).add_service(auth.layer(GreeterServer::new(..)))
/// let protected = auth.layer(greeter::GreeterServer);
/// fn name<S: NamedService>(_: &S) -> &'static str { S::NAME }
/// assert_eq!(name(&protected), "greeter.v1.Greeter");
/// ```
impl<S: NamedService, C, R> NamedService for JwtAuth<S, C, R> {
    const NAME: &'static str = S::NAME;
}

/// A service behind [`Require`](crate::authorize::Require) keeps its gRPC name too.
impl<S: NamedService, C, R> NamedService for RequireService<S, C, R> {
    const NAME: &'static str = S::NAME;
}

/// The status the layer answers a gRPC request with: `UNAUTHENTICATED`, `PERMISSION_DENIED`
/// for a missing grant, `UNAVAILABLE` while keys or the revocation store cannot answer; the
/// message is the error's fixed [`description`](AuthError::description).
impl From<AuthError> for Status {
    fn from(err: AuthError) -> Status {
        Status::new(Code::from_i32(err.grpc_code()), err.description())
    }
}

/// A tonic [`Interceptor`] that verifies the request's token as the layer would and puts the
/// claims (and grants) into the request's extensions; a refused request gets the layer's
/// status. Made by [`JwtAuthLayer::interceptor`].
///
/// It takes bearer tokens only: an interceptor sees neither the method nor the URL a DPoP
/// proof names, so a DPoP-only layer's interceptor refuses every request
/// ([`AuthError::DpopRequired`]); wrap the service with the layer instead.
///
/// Interceptors are synchronous, so this one cannot wait: a token naming a key not fetched
/// yet is refused (`UNAUTHENTICATED`) rather than waiting for a refetch, a revocation
/// store is asked through its local view alone, and a token to introspect passes only on
/// an answer the layer kept (`UNAVAILABLE` otherwise; see [`Verifier::verify`](crate::Verifier::verify)).
/// Tokens are read from the request's metadata by the layer's sources (a query-parameter
/// source finds nothing: interceptors do not see the URI). Prefer the layer, which waits,
/// wherever the stack allows it.
///
/// ```
/// use tower_jwt_auth::{Algorithm, JwtAuthLayer, RegisteredClaims};
///
/// let auth = JwtAuthLayer::<RegisteredClaims>::builder()
///     .hmac_secret(b"at least thirty-two bytes of secret!", Algorithm::HS256)
///     .build()
///     .unwrap();
/// let interceptor = auth.interceptor();
/// // GreeterServer::with_interceptor(MyGreeter, interceptor)
/// # let _ = interceptor;
/// ```
#[derive(Debug)]
pub struct JwtInterceptor<C, R> {
    layer: JwtAuthLayer<C, R>,
}

impl<C, R> Clone for JwtInterceptor<C, R> {
    fn clone(&self) -> Self {
        JwtInterceptor {
            layer: self.layer.clone(),
        }
    }
}

impl<C, R> JwtAuthLayer<C, R> {
    /// This layer's checks as a tonic [`Interceptor`]: see [`JwtInterceptor`].
    pub fn interceptor(&self) -> JwtInterceptor<C, R> {
        JwtInterceptor {
            layer: self.clone(),
        }
    }
}

impl<C, R> Interceptor for JwtInterceptor<C, R>
where
    C: DeserializeOwned + Clone + Send + Sync + 'static,
{
    fn call(&mut self, mut request: Request<()>) -> Result<Request<()>, Status> {
        let shared = &self.layer.shared;
        let max_len = shared.verifier.config.max_token_size;
        let headers = request.metadata().as_ref();
        // No proof can be checked here: the `DPoP` scheme counts as no token.
        let uri = Uri::default();
        let found = extract::token(&shared.sources, headers, &uri, max_len, false);
        let verified = match found {
            Ok(Some(found)) => Ok(found.token),
            Ok(None) if shared.optional => {
                metrics::request(Ok(false));
                return Ok(request);
            }
            Ok(None) => Err(AuthError::MissingToken),
            Err(err) => Err(err),
        }
        .and_then(|token| {
            // Interceptors do not see the method and URL a proof must name.
            if shared.takes_dpop_only() {
                return Err(AuthError::DpopRequired);
            }
            let verified = shared.verifier.verify_bound(token)?;
            let provider = shared.verifier.config.provider;
            mtls::confirm_bearer(&verified, request.extensions(), provider)?;
            Ok(verified)
        });
        metrics::request(verified.as_ref().map(|_| true).map_err(|err| *err));
        insert_into(verified?, request.extensions_mut());
        Ok(request)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::response::DefaultErrorResponse;
    use crate::response::{DEFAULT_REALM, Rejections, RequestHead};

    /// A hand-verifying RPC returns what the layer would have answered, for every error:
    /// the same `grpc-status`, the same message.
    #[test]
    fn an_auth_error_becomes_the_status_the_layer_answers_with() {
        let rejections = Rejections::new(DEFAULT_REALM, None, None);
        for err in AuthError::ALL {
            let answer: http::Response<()> =
                rejections.respond(&DefaultErrorResponse, err, true, &RequestHead::unknown());
            let status = Status::from(err);
            assert_eq!(
                answer.headers()["grpc-status"],
                (status.code() as i32).to_string().as_str(),
                "{err:?}"
            );
            assert_eq!(status.message(), err.description());
            let expected = match err {
                AuthError::InsufficientScope => Code::PermissionDenied,
                _ if err.status() == http::StatusCode::SERVICE_UNAVAILABLE => Code::Unavailable,
                _ => Code::Unauthenticated,
            };
            assert_eq!(status.code(), expected, "{err:?}");
        }
    }
}
