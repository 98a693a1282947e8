//! The revocations a process knows of, as an immutable snapshot that requests read without
//! a lock. A snapshot is a large base and a small set of recent revocations: revoking
//! copies the small set alone, and folds it into the base (one large copy) only once it
//! has grown, so that a revocation takes microseconds to apply even with many thousands
//! known.

use std::collections::HashMap;
use std::sync::Arc;

use arc_swap::ArcSwap;

use super::{Revocation, TokenId};
use crate::error::MAX_LEEWAY;

/// How many recent revocations are kept apart from the base before being folded into it.
const RECENT: usize = 256;

#[derive(Debug, Default)]
pub(crate) struct RevocationList {
    snapshot: ArcSwap<Snapshot>,
}

/// Until when a record must be kept for a token that expires at `expires_at`: a layer
/// accepts a token until `exp` plus its leeway, at most [`MAX_LEEWAY`].
pub(crate) fn kept_until(expires_at: u64) -> u64 {
    expires_at.saturating_add(MAX_LEEWAY.as_secs())
}

#[derive(Debug, Default, Clone)]
struct Snapshot {
    base: Arc<Revoked>,
    recent: Revoked,
}

#[derive(Debug, Default, Clone)]
struct Revoked {
    /// `jti` → until when to remember it.
    tokens: HashMap<String, u64>,
    /// `sid` → per issuer, until when.
    sessions: HashMap<String, Scoped<u64>>,
    /// `sub` → per issuer, (tokens issued before this are revoked, until when).
    subjects: HashMap<String, Scoped<(u64, u64)>>,
}

/// The records of one id, one per issuer they are scoped to (`None`: every issuer). Almost
/// always one.
type Scoped<T> = Vec<(Option<String>, T)>;

/// The record of `id` scoped to `iss`, made empty if there was none.
fn scoped<'m, T: Default>(
    map: &'m mut HashMap<String, Scoped<T>>,
    id: &str,
    iss: &Option<String>,
) -> &'m mut T {
    let records = map.entry(id.to_owned()).or_default();
    let at = match records.iter().position(|(scope, _)| scope == iss) {
        Some(at) => at,
        None => {
            records.push((iss.clone(), T::default()));
            records.len() - 1
        }
    };
    &mut records[at].1
}

/// The records of `id` that apply to a token of issuer `iss`.
fn applying<'m, T>(
    map: &'m HashMap<String, Scoped<T>>,
    id: &Option<String>,
    iss: &Option<String>,
) -> impl Iterator<Item = &'m T> {
    // An empty map is skipped before the id is hashed.
    let records = id
        .as_ref()
        .filter(|_| !map.is_empty())
        .and_then(|id| map.get(id));
    (records.into_iter().flatten())
        .filter(move |(scope, _)| scope.is_none() || scope == iss)
        .map(|(_, record)| record)
}

impl Revoked {
    fn len(&self) -> usize {
        self.tokens.len()
            + self.sessions.values().map(Vec::len).sum::<usize>()
            + self.subjects.values().map(Vec::len).sum::<usize>()
    }

    fn add(&mut self, revocation: &Revocation) {
        match revocation {
            Revocation::Token { jti, expires_at } => {
                let until = self.tokens.entry(jti.clone()).or_default();
                *until = (*until).max(kept_until(*expires_at));
            }
            Revocation::Session {
                sid,
                iss,
                expires_at,
            } => {
                let until = scoped(&mut self.sessions, sid, iss);
                *until = (*until).max(kept_until(*expires_at));
            }
            Revocation::Subject {
                sub,
                iss,
                issued_before,
                expires_at,
            } => {
                let (before, until) = scoped(&mut self.subjects, sub, iss);
                *before = (*before).max(*issued_before);
                *until = (*until).max(kept_until(*expires_at));
            }
        }
    }

    /// Adds every revocation of `other`.
    fn merge(&mut self, other: &Revoked) {
        for (jti, until) in &other.tokens {
            let mine = self.tokens.entry(jti.clone()).or_default();
            *mine = (*mine).max(*until);
        }
        for (sid, records) in &other.sessions {
            for (iss, until) in records {
                let mine = scoped(&mut self.sessions, sid, iss);
                *mine = (*mine).max(*until);
            }
        }
        for (sub, records) in &other.subjects {
            for (iss, (before, until)) in records {
                let mine = scoped(&mut self.subjects, sub, iss);
                mine.0 = mine.0.max(*before);
                mine.1 = mine.1.max(*until);
            }
        }
    }

    /// Forgets revocations whose tokens have all expired.
    fn prune(&mut self, now: u64) {
        self.tokens.retain(|_, until| *until > now);
        self.sessions.retain(|_, records| {
            records.retain(|(_, until)| *until > now);
            !records.is_empty()
        });
        self.subjects.retain(|_, records| {
            records.retain(|(_, (_, until))| *until > now);
            !records.is_empty()
        });
    }

    fn is_revoked(&self, token: &TokenId, now: u64) -> bool {
        let by_jti = !self.tokens.is_empty()
            && (token.jti.as_ref())
                .and_then(|jti| self.tokens.get(jti))
                .is_some_and(|until| *until > now);
        by_jti
            || applying(&self.sessions, &token.sid, &token.iss).any(|until| *until > now)
            || applying(&self.subjects, &token.sub, &token.iss).any(|(before, until)| {
                // A token without `iat` cannot show it was issued after the cut-off.
                *until > now && token.iat.is_none_or(|iat| iat < *before)
            })
    }
}

impl RevocationList {
    /// Whether `token` is revoked at `now`: no lock, and no hashing when nothing is revoked.
    pub(crate) fn is_revoked(&self, token: &TokenId, now: u64) -> bool {
        let snapshot = self.snapshot.load();
        (snapshot.recent.len() > 0 && snapshot.recent.is_revoked(token, now))
            || (snapshot.base.len() > 0 && snapshot.base.is_revoked(token, now))
    }

    /// Adds revocations.
    pub(crate) fn add<'a>(&self, revocations: impl IntoIterator<Item = &'a Revocation>, now: u64) {
        let revocations: Vec<&Revocation> = revocations.into_iter().collect();
        self.snapshot.rcu(|current| {
            let mut recent = current.recent.clone();
            revocations.iter().for_each(|r| recent.add(r));
            if recent.len() <= RECENT {
                return Snapshot {
                    base: Arc::clone(&current.base),
                    recent,
                };
            }
            let mut base = Revoked::clone(&current.base);
            base.merge(&recent);
            base.prune(now);
            Snapshot {
                base: Arc::new(base),
                recent: Revoked::default(),
            }
        });
    }

    /// Replaces everything known with `revocations` (a full reload from the shared store).
    #[cfg(any(feature = "redis", test))]
    pub(crate) fn replace(&self, revocations: &[Revocation], now: u64) {
        let mut base = Revoked::default();
        revocations.iter().for_each(|r| base.add(r));
        base.prune(now);
        self.snapshot.store(Arc::new(Snapshot {
            base: Arc::new(base),
            recent: Revoked::default(),
        }));
    }

    /// Every revocation still kept at `now`, as revocations again (to write them back to a
    /// shared store that lost them).
    #[cfg(any(feature = "redis", test))]
    pub(crate) fn live(&self, now: u64) -> Vec<Revocation> {
        let snapshot = self.snapshot.load();
        let mut all = Revoked::clone(&snapshot.base);
        all.merge(&snapshot.recent);
        all.prune(now);
        // Records keep `kept_until(expires_at)`; the expiry is that, less the leeway.
        let expiry = |until: u64| until.saturating_sub(MAX_LEEWAY.as_secs());
        let mut live = Vec::with_capacity(all.len());
        for (jti, until) in all.tokens {
            live.push(Revocation::Token {
                jti,
                expires_at: expiry(until),
            });
        }
        for (sid, records) in all.sessions {
            for (iss, until) in records {
                live.push(Revocation::Session {
                    sid: sid.clone(),
                    iss,
                    expires_at: expiry(until),
                });
            }
        }
        for (sub, records) in all.subjects {
            for (iss, (issued_before, until)) in records {
                live.push(Revocation::Subject {
                    sub: sub.clone(),
                    iss,
                    issued_before,
                    expires_at: expiry(until),
                });
            }
        }
        live
    }

    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        let s = self.snapshot.load();
        s.base.len() + s.recent.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: u64 = 1_700_000_000;

    fn token(jti: &str, sid: &str, sub: &str, iat: Option<u64>) -> TokenId {
        TokenId {
            jti: Some(jti.into()),
            sid: Some(sid.into()),
            sub: Some(sub.into()),
            iss: None,
            iat,
        }
    }

    /// What `live` gives back, added to an empty list, revokes exactly what the list did;
    /// what has expired is left out.
    #[test]
    fn live_revocations_round_trip_and_leave_the_expired_out() {
        let list = RevocationList::default();
        let kept = [
            Revocation::Token {
                jti: "j1".into(),
                expires_at: NOW + 60,
            },
            Revocation::Session {
                sid: "s1".into(),
                iss: Some("https://a.example".into()),
                expires_at: NOW + 60,
            },
            Revocation::Subject {
                sub: "alice".into(),
                iss: None,
                issued_before: NOW - 5,
                expires_at: NOW + 600,
            },
        ];
        let gone = Revocation::Token {
            jti: "old".into(),
            expires_at: NOW - 400,
        };
        list.add(kept.iter().chain([&gone]), NOW - 500);
        let mut live = list.live(NOW);
        live.sort_by_key(|r| format!("{r:?}"));
        let mut expected = kept.to_vec();
        expected.sort_by_key(|r| format!("{r:?}"));
        assert_eq!(live, expected);
    }

    #[test]
    fn a_token_is_revoked_by_jti_sid_or_subject_cut_off() {
        let list = RevocationList::default();
        let t = token("j1", "s1", "alice", Some(NOW - 10));
        assert!(!list.is_revoked(&t, NOW));
        let jti = Revocation::Token {
            jti: "j1".into(),
            expires_at: NOW + 60,
        };
        list.add([&jti], NOW);
        assert!(list.is_revoked(&t, NOW));
        assert!(!list.is_revoked(&token("j2", "s1", "alice", Some(NOW - 10)), NOW));

        let session = Revocation::Session {
            sid: "s1".into(),
            iss: None,
            expires_at: NOW + 60,
        };
        list.add([&session], NOW);
        assert!(list.is_revoked(&token("j2", "s1", "alice", Some(NOW - 10)), NOW));
        assert!(!list.is_revoked(&token("j2", "s2", "alice", Some(NOW - 10)), NOW));

        let everywhere = Revocation::Subject {
            sub: "alice".into(),
            iss: None,
            issued_before: NOW - 5,
            expires_at: NOW + 60,
        };
        list.add([&everywhere], NOW);
        assert!(list.is_revoked(&token("j3", "s3", "alice", Some(NOW - 6)), NOW));
        assert!(list.is_revoked(&token("j3", "s3", "alice", None), NOW));
        assert!(!list.is_revoked(&token("j3", "s3", "alice", Some(NOW - 5)), NOW));
        assert!(!list.is_revoked(&token("j3", "s3", "bob", Some(NOW - 6)), NOW));
    }

    // Issue #12, item 11: `sub` and `sid` are unique only within an issuer; revoking one
    // issuer's `alice` revoked every issuer's.
    #[test]
    fn sessions_and_subjects_are_scoped_by_issuer() {
        let list = RevocationList::default();
        let of = |iss: Option<&str>, sid: &str, sub: &str| TokenId {
            iss: iss.map(str::to_owned),
            ..token("j", sid, sub, Some(NOW - 10))
        };
        let a = Some("https://a.example".to_owned());
        list.add(
            [
                &Revocation::Subject {
                    sub: "alice".into(),
                    iss: a.clone(),
                    issued_before: NOW,
                    expires_at: NOW + 60,
                },
                &Revocation::Session {
                    sid: "s1".into(),
                    iss: a.clone(),
                    expires_at: NOW + 60,
                },
            ],
            NOW,
        );
        assert!(list.is_revoked(&of(a.as_deref(), "s9", "alice"), NOW));
        assert!(list.is_revoked(&of(a.as_deref(), "s1", "bob"), NOW));
        for other in [Some("https://b.example"), None] {
            assert!(
                !list.is_revoked(&of(other, "s9", "alice"), NOW),
                "{other:?}"
            );
            assert!(!list.is_revoked(&of(other, "s1", "bob"), NOW), "{other:?}");
        }
        // Unscoped, a revocation matches every issuer's tokens.
        list.add(
            [&Revocation::Subject {
                sub: "carol".into(),
                iss: None,
                issued_before: NOW,
                expires_at: NOW + 60,
            }],
            NOW,
        );
        assert!(list.is_revoked(&of(Some("https://b.example"), "s9", "carol"), NOW));
        assert!(list.is_revoked(&of(None, "s9", "carol"), NOW));
    }

    #[test]
    fn revocations_are_forgotten_once_no_layer_accepts_their_tokens() {
        // A layer accepts a token until `exp` plus its leeway, at most MAX_LEEWAY.
        let grace = MAX_LEEWAY.as_secs();
        let list = RevocationList::default();
        let t = token("j1", "s1", "alice", Some(NOW));
        list.add(
            [&Revocation::Token {
                jti: "j1".into(),
                expires_at: NOW + 60,
            }],
            NOW,
        );
        assert!(list.is_revoked(&t, NOW + 60));
        assert!(list.is_revoked(&t, NOW + 60 + grace - 1));
        assert!(!list.is_revoked(&t, NOW + 60 + grace));
        // Expired records are dropped when the recent ones are folded into the base.
        for i in 0..=RECENT {
            let jti = format!("later-{i}");
            let revocation = Revocation::Token {
                jti,
                expires_at: NOW + 200 + grace,
            };
            list.add([&revocation], NOW + 100 + grace);
        }
        assert_eq!(list.len(), RECENT + 1);
        assert!(!list.is_revoked(&t, NOW + 100 + grace));
        assert!(list.is_revoked(&token("later-0", "s", "a", None), NOW + 100 + grace));
    }

    #[test]
    fn a_subject_cut_off_in_the_base_and_a_later_one_in_recent_combine() {
        let list = RevocationList::default();
        let cut = |before| Revocation::Subject {
            sub: "alice".into(),
            iss: None,
            issued_before: before,
            expires_at: NOW + 60,
        };
        list.replace(&[cut(NOW - 100)], NOW);
        list.add([&cut(NOW)], NOW);
        assert!(list.is_revoked(&token("j", "s", "alice", Some(NOW - 1)), NOW));
        assert!(!list.is_revoked(&token("j", "s", "alice", Some(NOW)), NOW));
    }

    #[test]
    fn a_later_cut_off_wins_and_an_earlier_one_never_undoes_it() {
        let list = RevocationList::default();
        let cut = |before| Revocation::Subject {
            sub: "alice".into(),
            iss: None,
            issued_before: before,
            expires_at: NOW + 60,
        };
        list.add([&cut(NOW)], NOW);
        list.add([&cut(NOW - 100)], NOW);
        assert!(list.is_revoked(&token("j", "s", "alice", Some(NOW - 1)), NOW));
        list.replace(&[cut(NOW - 100)], NOW);
        assert!(!list.is_revoked(&token("j", "s", "alice", Some(NOW - 1)), NOW));
    }

    /// Any sequence of revocations, at increasing times, answers as a plain list of every
    /// revocation ever made would, across folds into the base and pruning.
    #[test]
    fn answers_like_a_plain_list_of_every_revocation() {
        use proptest::prelude::*;

        #[derive(Debug, Clone)]
        enum Op {
            Revoke(Revocation),
            Check(TokenId),
            Wait(u64),
        }
        let id = || 0..6u8;
        let issuer = || prop::option::of(prop_oneof![Just("a".to_owned()), Just("b".to_owned())]);
        let revocation = prop_oneof![
            (id(), 1..50u64).prop_map(|(i, d)| Revocation::Token {
                jti: format!("j{i}"),
                expires_at: NOW + d
            }),
            (id(), issuer(), 1..50u64).prop_map(|(i, iss, d)| Revocation::Session {
                sid: format!("s{i}"),
                iss,
                expires_at: NOW + d
            }),
            (id(), issuer(), 0..40u64, 1..50u64).prop_map(|(i, iss, b, d)| {
                Revocation::Subject {
                    sub: format!("u{i}"),
                    iss,
                    issued_before: NOW - 20 + b,
                    expires_at: NOW + d,
                }
            }),
        ];
        let token = (id(), id(), id(), issuer(), prop::option::of(0..40u64)).prop_map(
            |(j, s, u, iss, iat)| TokenId {
                jti: Some(format!("j{j}")),
                sid: Some(format!("s{s}")),
                sub: Some(format!("u{u}")),
                iss,
                iat: iat.map(|i| NOW - 20 + i),
            },
        );
        let op = prop_oneof![
            4 => revocation.prop_map(Op::Revoke),
            4 => token.prop_map(Op::Check),
            // Long enough waits to cross the 300 s a record outlives its tokens.
            1 => (0..40u64).prop_map(Op::Wait),
        ];
        let config = ProptestConfig::with_cases(256);
        proptest!(config, |(ops in prop::collection::vec(op, 1..700))| {
            let list = RevocationList::default();
            let mut all: Vec<Revocation> = Vec::new();
            let mut now = NOW;
            for op in ops {
                match op {
                    Op::Revoke(r) => {
                        list.add([&r], now);
                        all.push(r);
                    }
                    Op::Wait(d) => now += d,
                    Op::Check(t) => {
                        // A record scoped to no issuer applies to every token.
                        let applies = |iss: &Option<String>| iss.is_none() || *iss == t.iss;
                        let by_id = all.iter().any(|r| match r {
                            Revocation::Token { jti, expires_at } => {
                                kept_until(*expires_at) > now && t.jti.as_ref() == Some(jti)
                            }
                            Revocation::Session { sid, iss, expires_at } => {
                                kept_until(*expires_at) > now
                                    && t.sid.as_ref() == Some(sid)
                                    && applies(iss)
                            }
                            Revocation::Subject { .. } => false,
                        });
                        let cuts: Vec<(u64, u64)> = all
                            .iter()
                            .filter_map(|r| match r {
                                Revocation::Subject { sub, iss, issued_before, expires_at }
                                    if t.sub.as_ref() == Some(sub) && applies(iss) =>
                                {
                                    Some((*issued_before, kept_until(*expires_at)))
                                }
                                _ => None,
                            })
                            .collect();
                        let before = |cut: u64| t.iat.is_none_or(|iat| iat < cut);
                        // Never misses a live cut-off...
                        let must = by_id || cuts.iter().any(|(b, u)| *u > now && before(*b));
                        // ...and never goes beyond the latest cut-off while one is live: a
                        // token issued before an expired cut-off has expired itself.
                        let latest = cuts.iter().map(|c| c.0).max().unwrap_or(0);
                        let live = cuts.iter().any(|(_, u)| *u > now);
                        let may = by_id || (live && before(latest));
                        let revoked = list.is_revoked(&t, now);
                        prop_assert!(!must || revoked, "missed: {:?} at {}", t, now);
                        prop_assert!(!revoked || may, "too much: {:?} at {}", t, now);
                    }
                }
            }
        });
    }
}
