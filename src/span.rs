//! The `jwt_auth` span: one per request through the layer, the parent of whatever the inner
//! service does with it. Its fields are documented for users in
//! [`observability`](crate::observability).

use serde::Deserialize;
use tracing::Span;
use tracing::field::Empty;

use crate::AuthError;
use crate::verifier::jws;

/// A new `jwt_auth` span, its fields to be recorded.
#[inline]
pub(crate) fn request() -> Span {
    tracing::info_span!(
        "jwt_auth",
        outcome = Empty,
        reason = Empty,
        jwt.sub = Empty,
        jwt.iss = Empty,
        jwt.kid = Empty,
    )
}

/// Records how a request was decided: `Ok(true)` accepted, `Ok(false)` anonymous.
#[inline]
pub(crate) fn outcome(span: &Span, outcome: Result<bool, AuthError>) {
    if span.is_disabled() {
        return;
    }
    match outcome {
        Ok(true) => span.record("outcome", "accepted"),
        Ok(false) => span.record("outcome", "anonymous"),
        Err(err) => span
            .record("outcome", "rejected")
            .record("reason", err.reason()),
    };
}

/// Records who a verified token speaks for. `token` has passed every check: its header and
/// payload are read again here, and only when the span is enabled.
#[inline]
pub(crate) fn verified(span: &Span, token: &str) {
    if span.is_disabled() {
        return;
    }
    record_verified(span, token);
}

#[cold]
fn record_verified(span: &Span, token: &str) {
    #[derive(Deserialize)]
    struct Who {
        sub: Option<String>,
        iss: Option<String>,
    }
    let Ok(jws) = jws::parse(token, None) else {
        return;
    };
    if let Some(kid) = &jws.header.kid {
        span.record("jwt.kid", &**kid);
    }
    let who = jws::decode_then(jws.payload, |payload| {
        Ok(serde_json::from_slice::<Who>(payload))
    });
    if let Ok(Ok(who)) = who {
        if let Some(sub) = &who.sub {
            span.record("jwt.sub", sub.as_str());
        }
        if let Some(iss) = &who.iss {
            span.record("jwt.iss", iss.as_str());
        }
    }
}
