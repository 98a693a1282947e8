//! What one issuer's tokens are held to, once verified by that issuer's keys.

use std::sync::Arc;

use super::mapping::Mapping;
use super::rules::Validation;

/// The claim rules and grant mapping of one issuer (or of the layer's own keys).
#[derive(Debug, Clone)]
pub(crate) struct Policy {
    pub(crate) rules: Validation,
    /// Where grants come from, when not the standard `scope`, `scp` and `roles`.
    pub(crate) mapping: Option<Mapping>,
    /// The issuer a token verified under this policy is reported as coming from
    /// ([`TrustedIssuer`](crate::tenant::TrustedIssuer)); `None` for the layer's own.
    pub(crate) name: Option<Arc<String>>,
}
