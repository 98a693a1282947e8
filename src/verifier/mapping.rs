//! Where a token's grants come from when its provider does not put them in `scope`, `scp`
//! and `roles`: claim paths, JSON pointers (RFC 6901) such as `/realm_access/roles` or
//! `/cognito:groups`, read in the payload's one pass.
//!
//! The payload reader captures the top-level members the paths start with (as JSON values,
//! which it also hands to the claims type), and refuses a token that repeats one, as it does
//! for the registered claims; the paths are then walked in those values. Without a mapping,
//! nothing is captured and the grants come from the registered claims as before.

use std::borrow::Cow;
use std::fmt;

use serde::de::{
    self, Deserialize, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor,
};

use super::claims::{MAX_CAPTURES, Member, Registered};
use super::grants::Grants;
use super::json::StrSeed;
use crate::{AuthError, ConfigError};

/// A path to a claim: the top-level member, then the keys inside it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ClaimPath {
    segments: Vec<String>,
}

impl ClaimPath {
    /// Reads a JSON pointer (`/a/b`, with `~1` for `/` and `~0` for `~`), filling each
    /// `{name}` with its value from `vars`.
    pub(crate) fn parse(pointer: &str, vars: &[(&str, &str)]) -> Result<ClaimPath, ConfigError> {
        let invalid = |why: &str| ConfigError::InvalidClaimPath {
            path: pointer.to_owned(),
            why: why.to_owned(),
        };
        let Some(rest) = pointer.strip_prefix('/') else {
            return Err(invalid(
                "a claim path is a JSON pointer: it starts with `/`",
            ));
        };
        let mut segments = Vec::new();
        for raw in rest.split('/') {
            let segment = fill(raw, vars).map_err(|why| invalid(&why))?;
            if segment.is_empty() {
                return Err(invalid("a segment is empty"));
            }
            segments.push(segment);
        }
        Ok(ClaimPath { segments })
    }

    /// The top-level member the path starts with.
    pub(crate) fn top(&self) -> &str {
        &self.segments[0]
    }
}

/// The segment as a member name: its own text unescaped, each `{name}` replaced by its
/// value in `vars` as it is (a value is a name, not pointer syntax: a client id with `~`
/// stays itself).
fn fill(segment: &str, vars: &[(&str, &str)]) -> Result<String, String> {
    let mut out = String::new();
    let mut rest = segment;
    while let Some(open) = rest.find('{') {
        let close = rest[open..]
            .find('}')
            .ok_or_else(|| "a `{` is not closed".to_owned())?;
        let name = &rest[open + 1..open + close];
        let value = vars
            .iter()
            .find(|(var, _)| *var == name)
            .map(|(_, value)| *value)
            .ok_or_else(|| format!("`{{{name}}}` has no value: set it (e.g. `client_id(..)`)"))?;
        unescape(&rest[..open], &mut out)?;
        out.push_str(value);
        rest = &rest[open + close + 1..];
    }
    unescape(rest, &mut out)?;
    Ok(out)
}

/// RFC 6901 §4: `~1` is `/`, `~0` is `~`; any other `~` is an error.
fn unescape(text: &str, out: &mut String) -> Result<(), String> {
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if c != '~' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('0') => out.push('~'),
            Some('1') => out.push('/'),
            _ => return Err("`~` must be `~0` or `~1`".to_owned()),
        }
    }
    Ok(())
}

/// What the builder collected: the paths as given, the claims that must hold one of some
/// values, and the values of the paths' variables.
#[derive(Debug, Clone, Default)]
pub(crate) struct GrantSources {
    pub(crate) scopes: Option<Vec<String>>,
    pub(crate) roles: Option<Vec<String>>,
    pub(crate) checks: Vec<(String, Vec<String>, AuthError)>,
    /// Sets of claims of which a token must carry at least one, each with its answer.
    pub(crate) present: Vec<(Vec<String>, AuthError)>,
    pub(crate) client_id: Option<String>,
}

impl GrantSources {
    /// Reads scopes from these claim paths.
    pub(crate) fn scopes_from<P: Into<String>>(&mut self, paths: impl IntoIterator<Item = P>) {
        self.scopes = Some(paths.into_iter().map(Into::into).collect());
    }

    /// Reads roles from these claim paths.
    pub(crate) fn roles_from<P: Into<String>>(&mut self, paths: impl IntoIterator<Item = P>) {
        self.roles = Some(paths.into_iter().map(Into::into).collect());
    }

    /// Requires the claim at `path` to hold one of `values`, else `error`.
    pub(crate) fn require<V: Into<String>>(
        &mut self,
        path: impl Into<String>,
        values: impl IntoIterator<Item = V>,
        error: AuthError,
    ) {
        let values = values.into_iter().map(Into::into).collect();
        self.checks.push((path.into(), values, error));
    }

    /// The mapping, or `None` when no source was changed and no claim is checked: the
    /// standard claims are then read as before, at no cost.
    pub(crate) fn build(self) -> Result<Option<Mapping>, ConfigError> {
        if self.scopes.is_none()
            && self.roles.is_none()
            && self.checks.is_empty()
            && self.present.is_empty()
        {
            return Ok(None);
        }
        let vars: Vec<(&str, &str)> = self
            .client_id
            .as_deref()
            .map(|id| ("client_id", id))
            .into_iter()
            .collect();
        let paths = |given: Option<Vec<String>>, standard: &[&str]| {
            let given = given.unwrap_or_else(|| standard.iter().map(|p| (*p).to_owned()).collect());
            given
                .iter()
                .map(|p| ClaimPath::parse(p, &vars))
                .collect::<Result<Vec<_>, _>>()
        };
        let mut mapping = Mapping::new(
            paths(self.scopes, &["/scope", "/scp"])?,
            paths(self.roles, &["/roles"])?,
        );
        for (path, allowed, error) in self.checks {
            if allowed.is_empty() {
                return Err(ConfigError::InvalidClaimPath {
                    path,
                    why: "a required claim needs at least one accepted value".to_owned(),
                });
            }
            let path = ClaimPath::parse(&path, &vars)?;
            mapping.check(vec![path], Some(allowed), error);
        }
        for (paths, error) in self.present {
            let paths = paths
                .iter()
                .map(|p| ClaimPath::parse(p, &vars))
                .collect::<Result<Vec<_>, _>>()?;
            mapping.check(paths, None, error);
        }
        if let Some(top) = mapping.captures.get(MAX_CAPTURES) {
            return Err(ConfigError::InvalidClaimPath {
                path: format!("/{top}"),
                why: format!(
                    "claim paths may start at {MAX_CAPTURES} distinct top-level members at most"
                ),
            });
        }
        Ok(Some(mapping))
    }
}

/// Claims of which one must hold one of some values (or, with `None`, any string), and
/// the answer when none does.
#[derive(Debug, Clone)]
struct Check {
    paths: Vec<Resolved>,
    allowed: Option<Vec<String>>,
    error: AuthError,
}

/// A claim path, and where its top-level member is found, settled at `build()`.
#[derive(Debug, Clone)]
struct Resolved {
    top: Top,
    path: ClaimPath,
}

#[derive(Debug, Clone, Copy)]
enum Top {
    /// A registered claim, read typed by the payload reader.
    Member(Member),
    /// A member the reader captures, by its index in the captures.
    Captured(usize),
}

/// Where `path` starts, adding its top-level member to `captures` if the reader must
/// capture it.
fn resolve(captures: &mut Vec<Box<str>>, path: ClaimPath) -> Resolved {
    let top = path.top();
    let top = match Member::of(top) {
        Some(member) => Top::Member(member),
        None => Top::Captured(match captures.iter().position(|c| **c == *top) {
            Some(at) => at,
            None => {
                captures.push(top.into());
                captures.len() - 1
            }
        }),
    };
    Resolved { top, path }
}

/// Where scopes and roles come from.
#[derive(Debug, Clone)]
pub(crate) struct Mapping {
    scopes: Vec<Resolved>,
    roles: Vec<Resolved>,
    checks: Vec<Check>,
    /// The top-level members to capture: those the paths start with that the reader does
    /// not read already.
    captures: Vec<Box<str>>,
}

impl Mapping {
    pub(crate) fn new(scopes: Vec<ClaimPath>, roles: Vec<ClaimPath>) -> Mapping {
        let mut captures = Vec::new();
        let mut resolve_all = |paths: Vec<ClaimPath>| -> Vec<Resolved> {
            paths
                .into_iter()
                .map(|p| resolve(&mut captures, p))
                .collect()
        };
        let (scopes, roles) = (resolve_all(scopes), resolve_all(roles));
        Mapping {
            scopes,
            roles,
            checks: Vec::new(),
            captures,
        }
    }

    /// Requires a claim at one of `paths` to be one of `allowed` (a string, or an array
    /// holding one of them; any string with `None`), else `error`.
    fn check(&mut self, paths: Vec<ClaimPath>, allowed: Option<Vec<String>>, error: AuthError) {
        let paths = paths
            .into_iter()
            .map(|path| resolve(&mut self.captures, path))
            .collect();
        self.checks.push(Check {
            paths,
            allowed,
            error,
        });
    }

    /// The top-level members the payload reader must capture.
    pub(crate) fn captures(&self) -> &[Box<str>] {
        &self.captures
    }

    /// The grants of a token whose payload was read with [`captures`](Self::captures);
    /// `Err` when a required claim does not hold an accepted value, or a mapped member
    /// repeats a key on the path, which the claims type might read otherwise than the
    /// grants.
    pub(crate) fn grants(&self, registered: &Registered<'_>) -> Result<Grants, AuthError> {
        for check in &self.checks {
            let mut holds = false;
            for path in &check.paths {
                self.each(path, registered, &mut |value| {
                    holds |= check
                        .allowed
                        .as_ref()
                        .is_none_or(|allowed| allowed.iter().any(|a| a == value));
                })?;
            }
            if !holds {
                return Err(check.error);
            }
        }
        // Room for a typical token's grants, so that pushing them one by one does not grow
        // the buffers several times.
        let room = |paths: &[Resolved], typical| if paths.is_empty() { 0 } else { typical };
        // The scopes joined by spaces, as the `scope` claim holds them (RFC 6749 §3.3).
        let mut scopes = String::with_capacity(room(&self.scopes, 128));
        for path in &self.scopes {
            self.each(path, registered, &mut |text| {
                if !scopes.is_empty() {
                    scopes.push(' ');
                }
                scopes.push_str(text);
            })?;
        }
        let mut roles = Vec::with_capacity(room(&self.roles, 8));
        for path in &self.roles {
            self.each(path, registered, &mut |text| roles.push(text.to_owned()))?;
        }
        Ok(Grants::from_parts(scopes, roles))
    }

    /// Calls `found` with each string at `path`: a string, or each string of an array.
    /// Anything else there grants nothing: a grant is never guessed.
    fn each(
        &self,
        resolved: &Resolved,
        r: &Registered<'_>,
        found: &mut dyn FnMut(&str),
    ) -> Result<(), AuthError> {
        let path = &resolved.path;
        let at = match resolved.top {
            Top::Captured(at) => at,
            Top::Member(member) => {
                // Registered members were read typed; they have no inside.
                if path.segments.len() > 1 {
                    return Ok(());
                }
                let one = match member {
                    Member::Scope => &r.scope,
                    Member::Iss => &r.iss,
                    Member::Sub => &r.sub,
                    Member::Jti => &r.jti,
                    Member::Sid => &r.sid,
                    Member::Acr => &r.acr,
                    _ => &None,
                };
                let list = match member {
                    Member::Scp => &r.scp,
                    Member::Roles => &r.roles,
                    Member::Aud => &r.aud,
                    _ => &None,
                };
                one.iter()
                    .chain(list.iter().flatten())
                    .for_each(|s| found(s));
                return Ok(());
            }
        };
        let Some(raw) = r.captured[at] else {
            return Ok(());
        };
        let mut de = serde_json::Deserializer::from_str(raw);
        At {
            path: &path.segments[1..],
            found,
        }
        .deserialize(&mut de)
        .map_err(|_| AuthError::InvalidClaims)
    }
}

/// Walks a captured member's JSON down `path` without building it, and hands each string at
/// the end to `found`. A key of the path that repeats is an error; other shapes are skipped.
struct At<'p, 'f> {
    path: &'p [String],
    found: &'f mut dyn FnMut(&str),
}

impl<'de> DeserializeSeed<'de> for At<'_, '_> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for At<'_, '_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let Some((key, rest)) = self.path.split_first() else {
            while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
            return Ok(());
        };
        let mut seen = false;
        while let Some(name) = map.next_key_seed(StrSeed)? {
            if *name != **key {
                map.next_value::<IgnoredAny>()?;
                continue;
            }
            if std::mem::replace(&mut seen, true) {
                return Err(de::Error::custom("a mapped key repeats"));
            }
            map.next_value_seed(At {
                path: rest,
                found: &mut *self.found,
            })?;
        }
        Ok(())
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        if !self.path.is_empty() {
            while seq.next_element::<IgnoredAny>()?.is_some() {}
            return Ok(());
        }
        // Each string of the array; other items grant nothing.
        while let Some(item) = seq.next_element::<Item>()? {
            if let Item(Some(text)) = item {
                (self.found)(&text);
            }
        }
        Ok(())
    }

    fn visit_str<E: de::Error>(self, text: &str) -> Result<(), E> {
        if self.path.is_empty() {
            (self.found)(text);
        }
        Ok(())
    }

    fn visit_bool<E: de::Error>(self, _: bool) -> Result<(), E> {
        Ok(())
    }

    fn visit_i64<E: de::Error>(self, _: i64) -> Result<(), E> {
        Ok(())
    }

    fn visit_u64<E: de::Error>(self, _: u64) -> Result<(), E> {
        Ok(())
    }

    fn visit_f64<E: de::Error>(self, _: f64) -> Result<(), E> {
        Ok(())
    }

    fn visit_unit<E: de::Error>(self) -> Result<(), E> {
        Ok(())
    }
}

/// An array item: a string, or anything else (skipped).
struct Item<'de>(Option<Cow<'de, str>>);

impl<'de> Deserialize<'de> for Item<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct ItemVisitor;
        impl<'de> Visitor<'de> for ItemVisitor {
            type Value = Item<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("any JSON value")
            }
            fn visit_borrowed_str<E: de::Error>(self, text: &'de str) -> Result<Item<'de>, E> {
                Ok(Item(Some(Cow::Borrowed(text))))
            }
            fn visit_str<E: de::Error>(self, text: &str) -> Result<Item<'de>, E> {
                Ok(Item(Some(Cow::Owned(text.to_owned()))))
            }
            fn visit_bool<E: de::Error>(self, _: bool) -> Result<Item<'de>, E> {
                Ok(Item(None))
            }
            fn visit_i64<E: de::Error>(self, _: i64) -> Result<Item<'de>, E> {
                Ok(Item(None))
            }
            fn visit_u64<E: de::Error>(self, _: u64) -> Result<Item<'de>, E> {
                Ok(Item(None))
            }
            fn visit_f64<E: de::Error>(self, _: f64) -> Result<Item<'de>, E> {
                Ok(Item(None))
            }
            fn visit_unit<E: de::Error>(self) -> Result<Item<'de>, E> {
                Ok(Item(None))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Item<'de>, A::Error> {
                while seq.next_element::<IgnoredAny>()?.is_some() {}
                Ok(Item(None))
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Item<'de>, A::Error> {
                while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
                Ok(Item(None))
            }
        }
        d.deserialize_any(ItemVisitor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_are_json_pointers_with_variables() {
        let vars = [("client_id", "my-app")];
        let path = ClaimPath::parse("/resource_access/{client_id}/roles", &vars).unwrap();
        assert_eq!(path.segments, ["resource_access", "my-app", "roles"]);
        let colon = ClaimPath::parse("/cognito:groups", &[]).unwrap();
        assert_eq!(colon.segments, ["cognito:groups"]);
        let escaped = ClaimPath::parse("/a~1b/c~0d", &[]).unwrap();
        assert_eq!(escaped.segments, ["a/b", "c~d"]);
        // A value is substituted after unescaping: a client id with `~` (or `~1`) is kept
        // as it is, not read as pointer syntax.
        for id in ["team~app", "a~1b", "x~"] {
            let path = ClaimPath::parse(
                "/resource_access/{client_id}~0x/roles",
                &[("client_id", id)],
            )
            .unwrap();
            assert_eq!(
                path.segments,
                ["resource_access", &format!("{id}~x"), "roles"]
            );
        }
        for bad in ["roles", "/", "/a//b", "/a~2", "/{client_id}", "/{open"] {
            assert!(
                matches!(
                    ClaimPath::parse(bad, &[]),
                    Err(ConfigError::InvalidClaimPath { .. })
                ),
                "{bad}"
            );
        }
    }

    /// The captured members are held inline, so their number is bounded at `build()`:
    /// eight distinct top-level members build, a ninth is refused.
    #[test]
    fn at_most_eight_top_level_members_are_captured() {
        let sources = |n: usize| GrantSources {
            scopes: Some((0..n).map(|i| format!("/m{i}/scopes")).collect()),
            ..GrantSources::default()
        };
        let eight = sources(MAX_CAPTURES).build().unwrap().unwrap();
        assert_eq!(eight.captures().len(), MAX_CAPTURES);
        // Registered members are read, not captured: they do not count.
        let mut with_registered = sources(MAX_CAPTURES);
        with_registered
            .scopes
            .as_mut()
            .unwrap()
            .push("/scope".into());
        assert!(with_registered.build().is_ok());
        let err = sources(MAX_CAPTURES + 1).build().unwrap_err();
        assert!(
            matches!(&err, ConfigError::InvalidClaimPath { path, .. } if path == "/m8"),
            "{err:?}"
        );
    }
}
