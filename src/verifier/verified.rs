//! [`Verified`]: the proof that a token passed every check, and what the verifier learnt
//! of it.

use std::sync::Arc;

use super::grants::Grants;
use super::revocation::TokenId;
use super::rules::Lifetime;
use crate::AuthError;

/// A verified token: its claims, typed as your `C`, and what the verifier learnt of it.
///
/// Only the verifier makes one: holding a `Verified<C>` proves that the token behind it
/// passed every check. Outside the verifier, none can be built:
///
/// ```compile_fail,E0451
/// let forged = tower_jwt_auth::Verified {
///     claims: "admin",
///     grants: tower_jwt_auth::claims::Grants::default(),
///     id: None,
///     lifetime: unreachable!(),
///     binding: unreachable!(),
/// };
/// ```
#[derive(Debug, Clone)]
pub struct Verified<C> {
    // `pub(super)`: made by the verifier and its modules, nowhere else.
    pub(super) claims: C,
    pub(super) grants: Grants,
    pub(super) id: Option<Arc<TokenId>>,
    pub(super) lifetime: Lifetime,
    pub(super) binding: Binding,
    /// The trusted issuer whose policy it passed, when it came from one.
    pub(super) issuer: Option<Arc<String>>,
}

/// The key a token is bound to (`cnf`, RFC 7800), if it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Binding {
    /// No `cnf`: a bearer token.
    Bearer,
    /// Bound to a DPoP key, by its RFC 7638 thumbprint (`cnf.jkt`, RFC 9449 §6.1).
    Dpop(Box<str>),
    /// Bound to a client certificate, by the base64url SHA-256 of its DER
    /// (`cnf.x5t#S256`, RFC 8705 §3.1).
    Certificate(Box<str>),
    /// Bound by a method this crate cannot check, or by two at once: never accepted.
    Other,
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

    /// The RFC 7638 thumbprint of the DPoP key the token is bound to (`cnf.jkt`), if any.
    pub fn dpop_thumbprint(&self) -> Option<&str> {
        match &self.binding {
            Binding::Dpop(jkt) => Some(jkt),
            _ => None,
        }
    }

    /// The thumbprint of the client certificate the token is bound to (`cnf.x5t#S256`, RFC
    /// 8705 §3.1), if it is. The layer accepts such a token only from a connection that
    /// presented that certificate (see [`mtls`](crate::mtls)).
    pub fn certificate_thumbprint(&self) -> Option<&str> {
        match &self.binding {
            Binding::Certificate(x5t) => Some(x5t),
            _ => None,
        }
    }

    /// The [trusted issuer](crate::tenant::IssuerPolicy) whose keys and policy the token
    /// passed (its first name), or `None` when it passed the layer's own. Also in the
    /// request's extensions as a [`TrustedIssuer`](crate::tenant::TrustedIssuer).
    pub fn trusted_issuer(&self) -> Option<&str> {
        self.issuer.as_deref().map(String::as_str)
    }

    /// The trusted issuer, shared.
    pub(crate) fn take_issuer(&mut self) -> Option<Arc<String>> {
        self.issuer.take()
    }

    /// How the token is bound to a key.
    pub(crate) fn binding(&self) -> &Binding {
        &self.binding
    }

    /// Refuses a bound token presented as a plain bearer token where nothing proves the key
    /// (RFC 9449 §7.1): outside a request, whose connection could prove a certificate.
    pub(crate) fn as_bearer(&self) -> Result<(), AuthError> {
        match self.binding {
            Binding::Bearer => Ok(()),
            _ => Err(AuthError::BoundTokenAsBearer),
        }
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
