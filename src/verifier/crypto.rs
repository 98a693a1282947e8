//! Choosing jsonwebtoken's crypto provider once, at `build()`, so that no request can hit
//! jsonwebtoken's "no provider" panic.

use jsonwebtoken::crypto::CryptoProvider;

use crate::ConfigError;

/// Makes sure jsonwebtoken has a process-wide crypto provider and returns it.
///
/// Uses the one already installed, if any; otherwise installs the backend chosen by this
/// crate's features, preferring `aws-lc-rs` when both are enabled (Cargo's feature
/// unification can do that). The layer calls it at `build()`; call it yourself before
/// `jsonwebtoken::encode` if you mint tokens before building a layer.
///
/// # Errors
/// [`ConfigError::NoCryptoProvider`] when neither backend is compiled in and none was
/// installed.
pub fn install_crypto_provider() -> Result<&'static CryptoProvider, ConfigError> {
    if let Some(provider) = CryptoProvider::try_get_default() {
        return Ok(provider);
    }
    let ours = compiled_in().ok_or(ConfigError::NoCryptoProvider)?;
    // Losing a race with another installer is fine: use whichever won.
    let _ = ours.install_default();
    Ok(CryptoProvider::try_get_default().unwrap_or(ours))
}

/// Whether `provider` is the backend this crate compiled in (and would install), which the
/// layer may then call directly.
pub(crate) fn is_compiled_in(provider: &CryptoProvider) -> bool {
    compiled_in().is_some_and(|ours| std::ptr::eq(ours, provider))
}

fn compiled_in() -> Option<&'static CryptoProvider> {
    #[cfg(feature = "aws-lc-rs")]
    return Some(&jsonwebtoken::crypto::aws_lc::DEFAULT_PROVIDER);
    #[cfg(all(feature = "rust-crypto", not(feature = "aws-lc-rs")))]
    return Some(&jsonwebtoken::crypto::rust_crypto::DEFAULT_PROVIDER);
    #[cfg(not(any(feature = "aws-lc-rs", feature = "rust-crypto")))]
    return None;
}
