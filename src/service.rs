//! The middleware itself: [`JwtAuth`], the service [`JwtAuthLayer`](crate::JwtAuthLayer)
//! wraps around yours, and [`ResponseFuture`], its future. Name them when you spell out a
//! stack's type; otherwise the layer is all you use.
//!
//! # With hyper or `tower::ServiceBuilder`
//!
//! The layer is an ordinary [`tower_layer::Layer`]: it takes any
//! `Service<http::Request<B>>` and hands it the claims in the request's extensions.
//!
//! ```
//! use std::convert::Infallible;
//! use http::{Request, Response};
//! use tower_jwt_auth::{Algorithm, JwtAuthLayer, RegisteredClaims};
//!
//! async fn handler(request: Request<hyper::body::Incoming>) -> Result<Response<String>, Infallible> {
//!     let claims = request.extensions().get::<RegisteredClaims>().expect("set by the layer");
//!     Ok(Response::new(format!("hello {}", claims.sub.as_deref().unwrap_or("?"))))
//! }
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let auth = JwtAuthLayer::<RegisteredClaims>::builder()
//!     .hmac_secret(b"at least thirty-two bytes of secret!", Algorithm::HS256)
//!     .build()?;
//! let service = tower::ServiceBuilder::new()
//!     .layer(auth)
//!     .service(tower::service_fn(handler));
//! let service = hyper_util::service::TowerToHyperService::new(service);
//! // serve it with hyper_util::server::conn::auto::Builder
//! # let _ = service;
//! # Ok(())
//! # }
//! ```
//!
//! `cargo run --example hyper` serves it (default `127.0.0.1:3001`; `JWT_SECRET` and `ADDR`
//! as for the axum example).
//!
//! # The request path
//!
//! Read top to bottom, [`JwtAuth::call`] is: extract the token (the configured
//! [`TokenSource`]s), let the [`Verifier`] pick the key
//! and check the signature, the claims and revocation, insert the claims (and the token's
//! [`Grants`]) into the request's extensions, call the inner service.
//! A refused request gets its answer without reaching the inner service (see
//! [`response`](crate::response)); a request that must wait — for keys being fetched, for
//! the revocation store — waits in the [`ResponseFuture`], never in `poll_ready`.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, ready};

use http::header::{ACCESS_CONTROL_REQUEST_METHOD, ORIGIN};
use http::{HeaderValue, Method, Request, Response};
use pin_project_lite::pin_project;
use serde::de::DeserializeOwned;
use tower_service::Service;
use tracing::Span;

use crate::claims::Grants;
use crate::dpop::{DPOP_NONCE, Dpop, ProofRequest, Seen};
use crate::extract::{self, Found, TokenSource};
use crate::future::{Gate, Gated, take_ready};
use crate::response::{
    AnswerRejection, ErrorResponse, MetadataParam, Rejections, RequestHead, Unauthenticated,
    is_grpc,
};
use crate::tenant::TrustedIssuer;
#[cfg(feature = "jwks")]
use crate::verifier::introspection::{Digest, Pending, Reply};
use crate::verifier::revocation::{BoxFuture, StoreError};
#[cfg(feature = "jwks")]
use crate::verifier::wait::KeysChanged;
use crate::verifier::{Binding, Checked, Verified, Verifier, now};
use crate::{AuthError, metrics, mtls, span};

/// The middleware service built by [`JwtAuthLayer`](crate::JwtAuthLayer).
pub struct JwtAuth<S, C, R> {
    inner: S,
    shared: Arc<Shared<C, R>>,
}

impl<S, C, R> JwtAuth<S, C, R> {
    pub(crate) fn new(inner: S, shared: Arc<Shared<C, R>>) -> Self {
        JwtAuth { inner, shared }
    }

    inner_service_accessors!();
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

    #[inline]
    fn call(&mut self, req: Request<ReqBody>) -> Self::Future {
        let span = span::request();
        let mut nonce = None;
        // Built in place: the future is large, and moving it costs a copy per request.
        ResponseFuture {
            gated: {
                let _entered = span.enter();
                self.gate(req, &span, &mut nonce)
            },
            nonce,
            span,
        }
    }
}

impl<S, C, R> JwtAuth<S, C, R> {
    /// The request's way through: decided, then let through, answered or parked.
    #[inline]
    fn gate<ReqBody, ResBody>(
        &mut self,
        mut req: Request<ReqBody>,
        span: &Span,
        nonce: &mut Option<HeaderValue>,
    ) -> Gated<S, ReqBody, AuthGate<C, R>>
    where
        S: Service<Request<ReqBody>, Response = Response<ResBody>> + Clone,
        C: DeserializeOwned + Clone + Send + Sync + 'static,
        R: ErrorResponse<ResBody>,
        ResBody: Default + 'static,
    {
        let shared = &self.shared;
        let outcome = shared.decide(&mut req, span);
        if let Some(dpop) = shared.dpop.as_ref().filter(|dpop| dpop.requires_nonce())
            && req.extensions_mut().remove::<RenewNonce>().is_some()
        {
            *nonce = dpop.nonce(now());
        }
        match outcome {
            Outcome::Authenticated => {
                settled(span, Ok(true));
                Gated::inner(self.inner.call(req))
            }
            Outcome::Anonymous => {
                settled(span, Ok(false));
                mark_unauthenticated(shared, AuthError::MissingToken, &mut req);
                Gated::inner(self.inner.call(req))
            }
            Outcome::Preflight => Gated::inner(self.inner.call(req)),
            Outcome::Reject(err) => match pass_or_reject(shared, err, &mut req, span) {
                Ok(()) => Gated::inner(self.inner.call(req)),
                Err(rejection) => Gated::rejected(rejection),
            },
            #[cfg(feature = "jwks")]
            Outcome::WaitForKeys(wait) => self.park(Waiting::Keys(wait), req, span),
            #[cfg(feature = "jwks")]
            Outcome::Introspect(pending) => self.park(Waiting::Introspection(pending), req, span),
            Outcome::AskRevocation(answer, replay) => {
                self.park(Waiting::Revocation(answer, replay), req, span)
            }
            Outcome::AskReplay(replay) => self.park(Waiting::Replay(replay), req, span),
        }
    }
}

/// What a layer and all its services share: the verifier, and what the shell adds to it.
pub(crate) struct Shared<C, R> {
    pub(crate) verifier: Verifier<C>,
    pub(crate) sources: Vec<TokenSource>,
    pub(crate) optional: bool,
    pub(crate) pass_rejections: bool,
    pub(crate) cors_preflight: bool,
    pub(crate) rejections: Rejections,
    /// Left in each request when the layer publishes RFC 9728 metadata.
    pub(crate) metadata: Option<MetadataParam>,
    /// Set when the layer takes DPoP-bound tokens.
    pub(crate) dpop: Option<Dpop>,
    pub(crate) error_response: R,
}

/// A store's answer still to come.
type Answer = BoxFuture<'static, Result<bool, StoreError>>;

/// Which decision about a request this is.
enum Step {
    /// The first: it may wait (for keys, an issuer's lookup, the authorization server).
    First,
    /// After the keys were refetched or the issuer looked up: it may not wait again.
    #[cfg(feature = "jwks")]
    Again,
    /// After the authorization server answered about the token whose digest this is.
    #[cfg(feature = "jwks")]
    Introspected(Reply, Digest),
}

/// Left in a request whose DPoP proof carried a nonce of the window before: its response
/// brings a new one (RFC 9449 §8.2).
#[derive(Clone, Copy)]
struct RenewNonce;

/// What the layer decided for a request, before calling anything.
pub(crate) enum Outcome {
    /// The token is valid and not revoked, and its claims are in the request: call the
    /// inner service.
    Authenticated,
    /// No token came and the layer is optional: call the inner service without claims.
    Anonymous,
    /// A CORS preflight, let through without a token.
    Preflight,
    /// Refused.
    Reject(AuthError),
    /// The token names a key that is being fetched, or an issuer being looked up: decide
    /// again once that ends.
    #[cfg(feature = "jwks")]
    WaitForKeys(KeysChanged),
    /// The authorization server is being asked about the token (RFC 7662): decide once it
    /// has answered.
    #[cfg(feature = "jwks")]
    Introspect(Pending),
    /// The token is valid and its claims are in the request; the revocation store must be
    /// asked before the request goes on (a refused request is dropped with its claims),
    /// then, for a DPoP request, the shared replay cache.
    AskRevocation(Answer, Option<Answer>),
    /// The token and its DPoP proof are valid, the claims in the request; the shared replay
    /// cache must say the proof is new.
    AskReplay(Answer),
}

impl Outcome {
    /// A token that passed, with what is still to be asked.
    fn passed(revocation: Option<Answer>, replay: Option<Answer>) -> Outcome {
        match (revocation, replay) {
            (None, None) => Outcome::Authenticated,
            (Some(revocation), replay) => Outcome::AskRevocation(revocation, replay),
            (None, Some(replay)) => Outcome::AskReplay(replay),
        }
    }
}

impl<C, R> Shared<C, R>
where
    C: DeserializeOwned + Clone + Send + Sync + 'static,
{
    /// The request path up to the inner service: the token, the verifier's answer, the
    /// token's binding, and, for a valid token, its claims in the request (they go in here,
    /// where the verifier hands them over, so that they are not moved around on the way).
    #[inline]
    fn decide<B>(&self, req: &mut Request<B>, span: &Span) -> Outcome {
        if self.cors_preflight && is_preflight(req) {
            return Outcome::Preflight;
        }
        if let Some(metadata) = &self.metadata {
            req.extensions_mut().insert(metadata.clone());
        }
        self.authenticate(req, span, Step::First)
    }

    /// The request path again, once the keys were refetched (or the issuer looked up, or
    /// the authorization server answered): one wait per request, so the answer cannot be
    /// to wait again.
    #[cfg(feature = "jwks")]
    fn decide_again<B>(&self, req: &mut Request<B>, span: &Span, step: Step) -> Outcome {
        self.authenticate(req, span, step)
    }

    #[inline]
    fn authenticate<B>(&self, req: &mut Request<B>, span: &Span, step: Step) -> Outcome {
        let found = match self.token(req) {
            Ok(Some(found)) => found,
            Ok(None) if self.optional => return Outcome::Anonymous,
            Ok(None) => return Outcome::Reject(AuthError::MissingToken),
            Err(err) => return Outcome::Reject(err),
        };
        if !found.dpop && self.takes_dpop_only() {
            return Outcome::Reject(AuthError::DpopRequired);
        }
        let now = now();
        let may_wait = matches!(step, Step::First);
        let checked = match step {
            #[cfg(feature = "jwks")]
            Step::Introspected(answer, digest) => self.verifier.introspected(answer, &digest, now),
            _ => self.verifier.check(found.token, now),
        };
        match checked {
            Checked::Passed(verified, revocation) => {
                let (replay, renew_nonce) = match self.confirm(req, found, &verified, now) {
                    Ok(confirmed) => confirmed,
                    Err(err) => return Outcome::Reject(err),
                };
                let outcome = Outcome::passed(revocation, replay);
                // Who the token speaks for is recorded once it is authenticated: now, or
                // once the stores have answered (`AuthGate`).
                if let Outcome::Authenticated = outcome {
                    span::verified(span, found.token);
                }
                insert(verified, req);
                if renew_nonce {
                    req.extensions_mut().insert(RenewNonce);
                }
                outcome
            }
            #[cfg(feature = "jwks")]
            Checked::Introspect(pending) if may_wait => Outcome::Introspect(pending),
            #[cfg(feature = "jwks")]
            Checked::Introspect(_) => Outcome::Reject(AuthError::IntrospectionUnavailable),
            #[cfg(feature = "jwks")]
            Checked::Reject(AuthError::UnknownKey) if may_wait => {
                match self.verifier.refetch(found.token) {
                    Some(wait) => Outcome::WaitForKeys(wait),
                    None => Outcome::Reject(AuthError::UnknownKey),
                }
            }
            // An issuer an asynchronous resolver may trust: decide again once it answered.
            #[cfg(feature = "jwks")]
            Checked::Reject(AuthError::InvalidIssuer) if may_wait => {
                match self.verifier.resolve_later(found.token) {
                    Some(wait) => Outcome::WaitForKeys(wait),
                    None => Outcome::Reject(AuthError::InvalidIssuer),
                }
            }
            Checked::Reject(err) => {
                #[cfg(not(feature = "jwks"))]
                let _ = may_wait;
                Outcome::Reject(err)
            }
        }
    }

    /// The token's binding, as its scheme asks: a bearer token must carry no `cnf`, or be
    /// bound to the connection's client certificate (RFC 8705 §3); a DPoP token must be
    /// bound, and proven by the request's proof (RFC 9449 §4.3, §7.1). Gives
    /// the shared replay cache's answer still to come, if any, and whether the proof's
    /// nonce is due for renewal.
    #[inline]
    fn confirm<B>(
        &self,
        req: &Request<B>,
        found: Found<'_>,
        verified: &Verified<C>,
        now: u64,
    ) -> Result<(Option<Answer>, bool), AuthError> {
        match (found.dpop, &self.dpop) {
            (true, Some(dpop)) => prove(dpop, req, found.token, verified, now),
            _ => {
                let provider = self.verifier.config.provider;
                mtls::confirm_bearer(verified, req.extensions(), provider).map(|()| (None, false))
            }
        }
    }

    /// Whether the layer takes DPoP-bound tokens alone, bearer tokens never.
    pub(crate) fn takes_dpop_only(&self) -> bool {
        self.dpop.as_ref().is_some_and(|dpop| !dpop.allow_bearer)
    }

    /// Records who the request's token speaks for, once the stores said it may pass.
    fn record_verified<B>(&self, req: &Request<B>, span: &Span) {
        if span.is_disabled() {
            return;
        }
        if let Ok(Some(found)) = self.token(req) {
            span::verified(span, found.token);
        }
    }

    fn token<'r, B>(&self, req: &'r Request<B>) -> Result<Option<Found<'r>>, AuthError> {
        let max_len = self.verifier.config.max_token_size;
        let dpop = self.dpop.is_some();
        extract::token(&self.sources, req.headers(), req.uri(), max_len, dpop)
    }
}

/// The DPoP step of [`Shared::confirm`], out of line: bearer requests do not carry its code.
#[inline(never)]
fn prove<C, B>(
    dpop: &Dpop,
    req: &Request<B>,
    token: &str,
    verified: &Verified<C>,
    now: u64,
) -> Result<(Option<Answer>, bool), AuthError> {
    let Binding::Dpop(jkt) = verified.binding() else {
        return Err(AuthError::DpopTokenNotBound);
    };
    let request = ProofRequest {
        method: req.method(),
        uri: req.uri(),
        headers: req.headers(),
    };
    let proven = dpop.check(&request, Some((token, jkt)), now)?;
    let replay = match proven.seen {
        Seen::Now(answer) => Dpop::settle(answer).map(|()| None)?,
        Seen::Ask(answer) => Some(answer),
    };
    Ok((replay, proven.renew_nonce))
}

/// Leaves `err` in the request for the inner service, without any claims, when the layer
/// passes rejections through; else the rejection.
fn pass_or_reject<C, R, B, ResBody>(
    shared: &Arc<Shared<C, R>>,
    err: AuthError,
    req: &mut Request<B>,
    span: &Span,
) -> Result<(), Response<ResBody>>
where
    C: Send + Sync + 'static,
    R: ErrorResponse<ResBody>,
    ResBody: Default + 'static,
{
    settled(span, Err(err));
    if !shared.pass_rejections {
        return Err(shared.reject(err, req));
    }
    // A token refused after it was read (revoked) had its claims put in already.
    req.extensions_mut().remove::<C>();
    req.extensions_mut().remove::<Grants>();
    mark_unauthenticated(shared, err, req);
    Ok(())
}

/// Counts a decided request and records its outcome in its span.
#[inline]
fn settled(span: &Span, outcome: Result<bool, AuthError>) {
    metrics::request(outcome);
    span::outcome(span, outcome);
}

/// Leaves the reason the request has no claims, and the layer's answer to it.
fn mark_unauthenticated<C, R, B, ResBody>(
    shared: &Arc<Shared<C, R>>,
    err: AuthError,
    req: &mut Request<B>,
) where
    C: Send + Sync + 'static,
    R: ErrorResponse<ResBody>,
    ResBody: Default + 'static,
{
    let answer: Arc<dyn AnswerRejection<ResBody>> = shared.clone();
    let grpc = is_grpc(req.method(), req.version(), req.headers());
    req.extensions_mut()
        .insert(Unauthenticated::new(answer, err, grpc));
}

/// Puts the verified claims and this token's grants in the request, replacing whatever an
/// outer layer put there: `Require` must never combine one token's claims with another's
/// grants.
#[inline]
fn insert<C: Clone + Send + Sync + 'static, B>(verified: Verified<C>, req: &mut Request<B>) {
    insert_into(verified, req.extensions_mut());
}

/// Puts a verified token's claims and grants where extractors and [`Require`] look for them.
///
/// [`Require`]: crate::authorize::Require
pub(crate) fn insert_into<C: Clone + Send + Sync + 'static>(
    mut verified: Verified<C>,
    extensions: &mut http::Extensions,
) {
    // The issuer goes with these claims, or none does.
    match verified.take_issuer() {
        Some(issuer) => {
            extensions.insert(TrustedIssuer(issuer));
        }
        None => {
            extensions.remove::<TrustedIssuer>();
        }
    }
    let (claims, grants) = verified.into_parts();
    extensions.insert(claims);
    // Absent grants read as none: spare the insertion for tokens without them.
    if grants.is_empty() {
        extensions.remove::<Grants>();
    } else {
        extensions.insert(grants);
    }
}

impl<C: Send + Sync, R> Shared<C, R> {
    /// The answer to a request refused with `err`: gRPC or HTTP, as the request is.
    fn reject<ReqBody, ResBody>(&self, err: AuthError, req: &Request<ReqBody>) -> Response<ResBody>
    where
        R: ErrorResponse<ResBody>,
        ResBody: Default,
    {
        let head = RequestHead::of(req);
        self.answer(err, head.is_grpc(), &head)
    }
}

impl<C, R, B> AnswerRejection<B> for Shared<C, R>
where
    C: Send + Sync,
    R: ErrorResponse<B>,
    B: Default,
{
    fn answer(&self, err: AuthError, grpc: bool, head: &RequestHead<'_>) -> Response<B> {
        let mut res = self
            .rejections
            .respond(&self.error_response, err, grpc, head);
        // RFC 9449 §9: the nonce to use comes with `use_dpop_nonce`, whoever answers it
        // (the layer, or a handler through `Unauthenticated::response`).
        if let (AuthError::DpopNonceRequired, Some(dpop)) = (err, &self.dpop)
            && let Some(nonce) = dpop.nonce(now())
        {
            res.headers_mut().insert(DPOP_NONCE, nonce);
        }
        res
    }
}

fn is_preflight<B>(req: &Request<B>) -> bool {
    req.method() == Method::OPTIONS
        && req.headers().contains_key(ORIGIN)
        && req.headers().contains_key(ACCESS_CONTROL_REQUEST_METHOD)
}

impl<S, C, R> JwtAuth<S, C, R> {
    fn park<ReqBody>(
        &mut self,
        waiting: Waiting,
        req: Request<ReqBody>,
        span: &Span,
    ) -> Gated<S, ReqBody, AuthGate<C, R>>
    where
        S: Service<Request<ReqBody>> + Clone,
    {
        let gate = AuthGate {
            shared: Arc::clone(&self.shared),
            waiting,
            span: span.clone(),
        };
        Gated::waiting(gate, req, take_ready(&mut self.inner))
    }
}

/// What a parked request of [`JwtAuth`] waits for.
enum Waiting {
    /// Keys being fetched, or an issuer looked up; then the request is decided again.
    #[cfg(feature = "jwks")]
    Keys(KeysChanged),
    /// The authorization server's answer about the token; then the request is decided
    /// again, with it.
    #[cfg(feature = "jwks")]
    Introspection(Pending),
    /// The revocation store's answer about the verified token whose claims the request
    /// already carries; then the replay cache's about its DPoP proof, if it has one.
    Revocation(Answer, Option<Answer>),
    /// The shared replay cache's answer about the request's DPoP proof.
    Replay(Answer),
}

impl<C, R> AuthGate<C, R>
where
    C: DeserializeOwned + Clone + Send + Sync + 'static,
{
    /// A request decided again after its wait: what it waits for next (the stores), or
    /// how it ends.
    #[cfg(feature = "jwks")]
    fn after_waiting<B>(
        &self,
        decided: Outcome,
        req: &mut Request<B>,
    ) -> Result<Waiting, Result<(), AuthError>> {
        // The response future was made already: this request's nonce is not renewed (it
        // stays good until its window ends), and the mark goes no further.
        req.extensions_mut().remove::<RenewNonce>();
        match decided {
            Outcome::Authenticated => Err(Ok(())),
            Outcome::AskRevocation(answer, replay) => Ok(Waiting::Revocation(answer, replay)),
            Outcome::AskReplay(replay) => Ok(Waiting::Replay(replay)),
            Outcome::Reject(err) => Err(Err(err)),
            // The token was there a moment ago, and one wait is all there is.
            Outcome::Anonymous | Outcome::Preflight => Err(Err(AuthError::MissingToken)),
            Outcome::WaitForKeys(_) => Err(Err(AuthError::UnknownKey)),
            Outcome::Introspect(_) => Err(Err(AuthError::IntrospectionUnavailable)),
        }
    }

    /// The stores' last answer about a verified token: when it passes, the span learns
    /// who the token speaks for.
    fn verified_by_store<B>(
        &self,
        decided: Result<(), AuthError>,
        req: &Request<B>,
    ) -> Result<(), AuthError> {
        if decided.is_ok() {
            self.shared.record_verified(req, &self.span);
        }
        decided
    }
}

/// The gate of a parked [`JwtAuth`] request.
pub(crate) struct AuthGate<C, R> {
    shared: Arc<Shared<C, R>>,
    waiting: Waiting,
    span: Span,
}

impl<C, R, ReqBody, ResBody> Gate<ReqBody, Response<ResBody>> for AuthGate<C, R>
where
    C: DeserializeOwned + Clone + Send + Sync + 'static,
    R: ErrorResponse<ResBody>,
    ResBody: Default + 'static,
{
    fn poll_gate(
        &mut self,
        cx: &mut Context<'_>,
        req: &mut Request<ReqBody>,
    ) -> Poll<Result<(), Response<ResBody>>> {
        let decided = match &mut self.waiting {
            #[cfg(feature = "jwks")]
            Waiting::Keys(wait) => {
                ready!(Pin::new(wait).poll(cx));
                let decided = self.shared.decide_again(req, &self.span, Step::Again);
                match self.after_waiting(decided, req) {
                    Ok(waiting) => {
                        self.waiting = waiting;
                        return self.poll_gate(cx, req);
                    }
                    Err(decided) => decided,
                }
            }
            #[cfg(feature = "jwks")]
            Waiting::Introspection(pending) => {
                ready!(Pin::new(&mut *pending).poll(cx));
                let step = Step::Introspected(pending.answer(), *pending.digest());
                let decided = self.shared.decide_again(req, &self.span, step);
                match self.after_waiting(decided, req) {
                    Ok(waiting) => {
                        self.waiting = waiting;
                        return self.poll_gate(cx, req);
                    }
                    Err(decided) => decided,
                }
            }
            Waiting::Revocation(answer, replay) => {
                let answer = ready!(answer.as_mut().poll(cx));
                match (self.shared.verifier.settle(answer), replay.take()) {
                    (Ok(()), Some(replay)) => {
                        self.waiting = Waiting::Replay(replay);
                        return self.poll_gate(cx, req);
                    }
                    (decided, _) => self.verified_by_store(decided, req),
                }
            }
            Waiting::Replay(answer) => {
                let decided = Dpop::settle(ready!(answer.as_mut().poll(cx)));
                self.verified_by_store(decided, req)
            }
        };
        Poll::Ready(match decided {
            Ok(()) => {
                settled(&self.span, Ok(true));
                Ok(())
            }
            Err(err) => pass_or_reject(&self.shared, err, req, &self.span),
        })
    }
}

pin_project! {
    /// The response future of [`JwtAuth`].
    pub struct ResponseFuture<S, ReqBody, C, R>
    where
        S: Service<Request<ReqBody>>,
    {
        #[pin]
        gated: Gated<S, ReqBody, AuthGate<C, R>>,
        // A new DPoP nonce for the response, when the proof's was of the window before.
        nonce: Option<HeaderValue>,
        // The `jwt_auth` span, entered while the request is decided and the inner service
        // runs.
        span: Span,
    }
}

impl<S, ReqBody, ResBody, C, R> Future for ResponseFuture<S, ReqBody, C, R>
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>>,
    C: DeserializeOwned + Clone + Send + Sync + 'static,
    R: ErrorResponse<ResBody>,
    ResBody: Default + 'static,
{
    type Output = Result<Response<ResBody>, S::Error>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let _entered = this.span.enter();
        let mut answer = ready!(this.gated.poll(cx));
        if let (Ok(res), Some(nonce)) = (&mut answer, this.nonce.take()) {
            res.headers_mut().insert(DPOP_NONCE, nonce);
        }
        Poll::Ready(answer)
    }
}

impl<S: Clone, C, R> Clone for JwtAuth<S, C, R> {
    fn clone(&self) -> Self {
        JwtAuth::new(self.inner.clone(), Arc::clone(&self.shared))
    }
}

impl<S: fmt::Debug, C, R> fmt::Debug for JwtAuth<S, C, R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JwtAuth")
            .field("inner", &self.inner)
            .field("verifier", &self.shared.verifier)
            .finish_non_exhaustive()
    }
}
