//! The layer in an axum app, over a real loopback socket.

use crate::common::*;
use axum::extract::Extension;
use axum::routing::get;
use axum::{Json, Router};
use serde_json::json;
use tower_jwt_auth::jsonwebtoken::Header;
use tower_jwt_auth::{Algorithm, AuthError, DecodingKey, JwtAuthLayer, TokenSource};

fn hs256() -> JwtAuthLayer<TestClaims> {
    JwtAuthLayer::new(DecodingKey::from_secret(SECRET).unwrap(), Algorithm::HS256).unwrap()
}

/// `/me` behind the layer (counting its calls), `/health` public.
fn app(auth: JwtAuthLayer<TestClaims>, calls: &Calls) -> Router {
    let calls = calls.clone();
    Router::new()
        .route(
            "/me",
            get(move |Extension(claims): Extension<TestClaims>| async move {
                calls.hit();
                Json(claims)
            }),
        )
        .route_layer(auth)
        .route("/health", get(|| async { "ok" }))
}

#[tokio::test]
async fn a_valid_token_reaches_the_handler_with_its_claims() {
    let calls = Calls::default();
    let addr = serve(app(hs256(), &calls)).await;
    let res = fetch(
        addr,
        "/me",
        &[("authorization", &bearer(&mint(&valid_claims())))],
    )
    .await;
    assert_eq!(res.status, 200);
    let body: serde_json::Value = serde_json::from_str(&res.body).unwrap();
    assert_eq!(body["sub"], "alice");
    assert_eq!(body["role"], "admin");
    assert_eq!(calls.count(), 1);
}

#[tokio::test]
async fn a_missing_token_gets_a_bare_challenge() {
    let calls = Calls::default();
    let addr = serve(app(hs256(), &calls)).await;
    let res = fetch(addr, "/me", &[]).await;
    assert_eq!(res.status, 401);
    assert_eq!(res.challenge(), "Bearer realm=\"api\"");
    // Another scheme is no bearer token either.
    let res = fetch(addr, "/me", &[("authorization", "Basic ZGVtbzpkZW1v")]).await;
    assert_eq!(res.status, 401);
    assert_eq!(res.challenge(), "Bearer realm=\"api\"");
    assert_eq!(calls.count(), 0);
}

#[tokio::test]
async fn bad_tokens_get_invalid_token_and_never_reach_the_handler() {
    let calls = Calls::default();
    let addr = serve(app(hs256(), &calls)).await;
    let expired = mint(&json!({ "sub": "alice", "exp": now() - 3600 }));
    let other_secret = mint_with(
        &Header::new(Algorithm::HS256),
        &valid_claims(),
        &tower_jwt_auth::EncodingKey::from_secret(b"another-secret-of-at-least-32-bytes!!")
            .unwrap(),
    );
    let hs512 = mint_with(
        &Header::new(Algorithm::HS512),
        &valid_claims(),
        &encoding_key(Algorithm::HS512),
    );
    let rs256 = mint_with(
        &Header::new(Algorithm::RS256),
        &valid_claims(),
        &encoding_key(Algorithm::RS256),
    );
    let payload = valid_claims().to_string();
    let none = forge(r#"{"alg":"none","typ":"JWT"}"#, &payload, b"");
    let none_signed = sign_raw(r#"{"alg":"none"}"#, &payload);
    let no_exp = mint(&json!({ "sub": "alice" }));
    for (token, error) in [
        (expired, AuthError::Expired),
        (other_secret, AuthError::InvalidSignature),
        (hs512, AuthError::AlgorithmNotAllowed),
        (rs256, AuthError::AlgorithmNotAllowed),
        (none, AuthError::AlgorithmNone),
        (none_signed, AuthError::AlgorithmNone),
        (no_exp, AuthError::MissingClaim),
        ("not.a.jwt".to_owned(), AuthError::MalformedToken),
    ] {
        let res = fetch(addr, "/me", &[("authorization", &bearer(&token))]).await;
        assert_eq!(res.status, 401, "{error:?}");
        assert_eq!(
            res.challenge(),
            invalid_token(error.description()),
            "{error:?}"
        );
        assert!(res.body.is_empty());
    }
    assert_eq!(calls.count(), 0);
}

#[tokio::test]
async fn malformed_requests_get_invalid_request() {
    let calls = Calls::default();
    let addr = serve(app(hs256(), &calls)).await;
    let token = mint(&valid_claims());
    let res = fetch(addr, "/me", &[("authorization", "Bearer two words")]).await;
    assert_eq!(res.status, 400);
    assert_eq!(
        res.challenge(),
        "Bearer realm=\"api\", error=\"invalid_request\", error_description=\"the bearer token is not well formed\""
    );
    let twice = [
        ("authorization", bearer(&token)),
        ("authorization", bearer(&token)),
    ];
    let twice: Vec<(&str, &str)> = twice.iter().map(|(n, v)| (*n, v.as_str())).collect();
    let res = fetch(addr, "/me", &twice).await;
    assert_eq!(res.status, 400);
    assert!(res.challenge().contains("error=\"invalid_request\""));
    assert_eq!(calls.count(), 0);
}

#[tokio::test]
async fn route_layer_guards_its_routes_and_leaves_the_rest() {
    let addr = serve(app(hs256(), &Calls::default())).await;
    assert_eq!(fetch(addr, "/health", &[]).await.status, 200);
    assert_eq!(fetch(addr, "/nowhere", &[]).await.status, 404);
}

#[tokio::test]
async fn layer_also_guards_the_fallback() {
    let app = Router::new()
        .route("/health", get(|| async { "ok" }))
        .layer(hs256());
    let addr = serve(app).await;
    assert_eq!(fetch(addr, "/nowhere", &[]).await.status, 401);
    assert_eq!(fetch(addr, "/health", &[]).await.status, 401);
}

#[tokio::test]
async fn a_custom_json_body_keeps_status_and_challenge() {
    let auth = JwtAuthLayer::<TestClaims>::builder()
        .hmac_secret(SECRET, Algorithm::HS256)
        .error_response(|err: AuthError| {
            let mut res = axum::response::IntoResponse::into_response(Json(
                json!({ "error": err.reason(), "message": err.description() }),
            ));
            // The layer overrides the status: a body cannot downgrade the rejection.
            *res.status_mut() = http::StatusCode::OK;
            res
        })
        .build()
        .unwrap();
    let calls = Calls::default();
    let app = Router::new()
        .route("/me", get(|| async { "secret" }))
        .route_layer(auth);
    let addr = serve(app).await;
    let expired = mint(&json!({ "exp": now() - 3600 }));
    let res = fetch(addr, "/me", &[("authorization", &bearer(&expired))]).await;
    assert_eq!(res.status, 401);
    assert_eq!(res.headers["content-type"], "application/json");
    assert_eq!(res.challenge(), invalid_token("the token has expired"));
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(&res.body).unwrap(),
        json!({ "error": "expired", "message": "the token has expired" })
    );
    assert_eq!(calls.count(), 0);
}

#[tokio::test]
async fn optional_mode_lets_anonymous_requests_through_but_not_bad_tokens() {
    let auth = JwtAuthLayer::<TestClaims>::builder()
        .hmac_secret(SECRET, Algorithm::HS256)
        .optional(true)
        .build()
        .unwrap();
    let app = Router::new()
        .route(
            "/greet",
            get(|claims: Option<Extension<TestClaims>>| async move {
                match claims {
                    Some(Extension(c)) => format!("hello {}", c.registered.sub.unwrap()),
                    None => "hello stranger".to_owned(),
                }
            }),
        )
        .layer(auth);
    let addr = serve(app).await;
    assert_eq!(fetch(addr, "/greet", &[]).await.body, "hello stranger");
    let token = mint(&valid_claims());
    assert_eq!(
        fetch(addr, "/greet", &[("authorization", &bearer(&token))])
            .await
            .body,
        "hello alice"
    );
    let expired = mint(&json!({ "exp": now() - 3600 }));
    let res = fetch(addr, "/greet", &[("authorization", &bearer(&expired))]).await;
    assert_eq!(res.status, 401);
    assert_eq!(res.challenge(), invalid_token("the token has expired"));
}

#[tokio::test]
async fn cors_preflight_passes_only_when_allowed() {
    let preflight = [
        ("origin", "https://app.example"),
        ("access-control-request-method", "GET"),
    ];
    let options = |addr| async move {
        let req = http::Request::options(format!("http://{addr}/me"))
            .header(preflight[0].0, preflight[0].1)
            .header(preflight[1].0, preflight[1].1)
            .body(http_body_util::Full::new(bytes::Bytes::new()))
            .unwrap();
        send(req).await
    };
    let guarded = |auth| {
        Router::new()
            .route(
                "/me",
                get(|| async { "me" }).options(|| async { "preflight ok" }),
            )
            .route_layer(auth)
    };

    let strict = serve(guarded(hs256())).await;
    assert_eq!(options(strict).await.status, 401);

    let lenient = JwtAuthLayer::<TestClaims>::builder()
        .hmac_secret(SECRET, Algorithm::HS256)
        .allow_cors_preflight(true)
        .build()
        .unwrap();
    let addr = serve(guarded(lenient)).await;
    let res = options(addr).await;
    assert_eq!(
        (res.status.as_u16(), res.body.as_str()),
        (200, "preflight ok")
    );
    // Only a real preflight passes: a plain GET still needs a token.
    assert_eq!(fetch(addr, "/me", &preflight).await.status, 401);
}

#[tokio::test]
async fn tokens_are_read_from_a_cookie_and_a_query_when_configured() {
    let auth = JwtAuthLayer::<TestClaims>::builder()
        .hmac_secret(SECRET, Algorithm::HS256)
        .token_sources([
            TokenSource::Bearer,
            TokenSource::cookie("jwt"),
            TokenSource::query("access_token"),
        ])
        .build()
        .unwrap();
    let calls = Calls::default();
    let addr = serve(app(auth, &calls)).await;
    let token = mint(&valid_claims());
    let cookie = format!("theme=dark; jwt={token}");
    assert_eq!(fetch(addr, "/me", &[("cookie", &cookie)]).await.status, 200);
    assert_eq!(
        fetch(addr, &format!("/me?access_token={token}"), &[])
            .await
            .status,
        200
    );
    // The same token in two places is a malformed request (RFC 6750 §2).
    let res = fetch(
        addr,
        "/me",
        &[("cookie", &cookie), ("authorization", &bearer(&token))],
    )
    .await;
    assert_eq!(res.status, 400);
    assert_eq!(calls.count(), 2);
}

#[cfg(feature = "axum")]
mod extractor {
    use super::*;
    use tower_jwt_auth::Claims;

    fn optional_app() -> Router {
        let auth = JwtAuthLayer::<TestClaims>::builder()
            .hmac_secret(SECRET, Algorithm::HS256)
            .optional(true)
            .build()
            .unwrap();
        Router::new()
            .route(
                "/me",
                get(|Claims(c): Claims<TestClaims>| async move { c.registered.sub.unwrap() }),
            )
            .route(
                "/maybe",
                get(|c: Option<Claims<TestClaims>>| async move {
                    c.map_or("anonymous".to_owned(), |Claims(c)| {
                        c.registered.sub.unwrap()
                    })
                }),
            )
            .layer(auth)
    }

    #[tokio::test]
    async fn claims_answers_like_the_layer_when_absent() {
        let addr = serve(optional_app()).await;
        let res = fetch(addr, "/me", &[]).await;
        assert_eq!(res.status, 401);
        assert_eq!(res.challenge(), "Bearer realm=\"api\"");
        let token = mint(&valid_claims());
        let res = fetch(addr, "/me", &[("authorization", &bearer(&token))]).await;
        assert_eq!((res.status.as_u16(), res.body.as_str()), (200, "alice"));
    }

    #[tokio::test]
    async fn optional_claims_are_none_without_a_token() {
        let addr = serve(optional_app()).await;
        assert_eq!(fetch(addr, "/maybe", &[]).await.body, "anonymous");
        let token = mint(&valid_claims());
        assert_eq!(
            fetch(addr, "/maybe", &[("authorization", &bearer(&token))])
                .await
                .body,
            "alice"
        );
    }

    #[tokio::test]
    async fn claims_without_the_layer_is_a_server_error() {
        let app = Router::new().route(
            "/me",
            get(|Claims(c): Claims<TestClaims>| async move { c.role.unwrap_or_default() }),
        );
        let addr = serve(app).await;
        assert_eq!(fetch(addr, "/me", &[]).await.status, 500);
    }
}

// Issue #13: the extractors' rejections say which failure happened, as an error value, and
// `AuthError` answers as the layer would for code that verifies by hand.
#[cfg(feature = "axum")]
#[tokio::test]
async fn rejections_say_what_failed_and_auth_errors_answer_like_the_layer() {
    use axum::extract::FromRequestParts;
    use axum::response::IntoResponse;
    use tower_jwt_auth::Claims;
    use tower_jwt_auth::axum::ClaimsRejection;

    // A route without the layer: a server mistake, no `AuthError`.
    let (mut parts, ()) = http::Request::new(()).into_parts();
    let rejection: ClaimsRejection = Claims::<TestClaims>::from_request_parts(&mut parts, &())
        .await
        .unwrap_err();
    assert_eq!(rejection.error(), None);
    let error: &dyn std::error::Error = &rejection;
    assert!(
        error.to_string().contains("without JwtAuthLayer"),
        "{error}"
    );
    assert_eq!(rejection.into_response().status(), 500);

    // An optional layer, no token: the layer's own 401, and the error says so.
    let layer = JwtAuthLayer::<TestClaims>::builder()
        .hmac_secret(SECRET, Algorithm::HS256)
        .optional(true)
        .build()
        .unwrap();
    let app = Router::new()
        .route(
            "/",
            get(
                |claims: Result<Claims<TestClaims>, ClaimsRejection>| async move {
                    match claims {
                        Ok(_) => "claims".to_owned(),
                        Err(rejection) => format!("{:?}: {rejection}", rejection.error()),
                    }
                },
            ),
        )
        .layer(layer.clone());
    let answer = call(&app, "/", &[]).await;
    assert_eq!(
        answer.body,
        format!(
            "Some(MissingToken): request refused: {}",
            AuthError::MissingToken.description()
        )
    );

    // Verifying by hand: the error is the answer.
    let err = layer.verify("not.a.token").unwrap_err();
    let res = err.into_response();
    assert_eq!(res.status(), 401);
    assert_eq!(
        res.headers()["www-authenticate"],
        invalid_token(AuthError::MalformedToken.description())
    );
    assert_eq!(res.headers()["cache-control"], "no-store");
    assert_eq!(AuthError::KeysUnavailable.into_response().status(), 503);
}

// Issue #13: the custom error body sees the request's head, so a JSON API and an HTML page
// answer differently — from the layer, from `Require` (a scope, and an async predicate),
// and from the `Claims` extractor behind an optional layer.
#[cfg(feature = "axum")]
#[tokio::test]
async fn the_custom_error_body_sees_the_request() {
    use tower_jwt_auth::Claims;
    use tower_jwt_auth::authorize::Require;
    use tower_jwt_auth::response::{RequestHead, with_request};
    let by_accept = with_request(|err: AuthError, head: &RequestHead<'_>| {
        let html = head
            .headers()
            .get("accept")
            .is_some_and(|v| v.as_bytes().starts_with(b"text/html"));
        let body = if html {
            format!("<p>{} at {}</p>", err.reason(), head.uri().path())
        } else {
            format!(r#"{{"error":"{}"}}"#, err.reason())
        };
        http::Response::new(axum::body::Body::from(body))
    });
    let layer = |optional: bool| {
        JwtAuthLayer::<TestClaims>::builder()
            .hmac_secret(SECRET, Algorithm::HS256)
            .optional(optional)
            .error_response(by_accept.clone())
            .build()
            .unwrap()
    };
    let guarded = |require: Require<TestClaims>| {
        Router::new()
            .route("/notes", get(|| async { "ok" }))
            .route_layer(require.error_response(by_accept.clone()).build().unwrap())
            .layer(layer(false))
    };
    let html = [("accept", "text/html")];
    // The layer.
    let app = guarded(Require::authenticated());
    assert_eq!(
        call(&app, "/notes", &html).await.body,
        "<p>missing_token at /notes</p>"
    );
    assert_eq!(
        call(&app, "/notes", &[]).await.body,
        r#"{"error":"missing_token"}"#
    );
    // `Require`: a missing scope, and a failing async predicate.
    let token = bearer(&mint(&valid_claims()));
    let scope = guarded(Require::scope("admin"));
    let answer = call(&scope, "/notes", &[("authorization", &token), html[0]]).await;
    assert_eq!(answer.status, 403);
    assert_eq!(answer.body, "<p>insufficient_scope at /notes</p>");
    let predicate =
        guarded(Require::authenticated().predicate_async(|_: &TestClaims| async { false }));
    let answer = call(&predicate, "/notes", &[("authorization", &token), html[0]]).await;
    assert_eq!(answer.body, "<p>insufficient_scope at /notes</p>");
    // The extractor answering for an optional layer.
    let optional = Router::new()
        .route(
            "/me",
            get(|Claims(c): Claims<TestClaims>| async move { c.registered.sub.unwrap() }),
        )
        .layer(layer(true));
    assert_eq!(
        call(&optional, "/me", &html).await.body,
        "<p>missing_token at /me</p>"
    );
}

/// Issue #23: what the layer's response future adds to the one it wraps, in an axum app
/// (a `Route`'s future, 320 bytes with axum 0.8). Measured at 104 bytes: the request's span
/// (40), the slot of a renewed DPoP nonce (40), and the gate's state (24; a parked request
/// lives in the same space as the inner future). Every move of the future copies it, so it
/// should not grow unnoticed.
#[test]
fn the_response_future_adds_little_to_the_inner_one() {
    use std::mem::size_of;
    type Route = axum::routing::Route;
    type Body = axum::body::Body;
    type Inner = <Route as tower::Service<http::Request<Body>>>::Future;
    type Ours = tower_jwt_auth::service::ResponseFuture<
        Route,
        Body,
        TestClaims,
        tower_jwt_auth::response::DefaultErrorResponse,
    >;
    let added = size_of::<Ours>() - size_of::<Inner>();
    assert!(added <= 104, "the response future adds {added} bytes");
}
