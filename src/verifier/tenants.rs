//! Issuers trusted at run time: each `iss` of each one maps to its key store and policy.
//! Requests read an immutable snapshot, swapped whole when an issuer is added or removed.

use std::collections::{HashMap, VecDeque};
use std::fmt;
use std::sync::{Arc, Mutex, OnceLock, PoisonError};

use arc_swap::ArcSwap;

use super::key_store::KeyStore;
use super::policy::Policy;

/// One issuer trusted at run time.
pub(crate) struct Tenant {
    pub(crate) store: KeyStore,
    pub(crate) policy: Policy,
}

/// Makes the tenant of an issuer no one added, when it is to be trusted: its names and
/// its tenant, or `None`. The shell's, around the application's answer.
pub(crate) type Resolve = dyn Fn(&str) -> Option<(Vec<String>, Tenant)> + Send + Sync;

/// The issuers trusted at run time, by every `iss` they go by.
#[derive(Default)]
pub(crate) struct Tenants {
    by_iss: ArcSwap<HashMap<String, Arc<Tenant>>>,
    resolver: OnceLock<Resolver>,
}

/// Issuers trusted on first sight, when the application's resolver says so: at most
/// `capacity` of them at once, the oldest forgotten first (and asked about again).
struct Resolver {
    resolve: Box<Resolve>,
    capacity: usize,
    /// The issuers it made, oldest first.
    made: Mutex<VecDeque<Arc<Tenant>>>,
}

impl Tenants {
    /// The issuer a token naming `iss` belongs to, if it is trusted now; an issuer no one
    /// added is asked of the resolver, if there is one.
    pub(crate) fn get(&self, iss: &str) -> Option<Arc<Tenant>> {
        let by_iss = self.by_iss.load();
        if let Some(tenant) = by_iss.get(iss) {
            return Some(Arc::clone(tenant));
        }
        self.resolve(iss)
    }

    /// Whether `iss` is trusted now, without asking the resolver.
    pub(crate) fn contains(&self, iss: &str) -> bool {
        self.by_iss.load().contains_key(iss)
    }

    /// Sets the resolver, once: whether it was set now.
    pub(crate) fn set_resolver(&self, resolve: Box<Resolve>, capacity: usize) -> bool {
        let resolver = Resolver {
            resolve,
            capacity: capacity.max(1),
            made: Mutex::default(),
        };
        self.resolver.set(resolver).is_ok()
    }

    /// Asks the resolver about `iss`, and trusts the issuer it makes, forgetting the oldest
    /// one it made beyond its capacity. One at a time: two requests naming the same new
    /// issuer make it once.
    fn resolve(&self, iss: &str) -> Option<Arc<Tenant>> {
        let resolver = self.resolver.get()?;
        let mut made = resolver.made.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(tenant) = self.by_iss.load().get(iss) {
            return Some(Arc::clone(tenant));
        }
        let (names, tenant) = (resolver.resolve)(iss)?;
        if !names.iter().any(|name| name == iss) {
            return None;
        }
        let tenant = self.insert(&names, tenant);
        made.push_back(Arc::clone(&tenant));
        while made.len() > resolver.capacity {
            let Some(oldest) = made.pop_front() else {
                break;
            };
            self.by_iss.rcu(|current| {
                let mut next = HashMap::clone(current);
                next.retain(|_, t| !Arc::ptr_eq(t, &oldest));
                next
            });
        }
        Some(tenant)
    }

    /// Trusts `tenant` under each of `names`, replacing whatever went by them.
    pub(crate) fn insert(&self, names: &[String], tenant: Tenant) -> Arc<Tenant> {
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
        tenant
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
        if let Some(resolver) = self.resolver.get() {
            let mut made = resolver.made.lock().unwrap_or_else(PoisonError::into_inner);
            let by_iss = self.by_iss.load();
            made.retain(|tenant| by_iss.values().any(|t| Arc::ptr_eq(t, tenant)));
        }
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
            .field("resolver", &self.resolver.get().map(|r| r.capacity))
            .finish()
    }
}
