//! Verification keys: each bound to the algorithms it may serve, chosen by `kid`.

use jsonwebtoken::crypto::CryptoProvider;
use jsonwebtoken::jwk::{
    AlgorithmParameters, EllipticCurve, Jwk, JwkSet, KeyOperations, PublicKeyUse,
};
use jsonwebtoken::{AlgorithmFamily, DecodingKey, DecodingKeyKind};

use super::signature::{self, HmacKey};
use crate::{Algorithm, ConfigError};

/// One verification key and the algorithms it serves (all of one family).
#[derive(Clone, Debug)]
pub(crate) struct KeyEntry {
    /// Unique for the life of the process: names this key's cached verifiers.
    pub(crate) id: u64,
    pub(crate) kid: Option<String>,
    pub(crate) key: DecodingKey,
    pub(crate) algorithms: Vec<Algorithm>,
    /// An HMAC secret keyed for each of its algorithms, when the backend allows it.
    hmac: Vec<(Algorithm, HmacKey)>,
}

impl KeyEntry {
    pub(crate) fn new(kid: Option<String>, key: DecodingKey, algorithms: Vec<Algorithm>) -> Self {
        KeyEntry {
            id: signature::next_key_id(),
            kid,
            key,
            algorithms,
            hmac: Vec::new(),
        }
    }

    /// This HMAC secret keyed for `alg`, if it was.
    fn hmac(&self, alg: Algorithm) -> Option<&HmacKey> {
        self.hmac
            .iter()
            .find(|(a, _)| *a == alg)
            .map(|(_, key)| key)
    }

    /// Whether `signature` is this key's signature of `message` under `alg`.
    pub(crate) fn verify(
        &self,
        provider: &CryptoProvider,
        alg: Algorithm,
        message: &[u8],
        signature: &[u8],
    ) -> bool {
        let key = (self.id, &self.key, self.hmac(alg));
        signature::verify(provider, key, alg, message, signature)
    }
}

/// An immutable set of keys: the snapshot every request reads, replaced whole when remote
/// keys are refetched.
///
/// Selection rule: when the token's `kid` names a key of the set, only the keys with that
/// exact `kid` are candidates. A token without `kid` is tried with the keys that have none.
/// A token whose `kid` names no key is tried with the keys that have none in a set of static
/// keys alone (a key configured without `kid` serves whatever `kid` its issuer writes); in a
/// set with remote keys it has no candidate, so that the layer refetches the keys.
///
/// The work per request is bounded: a fetched set keeps at most
/// `MAX_FETCHED_WITHOUT_KID` (4) keys without `kid`, so a token cannot make the layer try
/// every key of a large key set (whose size `max_body` bounds in turn).
#[derive(Clone, Debug)]
pub(crate) struct KeySet {
    /// Unique for the life of the process: what the token cache remembers.
    id: u64,
    /// The allow-list: the configured one, or else every algorithm some key serves.
    algorithms: Vec<Algorithm>,
    keys: Vec<KeyEntry>,
    /// Whether a token whose `kid` names no key falls back to the keys without `kid`.
    unknown_kid_falls_back: bool,
}

/// The most keys without `kid` a fetched key set keeps; the rest are skipped with a log
/// line. Providers that leave `kid` out publish one or two keys.
#[cfg(feature = "jwks")]
pub(crate) const MAX_FETCHED_WITHOUT_KID: usize = 4;

/// A key as the builder received it, checked and expanded at `build()`.
#[derive(Clone, Debug)]
pub(crate) enum KeyInput {
    Key {
        kid: Option<String>,
        key: DecodingKey,
        algorithm: Algorithm,
    },
    Jwk(Box<Jwk>),
    Jwks(JwkSet),
    /// A key that could not even be read; reported at `build()`.
    Invalid(ConfigError),
}

impl KeySet {
    /// Reads the keys the builder received, strictly: any mistake is a [`ConfigError`].
    pub(crate) fn entries(
        sources: Vec<KeyInput>,
        allowed: Option<&[Algorithm]>,
        provider: &CryptoProvider,
    ) -> Result<Vec<KeyEntry>, ConfigError> {
        let mut keys: Vec<KeyEntry> = Vec::new();
        for source in sources {
            let read = match source {
                KeyInput::Key {
                    kid,
                    key,
                    algorithm,
                } => vec![explicit_key(kid, key, algorithm, allowed)?],
                KeyInput::Jwk(jwk) => jwk_key(&jwk, allowed)?.into_iter().collect(),
                KeyInput::Jwks(set) => {
                    let mut read = Vec::new();
                    for jwk in &set.keys {
                        read.extend(jwk_key(jwk, allowed)?);
                    }
                    read
                }
                KeyInput::Invalid(err) => return Err(err),
            };
            for entry in read {
                let entry = admit(entry, &keys, provider)?;
                keys.push(entry);
            }
        }
        Ok(keys)
    }

    /// Builds a snapshot of `fetched` JWKS keys after the `fixed` ones, leniently: a key that
    /// cannot serve is skipped with a log line, never fatal to the whole set.
    #[cfg(feature = "jwks")]
    pub(crate) fn with_fetched(
        fixed: &[KeyEntry],
        fetched: &JwkSet,
        allowed: Option<&[Algorithm]>,
        provider: &CryptoProvider,
        allow_hmac: bool,
    ) -> KeySet {
        let mut keys = fixed.to_vec();
        let mut without_kid = 0;
        for jwk in &fetched.keys {
            // A published document that carries a shared secret is a misconfiguration: the
            // secret is public, and with it anyone can mint tokens.
            if matches!(jwk.algorithm, AlgorithmParameters::OctetKey(_)) && !allow_hmac {
                tracing::warn!(
                    kid = jwk.common.key_id.as_deref(),
                    "skipping a symmetric (`oct`) JWK: a fetched key set must hold public keys alone"
                );
                continue;
            }
            if jwk.common.key_id.is_none() && without_kid == MAX_FETCHED_WITHOUT_KID {
                tracing::warn!(
                    max = MAX_FETCHED_WITHOUT_KID,
                    "skipping a JWK without `kid`: the set has the most such keys a token may be tried with"
                );
                continue;
            }
            let entry = jwk_key(jwk, allowed).and_then(|entry| match entry {
                Some(entry) => admit(entry, &keys, provider).map(Some),
                None => Ok(None),
            });
            match entry {
                Ok(Some(entry)) => {
                    without_kid += usize::from(entry.kid.is_none());
                    keys.push(entry);
                }
                Ok(None) => {}
                Err(why) => {
                    tracing::warn!(kid = jwk.common.key_id.as_deref(), %why, "skipping JWK")
                }
            }
        }
        KeySet::remote(keys, allowed)
    }

    /// A snapshot of static `keys` alone.
    pub(crate) fn new(keys: Vec<KeyEntry>, allowed: Option<&[Algorithm]>) -> KeySet {
        KeySet::with(keys, allowed, true)
    }

    /// A snapshot of the keys of a store that fetches keys: a token whose `kid` names none of
    /// them is not tried with the keys without `kid`, so that it asks for a refetch.
    #[cfg(feature = "jwks")]
    pub(crate) fn remote(keys: Vec<KeyEntry>, allowed: Option<&[Algorithm]>) -> KeySet {
        KeySet::with(keys, allowed, false)
    }

    fn with(keys: Vec<KeyEntry>, allowed: Option<&[Algorithm]>, fall_back: bool) -> KeySet {
        let algorithms = match allowed {
            Some(allowed) => allowed.to_vec(),
            None => {
                let mut algs: Vec<Algorithm> = Vec::new();
                for alg in keys.iter().flat_map(|k| &k.algorithms) {
                    if !algs.contains(alg) {
                        algs.push(*alg);
                    }
                }
                algs
            }
        };
        KeySet {
            id: signature::next_key_id(),
            algorithms,
            keys,
            unknown_kid_falls_back: fall_back,
        }
    }

    /// This set's unique id.
    pub(crate) fn id(&self) -> u64 {
        self.id
    }

    /// Whether tokens signed with `alg` may be checked at all.
    pub(crate) fn allows(&self, alg: Algorithm) -> bool {
        self.algorithms.contains(&alg)
    }

    /// How many keys the set has.
    #[cfg(feature = "jwks")]
    pub(crate) fn len(&self) -> usize {
        self.keys.len()
    }

    /// The keys that may verify a token with this `kid` and `alg`.
    pub(crate) fn select<'s>(
        &'s self,
        kid: Option<&str>,
        alg: Algorithm,
    ) -> impl Iterator<Item = &'s KeyEntry> {
        let known = kid.filter(|kid| self.keys.iter().any(|e| e.kid.as_deref() == Some(kid)));
        let keys = if kid.is_some() && known.is_none() && !self.unknown_kid_falls_back {
            &[][..]
        } else {
            &self.keys[..]
        };
        keys.iter()
            .filter(move |e| e.kid.as_deref() == known && e.algorithms.contains(&alg))
    }
}

/// Checks that `entry` can join `keys` (a unique `kid`, and a key the provider accepts) and
/// keys an HMAC secret for each of its algorithms.
fn admit(
    mut entry: KeyEntry,
    keys: &[KeyEntry],
    provider: &CryptoProvider,
) -> Result<KeyEntry, ConfigError> {
    if let Some(kid) = &entry.kid
        && keys.iter().any(|e| e.kid.as_ref() == Some(kid))
    {
        return Err(ConfigError::DuplicateKid(kid.clone()));
    }
    // jsonwebtoken 12.0.0 (rust-crypto) slices an Ed25519 key to 32 bytes without checking its
    // length: a shorter key would panic there, so it is refused here (found by fuzzing).
    if entry.key.family() == AlgorithmFamily::Ed
        && entry.key.try_get_as_bytes().map(<[u8]>::len) != Ok(32)
    {
        return Err(ConfigError::invalid_key(
            "an Ed25519 public key is 32 bytes",
        ));
    }
    // aws-lc-rs never verifies with a shorter key, the RustCrypto backend does: refused
    // here, the same whatever the backend (RFC 7518 §3.3 asks for 2048 bits at least).
    if entry.key.family() == AlgorithmFamily::Rsa {
        let bits = rsa_modulus_bits(&entry.key).ok_or_else(|| {
            ConfigError::invalid_key("the RSA public key is not a PKCS#1 RSAPublicKey")
        })?;
        if bits < MIN_RSA_BITS {
            return Err(ConfigError::WeakRsaKey { bits });
        }
    }
    for alg in &entry.algorithms {
        (provider.verifier_factory)(alg, &entry.key).map_err(|e| {
            ConfigError::unreadable_key(format!("the {alg:?} key cannot be used"), e)
        })?;
    }
    entry.hmac = (entry.algorithms.iter())
        .filter_map(|alg| Some((*alg, HmacKey::new(provider, &entry.key, *alg)?)))
        .collect();
    Ok(entry)
}

fn explicit_key(
    kid: Option<String>,
    key: DecodingKey,
    algorithm: Algorithm,
    allowed: Option<&[Algorithm]>,
) -> Result<KeyEntry, ConfigError> {
    if key.family() != algorithm.family() {
        return Err(ConfigError::KeyFamilyMismatch { algorithm });
    }
    if allowed.is_some_and(|a| !a.contains(&algorithm)) {
        return Err(ConfigError::AlgorithmNotAllowed { algorithm });
    }
    check_hmac_strength(&key, algorithm)?;
    Ok(KeyEntry::new(kid, key, vec![algorithm]))
}

/// RFC 7518 §3.2: an HMAC key must be at least as long as the hash output. Shorter
/// secrets can be brute-forced offline from any token.
pub(crate) fn check_hmac_strength(
    key: &DecodingKey,
    algorithm: Algorithm,
) -> Result<(), ConfigError> {
    let min = match algorithm {
        Algorithm::HS256 => 32,
        Algorithm::HS384 => 48,
        Algorithm::HS512 => 64,
        _ => return Ok(()),
    };
    let len = key.try_get_as_bytes().map(<[u8]>::len).unwrap_or(0);
    if len < min {
        return Err(ConfigError::WeakHmacSecret {
            algorithm,
            min_bytes: min,
        });
    }
    Ok(())
}

/// The shortest RSA modulus admitted, in bits.
const MIN_RSA_BITS: usize = 2048;

/// The size of an RSA key's modulus, from its components or its PKCS#1 DER
/// (`RSAPublicKey ::= SEQUENCE { modulus INTEGER, publicExponent INTEGER }`).
fn rsa_modulus_bits(key: &DecodingKey) -> Option<usize> {
    let modulus = match key.kind() {
        DecodingKeyKind::RsaModulusExponent { n, .. } => n.as_slice(),
        DecodingKeyKind::SecretOrDer(der) => {
            let (sequence, _) = der_element(der, 0x30)?;
            der_element(sequence, 0x02)?.0
        }
    };
    let first = modulus.iter().position(|&b| b != 0)?;
    let leading = usize::try_from(modulus[first].leading_zeros()).ok()?;
    Some((modulus.len() - first) * 8 - leading)
}

/// One DER element with this tag at the start of `input`: its contents and what follows.
fn der_element(input: &[u8], tag: u8) -> Option<(&[u8], &[u8])> {
    let (&found, rest) = input.split_first()?;
    let (&first, rest) = rest.split_first()?;
    if found != tag {
        return None;
    }
    let (len, rest) = if first < 0x80 {
        (usize::from(first), rest)
    } else {
        let count = usize::from(first & 0x7f);
        if count == 0 || count > 4 || rest.len() < count {
            return None;
        }
        let (bytes, rest) = rest.split_at(count);
        let len = bytes.iter().fold(0usize, |n, &b| n << 8 | usize::from(b));
        (len, rest)
    };
    (rest.len() >= len).then(|| rest.split_at(len))
}

/// Reads a JWK. `Ok(None)` skips a key that is not for verifying signatures, or of a type
/// or algorithm this crate does not support: one such key never spoils a whole set.
fn jwk_key(jwk: &Jwk, allowed: Option<&[Algorithm]>) -> Result<Option<KeyEntry>, ConfigError> {
    let kid = jwk.common.key_id.clone();
    let skip = |why: &str| {
        tracing::info!(kid = kid.as_deref(), why, "skipping JWK");
        Ok(None)
    };
    if matches!(&jwk.common.public_key_use, Some(u) if *u != PublicKeyUse::Signature) {
        return skip("its `use` is not `sig`");
    }
    if matches!(&jwk.common.key_operations, Some(ops) if !ops.contains(&KeyOperations::Verify)) {
        return skip("its `key_ops` lack `verify`");
    }
    let Some(family) = jwk_family(&jwk.algorithm) else {
        return skip("unsupported key type");
    };
    let algorithms: Vec<Algorithm> = match jwk.common.key_algorithm {
        Some(alg) => match Algorithm::try_from(alg) {
            Ok(alg) if alg.family() != family => {
                return Err(ConfigError::invalid_key(format!(
                    "JWK {kid:?}: `alg` {alg:?} does not fit its key type"
                )));
            }
            Ok(alg) if allowed.is_some_and(|a| !a.contains(&alg)) => {
                return skip("its `alg` is not in the allow-list");
            }
            Ok(alg) => vec![alg],
            Err(_) => return skip("its `alg` is not a supported signature algorithm"),
        },
        None => match jwk_curve_algorithm(&jwk.algorithm) {
            Some(alg) if allowed.is_none_or(|a| a.contains(&alg)) => vec![alg],
            Some(_) => return skip("its curve's algorithm is not in the allow-list"),
            None => allowed
                .unwrap_or_default()
                .iter()
                .copied()
                .filter(|a| a.family() == family)
                .collect(),
        },
    };
    if algorithms.is_empty() {
        return Err(ConfigError::JwkWithoutAlgorithm { kid });
    }
    if let (Some(curve_alg), [alg]) = (jwk_curve_algorithm(&jwk.algorithm), &algorithms[..])
        && curve_alg != *alg
    {
        return Err(ConfigError::invalid_key(format!(
            "JWK {kid:?}: its curve does not fit `alg` {alg:?}"
        )));
    }
    let key = match DecodingKey::from_jwk(jwk) {
        Ok(key) => key,
        Err(e) => {
            return Err(ConfigError::unreadable_key(
                format!("JWK {kid:?} cannot be read"),
                e,
            ));
        }
    };
    for alg in &algorithms {
        check_hmac_strength(&key, *alg)?;
    }
    Ok(Some(KeyEntry::new(kid, key, algorithms)))
}

fn jwk_family(params: &AlgorithmParameters) -> Option<AlgorithmFamily> {
    match params {
        AlgorithmParameters::RSA(_) => Some(AlgorithmFamily::Rsa),
        AlgorithmParameters::EllipticCurve(p) => {
            matches!(p.curve, EllipticCurve::P256 | EllipticCurve::P384)
                .then_some(AlgorithmFamily::Ec)
        }
        AlgorithmParameters::OctetKeyPair(p) => {
            (p.curve == EllipticCurve::Ed25519).then_some(AlgorithmFamily::Ed)
        }
        AlgorithmParameters::OctetKey(_) => Some(AlgorithmFamily::Hmac),
        _ => None,
    }
}

/// The one algorithm a key's curve allows, if its type has a curve.
fn jwk_curve_algorithm(params: &AlgorithmParameters) -> Option<Algorithm> {
    match params {
        AlgorithmParameters::EllipticCurve(p) => match p.curve {
            EllipticCurve::P256 => Some(Algorithm::ES256),
            EllipticCurve::P384 => Some(Algorithm::ES384),
            _ => None,
        },
        AlgorithmParameters::OctetKeyPair(p) if p.curve == EllipticCurve::Ed25519 => {
            Some(Algorithm::EdDSA)
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// tests/data/ec_public.pem as a JWK, with this `kid`.
    #[cfg(feature = "jwks")]
    fn ec_jwk(kid: Option<&str>) -> serde_json::Value {
        let mut jwk = serde_json::json!({
            "kty": "EC", "crv": "P-256",
            "x": "GL5zS8QcTdYFmHFKpHjxrl1rqMERUYvNqPyXwE9JmpY",
            "y": "FnzRvaYDZYfb6rr98cv7eKmZfYqrAUbTKi-7AK1ssD0",
        });
        if let Some(kid) = kid {
            jwk["kid"] = kid.into();
        }
        jwk
    }

    #[cfg(feature = "jwks")]
    fn fetched(keys: Vec<serde_json::Value>) -> KeySet {
        let provider = crate::install_crypto_provider().unwrap();
        let set: JwkSet = serde_json::from_value(serde_json::json!({ "keys": keys })).unwrap();
        KeySet::with_fetched(&[], &set, None, provider, false)
    }

    // Issue #12, item 12: a JWKS could bring RSA keys under 2048 bits, and shared secrets.
    #[cfg(feature = "jwks")]
    #[test]
    fn short_rsa_keys_and_shared_secrets_are_skipped_in_a_fetched_set() {
        let weak: serde_json::Value =
            serde_json::from_str(include_str!("../../tests/data/rsa1024_public.jwk.json")).unwrap();
        let mut weak_rs256 = weak.clone();
        weak_rs256["alg"] = "RS256".into();
        let secret = serde_json::json!({
            "kty": "oct", "alg": "HS256", "kid": "shared",
            "k": "c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0LXNlY3JldC0xMjM0NTY3ODkw",
        });
        let set = fetched(vec![weak_rs256, secret.clone(), ec_jwk(Some("ok"))]);
        assert_eq!(set.len(), 1);
        assert_eq!(set.select(Some("ok"), Algorithm::ES256).count(), 1);
        // Shared secrets only when asked for.
        let provider = crate::install_crypto_provider().unwrap();
        let with_secret: JwkSet =
            serde_json::from_value(serde_json::json!({ "keys": [secret] })).unwrap();
        let set = KeySet::with_fetched(&[], &with_secret, None, provider, true);
        assert_eq!(set.select(Some("shared"), Algorithm::HS256).count(), 1);
    }

    #[test]
    fn reads_the_size_of_an_rsa_modulus() {
        let der = include_bytes!("../../tests/data/rsa_public_pkcs1.der");
        assert_eq!(
            rsa_modulus_bits(&DecodingKey::from_rsa_der(der)),
            Some(2048)
        );
        let weak: serde_json::Value =
            serde_json::from_str(include_str!("../../tests/data/rsa1024_public.jwk.json")).unwrap();
        let (n, e) = (weak["n"].as_str().unwrap(), weak["e"].as_str().unwrap());
        let key = DecodingKey::from_rsa_components(n, e).unwrap();
        assert_eq!(rsa_modulus_bits(&key), Some(1024));
        // A leading zero byte, and a top byte with leading zero bits.
        let key = DecodingKey::from_rsa_raw_components(&[0, 0x01, 0xff, 0xff], &[1, 0, 1]);
        assert_eq!(rsa_modulus_bits(&key), Some(17));
        for bad in [
            &b""[..],
            b"\x30",
            b"\x30\x05\x02\x01",
            b"\x31\x03\x02\x01\x01",
            b"\x30\x84",
        ] {
            assert_eq!(
                rsa_modulus_bits(&DecodingKey::from_rsa_der(bad)),
                None,
                "{bad:?}"
            );
        }
        // Long-form lengths.
        let mut long = vec![0x30, 0x82, 0x01, 0x04, 0x02, 0x82, 0x01, 0x00, 0x80];
        long.extend([0u8; 255]);
        assert_eq!(
            rsa_modulus_bits(&DecodingKey::from_rsa_der(&long)),
            Some(2048)
        );
    }

    // Issue #12, item 9: a JWKS of 1,500 keys without `kid` made every forged token cost
    // 1,500 signature checks.
    #[cfg(feature = "jwks")]
    #[test]
    fn a_token_without_kid_is_tried_with_a_bounded_number_of_fetched_keys() {
        let set = fetched(vec![ec_jwk(None); 1500]);
        assert_eq!(set.len(), MAX_FETCHED_WITHOUT_KID);
        assert_eq!(
            set.select(None, Algorithm::ES256).count(),
            MAX_FETCHED_WITHOUT_KID
        );
        // Keys with a `kid` are not limited: each is found by its own `kid`.
        let named: Vec<_> = (0..50).map(|i| ec_jwk(Some(&format!("k{i}")))).collect();
        let set = fetched(named);
        assert_eq!(set.len(), 50);
        assert_eq!(set.select(Some("k7"), Algorithm::ES256).count(), 1);
    }

    // Issue #12, item 9: a token naming an unknown `kid` was tried with the keys without
    // `kid`, so it never asked for a refetch (a key the provider just published was missed).
    #[cfg(feature = "jwks")]
    #[test]
    fn an_unknown_kid_finds_no_fetched_key_but_falls_back_among_static_ones() {
        let set = fetched(vec![ec_jwk(None), ec_jwk(Some("k1"))]);
        assert_eq!(set.select(Some("new"), Algorithm::ES256).count(), 0);
        assert_eq!(set.select(None, Algorithm::ES256).count(), 1);
        assert_eq!(set.select(Some("k1"), Algorithm::ES256).count(), 1);
        let static_keys = KeySet::new(set.keys.clone(), None);
        assert_eq!(static_keys.select(Some("new"), Algorithm::ES256).count(), 1);
        assert_eq!(static_keys.select(Some("k1"), Algorithm::ES256).count(), 1);
    }
}
