//! Patterns: HDBSCAN over template vectors, outlier scores, and assignment of new templates.
//!
//! Owns: [`PatternsConfig`] and the pattern model. Templates HDBSCAN leaves as noise, and new
//! templates that fit no pattern, are novelty candidates ranked by an outlier score. Pure.

use crate::config::Problems;
use serde::{Deserialize, Serialize};

/// HDBSCAN settings.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PatternsConfig {}

impl PatternsConfig {
    /// Report problems under `path`.
    pub fn validate(&self, _path: &str, _p: &mut Problems) {}
}
