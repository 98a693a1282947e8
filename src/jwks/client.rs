//! The default HTTP client for remote keys: hyper with rustls.

use std::error::Error as StdError;
use std::future::Future;
use std::pin::Pin;

use bytes::Bytes;
use http::{Request, Response, Uri};
use http_body_util::{BodyExt, Empty, Limited};
use hyper_rustls::{HttpsConnector, HttpsConnectorBuilder};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;

/// The error type a [`JwksClient`] returns.
pub type BoxError = Box<dyn StdError + Send + Sync>;

/// The HTTP client that fetches JWKS and discovery documents. The default,
/// [`DefaultJwksClient`], speaks HTTPS through rustls with the Mozilla roots; bring your own
/// for a private CA, a proxy or another transport.
pub trait JwksClient: Send + Sync + 'static {
    /// Sends `GET url` and returns the response, reading at most `max_body` bytes of its body
    /// (a longer body is an error). The layer adds its own timeout around the call.
    fn get<'a>(
        &'a self,
        url: &'a Uri,
        max_body: usize,
    ) -> Pin<Box<dyn Future<Output = Result<Response<Bytes>, BoxError>> + Send + 'a>>;
}

/// The default [`JwksClient`]: HTTP/1.1 over rustls with the Mozilla root certificates
/// (`webpki-roots`). Plain `http://` is spoken too, for the URLs the layer lets through: a
/// key server on loopback, or any with [`JwksOptions::allow_http`](super::JwksOptions::allow_http).
#[derive(Clone, Debug)]
pub struct DefaultJwksClient {
    client: Client<HttpsConnector<HttpConnector>, Empty<Bytes>>,
}

impl DefaultJwksClient {
    /// A client with its own connection pool.
    pub fn new() -> Self {
        let https = HttpsConnectorBuilder::new()
            .with_webpki_roots()
            .https_or_http()
            .enable_http1()
            .build();
        DefaultJwksClient {
            client: Client::builder(TokioExecutor::new()).build(https),
        }
    }
}

impl Default for DefaultJwksClient {
    fn default() -> Self {
        Self::new()
    }
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
                .body(Empty::new())?;
            let response = self.client.request(request).await?;
            let (parts, body) = response.into_parts();
            let body = Limited::new(body, max_body).collect().await?.to_bytes();
            Ok(Response::from_parts(parts, body))
        })
    }
}
