//! What a [`Require`](super::Require) layer checks: the policy, and its verdict on a
//! request's claims and grants.

use std::fmt;
use std::sync::Arc;

use http::HeaderValue;

use crate::claims::Grants;
use crate::response::Rejections;
use crate::verifier::revocation::BoxFuture;

/// A predicate over the claims.
pub(crate) enum Check<C> {
    Sync(Arc<dyn Fn(&C) -> bool + Send + Sync>),
    Async(AsyncPredicate<C>),
}

type AsyncPredicate<C> = Arc<dyn Fn(&C) -> BoxFuture<'static, bool> + Send + Sync>;

impl<C> Clone for Check<C> {
    fn clone(&self) -> Self {
        match self {
            Check::Sync(f) => Check::Sync(Arc::clone(f)),
            Check::Async(f) => Check::Async(Arc::clone(f)),
        }
    }
}

/// The checked requirements, shared by every service of a layer.
pub(crate) struct Policy<C> {
    pub(crate) scopes: Vec<String>,
    pub(crate) roles: Vec<String>,
    pub(crate) any_roles: Vec<Vec<String>>,
    pub(crate) checks: Vec<Check<C>>,
    pub(crate) rejections: Rejections,
    /// The `insufficient_scope` challenge, naming the required scopes.
    pub(crate) forbidden: HeaderValue,
}

/// What the policy decided without waiting.
pub(crate) enum Verdict {
    Allowed,
    Denied,
    /// Async predicates must all hold.
    Ask(Vec<BoxFuture<'static, bool>>),
}

impl<C> Policy<C> {
    pub(crate) fn decide(&self, claims: &C, grants: &Grants) -> Verdict {
        let granted = self.scopes.iter().all(|s| grants.has_scope(s))
            && self.roles.iter().all(|r| grants.has_role(r))
            && self
                .any_roles
                .iter()
                .all(|set| set.iter().any(|r| grants.has_role(r)));
        if !granted {
            return Verdict::Denied;
        }
        let mut pending = Vec::new();
        for check in &self.checks {
            match check {
                Check::Sync(f) if !f(claims) => return Verdict::Denied,
                Check::Sync(_) => {}
                Check::Async(f) => pending.push(f(claims)),
            }
        }
        if pending.is_empty() {
            Verdict::Allowed
        } else {
            Verdict::Ask(pending)
        }
    }
}

impl<C> fmt::Debug for Policy<C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Policy")
            .field("scopes", &self.scopes)
            .field("roles", &self.roles)
            .field("any_roles", &self.any_roles)
            .field("predicates", &self.checks.len())
            .finish()
    }
}
