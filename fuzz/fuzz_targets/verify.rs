//! Any string as a token, against a layer holding one key of each type (HMAC, RSA, EC,
//! Ed25519): no panic, and never accepted (no key's private half is known to the fuzzer).
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use tower_jwt_auth::{Algorithm, JwtAuthLayer};

fn layer() -> &'static JwtAuthLayer<serde_json::Value> {
    static LAYER: OnceLock<JwtAuthLayer<serde_json::Value>> = OnceLock::new();
    LAYER.get_or_init(|| {
        let data = |f: &str| std::fs::read(format!("{}/../tests/data/{f}", env!("CARGO_MANIFEST_DIR"))).unwrap();
        JwtAuthLayer::builder()
            .hmac_secret(b"fuzz-secret-of-at-least-thirty-two-bytes", Algorithm::HS256)
            .public_key_pem(data("rsa_public.pem"), Algorithm::RS256)
            .public_key_pem(data("ec_public.pem"), Algorithm::ES256)
            .public_key_pem(data("ed_public.pem"), Algorithm::EdDSA)
            .leeway(std::time::Duration::from_secs(300))
            .accept_any_audience()
            .build()
            .unwrap()
    })
}

fuzz_target!(|data: &[u8]| {
    let Ok(token) = std::str::from_utf8(data) else { return };
    // The seed corpus holds valid tokens signed by the test keys, which the fuzzer mutates;
    // a token that verifies must be one of them, byte for byte.
    if layer().verify(token).is_ok() {
        let seeds = include_str!("../seeds/valid-tokens.txt");
        assert!(seeds.lines().any(|seed| seed == token), "accepted a forged token: {token:?}");
    }
});
