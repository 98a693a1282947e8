//! The metrics (feature `metrics`), through the `metrics` facade. Their names, kinds and
//! labels are documented for users in [`observability`](crate::observability). Without the
//! feature each function here is empty and inlined away: no cost.

#![cfg_attr(not(feature = "metrics"), allow(unused_variables))]

use std::time::Duration;

use crate::AuthError;

/// One request decided: accepted, anonymous (an optional layer without a token), or
/// rejected for `reason`.
#[inline(always)]
pub(crate) fn request(outcome: Result<bool, AuthError>) {
    #[cfg(feature = "metrics")]
    match outcome {
        Ok(true) => {
            ::metrics::counter!("jwt_auth_requests_total", "outcome" => "accepted").increment(1)
        }
        Ok(false) => {
            ::metrics::counter!("jwt_auth_requests_total", "outcome" => "anonymous").increment(1)
        }
        Err(err) => ::metrics::counter!(
            "jwt_auth_requests_total", "outcome" => "rejected", "reason" => err.reason()
        )
        .increment(1),
    }
}

/// One lookup in the verified-token cache.
#[inline(always)]
pub(crate) fn cache_lookup(hit: bool) {
    #[cfg(feature = "metrics")]
    {
        let result = if hit { "hit" } else { "miss" };
        ::metrics::counter!("jwt_auth_token_cache_lookups_total", "result" => result).increment(1);
    }
}

/// One fetch of remote keys, and on success how many keys the set now has.
#[cfg(feature = "jwks")]
#[inline(always)]
pub(crate) fn key_fetch(took: Duration, keys: Option<usize>) {
    #[cfg(feature = "metrics")]
    {
        let outcome = if keys.is_some() { "success" } else { "failure" };
        ::metrics::counter!("jwt_auth_key_fetches_total", "outcome" => outcome).increment(1);
        ::metrics::histogram!("jwt_auth_key_fetch_duration_seconds", "outcome" => outcome)
            .record(took.as_secs_f64());
        if let Some(keys) = keys {
            #[allow(clippy::cast_precision_loss)]
            ::metrics::gauge!("jwt_auth_keys").set(keys as f64);
        }
    }
}

/// One call to the introspection endpoint: answered (`200`, whatever it said), or not,
/// after `took`.
#[cfg(feature = "jwks")]
#[inline(always)]
pub(crate) fn introspection(took: Duration, answered: bool) {
    #[cfg(feature = "metrics")]
    {
        let outcome = if answered { "answered" } else { "failure" };
        ::metrics::counter!("jwt_auth_introspections_total", "outcome" => outcome).increment(1);
        ::metrics::histogram!("jwt_auth_introspection_duration_seconds", "outcome" => outcome)
            .record(took.as_secs_f64());
    }
}

/// One revocation check: answered from the local view, or by the store after `took`.
#[inline(always)]
pub(crate) fn revocation_check(revoked: Option<bool>, took: Option<Duration>) {
    #[cfg(feature = "metrics")]
    {
        let source = if took.is_some() { "store" } else { "local" };
        let outcome = match revoked {
            Some(false) => "not_revoked",
            Some(true) => "revoked",
            None => "error",
        };
        ::metrics::counter!("jwt_auth_revocation_checks_total", "source" => source, "outcome" => outcome)
            .increment(1);
        if let Some(took) = took {
            ::metrics::histogram!("jwt_auth_revocation_check_duration_seconds")
                .record(took.as_secs_f64());
        }
    }
}

/// The shared revocation store was found empty or replaced; this replica wrote `restored`
/// revocations back.
#[cfg(feature = "redis")]
pub(crate) fn revocation_store_reset(restored: usize) {
    #[cfg(feature = "metrics")]
    {
        ::metrics::counter!("jwt_auth_revocation_store_resets_total").increment(1);
        ::metrics::counter!("jwt_auth_revocations_restored_total").increment(restored as u64);
    }
}

/// A refresh token presented a second time.
#[inline(always)]
pub(crate) fn refresh_reuse() {
    #[cfg(feature = "metrics")]
    ::metrics::counter!("jwt_auth_refresh_reuse_detected_total").increment(1);
}
