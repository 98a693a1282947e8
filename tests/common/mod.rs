//! Helpers shared by the integration tests: keys, token minting and forging, a test server.
#![allow(dead_code)] // Each test file uses its own part.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use bytes::Bytes;
use http::{HeaderMap, Request, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use tower_jwt_auth::jsonwebtoken::{self, Header};
use tower_jwt_auth::{Algorithm, EncodingKey, RegisteredClaims};

pub const SECRET: &[u8] = b"test-secret-of-at-least-thirty-two-bytes!";

pub const RSA_PRIVATE: &[u8] = include_bytes!("../data/rsa_private.pem");
pub const RSA_PUBLIC: &[u8] = include_bytes!("../data/rsa_public.pem");
pub const RSA_PUBLIC_PKCS1_DER: &[u8] = include_bytes!("../data/rsa_public_pkcs1.der");
pub const RSA2_PRIVATE: &[u8] = include_bytes!("../data/rsa2_private.pem");
pub const RSA2_PUBLIC: &[u8] = include_bytes!("../data/rsa2_public.pem");
pub const EC_PRIVATE: &[u8] = include_bytes!("../data/ec_private.pem");
pub const EC_PUBLIC: &[u8] = include_bytes!("../data/ec_public.pem");
pub const EC2_PRIVATE: &[u8] = include_bytes!("../data/ec2_private.pem");
pub const EC_PUBLIC_POINT: &[u8] = include_bytes!("../data/ec_public_point.der");
pub const ED_PRIVATE: &[u8] = include_bytes!("../data/ed_private.pem");
pub const ED_PUBLIC: &[u8] = include_bytes!("../data/ed_public.pem");
pub const ED_PUBLIC_RAW: &[u8] = include_bytes!("../data/ed_public_raw.der");

/// The claims type of the tests.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TestClaims {
    #[serde(flatten)]
    pub registered: RegisteredClaims,
    #[serde(default)]
    pub role: Option<String>,
}

pub fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// Claims for user `alice`, valid for ten minutes.
pub fn valid_claims() -> Value {
    json!({ "sub": "alice", "exp": now() + 600, "role": "admin" })
}

/// The signing key for an algorithm: the test secret or the test private key of its family.
pub fn encoding_key(alg: Algorithm) -> EncodingKey {
    match alg {
        Algorithm::HS256 | Algorithm::HS384 | Algorithm::HS512 => EncodingKey::from_secret(
            b"test-secret-of-at-least-sixty-four-bytes-for-hs512-0123456789abcdef!",
        )
        .unwrap(),
        Algorithm::ES256 => EncodingKey::from_ec_pem(EC_PRIVATE).unwrap(),
        Algorithm::EdDSA => EncodingKey::from_ed_pem(ED_PRIVATE).unwrap(),
        _ => EncodingKey::from_rsa_pem(RSA_PRIVATE).unwrap(),
    }
}

/// A token signed properly with `key`.
pub fn mint_with(header: &Header, claims: &Value, key: &EncodingKey) -> String {
    tower_jwt_auth::install_crypto_provider().unwrap();
    jsonwebtoken::encode(header, claims, key).unwrap()
}

/// An HS256 token signed with [`SECRET`].
pub fn mint(claims: &Value) -> String {
    mint_with(
        &Header::new(Algorithm::HS256),
        claims,
        &EncodingKey::from_secret(SECRET).unwrap(),
    )
}

pub fn b64(bytes: impl AsRef<[u8]>) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// The bytes of a base64url segment.
pub fn unb64(segment: &str) -> Vec<u8> {
    URL_SAFE_NO_PAD.decode(segment).unwrap()
}

/// A token with exactly this header and payload JSON and this signature.
pub fn forge(header: &str, payload: &str, signature: &[u8]) -> String {
    format!("{}.{}.{}", b64(header), b64(payload), b64(signature))
}

/// A token with exactly this header and payload JSON, HS256-signed with [`SECRET`]: the
/// signature is right, so only the header or the claims can make it fail.
pub fn sign_raw(header: &str, payload: &str) -> String {
    tower_jwt_auth::install_crypto_provider().unwrap();
    let input = format!("{}.{}", b64(header), b64(payload));
    let key = EncodingKey::from_secret(SECRET).unwrap();
    let sig = jsonwebtoken::crypto::sign(input.as_bytes(), &key, Algorithm::HS256).unwrap();
    format!("{input}.{sig}")
}

/// Counts how often the protected handler ran.
#[derive(Clone, Default)]
pub struct Calls(Arc<AtomicUsize>);

impl Calls {
    pub fn hit(&self) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
    pub fn count(&self) -> usize {
        self.0.load(Ordering::SeqCst)
    }
}

/// Serves an axum router on a loopback port chosen by the OS.
pub async fn serve(app: axum::Router) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    addr
}

/// An answer read whole.
#[derive(Debug)]
pub struct Answer {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: String,
}

impl Answer {
    pub fn challenge(&self) -> &str {
        self.headers
            .get("www-authenticate")
            .map(|v| v.to_str().unwrap())
            .unwrap_or("")
    }
}

/// Sends `GET path` with these headers over a real connection.
pub async fn fetch(addr: SocketAddr, path: &str, headers: &[(&str, &str)]) -> Answer {
    let mut req = Request::get(format!("http://{addr}{path}"));
    for (name, value) in headers {
        req = req.header(*name, *value);
    }
    send(req.body(Full::new(Bytes::new())).unwrap()).await
}

pub async fn send(req: Request<Full<Bytes>>) -> Answer {
    let client = Client::builder(TokioExecutor::new()).build_http();
    read(client.request(req).await.unwrap()).await
}

/// Reads a response whole.
async fn read<B>(res: http::Response<B>) -> Answer
where
    B: hyper::body::Body,
    B::Error: std::fmt::Debug,
{
    let status = res.status();
    let headers = res.headers().clone();
    let body = res.into_body().collect().await.unwrap().to_bytes();
    Answer {
        status,
        headers,
        body: String::from_utf8(body.to_vec()).unwrap(),
    }
}

pub fn bearer(token: &str) -> String {
    format!("Bearer {token}")
}

/// The RFC 6750 challenge for an `invalid_token` rejection with this description.
pub fn invalid_token(description: &str) -> String {
    format!("Bearer realm=\"api\", error=\"invalid_token\", error_description=\"{description}\"")
}

/// Sends `GET path` with these headers straight to an axum router, without a socket.
pub async fn call(app: &axum::Router, path: &str, headers: &[(&str, &str)]) -> Answer {
    call_with(app, Request::get(path), headers).await
}

/// Sends a gRPC-shaped request — `POST path` over HTTP/2, `content-type: application/grpc`
/// — with these headers.
pub async fn call_grpc(app: &axum::Router, path: &str, headers: &[(&str, &str)]) -> Answer {
    let req = Request::post(path)
        .version(http::Version::HTTP_2)
        .header("content-type", "application/grpc");
    call_with(app, req, headers).await
}

pub async fn call_with(
    app: &axum::Router,
    mut req: http::request::Builder,
    headers: &[(&str, &str)],
) -> Answer {
    use tower::ServiceExt;
    for (name, value) in headers {
        req = req.header(*name, *value);
    }
    let res = app
        .clone()
        .oneshot(req.body(axum::body::Body::empty()).unwrap())
        .await
        .unwrap();
    read(res).await
}

/// An inner service that fails the test if it is called without having been polled ready.
#[derive(Default)]
pub struct MustBeReady {
    ready: bool,
}

/// A clone has not been polled ready, whatever the original was.
impl Clone for MustBeReady {
    fn clone(&self) -> Self {
        MustBeReady::default()
    }
}

impl tower::Service<Request<Full<Bytes>>> for MustBeReady {
    type Response = http::Response<Full<Bytes>>;
    type Error = std::convert::Infallible;
    type Future = std::future::Ready<Result<Self::Response, Self::Error>>;

    fn poll_ready(
        &mut self,
        _: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Result<(), Self::Error>> {
        self.ready = true;
        std::task::Poll::Ready(Ok(()))
    }

    fn call(&mut self, _: Request<Full<Bytes>>) -> Self::Future {
        assert!(std::mem::take(&mut self.ready), "called without poll_ready");
        std::future::ready(Ok(http::Response::new(Full::default())))
    }
}

/// An axum app that answers `ok` at `/`, behind `layer`.
pub fn ok_behind(layer: tower_jwt_auth::JwtAuthLayer<Value>) -> axum::Router {
    axum::Router::new()
        .route("/", axum::routing::get(|| async { "ok" }))
        .layer(layer)
}

/// The status of `GET /` with this bearer token.
pub async fn status_of(app: &axum::Router, token: &str) -> u16 {
    call(app, "/", &[("authorization", &bearer(token))])
        .await
        .status
        .as_u16()
}

/// The status of `GET path` with this bearer token.
pub async fn status_of_path(app: &axum::Router, path: &str, token: &str) -> u16 {
    call(app, path, &[("authorization", &bearer(token))])
        .await
        .status
        .as_u16()
}

/// Revokes the token `jti` for the next ten minutes, in `store`.
pub async fn revoke_jti(store: &impl tower_jwt_auth::revocation::RevocationStore, jti: &str) {
    let revocation = tower_jwt_auth::revocation::Revocation::Token {
        jti: jti.to_owned(),
        expires_at: now() + 600,
    };
    store.revoke(revocation).await.unwrap();
}

/// Sends `METHOD path` with these headers straight to an axum router.
pub async fn call_method(
    app: &axum::Router,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
) -> Answer {
    call_with(app, Request::builder().method(method).uri(path), headers).await
}

/// A DPoP client's key pair (RFC 9449 §4): it signs proofs, and its public JWK goes in
/// their header.
pub struct DpopKey {
    pub alg: Algorithm,
    pub key: EncodingKey,
    pub jwk: jsonwebtoken::jwk::Jwk,
    /// The RFC 7638 thumbprint, computed by jsonwebtoken (not by the code under test).
    pub jkt: String,
}

impl DpopKey {
    pub fn new(alg: Algorithm, private_pem: &[u8]) -> DpopKey {
        tower_jwt_auth::install_crypto_provider().unwrap();
        let key = match alg {
            Algorithm::EdDSA => EncodingKey::from_ed_pem(private_pem),
            Algorithm::ES256 | Algorithm::ES384 => EncodingKey::from_ec_pem(private_pem),
            _ => EncodingKey::from_rsa_pem(private_pem),
        }
        .unwrap();
        let jwk = jsonwebtoken::jwk::Jwk::from_encoding_key(&key, alg).unwrap();
        let jkt = jwk
            .thumbprint(jsonwebtoken::jwk::ThumbprintHash::SHA256)
            .unwrap();
        DpopKey { alg, key, jwk, jkt }
    }

    /// The EC test key.
    pub fn ec() -> DpopKey {
        DpopKey::new(Algorithm::ES256, EC_PRIVATE)
    }

    /// The Ed25519 test key.
    pub fn ed() -> DpopKey {
        DpopKey::new(Algorithm::EdDSA, ED_PRIVATE)
    }

    /// A proof for `htm` `htu` (and the access token `token`, as its `ath`), issued now.
    pub fn proof(&self, htm: &str, htu: &str, token: Option<&str>) -> String {
        self.proof_with(htm, htu, token, |_, _| {})
    }

    /// A proof whose header and claims `edit` may change before it is signed.
    pub fn proof_with(
        &self,
        htm: &str,
        htu: &str,
        token: Option<&str>,
        edit: impl FnOnce(&mut Header, &mut Value),
    ) -> String {
        let mut header = Header::new(self.alg);
        header.typ = Some("dpop+jwt".into());
        header.jwk = Some(self.jwk.clone());
        let mut claims = json!({
            "jti": random_jti(),
            "htm": htm,
            "htu": htu,
            "iat": now(),
        });
        if let Some(token) = token {
            claims["ath"] = json!(ath(token));
        }
        edit(&mut header, &mut claims);
        jsonwebtoken::encode(&header, &claims, &self.key).unwrap()
    }
}

/// RFC 9449 §4.2 `ath`: base64url(SHA-256(token)), through jsonwebtoken's provider.
pub fn ath(token: &str) -> String {
    let provider = jsonwebtoken::crypto::CryptoProvider::try_get_default().unwrap();
    let digest = (provider.key_utils.compute_digest)(
        token.as_bytes(),
        jsonwebtoken::jwk::ThumbprintHash::SHA256,
    )
    .unwrap();
    URL_SAFE_NO_PAD.encode(digest)
}

fn random_jti() -> String {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    format!(
        "jti-{}-{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::SeqCst)
    )
}

/// Runs `openssl` with `args` in `dir` (certificates for the TLS tests), and gives what it
/// printed; fails the test with openssl's complaint if it fails.
pub fn openssl(dir: &std::path::Path, args: &[&str]) -> String {
    let out = std::process::Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .output()
        .expect("openssl must be installed: scripts/test-all.sh installs it");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}
