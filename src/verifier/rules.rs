//! The claim rules: times, issuer, audience and required claims, checked on the registered
//! claims as the payload reader read them.
//!
//! Claims are read strictly (see [`payload`](super::payload)): a registered claim of the
//! wrong JSON type (a string `exp`, a `null` `nbf`, a negative number, a number beyond year
//! 9999) rejects the token instead of being ignored. A non-integer NumericDate is a number
//! (RFC 7519 §2) and passes, in whole seconds: `exp` rounded up, `nbf` and `iat` down, so
//! that no valid token is refused for its fraction.

use std::collections::HashSet;
use std::time::Duration;

use super::claims::{Claim, Registered};
use crate::error::MAX_LEEWAY;
use crate::{AuthError, ConfigError};

/// The default leeway for `exp` and `nbf`: tolerates small clock skew between servers.
pub(crate) const DEFAULT_LEEWAY: Duration = Duration::from_secs(30);

/// The claim rules, checked once at `build()`.
#[derive(Debug, Clone)]
pub(crate) struct Validation {
    required: Vec<Claim>,
    leeway: u64,
    issuers: Vec<String>,
    audiences: Vec<String>,
    /// Accept a token that names an audience when none is configured.
    any_audience: bool,
    /// The oldest a token may be, from `iat`, in seconds.
    max_age: Option<u64>,
    /// The longest `exp - iat` may be, in seconds.
    max_lifetime: Option<u64>,
}

/// What the builder collected; turned into a [`Validation`] by [`Rules::check`].
#[derive(Debug, Clone)]
pub(crate) struct Rules {
    pub(crate) required: HashSet<Claim>,
    pub(crate) leeway: Duration,
    pub(crate) issuers: Vec<String>,
    pub(crate) audiences: Vec<String>,
    pub(crate) any_audience: bool,
    pub(crate) max_age: Option<Duration>,
    pub(crate) max_lifetime: Option<Duration>,
}

impl Default for Rules {
    fn default() -> Self {
        Rules {
            required: HashSet::from([Claim::Exp]),
            leeway: DEFAULT_LEEWAY,
            issuers: Vec::new(),
            audiences: Vec::new(),
            any_audience: false,
            max_age: None,
            max_lifetime: None,
        }
    }
}

impl Rules {
    pub(crate) fn check(self) -> Result<Validation, ConfigError> {
        if self.leeway > MAX_LEEWAY {
            return Err(ConfigError::LeewayTooLarge {
                seconds: self.leeway.as_secs(),
            });
        }
        if self.issuers.iter().any(String::is_empty) {
            return Err(ConfigError::EmptyClaimValue("issuer"));
        }
        if self.audiences.iter().any(String::is_empty) {
            return Err(ConfigError::EmptyClaimValue("audience"));
        }
        let mut required: Vec<Claim> = self.required.into_iter().collect();
        // A configured issuer or audience is only checked if the claim is there: require it.
        if !self.issuers.is_empty() {
            required.push(Claim::Iss);
        }
        if !self.audiences.is_empty() {
            required.push(Claim::Aud);
        }
        // A bound on age or lifetime cannot be checked without the claims it is computed from.
        if self.max_age.is_some() {
            required.push(Claim::Iat);
        }
        if self.max_lifetime.is_some() {
            required.extend([Claim::Iat, Claim::Exp]);
        }
        required.sort_by_key(|c| *c as u8);
        required.dedup();
        Ok(Validation {
            required,
            leeway: self.leeway.as_secs(),
            issuers: self.issuers,
            audiences: self.audiences,
            any_audience: self.any_audience,
            max_age: self.max_age.map(|d| d.as_secs()),
            max_lifetime: self.max_lifetime.map(|d| d.as_secs()),
        })
    }
}

/// The validity window of a token: what must be checked again each time a verified token
/// is presented anew.
///
/// Each date is kept in 8 bytes, `u64::MAX` standing for "absent" (the reader refuses any
/// date beyond year 9999): a verified token is moved a few times on every request, and at
/// 24 bytes instead of 48 the compiler copies it inline rather than calling `memcpy` (a
/// cache hit: 5,236 → 5,127 instructions per request, callgrind, BENCHMARKS.md).
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) struct Lifetime {
    exp: u64,
    nbf: u64,
    iat: u64,
}

impl Lifetime {
    const ABSENT: u64 = u64::MAX;

    pub(crate) fn new(exp: Option<u64>, nbf: Option<u64>, iat: Option<u64>) -> Self {
        let date = |d: Option<u64>| d.unwrap_or(Self::ABSENT);
        Lifetime {
            exp: date(exp),
            nbf: date(nbf),
            iat: date(iat),
        }
    }

    fn date(d: u64) -> Option<u64> {
        (d != Self::ABSENT).then_some(d)
    }

    /// `exp`.
    pub(crate) fn exp(self) -> Option<u64> {
        Self::date(self.exp)
    }

    /// `nbf`.
    pub(crate) fn nbf(self) -> Option<u64> {
        Self::date(self.nbf)
    }

    /// `iat`.
    pub(crate) fn iat(self) -> Option<u64> {
        Self::date(self.iat)
    }
}

impl std::fmt::Debug for Lifetime {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Lifetime")
            .field("exp", &self.exp())
            .field("nbf", &self.nbf())
            .field("iat", &self.iat())
            .finish()
    }
}

impl Validation {
    /// Checks the registered claims at time `now`, in seconds since the epoch; on success,
    /// the token's validity window.
    pub(crate) fn check(&self, claims: &Registered<'_>, now: u64) -> Result<Lifetime, AuthError> {
        if !self.required.iter().all(|c| claims.has(*c)) {
            return Err(AuthError::MissingClaim);
        }
        let lifetime = Lifetime::new(claims.exp, claims.nbf, claims.iat);
        self.check_lifetime(lifetime, now)?;
        if let (Some(max), Some(exp), Some(iat)) = (self.max_lifetime, claims.exp, claims.iat)
            && exp.saturating_sub(iat) > max
        {
            return Err(AuthError::LifetimeTooLong);
        }
        self.check_issuer(claims.iss.as_deref())?;
        if let Some(aud) = &claims.aud {
            // RFC 7519 §4.1.3: a principal that does not identify itself with a value of a
            // present `aud` must reject the token; with no audience configured, none matches.
            let accepted = if self.audiences.is_empty() {
                self.any_audience
            } else {
                aud.iter()
                    .any(|a| self.audiences.iter().any(|ours| ours == a))
            };
            if !accepted {
                return Err(AuthError::InvalidAudience);
            }
        }
        Ok(lifetime)
    }

    /// Checks `iss` against the configured issuers, if any.
    pub(crate) fn check_issuer(&self, iss: Option<&str>) -> Result<(), AuthError> {
        match iss {
            _ if self.issuers.is_empty() => Ok(()),
            None => Err(AuthError::MissingClaim),
            Some(iss) if self.issuers.iter().any(|i| i == iss) => Ok(()),
            Some(_) => Err(AuthError::InvalidIssuer),
        }
    }

    /// Checks `exp`, `nbf` and the maximum age at time `now`.
    pub(crate) fn check_lifetime(&self, lifetime: Lifetime, now: u64) -> Result<(), AuthError> {
        // RFC 7519 §4.1.4: not accepted "on or after" exp.
        if lifetime
            .exp()
            .is_some_and(|exp| now >= exp.saturating_add(self.leeway))
        {
            return Err(AuthError::Expired);
        }
        if lifetime
            .nbf()
            .is_some_and(|nbf| now.saturating_add(self.leeway) < nbf)
        {
            return Err(AuthError::NotYetValid);
        }
        if let (Some(max), Some(iat)) = (self.max_age, lifetime.iat()) {
            // Issued in the future: as suspicious as a token not valid yet.
            if iat > now.saturating_add(self.leeway) {
                return Err(AuthError::NotYetValid);
            }
            if now > iat.saturating_add(max).saturating_add(self.leeway) {
                return Err(AuthError::TooOld);
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: u64 = 1_700_000_000;

    fn rules() -> Rules {
        Rules::default()
    }

    /// Reads `payload` as the verifier does, then checks it.
    fn check_at(v: &Validation, payload: &str) -> Result<(), AuthError> {
        let mut registered = Registered::default();
        super::super::payload::read::<serde::de::IgnoredAny>(payload.as_bytes(), &mut registered)
            .ok_or(AuthError::InvalidClaims)?;
        v.check(&registered, NOW).map(|_| ())
    }

    fn check(rules: Rules, payload: &str) -> Result<(), AuthError> {
        check_at(&rules.check().unwrap(), payload)
    }

    #[test]
    fn a_lifetime_keeps_every_date_the_reader_accepts() {
        // The reader refuses dates beyond 253402300799 (year 9999): u64::MAX, which stands
        // for "absent", is never a date.
        let edges = [Some(0), Some(1), Some(253_402_300_799), None];
        for exp in edges {
            for iat in edges {
                let lifetime = Lifetime::new(exp, None, iat);
                assert_eq!(
                    (lifetime.exp(), lifetime.nbf(), lifetime.iat()),
                    (exp, None, iat)
                );
            }
        }
        assert_eq!(check(rules(), r#"{"exp":253402300799}"#), Ok(()));
    }

    #[test]
    fn exp_is_required_by_default() {
        assert_eq!(check(rules(), "{}"), Err(AuthError::MissingClaim));
        assert_eq!(check(rules(), r#"{"exp":1700000100}"#), Ok(()));
    }

    #[test]
    fn exp_is_checked_with_leeway() {
        let r = |leeway| Rules {
            leeway: Duration::from_secs(leeway),
            ..rules()
        };
        assert_eq!(
            check(r(0), r#"{"exp":1700000000}"#),
            Err(AuthError::Expired)
        );
        assert_eq!(check(r(0), r#"{"exp":1700000001}"#), Ok(()));
        assert_eq!(check(r(30), r#"{"exp":1699999971}"#), Ok(()));
        assert_eq!(
            check(r(30), r#"{"exp":1699999970}"#),
            Err(AuthError::Expired)
        );
    }

    #[test]
    fn nbf_is_checked_when_present() {
        let r = || Rules {
            leeway: Duration::ZERO,
            ..rules()
        };
        assert_eq!(
            check(r(), r#"{"exp":1800000000,"nbf":1700000001}"#),
            Err(AuthError::NotYetValid)
        );
        assert_eq!(check(r(), r#"{"exp":1800000000,"nbf":1700000000}"#), Ok(()));
    }

    // Issue #13: RFC 7519 §2 defines a NumericDate as a JSON number, "non-integer values can
    // be represented"; they were refused as the wrong type.
    #[test]
    fn non_integer_dates_pass_and_compare_on_the_right_side_of_each_edge() {
        let exact = || Rules {
            leeway: Duration::ZERO,
            ..rules()
        };
        // `exp` half a second ahead is still valid; half a second behind, expired.
        assert_eq!(check(exact(), r#"{"exp":1700000000.5}"#), Ok(()));
        assert_eq!(
            check(exact(), r#"{"exp":1699999999.5}"#),
            Err(AuthError::Expired)
        );
        // `nbf` more than a second ahead is not yet valid; in the past, valid.
        assert_eq!(
            check(exact(), r#"{"exp":1800000000,"nbf":1700000001.5}"#),
            Err(AuthError::NotYetValid)
        );
        assert_eq!(
            check(exact(), r#"{"exp":1800000000,"nbf":1699999999.25}"#),
            Ok(())
        );
        // `iat` with a fraction, and exponent notation: numbers all the same.
        assert_eq!(
            check(exact(), r#"{"exp":1.8e9,"iat":1699999000.123456}"#),
            Ok(())
        );
    }

    #[test]
    fn registered_claims_of_the_wrong_type_are_refused() {
        for (claim, value) in [
            ("exp", r#""1800000000""#),
            ("exp", "null"),
            ("exp", "-1"),
            ("exp", "-0.5"),
            ("exp", "253402300799.5"),
            ("exp", "1e300"),
            ("exp", "true"),
            ("exp", "{}"),
            ("exp", "[1800000000]"),
            ("exp", "18446744073709551616"),
            ("exp", "253402300800"),
            ("nbf", r#""0""#),
            ("nbf", "null"),
            ("iat", "false"),
            ("iss", "1"),
            ("iss", "null"),
            ("sub", "[]"),
            ("jti", "{}"),
            ("aud", "1"),
            ("aud", "null"),
            ("aud", "[1]"),
        ] {
            let payload = if claim == "exp" {
                format!(r#"{{"exp":{value}}}"#)
            } else {
                format!(r#"{{"exp":1800000000,"{claim}":{value}}}"#)
            };
            assert_eq!(
                check(rules(), &payload),
                Err(AuthError::InvalidClaims),
                "{payload}"
            );
        }
    }

    #[test]
    fn payload_must_be_an_object_without_duplicate_claims() {
        for p in ["[1800000000]", "1800000000", "null", r#""x""#, ""] {
            assert_eq!(check(rules(), p), Err(AuthError::InvalidClaims), "{p}");
        }
        assert_eq!(
            check(rules(), r#"{"exp":1800000000,"exp":1}"#),
            Err(AuthError::InvalidClaims)
        );
    }

    #[test]
    fn issuer_is_checked_and_required_when_configured() {
        let r = || Rules {
            issuers: vec!["https://a".into(), "https://b".into()],
            ..rules()
        };
        assert_eq!(
            check(r(), r#"{"exp":1800000000,"iss":"https://b"}"#),
            Ok(())
        );
        assert_eq!(
            check(r(), r#"{"exp":1800000000,"iss":"https://c"}"#),
            Err(AuthError::InvalidIssuer)
        );
        assert_eq!(
            check(r(), r#"{"exp":1800000000}"#),
            Err(AuthError::MissingClaim)
        );
    }

    #[test]
    fn audience_is_checked_against_one_or_many() {
        let r = || Rules {
            audiences: vec!["api".into()],
            ..rules()
        };
        assert_eq!(check(r(), r#"{"exp":1800000000,"aud":"api"}"#), Ok(()));
        assert_eq!(
            check(r(), r#"{"exp":1800000000,"aud":["web","api"]}"#),
            Ok(())
        );
        assert_eq!(
            check(r(), r#"{"exp":1800000000,"aud":["web"]}"#),
            Err(AuthError::InvalidAudience)
        );
        assert_eq!(
            check(r(), r#"{"exp":1800000000}"#),
            Err(AuthError::MissingClaim)
        );
    }

    #[test]
    fn a_token_with_an_audience_needs_a_configured_audience_unless_relaxed() {
        let payload = r#"{"exp":1800000000,"aud":"api"}"#;
        assert_eq!(check(rules(), payload), Err(AuthError::InvalidAudience));
        let relaxed = Rules {
            any_audience: true,
            ..rules()
        };
        assert_eq!(check(relaxed, payload), Ok(()));
    }

    #[test]
    fn required_claims_are_enforced_and_exp_can_be_relaxed() {
        let r = Rules {
            required: HashSet::from([Claim::Sub, Claim::Jti]),
            ..rules()
        };
        let v = r.check().unwrap();
        assert_eq!(check_at(&v, r#"{"sub":"a"}"#), Err(AuthError::MissingClaim));
        assert!(check_at(&v, r#"{"sub":"a","jti":"1"}"#).is_ok());
    }

    #[test]
    fn configuration_mistakes_fail_at_build() {
        let too_lax = Rules {
            leeway: Duration::from_secs(301),
            ..rules()
        };
        assert!(matches!(
            too_lax.check(),
            Err(ConfigError::LeewayTooLarge { seconds: 301 })
        ));
        let empty = Rules {
            issuers: vec![String::new()],
            ..rules()
        };
        assert!(matches!(
            empty.check(),
            Err(ConfigError::EmptyClaimValue("issuer"))
        ));
    }
}
