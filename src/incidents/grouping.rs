//! Incidents: anomalies close in time and across related services grouped into one incident.
//!
//! PLACEHOLDER body for `group` (to be implemented).

use crate::config::Problems;
use crate::model::Anomaly;
use serde::{Deserialize, Serialize};

/// Incident grouping settings.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct IncidentsConfig {}

impl IncidentsConfig {
    /// Report problems under `path`.
    pub fn validate(&self, _path: &str, _p: &mut Problems) {}
}

/// Assign `incident.id` to anomalies (sorted by time), grouping those close in time and across
/// related services.
pub fn group(_anomalies: &mut [Anomaly], _cfg: &IncidentsConfig) {}
