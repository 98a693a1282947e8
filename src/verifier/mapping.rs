//! Where a token's grants come from when its provider does not put them in `scope`, `scp`
//! and `roles`: claim paths, JSON pointers (RFC 6901) such as `/realm_access/roles` or
//! `/cognito:groups`, read in the payload's one pass.
//!
//! The payload reader captures the top-level members the paths start with (as JSON values,
//! which it also hands to the claims type), and refuses a token that repeats one, as it does
//! for the registered claims; the paths are then walked in those values. Without a mapping,
//! nothing is captured and the grants come from the registered claims as before.

use serde_json::Value;

use super::claims::{Member, Registered};
use super::grants::Grants;
use crate::ConfigError;

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
            let mut segment = fill(raw, vars).map_err(|why| invalid(&why))?;
            if segment.contains('~') {
                segment = unescape(&segment).ok_or_else(|| invalid("`~` must be `~0` or `~1`"))?;
            }
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

    /// The value at the end of the path, from the top-level member's value.
    fn find<'v>(&self, top: &'v Value) -> Option<&'v Value> {
        self.segments[1..]
            .iter()
            .try_fold(top, |value, key| value.as_object()?.get(key))
    }
}

/// `{name}` replaced by its value in `vars`.
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
        out.push_str(&rest[..open]);
        out.push_str(value);
        rest = &rest[open + close + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

fn unescape(segment: &str) -> Option<String> {
    let mut out = String::new();
    let mut chars = segment.chars();
    while let Some(c) = chars.next() {
        match (c, c == '~') {
            (_, false) => out.push(c),
            (_, true) => match chars.next()? {
                '0' => out.push('~'),
                '1' => out.push('/'),
                _ => return None,
            },
        }
    }
    Some(out)
}

/// What the builder collected: the paths as given, and the values of their variables.
#[derive(Debug, Clone, Default)]
pub(crate) struct GrantSources {
    pub(crate) scopes: Option<Vec<String>>,
    pub(crate) roles: Option<Vec<String>>,
    pub(crate) client_id: Option<String>,
}

impl GrantSources {
    /// The mapping, or `None` when no source was changed: the standard claims are then read
    /// as before, at no cost.
    pub(crate) fn build(self) -> Result<Option<Mapping>, ConfigError> {
        if self.scopes.is_none() && self.roles.is_none() {
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
        Ok(Some(Mapping::new(
            paths(self.scopes, &["/scope", "/scp"])?,
            paths(self.roles, &["/roles"])?,
        )))
    }
}

/// Where scopes and roles come from.
#[derive(Debug, Clone)]
pub(crate) struct Mapping {
    scopes: Vec<ClaimPath>,
    roles: Vec<ClaimPath>,
    /// The top-level members to capture: those the paths start with that the reader does
    /// not read already.
    captures: Vec<Box<str>>,
}

impl Mapping {
    pub(crate) fn new(scopes: Vec<ClaimPath>, roles: Vec<ClaimPath>) -> Mapping {
        let mut captures: Vec<Box<str>> = Vec::new();
        for path in scopes.iter().chain(&roles) {
            let top = path.top();
            if Member::of(top).is_none() && !captures.iter().any(|c| **c == *top) {
                captures.push(top.into());
            }
        }
        Mapping {
            scopes,
            roles,
            captures,
        }
    }

    /// The top-level members the payload reader must capture.
    pub(crate) fn captures(&self) -> &[Box<str>] {
        &self.captures
    }

    /// The grants of a token whose payload was read with [`captures`](Self::captures).
    pub(crate) fn grants(&self, registered: &Registered<'_>) -> Grants {
        let mut scopes = Vec::new();
        for path in &self.scopes {
            self.each(path, registered, &mut |text| {
                scopes.extend(text.split_whitespace().map(str::to_owned));
            });
        }
        let mut roles = Vec::new();
        for path in &self.roles {
            self.each(path, registered, &mut |text| roles.push(text.to_owned()));
        }
        if scopes.is_empty() && roles.is_empty() {
            return Grants::default();
        }
        Grants::new(scopes, roles)
    }

    /// Calls `found` with each string at `path`: a string, or each string of an array.
    /// Anything else there grants nothing: a grant is never guessed.
    fn each(&self, path: &ClaimPath, r: &Registered<'_>, found: &mut impl FnMut(&str)) {
        if let Some(member) = Member::of(path.top()) {
            // Registered members were read typed; they have no inside.
            if path.segments.len() > 1 {
                return;
            }
            let one = match member {
                Member::Scope => &r.scope,
                Member::Iss => &r.iss,
                Member::Sub => &r.sub,
                Member::Jti => &r.jti,
                Member::Sid => &r.sid,
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
            return;
        }
        let Some(at) = self.captures.iter().position(|c| **c == *path.top()) else {
            return;
        };
        let captured = r.captured.iter().find(|(i, _)| *i == at);
        match captured.and_then(|(_, top)| path.find(top)) {
            Some(Value::String(text)) => found(text),
            Some(Value::Array(items)) => items
                .iter()
                .filter_map(Value::as_str)
                .for_each(found),
            _ => {}
        }
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
}
