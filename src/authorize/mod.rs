//! Authorization: what a route requires of a verified token, beyond being valid.
//!
//! [`Require`] builds a layer that goes behind [`JwtAuthLayer`](crate::JwtAuthLayer) (in
//! axum, with `route_layer` on the routes it guards) and checks the request's claims: scopes
//! (read from `scope`, space-delimited, and `scp`, a string or an array), roles (`roles`, or
//! where [`roles_from`](crate::JwtAuthBuilder::roles_from) says), and any predicate over your
//! claims type, synchronous or async. A request that falls short gets `403` with
//! `error="insufficient_scope"` and the required `scope` (RFC 6750 §3.1), or gRPC
//! `PERMISSION_DENIED`; one without claims (the layer is optional and no token came) gets the
//! `401` challenge.
//!
//! ```
//! use axum::{Router, routing::{get, post}};
//! use serde::Deserialize;
//! use tower_jwt_auth::{Algorithm, JwtAuthLayer, authorize::Require};
//!
//! #[derive(Clone, Deserialize)]
//! struct User {
//!     sub: String,
//!     suspended: bool,
//! }
//!
//! async fn is_member(sub: String) -> bool {
//!     !sub.is_empty()
//! }
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let auth = JwtAuthLayer::<User>::builder()
//!     .hmac_secret(b"at least thirty-two bytes of secret!", Algorithm::HS256)
//!     .build()?;
//! let write = Require::<User>::scope("notes:write")
//!     .predicate(|user: &User| !user.suspended)
//!     .predicate_async(|user: &User| is_member(user.sub.clone())) // any Future<Output = bool>
//!     .build()?; // a bad scope fails here
//! let app: Router = Router::new()
//!     .route("/notes", post(|| async { "created" }))
//!     .route_layer(write)
//!     .route("/notes/all", get(|| async { "all notes" }))
//!     .layer(auth);
//! # Ok(())
//! # }
//! ```
//!
//! # Step-up authentication (RFC 9470)
//!
//! A route can also require *how* the user authenticated: with one of some authentication
//! context classes (the token's `acr`, [`acr_values`](Require::acr_values)), and how
//! recently (its `auth_time`, [`max_auth_age`](Require::max_auth_age)). A valid token that
//! falls short gets `401` with `error="insufficient_user_authentication"`, naming what would
//! do, so that the client sends its user back to the authorization server with those
//! `acr_values` / `max_age` and returns with a new token (RFC 9470 §3):
//!
//! ```text
//! HTTP/1.1 401 Unauthorized
//! WWW-Authenticate: Bearer realm="api", error="insufficient_user_authentication",
//!   error_description="a stronger or more recent authentication is required",
//!   acr_values="gold", max_age="300"
//! ```
//!
//! gRPC requests get `UNAUTHENTICATED`, with the same challenge in the response's
//! `www-authenticate` metadata. A missing scope or role is answered first (`403`):
//! authenticating again would not grant it.
//!
//! ```
//! use std::time::Duration;
//! use axum::{Router, routing::post};
//! use tower_jwt_auth::{Algorithm, JwtAuthLayer, RegisteredClaims, authorize::Require};
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let auth = JwtAuthLayer::<RegisteredClaims>::builder()
//!     .hmac_secret(b"at least thirty-two bytes of secret!", Algorithm::HS256)
//!     .build()?;
//! // Payments: a second factor ("gold" at this provider), within the last five minutes.
//! let pay = Require::<RegisteredClaims>::scope("payments")
//!     .acr_values(["gold"])
//!     .max_auth_age(Duration::from_secs(300))
//!     .build()?;
//! let app: Router = Router::new()
//!     .route("/payments", post(|| async { "sent" }))
//!     .route_layer(pay)
//!     .layer(auth);
//! # Ok(())
//! # }
//! ```
//!
//! The token's `acr` and `auth_time` are read strictly by the layer (a string and a
//! NumericDate, OpenID Connect Core §2: another type makes the token invalid), and handlers
//! find them in [`Grants::acr`](crate::claims::Grants::acr) and
//! [`Grants::auth_time`](crate::claims::Grants::auth_time). With the `axum` feature,
//! a [`Permission`](crate::axum::Permission) says the same with `ACR_VALUES` and
//! `MAX_AUTH_AGE`.
//!
//! # In tonic, and in handlers
//!
//! In tonic, wrap a service the same way (`ServiceBuilder::new().layer(auth).layer(require)`).
//! With the `axum` feature, the check can sit in a handler's signature instead:
//! [`Authorized`](crate::Authorized) with a [`Permission`](crate::axum::Permission). The layer
//! also puts the token's [`Grants`](crate::claims::Grants) (scopes and roles) in the request's
//! extensions, for handlers that decide themselves.

mod policy;
mod service;

use std::fmt;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

pub(crate) use self::policy::authenticated_enough;
use self::policy::{Check, Policy, StepUp};
pub use self::service::{RequireFuture, RequireService};
use crate::ConfigError;
use crate::response::{DefaultErrorResponse, Rejections, is_scope_token};
use crate::verifier::revocation::BoxFuture;

/// What a route requires of the request's claims; [`build`](Self::build) makes it a layer.
///
/// Every requirement must hold: all the scopes, all the roles, at least one of each
/// [`any_role`](Self::any_role) set, and every predicate. Scopes are read from the token's
/// `scope` / `scp` claims and roles from `roles` ([`Grants`](crate::claims::Grants)), so `C` needs no field for them.
#[must_use = "call .build() to get the layer"]
pub struct Require<C, R = DefaultErrorResponse> {
    scopes: Vec<String>,
    roles: Vec<String>,
    any_roles: Vec<Vec<String>>,
    checks: Vec<Check<C>>,
    acr_values: Option<Vec<String>>,
    max_auth_age: Option<Duration>,
    realm: String,
    error_response: R,
}

impl<C, R> fmt::Debug for Require<C, R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Require")
            .field("scopes", &self.scopes)
            .field("roles", &self.roles)
            .field("any_roles", &self.any_roles)
            .field("predicates", &self.checks.len())
            .field("acr_values", &self.acr_values)
            .field("max_auth_age", &self.max_auth_age)
            .field("realm", &self.realm)
            .finish_non_exhaustive()
    }
}

impl<C> Require<C> {
    /// No requirement yet: only that the request carries claims.
    pub fn authenticated() -> Self {
        Require {
            scopes: Vec::new(),
            roles: Vec::new(),
            any_roles: Vec::new(),
            checks: Vec::new(),
            acr_values: None,
            max_auth_age: None,
            realm: "api".to_owned(),
            error_response: DefaultErrorResponse,
        }
    }

    /// Requires this scope.
    pub fn scope(scope: impl Into<String>) -> Self {
        Require::authenticated().and_scope(scope)
    }

    /// Requires every one of these scopes.
    pub fn scopes<I: Into<String>>(scopes: impl IntoIterator<Item = I>) -> Self {
        scopes
            .into_iter()
            .fold(Require::authenticated(), Require::and_scope)
    }

    /// Requires this role.
    pub fn role(role: impl Into<String>) -> Self {
        Require::authenticated().and_role(role)
    }
}

impl<C, R> Require<C, R> {
    /// Also requires this scope.
    pub fn and_scope(mut self, scope: impl Into<String>) -> Self {
        self.scopes.push(scope.into());
        self
    }

    /// Also requires this role.
    pub fn and_role(mut self, role: impl Into<String>) -> Self {
        self.roles.push(role.into());
        self
    }

    /// Also requires at least one of these roles.
    pub fn any_role<I: Into<String>>(mut self, roles: impl IntoIterator<Item = I>) -> Self {
        self.any_roles
            .push(roles.into_iter().map(Into::into).collect());
        self
    }

    /// Also requires `predicate` to hold for the claims.
    pub fn predicate(mut self, predicate: impl Fn(&C) -> bool + Send + Sync + 'static) -> Self {
        self.checks.push(Check::Sync(Arc::new(predicate)));
        self
    }

    /// Also requires an async predicate to hold (a lookup of the subject's permissions,
    /// say). The request waits for it; the inner service is only called if it holds.
    pub fn predicate_async<F>(mut self, predicate: impl Fn(&C) -> F + Send + Sync + 'static) -> Self
    where
        F: Future<Output = bool> + Send + 'static,
    {
        self.checks.push(Check::Async(Arc::new(move |claims: &C| {
            Box::pin(predicate(claims)) as BoxFuture<'static, bool>
        })));
        self
    }

    /// Also requires the user to have authenticated with one of these authentication
    /// context classes: the token's `acr` must be one of them (compared exactly). A token
    /// without `acr`, or with another, gets `401` with
    /// `error="insufficient_user_authentication"` and `acr_values` naming these, in this
    /// order (RFC 9470 §3: the client has its user authenticate again and comes back with
    /// a new token).
    pub fn acr_values<I: Into<String>>(mut self, values: impl IntoIterator<Item = I>) -> Self {
        self.acr_values = Some(values.into_iter().map(Into::into).collect());
        self
    }

    /// Also requires the user to have authenticated at most `max_age` ago (whole seconds):
    /// the token's `auth_time` must be that recent. A token without `auth_time`, or with an
    /// older one, gets `401` with `error="insufficient_user_authentication"` and `max_age`
    /// (RFC 9470 §3). No leeway applies: a clock a second ahead makes a user authenticate
    /// a second early, never late.
    pub fn max_auth_age(mut self, max_age: Duration) -> Self {
        self.max_auth_age = Some(max_age);
        self
    }

    /// The realm named in `WWW-Authenticate` (default `"api"`): use the layer's.
    pub fn realm(mut self, realm: impl Into<String>) -> Self {
        self.realm = realm.into();
        self
    }

    /// Replaces the body of HTTP rejections, as
    /// [`JwtAuthBuilder::error_response`](crate::JwtAuthBuilder::error_response) does.
    pub fn error_response<R2>(self, error_response: R2) -> Require<C, R2> {
        Require {
            scopes: self.scopes,
            roles: self.roles,
            any_roles: self.any_roles,
            checks: self.checks,
            acr_values: self.acr_values,
            max_auth_age: self.max_auth_age,
            realm: self.realm,
            error_response,
        }
    }

    /// Checks the requirements and builds the layer.
    ///
    /// # Errors
    /// [`ConfigError::InvalidScope`] for a scope that is empty or has characters a scope
    /// cannot have (RFC 6749 §3.3), [`ConfigError::InvalidRealm`], an empty `any_role`,
    /// [`ConfigError::InvalidAcrValue`] for an `acr` value that cannot be named in
    /// `acr_values`, or an empty `acr_values`.
    pub fn build(self) -> Result<RequireLayer<C, R>, ConfigError> {
        if let Some(bad) = self.scopes.iter().find(|s| !is_scope_token(s)) {
            return Err(ConfigError::InvalidScope(bad.clone()));
        }
        if self.any_roles.iter().any(Vec::is_empty) {
            return Err(ConfigError::EmptyClaimValue("any_role set"));
        }
        if !crate::response::is_quotable(&self.realm) {
            return Err(ConfigError::InvalidRealm);
        }
        let rejections = Rejections::new(&self.realm, None, None);
        let forbidden = rejections.scope_challenge(&self.scopes);
        let step_up = step_up(self.acr_values, self.max_auth_age, &rejections)?;
        let policy = Policy {
            scopes: self.scopes,
            roles: self.roles,
            any_roles: self.any_roles,
            checks: self.checks,
            rejections,
            forbidden,
            step_up,
        };
        Ok(RequireLayer {
            policy: Arc::new(policy),
            error_response: self.error_response,
        })
    }
}

/// The step-up requirement, if any, checked.
fn step_up(
    acr_values: Option<Vec<String>>,
    max_age: Option<Duration>,
    rejections: &Rejections,
) -> Result<Option<StepUp>, ConfigError> {
    if acr_values.is_none() && max_age.is_none() {
        return Ok(None);
    }
    let acr_values = acr_values.unwrap_or_default();
    if let Some(bad) = acr_values.iter().find(|acr| !is_scope_token(acr)) {
        return Err(ConfigError::InvalidAcrValue(bad.clone()));
    }
    if max_age.is_none() && acr_values.is_empty() {
        return Err(ConfigError::EmptyClaimValue("acr_values list"));
    }
    let max_age = max_age.map(|age| age.as_secs());
    Ok(Some(StepUp {
        challenge: rejections.step_up_challenge(&acr_values, max_age),
        acr_values,
        max_age,
    }))
}

/// The layer [`Require::build`] makes; its service is [`RequireService`].
pub struct RequireLayer<C, R = DefaultErrorResponse> {
    policy: Arc<Policy<C>>,
    error_response: R,
}

impl<C, R: Clone> Clone for RequireLayer<C, R> {
    fn clone(&self) -> Self {
        RequireLayer {
            policy: Arc::clone(&self.policy),
            error_response: self.error_response.clone(),
        }
    }
}

impl<S, C, R: Clone> tower_layer::Layer<S> for RequireLayer<C, R> {
    type Service = RequireService<S, C, R>;

    fn layer(&self, inner: S) -> Self::Service {
        RequireService::new(inner, Arc::clone(&self.policy), self.error_response.clone())
    }
}

impl<C, R> fmt::Debug for RequireLayer<C, R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RequireLayer")
            .field("policy", &*self.policy)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::policy::Verdict;
    use super::*;
    use crate::claims::Grants;

    #[test]
    fn scopes_must_be_scope_tokens() {
        for bad in ["", "a b", "quo\"te", "back\\slash", "é"] {
            assert_eq!(
                Require::<()>::scope(bad).build().err(),
                Some(ConfigError::InvalidScope(bad.to_owned()))
            );
        }
        assert!(
            Require::<()>::scopes(["notes:write", "https://x/y!"])
                .build()
                .is_ok()
        );
        assert!(
            Require::<()>::authenticated()
                .any_role(Vec::<String>::new())
                .build()
                .is_err()
        );
    }

    #[test]
    fn every_requirement_must_hold() {
        let policy = |r: Require<u32>| r.build().unwrap().policy;
        let grants = Grants::new(["read", "write"], ["editor"]);
        let allowed =
            |p: &Policy<u32>, claims| matches!(p.decide(&claims, &grants, || 0), Verdict::Allowed);
        assert!(allowed(&policy(Require::scopes(["read", "write"])), 1));
        assert!(!allowed(&policy(Require::scopes(["read", "admin"])), 1));
        assert!(allowed(&policy(Require::role("editor")), 1));
        assert!(!allowed(
            &policy(Require::role("editor").and_role("admin")),
            1
        ));
        assert!(allowed(
            &policy(Require::authenticated().any_role(["admin", "editor"])),
            1
        ));
        let even = policy(Require::scope("read").predicate(|n: &u32| n.is_multiple_of(2)));
        assert!(allowed(&even, 2));
        assert!(!allowed(&even, 3));
        assert!(!matches!(
            policy(Require::scope("read")).decide(&1, &Grants::default(), || 0),
            Verdict::Allowed
        ));
    }

    #[test]
    fn the_challenge_names_the_required_scopes() {
        let layer = Require::<()>::scopes(["notes:read", "notes:write"])
            .realm("notes")
            .build()
            .unwrap();
        assert_eq!(
            layer.policy.forbidden,
            "Bearer realm=\"notes\", error=\"insufficient_scope\", \
             error_description=\"the token does not grant access to this resource\", \
             scope=\"notes:read notes:write\""
        );
    }
}
