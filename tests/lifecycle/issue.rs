//! `TokenIssuer`: tokens it mints carry the registered claims, and the layer it builds accepts
//! exactly them.

use std::time::Duration;

use crate::common::*;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use tower_jwt_auth::issue::{IssueError, TokenIssuer};
use tower_jwt_auth::jsonwebtoken::Header;
use tower_jwt_auth::{Algorithm, AuthError, ConfigError, EncodingKey, JwtAuthLayer};

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
struct User {
    sub: String,
    role: String,
}

fn alice() -> User {
    User {
        sub: "alice".into(),
        role: "admin".into(),
    }
}

#[test]
fn issued_tokens_carry_the_registered_claims_and_verify() {
    let issuer = TokenIssuer::hmac(SECRET, Algorithm::HS256)
        .issuer("https://auth.example")
        .audience("api")
        .build()
        .unwrap();
    let token = issuer.issue(&alice()).unwrap();
    let claims: Value = issuer.layer::<Value>().unwrap().verify(&token).unwrap();
    let now = now();
    let iat = claims["iat"].as_u64().unwrap();
    assert!(iat.abs_diff(now) <= 2);
    assert_eq!(claims["nbf"], iat);
    assert_eq!(claims["exp"], iat + 900, "15 minutes by default");
    assert_eq!(claims["iss"], "https://auth.example");
    assert_eq!(claims["aud"], "api");
    assert_eq!(claims["sub"], "alice");
    let jti = claims["jti"].as_str().unwrap();
    assert_eq!(jti.len(), 32);
    let other: Value = issuer
        .layer::<Value>()
        .unwrap()
        .verify(&issuer.issue(&alice()).unwrap())
        .unwrap();
    assert_ne!(other["jti"], claims["jti"], "every token has its own jti");
    let user: User = issuer.layer::<User>().unwrap().verify(&token).unwrap();
    assert_eq!(user, alice());
}

#[test]
fn the_issuer_sets_times_and_identity_not_the_caller() {
    let issuer = TokenIssuer::hmac(SECRET, Algorithm::HS256)
        .issuer("https://auth.example")
        .lifetime(Duration::from_secs(60))
        .build()
        .unwrap();
    let sneaky = json!({ "sub": "alice", "exp": 4_102_444_800u64, "iss": "https://evil.example" });
    let claims: Value = issuer
        .layer::<Value>()
        .unwrap()
        .verify(&issuer.issue(&sneaky).unwrap())
        .unwrap();
    assert_eq!(claims["exp"], claims["iat"].as_u64().unwrap() + 60);
    assert_eq!(claims["iss"], "https://auth.example");
}

#[test]
fn the_layer_accepts_only_access_tokens_of_this_issuer() {
    let issuer = TokenIssuer::hmac(SECRET, Algorithm::HS256)
        .issuer("https://auth.example")
        .build()
        .unwrap();
    let layer = issuer.layer::<Value>().unwrap();
    // Same key, but not typed as an access token (a refresh or ID token, say).
    let plain = mint_with(
        &Header::new(Algorithm::HS256),
        &json!({ "sub": "alice", "exp": now() + 600, "iss": "https://auth.example" }),
        &EncodingKey::from_secret(SECRET).unwrap(),
    );
    assert_eq!(layer.verify(&plain).unwrap_err(), AuthError::InvalidType);
    let other = TokenIssuer::hmac(SECRET, Algorithm::HS256)
        .issuer("https://other.example")
        .build()
        .unwrap();
    assert_eq!(
        layer.verify(&other.issue(&alice()).unwrap()).unwrap_err(),
        AuthError::InvalidIssuer
    );
}

#[test]
fn asymmetric_issuers_publish_their_public_key() {
    for (pem, alg) in [
        (RSA_PRIVATE, Algorithm::RS256),
        (EC_PRIVATE, Algorithm::ES256),
        (ED_PRIVATE, Algorithm::EdDSA),
    ] {
        let issuer = TokenIssuer::private_key_pem(pem, alg)
            .kid("k1")
            .build()
            .unwrap();
        let token = issuer.issue(&alice()).unwrap();
        assert_eq!(
            issuer.layer::<User>().unwrap().verify(&token).unwrap(),
            alice(),
            "{alg:?}"
        );
        // Another service verifies with the published JWKS alone.
        let jwks = issuer.jwks().unwrap();
        let json = serde_json::to_value(&jwks).unwrap();
        assert_eq!(json["keys"][0]["kid"], "k1");
        assert_eq!(json["keys"][0]["use"], "sig");
        assert!(
            json["keys"][0].get("d").is_none(),
            "{alg:?}: no private part is published"
        );
        let remote = JwtAuthLayer::<User>::builder().jwks(jwks).build().unwrap();
        assert_eq!(remote.verify(&token).unwrap(), alice(), "{alg:?}");
    }
    assert!(
        TokenIssuer::hmac(SECRET, Algorithm::HS256)
            .build()
            .unwrap()
            .jwks()
            .is_none()
    );
}

#[test]
fn mistakes_fail_at_build_or_issue() {
    let zero = TokenIssuer::hmac(SECRET, Algorithm::HS256)
        .lifetime(Duration::ZERO)
        .build();
    assert_eq!(zero.unwrap_err(), ConfigError::NoExpiry);
    let weak = TokenIssuer::hmac(b"short", Algorithm::HS256).build();
    assert!(matches!(weak, Err(ConfigError::WeakHmacSecret { .. })));
    let family = TokenIssuer::private_key_pem(RSA_PRIVATE, Algorithm::HS256).build();
    assert_eq!(
        family.unwrap_err(),
        ConfigError::KeyFamilyMismatch {
            algorithm: Algorithm::HS256
        }
    );
    let garbage = TokenIssuer::private_key_pem(b"not a key", Algorithm::ES256).build();
    assert!(matches!(garbage, Err(ConfigError::InvalidKey(_))));
    let issuer = TokenIssuer::hmac(SECRET, Algorithm::HS256).build().unwrap();
    assert!(matches!(
        issuer.issue(&"a string"),
        Err(IssueError::NotAnObject)
    ));
}
