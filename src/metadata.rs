//! OAuth 2.0 Protected Resource Metadata (RFC 9728): [`ResourceMetadata`], the document a
//! client reads to learn which authorization servers issue tokens for this resource, and
//! [`MetadataService`], which serves it at its well-known URL.
//!
//! Given to [`JwtAuthBuilder::resource_metadata`](crate::JwtAuthBuilder::resource_metadata),
//! it also makes every challenge point to the document (`resource_metadata="…"`, RFC 9728
//! §5.1) and the audience default to the resource identifier. The Model Context Protocol's
//! authorization spec asks an MCP server for all three.
//!
//! # An MCP server
//!
//! An MCP server must tell a client that meets a `401` where to get a token (the MCP
//! authorization spec, after RFC 9728): it publishes *protected resource metadata* and points
//! to it from every challenge, and it takes only the tokens issued for itself (RFC 8707). One
//! builder call does the three:
//!
//! ```
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! use tower_jwt_auth::metadata::{BearerMethod, ResourceMetadata};
//! use tower_jwt_auth::{Algorithm, JwtAuthLayer, RegisteredClaims};
//!
//! let metadata = ResourceMetadata::new("https://mcp.example.com/mcp")   // the resource identifier
//!     .authorization_server("https://auth.example.com")                 // who issues tokens for it
//!     .scopes_supported(["tools:call"])
//!     .bearer_methods_supported([BearerMethod::Header]);
//! let auth = JwtAuthLayer::<RegisteredClaims>::builder()
//!     .hmac_secret(b"at least thirty-two bytes of secret!", Algorithm::HS256)
//!     .resource_metadata(metadata.clone())    // challenges name it; `aud` must be the resource
//!     .build()?;
//! let app: axum::Router = axum::Router::new()
//!     .route("/mcp", axum::routing::post(|| async { "an MCP service here" }))
//!     .layer(auth)
//!     // Public: /.well-known/oauth-protected-resource/mcp (RFC 9728 §3.1).
//!     .route_service(&metadata.well_known_path(), metadata.service()?);
//! # Ok(())
//! # }
//! ```
//!
//! A request without a token then gets
//! `WWW-Authenticate: Bearer realm="api", resource_metadata="https://mcp.example.com/.well-known/oauth-protected-resource/mcp"`,
//! and a `403 insufficient_scope` from `Require` or `Authorized` carries it too. The audience
//! defaults to the resource identifier unless `audience(..)` says otherwise. The layer does no
//! routing of its own: the document is a small service you mount where you like.
//!
//! `cargo run --example mcp` runs an MCP server built with the official SDK (`rmcp`, streamable
//! HTTP) behind the layer, with a `Require` on the `tools:call` scope, and a demo authorization
//! server on the same port; it prints the curl steps of the whole flow. `tests/mcp.rs` drives it
//! with `rmcp`'s client: `401` → metadata → authorization server metadata → token → list and
//! call the tool.

use std::convert::Infallible;
use std::fmt;
use std::future::{Ready, ready};
use std::sync::Arc;
use std::task::{Context, Poll};

use http::header::{
    ACCESS_CONTROL_ALLOW_METHODS, ACCESS_CONTROL_ALLOW_ORIGIN, ALLOW, CACHE_CONTROL, CONTENT_TYPE,
};
use http::{HeaderValue, Method, Request, Response, StatusCode, Uri};
use serde::Serialize;
use tower_service::Service;

use crate::response::is_scope_token;
use crate::url::http_url;
use crate::{Algorithm, ConfigError};

/// The path RFC 9728 §3 registers, before the resource's own path.
const WELL_KNOWN: &str = "/.well-known/oauth-protected-resource";

/// How a client may send a token to the resource (RFC 9728 §2 `bearer_methods_supported`,
/// the methods of RFC 6750 §2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum BearerMethod {
    /// The `Authorization` request header (RFC 6750 §2.1).
    Header,
    /// A form-encoded body parameter (RFC 6750 §2.2).
    Body,
    /// A URI query parameter (RFC 6750 §2.3).
    Query,
}

/// The protected resource metadata of RFC 9728 §2, and where it is published.
///
/// ```
/// use tower_jwt_auth::metadata::{BearerMethod, ResourceMetadata};
///
/// let metadata = ResourceMetadata::new("https://mcp.example.com/mcp")
///     .authorization_server("https://auth.example.com")
///     .scopes_supported(["tools:read", "tools:call"])
///     .bearer_methods_supported([BearerMethod::Header])
///     .resource_name("Example MCP server");
/// assert_eq!(metadata.well_known_path(), "/.well-known/oauth-protected-resource/mcp");
/// assert_eq!(
///     metadata.url(),
///     "https://mcp.example.com/.well-known/oauth-protected-resource/mcp"
/// );
/// ```
#[derive(Debug, Clone, Serialize)]
pub struct ResourceMetadata {
    resource: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    authorization_servers: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    jwks_uri: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    scopes_supported: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    bearer_methods_supported: Vec<BearerMethod>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    resource_signing_alg_values_supported: Vec<Algorithm>,
    #[serde(skip_serializing_if = "Option::is_none")]
    resource_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    resource_documentation: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    resource_policy_uri: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    resource_tos_uri: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    dpop_signing_alg_values_supported: Vec<Algorithm>,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    dpop_bound_access_tokens_required: bool,
}

impl ResourceMetadata {
    /// The metadata of the resource identified by `resource`: an `https` URL without query
    /// or fragment (`http` on loopback, for development), the URL clients use for the
    /// resource and name as the RFC 8707 `resource` when they ask for a token. Checked by
    /// the layer's `build()` (or by [`service`](Self::service)).
    pub fn new(resource: impl Into<String>) -> Self {
        ResourceMetadata {
            resource: resource.into(),
            authorization_servers: Vec::new(),
            jwks_uri: None,
            scopes_supported: Vec::new(),
            bearer_methods_supported: Vec::new(),
            resource_signing_alg_values_supported: Vec::new(),
            resource_name: None,
            resource_documentation: None,
            resource_policy_uri: None,
            resource_tos_uri: None,
            dpop_signing_alg_values_supported: Vec::new(),
            dpop_bound_access_tokens_required: false,
        }
    }

    /// Adds an authorization server (its issuer identifier, RFC 8414) that issues tokens
    /// for this resource.
    pub fn authorization_server(mut self, issuer: impl Into<String>) -> Self {
        self.authorization_servers.push(issuer.into());
        self
    }

    /// The URL of the resource's own JWK Set, for clients that check resource-signed
    /// responses (`jwks_uri`).
    pub fn jwks_uri(mut self, url: impl Into<String>) -> Self {
        self.jwks_uri = Some(url.into());
        self
    }

    /// The scopes a client may ask for to reach this resource.
    pub fn scopes_supported<I: Into<String>>(
        mut self,
        scopes: impl IntoIterator<Item = I>,
    ) -> Self {
        self.scopes_supported = scopes.into_iter().map(Into::into).collect();
        self
    }

    /// How tokens may be sent (RFC 6750 §2).
    pub fn bearer_methods_supported(
        mut self,
        methods: impl IntoIterator<Item = BearerMethod>,
    ) -> Self {
        self.bearer_methods_supported = methods.into_iter().collect();
        self
    }

    /// The algorithms the resource signs its responses with
    /// (`resource_signing_alg_values_supported`); never `none`.
    pub fn resource_signing_algs(
        mut self,
        algorithms: impl IntoIterator<Item = Algorithm>,
    ) -> Self {
        self.resource_signing_alg_values_supported = algorithms.into_iter().collect();
        self
    }

    /// A name for people (`resource_name`).
    pub fn resource_name(mut self, name: impl Into<String>) -> Self {
        self.resource_name = Some(name.into());
        self
    }

    /// A page with the developer documentation (`resource_documentation`).
    pub fn resource_documentation(mut self, url: impl Into<String>) -> Self {
        self.resource_documentation = Some(url.into());
        self
    }

    /// The page on how client data is used (`resource_policy_uri`).
    pub fn resource_policy_uri(mut self, url: impl Into<String>) -> Self {
        self.resource_policy_uri = Some(url.into());
        self
    }

    /// The terms of service (`resource_tos_uri`).
    pub fn resource_tos_uri(mut self, url: impl Into<String>) -> Self {
        self.resource_tos_uri = Some(url.into());
        self
    }

    /// The algorithms DPoP proofs may use (`dpop_signing_alg_values_supported`, RFC 9728
    /// §2): the layer's [`DpopOptions::algorithms`](crate::dpop::DpopOptions::algorithms).
    pub fn dpop_signing_algs(mut self, algorithms: impl IntoIterator<Item = Algorithm>) -> Self {
        self.dpop_signing_alg_values_supported = algorithms.into_iter().collect();
        self
    }

    /// Says that every token must be DPoP-bound (`dpop_bound_access_tokens_required`): a
    /// layer with `dpop(..)` and without `allow_bearer`.
    pub fn dpop_bound_access_tokens_required(mut self, required: bool) -> Self {
        self.dpop_bound_access_tokens_required = required;
        self
    }

    /// The resource identifier.
    pub fn resource(&self) -> &str {
        &self.resource
    }

    /// The path to serve the document at, on the resource's host: RFC 9728 §3.1 puts the
    /// well-known prefix between the host and the resource's path, so a resource at
    /// `https://host/mcp` publishes at `/.well-known/oauth-protected-resource/mcp`, one at
    /// `https://host` (or `https://host/`) at `/.well-known/oauth-protected-resource`.
    pub fn well_known_path(&self) -> String {
        let path = self
            .resource
            .parse::<Uri>()
            .ok()
            .map(|uri| uri.path().trim_end_matches('/').to_owned())
            .unwrap_or_default();
        format!("{WELL_KNOWN}{path}")
    }

    /// The document's absolute URL, as the challenges name it.
    pub fn url(&self) -> String {
        match self.resource.parse::<Uri>() {
            Ok(uri) => match (uri.scheme_str(), uri.authority()) {
                (Some(scheme), Some(authority)) => {
                    format!("{scheme}://{authority}{}", self.well_known_path())
                }
                _ => String::new(),
            },
            Err(_) => String::new(),
        }
    }

    /// Checks the document as RFC 9728 §2 and §3.3 ask: each URL absolute and `https`
    /// (`http` on loopback), the resource without query or fragment, scopes valid.
    pub(crate) fn check(&self) -> Result<(), ConfigError> {
        let invalid = |why: String| Err(ConfigError::InvalidResourceMetadata(why));
        let resource = match url(&self.resource) {
            Ok(uri) => uri,
            Err(why) => return invalid(format!("the resource identifier: {why}")),
        };
        // The document's URL goes into every challenge as a quoted-string (RFC 9110
        // §5.6.4), where `"` and `\` would end or escape it.
        if let Some(c) = self.resource.chars().find(|c| matches!(c, '"' | '\\')) {
            return invalid(format!(
                "the resource identifier {:?} holds {c:?}, which cannot be sent in a \
                 challenge's resource_metadata: percent-encode it",
                self.resource
            ));
        }
        if resource.query().is_some() || self.resource.contains('#') {
            return invalid(format!(
                "the resource identifier {:?} has a query or a fragment: identify the \
                 resource by scheme, host and path (RFC 9728 §1.2)",
                self.resource
            ));
        }
        let urls = self
            .authorization_servers
            .iter()
            .chain(&self.jwks_uri)
            .chain(&self.resource_documentation)
            .chain(&self.resource_policy_uri)
            .chain(&self.resource_tos_uri);
        for each in urls {
            if let Err(why) = url(each) {
                return invalid(why);
            }
        }
        if let Some(scope) = self.scopes_supported.iter().find(|s| !is_scope_token(s)) {
            return invalid(format!("{scope:?} is not a scope (RFC 6749 §3.3)"));
        }
        Ok(())
    }

    /// A service that answers `GET` (and `HEAD`) with the document as JSON; mount it at
    /// [`well_known_path`](Self::well_known_path). It is public (no token) and readable from
    /// any origin, as metadata must be for browser-based clients.
    ///
    /// ```
    /// # #[cfg(feature = "axum")] {
    /// use tower_jwt_auth::metadata::ResourceMetadata;
    ///
    /// let metadata = ResourceMetadata::new("https://mcp.example.com/mcp")
    ///     .authorization_server("https://auth.example.com");
    /// let service = metadata.service().unwrap();
    /// // axum: Router::new().route_service(&metadata.well_known_path(), service)
    /// # }
    /// ```
    ///
    /// # Errors
    /// [`ConfigError::InvalidResourceMetadata`] as `build()` would give.
    pub fn service(&self) -> Result<MetadataService, ConfigError> {
        self.check()?;
        let json = serde_json::to_string(self).expect("plain strings and enums serialize");
        Ok(MetadataService {
            json: Arc::from(json),
        })
    }
}

/// An absolute `https` URL, or `http` on loopback.
fn url(value: &str) -> Result<Uri, String> {
    http_url(value, false).map_err(|err| err.to_string())
}

/// Serves a [`ResourceMetadata`] document: see [`ResourceMetadata::service`].
#[derive(Clone)]
pub struct MetadataService {
    json: Arc<str>,
}

impl fmt::Debug for MetadataService {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MetadataService")
            .field("json", &self.json)
            .finish()
    }
}

impl<B> Service<Request<B>> for MetadataService {
    type Response = Response<String>;
    type Error = Infallible;
    type Future = Ready<Result<Response<String>, Infallible>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, req: Request<B>) -> Self::Future {
        const METHODS: HeaderValue = HeaderValue::from_static("GET, HEAD, OPTIONS");
        let mut res = match *req.method() {
            Method::GET => Response::new(self.json.to_string()),
            Method::HEAD => Response::new(String::new()),
            Method::OPTIONS => {
                let mut res = Response::new(String::new());
                *res.status_mut() = StatusCode::NO_CONTENT;
                res.headers_mut()
                    .insert(ACCESS_CONTROL_ALLOW_METHODS, METHODS);
                res
            }
            _ => {
                let mut res = Response::new(String::new());
                *res.status_mut() = StatusCode::METHOD_NOT_ALLOWED;
                res.headers_mut().insert(ALLOW, METHODS);
                return ready(Ok(res));
            }
        };
        let headers = res.headers_mut();
        headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        headers.insert(ACCESS_CONTROL_ALLOW_ORIGIN, HeaderValue::from_static("*"));
        headers.insert(CACHE_CONTROL, HeaderValue::from_static("max-age=3600"));
        ready(Ok(res))
    }
}
