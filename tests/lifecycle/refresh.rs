//! Access + refresh pairs: typed apart, rotated on each refresh, a replay revokes the
//! whole session, logout and "log out everywhere".

use std::time::Duration;

use crate::common::*;
use serde_json::{Value, json};
use tower_jwt_auth::issue::{RefreshError, TokenIssuer};
use tower_jwt_auth::jsonwebtoken::{Header, decode_header};
use tower_jwt_auth::{Algorithm, AuthError, JwtAuthLayer};

fn issuer() -> TokenIssuer {
    TokenIssuer::hmac(SECRET, Algorithm::HS256)
        .issuer("https://auth.example")
        .audience("api")
        .build()
        .unwrap()
}

fn alice() -> Value {
    json!({ "sub": "alice", "name": "Alice" })
}

fn claims(token: &str) -> Value {
    let payload = token.split('.').nth(1).unwrap();
    serde_json::from_slice(&unb64(payload)).unwrap()
}

#[tokio::test]
async fn a_pair_is_typed_apart_and_shares_a_session() {
    let issuer = issuer();
    let pair = issuer.issue_pair(&alice()).unwrap();
    assert_eq!(pair.token_type, "Bearer");
    assert_eq!(pair.expires_in, 900);
    let access = decode_header(&pair.access_token).unwrap();
    let refresh = decode_header(&pair.refresh_token).unwrap();
    assert_eq!(access.typ.as_deref(), Some("at+jwt"));
    assert_eq!(refresh.typ.as_deref(), Some("refresh+jwt"));
    let (a, r) = (claims(&pair.access_token), claims(&pair.refresh_token));
    assert_eq!(a["sid"], r["sid"]);
    assert_eq!(a["sid"].as_str().unwrap().len(), 32);
    assert_ne!(a["jti"], r["jti"]);
    assert_eq!(
        r["exp"].as_u64().unwrap() - r["iat"].as_u64().unwrap(),
        14 * 24 * 3600
    );
    // The layer never takes a refresh token for an access token...
    let layer = issuer.layer::<Value>().unwrap();
    assert_eq!(layer.verify(&pair.access_token).unwrap()["name"], "Alice");
    assert_eq!(
        layer.verify(&pair.refresh_token).unwrap_err(),
        AuthError::InvalidType
    );
    // ...and an access token never refreshes.
    assert!(matches!(
        issuer.refresh(&pair.access_token).await,
        Err(RefreshError::Invalid(AuthError::InvalidType))
    ));
    // Nor does a refresh token of another key.
    let forged = mint_with(
        &Header {
            typ: Some("refresh+jwt".into()),
            ..Header::new(Algorithm::HS256)
        },
        &json!({ "sub": "alice", "jti": "j", "sid": "s", "exp": now() + 60, "iss": "https://auth.example", "aud": "api" }),
        &tower_jwt_auth::EncodingKey::from_secret(b"another-secret-of-at-least-32-bytes!").unwrap(),
    );
    assert!(matches!(
        issuer.refresh(&forged).await,
        Err(RefreshError::Invalid(AuthError::InvalidSignature))
    ));
    // Debug output never shows a token.
    let debug = format!("{pair:?}");
    assert!(!debug.contains(&pair.access_token[..20]), "{debug}");
}

// Issue #12, item 4: a refresh token carries the access token's `iss`, `aud`, `sub` and
// claims, so a layer built by hand with the issuer's key and the usual checks (no
// `required_typ`) took it for a 14-day access token.
#[tokio::test]
async fn a_hand_built_layer_refuses_a_refresh_token_as_an_access_token() {
    let issuer = issuer();
    let pair = issuer.issue_pair(&alice()).unwrap();
    let hand_built = JwtAuthLayer::<Value>::builder()
        .hmac_secret(SECRET, Algorithm::HS256)
        .issuer("https://auth.example")
        .audience("api")
        .build()
        .unwrap();
    assert_eq!(
        hand_built.verify(&pair.access_token).unwrap()["sub"],
        "alice"
    );
    assert_eq!(
        hand_built.verify(&pair.refresh_token).unwrap_err(),
        AuthError::InvalidType
    );
    // Through the service too: a 401 that names the failure.
    let answer = call(
        &ok_behind(hand_built),
        "/",
        &[("authorization", &bearer(&pair.refresh_token))],
    )
    .await;
    assert_eq!(answer.status, 401);
    assert!(
        answer.challenge().contains("invalid_token"),
        "{}",
        answer.challenge()
    );
    // Only a layer that asks for refresh tokens takes one.
    let refresh_layer = JwtAuthLayer::<Value>::builder()
        .hmac_secret(SECRET, Algorithm::HS256)
        .issuer("https://auth.example")
        .audience("api")
        .required_typ("refresh+jwt")
        .build()
        .unwrap();
    assert_eq!(
        refresh_layer.verify(&pair.refresh_token).unwrap()["sub"],
        "alice"
    );
}

#[tokio::test]
async fn refreshing_rotates_and_carries_the_claims_over() {
    let issuer = issuer();
    let layer = issuer.layer::<Value>().unwrap();
    let first = issuer.issue_pair(&alice()).unwrap();
    let second = issuer.refresh(&first.refresh_token).await.unwrap();
    assert_ne!(second.refresh_token, first.refresh_token);
    assert_ne!(second.access_token, first.access_token);
    let (old, new) = (claims(&first.access_token), claims(&second.access_token));
    assert_eq!(new["sid"], old["sid"], "the same session");
    assert_eq!(new["name"], "Alice");
    assert_eq!(new["iss"], "https://auth.example");
    assert_eq!(new["aud"], "api");
    assert!(layer.verify(&second.access_token).is_ok());
    let third = issuer.refresh(&second.refresh_token).await.unwrap();
    assert!(layer.verify(&third.access_token).is_ok());
}

#[tokio::test]
async fn a_replayed_refresh_token_revokes_its_whole_session() {
    let issuer = issuer();
    let layer = issuer.layer::<Value>().unwrap();
    let stolen = issuer.issue_pair(&alice()).unwrap();
    let other_session = issuer.issue_pair(&alice()).unwrap();
    // The thief refreshes first; the owner then presents the same refresh token.
    let thief = issuer.refresh(&stolen.refresh_token).await.unwrap();
    assert!(matches!(
        issuer.refresh(&stolen.refresh_token).await,
        Err(RefreshError::Reused)
    ));
    // Everything of that session is dead: the thief's new tokens, the original access token.
    for token in [&thief.access_token, &stolen.access_token] {
        assert_eq!(layer.verify(token).unwrap_err(), AuthError::Revoked);
    }
    assert!(matches!(
        issuer.refresh(&thief.refresh_token).await,
        Err(RefreshError::Revoked)
    ));
    // Another session of the same user is untouched.
    assert!(layer.verify(&other_session.access_token).is_ok());
    assert!(issuer.refresh(&other_session.refresh_token).await.is_ok());
}

/// Issue #12, item 1: a refresh token is accepted until `exp` plus the leeway; its use
/// must be remembered that long, or a replay after `exp` goes undetected.
#[tokio::test]
async fn a_refresh_token_replayed_after_its_exp_within_the_leeway_is_still_caught() {
    let issuer = TokenIssuer::hmac(SECRET, Algorithm::HS256)
        .refresh_lifetime(Duration::from_secs(1))
        .build()
        .unwrap();
    let login = issuer.issue_pair(&alice()).unwrap();
    // Past its `exp`, inside the 30 s leeway of the issuer's verifier.
    tokio::time::sleep(Duration::from_millis(2100)).await;
    let next = issuer.refresh(&login.refresh_token).await.unwrap();
    assert!(matches!(
        issuer.refresh(&login.refresh_token).await,
        Err(RefreshError::Reused)
    ));
    let layer = issuer.layer::<Value>().unwrap();
    assert_eq!(
        layer.verify(&next.access_token).err(),
        Some(AuthError::Revoked)
    );
}

#[tokio::test]
async fn logout_ends_the_session_of_either_token() {
    let issuer = issuer();
    let layer = issuer.layer::<Value>().unwrap();
    let by_access = issuer.issue_pair(&alice()).unwrap();
    issuer.logout(&by_access.access_token).await.unwrap();
    assert_eq!(
        layer.verify(&by_access.access_token).unwrap_err(),
        AuthError::Revoked
    );
    assert!(matches!(
        issuer.refresh(&by_access.refresh_token).await,
        Err(RefreshError::Revoked)
    ));
    let by_refresh = issuer.issue_pair(&alice()).unwrap();
    issuer.logout(&by_refresh.refresh_token).await.unwrap();
    assert_eq!(
        layer.verify(&by_refresh.access_token).unwrap_err(),
        AuthError::Revoked
    );
    // A lone access token (no session) is revoked by its jti.
    let lone = issuer.issue(&alice()).unwrap();
    let untouched = issuer.issue(&alice()).unwrap();
    issuer.logout(&lone).await.unwrap();
    assert_eq!(layer.verify(&lone).unwrap_err(), AuthError::Revoked);
    assert!(layer.verify(&untouched).is_ok());
    // A token the issuer did not sign logs nobody out.
    assert!(matches!(
        issuer.logout(&mint(&valid_claims())).await,
        Err(RefreshError::Invalid(_))
    ));
}

#[tokio::test]
async fn logging_out_everywhere_revokes_every_earlier_token_of_the_subject() {
    let issuer = issuer();
    let layer = issuer.layer::<Value>().unwrap();
    let a = issuer.issue_pair(&alice()).unwrap();
    let b = issuer.issue_pair(&alice()).unwrap();
    let bob = issuer.issue_pair(&json!({ "sub": "bob" })).unwrap();
    issuer.logout_everywhere("alice").await.unwrap();
    for token in [&a.access_token, &b.access_token] {
        assert_eq!(layer.verify(token).unwrap_err(), AuthError::Revoked);
    }
    assert!(matches!(
        issuer.refresh(&b.refresh_token).await,
        Err(RefreshError::Revoked)
    ));
    assert!(layer.verify(&bob.access_token).is_ok());
    // `iat` counts whole seconds: a login two seconds later is a new start.
    tokio::time::sleep(Duration::from_millis(2100)).await;
    let again = issuer.issue_pair(&alice()).unwrap();
    assert!(layer.verify(&again.access_token).is_ok());
}

#[tokio::test]
async fn the_caller_cannot_choose_the_session() {
    let issuer = issuer();
    let victim = issuer.issue_pair(&alice()).unwrap();
    let sid = claims(&victim.access_token)["sid"].clone();
    let sneaky = issuer
        .issue_pair(&json!({ "sub": "mallory", "sid": sid }))
        .unwrap();
    assert_ne!(claims(&sneaky.access_token)["sid"], sid);
    // So logging out of one's own session never ends another's.
    issuer.logout(&sneaky.access_token).await.unwrap();
    assert!(
        issuer
            .layer::<Value>()
            .unwrap()
            .verify(&victim.access_token)
            .is_ok()
    );
}

#[test]
fn a_zero_refresh_lifetime_is_refused() {
    let built = TokenIssuer::hmac(SECRET, Algorithm::HS256)
        .refresh_lifetime(Duration::ZERO)
        .build();
    assert_eq!(built.unwrap_err(), tower_jwt_auth::ConfigError::NoExpiry);
}

/// The twin of an ES256 token: the same header and payload, the signature `(r, n − s)`,
/// which verifies as well as `(r, s)` (ECDSA signatures are malleable; P-256's order `n`).
fn ecdsa_twin(token: &str) -> String {
    const N: [u8; 32] = [
        0xff, 0xff, 0xff, 0xff, 0x00, 0x00, 0x00, 0x00, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
        0xff, 0xbc, 0xe6, 0xfa, 0xad, 0xa7, 0x17, 0x9e, 0x84, 0xf3, 0xb9, 0xca, 0xc2, 0xfc, 0x63,
        0x25, 0x51,
    ];
    let (input, signature) = token.rsplit_once('.').unwrap();
    let mut signature = unb64(signature);
    let s = &mut signature[32..];
    let mut borrow = 0i16;
    for i in (0..32).rev() {
        let d = i16::from(N[i]) - i16::from(s[i]) - borrow;
        borrow = i16::from(d < 0);
        s[i] = (d + 256 * borrow) as u8;
    }
    format!("{input}.{}", b64(&signature))
}

// Issue #12, item 15: ECDSA signatures are malleable, so a token string is not a token's
// identity. Reuse detection and revocation key on `jti` and `sid`: a twin of a spent
// refresh token is still a replay, and a logout refuses the twins of its tokens.
#[tokio::test]
async fn the_ecdsa_twin_of_a_token_is_the_same_token_to_reuse_detection_and_revocation() {
    let issuer = TokenIssuer::private_key_pem(EC_PRIVATE, Algorithm::ES256)
        .issuer("https://auth.example")
        .audience("api")
        .build()
        .unwrap();
    let layer = issuer.layer::<Value>().unwrap();
    let pair = issuer.issue_pair(&alice()).unwrap();
    let twin = ecdsa_twin(&pair.access_token);
    assert_ne!(twin, pair.access_token);
    // Both verify: refusing high-S would refuse tokens that many JOSE libraries mint.
    assert_eq!(layer.verify(&twin).unwrap()["sub"], "alice");
    let next = issuer.refresh(&pair.refresh_token).await.unwrap();
    assert!(matches!(
        issuer.refresh(&ecdsa_twin(&pair.refresh_token)).await,
        Err(RefreshError::Reused)
    ));
    // The replay ended the session: the new pair and every twin are refused.
    for token in [&next.access_token, &ecdsa_twin(&next.access_token), &twin] {
        assert_eq!(layer.verify(token).unwrap_err(), AuthError::Revoked);
    }
}
