//! The one way the payload is read: one pass for both readers, the claims type `C` and the
//! registered claims the rules check strictly.
//!
//! `C` is deserialized through [`Tee`], which hands it every member as the JSON has it, and,
//! on the way, reads each registered member ([`Member`]: `exp`, `iss`, `aud`…) strictly and
//! gives `C` what it read. Only when the whole object went through the tee are the
//! registered claims trusted; otherwise (a `C` that cannot be read from this payload, a
//! registered claim of the wrong type, any JSON error) [`read`] answers `None`. To say
//! which, the caller reads the payload again through the same tee with `C =`
//! [`IgnoredAny`](serde::de::IgnoredAny), which reads the registered claims alone.

use std::borrow::Cow;
use std::fmt;
use std::marker::PhantomData;

use serde::de::value::SeqDeserializer;
use serde::de::{
    self, DeserializeOwned, DeserializeSeed, Deserializer, IntoDeserializer, MapAccess, Visitor,
};
use serde::forward_to_deserialize_any;

use super::claims::{Member, Registered, Round, numeric_date};
use super::json::{self, StrSeed};

/// `C` from one pass over `payload`, the registered claims read into `registered` on the
/// way; `None` when the tee could not read it all (`registered` is then partial: unusable).
///
/// `registered` is the caller's so that it is not moved around: it is a few hundred bytes.
pub(crate) fn read<'de, C: DeserializeOwned>(
    payload: &'de [u8],
    registered: &mut Registered<'de>,
) -> Option<C> {
    read_capturing(payload, registered, &[])
}

/// [`read`], capturing on the way the top-level members named in `captures` (a claim
/// mapping's) into `registered.captured`.
pub(crate) fn read_capturing<'de, C: DeserializeOwned>(
    payload: &'de [u8],
    registered: &mut Registered<'de>,
    captures: &[Box<str>],
) -> Option<C> {
    if !super::json::is_utf8(payload) {
        return None;
    }
    let mut complete = false;
    let mut de = serde_json::Deserializer::from_slice(payload);
    let tee = Tee {
        de: &mut de,
        registered,
        complete: &mut complete,
        captures,
    };
    let claims = C::deserialize(tee).ok()?;
    de.end().ok()?;
    complete.then_some(claims)
}

/// The payload's top-level `iss`, if it has one, read to choose an issuer's keys before
/// the signature is checked: the first `iss` (a string, else `Err`), every other member
/// skipped without being read. Only a choice: the full reading after the signature refuses
/// what this scan lets by (a second `iss`, a wrongly typed claim), and that issuer's policy
/// checks the `iss` it reads.
pub(crate) fn issuer(payload: &[u8]) -> Result<Option<Cow<'_, str>>, serde_json::Error> {
    struct Scan;
    impl<'de> Visitor<'de> for Scan {
        type Value = Option<Cow<'de, str>>;

        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a claims set")
        }

        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
            let mut iss = None;
            while let Some(key) = map.next_key_seed(StrSeed)? {
                if key == "iss" && iss.is_none() {
                    iss = Some(map.next_value_seed(StrSeed)?);
                } else {
                    map.next_value::<de::IgnoredAny>()?;
                }
            }
            Ok(iss)
        }
    }
    serde_json::Deserializer::from_slice(payload).deserialize_map(Scan)
}

struct Tee<'a, 'de> {
    de: &'a mut serde_json::Deserializer<serde_json::de::SliceRead<'de>>,
    registered: &'a mut Registered<'de>,
    complete: &'a mut bool,
    captures: &'a [Box<str>],
}

impl<'de> Deserializer<'de> for Tee<'_, 'de> {
    type Error = serde_json::Error;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Self::Error> {
        let tee = TeeVisitor {
            visitor,
            registered: self.registered,
            complete: self.complete,
            captures: self.captures,
        };
        self.de.deserialize_map(tee)
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Self::Error> {
        visitor.visit_some(self)
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _: &'static str,
        visitor: V,
    ) -> Result<V::Value, Self::Error> {
        visitor.visit_newtype_struct(self)
    }

    // Anything but a map, a struct, an option or a newtype is not a claims set: refused.
    forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes
        byte_buf unit unit_struct seq tuple tuple_struct map struct enum identifier
        ignored_any
    }
}

struct TeeVisitor<'a, 'de, V> {
    visitor: V,
    registered: &'a mut Registered<'de>,
    complete: &'a mut bool,
    captures: &'a [Box<str>],
}

impl<'de, V: Visitor<'de>> Visitor<'de> for TeeVisitor<'_, 'de, V> {
    type Value = V::Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.visitor.expecting(f)
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
        self.visitor.visit_map(TeeMap {
            map,
            registered: self.registered,
            complete: self.complete,
            captures: self.captures,
            current: None,
            capturing: None,
            seen: 0,
        })
    }
}

struct TeeMap<'a, 'de, A> {
    map: A,
    registered: &'a mut Registered<'de>,
    complete: &'a mut bool,
    captures: &'a [Box<str>],
    /// The registered member whose value comes next, if the last key named one.
    current: Option<Member>,
    /// The captured member whose value comes next (its index in `captures`).
    capturing: Option<usize>,
    /// The registered members seen: a second one is refused, as the validator does.
    seen: u16,
}

impl<'de, A: MapAccess<'de>> MapAccess<'de> for TeeMap<'_, 'de, A> {
    type Error = A::Error;

    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, A::Error> {
        let Some(key) = self.map.next_key_seed(StrSeed)? else {
            *self.complete = true;
            return Ok(None);
        };
        self.current = Member::of(&key);
        if self.current.is_none() && !self.captures.is_empty() {
            self.capturing = self.captures.iter().position(|c| **c == *key);
        }
        seed.deserialize(Replay::Str(key).into_deserializer())
            .map(Some)
    }

    fn next_value_seed<V: DeserializeSeed<'de>>(&mut self, seed: V) -> Result<V::Value, A::Error> {
        let Some(member) = self.current.take() else {
            let Some(at) = self.capturing.take() else {
                return self.map.next_value_seed(seed);
            };
            // A captured member twice could give `C` one value and the grants another.
            if self.registered.captured[at].is_some() {
                return Err(de::Error::custom("duplicate mapped claim"));
            }
            let raw: &'de serde_json::value::RawValue = self.map.next_value()?;
            let claims = seed
                .deserialize(RawReplay(raw.get()))
                .map_err(de::Error::custom);
            self.registered.captured[at] = Some(raw.get());
            return claims;
        };
        let bit = 1 << member as u16;
        if self.seen & bit != 0 {
            return Err(de::Error::custom("duplicate registered claim"));
        }
        self.seen |= bit;
        let r = &mut *self.registered;
        let replay = match member {
            Member::Cnf => {
                // Read for the binding, and handed to `C` as the payload has it.
                let raw: &'de serde_json::value::RawValue = self.map.next_value()?;
                r.cnf = Some(serde_json::from_str(raw.get()).map_err(de::Error::custom)?);
                return seed
                    .deserialize(RawReplay(raw.get()))
                    .map_err(de::Error::custom);
            }
            Member::Exp | Member::Nbf | Member::Iat | Member::AuthTime => {
                let date = self.map.next_value_seed(DateSeed(Round::of(member)))?;
                match member {
                    Member::Exp => r.exp = Some(date),
                    Member::Nbf => r.nbf = Some(date),
                    Member::Iat => r.iat = Some(date),
                    _ => r.auth_time = Some(date),
                }
                Replay::U64(date)
            }
            Member::Iss | Member::Sub | Member::Jti | Member::Sid | Member::Scope | Member::Acr => {
                let text = self.map.next_value_seed(StrSeed)?;
                let slot = match member {
                    Member::Iss => &mut r.iss,
                    Member::Sub => &mut r.sub,
                    Member::Jti => &mut r.jti,
                    Member::Sid => &mut r.sid,
                    Member::Scope => &mut r.scope,
                    _ => &mut r.acr,
                };
                *slot = Some(text.clone());
                Replay::Str(text)
            }
            Member::Aud | Member::Scp | Member::Roles => {
                let (list, one) = self.map.next_value_seed(StringsSeed)?;
                let slot = match member {
                    Member::Aud => &mut r.aud,
                    Member::Scp => &mut r.scp,
                    _ => &mut r.roles,
                };
                let replay = match list.as_slice() {
                    [text] if one => Replay::Str(text.clone()),
                    _ => Replay::Strings(list.clone()),
                };
                *slot = Some(list);
                replay
            }
        };
        seed.deserialize(replay.into_deserializer())
    }
}

/// A captured member's JSON, handed to `C` as the payload had it: parsed again only if `C`
/// reads it, not if it ignores it.
struct RawReplay<'de>(&'de str);

/// Each `deserialize_*` of [`RawReplay`], on a parser of its JSON.
macro_rules! replay_raw {
    ($($method:ident($($arg:ident: $ty:ty),*)),* $(,)?) => {
        $(
            fn $method<V: Visitor<'de>>(self, $($arg: $ty,)* visitor: V) -> Result<V::Value, serde_json::Error> {
                (&mut serde_json::Deserializer::from_str(self.0)).$method($($arg,)* visitor)
            }
        )*
    };
}

impl<'de> Deserializer<'de> for RawReplay<'de> {
    type Error = serde_json::Error;

    fn deserialize_ignored_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Self::Error> {
        visitor.visit_unit()
    }

    replay_raw! {
        deserialize_any(), deserialize_bool(), deserialize_i8(), deserialize_i16(),
        deserialize_i32(), deserialize_i64(), deserialize_i128(), deserialize_u8(),
        deserialize_u16(), deserialize_u32(), deserialize_u64(), deserialize_u128(),
        deserialize_f32(), deserialize_f64(), deserialize_char(), deserialize_str(),
        deserialize_string(), deserialize_bytes(), deserialize_byte_buf(),
        deserialize_option(), deserialize_unit(), deserialize_seq(), deserialize_map(),
        deserialize_identifier(),
        deserialize_unit_struct(name: &'static str),
        deserialize_newtype_struct(name: &'static str),
        deserialize_tuple(len: usize),
        deserialize_tuple_struct(name: &'static str, len: usize),
        deserialize_struct(name: &'static str, fields: &'static [&'static str]),
        deserialize_enum(name: &'static str, variants: &'static [&'static str]),
    }
}

/// A NumericDate, as the validator reads it; `C` then sees it in whole seconds.
struct DateSeed(Round);

impl<'de> DeserializeSeed<'de> for DateSeed {
    type Value = u64;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        numeric_date(d, self.0)
    }
}

/// One string or an array of strings, and whether it was one string.
struct StringsSeed;

impl<'de> DeserializeSeed<'de> for StringsSeed {
    type Value = (Vec<Cow<'de, str>>, bool);

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        json::strings_shaped(d)
    }
}

/// A member value read by the tee, handed to `C` as the JSON had it.
enum Replay<'de> {
    Str(Cow<'de, str>),
    U64(u64),
    Strings(Vec<Cow<'de, str>>),
}

impl<'de, E: de::Error> IntoDeserializer<'de, E> for Replay<'de> {
    type Deserializer = ReplayDeserializer<'de, E>;

    fn into_deserializer(self) -> Self::Deserializer {
        ReplayDeserializer(self, PhantomData)
    }
}

struct ReplayDeserializer<'de, E>(Replay<'de>, PhantomData<E>);

impl<'de, E: de::Error> IntoDeserializer<'de, E> for ReplayDeserializer<'de, E> {
    type Deserializer = Self;

    fn into_deserializer(self) -> Self {
        self
    }
}

impl<'de, E: de::Error> Deserializer<'de> for ReplayDeserializer<'de, E> {
    type Error = E;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, E> {
        match self.0 {
            Replay::Str(Cow::Borrowed(s)) => visitor.visit_borrowed_str(s),
            Replay::Str(Cow::Owned(s)) => visitor.visit_string(s),
            Replay::U64(n) => visitor.visit_u64(n),
            Replay::Strings(list) => {
                let items = list.into_iter().map(Replay::Str);
                SeqDeserializer::new(items).deserialize_any(visitor)
            }
        }
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, E> {
        // The tee only replays values that were present and not `null`.
        visitor.visit_some(self)
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _: &'static str,
        visitor: V,
    ) -> Result<V::Value, E> {
        visitor.visit_newtype_struct(self)
    }

    forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes
        byte_buf unit unit_struct seq tuple tuple_struct map struct enum identifier
        ignored_any
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;
    use serde::Deserialize;
    use serde_json::Value;

    use super::*;
    use crate::verifier::claims::{Audience, Confirmation, RegisteredClaims};

    /// The one pass, as a pair.
    fn one_pass<C: DeserializeOwned>(payload: &[u8]) -> Option<(C, Registered<'_>)> {
        let mut registered = Registered::default();
        read(payload, &mut registered).map(|claims| (claims, registered))
    }

    /// The members of a JSON object in order, duplicates kept, as serde_json reads them.
    struct Members(Vec<(String, Value)>);

    impl<'de> Deserialize<'de> for Members {
        fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
            struct All;
            impl<'de> Visitor<'de> for All {
                type Value = Members;
                fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                    f.write_str("an object")
                }
                fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Members, A::Error> {
                    let mut all = Vec::new();
                    while let Some(member) = map.next_entry()? {
                        all.push(member);
                    }
                    Ok(Members(all))
                }
            }
            d.deserialize_map(All)
        }
    }

    /// An independent statement of the rules: what the registered claims of `payload` are,
    /// written over serde_json's `Value`; `None` when a registered claim is of the wrong
    /// type or comes twice, so the token must be refused.
    fn expected(payload: &[u8]) -> Option<Registered<'static>> {
        let Members(members) = serde_json::from_slice(payload).ok()?;
        let mut r = Registered::default();
        let mut seen = Vec::new();
        for (name, value) in members {
            let Some(member) = Member::of(&name) else {
                continue;
            };
            if seen.contains(&member) {
                return None;
            }
            seen.push(member);
            let text = |v: &Value| v.as_str().map(|s| Cow::Owned(s.to_owned()));
            let list = |v: &Value| match v {
                Value::Array(items) => items.iter().map(text).collect::<Option<Vec<_>>>(),
                one => Some(vec![text(one)?]),
            };
            let date = |v: &Value, up: bool| {
                let secs = v.as_u64().or_else(|| {
                    let f = v.as_f64().filter(|f| *f >= 0.0 && v.is_f64())?;
                    let whole = if up { f.ceil() } else { f.floor() };
                    (whole <= 253_402_300_799.0).then_some(whole as u64)
                })?;
                (secs <= 253_402_300_799).then_some(secs)
            };
            match member {
                Member::Iss => r.iss = Some(text(&value)?),
                Member::Sub => r.sub = Some(text(&value)?),
                Member::Jti => r.jti = Some(text(&value)?),
                Member::Sid => r.sid = Some(text(&value)?),
                Member::Scope => r.scope = Some(text(&value)?),
                Member::Acr => r.acr = Some(text(&value)?),
                Member::Aud => r.aud = Some(list(&value)?),
                Member::Scp => r.scp = Some(list(&value)?),
                Member::Roles => r.roles = Some(list(&value)?),
                Member::Cnf => {
                    let cnf = value.as_object()?;
                    let member = |name: &str| match cnf.get(name) {
                        None | Some(Value::Null) => Some(None),
                        Some(value) => text(value).map(Some),
                    };
                    let (jkt, x5t_s256) = (member("jkt")?, member("x5t#S256")?);
                    let unchecked = cnf.keys().any(|k| k != "jkt" && k != "x5t#S256");
                    r.cnf = Some(Confirmation {
                        jkt,
                        x5t_s256,
                        unchecked,
                    });
                }
                Member::Exp => r.exp = Some(date(&value, true)?),
                Member::Nbf => r.nbf = Some(date(&value, false)?),
                Member::Iat => r.iat = Some(date(&value, false)?),
                Member::AuthTime => r.auth_time = Some(date(&value, false)?),
            }
        }
        Some(r)
    }

    #[derive(Debug, PartialEq, Deserialize)]
    struct Flattened {
        #[serde(flatten)]
        registered: RegisteredClaims,
        name: Option<String>,
    }

    #[derive(Debug, PartialEq, Deserialize)]
    struct Loose {
        exp: Option<i64>,
        aud: Option<Value>,
        scope: Option<String>,
        #[serde(default)]
        roles: Vec<String>,
    }

    #[derive(Debug, PartialEq, Deserialize)]
    struct Newtype(Value);

    #[derive(Debug, PartialEq, Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Strict {
        sub: String,
        exp: u64,
    }

    /// A member value: right or wrong type for a registered claim.
    fn value() -> impl Strategy<Value = String> {
        prop_oneof![
            Just("1700000000".to_owned()),
            Just("0".to_owned()),
            Just("-1".to_owned()),
            Just("1.5".to_owned()),
            Just("253402300800".to_owned()),
            Just("null".to_owned()),
            Just("true".to_owned()),
            Just(r#""alice""#.to_owned()),
            Just(r#""a\u0041 b""#.to_owned()),
            Just(r#"["a","b c"]"#.to_owned()),
            Just(r#"["x"]"#.to_owned()),
            Just("[]".to_owned()),
            Just("[1]".to_owned()),
            Just(r#"{"k":[1,{"z":null}]}"#.to_owned()),
        ]
    }

    fn name() -> impl Strategy<Value = String> {
        prop_oneof![
            Just("iss"),
            Just("sub"),
            Just("aud"),
            Just("exp"),
            Just("nbf"),
            Just("iat"),
            Just("jti"),
            Just("sid"),
            Just("scope"),
            Just("scp"),
            Just("roles"),
            Just("acr"),
            Just("auth_time"),
            Just("name"),
            Just("other"),
            Just(r"ex\u0070"),
        ]
        .prop_map(str::to_owned)
    }

    fn object() -> impl Strategy<Value = String> {
        prop::collection::vec((name(), value()), 0..8).prop_map(|members| {
            let body: Vec<String> = members
                .iter()
                .map(|(k, v)| format!(r#""{k}":{v}"#))
                .collect();
            format!("{{{}}}", body.join(","))
        })
    }

    /// The payload as `C` sees it through the tee: a non-integer date in whole seconds
    /// (`exp` up, `nbf`, `iat` and `auth_time` down); the bytes unchanged when there is none. Written
    /// member by member, so that repeated members stay repeated.
    fn as_c_sees_it(payload: &[u8]) -> Vec<u8> {
        let Ok(Members(members)) = serde_json::from_slice(payload) else {
            return payload.to_vec();
        };
        let mut changed = false;
        let mut written = Vec::new();
        for (name, value) in members {
            let value = match (Member::of(&name), value.as_f64()) {
                (
                    Some(m @ (Member::Exp | Member::Nbf | Member::Iat | Member::AuthTime)),
                    Some(secs),
                ) if value.is_f64() && secs >= 0.0 => {
                    changed = true;
                    let whole = if m == Member::Exp {
                        secs.ceil()
                    } else {
                        secs.floor()
                    };
                    Value::from(whole as u64)
                }
                _ => value,
            };
            written.push(format!("{}:{value}", Value::from(name)));
        }
        if changed {
            format!("{{{}}}", written.join(",")).into_bytes()
        } else {
            payload.to_vec()
        }
    }

    /// The tee answers when, and only when, the registered claims are well typed and
    /// serde_json reads `C` from the payload; and then it answers exactly as they do.
    fn same<C: DeserializeOwned + PartialEq + fmt::Debug>(
        payload: &str,
    ) -> Result<(), TestCaseError> {
        let bytes = payload.as_bytes();
        let as_seen = as_c_sees_it(bytes);
        let theirs = serde_json::from_slice::<C>(&as_seen)
            .ok()
            .zip(expected(bytes));
        match (one_pass::<C>(bytes), theirs) {
            (Some((claims, registered)), Some((their_claims, their_registered))) => {
                prop_assert_eq!(claims, their_claims, "{}", payload);
                prop_assert_eq!(registered, their_registered, "{}", payload);
            }
            (None, None) => {}
            (ours, theirs) => prop_assert!(
                false,
                "{}: the tee {} it, serde_json and the rules {} it",
                payload,
                if ours.is_some() { "accepts" } else { "refuses" },
                if theirs.is_some() { "accept" } else { "refuse" },
            ),
        }
        Ok(())
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2048))]

        #[test]
        fn the_tee_reads_as_serde_json_and_the_rules_do(payload in object()) {
            same::<Value>(&payload)?;
            same::<RegisteredClaims>(&payload)?;
            same::<Flattened>(&payload)?;
            same::<Loose>(&payload)?;
            same::<Newtype>(&payload)?;
            same::<Strict>(&payload)?;
        }

        /// The scan that routes a token finds the `iss` the full reading finds, whenever
        /// the full reading accepts the payload.
        #[test]
        fn the_routing_scan_finds_the_issuer_the_reader_does(payload in object()) {
            let mut registered = Registered::default();
            if read::<de::IgnoredAny>(payload.as_bytes(), &mut registered).is_some() {
                let scanned = issuer(payload.as_bytes()).map_err(|e| TestCaseError::fail(e.to_string()))?;
                prop_assert_eq!(scanned, registered.iss, "{}", payload);
            }
        }
    }

    #[test]
    fn the_routing_scan_reads_the_first_top_level_iss_only() {
        let scan = |p: &str| issuer(p.as_bytes()).map(|iss| iss.map(Cow::into_owned));
        assert_eq!(
            scan(r#"{"sub":"a","iss":"A","x":{"iss":"B"}}"#).unwrap(),
            Some("A".into())
        );
        assert_eq!(scan(r#"{"x":{"iss":"B"}}"#).unwrap(), None);
        assert_eq!(scan(r#"{"i\u0073s":"A"}"#).unwrap(), Some("A".into()));
        // The first one chooses; the full reading refuses the token for the second.
        assert_eq!(scan(r#"{"iss":"A","iss":"B"}"#).unwrap(), Some("A".into()));
        for refused in [r#"{"iss":1}"#, r#"{"iss":null}"#, "[]", r#"{"iss":"A""#] {
            assert!(scan(refused).is_err(), "{refused}");
        }
    }

    #[test]
    fn common_claims_types_take_the_one_pass() {
        let payload =
            br#"{"sub":"alice","exp":1700000000,"aud":["a","b"],"scope":"x y","name":"A"}"#;
        let (value, registered) = one_pass::<Value>(payload).unwrap();
        assert_eq!(value["aud"], serde_json::json!(["a", "b"]));
        assert_eq!(registered.exp, Some(1_700_000_000));
        let (claims, _) = one_pass::<RegisteredClaims>(payload).unwrap();
        assert_eq!(
            claims.aud,
            Some(Audience::Many(vec!["a".into(), "b".into()]))
        );
        let (flat, _) = one_pass::<Flattened>(payload).unwrap();
        assert_eq!(flat.name.as_deref(), Some("A"));
        assert!(one_pass::<Newtype>(payload).is_some());
        // A registered claim twice, or of the wrong type: refused.
        assert!(one_pass::<Value>(br#"{"exp":1,"exp":2}"#).is_none());
        assert!(one_pass::<Value>(br#"{"exp":"1"}"#).is_none());
        assert!(one_pass::<Value>(b"[1]").is_none());
        // Not UTF-8 in a member no claims type reads (serde would skip it unchecked): not
        // JSON (RFC 8259 §8.1), refused. Found by the differential fuzz target.
        let latin1 = b"{\"exp\":1,\"note\":\"caf\xe9\"}";
        assert!(one_pass::<RegisteredClaims>(latin1).is_none());
        assert!(one_pass::<Strict>(latin1).is_none());
    }
}
