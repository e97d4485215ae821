//! Severity: a 0-100 score from surprise, magnitude, log level, persistence and the service's
//! criticality, and the tiers it falls into.
//!
//! PLACEHOLDER body for `score` (to be implemented).

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

/// A 0-100 score.
pub fn score(_inputs: &ScoreInputs) -> f64 {
    0.0
}
