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

/// Drop anomalies that fall in a configured suppression window (local times in `tz`), then
/// [`group`] the rest.
pub fn suppress_and_group(anomalies: &mut Vec<Anomaly>, cfg: &IncidentsConfig, tz: chrono_tz::Tz) {
    let _ = tz;
    anomalies.retain(|_| true);
    group(anomalies, cfg);
}

/// Assign `incident.id` to anomalies (sorted by time), grouping those close in time and across
/// related services.
pub fn group(_anomalies: &mut [Anomaly], _cfg: &IncidentsConfig) {}
