//! Any bytes, in any place a token may come from, through the whole layer: no panic, and an
//! answer of 200, 400 or 401 with a `Bearer` challenge.
#![no_main]

use std::convert::Infallible;
use std::future::{Future, Ready, ready};
use std::pin::pin;
use std::sync::OnceLock;
use std::task::{Context, Poll, Waker};

use http::{HeaderValue, Request, Response};
use libfuzzer_sys::fuzz_target;
use tower_jwt_auth::{Algorithm, JwtAuthLayer, RegisteredClaims, TokenSource};
use tower_layer::Layer;
use tower_service::Service;

struct Ok200;

impl Service<Request<()>> for Ok200 {
    type Response = Response<()>;
    type Error = Infallible;
    type Future = Ready<Result<Response<()>, Infallible>>;
    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }
    fn call(&mut self, _: Request<()>) -> Self::Future {
        ready(Ok(Response::new(())))
    }
}

impl Clone for Ok200 {
    fn clone(&self) -> Self {
        Ok200
    }
}

fn layer() -> &'static JwtAuthLayer<RegisteredClaims> {
    static LAYER: OnceLock<JwtAuthLayer<RegisteredClaims>> = OnceLock::new();
    LAYER.get_or_init(|| {
        JwtAuthLayer::builder()
            .hmac_secret(b"fuzz-secret-of-at-least-thirty-two-bytes", Algorithm::HS256)
            .token_sources([
                TokenSource::Bearer,
                TokenSource::cookie("jwt"),
                TokenSource::query("access_token"),
            ])
            .build()
            .unwrap()
    })
}

fuzz_target!(|data: &[u8]| {
    // The first byte picks where the rest goes.
    let Some((&place, rest)) = data.split_first() else { return };
    let mut req = Request::builder();
    match place % 4 {
        0 => {
            let Ok(value) = HeaderValue::from_bytes(rest) else { return };
            req = req.header("authorization", value);
        }
        1 => {
            let Ok(value) = HeaderValue::from_bytes(rest) else { return };
            req = req.header("cookie", value);
        }
        2 => {
            let Ok(uri) = format!("/?{}", String::from_utf8_lossy(rest)).parse::<http::Uri>() else { return };
            req = req.uri(uri);
        }
        _ => {
            for part in rest.split(|b| *b == b'\n') {
                let Ok(value) = HeaderValue::from_bytes(part) else { return };
                req = req.header("authorization", value);
            }
        }
    }
    let Ok(req) = req.body(()) else { return };
    let mut service = layer().layer(Ok200);
    let mut cx = Context::from_waker(Waker::noop());
    let Poll::Ready(Ok(res)) = pin!(service.call(req)).poll(&mut cx) else {
        panic!("a static key set never waits");
    };
    let status = res.status().as_u16();
    assert!(matches!(status, 200 | 400 | 401), "status {status}");
    if status != 200 {
        let challenge = res.headers()["www-authenticate"].to_str().unwrap();
        assert!(challenge.starts_with("Bearer realm=\"api\""), "{challenge}");
    }
});
