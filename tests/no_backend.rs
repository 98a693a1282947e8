//! Whatever Cargo's feature unification does, building a layer never panics: with no crypto
//! backend compiled in (`--no-default-features`) it fails with a `ConfigError` that says what
//! to do; with one or both, it succeeds.

use tower_jwt_auth::{Algorithm, ConfigError, JwtAuthLayer, RegisteredClaims};

fn build() -> Result<JwtAuthLayer<RegisteredClaims>, ConfigError> {
    JwtAuthLayer::builder()
        .hmac_secret(
            b"test-secret-of-at-least-thirty-two-bytes!",
            Algorithm::HS256,
        )
        .build()
}

#[cfg(not(any(feature = "aws-lc-rs", feature = "rust-crypto")))]
#[test]
fn without_a_backend_build_says_what_to_enable() {
    let err = build().unwrap_err();
    assert_eq!(err, ConfigError::NoCryptoProvider);
    let message = err.to_string();
    assert!(
        message.contains("aws-lc-rs") && message.contains("rust-crypto"),
        "{message}"
    );
}

#[cfg(any(feature = "aws-lc-rs", feature = "rust-crypto"))]
#[test]
fn with_a_backend_build_succeeds() {
    let layer = build().unwrap();
    assert_eq!(
        layer.verify("a.b.c").unwrap_err(),
        tower_jwt_auth::AuthError::MalformedToken
    );
}
