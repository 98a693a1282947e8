//! The replay check (RFC 9449 §4.3, check 12; §11.1): a proof's `jti` is accepted once
//! while its `iat` is within the window. In memory, bounded ([`MemoryReplay`]); or through
//! a [`RevocationStore`]'s atomic `use_once`, shared by every replica (Redis).

use std::collections::HashMap;
use std::hash::{BuildHasher, RandomState};
use std::sync::{Arc, Mutex, PoisonError};

use crate::revocation::{RevocationStore, StoreError};
use crate::verifier::revocation::BoxFuture;

/// Where the proofs already seen are remembered.
#[derive(Clone)]
pub(crate) enum ReplayCache {
    Memory(Arc<Mutex<MemoryReplay>>),
    Store(Arc<dyn RevocationStore>),
}

/// The replay cache's answer about one proof.
pub(crate) enum Seen {
    /// `Ok(true)`: first use; `Ok(false)`: seen before; `Err`: the cache cannot tell (full).
    Now(Result<bool, StoreError>),
    /// The shared store is asked.
    Ask(BoxFuture<'static, Result<bool, StoreError>>),
}

impl ReplayCache {
    /// Records the proof `jti` of the key `jkt`, to be remembered until `until`.
    pub(crate) fn first_use(&self, jkt: &str, jti: &str, until: u64, now: u64) -> Seen {
        match self {
            ReplayCache::Memory(memory) => {
                let mut memory = memory.lock().unwrap_or_else(PoisonError::into_inner);
                Seen::Now(memory.first_use(jkt, jti, until, now))
            }
            // Scoped by the key, and apart from the refresh tokens the store also remembers.
            ReplayCache::Store(store) => {
                Seen::Ask(store.use_once(&format!("dpop:{jkt}:{jti}"), until))
            }
        }
    }
}

/// Proofs seen, by a keyed hash of their key and `jti` (16 bytes a record, and an attacker
/// who does not know the process's random hash keys cannot make two collide), kept until
/// their window closes; at most `capacity` of them.
///
/// Full of records still in their window, it refuses new proofs (`503`): forgetting one
/// would let it be replayed. It does not sweep again before the oldest record expires, so a
/// flood costs no more than one sweep per expiry.
pub(crate) struct MemoryReplay {
    until: HashMap<u64, u64>,
    capacity: usize,
    hasher: RandomState,
    /// No record expires before then: a full cache need not be swept until then.
    full_until: u64,
}

impl MemoryReplay {
    pub(crate) fn new(capacity: usize) -> Self {
        MemoryReplay {
            until: HashMap::new(),
            capacity,
            hasher: RandomState::new(),
            full_until: 0,
        }
    }

    fn first_use(
        &mut self,
        jkt: &str,
        jti: &str,
        until: u64,
        now: u64,
    ) -> Result<bool, StoreError> {
        let key = self.hasher.hash_one((jkt, jti));
        if let Some(kept) = self.until.get_mut(&key) {
            if *kept > now {
                return Ok(false);
            }
            *kept = until;
            return Ok(true);
        }
        if self.until.len() >= self.capacity {
            if now < self.full_until {
                return Err(StoreError("the DPoP replay cache is full".to_owned()));
            }
            self.until.retain(|_, kept| *kept > now);
            if self.until.len() >= self.capacity {
                self.full_until = self.until.values().copied().min().unwrap_or(now);
                return Err(StoreError("the DPoP replay cache is full".to_owned()));
            }
        }
        self.until.insert(key, until);
        Ok(true)
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.until.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_proof_is_accepted_once_while_remembered_then_forgotten() {
        let mut cache = MemoryReplay::new(10);
        assert!(cache.first_use("k", "a", 100, 40).unwrap());
        assert!(!cache.first_use("k", "a", 100, 99).unwrap(), "1 s before");
        assert!(cache.first_use("other-key", "a", 100, 41).unwrap());
        assert!(
            cache.first_use("k", "a", 160, 100).unwrap(),
            "expired: forgotten"
        );
    }

    #[test]
    fn a_full_cache_refuses_until_a_record_expires() {
        let mut cache = MemoryReplay::new(3);
        for (jti, until) in [("a", 100), ("b", 110), ("c", 120)] {
            assert!(cache.first_use("k", jti, until, 50).unwrap());
        }
        assert!(
            cache.first_use("k", "d", 130, 60).is_err(),
            "full of live records"
        );
        assert!(
            cache.first_use("k", "d", 130, 99).is_err(),
            "1 s before the first expiry"
        );
        assert!(
            cache.first_use("k", "d", 130, 100).unwrap(),
            "the first one expired"
        );
        assert_eq!(cache.len(), 3);
        // Still remembered: refused as replays, not for lack of room.
        assert!(!cache.first_use("k", "b", 170, 100).unwrap());
    }
}
