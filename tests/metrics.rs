//! The metrics a layer records (feature `metrics`), read back with the facade's debugging
//! recorder: requests by outcome and reason, cache lookups, revocation checks and their
//! latency, refresh-token reuse, key fetches and the keys in use, introspection calls. One test: the recorder is
//! process-wide, and each snapshot takes what was recorded since the last.
#![cfg(all(feature = "metrics", feature = "jwks"))]

mod common;

use std::collections::HashMap;
use std::time::Duration;

use common::*;
use metrics_util::debugging::{DebugValue, DebuggingRecorder, Snapshotter};
use serde_json::{Value, json};
use tower_jwt_auth::introspection::{ClientAuth, Introspection};
use tower_jwt_auth::issue::{RefreshError, TokenIssuer};
use tower_jwt_auth::revocation::{
    BoxFuture, MemoryStore, Revocation, RevocationStore, StoreError, TokenId,
};
use tower_jwt_auth::{Algorithm, JwtAuthLayer};

/// A store whose local view never answers: every check asks `store` itself.
fn asking(store: MemoryStore) -> impl RevocationStore {
    struct Asking(MemoryStore);
    impl RevocationStore for Asking {
        fn check_local(&self, _: &TokenId, _: u64) -> Option<bool> {
            None
        }
        fn check(&self, token: &TokenId, now: u64) -> BoxFuture<'static, Result<bool, StoreError>> {
            self.0.check(token, now)
        }
        fn revoke(&self, revocation: Revocation) -> BoxFuture<'static, Result<(), StoreError>> {
            self.0.revoke(revocation)
        }
        fn use_once(&self, jti: &str, exp: u64) -> BoxFuture<'static, Result<bool, StoreError>> {
            self.0.use_once(jti, exp)
        }
    }
    Asking(store)
}

/// What was recorded since the last call: `name{label=value,…}` → value.
fn recorded(snapshotter: &Snapshotter) -> HashMap<String, DebugValue> {
    snapshotter
        .snapshot()
        .into_vec()
        .into_iter()
        .map(|(key, _, _, value)| {
            let key = key.key();
            let mut labels: Vec<String> = key
                .labels()
                .map(|l| format!("{}={}", l.key(), l.value()))
                .collect();
            labels.sort();
            (format!("{}{{{}}}", key.name(), labels.join(",")), value)
        })
        .filter(|(_, value)| !matches!(value, DebugValue::Counter(0)))
        .collect()
}

fn count(map: &HashMap<String, DebugValue>, key: &str) -> u64 {
    match map.get(key) {
        Some(DebugValue::Counter(n)) => *n,
        other => panic!("{key}: {other:?} in {map:?}"),
    }
}

#[tokio::test]
async fn each_event_is_recorded_under_its_conventional_name() {
    let recorder = DebuggingRecorder::new();
    let snapshotter = recorder.snapshotter();
    recorder.install().unwrap();

    // Requests: accepted (a cache miss, then a hit), rejected by reason, revoked.
    let store = MemoryStore::new();
    let app = ok_behind(
        JwtAuthLayer::<Value>::builder()
            .hmac_secret(SECRET, Algorithm::HS256)
            .token_cache(100)
            .revocation(store.clone())
            .build()
            .unwrap(),
    );
    let token = mint(&json!({ "sub": "alice", "jti": "j1", "exp": now() + 600 }));
    assert_eq!(status_of(&app, &token).await, 200);
    assert_eq!(status_of(&app, &token).await, 200);
    assert_eq!(call(&app, "/", &[]).await.status, 401);
    assert_eq!(
        status_of(&app, &mint(&json!({ "exp": now() - 3600 }))).await,
        401
    );
    revoke_jti(&store, "j1").await;
    assert_eq!(status_of(&app, &token).await, 401);
    let m = recorded(&snapshotter);
    assert_eq!(count(&m, "jwt_auth_requests_total{outcome=accepted}"), 2);
    assert_eq!(
        count(
            &m,
            "jwt_auth_requests_total{outcome=rejected,reason=missing_token}"
        ),
        1
    );
    assert_eq!(
        count(
            &m,
            "jwt_auth_requests_total{outcome=rejected,reason=expired}"
        ),
        1
    );
    assert_eq!(
        count(
            &m,
            "jwt_auth_requests_total{outcome=rejected,reason=revoked}"
        ),
        1
    );
    assert_eq!(
        count(&m, "jwt_auth_token_cache_lookups_total{result=miss}"),
        2
    );
    assert_eq!(
        count(&m, "jwt_auth_token_cache_lookups_total{result=hit}"),
        2
    );
    assert_eq!(
        count(
            &m,
            "jwt_auth_revocation_checks_total{outcome=not_revoked,source=local}"
        ),
        2
    );
    assert_eq!(
        count(
            &m,
            "jwt_auth_revocation_checks_total{outcome=revoked,source=local}"
        ),
        1
    );

    // A store asked: its latency is recorded.
    let asked = ok_behind(
        JwtAuthLayer::<Value>::builder()
            .hmac_secret(SECRET, Algorithm::HS256)
            .revocation(asking(MemoryStore::new()))
            .build()
            .unwrap(),
    );
    assert_eq!(status_of(&asked, &token).await, 200);
    let m = recorded(&snapshotter);
    assert_eq!(
        count(
            &m,
            "jwt_auth_revocation_checks_total{outcome=not_revoked,source=store}"
        ),
        1
    );
    match &m["jwt_auth_revocation_check_duration_seconds{}"] {
        DebugValue::Histogram(seconds) => assert_eq!(seconds.len(), 1),
        other => panic!("{other:?}"),
    }

    // A refresh token used twice.
    let issuer = TokenIssuer::hmac(SECRET, Algorithm::HS256).build().unwrap();
    let pair = issuer.issue_pair(&json!({ "sub": "alice" })).unwrap();
    issuer.refresh(&pair.refresh_token).await.unwrap();
    assert!(matches!(
        issuer.refresh(&pair.refresh_token).await,
        Err(RefreshError::Reused)
    ));
    let m = recorded(&snapshotter);
    assert_eq!(count(&m, "jwt_auth_refresh_reuse_detected_total{}"), 1);

    // Key fetches: one that succeeds (and how many keys it brought), one that fails.
    let jwks = json!({ "keys": [
        { "kty": "oct", "kid": "a", "alg": "HS256", "k": b64(SECRET) },
    ]});
    let app = axum::Router::new().route(
        "/jwks.json",
        axum::routing::get(move || {
            let jwks = jwks.clone();
            async move { axum::Json(jwks) }
        }),
    );
    let addr = serve(app).await;
    let options = tower_jwt_auth::jwks::JwksOptions::default().allow_hmac_keys(true);
    let layer = JwtAuthLayer::<Value>::builder()
        .jwks_url(format!("http://{addr}/jwks.json"))
        .jwks_options(options.clone())
        .build()
        .unwrap();
    tokio::time::timeout(Duration::from_secs(5), layer.ready())
        .await
        .unwrap();
    let unreachable = JwtAuthLayer::<Value>::builder()
        .jwks_url(format!("http://{addr}/missing.json"))
        .jwks_options(options)
        .build()
        .unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    let m = recorded(&snapshotter);
    assert_eq!(count(&m, "jwt_auth_key_fetches_total{outcome=success}"), 1);
    assert!(count(&m, "jwt_auth_key_fetches_total{outcome=failure}") >= 1);
    assert!(matches!(
        &m["jwt_auth_key_fetch_duration_seconds{outcome=success}"],
        DebugValue::Histogram(s) if s.len() == 1
    ));
    assert!(matches!(&m["jwt_auth_keys{}"], DebugValue::Gauge(n) if n.0 == 1.0));
    drop((layer, unreachable));

    // Introspection: a call answered (the token inactive: still an answer), one that failed.
    let endpoint = axum::Router::new().route(
        "/introspect",
        axum::routing::post(|| async { r#"{"active":false}"# }),
    );
    let addr = serve(endpoint).await;
    let introspecting = |path: &str| {
        let auth = ClientAuth::basic("api", "secret");
        let introspection = Introspection::endpoint(format!("http://{addr}{path}"), auth);
        ok_behind(
            JwtAuthLayer::<Value>::builder()
                .introspection(introspection)
                .build()
                .unwrap(),
        )
    };
    assert_eq!(
        status_of(&introspecting("/introspect"), "opaque").await,
        401
    );
    assert_eq!(status_of(&introspecting("/missing"), "opaque").await, 503);
    let m = recorded(&snapshotter);
    assert_eq!(
        count(&m, "jwt_auth_introspections_total{outcome=answered}"),
        1
    );
    assert_eq!(
        count(&m, "jwt_auth_introspections_total{outcome=failure}"),
        1
    );
    assert!(matches!(
        &m["jwt_auth_introspection_duration_seconds{outcome=answered}"],
        DebugValue::Histogram(s) if s.len() == 1
    ));
}
