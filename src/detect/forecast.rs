//! Forecasts: Holt's linear trend on a series (a slot's quantile or a pattern's rate),
//! projected over the horizon to find when it crosses a threshold.
//!
//! Owns: [`ForecastConfig`] (`detect.drift.forecast` in YAML) with its [`Threshold`]s, the
//! smoother [`Holt`], the trend tests [`TrendFit`] and [`mann_kendall_z`], [`first_crossing`],
//! and the [`ForecastFinding`] they produce. Pure: time is given as hours between
//! observations.
//!
//! The series given to these is the *deseasonalised residual* (observation minus its seasonal
//! baseline, on a log-like scale), so the daily rise of a diurnal metric is not a trend; the
//! caller adds the seasonal profile back when projecting. Holt's smoothing constants are set
//! by half-lives in hours, so they mean the same with 1-minute or 1-hour buckets and across
//! gaps. A forecast needs a significant trend: [`TrendFit`] is an exponentially weighted
//! least-squares line over the same residuals whose slope t-statistic gates the forecast and
//! whose R² is the forecast's confidence; [`mann_kendall_z`] checks the values since a shift
//! began still rise (a step does not).
//!
//! Known limits: the projection assumes whole-hour time-zone offsets when it walks the
//! seasonal profile forward, and ignores a daylight-saving change inside the horizon (an hour
//! of error at most, on that day).

use crate::validate::Problems;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

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

/// Forecast settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ForecastConfig {
    /// How far ahead to project, in hours (6-24, default 12).
    pub horizon_hours: f64,
    /// Half-life of Holt's level smoothing, in hours (default 1).
    pub level_halflife_hours: f64,
    /// Half-life of Holt's trend smoothing, in hours (default 6).
    pub trend_halflife_hours: f64,
    /// Time constant of the weighted trend fit that gates forecasts, in hours (default 6).
    pub trend_window_hours: f64,
    /// A forecast needs the trend's t-statistic at least this high (default 4).
    pub min_trend_t: f64,
    /// A forecast also needs the values since the shift began to rise, with a Mann-Kendall
    /// z-score at least this high (default 3); this is what keeps a step from forecasting.
    pub min_run_trend_z: f64,
    /// Thresholds by slot name (and optionally service and quantile).
    pub thresholds: Vec<Threshold>,
    /// Without a configured threshold, a slot's default threshold is this many times the
    /// highest seasonal baseline of its highest tracked quantile (default 3, e.g. 3x the
    /// highest hourly p95); 0 disables forecasts for slots without a configured threshold.
    pub default_threshold_factor: f64,
}

impl Default for ForecastConfig {
    fn default() -> Self {
        ForecastConfig {
            horizon_hours: 12.0,
            level_halflife_hours: 1.0,
            trend_halflife_hours: 6.0,
            trend_window_hours: 6.0,
            min_trend_t: 4.0,
            min_run_trend_z: 3.0,
            thresholds: Vec::new(),
            default_threshold_factor: 3.0,
        }
    }
}

/// A limit on one slot's quantile, e.g. `{slot: latency_ms, above: 800}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Threshold {
    /// The slot name (as in `parameter.name`, e.g. `latency_ms`).
    pub slot: String,
    /// The limit: a projection above it is a breach.
    pub above: f64,
    /// Only for this service (any service when absent). A service-specific threshold
    /// overrides one without a service.
    #[serde(default)]
    pub service: Option<String>,
    /// The quantile it applies to (one of `detect.drift.quantiles`; the highest when absent).
    #[serde(default)]
    pub quantile: Option<f64>,
}

impl ForecastConfig {
    /// Report problems under `path`; `quantiles` are the tracked ones.
    pub fn validate(&self, path: &str, quantiles: &[f64], p: &mut Problems) {
        p.range(
            format!("{path}.horizon_hours"),
            self.horizon_hours,
            6.0,
            24.0,
        );
        for (key, v) in [
            ("level_halflife_hours", self.level_halflife_hours),
            ("trend_halflife_hours", self.trend_halflife_hours),
            ("trend_window_hours", self.trend_window_hours),
        ] {
            p.range(format!("{path}.{key}"), v, 0.05, 168.0);
        }
        p.range(format!("{path}.min_trend_t"), self.min_trend_t, 0.0, 100.0);
        p.range(
            format!("{path}.min_run_trend_z"),
            self.min_run_trend_z,
            0.0,
            100.0,
        );
        p.range(
            format!("{path}.default_threshold_factor"),
            self.default_threshold_factor,
            0.0,
            1e6,
        );
        for (i, t) in self.thresholds.iter().enumerate() {
            let key = format!("{path}.thresholds[{i}]");
            if t.slot.trim().is_empty() {
                p.add(format!("{key}.slot"), "must not be empty");
            }
            if !t.above.is_finite() {
                p.add(format!("{key}.above"), "must be a finite number");
            }
            if t.service.as_deref().is_some_and(|s| s.trim().is_empty()) {
                p.add(format!("{key}.service"), "must not be empty when given");
            }
            if let Some(q) = t.quantile {
                if !quantiles.iter().any(|&x| (x - q).abs() < 1e-9) {
                    p.add(
                        format!("{key}.quantile"),
                        format!("{q} is not one of the tracked quantiles {quantiles:?}"),
                    );
                }
            }
        }
    }

    /// The thresholds that apply to `slot` of `service`: the service-specific ones if any,
    /// else those for any service.
    pub fn thresholds_for(&self, service: &str, slot: &str) -> Vec<&Threshold> {
        let matching: Vec<&Threshold> = self
            .thresholds
            .iter()
            .filter(|t| t.slot == slot && t.service.as_deref().is_none_or(|s| s == service))
            .collect();
        if matching.iter().any(|t| t.service.is_some()) {
            matching
                .into_iter()
                .filter(|t| t.service.is_some())
                .collect()
        } else {
            matching
        }
    }
}

/// The smoothing weight for a step of `dt` hours with half-life `halflife` hours.
fn weight(dt: f64, halflife: f64) -> f64 {
    1.0 - 0.5f64.powf(dt / halflife.max(1e-6))
}

/// Holt's linear trend (double exponential smoothing) on irregularly spaced observations.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Holt {
    /// Smoothed level.
    pub level: f64,
    /// Smoothed trend, per hour.
    pub trend: f64,
    /// Observations seen.
    pub n: u32,
}

impl Holt {
    /// Add an observation `dt` hours after the previous one; non-finite values are ignored.
    pub fn update(&mut self, value: f64, dt_hours: f64, cfg: &ForecastConfig) {
        if !value.is_finite() {
            return;
        }
        if self.n == 0 {
            self.level = value;
            self.trend = 0.0;
            self.n = 1;
            return;
        }
        let dt = if dt_hours.is_finite() && dt_hours > 0.0 {
            dt_hours
        } else {
            1e-3
        };
        let a = weight(dt, cfg.level_halflife_hours);
        let b = weight(dt, cfg.trend_halflife_hours);
        let predicted = self.level + self.trend * dt;
        let level = a * value + (1.0 - a) * predicted;
        self.trend = b * (level - self.level) / dt + (1.0 - b) * self.trend;
        self.level = level;
        self.n = self.n.saturating_add(1);
    }

    /// The projected value `hours` after the last observation.
    pub fn project(&self, hours: f64) -> f64 {
        self.level + self.trend * hours
    }
}

/// An exponentially weighted least-squares line through recent observations (time in hours,
/// relative to the newest), for the significance and fit of a trend.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct TrendFit {
    s0: f64,
    w2: f64,
    s1: f64,
    s2: f64,
    sy: f64,
    sxy: f64,
    syy: f64,
}

/// The slope of a [`TrendFit`] and how much to believe it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TrendStats {
    /// Slope per hour.
    pub slope: f64,
    /// The slope's t-statistic (slope over its standard error).
    pub t: f64,
    /// Weighted R² of the line, 0-1.
    pub r2: f64,
    /// Effective number of observations.
    pub n_eff: f64,
}

impl TrendFit {
    /// Add an observation `dt` hours after the previous one; older points decay with time
    /// constant `window_hours`. Non-finite values are ignored.
    pub fn update(&mut self, value: f64, dt_hours: f64, window_hours: f64) {
        if !value.is_finite() {
            return;
        }
        let d = if dt_hours.is_finite() && dt_hours > 0.0 {
            dt_hours
        } else {
            0.0
        };
        // Move the origin to the new point: every old x becomes x - d.
        self.s2 = self.s2 - 2.0 * d * self.s1 + d * d * self.s0;
        self.sxy -= d * self.sy;
        self.s1 -= d * self.s0;
        let lambda = (-d / window_hours.max(1e-6)).exp();
        for s in [
            &mut self.s0,
            &mut self.s1,
            &mut self.s2,
            &mut self.sy,
            &mut self.sxy,
            &mut self.syy,
        ] {
            *s *= lambda;
        }
        self.w2 *= lambda * lambda;
        self.s0 += 1.0;
        self.w2 += 1.0;
        self.sy += value;
        self.syy += value * value;
    }

    /// The fitted slope and its statistics, or `None` with too few points or no spread.
    pub fn stats(&self) -> Option<TrendStats> {
        if self.s0 <= 0.0 || self.w2 <= 0.0 {
            return None;
        }
        let n_eff = self.s0 * self.s0 / self.w2;
        let sxx = self.s2 - self.s1 * self.s1 / self.s0;
        let sxy = self.sxy - self.s1 * self.sy / self.s0;
        let syy = (self.syy - self.sy * self.sy / self.s0).max(0.0);
        if n_eff < 4.0 || sxx <= 1e-12 {
            return None;
        }
        let slope = sxy / sxx;
        let ssr = (syy - slope * sxy).max(0.0);
        let r2 = if syy > 0.0 {
            (1.0 - ssr / syy).clamp(0.0, 1.0)
        } else {
            0.0
        };
        // Weighted residual variance with the effective degrees of freedom.
        let s2 = ssr / (self.s0 * (n_eff - 2.0) / n_eff);
        let se = (s2 / sxx).sqrt();
        let t = if se > 0.0 {
            slope / se
        } else if slope == 0.0 {
            0.0
        } else {
            f64::INFINITY.copysign(slope)
        };
        Some(TrendStats {
            slope,
            t,
            r2,
            n_eff,
        })
    }
}

/// The Mann-Kendall trend z-score of a series in time order (with continuity correction,
/// no tie correction): about N(0, 1) without a trend, large and positive for a rising series.
/// Robust: each pair of points counts at most one, so a few outliers or a short step at the
/// start barely move it. 0 for fewer than three points.
pub fn mann_kendall_z(values: &[f64]) -> f64 {
    let n = values.len();
    if n < 3 {
        return 0.0;
    }
    let mut s: i64 = 0;
    for (i, a) in values.iter().enumerate() {
        for b in &values[i + 1..] {
            s += match b.partial_cmp(a) {
                Some(std::cmp::Ordering::Greater) => 1,
                Some(std::cmp::Ordering::Less) => -1,
                _ => 0,
            };
        }
    }
    let nf = n as f64;
    let sd = (nf * (nf - 1.0) * (2.0 * nf + 5.0) / 18.0).sqrt();
    let s = s as f64;
    if s > 0.0 {
        (s - 1.0) / sd
    } else if s < 0.0 {
        (s + 1.0) / sd
    } else {
        0.0
    }
}

/// The first time within `horizon` hours at which `value(h)` (the projection `h` hours ahead,
/// evaluated every `step` hours) reaches `limit`, linearly interpolated between steps.
/// `None` when it is already there at `h = 0` or never within the horizon.
pub fn first_crossing(
    limit: f64,
    horizon: f64,
    step: f64,
    value: impl Fn(f64) -> f64,
) -> Option<f64> {
    if !(limit.is_finite() && horizon.is_finite() && step.is_finite() && step > 0.0) {
        return None;
    }
    let mut prev_h = 0.0;
    let mut prev = value(0.0);
    if !prev.is_finite() || prev >= limit {
        return None;
    }
    let steps = (horizon / step).ceil().min(100_000.0) as usize;
    for i in 1..=steps {
        let h = (i as f64 * step).min(horizon);
        let v = value(h);
        if !v.is_finite() {
            return None;
        }
        if v >= limit {
            let frac = if v > prev {
                (limit - prev) / (v - prev)
            } else {
                1.0
            };
            return Some(prev_h + frac.clamp(0.0, 1.0) * (h - prev_h));
        }
        prev_h = h;
        prev = v;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn holt_learns_a_linear_trend_per_hour_from_irregular_steps() {
        let cfg = ForecastConfig::default();
        let mut h = Holt::default();
        let mut t = 0.0;
        for i in 0..400 {
            let dt = if i % 3 == 0 { 0.5 } else { 1.0 / 6.0 };
            t += dt;
            h.update(2.0 + 0.05 * t, dt, &cfg);
        }
        assert!((h.trend - 0.05).abs() < 1e-3, "{}", h.trend);
        assert!((h.project(10.0) - (2.0 + 0.05 * (t + 10.0))).abs() < 0.01);
        h.update(f64::NAN, 1.0, &cfg);
        assert!(h.level.is_finite());
    }

    #[test]
    fn trend_fit_is_significant_on_a_line_and_not_on_alternating_noise() {
        let mut line = TrendFit::default();
        let mut flat = TrendFit::default();
        for i in 0..200 {
            let noise = if i % 2 == 0 { 0.1 } else { -0.1 };
            line.update(0.02 * i as f64 / 6.0 + noise, 1.0 / 6.0, 6.0);
            flat.update(noise, 1.0 / 6.0, 6.0);
        }
        let l = line.stats().unwrap();
        assert!((l.slope - 0.02).abs() < 0.005, "{l:?}");
        assert!(l.t > 4.0, "{l:?}");
        let f = flat.stats().unwrap();
        assert!(f.t.abs() < 1.0, "{f:?}");
        assert!(f.r2 < 0.05, "{f:?}");
        assert!(TrendFit::default().stats().is_none());
    }

    #[test]
    fn mann_kendall_sees_a_rise_but_not_a_step_at_the_start() {
        let rising: Vec<f64> = (0..40)
            .map(|i| i as f64 * 0.01 + [0.05, -0.05][i % 2])
            .collect();
        assert!(mann_kendall_z(&rising) > 5.0);
        // Two low points, then flat noise: a step the run caught just before it began.
        let mut step = vec![-0.5, -0.5];
        step.extend((0..38).map(|i| ((i * 7919) % 13) as f64 * 0.01));
        let z = mann_kendall_z(&step);
        assert!(z.abs() < 2.0, "{z}");
        let falling: Vec<f64> = rising.iter().rev().copied().collect();
        assert!((mann_kendall_z(&falling) + mann_kendall_z(&rising)).abs() < 1e-12);
        assert_eq!(mann_kendall_z(&[1.0, 2.0]), 0.0);
        // NaN pairs count as ties: S = 3 from the three rising pairs.
        let z = mann_kendall_z(&[f64::NAN, 1.0, 2.0, 3.0]);
        assert!((z - 2.0 / (4.0f64 * 3.0 * 13.0 / 18.0).sqrt()).abs() < 1e-12);
    }

    #[test]
    fn first_crossing_interpolates_and_respects_the_horizon() {
        let at = first_crossing(10.0, 12.0, 0.25, |h| 4.0 + 0.5 * h).unwrap();
        assert!((at - 12.0).abs() < 1e-9, "{at}");
        let at = first_crossing(10.0, 12.0, 1.0, |h| 4.0 + 0.8 * h).unwrap();
        assert!((at - 7.5).abs() < 1e-9, "{at}");
        assert_eq!(first_crossing(10.0, 6.0, 0.25, |h| 4.0 + 0.5 * h), None);
        assert_eq!(first_crossing(10.0, 12.0, 0.25, |_| 11.0), None);
        assert_eq!(first_crossing(10.0, 12.0, 0.0, |h| h), None);
    }

    #[test]
    fn service_specific_thresholds_override_generic_ones() {
        let cfg = ForecastConfig {
            thresholds: vec![
                Threshold {
                    slot: "latency_ms".into(),
                    above: 800.0,
                    service: None,
                    quantile: None,
                },
                Threshold {
                    slot: "latency_ms".into(),
                    above: 300.0,
                    service: Some("search".into()),
                    quantile: None,
                },
            ],
            ..ForecastConfig::default()
        };
        assert_eq!(cfg.thresholds_for("checkout", "latency_ms")[0].above, 800.0);
        let s = cfg.thresholds_for("search", "latency_ms");
        assert_eq!(s.len(), 1);
        assert_eq!(s[0].above, 300.0);
        assert!(cfg.thresholds_for("checkout", "size").is_empty());
    }
}
