//! Retry delays for the background loops (remote keys, discovery, the Redis subscription):
//! exponential, capped, and jittered, so that replicas that lost a server at the same
//! instant do not all come back to it at the same instant.

use std::time::Duration;

/// Exponential backoff with "equal jitter": after the n-th failure in a row, a random wait
/// in the upper half of `min(initial × 2ⁿ⁻¹, max)`. Never zero, never above `max`.
#[derive(Debug, Clone)]
pub(crate) struct Backoff {
    initial: Duration,
    max: Duration,
    failures: u32,
}

impl Backoff {
    pub(crate) fn new(initial: Duration, max: Duration) -> Self {
        // The cap wins: a cap below the first step makes every step the cap.
        Backoff {
            initial: initial.min(max),
            max,
            failures: 0,
        }
    }

    /// After a success: the next failure waits about `initial` again.
    pub(crate) fn reset(&mut self) {
        self.failures = 0;
    }

    /// The wait after one more failure.
    pub(crate) fn next(&mut self) -> Duration {
        self.failures = self.failures.saturating_add(1);
        let ceiling = self.ceiling();
        let half = ceiling / 2;
        half + (ceiling - half).mul_f64(random_unit())
    }

    /// The longest wait after the failures so far.
    fn ceiling(&self) -> Duration {
        let doublings = self.failures.saturating_sub(1).min(30);
        self.initial.saturating_mul(1 << doublings).min(self.max)
    }
}

/// A random number in `[0, 1)`; 1 when the system has no randomness to give (no jitter then,
/// still bounded).
fn random_unit() -> f64 {
    let mut bytes = [0u8; 8];
    match getrandom::fill(&mut bytes) {
        // 53 random bits: every value is exact in an f64.
        Ok(()) => (u64::from_le_bytes(bytes) >> 11) as f64 / (1u64 << 53) as f64,
        Err(_) => 1.0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_wait_is_in_the_upper_half_of_its_capped_exponential_step() {
        let (initial, max) = (Duration::from_millis(100), Duration::from_secs(5));
        let mut backoff = Backoff::new(initial, max);
        for failure in 1..=40u32 {
            let ceiling = (initial * 2u32.pow(failure.min(20) - 1)).min(max);
            for _ in 0..50 {
                let mut probe = backoff.clone();
                let wait = probe.next();
                assert!(
                    wait >= ceiling / 2 && wait <= ceiling,
                    "{failure}: {wait:?}"
                );
            }
            let wait = backoff.next();
            assert!(wait <= max && !wait.is_zero(), "{failure}: {wait:?}");
        }
        // A success starts again from the first step.
        backoff.reset();
        let wait = backoff.next();
        assert!(wait >= initial / 2 && wait <= initial, "{wait:?}");
    }

    #[test]
    fn a_cap_below_the_first_step_caps_every_step() {
        let mut backoff = Backoff::new(Duration::from_secs(2), Duration::from_secs(1));
        for _ in 0..5 {
            let wait = backoff.next();
            assert!(wait >= Duration::from_millis(500) && wait <= Duration::from_secs(1));
        }
    }

    #[test]
    fn random_units_are_in_the_unit_interval() {
        for _ in 0..1000 {
            let u = random_unit();
            assert!((0.0..1.0).contains(&u), "{u}");
        }
    }
}
