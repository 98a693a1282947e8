//! Rejections: what a refused request is answered, and how to answer in your own format.
//!
//! # The answers
//!
//! The status and the challenge follow RFC 6750 §3; the error codes are [`ErrorCode`], the
//! causes [`AuthError`] (each with its status, code and gRPC code):
//!
//! | situation | answer |
//! |---|---|
//! | no token | `401`, `WWW-Authenticate: Bearer realm="api"` |
//! | bad, expired or unverifiable token | `401`, `… error="invalid_token", error_description="…"` |
//! | malformed `Authorization`, the header twice, a token in two places | `400`, `… error="invalid_request"` |
//! | revoked token | `401`, `… error="invalid_token", error_description="the token has been revoked"` |
//! | a token the authorization server says is not active ([introspection](crate::introspection)) | `401`, `… error="invalid_token", error_description="the token is not active"` |
//! | remote keys not fetched yet (feature `jwks`), revocation store or introspection endpoint unreachable | `503`, `Retry-After: 1`, no challenge |
//! | valid token, not enough scope, role or predicate (`Require`, `Authorized`) | `403`, `… error="insufficient_scope", …, scope="…"` |
//! | valid token, but the user must authenticate again: another `acr`, or a more recent `auth_time` ([step-up](crate::authorize#step-up-authentication-rfc-9470)) | `401`, `… error="insufficient_user_authentication", …, acr_values="…", max_age="…"` (RFC 9470 §3) |
//! | any of these on a gRPC request (HTTP/2 `POST`, `application/grpc…`) | HTTP `200`, `grpc-status: 16` (`14` for a `503`, `7` for a `403`), `grpc-message`; a step-up's challenge also in `www-authenticate` |
//! | every rejection | `Cache-Control: no-store`: no cache keeps an answer to one request's credentials |
//!
//! `error_description` is a fixed text per cause
//! ([`AuthError::description`]); it never contains the token
//! or key material. DPoP requests are challenged with the `DPoP` scheme instead (see
//! [`dpop`](crate::dpop)); a layer with [RFC 9728 metadata](crate::metadata) adds
//! `resource_metadata="…"` to every challenge. Each rejection is logged at `debug` with a
//! stable label ([`AuthError::reason`]), never with the token.
//!
//! # Answering in your own format: which to reach for
//!
//! 1. **A different body** (JSON errors, say): give
//!    [`error_response`](crate::JwtAuthBuilder::error_response) a closure
//!    `Fn(AuthError) -> Response` — any [`ErrorResponse`]. The layer still sets the status,
//!    the `WWW-Authenticate` challenge and `Cache-Control` on what it returns, so a custom body
//!    never loses them. [`Require`](crate::authorize::Require) takes the same.
//! 2. **A body that depends on the request** (HTML with a login link for a browser, JSON for
//!    an API client): wrap a closure that also takes the request's head in [`with_request`].
//! 3. **The handler decides** (a page that serves anonymous visitors differently, a gateway
//!    that forwards the refusal): [`pass_rejections(true)`](crate::JwtAuthBuilder::pass_rejections)
//!    lets every refused request through, without claims, carrying an [`Unauthenticated`] that
//!    says why and can still give the layer's answer. For requests that merely come without a
//!    token, [`optional(true)`](crate::JwtAuthBuilder::optional) is enough.
//!
//! gRPC rejections use none of these: they are trailers-only, with an empty body. Code that
//! calls [`Verifier::verify`](crate::Verifier::verify) itself turns the `AuthError` into the
//! layer's default answer with `err.into_response()` (feature `axum`) or
//! `tonic::Status::from(err)` (feature `tonic`).
//!
//! ```
//! use axum::{Json, response::IntoResponse};
//! use serde_json::json;
//! use tower_jwt_auth::{Algorithm, AuthError, JwtAuthLayer, RegisteredClaims};
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let auth = JwtAuthLayer::<RegisteredClaims>::builder()
//!     .hmac_secret(b"at least thirty-two bytes of secret!", Algorithm::HS256)
//!     .error_response(|err: AuthError| {
//!         Json(json!({ "error": err.reason(), "message": err.description() })).into_response()
//!     })
//!     .build()?;
//! # let _ = auth;
//! # Ok(())
//! # }
//! ```

use std::sync::{Arc, LazyLock};

use http::header::{CACHE_CONTROL, CONTENT_TYPE, RETRY_AFTER, WWW_AUTHENTICATE};
use http::{HeaderMap, HeaderName, HeaderValue, Method, Request, Response, Uri, Version};

use crate::AuthError;
pub use crate::error::ErrorCode;

/// Makes the response of an HTTP rejection; the layer then sets its status and its
/// `WWW-Authenticate` challenge, so a custom body never loses them.
///
/// Any `Fn(AuthError) -> Response<B> + Clone + Send + Sync + 'static` is one. gRPC
/// rejections do not use it: they are trailers-only, with an empty body.
///
/// ```
/// use http::{header, Response};
/// use tower_jwt_auth::{AuthError, JwtAuthLayer, RegisteredClaims};
///
/// let json_errors = |err: AuthError| {
///     let body = format!(r#"{{"error":"{}"}}"#, err.reason());
///     Response::builder()
///         .header(header::CONTENT_TYPE, "application/json")
///         .body(body)
///         .unwrap()
/// };
/// let layer = JwtAuthLayer::<RegisteredClaims>::builder()
///     .hmac_secret(b"a secret of at least thirty-two bytes", tower_jwt_auth::Algorithm::HS256)
///     .error_response(json_errors)
///     .build()
///     .unwrap();
/// ```
pub trait ErrorResponse<B>: Clone + Send + Sync + 'static {
    /// The response for this rejection (status and challenge are set afterwards).
    fn error_response(&self, error: AuthError) -> Response<B>;

    /// The response for this rejection of this request; by default
    /// [`error_response`](Self::error_response). See [`with_request`] to answer by the
    /// request's method, path or headers.
    fn error_response_to(&self, error: AuthError, request: &RequestHead<'_>) -> Response<B> {
        let _ = request;
        self.error_response(error)
    }
}

/// What an [`ErrorResponse`] may look at of the request it answers: its method, URI,
/// version and headers (never its body).
#[derive(Debug, Clone, Copy)]
pub struct RequestHead<'a> {
    method: &'a Method,
    uri: &'a Uri,
    version: Version,
    headers: &'a HeaderMap,
}

impl<'a> RequestHead<'a> {
    /// The head of `request`.
    pub fn of<B>(request: &'a Request<B>) -> Self {
        RequestHead {
            method: request.method(),
            uri: request.uri(),
            version: request.version(),
            headers: request.headers(),
        }
    }

    /// The head of a request taken apart.
    pub fn of_parts(parts: &'a http::request::Parts) -> Self {
        RequestHead {
            method: &parts.method,
            uri: &parts.uri,
            version: parts.version,
            headers: &parts.headers,
        }
    }

    /// The request's method.
    pub fn method(&self) -> &Method {
        self.method
    }

    /// The request's URI.
    pub fn uri(&self) -> &Uri {
        self.uri
    }

    /// The request's HTTP version.
    pub fn version(&self) -> Version {
        self.version
    }

    /// The request's headers.
    pub fn headers(&self) -> &HeaderMap {
        self.headers
    }

    pub(crate) fn is_grpc(&self) -> bool {
        is_grpc(self.method, self.version, self.headers)
    }

    /// Whether the request sent its token with the `DPoP` scheme (RFC 9449 §7.1).
    pub(crate) fn uses_dpop(&self) -> bool {
        self.headers
            .get(http::header::AUTHORIZATION)
            .is_some_and(|value| {
                value
                    .as_bytes()
                    .get(..5)
                    .is_some_and(|scheme| scheme.eq_ignore_ascii_case(b"dpop "))
            })
    }
}

impl RequestHead<'static> {
    /// The head used when no request is at hand (an [`Unauthenticated`] answering without
    /// its request, an [`AuthError`] turned into a response): `GET /`, no header.
    pub(crate) fn unknown() -> Self {
        static HEADERS: LazyLock<HeaderMap> = LazyLock::new(HeaderMap::new);
        static URI: LazyLock<Uri> = LazyLock::new(|| Uri::from_static("/"));
        RequestHead {
            method: &Method::GET,
            uri: &URI,
            version: Version::HTTP_11,
            headers: &HEADERS,
        }
    }
}

/// An [`ErrorResponse`] that sees the request: a JSON API and an HTML page can answer
/// differently.
///
/// ```
/// use http::{header, Response};
/// use tower_jwt_auth::{AuthError, JwtAuthLayer, RegisteredClaims};
/// use tower_jwt_auth::response::{RequestHead, with_request};
///
/// let by_accept = with_request(|err: AuthError, request: &RequestHead<'_>| {
///     let wants_html = request
///         .headers()
///         .get(header::ACCEPT)
///         .and_then(|v| v.to_str().ok())
///         .is_some_and(|v| v.contains("text/html"));
///     let (kind, body) = if wants_html {
///         ("text/html", format!("<a href=\"/login\">log in</a> ({})", err.description()))
///     } else {
///         ("application/json", format!(r#"{{"error":"{}"}}"#, err.reason()))
///     };
///     Response::builder().header(header::CONTENT_TYPE, kind).body(body).unwrap()
/// });
/// let layer = JwtAuthLayer::<RegisteredClaims>::builder()
///     .hmac_secret(b"a secret of at least thirty-two bytes", tower_jwt_auth::Algorithm::HS256)
///     .error_response(by_accept)
///     .build()
///     .unwrap();
/// ```
pub fn with_request<F, B>(answer: F) -> WithRequest<F>
where
    F: Fn(AuthError, &RequestHead<'_>) -> Response<B> + Clone + Send + Sync + 'static,
{
    WithRequest(answer)
}

/// See [`with_request`].
#[derive(Clone)]
pub struct WithRequest<F>(F);

impl<F> std::fmt::Debug for WithRequest<F> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("WithRequest")
    }
}

impl<F, B> ErrorResponse<B> for WithRequest<F>
where
    F: Fn(AuthError, &RequestHead<'_>) -> Response<B> + Clone + Send + Sync + 'static,
{
    fn error_response(&self, error: AuthError) -> Response<B> {
        (self.0)(error, &RequestHead::unknown())
    }

    fn error_response_to(&self, error: AuthError, request: &RequestHead<'_>) -> Response<B> {
        (self.0)(error, request)
    }
}

/// The default rejection: an empty body.
#[derive(Debug, Clone, Copy, Default)]
pub struct DefaultErrorResponse;

impl<B: Default> ErrorResponse<B> for DefaultErrorResponse {
    fn error_response(&self, _: AuthError) -> Response<B> {
        Response::new(B::default())
    }
}

impl<F, B> ErrorResponse<B> for F
where
    F: Fn(AuthError) -> Response<B> + Clone + Send + Sync + 'static,
{
    fn error_response(&self, error: AuthError) -> Response<B> {
        self(error)
    }
}

const GRPC_STATUS: HeaderName = HeaderName::from_static("grpc-status");
const GRPC_MESSAGE: HeaderName = HeaderName::from_static("grpc-message");
const APPLICATION_GRPC: HeaderValue = HeaderValue::from_static("application/grpc");

/// The realm of the challenges, unless `realm(..)` names another.
pub(crate) const DEFAULT_REALM: &str = "api";

/// No rejection may be stored by a cache: it answers one request's credentials.
const NO_STORE: HeaderValue = HeaderValue::from_static("no-store");
/// How soon a client may retry while the keys are being fetched.
const RETRY_AFTER_SECS: HeaderValue = HeaderValue::from_static("1");

/// The prebuilt header values of every rejection.
#[derive(Debug, Clone)]
pub(crate) struct Rejections {
    /// `WWW-Authenticate` values, indexed by `AuthError as usize`.
    challenges: Vec<HeaderValue>,
    /// `grpc-message` values, indexed the same way.
    grpc_messages: Vec<HeaderValue>,
    /// The `resource_metadata` parameter of every challenge, when the layer publishes RFC
    /// 9728 metadata.
    metadata: Option<MetadataParam>,
    /// The `DPoP` challenges, when the layer takes DPoP-bound tokens.
    dpop: Option<DpopChallenges>,
}

/// A DPoP layer's challenges (RFC 9449 §7.1): `DPoP realm=…, algs=…`, with the error of
/// each rejection, indexed as the `Bearer` ones.
#[derive(Debug, Clone)]
struct DpopChallenges {
    challenges: Vec<HeaderValue>,
    /// Whether bearer tokens are taken too: then a request without a DPoP token is offered
    /// both schemes.
    allow_bearer: bool,
}

/// `, resource_metadata="<url>"` (RFC 9728 §5.1), for a layer that publishes metadata. The
/// layer leaves it in each request, so that the `403` of a later `Require` or `Authorized`
/// carries it too.
#[derive(Debug, Clone)]
pub(crate) struct MetadataParam(Arc<str>);

impl MetadataParam {
    /// `challenge` with this parameter after its own.
    pub(crate) fn add_to(&self, challenge: &HeaderValue) -> HeaderValue {
        let mut value = challenge.as_bytes().to_vec();
        value.extend_from_slice(self.0.as_bytes());
        HeaderValue::from_bytes(&value).expect("a challenge and a checked URL")
    }
}

impl Rejections {
    /// `realm` has been checked to fit a quoted string, and `metadata` (the URL of the RFC
    /// 9728 document) to be a URL, which has no `"` or `\`. `dpop`: for a layer that takes
    /// DPoP-bound tokens, the `algs` of its proofs and whether bearer tokens are taken too.
    pub(crate) fn new(
        realm: &str,
        metadata: Option<&str>,
        dpop: Option<(&str, bool)>,
    ) -> Rejections {
        let metadata = metadata.map(|url| format!(", resource_metadata=\"{url}\""));
        let challenges = challenges_of(
            &format!("Bearer realm=\"{realm}\""),
            "",
            metadata.as_deref(),
        );
        let dpop = dpop.map(|(algs, allow_bearer)| DpopChallenges {
            challenges: challenges_of(
                &format!("DPoP realm=\"{realm}\""),
                &format!(", algs=\"{algs}\""),
                metadata.as_deref(),
            ),
            allow_bearer,
        });
        let grpc_messages = AuthError::ALL
            .iter()
            .map(|err| {
                HeaderValue::try_from(percent_encode(err.description())).expect("percent-encoded")
            })
            .collect();
        Rejections {
            challenges,
            grpc_messages,
            metadata: metadata.map(|param| MetadataParam(Arc::from(param))),
            dpop,
        }
    }

    /// The `resource_metadata` parameter its challenges carry, if any.
    pub(crate) fn metadata(&self) -> Option<MetadataParam> {
        self.metadata.clone()
    }

    /// The `insufficient_scope` challenge naming the scopes a resource requires
    /// (RFC 6750 §3.1); each scope has been checked to be a `scope-token` (RFC 6749 §3.3).
    pub(crate) fn scope_challenge(&self, scopes: &[String]) -> HeaderValue {
        let base = self.challenge(AuthError::InsufficientScope);
        if scopes.is_empty() {
            return base.clone();
        }
        let mut value = base.as_bytes().to_vec();
        value.extend_from_slice(format!(", scope=\"{}\"", scopes.join(" ")).as_bytes());
        HeaderValue::from_bytes(&value).expect("checked scope tokens")
    }

    /// The `insufficient_user_authentication` challenge (RFC 9470 §3), naming what would do:
    /// `acr_values` (checked: scope-token characters) and `max_age`.
    pub(crate) fn step_up_challenge<S: AsRef<str>>(
        &self,
        acr_values: &[S],
        max_age: Option<u64>,
    ) -> HeaderValue {
        let base = self.challenge(AuthError::InsufficientUserAuthentication);
        let mut value = base.as_bytes().to_vec();
        if !acr_values.is_empty() {
            let acr_values: Vec<&str> = acr_values.iter().map(AsRef::as_ref).collect();
            value
                .extend_from_slice(format!(", acr_values=\"{}\"", acr_values.join(" ")).as_bytes());
        }
        if let Some(max_age) = max_age {
            value.extend_from_slice(format!(", max_age=\"{max_age}\"").as_bytes());
        }
        HeaderValue::from_bytes(&value).expect("checked acr values")
    }

    /// The `WWW-Authenticate` challenge of a rejection.
    pub(crate) fn challenge(&self, err: AuthError) -> &HeaderValue {
        &self.challenges[err as usize]
    }

    /// The answer to a rejected request, gRPC when `grpc`.
    pub(crate) fn respond<B: Default, R: ErrorResponse<B>>(
        &self,
        custom: &R,
        err: AuthError,
        grpc: bool,
        head: &RequestHead<'_>,
    ) -> Response<B> {
        let Some(dpop) = &self.dpop else {
            return self.respond_with(custom, err, grpc, head, self.challenge(err));
        };
        // A DPoP request, a DPoP failure, or a layer that takes DPoP alone: the `DPoP`
        // scheme; else the bearer answer, and the `DPoP` scheme offered beside it.
        let challenge = &dpop.challenges[err as usize];
        if err.is_dpop() || head.uses_dpop() || !dpop.allow_bearer {
            return self.respond_with(custom, err, grpc, head, challenge);
        }
        let mut res = self.respond_with(custom, err, grpc, head, self.challenge(err));
        if res.headers().contains_key(WWW_AUTHENTICATE) {
            let offer = &dpop.challenges[AuthError::MissingToken as usize];
            res.headers_mut().append(WWW_AUTHENTICATE, offer.clone());
        }
        res
    }

    /// The answer to a rejected request, with this `WWW-Authenticate` challenge.
    pub(crate) fn respond_with<B: Default, R: ErrorResponse<B>>(
        &self,
        custom: &R,
        err: AuthError,
        grpc: bool,
        head: &RequestHead<'_>,
        challenge: &HeaderValue,
    ) -> Response<B> {
        tracing::debug!(reason = err.reason(), grpc, "request rejected");
        if grpc {
            // Trailers-only (gRPC over HTTP/2 spec): HTTP 200, the status in the headers.
            let mut res = Response::new(B::default());
            let headers = res.headers_mut();
            headers.insert(CONTENT_TYPE, APPLICATION_GRPC);
            headers.insert(CACHE_CONTROL, NO_STORE);
            headers.insert(GRPC_STATUS, HeaderValue::from(err.grpc_code()));
            headers.insert(GRPC_MESSAGE, self.grpc_messages[err as usize].clone());
            if err == AuthError::InsufficientUserAuthentication {
                // What would do (`acr_values`, `max_age`) has no place in a gRPC status: the
                // client reads it from the challenge, in the response's metadata.
                headers.insert(WWW_AUTHENTICATE, challenge.clone());
            }
            return res;
        }
        let mut res = custom.error_response_to(err, head);
        *res.status_mut() = err.status();
        res.headers_mut().insert(CACHE_CONTROL, NO_STORE);
        if err.is_unavailable() {
            // Not the client's fault: no challenge, a hint to retry instead.
            res.headers_mut().insert(RETRY_AFTER, RETRY_AFTER_SECS);
        } else if err.is_authorization() && head.uses_dpop() {
            // `Require` and `Authorized` answer a DPoP request in its own scheme.
            let bearer = challenge.as_bytes();
            let rest = bearer.strip_prefix(b"Bearer ").unwrap_or(bearer);
            let dpop = HeaderValue::from_bytes(&[b"DPoP ", rest].concat());
            res.headers_mut()
                .insert(WWW_AUTHENTICATE, dpop.unwrap_or_else(|_| challenge.clone()));
        } else {
            res.headers_mut()
                .insert(WWW_AUTHENTICATE, challenge.clone());
        }
        res
    }
}

/// How a layer answers a request it did not authenticate.
pub(crate) trait AnswerRejection<B>: Send + Sync {
    /// The layer's answer to `err`, gRPC or HTTP, for a request with this head.
    fn answer(&self, err: AuthError, grpc: bool, head: &RequestHead<'_>) -> Response<B>;
}

/// Left in the extensions of a request that goes on without claims — by an optional layer
/// (see [`optional`](crate::JwtAuthBuilder::optional)) when no token came, or by a layer
/// that passes rejections through (see
/// [`pass_rejections`](crate::JwtAuthBuilder::pass_rejections)) — with why
/// ([`error`](Self::error)) and how the layer would have answered, for a handler or an
/// extractor that requires claims after all. axum's [`Claims`](crate::Claims) answers with
/// it. Such a request never carries claims the layer did not verify.
///
/// ```
/// use http::{HeaderMap, Request, Response, StatusCode};
/// use tower_jwt_auth::response::Unauthenticated;
///
/// fn require_claims<C: Clone + Send + Sync + 'static, B>(
///     req: &Request<B>,
/// ) -> Result<C, Response<String>> {
///     if let Some(claims) = req.extensions().get::<C>() {
///         return Ok(claims.clone());
///     }
///     match req.extensions().get::<Unauthenticated<String>>() {
///         Some(anonymous) => Err(anonymous.response()),
///         None => Err(Response::builder().status(500).body(String::new()).unwrap()),
///     }
/// }
/// ```
pub struct Unauthenticated<B> {
    layer: Arc<dyn AnswerRejection<B>>,
    error: AuthError,
    grpc: bool,
}

impl<B> Unauthenticated<B> {
    /// Points at the layer's shared state: no allocation of the layer's own.
    pub(crate) fn new(layer: Arc<dyn AnswerRejection<B>>, error: AuthError, grpc: bool) -> Self {
        Unauthenticated { layer, error, grpc }
    }

    /// Why the request has no claims: [`AuthError::MissingToken`] for an optional layer's
    /// anonymous request, else the reason the token was refused.
    pub fn error(&self) -> AuthError {
        self.error
    }

    /// The layer's answer to the request: its status with the `WWW-Authenticate`
    /// challenge and the layer's error body, or the gRPC status when the request was gRPC.
    /// A custom error body made [`with_request`] sees no request here: use
    /// [`response_to`](Self::response_to).
    pub fn response(&self) -> Response<B> {
        self.layer
            .answer(self.error, self.grpc, &RequestHead::unknown())
    }

    /// [`response`](Self::response), with the request's head for a custom error body.
    pub fn response_to(&self, request: &RequestHead<'_>) -> Response<B> {
        self.layer.answer(self.error, self.grpc, request)
    }
}

impl<B> Clone for Unauthenticated<B> {
    fn clone(&self) -> Self {
        Unauthenticated {
            layer: Arc::clone(&self.layer),
            error: self.error,
            grpc: self.grpc,
        }
    }
}

impl<B> std::fmt::Debug for Unauthenticated<B> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Unauthenticated({:?})", self.error)
    }
}

/// The challenge of each rejection, indexed by `AuthError as usize`: `scheme_and_realm`,
/// the error code and description if any, then `extra` and `metadata`, all checked text.
fn challenges_of(scheme_and_realm: &str, extra: &str, metadata: Option<&str>) -> Vec<HeaderValue> {
    let value = |s: String| HeaderValue::try_from(s).expect("checked realm and fixed text");
    let metadata = metadata.unwrap_or_default();
    AuthError::ALL
        .iter()
        .map(|err| match err.error_code() {
            None => value(format!("{scheme_and_realm}{extra}{metadata}")),
            Some(code) => value(format!(
                "{scheme_and_realm}, error=\"{}\", error_description=\"{}\"{extra}{metadata}",
                code.as_str(),
                err.description()
            )),
        })
        .collect()
}

/// Whether `text` can be sent in a quoted string of a header (a realm): printable ASCII
/// without `"` or `\`.
pub(crate) fn is_quotable(text: &str) -> bool {
    text.bytes()
        .all(|b| (0x20..=0x7e).contains(&b) && b != b'"' && b != b'\\')
}

/// RFC 6749 §3.3: `scope-token = 1*( %x21 / %x23-5B / %x5D-7E )`.
pub(crate) fn is_scope_token(scope: &str) -> bool {
    !scope.is_empty()
        && scope
            .bytes()
            .all(|b| b == 0x21 || (0x23..=0x5b).contains(&b) || (0x5d..=0x7e).contains(&b))
}

/// Whether the request is gRPC, to be answered with a gRPC status (in an HTTP 200) rather
/// than an HTTP error: a `POST` over HTTP/2 (the only way gRPC travels) whose content type is
/// `application/grpc`, `application/grpc+proto`, …. The content type alone is the client's
/// say: an HTTP/1.1 client that sends it gets the HTTP answer, never a 200 to a failure.
/// `te: trailers` is not required, since proxies may drop it. gRPC-Web
/// (`application/grpc-web…`) gets the HTTP answer too; its clients read `401` as
/// `UNAUTHENTICATED` and `403` as `PERMISSION_DENIED`.
pub(crate) fn is_grpc(method: &Method, version: Version, headers: &HeaderMap) -> bool {
    version == Version::HTTP_2
        && method == Method::POST
        && headers
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("application/grpc"))
            .is_some_and(|rest| rest.is_empty() || rest.starts_with(['+', ';']))
}

/// The gRPC spec's percent-encoding for `grpc-message`: every byte outside 0x20–0x7E, and `%`.
fn percent_encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for b in text.bytes() {
        if (0x20..=0x7e).contains(&b) && b != b'%' {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::StatusCode;

    #[test]
    fn challenges_follow_rfc_6750() {
        let r = Rejections::new("api", None, None);
        assert_eq!(r.challenge(AuthError::MissingToken), "Bearer realm=\"api\"");
        assert_eq!(
            r.challenge(AuthError::Expired),
            "Bearer realm=\"api\", error=\"invalid_token\", error_description=\"the token has expired\""
        );
        assert_eq!(
            r.challenge(AuthError::MultipleTokens),
            "Bearer realm=\"api\", error=\"invalid_request\", error_description=\"the token was sent more than once\""
        );
    }

    #[test]
    fn custom_bodies_keep_status_and_challenge() {
        let r = Rejections::new("api", None, None);
        let custom = |err: AuthError| {
            Response::builder()
                .status(StatusCode::IM_A_TEAPOT)
                .header(CONTENT_TYPE, "application/json")
                .body(err.reason().to_owned())
                .unwrap()
        };
        let res = r.respond(&custom, AuthError::Expired, false, &RequestHead::unknown());
        assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
        assert_eq!(res.headers()[CONTENT_TYPE], "application/json");
        assert_eq!(
            res.headers()[WWW_AUTHENTICATE],
            r.challenge(AuthError::Expired)
        );
        assert_eq!(res.body(), "expired");
    }

    #[test]
    fn grpc_rejections_are_trailers_only() {
        let r = Rejections::new("api", None, None);
        let unknown = RequestHead::unknown();
        let res: Response<String> =
            r.respond(&DefaultErrorResponse, AuthError::Expired, true, &unknown);
        assert_eq!(res.status(), StatusCode::OK);
        assert_eq!(res.headers()[CONTENT_TYPE], "application/grpc");
        assert_eq!(res.headers()["grpc-status"], "16");
        assert_eq!(res.headers()["grpc-message"], "the token has expired");
        assert_eq!(res.headers()[CACHE_CONTROL], "no-store");
        assert!(res.body().is_empty());
    }

    // Issue #12, item 13: a rejection answered with a 200 and no `Cache-Control` could be
    // kept by a shared cache and served to everyone.
    #[test]
    fn no_rejection_may_be_stored_by_a_cache() {
        let r = Rejections::new("api", None, None);
        for err in AuthError::ALL {
            for grpc in [false, true] {
                let unknown = RequestHead::unknown();
                let res: Response<String> = r.respond(&DefaultErrorResponse, err, grpc, &unknown);
                assert_eq!(res.headers()[CACHE_CONTROL], "no-store", "{err:?} {grpc}");
            }
        }
    }

    #[test]
    fn grpc_requests_are_http2_posts_of_a_grpc_content_type() {
        let grpc = |method: Method, version: Version, ct: &str| {
            let mut h = HeaderMap::new();
            h.insert(CONTENT_TYPE, HeaderValue::from_str(ct).unwrap());
            is_grpc(&method, version, &h)
        };
        let h2 = Version::HTTP_2;
        assert!(grpc(Method::POST, h2, "application/grpc"));
        assert!(grpc(Method::POST, h2, "application/grpc+proto"));
        assert!(grpc(Method::POST, h2, "application/grpc;charset=utf-8"));
        assert!(!grpc(Method::POST, h2, "application/grpc-web"));
        assert!(!grpc(Method::POST, h2, "application/json"));
        assert!(!is_grpc(&Method::POST, h2, &HeaderMap::new()));
        // The content type alone is only the client's say.
        assert!(!grpc(Method::POST, Version::HTTP_11, "application/grpc"));
        assert!(!grpc(Method::GET, Version::HTTP_11, "application/grpc"));
        assert!(!grpc(Method::GET, h2, "application/grpc"));
    }

    #[test]
    fn grpc_message_is_percent_encoded() {
        assert_eq!(percent_encode("a b%c\né"), "a b%25c%0A%C3%A9");
    }
}
