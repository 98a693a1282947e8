//! The attack suite: every known way to get a forged, altered or malformed JWT past a
//! verifier, each crafted here and each asserted to get its exact RFC 6750 rejection without
//! the inner service ever running. A second test replays the whole suite with a `tracing`
//! subscriber capturing every log line, and checks that no token, signature or secret leaks.

use std::convert::Infallible;
use std::sync::{Arc, Mutex};

use crate::common::*;
use bytes::Bytes;
use http::{HeaderName, HeaderValue, Request, Response};
use http_body_util::Full;
use serde_json::json;
use tower::{Layer, ServiceExt};
use tower_jwt_auth::jsonwebtoken::Header;
use tower_jwt_auth::{Algorithm, AuthError, EncodingKey, JwtAuthLayer, TokenSource};

/// One request: its headers and query, and the rejection it must get (`None`: it must pass).
struct Case {
    name: String,
    headers: Vec<(HeaderName, HeaderValue)>,
    query: String,
    expect: Option<AuthError>,
}

fn case(name: impl Into<String>, token: &str, expect: AuthError) -> Case {
    raw(name, format!("Bearer {token}").as_bytes(), expect)
}

fn raw(name: impl Into<String>, value: &[u8], expect: AuthError) -> Case {
    Case {
        name: name.into(),
        headers: vec![(
            http::header::AUTHORIZATION,
            HeaderValue::from_bytes(value).unwrap(),
        )],
        query: String::new(),
        expect: Some(expect),
    }
}

/// The layer under attack: an HMAC secret for HS256 and the RSA, EC and Ed25519 public keys,
/// each for its own algorithm; the token may also come in the `access_token` query parameter.
fn layer() -> JwtAuthLayer<TestClaims> {
    JwtAuthLayer::builder()
        .hmac_secret(SECRET, Algorithm::HS256)
        .public_key_pem(RSA_PUBLIC, Algorithm::RS256)
        .public_key_pem(EC_PUBLIC, Algorithm::ES256)
        .public_key_pem(ED_PUBLIC, Algorithm::EdDSA)
        .token_sources([TokenSource::Bearer, TokenSource::query("access_token")])
        .build()
        .unwrap()
}

const P256_ORDER: [u8; 32] = [
    0xFF, 0xFF, 0xFF, 0xFF, 0x00, 0x00, 0x00, 0x00, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF,
    0xBC, 0xE6, 0xFA, 0xAD, 0xA7, 0x17, 0x9E, 0x84, 0xF3, 0xB9, 0xCA, 0xC2, 0xFC, 0x63, 0x25, 0x51,
];

/// A fixed-size ECDSA signature `r || s` re-encoded as ASN.1 DER.
fn der_signature(fixed: &[u8]) -> Vec<u8> {
    let int = |half: &[u8]| {
        let trimmed: Vec<u8> = half.iter().copied().skip_while(|b| *b == 0).collect();
        let mut v = if trimmed.first().is_some_and(|b| b & 0x80 != 0) {
            vec![0]
        } else {
            vec![]
        };
        v.extend(trimmed);
        let mut out = vec![0x02, v.len() as u8];
        out.extend(v);
        out
    };
    let (r, s) = fixed.split_at(fixed.len() / 2);
    let body = [int(r), int(s)].concat();
    [vec![0x30, body.len() as u8], body].concat()
}

fn cases() -> Vec<Case> {
    let claims = valid_claims();
    let payload = claims.to_string();
    let hs = mint(&claims);
    let es = mint_with(
        &Header::new(Algorithm::ES256),
        &claims,
        &encoding_key(Algorithm::ES256),
    );
    let (hs_input, hs_sig) = hs.rsplit_once('.').unwrap();
    let (es_input, es_sig) = es.rsplit_once('.').unwrap();
    let es_sig = unb64(es_sig);
    let mut cases = Vec::new();

    // alg: none, in every spelling, with and without a signature.
    for alg in ["none", "None", "NONE", "nOnE", "NoNe"] {
        let header = format!(r#"{{"alg":"{alg}","typ":"JWT"}}"#);
        cases.push(case(
            format!("alg {alg}, no signature"),
            &forge(&header, &payload, b""),
            AuthError::AlgorithmNone,
        ));
        cases.push(case(
            format!("alg {alg}, HS256 signature"),
            &sign_raw(&header, &payload),
            AuthError::AlgorithmNone,
        ));
    }
    cases.push(case(
        "alg none, signature segment dropped",
        &format!("{}.{}", b64(r#"{"alg":"none"}"#), b64(&payload)),
        AuthError::MalformedToken,
    ));

    // HMAC keyed with a public key: the key-confusion attack, every key format.
    let strip_newline = |pem: &[u8]| pem.strip_suffix(b"\n").unwrap_or(pem).to_vec();
    let public_keys: Vec<(&str, Vec<u8>)> = vec![
        ("RSA PEM", RSA_PUBLIC.to_vec()),
        ("RSA PEM without final newline", strip_newline(RSA_PUBLIC)),
        ("RSA PKCS#1 DER", RSA_PUBLIC_PKCS1_DER.to_vec()),
        ("EC PEM", EC_PUBLIC.to_vec()),
        ("EC PEM without final newline", strip_newline(EC_PUBLIC)),
        ("EC point", EC_PUBLIC_POINT.to_vec()),
        ("Ed25519 PEM", ED_PUBLIC.to_vec()),
        (
            "Ed25519 PEM without final newline",
            strip_newline(ED_PUBLIC),
        ),
        ("Ed25519 raw key", ED_PUBLIC_RAW.to_vec()),
    ];
    for (what, bytes) in public_keys {
        let key = EncodingKey::from_secret(&bytes).unwrap();
        for alg in [Algorithm::HS256, Algorithm::HS384, Algorithm::HS512] {
            let token = mint_with(&Header::new(alg), &claims, &key);
            // HS256 is allowed, for the secret only: the signature fails. HS384/512 are not.
            let expect = if alg == Algorithm::HS256 {
                AuthError::InvalidSignature
            } else {
                AuthError::AlgorithmNotAllowed
            };
            cases.push(case(
                format!("{alg:?} keyed with the {what}"),
                &token,
                expect,
            ));
        }
    }

    // Keys and key URLs carried by the token.
    let jwk = json!({ "kty": "oct", "k": b64(b"attacker-chosen-secret-of-32-bytes!!") });
    for (member, value) in [
        ("jwk", jwk),
        ("jku", json!(JKU_URL)),
        ("x5u", json!(JKU_URL)),
        (
            "x5c",
            json!(["MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA"]),
        ),
    ] {
        let header = json!({ "alg": "HS256", member: value }).to_string();
        cases.push(case(
            format!("{member} in the header"),
            &sign_raw(&header, &payload),
            AuthError::EmbeddedKey,
        ));
    }

    // kid path traversal and injection: no key has these ids, no key without id serves HS384.
    for kid in [
        "../../../../dev/null",
        "/etc/passwd",
        "' OR '1'='1",
        "k1\"; DROP TABLE keys; --",
        "\u{0}",
        "%00",
        "*",
    ] {
        let header = json!({ "alg": "HS256", "kid": kid }).to_string();
        // A kid that names no key falls back to the key without kid (documented): signed
        // with the real secret, the token is valid and must pass; nothing else is reached.
        let mut signed = case(
            format!("kid {kid:?}, signed"),
            &sign_raw(&header, &payload),
            AuthError::InvalidSignature,
        );
        signed.expect = None;
        cases.push(signed);
        let forged = forge(&header, &payload, &[0; 32]);
        cases.push(case(
            format!("kid {kid:?}, forged"),
            &forged,
            AuthError::InvalidSignature,
        ));
    }

    // ECDSA: the psychic signature (CVE-2022-21449) and DER-encoded signatures.
    let es_header = r#"{"alg":"ES256","typ":"JWT"}"#;
    cases.push(case(
        "ES256 r = s = 0",
        &forge(es_header, &payload, &[0; 64]),
        AuthError::InvalidSignature,
    ));
    cases.push(case(
        "ES256 r = s = n",
        &forge(es_header, &payload, &[P256_ORDER, P256_ORDER].concat()),
        AuthError::InvalidSignature,
    ));
    cases.push(case(
        "ES256 DER signature",
        &format!("{es_input}.{}", b64(der_signature(&es_sig))),
        AuthError::InvalidSignature,
    ));

    // Signatures: empty, truncated, zeroed, extended.
    let hs_raw = unb64(hs_sig);
    cases.push(case(
        "empty signature",
        &format!("{hs_input}."),
        AuthError::InvalidSignature,
    ));
    cases.push(case(
        "truncated signature",
        &format!("{hs_input}.{}", b64(&hs_raw[..16])),
        AuthError::InvalidSignature,
    ));
    cases.push(case(
        "zeroed signature",
        &format!("{hs_input}.{}", b64([0u8; 32])),
        AuthError::InvalidSignature,
    ));
    cases.push(case(
        "extended signature",
        &format!("{hs_input}.{}", b64([hs_raw.as_slice(), &[0]].concat())),
        AuthError::InvalidSignature,
    ));
    cases.push(case(
        "ES256 truncated",
        &format!("{es_input}.{}", b64(&es_sig[..63])),
        AuthError::InvalidSignature,
    ));

    // Tampering.
    let (hs_header, _) = hs_input.split_once('.').unwrap();
    let evil = b64(json!({ "sub": "admin", "exp": now() + 600, "role": "admin" }).to_string());
    cases.push(case(
        "payload swapped",
        &format!("{hs_header}.{evil}.{hs_sig}"),
        AuthError::InvalidSignature,
    ));
    let other_header = b64(r#"{"alg":"HS256","typ":"JWT","kid":"x"}"#);
    let (_, hs_payload) = hs_input.split_once('.').unwrap();
    cases.push(case(
        "header swapped",
        &format!("{other_header}.{hs_payload}.{hs_sig}"),
        AuthError::InvalidSignature,
    ));

    // Segment counts and JWE.
    for (what, token) in [
        ("one segment", b64("{}")),
        ("two segments", hs_input.to_owned()),
        ("four segments", format!("{hs}.{hs_sig}")),
        (
            "JWE (five segments)",
            format!(
                "{}.AAAA.AAAA.AAAA.AAAA",
                b64(r#"{"alg":"RSA-OAEP","enc":"A256GCM"}"#)
            ),
        ),
        ("dots only", "..".to_owned()),
    ] {
        cases.push(case(what, &token, AuthError::MalformedToken));
    }

    // Base64url variants: padding, the standard alphabet, non-canonical trailing bits.
    cases.push(case(
        "padded signature",
        &format!("{hs}="),
        AuthError::MalformedToken,
    ));
    let standard = hs.replace('-', "+").replace('_', "/");
    if standard != hs {
        cases.push(case(
            "standard alphabet",
            &standard,
            AuthError::MalformedToken,
        ));
    }
    // The last character of a 43-character HS256 signature carries 2 unused bits, zero in
    // the one canonical encoding: setting the lowest gives another string for the same bytes.
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut bits = hs.clone().into_bytes();
    let last = bits.last_mut().unwrap();
    let index = ALPHABET.iter().position(|c| c == last).unwrap();
    *last = ALPHABET[index | 1];
    cases.push(case(
        "non-canonical last character",
        std::str::from_utf8(&bits).unwrap(),
        AuthError::MalformedToken,
    ));

    // Whitespace and control characters.
    cases.push(raw(
        "space inside",
        format!("Bearer {} {}", hs_input, hs_sig).as_bytes(),
        AuthError::MalformedRequest,
    ));
    cases.push(raw(
        "tab after the scheme",
        format!("Bearer\t{hs}").as_bytes(),
        AuthError::MalformedRequest,
    ));
    cases.push(raw(
        "tab inside",
        format!("Bearer {hs_input}\t.{hs_sig}").as_bytes(),
        AuthError::MalformedRequest,
    ));
    cases.push(raw(
        "non-ASCII byte",
        [b"Bearer ".as_slice(), hs.as_bytes(), &[0xC3, 0xA9]]
            .concat()
            .as_slice(),
        AuthError::MalformedRequest,
    ));
    cases.push(raw(
        "comma",
        format!("Bearer {hs}, Bearer {hs}").as_bytes(),
        AuthError::MalformedRequest,
    ));

    // crit and b64.
    for (header, expect) in [
        (
            r#"{"alg":"HS256","crit":["exp"],"exp":1}"#,
            AuthError::CriticalHeader,
        ),
        (
            r#"{"alg":"HS256","crit":["unknown"],"unknown":true}"#,
            AuthError::CriticalHeader,
        ),
        (r#"{"alg":"HS256","crit":[]}"#, AuthError::CriticalHeader),
        (
            r#"{"alg":"HS256","b64":false,"crit":["b64"]}"#,
            AuthError::CriticalHeader,
        ),
        (
            r#"{"alg":"HS256","b64":false}"#,
            AuthError::UnsupportedHeader,
        ),
        (
            r#"{"alg":"HS256","cty":"JWT"}"#,
            AuthError::UnsupportedHeader,
        ),
    ] {
        cases.push(case(
            format!("header {header}"),
            &sign_raw(header, &payload),
            expect,
        ));
    }

    // Claims of the wrong JSON type, correctly signed.
    let exp = now() + 600;
    for (what, value) in [
        ("string", json!(exp.to_string())),
        ("null", json!(null)),
        ("true", json!(true)),
        ("object", json!({ "exp": exp })),
        ("array", json!([exp])),
        ("negative", json!(-1)),
        ("negative float", json!(-0.5)),
        ("beyond year 9999", json!(253_402_300_800.5)),
    ] {
        let exp_claims = json!({ "sub": "alice", "exp": value }).to_string();
        cases.push(case(
            format!("exp as {what}"),
            &sign_raw(r#"{"alg":"HS256"}"#, &exp_claims),
            AuthError::InvalidClaims,
        ));
        let nbf_claims = json!({ "sub": "alice", "exp": exp, "nbf": value }).to_string();
        cases.push(case(
            format!("nbf as {what}"),
            &sign_raw(r#"{"alg":"HS256"}"#, &nbf_claims),
            AuthError::InvalidClaims,
        ));
    }
    let beyond = format!(r#"{{"sub":"alice","exp":1{}}}"#, "0".repeat(20));
    cases.push(case(
        "exp beyond u64",
        &sign_raw(r#"{"alg":"HS256"}"#, &beyond),
        AuthError::InvalidClaims,
    ));

    // Duplicate member names.
    cases.push(case(
        "alg twice",
        &sign_raw(r#"{"alg":"HS256","alg":"none"}"#, &payload),
        AuthError::MalformedToken,
    ));
    for dup in [
        format!(r#"{{"sub":"alice","exp":{exp},"exp":1}}"#),
        format!(r#"{{"sub":"alice","sub":"admin","exp":{exp}}}"#),
        format!(r#"{{"sub":"alice","exp":{exp},"role":"user","role":"admin"}}"#),
    ] {
        cases.push(case(
            format!("duplicate claim {dup}"),
            &sign_raw(r#"{"alg":"HS256"}"#, &dup),
            AuthError::InvalidClaims,
        ));
    }

    // A token presented twice; several Authorization headers.
    let twice = HeaderValue::try_from(format!("Bearer {hs}")).unwrap();
    cases.push(Case {
        name: "Authorization twice".into(),
        headers: vec![
            (http::header::AUTHORIZATION, twice.clone()),
            (http::header::AUTHORIZATION, twice.clone()),
        ],
        query: String::new(),
        expect: Some(AuthError::MultipleTokens),
    });
    cases.push(Case {
        name: "header and query".into(),
        headers: vec![(http::header::AUTHORIZATION, twice)],
        query: format!("access_token={hs}"),
        expect: Some(AuthError::MultipleTokens),
    });

    // Size.
    cases.push(case(
        "1 MiB token",
        &"a".repeat(1 << 20),
        AuthError::TokenTooLarge,
    ));
    cases.push(case(
        "100,000 dots",
        &".".repeat(100_000),
        AuthError::TokenTooLarge,
    ));
    cases
}

/// The `jku`/`x5u` URL: a listener of this test, which must never see a connection.
const JKU_URL: &str = "http://127.0.0.1:47913/keys";

async fn run(
    layer: &JwtAuthLayer<TestClaims>,
    case: &Case,
    calls: &Calls,
) -> Response<Full<Bytes>> {
    let calls = calls.clone();
    let inner = tower::service_fn(move |_req: Request<Full<Bytes>>| {
        calls.hit();
        async { Ok::<_, Infallible>(Response::new(Full::new(Bytes::from_static(b"inner")))) }
    });
    let mut req = Request::get(format!("/?{}", case.query));
    for (name, value) in &case.headers {
        req = req.header(name, value);
    }
    layer
        .layer(inner)
        .oneshot(req.body(Full::default()).unwrap())
        .await
        .unwrap()
}

/// Collects everything the layer logs, at every level.
#[derive(Clone, Default)]
struct Capture(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Capture {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// One test, on one thread, so that the log capture sees every line of the suite.
#[tokio::test(flavor = "current_thread")]
async fn every_attack_gets_its_exact_rejection_and_leaks_nothing_to_the_logs() {
    let capture = Capture::default();
    let writer = capture.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);

    let jku_listener = std::net::TcpListener::bind("127.0.0.1:47913").ok();
    let layer = layer();
    let calls = Calls::default();
    let cases = cases();
    let mut checked = 0;
    for case in &cases {
        let res = run(&layer, case, &calls).await;
        let Some(expect) = case.expect else {
            assert_eq!(res.status(), 200, "{}", case.name);
            continue;
        };
        assert_eq!(res.status(), expect.status(), "{}", case.name);
        let challenge = res
            .headers()
            .get("www-authenticate")
            .map(|v| v.to_str().unwrap().to_owned());
        let wanted = match expect.error_code() {
            None => "Bearer realm=\"api\"".to_owned(),
            Some(code) => format!(
                "Bearer realm=\"api\", error=\"{}\", error_description=\"{}\"",
                code.as_str(),
                expect.description()
            ),
        };
        assert_eq!(challenge.as_deref(), Some(wanted.as_str()), "{}", case.name);
        checked += 1;
    }
    let valid = cases.iter().filter(|c| c.expect.is_none()).count();
    assert_eq!(
        calls.count(),
        valid,
        "the inner service ran only for valid tokens"
    );
    assert!(checked >= 100, "{checked} attacks checked");
    if let Some(listener) = jku_listener {
        listener.set_nonblocking(true).unwrap();
        assert!(listener.accept().is_err(), "a jku/x5u URL was fetched");
    }

    // Log hygiene: every rejection was logged with its reason, and nothing secret was.
    let logs = String::from_utf8(capture.0.lock().unwrap().clone()).unwrap();
    assert_eq!(
        logs.matches("request rejected").count(),
        checked,
        "one line per rejection"
    );
    let secret = std::str::from_utf8(SECRET).unwrap();
    assert!(!logs.contains(secret), "the secret leaked");
    for case in &cases {
        for (_, value) in &case.headers {
            let value = String::from_utf8_lossy(value.as_bytes());
            let token = value.split_whitespace().last().unwrap_or_default();
            for part in token.split('.').filter(|p| p.len() >= 16) {
                assert!(
                    !logs.contains(part),
                    "{}: a token segment leaked",
                    case.name
                );
            }
        }
    }
}
