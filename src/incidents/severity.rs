//! Severity: a 0-100 score that says who must know, and the tiers it falls into.
//!
//! The tier is the promise: `critical` pages someone, `moderate` interrupts someone in chat,
//! `low` stays on the dashboard. The score is therefore built from what makes an anomaly
//! matter to a person, each part mapped to 0-1 so that none dominates alone:
//! - evidence: surprise `-log10(probability)`, full at 1e-12 (40 points);
//! - magnitude: the fold change `ln(1 + |m|) / ln(11)`, full at 10x (20 points);
//! - level: failing lines (an error level, or a failed outcome in the text) 15 points,
//!   warnings 6;
//! - persistence: buckets in a row, full after 4 (15 points), so an anomaly that keeps
//!   going escalates;
//! - breadth: other patterns or services anomalous in the same bucket, full at 4 (10
//!   points), so one cause seen from several sides scores higher than any side alone.
//!
//! The sum is scaled by the service's criticality (`low` 0.7, `normal` 1.0, `high` 1.15,
//! `critical` 1.3) and, for the rate tests only, by confidence `c` in the history
//! (`0.5 + 0.5 c`): a thin history makes an expectation uncertain, not a never-seen error.
//! Last, impact rules the detectors apply give a floor (see [`ScoreInputs::floor`]): a
//! never-seen failing message that keeps coming, a silence that lasts, a trend projected to
//! cross its threshold within the horizon are at least `moderate`; a whole source gone
//! silent is `critical`.

use crate::model::Severity;
use crate::validate::Problems;
use serde::{Deserialize, Serialize};

/// How much a service matters; raises or lowers the score of its anomalies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Criticality {
    /// Anomalies score lower.
    Low,
    /// The default.
    #[default]
    Normal,
    /// Anomalies score higher.
    High,
    /// Anomalies score highest.
    Critical,
}

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

    /// The lowest score of a tier.
    pub fn cut(&self, tier: Severity) -> f64 {
        match tier {
            Severity::Critical => self.critical,
            Severity::Moderate => self.moderate,
            Severity::Low => 0.0,
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
    /// Whether the lines involved are failing (error level or failed outcome).
    pub error_level: bool,
    /// Whether the lines involved are warnings (counts only without `error_level`).
    pub warn_level: bool,
    /// Consecutive buckets the anomaly has persisted.
    pub persistence: u32,
    /// The service's configured criticality.
    pub criticality: Criticality,
    /// How much history backs the expectation, 0-1.
    pub confidence: f64,
    /// Whether the confidence scales the score (rate tests), or the evidence does not rest
    /// on the length of history (a never-seen message, a whole source gone silent).
    pub confidence_applies: bool,
    /// Other patterns or services anomalous in the same bucket.
    pub breadth: u32,
    /// The lowest tier an impact rule allows (the score is raised to its cut-off).
    pub floor: Option<Severity>,
}

/// A 0-100 score (see the module documentation for how it is composed), with the tier
/// cut-offs of `tiers` for the floor. Total: NaN or out-of-range inputs are clamped, never
/// propagated.
pub fn score(inputs: &ScoreInputs, tiers: &SeverityConfig) -> f64 {
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
    let level = if inputs.error_level {
        15.0
    } else if inputs.warn_level {
        6.0
    } else {
        0.0
    };
    let persistence = (f64::from(inputs.persistence.saturating_sub(1)) / 3.0).clamp(0.0, 1.0);
    let breadth = (f64::from(inputs.breadth) / 4.0).clamp(0.0, 1.0);
    let base = 40.0 * surprise + 20.0 * magnitude + level + 15.0 * persistence + 10.0 * breadth;
    let crit = match inputs.criticality {
        Criticality::Low => 0.7,
        Criticality::Normal => 1.0,
        Criticality::High => 1.15,
        Criticality::Critical => 1.3,
    };
    let conf = if !inputs.confidence_applies {
        1.0
    } else if inputs.confidence.is_nan() {
        0.0
    } else {
        inputs.confidence.clamp(0.0, 1.0)
    };
    let mut s = (base * crit * (0.5 + 0.5 * conf)).clamp(0.0, 100.0);
    if let Some(floor) = inputs.floor {
        s = s.max(tiers.cut(floor));
    }
    (s * 10.0).round() / 10.0
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
            warn_level: false,
            confidence_applies: true,
            breadth: 0,
            floor: None,
        }
    }

    fn score(i: &ScoreInputs) -> f64 {
        super::score(i, &SeverityConfig::default())
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
            ScoreInputs {
                warn_level: true,
                ..inputs()
            },
            ScoreInputs {
                breadth: 2,
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
    fn thin_history_lowers_rate_tests_not_novelty() {
        let thin = ScoreInputs {
            confidence: 0.2,
            ..inputs()
        };
        assert!(score(&thin) < score(&inputs()));
        let novel = ScoreInputs {
            confidence_applies: false,
            ..thin
        };
        assert_eq!(score(&novel), score(&inputs()));
    }

    #[test]
    fn a_floor_raises_the_score_to_its_tier_and_never_lowers_it() {
        let tiers = SeverityConfig::default();
        let quiet = ScoreInputs {
            probability: 0.01,
            magnitude: 0.1,
            ..inputs()
        };
        assert_eq!(tiers.tier(score(&quiet)), Severity::Low);
        let floored = ScoreInputs {
            floor: Some(Severity::Moderate),
            ..quiet
        };
        assert_eq!(score(&floored), tiers.moderate);
        let loud = ScoreInputs {
            probability: 1e-40,
            magnitude: 50.0,
            error_level: true,
            persistence: 6,
            breadth: 4,
            ..inputs()
        };
        let s = score(&loud);
        assert_eq!(tiers.tier(s), Severity::Critical);
        assert_eq!(
            score(&ScoreInputs {
                floor: Some(Severity::Moderate),
                ..loud
            }),
            s
        );
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
