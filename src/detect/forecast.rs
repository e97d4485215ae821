//! Forecasts: Holt's linear trend on a series (a slot's quantile or a pattern's rate),
//! projected over the horizon to find when it crosses a threshold.
//!
//! PLACEHOLDER API (to be implemented).

use chrono::{DateTime, Utc};

/// A projected threshold crossing.
#[derive(Debug, Clone, PartialEq)]
pub struct ForecastFinding {
    /// The threshold the projection crosses.
    pub threshold: f64,
    /// When it crosses.
    pub breach_at: DateTime<Utc>,
    /// Hours from now (bucket end) to the crossing.
    pub hours_to_breach: f64,
    /// The horizon in hours.
    pub horizon_hours: f64,
    /// Current smoothed level.
    pub level: f64,
    /// Trend per hour.
    pub trend_per_hour: f64,
    /// How well the trend fits recent data, 0-1.
    pub confidence: f64,
}
