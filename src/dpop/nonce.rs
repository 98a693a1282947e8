//! Server nonces (RFC 9449 §9): a proof must carry a nonce this server gave out recently,
//! so that a proof cannot be made ahead of time. Stateless: a nonce is the time window it
//! was made in and a MAC of it, so every replica sharing the secret accepts every other's;
//! one is good for the window it was made in and the next.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::crypto::CryptoProvider;
use jsonwebtoken::{Algorithm, EncodingKey};
use subtle::ConstantTimeEq;

use crate::ConfigError;

/// The bytes of the MAC a nonce carries.
const MAC_LEN: usize = 16;

/// Which window a valid nonce was made in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum NonceAge {
    Current,
    /// The window before: still good, and the client should be given a new one.
    Previous,
}

pub(crate) struct Nonces {
    /// The MAC key, made once from the secret.
    key: EncodingKey,
    /// Seconds per window.
    window: u64,
    provider: &'static CryptoProvider,
}

impl Nonces {
    pub(crate) fn new(
        secret: &[u8],
        window: u64,
        provider: &'static CryptoProvider,
    ) -> Result<Self, ConfigError> {
        let key = EncodingKey::from_secret(secret)
            .map_err(|e| ConfigError::InvalidDpopOptions(format!("the nonce secret: {e}")))?;
        Ok(Nonces {
            key,
            window: window.max(1),
            provider,
        })
    }

    /// A nonce for now.
    pub(crate) fn fresh(&self, now: u64) -> Option<String> {
        let window = (now / self.window).to_be_bytes();
        let mut nonce = window.to_vec();
        nonce.extend_from_slice(self.mac(&window)?.get(..MAC_LEN)?);
        Some(URL_SAFE_NO_PAD.encode(nonce))
    }

    /// When `nonce` was made by this server: in the current window or the one before;
    /// `None` if it is not one of this server's current nonces.
    pub(crate) fn age(&self, nonce: &str, now: u64) -> Option<NonceAge> {
        let bytes = URL_SAFE_NO_PAD.decode(nonce).ok()?;
        let (window, mac) = bytes.split_first_chunk::<8>()?;
        let made = u64::from_be_bytes(*window);
        let current = now / self.window;
        // `made` is the client's: no arithmetic on it may overflow.
        let age = if made == current {
            NonceAge::Current
        } else if made.checked_add(1) == Some(current) {
            NonceAge::Previous
        } else {
            return None;
        };
        if mac.len() != MAC_LEN {
            return None;
        }
        // Every byte compared, whatever the first difference: no timing leak.
        let full = self.mac(window)?;
        bool::from(full[..MAC_LEN].ct_eq(mac)).then_some(age)
    }

    #[cfg(test)]
    fn is_fresh(&self, nonce: &str, now: u64) -> bool {
        self.age(nonce, now).is_some()
    }

    fn mac(&self, message: &[u8]) -> Option<Vec<u8>> {
        let signer = (self.provider.signer_factory)(&Algorithm::HS256, &self.key).ok()?;
        signer.try_sign(message).ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::install_crypto_provider;

    /// Good in the window it was made in and the next, both sides of each edge.
    #[test]
    fn a_nonce_is_good_for_its_window_and_the_next() {
        let nonces = Nonces::new(&[7; 32], 60, install_crypto_provider().unwrap()).unwrap();
        let made_at = 6_000; // the start of window 100
        let nonce = nonces.fresh(made_at + 30).unwrap();
        assert!(!nonces.is_fresh(&nonce, made_at - 1), "before its window");
        assert!(nonces.is_fresh(&nonce, made_at));
        assert_eq!(nonces.age(&nonce, made_at + 59), Some(NonceAge::Current));
        assert_eq!(nonces.age(&nonce, made_at + 60), Some(NonceAge::Previous));
        assert!(
            nonces.is_fresh(&nonce, made_at + 119),
            "the end of the next window"
        );
        assert!(!nonces.is_fresh(&nonce, made_at + 120), "two windows on");
    }

    #[test]
    fn a_nonce_of_another_secret_or_tampered_with_is_refused() {
        let provider = install_crypto_provider().unwrap();
        let ours = Nonces::new(&[7; 32], 60, provider).unwrap();
        let theirs = Nonces::new(&[8; 32], 60, provider).unwrap();
        let nonce = theirs.fresh(6_000).unwrap();
        assert!(!ours.is_fresh(&nonce, 6_000));
        let mut bytes = URL_SAFE_NO_PAD.decode(ours.fresh(6_000).unwrap()).unwrap();
        *bytes.last_mut().unwrap() ^= 1;
        assert!(!ours.is_fresh(&URL_SAFE_NO_PAD.encode(bytes), 6_000));
        assert!(!ours.is_fresh("not base64!", 6_000));
        assert!(!ours.is_fresh("", 6_000));
        // The last window a u64 can name: refused, without overflowing.
        let last =
            URL_SAFE_NO_PAD.encode([u64::MAX.to_be_bytes().as_slice(), &[0; MAC_LEN]].concat());
        assert!(!ours.is_fresh(&last, 6_000));
    }
}
