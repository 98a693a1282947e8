//! The JWS compact serialization (RFC 7515 §7.1) and the JOSE header, read strictly.
//!
//! Only what a signed JWT needs is accepted: three segments of canonical, unpadded
//! base64url, a header that is a JSON object with a string `alg`, and nothing that asks
//! the verifier to trust the token itself (`jwk`, `jku`, `x5u`, `x5c`) or to understand an
//! extension (`crit`, `b64: false`).

use std::borrow::Cow;
use std::cell::RefCell;
use std::str::FromStr;
use std::sync::Arc;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::{DecodeSliceError, Engine};
use serde::Deserialize;

use super::json;
use crate::{Algorithm, AuthError};

/// A compact JWS split into its parts; the header is decoded, the rest is still encoded.
#[derive(Debug)]
pub(crate) struct Jws<'t> {
    pub(crate) header: Header,
    /// `BASE64URL(header) || '.' || BASE64URL(payload)`: the bytes the signature covers.
    pub(crate) signing_input: &'t str,
    pub(crate) payload: &'t str,
    pub(crate) signature: &'t str,
}

/// The JOSE header members the verifier acts on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Header {
    pub(crate) alg: Algorithm,
    pub(crate) kid: Option<Arc<str>>,
}

/// The last header read on this thread that passed, with the `typ` it was checked against.
/// Every token of one issuer and key carries the same header segment, so most requests find
/// it here and skip decoding it; the result is a function of those exact bytes.
struct Memo {
    segment: String,
    typ: Option<String>,
    header: Header,
}

thread_local! {
    static LAST_HEADER: RefCell<Option<Memo>> = const { RefCell::new(None) };
}

/// Reads a header segment, or finds it in the memo.
fn header(segment: &str, typ: Option<&str>) -> Result<Header, AuthError> {
    // `try_`: during thread teardown the memo is gone; the header is then read anew.
    let memoized = LAST_HEADER.try_with(|memo| {
        let memo = memo.try_borrow().ok()?;
        memo.as_ref()
            .filter(|m| m.segment == segment && m.typ.as_deref() == typ)
            .map(|m| m.header.clone())
    });
    if let Ok(Some(header)) = memoized {
        return Ok(header);
    }
    let header = decode_then(segment, |json| read_header(json, typ))?;
    let _ = LAST_HEADER.try_with(|memo| {
        if let Ok(mut memo) = memo.try_borrow_mut() {
            *memo = Some(Memo {
                segment: segment.to_owned(),
                typ: typ.map(str::to_owned),
                header: header.clone(),
            });
        }
    });
    Ok(header)
}

/// Splits a compact JWS and reads its header; with `typ`, the header must declare that type
/// (compared as RFC 7515 §4.1.9 says: case-insensitively, `application/` optional).
pub(crate) fn parse<'t>(token: &'t str, typ: Option<&str>) -> Result<Jws<'t>, AuthError> {
    let mut parts = token.split('.');
    let (Some(header), Some(payload), Some(signature), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(AuthError::MalformedToken);
    };
    let signing_input = &token[..header.len() + 1 + payload.len()];
    let header = self::header(header, typ)?;
    Ok(Jws {
        header,
        signing_input,
        payload,
        signature,
    })
}

/// Decodes one segment: unpadded base64url whose unused trailing bits are zero, so each
/// segment has exactly one encoding (the `base64` engine refuses padding and non-zero bits).
/// A token may still have twins — an ECDSA signature's `(r, n − s)` verifies too — so its
/// identity is its `jti`, never its string.
pub(crate) fn decode(segment: &str) -> Result<Vec<u8>, AuthError> {
    URL_SAFE_NO_PAD
        .decode(segment)
        .map_err(|_| AuthError::MalformedToken)
}

/// Decodes one segment as [`decode`] does and hands the bytes to `read`. Segments of usual
/// size are decoded on the stack, in a buffer no larger than they need (zeroing one costs
/// as much as decoding a short segment): 256 bytes hold an HMAC or ECDSA signature, a JOSE
/// header, a small payload; 1 KiB most others.
pub(crate) fn decode_then<R>(
    segment: &str,
    read: impl FnOnce(&[u8]) -> Result<R, AuthError>,
) -> Result<R, AuthError> {
    match segment.len() {
        0..=340 => decode_on_stack::<256, R>(segment, read),
        341..=1364 => decode_on_stack::<1024, R>(segment, read),
        _ => read(&decode(segment)?),
    }
}

fn decode_on_stack<const N: usize, R>(
    segment: &str,
    read: impl FnOnce(&[u8]) -> Result<R, AuthError>,
) -> Result<R, AuthError> {
    let mut buf = [0u8; N];
    match URL_SAFE_NO_PAD.decode_slice(segment, &mut buf) {
        Ok(len) => read(&buf[..len]),
        Err(DecodeSliceError::OutputSliceTooSmall) => read(&decode(segment)?),
        Err(DecodeSliceError::DecodeError(_)) => Err(AuthError::MalformedToken),
    }
}

#[derive(Deserialize)]
struct RawHeader<'a> {
    #[serde(borrow)]
    alg: Cow<'a, str>,
    #[serde(default, borrow, deserialize_with = "json::string")]
    kid: Option<Cow<'a, str>>,
    #[serde(default, borrow, deserialize_with = "json::string")]
    cty: Option<Cow<'a, str>>,
    #[serde(default, borrow, deserialize_with = "json::string")]
    typ: Option<Cow<'a, str>>,
    #[serde(default, deserialize_with = "json::boolean")]
    b64: Option<bool>,
    #[serde(default, deserialize_with = "json::present")]
    crit: Option<()>,
    #[serde(default, deserialize_with = "json::present")]
    jwk: Option<()>,
    #[serde(default, deserialize_with = "json::present")]
    jku: Option<()>,
    #[serde(default, deserialize_with = "json::present")]
    x5u: Option<()>,
    #[serde(default, deserialize_with = "json::present")]
    x5c: Option<()>,
}

/// The types of token that are never access tokens (RFC 8725 §3.11): refused by every layer,
/// unless the layer requires that very type.
const NEVER_ACCESS_TOKENS: [&str; 2] = [REFRESH_TOKEN_TYPE, DPOP_PROOF_TYPE];
/// The `typ` of a DPoP proof (RFC 9449 §4.2).
pub(crate) const DPOP_PROOF_TYPE: &str = "dpop+jwt";

/// The `typ` of a refresh token, as [`TokenIssuer`](crate::issue::TokenIssuer) mints them.
pub(crate) const REFRESH_TOKEN_TYPE: &str = "refresh+jwt";

fn read_header(json: &[u8], typ: Option<&str>) -> Result<Header, AuthError> {
    if !json::is_object(json) || !json::is_utf8(json) {
        return Err(AuthError::MalformedToken);
    }
    // serde rejects duplicate known members ("duplicate field"), so `alg` cannot be smuggled twice.
    let raw: RawHeader = serde_json::from_slice(json).map_err(|_| AuthError::MalformedToken)?;
    if raw.alg.eq_ignore_ascii_case("none") {
        return Err(AuthError::AlgorithmNone);
    }
    let alg = Algorithm::from_str(&raw.alg).map_err(|_| AuthError::AlgorithmNotAllowed)?;
    if raw.jwk.is_some() || raw.jku.is_some() || raw.x5u.is_some() || raw.x5c.is_some() {
        return Err(AuthError::EmbeddedKey);
    }
    if raw.crit.is_some() {
        return Err(AuthError::CriticalHeader);
    }
    let nested = raw
        .cty
        .as_deref()
        .is_some_and(|cty| cty.eq_ignore_ascii_case("JWT"));
    if raw.b64 == Some(false) || nested {
        return Err(AuthError::UnsupportedHeader);
    }
    let declared = raw.typ.as_deref();
    let refused = match typ {
        Some(wanted) => !declared.is_some_and(|t| same_media_type(t, wanted)),
        // A layer that names no type still never takes a refresh token or a DPoP proof for
        // an access token: they carry the same `iss`, `aud` and `sub` as one.
        None => declared.is_some_and(|t| NEVER_ACCESS_TOKENS.iter().any(|n| same_media_type(t, n))),
    };
    if refused {
        return Err(AuthError::InvalidType);
    }
    Ok(Header {
        alg,
        kid: raw.kid.map(Arc::from),
    })
}

/// RFC 7515 §4.1.9: media types compare case-insensitively, and `application/` may be left out.
fn same_media_type(a: &str, b: &str) -> bool {
    fn short(t: &str) -> &str {
        match t.get(..12) {
            Some(prefix) if prefix.eq_ignore_ascii_case("application/") => &t[12..],
            _ => t,
        }
    }
    short(a).eq_ignore_ascii_case(short(b))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn b64(s: &str) -> String {
        URL_SAFE_NO_PAD.encode(s)
    }

    fn token(header: &str) -> String {
        format!("{}.{}.c2ln", b64(header), b64("{}"))
    }

    #[test]
    fn every_segment_size_decodes_alike_on_the_stack_or_the_heap() {
        let sizes = (0..8).chain(250..260).chain(1018..1030).chain([4096]);
        for size in sizes {
            let bytes: Vec<u8> = (0..size).map(|i| (i * 7 + size) as u8).collect();
            let segment = URL_SAFE_NO_PAD.encode(&bytes);
            let read = decode_then(&segment, |b| Ok(b.to_vec()));
            assert_eq!(read, Ok(bytes), "{size} bytes");
            // The same refusals: a non-canonical last character, a stray character.
            if size % 3 != 0 {
                let mut bad = segment.clone();
                let last = bad.pop().unwrap();
                bad.push(if last == 'B' { 'C' } else { 'B' });
                assert_eq!(decode_then(&bad, |_| Ok(())), decode(&bad).map(|_| ()));
            }
            let stray = format!("{segment}*");
            assert_eq!(
                decode_then(&stray, |_| Ok(())),
                Err(AuthError::MalformedToken)
            );
        }
    }

    fn header(h: &str) -> Result<Header, AuthError> {
        parse(&token(h), None).map(|jws| jws.header)
    }

    /// Found by the differential fuzz target: invalid UTF-8 in a header member the verifier
    /// does not read was skipped unchecked by serde; a header that is not UTF-8 is not JSON.
    #[test]
    fn a_header_that_is_not_utf8_is_refused() {
        let segment = URL_SAFE_NO_PAD.encode(b"{\"alg\":\"HS256\",\"ki\":\"k\x84\"}");
        let token = format!("{segment}.e30.c2ln");
        assert_eq!(
            parse(&token, None).map(|jws| jws.header),
            Err(AuthError::MalformedToken)
        );
    }

    #[test]
    fn a_required_type_must_be_declared() {
        let typed = |h: &str, typ| parse(&token(h), Some(typ)).map(|_| ());
        assert_eq!(typed(r#"{"alg":"HS256","typ":"at+jwt"}"#, "at+jwt"), Ok(()));
        assert_eq!(
            typed(r#"{"alg":"HS256","typ":"application/AT+JWT"}"#, "at+jwt"),
            Ok(())
        );
        assert_eq!(
            typed(r#"{"alg":"HS256","typ":"at+jwt"}"#, "application/at+jwt"),
            Ok(())
        );
        for h in [
            r#"{"alg":"HS256","typ":"JWT"}"#,
            r#"{"alg":"HS256"}"#,
            r#"{"alg":"HS256","typ":"refresh+jwt"}"#,
        ] {
            assert_eq!(typed(h, "at+jwt"), Err(AuthError::InvalidType), "{h}");
        }
        assert_eq!(
            typed(r#"{"alg":"HS256","typ":7}"#, "at+jwt"),
            Err(AuthError::MalformedToken)
        );
    }

    #[test]
    fn refresh_tokens_and_proofs_are_refused_unless_their_type_is_required() {
        for typ in ["refresh+jwt", "application/Refresh+JWT", "dpop+jwt"] {
            let h = format!(r#"{{"alg":"HS256","typ":"{typ}"}}"#);
            assert_eq!(
                parse(&token(&h), None).unwrap_err(),
                AuthError::InvalidType,
                "{h}"
            );
        }
        let refresh = token(r#"{"alg":"HS256","typ":"refresh+jwt"}"#);
        assert!(parse(&refresh, Some("refresh+jwt")).is_ok());
        for h in [
            r#"{"alg":"HS256","typ":"JWT"}"#,
            r#"{"alg":"HS256","typ":"at+jwt"}"#,
            r#"{"alg":"HS256"}"#,
        ] {
            assert!(parse(&token(h), None).is_ok(), "{h}");
        }
    }

    #[test]
    fn reads_alg_and_kid() {
        assert_eq!(
            header(r#"{"alg":"RS256","kid":"k1","typ":"JWT"}"#),
            Ok(Header {
                alg: Algorithm::RS256,
                kid: Some("k1".into())
            })
        );
    }

    #[test]
    fn the_memo_answers_only_for_the_same_segment_and_type() {
        let typed = token(r#"{"alg":"HS256","typ":"at+jwt"}"#);
        assert!(parse(&typed, Some("at+jwt")).is_ok());
        // Same segment, another required type: read again, and refused.
        assert_eq!(
            parse(&typed, Some("refresh+jwt")).unwrap_err(),
            AuthError::InvalidType
        );
        assert!(parse(&typed, Some("at+jwt")).is_ok());
        let none = token(r#"{"alg":"none","typ":"at+jwt"}"#);
        assert_eq!(
            parse(&none, Some("at+jwt")).unwrap_err(),
            AuthError::AlgorithmNone
        );
        let kid = token(r#"{"alg":"RS256","kid":"k2"}"#);
        assert_eq!(parse(&kid, None).unwrap().header.kid.as_deref(), Some("k2"));
        assert_eq!(parse(&kid, None).unwrap().header.kid.as_deref(), Some("k2"));
    }

    #[test]
    fn splits_signing_input_payload_and_signature() {
        let t = token(r#"{"alg":"HS256"}"#);
        let jws = parse(&t, None).unwrap();
        assert_eq!(jws.signature, "c2ln");
        assert_eq!(jws.payload, b64("{}"));
        assert_eq!(
            jws.signing_input,
            format!("{}.{}", b64(r#"{"alg":"HS256"}"#), b64("{}"))
        );
    }

    #[test]
    fn refuses_alg_none_in_any_spelling() {
        for alg in ["none", "None", "NONE", "nOnE"] {
            assert_eq!(
                header(&format!(r#"{{"alg":"{alg}"}}"#)),
                Err(AuthError::AlgorithmNone)
            );
        }
    }

    #[test]
    fn refuses_unknown_or_miscased_algorithms() {
        for alg in ["hs256", "HS1", "", "RSA-OAEP"] {
            assert_eq!(
                header(&format!(r#"{{"alg":"{alg}"}}"#)),
                Err(AuthError::AlgorithmNotAllowed)
            );
        }
    }

    #[test]
    fn refuses_keys_carried_by_the_token() {
        for member in ["jwk", "jku", "x5u", "x5c"] {
            for value in ["null", r#""https://attacker.example/k""#, "{}", "[]"] {
                assert_eq!(
                    header(&format!(r#"{{"alg":"HS256","{member}":{value}}}"#)),
                    Err(AuthError::EmbeddedKey),
                    "{member}: {value}"
                );
            }
        }
    }

    #[test]
    fn refuses_crit_b64_false_and_nested_tokens() {
        assert_eq!(
            header(r#"{"alg":"HS256","crit":["exp"]}"#),
            Err(AuthError::CriticalHeader)
        );
        assert_eq!(
            header(r#"{"alg":"HS256","crit":[]}"#),
            Err(AuthError::CriticalHeader)
        );
        assert_eq!(
            header(r#"{"alg":"HS256","b64":false}"#),
            Err(AuthError::UnsupportedHeader)
        );
        assert_eq!(
            header(r#"{"alg":"HS256","cty":"jwt"}"#),
            Err(AuthError::UnsupportedHeader)
        );
        assert!(header(r#"{"alg":"HS256","b64":true}"#).is_ok());
    }

    #[test]
    fn refuses_malformed_headers() {
        for h in [
            r#"["alg","HS256"]"#,
            r#"{"alg":null}"#,
            r#"{"alg":256}"#,
            r#"{"kid":"a"}"#,
            r#"{"alg":"HS256","kid":null}"#,
            r#"{"alg":"HS256","kid":7}"#,
            r#"{"alg":"HS256","alg":"none"}"#,
            r#"{"alg":"HS256""#,
            "",
        ] {
            assert_eq!(header(h), Err(AuthError::MalformedToken), "{h}");
        }
    }

    #[test]
    fn refuses_wrong_segment_counts() {
        let h = b64(r#"{"alg":"HS256"}"#);
        for t in [
            String::new(),
            h.clone(),
            format!("{h}.e30"),
            format!("{h}.e30.sig.x"),
            format!("{h}.e30.sig.x.y"),
            "..".into(),
        ] {
            assert_eq!(
                parse(&t, None).map(|_| ()),
                Err(AuthError::MalformedToken),
                "{t}"
            );
        }
    }

    #[test]
    fn refuses_non_canonical_base64url() {
        // "e30" is `{}`; "e31" differs only in unused trailing bits.
        assert!(decode("e30").is_ok());
        for s in ["e31", "e30=", "e3+", "e3/", "e3 0", "e30\n"] {
            assert_eq!(decode(s), Err(AuthError::MalformedToken), "{s:?}");
        }
    }
}
