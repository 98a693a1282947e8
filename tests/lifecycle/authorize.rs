//! Authorization behind the layer: scopes (`scope`, `scp`), roles, predicates sync and
//! async, as a route layer and as the `Authorized` extractor; 403 `insufficient_scope`
//! naming the scope, gRPC PERMISSION_DENIED.

use std::time::Duration;

use crate::common::*;
use axum::Router;
use axum::routing::get;
use serde_json::{Value, json};
use tower_jwt_auth::authorize::Require;
use tower_jwt_auth::{Algorithm, AuthError, JwtAuthLayer};

pub(crate) fn auth(optional: bool) -> JwtAuthLayer<Value> {
    JwtAuthLayer::<Value>::builder()
        .hmac_secret(SECRET, Algorithm::HS256)
        .optional(optional)
        .build()
        .unwrap()
}

pub(crate) fn guarded(require: Require<Value>, calls: &Calls) -> Router {
    let calls = calls.clone();
    Router::new()
        .route(
            "/",
            get(move || async move {
                calls.hit();
                "ok"
            }),
        )
        .route_layer(require.build().unwrap())
        .layer(auth(false))
}

pub(crate) fn with(claims: Value) -> String {
    let mut claims = claims;
    claims["exp"] = json!(now() + 600);
    bearer(&mint(&claims))
}

pub(crate) async fn get_with(app: &Router, claims: Value) -> Answer {
    call(app, "/", &[("authorization", &with(claims))]).await
}

const FORBIDDEN: &str = "Bearer realm=\"api\", error=\"insufficient_scope\", \
     error_description=\"the token does not grant access to this resource\"";

#[tokio::test]
async fn a_missing_scope_is_403_naming_the_required_scopes() {
    let calls = Calls::default();
    let app = guarded(Require::scopes(["notes:read", "notes:write"]), &calls);
    let res = get_with(&app, json!({ "scope": "notes:read" })).await;
    assert_eq!(res.status, 403);
    assert_eq!(
        res.challenge(),
        format!("{FORBIDDEN}, scope=\"notes:read notes:write\"")
    );
    let res = get_with(&app, json!({ "scope": "notes:write other notes:read" })).await;
    assert_eq!(res.status, 200);
    // `scp`, as an array or a string, counts too.
    let res = get_with(&app, json!({ "scp": ["notes:read", "notes:write"] })).await;
    assert_eq!(res.status, 200);
    let res = get_with(&app, json!({ "scp": "notes:read notes:write" })).await;
    assert_eq!(res.status, 200);
    // Scopes are compared exactly.
    let res = get_with(&app, json!({ "scope": "notes:READ notes:write" })).await;
    assert_eq!(res.status, 403);
    let res = get_with(&app, json!({ "sub": "no scopes at all" })).await;
    assert_eq!(res.status, 403);
    assert_eq!(calls.count(), 3);
}

#[tokio::test]
async fn a_scope_of_the_wrong_type_invalidates_the_token() {
    let app = guarded(Require::scope("read"), &Calls::default());
    let res = get_with(&app, json!({ "scope": ["read"] })).await;
    assert_eq!(res.status, 401);
    assert_eq!(
        res.challenge(),
        invalid_token(AuthError::InvalidClaims.description())
    );
}

#[tokio::test]
async fn roles_and_predicates_must_hold() {
    let calls = Calls::default();
    let app = guarded(
        Require::role("editor")
            .any_role(["eu", "us"])
            .predicate(|c: &Value| c["tenant"] == "acme"),
        &calls,
    );
    let ok = json!({ "roles": ["editor", "eu"], "tenant": "acme" });
    assert_eq!(get_with(&app, ok).await.status, 200);
    for denied in [
        json!({ "roles": ["eu"], "tenant": "acme" }),
        json!({ "roles": ["editor"], "tenant": "acme" }),
        json!({ "roles": ["editor", "us"], "tenant": "other" }),
        json!({ "scope": "editor eu", "tenant": "acme" }),
    ] {
        let res = get_with(&app, denied.clone()).await;
        assert_eq!(res.status, 403, "{denied}");
        assert_eq!(res.challenge(), FORBIDDEN);
    }
    assert_eq!(calls.count(), 1);
}

#[tokio::test]
async fn async_predicates_are_awaited_before_the_handler() {
    let calls = Calls::default();
    let app = guarded(
        Require::authenticated().predicate_async(|c: &Value| {
            let sub = c["sub"].as_str().unwrap_or_default().to_owned();
            async move {
                tokio::time::sleep(Duration::from_millis(10)).await;
                sub == "alice"
            }
        }),
        &calls,
    );
    assert_eq!(get_with(&app, json!({ "sub": "alice" })).await.status, 200);
    assert_eq!(
        get_with(&app, json!({ "sub": "mallory" })).await.status,
        403
    );
    assert_eq!(calls.count(), 1);
}

#[tokio::test]
async fn a_request_waiting_for_a_predicate_calls_the_service_that_was_polled_ready() {
    use tower::{Service, ServiceBuilder, ServiceExt};
    let require = Require::<Value>::authenticated()
        .predicate_async(|_: &Value| async {
            tokio::time::sleep(Duration::from_millis(5)).await;
            true
        })
        .build()
        .unwrap();
    let mut svc = ServiceBuilder::new()
        .layer(auth(false))
        .layer(require)
        .service(MustBeReady::default());
    for _ in 0..3 {
        let req = http::Request::get("/")
            .header("authorization", with(json!({ "sub": "alice" })))
            .body(http_body_util::Full::<bytes::Bytes>::default())
            .unwrap();
        let res = svc.ready().await.unwrap().call(req).await.unwrap();
        assert_eq!(res.status(), 200);
    }
}

#[tokio::test]
async fn without_claims_the_answer_is_the_401_challenge() {
    let app = Router::new()
        .route("/", get(|| async { "ok" }))
        .route_layer(Require::<Value>::scope("read").build().unwrap())
        .layer(auth(true));
    let res = call(&app, "/", &[]).await;
    assert_eq!(res.status, 401);
    assert_eq!(res.challenge(), "Bearer realm=\"api\"");
}

#[tokio::test]
async fn grpc_requests_get_permission_denied() {
    let app = guarded(Require::scope("admin"), &Calls::default());
    let res = call_grpc(
        &app,
        "/",
        &[("authorization", &with(json!({ "scope": "read" })))],
    )
    .await;
    assert_eq!(res.status, 200);
    assert_eq!(res.headers["grpc-status"], "7");
    assert_eq!(
        res.headers["grpc-message"],
        AuthError::InsufficientScope.description()
    );
}

/// The `Authorized` extractor (feature `axum`).
#[cfg(feature = "axum")]
mod extractor {
    use super::*;
    use tower_jwt_auth::Authorized;
    use tower_jwt_auth::axum::Permission;
    use tower_jwt_auth::claims::Grants;

    struct WriteNotes;

    impl Permission<Value> for WriteNotes {
        const SCOPES: &'static [&'static str] = &["notes:write"];
        fn allows(claims: &Value, _: &Grants) -> bool {
            claims["sub"] != "guest"
        }
    }

    #[tokio::test]
    async fn the_authorized_extractor_checks_its_permission() {
        let app = Router::new()
            .route(
                "/",
                get(
                    |Authorized(claims, _): Authorized<Value, WriteNotes>| async move {
                        claims["sub"].as_str().unwrap().to_owned()
                    },
                ),
            )
            .layer(auth(false));
        let res = get_with(&app, json!({ "sub": "alice", "scope": "notes:write" })).await;
        assert_eq!((res.status.as_u16(), res.body.as_str()), (200, "alice"));
        let res = get_with(&app, json!({ "sub": "guest", "scope": "notes:write" })).await;
        assert_eq!(res.status, 403);
        let res = get_with(&app, json!({ "sub": "alice" })).await;
        assert_eq!(res.status, 403);
        assert_eq!(
            res.challenge(),
            format!("{FORBIDDEN}, scope=\"notes:write\"")
        );
    }
}

// Issue #12, item 10: grants were inserted only when non-empty and never removed, so an
// inner layer's token without scopes was authorized with the outer layer's token's scopes.
#[tokio::test]
async fn an_inner_layer_leaves_its_own_grants_not_the_outer_layers() {
    let calls = Calls::default();
    let hit = calls.clone();
    let inner = JwtAuthLayer::<Value>::builder()
        .hmac_secret(SECRET, Algorithm::HS256)
        .token_sources([tower_jwt_auth::TokenSource::header(
            http::HeaderName::from_static("x-user-token"),
        )])
        .build()
        .unwrap();
    let app = Router::new()
        .route(
            "/",
            get(move || async move {
                hit.hit();
                "ok"
            }),
        )
        .route_layer(Require::<Value>::scopes(["admin"]).build().unwrap())
        .layer(inner)
        .layer(auth(false));
    let service = with(json!({ "sub": "gateway", "scope": "admin" }));
    let user = |claims: Value| {
        let mut claims = claims;
        claims["exp"] = json!(now() + 600);
        mint(&claims)
    };
    let plain_user = user(json!({ "sub": "alice" }));
    let res = call(
        &app,
        "/",
        &[("authorization", &service), ("x-user-token", &plain_user)],
    )
    .await;
    assert_eq!(res.status, 403, "alice's token grants no scope");
    assert_eq!(calls.count(), 0);
    let admin_user = user(json!({ "sub": "bob", "scope": "admin" }));
    let res = call(
        &app,
        "/",
        &[("authorization", &service), ("x-user-token", &admin_user)],
    )
    .await;
    assert_eq!(res.status, 200);
}
