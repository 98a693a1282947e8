//! Certificate-bound access tokens (RFC 8705 §3): a token whose `cnf` names a client
//! certificate is accepted only from a mutual-TLS connection that presented that certificate.
//!
//! An authorization server that authenticates its clients with mutual TLS can bind the
//! access tokens it issues to the client's certificate: the token carries
//! `"cnf": {"x5t#S256": "<base64url SHA-256 of the certificate's DER>"}`. A stolen token is
//! then useless without the client's private key. The layer accepts such a token, sent as
//! an ordinary `Bearer` token, when the request came over a TLS connection whose client
//! presented that very certificate; with no certificate, or another one, it answers `401`
//! with `error="invalid_token"` ([`AuthError::CertificateMissing`],
//! [`AuthError::CertificateMismatch`]). Tokens without `cnf` are not affected.
//!
//! Checking the certificate's chain is the TLS acceptor's work (rustls' client verifier,
//! say); the layer only compares the thumbprint. A token bound both to a certificate and to
//! a DPoP key, or by a method this crate does not know, is refused.
//!
//! # How the layer learns the certificate
//!
//! TLS ends before the request reaches the layer, so the acceptor must say which
//! certificate the connection presented:
//!
//! - **axum, hyper** — insert a [`PeerCertificate`] into each request of the connection.
//!   With tokio-rustls, once the handshake is done:
//!
//! ```no_run
//! use std::sync::Arc;
//! use tower::ServiceExt as _;
//! use tower_jwt_auth::mtls::PeerCertificate;
//!
//! # async fn serve(
//! #     listener: tokio::net::TcpListener,
//! #     tls: tokio_rustls::TlsAcceptor,
//! #     app: axum::Router,
//! # ) -> std::io::Result<()> {
//! loop {
//!     let (tcp, _) = listener.accept().await?;
//!     let stream = tls.accept(tcp).await?;
//!     // The leaf certificate the client authenticated with, if it sent one.
//!     let peer = (stream.get_ref().1.peer_certificates())
//!         .and_then(|chain| chain.first())
//!         .map(|leaf| PeerCertificate::new(leaf.as_ref()));
//!     let app = app.clone().map_request(move |mut request: http::Request<_>| {
//!         if let Some(peer) = &peer {
//!             request.extensions_mut().insert(peer.clone());
//!         }
//!         request
//!     });
//!     let service = hyper_util::service::TowerToHyperService::new(app);
//!     tokio::spawn(async move {
//!         let io = hyper_util::rt::TokioIo::new(stream);
//!         let _ = hyper_util::server::conn::auto::Builder::new(hyper_util::rt::TokioExecutor::new())
//!             .serve_connection(io, service)
//!             .await;
//!     });
//! }
//! # }
//! ```
//!
//! - **tonic** — a `tonic::transport::Server` with TLS puts the connection's certificates in
//!   each request; a small layer in front of the service turns them into a
//!   [`PeerCertificate`] (`tonic::Request::peer_certs()` reads the same thing):
//!
//! ```ignore
//! use tonic::transport::server::{TcpConnectInfo, TlsConnectInfo};
//!
//! let peer = tower::util::MapRequestLayer::new(|mut request: http::Request<tonic::body::Body>| {
//!     let leaf = (request.extensions().get::<TlsConnectInfo<TcpConnectInfo>>())
//!         .and_then(|info| info.peer_certs())
//!         .and_then(|chain| chain.first().map(|leaf| PeerCertificate::new(leaf.as_ref())));
//!     if let Some(leaf) = leaf {
//!         request.extensions_mut().insert(leaf);
//!     }
//!     request
//! });
//! Server::builder()
//!     .tls_config(tls)?
//!     .layer(peer)
//!     .add_service(auth.layer(GreeterServer::new(greeter)))
//! ```
//!
//! (This crate does not read tonic's type itself: naming it needs tonic's TLS features,
//! which would pull a TLS stack into every build of the `tonic` feature.)

use std::fmt;
use std::sync::{Arc, OnceLock};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use http::Extensions;
use jsonwebtoken::crypto::CryptoProvider;
use jsonwebtoken::jwk::ThumbprintHash;

use crate::AuthError;
use crate::verifier::{Binding, Verified};

/// The certificate a request's TLS client authenticated with: the DER of the leaf, as the
/// TLS acceptor received it. Put it in the request's extensions (see the [module](self)) for
/// the layer to accept certificate-bound tokens. Clones share one certificate, and its
/// thumbprint is computed once, on the first request that needs it: make one per
/// connection.
#[derive(Clone)]
pub struct PeerCertificate(Arc<Peer>);

struct Peer {
    der: Box<[u8]>,
    /// base64url(SHA-256(der)), once asked for (`None`: the digest failed).
    thumbprint: OnceLock<Option<String>>,
}

impl PeerCertificate {
    /// The client's leaf certificate, DER-encoded (rustls' `CertificateDer` derefs to it).
    pub fn new(der: impl Into<Box<[u8]>>) -> Self {
        PeerCertificate(Arc::new(Peer {
            der: der.into(),
            thumbprint: OnceLock::new(),
        }))
    }

    /// The certificate, DER-encoded.
    pub fn der(&self) -> &[u8] {
        &self.0.der
    }

    /// Its `x5t#S256` (RFC 8705 §3.1).
    fn thumbprint(&self, provider: &CryptoProvider) -> Option<&str> {
        let digest = || {
            let digest = (provider.key_utils.compute_digest)(self.der(), ThumbprintHash::SHA256);
            digest.ok().map(|digest| URL_SAFE_NO_PAD.encode(digest))
        };
        self.0.thumbprint.get_or_init(digest).as_deref()
    }
}

impl PartialEq for PeerCertificate {
    fn eq(&self, other: &Self) -> bool {
        self.der() == other.der()
    }
}

impl Eq for PeerCertificate {}

impl fmt::Debug for PeerCertificate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PeerCertificate")
            .field("der_len", &self.der().len())
            .finish()
    }
}

/// A bearer token's binding, checked: none, or the client certificate of the request's
/// connection (RFC 8705 §3). A DPoP-bound token is refused here: its proof goes with the
/// `DPoP` scheme.
pub(crate) fn confirm_bearer<C>(
    verified: &Verified<C>,
    extensions: &Extensions,
    provider: &CryptoProvider,
) -> Result<(), AuthError> {
    let Binding::Certificate(thumbprint) = verified.binding() else {
        return verified.as_bearer();
    };
    let peer = extensions
        .get::<PeerCertificate>()
        .ok_or(AuthError::CertificateMissing)?;
    if peer.thumbprint(provider) == Some(&**thumbprint) {
        Ok(())
    } else {
        Err(AuthError::CertificateMismatch)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::install_crypto_provider;

    /// FIPS 180-2's SHA-256("abc"), base64url: computed on the first request that asks,
    /// and shared by every clone of the connection's certificate.
    #[test]
    fn the_thumbprint_is_computed_once_per_connection() {
        let provider = install_crypto_provider().unwrap();
        let peer = PeerCertificate::new(&b"abc"[..]);
        let for_another_request = peer.clone();
        assert!(for_another_request.0.thumbprint.get().is_none());
        let abc = "ungWv48Bz-pBQUDeXa4iI7ADYaOWF3qctBD_YfIAFa0";
        assert_eq!(peer.thumbprint(provider), Some(abc));
        assert_eq!(
            for_another_request.0.thumbprint.get(),
            Some(&Some(abc.to_owned()))
        );
        assert_eq!(peer, PeerCertificate::new(&b"abc"[..]));
    }
}
