//! The claim rules: types, times, issuer, audience and required claims.
//!
//! Claims are read strictly: a registered claim of the wrong JSON type (a string `exp`, a
//! `null` `nbf`, a float, a negative number, a number beyond year 9999) rejects the token
//! instead of being ignored.

use std::borrow::Cow;
use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Deserializer};

use crate::claims::Claim;
use crate::revocation::TokenId;
use crate::{AuthError, ConfigError, Grants, json};

/// The largest leeway `build()` accepts.
pub(crate) const MAX_LEEWAY: Duration = Duration::from_secs(300);
/// The default leeway for `exp` and `nbf`: tolerates small clock skew between servers.
pub(crate) const DEFAULT_LEEWAY: Duration = Duration::from_secs(30);
/// 9999-12-31T23:59:59Z. Later dates are not plausible and are refused, so that `exp` cannot
/// be set to "never" with a huge number.
const MAX_NUMERIC_DATE: u64 = 253_402_300_799;

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
    /// Keep what identifies the token for revocation (only read when it will be checked).
    keep_id: bool,
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
    pub(crate) keep_id: bool,
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
            keep_id: false,
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
            keep_id: self.keep_id,
        })
    }
}

/// The registered claims as the validator reads them: every one typed strictly, strings
/// borrowed from the payload.
#[derive(Deserialize, Default)]
#[cfg_attr(test, derive(Debug, PartialEq))]
pub(crate) struct Registered<'a> {
    #[serde(default, borrow, deserialize_with = "json::string")]
    pub(crate) iss: Option<Cow<'a, str>>,
    #[serde(default, borrow, deserialize_with = "json::string")]
    pub(crate) sub: Option<Cow<'a, str>>,
    #[serde(default, borrow, deserialize_with = "json::strings")]
    pub(crate) aud: Option<Vec<Cow<'a, str>>>,
    #[serde(default, deserialize_with = "numeric_date")]
    pub(crate) exp: Option<u64>,
    #[serde(default, deserialize_with = "numeric_date")]
    pub(crate) nbf: Option<u64>,
    #[serde(default, deserialize_with = "numeric_date")]
    pub(crate) iat: Option<u64>,
    #[serde(default, borrow, deserialize_with = "json::string")]
    pub(crate) jti: Option<Cow<'a, str>>,
    /// The session (OpenID Connect's `sid`): the refresh-token family of the token.
    #[serde(default, borrow, deserialize_with = "json::string")]
    pub(crate) sid: Option<Cow<'a, str>>,
    #[serde(default, borrow, deserialize_with = "json::string")]
    pub(crate) scope: Option<Cow<'a, str>>,
    #[serde(default, borrow, deserialize_with = "json::strings")]
    pub(crate) scp: Option<Vec<Cow<'a, str>>>,
    #[serde(default, borrow, deserialize_with = "json::strings")]
    pub(crate) roles: Option<Vec<Cow<'a, str>>>,
}

impl Registered<'_> {
    fn has(&self, claim: Claim) -> bool {
        match claim {
            Claim::Iss => self.iss.is_some(),
            Claim::Sub => self.sub.is_some(),
            Claim::Aud => self.aud.is_some(),
            Claim::Exp => self.exp.is_some(),
            Claim::Nbf => self.nbf.is_some(),
            Claim::Iat => self.iat.is_some(),
            Claim::Jti => self.jti.is_some(),
        }
    }
}

/// What the checks learnt of a token, beside its claims type: kept in the token cache,
/// since all of it is checked again (the time window, revocation) or used again (the
/// grants) on every request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Facts {
    pub(crate) lifetime: Lifetime,
    /// Only kept when revocation is checked.
    pub(crate) id: Option<Arc<TokenId>>,
    pub(crate) grants: Grants,
}

/// The validity window of a token: what must be checked again each time a verified token
/// is presented anew.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Lifetime {
    pub(crate) exp: Option<u64>,
    pub(crate) nbf: Option<u64>,
    pub(crate) iat: Option<u64>,
}

impl Validation {
    /// Checks the claims set (the decoded payload) at time `now`, in seconds since the epoch.
    pub(crate) fn check(&self, payload: &[u8], now: u64) -> Result<Facts, AuthError> {
        if !json::is_object(payload) {
            return Err(AuthError::InvalidClaims);
        }
        let claims: Registered =
            serde_json::from_slice(payload).map_err(|_| AuthError::InvalidClaims)?;
        self.check_registered(&claims, now)
    }

    /// Checks the registered claims, read already, at time `now`.
    pub(crate) fn check_registered(
        &self,
        claims: &Registered<'_>,
        now: u64,
    ) -> Result<Facts, AuthError> {
        if !self.required.iter().all(|c| claims.has(*c)) {
            return Err(AuthError::MissingClaim);
        }
        let lifetime = Lifetime {
            exp: claims.exp,
            nbf: claims.nbf,
            iat: claims.iat,
        };
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
        let id = self.keep_id.then(|| {
            Arc::new(TokenId {
                jti: claims.jti.as_deref().map(str::to_owned),
                sid: claims.sid.as_deref().map(str::to_owned),
                sub: claims.sub.as_deref().map(str::to_owned),
                iat: claims.iat,
            })
        });
        let grants = Grants::from_claims(
            claims.scope.as_deref(),
            claims.scp.as_deref(),
            claims.roles.as_deref(),
        );
        Ok(Facts {
            lifetime,
            id,
            grants,
        })
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
            .exp
            .is_some_and(|exp| now >= exp.saturating_add(self.leeway))
        {
            return Err(AuthError::Expired);
        }
        if lifetime
            .nbf
            .is_some_and(|nbf| now.saturating_add(self.leeway) < nbf)
        {
            return Err(AuthError::NotYetValid);
        }
        if let (Some(max), Some(iat)) = (self.max_age, lifetime.iat) {
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

pub(crate) fn numeric_date<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u64>, D::Error> {
    // `u64` refuses strings, floats, negatives, null and numbers beyond u64.
    let secs = u64::deserialize(d)?;
    if secs > MAX_NUMERIC_DATE {
        return Err(serde::de::Error::custom("NumericDate beyond year 9999"));
    }
    Ok(Some(secs))
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: u64 = 1_700_000_000;

    fn rules() -> Rules {
        Rules::default()
    }

    fn check(rules: Rules, payload: &str) -> Result<(), AuthError> {
        rules
            .check()
            .unwrap()
            .check(payload.as_bytes(), NOW)
            .map(|_| ())
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

    #[test]
    fn registered_claims_of_the_wrong_type_are_refused() {
        for (claim, value) in [
            ("exp", r#""1800000000""#),
            ("exp", "null"),
            ("exp", "-1"),
            ("exp", "1800000000.5"),
            ("exp", "1.8e9"),
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
        assert_eq!(
            v.check(br#"{"sub":"a"}"#, NOW),
            Err(AuthError::MissingClaim)
        );
        assert!(v.check(br#"{"sub":"a","jti":"1"}"#, NOW).is_ok());
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
