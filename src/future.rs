//! The future both middleware services return: decide, maybe wait, then call the inner
//! service. No allocation, no boxing of its own.
//!
//! A service decides what to do with a request before returning: call the inner service
//! ([`Gated::inner`]), answer at once ([`Gated::rejected`]), or park the request with a
//! [`Gate`] that says, once what it waits for is done, whether the request goes on
//! ([`Gated::waiting`]). A parked request keeps the inner service that was polled ready for
//! it; a clone takes its place in the service (clone-and-swap, as tower-http does).

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use http::Request;
use pin_project_lite::pin_project;
use tower_service::Service;

/// What a parked request waits for, and the decision once it is done.
pub(crate) trait Gate<ReqBody, Response> {
    /// Polls what the request waits for: `Ok` lets the request through to the inner
    /// service (the gate may have added to it: the claims), `Err` answers it.
    fn poll_gate(
        &mut self,
        cx: &mut Context<'_>,
        request: &mut Request<ReqBody>,
    ) -> Poll<Result<(), Response>>;
}

/// A parked request and the inner service that was polled ready for it.
pub(crate) struct Parked<S, ReqBody> {
    request: Request<ReqBody>,
    inner: S,
}

pin_project! {
    /// The state of a request through a middleware service.
    #[project = GatedProj]
    pub(crate) enum Gated<S, ReqBody, G>
    where
        S: Service<Request<ReqBody>>,
    {
        // The request was let through: the inner service answers.
        Inner { #[pin] future: S::Future },
        // The request was refused: the answer is ready.
        Rejected { response: Option<S::Response> },
        // The request waits at the gate.
        Waiting { gate: G, parked: Option<Parked<S, ReqBody>> },
    }
}

impl<S, ReqBody, G> Gated<S, ReqBody, G>
where
    S: Service<Request<ReqBody>>,
{
    pub(crate) fn inner(future: S::Future) -> Self {
        Gated::Inner { future }
    }

    pub(crate) fn rejected(response: S::Response) -> Self {
        Gated::Rejected {
            response: Some(response),
        }
    }

    /// Parks `request` at `gate`, with `inner`, the service polled ready for it.
    pub(crate) fn waiting(gate: G, request: Request<ReqBody>, inner: S) -> Self {
        Gated::Waiting {
            gate,
            parked: Some(Parked { request, inner }),
        }
    }
}

impl<S, ReqBody, G> Future for Gated<S, ReqBody, G>
where
    S: Service<Request<ReqBody>>,
    G: Gate<ReqBody, S::Response>,
{
    type Output = Result<S::Response, S::Error>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        loop {
            match self.as_mut().project() {
                GatedProj::Inner { future } => return future.poll(cx),
                GatedProj::Rejected { response } => {
                    return Poll::Ready(Ok(response.take().expect("polled after completion")));
                }
                GatedProj::Waiting { gate, parked } => {
                    let request = &mut parked.as_mut().expect("polled after completion").request;
                    let passed = ready!(gate.poll_gate(cx, request));
                    let Parked { request, mut inner } = parked.take().expect("checked above");
                    match passed {
                        Ok(()) => self.set(Gated::Inner {
                            future: inner.call(request),
                        }),
                        Err(response) => return Poll::Ready(Ok(response)),
                    }
                }
            }
        }
    }
}

/// Takes the service polled ready for a request about to be parked, leaving a clone in its
/// place (which will be polled ready before its own next call).
pub(crate) fn take_ready<S: Clone>(inner: &mut S) -> S {
    let clone = inner.clone();
    std::mem::replace(inner, clone)
}
