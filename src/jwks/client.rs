//! The default HTTP client for remote keys: hyper with rustls, the TLS backend following the
//! crate's crypto feature, and a proxy from the environment.

use std::error::Error as StdError;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use bytes::Bytes;
use http::{Request, Response, Uri};
use http_body_util::{BodyExt, Full, Limited};
use hyper_rustls::{HttpsConnector, HttpsConnectorBuilder};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::connect::proxy::Tunnel;
use hyper_util::client::proxy::matcher::Matcher;
use hyper_util::rt::{TokioExecutor, TokioIo};
use tokio::net::TcpStream;

use crate::{ConfigError, tls};

/// The error type a [`JwksClient`] returns.
pub type BoxError = Box<dyn StdError + Send + Sync>;

/// The HTTP client that fetches JWKS and discovery documents. The default,
/// [`DefaultJwksClient`], speaks HTTPS through rustls; bring your own for another transport.
pub trait JwksClient: Send + Sync + 'static {
    /// Sends `GET url` and returns the response, reading at most `max_body` bytes of its body
    /// (a longer body is an error). The layer adds its own timeout around the call.
    fn get<'a>(
        &'a self,
        url: &'a Uri,
        max_body: usize,
    ) -> Pin<Box<dyn Future<Output = Result<Response<Bytes>, BoxError>> + Send + 'a>>;

    /// Why this client must not be used, found when it was made (an `https://` proxy, whose
    /// credentials it would send in cleartext); `build()` fails with it. `None` by default.
    fn misconfigured(&self) -> Option<ConfigError> {
        None
    }
}

/// The default [`JwksClient`]: HTTP/1.1 over rustls.
///
/// - **TLS** uses the crypto backend the crate was built with: aws-lc-rs with feature
///   `aws-lc-rs`, *ring* with `rust-crypto` alone (rustls has no production-ready RustCrypto
///   provider; *ring* builds with a C compiler but no cmake, and never pulls aws-lc in).
///   Without either, the process's default rustls provider, if one was installed.
/// - **Roots**: the Mozilla roots (`webpki-roots`), or the system's store with feature
///   `native-roots` (for a corporate CA).
/// - **Proxy**: [`new`](Self::new) follows the environment as curl does — `HTTPS_PROXY` /
///   `https_proxy`, `ALL_PROXY`, and `NO_PROXY` — tunnelling `https://` fetches through the
///   proxy with `CONNECT` (credentials in the proxy URL are sent as `Proxy-Authorization`).
///   The proxy itself is spoken to over plain TCP, so an `https://` proxy URL is refused:
///   `build()` fails with [`ConfigError::InsecureProxy`] rather than send its credentials
///   in cleartext. Plain `http://` fetches (loopback, or with `allow_http`) go direct.
#[derive(Clone, Debug)]
pub struct DefaultJwksClient {
    client: Result<Client<HttpsConnector<Connector>, Full<Bytes>>, Arc<str>>,
    /// An `https://` proxy URL, refused.
    tls_proxy: Option<String>,
}

impl DefaultJwksClient {
    /// A client with its own connection pool, its proxy read from the environment.
    pub fn new() -> Self {
        DefaultJwksClient::with_matcher(Matcher::from_env())
    }

    /// A client that sends `https://` fetches through the proxy at `https_proxy` (an
    /// `http://` URL, with optional `user:password@`), except for hosts matched by
    /// `no_proxy` (comma-separated domains, IPs or subnets, as `NO_PROXY`).
    pub fn with_proxy(https_proxy: &str, no_proxy: &str) -> Self {
        let matcher = Matcher::builder().https(https_proxy).no(no_proxy).build();
        DefaultJwksClient::with_matcher(matcher)
    }

    /// A client that never uses a proxy, whatever the environment says.
    pub fn without_proxy() -> Self {
        DefaultJwksClient::with_matcher(Matcher::builder().build())
    }

    fn with_matcher(matcher: Matcher) -> Self {
        // Whatever host it is for, a proxy is the one of an `https://` destination.
        let probe = Uri::from_static("https://proxy-check.invalid/");
        let tls_proxy = matcher
            .intercept(&probe)
            .filter(|proxy| proxy.uri().scheme_str() == Some("https"))
            .map(|proxy| redacted(proxy.uri()));
        let client = https_connector(Connector::new(matcher))
            .map(|https| Client::builder(TokioExecutor::new()).build(https))
            .map_err(|e| Arc::from(e.to_string()));
        if let Err(why) = &client {
            tracing::error!(%why, "the JWKS client cannot speak TLS");
        }
        DefaultJwksClient { client, tls_proxy }
    }
}

/// A proxy's URL without its credentials, for an error message.
fn redacted(proxy: &Uri) -> String {
    let host = proxy.host().unwrap_or_default();
    match proxy.port_u16() {
        Some(port) => format!("the proxy https://{host}:{port}"),
        None => format!("the proxy https://{host}"),
    }
}

impl Default for DefaultJwksClient {
    fn default() -> Self {
        Self::new()
    }
}

fn https_connector(connector: Connector) -> Result<HttpsConnector<Connector>, BoxError> {
    let builder = HttpsConnectorBuilder::new();
    #[cfg(feature = "native-roots")]
    let builder = builder.with_provider_and_native_roots(tls::provider()?)?;
    #[cfg(not(feature = "native-roots"))]
    let builder = builder.with_provider_and_webpki_roots(tls::provider()?)?;
    Ok(builder
        .https_or_http()
        .enable_http1()
        .wrap_connector(connector))
}

impl JwksClient for DefaultJwksClient {
    fn get<'a>(
        &'a self,
        url: &'a Uri,
        max_body: usize,
    ) -> Pin<Box<dyn Future<Output = Result<Response<Bytes>, BoxError>> + Send + 'a>> {
        Box::pin(async move {
            let request = Request::get(url.clone())
                .header(http::header::ACCEPT, "application/json")
                .body(Full::default())?;
            self.send(request, max_body).await
        })
    }

    fn misconfigured(&self) -> Option<ConfigError> {
        self.tls_proxy.clone().map(ConfigError::InsecureProxy)
    }
}

impl DefaultJwksClient {
    /// Sends `request` and reads at most `max_body` bytes of the answer's body.
    pub(crate) async fn send(
        &self,
        request: Request<Full<Bytes>>,
        max_body: usize,
    ) -> Result<Response<Bytes>, BoxError> {
        let client = self.client.as_ref().map_err(|why| why.to_string())?;
        let response = client.request(request).await?;
        let (parts, body) = response.into_parts();
        let body = Limited::new(body, max_body).collect().await?.to_bytes();
        Ok(Response::from_parts(parts, body))
    }
}

/// TCP to the key server, or through a `CONNECT` tunnel when the proxy rules say so.
#[derive(Clone, Debug)]
struct Connector {
    direct: HttpConnector,
    proxies: Arc<Matcher>,
}

impl Connector {
    fn new(proxies: Matcher) -> Self {
        let mut direct = HttpConnector::new();
        // The TLS connector wraps this one: it must let `https://` through.
        direct.enforce_http(false);
        Connector {
            direct,
            proxies: Arc::new(proxies),
        }
    }
}

impl tower_service::Service<Uri> for Connector {
    type Response = TokioIo<TcpStream>;
    type Error = BoxError;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, BoxError>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), BoxError>> {
        self.direct.poll_ready(cx).map_err(Into::into)
    }

    fn call(&mut self, dst: Uri) -> Self::Future {
        let proxy = (dst.scheme_str() == Some("https"))
            .then(|| self.proxies.intercept(&dst))
            .flatten();
        let Some(proxy) = proxy else {
            let connecting = self.direct.call(dst);
            return Box::pin(async move { Ok(connecting.await?) });
        };
        // Spoken to over plain TCP: an `https://` proxy would get its credentials in
        // cleartext (refused at `build()` already, and here for any host the check missed).
        if proxy.uri().scheme_str() != Some("http") {
            let scheme = proxy.uri().scheme_str().unwrap_or("").to_owned();
            return Box::pin(async move {
                Err(format!("a {scheme:?} proxy is not supported: use an http:// proxy").into())
            });
        }
        let mut tunnel = Tunnel::new(proxy.uri().clone(), self.direct.clone());
        if let Some(auth) = proxy.basic_auth() {
            tunnel = tunnel.with_auth(auth.clone());
        }
        Box::pin(async move { Ok(tunnel.call(dst).await?) })
    }
}
