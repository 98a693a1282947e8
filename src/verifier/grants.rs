//! [`Grants`]: the scopes and roles a verified token carries.

use std::borrow::Cow;
use std::sync::Arc;

/// The scopes and roles of a verified token, read from its `scope` (space-delimited,
/// RFC 8693 §4.2), `scp` (a string or an array, as some providers send) and `roles`
/// (RFC 9068 §2.2.3.1) claims (or where a claim mapping says), and how its user
/// authenticated: `acr` and `auth_time` (OpenID Connect Core §2), which a step-up
/// requirement checks (RFC 9470).
///
/// The layer puts it in the request's extensions beside the claims;
/// [`Require`](crate::authorize::Require) checks it. Cloning is cheap.
#[derive(Debug, Clone, Default)]
pub struct Grants {
    /// The scopes as the token gave them, joined by spaces (a scope token never holds one,
    /// RFC 6749 §3.3): a token with one `scope` claim costs one allocation, whatever the
    /// number of its scopes; sorted only when someone asks for the list.
    scopes: Option<Arc<str>>,
    /// What fewer tokens carry, apart: a token of scopes alone allocates nothing for it, and
    /// `Grants` stays small (the verified-token cache holds one per token).
    more: Option<Arc<More>>,
}

/// Roles, and how the user authenticated.
#[derive(Debug, Default, PartialEq, Eq)]
struct More {
    roles: Vec<String>,
    acr: Option<Box<str>>,
    auth_time: Option<u64>,
}

impl More {
    fn into_grants(self, scopes: Option<Arc<str>>) -> Grants {
        let more = (self != More::default()).then(|| Arc::new(self));
        Grants { scopes, more }
    }
}

/// Two grants are equal when they grant the same: the order and repetitions of the scopes
/// as the token wrote them do not matter.
impl PartialEq for Grants {
    fn eq(&self, other: &Self) -> bool {
        self.more == other.more && self.scopes().eq(other.scopes())
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
        let roles = roles.collect();
        More {
            roles,
            ..More::default()
        }
        .into_grants(scopes)
    }

    /// Grants from scopes already joined by spaces, and roles.
    pub(crate) fn from_parts(scopes: String, roles: Vec<String>) -> Grants {
        let more = More {
            roles,
            ..More::default()
        };
        more.into_grants(scope_list(&scopes))
    }

    /// Grants with these scopes and roles.
    pub fn new<S: Into<String>, R: Into<String>>(
        scopes: impl IntoIterator<Item = S>,
        roles: impl IntoIterator<Item = R>,
    ) -> Grants {
        let scopes: Vec<String> = scopes.into_iter().map(Into::into).collect();
        let more = More {
            roles: roles.into_iter().map(Into::into).collect(),
            ..More::default()
        };
        more.into_grants(scope_list(&joined(scopes.iter().map(String::as_str))))
    }

    /// With how the token's user authenticated: its `acr` and `auth_time`.
    pub(crate) fn authenticated(self, acr: Option<&str>, auth_time: Option<u64>) -> Grants {
        if acr.is_none() && auth_time.is_none() {
            return self;
        }
        let roles = self.more.map(|more| match Arc::try_unwrap(more) {
            Ok(more) => more.roles,
            Err(shared) => shared.roles.clone(),
        });
        let more = More {
            roles: roles.unwrap_or_default(),
            acr: acr.map(Box::from),
            auth_time,
        };
        more.into_grants(self.scopes)
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
        (self.more.iter()).flat_map(|more| more.roles.iter().map(String::as_str))
    }

    /// Whether the token grants this scope (compared exactly, case-sensitively).
    pub fn has_scope(&self, scope: &str) -> bool {
        !scope.is_empty() && self.written_scopes().any(|s| s == scope)
    }

    /// Whether the token carries this role (compared exactly).
    pub fn has_role(&self, role: &str) -> bool {
        self.roles().any(|r| r == role)
    }

    /// The authentication context class the user authenticated with (`acr`), if the
    /// token says.
    pub fn acr(&self) -> Option<&str> {
        self.more.as_ref()?.acr.as_deref()
    }

    /// When the user authenticated (`auth_time`, seconds since the epoch), if the token
    /// says.
    pub fn auth_time(&self) -> Option<u64> {
        self.more.as_ref()?.auth_time
    }

    /// Whether the token grants nothing at all and says nothing of its authentication (the
    /// layer then inserts nothing).
    pub(crate) fn is_empty(&self) -> bool {
        self.scopes.is_none() && self.more.is_none()
    }
}

/// Scopes joined by spaces, kept unless there is none.
fn scope_list(scopes: &str) -> Option<Arc<str>> {
    (!scopes.split(' ').all(str::is_empty)).then(|| Arc::from(scopes))
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
    fn how_the_user_authenticated_goes_beside_the_roles() {
        let roles: &[Cow<'_, str>] = &["admin".into()];
        let g = Grants::from_claims(Some("read"), None, Some(roles))
            .authenticated(Some("gold"), Some(7));
        assert!(g.has_role("admin") && g.has_scope("read"));
        assert_eq!((g.acr(), g.auth_time()), (Some("gold"), Some(7)));
        let plain = Grants::from_claims(Some("read"), None, Some(roles));
        assert_ne!(g, plain);
        assert_eq!(plain.clone().authenticated(None, None), plain);
        assert_eq!((plain.acr(), plain.auth_time()), (None, None));
        assert!(!Grants::default().authenticated(None, Some(1)).is_empty());
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
