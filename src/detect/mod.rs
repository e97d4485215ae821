//! Detectors: a seasonal baseline per service and template, and the seven detectors.
//!
//! Owns: [`DetectConfig`], the [`Baseline`] learned by a [`Trainer`], and a [`Detector`] that
//! closes time buckets and emits anomalies. Pure: time comes from the records, never from a
//! clock.
//!
//! PLACEHOLDER bodies (to be implemented); `cli` and `demo` build against this API.

pub mod drift;
pub mod forecast;
pub mod sketch;

use crate::config::{Config, Problems};
use crate::model::{Anomaly, LogRecord};
use serde::{Deserialize, Serialize};

/// Baseline and detector settings.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DetectConfig {
    /// Parameter drift and forecast settings.
    pub drift: drift::DriftConfig,
}

impl DetectConfig {
    /// Report problems under `path`.
    pub fn validate(&self, _path: &str, _p: &mut Problems) {}
}

/// What `train` learns: templates, patterns and per-(service, template) seasonal statistics.
/// Saved to the model file with [`crate::state::save`].
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Baseline {}

/// Learns a [`Baseline`] from historical records (in time order, or nearly).
#[derive(Debug)]
pub struct Trainer {}

impl Trainer {
    /// A trainer for `config`.
    pub fn new(_config: &Config) -> Self {
        Trainer {}
    }

    /// Learn from one record.
    pub fn add(&mut self, _record: &LogRecord) {}

    /// Finish training.
    pub fn finish(self) -> Baseline {
        Baseline {}
    }
}

/// Runs the detectors over new records against a [`Baseline`].
#[derive(Debug)]
pub struct Detector {}

impl Detector {
    /// A detector for `config` against `baseline`.
    pub fn new(_baseline: Baseline, _config: &Config) -> Self {
        Detector {}
    }

    /// Feed one record; returns the anomalies of any buckets this record closed.
    pub fn push(&mut self, _record: &LogRecord) -> Vec<Anomaly> {
        Vec::new()
    }

    /// Close the open buckets and return their anomalies (end of input).
    pub fn finish(&mut self) -> Vec<Anomaly> {
        Vec::new()
    }

    /// The baseline with what detection learned (for saving after a run).
    pub fn into_baseline(self) -> Baseline {
        Baseline {}
    }
}
