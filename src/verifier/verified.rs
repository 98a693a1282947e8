//! [`Verified`]: the proof that a token passed every check, and what the verifier learnt
//! of it.

use std::sync::Arc;

use super::grants::Grants;
use super::revocation::TokenId;
use super::rules::Lifetime;

/// A verified token: its claims, typed as your `C`, and what the verifier learnt of it.
///
/// Only the verifier makes one: holding a `Verified<C>` proves that the token behind it
/// passed every check. Outside the verifier, none can be built:
///
/// ```compile_fail,E0451
/// let forged = tower_jwt_auth::Verified {
///     claims: "admin",
///     grants: tower_jwt_auth::Grants::default(),
///     id: None,
///     lifetime: unreachable!(),
/// };
/// ```
#[derive(Debug, Clone)]
pub struct Verified<C> {
    // `pub(super)`: made by the verifier and its modules, nowhere else.
    pub(super) claims: C,
    pub(super) grants: Grants,
    pub(super) id: Option<Arc<TokenId>>,
    pub(super) lifetime: Lifetime,
}

impl<C> Verified<C> {
    /// The claims.
    pub fn claims(&self) -> &C {
        &self.claims
    }

    /// The claims, without the rest.
    pub fn into_claims(self) -> C {
        self.claims
    }

    /// The claims and the grants.
    pub fn into_parts(self) -> (C, Grants) {
        (self.claims, self.grants)
    }

    /// The scopes and roles the token carries.
    pub fn grants(&self) -> &Grants {
        &self.grants
    }

    /// What identifies the token for revocation (`jti`, `sid`, `sub`, `iat`). Kept when the
    /// verifier checks revocation; `None` otherwise, so that verifications that do not need
    /// it do not pay for it.
    pub fn token_id(&self) -> Option<&TokenId> {
        self.id.as_deref()
    }

    /// `exp`, in seconds since the epoch.
    pub fn expires_at(&self) -> Option<u64> {
        self.lifetime.exp()
    }

    /// `nbf`, in seconds since the epoch.
    pub fn not_before(&self) -> Option<u64> {
        self.lifetime.nbf()
    }

    /// `iat`, in seconds since the epoch.
    pub fn issued_at(&self) -> Option<u64> {
        self.lifetime.iat()
    }
}

/// Which key set verified a token: the store it came from and that snapshot's id.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct KeyStamp {
    pub(crate) store: usize,
    pub(crate) set: u64,
}
