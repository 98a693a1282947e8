//! [`Tokens`]: the current token as a ready `Authorization` value, and when to get the next.
//!
//! A token is used until its *refresh point*: `refresh_before` ahead of its expiry, or half
//! its lifetime ahead for tokens shorter than twice that. The first request past that point
//! fetches the next one; requests arriving meanwhile wait for that same fetch (one fetch at
//! a time). When a fetch fails while the current token is still valid, the current token is
//! sent and the fetch is tried again a second later, so an outage of the token endpoint
//! shorter than the refresh margin costs no request.

use std::sync::Arc;
use std::time::{Duration, Instant};

use arc_swap::ArcSwapOption;
use http::HeaderValue;
use tokio::sync::Mutex;

use super::source::{AccessToken, TokenError, TokenProvider};

/// How soon a failed fetch is tried again while the current token is still valid.
const RETRY_AFTER_FAILURE: Duration = Duration::from_secs(1);

/// The token a client layer sends, refreshed before it expires.
pub(crate) struct Tokens {
    provider: Arc<dyn TokenProvider>,
    refresh_before: Duration,
    current: ArcSwapOption<Current>,
    /// Held while a fetch is in flight, so that there is one at a time.
    fetching: Mutex<()>,
}

struct Current {
    header: HeaderValue,
    /// From then on, the next request fetches a new token.
    refresh_at: Option<Instant>,
    /// Until then, the token may still be sent if a fetch fails.
    expires_at: Option<Instant>,
}

impl Tokens {
    pub(crate) fn new(provider: Arc<dyn TokenProvider>, refresh_before: Duration) -> Self {
        Tokens {
            provider,
            refresh_before,
            current: ArcSwapOption::empty(),
            fetching: Mutex::new(()),
        }
    }

    pub(crate) fn provider(&self) -> &Arc<dyn TokenProvider> {
        &self.provider
    }

    /// The current token, unless there is none or it has reached its refresh point.
    pub(crate) fn fresh(&self, now: Instant) -> Option<HeaderValue> {
        let current = self.current.load();
        let current = current.as_ref()?;
        match current.refresh_at {
            Some(at) if now >= at => None,
            _ => Some(current.header.clone()),
        }
    }

    /// A token to send now: fetches one unless another caller just did.
    pub(crate) async fn get(&self) -> Result<HeaderValue, TokenError> {
        let _one_at_a_time = self.fetching.lock().await;
        let now = Instant::now();
        if let Some(header) = self.fresh(now) {
            return Ok(header);
        }
        match self.provider.fetch().await {
            Ok(token) => {
                let current = self.current_of(&token, Instant::now())?;
                let header = current.header.clone();
                self.current.store(Some(Arc::new(current)));
                Ok(header)
            }
            Err(err) => self.fall_back(err, Instant::now()),
        }
    }

    fn current_of(&self, token: &AccessToken, now: Instant) -> Result<Current, TokenError> {
        let header = HeaderValue::try_from(format!("Bearer {}", token.secret())).map_err(|_| {
            TokenError::InvalidResponse("the token cannot be sent in a header".into())
        })?;
        let lifetime = token.expires_in();
        let margin = lifetime.map(|lifetime| self.refresh_before.min(lifetime / 2));
        // `expires_in` is the token endpoint's: a lifetime past what an `Instant` can hold
        // is treated as no expiry rather than overflowing.
        Ok(Current {
            header: mark_sensitive(header),
            refresh_at: lifetime
                .zip(margin)
                .and_then(|(l, m)| now.checked_add(l - m)),
            expires_at: lifetime.and_then(|lifetime| now.checked_add(lifetime)),
        })
    }

    /// After a failed fetch: the current token while it is valid (tried again a second
    /// later), else the error.
    fn fall_back(&self, err: TokenError, now: Instant) -> Result<HeaderValue, TokenError> {
        let current = self.current.load_full();
        let Some(current) = current.filter(|c| c.expires_at.is_none_or(|at| now < at)) else {
            return Err(err);
        };
        tracing::warn!(error = %err, "could not refresh the access token; the current one is still valid");
        let retry_at = now + RETRY_AFTER_FAILURE;
        self.current.store(Some(Arc::new(Current {
            header: current.header.clone(),
            refresh_at: Some(current.expires_at.map_or(retry_at, |at| at.min(retry_at))),
            expires_at: current.expires_at,
        })));
        Ok(current.header.clone())
    }
}

fn mark_sensitive(mut header: HeaderValue) -> HeaderValue {
    // Keeps it out of HTTP/2's header compression tables, and out of `Debug` output.
    header.set_sensitive(true);
    header
}
