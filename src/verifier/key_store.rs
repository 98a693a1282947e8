//! Where the keys of one issuer live: an immutable [`KeySet`] snapshot that requests read
//! without a lock (`arc-swap`), and, for remote keys, the source that refreshes it
//! ([`RemoteKeys`], implemented by [`jwks`](crate::jwks)).

use std::sync::Arc;

use arc_swap::{ArcSwap, Guard};

use super::keys::{KeyEntry, KeySet};
#[cfg(feature = "jwks")]
use super::wait::KeysChanged;
use crate::{Algorithm, ConfigError};

/// A source that keeps a key set up to date in the background: how the core sees remote
/// keys, without knowing how they are fetched.
#[cfg(feature = "jwks")]
pub(crate) trait RemoteKeys: Send + Sync {
    /// Whether the source has keys: one fetch has succeeded, and they are not stale.
    fn is_ready(&self) -> bool;

    /// Asks for a refetch because a token names a key the set lacks. `None` when a refetch
    /// for an unknown key happened within the cooldown: the request is then answered at once.
    fn refetch_for_unknown_key(&self) -> Option<KeysChanged>;

    /// Completes at the next fetch, successful or not.
    fn next_change(&self) -> KeysChanged;
}

pub(crate) struct KeyStore {
    snapshot: Arc<ArcSwap<KeySet>>,
    #[cfg(feature = "jwks")]
    remote: Option<Arc<dyn RemoteKeys>>,
}

impl KeyStore {
    /// Keys that never change.
    pub(crate) fn fixed(set: KeySet) -> Self {
        KeyStore {
            snapshot: Arc::new(ArcSwap::from_pointee(set)),
            #[cfg(feature = "jwks")]
            remote: None,
        }
    }

    /// The static keys alone, which must then be at least one.
    pub(crate) fn of_static_keys(
        keys: Vec<KeyEntry>,
        allowed: Option<&[Algorithm]>,
    ) -> Result<Self, ConfigError> {
        if keys.is_empty() {
            return Err(ConfigError::NoKeys);
        }
        Ok(KeyStore::fixed(KeySet::new(keys, allowed)))
    }

    /// Keys that `remote` keeps up to date in `snapshot`.
    #[cfg(feature = "jwks")]
    pub(crate) fn remote(snapshot: Arc<ArcSwap<KeySet>>, remote: Arc<dyn RemoteKeys>) -> Self {
        KeyStore {
            snapshot,
            remote: Some(remote),
        }
    }

    /// The current keys: no lock, no allocation.
    pub(crate) fn load(&self) -> Guard<Arc<KeySet>> {
        self.snapshot.load()
    }

    /// Whether requests can be checked: fixed keys always can; remote ones once fetched.
    pub(crate) fn is_ready(&self) -> bool {
        #[cfg(feature = "jwks")]
        if let Some(remote) = &self.remote {
            return remote.is_ready();
        }
        true
    }

    /// Asks for a refetch because a token names a key the set lacks. `None` when the keys
    /// are fixed, or when a refetch for an unknown key happened within the cooldown: the
    /// request is then answered at once.
    #[cfg(feature = "jwks")]
    pub(crate) fn refetch(&self) -> Option<KeysChanged> {
        self.remote.as_ref()?.refetch_for_unknown_key()
    }

    /// Completes at the next fetch of remote keys (`None` for fixed keys: never).
    #[cfg(feature = "jwks")]
    pub(crate) fn next_change(&self) -> Option<KeysChanged> {
        Some(self.remote.as_ref()?.next_change())
    }
}

impl std::fmt::Debug for KeyStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeyStore")
            .field("keys", &self.snapshot.load())
            .field("ready", &self.is_ready())
            .finish()
    }
}
