//! A small DDSketch: quantiles of a stream of numbers with a bounded relative error, in
//! bounded memory.
//!
//! Owns: [`QuantileSketch`]. Values are mapped to logarithmic bins of ratio
//! `γ = (1 + α) / (1 − α)`, so any quantile is returned within relative error `α` of a value
//! of the right rank. Positive and negative values have their own bins; values whose
//! magnitude is below [`MIN_MAGNITUDE`] count as zero; NaN and infinities are ignored. The
//! number of bins is capped: past the cap the bins of the smallest magnitudes are merged, so
//! the upper quantiles (the ones drift cares about) keep their accuracy.
//!
//! Used by [`super::drift`] for the values of one open bucket of a numeric slot.

use serde::{Deserialize, Serialize};

/// Magnitudes below this count as zero.
pub const MIN_MAGNITUDE: f64 = 1e-9;

/// Bins kept per sign before the smallest magnitudes are merged.
const MAX_BINS: usize = 1024;

/// A DDSketch (relative-error quantile sketch).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct QuantileSketch {
    /// `ln γ`.
    ln_gamma: f64,
    /// Bins of positive values, sorted by key: (key, count).
    pos: Vec<(i32, u64)>,
    /// Bins of negative values by magnitude, sorted by key: (key, count).
    neg: Vec<(i32, u64)>,
    /// Values counted as zero.
    zeros: u64,
    /// All values counted.
    count: u64,
}

impl Default for QuantileSketch {
    fn default() -> Self {
        QuantileSketch::new(0.01)
    }
}

impl QuantileSketch {
    /// An empty sketch with relative accuracy `alpha` (clamped to 0.0001..=0.2).
    pub fn new(alpha: f64) -> Self {
        let alpha = if alpha.is_finite() {
            alpha.clamp(1e-4, 0.2)
        } else {
            0.01
        };
        let gamma = (1.0 + alpha) / (1.0 - alpha);
        QuantileSketch {
            ln_gamma: gamma.ln(),
            pos: Vec::new(),
            neg: Vec::new(),
            zeros: 0,
            count: 0,
        }
    }

    /// Add one value; NaN and infinities are ignored.
    pub fn add(&mut self, value: f64) {
        if !value.is_finite() {
            return;
        }
        self.count += 1;
        let m = value.abs();
        if m < MIN_MAGNITUDE {
            self.zeros += 1;
            return;
        }
        let key = (m.ln() / self.ln_gamma).ceil() as i32;
        let bins = if value > 0.0 {
            &mut self.pos
        } else {
            &mut self.neg
        };
        match bins.binary_search_by_key(&key, |b| b.0) {
            Ok(i) => bins[i].1 += 1,
            Err(i) => {
                bins.insert(i, (key, 1));
                if bins.len() > MAX_BINS {
                    // Merge the two smallest magnitudes: the low end loses accuracy first.
                    let (_, c) = bins.remove(0);
                    bins[0].1 += c;
                }
            }
        }
    }

    /// How many (finite) values were added.
    pub fn count(&self) -> u64 {
        self.count
    }

    /// Whether no value was added.
    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// Forget all values, keeping the accuracy.
    pub fn clear(&mut self) {
        self.pos.clear();
        self.neg.clear();
        self.zeros = 0;
        self.count = 0;
    }

    /// Add all values of `other` (which must have the same accuracy to stay exact).
    pub fn merge(&mut self, other: &QuantileSketch) {
        for (bins, theirs) in [(&mut self.pos, &other.pos), (&mut self.neg, &other.neg)] {
            for &(k, c) in theirs {
                match bins.binary_search_by_key(&k, |b| b.0) {
                    Ok(i) => bins[i].1 += c,
                    Err(i) => bins.insert(i, (k, c)),
                }
            }
            while bins.len() > MAX_BINS {
                let (_, c) = bins.remove(0);
                bins[0].1 += c;
            }
        }
        self.zeros += other.zeros;
        self.count += other.count;
    }

    /// The value of a bin key (the point of least relative error in the bin).
    fn value_of(&self, key: i32) -> f64 {
        let gamma = self.ln_gamma.exp();
        2.0 * (self.ln_gamma * key as f64).exp() / (gamma + 1.0)
    }

    /// The `q`-quantile (0..=1, clamped), or `None` when empty or `q` is NaN.
    pub fn quantile(&self, q: f64) -> Option<f64> {
        if self.count == 0 || q.is_nan() {
            return None;
        }
        let rank = (q.clamp(0.0, 1.0) * (self.count - 1) as f64).floor() as u64;
        let mut seen = 0u64;
        // Negative values from the largest magnitude (most negative) up.
        for &(k, c) in self.neg.iter().rev() {
            seen += c;
            if seen > rank {
                return Some(-self.value_of(k));
            }
        }
        seen += self.zeros;
        if seen > rank {
            return Some(0.0);
        }
        for &(k, c) in &self.pos {
            seen += c;
            if seen > rank {
                return Some(self.value_of(k));
            }
        }
        // Unreachable when counts are consistent; the largest value is the safe answer.
        self.pos
            .last()
            .map(|&(k, _)| self.value_of(k))
            .or(Some(0.0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn exact(values: &[f64], q: f64) -> f64 {
        let mut v = values.to_vec();
        v.sort_by(|a, b| a.partial_cmp(b).unwrap());
        v[(q * (v.len() - 1) as f64).floor() as usize]
    }

    #[test]
    fn quantiles_of_a_known_stream_are_within_the_relative_error() {
        let mut s = QuantileSketch::new(0.01);
        let values: Vec<f64> = (1..=1000).map(|i| i as f64).collect();
        for &v in &values {
            s.add(v);
        }
        assert_eq!(s.count(), 1000);
        for q in [0.0, 0.5, 0.95, 0.99, 1.0] {
            let got = s.quantile(q).unwrap();
            let want = exact(&values, q);
            assert!((got - want).abs() <= 0.0101 * want, "q{q}: {got} vs {want}");
        }
    }

    #[test]
    fn zeros_negatives_and_non_finite_values() {
        let mut s = QuantileSketch::new(0.01);
        for v in [
            -5.0,
            0.0,
            0.0,
            3.0,
            f64::NAN,
            f64::INFINITY,
            f64::NEG_INFINITY,
        ] {
            s.add(v);
        }
        assert_eq!(s.count(), 4);
        assert!((s.quantile(0.0).unwrap() + 5.0).abs() < 0.06);
        assert_eq!(s.quantile(0.5).unwrap(), 0.0);
        assert!((s.quantile(1.0).unwrap() - 3.0).abs() < 0.04);
        assert_eq!(QuantileSketch::new(0.01).quantile(0.5), None);
        assert_eq!(s.quantile(f64::NAN), None);
    }

    #[test]
    fn merge_equals_adding_everything_and_clear_empties() {
        let mut a = QuantileSketch::new(0.02);
        let mut b = QuantileSketch::new(0.02);
        let mut all = QuantileSketch::new(0.02);
        for i in 0..500 {
            let v = (i as f64 * 0.37).sin() * 100.0 + 120.0;
            if i % 3 == 0 {
                a.add(v)
            } else {
                b.add(v)
            }
            all.add(v);
        }
        a.merge(&b);
        assert_eq!(a, all);
        a.clear();
        assert!(a.is_empty());
    }

    #[test]
    fn bins_stay_bounded_on_a_huge_range() {
        let mut s = QuantileSketch::new(0.0001);
        for i in 0..20_000 {
            s.add(1.0001f64.powi(i * 7));
        }
        assert!(s.pos.len() <= MAX_BINS);
        let top = s.quantile(1.0).unwrap();
        let want = 1.0001f64.powi(19_999 * 7);
        assert!((top - want).abs() <= 0.001 * want, "{top} vs {want}");
    }

    proptest! {
        #[test]
        fn any_quantile_is_within_alpha_of_the_exact_rank(
            values in proptest::collection::vec(-1e6f64..1e6, 1..300),
            q in 0.0f64..=1.0,
        ) {
            let mut s = QuantileSketch::new(0.01);
            for &v in &values { s.add(v); }
            let got = s.quantile(q).unwrap();
            let want = exact(&values, q);
            let tol = 0.0101 * want.abs() + MIN_MAGNITUDE * 2.0;
            prop_assert!((got - want).abs() <= tol, "{} vs {}", got, want);
        }
    }
}
