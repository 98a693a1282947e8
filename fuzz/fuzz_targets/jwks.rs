//! Any text as a JWKS document, as the builder and the remote-key refresh read it: no panic,
//! a layer or a `ConfigError`.
#![no_main]

use libfuzzer_sys::fuzz_target;
use tower_jwt_auth::{Algorithm, JwtAuthLayer, RegisteredClaims};

fuzz_target!(|data: &[u8]| {
    let Ok(json) = std::str::from_utf8(data) else { return };
    let strict = JwtAuthLayer::<RegisteredClaims>::builder().jwks_json(json).build();
    let listed = JwtAuthLayer::<RegisteredClaims>::builder()
        .jwks_json(json)
        .algorithms([Algorithm::RS256, Algorithm::ES256, Algorithm::HS256, Algorithm::EdDSA])
        .build();
    if let Ok(layer) = strict.and(listed) {
        let _ = layer.verify("eyJhbGciOiJSUzI1NiJ9.e30.AAAA");
    }
});
