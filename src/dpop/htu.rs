//! The `htu` check (RFC 9449 §4.3, check 9): the request's URL, without query and fragment,
//! and the proof's `htu`, both normalised as RFC 3986 §6.2.2 and §6.2.3 say, must be equal.

use std::fmt::Write as _;

use http::Uri;

/// The URL a proof must name for a request to `uri` at `base`, one of the URLs clients
/// reach this server at (scheme, host and any path prefix a proxy strips): the base
/// followed by the request's path, normalised. Never from the request's `Host` or
/// authority: those are the client's to choose, so a proof made for another server that
/// takes the same tokens would pass. `None` when no URL can be made.
pub(crate) fn request_url(base: &str, uri: &Uri) -> Option<String> {
    normalize(&format!("{base}{}", uri.path()))
}

/// `url` normalised, query and fragment dropped: scheme and host lowercased, the scheme's
/// default port dropped, an empty path made `/`, percent-encoded unreserved characters
/// decoded and the others' hex digits uppercased, dot segments removed.
pub(crate) fn normalize(url: &str) -> Option<String> {
    let without_fragment = url.split('#').next().unwrap_or_default();
    let uri: Uri = without_fragment.parse().ok()?;
    let scheme = uri.scheme_str()?.to_ascii_lowercase();
    let authority = uri.authority()?;
    if authority.as_str().contains('@') {
        // Userinfo has no place in a request URL.
        return None;
    }
    let host = authority.host().to_ascii_lowercase();
    let default_port = match scheme.as_str() {
        "https" => 443,
        "http" => 80,
        _ => return None,
    };
    let mut out = format!("{scheme}://{host}");
    if let Some(port) = authority.port_u16().filter(|p| *p != default_port) {
        let _ = write!(out, ":{port}");
    }
    out.push_str(&remove_dot_segments(&percent_normalized(uri.path())?));
    Some(out)
}

/// RFC 3986 §6.2.2.1 and §6.2.2.2: `%7e` → `~`, `%2f` → `%2F`.
fn percent_normalized(path: &str) -> Option<String> {
    let bytes = path.as_bytes();
    let mut out = String::with_capacity(path.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = path.get(i + 1..i + 3)?;
            let byte = u8::from_str_radix(hex, 16).ok()?;
            if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~') {
                out.push(byte as char);
            } else {
                let _ = write!(out, "%{byte:02X}");
            }
            i += 3;
        } else {
            out.push(bytes[i] as char);
            i += 1;
        }
    }
    if out.is_empty() {
        out.push('/');
    }
    Some(out)
}

/// RFC 3986 §5.2.4.
fn remove_dot_segments(path: &str) -> String {
    let mut output: Vec<&str> = Vec::new();
    let segments: Vec<&str> = path.split('/').skip(1).collect();
    let last = segments.len().saturating_sub(1);
    let mut trailing_slash = false;
    for (i, segment) in segments.iter().enumerate() {
        match *segment {
            "." => trailing_slash = i == last,
            ".." => {
                output.pop();
                trailing_slash = i == last;
            }
            other => {
                output.push(other);
                trailing_slash = false;
            }
        }
    }
    let mut out = String::with_capacity(path.len());
    for segment in &output {
        out.push('/');
        out.push_str(segment);
    }
    if trailing_slash || out.is_empty() {
        out.push('/');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 3986 §6.2.2 and §6.2.3's examples, and RFC 9449 §4.3's "ignoring any query and
    /// fragment parts".
    #[test]
    fn equivalent_urls_normalise_alike() {
        let same = [
            (
                "https://server.example.com/token",
                "https://server.example.com/token",
            ),
            (
                "HTTPS://Server.Example.COM/token",
                "https://server.example.com/token",
            ),
            (
                "https://server.example.com:443/token",
                "https://server.example.com/token",
            ),
            ("http://server.example.com:80", "http://server.example.com/"),
            ("https://server.example.com", "https://server.example.com/"),
            (
                "https://server.example.com/%7Euser/a%2fb",
                "https://server.example.com/~user/a%2Fb",
            ),
            (
                "https://server.example.com/a/./b/../c",
                "https://server.example.com/a/c",
            ),
            (
                "https://server.example.com/token?x=1#frag",
                "https://server.example.com/token",
            ),
            (
                "https://server.example.com:8443/r",
                "https://server.example.com:8443/r",
            ),
        ];
        for (url, normal) in same {
            assert_eq!(normalize(url).as_deref(), Some(normal), "{url}");
        }
        let different = [
            (
                "https://server.example.com/token",
                "http://server.example.com/token",
            ),
            (
                "https://server.example.com/token",
                "https://server.example.com/Token",
            ),
            (
                "https://server.example.com/token",
                "https://server.example.com/token/",
            ),
            (
                "https://server.example.com/token",
                "https://other.example.com/token",
            ),
            (
                "https://server.example.com/token",
                "https://server.example.com:8443/token",
            ),
        ];
        for (a, b) in different {
            assert_ne!(normalize(a), normalize(b), "{a} vs {b}");
        }
        for bad in [
            "/token",
            "ftp://server.example.com/x",
            "https://u:p@server.example.com/",
            "https://server.example.com/%zz",
        ] {
            assert_eq!(normalize(bad), None, "{bad}");
        }
    }

    #[test]
    fn the_request_url_is_the_base_and_the_path_whatever_the_request_names() {
        let origin_form: Uri = "/notes?page=2".parse().unwrap();
        let absolute: Uri = "https://other-rs.example/notes?page=2".parse().unwrap();
        for uri in [&origin_form, &absolute] {
            assert_eq!(
                request_url("https://api.example.com", uri).as_deref(),
                Some("https://api.example.com/notes")
            );
            // Behind a proxy that serves the API at https://example.com/api/.
            assert_eq!(
                request_url("https://example.com/api", uri).as_deref(),
                Some("https://example.com/api/notes")
            );
        }
    }
}
