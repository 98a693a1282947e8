//! [`JwtAuth`]: the service the layer wraps around yours.

use std::fmt;
use std::marker::PhantomData;
use std::sync::Arc;
use std::task::{Context, Poll};

use http::header::{ACCESS_CONTROL_REQUEST_METHOD, ORIGIN};
use http::{Method, Request, Response};
use serde::de::DeserializeOwned;
use tower_service::Service;

use crate::future::ResponseFuture;
use crate::response::{ErrorResponse, is_grpc};
use crate::verify::Shared;
use crate::verify::now;
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
    S: Service<Request<ReqBody>, Response = Response<ResBody>>,
    C: DeserializeOwned + Clone + Send + Sync + 'static,
    R: ErrorResponse<ResBody>,
    ResBody: Default + 'static,
{
    type Response = Response<ResBody>;
    type Error = S::Error;
    type Future = ResponseFuture<S::Future, ResBody>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut req: Request<ReqBody>) -> Self::Future {
        let config = &self.shared.config;
        if config.cors_preflight && is_preflight(&req) {
            return ResponseFuture::inner(self.inner.call(req));
        }
        let found = extract::token(
            &config.sources,
            req.headers(),
            req.uri(),
            config.max_token_size,
        );
        let outcome = match found {
            Ok(Some(token)) => self.shared.verify(token, now()).map(Some),
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
                self.mark_unauthenticated(&mut req);
            }
            Err(err) => {
                let grpc = is_grpc(req.headers());
                let response = config.rejections.respond(&self.error_response, err, grpc);
                return ResponseFuture::rejected(response);
            }
        }
        ResponseFuture::inner(self.inner.call(req))
    }
}

#[cfg(feature = "axum")]
impl<S, C: Send + Sync + 'static, R> JwtAuth<S, C, R> {
    /// In optional mode, leaves the answer to a missing token in the request, so that the
    /// `Claims` extractor answers exactly as the layer would have.
    fn mark_unauthenticated<ReqBody, ResBody>(&self, req: &mut Request<ReqBody>)
    where
        R: ErrorResponse<ResBody>,
        ResBody: Default + 'static,
    {
        let shared = self.shared.clone();
        let error_response = self.error_response.clone();
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
