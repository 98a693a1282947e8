//! Signature checks with verifiers built once per key and thread.
//!
//! jsonwebtoken builds a verifier — an HMAC key schedule, a parsed public key — on every
//! call, and its verifiers are neither `Send` nor `Sync`, so one cannot be shared between
//! threads. Each thread therefore keeps the verifiers it has built, found by the key's
//! unique id. Ids are never reused, so a stale entry can only waste a slot, never verify
//! with the wrong key.

use std::cell::RefCell;
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

/// Whether `signature` is `key`'s signature of `message` under `alg`.
pub(crate) fn verify(
    provider: &CryptoProvider,
    key_id: u64,
    key: &DecodingKey,
    alg: Algorithm,
    message: &[u8],
    signature: &Vec<u8>,
) -> bool {
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

    #[test]
    fn each_thread_keeps_a_bounded_number_of_verifiers() {
        let provider = crate::install_crypto_provider().unwrap();
        let key = DecodingKey::from_secret(b"a-secret-of-at-least-thirty-two-bytes").unwrap();
        // Keys come and go (rotation): the cache never holds more than its bound.
        for _ in 0..3 * MAX_PER_THREAD {
            assert!(!verify(
                provider,
                next_key_id(),
                &key,
                Algorithm::HS256,
                b"m",
                &vec![0; 32]
            ));
            let held = VERIFIERS.with(|v| v.borrow().len());
            assert!(held <= MAX_PER_THREAD, "{held}");
        }
    }
}
