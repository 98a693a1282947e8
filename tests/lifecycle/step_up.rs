//! Step-up authentication (RFC 9470): a route that requires the user to have authenticated
//! with a given authentication context class (`acr`) or recently enough (`auth_time`)
//! answers a token that falls short with `401` and `error="insufficient_user_authentication"`,
//! naming `acr_values` / `max_age` (RFC 9470 §3), or gRPC `UNAUTHENTICATED`.
//!
//! The claims have the shape Keycloak puts in its access tokens (Server Administration
//! Guide, "Creating a browser login flow with step-up mechanism": `acr` a string such as
//! `"1"` or `"gold"` after its level-of-authentication mapping, `auth_time` whole seconds)
//! and the shape of OpenID Connect Core §2 (`acr` a string, `auth_time` a JSON number).

use std::time::Duration;

use crate::authorize::{get_with, guarded, with};
use crate::common::*;
use axum::Router;
use axum::routing::get;
use serde_json::{Value, json};
use tower_jwt_auth::authorize::Require;
use tower_jwt_auth::{AuthError, ConfigError, JwtAuthLayer};

// The layer, a guarded route and tokens, as the authorization tests make them.
fn auth() -> JwtAuthLayer<Value> {
    crate::authorize::auth(false)
}

const STEP_UP: &str = "Bearer realm=\"api\", error=\"insufficient_user_authentication\", \
     error_description=\"a stronger or more recent authentication is required\"";

#[tokio::test]
async fn a_token_without_an_accepted_acr_gets_401_naming_the_acr_values() {
    let calls = Calls::default();
    let app = guarded(
        Require::authenticated().acr_values(["gold", "urn:example:mfa"]),
        &calls,
    );
    for refused in [
        json!({ "sub": "alice", "acr": "1" }),
        json!({ "sub": "alice", "acr": "Gold" }), // compared exactly
        json!({ "sub": "alice" }),
    ] {
        let res = get_with(&app, refused.clone()).await;
        assert_eq!(res.status, 401, "{refused}");
        assert_eq!(
            res.challenge(),
            format!("{STEP_UP}, acr_values=\"gold urn:example:mfa\""),
            "{refused}"
        );
        assert_eq!(res.headers["cache-control"], "no-store");
    }
    for accepted in ["gold", "urn:example:mfa"] {
        let res = get_with(&app, json!({ "sub": "alice", "acr": accepted })).await;
        assert_eq!(res.status, 200, "{accepted}");
    }
    assert_eq!(calls.count(), 2);
}

#[tokio::test]
async fn an_authentication_older_than_max_age_gets_401_naming_max_age() {
    let calls = Calls::default();
    let app = guarded(
        Require::authenticated().max_auth_age(Duration::from_secs(300)),
        &calls,
    );
    // Both sides of the edge, a second from it: the clock may tick between the test's
    // reading and the layer's, which only ages the authentication.
    let res = get_with(&app, json!({ "sub": "alice", "auth_time": now() - 299 })).await;
    assert_eq!(res.status, 200);
    let res = get_with(&app, json!({ "sub": "alice", "auth_time": now() - 301 })).await;
    assert_eq!(res.status, 401);
    assert_eq!(res.challenge(), format!("{STEP_UP}, max_age=\"300\""));
    // Without `auth_time`, the age cannot be known: the user must authenticate again.
    let res = get_with(&app, json!({ "sub": "alice" })).await;
    assert_eq!(res.status, 401);
    assert_eq!(calls.count(), 1);
}

#[tokio::test]
async fn both_requirements_must_hold_and_both_are_named() {
    let app = guarded(
        Require::authenticated()
            .acr_values(["gold"])
            .max_auth_age(Duration::from_secs(60)),
        &Calls::default(),
    );
    let recent = now() - 10;
    let res = get_with(&app, json!({ "acr": "gold", "auth_time": recent })).await;
    assert_eq!(res.status, 200);
    let res = get_with(&app, json!({ "acr": "gold", "auth_time": now() - 3600 })).await;
    assert_eq!(res.status, 401);
    let res = get_with(&app, json!({ "acr": "silver", "auth_time": recent })).await;
    assert_eq!(res.status, 401);
    assert_eq!(
        res.challenge(),
        format!("{STEP_UP}, acr_values=\"gold\", max_age=\"60\"")
    );
}

#[tokio::test]
async fn a_missing_scope_is_403_before_any_step_up() {
    let app = guarded(
        Require::scope("admin").acr_values(["gold"]),
        &Calls::default(),
    );
    // Authenticating again would not grant `admin`: the definitive answer comes first.
    let res = get_with(&app, json!({ "scope": "read", "acr": "1" })).await;
    assert_eq!(res.status, 403);
    let res = get_with(&app, json!({ "scope": "admin", "acr": "1" })).await;
    assert_eq!(res.status, 401);
    let res = get_with(&app, json!({ "scope": "admin", "acr": "gold" })).await;
    assert_eq!(res.status, 200);
}

#[tokio::test]
async fn acr_and_auth_time_of_the_wrong_type_invalidate_the_token() {
    // Read strictly, as every claim the layer checks: no requirement is needed for it.
    let app = Router::new()
        .route("/", get(|| async { "ok" }))
        .layer(auth());
    for claims in [
        json!({ "acr": 2 }),
        json!({ "acr": ["gold"] }),
        json!({ "auth_time": "yesterday" }),
        json!({ "auth_time": -1 }),
    ] {
        let res = get_with(&app, claims.clone()).await;
        assert_eq!(res.status, 401, "{claims}");
        assert!(res.challenge().contains("invalid_token"), "{claims}");
    }
}

#[tokio::test]
async fn grpc_requests_get_unauthenticated_with_the_challenge_in_the_metadata() {
    let app = guarded(
        Require::authenticated().acr_values(["gold"]),
        &Calls::default(),
    );
    let res = call_grpc(
        &app,
        "/",
        &[("authorization", &with(json!({ "acr": "1" })))],
    )
    .await;
    assert_eq!(res.status, 200);
    assert_eq!(res.headers["grpc-status"], "16");
    assert_eq!(
        res.headers["grpc-message"],
        AuthError::InsufficientUserAuthentication.description()
    );
    assert_eq!(res.challenge(), format!("{STEP_UP}, acr_values=\"gold\""));
}

#[test]
fn requirements_that_cannot_be_named_fail_at_build() {
    let err = Require::<Value>::authenticated()
        .acr_values(["two words"])
        .build()
        .unwrap_err();
    assert!(matches!(&err, ConfigError::InvalidAcrValue(v) if v == "two words"));
    assert!(err.to_string().contains("acr_values"), "{err}");
    let err = Require::<Value>::authenticated()
        .acr_values(Vec::<String>::new())
        .build()
        .unwrap_err();
    assert!(matches!(err, ConfigError::EmptyClaimValue(_)), "{err}");
    // An empty list beside a maximum age: any `acr`, recent enough.
    Require::<Value>::authenticated()
        .acr_values(Vec::<String>::new())
        .max_auth_age(Duration::from_secs(60))
        .build()
        .unwrap();
}

/// The `Authorized` extractor's `ACR_VALUES` and `MAX_AUTH_AGE` (feature `axum`).
#[cfg(feature = "axum")]
mod extractor {
    use super::*;
    use tower_jwt_auth::Authorized;
    use tower_jwt_auth::axum::Permission;

    struct Transfer;

    impl Permission<Value> for Transfer {
        const SCOPES: &'static [&'static str] = &["payments"];
        const ACR_VALUES: &'static [&'static str] = &["gold"];
        const MAX_AUTH_AGE: Option<Duration> = Some(Duration::from_secs(120));
    }

    #[tokio::test]
    async fn the_authorized_extractor_asks_for_a_step_up() {
        let app = Router::new()
            .route(
                "/",
                get(|Authorized(_, _): Authorized<Value, Transfer>| async { "sent" }),
            )
            .layer(auth());
        let fresh = now() - 5;
        let ok = json!({ "scope": "payments", "acr": "gold", "auth_time": fresh });
        let res = get_with(&app, ok).await;
        assert_eq!((res.status.as_u16(), res.body.as_str()), (200, "sent"));
        let res = get_with(&app, json!({ "scope": "payments", "acr": "gold" })).await;
        assert_eq!(res.status, 401);
        assert_eq!(
            res.challenge(),
            format!("{STEP_UP}, acr_values=\"gold\", max_age=\"120\"")
        );
        let res = get_with(&app, json!({ "acr": "gold", "auth_time": fresh })).await;
        assert_eq!(res.status, 403);
    }
}
