//! One token, start to end: read the header, pick the key, check the signature, check the
//! claims, decode the claims type.

use std::time::{SystemTime, UNIX_EPOCH};

use serde::de::DeserializeOwned;

use crate::AuthError;
use crate::builder::Config;
use crate::{jws, verifier};

impl Config {
    /// Verifies `token` at time `now` (seconds since the epoch) and decodes its claims.
    pub(crate) fn verify<C: DeserializeOwned>(
        &self,
        token: &str,
        now: u64,
    ) -> Result<C, AuthError> {
        if token.len() > self.max_token_size {
            return Err(AuthError::TokenTooLarge);
        }
        let jws = jws::parse(token)?;
        let alg = jws.header.alg;
        if !self.algorithms.contains(&alg) {
            return Err(AuthError::AlgorithmNotAllowed);
        }
        let signature = jws::decode(jws.signature)?;
        let mut candidates = self.keys.select(jws.header.kid.as_deref(), alg).peekable();
        if candidates.peek().is_none() {
            return Err(AuthError::UnknownKey);
        }
        let message = jws.signing_input.as_bytes();
        let verified = candidates.any(|entry| {
            verifier::verify(self.provider, entry.id, &entry.key, alg, message, &signature)
        });
        if !verified {
            return Err(AuthError::InvalidSignature);
        }
        // Only now, with the signature checked, is the payload read.
        let claims = jws::decode_then(jws.payload, |payload| {
            self.validation.check(payload, now)?;
            serde_json::from_slice(payload).map_err(|_| AuthError::InvalidClaims)
        });
        claims.map_err(|err| match err {
            AuthError::MalformedToken => AuthError::InvalidClaims,
            err => err,
        })
    }
}

/// The current time in seconds since the epoch (0 if the clock is before 1970, which makes
/// every token with `nbf` not yet valid rather than valid).
pub(crate) fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}
