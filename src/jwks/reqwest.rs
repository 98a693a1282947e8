//! `reqwest::Client` as a [`JwksClient`] (feature `reqwest`): an application that already has
//! one — with its proxy, its root certificates, its timeouts, its client certificate —
//! fetches keys through it.

use std::future::Future;
use std::pin::Pin;

use bytes::{Bytes, BytesMut};
use http::{Response, Uri};

use super::client::{BoxError, JwksClient};

/// Fetches through the application's own `reqwest::Client`. What the client is configured
/// with applies: proxies, roots, timeouts (the layer adds its own timeout around each
/// fetch), and redirects, except that a fetch asked over `https` never ends over plain
/// `http`. The body is read up to `max_body` bytes; a longer one fails the fetch.
///
/// reqwest's TLS comes from its own features: with `default-features = false` for
/// reqwest, enable one of its TLS features in your `Cargo.toml`, or `https` URLs fail.
///
/// ```no_run
/// # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
/// use std::time::Duration;
/// use tower_jwt_auth::{JwtAuthLayer, RegisteredClaims};
///
/// let http = reqwest::Client::builder()
///     .timeout(Duration::from_secs(3))
///     .build()?;
/// let auth = JwtAuthLayer::<RegisteredClaims>::builder()
///     .oidc_issuer("https://login.example.com")
///     .jwks_client(http.clone()) // the application's client, shared
///     .build()?;
/// # let _ = auth;
/// # Ok(())
/// # }
/// ```
impl JwksClient for reqwest::Client {
    fn get<'a>(
        &'a self,
        url: &'a Uri,
        max_body: usize,
    ) -> Pin<Box<dyn Future<Output = Result<Response<Bytes>, BoxError>> + Send + 'a>> {
        Box::pin(async move {
            let mut response = reqwest::Client::get(self, url.to_string()).send().await?;
            if !same_or_safer(url, response.url()) {
                return Err(format!(
                    "{url} was redirected to {}: keys asked for over https are not taken over plain http",
                    response.url().as_str()
                )
                .into());
            }
            let mut body = BytesMut::new();
            while let Some(chunk) = response.chunk().await? {
                if body.len() + chunk.len() > max_body {
                    return Err(format!("the body is longer than {max_body} bytes").into());
                }
                body.extend_from_slice(&chunk);
            }
            let mut answer = Response::new(body.freeze());
            *answer.status_mut() = response.status();
            *answer.headers_mut() = std::mem::take(response.headers_mut());
            Ok(answer)
        })
    }
}

/// Whether the URL a fetch ended at keeps the transport security of the one it asked for.
fn same_or_safer(asked: &Uri, got: &reqwest::Url) -> bool {
    asked.scheme_str() != Some("https") || got.scheme() == "https"
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_fetch_asked_over_https_never_ends_over_http() {
        let https: Uri = "https://idp.example/jwks".parse().unwrap();
        let http: Uri = "http://127.0.0.1:8080/jwks".parse().unwrap();
        let to = |url: &str| reqwest::Url::parse(url).unwrap();
        assert!(same_or_safer(&https, &to("https://cdn.idp.example/jwks")));
        assert!(!same_or_safer(&https, &to("http://cdn.idp.example/jwks")));
        // Asked over http (loopback, or `allow_http`): nothing to lose.
        assert!(same_or_safer(&http, &to("http://127.0.0.1:8081/jwks")));
        assert!(same_or_safer(&http, &to("https://idp.example/jwks")));
    }
}
