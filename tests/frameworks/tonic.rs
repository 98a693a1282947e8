//! The layer in a tonic server, called by a tonic client over a real loopback socket:
//! rejections arrive as gRPC `UNAUTHENTICATED` statuses, a missing scope as
//! `PERMISSION_DENIED`.

mod greeter {
    #![allow(clippy::all)]
    include!("../../examples/tonic/proto/greeter.v1.rs");
}

use std::net::SocketAddr;

use crate::common::*;
use greeter::greeter_client::GreeterClient;
use greeter::greeter_server::{Greeter, GreeterServer};
use greeter::{GreetReply, GreetRequest};
use serde::Deserialize;
use serde_json::json;
use tonic::metadata::MetadataValue;
use tonic::transport::Channel;
use tonic::{Code, Request, Response, Status};
use tower_jwt_auth::authorize::Require;
use tower_jwt_auth::revocation::MemoryStore;
use tower_jwt_auth::{Algorithm, AuthError, JwtAuthLayer};

#[derive(Clone, Deserialize)]
struct Caller {
    sub: String,
}

struct Service(Calls);

#[tonic::async_trait]
impl Greeter for Service {
    async fn greet(&self, request: Request<GreetRequest>) -> Result<Response<GreetReply>, Status> {
        self.0.hit();
        let caller = request
            .extensions()
            .get::<Caller>()
            .cloned()
            .expect("claims from the layer");
        Ok(Response::new(GreetReply {
            message: format!("{}, {}", request.into_inner().greeting, caller.sub),
            subject: caller.sub,
        }))
    }
}

async fn start(calls: &Calls) -> SocketAddr {
    serve(calls, Require::authenticated()).await
}

/// The greeter behind the layer and `require`, with `alice-revoked` revoked.
async fn serve(calls: &Calls, require: Require<Caller>) -> SocketAddr {
    let store = MemoryStore::new();
    revoke_jti(&store, "alice-revoked").await;
    let auth = JwtAuthLayer::<Caller>::builder()
        .hmac_secret(SECRET, Algorithm::HS256)
        .revocation(store)
        .build()
        .unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let router = tonic::transport::Server::builder()
        .layer(auth)
        .layer(require.build().unwrap())
        .add_service(GreeterServer::new(Service(calls.clone())));
    let incoming = tonic::transport::server::TcpIncoming::from(listener);
    tokio::spawn(async move { router.serve_with_incoming(incoming).await.unwrap() });
    addr
}

async fn greet(addr: SocketAddr, token: Option<&str>) -> Result<GreetReply, Status> {
    let channel = Channel::from_shared(format!("http://{addr}"))
        .unwrap()
        .connect()
        .await
        .unwrap();
    let mut request = Request::new(GreetRequest {
        greeting: "hi".into(),
    });
    if let Some(token) = token {
        let value: MetadataValue<_> = bearer(token).parse().unwrap();
        request.metadata_mut().insert("authorization", value);
    }
    GreeterClient::new(channel)
        .greet(request)
        .await
        .map(Response::into_inner)
}

#[tokio::test]
async fn a_valid_token_reaches_the_rpc_with_its_claims() {
    let calls = Calls::default();
    let addr = start(&calls).await;
    let reply = greet(addr, Some(&mint(&valid_claims()))).await.unwrap();
    assert_eq!(reply.subject, "alice");
    assert_eq!(reply.message, "hi, alice");
    assert_eq!(calls.count(), 1);
}

#[tokio::test]
async fn rejections_are_unauthenticated_statuses() {
    let calls = Calls::default();
    let addr = start(&calls).await;
    let payload = valid_claims().to_string();
    let cases = [
        (None, AuthError::MissingToken),
        (
            Some(mint(&json!({ "sub": "alice", "exp": now() - 3600 }))),
            AuthError::Expired,
        ),
        (
            Some(forge(r#"{"alg":"none"}"#, &payload, b"")),
            AuthError::AlgorithmNone,
        ),
        (
            Some(forge(r#"{"alg":"HS256"}"#, &payload, &[0; 32])),
            AuthError::InvalidSignature,
        ),
        (
            Some(mint_with(
                &tower_jwt_auth::jsonwebtoken::Header::new(Algorithm::ES256),
                &valid_claims(),
                &encoding_key(Algorithm::ES256),
            )),
            AuthError::AlgorithmNotAllowed,
        ),
    ];
    for (token, error) in cases {
        let status = greet(addr, token.as_deref()).await.unwrap_err();
        assert_eq!(status.code(), Code::Unauthenticated, "{error:?}");
        assert_eq!(status.message(), error.description(), "{error:?}");
    }
    assert_eq!(calls.count(), 0);
}

#[tokio::test]
async fn a_revoked_token_is_unauthenticated_and_a_missing_scope_permission_denied() {
    let calls = Calls::default();
    let addr = serve(&calls, Require::scope("greeter:greet")).await;
    let claims = |jti: &str, scope: &str| {
        mint(&json!({ "sub": "alice", "jti": jti, "scope": scope, "exp": now() + 600 }))
    };
    let reply = greet(addr, Some(&claims("a", "greeter:greet"))).await;
    assert_eq!(reply.unwrap().subject, "alice");
    let status = greet(addr, Some(&claims("a", "other"))).await.unwrap_err();
    assert_eq!(status.code(), Code::PermissionDenied);
    assert_eq!(status.message(), AuthError::InsufficientScope.description());
    let status = greet(addr, Some(&claims("alice-revoked", "greeter:greet")))
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::Unauthenticated);
    assert_eq!(status.message(), AuthError::Revoked.description());
    assert_eq!(calls.count(), 1);
}

/// The greeter alone behind the layer, the health service public beside it: tonic takes
/// the wrapped service because it keeps its gRPC name.
#[cfg(feature = "tonic")]
async fn serve_per_service(calls: &Calls) -> SocketAddr {
    use tower::Layer;
    let (health, health_service) = tonic_health::server::health_reporter();
    health.set_serving::<GreeterServer<Service>>().await;
    let auth = JwtAuthLayer::<Caller>::builder()
        .hmac_secret(SECRET, Algorithm::HS256)
        .build()
        .unwrap();
    let greeter = auth.layer(GreeterServer::new(Service(calls.clone())));
    let router = tonic::transport::Server::builder()
        .add_service(health_service)
        .add_service(greeter);
    serve_router(router).await
}

#[cfg(feature = "tonic")]
async fn serve_router(router: tonic::transport::server::Router) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let incoming = tonic::transport::server::TcpIncoming::from(listener);
    tokio::spawn(async move { router.serve_with_incoming(incoming).await.unwrap() });
    addr
}

#[cfg(feature = "tonic")]
async fn health_of(addr: SocketAddr) -> Result<i32, Status> {
    use tonic_health::pb::{HealthCheckRequest, health_client::HealthClient};
    let channel = Channel::from_shared(format!("http://{addr}")).unwrap();
    let mut client = HealthClient::new(channel.connect().await.unwrap());
    let request = HealthCheckRequest {
        service: "greeter.v1.Greeter".into(),
    };
    client.check(request).await.map(|r| r.into_inner().status)
}

#[cfg(feature = "tonic")]
#[tokio::test]
async fn one_service_is_protected_and_the_health_service_beside_it_stays_public() {
    use tonic_health::pb::health_check_response::ServingStatus;
    let calls = Calls::default();
    let addr = serve_per_service(&calls).await;
    assert_eq!(
        health_of(addr).await.unwrap(),
        ServingStatus::Serving as i32
    );
    let status = greet(addr, None).await.unwrap_err();
    assert_eq!(status.code(), Code::Unauthenticated);
    assert_eq!(status.message(), AuthError::MissingToken.description());
    assert_eq!(calls.count(), 0);
    let reply = greet(addr, Some(&mint(&valid_claims()))).await.unwrap();
    assert_eq!(reply.subject, "alice");
    assert_eq!(calls.count(), 1);
}

#[cfg(feature = "tonic")]
#[tokio::test]
async fn the_interceptor_answers_as_the_layer_does() {
    let calls = Calls::default();
    let auth = JwtAuthLayer::<Caller>::builder()
        .hmac_secret(SECRET, Algorithm::HS256)
        .build()
        .unwrap();
    let greeter = GreeterServer::with_interceptor(Service(calls.clone()), auth.interceptor());
    let addr = serve_router(tonic::transport::Server::builder().add_service(greeter)).await;

    let reply = greet(addr, Some(&mint(&valid_claims()))).await.unwrap();
    assert_eq!(reply.subject, "alice", "the claims reach the RPC");
    let expired = mint(&json!({ "sub": "alice", "exp": now() - 3600 }));
    for (token, error) in [
        (None, AuthError::MissingToken),
        (Some(expired.as_str()), AuthError::Expired),
        (Some("not.a.jwt"), AuthError::MalformedToken),
    ] {
        let status = greet(addr, token).await.unwrap_err();
        assert_eq!(status.code(), Code::Unauthenticated, "{error:?}");
        assert_eq!(status.message(), error.description(), "{error:?}");
    }
    assert_eq!(calls.count(), 1);
}

/// A client that sends its token through `BearerLayer`, minted by a `TokenIssuer` whose
/// tokens the server's layer accepts.
#[cfg(feature = "tonic")]
#[tokio::test]
async fn the_client_layer_authenticates_every_call() {
    use std::sync::Arc;
    use tower_jwt_auth::client::{BearerLayer, IssuedTokens};
    use tower_jwt_auth::issue::TokenIssuer;
    let calls = Calls::default();
    let addr = serve_per_service(&calls).await;
    let issuer = TokenIssuer::hmac(SECRET, Algorithm::HS256).build().unwrap();
    let tokens = IssuedTokens::new(Arc::new(issuer), &json!({ "sub": "bob" })).unwrap();
    let channel = Channel::from_shared(format!("http://{addr}"))
        .unwrap()
        .connect()
        .await
        .unwrap();
    let channel = tower::ServiceBuilder::new()
        .layer(BearerLayer::new(tokens))
        .service(channel);
    let mut client = GreeterClient::new(channel);
    for _ in 0..3 {
        let request = Request::new(GreetRequest {
            greeting: "hi".into(),
        });
        assert_eq!(
            client.greet(request).await.unwrap().into_inner().subject,
            "bob"
        );
    }
    assert_eq!(calls.count(), 3);
}

/// An interceptor sees neither the method nor the URL a DPoP proof names: a DPoP-only
/// layer's interceptor refuses even a valid bearer token, saying why.
#[cfg(feature = "tonic")]
#[tokio::test]
async fn a_dpop_only_layers_interceptor_refuses_bearer_tokens() {
    let calls = Calls::default();
    let auth = JwtAuthLayer::<Caller>::builder()
        .hmac_secret(SECRET, Algorithm::HS256)
        .dpop(
            tower_jwt_auth::dpop::DpopOptions::default()
                .external_url(Some("https://greeter.example".into())),
        )
        .build()
        .unwrap();
    let greeter = GreeterServer::with_interceptor(Service(calls.clone()), auth.interceptor());
    let addr = serve_router(tonic::transport::Server::builder().add_service(greeter)).await;
    let status = greet(addr, Some(&mint(&valid_claims()))).await.unwrap_err();
    assert_eq!(status.code(), Code::Unauthenticated);
    assert_eq!(status.message(), AuthError::DpopRequired.description());
    assert_eq!(calls.count(), 0);
}

/// RFC 8705 through the interceptor: a certificate-bound token passes when the request
/// carries that certificate (a `PeerCertificate`, put there by a layer in front of the
/// service, as the `mtls` page shows), and not otherwise.
#[cfg(feature = "tonic")]
#[test]
fn the_interceptor_checks_a_certificate_binding() {
    use base64::Engine as _;
    use tonic::service::Interceptor as _;
    use tower_jwt_auth::mtls::PeerCertificate;

    let auth = JwtAuthLayer::<Caller>::builder()
        .hmac_secret(SECRET, Algorithm::HS256)
        .build()
        .unwrap();
    // The layer hashes the DER it is given, whatever it holds: "abc", whose SHA-256 is
    // FIPS 180-2's first test vector.
    let sha256_abc = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";
    let bytes: Vec<u8> = (0..64)
        .step_by(2)
        .map(|i| u8::from_str_radix(&sha256_abc[i..i + 2], 16).unwrap())
        .collect();
    let x5t = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes);
    let mut claims = valid_claims();
    claims["cnf"] = json!({ "x5t#S256": x5t });
    let token = mint(&claims);
    let call = |peer: Option<&[u8]>| {
        let mut request = Request::new(());
        let value = MetadataValue::try_from(bearer(&token)).unwrap();
        request.metadata_mut().insert("authorization", value);
        if let Some(der) = peer {
            request.extensions_mut().insert(PeerCertificate::new(der));
        }
        auth.interceptor().call(request).map(|_| ())
    };
    call(Some(b"abc")).expect("the certificate the token names");
    for (peer, error) in [
        (Some(&b"abd"[..]), AuthError::CertificateMismatch),
        (None, AuthError::CertificateMissing),
    ] {
        let status = call(peer).unwrap_err();
        assert_eq!(status.code(), Code::Unauthenticated, "{error:?}");
        assert_eq!(status.message(), error.description(), "{error:?}");
    }
}
