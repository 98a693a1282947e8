//! [`MemoryStore`]: revocations kept in this process.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use super::list::{RevocationList, kept_until};
use super::{BoxFuture, Revocation, RevocationStore, StoreError, TokenId};
use crate::verifier::now;

/// Revocations and refresh-token uses kept in memory: for one process, and for tests.
/// Clones share the same state. Checks take no lock; expired records are dropped.
///
/// ```
/// use tower_jwt_auth::revocation::{MemoryStore, Revocation, RevocationStore, TokenId};
///
/// # tokio_test_block_on(async {
/// let store = MemoryStore::new();
/// store.revoke(Revocation::Token { jti: "abc".into(), expires_at: u64::MAX }).await.unwrap();
/// let token = TokenId { jti: Some("abc".into()), ..TokenId::default() };
/// assert_eq!(store.check_local(&token, 0), Some(true));
/// # });
/// # fn tokio_test_block_on(f: impl std::future::Future<Output = ()>) {
/// #     tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(f)
/// # }
/// ```
#[derive(Debug, Clone, Default)]
pub struct MemoryStore {
    inner: Arc<Inner>,
}

#[derive(Debug, Default)]
struct Inner {
    revoked: RevocationList,
    used: Mutex<Used>,
}

/// Refresh-token `jti`s already used → until when to remember them. Expired records are
/// swept only once the map has doubled since the last sweep, so each use costs O(1)
/// amortised: one user looping login + refresh cannot slow everyone's refreshes down.
#[derive(Debug, Default)]
struct Used {
    until: HashMap<String, u64>,
    sweep_at: usize,
    /// Records looked at by sweeps, for the tests of the amortised bound.
    #[cfg(test)]
    swept: usize,
}

impl Used {
    /// The fewest records worth a sweep.
    const MIN_SWEEP: usize = 1024;

    /// Records `jti` as used until `until`; true if it was not in use before `now`.
    fn first_use(&mut self, jti: &str, until: u64, now: u64) -> bool {
        if self.until.len() >= self.sweep_at {
            #[cfg(test)]
            {
                self.swept += self.until.len();
            }
            self.until.retain(|_, until| *until > now);
            self.sweep_at = (2 * self.until.len()).max(Self::MIN_SWEEP);
        }
        match self.until.get_mut(jti) {
            // Expired but not swept yet: as good as forgotten.
            Some(kept) if *kept <= now => {
                *kept = until;
                true
            }
            Some(_) => false,
            None => {
                self.until.insert(jti.to_owned(), until);
                true
            }
        }
    }
}

impl MemoryStore {
    /// An empty store.
    pub fn new() -> Self {
        MemoryStore::default()
    }
}

impl RevocationStore for MemoryStore {
    fn check_local(&self, token: &TokenId, now: u64) -> Option<bool> {
        Some(self.inner.revoked.is_revoked(token, now))
    }

    fn check(&self, token: &TokenId, now: u64) -> BoxFuture<'static, Result<bool, StoreError>> {
        let revoked = self.inner.revoked.is_revoked(token, now);
        Box::pin(async move { Ok(revoked) })
    }

    fn revoke(&self, revocation: Revocation) -> BoxFuture<'static, Result<(), StoreError>> {
        self.inner.revoked.add([&revocation], now());
        Box::pin(async { Ok(()) })
    }

    fn use_once(&self, jti: &str, expires_at: u64) -> BoxFuture<'static, Result<bool, StoreError>> {
        let now = now();
        let first = {
            let mut used = self
                .inner
                .used
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            used.first_use(jti, kept_until(expires_at.max(now)), now)
        };
        Box::pin(async move { Ok(first) })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn block_on<T>(f: impl std::future::Future<Output = T>) -> T {
        let mut f = std::pin::pin!(f);
        let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
        match f.as_mut().poll(&mut cx) {
            std::task::Poll::Ready(v) => v,
            std::task::Poll::Pending => panic!("the memory store never waits"),
        }
    }

    #[test]
    fn a_refresh_token_is_used_once() {
        let store = MemoryStore::new();
        let until = now() + 60;
        assert_eq!(block_on(store.use_once("r1", until)), Ok(true));
        assert_eq!(block_on(store.clone().use_once("r1", until)), Ok(false));
        assert_eq!(block_on(store.use_once("r2", until)), Ok(true));
    }

    #[test]
    fn a_used_refresh_token_is_remembered_through_the_leeway_after_its_exp() {
        // Expired 10 s ago: a layer with the default 30 s leeway still accepts it.
        let store = MemoryStore::new();
        let exp = now() - 10;
        assert_eq!(block_on(store.use_once("late", exp)), Ok(true));
        assert_eq!(block_on(store.use_once("late", exp)), Ok(false));
        // Kept until the largest leeway has run out.
        let used = store.inner.used.lock().unwrap();
        assert!(used.until["late"] >= exp + crate::error::MAX_LEEWAY.as_secs());
    }

    // Issue #12, item 5: every use swept the whole map (O(n) under the one lock), so n
    // refreshes cost n²/2 record visits.
    #[test]
    fn sweeping_costs_a_constant_per_use_amortised() {
        let mut used = Used::default();
        let n = 100_000;
        for i in 0..n {
            // Half the records are expired when they are swept, half are still live.
            let until = if i % 2 == 0 { 5 } else { 1_000 };
            assert!(used.first_use(&i.to_string(), until, 10 + (i % 2) as u64));
        }
        assert!(used.swept <= 3 * n, "{} visits for {n} uses", used.swept);
        // Expired records are dropped: the map holds at most twice the live ones.
        assert!(used.until.len() <= 2 * (n / 2) + Used::MIN_SWEEP);
    }

    #[test]
    fn a_record_expired_but_not_yet_swept_counts_as_forgotten() {
        let mut used = Used::default();
        assert!(used.first_use("j", 100, 50));
        assert!(!used.first_use("j", 100, 99));
        // At 100 the record has run out: a later use is a first use again, kept anew.
        assert!(used.first_use("j", 200, 100));
        assert!(!used.first_use("j", 200, 150));
    }

    #[test]
    fn clones_share_revocations() {
        let store = MemoryStore::new();
        let other = store.clone();
        let token = TokenId {
            sid: Some("s".into()),
            ..TokenId::default()
        };
        assert_eq!(other.check_local(&token, now()), Some(false));
        block_on(store.revoke(Revocation::Session {
            sid: "s".into(),
            iss: None,
            expires_at: now() + 60,
        }))
        .unwrap();
        assert_eq!(other.check_local(&token, now()), Some(true));
        assert_eq!(block_on(other.check(&token, now())), Ok(true));
    }
}
