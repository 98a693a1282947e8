//! Which URLs the crate may fetch or publish: `https`, or plain `http` on loopback.

use http::Uri;

use crate::ConfigError;

/// An absolute `https` URL, or `http` on loopback (or anywhere, with `allow_http`).
pub(crate) fn http_url(url: &str, allow_http: bool) -> Result<Uri, ConfigError> {
    let invalid = || ConfigError::InvalidUrl(url.to_owned());
    let uri: Uri = url.parse().map_err(|_| invalid())?;
    match uri.scheme_str() {
        _ if uri.host().is_none() => Err(invalid()),
        Some("https") => Ok(uri),
        Some("http") if allow_http || is_loopback(&uri) => Ok(uri),
        Some("http") => Err(ConfigError::InsecureUrl(url.to_owned())),
        _ => Err(invalid()),
    }
}

/// Whether `uri` names this machine: `localhost`, `127.0.0.0/8` or `::1`.
pub(crate) fn is_loopback(uri: &Uri) -> bool {
    let Some(host) = uri.host() else { return false };
    let ip = host.trim_start_matches('[').trim_end_matches(']');
    host.eq_ignore_ascii_case("localhost")
        || ip
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}
