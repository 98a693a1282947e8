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
use tower_jwt_auth::{Algorithm, DecodingKey, EncodingKey};

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

/// The HMAC secret of the benchmarks.
pub const SECRET: &[u8] = b"bench-secret-of-at-least-thirty-two-bytes!";

/// The key pair of each algorithm: the secret, or the test keys of `tests/data`.
pub fn keys(alg: Algorithm) -> (EncodingKey, DecodingKey) {
    let data =
        |f: &str| std::fs::read(format!("{}/tests/data/{f}", env!("CARGO_MANIFEST_DIR"))).unwrap();
    match alg {
        Algorithm::HS256 => (
            EncodingKey::from_secret(SECRET).unwrap(),
            DecodingKey::from_secret(SECRET).unwrap(),
        ),
        Algorithm::RS256 => (
            EncodingKey::from_rsa_pem(&data("rsa_private.pem")).unwrap(),
            DecodingKey::from_rsa_pem(&data("rsa_public.pem")).unwrap(),
        ),
        Algorithm::ES256 => (
            EncodingKey::from_ec_pem(&data("ec_private.pem")).unwrap(),
            DecodingKey::from_ec_pem(&data("ec_public.pem")).unwrap(),
        ),
        Algorithm::EdDSA => (
            EncodingKey::from_ed_pem(&data("ed_private.pem")).unwrap(),
            DecodingKey::from_ed_pem(&data("ed_public.pem")).unwrap(),
        ),
        _ => unreachable!(),
    }
}
