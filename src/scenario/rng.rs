//! The scenario's random source: a seeded ChaCha stream (`StdRng`) and the handful of
//! distributions the platform needs. Written apart from the shop demo's on purpose: the two
//! generators share no code beyond the labels format.
//!
//! Each concern draws from its own stream ([`ScenarioRng::stream`]), so the normal traffic of
//! a seed is the same bytes whichever incidents are injected into it.

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

/// A seeded random source.
#[derive(Debug, Clone)]
pub(crate) struct ScenarioRng {
    inner: StdRng,
}

impl ScenarioRng {
    /// The stream named `name` of `seed` (independent streams for independent concerns).
    pub(crate) fn stream(seed: u64, name: &str) -> Self {
        let h = xxhash_rust::xxh3::xxh3_64_with_seed(name.as_bytes(), seed);
        ScenarioRng {
            inner: StdRng::seed_from_u64(h),
        }
    }

    /// Uniform in `[0, 1)`.
    pub(crate) fn unit(&mut self) -> f64 {
        self.inner.random::<f64>()
    }

    /// Uniform in `[lo, hi)`.
    pub(crate) fn uniform(&mut self, lo: f64, hi: f64) -> f64 {
        lo + (hi - lo) * self.unit()
    }

    /// Uniform integer in `[lo, hi]`.
    pub(crate) fn int(&mut self, lo: i64, hi: i64) -> i64 {
        if hi <= lo {
            return lo;
        }
        self.inner.random_range(lo..=hi)
    }

    /// True with probability `p`.
    pub(crate) fn chance(&mut self, p: f64) -> bool {
        self.unit() < p
    }

    /// One element of a non-empty slice.
    pub(crate) fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.int(0, items.len() as i64 - 1) as usize]
    }

    /// One element of a non-empty slice, the first ones more often (Zipf-like, exponent 1).
    pub(crate) fn pick_skewed<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        let n = items.len() as f64;
        // inverse CDF of a continuous 1/x law on [1, n+1)
        let x = ((n + 1.0).ln() * self.unit()).exp() - 1.0;
        &items[(x as usize).min(items.len() - 1)]
    }

    /// Standard normal (Box-Muller).
    pub(crate) fn normal(&mut self) -> f64 {
        let u1 = self.unit().max(f64::MIN_POSITIVE);
        let u2 = self.unit();
        (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
    }

    /// Log-normal with the given median and log-scale spread.
    pub(crate) fn lognormal(&mut self, median: f64, sigma: f64) -> f64 {
        median * (sigma * self.normal()).exp()
    }

    /// A Poisson count with mean `lambda` (inversion below 40, a rounded normal above).
    pub(crate) fn poisson(&mut self, lambda: f64) -> u64 {
        if lambda.is_nan() || lambda <= 0.0 {
            return 0;
        }
        if lambda > 40.0 {
            return (lambda + lambda.sqrt() * self.normal()).round().max(0.0) as u64;
        }
        let mut k = 0u64;
        let mut p = (-lambda).exp();
        let mut cdf = p;
        let u = self.unit();
        while u > cdf && k < 400 {
            k += 1;
            p *= lambda / k as f64;
            cdf += p;
        }
        k
    }

    /// `n` characters from `alphabet`.
    pub(crate) fn chars(&mut self, alphabet: &[u8], n: usize) -> String {
        (0..n).map(|_| *self.pick(alphabet) as char).collect()
    }

    /// `n` lowercase hex digits.
    pub(crate) fn hex(&mut self, n: usize) -> String {
        self.chars(b"0123456789abcdef", n)
    }

    /// `n` decimal digits (the first not zero).
    pub(crate) fn digits(&mut self, n: usize) -> String {
        let mut s = self.chars(b"123456789", 1);
        s.push_str(&self.chars(b"0123456789", n.saturating_sub(1)));
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn streams_are_deterministic_and_independent() {
        let a: Vec<f64> = (0..5)
            .map({
                let mut r = ScenarioRng::stream(1, "x");
                move |_| r.unit()
            })
            .collect();
        let b: Vec<f64> = (0..5)
            .map({
                let mut r = ScenarioRng::stream(1, "x");
                move |_| r.unit()
            })
            .collect();
        let c: Vec<f64> = (0..5)
            .map({
                let mut r = ScenarioRng::stream(1, "y");
                move |_| r.unit()
            })
            .collect();
        assert_eq!(a, b);
        assert_ne!(a, c);
    }

    #[test]
    fn poisson_mean_is_close_to_lambda() {
        let mut r = ScenarioRng::stream(3, "p");
        for lambda in [0.05, 0.7, 6.0, 35.0, 120.0] {
            let n = 20_000;
            let mean = (0..n).map(|_| r.poisson(lambda)).sum::<u64>() as f64 / n as f64;
            assert!(
                (mean - lambda).abs() < 0.05 * lambda + 0.01,
                "{lambda}: {mean}"
            );
        }
        assert_eq!(r.poisson(0.0), 0);
        assert_eq!(r.poisson(f64::NAN), 0);
    }

    #[test]
    fn skewed_pick_prefers_the_head_but_reaches_the_tail() {
        let mut r = ScenarioRng::stream(5, "z");
        let items: Vec<usize> = (0..20).collect();
        let mut counts = [0u32; 20];
        for _ in 0..20_000 {
            counts[*r.pick_skewed(&items)] += 1;
        }
        assert!(counts[0] > counts[10] * 3, "{counts:?}");
        assert!(counts[19] > 0, "{counts:?}");
    }
}
