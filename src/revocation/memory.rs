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
    /// Refresh-token `jti`s already used → until when to remember them.
    used: Mutex<HashMap<String, u64>>,
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
            used.retain(|_, until| *until > now);
            used.insert(jti.to_owned(), kept_until(expires_at.max(now)))
                .is_none()
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
        assert!(used["late"] >= exp + crate::error::MAX_LEEWAY.as_secs());
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
            expires_at: now() + 60,
        }))
        .unwrap();
        assert_eq!(other.check_local(&token, now()), Some(true));
        assert_eq!(block_on(other.check(&token, now())), Ok(true));
    }
}
