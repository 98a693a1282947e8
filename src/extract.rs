//! Finding the token in a request: `Authorization: Bearer`, a cookie, a header or a query
//! parameter, tried in the configured order.

use http::header::{AUTHORIZATION, COOKIE};
use http::{HeaderMap, HeaderName, Uri};

use crate::{AuthError, ConfigError};

/// Where the layer looks for the token.
///
/// A request that carries a token in more than one configured place, or repeats the
/// header, is refused with `invalid_request` (RFC 6750 §2: clients must not use more than
/// one method).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum TokenSource {
    /// `Authorization: Bearer <token>` (RFC 6750 §2.1), the scheme matched case-insensitively.
    /// Another scheme (`Basic`, say) counts as no token.
    Bearer,
    /// A cookie with this name.
    Cookie(String),
    /// A header with this name whose whole value is the token.
    Header(HeaderName),
    /// A query parameter with this name (RFC 6750 §2.3 calls it `access_token`).
    /// Tokens in URLs end up in logs and browser history: prefer a header.
    Query(String),
    /// A token found by a function of the request's headers: see [`custom`](Self::custom).
    Custom(CustomSource),
}

/// A token source of your own: a name (for `Debug` and comparisons) and the function that
/// finds the token in the request's headers.
#[derive(Clone, Copy)]
pub struct CustomSource {
    name: &'static str,
    find: fn(&HeaderMap) -> Option<&str>,
}

impl std::fmt::Debug for CustomSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("CustomSource").field(&self.name).finish()
    }
}

impl PartialEq for CustomSource {
    fn eq(&self, other: &Self) -> bool {
        self.name == other.name
    }
}

impl Eq for CustomSource {}

impl TokenSource {
    /// A cookie source.
    pub fn cookie(name: impl Into<String>) -> Self {
        TokenSource::Cookie(name.into())
    }

    /// A query parameter source.
    pub fn query(name: impl Into<String>) -> Self {
        TokenSource::Query(name.into())
    }

    /// A custom header source.
    pub fn header(name: HeaderName) -> Self {
        TokenSource::Header(name)
    }

    /// A source of your own, for the shapes the others do not read: `find` gets the
    /// request's headers and gives the token, if there is one. `name` says what it is in
    /// `Debug` output (and two custom sources are the same when their names are).
    ///
    /// A browser cannot set `Authorization` on a WebSocket; a common workaround sends the
    /// token as a subprotocol, `Sec-WebSocket-Protocol: access_token, <token>`:
    ///
    /// ```
    /// use http::HeaderMap;
    /// use tower_jwt_auth::TokenSource;
    ///
    /// fn websocket_protocol(headers: &HeaderMap) -> Option<&str> {
    ///     let value = headers.get("sec-websocket-protocol")?.to_str().ok()?;
    ///     let mut protocols = value.split(',').map(str::trim);
    ///     protocols.find(|p| *p == "access_token")?;
    ///     protocols.next()
    /// }
    ///
    /// let source = TokenSource::custom("websocket-protocol", websocket_protocol);
    /// ```
    pub fn custom(name: &'static str, find: fn(&HeaderMap) -> Option<&str>) -> Self {
        TokenSource::Custom(CustomSource { name, find })
    }

    pub(crate) fn check(&self) -> Result<(), ConfigError> {
        let bad = |why: String| Err(ConfigError::InvalidTokenSource(why));
        match self {
            TokenSource::Bearer => Ok(()),
            TokenSource::Cookie(name) if name.is_empty() || !name.bytes().all(is_tchar) => {
                bad(format!("{name:?} is not a valid cookie name"))
            }
            TokenSource::Query(name)
                if name.is_empty() || name.bytes().any(|b| matches!(b, b'&' | b'=' | b'#')) =>
            {
                bad(format!("{name:?} is not a valid query parameter name"))
            }
            TokenSource::Header(name) if *name == AUTHORIZATION || *name == COOKIE => bad(format!(
                "{name} cannot be a plain header source: use TokenSource::Bearer or TokenSource::Cookie"
            )),
            _ => Ok(()),
        }
    }
}

/// A request's token, and whether it came with the `DPoP` scheme.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Found<'r> {
    pub(crate) token: &'r str,
    /// `Authorization: DPoP`: the token must be bound, and proven with a `DPoP` header.
    pub(crate) dpop: bool,
}

/// Finds the one token of the request, or `None` when there is none. The `DPoP` scheme
/// counts only when `dpop`: a layer without DPoP sees no token in it.
pub(crate) fn token<'r>(
    sources: &[TokenSource],
    headers: &'r HeaderMap,
    uri: &'r Uri,
    max_len: usize,
    dpop: bool,
) -> Result<Option<Found<'r>>, AuthError> {
    let mut found: Option<Found<'r>> = None;
    for source in sources {
        let token = match source {
            TokenSource::Bearer => authorization(headers, max_len, dpop)?,
            TokenSource::Cookie(name) => plain(cookie(headers, name)?),
            TokenSource::Header(name) => plain(header(headers, name)?),
            TokenSource::Query(name) => plain(query(uri, name)?),
            TokenSource::Custom(custom) => plain((custom.find)(headers)),
        };
        if let Some(token) = token
            && found.replace(token).is_some()
        {
            return Err(AuthError::MultipleTokens);
        }
    }
    match found {
        Some(found) if found.token.len() > max_len => Err(AuthError::TokenTooLarge),
        Some(found) if found.token.is_empty() => Err(AuthError::MalformedRequest),
        found => Ok(found),
    }
}

fn plain(token: Option<&str>) -> Option<Found<'_>> {
    token.map(|token| Found { token, dpop: false })
}

/// The single value of a header, or `MultipleTokens` when it is repeated.
fn single<'r>(
    headers: &'r HeaderMap,
    name: &HeaderName,
) -> Result<Option<&'r http::HeaderValue>, AuthError> {
    let mut values = headers.get_all(name).iter();
    match (values.next(), values.next()) {
        (None, _) => Ok(None),
        (Some(value), None) => Ok(Some(value)),
        (Some(_), Some(_)) => Err(AuthError::MultipleTokens),
    }
}

/// `Authorization: Bearer <token>`, or `DPoP <token>` (RFC 9449 §7.1) when `dpop`.
fn authorization(
    headers: &HeaderMap,
    max_len: usize,
    dpop: bool,
) -> Result<Option<Found<'_>>, AuthError> {
    let Some(value) = single(headers, &AUTHORIZATION)? else {
        return Ok(None);
    };
    let value = value.as_bytes();
    let split = value
        .iter()
        .position(|b| matches!(b, b' ' | b'\t'))
        .unwrap_or(value.len());
    let (scheme, rest) = value.split_at(split);
    let dpop = if scheme.eq_ignore_ascii_case(b"bearer") {
        false
    } else if dpop && scheme.eq_ignore_ascii_case(b"dpop") {
        true
    } else {
        return Ok(None);
    };
    // RFC 7235 §2.1: the scheme and the credentials are separated by 1*SP; a tab is left
    // in place so that the syntax check refuses it.
    let start = rest.iter().position(|b| *b != b' ').unwrap_or(rest.len());
    let end = rest
        .iter()
        .rposition(|b| !matches!(b, b' ' | b'\t'))
        .map_or(start, |i| i + 1);
    let token = &rest[start..end.max(start)];
    // Before the syntax check, so that a huge header costs no scan.
    if token.len() > max_len {
        return Err(AuthError::TokenTooLarge);
    }
    if !is_b64token(token) {
        return Err(AuthError::MalformedRequest);
    }
    // Only ASCII passed the syntax check, so this cannot fail.
    std::str::from_utf8(token)
        .map(|token| Some(Found { token, dpop }))
        .map_err(|_| AuthError::MalformedRequest)
}

fn cookie<'r>(headers: &'r HeaderMap, name: &str) -> Result<Option<&'r str>, AuthError> {
    let mut found = None;
    for value in headers.get_all(COOKIE) {
        let Ok(value) = value.to_str() else { continue };
        for pair in value.split(';') {
            let Some((n, v)) = pair.trim_matches([' ', '\t']).split_once('=') else {
                continue;
            };
            if n == name && found.replace(v).is_some() {
                return Err(AuthError::MultipleTokens);
            }
        }
    }
    Ok(found)
}

fn header<'r>(headers: &'r HeaderMap, name: &HeaderName) -> Result<Option<&'r str>, AuthError> {
    match single(headers, name)? {
        None => Ok(None),
        Some(value) => value
            .to_str()
            .map(|v| Some(v.trim_matches([' ', '\t'])))
            .map_err(|_| AuthError::MalformedRequest),
    }
}

fn query<'r>(uri: &'r Uri, name: &str) -> Result<Option<&'r str>, AuthError> {
    let mut found = None;
    for pair in uri.query().unwrap_or_default().split('&') {
        let (n, v) = pair.split_once('=').unwrap_or((pair, ""));
        if n == name && found.replace(v).is_some() {
            return Err(AuthError::MultipleTokens);
        }
    }
    Ok(found)
}

/// RFC 6750 §2.1: `b64token = 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"="`.
fn is_b64token(token: &[u8]) -> bool {
    let body = token.iter().rposition(|b| *b != b'=').map_or(0, |i| i + 1);
    // No early exit: a plain fold over every byte lets the compiler vectorise the check.
    body > 0
        && token[..body]
            .iter()
            .fold(true, |ok, b| ok & is_b64token_char(*b))
}

fn is_b64token_char(b: u8) -> bool {
    let letter = (b | 0x20).wrapping_sub(b'a') < 26;
    let digit = b.wrapping_sub(b'0') < 10;
    letter
        | digit
        | (b == b'-')
        | (b == b'.')
        | (b == b'_')
        | (b == b'~')
        | (b == b'+')
        | (b == b'/')
}

/// RFC 7230 §3.2.6 `tchar`, which RFC 6265 uses for cookie names.
fn is_tchar(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::{HeaderValue, Request};

    const MAX: usize = 8192;

    fn req(headers: &[(&str, &str)], uri: &str) -> Request<()> {
        let mut b = Request::builder().uri(uri);
        for (n, v) in headers {
            b = b.header(*n, HeaderValue::from_bytes(v.as_bytes()).unwrap());
        }
        b.body(()).unwrap()
    }

    fn get(
        sources: &[TokenSource],
        headers: &[(&str, &str)],
        uri: &str,
    ) -> Result<Option<String>, AuthError> {
        let r = req(headers, uri);
        token(sources, r.headers(), r.uri(), MAX, false).map(|t| t.map(|f| f.token.to_owned()))
    }

    fn bearer_only(value: &str) -> Result<Option<String>, AuthError> {
        get(&[TokenSource::Bearer], &[("authorization", value)], "/")
    }

    #[test]
    fn bearer_scheme_is_case_insensitive_and_spaces_are_tolerated() {
        for v in [
            "Bearer a.b.c",
            "bearer a.b.c",
            "BEARER a.b.c",
            "bEaReR   a.b.c",
            "Bearer a.b.c  ",
        ] {
            assert_eq!(bearer_only(v), Ok(Some("a.b.c".into())), "{v:?}");
        }
    }

    #[test]
    fn other_schemes_are_no_token() {
        assert_eq!(bearer_only("Basic ZGVtbzpkZW1v"), Ok(None));
        assert_eq!(bearer_only("Bearer-ish a.b.c"), Ok(None));
        assert_eq!(get(&[TokenSource::Bearer], &[], "/"), Ok(None));
    }

    /// RFC 9449 §7.1: `Authorization: DPoP <token>`, the scheme case-insensitive, counts
    /// only for a layer that takes DPoP.
    #[test]
    fn the_dpop_scheme_is_a_token_only_with_dpop() {
        let r = req(&[("authorization", "DPoP a.b.c")], "/");
        let found = |dpop| token(&[TokenSource::Bearer], r.headers(), r.uri(), MAX, dpop);
        assert_eq!(found(false), Ok(None));
        assert_eq!(
            found(true),
            Ok(Some(Found {
                token: "a.b.c",
                dpop: true
            }))
        );
        let r = req(&[("authorization", "dpop a.b.c")], "/");
        let lower = token(&[TokenSource::Bearer], r.headers(), r.uri(), MAX, true);
        assert_eq!(lower.unwrap().map(|f| f.dpop), Some(true));
        let r = req(&[("authorization", "Bearer a.b.c")], "/");
        let bearer = token(&[TokenSource::Bearer], r.headers(), r.uri(), MAX, true);
        assert_eq!(
            bearer,
            Ok(Some(Found {
                token: "a.b.c",
                dpop: false
            }))
        );
    }

    #[test]
    fn malformed_bearer_credentials_are_invalid_request() {
        for v in [
            "Bearer",
            "Bearer ",
            "Bearer a b",
            "Bearer a,b",
            "Bearer\ta.b.c",
            "Bearer a=b",
            "Bearer ==",
            "Bearer é",
        ] {
            assert_eq!(bearer_only(v), Err(AuthError::MalformedRequest), "{v:?}");
        }
    }

    #[test]
    fn two_authorization_headers_are_invalid_request() {
        let r = get(
            &[TokenSource::Bearer],
            &[
                ("authorization", "Bearer a.b.c"),
                ("authorization", "Bearer a.b.c"),
            ],
            "/",
        );
        assert_eq!(r, Err(AuthError::MultipleTokens));
    }

    #[test]
    fn cookie_header_and_query_sources() {
        let cookie = TokenSource::cookie("jwt");
        assert_eq!(
            get(
                std::slice::from_ref(&cookie),
                &[("cookie", "theme=dark; jwt=a.b.c; x=1")],
                "/"
            ),
            Ok(Some("a.b.c".into()))
        );
        assert_eq!(
            get(
                std::slice::from_ref(&cookie),
                &[("cookie", "jwt=a.b.c"), ("cookie", "jwt=d.e.f")],
                "/"
            ),
            Err(AuthError::MultipleTokens)
        );
        assert_eq!(get(&[cookie], &[("cookie", "jwtx=a.b.c")], "/"), Ok(None));

        let header = TokenSource::header(HeaderName::from_static("x-token"));
        assert_eq!(
            get(
                std::slice::from_ref(&header),
                &[("x-token", " a.b.c ")],
                "/"
            ),
            Ok(Some("a.b.c".into()))
        );
        assert_eq!(
            get(&[header], &[("x-token", "")], "/"),
            Err(AuthError::MalformedRequest)
        );

        let query = TokenSource::query("access_token");
        assert_eq!(
            get(
                std::slice::from_ref(&query),
                &[],
                "/p?x=1&access_token=a.b.c"
            ),
            Ok(Some("a.b.c".into()))
        );
        assert_eq!(
            get(
                std::slice::from_ref(&query),
                &[],
                "/p?access_token=a.b.c&access_token=a.b.c"
            ),
            Err(AuthError::MultipleTokens)
        );
        assert_eq!(get(&[query], &[], "/p?access_tokens=a.b.c"), Ok(None));
    }

    #[test]
    fn a_token_in_two_places_is_invalid_request() {
        let sources = [TokenSource::Bearer, TokenSource::query("access_token")];
        assert_eq!(
            get(
                &sources,
                &[("authorization", "Bearer a.b.c")],
                "/?access_token=a.b.c"
            ),
            Err(AuthError::MultipleTokens)
        );
        assert_eq!(
            get(&sources, &[], "/?access_token=a.b.c"),
            Ok(Some("a.b.c".into()))
        );
    }

    #[test]
    fn oversized_tokens_are_refused_before_anything_else() {
        let big = format!("Bearer {}", "a".repeat(MAX + 1));
        assert_eq!(bearer_only(&big), Err(AuthError::TokenTooLarge));
        let fits = format!("Bearer {}", "a".repeat(MAX));
        assert!(bearer_only(&fits).is_ok());
    }

    #[test]
    fn b64token_characters_are_exactly_rfc_6750s() {
        for b in 0..=255u8 {
            let expected = b.is_ascii_alphanumeric() || b"-._~+/".contains(&b);
            assert_eq!(is_b64token_char(b), expected, "byte {b:#04x}");
        }
    }

    #[test]
    fn source_names_are_checked() {
        assert!(TokenSource::cookie("a b").check().is_err());
        assert!(TokenSource::cookie("").check().is_err());
        assert!(TokenSource::query("a=b").check().is_err());
        assert!(TokenSource::header(AUTHORIZATION).check().is_err());
        assert!(TokenSource::cookie("session").check().is_ok());
    }
}
