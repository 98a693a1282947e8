//! Properties, checked on generated inputs: whatever a client puts wherever a token may be,
//! the layer answers with a well-formed RFC 6750 response and never panics; a token the
//! crate's tooling mints always verifies; any single-bit or single-character change to a
//! valid token is refused.

use std::convert::Infallible;

use crate::common::*;
use bytes::Bytes;
use http::{HeaderValue, Request, Response};
use http_body_util::Full;
use proptest::prelude::*;
use serde_json::json;
use tower::{Layer, ServiceExt};
use tower_jwt_auth::{Algorithm, JwtAuthLayer, TokenSource};

fn layer() -> JwtAuthLayer<TestClaims> {
    JwtAuthLayer::builder()
        .hmac_secret(SECRET, Algorithm::HS256)
        .public_key_pem(EC_PUBLIC, Algorithm::ES256)
        .token_sources([
            TokenSource::Bearer,
            TokenSource::cookie("jwt"),
            TokenSource::header(http::HeaderName::from_static("x-token")),
            TokenSource::query("access_token"),
        ])
        .build()
        .unwrap()
}

/// Sends a request with these headers and query through the layer, synchronously.
fn answer(
    layer: &JwtAuthLayer<TestClaims>,
    headers: &[(&str, HeaderValue)],
    query: &str,
) -> Response<Full<Bytes>> {
    let inner = tower::service_fn(|_req: Request<Full<Bytes>>| async {
        Ok::<_, Infallible>(Response::new(Full::default()))
    });
    let mut req = Request::get(format!("/?{query}"));
    for (name, value) in headers {
        req = req.header(*name, value.clone());
    }
    let future = layer
        .layer(inner)
        .oneshot(req.body(Full::default()).unwrap());
    // Every future of the layer here is ready at once: no runtime needed.
    let mut future = std::pin::pin!(future);
    let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
    match future.as_mut().poll(&mut cx) {
        std::task::Poll::Ready(res) => res.unwrap(),
        std::task::Poll::Pending => panic!("the layer waited on a static key set"),
    }
}

/// The RFC 6750 §3 shape of a rejection: status, and a challenge that fits the grammar.
fn assert_rfc6750(res: &Response<Full<Bytes>>) {
    let status = res.status().as_u16();
    assert!(matches!(status, 200 | 400 | 401), "status {status}");
    if status == 200 {
        return;
    }
    let challenge = res.headers()["www-authenticate"].to_str().unwrap();
    let rest = challenge
        .strip_prefix("Bearer realm=\"api\"")
        .expect("a Bearer challenge");
    if rest.is_empty() {
        assert_eq!(status, 401, "no error code only for a missing token");
        return;
    }
    let code = if status == 400 {
        "invalid_request"
    } else {
        "invalid_token"
    };
    let description = rest
        .strip_prefix(&format!(", error=\"{code}\", error_description=\""))
        .and_then(|d| d.strip_suffix('"'))
        .unwrap_or_else(|| panic!("malformed challenge {challenge:?}"));
    assert!(
        description
            .bytes()
            .all(|b| (0x20..=0x7e).contains(&b) && b != b'"' && b != b'\\')
    );
}

/// Bytes that a header value may hold (HTTP refuses controls other than tab, and DEL).
fn header_bytes() -> impl Strategy<Value = Vec<u8>> {
    prop::collection::vec(
        prop_oneof![Just(b'\t'), 0x20u8..0x7f, 0x80u8..=0xff],
        0..400,
    )
}

/// A base64url-ish token: the characters of real tokens, dots, and some others.
fn token_like() -> impl Strategy<Value = String> {
    "[A-Za-z0-9_\\-.=+/ ~]{0,400}"
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn any_bytes_in_any_source_get_a_well_formed_answer(
        bytes in header_bytes(),
        token in token_like(),
        prefix in prop_oneof![Just("Bearer "), Just("bearer  "), Just(""), Just("Basic ")],
        query in "[A-Za-z0-9_\\-.=&%]{0,200}",
    ) {
        let layer = layer();
        let raw = HeaderValue::from_bytes(&bytes).unwrap();
        let bearer = HeaderValue::from_bytes(format!("{prefix}{token}").as_bytes()).unwrap();
        for headers in [
            vec![("authorization", raw.clone())],
            vec![("authorization", bearer.clone())],
            vec![("cookie", raw.clone())],
            vec![("x-token", raw.clone())],
            vec![("authorization", bearer.clone()), ("cookie", raw.clone())],
        ] {
            assert_rfc6750(&answer(&layer, &headers, ""));
        }
        assert_rfc6750(&answer(&layer, &[], &query));
        assert_rfc6750(&answer(&layer, &[], &format!("access_token={token}").replace(' ', "+")));
        // The direct API never panics either.
        let _ = layer.verify(&token);
        let _ = layer.verify(&String::from_utf8_lossy(&bytes));
    }

    #[test]
    fn a_minted_token_always_verifies(
        sub in "\\PC{0,40}",
        role in proptest::option::of("[a-z]{1,12}"),
        lifetime in 60u64..100_000,
        es256 in any::<bool>(),
    ) {
        let layer = layer();
        let mut claims = json!({ "sub": sub, "exp": now() + lifetime });
        if let Some(role) = &role {
            claims["role"] = json!(role);
        }
        let token = if es256 {
            mint_with(&tower_jwt_auth::jsonwebtoken::Header::new(Algorithm::ES256), &claims, &encoding_key(Algorithm::ES256))
        } else {
            mint(&claims)
        };
        let verified = layer.verify(&token).unwrap();
        prop_assert_eq!(verified.registered.sub.as_deref(), Some(sub.as_str()));
        prop_assert_eq!(verified.role, role);
        let res = answer(&layer, &[("authorization", HeaderValue::try_from(bearer(&token)).unwrap())], "");
        prop_assert_eq!(res.status().as_u16(), 200);
    }

    #[test]
    fn flipping_any_bit_of_a_valid_token_is_refused(index in any::<prop::sample::Index>(), bit in 0u8..8) {
        let layer = layer();
        let token = mint(&valid_claims());
        let mut bytes = token.into_bytes();
        let at = index.index(bytes.len());
        bytes[at] ^= 1 << bit;
        match HeaderValue::from_bytes(&[b"Bearer ".as_slice(), &bytes].concat()) {
            Ok(value) => {
                let res = answer(&layer, &[("authorization", value)], "");
                prop_assert_ne!(res.status().as_u16(), 200);
                assert_rfc6750(&res);
            }
            // A control character cannot travel in a header; the direct API still refuses it.
            Err(_) => prop_assert!(layer.verify(&String::from_utf8_lossy(&bytes)).is_err()),
        }
    }

    #[test]
    fn changing_any_character_of_a_valid_token_is_refused(index in any::<prop::sample::Index>(), c in "[A-Za-z0-9_\\-.]") {
        let layer = layer();
        let token = mint(&valid_claims());
        let at = index.index(token.len());
        prop_assume!(&token[at..at + 1] != c.as_str());
        let changed = format!("{}{}{}", &token[..at], c, &token[at + 1..]);
        prop_assert!(layer.verify(&changed).is_err(), "{} was accepted", changed);
    }
}
