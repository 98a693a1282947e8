//! The claims the verifier reads itself: their names (listed once, in [`Member`]), how
//! each is read ([`Registered`], strictly typed), and the public types users embed in their
//! own claims ([`RegisteredClaims`], [`Audience`], [`Claim`]).

use std::borrow::Cow;

use super::json::StrSeed;
use serde::{Deserialize, Deserializer, Serialize};

/// The most distinct top-level members a claim mapping may capture (`build()` refuses more).
pub(crate) const MAX_CAPTURES: usize = 8;

/// 9999-12-31T23:59:59Z. Later dates are not plausible and are refused, so that `exp` cannot
/// be set to "never" with a huge number.
const MAX_NUMERIC_DATE: u64 = 253_402_300_799;

/// Declares [`Member`] from one list of names.
macro_rules! members {
    ($($(#[$doc:meta])* $variant:ident = $name:literal,)*) => {
        /// A claim the verifier reads itself, strictly, whatever the claims type: the one
        /// list of their names.
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        pub(crate) enum Member {
            $($(#[$doc])* $variant,)*
        }

        impl Member {
            /// The member's name in the claims set.
            pub(crate) fn name(self) -> &'static str {
                match self {
                    $(Member::$variant => $name,)*
                }
            }

            /// The member of this name, if the verifier reads it.
            pub(crate) fn of(name: &str) -> Option<Member> {
                match name {
                    $($name => Some(Member::$variant),)*
                    _ => None,
                }
            }
        }
    };
}

members! {
    Iss = "iss",
    Sub = "sub",
    Aud = "aud",
    Exp = "exp",
    Nbf = "nbf",
    Iat = "iat",
    Jti = "jti",
    /// The session (OpenID Connect's `sid`): the refresh-token family of the token.
    Sid = "sid",
    Scope = "scope",
    Scp = "scp",
    Roles = "roles",
    /// The confirmation (RFC 7800): a token bound to a key. Only `jkt` (RFC 9449 §6.1, a
    /// DPoP key's thumbprint) is understood; a token with any `cnf` never passes as a plain
    /// bearer token.
    Cnf = "cnf",
    /// How the user authenticated (OpenID Connect Core §2): checked by a step-up
    /// requirement (RFC 9470).
    Acr = "acr",
    /// When the user authenticated (OpenID Connect Core §2): checked against a step-up
    /// requirement's maximum age (RFC 9470).
    AuthTime = "auth_time",
}

/// The registered claims as the verifier reads them: every one typed strictly, strings
/// borrowed from the payload. Filled by the payload reader, member by member.
#[derive(Default)]
#[cfg_attr(test, derive(Debug, PartialEq))]
pub(crate) struct Registered<'a> {
    pub(crate) iss: Option<Cow<'a, str>>,
    pub(crate) sub: Option<Cow<'a, str>>,
    pub(crate) aud: Option<Vec<Cow<'a, str>>>,
    pub(crate) exp: Option<u64>,
    pub(crate) nbf: Option<u64>,
    pub(crate) iat: Option<u64>,
    pub(crate) jti: Option<Cow<'a, str>>,
    pub(crate) sid: Option<Cow<'a, str>>,
    pub(crate) scope: Option<Cow<'a, str>>,
    pub(crate) scp: Option<Vec<Cow<'a, str>>>,
    pub(crate) roles: Option<Vec<Cow<'a, str>>>,
    pub(crate) cnf: Option<Confirmation<'a>>,
    pub(crate) acr: Option<Cow<'a, str>>,
    pub(crate) auth_time: Option<u64>,
    /// The members a claim mapping asked for, by their index in its list of captures: their
    /// JSON as the payload has it. Held inline: a request allocates nothing for them.
    pub(crate) captured: [Option<&'a str>; MAX_CAPTURES],
}

impl Registered<'_> {
    /// Whether the claim is present.
    pub(crate) fn has(&self, claim: Claim) -> bool {
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

/// A token's `cnf` (RFC 7800 §3.1): an object; its `jkt` (RFC 9449 §6.1), if any, a string.
#[derive(Debug, Default, PartialEq)]
pub(crate) struct Confirmation<'a> {
    /// A DPoP key's thumbprint (RFC 9449 §6.1).
    pub(crate) jkt: Option<Cow<'a, str>>,
    /// A client certificate's thumbprint (`x5t#S256`, RFC 8705 §3.1).
    pub(crate) x5t_s256: Option<Cow<'a, str>>,
    /// It has another member (a `jwk`, a `kid`, …): a binding this crate cannot check,
    /// which makes the token unusable here even beside one it can.
    pub(crate) unchecked: bool,
}

impl<'de: 'a, 'a> Deserialize<'de> for Confirmation<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_map(ConfirmationVisitor)
    }
}

struct ConfirmationVisitor;

impl<'de> serde::de::Visitor<'de> for ConfirmationVisitor {
    type Value = Confirmation<'de>;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a confirmation object (RFC 7800)")
    }

    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut cnf = Confirmation::default();
        let (mut seen_jkt, mut seen_x5t) = (false, false);
        while let Some(name) = map.next_key_seed(StrSeed)? {
            let (slot, seen, field) = match &*name {
                "jkt" => (&mut cnf.jkt, &mut seen_jkt, "jkt"),
                "x5t#S256" => (&mut cnf.x5t_s256, &mut seen_x5t, "x5t#S256"),
                _ => {
                    map.next_value::<serde::de::IgnoredAny>()?;
                    cnf.unchecked = true;
                    continue;
                }
            };
            if std::mem::replace(seen, true) {
                return Err(serde::de::Error::duplicate_field(field));
            }
            *slot = map.next_value_seed(OptionalStr)?;
        }
        Ok(cnf)
    }
}

/// A string or `null`, borrowed when it can be.
struct OptionalStr;

impl<'de> serde::de::DeserializeSeed<'de> for OptionalStr {
    type Value = Option<Cow<'de, str>>;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        Option::<Borrowed<'de>>::deserialize(d).map(|s| s.map(|s| s.0))
    }
}

/// A string, borrowed when it can be.
struct Borrowed<'a>(Cow<'a, str>);

impl<'de: 'a, 'a> Deserialize<'de> for Borrowed<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        serde::de::DeserializeSeed::deserialize(StrSeed, d).map(Borrowed)
    }
}

/// Which way a non-integer NumericDate becomes whole seconds (the layer's clock counts
/// whole seconds): `exp` up, `nbf`, `iat` and `auth_time` down, so that no valid token is
/// refused for its fraction — an `exp` of `now + 0.5` is valid now — and an `iat` is never
/// later than the token's issuance (a "log out everywhere" cut-off still catches it), nor an
/// `auth_time` later than the authentication (a step-up's maximum age errs on the strict side).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Round {
    Up,
    Down,
}

impl Round {
    /// The rounding of a registered date claim: up for `exp`, down for the others.
    pub(crate) fn of(member: Member) -> Round {
        if member == Member::Exp {
            Round::Up
        } else {
            Round::Down
        }
    }
}

/// A NumericDate (RFC 7519 §2): a JSON number of seconds, integer or not, neither negative
/// nor beyond year 9999. Strings, booleans, `null`, objects, arrays, negatives and
/// out-of-range numbers are refused.
pub(crate) fn numeric_date<'de, D: Deserializer<'de>>(d: D, round: Round) -> Result<u64, D::Error> {
    d.deserialize_any(DateVisitor(round))
}

struct DateVisitor(Round);

impl<'de> serde::de::Visitor<'de> for DateVisitor {
    type Value = u64;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a NumericDate: a non-negative number of seconds up to year 9999")
    }

    fn visit_u64<E: serde::de::Error>(self, secs: u64) -> Result<u64, E> {
        if secs > MAX_NUMERIC_DATE {
            return Err(E::custom("NumericDate beyond year 9999"));
        }
        Ok(secs)
    }

    fn visit_i64<E: serde::de::Error>(self, secs: i64) -> Result<u64, E> {
        let secs = u64::try_from(secs).map_err(|_| E::custom("negative NumericDate"))?;
        self.visit_u64(secs)
    }

    fn visit_f64<E: serde::de::Error>(self, secs: f64) -> Result<u64, E> {
        // JSON has no NaN or infinity; a number too large for an f64 never gets here.
        if !secs.is_finite() || secs < 0.0 {
            return Err(E::custom("negative NumericDate"));
        }
        let whole = match self.0 {
            Round::Up => secs.ceil(),
            Round::Down => secs.floor(),
        };
        #[allow(clippy::cast_precision_loss)]
        if whole > MAX_NUMERIC_DATE as f64 {
            return Err(E::custom("NumericDate beyond year 9999"));
        }
        #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
        Ok(whole as u64)
    }
}

/// `exp` of [`RegisteredClaims`]: rounded up.
fn expiry<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u64>, D::Error> {
    numeric_date(d, Round::Up).map(Some)
}

/// `nbf` and `iat` of [`RegisteredClaims`]: rounded down.
fn instant<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u64>, D::Error> {
    numeric_date(d, Round::Down).map(Some)
}

/// The registered claims (RFC 7519 §4.1). Flatten them into your own claims type:
///
/// ```
/// use serde::{Deserialize, Serialize};
/// use tower_jwt_auth::RegisteredClaims;
///
/// #[derive(Clone, Debug, Serialize, Deserialize)]
/// struct MyClaims {
///     #[serde(flatten)]
///     registered: RegisteredClaims,
///     role: String,
/// }
/// ```
///
/// The layer has already checked every one of them (types, times, issuer, audience) before
/// your handler sees them; they are here to be read.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RegisteredClaims {
    /// Issuer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iss: Option<String>,
    /// Subject: whom the token is about.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sub: Option<String>,
    /// Audience: whom the token is for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub aud: Option<Audience>,
    /// Expiration time, in seconds since the Unix epoch (a non-integer one rounded up).
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "expiry"
    )]
    pub exp: Option<u64>,
    /// Not-before time, in seconds since the Unix epoch (a non-integer one rounded down).
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "instant"
    )]
    pub nbf: Option<u64>,
    /// Issued-at time, in seconds since the Unix epoch (a non-integer one rounded down).
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "instant"
    )]
    pub iat: Option<u64>,
    /// JWT ID: a unique identifier of the token.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jti: Option<String>,
}

/// The `aud` claim: one string or an array of strings (RFC 7519 §4.1.3).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Audience {
    /// A single audience.
    One(String),
    /// Several audiences.
    Many(Vec<String>),
}

impl Audience {
    /// The audiences, one by one.
    pub fn iter(&self) -> impl Iterator<Item = &str> {
        let many: &[String] = match self {
            Audience::One(one) => std::slice::from_ref(one),
            Audience::Many(many) => many,
        };
        many.iter().map(String::as_str)
    }

    /// Whether `aud` is one of the audiences.
    pub fn contains(&self, aud: &str) -> bool {
        self.iter().any(|a| a == aud)
    }
}

/// A registered claim, to name in [`required_claims`](crate::JwtAuthBuilder::required_claims).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Claim {
    /// `iss`
    Iss,
    /// `sub`
    Sub,
    /// `aud`
    Aud,
    /// `exp`
    Exp,
    /// `nbf`
    Nbf,
    /// `iat`
    Iat,
    /// `jti`
    Jti,
}
