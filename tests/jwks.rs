//! Remote keys against a real JWKS / OpenID discovery server on loopback, started here:
//! rotation, outages, slow and broken answers, kid floods, discovery, several issuers.
#![cfg(feature = "jwks")]

mod common;

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use bytes::Bytes;
use common::*;
use http_body_util::Full;
use serde_json::{Value, json};
use tower::{Layer, ServiceExt};
use tower_jwt_auth::jsonwebtoken::Header;
use tower_jwt_auth::jsonwebtoken::jwk::Jwk;
use tower_jwt_auth::jwks::JwksOptions;
use tower_jwt_auth::{Algorithm, ConfigError, EncodingKey, JwtAuthLayer};

/// How the key server answers `/jwks.json`.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Mode {
    Ok,
    Status500,
    Garbage,
    Slow,
    Huge,
    /// Takes the request and never answers.
    Hang,
}

struct KeyServer {
    addr: SocketAddr,
    keys: Mutex<Vec<Value>>,
    mode: Mutex<Mode>,
    fetches: AtomicUsize,
    max_age: Mutex<Option<u64>>,
    /// The `issuer` its discovery document names (its own URL, unless changed).
    issuer: Mutex<String>,
}

impl KeyServer {
    async fn start(keys: Vec<Value>) -> Arc<KeyServer> {
        KeyServer::start_on("127.0.0.1:0", keys).await
    }

    async fn start_on(addr: &str, keys: Vec<Value>) -> Arc<KeyServer> {
        let listener = tokio::net::TcpListener::bind(addr).await.unwrap();
        let addr = listener.local_addr().unwrap();
        let server = Arc::new(KeyServer {
            addr,
            keys: Mutex::new(keys),
            mode: Mutex::new(Mode::Ok),
            fetches: AtomicUsize::new(0),
            max_age: Mutex::new(None),
            issuer: Mutex::new(format!("http://{addr}")),
        });
        let app = Router::new()
            .route("/jwks.json", get(jwks))
            .route("/.well-known/openid-configuration", get(discovery))
            .with_state(Arc::clone(&server));
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        server
    }

    fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    fn set_mode(&self, mode: Mode) {
        *self.mode.lock().unwrap() = mode;
    }

    fn set_keys(&self, keys: Vec<Value>) {
        *self.keys.lock().unwrap() = keys;
    }

    fn fetches(&self) -> usize {
        self.fetches.load(Ordering::SeqCst)
    }
}

async fn jwks(State(server): State<Arc<KeyServer>>) -> Response {
    server.fetches.fetch_add(1, Ordering::SeqCst);
    let mode = *server.mode.lock().unwrap();
    let mut headers = HeaderMap::new();
    if let Some(age) = *server.max_age.lock().unwrap() {
        headers.insert(
            header::CACHE_CONTROL,
            format!("public, max-age={age}").parse().unwrap(),
        );
    }
    match mode {
        Mode::Ok => {
            let body = json!({ "keys": *server.keys.lock().unwrap() });
            (headers, axum::Json(body)).into_response()
        }
        Mode::Status500 => StatusCode::INTERNAL_SERVER_ERROR.into_response(),
        Mode::Garbage => "<html>not json</html>".into_response(),
        Mode::Slow => {
            tokio::time::sleep(Duration::from_secs(5)).await;
            axum::Json(json!({ "keys": *server.keys.lock().unwrap() })).into_response()
        }
        Mode::Hang => std::future::pending().await,
        Mode::Huge => {
            let padding = "x".repeat(2 * 1024 * 1024);
            axum::Json(json!({ "keys": *server.keys.lock().unwrap(), "padding": padding }))
                .into_response()
        }
    }
}

async fn discovery(State(server): State<Arc<KeyServer>>) -> axum::Json<Value> {
    let issuer = server.issuer.lock().unwrap().clone();
    axum::Json(json!({ "issuer": issuer, "jwks_uri": format!("{}/jwks.json", server.url()) }))
}

/// The public JWK of one of the test key pairs, with this `kid`.
fn jwk(kid: &str) -> Value {
    tower_jwt_auth::install_crypto_provider().unwrap();
    let mut jwk = Jwk::from_encoding_key(&private(kid), Algorithm::RS256).unwrap();
    jwk.common.key_id = Some(kid.to_owned());
    serde_json::to_value(jwk).unwrap()
}

/// `k1` and `k2` are two RSA key pairs.
fn private(kid: &str) -> EncodingKey {
    match kid {
        "k2" => EncodingKey::from_rsa_pem(RSA2_PRIVATE).unwrap(),
        _ => EncodingKey::from_rsa_pem(RSA_PRIVATE).unwrap(),
    }
}

/// A token signed by key `signer`, naming `kid` and these claims.
fn token_with(signer: &str, kid: &str, claims: Value) -> String {
    let mut header = Header::new(Algorithm::RS256);
    header.kid = Some(kid.to_owned());
    mint_with(&header, &claims, &private(signer))
}

fn token(kid: &str) -> String {
    token_with(kid, kid, valid_claims())
}

fn fast_options() -> JwksOptions {
    JwksOptions::default()
        .refresh_interval(Duration::from_secs(60))
        .min_refresh_interval(Duration::from_millis(100))
        .unknown_key_cooldown(Duration::from_millis(200))
        .timeout(Duration::from_millis(500))
        .max_body(64 * 1024)
        .max_retry_backoff(Duration::from_millis(200))
}

fn jwks_layer(server: &KeyServer, options: JwksOptions) -> JwtAuthLayer<TestClaims> {
    JwtAuthLayer::builder()
        .jwks_url(format!("{}/jwks.json", server.url()))
        .jwks_options(options)
        .build()
        .unwrap()
}

/// A key server with these keys, and a layer whose first fetch from it has succeeded.
async fn started(
    keys: Vec<Value>,
    options: JwksOptions,
) -> (Arc<KeyServer>, JwtAuthLayer<TestClaims>) {
    let server = KeyServer::start(keys).await;
    let layer = jwks_layer(&server, options);
    ready(&layer).await;
    (server, layer)
}

async fn ready(layer: &JwtAuthLayer<TestClaims>) {
    tokio::time::timeout(Duration::from_secs(5), layer.ready())
        .await
        .expect("the keys were fetched");
}

/// One request through the layer in front of a handler that answers 200.
async fn call(
    layer: &JwtAuthLayer<TestClaims>,
    token: &str,
    grpc: bool,
) -> http::Response<Full<Bytes>> {
    let inner = tower::service_fn(|_req: http::Request<Full<Bytes>>| async {
        Ok::<_, std::convert::Infallible>(http::Response::new(Full::new(Bytes::from_static(b"ok"))))
    });
    let mut req = http::Request::get("/").header("authorization", bearer(token));
    if grpc {
        req = http::Request::post("/")
            .version(http::Version::HTTP_2)
            .header("authorization", bearer(token))
            .header("content-type", "application/grpc");
    }
    layer
        .layer(inner)
        .oneshot(req.body(Full::default()).unwrap())
        .await
        .unwrap()
}

async fn status(layer: &JwtAuthLayer<TestClaims>, token: &str) -> u16 {
    call(layer, token, false).await.status().as_u16()
}

#[tokio::test]
async fn keys_are_fetched_in_the_background_and_serve_requests() {
    let (server, layer) = started(vec![jwk("k1")], fast_options()).await;
    assert!(layer.is_ready());
    assert_eq!(status(&layer, &token("k1")).await, 200);
    // A known kid with the wrong key is refused, not refetched for.
    let fetches = server.fetches();
    assert_eq!(
        status(&layer, &token_with("k2", "k1", valid_claims())).await,
        401
    );
    assert_eq!(server.fetches(), fetches);
}

/// Feature `reqwest`: the application's own `reqwest::Client` fetches the keys, and a body
/// over `max_body` fails the fetch as it does with the default client.
#[cfg(feature = "reqwest")]
#[tokio::test]
async fn an_applications_reqwest_client_fetches_the_keys() {
    let server = KeyServer::start(vec![jwk("k1")]).await;
    let with = |options: JwksOptions| {
        JwtAuthLayer::<TestClaims>::builder()
            .jwks_url(format!("{}/jwks.json", server.url()))
            .jwks_options(options)
            .jwks_client(reqwest::Client::new())
            .build()
            .unwrap()
    };
    let layer = with(fast_options());
    ready(&layer).await;
    assert_eq!(status(&layer, &token("k1")).await, 200);
    assert_eq!(server.fetches(), 1);

    // The set is a few hundred bytes: 64 is too few.
    let small = with(fast_options().max_body(64));
    wait_for(|| server.fetches() >= 3).await;
    assert!(!small.is_ready());
    assert_eq!(status(&small, &token("k1")).await, 503);
}

#[tokio::test]
async fn before_the_first_fetch_requests_get_503_with_retry_after() {
    let server = KeyServer::start(vec![jwk("k1")]).await;
    server.set_mode(Mode::Status500);
    let layer = jwks_layer(&server, fast_options());
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert!(!layer.is_ready());
    let res = call(&layer, &token("k1"), false).await;
    assert_eq!(res.status(), 503);
    assert_eq!(res.headers()["retry-after"], "1");
    assert!(!res.headers().contains_key("www-authenticate"));
    let grpc = call(&layer, &token("k1"), true).await;
    assert_eq!(grpc.headers()["grpc-status"], "14");

    server.set_mode(Mode::Ok);
    ready(&layer).await;
    assert_eq!(status(&layer, &token("k1")).await, 200);
}

/// Issue #24, item 4: the key server is not even listening when the layer starts
/// (connection refused, not a 500): `503` with `Retry-After`, never a pass; once it is
/// up, the layer serves without a restart.
#[tokio::test]
async fn a_layer_started_while_the_key_server_is_down_recovers_by_itself() {
    let closed = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = closed.local_addr().unwrap();
    drop(closed);
    let layer = JwtAuthLayer::<TestClaims>::builder()
        .jwks_url(format!("http://{addr}/jwks.json"))
        .jwks_options(fast_options())
        .build()
        .unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(!layer.is_ready());
    let res = call(&layer, &token("k1"), false).await;
    assert_eq!(res.status(), 503);
    assert_eq!(res.headers()["retry-after"], "1");
    let _server = KeyServer::start_on(&addr.to_string(), vec![jwk("k1")]).await;
    ready(&layer).await;
    assert_eq!(status(&layer, &token("k1")).await, 200);
}

#[tokio::test]
async fn a_new_kid_is_accepted_on_its_first_request_after_publication() {
    let (server, layer) = started(vec![jwk("k1")], fast_options()).await;
    server.set_keys(vec![jwk("k1"), jwk("k2")]);
    let fetches = server.fetches();
    assert_eq!(status(&layer, &token("k2")).await, 200);
    assert_eq!(server.fetches(), fetches + 1);
    assert_eq!(status(&layer, &token("k1")).await, 200);
}

// Issue #12, item 9: beside a key without `kid`, a new `kid` was tried with that key
// alone, failed as a bad signature, and never asked for the keys to be fetched again.
#[tokio::test]
async fn a_new_kid_is_fetched_even_beside_a_key_without_kid() {
    let mut anonymous = jwk("k1");
    anonymous.as_object_mut().unwrap().remove("kid");
    let (server, layer) = started(vec![anonymous.clone()], fast_options()).await;
    // A token without `kid` is checked with the key that has none.
    let no_kid = mint_with(
        &Header::new(Algorithm::RS256),
        &valid_claims(),
        &private("k1"),
    );
    assert_eq!(status(&layer, &no_kid).await, 200);
    server.set_keys(vec![anonymous, jwk("k2")]);
    let fetches = server.fetches();
    assert_eq!(status(&layer, &token("k2")).await, 200);
    assert_eq!(server.fetches(), fetches + 1);
}

#[tokio::test]
async fn verify_async_waits_for_the_refetch_a_new_kid_triggers() {
    let options = fast_options().unknown_key_cooldown(Duration::from_secs(60));
    let (server, layer) = started(vec![jwk("k1")], options).await;
    server.set_keys(vec![jwk("k1"), jwk("k2")]);
    let verifier = layer.verifier();
    // The synchronous check answers from the keys it has; the async one refetches once.
    assert_eq!(
        verifier.verify(&token("k2")).err(),
        Some(tower_jwt_auth::AuthError::UnknownKey)
    );
    let fetches = server.fetches();
    let verified = verifier.verify_async(&token("k2")).await.unwrap();
    assert_eq!(verified.claims().registered.sub.as_deref(), Some("alice"));
    assert_eq!(server.fetches(), fetches + 1);
    // Within the cooldown, a kid still unknown is refused without another fetch.
    assert_eq!(
        verifier.verify_async(&token("k3")).await.err(),
        Some(tower_jwt_auth::AuthError::UnknownKey)
    );
    assert_eq!(server.fetches(), fetches + 1);
}

#[tokio::test]
async fn a_removed_key_stops_being_accepted_after_the_next_refresh() {
    let (server, layer) = started(
        vec![jwk("k1"), jwk("k2")],
        fast_options().refresh_interval(Duration::from_millis(300)),
    )
    .await;
    assert_eq!(status(&layer, &token("k1")).await, 200);
    server.set_keys(vec![jwk("k2")]);
    let fetches = server.fetches();
    wait_for(|| server.fetches() > fetches).await;
    // The refresh has reached the server; its keys are swapped in right after.
    let mut refused = false;
    for _ in 0..100 {
        refused = status(&layer, &token("k1")).await == 401;
        if refused {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(refused, "the removed key still verifies after a refresh");
    assert_eq!(status(&layer, &token("k2")).await, 200);
}

#[tokio::test]
async fn a_broken_key_server_never_costs_the_last_good_keys() {
    for mode in [Mode::Status500, Mode::Garbage, Mode::Slow, Mode::Huge] {
        let server = KeyServer::start(vec![jwk("k1")]).await;
        let layer = jwks_layer(&server, fast_options());
        ready(&layer).await;
        server.set_mode(mode);
        server.set_keys(vec![]);
        // An unknown kid makes the layer refetch; the fetch fails; the request is refused,
        // not failed with a 5xx.
        tokio::time::sleep(Duration::from_millis(250)).await;
        let fetches = server.fetches();
        assert_eq!(status(&layer, &token("k2")).await, 401, "{mode:?}");
        assert!(server.fetches() > fetches, "{mode:?}: a refetch was tried");
        // The last good keys still serve.
        assert_eq!(status(&layer, &token("k1")).await, 200, "{mode:?}");
        assert!(layer.is_ready());
    }
}

// Issue #12, item 7: the last fetched keys served forever while the key server was
// unreachable, a key the provider removed included.
#[tokio::test]
async fn fetched_keys_serve_through_an_outage_until_max_staleness_then_are_dropped() {
    let staleness = Duration::from_millis(1500);
    let (server, layer) = started(
        vec![jwk("k1")],
        fast_options()
            .refresh_interval(Duration::from_millis(100))
            .max_staleness(Some(staleness)),
    )
    .await;
    let start = std::time::Instant::now();
    server.set_mode(Mode::Status500);
    // Before the limit: the last good keys serve.
    tokio::time::sleep(Duration::from_millis(700)).await;
    assert_eq!(status(&layer, &token("k1")).await, 200);
    assert!(layer.is_ready());
    // After it: dropped; requests fail closed and the layer reports unready.
    wait_for(|| !layer.is_ready()).await;
    assert!(start.elapsed() >= staleness - Duration::from_millis(100));
    let res = call(&layer, &token("k1"), false).await;
    assert_eq!(res.status(), 503);
    assert!(res.headers().contains_key("retry-after"));
    // The key server answers again: served at once.
    server.set_mode(Mode::Ok);
    ready(&layer).await;
    assert_eq!(status(&layer, &token("k1")).await, 200);
}

// Issue #24, item 1: staleness was checked only once a fetch returned, so with a key server
// that takes the connection and never answers, the fetch running at the deadline held the
// keys for up to `timeout` more. The deadline now cuts that fetch short: the keys go at
// `max_staleness`, not at `max_staleness + timeout`.
#[tokio::test]
async fn a_hanging_fetch_does_not_stretch_max_staleness() {
    let staleness = Duration::from_millis(1500);
    let (server, layer) = started(
        vec![jwk("k1")],
        fast_options()
            .refresh_interval(Duration::from_millis(100))
            .timeout(Duration::from_secs(3))
            .max_staleness(Some(staleness)),
    )
    .await;
    // The last success is within a refresh interval (100 ms) before this.
    let hung_at = std::time::Instant::now();
    server.set_mode(Mode::Hang);
    // Before the edge (at least 1,350 ms away): the last good keys serve.
    tokio::time::sleep(Duration::from_millis(1150)).await;
    assert_eq!(status(&layer, &token("k1")).await, 200);
    // Just after it: dropped, though the fetch in flight (from ~100 ms after the hang)
    // has more than a second of its 3 s timeout left.
    tokio::time::sleep(Duration::from_millis(550)).await;
    assert!(
        !layer.is_ready(),
        "kept {:?} after the last success",
        hung_at.elapsed()
    );
    assert_eq!(status(&layer, &token("k1")).await, 503);
    // The key server answers again: served once a fetch gets through (the one hanging
    // now ends at its timeout).
    server.set_mode(Mode::Ok);
    ready(&layer).await;
    assert_eq!(status(&layer, &token("k1")).await, 200);
}

#[tokio::test]
async fn without_max_staleness_the_last_keys_serve_for_good() {
    let (server, layer) = started(
        vec![jwk("k1")],
        fast_options()
            .refresh_interval(Duration::from_millis(100))
            .max_staleness(None),
    )
    .await;
    server.set_mode(Mode::Status500);
    let fetches = server.fetches();
    wait_for(|| server.fetches() >= fetches + 5).await;
    assert!(layer.is_ready());
    assert_eq!(status(&layer, &token("k1")).await, 200);
}

#[tokio::test]
async fn an_empty_key_set_is_a_failure_not_a_wipe() {
    let (server, layer) = started(
        vec![jwk("k1")],
        fast_options().refresh_interval(Duration::from_millis(100)),
    )
    .await;
    server.set_keys(vec![
        json!({ "kty": "RSA", "use": "enc", "n": "AQAB", "e": "AQAB" }),
    ]);
    let fetches = server.fetches();
    wait_for(|| server.fetches() > fetches + 1).await;
    assert_eq!(status(&layer, &token("k1")).await, 200);
}

#[tokio::test]
async fn a_flood_of_unknown_kids_costs_one_fetch_per_cooldown() {
    let (server, layer) = started(
        vec![jwk("k1")],
        fast_options().unknown_key_cooldown(Duration::from_secs(30)),
    )
    .await;
    let fetches = server.fetches();
    let requests: Vec<_> = (0..200)
        .map(|i| {
            let layer = layer.clone();
            let t = token_with("k1", &format!("random-{i}"), valid_claims());
            tokio::spawn(async move { status(&layer, &t).await })
        })
        .collect();
    let mut statuses = Vec::new();
    for request in requests {
        statuses.push(request.await.unwrap());
    }
    assert!(statuses.iter().all(|s| *s == 401));
    assert_eq!(
        server.fetches(),
        fetches + 1,
        "one refetch for the whole flood"
    );
    // Later unknown kids, one after another, within the cooldown: no fetch at all.
    for i in 0..5 {
        let t = token_with("k1", &format!("later-{i}"), valid_claims());
        assert_eq!(status(&layer, &t).await, 401);
    }
    assert_eq!(
        server.fetches(),
        fetches + 1,
        "no refetch within the cooldown"
    );
    assert_eq!(status(&layer, &token("k1")).await, 200);
}

#[tokio::test]
async fn cache_control_max_age_sets_the_refresh_pace() {
    let server = KeyServer::start(vec![jwk("k1")]).await;
    *server.max_age.lock().unwrap() = Some(0);
    let options = fast_options()
        .refresh_interval(Duration::from_secs(3600))
        .min_refresh_interval(Duration::from_millis(200));
    let layer = jwks_layer(&server, options);
    ready(&layer).await;
    let fetches = server.fetches();
    // max-age=0 is raised to the 200 ms floor: several refreshes within two seconds, where
    // the one-hour default would give none.
    wait_for(|| server.fetches() >= fetches + 3).await;
}

#[tokio::test]
async fn oidc_discovery_finds_the_keys_and_pins_the_issuer() {
    let server = KeyServer::start(vec![jwk("k1")]).await;
    let issuer = server.url();
    let layer = JwtAuthLayer::<TestClaims>::builder()
        .oidc_issuer(&issuer)
        .jwks_options(fast_options())
        .build()
        .unwrap();
    ready(&layer).await;
    let claims = |iss: &str| json!({ "sub": "alice", "exp": now() + 600, "iss": iss });
    assert_eq!(
        status(&layer, &token_with("k1", "k1", claims(&issuer))).await,
        200
    );
    let fetches = server.fetches();
    assert_eq!(
        status(
            &layer,
            &token_with("k1", "k1", claims("https://evil.example"))
        )
        .await,
        401
    );
    assert_eq!(
        status(
            &layer,
            &token_with("k1", "k1", json!({ "sub": "a", "exp": now() + 600 }))
        )
        .await,
        401
    );
    assert_eq!(
        server.fetches(),
        fetches,
        "no fetch for an issuer that is not configured"
    );
}

#[tokio::test]
async fn a_discovery_document_for_another_issuer_is_refused() {
    let server = KeyServer::start(vec![jwk("k1")]).await;
    *server.issuer.lock().unwrap() = "https://someone-else.example".into();
    let layer = JwtAuthLayer::<TestClaims>::builder()
        .oidc_issuer(server.url())
        .jwks_options(fast_options())
        .build()
        .unwrap();
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(!layer.is_ready());
    assert_eq!(
        server.fetches(),
        0,
        "the JWKS of an unverified issuer is never fetched"
    );
    let claims = json!({ "sub": "alice", "exp": now() + 600, "iss": server.url() });
    assert_eq!(status(&layer, &token_with("k1", "k1", claims)).await, 503);
}

#[tokio::test]
async fn tokens_are_routed_to_the_keys_of_the_issuer_they_name() {
    let a = KeyServer::start(vec![jwk("k1")]).await;
    let b = KeyServer::start(vec![jwk("k2")]).await;
    let layer = JwtAuthLayer::<TestClaims>::builder()
        .oidc_issuer(a.url())
        .oidc_issuer(b.url())
        .jwks_options(fast_options())
        .build()
        .unwrap();
    ready(&layer).await;
    let claims = |iss: String| json!({ "sub": "alice", "exp": now() + 600, "iss": iss });
    assert_eq!(
        status(&layer, &token_with("k1", "k1", claims(a.url()))).await,
        200
    );
    assert_eq!(
        status(&layer, &token_with("k2", "k2", claims(b.url()))).await,
        200
    );
    // Issuer A's token signed with B's key: A's keys do not have it.
    assert_eq!(
        status(&layer, &token_with("k2", "k2", claims(a.url()))).await,
        401
    );
    let (fa, fb) = (a.fetches(), b.fetches());
    assert_eq!(
        status(
            &layer,
            &token_with("k1", "k1", claims("http://127.0.0.1:9".into()))
        )
        .await,
        401
    );
    assert_eq!((a.fetches(), b.fetches()), (fa, fb));
}

#[tokio::test]
async fn static_keys_serve_beside_remote_ones() {
    let server = KeyServer::start(vec![jwk("k2")]).await;
    let layer = JwtAuthLayer::<TestClaims>::builder()
        .key_with_kid(
            "k1",
            tower_jwt_auth::DecodingKey::from_rsa_pem(RSA_PUBLIC).unwrap(),
            Algorithm::RS256,
        )
        .jwks_url(format!("{}/jwks.json", server.url()))
        .jwks_options(fast_options())
        .build()
        .unwrap();
    // The static key serves even before the first fetch.
    assert_eq!(status(&layer, &token("k1")).await, 200);
    ready(&layer).await;
    assert_eq!(status(&layer, &token("k2")).await, 200);
}

#[tokio::test]
async fn dropping_the_layer_ends_its_refreshes() {
    let (server, layer) = started(
        vec![jwk("k1")],
        fast_options().refresh_interval(Duration::from_millis(100)),
    )
    .await;
    let fetches = server.fetches();
    wait_for(|| server.fetches() > fetches).await;
    drop(layer);
    tokio::time::sleep(Duration::from_millis(50)).await;
    let after_drop = server.fetches();
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(
        server.fetches(),
        after_drop,
        "no fetch once the layer is gone"
    );
}

#[test]
fn remote_keys_need_a_tokio_runtime_and_valid_urls() {
    let outside = JwtAuthLayer::<TestClaims>::builder()
        .jwks_url("https://idp.example/jwks.json")
        .build();
    assert_eq!(outside.unwrap_err(), ConfigError::NoTokioRuntime);
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let _guard = runtime.enter();
    for url in ["not a url", "/jwks.json", "ftp://idp.example/jwks"] {
        let built = JwtAuthLayer::<TestClaims>::builder().jwks_url(url).build();
        assert_eq!(built.unwrap_err(), ConfigError::InvalidUrl(url.into()));
    }
}

/// A key client that answers an issuer's discovery document with this `jwks_uri`, and
/// remembers every URL it was asked for.
#[derive(Clone)]
struct Recording {
    jwks_uri: &'static str,
    asked: Arc<Mutex<Vec<String>>>,
}

impl tower_jwt_auth::jwks::JwksClient for Recording {
    fn get<'a>(
        &'a self,
        url: &'a http::Uri,
        _max_body: usize,
    ) -> std::pin::Pin<
        Box<
            dyn Future<Output = Result<http::Response<Bytes>, tower_jwt_auth::jwks::BoxError>>
                + Send
                + 'a,
        >,
    > {
        self.asked.lock().unwrap().push(url.to_string());
        let doc = json!({ "issuer": "https://idp.example", "jwks_uri": self.jwks_uri });
        Box::pin(async move { Ok(http::Response::new(Bytes::from(doc.to_string()))) })
    }
}

// Issue #12, item 8: the `jwks_uri` of a discovery document was fetched as given, plain
// http or on this machine's loopback (SSRF) included.
#[tokio::test]
async fn a_discovered_jwks_uri_over_plain_http_or_on_loopback_is_never_fetched() {
    for jwks_uri in [
        "http://keys.example/jwks.json",
        "https://127.0.0.1:6379/",
        "http://localhost:8080/admin",
    ] {
        let client = Recording {
            jwks_uri,
            asked: Arc::default(),
        };
        let layer = JwtAuthLayer::<TestClaims>::builder()
            .oidc_issuer("https://idp.example")
            .jwks_client(client.clone())
            .jwks_options(fast_options())
            .build()
            .unwrap();
        tokio::time::sleep(Duration::from_millis(400)).await;
        assert!(!layer.is_ready(), "{jwks_uri}");
        let asked = client.asked.lock().unwrap().clone();
        assert!(!asked.is_empty(), "{jwks_uri}: discovery was read");
        assert!(
            asked
                .iter()
                .all(|url| url == "https://idp.example/.well-known/openid-configuration"),
            "{jwks_uri}: {asked:?}"
        );
    }
}

#[tokio::test]
async fn key_urls_over_plain_http_need_allow_http_unless_on_loopback() {
    let url = "http://idp.example/jwks.json";
    let built = JwtAuthLayer::<TestClaims>::builder().jwks_url(url).build();
    let err = built.unwrap_err();
    assert_eq!(err, ConfigError::InsecureUrl(url.into()));
    assert!(err.to_string().contains("allow_http"), "{err}");
    let issuer = JwtAuthLayer::<TestClaims>::builder()
        .oidc_issuer("http://idp.example")
        .build();
    assert_eq!(
        issuer.unwrap_err(),
        ConfigError::InsecureUrl("http://idp.example".into())
    );
    let allowed = JwtAuthLayer::<TestClaims>::builder()
        .jwks_url(url)
        .jwks_options(fast_options().allow_http(true))
        .build();
    assert!(allowed.is_ok());
}

/// A proxy that records the head of each request it gets, then hangs up.
async fn recording_proxy() -> (String, Arc<Mutex<Vec<String>>>) {
    use tokio::io::AsyncReadExt;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!(
        "http://proxy-user:secret@{}",
        listener.local_addr().unwrap()
    );
    let heads = Arc::new(Mutex::new(Vec::new()));
    let seen = Arc::clone(&heads);
    tokio::spawn(async move {
        while let Ok((mut conn, _)) = listener.accept().await {
            let mut head = Vec::new();
            let mut buf = [0u8; 1024];
            while !head.ends_with(b"\r\n\r\n") {
                match conn.read(&mut buf).await {
                    Ok(0) | Err(_) => break,
                    Ok(n) => head.extend_from_slice(&buf[..n]),
                }
            }
            seen.lock()
                .unwrap()
                .push(String::from_utf8_lossy(&head).into_owned());
        }
    });
    (url, heads)
}

// Issue #15: the default client had no proxy support. `https://` fetches are tunnelled
// through the proxy (`CONNECT`, RFC 9110 §9.3.6) unless `NO_PROXY` names the host; `new()`
// reads the same rules from the environment.
#[tokio::test]
async fn the_default_client_tunnels_https_fetches_through_a_proxy() {
    use tower_jwt_auth::jwks::DefaultJwksClient;
    let (proxy, heads) = recording_proxy().await;
    let _layer = JwtAuthLayer::<TestClaims>::builder()
        .jwks_url("https://keys.example/jwks.json")
        .jwks_client(DefaultJwksClient::with_proxy(&proxy, "localhost"))
        .jwks_options(fast_options())
        .build()
        .unwrap();
    wait_for(|| !heads.lock().unwrap().is_empty()).await;
    let head = heads.lock().unwrap()[0].clone();
    assert!(
        head.starts_with("CONNECT keys.example:443 HTTP/1.1\r\n"),
        "{head}"
    );
    // The credentials of the proxy URL, as Basic (proxy-user:secret).
    assert!(
        head.to_ascii_lowercase()
            .contains("proxy-authorization: basic chjvehktdxnlcjpzzwnyzxq="),
        "{head}"
    );
    // A host that NO_PROXY names is fetched directly.
    let (proxy, heads) = recording_proxy().await;
    let _layer = JwtAuthLayer::<TestClaims>::builder()
        .jwks_url("https://keys.example/jwks.json")
        .jwks_client(DefaultJwksClient::with_proxy(&proxy, "example"))
        .jwks_options(fast_options())
        .build()
        .unwrap();
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(heads.lock().unwrap().is_empty());
}

// Issue #20: the tunnel's proxy is spoken to over plain TCP, so an `https://` proxy would
// get the CONNECT and its `Proxy-Authorization` in cleartext: refused at `build()`, and
// nothing reaches it.
#[tokio::test]
async fn an_https_proxy_is_refused_at_build() {
    use tower_jwt_auth::jwks::DefaultJwksClient;
    let (proxy, heads) = recording_proxy().await;
    let tls_proxy = proxy.replacen("http://", "https://", 1);
    let err = JwtAuthLayer::<TestClaims>::builder()
        .jwks_url("https://keys.example/jwks.json")
        .jwks_client(DefaultJwksClient::with_proxy(&tls_proxy, "localhost"))
        .jwks_options(fast_options())
        .build()
        .unwrap_err();
    assert!(matches!(err, ConfigError::InsecureProxy(_)), "{err:?}");
    // The message names the proxy, never its credentials.
    assert!(!err.to_string().contains("secret"), "{err}");
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(heads.lock().unwrap().is_empty());
}

async fn wait_for(done: impl Fn() -> bool) {
    for _ in 0..200 {
        if done() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("the condition did not come true within 4 s");
}
