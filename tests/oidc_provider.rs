//! A real OpenID provider: `oidc-provider` (panva's, OpenID Certified), from the npm
//! registry at the version `tests/support/oidc-provider/package-lock.json` pins, installed
//! (`npm ci`) into this test's temporary directory and started on loopback. The layer finds
//! its keys through its discovery document, and verifies the JWT access tokens it issues
//! (RFC 9068: `typ: at+jwt`, RS256, its development key's `kid`) by the client credentials
//! grant for a resource indicator (RFC 8707) — shapes made by the provider, not by us.
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
use tower_jwt_auth::{AuthError, JwtAuthLayer};

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
        let child = Command::new("node")
            .arg("server.mjs")
            .env("PORT", port.to_string())
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
