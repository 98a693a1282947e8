//! [`RequireService`]: checks the request's claims against a [`Require`](super::Require)
//! policy before calling yours.

use std::fmt;
use std::sync::Arc;
use std::task::{Context, Poll};

use http::{Request, Response};
use tower_service::Service;

use super::future::{Pending, RequireFuture};
use super::{Policy, Verdict};
use crate::response::{ErrorResponse, is_grpc};
use crate::{AuthError, Grants};

/// The service of a [`RequireLayer`](super::RequireLayer).
pub struct RequireService<S, C, R> {
    inner: S,
    policy: Arc<Policy<C>>,
    error_response: R,
}

impl<S, C, R> RequireService<S, C, R> {
    pub(crate) fn new(inner: S, policy: Arc<Policy<C>>, error_response: R) -> Self {
        RequireService {
            inner,
            policy,
            error_response,
        }
    }
}

impl<S, C, R, ReqBody, ResBody> Service<Request<ReqBody>> for RequireService<S, C, R>
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>> + Clone,
    C: Send + Sync + 'static,
    R: ErrorResponse<ResBody>,
    ResBody: Default + 'static,
{
    type Response = Response<ResBody>;
    type Error = S::Error;
    type Future = RequireFuture<S, ReqBody>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request<ReqBody>) -> Self::Future {
        let grpc = is_grpc(req.headers());
        let rejections = &self.policy.rejections;
        let Some(claims) = req.extensions().get::<C>() else {
            // No claims: no token came to an optional layer (or the layer is missing).
            let response = rejections.respond(&self.error_response, AuthError::MissingToken, grpc);
            return RequireFuture::rejected(response);
        };
        let none = Grants::default();
        let grants = req.extensions().get::<Grants>().unwrap_or(&none);
        match self.policy.decide(claims, grants) {
            Verdict::Allowed => RequireFuture::inner(self.inner.call(req)),
            Verdict::Denied => {
                RequireFuture::rejected(forbidden(&self.policy, &self.error_response, grpc))
            }
            Verdict::Ask(checks) => {
                // Keep the service that was polled ready for this request; the clone takes
                // its place and will be polled ready before its own next call.
                let clone = self.inner.clone();
                let (policy, error_response) =
                    (Arc::clone(&self.policy), self.error_response.clone());
                let pending = Pending {
                    request: req,
                    inner: std::mem::replace(&mut self.inner, clone),
                    // Built only if a predicate fails.
                    forbidden: Box::new(move || forbidden(&policy, &error_response, grpc)),
                };
                RequireFuture::asking(checks, pending)
            }
        }
    }
}

/// The `403 insufficient_scope` answer (gRPC `PERMISSION_DENIED`).
fn forbidden<C, R: ErrorResponse<B>, B: Default>(
    policy: &Policy<C>,
    error_response: &R,
    grpc: bool,
) -> Response<B> {
    policy.rejections.respond_with(
        error_response,
        AuthError::InsufficientScope,
        grpc,
        &policy.forbidden,
    )
}

impl<S: Clone, C, R: Clone> Clone for RequireService<S, C, R> {
    fn clone(&self) -> Self {
        RequireService::new(
            self.inner.clone(),
            Arc::clone(&self.policy),
            self.error_response.clone(),
        )
    }
}

impl<S: fmt::Debug, C, R> fmt::Debug for RequireService<S, C, R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RequireService")
            .field("inner", &self.inner)
            .field("policy", &*self.policy)
            .finish_non_exhaustive()
    }
}
