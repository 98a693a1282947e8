//! Certificate-bound access tokens (RFC 8705 §3) over real mutual TLS: a rustls server
//! (tokio-rustls) that asks for client certificates, rustls clients presenting one or none,
//! and certificates made for the test by openssl (`scripts/test-all.sh` installs it). The
//! tokens' `cnf` has the shape of RFC 8705 §3.1's example, and the thumbprints are computed
//! by openssl (`x509 -fingerprint -sha256`), not by this crate.
// aws-lc-rs as rustls' provider: turned on in rustls by the crate's `aws-lc-rs` feature
// once `jwks` or `redis` brings rustls in.
#![cfg(all(feature = "aws-lc-rs", any(feature = "jwks", feature = "redis")))]

mod common;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use axum::Router;
use axum::routing::get;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use common::*;
use http::{Request, StatusCode};
use http_body_util::{BodyExt as _, Empty};
use hyper_util::rt::{TokioExecutor, TokioIo};
use rustls::pki_types::pem::PemObject as _;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use rustls::server::WebPkiClientVerifier;
use rustls::{ClientConfig, RootCertStore, ServerConfig};
use serde_json::{Value, json};
use tower::ServiceExt as _;
use tower_jwt_auth::mtls::PeerCertificate;
use tower_jwt_auth::{Algorithm, AuthError, JwtAuthLayer};

/// A CA, a server certificate for 127.0.0.1, and two client certificates (`alice`,
/// `mallory`), each with its key, in a fresh directory.
fn certificates() -> PathBuf {
    static MADE: AtomicUsize = AtomicUsize::new(0);
    let dir = std::env::temp_dir().join(format!(
        "tower-jwt-auth-mtls-{}-{}",
        std::process::id(),
        MADE.fetch_add(1, Ordering::Relaxed)
    ));
    std::fs::create_dir_all(&dir).unwrap();
    let p256 = "-newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes";
    let run = |line: String| openssl(&dir, &line.split(' ').collect::<Vec<_>>());
    run(format!(
        "req -x509 {p256} -subj /CN=test-ca -days 1 -keyout ca.key -out ca.pem"
    ));
    for (name, usage) in [
        (
            "server",
            "subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n",
        ),
        ("alice", "extendedKeyUsage=clientAuth\n"),
        ("mallory", "extendedKeyUsage=clientAuth\n"),
    ] {
        std::fs::write(dir.join(format!("{name}.cnf")), usage).unwrap();
        run(format!(
            "req {p256} -subj /CN={name} -keyout {name}.key -out {name}.csr"
        ));
        run(format!(
            "x509 -req -in {name}.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 1 \
             -extfile {name}.cnf -out {name}.pem"
        ));
    }
    dir
}

/// `x5t#S256` of a certificate (RFC 8705 §3.1), from openssl's SHA-256 fingerprint.
fn thumbprint(dir: &Path, name: &str) -> String {
    let pem = format!("{name}.pem");
    let line = openssl(
        dir,
        &["x509", "-noout", "-fingerprint", "-sha256", "-in", &pem],
    );
    let hex = line.trim().rsplit('=').next().unwrap().replace(':', "");
    let bytes: Vec<u8> = (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap())
        .collect();
    assert_eq!(bytes.len(), 32, "{line}");
    URL_SAFE_NO_PAD.encode(bytes)
}

fn cert(dir: &Path, name: &str) -> CertificateDer<'static> {
    CertificateDer::from_pem_file(dir.join(format!("{name}.pem"))).unwrap()
}

fn key(dir: &Path, name: &str) -> PrivateKeyDer<'static> {
    PrivateKeyDer::from_pem_file(dir.join(format!("{name}.key"))).unwrap()
}

fn roots(dir: &Path) -> Arc<RootCertStore> {
    let mut roots = RootCertStore::empty();
    roots.add(cert(dir, "ca")).unwrap();
    Arc::new(roots)
}

fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::aws_lc_rs::default_provider())
}

/// The app behind the layer: `GET /` answers the token's `sub`.
fn app() -> Router {
    let auth = JwtAuthLayer::<Value>::builder()
        .hmac_secret(SECRET, Algorithm::HS256)
        .build()
        .unwrap();
    Router::new()
        .route(
            "/",
            get(
                |tower_jwt_auth::Claims(claims): tower_jwt_auth::Claims<Value>| async move {
                    claims["sub"].as_str().unwrap_or_default().to_owned()
                },
            ),
        )
        .layer(auth)
}

/// A TLS server that asks every client for a certificate signed by the test CA (and, when
/// `required`, refuses clients without one), inserting each connection's leaf certificate
/// into its requests as the `mtls` module shows.
async fn serve(dir: &Path, required: bool) -> SocketAddr {
    let verifier = WebPkiClientVerifier::builder_with_provider(roots(dir), provider());
    let verifier = if required {
        verifier.build()
    } else {
        verifier.allow_unauthenticated().build()
    }
    .unwrap();
    let config = ServerConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_client_cert_verifier(verifier)
        .with_single_cert(vec![cert(dir, "server")], key(dir, "server"))
        .unwrap();
    let tls = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let app = app();
    tokio::spawn(async move {
        loop {
            let (tcp, _) = listener.accept().await.unwrap();
            let Ok(stream) = tls.accept(tcp).await else {
                continue;
            };
            let peer = (stream.get_ref().1.peer_certificates())
                .and_then(|chain| chain.first())
                .map(|leaf| PeerCertificate::new(leaf.as_ref()));
            let app = app.clone().map_request(move |mut request: Request<_>| {
                if let Some(peer) = &peer {
                    request.extensions_mut().insert(peer.clone());
                }
                request
            });
            let service = hyper_util::service::TowerToHyperService::new(app);
            tokio::spawn(async move {
                let io = TokioIo::new(stream);
                let _ = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new())
                    .serve_connection(io, service)
                    .await;
            });
        }
    });
    addr
}

/// `GET /` over TLS with `token`, the client presenting the certificate `client` (or none).
async fn get_over_tls(dir: &Path, addr: SocketAddr, client: Option<&str>, token: &str) -> Answer {
    let config = ClientConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots(dir));
    let config = match client {
        Some(name) => config
            .with_client_auth_cert(vec![cert(dir, name)], key(dir, name))
            .unwrap(),
        None => config.with_no_client_auth(),
    };
    let connector = tokio_rustls::TlsConnector::from(Arc::new(config));
    let tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
    let name = ServerName::try_from("127.0.0.1").unwrap();
    let stream = connector.connect(name, tcp).await.unwrap();
    let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .unwrap();
    tokio::spawn(connection);
    let request = Request::get("/")
        .header("host", "127.0.0.1")
        .header("authorization", bearer(token))
        .body(Empty::<bytes::Bytes>::new())
        .unwrap();
    let response = sender.send_request(request).await.unwrap();
    let (parts, body) = response.into_parts();
    let body = body.collect().await.unwrap().to_bytes();
    Answer {
        status: parts.status,
        headers: parts.headers,
        body: String::from_utf8_lossy(&body).into_owned(),
    }
}

fn bound_to(x5t: &str, sub: &str) -> String {
    let mut claims = valid_claims();
    claims["sub"] = json!(sub);
    claims["cnf"] = json!({ "x5t#S256": x5t });
    mint(&claims)
}

fn refused_with(answer: &Answer, err: AuthError) {
    assert_eq!(answer.status, StatusCode::UNAUTHORIZED, "{}", answer.body);
    let challenge = answer.challenge();
    assert!(challenge.contains("error=\"invalid_token\""), "{challenge}");
    assert!(challenge.contains(err.description()), "{challenge}");
}

#[tokio::test]
async fn a_certificate_bound_token_passes_over_its_clients_connection_only() {
    let dir = certificates();
    let addr = serve(&dir, true).await;
    let alices = bound_to(&thumbprint(&dir, "alice"), "alice");
    let answer = get_over_tls(&dir, addr, Some("alice"), &alices).await;
    assert_eq!(
        (answer.status, answer.body.as_str()),
        (StatusCode::OK, "alice")
    );
    // Stolen by mallory, who has a certificate from the same CA but not alice's key.
    let answer = get_over_tls(&dir, addr, Some("mallory"), &alices).await;
    refused_with(&answer, AuthError::CertificateMismatch);
    // Tokens without `cnf` are not affected by the connection's certificate.
    let plain = mint(&valid_claims());
    let answer = get_over_tls(&dir, addr, Some("mallory"), &plain).await;
    assert_eq!(answer.status, StatusCode::OK);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[tokio::test]
async fn a_certificate_bound_token_without_a_client_certificate_is_refused() {
    let dir = certificates();
    let addr = serve(&dir, false).await;
    let alices = bound_to(&thumbprint(&dir, "alice"), "alice");
    let answer = get_over_tls(&dir, addr, None, &alices).await;
    refused_with(&answer, AuthError::CertificateMissing);
    let answer = get_over_tls(&dir, addr, None, &mint(&valid_claims())).await;
    assert_eq!(answer.status, StatusCode::OK);
    std::fs::remove_dir_all(&dir).unwrap();
}

/// Bindings the layer cannot prove alone, whatever certificate the connection presented.
#[tokio::test]
async fn a_token_bound_twice_or_by_an_unknown_method_is_refused() {
    let dir = certificates();
    let x5t = thumbprint(&dir, "alice");
    let peer = PeerCertificate::new(cert(&dir, "alice").as_ref());
    let app = app();
    for cnf in [
        json!({ "x5t#S256": x5t, "jkt": "0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I" }),
        json!({ "x5t#S256": x5t, "kid": "other" }),
        json!({ "x5t#S256": null }),
    ] {
        let mut claims = valid_claims();
        claims["cnf"] = cnf.clone();
        let mut request = Request::get("/")
            .header("authorization", bearer(&mint(&claims)))
            .body(axum::body::Body::empty())
            .unwrap();
        request.extensions_mut().insert(peer.clone());
        let response = app.clone().oneshot(request).await.unwrap();
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED, "{cnf}");
    }
    // A thumbprint of another type is not a claim the layer can read.
    let mut claims = valid_claims();
    claims["cnf"] = json!({ "x5t#S256": 42 });
    let request = Request::get("/")
        .header("authorization", bearer(&mint(&claims)))
        .body(axum::body::Body::empty())
        .unwrap();
    let response = app.clone().oneshot(request).await.unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    std::fs::remove_dir_all(&dir).unwrap();
}
