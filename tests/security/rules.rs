//! Each verification rule and each configuration check, through the public API.

use crate::common::*;
use base64::Engine as _;
use serde::Deserialize;
use serde_json::json;
use tower_jwt_auth::claims::Claim;
use tower_jwt_auth::jsonwebtoken::Header;
use tower_jwt_auth::jsonwebtoken::jwk::{Jwk, JwkSet};
use tower_jwt_auth::{
    Algorithm, AuthError, ConfigError, DecodingKey, EncodingKey, JwtAuthLayer, TokenSource,
};

type Layer = JwtAuthLayer<TestClaims>;

fn builder() -> tower_jwt_auth::JwtAuthBuilder<TestClaims> {
    Layer::builder()
}

fn signed(alg: Algorithm, kid: Option<&str>, key: &EncodingKey) -> String {
    let mut header = Header::new(alg);
    header.kid = kid.map(str::to_owned);
    mint_with(&header, &valid_claims(), key)
}

fn verify(layer: &Layer, token: &str) -> Result<String, AuthError> {
    layer
        .verify(token)
        .map(|c| c.registered.sub.unwrap_or_default())
}

#[test]
fn every_key_type_verifies_from_pem_and_der() {
    let cases: Vec<(Layer, Algorithm)> = vec![
        (
            builder()
                .public_key_pem(RSA_PUBLIC, Algorithm::RS256)
                .build()
                .unwrap(),
            Algorithm::RS256,
        ),
        (
            builder()
                .public_key_der(RSA_PUBLIC_PKCS1_DER, Algorithm::RS256)
                .build()
                .unwrap(),
            Algorithm::RS256,
        ),
        (
            builder()
                .public_key_pem(RSA_PUBLIC, Algorithm::PS384)
                .build()
                .unwrap(),
            Algorithm::PS384,
        ),
        (
            builder()
                .public_key_pem(EC_PUBLIC, Algorithm::ES256)
                .build()
                .unwrap(),
            Algorithm::ES256,
        ),
        (
            builder()
                .public_key_der(EC_PUBLIC_POINT, Algorithm::ES256)
                .build()
                .unwrap(),
            Algorithm::ES256,
        ),
        (
            builder()
                .public_key_pem(ED_PUBLIC, Algorithm::EdDSA)
                .build()
                .unwrap(),
            Algorithm::EdDSA,
        ),
        (
            builder()
                .public_key_der(ED_PUBLIC_RAW, Algorithm::EdDSA)
                .build()
                .unwrap(),
            Algorithm::EdDSA,
        ),
        (
            builder()
                .hmac_secret(SECRET, Algorithm::HS256)
                .build()
                .unwrap(),
            Algorithm::HS256,
        ),
    ];
    // Issue #21: DER as `openssl pkey -pubin -outform DER` writes it (SubjectPublicKeyInfo,
    // the body of a `PUBLIC KEY` PEM) works as well as the bare key.
    let spki = |pem: &[u8]| {
        let pem = std::str::from_utf8(pem).unwrap();
        let body: String = pem.lines().filter(|l| !l.starts_with("-----")).collect();
        base64::engine::general_purpose::STANDARD
            .decode(body)
            .unwrap()
    };
    let mut cases = cases;
    for (pem, alg) in [
        (RSA_PUBLIC, Algorithm::RS256),
        (EC_PUBLIC, Algorithm::ES256),
        (ED_PUBLIC, Algorithm::EdDSA),
    ] {
        let layer = builder().public_key_der(spki(pem), alg).build().unwrap();
        cases.push((layer, alg));
    }
    // A SubjectPublicKeyInfo of another family than the algorithm: a clear error.
    let err = builder()
        .public_key_der(spki(EC_PUBLIC), Algorithm::RS256)
        .build()
        .unwrap_err();
    assert!(err.to_string().contains("another kind of key"), "{err}");
    for (layer, alg) in cases {
        let key = if alg == Algorithm::HS256 {
            EncodingKey::from_secret(SECRET).unwrap()
        } else {
            encoding_key(alg)
        };
        assert_eq!(
            verify(&layer, &signed(alg, None, &key)),
            Ok("alice".into()),
            "{alg:?}"
        );
    }
}

#[test]
fn a_key_serves_only_its_own_family() {
    let rsa = DecodingKey::from_rsa_pem(RSA_PUBLIC).unwrap();
    assert_eq!(
        Layer::new(rsa, Algorithm::HS256).unwrap_err(),
        ConfigError::KeyFamilyMismatch {
            algorithm: Algorithm::HS256
        }
    );
    assert_eq!(
        builder()
            .public_key_pem(RSA_PUBLIC, Algorithm::HS256)
            .build()
            .unwrap_err(),
        ConfigError::KeyFamilyMismatch {
            algorithm: Algorithm::HS256
        }
    );
    let secret = DecodingKey::from_secret(SECRET).unwrap();
    assert_eq!(
        Layer::new(secret, Algorithm::ES256).unwrap_err(),
        ConfigError::KeyFamilyMismatch {
            algorithm: Algorithm::ES256
        }
    );
}

#[test]
fn hmac_keyed_with_the_public_key_is_refused() {
    // The classic confusion: sign HS256 with the server's public key as the HMAC secret.
    let forged_key = EncodingKey::from_secret(RSA_PUBLIC).unwrap();
    let forged = signed(Algorithm::HS256, None, &forged_key);
    let rsa_only = builder()
        .public_key_pem(RSA_PUBLIC, Algorithm::RS256)
        .build()
        .unwrap();
    assert_eq!(
        verify(&rsa_only, &forged),
        Err(AuthError::AlgorithmNotAllowed)
    );
    // Even when HS256 is allowed for another key, the RSA key never serves HS256.
    let both = builder()
        .public_key_pem(RSA_PUBLIC, Algorithm::RS256)
        .hmac_secret(SECRET, Algorithm::HS256)
        .build()
        .unwrap();
    assert_eq!(verify(&both, &forged), Err(AuthError::InvalidSignature));
    assert_eq!(
        verify(
            &both,
            &signed(Algorithm::RS256, None, &encoding_key(Algorithm::RS256))
        ),
        Ok("alice".into())
    );
}

/// The same answers whichever way HMAC is checked: keyed once with the backend (the default
/// provider) or through jsonwebtoken (a provider the application installed).
#[test]
fn hmac_answers_the_same_with_the_default_or_a_custom_provider() {
    use std::sync::LazyLock;
    use tower_jwt_auth::jsonwebtoken::crypto::CryptoProvider;
    static CUSTOM: LazyLock<CryptoProvider> = LazyLock::new(|| {
        let default = tower_jwt_auth::install_crypto_provider().unwrap();
        CryptoProvider {
            signer_factory: default.signer_factory,
            verifier_factory: default.verifier_factory,
            key_utils: default.key_utils.clone(),
        }
    });
    let secret = [b'k'; 64];
    let other = EncodingKey::from_secret(&[b'o'; 64]).unwrap();
    let key = EncodingKey::from_secret(&secret).unwrap();
    for alg in [Algorithm::HS256, Algorithm::HS384, Algorithm::HS512] {
        let good = signed(alg, None, &key);
        let (message, signature) = good.rsplit_once('.').unwrap();
        let flipped = if signature.starts_with('A') { 'B' } else { 'A' };
        let tampered = format!("{message}.{flipped}{}", &signature[1..]);
        // Three bytes shorter, still canonical base64url.
        let cut = format!("{message}.{}", &signature[4..]);
        for custom in [false, true] {
            let mut builder = builder().hmac_secret(secret, alg);
            if custom {
                builder = builder.crypto_provider(&CUSTOM);
            }
            let layer = builder.build().unwrap();
            assert_eq!(verify(&layer, &good).as_deref(), Ok("alice"), "{alg:?}");
            for forged in [signed(alg, None, &other), tampered.clone(), cut.clone()] {
                assert_eq!(
                    verify(&layer, &forged),
                    Err(AuthError::InvalidSignature),
                    "{alg:?}, custom provider: {custom}"
                );
            }
        }
    }
}

#[test]
fn short_hmac_secrets_are_refused_at_build() {
    let err = builder()
        .hmac_secret(b"short", Algorithm::HS256)
        .build()
        .unwrap_err();
    assert_eq!(
        err,
        ConfigError::WeakHmacSecret {
            algorithm: Algorithm::HS256,
            min_bytes: 32
        }
    );
    assert!(err.to_string().contains("at least 32"));
    let err = builder()
        .hmac_secret(SECRET, Algorithm::HS512)
        .build()
        .unwrap_err();
    assert_eq!(
        err,
        ConfigError::WeakHmacSecret {
            algorithm: Algorithm::HS512,
            min_bytes: 64
        }
    );
    assert!(matches!(
        builder().hmac_secret(b"", Algorithm::HS256).build(),
        Err(ConfigError::InvalidKey(_))
    ));
}

// Issue #12, item 12: RSA keys under 2048 bits were admitted (aws-lc-rs then never
// verified with them; the RustCrypto backend did).
#[test]
fn rsa_keys_under_2048_bits_are_refused_at_build_in_every_form() {
    let pem = include_bytes!("../data/rsa1024_public.pem");
    let jwk = include_str!("../data/rsa1024_public.jwk.json");
    let weak = ConfigError::WeakRsaKey { bits: 1024 };
    let from_pem = builder().public_key_pem(pem, Algorithm::RS256).build();
    assert_eq!(from_pem.unwrap_err(), weak);
    let from_jwk = builder()
        .jwks_json(&format!(r#"{{"keys":[{jwk}]}}"#))
        .algorithms([Algorithm::PS256])
        .build();
    assert_eq!(from_jwk.unwrap_err(), weak);
    assert!(weak.to_string().contains("at least 2048"), "{weak}");
    // 2048 bits, as PEM, PKCS#1 DER and components: admitted.
    assert!(
        builder()
            .public_key_pem(RSA_PUBLIC, Algorithm::RS256)
            .build()
            .is_ok()
    );
    assert!(
        builder()
            .public_key_der(RSA_PUBLIC_PKCS1_DER, Algorithm::RS256)
            .build()
            .is_ok()
    );
    // Not an RSAPublicKey at all: said so at build, not at the first request.
    let garbage = builder()
        .public_key_der(b"\x30\x03\x02\x01", Algorithm::RS256)
        .build();
    assert!(
        matches!(garbage, Err(ConfigError::InvalidKey(_))),
        "{garbage:?}"
    );
}

/// A key a parser refused keeps the parser's error as the `ConfigError`'s source, and the
/// message says which key it was; a key refused for a reason of ours has no source.
#[test]
fn an_unreadable_key_keeps_the_parsers_error_as_its_source() {
    use std::error::Error as _;

    let pem = builder()
        .public_key_pem(
            b"-----BEGIN PUBLIC KEY-----\nnot base64\n",
            Algorithm::RS256,
        )
        .build()
        .unwrap_err();
    assert_eq!(
        pem.to_string(),
        "invalid key: the PEM public key cannot be read"
    );
    let source = pem.source().expect("the PEM parser's error");
    assert!(
        source
            .downcast_ref::<tower_jwt_auth::jsonwebtoken::errors::Error>()
            .is_some(),
        "{source:?}"
    );

    let json = builder().jwks_json("{\"keys\": [").build().unwrap_err();
    let source = json.source().expect("serde_json's error");
    assert!(
        source.downcast_ref::<serde_json::Error>().is_some(),
        "{source:?}"
    );
    assert!(
        json.to_string().contains("the JWKS is not valid JSON"),
        "{json}"
    );

    // Ours: a DER that is no key at all; nothing underneath to point to.
    let ours = builder()
        .public_key_der(b"\x30\x03\x02\x01", Algorithm::RS256)
        .build()
        .unwrap_err();
    assert!(matches!(ours, ConfigError::InvalidKey(_)), "{ours:?}");
    assert!(ours.source().is_none(), "{:?}", ours.source());
}

#[test]
fn keys_with_a_kid_are_chosen_by_exact_kid() {
    let key1 = encoding_key(Algorithm::RS256);
    let key2 = EncodingKey::from_rsa_pem(RSA2_PRIVATE).unwrap();
    let layer = builder()
        .key_with_kid(
            "k1",
            DecodingKey::from_rsa_pem(RSA_PUBLIC).unwrap(),
            Algorithm::RS256,
        )
        .key_with_kid(
            "k2",
            DecodingKey::from_rsa_pem(RSA2_PUBLIC).unwrap(),
            Algorithm::RS256,
        )
        .build()
        .unwrap();
    assert_eq!(
        verify(&layer, &signed(Algorithm::RS256, Some("k1"), &key1)),
        Ok("alice".into())
    );
    assert_eq!(
        verify(&layer, &signed(Algorithm::RS256, Some("k2"), &key2)),
        Ok("alice".into())
    );
    assert_eq!(
        verify(&layer, &signed(Algorithm::RS256, Some("k1"), &key2)),
        Err(AuthError::InvalidSignature)
    );
    assert_eq!(
        verify(&layer, &signed(Algorithm::RS256, Some("K1"), &key1)),
        Err(AuthError::UnknownKey)
    );
    assert_eq!(
        verify(&layer, &signed(Algorithm::RS256, None, &key1)),
        Err(AuthError::UnknownKey)
    );
    for kid in ["../../etc/passwd", "k1' OR '1'='1", "k1\u{0}"] {
        assert_eq!(
            verify(&layer, &signed(Algorithm::RS256, Some(kid), &key1)),
            Err(AuthError::UnknownKey)
        );
    }
}

#[test]
fn a_key_without_kid_serves_tokens_whose_kid_names_no_key() {
    let layer = builder()
        .key_with_kid(
            "k2",
            DecodingKey::from_rsa_pem(RSA2_PUBLIC).unwrap(),
            Algorithm::RS256,
        )
        .public_key_pem(RSA_PUBLIC, Algorithm::RS256)
        .build()
        .unwrap();
    let key1 = encoding_key(Algorithm::RS256);
    assert_eq!(
        verify(&layer, &signed(Algorithm::RS256, None, &key1)),
        Ok("alice".into())
    );
    assert_eq!(
        verify(&layer, &signed(Algorithm::RS256, Some("other"), &key1)),
        Ok("alice".into())
    );
    // A kid that names a key selects that key alone.
    assert_eq!(
        verify(&layer, &signed(Algorithm::RS256, Some("k2"), &key1)),
        Err(AuthError::InvalidSignature)
    );
}

fn jwk_of(alg: Algorithm, kid: &str) -> serde_json::Value {
    tower_jwt_auth::install_crypto_provider().unwrap();
    let mut jwk = Jwk::from_encoding_key(&encoding_key(alg), alg).unwrap();
    jwk.common.key_id = Some(kid.to_owned());
    serde_json::to_value(jwk).unwrap()
}

#[test]
fn a_static_jwks_serves_each_key_for_its_own_algorithm() {
    let mut enc = jwk_of(Algorithm::RS256, "enc");
    enc["use"] = json!("enc");
    let jwks = json!({ "keys": [
        jwk_of(Algorithm::RS256, "rsa"),
        jwk_of(Algorithm::ES256, "ec"),
        jwk_of(Algorithm::EdDSA, "ed"),
        enc,
        { "kty": "EC", "crv": "secp256k1", "kid": "exotic", "x": "AA", "y": "AA" },
    ]});
    let layer = builder().jwks_json(&jwks.to_string()).build().unwrap();
    for (alg, kid) in [
        (Algorithm::RS256, "rsa"),
        (Algorithm::ES256, "ec"),
        (Algorithm::EdDSA, "ed"),
    ] {
        assert_eq!(
            verify(&layer, &signed(alg, Some(kid), &encoding_key(alg))),
            Ok("alice".into()),
            "{kid}"
        );
    }
    // The RSA key is published for RS256: a PS256 token is refused.
    assert_eq!(
        verify(
            &layer,
            &signed(
                Algorithm::PS256,
                Some("rsa"),
                &encoding_key(Algorithm::PS256)
            )
        ),
        Err(AuthError::AlgorithmNotAllowed)
    );
    // The encryption key was skipped.
    assert_eq!(
        verify(
            &layer,
            &signed(
                Algorithm::RS256,
                Some("enc"),
                &encoding_key(Algorithm::RS256)
            )
        ),
        Err(AuthError::UnknownKey)
    );
    let set: JwkSet = serde_json::from_value(jwks).unwrap();
    assert!(builder().jwks(set).build().is_ok());
}

#[test]
fn jwk_mistakes_fail_at_build() {
    let mut no_alg = jwk_of(Algorithm::RS256, "rsa");
    no_alg.as_object_mut().unwrap().remove("alg");
    let jwk: Jwk = serde_json::from_value(no_alg.clone()).unwrap();
    assert_eq!(
        builder().jwk(jwk.clone()).build().unwrap_err(),
        ConfigError::JwkWithoutAlgorithm {
            kid: Some("rsa".into())
        }
    );
    let layer = builder()
        .jwk(jwk)
        .algorithms([Algorithm::RS256])
        .build()
        .unwrap();
    let token = signed(
        Algorithm::RS256,
        Some("rsa"),
        &encoding_key(Algorithm::RS256),
    );
    assert_eq!(verify(&layer, &token), Ok("alice".into()));

    let mut wrong_alg = jwk_of(Algorithm::ES256, "ec");
    wrong_alg["alg"] = json!("ES384");
    let jwk: Jwk = serde_json::from_value(wrong_alg).unwrap();
    assert!(matches!(
        builder().jwk(jwk).build(),
        Err(ConfigError::InvalidKey(_))
    ));

    assert!(matches!(
        builder().jwks_json("{not json").build(),
        Err(ConfigError::InvalidKey(_))
    ));
    assert_eq!(
        builder().jwks_json(r#"{"keys":[]}"#).build().unwrap_err(),
        ConfigError::NoKeys
    );
    assert_eq!(builder().build().unwrap_err(), ConfigError::NoKeys);
    assert_eq!(
        builder()
            .jwk(serde_json::from_value(jwk_of(Algorithm::RS256, "same")).unwrap())
            .jwk(serde_json::from_value(jwk_of(Algorithm::RS256, "same")).unwrap())
            .build()
            .unwrap_err(),
        ConfigError::DuplicateKid("same".into())
    );
}

#[test]
fn malformed_key_material_is_a_config_error_not_a_panic() {
    // Found by fuzzing: a short Ed25519 key made jsonwebtoken's rust-crypto backend panic.
    for x in ["1MN3Yj0iPS4hcgUuTwjAzZr1Z9CAow", "", "AA"] {
        let jwks = json!({ "keys": [{ "kty": "OKP", "crv": "Ed25519", "kid": "d", "x": x }] });
        let built = builder().jwks_json(&jwks.to_string()).build();
        assert!(matches!(built, Err(ConfigError::InvalidKey(_))), "{x:?}");
    }
    let built = builder()
        .public_key_der([0u8; 31], Algorithm::EdDSA)
        .build();
    assert!(matches!(built, Err(ConfigError::InvalidKey(_))));
}

#[test]
fn the_allow_list_bounds_the_keys() {
    assert_eq!(
        builder()
            .public_key_pem(RSA_PUBLIC, Algorithm::RS256)
            .algorithms([Algorithm::ES256])
            .build()
            .unwrap_err(),
        ConfigError::AlgorithmNotAllowed {
            algorithm: Algorithm::RS256
        }
    );
    let layer = builder()
        .public_key_pem(RSA_PUBLIC, Algorithm::RS256)
        .public_key_pem(EC_PUBLIC, Algorithm::ES256)
        .algorithms([Algorithm::RS256, Algorithm::ES256])
        .build()
        .unwrap();
    assert!(
        verify(
            &layer,
            &signed(Algorithm::ES256, None, &encoding_key(Algorithm::ES256))
        )
        .is_ok()
    );
    assert_eq!(
        verify(
            &layer,
            &signed(Algorithm::PS256, None, &encoding_key(Algorithm::PS256))
        ),
        Err(AuthError::AlgorithmNotAllowed)
    );
}

fn hs() -> tower_jwt_auth::JwtAuthBuilder<TestClaims> {
    builder().hmac_secret(SECRET, Algorithm::HS256)
}

#[test]
fn issuer_audience_and_required_claims() {
    let layer = hs()
        .issuer("https://issuer")
        .audience("api")
        .build()
        .unwrap();
    let t = |claims| mint(&claims);
    let exp = now() + 600;
    assert_eq!(
        verify(
            &layer,
            &t(json!({"sub":"a","exp":exp,"iss":"https://issuer","aud":"api"}))
        ),
        Ok("a".into())
    );
    assert_eq!(
        verify(
            &layer,
            &t(json!({"exp":exp,"iss":"https://other","aud":"api"}))
        ),
        Err(AuthError::InvalidIssuer)
    );
    assert_eq!(
        verify(
            &layer,
            &t(json!({"exp":exp,"iss":"https://issuer","aud":["web"]}))
        ),
        Err(AuthError::InvalidAudience)
    );
    assert_eq!(
        verify(&layer, &t(json!({"exp":exp,"aud":"api"}))),
        Err(AuthError::MissingClaim)
    );

    let layer = hs()
        .required_claims([Claim::Exp, Claim::Sub, Claim::Jti])
        .build()
        .unwrap();
    assert_eq!(
        verify(&layer, &t(json!({"sub":"a","exp":exp}))),
        Err(AuthError::MissingClaim)
    );
    assert_eq!(
        verify(&layer, &t(json!({"sub":"a","exp":exp,"jti":"1"}))),
        Ok("a".into())
    );

    let no_exp = hs().required_claims([]).build().unwrap();
    assert_eq!(verify(&no_exp, &t(json!({"sub":"a"}))), Ok("a".into()));
}

#[test]
fn audience_without_configuration_is_refused_unless_relaxed() {
    let token = mint(&json!({"sub":"a","exp":now() + 600,"aud":"someone"}));
    assert_eq!(
        verify(&hs().build().unwrap(), &token),
        Err(AuthError::InvalidAudience)
    );
    assert_eq!(
        verify(&hs().accept_any_audience().build().unwrap(), &token),
        Ok("a".into())
    );
}

#[test]
fn a_required_type_keeps_other_tokens_of_the_issuer_out() {
    let layer = hs().required_typ("at+jwt").build().unwrap();
    let typed = |typ: Option<&str>| {
        let mut header = Header::new(Algorithm::HS256);
        header.typ = typ.map(str::to_owned);
        mint_with(
            &header,
            &valid_claims(),
            &EncodingKey::from_secret(SECRET).unwrap(),
        )
    };
    assert_eq!(verify(&layer, &typed(Some("at+jwt"))), Ok("alice".into()));
    assert_eq!(
        verify(&layer, &typed(Some("application/at+jwt"))),
        Ok("alice".into())
    );
    for typ in [Some("JWT"), Some("refresh+jwt"), None] {
        assert_eq!(
            verify(&layer, &typed(typ)),
            Err(AuthError::InvalidType),
            "{typ:?}"
        );
    }
}

#[test]
fn maximum_age_and_lifetime() {
    let t = |claims| mint(&claims);
    let now = now();
    let aged = hs()
        .leeway(std::time::Duration::ZERO)
        .max_token_age(std::time::Duration::from_secs(300))
        .build()
        .unwrap();
    assert_eq!(
        verify(&aged, &t(json!({"sub":"a","exp":now + 600,"iat":now - 10}))),
        Ok("a".into())
    );
    assert_eq!(
        verify(
            &aged,
            &t(json!({"sub":"a","exp":now + 600,"iat":now - 400}))
        ),
        Err(AuthError::TooOld)
    );
    assert_eq!(
        verify(
            &aged,
            &t(json!({"sub":"a","exp":now + 600,"iat":now + 400}))
        ),
        Err(AuthError::NotYetValid)
    );
    assert_eq!(
        verify(&aged, &t(json!({"sub":"a","exp":now + 600}))),
        Err(AuthError::MissingClaim)
    );

    let short = hs()
        .max_token_lifetime(std::time::Duration::from_secs(900))
        .build()
        .unwrap();
    assert_eq!(
        verify(&short, &t(json!({"sub":"a","exp":now + 600,"iat":now}))),
        Ok("a".into())
    );
    assert_eq!(
        verify(&short, &t(json!({"sub":"a","exp":now + 86_400,"iat":now}))),
        Err(AuthError::LifetimeTooLong)
    );
    assert_eq!(
        verify(&short, &t(json!({"sub":"a","exp":now + 600}))),
        Err(AuthError::MissingClaim)
    );
}

#[test]
fn leeway_applies_to_exp_and_nbf() {
    let strict = hs().leeway(std::time::Duration::ZERO).build().unwrap();
    let lenient = hs()
        .leeway(std::time::Duration::from_secs(120))
        .build()
        .unwrap();
    let just_expired = mint(&json!({"sub":"a","exp":now() - 60}));
    let soon_valid = mint(&json!({"sub":"a","exp":now() + 600,"nbf":now() + 60}));
    assert_eq!(verify(&strict, &just_expired), Err(AuthError::Expired));
    assert_eq!(verify(&lenient, &just_expired), Ok("a".into()));
    assert_eq!(verify(&strict, &soon_valid), Err(AuthError::NotYetValid));
    assert_eq!(verify(&lenient, &soon_valid), Ok("a".into()));
    assert_eq!(
        hs().leeway(std::time::Duration::from_secs(3600))
            .build()
            .unwrap_err(),
        ConfigError::LeewayTooLarge { seconds: 3600 }
    );
}

// Issue #13: RFC 7519 §2 — "a JSON numeric value … non-integer values can be represented".
// Some libraries write `exp` and `iat` with a fraction (python-jose and PyJWT from a float
// `time.time()`, for instance); such tokens were refused as `invalid_claim`.
#[test]
fn non_integer_dates_pass_through_the_layer_and_reach_the_claims_in_whole_seconds() {
    #[derive(Clone, serde::Deserialize)]
    struct Plain {
        exp: u64,
        iat: u64,
    }
    let now = now();
    let exact = || {
        JwtAuthLayer::<Plain>::builder()
            .hmac_secret(SECRET, Algorithm::HS256)
            .leeway(std::time::Duration::ZERO)
    };
    let layer = exact().build().unwrap();
    let token = mint(&json!({ "sub": "a", "exp": now as f64 + 0.5, "iat": now as f64 - 0.25 }));
    let claims = layer.verify(&token).unwrap();
    // A plain `u64` field reads it: `exp` rounded up, `iat` down.
    assert_eq!((claims.exp, claims.iat), (now + 1, now - 1));
    let expired = mint(&json!({ "sub": "a", "exp": now as f64 - 0.5 }));
    assert_eq!(layer.verify(&expired).err(), Some(AuthError::Expired));
    // The claims type that flattens `RegisteredClaims` reads them too.
    assert_eq!(verify(&hs().build().unwrap(), &token), Ok("a".into()));
}

#[test]
fn tampering_with_header_or_payload_breaks_the_signature() {
    let layer = hs().build().unwrap();
    let token = mint(&valid_claims());
    let parts: Vec<&str> = token.split('.').collect();
    let evil_payload = b64(json!({"sub":"mallory","exp":now() + 600}).to_string());
    let evil_header = b64(r#"{"alg":"HS256","typ":"JWT","kid":"x"}"#);
    assert_eq!(
        verify(
            &layer,
            &format!("{}.{}.{}", parts[0], evil_payload, parts[2])
        ),
        Err(AuthError::InvalidSignature)
    );
    assert_eq!(
        verify(
            &layer,
            &format!("{}.{}.{}", evil_header, parts[1], parts[2])
        ),
        Err(AuthError::InvalidSignature)
    );
    assert_eq!(
        verify(&layer, &format!("{}.{}.", parts[0], parts[1])),
        Err(AuthError::InvalidSignature)
    );
    assert_eq!(
        verify(&layer, &format!("{}.{}", parts[0], parts[1])),
        Err(AuthError::MalformedToken)
    );
}

#[test]
fn claims_of_the_wrong_type_or_shape_are_refused() {
    let layer = hs().build().unwrap();
    let header = r#"{"alg":"HS256"}"#;
    for payload in [
        r#"{"sub":"a","exp":"9999999999"}"#.to_owned(),
        r#"{"sub":"a","exp":null}"#.to_owned(),
        format!(r#"{{"sub":"a","exp":-{}.5}}"#, now() + 600),
        format!(r#"{{"sub":"a","exp":{},"nbf":"0"}}"#, now() + 600),
        format!(r#"{{"sub":7,"exp":{}}}"#, now() + 600),
        format!(r#"[{}]"#, now() + 600),
        "not json".to_owned(),
    ] {
        assert_eq!(
            verify(&layer, &sign_raw(header, &payload)),
            Err(AuthError::InvalidClaims),
            "{payload}"
        );
    }
}

#[test]
fn the_claims_type_decides_the_rest() {
    #[derive(Clone, Debug, Deserialize)]
    struct Strict {
        #[allow(dead_code)]
        exp: u64,
        #[allow(dead_code)]
        role: String,
    }
    let layer = JwtAuthLayer::<Strict>::builder()
        .hmac_secret(SECRET, Algorithm::HS256)
        .build()
        .unwrap();
    let exp = now() + 600;
    assert!(
        layer
            .verify(&mint(&json!({"exp":exp,"role":"admin"})))
            .is_ok()
    );
    assert_eq!(
        layer.verify(&mint(&json!({"exp":exp}))).unwrap_err(),
        AuthError::InvalidClaims
    );
    // A missing exp is reported as such, not as the claims type's decoding error.
    assert_eq!(
        layer.verify(&mint(&json!({"role":"admin"}))).unwrap_err(),
        AuthError::MissingClaim
    );
}

#[test]
fn oversized_tokens_are_refused_before_decoding() {
    let layer = hs().max_token_size(64).build().unwrap();
    let token = mint(&valid_claims());
    assert!(token.len() > 64);
    assert_eq!(verify(&layer, &token), Err(AuthError::TokenTooLarge));
    assert_eq!(
        verify(&hs().build().unwrap(), &".".repeat(100_000)),
        Err(AuthError::TokenTooLarge)
    );
    assert_eq!(
        hs().max_token_size(3).build().unwrap_err(),
        ConfigError::MaxTokenSizeTooSmall
    );
}

/// Issue #21: a token source of one's own — here the WebSocket subprotocol workaround,
/// `Sec-WebSocket-Protocol: access_token, <token>` — beside the others, with their rules:
/// one token per request.
#[tokio::test]
async fn a_custom_token_source_reads_what_the_others_do_not() {
    fn subprotocol(headers: &http::HeaderMap) -> Option<&str> {
        let value = headers.get("sec-websocket-protocol")?.to_str().ok()?;
        let mut protocols = value.split(',').map(str::trim);
        protocols.find(|p| *p == "access_token")?;
        protocols.next()
    }
    let layer = JwtAuthLayer::<serde_json::Value>::builder()
        .hmac_secret(SECRET, Algorithm::HS256)
        .token_sources([
            TokenSource::Bearer,
            TokenSource::custom("websocket-protocol", subprotocol),
        ])
        .build()
        .unwrap();
    let app = ok_behind(layer);
    let token = mint(&valid_claims());
    let protocols = format!("access_token, {token}");
    let answer = call(&app, "/", &[("sec-websocket-protocol", &protocols)]).await;
    assert_eq!(answer.status, 200);
    let other = call(&app, "/", &[("sec-websocket-protocol", "chat, superchat")]).await;
    assert_eq!(other.status, 401);
    let both = call(
        &app,
        "/",
        &[
            ("sec-websocket-protocol", &protocols),
            ("authorization", &bearer(&token)),
        ],
    )
    .await;
    assert_eq!(both.status, 400, "two tokens");
    assert_eq!(
        TokenSource::custom("websocket-protocol", subprotocol),
        TokenSource::custom("websocket-protocol", |_| None),
        "compared by name"
    );
}

#[test]
fn other_configuration_mistakes_fail_at_build() {
    assert_eq!(
        hs().realm("a\"b").build().unwrap_err(),
        ConfigError::InvalidRealm
    );
    assert_eq!(
        hs().token_sources([]).build().unwrap_err(),
        ConfigError::NoTokenSources
    );
    assert!(matches!(
        hs().token_sources([TokenSource::cookie("bad name")])
            .build(),
        Err(ConfigError::InvalidTokenSource(_))
    ));
    assert_eq!(
        hs().issuer("").build().unwrap_err(),
        ConfigError::EmptyClaimValue("issuer")
    );
    assert_eq!(
        hs().audience("").build().unwrap_err(),
        ConfigError::EmptyClaimValue("audience")
    );
}

#[test]
fn debug_output_never_shows_the_secret() {
    let layer = hs().build().unwrap();
    let debug = format!("{layer:?}");
    assert!(debug.contains("JwtAuthLayer"));
    assert!(!debug.contains(std::str::from_utf8(SECRET).unwrap()));
    assert!(!debug.contains(&format!("{:?}", SECRET)));
}

/// Builders are `Clone` (issue #21): a shared base configuration, specialised per layer,
/// each clone independent of the other.
#[test]
fn a_cloned_builder_configures_a_layer_of_its_own() {
    let base = builder().hmac_secret(SECRET, Algorithm::HS256);
    let for_a = base.clone().audience("a").build_verifier().unwrap();
    let for_b = base.audience("b").build_verifier().unwrap();
    let token = mint(&json!({ "sub": "alice", "aud": "a", "exp": now() + 60 }));
    assert!(for_a.verify(&token).is_ok());
    assert!(for_b.verify(&token).is_err());

    let issuer = tower_jwt_auth::issue::TokenIssuer::hmac(SECRET, Algorithm::HS256);
    let one = issuer.clone().issuer("one").build().unwrap();
    let two = issuer.issuer("two").build().unwrap();
    let minted = one.issue(&json!({ "sub": "alice" })).unwrap();
    assert!(
        one.layer::<TestClaims>()
            .unwrap()
            .verifier()
            .verify(&minted)
            .is_ok()
    );
    assert!(
        two.layer::<TestClaims>()
            .unwrap()
            .verifier()
            .verify(&minted)
            .is_err()
    );
}
