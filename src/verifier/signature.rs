//! Signature checks with verifiers built once per key: per key and thread for public keys,
//! once for all threads for HMAC secrets.
//!
//! jsonwebtoken builds a verifier — an HMAC key schedule, a parsed public key — on every
//! call, and its verifiers are neither `Send` nor `Sync`, so one cannot be shared between
//! threads. Each thread therefore keeps the verifiers it has built, found by the key's
//! unique id. Ids are never reused, so a stale entry can only waste a slot, never verify
//! with the wrong key.
//!
//! HMAC, whose check costs little more than the rest of a request, goes further: when the
//! crypto provider is this crate's own backend, each secret is keyed once ([`HmacKey`],
//! with the backend's own HMAC) and shared by every thread, and the signature is checked
//! from the stack, with no allocation.

use std::cell::RefCell;
use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};

use jsonwebtoken::DecodingKey;
use jsonwebtoken::crypto::{CryptoProvider, JwtVerifier};

use crate::Algorithm;

/// The verifiers one thread keeps; past this, the thread starts over.
const MAX_PER_THREAD: usize = 64;

type Cached = (u64, Algorithm, Box<dyn JwtVerifier>);

thread_local! {
    static VERIFIERS: RefCell<Vec<Cached>> = const { RefCell::new(Vec::new()) };
}

/// A fresh, never reused key id.
pub(crate) fn next_key_id() -> u64 {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    NEXT.fetch_add(1, Ordering::Relaxed)
}

/// An HMAC secret keyed for one algorithm, with the backend's HMAC, once for every thread.
#[derive(Clone)]
pub(crate) enum HmacKey {
    #[cfg(feature = "aws-lc-rs")]
    AwsLc(aws_lc_rs::hmac::Key),
    #[cfg(all(feature = "rust-crypto", not(feature = "aws-lc-rs")))]
    Sha256(hmac::Hmac<sha2::Sha256>),
    #[cfg(all(feature = "rust-crypto", not(feature = "aws-lc-rs")))]
    Sha384(hmac::Hmac<sha2::Sha384>),
    #[cfg(all(feature = "rust-crypto", not(feature = "aws-lc-rs")))]
    Sha512(hmac::Hmac<sha2::Sha512>),
}

impl HmacKey {
    /// `key` keyed for `alg`, when `alg` is an HMAC and `provider` is the backend this crate
    /// compiled in; `None` otherwise: a provider the application installed itself is always
    /// used through jsonwebtoken.
    pub(crate) fn new(
        provider: &CryptoProvider,
        key: &DecodingKey,
        alg: Algorithm,
    ) -> Option<Self> {
        if !super::crypto::is_compiled_in(provider) {
            return None;
        }
        let secret = key.try_get_as_bytes().ok()?;
        #[cfg(feature = "aws-lc-rs")]
        {
            use aws_lc_rs::hmac;
            let mac = match alg {
                Algorithm::HS256 => hmac::HMAC_SHA256,
                Algorithm::HS384 => hmac::HMAC_SHA384,
                Algorithm::HS512 => hmac::HMAC_SHA512,
                _ => return None,
            };
            Some(HmacKey::AwsLc(hmac::Key::new(mac, secret)))
        }
        #[cfg(all(feature = "rust-crypto", not(feature = "aws-lc-rs")))]
        {
            use hmac::KeyInit;
            match alg {
                Algorithm::HS256 => hmac::Hmac::new_from_slice(secret).ok().map(HmacKey::Sha256),
                Algorithm::HS384 => hmac::Hmac::new_from_slice(secret).ok().map(HmacKey::Sha384),
                Algorithm::HS512 => hmac::Hmac::new_from_slice(secret).ok().map(HmacKey::Sha512),
                _ => None,
            }
        }
        #[cfg(not(any(feature = "aws-lc-rs", feature = "rust-crypto")))]
        {
            let _ = (secret, alg);
            None
        }
    }

    /// Whether `signature` is the MAC of `message`, compared in constant time.
    pub(crate) fn verify(&self, message: &[u8], signature: &[u8]) -> bool {
        // With no backend compiled in, no `HmacKey` exists and nothing below reads these.
        #[cfg(not(any(feature = "aws-lc-rs", feature = "rust-crypto")))]
        let _ = (message, signature);
        #[cfg(all(feature = "rust-crypto", not(feature = "aws-lc-rs")))]
        fn check<M: hmac::Mac + Clone>(mac: &M, message: &[u8], signature: &[u8]) -> bool {
            let mut mac = mac.clone();
            mac.update(message);
            mac.verify_slice(signature).is_ok()
        }
        // `*self`: with no backend compiled in, the enum is empty and so is the match.
        match *self {
            #[cfg(feature = "aws-lc-rs")]
            HmacKey::AwsLc(ref key) => aws_lc_rs::hmac::verify(key, message, signature).is_ok(),
            #[cfg(all(feature = "rust-crypto", not(feature = "aws-lc-rs")))]
            HmacKey::Sha256(ref mac) => check(mac, message, signature),
            #[cfg(all(feature = "rust-crypto", not(feature = "aws-lc-rs")))]
            HmacKey::Sha384(ref mac) => check(mac, message, signature),
            #[cfg(all(feature = "rust-crypto", not(feature = "aws-lc-rs")))]
            HmacKey::Sha512(ref mac) => check(mac, message, signature),
        }
    }
}

impl fmt::Debug for HmacKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("HmacKey(..)")
    }
}

/// Whether `signature` is the signature of `message` under `alg` by the key `key_id`
/// (`key`, or `hmac` when it was keyed once).
pub(crate) fn verify(
    provider: &CryptoProvider,
    (key_id, key, hmac): (u64, &DecodingKey, Option<&HmacKey>),
    alg: Algorithm,
    message: &[u8],
    signature: &[u8],
) -> bool {
    if let Some(mac) = hmac {
        return mac.verify(message, signature);
    }
    // jsonwebtoken's verifiers take the signature as a `Vec`.
    let signature = &signature.to_vec();
    let fresh = || (provider.verifier_factory)(&alg, key).ok();
    VERIFIERS
        .try_with(|cell| {
            let mut cache = cell.borrow_mut();
            let at = match cache
                .iter()
                .position(|(id, a, _)| *id == key_id && *a == alg)
            {
                Some(at) => at,
                None => {
                    let Some(verifier) = fresh() else {
                        return false;
                    };
                    if cache.len() == MAX_PER_THREAD {
                        cache.clear();
                    }
                    cache.push((key_id, alg, verifier));
                    cache.len() - 1
                }
            };
            cache[at].2.verify(message, signature).is_ok()
        })
        // During thread teardown the cache is gone: build a verifier for this call alone.
        .unwrap_or_else(|_| fresh().is_some_and(|v| v.verify(message, signature).is_ok()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::verifier::keys::KeyEntry;

    #[test]
    fn each_thread_keeps_a_bounded_number_of_verifiers() {
        let provider = crate::install_crypto_provider().unwrap();
        let pem = include_bytes!("../../tests/data/ed_public.pem");
        let key = DecodingKey::from_ed_pem(pem).unwrap();
        // Keys come and go (rotation): the cache never holds more than its bound.
        for _ in 0..3 * MAX_PER_THREAD {
            let entry = KeyEntry::new(None, key.clone(), vec![Algorithm::EdDSA]);
            assert!(!entry.verify(provider, Algorithm::EdDSA, b"m", &[0; 64]));
            let held = VERIFIERS.with(|v| v.borrow().len());
            assert!(0 < held && held <= MAX_PER_THREAD, "{held}");
        }
    }

    #[test]
    fn hmac_keys_answer_as_jsonwebtoken_does() {
        let provider = crate::install_crypto_provider().unwrap();
        let secret = [7u8; 64];
        let key = DecodingKey::from_secret(&secret).unwrap();
        let signing = jsonwebtoken::EncodingKey::from_secret(&secret).unwrap();
        for alg in [Algorithm::HS256, Algorithm::HS384, Algorithm::HS512] {
            let mac = HmacKey::new(provider, &key, alg).expect("the compiled-in backend");
            let message = b"header.payload";
            let signature = jsonwebtoken::crypto::sign(message, &signing, alg).unwrap();
            let signature = crate::verifier::jws::decode(&signature).unwrap();
            assert!(mac.verify(message, &signature), "{alg:?}");
            let mut forged = signature.clone();
            forged[0] ^= 1;
            for (message, signature) in [
                (&b"header.payloaD"[..], &signature[..]),
                (message, &forged),
                (message, &signature[..signature.len() - 1]),
                (message, &[]),
            ] {
                let theirs = (provider.verifier_factory)(&alg, &key)
                    .unwrap()
                    .verify(message, &signature.to_vec())
                    .is_ok();
                assert!(!theirs && !mac.verify(message, signature), "{alg:?}");
            }
        }
        assert!(HmacKey::new(provider, &key, Algorithm::RS256).is_none());
    }

    #[test]
    fn a_provider_installed_by_the_application_is_used_through_jsonwebtoken() {
        static CUSTOM: std::sync::LazyLock<CryptoProvider> = std::sync::LazyLock::new(|| {
            let ours = crate::install_crypto_provider().unwrap();
            CryptoProvider {
                signer_factory: ours.signer_factory,
                verifier_factory: ours.verifier_factory,
                key_utils: ours.key_utils.clone(),
            }
        });
        let key = DecodingKey::from_secret(&[7u8; 32]).unwrap();
        assert!(HmacKey::new(&CUSTOM, &key, Algorithm::HS256).is_none());
    }
}
