//! Tokens the authorization server vouches for (OAuth 2.0 Token Introspection, RFC 7662):
//! the core's side. Which tokens go there, one call per token at a time however many
//! requests carry it, a bounded number of calls at once, the answer read as a token's
//! claims, and the cache of answers, keyed by a digest of the token (never the token).
//!
//! The call itself is the plug-in's ([`crate::introspection`]): it is started with the
//! token and an [`Answered`] to give the response's body to, and ends by giving it (or by
//! dropping it, which counts as "could not be asked").

use std::collections::HashMap;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex, OnceLock, PoisonError, Weak};
use std::task::{Context, Poll};

use jsonwebtoken::crypto::CryptoProvider;
#[cfg(not(any(feature = "aws-lc-rs", feature = "rust-crypto")))]
use jsonwebtoken::jwk::ThumbprintHash;
use serde::Deserialize;

use super::wait::{Changes, KeysChanged};
use crate::AuthError;

/// The SHA-256 digest a token is known by, here and in the cache.
pub(crate) type Digest = [u8; 32];

/// Starts introspecting a token in the background; the call ends by giving its answer to
/// the [`Answered`] (once, whatever happens).
pub(crate) type Start = dyn Fn(&str, Answered) + Send + Sync;

/// What introspecting a token gave: the body of the endpoint's `200` answer (a JSON
/// object, RFC 7662 §2.2), or nothing when it could not be asked or did not answer.
pub(crate) type Reply = Result<Arc<[u8]>, Unreachable>;

/// The endpoint could not be asked, or its answer was not one.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Unreachable;

/// What the layer's introspection needs at request time (checked at `build()`).
pub(crate) struct Introspection {
    start: Box<Start>,
    /// Every token goes to the endpoint, JWTs too; else only tokens that are not a JWS.
    pub(crate) every_token: bool,
    /// How long an answer may be kept, in seconds (0: never kept), and how many answers.
    pub(crate) cache_for: u64,
    pub(crate) cache_capacity: usize,
    /// How many calls may run at once.
    max_running: usize,
    /// Answers are JWTs (RFC 9701), signed by this issuer's keys, for this client.
    pub(crate) signed: Option<SignedAnswers>,
    running: Arc<Mutex<HashMap<Digest, Arc<Flight>>>>,
}

/// Who signs the answers (RFC 9701), and for whom.
#[derive(Debug)]
pub(crate) struct SignedAnswers {
    /// The authorization server: its keys are the layer's for this issuer, and its answers
    /// name it as `iss`.
    pub(crate) issuer: String,
    /// The layer's client id, the answers' `aud`.
    pub(crate) client_id: String,
}

/// One call to the endpoint, shared by every request carrying its token (known by its
/// digest).
struct Flight {
    digest: Digest,
    reply: OnceLock<Reply>,
    ended: Arc<Changes>,
}

/// A request's wait for the call about its token; then [`answer`](Self::answer). (Small:
/// it waits inside the response future, whose size every request pays.)
pub(crate) struct Pending {
    wait: KeysChanged,
    flight: Arc<Flight>,
}

impl Future for Pending {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if self.flight.reply.get().is_some() {
            return Poll::Ready(());
        }
        Pin::new(&mut self.wait).poll(cx)
    }
}

impl Pending {
    /// The call's answer, once it has ended.
    pub(crate) fn answer(&self) -> Reply {
        self.flight.reply.get().cloned().unwrap_or(Err(Unreachable))
    }

    /// The digest of the token asked about.
    pub(crate) fn digest(&self) -> &Digest {
        &self.flight.digest
    }
}

/// Where the plug-in gives a call's answer. Dropped without one (the task panicked, its
/// runtime shut down), it answers [`Unreachable`]: no request waits forever.
pub(crate) struct Answered {
    flight: Arc<Flight>,
    running: Weak<Mutex<HashMap<Digest, Arc<Flight>>>>,
}

impl Answered {
    /// Ends the call with `reply`, waking every request waiting for it.
    pub(crate) fn send(self, reply: Reply) {
        let _ = self.flight.reply.set(reply);
    }
}

impl Drop for Answered {
    fn drop(&mut self) {
        let _ = self.flight.reply.set(Err(Unreachable));
        // The next request for this token asks again (after the cache, if it kept it).
        if let Some(running) = self.running.upgrade() {
            let mut running = running.lock().unwrap_or_else(PoisonError::into_inner);
            let digest = &self.flight.digest;
            if running
                .get(digest)
                .is_some_and(|f| Arc::ptr_eq(f, &self.flight))
            {
                running.remove(digest);
            }
        }
        self.flight.ended.announce();
    }
}

impl Introspection {
    pub(crate) fn new(
        start: Box<Start>,
        every_token: bool,
        (cache_for, cache_capacity): (u64, usize),
        max_running: usize,
        signed: Option<SignedAnswers>,
    ) -> Self {
        Introspection {
            start,
            every_token,
            cache_for,
            cache_capacity,
            max_running: max_running.max(1),
            signed,
            running: Arc::default(),
        }
    }

    /// Whether `token` is introspected rather than verified locally: every token, or one
    /// that is not a compact JWS (three segments) — an opaque reference, or a JWE only the
    /// authorization server can read.
    pub(crate) fn takes(&self, token: &str) -> bool {
        if self.every_token {
            return true;
        }
        // Found by `memchr`, a word at a time: this runs for every JWT too.
        let mut segments = token.splitn(4, '.');
        segments.nth(2).is_none() || segments.next().is_some()
    }

    /// The call about the token whose digest is `digest`: the one running already, or one
    /// started now. [`AuthError::IntrospectionUnavailable`] when as many calls as allowed
    /// are running for other tokens.
    pub(crate) fn ask(&self, token: &str, digest: Digest) -> Result<Pending, AuthError> {
        let answered = {
            let mut running = self.running.lock().unwrap_or_else(PoisonError::into_inner);
            if let Some(flight) = running.get(&digest) {
                return Ok(Pending {
                    wait: flight.ended.next(),
                    flight: Arc::clone(flight),
                });
            }
            if running.len() >= self.max_running {
                return Err(AuthError::IntrospectionUnavailable);
            }
            let flight = Arc::new(Flight {
                digest,
                reply: OnceLock::new(),
                ended: Arc::default(),
            });
            running.insert(digest, Arc::clone(&flight));
            Answered {
                flight,
                running: Arc::downgrade(&self.running),
            }
        };
        // Taken before the call starts: it may end before the request waits.
        let pending = Pending {
            wait: answered.flight.ended.next(),
            flight: Arc::clone(&answered.flight),
        };
        (self.start)(token, answered);
        Ok(pending)
    }
}

/// The digest a token is known by: SHA-256, by the crypto backend compiled in (on the
/// stack: this runs for every introspected request), else the provider's.
pub(crate) fn digest(token: &str, provider: &CryptoProvider) -> Result<Digest, AuthError> {
    #[cfg(feature = "aws-lc-rs")]
    {
        let _ = provider;
        let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, token.as_bytes());
        Digest::try_from(digest.as_ref()).map_err(|_| AuthError::IntrospectionUnavailable)
    }
    #[cfg(all(feature = "rust-crypto", not(feature = "aws-lc-rs")))]
    {
        use sha2::Digest as _;
        let _ = provider;
        Ok(sha2::Sha256::digest(token.as_bytes()).into())
    }
    #[cfg(not(any(feature = "aws-lc-rs", feature = "rust-crypto")))]
    {
        let digest = (provider.key_utils.compute_digest)(token.as_bytes(), ThumbprintHash::SHA256);
        digest
            .ok()
            .and_then(|d| Digest::try_from(d.as_slice()).ok())
            .ok_or(AuthError::IntrospectionUnavailable)
    }
}

/// What of an RFC 7662 §2.2 answer is read before its claims: whether the token is active,
/// and of which type it is.
pub(crate) fn read_status(body: &[u8]) -> Result<(), AuthError> {
    #[derive(Deserialize)]
    struct Status<'a> {
        active: bool,
        #[serde(borrow, default)]
        token_type: Option<std::borrow::Cow<'a, str>>,
    }
    // An answer that is not one is the server's fault, not the client's: never a pass.
    let status: Status<'_> = serde_json::from_slice(body).map_err(|err| {
        tracing::warn!(%err, "the introspection endpoint's answer is not an RFC 7662 response");
        AuthError::IntrospectionUnavailable
    })?;
    if !status.active {
        return Err(AuthError::InactiveToken);
    }
    // RFC 7662 §2.2: a token type of RFC 6749 §7.1 (case-insensitive); a refresh token,
    // say, is not an access token.
    match status.token_type.as_deref() {
        None => Ok(()),
        Some(t) if t.eq_ignore_ascii_case("bearer") || t.eq_ignore_ascii_case("dpop") => Ok(()),
        Some(_) => Err(AuthError::InvalidType),
    }
}

/// The members of an RFC 9701 §5 answer's payload that are checked, and the answer itself
/// (its `token_introspection` member, as it was written).
pub(crate) fn read_signed_payload(
    payload: &[u8],
    signed: &SignedAnswers,
) -> Result<Vec<u8>, &'static str> {
    #[derive(Deserialize)]
    struct Signed<'a> {
        iss: String,
        aud: serde_json::Value,
        #[serde(borrow)]
        token_introspection: &'a serde_json::value::RawValue,
    }
    let answer: Signed<'_> =
        serde_json::from_slice(payload).map_err(|_| "no iss, aud or token_introspection")?;
    if answer.iss != signed.issuer {
        return Err("signed by another issuer");
    }
    let for_us = match &answer.aud {
        serde_json::Value::String(aud) => *aud == signed.client_id,
        serde_json::Value::Array(auds) => auds.iter().any(|a| *a == *signed.client_id),
        _ => false,
    };
    if !for_us {
        return Err("for another client");
    }
    Ok(answer.token_introspection.get().as_bytes().to_vec())
}

impl fmt::Debug for Introspection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Introspection")
            .field("every_token", &self.every_token)
            .field("cache_for", &self.cache_for)
            .field("max_running", &self.max_running)
            .field("signed", &self.signed)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use std::task::Waker;

    use super::*;

    fn introspection(max_running: usize) -> (Introspection, Arc<Mutex<Vec<Answered>>>) {
        let calls = Arc::new(Mutex::new(Vec::new()));
        let kept = Arc::clone(&calls);
        let start = Box::new(move |_: &str, answered| kept.lock().unwrap().push(answered));
        (
            Introspection::new(start, false, (60, 100), max_running, None),
            calls,
        )
    }

    #[test]
    fn only_tokens_that_are_not_a_jws_are_taken_unless_every_token_is() {
        let (mut i, _) = introspection(1);
        assert!(i.takes("2YotnFZFEjr1zCsicMWpAA"));
        assert!(i.takes("a.b.c.d.e"));
        assert!(!i.takes("a.b.c"));
        i.every_token = true;
        assert!(i.takes("a.b.c"));
    }

    #[test]
    fn requests_for_one_token_share_one_call_and_calls_are_bounded() {
        let (i, calls) = introspection(2);
        let mut cx = Context::from_waker(Waker::noop());
        let mut first = i.ask("t1", [1; 32]).unwrap();
        let mut second = i.ask("t1", [1; 32]).unwrap();
        assert_eq!(calls.lock().unwrap().len(), 1);
        let _other = i.ask("t2", [2; 32]).unwrap();
        assert_eq!(calls.lock().unwrap().len(), 2);
        assert!(matches!(
            i.ask("t3", [3; 32]),
            Err(AuthError::IntrospectionUnavailable)
        ));
        assert!(Pin::new(&mut first).poll(&mut cx).is_pending());
        let answered = calls.lock().unwrap().remove(0);
        answered.send(Ok(Arc::from(&b"{\"active\":true}"[..])));
        assert!(Pin::new(&mut first).poll(&mut cx).is_ready());
        assert!(Pin::new(&mut second).poll(&mut cx).is_ready());
        assert_eq!(&*first.answer().unwrap(), b"{\"active\":true}");
        // Ended: the slot is free, and the same token is asked again.
        assert!(i.ask("t3", [3; 32]).is_ok());
        assert!(i.ask("t1", [1; 32]).is_err());
    }

    #[test]
    fn a_call_dropped_without_an_answer_ends_as_unreachable() {
        let (i, calls) = introspection(1);
        let mut cx = Context::from_waker(Waker::noop());
        let mut waiting = i.ask("t", [7; 32]).unwrap();
        calls.lock().unwrap().clear();
        assert!(Pin::new(&mut waiting).poll(&mut cx).is_ready());
        assert!(waiting.answer().is_err());
        assert!(i.ask("t", [7; 32]).is_ok());
    }

    #[test]
    fn the_status_is_read_as_rfc_7662_says() {
        // RFC 7662 §2.2's example answer.
        let example = br#"{"active":true,"client_id":"l238j323ds-23ij4","username":"jdoe",
            "scope":"read write dolphin","sub":"Z5O3upPC88QrAjx00dis","aud":"https://protected.example.net/resource",
            "iss":"https://server.example.com/","exp":1419356238,"iat":1419350238,"extension_field":"twenty-seven"}"#;
        assert_eq!(read_status(example), Ok(()));
        assert_eq!(
            read_status(br#"{"active":false}"#),
            Err(AuthError::InactiveToken)
        );
        let refresh = br#"{"active":true,"token_type":"refresh_token"}"#;
        assert_eq!(read_status(refresh), Err(AuthError::InvalidType));
        assert_eq!(
            read_status(br#"{"active":true,"token_type":"DPoP"}"#),
            Ok(())
        );
        for broken in [&b"{}"[..], b"{\"active\":\"true\"}", b"<html>", b""] {
            assert_eq!(
                read_status(broken),
                Err(AuthError::IntrospectionUnavailable)
            );
        }
    }
}
