//! DPoP (RFC 9449): the proof checks of §4.3 one by one, each attack with its exact answer
//! (status, `WWW-Authenticate` in the `DPoP` scheme as §7.1 shows it), the binding of §6.1,
//! server nonces (§9), the replay cache (§11.1), and the downgrade a bound token must never
//! get: passing as a bearer token.

mod common;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::*;
use serde_json::{Value, json};
use tower_jwt_auth::dpop::DpopOptions;
use tower_jwt_auth::issue::TokenIssuer;
use tower_jwt_auth::jsonwebtoken::{self, Header};
use tower_jwt_auth::response::Unauthenticated;
use tower_jwt_auth::revocation::{
    BoxFuture, MemoryStore, Revocation, RevocationStore, StoreError, TokenId,
};
use tower_jwt_auth::{Algorithm, AuthError, EncodingKey, JwtAuthLayer};

const API: &str = "https://api.example.com";
const ALGS: &str = "ES256 ES384 EdDSA PS256 RS256";

fn issuer() -> TokenIssuer {
    TokenIssuer::hmac(SECRET, Algorithm::HS256).build().unwrap()
}

fn layer(options: DpopOptions) -> JwtAuthLayer<Value> {
    issuer()
        .layer_builder::<Value>()
        .dpop(options.external_url(Some(API.into())))
        .build()
        .unwrap()
}

fn app(options: DpopOptions) -> axum::Router {
    let handler = || async { "ok" };
    axum::Router::new()
        .route("/notes", axum::routing::get(handler).post(handler))
        .layer(layer(options))
}

/// A token bound to `key`.
fn bound_to(key: &DpopKey) -> String {
    issuer()
        .issue_bound(&json!({ "sub": "alice" }), &key.jkt)
        .unwrap()
}

/// `GET /notes` with `Authorization: DPoP <token>` and these proofs.
async fn get_with(app: &axum::Router, token: &str, proofs: &[&str]) -> Answer {
    let auth = format!("DPoP {token}");
    let mut headers = vec![("authorization", auth.as_str())];
    headers.extend(proofs.iter().map(|p| ("dpop", *p)));
    call_method(app, "GET", "/notes", &headers).await
}

/// RFC 9449 §7.1: `WWW-Authenticate: DPoP error=..., error_description=..., algs=...`.
fn dpop_challenge(error: AuthError) -> String {
    let code = error.error_code().unwrap().as_str();
    format!(
        "DPoP realm=\"api\", error=\"{code}\", error_description=\"{}\", algs=\"{ALGS}\"",
        error.description()
    )
}

fn assert_refused(answer: &Answer, error: AuthError, case: &str) {
    assert_eq!(answer.status, error.status(), "{case}");
    assert_eq!(answer.challenge(), dpop_challenge(error), "{case}");
}

#[tokio::test]
async fn a_bound_token_with_a_fresh_proof_of_its_key_passes() {
    let app = app(DpopOptions::default());
    for key in [DpopKey::ec(), DpopKey::ed()] {
        let token = bound_to(&key);
        let proof = key.proof("GET", &format!("{API}/notes"), Some(&token));
        let answer = get_with(&app, &token, &[&proof]).await;
        assert_eq!(answer.status, 200, "{:?}: {}", key.alg, answer.challenge());
        // §4.3 check 9: the URL is compared normalised (RFC 3986 §6.2.2, §6.2.3).
        let loose = key.proof(
            "GET",
            "HTTPS://API.example.com:443/notes?page=2",
            Some(&token),
        );
        assert_eq!(get_with(&app, &token, &[&loose]).await.status, 200);
    }
}

/// Every attack of the issue's list, and the answer each must get.
#[tokio::test]
async fn each_attack_on_a_proof_gets_its_exact_answer() {
    let app = app(DpopOptions::default());
    let key = DpopKey::ec();
    let other = DpopKey::ed();
    let token = bound_to(&key);
    let url = format!("{API}/notes");
    let proof = |edit: &dyn Fn(&mut Header, &mut Value)| {
        key.proof_with("GET", &url, Some(&token), |h, c| edit(h, c))
    };

    // Reused: the same proof twice (§11.1).
    let once = key.proof("GET", &url, Some(&token));
    assert_eq!(get_with(&app, &token, &[&once]).await.status, 200);
    let again = get_with(&app, &token, &[&once]).await;
    assert_refused(&again, AuthError::DpopProofReplayed, "replayed");

    let cases: Vec<(&str, String, AuthError)> = vec![
        // §4.3 check 8: another method; check 9: another URL.
        (
            "another method",
            key.proof("POST", &url, Some(&token)),
            AuthError::DpopProofMismatch,
        ),
        (
            "another URL",
            key.proof("GET", &format!("{API}/admin"), Some(&token)),
            AuthError::DpopProofMismatch,
        ),
        (
            "another host",
            key.proof("GET", "https://evil.example.com/notes", Some(&token)),
            AuthError::DpopProofMismatch,
        ),
        // §7.1 `ath`: for another token, or none.
        (
            "another token",
            key.proof("GET", &url, Some("another.access.token")),
            AuthError::DpopProofTokenHash,
        ),
        (
            "missing ath",
            key.proof("GET", &url, None),
            AuthError::DpopProofTokenHash,
        ),
        // §6.1: signed by a key the token is not bound to.
        (
            "another key",
            other.proof("GET", &url, Some(&token)),
            AuthError::DpopKeyMismatch,
        ),
        // §4.3 check 4: typ.
        (
            "typ JWT",
            proof(&|h, _| h.typ = Some("JWT".into())),
            AuthError::DpopProofType,
        ),
        (
            "no typ",
            proof(&|h, _| h.typ = None),
            AuthError::DpopProofType,
        ),
        // §4.3 check 11: iat within the window (60 s, 5 s of skew).
        (
            "stale iat",
            proof(&|_, c| c["iat"] = json!(now() - 120)),
            AuthError::DpopProofStale,
        ),
        (
            "future iat",
            proof(&|_, c| c["iat"] = json!(now() + 60)),
            AuthError::DpopProofStale,
        ),
        // §4.3 check 3: claims of the wrong type, or missing.
        (
            "iat as a string",
            proof(&|_, c| c["iat"] = json!(now().to_string())),
            AuthError::DpopProofMalformed,
        ),
        (
            "no jti",
            proof(&|_, c| {
                c.as_object_mut().unwrap().remove("jti");
            }),
            AuthError::DpopProofMalformed,
        ),
        (
            "not a JWT",
            "not-a-jwt".to_owned(),
            AuthError::DpopProofMalformed,
        ),
    ];
    for (case, proof, error) in cases {
        let answer = get_with(&app, &token, &[&proof]).await;
        assert_refused(&answer, error, case);
    }
}

/// §4.3 checks 5 and 6: the proof is signed with an asymmetric algorithm of the list, by
/// the public key in its `jwk`, which holds no private part.
#[tokio::test]
async fn proofs_unsigned_symmetric_or_carrying_a_private_key_are_refused() {
    let app = app(DpopOptions::default());
    let key = DpopKey::ec();
    let token = bound_to(&key);
    let url = format!("{API}/notes");
    let segment = |json: &Value| b64(json.to_string());
    let claims = json!({ "jti": "x1", "htm": "GET", "htu": url, "iat": now(), "ath": ath(&token) });
    let jwk = serde_json::to_value(&key.jwk).unwrap();

    // `none`: no signature at all.
    let none = format!(
        "{}.{}.",
        segment(&json!({ "typ": "dpop+jwt", "alg": "none", "jwk": jwk })),
        segment(&claims)
    );
    assert_refused(
        &get_with(&app, &token, &[&none]).await,
        AuthError::DpopProofAlgorithm,
        "none",
    );

    // HS256 with the public key's bytes as the secret.
    let mut header = Header::new(Algorithm::HS256);
    header.typ = Some("dpop+jwt".into());
    header.jwk = Some(key.jwk.clone());
    let hmac =
        jsonwebtoken::encode(&header, &claims, &EncodingKey::from_secret(SECRET).unwrap()).unwrap();
    assert_refused(
        &get_with(&app, &token, &[&hmac]).await,
        AuthError::DpopProofAlgorithm,
        "HS256",
    );

    // The private key itself in the header (`d`): refused before any signature check.
    let raw_leaky = {
        let mut jwk = jwk.clone();
        jwk["d"] = json!(b64([7u8; 32]));
        let header = json!({ "typ": "dpop+jwt", "alg": "ES256", "jwk": jwk });
        format!(
            "{}.{}.{}",
            segment(&header),
            segment(&claims),
            b64([0u8; 64])
        )
    };
    assert_refused(
        &get_with(&app, &token, &[&raw_leaky]).await,
        AuthError::DpopProofKey,
        "d in jwk",
    );

    // No `jwk` at all, and a key of another curve than `alg`.
    let no_key = key.proof_with("GET", &url, Some(&token), |h, _| h.jwk = None);
    assert_refused(
        &get_with(&app, &token, &[&no_key]).await,
        AuthError::DpopProofKey,
        "no jwk",
    );
    let mismatched = {
        let header = json!({ "typ": "dpop+jwt", "alg": "ES384", "jwk": jwk });
        format!(
            "{}.{}.{}",
            segment(&header),
            segment(&claims),
            b64([0u8; 96])
        )
    };
    assert_refused(
        &get_with(&app, &token, &[&mismatched]).await,
        AuthError::DpopProofKey,
        "ES384 on P-256",
    );

    // A proof whose signature was made by another key than its `jwk`.
    let other = DpopKey::new(Algorithm::ES256, include_bytes!("data/ec2_private.pem"));
    let forged = {
        let real = key.proof("GET", &url, Some(&token));
        let theirs = other.proof("GET", &url, Some(&token));
        let (head, _) = real.rsplit_once('.').unwrap();
        let (_, signature) = theirs.rsplit_once('.').unwrap();
        format!("{head}.{signature}")
    };
    assert_refused(
        &get_with(&app, &token, &[&forged]).await,
        AuthError::DpopProofSignature,
        "signature",
    );
}

/// §4.3 check 1: one proof; and proofs larger than the limit are not even decoded.
#[tokio::test]
async fn two_proofs_no_proof_or_a_huge_one_are_refused() {
    let app = app(DpopOptions::default());
    let key = DpopKey::ec();
    let token = bound_to(&key);
    let url = format!("{API}/notes");
    let a = key.proof("GET", &url, Some(&token));
    let b = key.proof("GET", &url, Some(&token));
    assert_refused(
        &get_with(&app, &token, &[&a, &b]).await,
        AuthError::MultipleDpopProofs,
        "two",
    );
    assert_refused(
        &get_with(&app, &token, &[]).await,
        AuthError::DpopProofMissing,
        "none",
    );
    let huge = key.proof_with("GET", &url, Some(&token), |_, c| {
        c["pad"] = json!("x".repeat(5000))
    });
    assert_refused(
        &get_with(&app, &token, &[&huge]).await,
        AuthError::DpopProofTooLarge,
        "huge",
    );
}

/// §7.1 and the issue: a bound token never passes as a bearer token — not at a DPoP layer
/// that also takes bearer tokens, not at a layer without DPoP at all — and a `DPoP` request
/// needs a bound token.
#[tokio::test]
async fn a_bound_token_never_passes_as_a_bearer_token() {
    let key = DpopKey::ec();
    let token = bound_to(&key);
    let bearer_header = bearer(&token);
    let plain_layer = issuer().layer::<Value>().unwrap();
    let answer = call(
        &ok_behind(plain_layer.clone()),
        "/",
        &[("authorization", &bearer_header)],
    )
    .await;
    assert_eq!(answer.status, 401);
    assert_eq!(
        answer.challenge(),
        invalid_token(AuthError::BoundTokenAsBearer.description())
    );
    assert_eq!(
        plain_layer.verify(&token).unwrap_err(),
        AuthError::BoundTokenAsBearer
    );

    // A DPoP layer that takes bearer tokens too: refused, both schemes offered.
    let both = app(DpopOptions::default().allow_bearer(true));
    let answer = call(&both, "/notes", &[("authorization", &bearer_header)]).await;
    assert_eq!(answer.status, 401);
    let challenges: Vec<_> = answer.headers.get_all("www-authenticate").iter().collect();
    assert_eq!(
        challenges[0],
        invalid_token(AuthError::BoundTokenAsBearer.description()).as_str()
    );
    assert_eq!(
        challenges[1],
        format!("DPoP realm=\"api\", algs=\"{ALGS}\"").as_str()
    );
    // The same layer takes an unbound token as a bearer token.
    let unbound = issuer().issue(&json!({ "sub": "bob" })).unwrap();
    assert_eq!(
        call(&both, "/notes", &[("authorization", &bearer(&unbound))])
            .await
            .status,
        200
    );

    // A DPoP-only layer: a bearer token is not enough, and `DPoP` needs a bound token.
    let only = app(DpopOptions::default());
    let answer = call(&only, "/notes", &[("authorization", &bearer(&unbound))]).await;
    assert_refused(
        &answer,
        AuthError::DpopRequired,
        "bearer at a DPoP-only layer",
    );
    let proof = key.proof("GET", &format!("{API}/notes"), Some(&unbound));
    let answer = get_with(&only, &unbound, &[&proof]).await;
    assert_refused(
        &answer,
        AuthError::DpopTokenNotBound,
        "unbound token with DPoP",
    );
    // No token: the `DPoP` challenge alone, without an error (RFC 6750 §3.1).
    let answer = call(&only, "/notes", &[]).await;
    assert_eq!(
        answer.challenge(),
        format!("DPoP realm=\"api\", algs=\"{ALGS}\"")
    );
}

/// §9: with nonces required, a proof without the current nonce gets `use_dpop_nonce` and a
/// `DPoP-Nonce` to retry with; the retry passes.
#[tokio::test]
async fn a_required_nonce_is_handed_out_then_accepted() {
    let app = app(DpopOptions::default().require_nonce(true));
    let key = DpopKey::ec();
    let token = bound_to(&key);
    let url = format!("{API}/notes");
    let first = key.proof("GET", &url, Some(&token));
    let answer = get_with(&app, &token, &[&first]).await;
    assert_refused(&answer, AuthError::DpopNonceRequired, "no nonce");
    let nonce = answer.headers["dpop-nonce"].to_str().unwrap().to_owned();
    let with_nonce = key.proof_with("GET", &url, Some(&token), |_, c| c["nonce"] = json!(nonce));
    assert_eq!(get_with(&app, &token, &[&with_nonce]).await.status, 200);
    let made_up = key.proof_with("GET", &url, Some(&token), |_, c| {
        c["nonce"] = json!("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")
    });
    assert_refused(
        &get_with(&app, &token, &[&made_up]).await,
        AuthError::DpopNonceRequired,
        "made-up nonce",
    );
}

/// §11.1 and the issue: the replay cache is bounded; full of proofs still in their window,
/// it refuses new ones (503, the client may retry) rather than forget one.
#[tokio::test]
async fn a_full_replay_cache_refuses_rather_than_forgets() {
    let app = app(DpopOptions::default().replay_capacity(2));
    let key = DpopKey::ec();
    let token = bound_to(&key);
    let url = format!("{API}/notes");
    let proofs: Vec<String> = (0..3)
        .map(|_| key.proof("GET", &url, Some(&token)))
        .collect();
    assert_eq!(get_with(&app, &token, &[&proofs[0]]).await.status, 200);
    assert_eq!(get_with(&app, &token, &[&proofs[1]]).await.status, 200);
    let full = get_with(&app, &token, &[&proofs[2]]).await;
    assert_eq!(full.status, 503);
    assert_eq!(full.headers["retry-after"], "1");
    // Still remembered: a replay is a replay, not a 503.
    let replay = get_with(&app, &token, &[&proofs[0]]).await;
    assert_refused(
        &replay,
        AuthError::DpopProofReplayed,
        "replay in a full cache",
    );
}

/// §4.3 check 11, both sides of each edge: 60 s back plus 5 s of skew, 5 s ahead.
#[tokio::test]
async fn the_iat_window_holds_on_both_sides() {
    let app = app(DpopOptions::default().max_age(Duration::from_secs(60)));
    let key = DpopKey::ec();
    let token = bound_to(&key);
    let url = format!("{API}/notes");
    let at = |iat: u64| key.proof_with("GET", &url, Some(&token), |_, c| c["iat"] = json!(iat));
    let now = now();
    // A second of margin on each side for the clock ticking during the test.
    assert_eq!(get_with(&app, &token, &[&at(now - 63)]).await.status, 200);
    assert_eq!(get_with(&app, &token, &[&at(now - 67)]).await.status, 401);
    assert_eq!(get_with(&app, &token, &[&at(now + 4)]).await.status, 200);
    assert_eq!(get_with(&app, &token, &[&at(now + 7)]).await.status, 401);
}

/// gRPC alike: a refused proof is `UNAUTHENTICATED` with the reason.
#[tokio::test]
async fn a_grpc_request_with_a_bad_proof_gets_unauthenticated() {
    let app = app(DpopOptions::default());
    let key = DpopKey::ec();
    let token = bound_to(&key);
    let proof = key.proof("POST", "https://api.example.com/other", Some(&token));
    let auth = format!("DPoP {token}");
    let answer = call_grpc(
        &app,
        "/notes",
        &[("authorization", &auth), ("dpop", &proof)],
    )
    .await;
    assert_eq!(answer.headers["grpc-status"], "16");
    assert_eq!(
        answer.headers["grpc-message"],
        AuthError::DpopProofMismatch.description()
    );
}

/// At a token endpoint (§5): the proof of a request without a token gives the key to bind
/// to; the pair is bound to it, refreshed only with a proof of the same key.
#[tokio::test]
async fn an_issuer_binds_a_session_to_the_key_of_the_login_proof() {
    let layer = layer(DpopOptions::default());
    let key = DpopKey::ec();
    let login = key.proof("POST", &format!("{API}/login"), None);
    let request = http::Request::post("/login")
        .header("dpop", &login)
        .body(())
        .unwrap();
    let jkt = layer
        .dpop_key(request.method(), request.uri(), request.headers())
        .await
        .unwrap();
    assert_eq!(jkt, key.jkt, "our RFC 7638 thumbprint is jsonwebtoken's");
    let issuer = issuer();
    let pair = issuer
        .issue_pair_bound(&json!({ "sub": "alice" }), &jkt)
        .unwrap();
    assert_eq!(pair.token_type, "DPoP");
    let app = axum::Router::new()
        .route("/notes", axum::routing::get(|| async { "ok" }))
        .layer(layer.clone());
    let proof = key.proof("GET", &format!("{API}/notes"), Some(&pair.access_token));
    assert_eq!(
        get_with(&app, &pair.access_token, &[&proof]).await.status,
        200
    );

    // The refresh token is bound too: not for a plain refresh, not for another key.
    let plain = issuer.refresh(&pair.refresh_token).await.unwrap_err();
    assert!(matches!(
        plain,
        tower_jwt_auth::issue::RefreshError::Invalid(AuthError::BoundTokenAsBearer)
    ));
    let other = issuer
        .refresh_bound(&pair.refresh_token, &DpopKey::ed().jkt)
        .await
        .unwrap_err();
    assert!(matches!(
        other,
        tower_jwt_auth::issue::RefreshError::Invalid(AuthError::DpopKeyMismatch)
    ));
    let next = issuer
        .refresh_bound(&pair.refresh_token, &jkt)
        .await
        .unwrap();
    assert_eq!(next.token_type, "DPoP");

    // The same login proof again: a replay.
    let again = layer
        .dpop_key(request.method(), request.uri(), request.headers())
        .await;
    assert_eq!(again.unwrap_err(), AuthError::DpopProofReplayed);
}

/// Issue #20, 1: a proof captured at a sibling resource server that takes the same tokens
/// (`other-rs.example`) names that server; the client picks the request's host, so naming
/// it in `Host` (HTTP/1.1) or in the request target (HTTP/2, absolute form) must not make
/// the proof this server's. Only the configured URLs count.
#[tokio::test]
async fn a_proof_for_a_sibling_server_does_not_replay_here_whatever_host_the_request_names() {
    let key = DpopKey::ec();
    let token = bound_to(&key);
    let auth = format!("DPoP {token}");
    let sibling = "https://other-rs.example/notes";
    let request = |uri: &str| http::Request::builder().method("GET").uri(uri);
    for (case, uri) in [("Host", "/notes"), ("absolute form", sibling)] {
        let app = app(DpopOptions::default());
        let proof = key.proof("GET", sibling, Some(&token));
        let headers = [
            ("authorization", auth.as_str()),
            ("dpop", &proof),
            ("host", "other-rs.example"),
        ];
        let answer = call_with(&app, request(uri), &headers).await;
        assert_refused(&answer, AuthError::DpopProofMismatch, case);
    }
    // A second name of this server, given as an alternate URL, passes; the sibling still not.
    let app = app(DpopOptions::default().alternate_urls(vec!["https://api.example.net".into()]));
    for (htu, status) in [("https://api.example.net/notes", 200), (sibling, 401)] {
        let proof = key.proof("GET", htu, Some(&token));
        assert_eq!(
            get_with(&app, &token, &[&proof]).await.status,
            status,
            "{htu}"
        );
    }
}

/// A login request carrying `proof`.
fn login(proof: &str) -> http::Request<()> {
    http::Request::post("/login")
        .header("dpop", proof)
        .body(())
        .unwrap()
}

/// Issue #20, 2: proofs at a token endpoint can be made by anyone, before any credential is
/// checked: they are kept apart from the API's, so three anonymous ones cannot fill an API
/// cache of three; and a full token-endpoint cache holds up only the token endpoint.
#[tokio::test]
async fn anonymous_token_endpoint_proofs_cannot_fill_the_apis_replay_cache() {
    let layer = layer(
        DpopOptions::default()
            .replay_capacity(3)
            .grant_replay_capacity(3),
    );
    let anonymous = DpopKey::ed();
    let login_url = format!("{API}/login");
    for _ in 0..3 {
        let request = login(&anonymous.proof("POST", &login_url, None));
        let key = layer.dpop_key(request.method(), request.uri(), request.headers());
        assert_eq!(key.await.unwrap(), anonymous.jkt);
    }
    let request = login(&anonymous.proof("POST", &login_url, None));
    let full = layer.dpop_key(request.method(), request.uri(), request.headers());
    assert_eq!(full.await.unwrap_err(), AuthError::DpopReplayUnavailable);

    let app = axum::Router::new()
        .route("/notes", axum::routing::get(|| async { "ok" }))
        .layer(layer);
    let honest = DpopKey::ec();
    let token = bound_to(&honest);
    let proof = honest.proof("GET", &format!("{API}/notes"), Some(&token));
    assert_eq!(get_with(&app, &token, &[&proof]).await.status, 200);
}

/// Issue #20, 2: one client with one bound token cannot take the cache's room from all the
/// others: past `replay_per_key` live proofs, its own are refused (503), others' pass.
#[tokio::test]
async fn one_key_cannot_take_the_whole_replay_cache() {
    let app = app(DpopOptions::default().replay_per_key(2));
    let greedy = DpopKey::ec();
    let greedy_token = bound_to(&greedy);
    let url = format!("{API}/notes");
    for _ in 0..2 {
        let proof = greedy.proof("GET", &url, Some(&greedy_token));
        assert_eq!(get_with(&app, &greedy_token, &[&proof]).await.status, 200);
    }
    let proof = greedy.proof("GET", &url, Some(&greedy_token));
    assert_eq!(get_with(&app, &greedy_token, &[&proof]).await.status, 503);
    let other = DpopKey::ed();
    let token = bound_to(&other);
    let proof = other.proof("GET", &url, Some(&token));
    assert_eq!(get_with(&app, &token, &[&proof]).await.status, 200);
}

/// A store that records the names `use_once` is given.
#[derive(Clone, Default)]
struct Recording {
    store: MemoryStore,
    names: Arc<Mutex<Vec<String>>>,
}

impl RevocationStore for Recording {
    fn check_local(&self, token: &TokenId, now: u64) -> Option<bool> {
        self.store.check_local(token, now)
    }

    fn check(&self, token: &TokenId, now: u64) -> BoxFuture<'static, Result<bool, StoreError>> {
        self.store.check(token, now)
    }

    fn revoke(&self, revocation: Revocation) -> BoxFuture<'static, Result<(), StoreError>> {
        self.store.revoke(revocation)
    }

    fn use_once(
        &self,
        name: &str,
        expires_at: u64,
    ) -> BoxFuture<'static, Result<bool, StoreError>> {
        self.names.lock().unwrap().push(name.to_owned());
        self.store.use_once(name, expires_at)
    }
}

/// Issue #20, 3: in a shared store, a proof's record is named by a fixed-size digest of its
/// key and `jti`, never by the `jti` itself (a client could make each record kilobytes);
/// a `jti` longer than 256 bytes is refused before any record is made; token-endpoint
/// proofs are named apart. A replay is still caught through the store.
#[tokio::test]
async fn a_shared_replay_store_gets_fixed_size_records() {
    let store = Recording::default();
    let layer = layer(DpopOptions::default().replay_store(store.clone()));
    let app = axum::Router::new()
        .route("/notes", axum::routing::get(|| async { "ok" }))
        .layer(layer.clone());
    let key = DpopKey::ec();
    let token = bound_to(&key);
    let url = format!("{API}/notes");
    let long = "j".repeat(2_000);
    let huge = key.proof_with("GET", &url, Some(&token), |_, c| c["jti"] = json!(long));
    assert_refused(
        &get_with(&app, &token, &[&huge]).await,
        AuthError::DpopProofMalformed,
        "a 2 KB jti",
    );
    assert!(store.names.lock().unwrap().is_empty());
    let at_limit = "j".repeat(256);
    let proof = key.proof_with("GET", &url, Some(&token), |_, c| c["jti"] = json!(at_limit));
    assert_eq!(get_with(&app, &token, &[&proof]).await.status, 200);
    assert_refused(
        &get_with(&app, &token, &[&proof]).await,
        AuthError::DpopProofReplayed,
        "replayed through the store",
    );
    let request = login(&key.proof("POST", &format!("{API}/login"), None));
    layer
        .dpop_key(request.method(), request.uri(), request.headers())
        .await
        .unwrap();
    let names = store.names.lock().unwrap().clone();
    assert_eq!(names.len(), 3, "{names:?}");
    // `dpop:` or `dpop-grant:`, then the 43 characters of a base64url SHA-256.
    assert_eq!(names[0], names[1]);
    assert!(
        names[0].starts_with("dpop:") && names[0].len() == 5 + 43,
        "{}",
        names[0]
    );
    assert!(
        names[2].starts_with("dpop-grant:") && names[2].len() == 11 + 43,
        "{}",
        names[2]
    );
}

/// Issue #20, 4: a proof's `iat` is a NumericDate (RFC 9449 §4.2 → RFC 7519 §2): a
/// fraction is accepted, rounded down as a token's `iat` is.
#[tokio::test]
async fn a_proof_with_a_fractional_iat_passes() {
    let app = app(DpopOptions::default());
    let key = DpopKey::ec();
    let token = bound_to(&key);
    let url = format!("{API}/notes");
    let at = |iat: f64| key.proof_with("GET", &url, Some(&token), |_, c| c["iat"] = json!(iat));
    let now = now() as f64;
    assert_eq!(get_with(&app, &token, &[&at(now + 0.75)]).await.status, 200);
    assert_refused(
        &get_with(&app, &token, &[&at(now - 120.25)]).await,
        AuthError::DpopProofStale,
        "stale, with a fraction",
    );
}

/// Issue #20, 6: a token endpoint gets nonces too: `dpop_key` refuses a proof without one
/// (`DpopNonceRequired`), `dpop_nonce` gives one to send, and the proof made with it passes.
#[tokio::test]
async fn a_token_endpoint_issues_and_checks_nonces() {
    // Without nonces required, there is none to give.
    assert!(layer(DpopOptions::default()).dpop_nonce().is_none());
    let layer = layer(DpopOptions::default().require_nonce(true));
    let key = DpopKey::ec();
    let login_url = format!("{API}/login");
    let request = login(&key.proof("POST", &login_url, None));
    let refused = layer.dpop_key(request.method(), request.uri(), request.headers());
    assert_eq!(refused.await.unwrap_err(), AuthError::DpopNonceRequired);
    let nonce = layer.dpop_nonce().expect("nonces are required");
    let nonce = nonce.to_str().unwrap().to_owned();
    let proof = key.proof_with("POST", &login_url, None, |_, c| c["nonce"] = json!(nonce));
    let request = login(&proof);
    let jkt = layer.dpop_key(request.method(), request.uri(), request.headers());
    assert_eq!(jkt.await.unwrap(), key.jkt);
}

/// Issue #20, 6: with `pass_rejections`, the handler's `Unauthenticated::response()` for
/// `use_dpop_nonce` carries the `DPoP-Nonce` to retry with, as the layer's own answer does.
#[tokio::test]
async fn a_passed_rejection_answers_with_the_nonce_too() {
    let layer = issuer()
        .layer_builder::<Value>()
        .dpop(
            DpopOptions::default()
                .external_url(Some(API.into()))
                .require_nonce(true),
        )
        .pass_rejections(true)
        .build()
        .unwrap();
    let handler =
        |why: axum::Extension<Unauthenticated<axum::body::Body>>| async move { why.response() };
    let app = axum::Router::new()
        .route("/notes", axum::routing::get(handler))
        .layer(layer);
    let key = DpopKey::ec();
    let token = bound_to(&key);
    let proof = key.proof("GET", &format!("{API}/notes"), Some(&token));
    let answer = get_with(&app, &token, &[&proof]).await;
    assert_refused(&answer, AuthError::DpopNonceRequired, "passed through");
    assert!(answer.headers.contains_key("dpop-nonce"));
}

/// Issue #20, 6 (RFC 9449 §8.2): a request whose nonce is from the window before passes and
/// its response brings a new nonce; one of the current window brings none. Windows of 2 s.
#[tokio::test]
async fn a_nonce_of_the_window_before_is_renewed_on_success() {
    let app = app(DpopOptions::default()
        .require_nonce(true)
        .nonce_window(Duration::from_secs(2)));
    let key = DpopKey::ec();
    let token = bound_to(&key);
    let url = format!("{API}/notes");
    let with =
        |nonce: &str| key.proof_with("GET", &url, Some(&token), |_, c| c["nonce"] = json!(nonce));
    let first = get_with(&app, &token, &[&key.proof("GET", &url, Some(&token))]).await;
    let window = now() / 2;
    let nonce = first.headers["dpop-nonce"].to_str().unwrap().to_owned();
    let answer = get_with(&app, &token, &[&with(&nonce)]).await;
    assert_eq!(answer.status, 200);
    if now() / 2 == window {
        assert!(!answer.headers.contains_key("dpop-nonce"), "current: kept");
    }
    // Into the next window: still good, and renewed.
    while now() / 2 == window {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let answer = get_with(&app, &token, &[&with(&nonce)]).await;
    assert_eq!(answer.status, 200);
    let renewed = answer.headers["dpop-nonce"].to_str().unwrap().to_owned();
    assert_ne!(renewed, nonce);
    assert_eq!(get_with(&app, &token, &[&with(&renewed)]).await.status, 200);
}

/// Issue #20, 7: a `cnf` with a DPoP key and a certificate thumbprint (RFC 8705) cannot be
/// honoured here — proving the key alone would drop the certificate binding — so the token
/// is refused with a proof and without one.
#[tokio::test]
async fn a_token_bound_also_by_a_certificate_is_unusable_here() {
    let app = app(DpopOptions::default().allow_bearer(true));
    let key = DpopKey::ec();
    let claims = json!({
        "sub": "alice", "exp": now() + 300,
        "cnf": { "jkt": key.jkt, "x5t#S256": "bwcK0esc3ACC3DB2Y5_lESsXE8o9ltc05O89jdN-dg2" }
    });
    let mut header = Header::new(Algorithm::HS256);
    header.typ = Some("at+jwt".into());
    let token = mint_with(&header, &claims, &EncodingKey::from_secret(SECRET).unwrap());
    let proof = key.proof("GET", &format!("{API}/notes"), Some(&token));
    let answer = get_with(&app, &token, &[&proof]).await;
    assert_refused(&answer, AuthError::DpopTokenNotBound, "jkt and x5t#S256");
    let bearer = format!("Bearer {token}");
    let answer = call(&app, "/notes", &[("authorization", &bearer)]).await;
    assert_eq!(answer.status, 401);
}

#[test]
fn options_that_cannot_work_fail_at_build() {
    let refusal = |options: DpopOptions| {
        issuer()
            .layer_builder::<Value>()
            .dpop(options)
            .build()
            .map(|_| ())
            .unwrap_err()
            .to_string()
    };
    let here = || DpopOptions::default().external_url(Some(API.into()));
    // Issue #20, 1: no URL of this server, nothing a proof could be bound to.
    assert!(refusal(DpopOptions::default()).contains("external_url"));
    assert!(
        refusal(DpopOptions::default().external_url(Some("http://api.example.com".into())))
            .contains("plain http")
    );
    assert!(
        refusal(here().alternate_urls(vec!["https://api.example.com/?q".into()])).contains("query")
    );
    // Issue #20, 5: windows no proof needs, whose arithmetic would overflow.
    for (name, options) in [
        ("max_age", here().max_age(Duration::MAX)),
        ("max_age", here().max_age(Duration::from_secs(3601))),
        (
            "clock_skew",
            here().clock_skew(Duration::from_secs(u64::MAX)),
        ),
        ("clock_skew", here().clock_skew(Duration::from_secs(301))),
        (
            "nonce_window",
            here()
                .require_nonce(true)
                .nonce_window(Duration::from_secs(86_401)),
        ),
    ] {
        assert!(refusal(options).contains(name), "{name}");
    }
    let builds = |options: DpopOptions| {
        issuer()
            .layer_builder::<Value>()
            .dpop(options)
            .build()
            .is_ok()
    };
    assert!(builds(
        here()
            .max_age(Duration::from_secs(3600))
            .clock_skew(Duration::from_secs(300))
            .require_nonce(true)
            .nonce_window(Duration::from_secs(86_400))
    ));
    assert!(refusal(here().replay_per_key(0)).contains("replay_per_key"));
    assert!(refusal(here().algorithms(vec![Algorithm::HS256])).contains("symmetric"));
    assert!(refusal(here().algorithms(vec![])).contains("at least one"));
    assert!(
        refusal(here().require_nonce(true).nonce_secret(Some(vec![1; 8]))).contains("32 bytes")
    );
}
