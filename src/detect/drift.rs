//! Parameter drift: the distribution of one numeric template slot, learned per seasonal slot,
//! and a change detector that accumulates evidence of a shift across buckets.
//!
//! PLACEHOLDER API (to be implemented): `detect::mod` calls exactly these.

use super::forecast::ForecastFinding;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// Drift and forecast settings (a sub-section of `detect`).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DriftConfig {}

/// A drift found on one slot when a bucket closed.
#[derive(Debug, Clone, PartialEq)]
pub struct DriftFinding {
    /// The quantile that moved (e.g. 0.5 or 0.95).
    pub quantile: f64,
    /// Its baseline value for this season.
    pub baseline: f64,
    /// Its value now (over the recent buckets the detector accumulated).
    pub current: f64,
    /// Tail probability of the shift under the baseline (small is surprising).
    pub probability: f64,
    /// Relative size of the shift, e.g. 0.3 for +30%.
    pub magnitude: f64,
    /// How many buckets the evidence has accumulated over.
    pub persistence: u32,
}

/// Which slot a [`SlotModel`] watches; passed on every bucket close so that thresholds
/// configured by name apply to a model loaded from disk.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SlotKey<'a> {
    /// The service.
    pub service: &'a str,
    /// The template text (`<*>` for variables).
    pub template: &'a str,
    /// A readable slot name (see `TemplateMiner::slot_name`), e.g. `latency_ms` or `wait`.
    pub slot_name: &'a str,
}

/// The learned distribution of one numeric slot of one (service, template), and its detectors.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct SlotModel {}

impl SlotModel {
    /// A new, empty slot model.
    pub fn new(_cfg: &DriftConfig) -> Self {
        SlotModel {}
    }

    /// Training: a value seen at local hour-of-week `how` (0 = Monday 00:00 … 167).
    pub fn learn(&mut self, _how: usize, _value: f64) {}

    /// Training: a bucket ended (lets the model learn per-bucket statistics).
    pub fn learn_bucket_end(&mut self, _how: usize) {}

    /// Detection: a value in the open bucket.
    pub fn observe(&mut self, _value: f64) {}

    /// Detection: close the bucket `[start, end)` at hour-of-week `how`; returns a drift
    /// and/or a forecast breach when the detectors fire.
    pub fn close_bucket(
        &mut self,
        _cfg: &DriftConfig,
        _key: &SlotKey<'_>,
        _start: DateTime<Utc>,
        _end: DateTime<Utc>,
        _how: usize,
    ) -> (Option<DriftFinding>, Option<ForecastFinding>) {
        (None, None)
    }
}
