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
use crate::revocation::{BoxFuture, Decision, StoreError};
use crate::verify::{Shared, now};
use crate::wait::KeysChanged;
use crate::{AuthError, Grants, extract};

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
            Step::Wait(wait) => ResponseFuture::waiting(wait, self.retry(req)),
            Step::Ask(answer) => ResponseFuture::asking(answer, self.retry(req)),
        }
    }
}

impl<S: Clone, C, R: Clone> JwtAuth<S, C, R> {
    /// What a request that must wait takes with it: the service that was polled ready for
    /// it; a clone takes its place and will be polled ready before its own next call.
    fn retry<ReqBody>(&mut self, request: Request<ReqBody>) -> Retry<S, ReqBody, C, R> {
        let clone = self.inner.clone();
        Retry {
            request,
            inner: std::mem::replace(&mut self.inner, clone),
            shared: Arc::clone(&self.shared),
            error_response: self.error_response.clone(),
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
    /// The token is verified (its claims are in the extensions) and the revocation store
    /// must be asked: settle its answer, then call the inner service or reject.
    Ask(BoxFuture<'static, Result<bool, StoreError>>),
}

/// The request path: extract the token, verify it (which picks the key, checks the
/// signature and the claims), check it is not revoked, and insert the claims (and the
/// grants) into the request.
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
    let now = now();
    let outcome = match found {
        Ok(Some(token)) => match shared.verify(token, now) {
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
    let (claims, facts) = match outcome {
        Ok(Some(verified)) => verified,
        Ok(None) => {
            #[cfg(feature = "axum")]
            mark_unauthenticated(shared, error_response, req);
            return Step::Pass;
        }
        Err(err) => return Step::Reject(reject(shared, error_response, req, err)),
    };
    let mut ask = None;
    if let (Some(revocation), Some(id)) = (&config.revocation, &facts.id) {
        match revocation.decide(id, now) {
            Decision::Decided(Ok(())) => {}
            Decision::Decided(Err(err)) => {
                return Step::Reject(reject(shared, error_response, req, err));
            }
            Decision::Ask(answer) => ask = Some(answer),
        }
    }
    let extensions = req.extensions_mut();
    extensions.insert(claims);
    // Absent grants read as none: spare the insertion for tokens without them.
    if facts.grants != Grants::default() {
        extensions.insert(facts.grants);
    }
    match ask {
        Some(answer) => Step::Ask(answer),
        None => Step::Pass,
    }
}

/// The answer to a request refused with `err`: gRPC or HTTP, as the request is.
pub(crate) fn reject<C, R, ReqBody, ResBody>(
    shared: &Shared<C>,
    error_response: &R,
    req: &Request<ReqBody>,
    err: AuthError,
) -> Response<ResBody>
where
    R: ErrorResponse<ResBody>,
    ResBody: Default + 'static,
{
    let grpc = is_grpc(req.headers());
    shared.config.rejections.respond(error_response, err, grpc)
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
