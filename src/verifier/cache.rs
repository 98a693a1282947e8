//! The verified-token cache: a token seen and verified before skips the signature check.
//!
//! An entry is found by a keyed hash of the whole token and then compared with the whole
//! token, so a different token can never hit another's entry. An entry remembers the key
//! set that verified it and is ignored once the key set has changed. The time checks run
//! again on every hit (the layer does that), and an entry is dropped once its token has
//! expired. The cache is split in shards, each behind its own lock, so there is no global
//! lock on the request path; its size is bounded.
//!
//! Each thread also keeps the entry of its last hit, and looks there first, comparing the
//! whole token. A token presented again and again (one service calling another with one
//! token, say) is then found without hashing it, without any lock, and without writing
//! anything another core reads: with a shard's read lock, the lock's state would move
//! between the cores on every request.
//!
//! A last hit holds its entry (a token and its claims) until the thread's next verification
//! through any cache, or the thread's end: at most one entry per thread. When a cache is
//! dropped it releases the last hit of the thread that drops it; another thread's, which
//! the cache cannot reach, goes at that thread's next verification. Holding a `Weak`
//! instead would release it at once, but would write the entry's counters on every hit —
//! the cross-core traffic the last hit exists to avoid.

use std::any::Any;
use std::cell::RefCell;
use std::collections::HashMap;
use std::hash::{BuildHasher, BuildHasherDefault, Hasher, RandomState};
use std::sync::{Arc, PoisonError, RwLock, RwLockReadGuard, RwLockWriteGuard};

use super::signature::next_key_id;
use super::verified::{KeyStamp, Verified};

const SHARDS: usize = 16;

pub(crate) struct TokenCache<C, S = KeyStamp> {
    /// Unique for the life of the process: whose entry a thread's last hit is.
    id: u64,
    shards: Box<[RwLock<Shard<C, S>>]>,
    per_shard: usize,
    /// Random keys: which tokens share a shard cannot be chosen from outside.
    hasher: RandomState,
}

/// Entries are shared out of the lock: a hit holds the read lock only for the lookup, and a
/// thread keeps its last hit.
type Shard<C, S> = HashMap<u64, Arc<Entry<C, S>>, BuildHasherDefault<PassThrough>>;

/// A thread's last hit (or insert): which cache, and the entry, an `Entry<C, S>`.
struct LastHit {
    cache: u64,
    entry: Arc<dyn Any>,
}

thread_local! {
    static LAST_HIT: RefCell<Option<LastHit>> = const { RefCell::new(None) };
}

/// One token's entry: the token (or, for introspected tokens, its digest: the cache's key
/// is whatever the caller names the token by), what must still hold for the entry to serve
/// (`S`: the key set that verified it, or the time it may be kept until), and the result.
struct Entry<C, S> {
    token: Box<[u8]>,
    stamp: S,
    verified: Verified<C>,
}

impl<C, S> TokenCache<C, S> {
    /// A cache of at most about `capacity` tokens (rounded up to a multiple of the shards).
    pub(crate) fn new(capacity: usize) -> Self {
        let per_shard = capacity.div_ceil(SHARDS).max(1);
        TokenCache {
            id: next_key_id(),
            shards: (0..SHARDS).map(|_| RwLock::default()).collect(),
            per_shard,
            hasher: RandomState::new(),
        }
    }

    /// The top bits of the hash pick the shard; the map uses the whole hash.
    fn shard(&self, hash: u64) -> &RwLock<Shard<C, S>> {
        &self.shards[(hash >> 60) as usize % SHARDS]
    }

    fn read(&self, hash: u64) -> RwLockReadGuard<'_, Shard<C, S>> {
        // A panic while holding the lock cannot leave an entry half-written: go on.
        self.shard(hash)
            .read()
            .unwrap_or_else(PoisonError::into_inner)
    }

    fn write(&self, hash: u64) -> RwLockWriteGuard<'_, Shard<C, S>> {
        self.shard(hash)
            .write()
            .unwrap_or_else(PoisonError::into_inner)
    }

    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.shards.iter().map(|s| s.read().unwrap().len()).sum()
    }
}

impl<C, S> Drop for TokenCache<C, S> {
    fn drop(&mut self) {
        // Taken out of the slot first: dropping the claims may run code that verifies.
        let mine = LAST_HIT.try_with(|last| {
            let mut last = last.try_borrow_mut().ok()?;
            last.take_if(|hit| hit.cache == self.id)
        });
        drop(mine);
    }
}

impl<C: Clone + 'static, S: Copy + 'static> TokenCache<C, S> {
    /// What the verifier found of `token`, and the key set that verified it.
    pub(crate) fn get(&self, token: &(impl AsRef<[u8]> + ?Sized)) -> Option<(Verified<C>, S)> {
        let token = token.as_ref();
        // `try_`: during thread teardown, or if `C::clone` came back here, go to the shards.
        let last = LAST_HIT.try_with(|last| {
            let last = last.try_borrow().ok()?;
            let last = last.as_ref().filter(|last| last.cache == self.id)?;
            last.entry.downcast_ref::<Entry<C, S>>()?.copy_if(token)
        });
        if let Ok(Some(hit)) = last {
            return Some(hit);
        }
        let hash = self.hasher.hash_one(token);
        let entry = Arc::clone(self.read(hash).get(&hash)?);
        let hit = entry.copy_if(token)?;
        self.remember(entry);
        Some(hit)
    }

    /// Remembers a token just verified (by the key set `stamp`, say).
    pub(crate) fn insert(
        &self,
        token: &(impl AsRef<[u8]> + ?Sized),
        stamp: S,
        verified: &Verified<C>,
        now: u64,
    ) {
        let token = token.as_ref();
        let hash = self.hasher.hash_one(token);
        let entry = Arc::new(Entry {
            token: token.into(),
            stamp,
            verified: verified.clone(),
        });
        // The thread that verified a token is the likeliest to see it again, and a token
        // verified anew (after a key-set change) must replace a stale last hit.
        self.remember(Arc::clone(&entry));
        let mut shard = self.write(hash);
        if shard.len() >= self.per_shard && !shard.contains_key(&hash) {
            shard.retain(|_, e| e.verified.lifetime.exp().is_none_or(|exp| exp > now));
            if shard.len() >= self.per_shard
                && let Some(victim) = shard.keys().next().copied()
            {
                shard.remove(&victim);
            }
        }
        shard.insert(hash, entry);
    }

    /// Makes `entry` this thread's last hit.
    fn remember(&self, entry: Arc<Entry<C, S>>) {
        let entry: Arc<dyn Any> = entry;
        // Only a cache: when the slot cannot be had (thread teardown), skip it.
        let _ = LAST_HIT.try_with(|last| {
            if let Ok(mut last) = last.try_borrow_mut() {
                *last = Some(LastHit {
                    cache: self.id,
                    entry,
                });
            }
        });
    }
}

impl<C: Clone, S: Copy> Entry<C, S> {
    /// What a hit returns, if this is `token`'s entry.
    fn copy_if(&self, token: &[u8]) -> Option<(Verified<C>, S)> {
        (*self.token == *token).then(|| (self.verified.clone(), self.stamp))
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
    use crate::verifier::rules::Lifetime;

    /// What the verifier found: `claims`, expiring at `exp`.
    fn found<C>(claims: C, exp: u64) -> Verified<C> {
        Verified {
            claims,
            grants: crate::verifier::Grants::default(),
            id: None,
            lifetime: Lifetime::new(Some(exp), None, None),
            binding: crate::verifier::verified::Binding::Bearer,
            issuer: None,
        }
    }

    fn claims<C>(hit: Option<(Verified<C>, KeyStamp)>) -> Option<C> {
        hit.map(|(verified, _)| verified.claims)
    }
    const STAMP: KeyStamp = KeyStamp { store: 0, set: 1 };

    #[test]
    fn a_hit_needs_the_same_token_and_returns_its_key_set() {
        let cache = TokenCache::new(100);
        cache.insert("a.b.c", STAMP, &found("alice".to_owned(), 2_000), 1_000);
        let (hit, stamp) = cache.get("a.b.c").unwrap();
        assert_eq!(
            (hit.claims.as_str(), hit.lifetime.exp(), stamp),
            ("alice", Some(2_000), STAMP)
        );
        assert!(cache.get("a.b.d").is_none());
    }

    #[test]
    fn the_size_is_bounded_and_expired_tokens_go_first() {
        let cache = TokenCache::new(32);
        for i in 0..1_000 {
            let exp = if i % 2 == 0 { 500 } else { 5_000 };
            cache.insert(&format!("token-{i}"), STAMP, &found(i, exp), 1_000);
        }
        assert!(cache.len() <= 32, "{} entries", cache.len());
        // The newest token is always there.
        assert_eq!(claims(cache.get("token-999")), Some(999));
    }

    #[test]
    fn same_hash_different_token_is_a_miss() {
        // Force two tokens onto one entry: only the full comparison tells them apart.
        let cache = TokenCache::new(16);
        let hash = cache.hasher.hash_one("real.token.sig".as_bytes());
        cache.insert("real.token.sig", STAMP, &found(1, 2_000), 0);
        LAST_HIT.set(None); // It shares the entry.
        let mut shard = cache.write(hash);
        let entry = shard.get_mut(&hash).unwrap();
        Arc::get_mut(entry).unwrap().token = b"other.token.sig"[..].into();
        drop(shard);
        assert!(cache.get("real.token.sig").is_none());
    }

    #[test]
    fn a_thread_finds_its_last_hit_without_the_shard() {
        let cache = TokenCache::new(16);
        cache.insert("hot.token.sig", STAMP, &found(1, 2_000), 0);
        let hash = cache.hasher.hash_one("hot.token.sig".as_bytes());
        cache.write(hash).remove(&hash);
        // This thread still has it; another does not.
        assert_eq!(claims(cache.get("hot.token.sig")), Some(1));
        std::thread::scope(|s| {
            s.spawn(|| assert!(cache.get("hot.token.sig").is_none()));
        });
        // Only the exact token hits it.
        assert!(cache.get("hot.token.si").is_none());
        assert!(cache.get("hot.token.sih").is_none());
        // Another cache with the same token has its own entry.
        let other = TokenCache::new(16);
        assert!(other.get("hot.token.sig").is_none());
        other.insert("hot.token.sig", STAMP, &found(2, 2_000), 0);
        assert_eq!(claims(other.get("hot.token.sig")), Some(2));
        assert!(cache.get("hot.token.sig").is_none());
    }

    // Issue #12, item 14: a thread's last hit kept a token and its claims alive after the
    // cache (the layer) was dropped.
    #[test]
    fn dropping_a_cache_releases_this_threads_last_hit() {
        struct Counted(Arc<()>);
        impl Clone for Counted {
            fn clone(&self) -> Self {
                Counted(Arc::clone(&self.0))
            }
        }
        let live = Arc::new(());
        let cache = TokenCache::new(16);
        cache.insert(
            "kept.token.sig",
            STAMP,
            &found(Counted(Arc::clone(&live)), 2_000),
            0,
        );
        assert!(cache.get("kept.token.sig").is_some());
        // Another cache's last hit on this thread is left alone.
        let other = TokenCache::<Counted>::new(16);
        drop(other);
        let slot = || LAST_HIT.with(|last| last.borrow().as_ref().map(|hit| hit.cache));
        assert_eq!(slot(), Some(cache.id));
        drop(cache);
        assert_eq!(Arc::strong_count(&live), 1, "the claims outlived the cache");
        assert_eq!(slot(), None);
    }

    #[test]
    fn a_token_verified_anew_replaces_the_last_hit() {
        let cache = TokenCache::new(16);
        cache.insert("some.token.sig", STAMP, &found(1, 2_000), 0);
        assert_eq!(cache.get("some.token.sig").map(|(_, s)| s), Some(STAMP));
        // Verified again under a new key set (the old entry was stale for the caller).
        let renewed = KeyStamp { store: 0, set: 2 };
        cache.insert("some.token.sig", renewed, &found(1, 2_000), 0);
        assert_eq!(cache.get("some.token.sig").map(|(_, s)| s), Some(renewed));
    }
}

#[cfg(test)]
mod size {
    use super::*;

    /// The figures BENCHMARKS.md gives for the memory of an entry.
    #[test]
    fn entry_overhead() {
        // Per entry, besides the claims `C` and the token's bytes: the entry itself, its Arc
        // counters, and the map's slot (hash and pointer).
        let fixed = std::mem::size_of::<Entry<(), KeyStamp>>() + 16 + 16;
        println!("entry overhead: {fixed} bytes + size_of::<C>() + token length + heap of C");
        assert!(fixed <= 152, "{fixed}");
    }
}
