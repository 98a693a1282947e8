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
    pub(crate) step_up: Option<StepUp>,
}

/// How, and how recently, the user must have authenticated (RFC 9470).
pub(crate) struct StepUp {
    /// The acceptable `acr` values, any of them; empty: any `acr`, or none.
    pub(crate) acr_values: Vec<String>,
    /// The longest time since `auth_time`, in seconds.
    pub(crate) max_age: Option<u64>,
    /// The `insufficient_user_authentication` challenge, naming both.
    pub(crate) challenge: HeaderValue,
}

/// Whether the token's user authenticated as required: with one of `acr_values` (when
/// any is given), and at most `max_age` seconds before `now` (when given). Without the
/// claim a requirement asks about, it does not hold. No leeway: `auth_time` is a fact about
/// the past, and a second's difference between clocks only makes a user step up early.
pub(crate) fn authenticated_enough<S: AsRef<str>>(
    acr_values: &[S],
    max_age: Option<u64>,
    grants: &Grants,
    now: u64,
) -> bool {
    let acr = acr_values.is_empty()
        || (grants.acr()).is_some_and(|acr| acr_values.iter().any(|v| v.as_ref() == acr));
    let recent = max_age.is_none_or(|max_age| {
        (grants.auth_time()).is_some_and(|at| now.saturating_sub(at) <= max_age)
    });
    acr && recent
}

/// What the policy decided without waiting.
pub(crate) enum Verdict {
    Allowed,
    /// `403`: the token does not grant what the route requires.
    Denied,
    /// `401`: the user must authenticate again, more strongly or more recently.
    StepUp,
    /// Async predicates must all hold.
    Ask(Vec<BoxFuture<'static, bool>>),
}

impl<C> Policy<C> {
    /// The verdict; `now` is read only by a step-up requirement.
    pub(crate) fn decide(&self, claims: &C, grants: &Grants, now: impl FnOnce() -> u64) -> Verdict {
        let granted = self.scopes.iter().all(|s| grants.has_scope(s))
            && self.roles.iter().all(|r| grants.has_role(r))
            && self
                .any_roles
                .iter()
                .all(|set| set.iter().any(|r| grants.has_role(r)));
        // What the token grants first: authenticating again would not change it.
        if !granted {
            return Verdict::Denied;
        }
        if let Some(step_up) = &self.step_up
            && !authenticated_enough(&step_up.acr_values, step_up.max_age, grants, now())
        {
            return Verdict::StepUp;
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
            .field("acr_values", &self.step_up.as_ref().map(|s| &s.acr_values))
            .field("max_auth_age", &self.step_up.as_ref().map(|s| s.max_age))
            .finish()
    }
}
