//! [`Grants`]: the scopes and roles a verified token carries.

use std::borrow::Cow;
use std::sync::Arc;

/// The scopes and roles of a verified token, read from its `scope` (space-delimited,
/// RFC 8693 §4.2), `scp` (a string or an array, as some providers send) and `roles`
/// (RFC 9068 §2.2.3.1) claims.
///
/// The layer puts it in the request's extensions beside the claims;
/// [`Require`](crate::authorize::Require) checks it. Cloning is cheap.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Grants(Option<Arc<GrantList>>);

#[derive(Debug, PartialEq, Eq)]
struct GrantList {
    scopes: Vec<String>,
    roles: Vec<String>,
}

impl Grants {
    /// Grants from the claims as read: `scope`, `scp`, `roles`.
    pub(crate) fn from_claims(
        scope: Option<&str>,
        scp: Option<&[Cow<'_, str>]>,
        roles: Option<&[Cow<'_, str>]>,
    ) -> Grants {
        if scope.is_none() && scp.is_none() && roles.is_none() {
            return Grants(None);
        }
        let mut scopes: Vec<String> = scope
            .into_iter()
            .chain(scp.into_iter().flatten().map(|s| &**s))
            .flat_map(|s| s.split(' '))
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .collect();
        scopes.sort_unstable();
        scopes.dedup();
        let roles = roles.into_iter().flatten().map(|r| r.to_string()).collect();
        Grants(Some(Arc::new(GrantList { scopes, roles })))
    }

    /// Grants with these scopes and roles.
    pub fn new<S: Into<String>, R: Into<String>>(
        scopes: impl IntoIterator<Item = S>,
        roles: impl IntoIterator<Item = R>,
    ) -> Grants {
        let mut scopes: Vec<String> = scopes.into_iter().map(Into::into).collect();
        scopes.sort_unstable();
        scopes.dedup();
        let roles = roles.into_iter().map(Into::into).collect();
        Grants(Some(Arc::new(GrantList { scopes, roles })))
    }

    /// The scopes, sorted, without duplicates.
    pub fn scopes(&self) -> impl Iterator<Item = &str> {
        self.0
            .iter()
            .flat_map(|g| g.scopes.iter().map(String::as_str))
    }

    /// The roles.
    pub fn roles(&self) -> impl Iterator<Item = &str> {
        self.0
            .iter()
            .flat_map(|g| g.roles.iter().map(String::as_str))
    }

    /// Whether the token grants this scope (compared exactly, case-sensitively).
    pub fn has_scope(&self, scope: &str) -> bool {
        self.0
            .as_ref()
            .is_some_and(|g| g.scopes.binary_search_by(|s| s.as_str().cmp(scope)).is_ok())
    }

    /// Whether the token carries this role (compared exactly).
    pub fn has_role(&self, role: &str) -> bool {
        self.roles().any(|r| r == role)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scopes_come_from_scope_and_scp() {
        let g = Grants::from_claims(
            Some("read  write"),
            Some(&["admin".into(), "read".into()]),
            None,
        );
        assert_eq!(g.scopes().collect::<Vec<_>>(), ["admin", "read", "write"]);
        assert!(g.has_scope("write"));
        assert!(!g.has_scope("Write"));
        assert!(!g.has_scope(""));
        assert!(!g.has_role("admin"));
    }

    #[test]
    fn roles_are_separate_from_scopes() {
        let g = Grants::from_claims(None, None, Some(&["admin".into()]));
        assert!(g.has_role("admin"));
        assert!(!g.has_scope("admin"));
        assert_eq!(Grants::from_claims(None, None, None), Grants::default());
    }
}
