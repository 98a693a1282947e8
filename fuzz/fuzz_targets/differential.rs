//! Differential: the fuzzer's header and payload, signed with an HMAC key, through this
//! crate's verifier and through jsonwebtoken's `decode` configured alike (HS256, `exp`
//! required, `exp` and `nbf` checked with the same leeway, no audience). Wherever the two
//! disagree, the token must show one of SECURITY.md's deliberate differences ("Deliberate
//! differences from jsonwebtoken"); any other disagreement is a crash.
//!
//! Input: header bytes, `0xFF`, payload bytes; without `0xFF`, the whole input is the
//! payload under `{"alg":"HS256","typ":"JWT"}`.
#![no_main]

use std::fmt;
use std::sync::OnceLock;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use libfuzzer_sys::fuzz_target;
use serde::de::{Deserializer, MapAccess, Visitor};
use serde_json::Value;
use tower_jwt_auth::jsonwebtoken::{self, DecodingKey, EncodingKey, Validation};
use tower_jwt_auth::{Algorithm, JwtAuthLayer};

const SECRET: &[u8] = b"fuzz-secret-of-at-least-thirty-two-bytes";
const LEEWAY: u64 = 60;
/// The largest NumericDate either side reads: the end of year 9999.
const MAX_DATE: f64 = 253_402_300_799.0;

struct Sides {
    ours: JwtAuthLayer<Value>,
    theirs: DecodingKey,
    validation: Validation,
    signing: EncodingKey,
}

fn sides() -> &'static Sides {
    static SIDES: OnceLock<Sides> = OnceLock::new();
    SIDES.get_or_init(|| {
        tower_jwt_auth::install_crypto_provider().unwrap();
        let ours = JwtAuthLayer::builder()
            .hmac_secret(SECRET, Algorithm::HS256)
            .leeway(Duration::from_secs(LEEWAY))
            .build()
            .unwrap();
        let mut validation = Validation::new(Algorithm::HS256);
        validation.leeway = LEEWAY;
        validation.validate_nbf = true;
        validation.validate_aud = false;
        Sides {
            ours,
            theirs: DecodingKey::from_secret(SECRET).unwrap(),
            validation,
            signing: EncodingKey::from_secret(SECRET).unwrap(),
        }
    })
}

fuzz_target!(|data: &[u8]| {
    let (header, payload) = match data.iter().position(|b| *b == 0xFF) {
        Some(at) => (&data[..at], &data[at + 1..]),
        None => (br#"{"alg":"HS256","typ":"JWT"}"#.as_slice(), data),
    };
    let sides = sides();
    let input = format!("{}.{}", b64(header), b64(payload));
    let Ok(signature) = jsonwebtoken::crypto::sign(input.as_bytes(), &sides.signing, Algorithm::HS256)
    else {
        return;
    };
    let token = format!("{input}.{signature}");
    let ours = sides.ours.verify(&token);
    let theirs = jsonwebtoken::decode::<Value>(&token, &sides.theirs, &sides.validation);
    let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs_f64();
    match (&ours, &theirs) {
        (Ok(_), Ok(_)) | (Err(_), Err(_)) => {}
        (Err(err), Ok(_)) => assert!(
            stricter(header, payload, &token, now).is_some(),
            "refused ({err:?}) what jsonwebtoken accepts, for no documented reason: {token}"
        ),
        (Ok(_), Err(err)) => assert!(
            looser(header, payload, now).is_some(),
            "accepted what jsonwebtoken refuses ({err:?}), for no documented reason: {token}"
        ),
    }
});

/// Unpadded base64url (RFC 7515 §2), written out so as not to share the crate's decoder.
fn b64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let n = chunk.iter().enumerate().fold(0u32, |n, (i, b)| n | (u32::from(*b) << (16 - 8 * i)));
        for i in 0..=chunk.len() {
            out.push(ALPHABET[(n >> (18 - 6 * i) & 63) as usize] as char);
        }
    }
    out
}

/// A JSON object's members in order, repeats kept; `None` if the text is not one object.
fn members(json: &[u8]) -> Option<Vec<(String, Value)>> {
    struct Members;
    impl<'de> Visitor<'de> for Members {
        type Value = Vec<(String, Value)>;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("an object")
        }
        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
            let mut all = Vec::new();
            while let Some(entry) = map.next_entry::<String, Value>()? {
                all.push(entry);
            }
            Ok(all)
        }
    }
    let mut de = serde_json::Deserializer::from_slice(json);
    let all = (&mut de).deserialize_map(Members).ok()?;
    de.end().ok()?;
    Some(all)
}

fn has_repeats(members: &[(String, Value)]) -> bool {
    members
        .iter()
        .enumerate()
        .any(|(i, (k, _))| members[..i].iter().any(|(seen, _)| seen == k))
}

fn get<'a>(members: &'a [(String, Value)], name: &str) -> Option<&'a Value> {
    members.iter().find(|(k, _)| k == name).map(|(_, v)| v)
}

/// A date as this crate reads one: a number, neither negative nor past year 9999.
fn date(value: &Value) -> Option<f64> {
    value.as_f64().filter(|d| (0.0..=MAX_DATE).contains(d))
}

/// Within two seconds of a time edge: the two sides read the clock a moment apart, and
/// this crate compares whole seconds (`exp` rounded up, `nbf` down).
fn near(at: f64, edge: f64) -> bool {
    (at - edge).abs() <= 2.0
}

/// Why this crate may refuse a token jsonwebtoken accepts (SECURITY.md), if it may.
fn stricter(header: &[u8], payload: &[u8], token: &str, now: f64) -> Option<&'static str> {
    if token.len() > 8 * 1024 {
        return Some("longer than max_token_size");
    }
    let Some(header) = members(header) else {
        return Some("header: not exactly one JSON object");
    };
    let Some(claims) = members(payload) else {
        return Some("payload: not exactly one JSON object");
    };
    if has_repeats(&header) || has_repeats(&claims) {
        return Some("a member repeated");
    }
    for name in ["jwk", "jku", "x5u", "x5c"] {
        if get(&header, name).is_some() {
            return Some("a key or key URL in the header");
        }
    }
    if get(&header, "crit").is_some() {
        return Some("crit");
    }
    if get(&header, "b64").is_some_and(|b| b == &Value::Bool(false))
        || get(&header, "cty").and_then(Value::as_str).is_some_and(|c| c.eq_ignore_ascii_case("JWT"))
    {
        return Some("b64: false, or a nested JWT");
    }
    // Header members this crate reads, of another JSON type than it reads.
    for name in ["typ", "cty", "kid"] {
        if get(&header, name).is_some_and(|v| !v.is_string()) {
            return Some("a header member of the wrong type");
        }
    }
    if get(&header, "typ").and_then(Value::as_str).is_some_and(|t| {
        let t = t.to_ascii_lowercase();
        let t = t.strip_prefix("application/").unwrap_or(&t);
        t == "refresh+jwt" || t == "dpop+jwt"
    }) {
        return Some("a refresh token or a DPoP proof");
    }
    for (name, value) in &claims {
        let wrong = match name.as_str() {
            "exp" | "nbf" | "iat" => date(value).is_none(),
            "iss" | "sub" | "jti" | "sid" | "scope" => !value.is_string(),
            "aud" | "scp" | "roles" => {
                !(value.is_string() || value.as_array().is_some_and(|a| a.iter().all(Value::is_string)))
            }
            "cnf" => true, // a bound token is never a bearer token
            _ => false,
        };
        if wrong {
            return Some("a registered claim of the wrong type, or cnf");
        }
    }
    if get(&claims, "aud").is_some() {
        return Some("an aud with no audience configured (RFC 7519 §4.1.3)");
    }
    let edge = |name: &str, edge: f64| get(&claims, name).and_then(date).is_some_and(|d| near(d, edge));
    if edge("exp", now - LEEWAY as f64) || edge("nbf", now + LEEWAY as f64) {
        return Some("at a time edge");
    }
    None
}

/// Whether `json` is valid JSON holding a number beyond an `f64`'s range (`4E400`), which
/// serde skips in a member nobody reads and refuses where it builds a `Value`.
fn number_out_of_range(json: &[u8]) -> bool {
    serde_json::from_slice::<serde::de::IgnoredAny>(json).is_ok()
        && serde_json::from_slice::<Value>(json)
            .is_err_and(|e| e.to_string().starts_with("number out of range"))
}

/// Why this crate may accept a token jsonwebtoken refuses (SECURITY.md), if it may.
fn looser(header: &[u8], payload: &[u8], now: f64) -> Option<&'static str> {
    if number_out_of_range(header) || number_out_of_range(payload) {
        return Some("an unread member holding a number beyond f64's range");
    }
    let claims = members(payload)?;
    let fraction = |name: &str| get(&claims, name).is_some_and(|v| v.is_f64());
    if fraction("exp") || fraction("nbf") || fraction("iat") {
        return Some("a NumericDate with a fraction (RFC 7519 §2)");
    }
    let edge = |name: &str, edge: f64| get(&claims, name).and_then(date).is_some_and(|d| near(d, edge));
    if edge("exp", now - LEEWAY as f64) || edge("nbf", now + LEEWAY as f64) {
        return Some("at a time edge");
    }
    None
}
