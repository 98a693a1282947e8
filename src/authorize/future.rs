//! The response future of [`RequireService`](super::RequireService): the inner service's
//! future, a rejection, or async predicates being awaited.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use http::Request;
use pin_project_lite::pin_project;
use tower_service::Service;

use crate::revocation::BoxFuture;

pin_project! {
    /// The response future of [`RequireService`](super::RequireService).
    pub struct RequireFuture<S, ReqBody>
    where
        S: Service<Request<ReqBody>>,
    {
        #[pin]
        kind: Kind<S, ReqBody>,
    }
}

pin_project! {
    #[project = KindProj]
    enum Kind<S, ReqBody>
    where
        S: Service<Request<ReqBody>>,
    {
        Inner { #[pin] future: S::Future },
        Rejected { response: Option<S::Response> },
        // Async predicates still running; the request goes on when all of them hold.
        Asking { checks: Vec<BoxFuture<'static, bool>>, pending: Option<Pending<S, ReqBody>> },
    }
}

/// A request waiting for async predicates, with the inner service polled ready for it and
/// what makes the answer should one of them fail.
pub(crate) struct Pending<S: Service<Request<ReqBody>>, ReqBody> {
    pub(crate) request: Request<ReqBody>,
    pub(crate) inner: S,
    pub(crate) forbidden: Box<dyn FnOnce() -> S::Response + Send>,
}

impl<S, ReqBody> RequireFuture<S, ReqBody>
where
    S: Service<Request<ReqBody>>,
{
    pub(crate) fn inner(future: S::Future) -> Self {
        RequireFuture {
            kind: Kind::Inner { future },
        }
    }

    pub(crate) fn rejected(response: S::Response) -> Self {
        RequireFuture {
            kind: Kind::Rejected {
                response: Some(response),
            },
        }
    }

    pub(crate) fn asking(
        checks: Vec<BoxFuture<'static, bool>>,
        pending: Pending<S, ReqBody>,
    ) -> Self {
        RequireFuture {
            kind: Kind::Asking {
                checks,
                pending: Some(pending),
            },
        }
    }
}

impl<S, ReqBody> Future for RequireFuture<S, ReqBody>
where
    S: Service<Request<ReqBody>>,
{
    type Output = Result<S::Response, S::Error>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mut kind = self.project().kind;
        loop {
            match kind.as_mut().project() {
                KindProj::Inner { future } => return future.poll(cx),
                KindProj::Rejected { response } => {
                    return Poll::Ready(Ok(response.take().expect("polled after completion")));
                }
                KindProj::Asking { checks, pending } => {
                    let mut denied = false;
                    checks.retain_mut(|check| match check.as_mut().poll(cx) {
                        Poll::Ready(holds) => {
                            denied |= !holds;
                            false
                        }
                        Poll::Pending => true,
                    });
                    let Some(Pending {
                        request,
                        mut inner,
                        forbidden,
                    }) = (denied || checks.is_empty())
                        .then(|| pending.take())
                        .flatten()
                    else {
                        return Poll::Pending;
                    };
                    if denied {
                        return Poll::Ready(Ok(forbidden()));
                    }
                    kind.set(Kind::Inner {
                        future: inner.call(request),
                    });
                }
            }
        }
    }
}
