//! The published JWS vectors (RFC 7515 A.1–A.3 and A.5, RFC 7520 §4.1 and §4.4, RFC 8037
//! A.4), checked through the public API.
//!
//! Their `exp` values are in the past and some payloads are plain text, so a vector whose
//! signature verifies ends in `Expired` or `InvalidClaims` — never `InvalidSignature` —
//! and the same token with one signature byte changed ends in `InvalidSignature`.

use serde::Deserialize;
use tower_jwt_auth::jsonwebtoken::jwk::Jwk;
use tower_jwt_auth::{Algorithm, AuthError, JwtAuthLayer, RegisteredClaims};

#[derive(Deserialize)]
struct Vectors {
    vectors: Vec<Vector>,
}

#[derive(Deserialize)]
struct Vector {
    id: String,
    alg: String,
    jwk: Option<Jwk>,
    token: String,
    payload_is_json: bool,
}

fn vectors() -> Vec<Vector> {
    let json = include_str!("../data/rfc-jws-vectors.json");
    serde_json::from_str::<Vectors>(json).unwrap().vectors
}

fn layer(v: &Vector) -> JwtAuthLayer<RegisteredClaims> {
    let alg: Algorithm = v.alg.parse().unwrap();
    JwtAuthLayer::builder()
        .jwk(v.jwk.clone().unwrap())
        .algorithms([alg])
        .build()
        .unwrap_or_else(|e| panic!("{}: {e}", v.id))
}

/// The token with the first byte of its signature changed.
fn with_bad_signature(token: &str) -> String {
    let (input, sig) = token.rsplit_once('.').unwrap();
    let mut sig = crate::common::unb64(sig);
    sig[0] ^= 1;
    format!("{input}.{}", crate::common::b64(sig))
}

#[test]
fn every_signed_vector_verifies_and_fails_once_altered() {
    let mut checked = 0;
    for v in vectors().iter().filter(|v| v.jwk.is_some()) {
        let layer = layer(v);
        let after_signature = if v.payload_is_json {
            AuthError::Expired
        } else {
            AuthError::InvalidClaims
        };
        assert_eq!(
            layer.verify(&v.token).unwrap_err(),
            after_signature,
            "{}",
            v.id
        );
        assert_eq!(
            layer.verify(&with_bad_signature(&v.token)).unwrap_err(),
            AuthError::InvalidSignature,
            "{}",
            v.id
        );
        checked += 1;
    }
    assert_eq!(checked, 6, "every signed vector was checked");
}

#[test]
fn the_unsecured_vector_is_refused() {
    let unsecured: Vec<Vector> = vectors().into_iter().filter(|v| v.alg == "none").collect();
    assert_eq!(unsecured.len(), 1);
    let any = JwtAuthLayer::<RegisteredClaims>::builder()
        .hmac_secret(crate::common::SECRET, Algorithm::HS256)
        .build()
        .unwrap();
    assert_eq!(
        any.verify(&unsecured[0].token).unwrap_err(),
        AuthError::AlgorithmNone
    );
}
