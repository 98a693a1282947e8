//! The client side (`client::BearerLayer`): when a token is fetched, reused, replaced before
//! it expires, and what a call gets when no token can be had; and the client credentials
//! grant against a token endpoint on loopback.
#![cfg(feature = "tonic")]

use std::convert::Infallible;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use http::Request;
use http::header::AUTHORIZATION;
use tokio::time::{Instant, sleep_until};
use tonic::{Code, Status};
use tower::{Service, ServiceExt};
use tower_jwt_auth::client::{
    AccessToken, BearerLayer, BoxError, FetchFuture, TokenError, TokenProvider,
};
use tower_layer::Layer;

/// Mints `token-1`, `token-2`… valid for `lifetime`, after `delay`; fails from fetch number
/// `fail_from` on.
#[derive(Clone)]
struct Numbered {
    fetches: Arc<AtomicUsize>,
    lifetime: Duration,
    delay: Duration,
    fail_from: usize,
}

impl Numbered {
    fn new(lifetime: Duration) -> Self {
        Numbered {
            fetches: Arc::default(),
            lifetime,
            delay: Duration::ZERO,
            fail_from: usize::MAX,
        }
    }

    fn fetches(&self) -> usize {
        self.fetches.load(Ordering::SeqCst)
    }
}

impl TokenProvider for Numbered {
    fn fetch(&self) -> FetchFuture<'_> {
        Box::pin(async move {
            tokio::time::sleep(self.delay).await;
            let n = self.fetches.fetch_add(1, Ordering::SeqCst) + 1;
            if n >= self.fail_from {
                return Err(TokenError::Unreachable("the token endpoint is down".into()));
            }
            Ok(AccessToken::new(format!("token-{n}"), Some(self.lifetime)))
        })
    }
}

/// A client whose "server" answers with the `Authorization` header it got.
fn client(
    layer: &BearerLayer,
) -> impl Service<Request<()>, Response = String, Error = BoxError, Future: Send> + Clone + Send + use<>
{
    layer.layer(tower::service_fn(|req: Request<()>| async move {
        let sent = req
            .headers()
            .get(AUTHORIZATION)
            .map(|v| v.to_str().unwrap());
        Ok::<_, Infallible>(sent.unwrap_or("none").to_owned())
    }))
}

async fn sent_by(
    client: &mut (impl Service<Request<()>, Response = String, Error = BoxError> + Clone),
) -> Result<String, BoxError> {
    client.ready().await?.call(Request::new(())).await
}

/// A token endpoint may answer any `expires_in`: one past what the clock can add (here
/// `u64::MAX` seconds) is a token that does not expire, not a panic on every call.
#[tokio::test]
async fn a_lifetime_past_the_clocks_range_is_taken_as_no_expiry() {
    let tokens = Numbered::new(Duration::from_secs(u64::MAX));
    let mut client = client(&BearerLayer::new(tokens.clone()));
    for _ in 0..3 {
        assert_eq!(sent_by(&mut client).await.unwrap(), "Bearer token-1");
    }
    assert_eq!(tokens.fetches(), 1);
}

#[tokio::test]
async fn a_token_is_reused_until_its_refresh_point_and_replaced_before_it_expires() {
    // Lives 4 s, replaced 1 s before: the refresh point is at 3 s. (The default margin,
    // half the lifetime for so short a token, would have replaced it at 2 s.)
    let provider = Numbered::new(Duration::from_secs(4));
    let layer = BearerLayer::new(provider.clone()).refresh_before(Duration::from_secs(1));
    let mut client = client(&layer);
    let start = Instant::now();
    assert_eq!(sent_by(&mut client).await.unwrap(), "Bearer token-1");
    sleep_until(start + Duration::from_millis(2300)).await;
    assert_eq!(
        sent_by(&mut client).await.unwrap(),
        "Bearer token-1",
        "before the point"
    );
    assert_eq!(provider.fetches(), 1);
    sleep_until(start + Duration::from_millis(3300)).await;
    assert_eq!(
        sent_by(&mut client).await.unwrap(),
        "Bearer token-2",
        "after the point"
    );
    assert_eq!(sent_by(&mut client).await.unwrap(), "Bearer token-2");
    assert_eq!(provider.fetches(), 2);
}

#[tokio::test]
async fn calls_waiting_for_a_token_share_one_fetch() {
    let mut provider = Numbered::new(Duration::from_secs(600));
    provider.delay = Duration::from_millis(200);
    let layer = BearerLayer::new(provider.clone());
    let calls = (0..8).map(|_| {
        let mut client = client(&layer);
        tokio::spawn(async move { sent_by(&mut client).await.unwrap() })
    });
    for call in calls.collect::<Vec<_>>() {
        assert_eq!(call.await.unwrap(), "Bearer token-1");
    }
    assert_eq!(provider.fetches(), 1);
}

#[tokio::test]
async fn a_failed_refresh_keeps_the_valid_token_then_fails_the_call_once_it_expired() {
    // Lives 2 s, refresh point at 1 s; every fetch after the first fails.
    let mut provider = Numbered::new(Duration::from_secs(2));
    provider.fail_from = 2;
    let layer = BearerLayer::new(provider.clone());
    let mut client = client(&layer);
    let start = Instant::now();
    assert_eq!(sent_by(&mut client).await.unwrap(), "Bearer token-1");
    sleep_until(start + Duration::from_millis(1200)).await;
    // Past the refresh point, the fetch fails: the token still valid is sent.
    assert_eq!(sent_by(&mut client).await.unwrap(), "Bearer token-1");
    assert_eq!(provider.fetches(), 2);
    // The failed fetch is retried a second later, not on every call.
    assert_eq!(sent_by(&mut client).await.unwrap(), "Bearer token-1");
    assert_eq!(provider.fetches(), 2);
    sleep_until(start + Duration::from_millis(2200)).await;
    // Expired and no new one: the call fails before it is sent, as a gRPC status.
    let err = sent_by(&mut client).await.unwrap_err();
    let status = err.downcast::<Status>().expect("a tonic Status");
    assert_eq!(status.code(), Code::Unavailable);
    assert!(
        status.message().contains("the token endpoint is down"),
        "{status:?}"
    );
}

#[cfg(feature = "jwks")]
mod client_credentials {
    use super::*;
    use axum::Form;
    use axum::routing::post;
    use base64::Engine;
    use base64::engine::general_purpose::STANDARD;
    use serde_json::{Value, json};
    use std::collections::HashMap;
    use tower_jwt_auth::client::ClientCredentials;
    use tower_jwt_auth::issue::TokenIssuer;
    use tower_jwt_auth::{Algorithm, ConfigError};

    use crate::common::{SECRET, serve};

    /// A token endpoint as RFC 6749 §4.4 describes: client `svc` with secret `s3cr:t é`
    /// (sent form-encoded inside Basic, §2.3.1), tokens of `issuer` for 15 minutes; a
    /// wrong client gets §5.2's `invalid_client`.
    async fn token_endpoint(issuer: Arc<TokenIssuer>, asked: Arc<AtomicUsize>) -> String {
        let app = axum::Router::new().route(
            "/oauth/token",
            post(
                move |headers: http::HeaderMap, Form(form): Form<HashMap<String, String>>| {
                    asked.fetch_add(1, Ordering::SeqCst);
                    let basic = format!("Basic {}", STANDARD.encode("svc:s3cr%3At+%C3%A9"));
                    let answer = if headers[AUTHORIZATION] != basic.as_str() {
                        (401, json!({ "error": "invalid_client" }))
                    } else if form.get("grant_type").map(String::as_str) != Some("client_credentials") {
                        (400, json!({ "error": "unsupported_grant_type" }))
                    } else {
                        // The issuer sets `aud` itself: what was asked for is echoed apart.
                        let claims = json!({ "sub": "svc", "scope": form["scope"], "asked_for": form["audience"] });
                        let token = issuer.issue(&claims).unwrap();
                        (200, json!({ "access_token": token, "token_type": "Bearer", "expires_in": 900 }))
                    };
                    let status = http::StatusCode::from_u16(answer.0).unwrap();
                    std::future::ready((status, axum::Json(answer.1)))
                },
            ),
        );
        format!("http://{}/oauth/token", serve(app).await)
    }

    #[tokio::test]
    async fn tokens_come_from_the_endpoint_once_and_are_accepted_by_the_server() {
        let issuer = Arc::new(TokenIssuer::hmac(SECRET, Algorithm::HS256).build().unwrap());
        let asked = Arc::new(AtomicUsize::new(0));
        let url = token_endpoint(issuer.clone(), asked.clone()).await;
        let tokens = ClientCredentials::new(&url, "svc", "s3cr:t é")
            .unwrap()
            .scope("greet read")
            .audience("https://api.example.com");
        let layer = BearerLayer::new(tokens);
        let mut client = client(&layer);
        let sent = sent_by(&mut client).await.unwrap();
        let token = sent.strip_prefix("Bearer ").unwrap();
        let server = issuer.layer::<Value>().unwrap();
        let claims = server.verify(token).unwrap_or_else(|e| panic!("{e:?}"));
        assert_eq!(claims["scope"], "greet read");
        assert_eq!(claims["asked_for"], "https://api.example.com");
        assert_eq!(
            sent_by(&mut client).await.unwrap(),
            sent,
            "15 minutes: reused"
        );
        assert_eq!(asked.load(Ordering::SeqCst), 1);
    }

    #[tokio::test]
    async fn a_refused_client_or_an_unreachable_endpoint_fails_the_call_with_a_status() {
        let issuer = Arc::new(TokenIssuer::hmac(SECRET, Algorithm::HS256).build().unwrap());
        let url = token_endpoint(issuer, Arc::default()).await;
        let wrong = ClientCredentials::new(&url, "svc", "wrong").unwrap();
        let err = sent_by(&mut client(&BearerLayer::new(wrong)))
            .await
            .unwrap_err();
        let status = err.downcast::<Status>().unwrap();
        assert_eq!(status.code(), Code::Unauthenticated);
        assert!(status.message().contains("invalid_client"), "{status:?}");

        // A port nothing listens on.
        let closed = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/token", closed.local_addr().unwrap());
        drop(closed);
        let down = ClientCredentials::new(&url, "svc", "x").unwrap();
        let err = sent_by(&mut client(&BearerLayer::new(down)))
            .await
            .unwrap_err();
        assert_eq!(err.downcast::<Status>().unwrap().code(), Code::Unavailable);
    }

    #[test]
    fn a_token_endpoint_over_plain_http_elsewhere_than_loopback_is_refused() {
        let err = ClientCredentials::new("http://auth.example.com/token", "svc", "x").unwrap_err();
        assert!(matches!(err, ConfigError::InsecureUrl(_)), "{err:?}");
        assert!(ClientCredentials::new("https://auth.example.com/token", "svc", "x").is_ok());
    }
}
