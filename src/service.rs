//! [`JwtAuth`]: the service the layer wraps around yours.

use std::fmt;
use std::marker::PhantomData;
use std::sync::Arc;
use std::task::{Context, Poll};

use http::header::{ACCESS_CONTROL_REQUEST_METHOD, ORIGIN};
use http::{Method, Request, Response};
use serde::de::DeserializeOwned;
use tower_service::Service;

use crate::future::{ResponseFuture, Retry};
use crate::response::{ErrorResponse, is_grpc};
use crate::verify::{Shared, now};
use crate::wait::KeysChanged;
use crate::{AuthError, extract};

/// The middleware service built by [`JwtAuthLayer`](crate::JwtAuthLayer).
pub struct JwtAuth<S, C, R> {
    inner: S,
    shared: Arc<Shared<C>>,
    error_response: R,
    _claims: PhantomData<fn() -> C>,
}

impl<S, C, R> JwtAuth<S, C, R> {
    pub(crate) fn new(inner: S, shared: Arc<Shared<C>>, error_response: R) -> Self {
        JwtAuth {
            inner,
            shared,
            error_response,
            _claims: PhantomData,
        }
    }
}

impl<S, C, R, ReqBody, ResBody> Service<Request<ReqBody>> for JwtAuth<S, C, R>
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>> + Clone,
    C: DeserializeOwned + Clone + Send + Sync + 'static,
    R: ErrorResponse<ResBody>,
    ResBody: Default + 'static,
{
    type Response = Response<ResBody>;
    type Error = S::Error;
    type Future = ResponseFuture<S, ReqBody, C, R>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut req: Request<ReqBody>) -> Self::Future {
        match authenticate(&self.shared, &self.error_response, &mut req, true) {
            Step::Pass => ResponseFuture::inner(self.inner.call(req)),
            Step::Reject(response) => ResponseFuture::rejected(response),
            Step::Wait(wait) => {
                // Keep the service that was polled ready for this request; the clone
                // takes its place and will be polled ready before its own next call.
                let clone = self.inner.clone();
                let retry = Retry {
                    request: req,
                    inner: std::mem::replace(&mut self.inner, clone),
                    shared: Arc::clone(&self.shared),
                    error_response: self.error_response.clone(),
                };
                ResponseFuture::waiting(wait, retry)
            }
        }
    }
}

/// What to do with a request.
pub(crate) enum Step<B> {
    /// Call the inner service (the claims, if any, are in the extensions).
    Pass,
    /// Answer with this rejection.
    Reject(Response<B>),
    /// The token names a key that is being fetched: check again when this completes.
    Wait(KeysChanged),
}

/// The request path: extract the token, verify it (which picks the key, checks the
/// signature and the claims), and insert the claims into the request.
pub(crate) fn authenticate<C, R, ReqBody, ResBody>(
    shared: &Arc<Shared<C>>,
    error_response: &R,
    req: &mut Request<ReqBody>,
    may_wait: bool,
) -> Step<ResBody>
where
    C: DeserializeOwned + Clone + Send + Sync + 'static,
    R: ErrorResponse<ResBody>,
    ResBody: Default + 'static,
{
    let config = &shared.config;
    if config.cors_preflight && is_preflight(req) {
        return Step::Pass;
    }
    let found = extract::token(
        &config.sources,
        req.headers(),
        req.uri(),
        config.max_token_size,
    );
    let outcome = match found {
        Ok(Some(token)) => match shared.verify(token, now()) {
            Err(AuthError::UnknownKey) if may_wait => match config.refetch(token) {
                Some(wait) => return Step::Wait(wait),
                None => Err(AuthError::UnknownKey),
            },
            verified => verified.map(Some),
        },
        Ok(None) if config.optional => Ok(None),
        Ok(None) => Err(AuthError::MissingToken),
        Err(err) => Err(err),
    };
    match outcome {
        Ok(Some(claims)) => {
            req.extensions_mut().insert(claims);
        }
        Ok(None) => {
            #[cfg(feature = "axum")]
            mark_unauthenticated(shared, error_response, req);
        }
        Err(err) => {
            let grpc = is_grpc(req.headers());
            return Step::Reject(config.rejections.respond(error_response, err, grpc));
        }
    }
    Step::Pass
}

/// In optional mode, leaves the answer to a missing token in the request, so that the
/// `Claims` extractor answers exactly as the layer would have.
#[cfg(feature = "axum")]
fn mark_unauthenticated<C, R, ReqBody, ResBody>(
    shared: &Arc<Shared<C>>,
    error_response: &R,
    req: &mut Request<ReqBody>,
) where
    C: Send + Sync + 'static,
    R: ErrorResponse<ResBody>,
    ResBody: Default + 'static,
{
    let shared = Arc::clone(shared);
    let error_response = error_response.clone();
    let grpc = is_grpc(req.headers());
    let respond = move || {
        shared
            .config
            .rejections
            .respond(&error_response, AuthError::MissingToken, grpc)
    };
    req.extensions_mut()
        .insert(crate::axum::Unauthenticated::<ResBody>(Arc::new(respond)));
}

fn is_preflight<B>(req: &Request<B>) -> bool {
    req.method() == Method::OPTIONS
        && req.headers().contains_key(ORIGIN)
        && req.headers().contains_key(ACCESS_CONTROL_REQUEST_METHOD)
}

impl<S: Clone, C, R: Clone> Clone for JwtAuth<S, C, R> {
    fn clone(&self) -> Self {
        JwtAuth::new(
            self.inner.clone(),
            self.shared.clone(),
            self.error_response.clone(),
        )
    }
}

impl<S: fmt::Debug, C, R> fmt::Debug for JwtAuth<S, C, R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JwtAuth")
            .field("inner", &self.inner)
            .field("config", &self.shared.config)
            .finish_non_exhaustive()
    }
}
