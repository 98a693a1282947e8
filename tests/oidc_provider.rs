//! A real OpenID provider: `oidc-provider` (panva's, OpenID Certified), from the npm
//! registry at the version `tests/support/oidc-provider/package-lock.json` pins, installed
//! (`npm ci`) into this test's temporary directory and started on loopback. The layer finds
//! its keys through its discovery document, and verifies the JWT access tokens it issues
//! (RFC 9068: `typ: at+jwt`, RS256, its development key's `kid`) by the client credentials
//! grant for a resource indicator (RFC 8707) — shapes made by the provider, not by us. Its
//! opaque access tokens (resource `urn:reference`) are introspected (RFC 7662) at its
//! endpoint, found through discovery, with each of the three client authentications; a token
//! revoked there (RFC 7009) is refused here within the bound on what the layer keeps.
#![cfg(feature = "jwks")]

mod common;

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use axum::Router;
use axum::routing::get;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use bytes::Bytes;
use common::*;
use http::Request;
use http_body_util::Full;
use serde_json::Value;
use tower_jwt_auth::authorize::Require;
use tower_jwt_auth::introspection::{ClientAuth, Introspection};
use tower_jwt_auth::{Algorithm, AuthError, Claims, EncodingKey, JwtAuthLayer};

/// The provider, stopped when dropped.
struct Provider {
    child: Child,
    issuer: String,
}

impl Provider {
    fn start() -> Provider {
        let source = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/support/oidc-provider");
        let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("oidc-provider");
        std::fs::create_dir_all(&dir).unwrap();
        for file in ["package.json", "package-lock.json", "server.mjs"] {
            std::fs::copy(source.join(file), dir.join(file)).unwrap();
        }
        if !dir.join("node_modules/oidc-provider").exists() {
            let installed = Command::new("npm")
                .args(["ci", "--no-audit", "--no-fund", "--loglevel=error"])
                .current_dir(&dir)
                .status()
                .expect("npm comes with the machine's Node.js");
            assert!(installed.success(), "npm ci");
        }
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let client_key =
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data/ec2_private.pem");
        let child = Command::new("node")
            .arg("server.mjs")
            .env("PORT", port.to_string())
            .env("CLIENT_KEY", client_key)
            .current_dir(&dir)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("node");
        let deadline = Instant::now() + Duration::from_secs(20);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "oidc-provider did not start");
            std::thread::sleep(Duration::from_millis(50));
        }
        Provider {
            child,
            issuer: format!("http://127.0.0.1:{port}"),
        }
    }

    /// An access token for `resource`, by the client credentials grant.
    async fn token(&self, scope: &str, resource: &str) -> String {
        let basic = STANDARD.encode("notes-client:notes-client-secret-of-32-bytes!!");
        let form = format!("grant_type=client_credentials&scope={scope}&resource={resource}");
        let req = Request::post(format!("{}/token", self.issuer))
            .header("authorization", format!("Basic {basic}"))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(Full::new(Bytes::from(form)))
            .unwrap();
        let answer = send(req).await;
        assert_eq!(answer.status, 200, "{}", answer.body);
        let body: Value = serde_json::from_str(&answer.body).unwrap();
        body["access_token"].as_str().unwrap().to_owned()
    }
}

impl Provider {
    /// Revokes `token` at the provider (RFC 7009), as its client.
    async fn revoke(&self, token: &str) {
        let basic = STANDARD.encode("notes-client:notes-client-secret-of-32-bytes!!");
        let req = Request::post(format!("{}/token/revocation", self.issuer))
            .header("authorization", format!("Basic {basic}"))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(Full::new(Bytes::from(format!("token={token}"))))
            .unwrap();
        assert_eq!(send(req).await.status, 200);
    }
}

impl Drop for Provider {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[tokio::test]
async fn access_tokens_of_a_real_provider_pass_through_its_discovery() {
    let provider = Provider::start();
    let layer = JwtAuthLayer::<Value>::builder()
        .oidc_issuer(provider.issuer.clone())
        .audience("urn:notes")
        .build()
        .unwrap();
    tokio::time::timeout(Duration::from_secs(10), layer.ready())
        .await
        .expect("the keys, from the provider's discovery document and JWKS");
    let app: Router = Router::new()
        .route("/", get(|| async { "ok" }))
        .route_layer(Require::<Value>::scope("write").build().unwrap())
        .layer(layer.clone());

    let token = provider.token("read write", "urn:notes").await;
    // The provider's shape (RFC 9068 §2.1, §2.2).
    let header: Value = serde_json::from_slice(&unb64(token.split('.').next().unwrap())).unwrap();
    assert_eq!(header["typ"], "at+jwt");
    assert_eq!(header["alg"], "RS256");
    assert!(header["kid"].is_string());
    let claims = layer.verify(&token).unwrap();
    assert_eq!(claims["iss"], provider.issuer.as_str());
    assert_eq!(claims["aud"], "urn:notes");
    assert_eq!(claims["client_id"], "notes-client");
    assert!(claims["exp"].as_u64().unwrap() > now());
    assert_eq!(status_of(&app, &token).await, 200);

    // Its scope grants: `read` alone does not reach a route that needs `write`.
    let read_only = provider.token("read", "urn:notes").await;
    assert_eq!(status_of(&app, &read_only).await, 403);
    // A token for another resource server: its audience is not ours.
    let other = provider.token("read", "urn:other").await;
    assert_eq!(
        layer.verify(&other).unwrap_err(),
        AuthError::InvalidAudience
    );
    // One changed byte in the signature.
    let mut forged = token.clone().into_bytes();
    let last = forged.len() - 2;
    forged[last] = if forged[last] == b'A' { b'B' } else { b'A' };
    let forged = String::from_utf8(forged).unwrap();
    assert_eq!(
        layer.verify(&forged).unwrap_err(),
        AuthError::InvalidSignature
    );
}

/// A layer that verifies the provider's JWTs with its keys and introspects its opaque
/// tokens, authenticated as `auth`, keeping answers for `cache_for`.
fn both(provider: &Provider, auth: ClientAuth, cache_for: Duration) -> JwtAuthLayer<Value> {
    JwtAuthLayer::<Value>::builder()
        .oidc_issuer(provider.issuer.clone())
        .audience("urn:notes")
        .audience("urn:reference")
        .introspection(Introspection::discover(provider.issuer.clone(), auth).cache_for(cache_for))
        .build()
        .unwrap()
}

#[tokio::test]
async fn opaque_tokens_of_a_real_provider_are_introspected_with_each_client_authentication() {
    let provider = Provider::start();
    let jwt_key = EncodingKey::from_ec_pem(EC2_PRIVATE).unwrap();
    let auths = [
        ClientAuth::basic("notes-api-basic", "notes-api-basic-secret-of-32-bytes!"),
        ClientAuth::post("notes-api-post", "notes-api-post-secret-of-32-bytes!!"),
        ClientAuth::private_key_jwt("notes-api-jwt", jwt_key, Algorithm::ES256),
    ];
    for auth in auths {
        let method = format!("{auth:?}");
        let layer = both(&provider, auth, Duration::from_secs(30));
        let app: Router = Router::new()
            .route(
                "/",
                get(|Claims(claims): Claims<Value>| async move { claims.to_string() }),
            )
            .route(
                "/write",
                get(|| async { "ok" })
                    .route_layer(Require::<Value>::scope("write").build().unwrap()),
            )
            .layer(layer.clone());
        let opaque = provider.token("read", "urn:reference").await;
        assert_eq!(opaque.split('.').count(), 1, "an opaque token: {method}");
        let answer = call(&app, "/", &[("authorization", &bearer(&opaque))]).await;
        assert_eq!(answer.status, 200, "{method}: {}", answer.body);
        // The provider's answer (RFC 7662 §2.2) as the claims.
        let claims: Value = serde_json::from_str(&answer.body).unwrap();
        assert_eq!(claims["active"], true);
        assert_eq!(claims["client_id"], "notes-client");
        assert_eq!(claims["aud"], "urn:reference");
        assert_eq!(claims["iss"], provider.issuer.as_str());
        assert_eq!(claims["token_type"], "Bearer");
        // Its scope mapped as a JWT's: `read` does not reach a route that needs `write`.
        assert_eq!(
            status_of_path(&app, "/write", &opaque).await,
            403,
            "{method}"
        );
        let writer = provider.token("read write", "urn:reference").await;
        assert_eq!(
            status_of_path(&app, "/write", &writer).await,
            200,
            "{method}"
        );
        // A JWT on the same layer, verified with the provider's keys.
        let jwt = provider.token("read write", "urn:notes").await;
        assert_eq!(status_of_path(&app, "/write", &jwt).await, 200, "{method}");
        // A token the provider never issued.
        let made_up = call(
            &app,
            "/",
            &[(
                "authorization",
                "Bearer 7ZpUXr3VNv4jF0c5pNsdIhpG1M2vdQQwIzKpXfKpF9i",
            )],
        )
        .await;
        assert_eq!(made_up.status, 401, "{method}");
        assert_eq!(
            made_up.challenge(),
            invalid_token(AuthError::InactiveToken.description())
        );
    }
    // The layer's credentials refused by the provider: never a pass.
    let wrong = both(
        &provider,
        ClientAuth::basic("notes-api-basic", "not the secret"),
        Duration::from_secs(30),
    );
    let opaque = provider.token("read", "urn:reference").await;
    assert_eq!(status_of(&ok_behind(wrong), &opaque).await, 503);
}

#[tokio::test]
async fn a_token_revoked_at_a_real_provider_is_refused_within_the_bound() {
    let provider = Provider::start();
    let auth = ClientAuth::basic("notes-api-basic", "notes-api-basic-secret-of-32-bytes!");
    let app = ok_behind(both(&provider, auth, Duration::from_secs(2)));
    let opaque = provider.token("read", "urn:reference").await;
    // Start on a second's edge: the layer keeps answers in whole seconds.
    let second = now();
    while now() == second {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    assert_eq!(status_of(&app, &opaque).await, 200);
    let asked = std::time::Instant::now();
    provider.revoke(&opaque).await;
    // Kept: still passing at once, refused once the bound is reached, not later.
    assert_eq!(status_of(&app, &opaque).await, 200);
    let refused_after = loop {
        match status_of(&app, &opaque).await {
            200 => tokio::time::sleep(Duration::from_millis(50)).await,
            401 => break asked.elapsed(),
            other => panic!("answered {other}"),
        }
    };
    assert!(
        refused_after >= Duration::from_millis(1_000)
            && refused_after < Duration::from_millis(2_500),
        "{refused_after:?}"
    );
}

#[tokio::test]
async fn jwt_answers_of_a_real_provider_are_verified_with_its_keys() {
    let provider = Provider::start();
    let auth = ClientAuth::basic("notes-api-basic", "notes-api-basic-secret-of-32-bytes!");
    // RFC 9701: the provider signs its answer with its own keys, for this client.
    let introspection = Introspection::discover(provider.issuer.clone(), auth).jwt_answers();
    let layer = JwtAuthLayer::<Value>::builder()
        .oidc_issuer(provider.issuer.clone())
        .audience("urn:reference")
        .introspection(introspection)
        .build()
        .unwrap();
    tokio::time::timeout(Duration::from_secs(10), layer.ready())
        .await
        .expect("the provider's keys");
    let opaque = provider.token("read", "urn:reference").await;
    let verified = layer.verifier().verify_async(&opaque).await.unwrap();
    assert_eq!(verified.claims()["client_id"], "notes-client");
    assert_eq!(verified.claims()["aud"], "urn:reference");
    provider.revoke(&opaque).await;
    let fresh = provider.token("read", "urn:reference").await;
    assert_eq!(status_of(&ok_behind(layer.clone()), &fresh).await, 200);
    assert_eq!(
        layer
            .verifier()
            .verify_async("never-issued")
            .await
            .map(|_| ()),
        Err(AuthError::InactiveToken)
    );
}
