//! Parameter drift: the distribution of one numeric template slot, learned per seasonal slot,
//! and a change detector that accumulates evidence of a shift across buckets.
//!
//! Owns: [`DriftConfig`] (`detect.drift` in YAML), the per-slot [`SlotModel`] and the
//! [`DriftFinding`] it returns. Pure: time comes from the bucket bounds the caller passes.
//!
//! How it works:
//! - The values of one bucket go into a [`QuantileSketch`]; when the bucket closes its
//!   quantiles (p50 and p95 by default) are read and moved to a log-like scale
//!   `t(v) = sign(v)·ln(1 + |v|)` (relative for large values, defined for zero and negatives).
//! - Training learns, per local hour-of-week, the mean and variance of each bucket quantile
//!   and the usual number of values per bucket: the *per-bucket* noise, which is what a bucket
//!   quantile is compared with. An hour-of-week is shrunk towards its hour-of-day (the seven
//!   cells of that hour pooled) by `season_prior_buckets`, so one or two weeks of history
//!   suffice; the mixture's variance includes the gap between the two, so recurring bursts
//!   present in training (a daily deploy) widen the band instead of alerting. Keeping moments
//!   of bucket quantiles rather than a sketch per season keeps a model to a few kilobytes.
//! - Detection standardises each bucket quantile against its season (`z`, clipped to
//!   ±`max_bucket_z`; the variance grows when a bucket has fewer values than usual) and runs a
//!   two-sided CUSUM with slack `cusum_slack` per quantile. A drift is reported when a sum
//!   reaches `cusum_threshold`; once per episode: the slot re-arms when all sums have fallen
//!   back below a quarter of the threshold. The CUSUM assumes independent buckets; real
//!   slots wander for hours, so a drift also needs the smoothed shift (Holt's level of the
//!   residual) to reach `min_level_sigmas` bucket standard deviations.
//! - The deseasonalised residual of each quantile also feeds Holt's linear trend and a weighted
//!   trend fit ([`super::forecast`]). A forecast needs a persistent upward shift (the upward
//!   CUSUM at half its threshold), a significant weighted trend, and a rising trend *after the
//!   change point*: a Mann-Kendall test on the residuals since the upward CUSUM last left zero
//!   (its classic change-point estimate). The last one is what tells a creep from a step: any
//!   smoothed trend sees a step as a slope for hours, but after the step the values are flat.
//!   Then the projection (residual trend plus the seasonal profile) is checked against the
//!   slot's threshold within the horizon, once per episode.
//!
//! The baseline is not updated during detection (retraining is scheduled), except in a cold
//! start: a model with fewer than `min_training_buckets` trained buckets, or one meeting an
//! hour of the day it never saw, learns those buckets instead of judging them.
//!
//! Measured (`cargo bench --bench drift -- 100`): no finding on 100 normal and 100 deploy
//! slot-weeks; the +2%/h creep drifts 22-26 h and forecasts 7-13 h before a breach 35 h out.

use super::forecast::{
    first_crossing, mann_kendall_z, ForecastConfig, ForecastFinding, Holt, TrendFit,
};
use super::sketch::QuantileSketch;
use crate::validate::Problems;
use chrono::{DateTime, Duration, Timelike, Utc};
use serde::{Deserialize, Serialize};
use std::collections::VecDeque;

/// Hours in a week: the number of seasonal cells.
const HOURS_PER_WEEK: usize = 168;

/// Drift and forecast settings (a sub-section of `detect`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DriftConfig {
    /// Quantiles tracked per slot, each strictly between 0 and 1 (default `[0.5, 0.95]`).
    pub quantiles: Vec<f64>,
    /// Relative accuracy of the bucket sketches (default 0.01 = 1%).
    pub sketch_accuracy: f64,
    /// A bucket with fewer values than this is not judged (nor learned): its values carry over
    /// into the next bucket, so sparse slots are seen through merged buckets (default 5).
    pub min_bucket_values: u32,
    /// Trained buckets a slot needs before it detects; below, it learns what it sees
    /// (default 48).
    pub min_training_buckets: u32,
    /// Weight, in buckets, of the hour-of-day estimate when estimating an hour-of-week
    /// (default 3).
    pub season_prior_buckets: f64,
    /// CUSUM slack in standard deviations: shifts smaller than this do not accumulate
    /// (default 1).
    pub cusum_slack: f64,
    /// CUSUM decision threshold in standard deviations (default 10).
    pub cusum_threshold: f64,
    /// A single bucket contributes at most this many standard deviations (default 4), so one
    /// outlying bucket never fires alone.
    pub max_bucket_z: f64,
    /// A drift also needs the smoothed shift (Holt's level of the deseasonalised bucket
    /// quantile) to reach this many bucket standard deviations (default 3). The CUSUM alone
    /// assumes independent buckets; this keeps hours-long wander, which makes neighbouring
    /// buckets deviate together, from adding up to a drift.
    pub min_level_sigmas: f64,
    /// Noise floor as a fraction of the value (default 0.02): a constant slot needs a change
    /// larger than this to count.
    pub min_relative_noise: f64,
    /// Drifts smaller than this relative change are not reported (default 0.05).
    pub min_magnitude: f64,
    /// A jump: a quantile this many standard deviations from its season (unclamped, default
    /// 8) in `jump_buckets` buckets in a row is a drift at once, without waiting for the
    /// CUSUM and the smoothed level to catch up (a queue lag or a retry count many-fold for
    /// half an hour).
    pub jump_z: f64,
    /// Buckets in a row a jump needs (default 2): each with some quantile at least half of
    /// `jump_z` off, one of them `jump_z`.
    pub jump_buckets: u32,
    /// A jump to this many times its baseline or more (or to this fraction or less) is at
    /// least `moderate` (default 2.0; 0 turns the rule off).
    pub jump_moderate_factor: f64,
    /// Buckets with fewer values than this never count towards a jump (default 20): a few
    /// near-constant values make any change look like dozens of standard deviations.
    pub jump_min_values: u32,
    /// Forecast settings.
    pub forecast: ForecastConfig,
}

impl Default for DriftConfig {
    fn default() -> Self {
        DriftConfig {
            quantiles: vec![0.5, 0.95],
            sketch_accuracy: 0.01,
            min_bucket_values: 5,
            min_training_buckets: 48,
            season_prior_buckets: 3.0,
            cusum_slack: 1.0,
            cusum_threshold: 10.0,
            max_bucket_z: 4.0,
            min_level_sigmas: 3.0,
            min_relative_noise: 0.02,
            min_magnitude: 0.05,
            jump_z: 8.0,
            jump_buckets: 2,
            jump_moderate_factor: 2.0,
            jump_min_values: 20,
            forecast: ForecastConfig::default(),
        }
    }
}

impl DriftConfig {
    /// Report problems under `path`.
    pub fn validate(&self, path: &str, p: &mut Problems) {
        if self.quantiles.is_empty() || self.quantiles.len() > 8 {
            p.add(format!("{path}.quantiles"), "must list 1 to 8 quantiles");
        }
        for (i, &q) in self.quantiles.iter().enumerate() {
            if !(q > 0.0 && q < 1.0) {
                p.add(
                    format!("{path}.quantiles[{i}]"),
                    format!("must be strictly between 0 and 1, got {q}"),
                );
            }
        }
        p.range(
            format!("{path}.sketch_accuracy"),
            self.sketch_accuracy,
            0.0001,
            0.2,
        );
        p.range(
            format!("{path}.min_bucket_values"),
            self.min_bucket_values,
            1,
            1_000_000,
        );
        p.range(
            format!("{path}.min_training_buckets"),
            self.min_training_buckets,
            1,
            1_000_000,
        );
        p.range(
            format!("{path}.season_prior_buckets"),
            self.season_prior_buckets,
            0.0,
            1000.0,
        );
        p.range(format!("{path}.cusum_slack"), self.cusum_slack, 0.0, 10.0);
        p.range(format!("{path}.jump_z"), self.jump_z, 1.0, 1e6);
        p.range(format!("{path}.jump_buckets"), self.jump_buckets, 1, 1000);
        p.range(
            format!("{path}.jump_moderate_factor"),
            self.jump_moderate_factor,
            0.0,
            1e6,
        );
        p.range(
            format!("{path}.jump_min_values"),
            self.jump_min_values,
            1,
            1_000_000,
        );
        p.range(
            format!("{path}.cusum_threshold"),
            self.cusum_threshold,
            0.5,
            1000.0,
        );
        p.range(
            format!("{path}.max_bucket_z"),
            self.max_bucket_z,
            0.5,
            100.0,
        );
        p.range(
            format!("{path}.min_level_sigmas"),
            self.min_level_sigmas,
            0.0,
            100.0,
        );
        p.range(
            format!("{path}.min_relative_noise"),
            self.min_relative_noise,
            0.0,
            10.0,
        );
        p.range(
            format!("{path}.min_magnitude"),
            self.min_magnitude,
            0.0,
            100.0,
        );
        self.forecast
            .validate(&format!("{path}.forecast"), &self.quantiles, p);
    }
}

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
    /// Found by the jump rule (far off in `jump_buckets` buckets in a row), not by the
    /// slow accumulation, with the lowest tracked quantile (the bulk of the values, not a
    /// tail a few lines make) far off in the last bucket.
    pub jumped: bool,
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

/// The log-like scale the statistics live on: relative for large magnitudes, linear near
/// zero, defined everywhere.
fn to_scale(v: f64) -> f64 {
    v.signum() * v.abs().ln_1p()
}

/// The inverse of [`to_scale`].
fn from_scale(y: f64) -> f64 {
    y.signum() * y.abs().exp_m1()
}

/// Standard normal upper tail probability, P(Z > x) (Chebyshev fit of erfc, relative error
/// below 1.2e-7).
fn normal_sf(x: f64) -> f64 {
    let z = x / std::f64::consts::SQRT_2;
    let a = z.abs();
    let t = 1.0 / (1.0 + 0.5 * a);
    let poly = -a * a - 1.265_512_23
        + t * (1.000_023_68
            + t * (0.374_091_96
                + t * (0.096_784_18
                    + t * (-0.186_288_06
                        + t * (0.278_868_07
                            + t * (-1.135_203_98
                                + t * (1.488_515_87 + t * (-0.822_152_23 + t * 0.170_872_77))))))));
    let erfc = t * poly.exp();
    let erfc = if z >= 0.0 { erfc } else { 2.0 - erfc };
    0.5 * erfc
}

/// One side of a CUSUM with the run it accumulated over.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
struct Cusum {
    /// The sum, in standard deviations.
    s: f64,
    /// Buckets since it was last zero.
    run: u32,
    /// Sum over the run of the observed value (on the scale).
    sum_x: f64,
    /// Sum over the run of the baseline (on the scale).
    sum_mu: f64,
    /// Sum over the run of the signed z.
    sum_z: f64,
}

impl Cusum {
    /// Add a bucket's `z` (already signed for this side).
    fn update(&mut self, z: f64, x: f64, mu: f64, slack: f64, cap: f64) {
        let s = (self.s + z - slack).min(cap);
        if s <= 0.0 {
            *self = Cusum::default();
        } else {
            self.s = s;
            self.run = self.run.saturating_add(1);
            self.sum_x += x;
            self.sum_mu += mu;
            self.sum_z += z;
        }
    }
}

/// The detectors of one tracked quantile.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
struct Tracker {
    up: Cusum,
    down: Cusum,
    holt: Holt,
    fit: TrendFit,
    /// Residuals of the current upward run (the latest [`RUN_POINTS`]; empty at rest).
    run: VecDeque<f32>,
}

/// A jump in the making, one per direction: buckets in a row in which some quantile was at
/// least half of `jump_z` off its season, and the largest deviation among them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
struct Jump {
    buckets: u32,
    peak_z: f64,
}

impl Jump {
    /// Add a bucket whose most deviating quantile (signed for this side) is `z`.
    fn update(&mut self, z: f64, jump_z: f64) {
        if z >= jump_z / 2.0 {
            self.buckets = self.buckets.saturating_add(1);
            self.peak_z = self.peak_z.max(z);
        } else {
            *self = Jump::default();
        }
    }

    fn jumped(&self, cfg: &DriftConfig) -> bool {
        self.buckets >= cfg.jump_buckets && self.peak_z >= cfg.jump_z
    }
}

/// Residuals kept of an upward run, for the trend test after the change point.
const RUN_POINTS: usize = 144;

/// An upward run needs this many buckets before its trend is tested.
const MIN_RUN_POINTS: usize = 12;

/// A seasonal estimate for one quantile.
#[derive(Debug, Clone, Copy)]
struct Season {
    mean: f64,
    var: f64,
    n_eff: f64,
    count_mean: f64,
}

/// Welford moments merged across cells (Chan's parallel combination).
#[derive(Debug, Clone, Copy, Default)]
struct Moments {
    n: f64,
    mean: f64,
    m2: f64,
}

impl Moments {
    fn merge(&mut self, n: f64, mean: f64, m2: f64) {
        if n <= 0.0 {
            return;
        }
        let total = self.n + n;
        let delta = mean - self.mean;
        self.mean += delta * n / total;
        self.m2 += m2 + delta * delta * self.n * n / total;
        self.n = total;
    }

    fn var(&self) -> Option<f64> {
        (self.n >= 2.0).then(|| (self.m2 / (self.n - 1.0)).max(0.0))
    }
}

/// The learned distribution of one numeric slot of one (service, template), and its detectors.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SlotModel {
    /// The tracked quantiles (fixed when the model is created).
    quantiles: Vec<f64>,
    /// Values of the open bucket.
    bucket: QuantileSketch,
    /// Buckets with fewer values are skipped.
    min_values: u32,
    /// Trained buckets in total.
    trained: u64,
    /// Per hour-of-week: trained buckets (empty until the first training bucket).
    n: Vec<u32>,
    /// Per hour-of-week: mean values per bucket.
    count_mean: Vec<f32>,
    /// Per hour-of-week and quantile (`how * quantiles.len() + qi`): mean of the bucket
    /// quantile on the scale.
    mean: Vec<f32>,
    /// Same layout: sum of squared deviations (Welford).
    m2: Vec<f32>,
    /// Detectors, one per quantile.
    trackers: Vec<Tracker>,
    /// A drift was reported and the slot has not recovered yet.
    in_drift: bool,
    /// A forecast was reported and the slot has not recovered yet.
    forecast_sent: bool,
    /// End of the last closed detection bucket.
    last_end: Option<DateTime<Utc>>,
    /// Jumps up and down in the making.
    #[serde(default)]
    jumps: [Jump; 2],
}

impl Default for SlotModel {
    fn default() -> Self {
        SlotModel::new(&DriftConfig::default())
    }
}

impl SlotModel {
    /// A new, empty slot model.
    pub fn new(cfg: &DriftConfig) -> Self {
        let mut quantiles: Vec<f64> = cfg
            .quantiles
            .iter()
            .copied()
            .filter(|q| *q > 0.0 && *q < 1.0)
            .collect();
        if quantiles.is_empty() {
            quantiles = DriftConfig::default().quantiles;
        }
        SlotModel {
            trackers: vec![Tracker::default(); quantiles.len()],
            quantiles,
            bucket: QuantileSketch::new(cfg.sketch_accuracy),
            min_values: cfg.min_bucket_values.max(1),
            trained: 0,
            n: Vec::new(),
            count_mean: Vec::new(),
            mean: Vec::new(),
            m2: Vec::new(),
            in_drift: false,
            forecast_sent: false,
            last_end: None,
            jumps: [Jump::default(); 2],
        }
    }

    /// Make a model read from a damaged file safe to use: statistics whose array lengths do
    /// not fit the tracked quantiles are forgotten (the slot then learns again, as in a cold
    /// start) instead of being indexed out of bounds.
    fn repair(&mut self) {
        if self.quantiles.is_empty() || self.quantiles.iter().any(|q| !(*q > 0.0 && *q < 1.0)) {
            self.quantiles = DriftConfig::default().quantiles;
            self.n.clear();
        }
        let nq = self.quantiles.len();
        let fits = self.n.is_empty() && self.count_mean.is_empty() && self.mean.is_empty()
            || self.n.len() == HOURS_PER_WEEK
                && self.count_mean.len() == HOURS_PER_WEEK
                && self.mean.len() == HOURS_PER_WEEK * nq
                && self.m2.len() == HOURS_PER_WEEK * nq;
        if !fits || self.n.is_empty() {
            self.n.clear();
            self.count_mean.clear();
            self.mean.clear();
            self.m2.clear();
            self.trained = 0;
        }
        if self.trackers.len() != nq {
            self.trackers = vec![Tracker::default(); nq];
        }
    }

    /// The tracked quantiles.
    pub fn quantiles(&self) -> &[f64] {
        &self.quantiles
    }

    /// Buckets learned so far.
    pub fn trained_buckets(&self) -> u64 {
        self.trained
    }

    /// Training: a value seen at local hour-of-week `how` (0 = Monday 00:00 … 167).
    pub fn learn(&mut self, _how: usize, value: f64) {
        self.bucket.add(value);
    }

    /// Training: a bucket ended (lets the model learn per-bucket statistics).
    pub fn learn_bucket_end(&mut self, how: usize) {
        if let Some(qs) = self.take_bucket() {
            self.learn_quantiles(how % HOURS_PER_WEEK, &qs.0, qs.1);
        }
    }

    /// Detection: a value in the open bucket.
    pub fn observe(&mut self, value: f64) {
        self.bucket.add(value);
    }

    /// The open bucket's quantiles on the scale and its value count, then clear it. With too
    /// few values it returns `None` and keeps them: they carry over into the next bucket, so
    /// a sparse slot is judged on merged buckets instead of never.
    fn take_bucket(&mut self) -> Option<(Vec<f64>, u64)> {
        let count = self.bucket.count();
        if count < u64::from(self.min_values.max(1)) {
            return None;
        }
        let qs: Option<Vec<f64>> = self
            .quantiles
            .iter()
            .map(|&q| self.bucket.quantile(q).map(to_scale))
            .collect();
        self.bucket.clear();
        qs.map(|q| (q, count))
    }

    fn learn_quantiles(&mut self, how: usize, qs: &[f64], count: u64) {
        self.repair();
        let nq = self.quantiles.len();
        if qs.len() != nq {
            return;
        }
        if self.n.is_empty() {
            self.n = vec![0; HOURS_PER_WEEK];
            self.count_mean = vec![0.0; HOURS_PER_WEEK];
            self.mean = vec![0.0; HOURS_PER_WEEK * nq];
            self.m2 = vec![0.0; HOURS_PER_WEEK * nq];
        }
        let n = self.n[how].saturating_add(1);
        self.n[how] = n;
        let nf = n as f32;
        self.count_mean[how] += (count as f32 - self.count_mean[how]) / nf;
        for (qi, &x) in qs.iter().enumerate() {
            let i = how * nq + qi;
            let x = x as f32;
            let delta = x - self.mean[i];
            self.mean[i] += delta / nf;
            self.m2[i] = (self.m2[i] + delta * (x - self.mean[i])).max(0.0);
        }
        self.trained += 1;
    }

    /// The seasonal estimate of quantile `qi` at hour-of-week `how`: the hour-of-week cell
    /// shrunk towards its hour-of-day (the seven cells of that hour), whose variance is in
    /// turn shrunk towards the whole week's. `None` when the hour of day has fewer than two
    /// trained buckets, unless `or_week`, which then falls back to the whole week.
    fn season(&self, how: usize, qi: usize, prior: f64, or_week: bool) -> Option<Season> {
        if self.n.is_empty() {
            return None;
        }
        let nq = self.quantiles.len();
        let cell = |h: usize| {
            let i = h * nq + qi;
            (
                f64::from(self.n[h]),
                f64::from(self.mean[i]),
                f64::from(self.m2[i]),
            )
        };
        let (mut hod, mut week) = (Moments::default(), Moments::default());
        let (mut hod_counts, mut week_counts) = (0.0, 0.0);
        for h in 0..HOURS_PER_WEEK {
            let (n, mean, m2) = cell(h);
            let counts = n * f64::from(self.count_mean[h]);
            week.merge(n, mean, m2);
            week_counts += counts;
            if h % 24 == how % 24 {
                hod.merge(n, mean, m2);
                hod_counts += counts;
            }
        }
        // The week's variance includes the gaps between hours: a wide, safe prior.
        let week_var = week.var()?;
        let (wide, wide_var, counts) = if hod.n >= 2.0 {
            let var = (hod.m2 + prior * week_var) / (hod.n - 1.0 + prior);
            (hod, var, hod_counts)
        } else if or_week {
            (week, week_var, week_counts)
        } else {
            return None;
        };
        let (n_w, mean_w, m2_w) = cell(how);
        let var_w = if n_w >= 2.0 {
            (m2_w + prior * wide_var) / (n_w - 1.0 + prior)
        } else {
            wide_var
        };
        let w = if n_w + prior > 0.0 {
            n_w / (n_w + prior)
        } else {
            0.0
        };
        let mean = w * mean_w + (1.0 - w) * wide.mean;
        let var = w * var_w + (1.0 - w) * wide_var + w * (1.0 - w) * (mean_w - wide.mean).powi(2);
        let count_mean = if n_w > 0.0 {
            f64::from(self.count_mean[how])
        } else {
            counts / wide.n
        };
        Some(Season {
            mean,
            var,
            n_eff: n_w + prior.min(wide.n),
            count_mean,
        })
    }

    /// Detection: close the bucket `[start, end)` at hour-of-week `how`; returns a drift
    /// and/or a forecast breach when the detectors fire.
    pub fn close_bucket(
        &mut self,
        cfg: &DriftConfig,
        key: &SlotKey<'_>,
        start: DateTime<Utc>,
        end: DateTime<Utc>,
        how: usize,
    ) -> (Option<DriftFinding>, Option<ForecastFinding>) {
        let how = how % HOURS_PER_WEEK;
        self.repair();
        let Some((qs, count)) = self.take_bucket() else {
            return (None, None);
        };
        // A cold start, or an hour of the day never seen: learn it rather than judge it.
        if self.trained < u64::from(cfg.min_training_buckets)
            || self
                .season(how, 0, cfg.season_prior_buckets, false)
                .is_none()
        {
            self.learn_quantiles(how, &qs, count);
            return (None, None);
        }
        let dt = match self.last_end {
            Some(last) if end > last => (end - last).num_seconds() as f64 / 3600.0,
            _ => ((end - start).num_seconds() as f64 / 3600.0).max(1.0 / 60.0),
        };
        self.last_end = Some(end);
        let h = cfg.cusum_threshold.max(1e-6);
        let mut fired: Option<(usize, bool, f64)> = None;
        // The largest deviation of any quantile up and down (for jumps), and the lowest
        // quantile's (the bulk of the values, not a tail a few lines make).
        let mut peak = [f64::NEG_INFINITY; 2];
        let lowest = (0..self.quantiles.len())
            .min_by(|&a, &b| self.quantiles[a].total_cmp(&self.quantiles[b]))
            .unwrap_or(0);
        let mut bulk_z = 0.0;
        // Per quantile: this bucket's value, its season's mean and the unclamped deviation.
        let mut now: Vec<Option<(f64, f64, f64)>> = vec![None; qs.len()];
        for (qi, &x) in qs.iter().enumerate() {
            let Some(season) = self.season(how, qi, cfg.season_prior_buckets, false) else {
                continue;
            };
            let mu = season.mean;
            let floor = cfg.min_relative_noise * (1.0 - (-x.abs()).exp()) + 1e-9;
            let few = (season.count_mean / count as f64).max(1.0);
            let sd = (season.var * few * (1.0 + 1.0 / season.n_eff.max(1.0)))
                .sqrt()
                .max(floor);
            let raw_z = (x - mu) / sd;
            let z = raw_z.clamp(-cfg.max_bucket_z, cfg.max_bucket_z);
            if !z.is_finite() {
                continue;
            }
            peak = [peak[0].max(raw_z), peak[1].max(-raw_z)];
            if qi == lowest {
                bulk_z = raw_z;
            }
            now[qi] = Some((x, mu, raw_z));
            let tr = &mut self.trackers[qi];
            tr.up.update(z, x, mu, cfg.cusum_slack, 2.0 * h);
            if tr.up.run == 0 {
                tr.run.clear();
            } else {
                if tr.run.len() >= RUN_POINTS {
                    tr.run.pop_front();
                }
                tr.run.push_back((x - mu) as f32);
            }
            tr.down.update(-z, x, mu, cfg.cusum_slack, 2.0 * h);
            tr.holt.update(x - mu, dt, &cfg.forecast);
            tr.fit.update(x - mu, dt, cfg.forecast.trend_window_hours);
            // The smoothed shift must be large too: correlated, hours-long wander makes bucket
            // deviations pile up in the sums without the level ever moving far.
            let level_z = tr.holt.level / sd;
            for (side, up) in [(&tr.up, true), (&tr.down, false)] {
                let level_ok = if up {
                    level_z >= cfg.min_level_sigmas
                } else {
                    level_z <= -cfg.min_level_sigmas
                };
                if side.s >= h && level_ok && fired.is_none_or(|(_, _, s)| side.s > s) {
                    fired = Some((qi, up, side.s));
                }
            }
        }
        // A jump: buckets in a row with some quantile far off (at least half of `jump_z`,
        // and `jump_z` once), reported at once without waiting for the CUSUM and the
        // smoothed level to catch up. The quantiles may take turns: the first, partial
        // bucket of a retry count that quadruples moves its p95, the next its median.
        // A jump is reported on the bucket itself: a quantile against its season, over the buckets of the jump (the CUSUM's running means would dilute it).
        let mut jump: Option<(usize, bool, u32)> = None;
        for (d, up) in [(0, true), (1, false)] {
            // A handful of near-constant values makes any small change look like dozens of
            // standard deviations: thin buckets wait for the CUSUM.
            let thin = count < u64::from(cfg.jump_min_values);
            self.jumps[d].update(if thin { 0.0 } else { peak[d] }, cfg.jump_z);
            if fired.is_none() && jump.is_none() && self.jumps[d].jumped(cfg) {
                // Of the quantiles clearly off (half of `jump_z`), the one that moved most.
                let sign = if up { 1.0 } else { -1.0 };
                let mut best: Option<(usize, f64)> = None;
                for (qi, q) in now.iter().enumerate() {
                    if let Some((x, mu, z)) = *q {
                        let shift = sign * (x - mu);
                        if sign * z >= cfg.jump_z / 2.0 && best.is_none_or(|(_, b)| shift > b) {
                            best = Some((qi, shift));
                        }
                    }
                }
                if let Some((qi, _)) = best {
                    jump = Some((qi, up, self.jumps[d].buckets));
                }
            }
        }
        let recovered = self
            .trackers
            .iter()
            .all(|t| t.up.s < h / 4.0 && t.down.s < h / 4.0)
            && self.jumps.iter().all(|j| j.buckets == 0);
        if recovered {
            self.in_drift = false;
            self.forecast_sent = false;
        }
        let mut drift = None;
        let found = match (fired, jump) {
            (Some((qi, up, _)), _) => {
                let tr = &self.trackers[qi];
                let side = if up { &tr.up } else { &tr.down };
                let run = f64::from(side.run.max(1));
                let p = normal_sf(side.sum_z / run * run.sqrt());
                Some((qi, side.sum_x / run, side.sum_mu / run, p, side.run, false))
            }
            (None, Some((qi, up, buckets))) => now[qi].map(|(x, mu, z)| {
                // The evidence is the jump's or the quantile's running sum's, the larger.
                let tr = &self.trackers[qi];
                let side = if up { &tr.up } else { &tr.down };
                let run = f64::from(side.run.max(1));
                let p = normal_sf(z.abs().min(cfg.max_bucket_z) * f64::from(buckets).sqrt())
                    .min(normal_sf(side.sum_z / run * run.sqrt()));
                // Many-fold claims need the bulk of the values to have moved.
                let bulk = if up { bulk_z } else { -bulk_z };
                let moved = bulk >= cfg.jump_z / 2.0;
                (qi, x, mu, p, buckets.max(side.run), moved)
            }),
            (None, None) => None,
        };
        if let (false, Some((qi, x, mu, p, persistence, jumped))) = (self.in_drift, found) {
            let current = from_scale(x);
            let baseline = from_scale(mu);
            let magnitude = ((current - baseline) / baseline.abs().max(1e-9)).clamp(-1e6, 1e6);
            if magnitude.abs() >= cfg.min_magnitude {
                self.in_drift = true;
                drift = Some(DriftFinding {
                    quantile: self.quantiles[qi],
                    baseline,
                    current,
                    probability: p.max(f64::MIN_POSITIVE),
                    magnitude,
                    persistence,
                    jumped,
                });
            }
        }
        let forecast = if self.forecast_sent {
            None
        } else {
            self.forecast(cfg, key, start, end, how)
        };
        if forecast.is_some() {
            self.forecast_sent = true;
        }
        (drift, forecast)
    }

    /// The earliest projected crossing of a threshold for this slot within the horizon, if the
    /// slot shows a persistent upward shift with a significant trend.
    fn forecast(
        &self,
        cfg: &DriftConfig,
        key: &SlotKey<'_>,
        start: DateTime<Utc>,
        end: DateTime<Utc>,
        how: usize,
    ) -> Option<ForecastFinding> {
        let fc = &cfg.forecast;
        // Cheap gate first: a persistent upward shift on some quantile.
        if self
            .trackers
            .iter()
            .all(|t| t.up.s < cfg.cusum_threshold / 2.0)
        {
            return None;
        }
        let top = self
            .quantiles
            .iter()
            .enumerate()
            .max_by(|a, b| a.1.total_cmp(b.1))
            .map(|(i, _)| i)?;
        let mut limits: Vec<(usize, f64)> = Vec::new();
        let configured = fc.thresholds_for(key.service, key.slot_name);
        if configured.is_empty() {
            if fc.default_threshold_factor > 0.0 {
                let highest = (0..HOURS_PER_WEEK)
                    .filter_map(|h| self.season(h, top, cfg.season_prior_buckets, false))
                    .map(|s| from_scale(s.mean))
                    .fold(f64::NEG_INFINITY, f64::max);
                if highest > 0.0 {
                    limits.push((top, fc.default_threshold_factor * highest));
                }
            }
        } else {
            for t in configured {
                let qi = match t.quantile {
                    None => Some(top),
                    Some(q) => self.quantiles.iter().position(|&x| (x - q).abs() < 1e-9),
                };
                if let Some(qi) = qi {
                    limits.push((qi, t.above));
                }
            }
        }
        let mid = start + (end - start) / 2;
        let lag = (end - mid).num_seconds() as f64 / 3600.0;
        // Minutes into the local hour at the bucket's middle (whole-hour zone offsets).
        let into_hour = f64::from(mid.minute()) / 60.0;
        let step = ((end - start).num_seconds() as f64 / 3600.0).clamp(1.0 / 60.0, 0.25);
        let mut best: Option<ForecastFinding> = None;
        for (qi, limit) in limits {
            let tr = &self.trackers[qi];
            if tr.up.s < cfg.cusum_threshold / 2.0 || tr.holt.n < 2 || tr.holt.trend <= 0.0 {
                continue;
            }
            let Some(stats) = tr.fit.stats() else {
                continue;
            };
            if stats.t < fc.min_trend_t || stats.slope <= 0.0 {
                continue;
            }
            // The trend must go on after the change point (where the run began): a step up
            // is flat there, a creep keeps rising.
            let run: Vec<f64> = tr.run.iter().map(|&r| f64::from(r)).collect();
            if run.len() < MIN_RUN_POINTS || mann_kendall_z(&run) < fc.min_run_trend_z {
                continue;
            }
            let scaled_limit = to_scale(limit);
            let value = |h: f64| {
                // h hours after the bucket end; the Holt level is at the bucket's middle.
                let ahead = h + lag;
                let cell = (how + (into_hour + ahead).floor() as usize) % HOURS_PER_WEEK;
                self.season(cell, qi, cfg.season_prior_buckets, true)
                    .map_or(f64::NAN, |s| s.mean + tr.holt.project(ahead))
            };
            let Some(hours) = first_crossing(scaled_limit, fc.horizon_hours, step, value) else {
                continue;
            };
            if best.as_ref().is_some_and(|b| b.hours_to_breach <= hours) {
                continue;
            }
            let now_season = self
                .season(how, qi, cfg.season_prior_buckets, false)
                .map_or(0.0, |s| s.mean);
            let level_scaled = now_season + tr.holt.level;
            let level = from_scale(level_scaled);
            let trend_per_hour = from_scale(level_scaled + tr.holt.trend) - level;
            let Some(breach_at) =
                end.checked_add_signed(Duration::milliseconds((hours * 3_600_000.0) as i64))
            else {
                continue;
            };
            best = Some(ForecastFinding {
                threshold: limit,
                breach_at,
                hours_to_breach: hours,
                horizon_hours: fc.horizon_hours,
                level,
                trend_per_hour,
                confidence: stats.r2,
            });
        }
        best
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_scale_round_trips_and_is_monotonic() {
        for v in [-1e6, -3.5, -1e-3, 0.0, 1e-3, 0.7, 250.0, 1e9] {
            assert!((from_scale(to_scale(v)) - v).abs() <= 1e-9 * v.abs().max(1.0));
        }
        assert!(to_scale(-2.0) < to_scale(-1.0));
        assert!(to_scale(1.0) < to_scale(2.0));
    }

    #[test]
    fn normal_tail_matches_known_values() {
        assert!((normal_sf(0.0) - 0.5).abs() < 1e-7);
        assert!((normal_sf(1.959_964) - 0.025).abs() < 1e-6);
        assert!((normal_sf(-1.644_854) - 0.95).abs() < 1e-6);
        assert!((normal_sf(5.0) / 2.866_515_7e-7 - 1.0).abs() < 1e-5);
    }

    #[test]
    fn an_empty_model_is_small_and_quiet() {
        let cfg = DriftConfig::default();
        let mut m = SlotModel::new(&cfg);
        let key = SlotKey {
            service: "s",
            template: "t <*>",
            slot_name: "x",
        };
        let t0 = DateTime::parse_from_rfc3339("2026-11-02T00:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        for v in [1.0, 2.0, 3.0, 4.0, 5.0, 6.0] {
            m.observe(v);
        }
        let out = m.close_bucket(&cfg, &key, t0, t0 + Duration::minutes(10), 0);
        assert_eq!(out, (None, None));
        assert_eq!(m.trained_buckets(), 1, "a cold model learns what it sees");
        let json = serde_json::to_string(&SlotModel::new(&cfg)).unwrap();
        assert!(json.len() < 1000, "{} {json}", json.len());
    }
}
