//! The response future: the inner service's future, a rejection ready at once, or a request
//! waiting for remote keys to be refetched — no allocation, no boxing.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, ready};

use http::{Request, Response};
use pin_project_lite::pin_project;
use serde::de::DeserializeOwned;
use tower_service::Service;

use crate::response::ErrorResponse;
use crate::revocation::{BoxFuture, StoreError};
use crate::service::{Step, authenticate, reject};
use crate::verify::Shared;
use crate::wait::KeysChanged;

pin_project! {
    /// The response future of [`JwtAuth`](crate::JwtAuth).
    pub struct ResponseFuture<S, ReqBody, C, R>
    where
        S: Service<Request<ReqBody>>,
    {
        #[pin]
        kind: Kind<S, ReqBody, C, R>,
    }
}

pin_project! {
    #[project = KindProj]
    enum Kind<S, ReqBody, C, R>
    where
        S: Service<Request<ReqBody>>,
    {
        // The request was let through: the inner service answers.
        Inner { #[pin] future: S::Future },
        // The request was rejected: the answer is ready.
        Rejected { response: Option<S::Response> },
        // The token names a key that is being fetched: check it again once the fetch ends.
        Waiting { wait: KeysChanged, retry: Option<Retry<S, ReqBody, C, R>> },
        // The token is verified; the revocation store is being asked about it.
        Asking { answer: BoxFuture<'static, Result<bool, StoreError>>, retry: Option<Retry<S, ReqBody, C, R>> },
    }
}

/// What a waiting request needs to go on: the request, and the inner service that was
/// polled ready (a clone took its place in the service).
pub(crate) struct Retry<S, ReqBody, C, R> {
    pub(crate) request: Request<ReqBody>,
    pub(crate) inner: S,
    pub(crate) shared: Arc<Shared<C>>,
    pub(crate) error_response: R,
}

impl<S, ReqBody, C, R> ResponseFuture<S, ReqBody, C, R>
where
    S: Service<Request<ReqBody>>,
{
    pub(crate) fn inner(future: S::Future) -> Self {
        ResponseFuture {
            kind: Kind::Inner { future },
        }
    }

    pub(crate) fn rejected(response: S::Response) -> Self {
        ResponseFuture {
            kind: Kind::Rejected {
                response: Some(response),
            },
        }
    }

    pub(crate) fn waiting(wait: KeysChanged, retry: Retry<S, ReqBody, C, R>) -> Self {
        ResponseFuture {
            kind: Kind::Waiting {
                wait,
                retry: Some(retry),
            },
        }
    }

    pub(crate) fn asking(
        answer: BoxFuture<'static, Result<bool, StoreError>>,
        retry: Retry<S, ReqBody, C, R>,
    ) -> Self {
        ResponseFuture {
            kind: Kind::Asking {
                answer,
                retry: Some(retry),
            },
        }
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
        let mut kind = self.project().kind;
        loop {
            match kind.as_mut().project() {
                KindProj::Inner { future } => return future.poll(cx),
                KindProj::Rejected { response } => {
                    return Poll::Ready(Ok(response.take().expect("polled after completion")));
                }
                KindProj::Waiting { wait, retry } => {
                    ready!(Pin::new(wait).poll(cx));
                    let Retry {
                        mut request,
                        mut inner,
                        shared,
                        error_response,
                    } = retry.take().expect("polled after completion");
                    // One refetch per request: an unknown key now is refused.
                    match authenticate(&shared, &error_response, &mut request, false) {
                        Step::Reject(response) => return Poll::Ready(Ok(response)),
                        Step::Ask(answer) => kind.set(Kind::Asking {
                            answer,
                            retry: Some(Retry {
                                request,
                                inner,
                                shared,
                                error_response,
                            }),
                        }),
                        Step::Pass | Step::Wait(_) => kind.set(Kind::Inner {
                            future: inner.call(request),
                        }),
                    }
                }
                KindProj::Asking { answer, retry } => {
                    let answer = ready!(answer.as_mut().poll(cx));
                    let Retry {
                        request,
                        mut inner,
                        shared,
                        error_response,
                    } = retry.take().expect("polled after completion");
                    let revocation = shared.config.revocation.as_ref();
                    let settled = revocation.map_or(Ok(()), |r| r.settle(answer));
                    if let Err(err) = settled {
                        return Poll::Ready(Ok(reject(&shared, &error_response, &request, err)));
                    }
                    kind.set(Kind::Inner {
                        future: inner.call(request),
                    });
                }
            }
        }
    }
}
