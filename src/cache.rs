//! The verified-token cache: a token seen and verified before skips the signature check.
//!
//! An entry is found by a keyed hash of the whole token and then compared with the whole
//! token, so a different token can never hit another's entry. An entry remembers the key
//! set that verified it and is ignored once the key set has changed. The time checks run
//! again on every hit (the layer does that), and an entry is dropped once its token has
//! expired. The cache is split in shards, each behind its own lock, so there is no global
//! lock on the request path; its size is bounded.

use std::collections::HashMap;
use std::hash::{BuildHasher, BuildHasherDefault, Hasher, RandomState};
use std::sync::{PoisonError, RwLock, RwLockReadGuard, RwLockWriteGuard};

use crate::validate::Facts;
use crate::verify::KeyStamp;

const SHARDS: usize = 16;

pub(crate) struct TokenCache<C> {
    shards: Box<[RwLock<Shard<C>>]>,
    per_shard: usize,
    /// Random keys: which tokens share a shard cannot be chosen from outside.
    hasher: RandomState,
}

/// Entries are boxed so that the map's slots, empty ones included, stay small. A hit copies
/// what it needs out under the read lock and writes nothing to the entry: with one token
/// hot on several cores, only the lock's state moves between them.
type Shard<C> = HashMap<u64, Box<Entry<C>>, BuildHasherDefault<PassThrough>>;

struct Entry<C> {
    token: Box<str>,
    stamp: KeyStamp,
    facts: Facts,
    claims: C,
}

impl<C> TokenCache<C> {
    /// A cache of at most about `capacity` tokens (rounded up to a multiple of the shards).
    pub(crate) fn new(capacity: usize) -> Self {
        let per_shard = capacity.div_ceil(SHARDS).max(1);
        TokenCache {
            shards: (0..SHARDS).map(|_| RwLock::default()).collect(),
            per_shard,
            hasher: RandomState::new(),
        }
    }

    /// The top bits of the hash pick the shard; the map uses the whole hash.
    fn shard(&self, hash: u64) -> &RwLock<Shard<C>> {
        &self.shards[(hash >> 60) as usize % SHARDS]
    }

    fn read(&self, hash: u64) -> RwLockReadGuard<'_, Shard<C>> {
        // A panic while holding the lock cannot leave an entry half-written: go on.
        self.shard(hash)
            .read()
            .unwrap_or_else(PoisonError::into_inner)
    }

    fn write(&self, hash: u64) -> RwLockWriteGuard<'_, Shard<C>> {
        self.shard(hash)
            .write()
            .unwrap_or_else(PoisonError::into_inner)
    }

    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.shards.iter().map(|s| s.read().unwrap().len()).sum()
    }
}

impl<C: Clone> TokenCache<C> {
    /// The claims and facts of `token`, and the key set that verified it.
    pub(crate) fn get(&self, token: &str) -> Option<(C, Facts, KeyStamp)> {
        let hash = self.hasher.hash_one(token);
        let shard = self.read(hash);
        let entry = shard.get(&hash)?;
        (*entry.token == *token).then(|| (entry.claims.clone(), entry.facts.clone(), entry.stamp))
    }

    /// Remembers a token that the key set `stamp` has just verified.
    pub(crate) fn insert(&self, token: &str, stamp: KeyStamp, claims: &C, facts: &Facts, now: u64) {
        let hash = self.hasher.hash_one(token);
        let entry = Box::new(Entry {
            token: token.into(),
            stamp,
            facts: facts.clone(),
            claims: claims.clone(),
        });
        let mut shard = self.write(hash);
        if shard.len() >= self.per_shard && !shard.contains_key(&hash) {
            shard.retain(|_, e| e.facts.lifetime.exp.is_none_or(|exp| exp > now));
            if shard.len() >= self.per_shard
                && let Some(victim) = shard.keys().next().copied()
            {
                shard.remove(&victim);
            }
        }
        shard.insert(hash, entry);
    }
}

/// The keys are already hashes.
#[derive(Default)]
struct PassThrough(u64);

impl Hasher for PassThrough {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(*b);
        }
    }

    fn write_u64(&mut self, n: u64) {
        self.0 = n;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::validate::Lifetime;

    fn facts(exp: u64) -> Facts {
        Facts {
            lifetime: Lifetime {
                exp: Some(exp),
                nbf: None,
                iat: None,
            },
            id: None,
            grants: crate::Grants::default(),
        }
    }
    const STAMP: KeyStamp = KeyStamp { store: 0, set: 1 };

    #[test]
    fn a_hit_needs_the_same_token_and_returns_its_key_set() {
        let cache = TokenCache::new(100);
        cache.insert("a.b.c", STAMP, &"alice".to_owned(), &facts(2_000), 1_000);
        assert_eq!(
            cache.get("a.b.c"),
            Some(("alice".to_owned(), facts(2_000), STAMP))
        );
        assert_eq!(cache.get("a.b.d"), None);
    }

    #[test]
    fn the_size_is_bounded_and_expired_tokens_go_first() {
        let cache = TokenCache::new(32);
        for i in 0..1_000 {
            let exp = if i % 2 == 0 { 500 } else { 5_000 };
            cache.insert(&format!("token-{i}"), STAMP, &i, &facts(exp), 1_000);
        }
        assert!(cache.len() <= 32, "{} entries", cache.len());
        // The newest token is always there.
        assert_eq!(cache.get("token-999").map(|(c, ..)| c), Some(999));
    }

    #[test]
    fn same_hash_different_token_is_a_miss() {
        // Force two tokens onto one entry: only the full comparison tells them apart.
        let cache = TokenCache::new(16);
        let hash = cache.hasher.hash_one("real.token.sig");
        cache.insert("real.token.sig", STAMP, &1, &facts(2_000), 0);
        let mut shard = cache.write(hash);
        let entry = shard.get_mut(&hash).unwrap();
        entry.token = "other.token.sig".into();
        drop(shard);
        assert_eq!(cache.get("real.token.sig"), None);
    }
}

#[cfg(test)]
mod size {
    use super::*;

    /// The figures BENCHMARKS.md gives for the memory of an entry.
    #[test]
    fn entry_overhead() {
        // Per entry, besides the claims `C` and the token's bytes: the entry itself and the
        // map's slot (hash and pointer).
        let fixed = std::mem::size_of::<Entry<()>>() + 16;
        println!("entry overhead: {fixed} bytes + size_of::<C>() + token length + heap of C");
        assert!(fixed <= 120, "{fixed}");
        println!(
            "layer: {} bytes",
            std::mem::size_of::<crate::JwtAuthLayer<()>>()
        );
    }
}
