//! One DPoP proof (RFC 9449 §4.2): split, its header and claims read strictly, its key
//! checked and thumbprinted (RFC 7638), its signature verified with that key.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::crypto::CryptoProvider;
use jsonwebtoken::jwk::ThumbprintHash;
use jsonwebtoken::{Algorithm, AlgorithmFamily, DecodingKey};
use serde::Deserialize;
use serde_json::{Map, Value};

use crate::AuthError;
use crate::verifier::claims::{Round, numeric_date};
use crate::verifier::jws::{self, DPOP_PROOF_TYPE};

/// Members of a JWK that only a private key has (RFC 7518 §6.2.2, §6.3.2; RFC 8037 §2) or
/// that make it a shared secret (`k`, §6.4.1).
const PRIVATE_MEMBERS: [&str; 8] = ["d", "p", "q", "dp", "dq", "qi", "oth", "k"];

/// The smallest RSA modulus a proof key may have, as for the token's own keys.
const MIN_RSA_BITS: usize = 2048;

/// A proof whose signature verified with the key it carries.
#[derive(Debug)]
pub(crate) struct Proof {
    /// The RFC 7638 thumbprint (SHA-256, base64url) of the proof's key.
    pub(crate) jkt: String,
    pub(crate) claims: ProofClaims,
}

/// The claims of a proof (RFC 9449 §4.2), typed strictly.
#[derive(Debug, Deserialize)]
pub(crate) struct ProofClaims {
    pub(crate) jti: String,
    pub(crate) htm: String,
    pub(crate) htu: String,
    /// A NumericDate, as a token's `iat` is: a fraction is rounded down.
    #[serde(deserialize_with = "issued_at")]
    pub(crate) iat: u64,
    pub(crate) ath: Option<String>,
    pub(crate) nonce: Option<String>,
}

#[derive(Deserialize)]
struct Header {
    typ: Option<String>,
    alg: String,
    jwk: Option<Map<String, Value>>,
    crit: Option<Value>,
}

/// Reads and verifies `proof` with the algorithms of `allowed`: RFC 9449 §4.3, checks 2 to
/// 7 (one JWT; `typ`; an allowed asymmetric `alg`; a public `jwk`; the signature). The
/// request-bound checks (method, URL, time, replay, token hash) are the caller's.
pub(crate) fn verify(
    proof: &str,
    allowed: &[Algorithm],
    provider: &CryptoProvider,
) -> Result<Proof, AuthError> {
    let malformed = AuthError::DpopProofMalformed;
    let mut parts = proof.split('.');
    let (Some(header_b64), Some(payload), Some(signature), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(malformed);
    };
    let header_json = decode(header_b64)?;
    let header: Header = serde_json::from_slice(&header_json).map_err(|_| malformed)?;
    if header.typ.as_deref() != Some(DPOP_PROOF_TYPE) {
        return Err(AuthError::DpopProofType);
    }
    // `none` in any spelling, HMAC, and anything not on the list.
    let alg = header
        .alg
        .parse::<Algorithm>()
        .ok()
        .filter(|alg| allowed.contains(alg) && alg.family() != AlgorithmFamily::Hmac)
        .ok_or(AuthError::DpopProofAlgorithm)?;
    if header.crit.is_some() {
        return Err(malformed);
    }
    let jwk = header.jwk.ok_or(AuthError::DpopProofKey)?;
    let (key, jkt) = public_key(jwk, alg, provider)?;

    let message = &proof.as_bytes()[..header_b64.len() + 1 + payload.len()];
    let signature = decode(signature)?;
    let verifier = (provider.verifier_factory)(&alg, &key).map_err(|_| AuthError::DpopProofKey)?;
    if verifier.verify(message, &signature).is_err() {
        return Err(AuthError::DpopProofSignature);
    }
    let claims: ProofClaims = serde_json::from_slice(&decode(payload)?).map_err(|_| malformed)?;
    Ok(Proof { jkt, claims })
}

/// The proof's `jwk` as a verification key for `alg`, and its thumbprint. Refused: a
/// private or symmetric key, a key of another family or curve than `alg`, an RSA key
/// shorter than 2048 bits.
fn public_key(
    jwk: Map<String, Value>,
    alg: Algorithm,
    provider: &CryptoProvider,
) -> Result<(DecodingKey, String), AuthError> {
    let bad = AuthError::DpopProofKey;
    if PRIVATE_MEMBERS.iter().any(|m| jwk.contains_key(*m)) {
        return Err(bad);
    }
    let text = |name: &str| jwk.get(name).and_then(Value::as_str).ok_or(bad);
    // RFC 7638 §3.2: the required members, in lexicographic order, no whitespace; the key
    // made from the same members (what `DecodingKey::from_jwk` would read of them).
    let mut canonical = Vec::with_capacity(128);
    let key = match (text("kty")?, alg.family()) {
        ("EC", AlgorithmFamily::Ec) => {
            let crv = text("crv")?;
            let fits = matches!(
                (crv, alg),
                ("P-256", Algorithm::ES256) | ("P-384", Algorithm::ES384)
            );
            if !fits {
                return Err(bad);
            }
            let (x, y) = (text("x")?, text("y")?);
            canonical.extend_from_slice(br#"{"crv":"#);
            push_quoted(&mut canonical, crv);
            canonical.extend_from_slice(br#","kty":"EC","x":"#);
            push_quoted(&mut canonical, x);
            canonical.extend_from_slice(br#","y":"#);
            push_quoted(&mut canonical, y);
            DecodingKey::from_ec_components(x, y)
        }
        ("OKP", AlgorithmFamily::Ed) => {
            if text("crv")? != "Ed25519" {
                return Err(bad);
            }
            let x = text("x")?;
            canonical.extend_from_slice(br#"{"crv":"Ed25519","kty":"OKP","x":"#);
            push_quoted(&mut canonical, x);
            DecodingKey::from_ed_components(x)
        }
        ("RSA", AlgorithmFamily::Rsa) => {
            let (n, e) = (text("n")?, text("e")?);
            let modulus = URL_SAFE_NO_PAD.decode(n).map_err(|_| bad)?;
            let leading = modulus.iter().take_while(|b| **b == 0).count();
            if (modulus.len() - leading) * 8 < MIN_RSA_BITS {
                return Err(bad);
            }
            canonical.extend_from_slice(br#"{"e":"#);
            push_quoted(&mut canonical, e);
            canonical.extend_from_slice(br#","kty":"RSA","n":"#);
            push_quoted(&mut canonical, n);
            DecodingKey::from_rsa_components(n, e)
        }
        _ => return Err(bad),
    }
    .map_err(|_| bad)?;
    canonical.push(b'}');
    let digest =
        (provider.key_utils.compute_digest)(&canonical, ThumbprintHash::SHA256).map_err(|_| bad)?;
    Ok((key, URL_SAFE_NO_PAD.encode(digest)))
}

/// `text` as a JSON string literal, after `out`.
fn push_quoted(out: &mut Vec<u8>, text: &str) {
    // Writing to a `Vec` cannot fail.
    let _ = serde_json::to_writer(out, text);
}

/// A segment, decoded as the token's are (strict base64url).
fn decode(segment: &str) -> Result<Vec<u8>, AuthError> {
    jws::decode(segment).map_err(|_| AuthError::DpopProofMalformed)
}

/// A proof's `iat` (RFC 9449 §4.2 → RFC 7519 §2), read as the token path reads `iat`.
fn issued_at<'de, D: serde::Deserializer<'de>>(d: D) -> Result<u64, D::Error> {
    numeric_date(d, Round::Down)
}

/// The name of a proof's replay record in a shared store: base64url(SHA-256(jkt "." jti)),
/// the same size whatever the `jti` (the thumbprint is base64url, so the dot separates).
pub(crate) fn record_digest(jkt: &str, jti: &str, provider: &CryptoProvider) -> Option<String> {
    let mut message = String::with_capacity(jkt.len() + 1 + jti.len());
    message.push_str(jkt);
    message.push('.');
    message.push_str(jti);
    (provider.key_utils.compute_digest)(message.as_bytes(), ThumbprintHash::SHA256)
        .ok()
        .map(|digest| URL_SAFE_NO_PAD.encode(digest))
}

/// The `ath` of an access token (RFC 9449 §4.2): base64url(SHA-256(ASCII(token))).
pub(crate) fn token_hash(token: &str, provider: &CryptoProvider) -> Option<String> {
    (provider.key_utils.compute_digest)(token.as_bytes(), ThumbprintHash::SHA256)
        .ok()
        .map(|digest| URL_SAFE_NO_PAD.encode(digest))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::install_crypto_provider;

    /// RFC 9449 §7.1's example: the `ath` of its access token.
    #[test]
    fn the_token_hash_is_rfc_9449s() {
        let provider = install_crypto_provider().unwrap();
        let ath = token_hash("Kz~8mXK1EalYznwH-LC-1fBAo.4Ljp~zsPE_NeO.gxU", provider);
        assert_eq!(
            ath.as_deref(),
            Some("fUHyO2r2Z3DZ53EsNrWBb0xWXoaNy59IiKCAqksmQEo")
        );
    }

    /// RFC 7638 §3.1's example: the thumbprint of RFC 7517's RSA key, whatever other
    /// members the JWK has.
    #[test]
    fn the_thumbprint_is_rfc_7638s() {
        let provider = install_crypto_provider().unwrap();
        let jwk = serde_json::json!({
            "kty": "RSA",
            "n": "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw",
            "e": "AQAB",
            "alg": "RS256",
            "kid": "2011-04-29"
        });
        let Value::Object(jwk) = jwk else {
            unreachable!()
        };
        let (_, jkt) = public_key(jwk.clone(), Algorithm::RS256, provider).unwrap();
        assert_eq!(jkt, "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs");
        // A private member, a symmetric key, or another family than `alg`: refused.
        for (member, value) in [("d", "AQAB"), ("k", "AQAB")] {
            let mut leaky = jwk.clone();
            leaky.insert(member.into(), value.into());
            assert!(
                public_key(leaky, Algorithm::RS256, provider).is_err(),
                "{member}"
            );
        }
        assert!(public_key(jwk, Algorithm::ES256, provider).is_err());
    }

    #[test]
    fn a_short_rsa_proof_key_is_refused() {
        let provider = install_crypto_provider().unwrap();
        let short: Value =
            serde_json::from_str(include_str!("../../tests/data/rsa1024_public.jwk.json")).unwrap();
        let Value::Object(short) = short else {
            unreachable!()
        };
        assert_eq!(
            public_key(short, Algorithm::RS256, provider).unwrap_err(),
            AuthError::DpopProofKey
        );
    }
}
