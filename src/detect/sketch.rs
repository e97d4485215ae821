//! Quantiles of a stream of numbers with a bounded relative error, in bounded memory: a
//! DDSketch (Masson, Rim and Lee, "DDSketch: A Fast and Fully-Mergeable Quantile Sketch with
//! Relative-Error Guarantees", VLDB 2019), from the `sketches-ddsketch` crate.
//!
//! Owns: [`QuantileSketch`], the crate's sketch with the rules logwarden needs around it: an
//! accuracy clamped to a sane range, NaN and infinities ignored (counted nowhere), `None` for
//! a NaN quantile, and a saved form. Values whose magnitude is below [`MIN_MAGNITUDE`] count
//! as zero. The crate caps its bins and merges the smallest magnitudes first, so the upper
//! quantiles (the ones drift cares about) keep their accuracy; the 0 and 1 quantiles are the
//! exact minimum and maximum.
//!
//! Saved as `{"alpha": α, "ddsketch": "<base64>"}`, the bytes being the crate's encoding
//! (DataDog's Java `DDSketchWithExactSummaryStatistics` format). Models saved before the crate
//! was used hold the bins of logwarden's own sketch (`ln_gamma`, `pos`, `neg`, `zeros`,
//! `count`); they load into the crate's sketch bin by bin.
//!
//! Used by [`super::drift`] for the values of one open bucket of a numeric slot.

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine as _;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use sketches_ddsketch::{Config, DDSketch};

/// Magnitudes below this count as zero.
pub const MIN_MAGNITUDE: f64 = 1e-9;

/// Bins kept per sign before the smallest magnitudes are merged (the crate's default).
const MAX_BINS: u32 = 2048;

/// A DDSketch (relative-error quantile sketch).
#[derive(Clone)]
pub struct QuantileSketch {
    /// The relative accuracy, as clamped.
    alpha: f64,
    inner: DDSketch,
}

impl std::fmt::Debug for QuantileSketch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("QuantileSketch")
            .field("alpha", &self.alpha)
            .field("count", &self.count())
            .finish()
    }
}

impl Default for QuantileSketch {
    fn default() -> Self {
        QuantileSketch::new(0.01)
    }
}

/// The saved form, and the one of models saved before.
#[derive(Serialize, Deserialize)]
#[serde(untagged)]
enum Saved {
    Now {
        alpha: f64,
        ddsketch: String,
    },
    Before {
        ln_gamma: f64,
        pos: Vec<(i32, u64)>,
        neg: Vec<(i32, u64)>,
        zeros: u64,
    },
}

impl Serialize for QuantileSketch {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        Saved::Now {
            alpha: self.alpha,
            ddsketch: BASE64.encode(self.inner.to_java_bytes()),
        }
        .serialize(s)
    }
}

impl<'de> Deserialize<'de> for QuantileSketch {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        use serde::de::Error;
        match Saved::deserialize(d)? {
            Saved::Now { alpha, ddsketch } => {
                let bytes = BASE64.decode(ddsketch).map_err(D::Error::custom)?;
                let decoded = DDSketch::from_java_bytes(&bytes)
                    .map_err(|e| D::Error::custom(format!("quantile sketch: {e}")))?;
                // Re-based on this sketch's config, so that it merges with new ones.
                let mut s = QuantileSketch::new(alpha);
                s.inner
                    .merge(&decoded)
                    .map_err(|e| D::Error::custom(format!("quantile sketch: {e}")))?;
                Ok(s)
            }
            Saved::Before {
                ln_gamma,
                pos,
                neg,
                zeros,
            } => {
                // The old sketch's accuracy from its γ, and each bin's value (the point of
                // least relative error in it) added with the bin's count.
                let gamma = ln_gamma.exp();
                let mut s = QuantileSketch::new((gamma - 1.0) / (gamma + 1.0));
                let value_of = |k: i32| 2.0 * (ln_gamma * f64::from(k)).exp() / (gamma + 1.0);
                for (k, c) in pos {
                    s.inner.add_with_count(value_of(k), c);
                }
                for (k, c) in neg {
                    s.inner.add_with_count(-value_of(k), c);
                }
                s.inner.add_with_count(0.0, zeros);
                Ok(s)
            }
        }
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
        QuantileSketch {
            alpha,
            inner: DDSketch::new(Config::new(alpha, MAX_BINS, MIN_MAGNITUDE)),
        }
    }

    /// Add one value; NaN and infinities are ignored.
    pub fn add(&mut self, value: f64) {
        if value.is_finite() {
            self.inner.add(value);
        }
    }

    /// How many (finite) values were added.
    pub fn count(&self) -> u64 {
        self.inner.count() as u64
    }

    /// Whether no value was added.
    pub fn is_empty(&self) -> bool {
        self.inner.count() == 0
    }

    /// Forget all values, keeping the accuracy.
    pub fn clear(&mut self) {
        *self = QuantileSketch::new(self.alpha);
    }

    /// Add all values of `other`, made with the same accuracy; a sketch of another accuracy
    /// is not merged (the bins would not line up) and `false` is returned.
    pub fn merge(&mut self, other: &QuantileSketch) -> bool {
        self.inner.merge(&other.inner).is_ok()
    }

    /// The `q`-quantile (0..=1, clamped), or `None` when empty or `q` is NaN.
    pub fn quantile(&self, q: f64) -> Option<f64> {
        if q.is_nan() {
            return None;
        }
        self.inner.quantile(q.clamp(0.0, 1.0)).ok().flatten()
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
        assert!(a.merge(&b));
        assert_eq!(a.count(), all.count());
        for q in 0..=100 {
            let q = f64::from(q) / 100.0;
            assert_eq!(a.quantile(q), all.quantile(q), "q{q}");
        }
        assert!(
            !a.merge(&QuantileSketch::new(0.05)),
            "another accuracy is refused"
        );
        a.clear();
        assert!(a.is_empty());
    }

    #[test]
    fn the_saved_form_and_the_one_before_the_crate_load() {
        let mut s = QuantileSketch::new(0.01);
        for v in [-4.0, 0.0, 1.5, 2.5, 1000.0] {
            s.add(v);
        }
        let json = serde_json::to_string(&s).unwrap();
        assert!(json.starts_with(r#"{"alpha":0.01,"ddsketch":""#), "{json}");
        let back: QuantileSketch = serde_json::from_str(&json).unwrap();
        for q in [0.0, 0.25, 0.5, 0.75, 1.0] {
            assert_eq!(back.quantile(q), s.quantile(q), "q{q}");
        }
        // logwarden's own sketch at α = 0.01 (γ = 1.01/0.99) with -4, 0, 1.5, 2.5 and 1000.
        let gamma: f64 = 1.01 / 0.99;
        let key = |v: f64| (v.ln() / gamma.ln()).ceil() as i32;
        let old = format!(
            r#"{{"ln_gamma":{},"pos":[[{},1],[{},1],[{},1]],"neg":[[{},1]],"zeros":1,"count":5}}"#,
            gamma.ln(),
            key(1.5),
            key(2.5),
            key(1000.0),
            key(4.0)
        );
        let before: QuantileSketch = serde_json::from_str(&old).unwrap();
        assert_eq!(before.count(), 5);
        for (q, want) in [(0.0, -4.0), (0.5, 1.5), (1.0, 1000.0)] {
            let got = before.quantile(q).unwrap();
            assert!(
                (got - want).abs() <= 0.021 * f64::abs(want),
                "q{q}: {got} vs {want}"
            );
        }
        assert!(
            serde_json::from_str::<QuantileSketch>(r#"{"alpha":0.01,"ddsketch":"!!"}"#).is_err()
        );
    }

    #[test]
    fn bins_stay_bounded_on_a_huge_range() {
        let mut s = QuantileSketch::new(0.0001);
        for i in 0..20_000 {
            s.add(1.0001f64.powi(i * 7));
        }
        assert!(s.inner.length() <= 2 * MAX_BINS as usize);
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
