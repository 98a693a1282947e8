//! Issuers trusted at run time: each `iss` of each one maps to its key store and policy.
//! Requests read an immutable snapshot, swapped whole when an issuer is added or removed.

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;

use arc_swap::ArcSwap;

use super::key_store::KeyStore;
use super::policy::Policy;

/// One issuer trusted at run time.
pub(crate) struct Tenant {
    pub(crate) store: KeyStore,
    pub(crate) policy: Policy,
}

/// The issuers trusted at run time, by every `iss` they go by.
#[derive(Default)]
pub(crate) struct Tenants {
    by_iss: ArcSwap<HashMap<String, Arc<Tenant>>>,
}

impl Tenants {
    /// The issuer a token naming `iss` belongs to, if it is trusted now.
    pub(crate) fn get(&self, iss: &str) -> Option<Arc<Tenant>> {
        let by_iss = self.by_iss.load();
        if by_iss.is_empty() {
            return None;
        }
        by_iss.get(iss).cloned()
    }

    /// Trusts `tenant` under each of `names`, replacing whatever went by them.
    pub(crate) fn insert(&self, names: &[String], tenant: Tenant) {
        let tenant = Arc::new(tenant);
        self.by_iss.rcu(|current| {
            let mut next = HashMap::clone(current);
            for name in names {
                // An issuer that went by this name goes entirely: it is being replaced.
                if let Some(old) = next.get(name).cloned() {
                    next.retain(|_, t| !Arc::ptr_eq(t, &old));
                }
            }
            for name in names {
                next.insert(name.clone(), Arc::clone(&tenant));
            }
            next
        });
    }

    /// Stops trusting the issuer that goes by `name` (under all its names); whether one did.
    pub(crate) fn remove(&self, name: &str) -> bool {
        let mut removed = false;
        self.by_iss.rcu(|current| {
            let mut next = HashMap::clone(current);
            removed = match next.get(name).cloned() {
                Some(gone) => {
                    next.retain(|_, t| !Arc::ptr_eq(t, &gone));
                    true
                }
                None => false,
            };
            next
        });
        removed
    }

    /// The names trusted now.
    pub(crate) fn names(&self) -> Vec<String> {
        self.by_iss.load().keys().cloned().collect()
    }
}

impl fmt::Debug for Tenants {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Tenants")
            .field("issuers", &self.by_iss.load().len())
            .finish()
    }
}
