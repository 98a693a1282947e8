//! [`RequireService`]: checks the request's claims against a [`Require`](super::Require)
//! policy before calling yours.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use http::{HeaderValue, Request, Response};
use pin_project_lite::pin_project;
use tower_service::Service;

use super::policy::{Policy, Verdict};
use crate::AuthError;
use crate::claims::Grants;
use crate::future::{Gate, Gated, take_ready};
use crate::response::{ErrorResponse, MetadataParam, RequestHead, Unauthenticated};
use crate::verifier::now;
use crate::verifier::revocation::BoxFuture;

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

    inner_service_accessors!();
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
        let rejections = &self.policy.rejections;
        let Some(claims) = req.extensions().get::<C>() else {
            // No claims: the layer let the request through unauthenticated, and says how it
            // would have answered; or no layer ran.
            let head = RequestHead::of(&req);
            if let Some(refused) = req.extensions().get::<Unauthenticated<ResBody>>() {
                return RequireFuture::new(Gated::rejected(refused.response_to(&head)));
            }
            let missing = AuthError::MissingToken;
            let response = rejections.respond(&self.error_response, missing, head.is_grpc(), &head);
            return RequireFuture::new(Gated::rejected(response));
        };
        let none = Grants::default();
        let grants = req.extensions().get::<Grants>().unwrap_or(&none);
        let gated = match self.policy.decide(claims, grants, now) {
            Verdict::Allowed => Gated::inner(self.inner.call(req)),
            Verdict::Denied => {
                let head = RequestHead::of(&req);
                let metadata = req.extensions().get::<MetadataParam>();
                Gated::rejected(forbidden(
                    &self.policy,
                    &self.error_response,
                    &head,
                    metadata,
                ))
            }
            Verdict::StepUp => {
                let head = RequestHead::of(&req);
                let metadata = req.extensions().get::<MetadataParam>();
                Gated::rejected(step_up(&self.policy, &self.error_response, &head, metadata))
            }
            Verdict::Ask(checks) => {
                let (policy, error_response) =
                    (Arc::clone(&self.policy), self.error_response.clone());
                let metadata = req.extensions().get::<MetadataParam>().cloned();
                let gate = Predicates {
                    checks,
                    // Built only if a predicate fails.
                    forbidden: Some(Box::new(move |head: &RequestHead<'_>| {
                        forbidden(&policy, &error_response, head, metadata.as_ref())
                    })),
                };
                Gated::waiting(gate, req, take_ready(&mut self.inner))
            }
        };
        RequireFuture::new(gated)
    }
}

/// The `403 insufficient_scope` answer (gRPC `PERMISSION_DENIED`), naming the layer's RFC
/// 9728 metadata when it has some.
fn forbidden<C, R: ErrorResponse<B>, B: Default>(
    policy: &Policy<C>,
    error_response: &R,
    head: &RequestHead<'_>,
    metadata: Option<&MetadataParam>,
) -> Response<B> {
    let challenge = &policy.forbidden;
    let err = AuthError::InsufficientScope;
    refuse(policy, error_response, head, metadata, err, challenge)
}

/// The `401 insufficient_user_authentication` answer (RFC 9470 §3; gRPC `UNAUTHENTICATED`).
fn step_up<C, R: ErrorResponse<B>, B: Default>(
    policy: &Policy<C>,
    error_response: &R,
    head: &RequestHead<'_>,
    metadata: Option<&MetadataParam>,
) -> Response<B> {
    let challenge = &policy.step_up.as_ref().expect("decided by it").challenge;
    let err = AuthError::InsufficientUserAuthentication;
    refuse(policy, error_response, head, metadata, err, challenge)
}

/// The answer to a valid token the route refuses, with `challenge` (and the layer's RFC
/// 9728 metadata when it has some).
fn refuse<C, R: ErrorResponse<B>, B: Default>(
    policy: &Policy<C>,
    error_response: &R,
    head: &RequestHead<'_>,
    metadata: Option<&MetadataParam>,
    err: AuthError,
    challenge: &HeaderValue,
) -> Response<B> {
    let with_metadata = metadata.map(|param| param.add_to(challenge));
    let challenge = with_metadata.as_ref().unwrap_or(challenge);
    (policy.rejections).respond_with(error_response, err, head.is_grpc(), head, challenge)
}

/// Builds the `403` for the request with this head; only called if a predicate fails.
type Forbidden<Res> = Box<dyn FnOnce(&RequestHead<'_>) -> Res + Send>;

/// Async predicates still running; the request goes on when all of them hold.
pub(crate) struct Predicates<Res> {
    checks: Vec<BoxFuture<'static, bool>>,
    /// The answer should one of them fail.
    forbidden: Option<Forbidden<Res>>,
}

impl<ReqBody, Res> Gate<ReqBody, Res> for Predicates<Res> {
    fn poll_gate(
        &mut self,
        cx: &mut Context<'_>,
        req: &mut Request<ReqBody>,
    ) -> Poll<Result<(), Res>> {
        let mut denied = false;
        self.checks
            .retain_mut(|check| match check.as_mut().poll(cx) {
                Poll::Ready(holds) => {
                    denied |= !holds;
                    false
                }
                Poll::Pending => true,
            });
        if denied {
            let forbidden = self.forbidden.take().expect("polled after completion");
            return Poll::Ready(Err(forbidden(&RequestHead::of(req))));
        }
        if self.checks.is_empty() {
            Poll::Ready(Ok(()))
        } else {
            Poll::Pending
        }
    }
}

pin_project! {
    /// The response future of [`RequireService`].
    pub struct RequireFuture<S, ReqBody>
    where
        S: Service<Request<ReqBody>>,
    {
        #[pin]
        gated: Gated<S, ReqBody, Predicates<S::Response>>,
    }
}

impl<S, ReqBody> RequireFuture<S, ReqBody>
where
    S: Service<Request<ReqBody>>,
{
    fn new(gated: Gated<S, ReqBody, Predicates<S::Response>>) -> Self {
        RequireFuture { gated }
    }
}

impl<S, ReqBody> Future for RequireFuture<S, ReqBody>
where
    S: Service<Request<ReqBody>>,
{
    type Output = Result<S::Response, S::Error>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        self.project().gated.poll(cx)
    }
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
