//! Validation of configuration values, shared by every section.
//!
//! A leaf: it imports nothing from the crate, so each section (`parse::ParseConfig`,
//! `detect::DetectConfig`, …) validates itself without importing the whole configuration,
//! and `config` can import every section without an import circle.

/// Collects validation problems with their key paths.
#[derive(Debug, Default)]
pub struct Problems(pub Vec<String>);

impl Problems {
    /// Record that `key` is wrong, and why.
    pub fn add(&mut self, key: impl AsRef<str>, message: impl AsRef<str>) {
        self.0
            .push(format!("`{}`: {}", key.as_ref(), message.as_ref()));
    }

    /// Require `value` to lie in `[lo, hi]`.
    pub fn range<T: PartialOrd + std::fmt::Display + Copy>(
        &mut self,
        key: impl AsRef<str>,
        value: T,
        lo: T,
        hi: T,
    ) {
        if !(value >= lo && value <= hi) {
            self.add(key, format!("must be between {lo} and {hi}, got {value}"));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Problems;

    #[test]
    fn a_range_problem_names_the_key_the_bounds_and_the_value() {
        let mut p = Problems::default();
        p.range("detect.alpha", 0.5, 0.0, 0.1);
        p.range("detect.alpha", 0.05, 0.0, 0.1);
        p.range("detect.alpha", f64::NAN, 0.0, 0.1);
        assert_eq!(
            p.0,
            [
                "`detect.alpha`: must be between 0 and 0.1, got 0.5",
                "`detect.alpha`: must be between 0 and 0.1, got NaN"
            ]
        );
    }
}
