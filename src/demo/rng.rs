//! The generator's random source: a seeded ChaCha stream plus the few distributions the
//! demo needs (Poisson counts, normal and log-normal values), written here so that the same
//! seed gives the same bytes for as long as the lock file pins `rand`.

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

/// A seeded random source.
#[derive(Debug, Clone)]
pub(crate) struct DemoRng {
    inner: StdRng,
}

impl DemoRng {
    /// A stream for `seed`.
    pub(crate) fn new(seed: u64) -> Self {
        DemoRng {
            inner: StdRng::seed_from_u64(seed),
        }
    }

    /// Uniform in `[0, 1)`.
    pub(crate) fn unit(&mut self) -> f64 {
        self.inner.random::<f64>()
    }

    /// Uniform integer in `[lo, hi]`.
    pub(crate) fn int(&mut self, lo: u64, hi: u64) -> u64 {
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
        let i = self.int(0, items.len().saturating_sub(1) as u64) as usize;
        &items[i]
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

    /// A Poisson count with mean `lambda` (Knuth's method for small means, a rounded normal
    /// above 30, where it is accurate enough for traffic).
    pub(crate) fn poisson(&mut self, lambda: f64) -> u64 {
        if lambda.is_nan() || lambda <= 0.0 {
            return 0;
        }
        if lambda > 30.0 {
            return (lambda + lambda.sqrt() * self.normal()).round().max(0.0) as u64;
        }
        let limit = (-lambda).exp();
        let mut k = 0;
        let mut p = self.unit();
        while p > limit {
            k += 1;
            p *= self.unit();
        }
        k
    }

    /// `n` lowercase hex digits.
    pub(crate) fn hex(&mut self, n: usize) -> String {
        const HEX: &[u8; 16] = b"0123456789abcdef";
        (0..n)
            .map(|_| HEX[self.int(0, 15) as usize] as char)
            .collect()
    }

    /// A random version-4 UUID.
    pub(crate) fn uuid(&mut self) -> String {
        let v = self.int(8, 11);
        format!(
            "{}-{}-4{}-{:x}{}-{}",
            self.hex(8),
            self.hex(4),
            self.hex(3),
            v,
            self.hex(3),
            self.hex(12)
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn poisson_mean_is_close_to_lambda() {
        let mut r = DemoRng::new(7);
        for lambda in [0.2, 3.0, 12.0, 80.0] {
            let n = 20_000;
            let sum: u64 = (0..n).map(|_| r.poisson(lambda)).sum();
            let mean = sum as f64 / n as f64;
            assert!(
                (mean - lambda).abs() < 0.05 * lambda + 0.02,
                "{lambda}: {mean}"
            );
        }
        assert_eq!(r.poisson(0.0), 0);
        assert_eq!(r.poisson(f64::NAN), 0);
    }

    #[test]
    fn uuid_has_version_4_shape() {
        let mut r = DemoRng::new(1);
        let u = r.uuid();
        let parts: Vec<&str> = u.split('-').collect();
        assert_eq!(
            parts.iter().map(|p| p.len()).collect::<Vec<_>>(),
            [8, 4, 4, 4, 12]
        );
        assert!(parts[2].starts_with('4'));
        assert!(u.chars().all(|c| c == '-' || c.is_ascii_hexdigit()));
    }
}
