//! Issuers trusted at run time: each `iss` of each one maps to its key store and policy.
//! Requests read an immutable snapshot, swapped whole when an issuer is added or removed.

use std::collections::{HashMap, VecDeque};
use std::fmt;
use std::sync::{Arc, Mutex, OnceLock, PoisonError};

use arc_swap::ArcSwap;

use super::key_store::KeyStore;
use super::policy::Policy;
#[cfg(feature = "jwks")]
use super::wait::{Changes, KeysChanged};

/// One issuer trusted at run time.
pub(crate) struct Tenant {
    pub(crate) store: KeyStore,
    pub(crate) policy: Policy,
}

/// Makes the tenant of an issuer no one added, when it is to be trusted: its names and
/// its tenant, or `None`. The shell's, around the application's answer.
pub(crate) type Resolve = dyn Fn(&str) -> Option<(Vec<String>, Tenant)> + Send + Sync;

/// What a resolution ends with: [`Resolve`]'s answer, given later.
#[cfg(feature = "jwks")]
pub(crate) type Resolved = Box<dyn FnOnce(Option<(Vec<String>, Tenant)>) + Send>;

/// Starts resolving an issuer no one added, in the background; the resolution ends by
/// calling the [`Resolved`] it is given (once, whatever happens). The shell's, around the
/// application's asynchronous answer.
#[cfg(feature = "jwks")]
pub(crate) type StartResolve = dyn Fn(&str, Resolved) + Send + Sync;

/// How many issuers may be looked up at once by an asynchronous resolver; a token naming
/// yet another unknown issuer is refused meanwhile (a flood of made-up issuers keeps no
/// more than this many lookups running).
#[cfg(feature = "jwks")]
pub(crate) const MAX_LOOKUPS: usize = 32;

/// The issuers trusted at run time, by every `iss` they go by.
#[derive(Default)]
pub(crate) struct Tenants {
    by_iss: ArcSwap<HashMap<String, Arc<Tenant>>>,
    resolver: OnceLock<Resolver>,
}

/// Issuers trusted on first sight, when the application's resolver says so: at most
/// `capacity` of them at once, the oldest forgotten first (and asked about again).
struct Resolver {
    how: How,
    capacity: usize,
    /// The issuers it made, oldest first.
    made: Mutex<VecDeque<Arc<Tenant>>>,
}

/// When the resolver answers.
enum How {
    /// At once, on the request path.
    Now(Box<Resolve>),
    /// Later: the request waits for the lookup of its issuer, which requests naming the
    /// same issuer share.
    #[cfg(feature = "jwks")]
    Later {
        start: Box<StartResolve>,
        /// The issuers being looked up, each with what announces the end of its lookup
        /// (to its own waiters alone: another issuer's end must not wake them early).
        running: Mutex<HashMap<String, Arc<Changes>>>,
    },
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
        self.set(How::Now(resolve), capacity)
    }

    /// Sets a resolver that answers later, once: whether it was set now.
    #[cfg(feature = "jwks")]
    pub(crate) fn set_resolver_later(&self, start: Box<StartResolve>, capacity: usize) -> bool {
        let how = How::Later {
            start,
            running: Mutex::default(),
        };
        self.set(how, capacity)
    }

    fn set(&self, how: How, capacity: usize) -> bool {
        let resolver = Resolver {
            how,
            capacity: capacity.max(1),
            made: Mutex::default(),
        };
        self.resolver.set(resolver).is_ok()
    }

    /// Asks the resolver about `iss`, and trusts the issuer it makes, forgetting the oldest
    /// one it made beyond its capacity. One at a time: two requests naming the same new
    /// issuer make it once. A resolver that answers later is not asked here.
    fn resolve(&self, iss: &str) -> Option<Arc<Tenant>> {
        let resolver = self.resolver.get()?;
        // Without `jwks` there is no other kind of resolver.
        #[allow(irrefutable_let_patterns)]
        let How::Now(resolve) = &resolver.how else {
            return None;
        };
        let made = resolver.made.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(tenant) = self.by_iss.load().get(iss) {
            return Some(Arc::clone(tenant));
        }
        let made_now = resolve(iss)?;
        self.trust_made(resolver, made, iss, made_now)
    }

    /// For a token naming `iss`, an issuer no one added, when the resolver answers later:
    /// a future that completes when the lookup of `iss` ends — started now, or already
    /// running for another request (at once if `iss` was trusted meanwhile). `None` when
    /// there is no such resolver, or [`MAX_LOOKUPS`] lookups of other issuers are running.
    #[cfg(feature = "jwks")]
    pub(crate) fn resolve_later(self: &Arc<Self>, iss: &str) -> Option<KeysChanged> {
        let resolver = self.resolver.get()?;
        let How::Later { start, running } = &resolver.how else {
            return None;
        };
        let wait = {
            let mut running = running.lock().unwrap_or_else(PoisonError::into_inner);
            if let Some(ended) = running.get(iss) {
                return Some(ended.next());
            }
            if self.contains(iss) {
                // Trusted since the token was routed: decide again at once.
                let ended = Arc::new(Changes::default());
                let wait = ended.next();
                ended.announce();
                return Some(wait);
            }
            if running.len() >= MAX_LOOKUPS {
                return None;
            }
            let ended = Arc::new(Changes::default());
            // Taken before the lookup starts: it may end before the request waits.
            let wait = ended.next();
            running.insert(iss.to_owned(), ended);
            wait
        };
        let tenants = Arc::downgrade(self);
        let asked = iss.to_owned();
        start(
            iss,
            Box::new(move |made_now| {
                if let Some(tenants) = tenants.upgrade() {
                    tenants.resolved(&asked, made_now);
                }
            }),
        );
        Some(wait)
    }

    /// A lookup of `iss` ended: its issuer, if any, is trusted, and its waiters decide again.
    #[cfg(feature = "jwks")]
    fn resolved(&self, iss: &str, made_now: Option<(Vec<String>, Tenant)>) {
        let Some(resolver) = self.resolver.get() else {
            return;
        };
        let How::Later { running, .. } = &resolver.how else {
            return;
        };
        if let Some(made_now) = made_now {
            let made = resolver.made.lock().unwrap_or_else(PoisonError::into_inner);
            self.trust_made(resolver, made, iss, made_now);
        }
        let ended = running
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(iss);
        if let Some(ended) = ended {
            ended.announce();
        }
    }

    /// Trusts the issuer a resolver made for `iss`, if it goes by that name, forgetting the
    /// oldest one it made beyond its capacity.
    fn trust_made(
        &self,
        resolver: &Resolver,
        mut made: std::sync::MutexGuard<'_, VecDeque<Arc<Tenant>>>,
        iss: &str,
        (names, tenant): (Vec<String>, Tenant),
    ) -> Option<Arc<Tenant>> {
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
