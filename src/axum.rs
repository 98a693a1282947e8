//! The axum extractor [`Claims`] (feature `axum`).

use std::fmt;
use std::sync::Arc;

use axum_core::body::Body;
use axum_core::extract::{FromRequestParts, OptionalFromRequestParts};
use axum_core::response::{IntoResponse, Response};
use http::StatusCode;
use http::request::Parts;

/// Left in the request by the layer in optional mode when no token came: how the layer
/// would have answered.
pub(crate) struct Unauthenticated<B>(pub(crate) Arc<dyn Fn() -> http::Response<B> + Send + Sync>);

impl<B> Clone for Unauthenticated<B> {
    fn clone(&self) -> Self {
        Unauthenticated(self.0.clone())
    }
}

/// The verified claims of the request, as an axum extractor.
///
/// `Claims<C>` needs [`JwtAuthLayer`](crate::JwtAuthLayer) on the route. When the request
/// has no claims (the layer runs in optional mode and no token came), it answers exactly
/// as the layer would have: `401` with the `WWW-Authenticate` challenge, or the gRPC
/// status. `Option<Claims<C>>` gives `None` instead.
///
/// ```
/// use axum::{Json, Router, routing::get};
/// use serde::{Deserialize, Serialize};
/// use tower_jwt_auth::{Algorithm, Claims, JwtAuthLayer};
///
/// #[derive(Clone, Serialize, Deserialize)]
/// struct User {
///     sub: String,
/// }
///
/// async fn me(Claims(user): Claims<User>) -> Json<User> {
///     Json(user)
/// }
///
/// async fn greet(user: Option<Claims<User>>) -> String {
///     match user {
///         Some(Claims(user)) => format!("hello {}", user.sub),
///         None => "hello stranger".to_owned(),
///     }
/// }
///
/// let auth = JwtAuthLayer::<User>::builder()
///     .hmac_secret(b"at least thirty-two bytes of secret!", Algorithm::HS256)
///     .optional(true)
///     .build()
///     .unwrap();
/// let app: Router = Router::new()
///     .route("/me", get(me))
///     .route("/greet", get(greet))
///     .layer(auth);
/// ```
#[derive(Debug, Clone)]
pub struct Claims<C>(pub C);

/// Why [`Claims`] could not be extracted.
pub struct ClaimsRejection(Response);

impl fmt::Debug for ClaimsRejection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("ClaimsRejection")
            .field(&self.0.status())
            .finish()
    }
}

impl IntoResponse for ClaimsRejection {
    fn into_response(self) -> Response {
        self.0
    }
}

fn missing_layer() -> ClaimsRejection {
    tracing::error!("the Claims extractor is used on a route without JwtAuthLayer");
    ClaimsRejection(
        (
            StatusCode::INTERNAL_SERVER_ERROR,
            "Claims extractor used on a route without JwtAuthLayer",
        )
            .into_response(),
    )
}

impl<C, S> FromRequestParts<S> for Claims<C>
where
    C: Clone + Send + Sync + 'static,
    S: Send + Sync,
{
    type Rejection = ClaimsRejection;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        if let Some(claims) = parts.extensions.get::<C>() {
            return Ok(Claims(claims.clone()));
        }
        match parts.extensions.get::<Unauthenticated<Body>>() {
            Some(respond) => Err(ClaimsRejection((respond.0)())),
            None => Err(missing_layer()),
        }
    }
}

impl<C, S> OptionalFromRequestParts<S> for Claims<C>
where
    C: Clone + Send + Sync + 'static,
    S: Send + Sync,
{
    type Rejection = ClaimsRejection;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Option<Self>, Self::Rejection> {
        if let Some(claims) = parts.extensions.get::<C>() {
            return Ok(Some(Claims(claims.clone())));
        }
        match parts.extensions.get::<Unauthenticated<Body>>() {
            Some(_) => Ok(None),
            None => Err(missing_layer()),
        }
    }
}
