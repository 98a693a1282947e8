//! axum (feature `axum`): the extractors [`Claims`] and [`Authorized`], and the layer in a
//! `Router`.
//!
//! # Getting started
//!
//! ```
//! use axum::{Router, routing::get};
//! use serde::Deserialize;
//! use tower_jwt_auth::{Algorithm, Claims, JwtAuthLayer};
//!
//! #[derive(Clone, Deserialize)]
//! struct MyClaims {
//!     sub: String,
//! }
//!
//! async fn me(Claims(claims): Claims<MyClaims>) -> String {
//!     claims.sub
//! }
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let auth = JwtAuthLayer::<MyClaims>::builder()
//!     .hmac_secret(b"at least thirty-two bytes of secret!", Algorithm::HS256)
//!     .build()?;
//! let app: Router = Router::new()
//!     .route("/me", get(me))
//!     .route_layer(auth) // guards the routes above; unknown paths stay 404
//!     .route("/health", get(|| async { "ok" }));
//! # Ok(())
//! # }
//! ```
//!
//! `.layer(auth)` instead of `.route_layer(auth)` also guards the 404 fallback. [`Claims`]
//! answers exactly as the layer would when the claims are absent; `Option<Claims<C>>` gives
//! `None` (useful with [`optional(true)`](crate::JwtAuthBuilder::optional)).
//! `Extension<C>` works too. [`Authorized`] checks scopes, roles and a predicate in the
//! handler's signature (see [`Permission`]); the [`authorize`](crate::authorize) layer does
//! the same for a group of routes.
//!
//! # The example
//!
//! `cargo run --example axum` runs the whole token lifecycle with a built-in demo key:
//! `POST /login` answers an OAuth-style
//! `{"access_token":"…","token_type":"Bearer","expires_in":900,"refresh_token":"…"}`,
//! `GET /me` and `GET /notes` need a token (and the `notes:read` scope), `POST /notes` needs
//! `notes:write`, `POST /refresh` rotates the pair, `POST /logout` ends the session. It prints
//! this session with its address filled in; CI runs it step by step:
//!
//! ```sh
//! cargo run --example axum
//! A=http://127.0.0.1:3000
//! PAIR=$(curl -s -X POST $A/login -H 'content-type: application/json' \
//!   -d '{"username":"demo","password":"demo"}')
//! TOKEN=$(echo "$PAIR" | sed 's/.*"access_token":"\([^"]*\)".*/\1/')
//! REFRESH=$(echo "$PAIR" | sed 's/.*"refresh_token":"\([^"]*\)".*/\1/')
//!
//! curl -i $A/me -H "Authorization: Bearer $TOKEN"             # 200, the claims
//! curl -i $A/notes -H "Authorization: Bearer $TOKEN"          # 200: demo has notes:read
//! curl -i -X POST $A/notes -H "Authorization: Bearer $TOKEN"  # 403, WWW-Authenticate: Bearer realm="api",
//!                                                             #   error="insufficient_scope", …, scope="notes:write"
//! PAIR=$(curl -s -X POST $A/refresh -H 'content-type: application/json' \
//!   -d "{\"refresh_token\":\"$REFRESH\"}")                     # a new pair; the old refresh token is spent
//! TOKEN=$(echo "$PAIR" | sed 's/.*"access_token":"\([^"]*\)".*/\1/')
//! REFRESH=$(echo "$PAIR" | sed 's/.*"refresh_token":"\([^"]*\)".*/\1/')
//! curl -i -X POST $A/logout -H 'content-type: application/json' \
//!   -d "{\"refresh_token\":\"$REFRESH\"}"                      # 204
//! curl -i $A/me -H "Authorization: Bearer $TOKEN"             # 401, error_description="the token has been revoked"
//! curl -i $A/me                                               # 401, WWW-Authenticate: Bearer realm="api"
//! ```
//!
//! `JWT_SECRET` sets the secret (a built-in demo secret otherwise, with a warning), `ADDR` the
//! address. `editor`/`editor` logs in with both scopes. `cargo run --example dpop-client`
//! runs the DPoP flow against it.

use std::fmt;
use std::marker::PhantomData;
use std::time::Duration;

use axum_core::body::Body;
use axum_core::extract::{FromRequestParts, OptionalFromRequestParts};
use axum_core::response::{IntoResponse, Response};
use http::StatusCode;
use http::request::Parts;

use crate::AuthError;
use crate::authorize::authenticated_enough;
use crate::claims::Grants;
use crate::response::{
    DEFAULT_REALM, DefaultErrorResponse, MetadataParam, Rejections, RequestHead, Unauthenticated,
    is_quotable, is_scope_token,
};
use crate::verifier::now;

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

/// Why [`Claims`] or [`Authorized`] could not be extracted: its response (what the layer
/// would answer, or a `500` for a server mistake), and [`error`](Self::error), which says
/// which. `Display` says it in words, for logs.
pub struct ClaimsRejection {
    response: Response,
    why: Why,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Why {
    /// The request was refused for this reason.
    Refused(AuthError),
    /// No `JwtAuthLayer` ran before the extractor: a server mistake.
    NoLayer,
    /// A `Permission` names an invalid scope, acr value or realm: a server mistake.
    InvalidPermission,
}

impl ClaimsRejection {
    fn refused(response: Response, error: AuthError) -> Self {
        ClaimsRejection {
            response,
            why: Why::Refused(error),
        }
    }

    /// Why the request was refused (`MissingToken`, `InsufficientScope`…), or `None` when
    /// the server is misconfigured (no `JwtAuthLayer` on the route, an invalid
    /// `Permission`), which answers `500`.
    pub fn error(&self) -> Option<AuthError> {
        match self.why {
            Why::Refused(error) => Some(error),
            Why::NoLayer | Why::InvalidPermission => None,
        }
    }
}

impl fmt::Debug for ClaimsRejection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClaimsRejection")
            .field("status", &self.response.status())
            .field("why", &self.why)
            .finish()
    }
}

impl fmt::Display for ClaimsRejection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.why {
            Why::Refused(error) => write!(f, "request refused: {}", error.description()),
            Why::NoLayer => {
                f.write_str("the Claims extractor is used on a route without JwtAuthLayer")
            }
            Why::InvalidPermission => {
                f.write_str("a Permission has an invalid scope, acr value or realm")
            }
        }
    }
}

impl std::error::Error for ClaimsRejection {}

impl IntoResponse for ClaimsRejection {
    fn into_response(self) -> Response {
        self.response
    }
}

/// The answer a layer with the default realm (`api`) and body gives for this error, for
/// code that calls [`verify`](crate::JwtAuthLayer::verify) itself: the status, the
/// `WWW-Authenticate` challenge (or `Retry-After` for a `503`) and `Cache-Control: no-store`.
impl IntoResponse for AuthError {
    fn into_response(self) -> Response {
        let unknown = RequestHead::unknown();
        Rejections::new(DEFAULT_REALM, None, None).respond(
            &DefaultErrorResponse,
            self,
            false,
            &unknown,
        )
    }
}

fn missing_layer() -> ClaimsRejection {
    tracing::error!("the Claims extractor is used on a route without JwtAuthLayer");
    ClaimsRejection {
        response: (
            StatusCode::INTERNAL_SERVER_ERROR,
            "Claims extractor used on a route without JwtAuthLayer",
        )
            .into_response(),
        why: Why::NoLayer,
    }
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
            Some(refused) => Err(ClaimsRejection::refused(
                refused.response_to(&RequestHead::of_parts(parts)),
                refused.error(),
            )),
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

/// A requirement known at compile time, checked by the [`Authorized`] extractor.
///
/// ```
/// use axum::{Router, routing::post};
/// use serde::Deserialize;
/// use tower_jwt_auth::{Algorithm, Authorized, JwtAuthLayer};
/// use tower_jwt_auth::axum::Permission;
/// use tower_jwt_auth::claims::Grants;
///
/// #[derive(Clone, Deserialize)]
/// struct User {
///     sub: String,
/// }
///
/// /// Writing notes needs the `notes:write` scope, and no guest.
/// struct WriteNotes;
///
/// impl Permission<User> for WriteNotes {
///     const SCOPES: &'static [&'static str] = &["notes:write"];
///     fn allows(user: &User, _: &Grants) -> bool {
///         user.sub != "guest"
///     }
/// }
///
/// async fn create(Authorized(user, ..): Authorized<User, WriteNotes>) -> String {
///     format!("created by {}", user.sub)
/// }
///
/// let auth = JwtAuthLayer::<User>::builder()
///     .hmac_secret(b"at least thirty-two bytes of secret!", Algorithm::HS256)
///     .build()
///     .unwrap();
/// let app: Router = Router::new().route("/notes", post(create)).layer(auth);
/// ```
pub trait Permission<C>: Send + Sync + 'static {
    /// Scopes the token must grant, all of them (RFC 6749 §3.3 scope tokens).
    const SCOPES: &'static [&'static str] = &[];
    /// Roles the token must carry, all of them.
    const ROLES: &'static [&'static str] = &[];
    /// The realm named in the challenge: use the layer's.
    const REALM: &'static str = "api";
    /// Authentication context classes the user must have authenticated with, any of them
    /// (the token's `acr`; RFC 9470). A token that falls short gets `401` with
    /// `error="insufficient_user_authentication"` and these as `acr_values`. Empty: any.
    const ACR_VALUES: &'static [&'static str] = &[];
    /// How long ago the user may have authenticated at most (the token's `auth_time`, in
    /// whole seconds; RFC 9470). A token that falls short gets `401` with
    /// `error="insufficient_user_authentication"` and `max_age`.
    const MAX_AUTH_AGE: Option<Duration> = None;

    /// A further check over the claims.
    fn allows(claims: &C, grants: &Grants) -> bool {
        let _ = (claims, grants);
        true
    }
}

/// The verified claims of a request that meets the [`Permission`] `P`; otherwise `403`
/// with `error="insufficient_scope"` and the required `scope` (gRPC `PERMISSION_DENIED`),
/// or, for a user who must authenticate again (`ACR_VALUES`, `MAX_AUTH_AGE`), `401` with
/// `error="insufficient_user_authentication"` (RFC 9470; gRPC `UNAUTHENTICATED`).
/// See [`Permission`] for an example. A request without claims is answered as by
/// [`Claims`].
pub struct Authorized<C, P>(pub C, pub PhantomData<P>);

impl<C: fmt::Debug, P> fmt::Debug for Authorized<C, P> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Authorized").field(&self.0).finish()
    }
}

impl<C, P, S> FromRequestParts<S> for Authorized<C, P>
where
    C: Clone + Send + Sync + 'static,
    P: Permission<C>,
    S: Send + Sync,
{
    type Rejection = ClaimsRejection;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let Claims(claims) =
            <Claims<C> as FromRequestParts<S>>::from_request_parts(parts, state).await?;
        let none = Grants::default();
        let grants = parts.extensions.get::<Grants>().unwrap_or(&none);
        let granted = P::SCOPES.iter().all(|s| grants.has_scope(s))
            && P::ROLES.iter().all(|r| grants.has_role(r))
            && P::allows(&claims, grants);
        // What the token grants first: authenticating again would not change it.
        let max_age = P::MAX_AUTH_AGE.map(|age| age.as_secs());
        let refused = if !granted {
            AuthError::InsufficientScope
        } else if (P::ACR_VALUES.is_empty() && max_age.is_none())
            || authenticated_enough(P::ACR_VALUES, max_age, grants, now())
        {
            return Ok(Authorized(claims, PhantomData));
        } else {
            AuthError::InsufficientUserAuthentication
        };
        let scopes: Vec<String> = P::SCOPES.iter().map(|s| (*s).to_owned()).collect();
        if !scopes.iter().all(|s| is_scope_token(s))
            || !P::ACR_VALUES.iter().all(|acr| is_scope_token(acr))
            || !is_quotable(P::REALM)
        {
            tracing::error!(scopes = ?P::SCOPES, acr_values = ?P::ACR_VALUES, realm = P::REALM, "a Permission has an invalid scope, acr value or realm");
            return Err(ClaimsRejection {
                response: StatusCode::INTERNAL_SERVER_ERROR.into_response(),
                why: Why::InvalidPermission,
            });
        }
        let rejections = Rejections::new(P::REALM, None, None);
        let head = RequestHead::of_parts(parts);
        let mut challenge = match refused {
            AuthError::InsufficientScope => rejections.scope_challenge(&scopes),
            _ => rejections.step_up_challenge(P::ACR_VALUES, max_age),
        };
        if let Some(metadata) = parts.extensions.get::<MetadataParam>() {
            challenge = metadata.add_to(&challenge);
        }
        let grpc = head.is_grpc();
        let response =
            rejections.respond_with(&DefaultErrorResponse, refused, grpc, &head, &challenge);
        Err(ClaimsRejection::refused(response, refused))
    }
}
