//! Where the keys of one issuer live: an immutable [`KeySet`] snapshot that requests read
//! without a lock (`arc-swap`), and, for remote keys, what refreshes it.

use std::sync::Arc;

use arc_swap::{ArcSwap, Guard};

use crate::keys::KeySet;
use crate::wait::KeysChanged;

pub(crate) struct KeyStore {
    snapshot: Arc<ArcSwap<KeySet>>,
    #[cfg(feature = "jwks")]
    remote: Option<Arc<crate::jwks::Remote>>,
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

    /// Keys that `remote` keeps up to date in `snapshot`.
    #[cfg(feature = "jwks")]
    pub(crate) fn remote(snapshot: Arc<ArcSwap<KeySet>>, remote: Arc<crate::jwks::Remote>) -> Self {
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
    pub(crate) fn refetch(&self) -> Option<KeysChanged> {
        #[cfg(feature = "jwks")]
        if let Some(remote) = &self.remote {
            return remote.refetch_for_unknown_key();
        }
        None
    }

    /// Completes at the next fetch of remote keys (never, for fixed keys).
    #[cfg_attr(not(feature = "jwks"), allow(dead_code))]
    pub(crate) fn next_change(&self) -> Option<KeysChanged> {
        #[cfg(feature = "jwks")]
        if let Some(remote) = &self.remote {
            return Some(remote.next_change());
        }
        None
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
