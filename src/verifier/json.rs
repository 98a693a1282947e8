//! Strict JSON readers shared by the JOSE header and the claims: a member that is present
//! must have the right type (`null` is not "absent"), and strings are borrowed from the
//! decoded bytes when they have no escapes, so reading allocates nothing.

use std::borrow::Cow;
use std::fmt;

use serde::Deserializer;
use serde::de::{self, Deserialize, SeqAccess, Visitor};

/// Whether the JSON text is an object. Serde would also read an array into a struct, by
/// position; a header or a claims set must be an object.
pub(crate) fn is_object(json: &[u8]) -> bool {
    json.iter()
        .find(|b| !matches!(b, b' ' | b'\t' | b'\n' | b'\r'))
        .is_some_and(|b| *b == b'{')
}

/// Whether the JSON text is UTF-8 (RFC 8259 §8.1), all of it: serde skips the strings of
/// members nobody reads without checking them.
pub(crate) fn is_utf8(json: &[u8]) -> bool {
    std::str::from_utf8(json).is_ok()
}

/// A string member, borrowed when it can be.
pub(crate) fn string<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Cow<'de, str>>, D::Error> {
    d.deserialize_str(StrVisitor).map(Some)
}

/// A boolean member.
pub(crate) fn boolean<'de, D: Deserializer<'de>>(d: D) -> Result<Option<bool>, D::Error> {
    bool::deserialize(d).map(Some)
}

/// Records that a member is present, whatever its value (even `null`).
pub(crate) fn present<'de, D: Deserializer<'de>>(d: D) -> Result<Option<()>, D::Error> {
    de::IgnoredAny::deserialize(d).map(|_| Some(()))
}

/// One string or an array of strings, and whether it was one string.
pub(crate) fn strings_shaped<'de, D: Deserializer<'de>>(
    d: D,
) -> Result<(Vec<Cow<'de, str>>, bool), D::Error> {
    d.deserialize_any(StringsVisitor)
}

struct StrVisitor;

impl<'de> Visitor<'de> for StrVisitor {
    type Value = Cow<'de, str>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a string")
    }

    fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
        Ok(Cow::Borrowed(v))
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        Ok(Cow::Owned(v.to_owned()))
    }
}

struct StringsVisitor;

impl<'de> Visitor<'de> for StringsVisitor {
    /// The strings, and whether there was one string rather than an array.
    type Value = (Vec<Cow<'de, str>>, bool);

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a string or an array of strings")
    }

    fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
        Ok((vec![Cow::Borrowed(v)], true))
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        Ok((vec![Cow::Owned(v.to_owned())], true))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let mut all = Vec::new();
        while let Some(s) = seq.next_element_seed(StrSeed)? {
            all.push(s);
        }
        Ok((all, false))
    }
}

/// A string, borrowed when it can be.
pub(crate) struct StrSeed;

impl<'de> de::DeserializeSeed<'de> for StrSeed {
    type Value = Cow<'de, str>;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_str(StrVisitor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    fn strings<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Vec<Cow<'de, str>>>, D::Error> {
        strings_shaped(d).map(|(all, _)| Some(all))
    }

    #[derive(Deserialize)]
    struct Probe<'a> {
        #[serde(default, borrow, deserialize_with = "string")]
        s: Option<Cow<'a, str>>,
        #[serde(default, borrow, deserialize_with = "strings")]
        many: Option<Vec<Cow<'a, str>>>,
    }

    #[test]
    fn strings_are_borrowed_unless_escaped() {
        let p: Probe = serde_json::from_str(r#"{"s":"plain"}"#).unwrap();
        assert!(matches!(p.s, Some(Cow::Borrowed("plain"))));
        let p: Probe = serde_json::from_str(r#"{"s":"a\u0041"}"#).unwrap();
        assert!(matches!(p.s.as_deref(), Some("aA")));
    }

    #[test]
    fn null_and_other_types_are_refused() {
        for json in [
            r#"{"s":null}"#,
            r#"{"s":1}"#,
            r#"{"many":null}"#,
            r#"{"many":[1]}"#,
            r#"{"many":{}}"#,
        ] {
            assert!(serde_json::from_str::<Probe>(json).is_err(), "{json}");
        }
        let p: Probe = serde_json::from_str(r#"{"many":["a","b"]}"#).unwrap();
        assert_eq!(p.many.unwrap(), ["a", "b"]);
        let p: Probe = serde_json::from_str(r#"{"many":"a"}"#).unwrap();
        assert_eq!(p.many.unwrap(), ["a"]);
        assert!(p.s.is_none());
    }

    #[test]
    fn only_objects_are_objects() {
        assert!(is_object(b" \n{}"));
        assert!(!is_object(b"[]"));
        assert!(!is_object(b""));
    }
}
