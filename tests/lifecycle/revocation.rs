//! Revocation on the request path: by `jti`, by session, by subject; through the cache;
//! answered from the local view, or after asking the store; fail closed when it cannot.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use crate::common::*;
use axum::Router;
use serde_json::{Value, json};
use tower_jwt_auth::revocation::{
    BoxFuture, MemoryStore, OnStoreError, Revocation, RevocationStore, StoreError, TokenId,
};
use tower_jwt_auth::{Algorithm, AuthError, JwtAuthLayer};

fn builder() -> tower_jwt_auth::JwtAuthBuilder<Value> {
    JwtAuthLayer::<Value>::builder().hmac_secret(SECRET, Algorithm::HS256)
}

fn token(jti: &str, sid: &str, sub: &str, iat: u64) -> String {
    mint(&json!({ "jti": jti, "sid": sid, "sub": sub, "iat": iat, "exp": now() + 600 }))
}

async fn status(app: &Router, token: &str) -> (u16, String) {
    let res = call(app, "/", &[("authorization", &bearer(token))]).await;
    (res.status.as_u16(), res.challenge().to_owned())
}

fn revoked() -> (u16, String) {
    (401, invalid_token(AuthError::Revoked.description()))
}

fn ok() -> (u16, String) {
    (200, String::new())
}

#[tokio::test]
async fn revoked_tokens_are_refused_by_jti_session_and_subject() {
    let store = MemoryStore::new();
    let app = ok_behind(builder().revocation(store.clone()).build().unwrap());
    let now = now();
    let a = token("a", "s1", "alice", now - 10);
    let b = token("b", "s1", "alice", now - 10);
    let c = token("c", "s2", "alice", now - 10);
    let d = token("d", "s3", "bob", now - 10);
    for t in [&a, &b, &c, &d] {
        assert_eq!(status(&app, t).await, ok());
    }
    let until = now + 600;
    store
        .revoke(Revocation::Token {
            jti: "a".into(),
            expires_at: until,
        })
        .await
        .unwrap();
    assert_eq!(status(&app, &a).await, revoked());
    assert_eq!(status(&app, &b).await, ok());

    store
        .revoke(Revocation::Session {
            sid: "s1".into(),
            iss: None,
            expires_at: until,
        })
        .await
        .unwrap();
    assert_eq!(status(&app, &b).await, revoked());
    assert_eq!(status(&app, &c).await, ok());

    store
        .revoke(Revocation::Subject {
            sub: "alice".into(),
            iss: None,
            issued_before: now,
            expires_at: until,
        })
        .await
        .unwrap();
    assert_eq!(status(&app, &c).await, revoked());
    assert_eq!(status(&app, &token("e", "s4", "alice", now)).await, ok());
    assert_eq!(status(&app, &d).await, ok());
}

/// Issue #12, item 2: a token is accepted until `exp` plus the leeway, so every kind of
/// revocation must hold that long; each record used to be dropped at `exp`.
#[tokio::test]
async fn a_revocation_holds_through_the_leeway_after_the_tokens_exp() {
    let store = MemoryStore::new();
    let app = ok_behind(builder().revocation(store.clone()).build().unwrap());
    // Expired 10 s ago: within the default 30 s leeway, still accepted.
    let exp = now() - 10;
    let late = |jti: &str, sid: &str, sub: &str| {
        mint(&json!({ "jti": jti, "sid": sid, "sub": sub, "iat": exp - 60, "exp": exp }))
    };
    let (a, b, c) = (
        late("a", "s1", "ann"),
        late("b", "s2", "ben"),
        late("c", "s3", "cat"),
    );
    for t in [&a, &b, &c] {
        assert_eq!(status(&app, t).await, ok());
    }
    for revocation in [
        Revocation::Token {
            jti: "a".into(),
            expires_at: exp,
        },
        Revocation::Session {
            sid: "s2".into(),
            iss: None,
            expires_at: exp,
        },
        Revocation::Subject {
            sub: "cat".into(),
            iss: None,
            issued_before: exp,
            expires_at: exp,
        },
    ] {
        store.revoke(revocation).await.unwrap();
    }
    for t in [&a, &b, &c] {
        assert_eq!(status(&app, t).await, revoked());
    }
}

#[tokio::test]
async fn a_cache_hit_is_still_checked_for_revocation() {
    let store = MemoryStore::new();
    let layer = builder()
        .token_cache(100)
        .revocation(store.clone())
        .build()
        .unwrap();
    let app = ok_behind(layer.clone());
    let t = token("cached", "s", "alice", now());
    assert_eq!(status(&app, &t).await, ok());
    assert_eq!(status(&app, &t).await, ok());
    revoke_jti(&store, "cached").await;
    assert_eq!(status(&app, &t).await, revoked());
    assert_eq!(layer.verify(&t).err(), Some(AuthError::Revoked));
}

/// A store with no local view: every check asks it, and waits `delay` for the answer.
#[derive(Clone, Default)]
struct Remote {
    revoked: Arc<MemoryStore>,
    down: Arc<AtomicBool>,
    asked: Arc<AtomicUsize>,
}

impl RevocationStore for Remote {
    fn check_local(&self, _: &TokenId, _: u64) -> Option<bool> {
        None
    }

    fn check(&self, token: &TokenId, now: u64) -> BoxFuture<'static, Result<bool, StoreError>> {
        self.asked.fetch_add(1, Ordering::SeqCst);
        let answer = if self.down.load(Ordering::SeqCst) {
            Err(StoreError("connection refused".into()))
        } else {
            Ok(self.revoked.check_local(token, now).unwrap())
        };
        Box::pin(async move {
            tokio::time::sleep(Duration::from_millis(20)).await;
            answer
        })
    }

    fn revoke(&self, revocation: Revocation) -> BoxFuture<'static, Result<(), StoreError>> {
        self.revoked.revoke(revocation)
    }

    fn use_once(&self, jti: &str, expires_at: u64) -> BoxFuture<'static, Result<bool, StoreError>> {
        self.revoked.use_once(jti, expires_at)
    }
}

#[tokio::test]
async fn without_a_local_answer_the_request_waits_for_the_store() {
    let store = Remote::default();
    let app = ok_behind(builder().revocation(store.clone()).build().unwrap());
    let t = token("x", "s", "alice", now());
    assert_eq!(status(&app, &t).await, ok());
    assert_eq!(store.asked.load(Ordering::SeqCst), 1);
    revoke_jti(&store, "x").await;
    assert_eq!(status(&app, &t).await, revoked());
    // A token with nothing to revoke it by is not looked up.
    let anonymous = mint(&json!({ "exp": now() + 600 }));
    assert_eq!(status(&app, &anonymous).await, ok());
    assert_eq!(store.asked.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn an_unreachable_store_fails_closed_with_503_by_default() {
    let store = Remote::default();
    store.down.store(true, Ordering::SeqCst);
    let closed = ok_behind(builder().revocation(store.clone()).build().unwrap());
    let t = token("y", "s", "alice", now());
    let res = call(&closed, "/", &[("authorization", &bearer(&t))]).await;
    assert_eq!(res.status, 503);
    assert_eq!(res.headers["retry-after"], "1");
    assert!(res.headers.get("www-authenticate").is_none());

    let grpc = call_grpc(&closed, "/", &[("authorization", &bearer(&t))]).await;
    assert_eq!(grpc.headers["grpc-status"], "14");

    let open = ok_behind(
        builder()
            .revocation(store.clone())
            .on_revocation_store_error(OnStoreError::Allow)
            .build()
            .unwrap(),
    );
    assert_eq!(status(&open, &t).await, ok());
}

#[tokio::test]
async fn verify_outside_a_request_uses_the_local_view_only() {
    let layer = builder().revocation(Remote::default()).build().unwrap();
    let t = token("z", "s", "alice", now());
    assert_eq!(
        layer.verify(&t).err(),
        Some(AuthError::RevocationUnavailable)
    );
    let memory = builder().revocation(MemoryStore::new()).build().unwrap();
    assert!(memory.verify(&t).is_ok());
}

#[tokio::test]
async fn verify_async_asks_the_store_when_its_local_view_cannot_answer() {
    let store = Remote::default();
    let verifier = builder()
        .revocation(store.clone())
        .build_verifier()
        .unwrap();
    let t = token("w", "s", "alice", now());
    let verified = verifier.verify_async(&t).await.unwrap();
    assert_eq!(
        verified.token_id().and_then(|id| id.jti.as_deref()),
        Some("w")
    );
    assert_eq!(store.asked.load(Ordering::SeqCst), 1);
    revoke_jti(&store, "w").await;
    assert_eq!(
        verifier.verify_async(&t).await.err(),
        Some(AuthError::Revoked)
    );
    assert_eq!(
        verifier.verify(&t).err(),
        Some(AuthError::RevocationUnavailable)
    );
    store.down.store(true, Ordering::SeqCst);
    assert_eq!(
        verifier.verify_async(&t).await.err(),
        Some(AuthError::RevocationUnavailable)
    );
}

#[tokio::test]
async fn a_waiting_request_calls_the_service_that_was_polled_ready() {
    use tower::{Service, ServiceBuilder, ServiceExt};
    let layer = builder().revocation(Remote::default()).build().unwrap();
    let mut svc = ServiceBuilder::new()
        .layer(layer)
        .service(MustBeReady::default());
    let t = token("w", "s", "alice", now());
    for _ in 0..3 {
        let req = http::Request::get("/")
            .header("authorization", bearer(&t))
            .body(http_body_util::Full::<bytes::Bytes>::default())
            .unwrap();
        let res = svc.ready().await.unwrap().call(req).await.unwrap();
        assert_eq!(res.status(), 200);
    }
}

// Issue #12, item 11: with several issuers behind one layer and one store, "log out
// everywhere" for one issuer's `alice` logged out every issuer's `alice`.
#[tokio::test]
async fn a_subject_logged_out_at_one_issuer_stays_logged_in_at_another() {
    let store = MemoryStore::new();
    let issuer = |name: &str| {
        tower_jwt_auth::issue::TokenIssuer::hmac(SECRET, Algorithm::HS256)
            .issuer(name)
            .revocation_store(store.clone())
            .build()
            .unwrap()
    };
    let (a, b) = (issuer("https://a.example"), issuer("https://b.example"));
    let app = ok_behind(
        builder()
            .issuers(["https://a.example", "https://b.example"])
            .revocation(store.clone())
            .build()
            .unwrap(),
    );
    let alice = json!({ "sub": "alice" });
    let (at_a, at_b) = (a.issue_pair(&alice).unwrap(), b.issue_pair(&alice).unwrap());
    a.logout_everywhere("alice").await.unwrap();
    assert_eq!(status(&app, &at_a.access_token).await, revoked());
    assert_eq!(status(&app, &at_b.access_token).await, ok());
    // Sessions likewise (the same `sid` at two issuers: `revocation::list`'s unit test).
    let bob = json!({ "sub": "bob" });
    let (bob_a, bob_b) = (a.issue_pair(&bob).unwrap(), b.issue_pair(&bob).unwrap());
    a.logout(&bob_a.access_token).await.unwrap();
    assert_eq!(status(&app, &bob_a.access_token).await, revoked());
    assert_eq!(status(&app, &bob_b.access_token).await, ok());
    assert!(b.refresh(&bob_b.refresh_token).await.is_ok());
}

// Issue #13: a mode that lets refused requests through for the handler to decide, with the
// reason attached and never claims the layer did not verify — not even those of a token
// read and then found revoked.
#[tokio::test]
async fn passed_through_rejections_carry_the_reason_and_no_claims() {
    use axum::body::Body;
    use tower_jwt_auth::claims::Grants;
    use tower_jwt_auth::response::Unauthenticated;
    let store = Remote::default();
    let layer = builder()
        .revocation(store.clone())
        .pass_rejections(true)
        .build()
        .unwrap();
    let app = axum::Router::new()
        .route(
            "/",
            axum::routing::get(|req: http::Request<Body>| async move {
                let claims = req.extensions().get::<Value>().is_some();
                let grants = req.extensions().get::<Grants>().is_some();
                match req.extensions().get::<Unauthenticated<Body>>() {
                    Some(refused) => format!(
                        "refused {:?} (answer {}), claims {claims}, grants {grants}",
                        refused.error(),
                        refused.response().status().as_u16()
                    ),
                    None => format!("claims {claims}, grants {grants}"),
                }
            }),
        )
        .layer(layer);
    let body = |token: Option<String>| {
        let app = app.clone();
        async move {
            let auth = token.map(|t| bearer(&t));
            let headers: Vec<(&str, &str)> =
                auth.iter().map(|a| ("authorization", a.as_str())).collect();
            call(&app, "/", &headers).await.body
        }
    };
    let scoped = |jti: &str| {
        mint(&json!({ "jti": jti, "sub": "alice", "scope": "read", "exp": now() + 600 }))
    };
    assert_eq!(body(Some(scoped("ok"))).await, "claims true, grants true");
    assert_eq!(
        body(None).await,
        "refused MissingToken (answer 401), claims false, grants false"
    );
    assert_eq!(
        body(Some(mint(&json!({ "exp": now() - 3600 })))).await,
        "refused Expired (answer 401), claims false, grants false"
    );
    // Revoked: the store is asked after the claims were read, and they are taken out.
    revoke_jti(&store, "gone").await;
    assert_eq!(
        body(Some(scoped("gone"))).await,
        "refused Revoked (answer 401), claims false, grants false"
    );
}

/// Issue #21: one `revocation(..)`: a store shared as `Arc<dyn RevocationStore>` (a
/// `TokenIssuer`'s, say) is passed as it is, and revocations made through the `Arc` reach
/// the layer.
#[tokio::test]
async fn a_shared_store_is_given_to_revocation_as_it_is() {
    let shared: Arc<dyn RevocationStore> = Arc::new(MemoryStore::new());
    let app = ok_behind(builder().revocation(Arc::clone(&shared)).build().unwrap());
    let t = token("j-shared", "s", "alice", now());
    assert_eq!(status(&app, &t).await, ok());
    revoke_jti(&shared, "j-shared").await;
    assert_eq!(status(&app, &t).await, revoked());
}
