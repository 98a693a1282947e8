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
    /// A shared store, its records named `{prefix}{digest}`.
    Store(Arc<dyn RevocationStore>, &'static str),
}

/// The replay cache's answer about one proof.
pub(crate) enum Seen {
    /// `Ok(true)`: first use; `Ok(false)`: seen before; `Err`: the cache cannot tell (full).
    Now(Result<bool, StoreError>),
    /// The shared store is asked.
    Ask(BoxFuture<'static, Result<bool, StoreError>>),
}

impl ReplayCache {
    /// Records the proof `jti` of the key `jkt`, to be remembered until `until`. `digest`
    /// names the record in a store: a fixed-size digest of both, so that a record costs
    /// the store the same whatever the client put in its `jti`.
    pub(crate) fn first_use(
        &self,
        jkt: &str,
        jti: &str,
        until: u64,
        now: u64,
        digest: impl FnOnce() -> Option<String>,
    ) -> Seen {
        match self {
            ReplayCache::Memory(memory) => {
                let mut memory = memory.lock().unwrap_or_else(PoisonError::into_inner);
                Seen::Now(memory.first_use(jkt, jti, until, now))
            }
            ReplayCache::Store(store, prefix) => match digest() {
                Some(digest) => Seen::Ask(store.use_once(&format!("{prefix}{digest}"), until)),
                None => Seen::Now(Err(StoreError("no digest for the proof's record".into()))),
            },
        }
    }
}

/// Proofs seen, by a keyed hash of their key and `jti` (an attacker who does not know the
/// process's random hash keys cannot make two collide), kept until their window closes; at
/// most `capacity` of them, and at most `per_key` of any one key (`jkt`), so that one
/// client cannot take the room of all the others.
///
/// Full of records still in their window (or full for that key), it refuses new proofs
/// (`503`): forgetting one would let it be replayed. It sweeps only once a record has
/// expired, so a flood costs no more than one sweep per expiry.
pub(crate) struct MemoryReplay {
    records: HashMap<u64, Record>,
    /// Live records per key, by a keyed hash of the key.
    per_key: HashMap<u64, usize>,
    capacity: usize,
    key_limit: usize,
    hasher: RandomState,
    /// No record expires before then: a sweep before it would free nothing.
    next_expiry: u64,
}

struct Record {
    until: u64,
    key: u64,
}

impl MemoryReplay {
    pub(crate) fn new(capacity: usize, key_limit: usize) -> Self {
        MemoryReplay {
            records: HashMap::new(),
            per_key: HashMap::new(),
            capacity,
            key_limit,
            hasher: RandomState::new(),
            next_expiry: u64::MAX,
        }
    }

    fn first_use(
        &mut self,
        jkt: &str,
        jti: &str,
        until: u64,
        now: u64,
    ) -> Result<bool, StoreError> {
        let id = self.hasher.hash_one((jkt, jti));
        if let Some(record) = self.records.get_mut(&id) {
            if record.until > now {
                return Ok(false);
            }
            record.until = until;
            self.next_expiry = self.next_expiry.min(until);
            return Ok(true);
        }
        let key = self.hasher.hash_one(jkt);
        if (self.records.len() >= self.capacity || self.key_is_full(key)) && now >= self.next_expiry
        {
            self.sweep(now);
        }
        if self.records.len() >= self.capacity {
            return Err(StoreError("the DPoP replay cache is full".to_owned()));
        }
        if self.key_is_full(key) {
            return Err(StoreError(
                "one DPoP key holds as many live proofs as it may (replay_per_key)".to_owned(),
            ));
        }
        self.records.insert(id, Record { until, key });
        *self.per_key.entry(key).or_default() += 1;
        self.next_expiry = self.next_expiry.min(until);
        Ok(true)
    }

    fn key_is_full(&self, key: u64) -> bool {
        self.per_key.get(&key).is_some_and(|n| *n >= self.key_limit)
    }

    /// Forgets the records whose window has closed.
    fn sweep(&mut self, now: u64) {
        let per_key = &mut self.per_key;
        self.records.retain(|_, record| {
            let live = record.until > now;
            if !live && let Some(n) = per_key.get_mut(&record.key) {
                *n -= 1;
            }
            live
        });
        per_key.retain(|_, n| *n > 0);
        self.next_expiry = self
            .records
            .values()
            .map(|r| r.until)
            .min()
            .unwrap_or(u64::MAX);
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.records.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_proof_is_accepted_once_while_remembered_then_forgotten() {
        let mut cache = MemoryReplay::new(10, 10);
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
        let mut cache = MemoryReplay::new(3, 3);
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

    /// One key may hold `per_key` live records: its next proof is refused until one
    /// expires (both sides of that edge), while other keys go on.
    #[test]
    fn one_key_cannot_hold_more_than_its_share() {
        let mut cache = MemoryReplay::new(100, 2);
        assert!(cache.first_use("greedy", "a", 100, 50).unwrap());
        assert!(cache.first_use("greedy", "b", 110, 50).unwrap());
        assert!(cache.first_use("greedy", "c", 120, 60).is_err());
        assert!(cache.first_use("honest", "a", 120, 60).unwrap());
        assert!(
            cache.first_use("greedy", "c", 120, 99).is_err(),
            "1 s before"
        );
        assert!(
            cache.first_use("greedy", "c", 120, 100).unwrap(),
            "one expired"
        );
        // A replay is still a replay, not a lack of room.
        assert!(!cache.first_use("greedy", "b", 170, 100).unwrap());
    }
}
