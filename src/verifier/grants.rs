//! [`Grants`]: the scopes and roles a verified token carries.

use std::borrow::Cow;
use std::sync::Arc;

/// The scopes and roles of a verified token, read from its `scope` (space-delimited,
/// RFC 8693 §4.2), `scp` (a string or an array, as some providers send) and `roles`
/// (RFC 9068 §2.2.3.1) claims.
///
/// The layer puts it in the request's extensions beside the claims;
/// [`Require`](crate::authorize::Require) checks it. Cloning is cheap.
#[derive(Debug, Clone, Default)]
pub struct Grants {
    /// The scopes as the token gave them, joined by spaces (a scope token never holds one,
    /// RFC 6749 §3.3): a token with one `scope` claim costs one allocation, whatever the
    /// number of its scopes; sorted only when someone asks for the list.
    scopes: Option<Arc<str>>,
    roles: Option<Arc<[String]>>,
}

/// Two grants are equal when they grant the same: the order and repetitions of the scopes
/// as the token wrote them do not matter.
impl PartialEq for Grants {
    fn eq(&self, other: &Self) -> bool {
        self.roles().eq(other.roles()) && self.scopes().eq(other.scopes())
    }
}

impl Eq for Grants {}

impl Grants {
    /// Grants from the claims as read: `scope`, `scp`, `roles`.
    pub(crate) fn from_claims(
        scope: Option<&str>,
        scp: Option<&[Cow<'_, str>]>,
        roles: Option<&[Cow<'_, str>]>,
    ) -> Grants {
        let scopes = match (scope, scp) {
            // The common shape, copied once.
            (Some(scope), None) => scope_list(scope),
            (scope, scp) => {
                let parts = scope
                    .into_iter()
                    .chain(scp.into_iter().flatten().map(|s| &**s));
                scope_list(&joined(parts))
            }
        };
        let roles = roles.into_iter().flatten().map(|r| r.to_string());
        Grants {
            scopes,
            roles: role_list(roles.collect()),
        }
    }

    /// Grants from scopes already joined by spaces, and roles.
    pub(crate) fn from_parts(scopes: String, roles: Vec<String>) -> Grants {
        Grants {
            scopes: scope_list(&scopes),
            roles: role_list(roles),
        }
    }

    /// Grants with these scopes and roles.
    pub fn new<S: Into<String>, R: Into<String>>(
        scopes: impl IntoIterator<Item = S>,
        roles: impl IntoIterator<Item = R>,
    ) -> Grants {
        let scopes: Vec<String> = scopes.into_iter().map(Into::into).collect();
        Grants {
            scopes: scope_list(&joined(scopes.iter().map(String::as_str))),
            roles: role_list(roles.into_iter().map(Into::into).collect()),
        }
    }

    /// The scopes as the token wrote them: its order, repetitions included.
    fn written_scopes(&self) -> impl Iterator<Item = &str> {
        (self.scopes.iter()).flat_map(|s| s.split(' ').filter(|s| !s.is_empty()))
    }

    /// The scopes, sorted, without duplicates.
    pub fn scopes(&self) -> impl Iterator<Item = &str> {
        let mut scopes: Vec<&str> = self.written_scopes().collect();
        scopes.sort_unstable();
        scopes.dedup();
        scopes.into_iter()
    }

    /// The roles.
    pub fn roles(&self) -> impl Iterator<Item = &str> {
        (self.roles.iter()).flat_map(|roles| roles.iter().map(String::as_str))
    }

    /// Whether the token grants this scope (compared exactly, case-sensitively).
    pub fn has_scope(&self, scope: &str) -> bool {
        !scope.is_empty() && self.written_scopes().any(|s| s == scope)
    }

    /// Whether the token carries this role (compared exactly).
    pub fn has_role(&self, role: &str) -> bool {
        self.roles().any(|r| r == role)
    }

    /// Whether the token grants nothing at all (the layer then inserts nothing).
    pub(crate) fn is_empty(&self) -> bool {
        self.scopes.is_none() && self.roles.is_none()
    }
}

/// Scopes joined by spaces, kept unless there is none.
fn scope_list(scopes: &str) -> Option<Arc<str>> {
    (!scopes.split(' ').all(str::is_empty)).then(|| Arc::from(scopes))
}

fn role_list(roles: Vec<String>) -> Option<Arc<[String]>> {
    (!roles.is_empty()).then(|| Arc::from(roles))
}

/// Space-delimited scope strings (and single scopes) joined into one, in one allocation.
fn joined<'a>(parts: impl Iterator<Item = &'a str> + Clone) -> String {
    let len = parts.clone().map(|p| p.len() + 1).sum();
    let mut out = String::with_capacity(len);
    for part in parts {
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(part);
    }
    out
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

    #[test]
    fn grants_compare_by_what_they_grant_not_by_how_the_token_wrote_them() {
        let written = Grants::from_claims(Some("write read read"), None, None);
        assert_eq!(
            written,
            Grants::new(["read", "write"], Vec::<String>::new())
        );
        assert_eq!(written.scopes().collect::<Vec<_>>(), ["read", "write"]);
        assert_ne!(written, Grants::new(["read"], Vec::<String>::new()));
        // Only spaces: no scope, and nothing to insert.
        assert_eq!(
            Grants::from_parts("  ".into(), Vec::new()),
            Grants::default()
        );
        assert!(!Grants::from_parts("  ".into(), vec!["admin".into()]).has_scope(""));
        assert!(Grants::from_claims(Some(" "), Some(&[]), Some(&[])).is_empty());
        assert!(!Grants::from_claims(Some("read"), None, None).is_empty());
    }
}
