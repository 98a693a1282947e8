//! [`ClientCredentials`]: tokens from an OAuth 2.0 token endpoint, by the client credentials
//! grant (RFC 6749 §4.4), for a service that calls another with its own identity.

use std::fmt;
use std::time::Duration;

use bytes::Bytes;
use http::header::{ACCEPT, AUTHORIZATION, CONTENT_TYPE};
use http::{Request, Uri};
use http_body_util::Full;
use serde::Deserialize;

use super::source::{AccessToken, FetchFuture, TokenError, TokenProvider};
use crate::ConfigError;
use crate::jwks::{DefaultJwksClient, JwksClient};
use crate::url::{basic_credentials, form_encode, http_url};

/// The largest token response read.
const MAX_RESPONSE: usize = 64 * 1024;

/// Tokens from an OAuth 2.0 token endpoint by the client credentials grant: `POST` with
/// `grant_type=client_credentials`, the client authenticated by HTTP Basic
/// (`client_secret_basic`, RFC 6749 §2.3.1), the answer read as RFC 6749 §5.1 says. Only
/// `token_type` `Bearer` is taken.
///
/// ```no_run
/// use tower_jwt_auth::client::{BearerLayer, ClientCredentials};
///
/// let tokens = ClientCredentials::new(
///     "https://auth.example.com/oauth/token",
///     "billing-service",
///     std::env::var("CLIENT_SECRET").unwrap(),
/// )
/// .unwrap()
/// .scope("invoices:read")
/// .audience("https://api.example.com"); // Auth0 asks for the API this way
/// let layer = BearerLayer::new(tokens);
/// ```
#[derive(Clone)]
pub struct ClientCredentials {
    token_url: Uri,
    client_id: String,
    client_secret: String,
    scope: Option<String>,
    audience: Option<String>,
    resource: Option<String>,
    timeout: Duration,
    http: DefaultJwksClient,
}

impl ClientCredentials {
    /// Tokens from the endpoint at `token_url` (`https://`, or `http://` on loopback) for the
    /// client `client_id` with `client_secret`.
    ///
    /// # Errors
    /// [`ConfigError::InvalidUrl`] or [`ConfigError::InsecureUrl`] for the URL;
    /// [`ConfigError::InsecureProxy`] for an `https://` proxy in the environment.
    pub fn new(
        token_url: &str,
        client_id: impl Into<String>,
        client_secret: impl Into<String>,
    ) -> Result<Self, ConfigError> {
        let http = DefaultJwksClient::new();
        if let Some(err) = http.misconfigured() {
            return Err(err);
        }
        Ok(ClientCredentials {
            token_url: http_url(token_url, false)?,
            client_id: client_id.into(),
            client_secret: client_secret.into(),
            scope: None,
            audience: None,
            resource: None,
            timeout: Duration::from_secs(10),
            http,
        })
    }

    /// Asks for these scopes (space-separated, RFC 6749 §3.3).
    pub fn scope(mut self, scope: impl Into<String>) -> Self {
        self.scope = Some(scope.into());
        self
    }

    /// Sends `audience`, the parameter Auth0 and Okta-style servers read to pick the API.
    pub fn audience(mut self, audience: impl Into<String>) -> Self {
        self.audience = Some(audience.into());
        self
    }

    /// Sends `resource`, the RFC 8707 resource indicator (what MCP servers ask for).
    pub fn resource(mut self, resource: impl Into<String>) -> Self {
        self.resource = Some(resource.into());
        self
    }

    /// How long a request to the endpoint may take (default 10 s).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// The HTTP client to use (to choose a proxy, say); by default a
    /// [`DefaultJwksClient::new`].
    pub fn http_client(mut self, http: DefaultJwksClient) -> Self {
        self.http = http;
        self
    }

    fn request(&self) -> Result<Request<Full<Bytes>>, TokenError> {
        let mut form = String::from("grant_type=client_credentials");
        let params = [
            ("scope", &self.scope),
            ("audience", &self.audience),
            ("resource", &self.resource),
        ];
        for (name, value) in params {
            if let Some(value) = value {
                form.push_str(&format!("&{name}={}", form_encode(value)));
            }
        }
        let basic = basic_credentials(&self.client_id, &self.client_secret)
            .map_err(|_| TokenError::InvalidResponse("unreachable: base64 is a header".into()))?;
        Request::post(self.token_url.clone())
            .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
            .header(ACCEPT, "application/json")
            .header(AUTHORIZATION, basic)
            .body(Full::new(Bytes::from(form)))
            .map_err(|e| TokenError::InvalidResponse(e.to_string()))
    }

    async fn fetch_now(&self) -> Result<AccessToken, TokenError> {
        let request = self.request()?;
        let sent = tokio::time::timeout(self.timeout, self.http.send(request, MAX_RESPONSE));
        let response = match sent.await {
            Ok(Ok(response)) => response,
            Ok(Err(why)) => return Err(TokenError::Unreachable(why)),
            Err(_) => return Err(TokenError::Unreachable("timed out".into())),
        };
        let status = response.status();
        if status.is_server_error() {
            return Err(TokenError::Unreachable(format!("answered {status}").into()));
        }
        if !status.is_success() {
            // RFC 6749 §5.2: `{"error": "invalid_client", ...}`.
            #[derive(Deserialize)]
            struct Refusal {
                error: String,
            }
            let error = serde_json::from_slice::<Refusal>(response.body()).ok();
            return Err(TokenError::Refused {
                status: status.as_u16(),
                error: error.map(|refusal| refusal.error),
            });
        }
        token_response(response.body())
    }
}

/// Reads an RFC 6749 §5.1 token response.
fn token_response(body: &[u8]) -> Result<AccessToken, TokenError> {
    #[derive(Deserialize)]
    struct TokenResponse {
        access_token: String,
        token_type: String,
        expires_in: Option<u64>,
    }
    let answer: TokenResponse = serde_json::from_slice(body)
        .map_err(|e| TokenError::InvalidResponse(format!("not a token response: {e}")))?;
    // RFC 6749 §7.1: the type is case-insensitive. A DPoP-bound token is useless as Bearer.
    if !answer.token_type.eq_ignore_ascii_case("bearer") {
        return Err(TokenError::InvalidResponse(format!(
            "token_type {:?}, not Bearer",
            answer.token_type
        )));
    }
    Ok(AccessToken::new(
        answer.access_token,
        answer.expires_in.map(Duration::from_secs),
    ))
}

impl TokenProvider for ClientCredentials {
    fn fetch(&self) -> FetchFuture<'_> {
        Box::pin(self.fetch_now())
    }
}

impl fmt::Debug for ClientCredentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientCredentials")
            .field("token_url", &self.token_url)
            .field("client_id", &self.client_id)
            .field("client_secret", &"<redacted>")
            .field("scope", &self.scope)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_response_must_be_bearer() {
        // RFC 6749 §5.1's example, token type spelt as the RFC does.
        let ok = br#"{"access_token":"2YotnFZFEjr1zCsicMWpAA","token_type":"example","expires_in":3600}"#;
        assert!(matches!(
            token_response(ok),
            Err(TokenError::InvalidResponse(_))
        ));
        let bearer =
            br#"{"access_token":"2YotnFZFEjr1zCsicMWpAA","token_type":"bearer","expires_in":3600}"#;
        let token = token_response(bearer).unwrap();
        assert_eq!(token.secret(), "2YotnFZFEjr1zCsicMWpAA");
        assert_eq!(token.expires_in(), Some(Duration::from_secs(3600)));
        let dpop = br#"{"access_token":"x","token_type":"DPoP","expires_in":3600}"#;
        assert!(token_response(dpop).is_err());
        assert!(token_response(b"{}").is_err());
    }
}
