//! The rustls crypto provider of the crate's crypto backend, for the TLS the plug-ins speak
//! (the key client; Redis over `rediss://`).

use std::sync::Arc;

use rustls::crypto::CryptoProvider;

/// aws-lc-rs with feature `aws-lc-rs` (preferred, as for tokens); *ring* with `rust-crypto`
/// alone, since rustls has no production-ready RustCrypto provider; without either, the
/// process default, if the application installed one.
pub(crate) fn provider() -> Result<Arc<CryptoProvider>, String> {
    #[cfg(feature = "aws-lc-rs")]
    return Ok(Arc::new(rustls::crypto::aws_lc_rs::default_provider()));
    #[cfg(all(feature = "rust-crypto", not(feature = "aws-lc-rs")))]
    return Ok(Arc::new(rustls::crypto::ring::default_provider()));
    #[cfg(not(any(feature = "aws-lc-rs", feature = "rust-crypto")))]
    return CryptoProvider::get_default().cloned().ok_or_else(|| {
        "no rustls crypto provider: enable `aws-lc-rs` or `rust-crypto`".to_owned()
    });
}

/// Makes [`provider`] the process default when there is none: the Redis client builds its
/// TLS configuration from the default, and with both backends compiled in rustls cannot
/// choose one by itself.
#[cfg(feature = "redis")]
pub(crate) fn install_default_provider() {
    if CryptoProvider::get_default().is_none()
        && let Ok(provider) = provider()
    {
        // Losing a race with another installer is fine: whichever won is the default.
        let _ = CryptoProvider::install_default(Arc::unwrap_or_clone(provider));
    }
}
