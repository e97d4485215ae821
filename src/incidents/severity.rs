//! Severity: a 0-100 score from surprise, magnitude, log level, persistence and the service's
//! criticality, and the tiers it falls into.
//!
//! The score is a weighted sum of four parts, each mapped to 0-1 so that none can dominate
//! alone, then scaled by criticality and confidence:
//! - surprise, `-log10(probability)`, full at 1e-12 (45 points);
//! - magnitude, the fold change `ln(1 + |m|) / ln(11)`, full at 10x (25 points);
//! - error level (15 points);
//! - persistence, full after 6 consecutive buckets (15 points).
//!
//! A barely significant change of an info-level message scores low; a many-fold, very
//! improbable burst of errors scores critical. The multipliers are: criticality `low` 0.7,
//! `normal` 1.0, `high` 1.15, `critical` 1.3; confidence `c` gives `0.5 + 0.5 c`.

use crate::config::{Criticality, Problems};
use crate::model::Severity;
use serde::{Deserialize, Serialize};

/// Score cut-offs for the tiers.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SeverityConfig {
    /// Scores at or above this are `critical`.
    pub critical: f64,
    /// Scores at or above this (and below `critical`) are `moderate`; below is `low`.
    pub moderate: f64,
}

impl Default for SeverityConfig {
    fn default() -> Self {
        SeverityConfig {
            critical: 75.0,
            moderate: 50.0,
        }
    }
}

impl SeverityConfig {
    /// Report problems under `path`.
    pub fn validate(&self, path: &str, p: &mut Problems) {
        p.range(format!("{path}.critical"), self.critical, 0.0, 100.0);
        p.range(format!("{path}.moderate"), self.moderate, 0.0, 100.0);
        if self.moderate > self.critical {
            p.add(format!("{path}.moderate"), "must not be above `critical`");
        }
    }

    /// The tier of a score.
    pub fn tier(&self, score: f64) -> Severity {
        if score >= self.critical {
            Severity::Critical
        } else if score >= self.moderate {
            Severity::Moderate
        } else {
            Severity::Low
        }
    }
}

/// What a score is made of.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ScoreInputs {
    /// Tail probability of the observation (small is surprising).
    pub probability: f64,
    /// Relative size of the deviation (e.g. observed/expected - 1, or a relative shift).
    pub magnitude: f64,
    /// Whether the lines involved are error-level.
    pub error_level: bool,
    /// Consecutive buckets the anomaly has persisted.
    pub persistence: u32,
    /// The service's configured criticality.
    pub criticality: Criticality,
    /// How much history backs the expectation, 0-1.
    pub confidence: f64,
}

/// A 0-100 score (see the module documentation for how it is composed). Total: NaN or
/// out-of-range inputs are clamped, never propagated.
pub fn score(inputs: &ScoreInputs) -> f64 {
    let p = if inputs.probability.is_nan() {
        1.0
    } else {
        inputs.probability.clamp(1e-300, 1.0)
    };
    let surprise = (-p.log10() / 12.0).clamp(0.0, 1.0);
    let m = if inputs.magnitude.is_finite() {
        inputs.magnitude.abs()
    } else if inputs.magnitude.is_nan() {
        0.0
    } else {
        f64::MAX
    };
    let magnitude = ((1.0 + m).ln() / 11f64.ln()).clamp(0.0, 1.0);
    let error = if inputs.error_level { 1.0 } else { 0.0 };
    let persistence = (f64::from(inputs.persistence.saturating_sub(1)) / 5.0).clamp(0.0, 1.0);
    let base = 45.0 * surprise + 25.0 * magnitude + 15.0 * error + 15.0 * persistence;
    let crit = match inputs.criticality {
        Criticality::Low => 0.7,
        Criticality::Normal => 1.0,
        Criticality::High => 1.15,
        Criticality::Critical => 1.3,
    };
    let conf = if inputs.confidence.is_nan() {
        0.0
    } else {
        inputs.confidence.clamp(0.0, 1.0)
    };
    let s = base * crit * (0.5 + 0.5 * conf);
    (s.clamp(0.0, 100.0) * 10.0).round() / 10.0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn inputs() -> ScoreInputs {
        ScoreInputs {
            probability: 1e-6,
            magnitude: 1.0,
            error_level: false,
            persistence: 1,
            criticality: Criticality::Normal,
            confidence: 1.0,
        }
    }

    #[test]
    fn each_part_raises_the_score() {
        let tiers = SeverityConfig::default();
        let base = score(&inputs());
        assert!(base > 0.0 && base < 50.0, "{base}");
        assert_eq!(tiers.tier(base), Severity::Low);
        let more = [
            ScoreInputs {
                probability: 1e-12,
                ..inputs()
            },
            ScoreInputs {
                magnitude: 8.0,
                ..inputs()
            },
            ScoreInputs {
                error_level: true,
                ..inputs()
            },
            ScoreInputs {
                persistence: 4,
                ..inputs()
            },
            ScoreInputs {
                criticality: Criticality::Critical,
                ..inputs()
            },
        ];
        for m in more {
            assert!(score(&m) > base, "{m:?}");
        }
        let less = [
            ScoreInputs {
                confidence: 0.2,
                ..inputs()
            },
            ScoreInputs {
                criticality: Criticality::Low,
                ..inputs()
            },
        ];
        for l in less {
            assert!(score(&l) < base, "{l:?}");
        }
    }

    #[test]
    fn an_improbable_error_burst_is_critical_and_a_marginal_change_is_low() {
        let tiers = SeverityConfig::default();
        let burst = ScoreInputs {
            probability: 1e-30,
            magnitude: 15.0,
            error_level: true,
            persistence: 2,
            ..inputs()
        };
        assert_eq!(tiers.tier(score(&burst)), Severity::Critical);
        let marginal = ScoreInputs {
            probability: 1e-7,
            magnitude: 1.0,
            ..inputs()
        };
        assert_eq!(tiers.tier(score(&marginal)), Severity::Low);
    }

    #[test]
    fn bad_inputs_stay_in_range() {
        for i in [
            ScoreInputs {
                probability: f64::NAN,
                ..inputs()
            },
            ScoreInputs {
                probability: -1.0,
                magnitude: f64::INFINITY,
                ..inputs()
            },
            ScoreInputs {
                magnitude: f64::NAN,
                confidence: f64::NAN,
                ..inputs()
            },
            ScoreInputs {
                persistence: u32::MAX,
                ..inputs()
            },
        ] {
            let s = score(&i);
            assert!((0.0..=100.0).contains(&s), "{i:?}: {s}");
        }
    }
}
