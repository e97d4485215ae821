//! The one backoff policy of every retry: bulk writes and reads against the cluster, the
//! sidecar's reconnections, and notification deliveries.
//!
//! Retry `n` (1-based) waits `first · 2^(n-1)`, capped at `max`, then a point drawn in the
//! upper half of that (jitter, so that clients that failed together do not retry together,
//! "equal jitter" in AWS's "Exponential Backoff And Jitter", 2015). A leaf: it imports
//! nothing from the crate.

use rand::Rng;
use std::time::Duration;

/// Exponential backoff with jitter, as the module doc says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backoff {
    /// The wait before the first retry, before jitter.
    pub first: Duration,
    /// The longest wait, before jitter.
    pub max: Duration,
}

impl Backoff {
    /// The wait before retry `attempt` (1-based), before jitter.
    pub fn ceiling(&self, attempt: u32) -> Duration {
        let doublings = attempt.saturating_sub(1).min(30);
        self.first
            .saturating_mul(1 << doublings)
            .min(self.max)
            .max(Duration::from_millis(1))
    }

    /// The wait before retry `attempt` (1-based), with jitter from `rng`.
    pub fn delay_with(&self, attempt: u32, rng: &mut impl Rng) -> Duration {
        let full = self.ceiling(attempt);
        full.mul_f64(rng.random_range(0.5..=1.0))
    }

    /// The wait before retry `attempt` (1-based), with jitter.
    pub fn delay(&self, attempt: u32) -> Duration {
        self.delay_with(attempt, &mut rand::rng())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn waits_double_up_to_the_cap_and_land_in_their_upper_half() {
        let b = Backoff {
            first: Duration::from_millis(100),
            max: Duration::from_secs(1),
        };
        let ceilings: Vec<u128> = (1..8).map(|a| b.ceiling(a).as_millis()).collect();
        assert_eq!(ceilings, [100, 200, 400, 800, 1000, 1000, 1000]);
        assert_eq!(b.ceiling(0).as_millis(), 100);
        assert_eq!(b.ceiling(u32::MAX).as_millis(), 1000);
        let mut rng = rand::rngs::StdRng::seed_from_u64(7);
        let waits: Vec<Duration> = (0..200).map(|_| b.delay_with(3, &mut rng)).collect();
        assert!(waits
            .iter()
            .all(|d| *d >= Duration::from_millis(200) && *d <= Duration::from_millis(400)));
        let distinct: std::collections::BTreeSet<_> = waits.iter().collect();
        assert!(distinct.len() > 100, "jittered: {}", distinct.len());
        let zero = Backoff {
            first: Duration::ZERO,
            max: Duration::ZERO,
        };
        assert_eq!(zero.ceiling(5), Duration::from_millis(1));
    }
}
