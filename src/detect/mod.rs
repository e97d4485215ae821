//! Detectors: a seasonal baseline per service and template, and the seven detectors.
//!
//! Owns: [`DetectConfig`], the baseline learned by `train`, and detection over time buckets.
//! Pure: time comes from the records, never from a clock.

pub mod drift;
pub mod forecast;

use crate::config::Problems;
use serde::{Deserialize, Serialize};

/// Baseline and detector settings.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DetectConfig {}

impl DetectConfig {
    /// Report problems under `path`.
    pub fn validate(&self, _path: &str, _p: &mut Problems) {}
}
