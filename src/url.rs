//! Which URLs the crate may fetch or publish: `https`, or plain `http` on loopback.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

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

#[cfg(feature = "jwks")]
/// `application/x-www-form-urlencoded`: letters, digits and `*-._` as they are, space as
/// `+`, every other byte as `%XX`.
pub(crate) fn form_encode(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for byte in value.bytes() {
        match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'*' | b'-' | b'.' | b'_' => {
                out.push(byte as char);
            }
            b' ' => out.push('+'),
            _ => out.push_str(&format!("%{byte:02X}")),
        }
    }
    out
}

/// `Authorization: Basic` for a client of an OAuth 2.0 server (RFC 6749 §2.3.1: the id and
/// secret are form-encoded before they are joined), marked sensitive.
#[cfg(feature = "jwks")]
pub(crate) fn basic_credentials(
    id: &str,
    secret: &str,
) -> Result<http::HeaderValue, http::header::InvalidHeaderValue> {
    use base64::Engine;
    let credentials = format!("{}:{}", form_encode(id), form_encode(secret));
    let encoded = base64::engine::general_purpose::STANDARD.encode(credentials);
    let mut basic = http::HeaderValue::try_from(format!("Basic {encoded}"))?;
    basic.set_sensitive(true);
    Ok(basic)
}

/// Whether `uri` names this machine, in any spelling a resolver takes: `localhost` and
/// its subdomains (RFC 6761 §6.3), with or without the final dot; `127.0.0.0/8`, `::1`,
/// the unspecified addresses (`0.0.0.0` and `::` reach this machine too), IPv4-mapped
/// IPv6 forms of those, and the shorthand IPv4 forms `inet_aton` reads (`127.1`,
/// `2130706433`, `0x7f.0.0.1`). Names that only resolve to loopback are not seen here: a
/// remote issuer's key URL must be `https`, and no public CA certifies such a name for
/// a local service.
pub(crate) fn is_loopback(uri: &Uri) -> bool {
    let Some(host) = uri.host() else { return false };
    let host = host.trim_end_matches('.').to_ascii_lowercase();
    if host == "localhost" || host.ends_with(".localhost") {
        return true;
    }
    let ip = match host.strip_prefix('[').and_then(|h| h.strip_suffix(']')) {
        Some(v6) => v6.parse::<Ipv6Addr>().ok().map(IpAddr::V6),
        None => inet_aton(&host).map(IpAddr::V4),
    };
    ip.is_some_and(|ip| match ip {
        IpAddr::V4(v4) => v4.is_loopback() || v4.is_unspecified(),
        IpAddr::V6(v6) => {
            v6.is_loopback()
                || v6.is_unspecified()
                || v6
                    .to_ipv4_mapped()
                    .is_some_and(|v4| v4.is_loopback() || v4.is_unspecified())
        }
    })
}

/// An IPv4 address as `inet_aton` (and so `getaddrinfo`) reads it: one to four parts, each
/// decimal, `0x` hex or `0` octal, the last filling the bytes that remain.
fn inet_aton(host: &str) -> Option<Ipv4Addr> {
    let parts: Vec<&str> = host.split('.').collect();
    if parts.is_empty() || parts.len() > 4 {
        return None;
    }
    let mut numbers = Vec::with_capacity(parts.len());
    for part in &parts {
        let (digits, radix) = if let Some(hex) = part.strip_prefix("0x") {
            (hex, 16)
        } else if part.len() > 1 && part.starts_with('0') {
            (&part[1..], 8)
        } else {
            (*part, 10)
        };
        if digits.is_empty() && radix != 16 {
            return None;
        }
        let n = if digits.is_empty() {
            0
        } else {
            u32::from_str_radix(digits, radix).ok()?
        };
        numbers.push(n);
    }
    let (last, leading) = numbers.split_last()?;
    if leading.iter().any(|n| *n > 255) || u64::from(*last) >= 1 << (8 * (4 - leading.len())) {
        return None;
    }
    let high = leading
        .iter()
        .enumerate()
        .fold(0u32, |acc, (i, n)| acc | (n << (24 - 8 * i)));
    Some(Ipv4Addr::from(high | last))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg(feature = "jwks")]
    #[test]
    fn form_encoding_follows_the_html_rules() {
        assert_eq!(form_encode("a b:c/d+é~"), "a+b%3Ac%2Fd%2B%C3%A9%7E");
        assert_eq!(form_encode("Az09*-._"), "Az09*-._");
    }

    fn loopback(host: &str) -> bool {
        is_loopback(&format!("http://{host}/keys").parse::<Uri>().unwrap())
    }

    /// Every spelling of this machine a resolver would connect to is loopback; the
    /// addresses next to them are not.
    #[test]
    fn loopback_is_recognised_in_every_spelling() {
        for local in [
            "localhost",
            "LOCALHOST.",
            "keys.localhost",
            "127.0.0.1",
            "127.255.255.254",
            "127.1",
            "127.0.1",
            "2130706433",
            "0x7f000001",
            "0x7f.1",
            "0177.0.0.1",
            "0.0.0.0",
            "0",
            "[::1]",
            "[::]",
            "[::ffff:127.0.0.1]",
            "[::ffff:7f00:1]",
            "[0:0:0:0:0:ffff:0.0.0.0]",
        ] {
            assert!(loopback(local), "{local}");
        }
        for remote in [
            "keys.example",
            "localhost.example",
            "128.0.0.1",
            "126.255.255.255",
            "1.2.3.4",
            "2147483648",
            "0x80000001",
            "[::2]",
            "[::ffff:10.0.0.1]",
            "127.0.0.256",
            "4294967296",
        ] {
            assert!(!loopback(remote), "{remote}");
        }
    }
}
