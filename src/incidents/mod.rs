//! Severity and incidents: scores to tiers, and grouping anomalies into incidents.
//!
//! Owns: [`SeverityConfig`] (tier cut-offs) and [`IncidentsConfig`] (grouping). Pure.

use crate::config::Problems;
use serde::{Deserialize, Serialize};

/// Score cut-offs for the tiers.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SeverityConfig {}

impl SeverityConfig {
    /// Report problems under `path`.
    pub fn validate(&self, _path: &str, _p: &mut Problems) {}
}

/// Incident grouping settings.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct IncidentsConfig {}

impl IncidentsConfig {
    /// Report problems under `path`.
    pub fn validate(&self, _path: &str, _p: &mut Problems) {}
}
