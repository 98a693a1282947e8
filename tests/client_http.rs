//! The client side without tonic (feature `client` alone): `BearerLayer` on a plain Tower
//! HTTP client, and what a call fails with when no token can be had — the `TokenError`
//! itself, not a gRPC status.
#![cfg(all(feature = "client", not(feature = "tonic")))]

use std::convert::Infallible;

use http::Request;
use http::header::AUTHORIZATION;
use tower::{Service, ServiceExt};
use tower_jwt_auth::client::{BearerLayer, FetchFuture, StaticToken, TokenError, TokenProvider};
use tower_layer::Layer;

/// An HTTP "client" that answers with the `Authorization` header it was sent.
fn echo() -> impl Service<Request<()>, Response = String, Error = Infallible> + Clone {
    tower::service_fn(|req: Request<()>| async move {
        let sent = req
            .headers()
            .get(AUTHORIZATION)
            .map(|v| v.to_str().unwrap().to_owned());
        Ok::<_, Infallible>(sent.unwrap_or_default())
    })
}

struct Refused;

impl TokenProvider for Refused {
    fn fetch(&self) -> FetchFuture<'_> {
        Box::pin(async {
            Err(TokenError::Refused {
                status: 401,
                error: Some("invalid_client".into()),
            })
        })
    }
}

#[tokio::test]
async fn any_tower_http_client_sends_the_token_and_fails_with_the_reason() {
    let mut client = BearerLayer::new(StaticToken::new("t0k3n")).layer(echo());
    let sent = client
        .ready()
        .await
        .unwrap()
        .call(Request::new(()))
        .await
        .unwrap();
    assert_eq!(sent, "Bearer t0k3n");

    let mut refused = BearerLayer::new(Refused).layer(echo());
    let err = refused
        .ready()
        .await
        .unwrap()
        .call(Request::new(()))
        .await
        .unwrap_err();
    let reason = err.downcast::<TokenError>().expect("the TokenError itself");
    assert!(
        matches!(*reason, TokenError::Refused { status: 401, .. }),
        "{reason:?}"
    );
}
