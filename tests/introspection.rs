//! Opaque tokens by introspection (RFC 7662, issue #22 part 2): how the layer behaves around
//! the call — what it sends, how it reads the answer, one call per token, the bounds on
//! what it keeps, and that a server it cannot ask never lets a token pass. The endpoint
//! here is a scripted one, so that the test can make it slow, down or wrong at will; the
//! answers it gives are shaped as RFC 7662 §2.2's example. `tests/oidc_provider.rs` holds
//! the layer to a real authorization server's endpoint.
#![cfg(feature = "jwks")]

mod common;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::State;
use axum::routing::{get, post};
use axum::{Form, Json, Router};
use common::*;
use http::{HeaderMap, StatusCode};
use serde_json::{Value, json};
use tower_jwt_auth::authorize::Require;
use tower_jwt_auth::introspection::{ClientAuth, Introspection};
use tower_jwt_auth::jsonwebtoken::Header;
use tower_jwt_auth::jsonwebtoken::jwk::Jwk;
use tower_jwt_auth::{Algorithm, AuthError, Claims, ConfigError, EncodingKey, JwtAuthLayer};

const RESOURCE: &str = "https://protected.example.net/resource";

/// The scripted endpoint: answers by token, counts calls, can be made slow or broken.
#[derive(Clone, Default)]
struct Server {
    answers: Arc<Mutex<HashMap<String, Value>>>,
    calls: Arc<Mutex<Vec<HashMap<String, String>>>>,
    basic: Arc<Mutex<Vec<String>>>,
    /// Delay before answering, in ms.
    delay: Arc<Mutex<u64>>,
    /// Answer this status with this body instead, when set.
    broken: Arc<Mutex<Option<(StatusCode, String)>>>,
    /// Answer as a JWT (RFC 9701) signed so, when set.
    signed: Arc<Mutex<Option<Signing>>>,
}

/// How the scripted endpoint signs its answers: the key (ES256), the header's `typ`, the
/// payload's `iss` (the server's own URL when `None`) and `aud`.
#[derive(Clone)]
struct Signing {
    key: &'static [u8],
    typ: Option<&'static str>,
    iss: Option<&'static str>,
    aud: &'static str,
}

impl Server {
    async fn start() -> (Server, SocketAddr) {
        let server = Server::default();
        let app = Router::new()
            .route("/introspect", post(introspect))
            .route("/.well-known/openid-configuration", get(discovery))
            .route("/jwks", get(jwks))
            .with_state(server.clone());
        (server, serve(app).await)
    }

    /// RFC 7662 §2.2's example answer, for a token valid ten more minutes.
    fn active(&self, token: &str) {
        let answer = json!({
            "active": true,
            "client_id": "l238j323ds-23ij4",
            "username": "jdoe",
            "scope": "read write dolphin",
            "sub": "Z5O3upPC88QrAjx00dis",
            "aud": RESOURCE,
            "iss": "https://server.example.com/",
            "exp": now() + 600,
            "iat": now(),
            "extension_field": "twenty-seven",
        });
        self.answer(token, answer);
    }

    fn answer(&self, token: &str, answer: Value) {
        self.answers.lock().unwrap().insert(token.into(), answer);
    }

    fn calls(&self) -> usize {
        self.calls.lock().unwrap().len()
    }

    fn set_delay(&self, ms: u64) {
        *self.delay.lock().unwrap() = ms;
    }

    fn break_with(&self, broken: Option<(StatusCode, &str)>) {
        *self.broken.lock().unwrap() = broken.map(|(s, b)| (s, b.to_owned()));
    }
}

async fn introspect(
    State(server): State<Server>,
    headers: HeaderMap,
    Form(form): Form<HashMap<String, String>>,
) -> (StatusCode, String) {
    let token = form.get("token").cloned().unwrap_or_default();
    server.calls.lock().unwrap().push(form);
    if let Some(basic) = headers.get("authorization") {
        server
            .basic
            .lock()
            .unwrap()
            .push(basic.to_str().unwrap().into());
    }
    let delay = *server.delay.lock().unwrap();
    tokio::time::sleep(Duration::from_millis(delay)).await;
    if let Some((status, body)) = server.broken.lock().unwrap().clone() {
        return (status, body);
    }
    // RFC 7662 §2.2: a token the server does not know is just not active.
    let answer = server.answers.lock().unwrap().get(&token).cloned();
    let answer = answer.unwrap_or(json!({ "active": false }));
    let Some(signing) = server.signed.lock().unwrap().clone() else {
        return (StatusCode::OK, answer.to_string());
    };
    // RFC 9701 §5: the answer in `token_introspection`, signed by the server.
    let host = headers["host"].to_str().unwrap();
    let mut header = Header::new(Algorithm::ES256);
    header.typ = signing.typ.map(str::to_owned);
    let payload = json!({
        "iss": signing.iss.map_or(format!("http://{host}"), str::to_owned),
        "aud": signing.aud,
        "iat": now(),
        "token_introspection": answer,
    });
    let key = EncodingKey::from_ec_pem(signing.key).unwrap();
    (StatusCode::OK, mint_with(&header, &payload, &key))
}

/// The server's public key (the EC key of `tests/data`), as its JWKS.
async fn jwks() -> Json<Value> {
    let key = EncodingKey::from_ec_pem(EC_PRIVATE).unwrap();
    let jwk = Jwk::from_encoding_key(&key, Algorithm::ES256).unwrap();
    Json(json!({ "keys": [jwk] }))
}

async fn discovery(State(_): State<Server>, headers: HeaderMap) -> Json<Value> {
    let host = headers["host"].to_str().unwrap();
    let issuer = format!("http://{host}");
    Json(json!({
        "issuer": issuer,
        "introspection_endpoint": format!("{issuer}/introspect"),
        "jwks_uri": format!("{issuer}/jwks"),
    }))
}

fn endpoint(addr: SocketAddr) -> Introspection {
    Introspection::endpoint(
        format!("http://{addr}/introspect"),
        ClientAuth::basic("notes-api", "a secret of the notes API"),
    )
}

/// A layer with a shared secret for JWTs and `introspection` for the rest; `/` answers
/// the claims, `/dolphins` requires the `dolphin` scope.
fn app(introspection: Introspection) -> Router {
    let layer = JwtAuthLayer::<Value>::builder()
        .hmac_secret(SECRET, Algorithm::HS256)
        .audience(RESOURCE)
        .leeway(Duration::ZERO)
        .introspection(introspection)
        .build()
        .unwrap();
    Router::new()
        .route(
            "/",
            get(|Claims(claims): Claims<Value>| async move { claims.to_string() }),
        )
        .route(
            "/dolphins",
            get(|| async { "ok" }).route_layer(Require::<Value>::scope("dolphin").build().unwrap()),
        )
        .route(
            "/sharks",
            get(|| async { "ok" }).route_layer(Require::<Value>::scope("shark").build().unwrap()),
        )
        .layer(layer)
}

async fn get_with(app: &Router, path: &str, token: &str) -> Answer {
    call(app, path, &[("authorization", &bearer(token))]).await
}

#[tokio::test]
async fn an_opaque_token_is_introspected_and_its_answer_is_the_claims() {
    let (server, addr) = Server::start().await;
    let app = app(endpoint(addr));
    server.active("2YotnFZFEjr1zCsicMWpAA");
    let answer = get_with(&app, "/", "2YotnFZFEjr1zCsicMWpAA").await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    let claims: Value = serde_json::from_str(&answer.body).unwrap();
    assert_eq!(claims["client_id"], "l238j323ds-23ij4");
    assert_eq!(claims["sub"], "Z5O3upPC88QrAjx00dis");
    assert_eq!(claims["extension_field"], "twenty-seven");
    // What was sent: the token, the hint, the layer's credentials in HTTP Basic.
    let sent = server.calls.lock().unwrap()[0].clone();
    assert_eq!(sent["token"], "2YotnFZFEjr1zCsicMWpAA");
    assert_eq!(sent["token_type_hint"], "access_token");
    assert!(!sent.contains_key("client_secret"));
    let basic = server.basic.lock().unwrap()[0].clone();
    assert_eq!(
        basic,
        format!(
            "Basic {}",
            base64::Engine::encode(
                &base64::engine::general_purpose::STANDARD,
                "notes-api:a+secret+of+the+notes+API"
            )
        )
    );
    // Its scopes are mapped as a JWT's are.
    assert_eq!(
        get_with(&app, "/dolphins", "2YotnFZFEjr1zCsicMWpAA")
            .await
            .status,
        200
    );
    let sharks = get_with(&app, "/sharks", "2YotnFZFEjr1zCsicMWpAA").await;
    assert_eq!(sharks.status, 403);
    // A JWT on the same layer is verified here: no call.
    let before = server.calls();
    let jwt = mint(&json!({ "sub": "alice", "aud": RESOURCE, "exp": now() + 600 }));
    assert_eq!(get_with(&app, "/", &jwt).await.status, 200);
    assert_eq!(server.calls(), before);
}

#[tokio::test]
async fn what_the_server_refuses_is_refused_with_the_reason() {
    let (server, addr) = Server::start().await;
    let app = app(endpoint(addr));
    let inactive = get_with(&app, "/", "never-issued").await;
    assert_eq!(inactive.status, 401);
    assert_eq!(
        inactive.challenge(),
        invalid_token(AuthError::InactiveToken.description())
    );
    // Answers of RFC 7662 §2.2's shape that the layer's policy or the token's type refuse.
    let mut shapes = vec![
        (
            "refresh",
            json!({ "token_type": "refresh_token" }),
            AuthError::InvalidType,
        ),
        (
            "other-api",
            json!({ "aud": "https://other.example" }),
            AuthError::InvalidAudience,
        ),
        ("expired", json!({ "exp": now() - 1 }), AuthError::Expired),
        ("no-exp", json!({ "exp": null }), AuthError::InvalidClaims),
        (
            "scope-number",
            json!({ "scope": 7 }),
            AuthError::InvalidClaims,
        ),
    ];
    for (token, change, _) in &mut shapes {
        server.active(token);
        let mut answer = server.answers.lock().unwrap()[*token].clone();
        for (k, v) in change.as_object().unwrap() {
            answer[k] = v.clone();
        }
        server.answer(token, answer);
    }
    for (token, _, err) in shapes {
        let refused = get_with(&app, "/", token).await;
        assert_eq!(refused.status, 401, "{token}");
        assert_eq!(
            refused.challenge(),
            invalid_token(err.description()),
            "{token}"
        );
    }
    // `exp` absent: required by default, as for a JWT.
    server.answer("no-exp-at-all", json!({ "active": true, "aud": RESOURCE }));
    let refused = get_with(&app, "/", "no-exp-at-all").await;
    assert_eq!(
        refused.challenge(),
        invalid_token(AuthError::MissingClaim.description())
    );
}

#[tokio::test]
async fn a_server_that_cannot_be_asked_never_lets_a_token_pass() {
    let (server, addr) = Server::start().await;
    let app = app(endpoint(addr).timeout(Duration::from_millis(300)));
    server.active("t");
    let broken = [
        (StatusCode::INTERNAL_SERVER_ERROR, "oops"),
        // RFC 7662 §2.3: the layer's own credentials refused.
        (StatusCode::UNAUTHORIZED, r#"{"error":"invalid_client"}"#),
        (StatusCode::OK, "<html>maintenance</html>"),
        (StatusCode::OK, r#"{"active":"yes"}"#),
    ];
    for (status, body) in broken {
        server.break_with(Some((status, body)));
        let answer = get_with(&app, "/", "t").await;
        assert_eq!(answer.status, 503, "{status} {body}");
        assert_eq!(answer.headers["retry-after"], "1");
        assert_eq!(answer.challenge(), "");
        let grpc = call_grpc(&app, "/", &[("authorization", &bearer("t"))]).await;
        assert_eq!(grpc.headers["grpc-status"], "14");
    }
    // Slower than the timeout: 503 at the timeout, not later.
    server.break_with(None);
    server.set_delay(2_000);
    let started = Instant::now();
    assert_eq!(get_with(&app, "/", "t").await.status, 503);
    let waited = started.elapsed();
    assert!(
        waited >= Duration::from_millis(300) && waited < Duration::from_millis(1_500),
        "{waited:?}"
    );
    // Nothing of the failures was kept: the server back, the token passes.
    server.set_delay(0);
    assert_eq!(get_with(&app, "/", "t").await.status, 200);
    // No server at all.
    let closed = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let gone = closed.local_addr().unwrap();
    drop(closed);
    let app = self::app(endpoint(gone));
    assert_eq!(get_with(&app, "/", "t").await.status, 503);
}

#[tokio::test]
async fn requests_carrying_one_token_share_one_call_and_calls_are_bounded() {
    let (server, addr) = Server::start().await;
    let app = app(endpoint(addr).max_concurrent(2));
    server.set_delay(300);
    for token in ["one", "two", "three"] {
        server.active(token);
    }
    let many = (0..20).map(|_| {
        let app = app.clone();
        tokio::spawn(async move { get_with(&app, "/", "one").await.status })
    });
    let many: Vec<_> = many.collect();
    until(|| server.calls() == 1).await;
    // Two calls run ("one", then "two"); a third token is turned away at once.
    let two = tokio::spawn({
        let app = app.clone();
        async move { get_with(&app, "/", "two").await.status }
    });
    until(|| server.calls() == 2).await;
    let started = Instant::now();
    assert_eq!(get_with(&app, "/", "three").await.status, 503);
    assert!(started.elapsed() < Duration::from_millis(200));
    for status in many {
        assert_eq!(status.await.unwrap(), 200);
    }
    assert_eq!(two.await.unwrap(), 200);
    assert_eq!(
        server.calls(),
        2,
        "one call for twenty requests, one for the other"
    );
    // Room again: the third token is asked about now.
    assert_eq!(get_with(&app, "/", "three").await.status, 200);
    assert_eq!(server.calls(), 3);
}

/// Waits until `done` (the server received a call, say), 5 s at most.
async fn until(done: impl Fn() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(5);
    while !done() {
        assert!(Instant::now() < deadline, "timed out");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

/// Waits until the clock's second changes, so that a test's windows start at a known
/// point of the layer's whole-second clock.
async fn at_a_second_start() {
    let now = now();
    while common::now() == now {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

#[tokio::test]
async fn an_answer_is_kept_no_longer_than_cache_for() {
    let (server, addr) = Server::start().await;
    let app = app(endpoint(addr).cache_for(Duration::from_secs(2)));
    server.active("t");
    at_a_second_start().await;
    assert_eq!(get_with(&app, "/", "t").await.status, 200);
    let asked = Instant::now();
    assert_eq!(server.calls(), 1);
    // Revoked at the server: the kept answer serves until its time is up, no longer.
    server.answer("t", json!({ "active": false }));
    assert_eq!(get_with(&app, "/", "t").await.status, 200);
    assert_eq!(server.calls(), 1, "kept");
    let refused_after = loop {
        let status = get_with(&app, "/", "t").await.status;
        if status == 401 {
            break asked.elapsed();
        }
        assert_eq!(status, 200);
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    // Kept into the second second (the clock is in whole seconds), never past it.
    assert!(
        refused_after >= Duration::from_millis(1_000)
            && refused_after < Duration::from_millis(2_300),
        "{refused_after:?}"
    );
    assert_eq!(server.calls(), 2);
}

#[tokio::test]
async fn an_answer_is_kept_no_longer_than_the_tokens_exp() {
    let (server, addr) = Server::start().await;
    let app = app(endpoint(addr).cache_for(Duration::from_secs(60)));
    at_a_second_start().await;
    server.active("t");
    let mut answer = server.answers.lock().unwrap()["t"].clone();
    let exp = now() + 2;
    answer["exp"] = json!(exp);
    server.answer("t", answer);
    assert_eq!(get_with(&app, "/", "t").await.status, 200);
    assert_eq!(get_with(&app, "/", "t").await.status, 200);
    assert_eq!(server.calls(), 1, "kept before exp");
    while now() < exp {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let expired = get_with(&app, "/", "t").await;
    assert_eq!(
        expired.challenge(),
        invalid_token(AuthError::Expired.description())
    );
    assert_eq!(server.calls(), 2, "asked again at exp");
}

#[tokio::test]
async fn cache_for_zero_asks_every_time() {
    let (server, addr) = Server::start().await;
    let app = app(endpoint(addr).cache_for(Duration::ZERO));
    server.active("t");
    for _ in 0..3 {
        assert_eq!(get_with(&app, "/", "t").await.status, 200);
    }
    assert_eq!(server.calls(), 3);
}

#[tokio::test]
async fn without_keys_or_with_every_token_jwts_are_introspected_too() {
    let (server, addr) = Server::start().await;
    let jwt = mint(&json!({ "sub": "alice", "aud": RESOURCE, "exp": now() + 600 }));
    server.active(&jwt);
    let only = JwtAuthLayer::<Value>::builder()
        .audience(RESOURCE)
        .introspection(endpoint(addr))
        .build()
        .unwrap();
    let only = ok_behind(only);
    assert_eq!(status_of(&only, &jwt).await, 200);
    assert_eq!(server.calls(), 1);
    // With keys, and every token asked about: the server's answer decides, not the key.
    let every = app(endpoint(addr).every_token().cache_for(Duration::ZERO));
    assert_eq!(status_of(&every, &jwt).await, 200);
    assert_eq!(server.calls(), 2);
    server.answer(&jwt, json!({ "active": false }));
    assert_eq!(status_of(&every, &jwt).await, 401);
    // The same JWT, verified by its key alone.
    assert_eq!(status_of(&app(endpoint(addr)), &jwt).await, 200);
    assert_eq!(server.calls(), 3);
}

#[tokio::test]
async fn the_endpoint_is_found_by_discovery_and_the_secret_may_go_in_the_form() {
    let (server, addr) = Server::start().await;
    let auth = ClientAuth::post("notes-api", "s3cret&more");
    let app = app(Introspection::discover(format!("http://{addr}"), auth));
    server.active("t");
    assert_eq!(get_with(&app, "/", "t").await.status, 200);
    let sent = server.calls.lock().unwrap()[0].clone();
    assert_eq!(sent["client_id"], "notes-api");
    assert_eq!(sent["client_secret"], "s3cret&more");
    assert!(server.basic.lock().unwrap().is_empty());
    // A discovery document naming another issuer (here, without the final `/` asked for:
    // OpenID Connect Discovery §4.3 wants exactly the same string) is not followed.
    let (other_server, other) = Server::start().await;
    other_server.active("t");
    let wrong = Introspection::discover(format!("http://{other}/"), ClientAuth::basic("a", "b"));
    assert_eq!(get_with(&self::app(wrong), "/", "t").await.status, 503);
    assert_eq!(other_server.calls(), 0);
}

#[tokio::test]
async fn verify_serves_kept_answers_and_verify_async_asks() {
    let (server, addr) = Server::start().await;
    let layer = JwtAuthLayer::<Value>::builder()
        .hmac_secret(SECRET, Algorithm::HS256)
        .audience(RESOURCE)
        .introspection(endpoint(addr))
        .build()
        .unwrap();
    server.active("t");
    let verifier = layer.verifier();
    assert_eq!(
        verifier.verify("t").map(|_| ()),
        Err(AuthError::IntrospectionUnavailable)
    );
    let verified = verifier.verify_async("t").await.unwrap();
    assert_eq!(verified.claims()["username"], "jdoe");
    assert_eq!(verifier.verify("t").unwrap().claims()["username"], "jdoe");
    assert_eq!(
        verifier.verify_async("unknown").await.map(|_| ()),
        Err(AuthError::InactiveToken)
    );
    assert_eq!(server.calls(), 2);
}

#[tokio::test]
async fn options_out_of_range_fail_at_build() {
    let build = |i: Introspection| {
        JwtAuthLayer::<Value>::builder()
            .introspection(i)
            .build()
            .map(|_| ())
    };
    let url = "http://127.0.0.1:1/introspect";
    let basic = || ClientAuth::basic("a", "b");
    assert!(matches!(
        build(Introspection::endpoint(url, basic()).max_concurrent(0)),
        Err(ConfigError::Introspection(_))
    ));
    assert!(matches!(
        build(Introspection::endpoint(url, basic()).cache_capacity(0)),
        Err(ConfigError::Introspection(_))
    ));
    assert!(matches!(
        build(Introspection::endpoint(
            "http://auth.example/introspect",
            basic()
        )),
        Err(ConfigError::InsecureUrl(_))
    ));
    let hmac =
        tower_jwt_auth::EncodingKey::from_secret(b"not a private key of the client!").unwrap();
    let jwt = ClientAuth::private_key_jwt("a", hmac, Algorithm::HS256);
    assert!(matches!(
        build(Introspection::endpoint(url, jwt)),
        Err(ConfigError::KeyFamilyMismatch { .. })
    ));
    let ec = tower_jwt_auth::EncodingKey::from_ec_pem(EC_PRIVATE).unwrap();
    let rs = ClientAuth::private_key_jwt("a", ec, Algorithm::RS256);
    assert!(matches!(
        build(Introspection::endpoint(url, rs)),
        Err(ConfigError::KeyFamilyMismatch { .. })
    ));
}

#[tokio::test]
async fn an_opaque_dpop_bound_token_is_proven_by_the_key_its_answer_names() {
    use tower_jwt_auth::dpop::DpopOptions;
    let (server, addr) = Server::start().await;
    let layer = JwtAuthLayer::<Value>::builder()
        .hmac_secret(SECRET, Algorithm::HS256)
        .audience(RESOURCE)
        .dpop(DpopOptions::default().external_url(Some("https://api.example.com".into())))
        .introspection(endpoint(addr))
        .build()
        .unwrap();
    let app = ok_behind(layer);
    let key = DpopKey::ec();
    // RFC 9449 §6.2: the introspection answer of a DPoP-bound token names its key's
    // thumbprint in `cnf.jkt`, and its type is `DPoP`.
    server.active("bound");
    let mut answer = server.answers.lock().unwrap()["bound"].clone();
    answer["cnf"] = json!({ "jkt": key.jkt });
    answer["token_type"] = json!("DPoP");
    server.answer("bound", answer);
    let proof = key.proof("GET", "https://api.example.com/", Some("bound"));
    let proven = call(
        &app,
        "/",
        &[("authorization", "DPoP bound"), ("dpop", &proof)],
    )
    .await;
    assert_eq!(proven.status, 200, "{}", proven.challenge());
    // Another key's proof, or none (as a bearer token, which this layer takes from no one):
    // refused.
    let other = DpopKey::new(Algorithm::ES256, EC2_PRIVATE);
    let proof = other.proof("GET", "https://api.example.com/", Some("bound"));
    let stolen = call(
        &app,
        "/",
        &[("authorization", "DPoP bound"), ("dpop", &proof)],
    )
    .await;
    assert_eq!(stolen.status, 401);
    assert!(
        stolen
            .challenge()
            .contains(AuthError::DpopKeyMismatch.description())
    );
    let bearer = call(&app, "/", &[("authorization", "Bearer bound")]).await;
    assert_eq!(bearer.status, 401);
    assert!(
        bearer
            .challenge()
            .contains(AuthError::DpopRequired.description()),
        "{}",
        bearer.challenge()
    );
    assert_eq!(server.calls(), 1, "one answer, kept, served all three");
}

#[tokio::test]
async fn jwt_answers_are_taken_only_signed_by_the_server_for_this_client() {
    let (server, addr) = Server::start().await;
    let issuer = format!("http://{addr}");
    let introspection =
        Introspection::discover(issuer.clone(), ClientAuth::basic("notes-api", "s"))
            .jwt_answers()
            .cache_for(Duration::ZERO);
    let layer = JwtAuthLayer::<Value>::builder()
        .oidc_issuer(issuer.clone())
        .audience(RESOURCE)
        .introspection(introspection.clone())
        .build()
        .unwrap();
    tokio::time::timeout(Duration::from_secs(5), layer.ready())
        .await
        .unwrap();
    let app = ok_behind(layer);
    // The answer names the server as the token's issuer: the layer trusts it for JWTs, so
    // its policy pins `iss` to it.
    server.active("t");
    let mut answer = server.answers.lock().unwrap()["t"].clone();
    answer["iss"] = json!(issuer);
    server.answer("t", answer);
    let good = Signing {
        key: EC_PRIVATE,
        typ: Some("token-introspection+jwt"),
        iss: None,
        aud: "notes-api",
    };
    *server.signed.lock().unwrap() = Some(good.clone());
    assert_eq!(status_of(&app, "t").await, 200);
    // The answer inside is still read as RFC 7662 says.
    assert_eq!(status_of(&app, "unknown").await, 401);
    let forged = [
        Signing {
            key: EC2_PRIVATE,
            ..good.clone()
        },
        Signing {
            typ: None,
            ..good.clone()
        },
        Signing {
            typ: Some("JWT"),
            ..good.clone()
        },
        Signing {
            iss: Some("https://elsewhere.example"),
            ..good.clone()
        },
        Signing {
            aud: "another-client",
            ..good.clone()
        },
    ];
    for signing in forged {
        *server.signed.lock().unwrap() = Some(signing);
        let answer = get_with(&app, "/", "t").await;
        assert_eq!(answer.status, 503);
    }
    // A plain JSON answer where a JWT is expected.
    *server.signed.lock().unwrap() = None;
    assert_eq!(status_of(&app, "t").await, 503);
    // The issuer's keys are needed, and only discovery names the issuer.
    let alone = JwtAuthLayer::<Value>::builder()
        .hmac_secret(SECRET, Algorithm::HS256)
        .introspection(introspection)
        .build();
    assert!(matches!(alone, Err(ConfigError::Introspection(_))));
    let by_url = JwtAuthLayer::<Value>::builder()
        .oidc_issuer(issuer)
        .introspection(endpoint(addr).jwt_answers())
        .build();
    assert!(matches!(by_url, Err(ConfigError::Introspection(_))));
}
