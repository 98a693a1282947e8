//! What the benchmarks share: a no-op inner service and a synchronous call through a stack.
#![allow(dead_code)] // Each bench uses its own part.

use std::convert::Infallible;
use std::future::{Future, Ready, ready};
use std::hint::black_box;
use std::pin::pin;
use std::task::{Context, Poll, Waker};

use http::header::AUTHORIZATION;
use http::{HeaderValue, Request, Response};
use tower::Service;

/// The inner service: answers at once.
#[derive(Clone)]
pub struct Noop;

impl Service<Request<()>> for Noop {
    type Response = Response<()>;
    type Error = Infallible;
    type Future = Ready<Result<Response<()>, Infallible>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, req: Request<()>) -> Self::Future {
        black_box(&req);
        ready(Ok(Response::new(())))
    }
}

/// One request with this `Authorization` through a service, polled to completion (every
/// future here is ready at once); returns the status.
pub fn call<S>(svc: &mut S, bearer: &HeaderValue) -> u16
where
    S: Service<Request<()>, Response = Response<()>, Error = Infallible>,
{
    let req = Request::builder()
        .header(AUTHORIZATION, bearer.clone())
        .body(())
        .unwrap();
    let mut cx = Context::from_waker(Waker::noop());
    let fut = pin!(svc.call(req));
    match fut.poll(&mut cx) {
        Poll::Ready(Ok(res)) => res.status().as_u16(),
        _ => unreachable!("the no-op service answers at once"),
    }
}
