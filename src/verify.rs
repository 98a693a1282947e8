//! One token, start to end: read the header, pick the key, check the signature, check the
//! claims, decode the claims type.

use std::time::{SystemTime, UNIX_EPOCH};

use serde::de::DeserializeOwned;

use crate::AuthError;
use crate::builder::Config;
use crate::cache::TokenCache;
use crate::validate::{Facts, Registered};
use crate::wait::KeysChanged;
use crate::{jws, payload, verifier};

/// What a layer and all its services share: the configuration, and the verified-token
/// cache, if one was asked for.
pub(crate) struct Shared<C> {
    pub(crate) config: Config,
    pub(crate) cache: Option<TokenCache<C>>,
}

/// Which key set verified a token: the store it came from and that snapshot's id.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct KeyStamp {
    pub(crate) store: usize,
    pub(crate) set: u64,
}

impl<C: DeserializeOwned + Clone + 'static> Shared<C> {
    /// Verifies `token` at time `now`, through the cache when there is one.
    pub(crate) fn verify(&self, token: &str, now: u64) -> Result<(C, Facts), AuthError> {
        let Some(cache) = &self.cache else {
            return self
                .config
                .verify(token, now)
                .map(|(claims, facts, _)| (claims, facts));
        };
        if let Some((claims, facts, stamp)) = cache.get(token)
            && self.config.is_current(stamp)
        {
            // The signature and the other claims were checked; time has moved on since.
            self.config.validation.check_lifetime(facts.lifetime, now)?;
            return Ok((claims, facts));
        }
        let (claims, facts, stamp) = self.config.verify(token, now)?;
        cache.insert(token, stamp, &claims, &facts, now);
        Ok((claims, facts))
    }
}

impl Config {
    /// Verifies `token` at time `now` (seconds since the epoch) and decodes its claims.
    pub(crate) fn verify<C: DeserializeOwned>(
        &self,
        token: &str,
        now: u64,
    ) -> Result<(C, Facts, KeyStamp), AuthError> {
        if token.len() > self.max_token_size {
            return Err(AuthError::TokenTooLarge);
        }
        let jws = jws::parse(token, self.required_typ.as_deref())?;
        let alg = jws.header.alg;
        let store = self.route(&jws)?;
        let keys = self.stores[store].load();
        let unready = |err| {
            if self.stores[store].is_ready() {
                err
            } else {
                AuthError::KeysUnavailable
            }
        };
        if !keys.allows(alg) {
            return Err(unready(AuthError::AlgorithmNotAllowed));
        }
        let message = jws.signing_input.as_bytes();
        jws::decode_then(jws.signature, |signature| {
            let mut candidates = keys.select(jws.header.kid.as_deref(), alg).peekable();
            if candidates.peek().is_none() {
                return Err(unready(AuthError::UnknownKey));
            }
            let verified = candidates
                .any(|entry| verifier::verify(self.provider, entry, alg, message, signature));
            if verified {
                Ok(())
            } else {
                Err(AuthError::InvalidSignature)
            }
        })?;
        let stamp = KeyStamp {
            store,
            set: keys.id(),
        };
        // Only now, with the signature checked, is the payload read.
        let claims = jws::decode_then(jws.payload, |payload| {
            // One pass for `C` and the registered claims; the two-pass way when the tee
            // cannot walk `C`, or to give the exact error.
            let mut registered = Registered::default();
            if let Some(claims) = payload::read(payload, &mut registered) {
                let facts = self.validation.check_registered(&registered, now)?;
                return Ok((claims, facts, stamp));
            }
            let facts = self.validation.check(payload, now)?;
            let claims = serde_json::from_slice(payload).map_err(|_| AuthError::InvalidClaims)?;
            Ok((claims, facts, stamp))
        });
        claims.map_err(|err| match err {
            AuthError::MalformedToken => AuthError::InvalidClaims,
            err => err,
        })
    }

    /// Whether the key set that verified a cached token is still the current one.
    pub(crate) fn is_current(&self, stamp: KeyStamp) -> bool {
        self.stores[stamp.store].load().id() == stamp.set
    }

    /// The store whose keys verify this token: with several issuers configured with their
    /// own keys, the one its `iss` names (read before the signature is checked, only to
    /// choose the keys; the claims are validated after). A token whose `iss` is not
    /// accepted is refused here, before any key is looked up or fetched.
    fn route(&self, jws: &jws::Jws<'_>) -> Result<usize, AuthError> {
        if self.tenants.is_empty() {
            return Ok(0);
        }
        jws::decode_then(jws.payload, |payload| {
            #[derive(serde::Deserialize)]
            struct Issuer<'a> {
                #[serde(default, borrow, deserialize_with = "crate::json::string")]
                iss: Option<std::borrow::Cow<'a, str>>,
            }
            let peek: Issuer =
                serde_json::from_slice(payload).map_err(|_| AuthError::InvalidClaims)?;
            let iss = peek.iss.as_deref();
            if let Some(i) = self.tenants.iter().position(|t| Some(t.as_str()) == iss) {
                return Ok(i + 1);
            }
            self.validation.check_issuer(iss).map(|()| 0)
        })
    }

    /// After `UnknownKey`: asks the token's key store for a refetch; see
    /// [`KeyStore::refetch`](crate::store::KeyStore::refetch).
    pub(crate) fn refetch(&self, token: &str) -> Option<KeysChanged> {
        let jws = jws::parse(token, self.required_typ.as_deref()).ok()?;
        self.stores[self.route(&jws).ok()?].refetch()
    }
}

/// The current time in seconds since the epoch (0 if the clock is before 1970, which makes
/// every token with `nbf` not yet valid rather than valid).
pub(crate) fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use jsonwebtoken::{EncodingKey, Header};
    use serde_json::{Value, json};

    use super::*;
    use crate::{Algorithm, JwtAuthLayer, validate::Lifetime};

    const SECRET: &[u8] = b"unit-test-secret-of-at-least-32-bytes";
    const NOW: u64 = 1_700_000_000;

    fn cached() -> JwtAuthLayer<Value> {
        JwtAuthLayer::builder()
            .hmac_secret(SECRET, Algorithm::HS256)
            .leeway(Duration::ZERO)
            .token_cache(100)
            .build()
            .unwrap()
    }

    fn token(exp: u64) -> String {
        let key = EncodingKey::from_secret(SECRET).unwrap();
        jsonwebtoken::encode(
            &Header::new(Algorithm::HS256),
            &json!({"sub": "a", "exp": exp}),
            &key,
        )
        .unwrap()
    }

    #[test]
    fn a_verified_token_is_cached_and_still_expires() {
        let layer = cached();
        let shared = &layer.shared;
        let t = token(NOW + 100);
        assert!(shared.verify(&t, NOW).is_ok());
        let hit = shared.cache.as_ref().unwrap().get(&t);
        let set = shared.config.stores[0].load().id();
        assert_eq!(hit.as_ref().map(|h| h.2), Some(KeyStamp { store: 0, set }));
        assert_eq!(
            hit.map(|(_, f, _)| f.lifetime),
            Some(Lifetime {
                exp: Some(NOW + 100),
                nbf: None,
                iat: None,
            })
        );
        assert_eq!(shared.verify(&t, NOW + 99).unwrap().0["sub"], "a");
        assert_eq!(
            shared.verify(&t, NOW + 100).map(|(c, _)| c),
            Err(AuthError::Expired)
        );
    }

    #[test]
    fn only_the_exact_token_hits() {
        let layer = cached();
        let t = token(NOW + 100);
        assert!(layer.shared.verify(&t, NOW).is_ok());
        let mut altered = t.clone();
        altered.pop();
        altered.push(if t.ends_with('A') { 'B' } else { 'A' });
        assert!(layer.shared.verify(&altered, NOW).is_err());
    }

    #[test]
    fn rejected_tokens_are_never_cached() {
        let layer = cached();
        let shared = &layer.shared;
        let key = EncodingKey::from_secret(b"another-secret-of-at-least-32-bytes!").unwrap();
        for i in 0..1_000 {
            let claims = json!({"sub": i, "exp": NOW + 100});
            let forged =
                jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &key).unwrap();
            assert_eq!(
                shared.verify(&forged, NOW).map(|(c, _)| c),
                Err(AuthError::InvalidSignature)
            );
            assert!(shared.verify(&format!("garbage.{i}.x"), NOW).is_err());
        }
        assert_eq!(shared.cache.as_ref().unwrap().len(), 0);
    }

    #[test]
    fn entries_of_another_key_set_are_ignored() {
        let layer = cached();
        let shared = &layer.shared;
        let forged = "not.a.token";
        let facts = crate::validate::Facts {
            lifetime: Lifetime {
                exp: None,
                nbf: None,
                iat: None,
            },
            id: None,
            grants: crate::Grants::default(),
        };
        let stale = KeyStamp {
            store: 0,
            set: shared.config.stores[0].load().id() + 1_000_000,
        };
        shared
            .cache
            .as_ref()
            .unwrap()
            .insert(forged, stale, &json!({"sub": "x"}), &facts, NOW);
        assert_eq!(
            shared.verify(forged, NOW).map(|(c, _)| c),
            Err(AuthError::MalformedToken)
        );
    }
}
