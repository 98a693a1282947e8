//! The layer in a plain hyper 1 server (hyper-util) built with `tower::ServiceBuilder`, and
//! its behaviour as a Tower service.

use std::convert::Infallible;
use std::net::SocketAddr;

use crate::common::*;
use bytes::Bytes;
use http::{Request, Response};
use http_body_util::Full;
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use hyper_util::service::TowerToHyperService;
use serde_json::json;
use tower::{Layer, Service, ServiceBuilder, ServiceExt};
use tower_jwt_auth::response::Unauthenticated;
use tower_jwt_auth::{Algorithm, AuthError, DecodingKey, JwtAuthLayer};

fn layer() -> JwtAuthLayer<TestClaims> {
    JwtAuthLayer::new(DecodingKey::from_secret(SECRET).unwrap(), Algorithm::HS256).unwrap()
}

async fn start(calls: &Calls) -> SocketAddr {
    let calls = calls.clone();
    let service = ServiceBuilder::new()
        .layer(layer())
        .service(tower::service_fn(move |req: Request<Incoming>| {
            calls.hit();
            let sub = req
                .extensions()
                .get::<TestClaims>()
                .and_then(|c| c.registered.sub.clone());
            async move {
                Ok::<_, Infallible>(Response::new(Full::<Bytes>::from(sub.unwrap_or_default())))
            }
        }));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        loop {
            let (stream, _) = listener.accept().await.unwrap();
            let service = TowerToHyperService::new(service.clone());
            tokio::spawn(async move {
                let _ = auto::Builder::new(TokioExecutor::new())
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
            });
        }
    });
    addr
}

#[tokio::test]
async fn hyper_server_lets_valid_tokens_through_and_rejects_the_rest() {
    let calls = Calls::default();
    let addr = start(&calls).await;
    let ok = fetch(
        addr,
        "/",
        &[("authorization", &bearer(&mint(&valid_claims())))],
    )
    .await;
    assert_eq!((ok.status.as_u16(), ok.body.as_str()), (200, "alice"));

    let missing = fetch(addr, "/", &[]).await;
    assert_eq!(missing.status, 401);
    assert_eq!(missing.challenge(), "Bearer realm=\"api\"");

    let expired = mint(&json!({ "sub": "alice", "exp": now() - 60 }));
    let res = fetch(addr, "/", &[("authorization", &bearer(&expired))]).await;
    assert_eq!(res.status, 401);
    assert_eq!(
        res.challenge(),
        invalid_token(AuthError::Expired.description())
    );
    assert_eq!(calls.count(), 1);
}

#[tokio::test]
async fn the_inner_service_called_is_the_one_polled_ready() {
    let token = mint(&valid_claims());
    let mut svc = ServiceBuilder::new()
        .layer(layer())
        .service(MustBeReady::default());
    for _ in 0..3 {
        let req = Request::get("/")
            .header("authorization", bearer(&token))
            .body(Full::default())
            .unwrap();
        let res = svc.ready().await.unwrap().call(req).await.unwrap();
        assert_eq!(res.status(), 200);
    }
}

#[test]
fn the_layer_and_its_service_are_clone_send_sync() {
    fn assert_traits<T: Clone + Send + Sync + 'static>() {}
    assert_traits::<JwtAuthLayer<TestClaims>>();
    assert_traits::<
        tower_jwt_auth::service::JwtAuth<
            MustBeReady,
            TestClaims,
            tower_jwt_auth::response::DefaultErrorResponse,
        >,
    >();
}

#[tokio::test]
async fn an_optional_layer_leaves_its_answer_to_a_missing_token_for_the_handler() {
    let layer = JwtAuthLayer::<TestClaims>::builder()
        .hmac_secret(SECRET, Algorithm::HS256)
        .realm("notes")
        .optional(true)
        .build()
        .unwrap();
    // A handler that requires claims after all answers as the layer would have.
    let handler = tower::service_fn(|req: Request<Full<Bytes>>| async move {
        let anonymous = req.extensions().get::<Unauthenticated<Full<Bytes>>>();
        let res = match (req.extensions().get::<TestClaims>(), anonymous) {
            (Some(_), None) => Response::new(Full::from("claims")),
            (None, Some(anonymous)) => anonymous.response(),
            _ => panic!("either claims or the layer's answer, never both or neither"),
        };
        Ok::<_, Infallible>(res)
    });
    let svc = ServiceBuilder::new().layer(layer).service(handler);
    let send_as = |method: http::Method, version: http::Version, headers: &[(&str, String)]| {
        let mut req = Request::builder().method(method).version(version).uri("/");
        for (name, value) in headers {
            req = req.header(*name, value);
        }
        svc.clone().oneshot(req.body(Full::default()).unwrap())
    };
    let send =
        |headers: &[(&str, String)]| send_as(http::Method::GET, http::Version::HTTP_11, headers);
    let res = send(&[]).await.unwrap();
    assert_eq!(res.status(), 401);
    assert_eq!(res.headers()["www-authenticate"], "Bearer realm=\"notes\"");
    assert_eq!(res.headers()["cache-control"], "no-store");
    let grpc_type = [("content-type", "application/grpc".to_owned())];
    let grpc = send_as(http::Method::POST, http::Version::HTTP_2, &grpc_type)
        .await
        .unwrap();
    assert_eq!(grpc.headers()["grpc-status"], "16");
    assert_eq!(grpc.headers()["cache-control"], "no-store");
    // Issue #12, item 13: the content type alone turned the rejection into an empty 200
    // that a cache keyed on the URL could keep. Not over HTTP/2, not a POST: not gRPC.
    let forged = send(&grpc_type).await.unwrap();
    assert_eq!(forged.status(), 401);
    assert_eq!(
        forged.headers()["www-authenticate"],
        "Bearer realm=\"notes\""
    );
    assert_eq!(forged.headers()["cache-control"], "no-store");
    let token = mint(&valid_claims());
    let res = send(&[("authorization", bearer(&token))]).await.unwrap();
    assert_eq!(res.status(), 200);
}

#[test]
fn the_service_gives_back_its_inner_service() {
    let mut svc = layer().layer(Named("inner"));
    assert_eq!(svc.get_ref().0, "inner");
    svc.get_mut().0 = "changed";
    assert_eq!(svc.into_inner().0, "changed");
    let require = tower_jwt_auth::authorize::Require::<TestClaims>::authenticated()
        .build()
        .unwrap();
    let mut svc = require.layer(Named("inner"));
    assert_eq!(svc.get_ref().0, "inner");
    svc.get_mut().0 = "changed";
    assert_eq!(svc.into_inner().0, "changed");
}

/// A service that is only a name.
#[derive(Clone)]
struct Named(&'static str);
