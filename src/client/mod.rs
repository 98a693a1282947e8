//! The client side (feature `client`, which `tonic` turns on): [`BearerLayer`] sends
//! `Authorization: Bearer <token>` with every request of a tonic channel or any Tower HTTP
//! client (hyper-util's, reqwest through a Tower adapter, …), from a [`TokenProvider`] it
//! asks for a new token before the current one expires.
//!
//! Providers: [`StaticToken`], [`IssuedTokens`] (a [`TokenIssuer`](crate::issue::TokenIssuer) in
//! process), and, with feature `jwks`, [`ClientCredentials`] (the OAuth 2.0 client
//! credentials grant against a token endpoint).
//!
//! ```no_run
//! # mod greeter { pub mod greeter_client { pub struct GreeterClient<T>(T); impl<T> GreeterClient<T> { pub fn new(t: T) -> Self { Self(t) } } } }
//! use std::sync::Arc;
//! use serde_json::json;
//! use tower::ServiceBuilder;
//! use tower_jwt_auth::client::{BearerLayer, IssuedTokens};
//! use tower_jwt_auth::Algorithm;
//! use tower_jwt_auth::issue::TokenIssuer;
//!
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! let issuer = TokenIssuer::hmac(b"at least thirty-two bytes of secret!", Algorithm::HS256).build()?;
//! let tokens = IssuedTokens::new(Arc::new(issuer), &json!({ "sub": "billing" }))?;
//! let channel = tonic::transport::Endpoint::from_static("http://127.0.0.1:50051").connect().await?;
//! let channel = ServiceBuilder::new().layer(BearerLayer::new(tokens)).service(channel);
//! let client = greeter::greeter_client::GreeterClient::new(channel);
//! # Ok(()) }
//! ```
//!
//! A token that cannot be had fails the call before it is sent: with feature `tonic`, with a
//! `tonic::Status` — `UNAVAILABLE` when the token endpoint is unreachable, `UNAUTHENTICATED`
//! when it refuses; without it, with the [`TokenError`] itself.

#[cfg(feature = "jwks")]
mod credentials;
mod refresh;
mod source;

use std::error::Error as StdError;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, ready};
use std::time::{Duration, Instant};

use http::Request;
use http::header::AUTHORIZATION;
use pin_project_lite::pin_project;
use tower_layer::Layer;
use tower_service::Service;

#[cfg(feature = "jwks")]
pub use self::credentials::ClientCredentials;
use self::refresh::Tokens;
pub use self::source::{
    AccessToken, FetchFuture, IssuedTokens, StaticToken, TokenError, TokenProvider,
};
use crate::future::take_ready;

/// The error of a [`Bearer`] service: the inner service's, or, when no token could be had,
/// a `tonic::Status` (feature `tonic`) or the [`TokenError`].
pub type BoxError = Box<dyn StdError + Send + Sync>;

/// How long before a token expires it is replaced, unless [`BearerLayer::refresh_before`]
/// says otherwise.
pub const DEFAULT_REFRESH_BEFORE: Duration = Duration::from_secs(60);

/// A Tower layer that sends a bearer token from a [`TokenProvider`] with every request, and
/// replaces it before it expires: [`DEFAULT_REFRESH_BEFORE`] ahead of its expiry, or half
/// its lifetime ahead for a shorter-lived token. See the [module docs](self).
///
/// Clones share the token: a channel cloned per task fetches one token for all.
#[derive(Clone)]
pub struct BearerLayer {
    tokens: Arc<Tokens>,
}

impl BearerLayer {
    /// Sends tokens from `provider`.
    pub fn new(provider: impl TokenProvider) -> Self {
        BearerLayer {
            tokens: Arc::new(Tokens::new(Arc::new(provider), DEFAULT_REFRESH_BEFORE)),
        }
    }

    /// Replaces a token this long before it expires (default [`DEFAULT_REFRESH_BEFORE`]),
    /// or half its lifetime before for a token that lives less than twice this.
    pub fn refresh_before(self, margin: Duration) -> Self {
        let provider = Arc::clone(self.tokens.provider());
        BearerLayer {
            tokens: Arc::new(Tokens::new(provider, margin)),
        }
    }
}

impl fmt::Debug for BearerLayer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BearerLayer").finish_non_exhaustive()
    }
}

impl<S> Layer<S> for BearerLayer {
    type Service = Bearer<S>;

    fn layer(&self, inner: S) -> Bearer<S> {
        Bearer {
            inner,
            tokens: Arc::clone(&self.tokens),
        }
    }
}

/// The service of a [`BearerLayer`].
#[derive(Clone)]
pub struct Bearer<S> {
    inner: S,
    tokens: Arc<Tokens>,
}

impl<S> Bearer<S> {
    inner_service_accessors!();
}

impl<S: fmt::Debug> fmt::Debug for Bearer<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Bearer")
            .field("inner", &self.inner)
            .finish_non_exhaustive()
    }
}

impl<S, B> Service<Request<B>> for Bearer<S>
where
    S: Service<Request<B>> + Clone,
    S::Error: Into<BoxError>,
{
    type Response = S::Response;
    type Error = BoxError;
    type Future = BearerFuture<S, B>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx).map_err(Into::into)
    }

    fn call(&mut self, mut req: Request<B>) -> Self::Future {
        if let Some(header) = self.tokens.fresh(Instant::now()) {
            req.headers_mut().insert(AUTHORIZATION, header);
            let future = self.inner.call(req);
            return BearerFuture {
                state: State::Sending { future },
            };
        }
        let tokens = Arc::clone(&self.tokens);
        let state = State::Fetching {
            fetch: Box::pin(async move { tokens.get().await }),
            parked: Some((req, take_ready(&mut self.inner))),
        };
        BearerFuture { state }
    }
}

type Fetch = Pin<Box<dyn Future<Output = Result<http::HeaderValue, TokenError>> + Send>>;

pin_project! {
    /// The future of a [`Bearer`] service: fetch a token when the current one is due, then
    /// send the request.
    pub struct BearerFuture<S, B>
    where
        S: Service<Request<B>>,
    {
        #[pin]
        state: State<S, B>,
    }
}

pin_project! {
    #[project = StateProj]
    enum State<S, B>
    where
        S: Service<Request<B>>,
    {
        // A token is being fetched; the request waits with the service polled ready for it.
        Fetching { fetch: Fetch, parked: Option<(Request<B>, S)> },
        // The request is on its way.
        Sending { #[pin] future: S::Future },
    }
}

impl<S, B> Future for BearerFuture<S, B>
where
    S: Service<Request<B>>,
    S::Error: Into<BoxError>,
{
    type Output = Result<S::Response, BoxError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mut state = self.project().state;
        loop {
            match state.as_mut().project() {
                StateProj::Sending { future } => return future.poll(cx).map_err(Into::into),
                StateProj::Fetching { fetch, parked } => {
                    let header = ready!(fetch.as_mut().poll(cx)).map_err(status_of)?;
                    let (mut req, mut inner) = parked.take().expect("polled after completion");
                    req.headers_mut().insert(AUTHORIZATION, header);
                    state.set(State::Sending {
                        future: inner.call(req),
                    });
                }
            }
        }
    }
}

/// The status a call fails with when no token could be had.
#[cfg(feature = "tonic")]
fn status_of(err: TokenError) -> BoxError {
    let code = match err {
        TokenError::Unreachable(_) => tonic::Code::Unavailable,
        _ => tonic::Code::Unauthenticated,
    };
    let mut status = tonic::Status::new(code, format!("no access token: {err}"));
    status.set_source(Arc::new(err));
    Box::new(status)
}

/// What a call fails with when no token could be had: the reason itself.
#[cfg(not(feature = "tonic"))]
fn status_of(err: TokenError) -> BoxError {
    Box::new(err)
}
