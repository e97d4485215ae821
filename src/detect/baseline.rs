//! The baseline: what normal looks like per (service, template), (service, pattern) and
//! service, learned by the [`Trainer`] from historical records.
//!
//! Invariants:
//! - every profile's sums are over the same span of buckets (the training span), whose
//!   exposure per local hour-of-week and bucket-of-day is kept once in the [`Baseline`]; a key
//!   absent from a bucket counts as zero there;
//! - profiles are keyed by final template ids: a template that generalised during training
//!   has its history merged into the template it became;
//! - the expectation of a bucket ([`Baseline::expected`]) depends only on the bucket's local
//!   season, so the same bucket always gets the same expectation.

use super::drift::SlotModel;
use super::DetectConfig;
use super::TrainerSettings;
use crate::cluster::PatternModel;
use crate::model::{content_id, LogRecord, PatternId, TemplateId};
use crate::parse::TemplateMiner;
use chrono::{DateTime, Datelike, TimeZone, Timelike, Utc};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap};

/// What a count profile is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Subject {
    /// All lines of a service.
    Service,
    /// One template of a service.
    Template(TemplateId),
    /// One pattern (a cluster of templates) of a service.
    Pattern(PatternId),
}

/// The learned counts of one key.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct KeyProfile {
    /// The service.
    pub service: String,
    /// What is counted.
    pub subject: Subject,
    /// Lines in training.
    pub total: u64,
    /// Error-level lines in training.
    pub errors: u64,
    /// Training buckets in which the key appeared at least once.
    pub buckets_present: u64,
    /// Sum of bucket counts per local hour-of-week (168, Monday 00:00 first); empty for rare
    /// keys, whose counts are tested against their flat rate.
    pub sum_how: Vec<f64>,
    /// Sum of bucket counts per local bucket-of-day; empty for rare keys.
    pub sum_bod: Vec<f64>,
    /// Training days on which the key appeared in each local bucket-of-day; empty for rare
    /// keys. A key present in a bucket on (nearly) every day is regular there, and its
    /// absence is news even when it comes once in a while (a job every 15 minutes).
    #[serde(default)]
    pub present_bod: Vec<u32>,
    /// Negative binomial overdispersion of the bucket counts around the expectation.
    pub dispersion: f64,
    /// A high (95th percentile) error share of the busy training buckets.
    pub error_share_hi: f64,
    /// When the key was first seen.
    pub first_seen: Option<DateTime<Utc>>,
    /// Warning-level lines in training (counted for services).
    #[serde(default)]
    pub warns: u64,
    /// For a template that comes at a steady pace: its period and longest regular gap.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cadence: Option<Cadence>,
}

/// The pace of a periodic message, learned from the gaps between its lines in training.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Cadence {
    /// The median gap, in seconds.
    pub period_secs: f64,
    /// The longest gap of at most [`Cadence::REGULAR_FACTOR`] periods (longer ones are
    /// pauses, such as a job that does not run at night), in seconds.
    pub longest_secs: f64,
    /// Gaps learned from.
    pub gaps: u64,
}

impl Cadence {
    /// Gaps up to this many periods are the message's own irregularity; longer ones are
    /// pauses, judged by the presence of the message at the time instead.
    pub const REGULAR_FACTOR: f64 = 8.0;
    /// Gaps needed before a pace is trusted.
    const MIN_GAPS: u64 = 48;
    /// Periods shorter than this are left to the bucket counts.
    const MIN_PERIOD_SECS: f64 = 5.0;

    /// The pace of a histogram of gaps ([`GapHistogram`]), if it is steady: the 10th and
    /// 90th percentiles within half and one and a half periods of the median. Requests,
    /// which come at random, have a 90th percentile some 20 times their 10th.
    fn of(h: &GapHistogram) -> Option<Cadence> {
        let gaps: u64 = h.bins.iter().map(|&c| u64::from(c)).sum();
        if gaps < Self::MIN_GAPS {
            return None;
        }
        let period = h.quantile(0.5, gaps);
        if period < Self::MIN_PERIOD_SECS
            || h.quantile(0.1, gaps) < 0.5 * period
            || h.quantile(0.9, gaps) > 1.5 * period
        {
            return None;
        }
        let longest = (0..h.bins.len())
            .rev()
            .filter(|&k| h.bins[k] > 0)
            .map(GapHistogram::upper)
            .find(|&u| u <= Self::REGULAR_FACTOR * period * GapHistogram::STEP)
            .unwrap_or(period);
        Some(Cadence {
            period_secs: period,
            longest_secs: longest,
            gaps,
        })
    }
}

/// Gaps between the lines of one key, in bins growing by 2% from half a second (up to six
/// days; allocated at a key's second line).
#[derive(Debug, Clone, Default)]
struct GapHistogram {
    last: Option<DateTime<Utc>>,
    bins: Vec<u32>,
}

impl GapHistogram {
    const STEP: f64 = 1.02;
    const FIRST: f64 = 0.5;
    const BINS: usize = 700;

    fn note(&mut self, t: DateTime<Utc>) {
        if let Some(last) = self.last {
            // Out-of-order lines are not gaps.
            if t < last {
                return;
            }
            let secs = (t - last).num_milliseconds() as f64 / 1000.0;
            let k = if secs <= Self::FIRST {
                0
            } else {
                ((secs / Self::FIRST).ln() / Self::STEP.ln()).ceil() as usize
            };
            if self.bins.is_empty() {
                self.bins = vec![0; Self::BINS];
            }
            let k = k.min(Self::BINS - 1);
            self.bins[k] = self.bins[k].saturating_add(1);
        }
        self.last = Some(t);
    }

    /// The upper edge of bin `k`, in seconds.
    fn upper(k: usize) -> f64 {
        Self::FIRST * Self::STEP.powi(k as i32)
    }

    /// The `q` quantile (by the bins' upper edges) of `n` gaps.
    fn quantile(&self, q: f64, n: u64) -> f64 {
        let want = (q * n as f64).ceil().max(1.0) as u64;
        let mut seen = 0u64;
        for (k, &c) in self.bins.iter().enumerate() {
            seen += u64::from(c);
            if seen >= want {
                return Self::upper(k);
            }
        }
        Self::upper(self.bins.len().saturating_sub(1))
    }

    fn merge(&mut self, other: &GapHistogram) {
        if other.bins.is_empty() {
            return;
        }
        if self.bins.is_empty() {
            self.bins = vec![0; Self::BINS];
        }
        for (a, b) in self.bins.iter_mut().zip(&other.bins) {
            *a = a.saturating_add(*b);
        }
    }
}

impl KeyProfile {
    /// Whether the key is too rare for a seasonal profile.
    pub fn is_rare(&self) -> bool {
        self.sum_how.is_empty()
    }

    /// The smoothed overall share of warning lines.
    pub fn warn_share(&self) -> f64 {
        (self.warns as f64 + 0.5) / (self.total as f64 + 1.0)
    }

    /// The smoothed overall error share.
    pub fn error_share(&self) -> f64 {
        (self.errors as f64 + 0.5) / (self.total as f64 + 1.0)
    }
}

/// A numeric slot's learned model, with what it watches.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SlotEntry {
    /// The service.
    pub service: String,
    /// The template.
    pub template: TemplateId,
    /// The slot index within the template's variables.
    pub slot: usize,
    /// A readable slot name.
    pub name: String,
    /// Values learned.
    pub values: u64,
    /// The model.
    pub model: SlotModel,
}

/// What `train` learns: templates, patterns and per-(service, template) seasonal statistics.
/// Saved to the model file with [`crate::state::save`].
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Baseline {
    /// Content-derived id of this model (written into anomalies as `model.version`).
    pub model_version: String,
    /// The IANA time zone the seasons were learned in.
    pub timezone: String,
    /// The bucket length in seconds (0 for an empty baseline: the config's is used).
    pub bucket_secs: u64,
    /// First training record.
    pub trained_from: Option<DateTime<Utc>>,
    /// Last training record.
    pub trained_to: Option<DateTime<Utc>>,
    /// Training records.
    pub lines: u64,
    /// Buckets in the training span.
    pub n_buckets: u64,
    /// Training buckets per local hour-of-week.
    pub exposure_how: Vec<u32>,
    /// Training buckets per local bucket-of-day.
    pub exposure_bod: Vec<u32>,
    /// The template miner.
    pub miner: TemplateMiner,
    /// The patterns over the templates.
    pub patterns: PatternModel,
    /// Count profiles, sorted by (service, subject).
    pub profiles: Vec<KeyProfile>,
    /// Numeric slot models, sorted by (service, template, slot).
    pub slots: Vec<SlotEntry>,
}

/// The local season of a bucket.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Season {
    /// Hour of week, 0 = Monday 00:00 … 167.
    pub how: usize,
    /// Hour of day, 0-23.
    pub hod: usize,
    /// Bucket of day, by local time of day.
    pub bod: usize,
}

/// Bucket arithmetic in a time zone.
#[derive(Debug, Clone, Copy)]
pub struct Calendar {
    /// The time zone seasons are computed in.
    pub tz: chrono_tz::Tz,
    /// Bucket length in seconds.
    pub bucket_secs: i64,
}

impl Calendar {
    /// A calendar; `bucket_secs` is clamped to at least 1.
    pub fn new(tz: chrono_tz::Tz, bucket_secs: u64) -> Self {
        Calendar {
            tz,
            bucket_secs: bucket_secs.clamp(1, 86_400) as i64,
        }
    }

    /// The bucket index of a time.
    pub fn bucket_of(&self, t: DateTime<Utc>) -> i64 {
        t.timestamp().div_euclid(self.bucket_secs)
    }

    /// The start of a bucket.
    pub fn start(&self, bucket: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(bucket.saturating_mul(self.bucket_secs), 0).unwrap_or_default()
    }

    /// Buckets in a (24-hour) day.
    pub fn per_day(&self) -> usize {
        (86_400 / self.bucket_secs).max(1) as usize
    }

    /// The local season of a bucket (by its start).
    pub fn season(&self, bucket: i64) -> Season {
        let local = self.tz.from_utc_datetime(&self.start(bucket).naive_utc());
        let hod = local.hour() as usize;
        let how = local.weekday().num_days_from_monday() as usize * 24 + hod;
        let secs = local.num_seconds_from_midnight() as i64;
        let bod = ((secs / self.bucket_secs) as usize).min(self.per_day() - 1);
        Season { how, hod, bod }
    }
}

impl Baseline {
    /// The share of training days on which `p` appeared in bucket-of-day `bod`, shrunk
    /// towards absence by half a day (21 of 21 days give 0.977, 1 of 1 gives 0.67); 0
    /// without presence data.
    pub fn presence(&self, p: &KeyProfile, bod: usize) -> f64 {
        match self.presence_days(p, bod) {
            (k, n) if n > 0 => f64::from(k.min(n)) / (f64::from(n) + 0.5),
            _ => 0.0,
        }
    }

    /// (training days on which `p` appeared in bucket-of-day `bod`, training days with that
    /// bucket), for explanations ("it comes at this time on 21 of 21 days").
    pub fn presence_days(&self, p: &KeyProfile, bod: usize) -> (u32, u32) {
        (
            p.present_bod.get(bod).copied().unwrap_or(0),
            self.exposure_bod.get(bod).copied().unwrap_or(0),
        )
    }

    /// The mean count of `p` in bucket-of-day `bod` on the training days it came then, and
    /// on how many days that was; `None` when it came then on fewer than two days. A
    /// message that comes at this time only on some days (a deploy's restart lines on the
    /// days a service is deployed) is judged against what it brings when it comes.
    pub fn when_present(&self, p: &KeyProfile, bod: usize) -> Option<(f64, u32)> {
        let (days, _) = self.presence_days(p, bod);
        let sum = p.sum_bod.get(bod).copied().unwrap_or(0.0);
        (days >= 2).then(|| (sum / f64::from(days), days))
    }

    /// Confidence from the length of history: training days / `full_confidence_days`.
    pub fn confidence(&self, cfg: &DetectConfig) -> f64 {
        let days = self.n_buckets as f64 * self.bucket_secs as f64 / 86_400.0;
        (days / cfg.full_confidence_days).clamp(0.0, 1.0)
    }

    /// The expected count of `profile` in a bucket of `season`, and the overdispersion to
    /// test it with (the learned one plus the uncertainty of a thin estimate).
    pub fn expected(&self, p: &KeyProfile, s: Season, cfg: &DetectConfig) -> (f64, f64) {
        let n_all = self.n_buckets.max(1) as f64;
        let m_all = p.total as f64 / n_all;
        if p.is_rare() || self.exposure_how.len() != 168 || p.sum_how.len() != 168 {
            return (m_all, cfg.min_dispersion + 1.0);
        }
        let (mut s_h, mut n_h) = (0.0, 0.0);
        for d in 0..7 {
            s_h += p.sum_how[d * 24 + s.hod];
            n_h += f64::from(self.exposure_how[d * 24 + s.hod]);
        }
        let m_hod = (s_h + 2.0 * m_all) / (n_h + 2.0);
        // Day-of-week level (e.g. quieter weekends), from the whole day's buckets.
        let day = (s.how / 24).min(6);
        let (mut s_d, mut n_d) = (0.0, 0.0);
        for h in 0..24 {
            s_d += p.sum_how[day * 24 + h];
            n_d += f64::from(self.exposure_how[day * 24 + h]);
        }
        let dow = if m_all > 0.0 {
            ((s_d + 24.0 * m_all) / (n_d + 24.0)) / m_all
        } else {
            1.0
        };
        // Hour-of-week, shrunk towards hour-of-day times day-of-week.
        let prior = m_hod * dow;
        let k = cfg.weekly_prior_buckets;
        let m_week =
            (p.sum_how[s.how] + k * prior) / (f64::from(self.exposure_how[s.how]) + k).max(1e-9);
        let mut expected = m_week;
        if m_hod > 0.0 && s.bod < p.sum_bod.len() && s.bod < self.exposure_bod.len() {
            // The prior weighs `shape_prior_days` days or `shape_prior_lines` lines,
            // whichever is less: a busy key's own buckets are evidence enough (a nightly
            // run that starts at 00:30 is not expected at 00:10 because the hour's mean is
            // high), a quiet key's few lines are smoothed by its hour.
            let k3 = cfg.shape_prior_days.min(cfg.shape_prior_lines / m_hod);
            let m_bod = (p.sum_bod[s.bod] + k3 * m_hod)
                / (f64::from(self.exposure_bod[s.bod]) + k3).max(1e-9);
            expected *= m_bod / m_hod;
        }
        let dispersion = p.dispersion.max(cfg.min_dispersion) + 1.0 / (1.0 + n_h);
        (expected.max(0.0), dispersion)
    }
}

/// One key's training series: sparse (bucket offset, count, errors).
#[derive(Debug, Clone, Default)]
struct Series {
    text: String,
    first_seen: Option<DateTime<Utc>>,
    points: Vec<(u32, u32, u32)>,
    /// Gaps between lines (kept for templates).
    gaps: GapHistogram,
}

#[derive(Debug)]
struct SlotTrain {
    model: SlotModel,
    values: u64,
    touched: bool,
    /// An identifier slot: nothing is learned.
    skip: bool,
}

/// Learns a [`Baseline`] from historical records (in time order, or nearly).
#[derive(Debug)]
pub struct Trainer {
    cfg: DetectConfig,
    vectorize: crate::vectorize::VectorizeConfig,
    patterns: crate::cluster::PatternsConfig,
    cal: Calendar,
    miner: TemplateMiner,
    services: Vec<String>,
    service_idx: HashMap<String, u32>,
    first_bucket: Option<i64>,
    current: Option<i64>,
    /// Hour-of-week of the open bucket.
    current_how: usize,
    first_ts: Option<DateTime<Utc>>,
    last_ts: Option<DateTime<Utc>>,
    lines: u64,
    open: HashMap<(u32, TemplateId), (u32, u32)>,
    series: HashMap<(u32, TemplateId), Series>,
    slots: HashMap<(u32, TemplateId, usize), SlotTrain>,
    touched: Vec<(u32, TemplateId, usize)>,
    /// Warning-level lines per service.
    warns: HashMap<u32, u64>,
}

impl Trainer {
    /// A trainer for `config`.
    pub fn new(config: &TrainerSettings) -> Self {
        Trainer {
            cfg: config.detect.clone(),
            vectorize: config.vectorize.clone(),
            patterns: config.patterns.clone(),
            cal: Calendar::new(config.timezone, config.detect.bucket_secs),
            miner: TemplateMiner::new(config.parse.clone()),
            services: Vec::new(),
            service_idx: HashMap::new(),
            first_bucket: None,
            current: None,
            current_how: 0,
            first_ts: None,
            last_ts: None,
            lines: 0,
            open: HashMap::new(),
            series: HashMap::new(),
            slots: HashMap::new(),
            touched: Vec::new(),
            warns: HashMap::new(),
        }
    }

    fn service(&mut self, name: &str) -> u32 {
        if let Some(&i) = self.service_idx.get(name) {
            return i;
        }
        let i = self.services.len() as u32;
        self.services.push(name.to_string());
        self.service_idx.insert(name.to_string(), i);
        i
    }

    /// Learn from one record.
    pub fn add(&mut self, record: &LogRecord) {
        self.lines += 1;
        let ts = record.timestamp;
        self.first_ts = Some(self.first_ts.map_or(ts, |f| f.min(ts)));
        self.last_ts = Some(self.last_ts.map_or(ts, |l| l.max(ts)));
        let b = self.cal.bucket_of(ts);
        match self.current {
            None => {
                self.current = Some(b);
                self.current_how = self.cal.season(b).how;
                self.first_bucket = Some(b);
            }
            Some(c) if b > c => {
                self.close_bucket(c);
                self.current = Some(b);
                self.current_how = self.cal.season(b).how;
            }
            // A late record counts in the open bucket.
            Some(_) => {}
        }
        let svc = self.service(&record.service);
        let parsed = self.miner.add(&record.message);
        let id = parsed.template_id;
        let key = (svc, id);
        let cell = self.open.entry(key).or_default();
        cell.0 = cell.0.saturating_add(1);
        if super::failing(record) {
            cell.1 = cell.1.saturating_add(1);
        } else if record.is_warn() {
            *self.warns.entry(svc).or_default() += 1;
        }
        let miner = &self.miner;
        self.series
            .entry(key)
            .or_insert_with(|| Series {
                text: miner.template(id).unwrap_or_default().to_string(),
                first_seen: Some(ts),
                ..Series::default()
            })
            .gaps
            .note(ts);
        if parsed.params.is_empty() {
            return;
        }
        let how = self.current_how;
        for p in &parsed.params {
            if !p.value.is_finite() {
                continue;
            }
            let sk = (svc, id, p.slot);
            if !self.slots.contains_key(&sk) {
                let name = self.miner.slot_name(id, p.slot);
                let skip = self.cfg.is_identifier_slot(&name);
                self.slots.insert(
                    sk,
                    SlotTrain {
                        model: SlotModel::new(&self.cfg.drift),
                        values: 0,
                        touched: false,
                        skip,
                    },
                );
            }
            let Some(entry) = self.slots.get_mut(&sk) else {
                continue;
            };
            if entry.skip {
                continue;
            }
            entry.model.learn(how, p.value);
            entry.values += 1;
            if !entry.touched {
                entry.touched = true;
                self.touched.push(sk);
            }
        }
    }

    fn close_bucket(&mut self, bucket: i64) {
        let first = self.first_bucket.unwrap_or(bucket);
        let rel = u32::try_from(bucket - first).unwrap_or(u32::MAX);
        for (key, (c, e)) in self.open.drain() {
            if let Some(s) = self.series.get_mut(&key) {
                s.points.push((rel, c, e));
            }
        }
        let how = self.cal.season(bucket).how;
        for sk in self.touched.drain(..) {
            if let Some(s) = self.slots.get_mut(&sk) {
                s.model.learn_bucket_end(how);
                s.touched = false;
            }
        }
    }

    /// Finish training.
    pub fn finish(mut self) -> Baseline {
        if let Some(c) = self.current {
            self.close_bucket(c);
        }
        let cal = self.cal;
        let (Some(mut first), Some(last)) = (self.first_bucket, self.current) else {
            return Baseline {
                model_version: "m-empty".to_string(),
                timezone: cal.tz.name().to_string(),
                bucket_secs: cal.bucket_secs as u64,
                miner: self.miner,
                ..Baseline::default()
            };
        };
        // Keep only the most recent `max_history_days`.
        let cap = i64::from(self.cfg.max_history_days) * cal.per_day() as i64;
        let offset = (last - first + 1 - cap).max(0);
        if offset > 0 {
            let off = u32::try_from(offset).unwrap_or(u32::MAX);
            for s in self.series.values_mut() {
                s.points.retain(|p| p.0 >= off);
                for p in &mut s.points {
                    p.0 -= off;
                }
            }
            self.series.retain(|_, s| !s.points.is_empty());
            first += offset;
        }
        let n_buckets = (last - first + 1).max(1) as u64;
        let per_day = cal.per_day();
        let mut exposure_how = vec![0u32; 168];
        let mut exposure_bod = vec![0u32; per_day];
        let seasons: Vec<Season> = (first..=last).map(|b| cal.season(b)).collect();
        for s in &seasons {
            exposure_how[s.how] += 1;
            exposure_bod[s.bod] += 1;
        }

        // Merge the history of templates that generalised into the template they became.
        let mut merged: BTreeMap<(u32, TemplateId), Series> = BTreeMap::new();
        let mut series: Vec<_> = std::mem::take(&mut self.series).into_iter().collect();
        series.sort_by_key(|(k, _)| *k);
        let mut renamed: HashMap<(u32, TemplateId), (TemplateId, String)> = HashMap::new();
        for ((svc, id), s) in series {
            let fin = self.miner.resolve(id);
            if fin != id {
                renamed.insert((svc, id), (fin, s.text.clone()));
            }
            let text = self.miner.template(fin).unwrap_or(&s.text).to_string();
            let e = merged.entry((svc, fin)).or_default();
            e.text = text;
            e.first_seen = match (e.first_seen, s.first_seen) {
                (Some(a), Some(b)) => Some(a.min(b)),
                (a, b) => a.or(b),
            };
            e.points.extend(s.points);
            e.gaps.merge(&s.gaps);
        }
        for s in merged.values_mut() {
            s.points = combine(std::mem::take(&mut s.points));
        }

        let templates = self.miner.templates();
        let patterns = PatternModel::fit(&templates, &self.vectorize, &self.patterns);

        let mut base = Baseline {
            model_version: String::new(),
            timezone: cal.tz.name().to_string(),
            bucket_secs: cal.bucket_secs as u64,
            trained_from: self.first_ts,
            trained_to: self.last_ts,
            lines: self.lines,
            n_buckets,
            exposure_how,
            exposure_bod,
            miner: TemplateMiner::default(),
            patterns: PatternModel::default(),
            profiles: Vec::new(),
            slots: Vec::new(),
        };

        // Service and pattern series are sums of their templates' series.
        let mut by_service: BTreeMap<u32, Series> = BTreeMap::new();
        let mut by_pattern: BTreeMap<(u32, PatternId), Series> = BTreeMap::new();
        for ((svc, id), s) in &merged {
            let e = by_service.entry(*svc).or_default();
            e.points.extend_from_slice(&s.points);
            e.first_seen = min_opt(e.first_seen, s.first_seen);
            if let Some(pid) = patterns.pattern_of(*id) {
                let e = by_pattern.entry((*svc, pid)).or_default();
                e.points.extend_from_slice(&s.points);
                e.first_seen = min_opt(e.first_seen, s.first_seen);
            }
        }
        let mut profiles = Vec::new();
        for (svc, s) in by_service {
            let s = Series {
                points: combine(s.points),
                ..s
            };
            let mut p = self.profile_of(&base, &seasons, svc, Subject::Service, &s);
            p.warns = self.warns.get(&svc).copied().unwrap_or(0);
            profiles.push(p);
        }
        for ((svc, pid), s) in by_pattern {
            let s = Series {
                points: combine(s.points),
                ..s
            };
            profiles.push(self.profile_of(&base, &seasons, svc, Subject::Pattern(pid), &s));
        }
        for ((svc, id), s) in &merged {
            profiles.push(self.profile_of(&base, &seasons, *svc, Subject::Template(*id), s));
        }
        profiles.sort_by(|a, b| (&a.service, a.subject).cmp(&(&b.service, b.subject)));
        base.profiles = profiles;

        // Slot models follow their template's final id; slots are re-indexed by position.
        let mut slots: BTreeMap<(String, TemplateId, usize), SlotEntry> = BTreeMap::new();
        let mut slot_list: Vec<_> = std::mem::take(&mut self.slots).into_iter().collect();
        slot_list.sort_by_key(|(k, _)| *k);
        for ((svc, id, slot), st) in slot_list {
            if st.skip || st.values == 0 {
                continue;
            }
            let (fin, slot) = match renamed.get(&(svc, id)) {
                None => (id, Some(slot)),
                Some((fin, old)) => {
                    let new = self.miner.template(*fin).unwrap_or_default();
                    (*fin, remap_slot(Some(old), new, slot))
                }
            };
            let Some(slot) = slot else { continue };
            let service = self.services[svc as usize].clone();
            let name = self.miner.slot_name(fin, slot);
            if self.cfg.is_identifier_slot(&name) {
                continue;
            }
            let key = (service.clone(), fin, slot);
            let keep = slots.get(&key).is_none_or(|e| e.values < st.values);
            if keep {
                slots.insert(
                    key,
                    SlotEntry {
                        service,
                        template: fin,
                        slot,
                        name,
                        values: st.values,
                        model: st.model,
                    },
                );
            }
        }
        base.slots = slots.into_values().collect();

        let version = content_id(&[
            &base
                .trained_from
                .map(|t| t.to_rfc3339())
                .unwrap_or_default(),
            &base.trained_to.map(|t| t.to_rfc3339()).unwrap_or_default(),
            &base.lines.to_string(),
            &base.profiles.len().to_string(),
            &templates.len().to_string(),
            &base.bucket_secs.to_string(),
            &base.timezone,
        ]);
        base.model_version = format!("m{}", &version[..12]);
        base.miner = self.miner;
        base.patterns = patterns;
        base
    }

    fn profile_of(
        &self,
        base: &Baseline,
        seasons: &[Season],
        svc: u32,
        subject: Subject,
        s: &Series,
    ) -> KeyProfile {
        let total: u64 = s.points.iter().map(|p| u64::from(p.1)).sum();
        let errors: u64 = s.points.iter().map(|p| u64::from(p.2)).sum();
        let mut shares: Vec<f64> = s
            .points
            .iter()
            .filter(|p| p.1 >= 20)
            .map(|p| f64::from(p.2) / f64::from(p.1))
            .collect();
        let smoothed = (errors as f64 + 0.5) / (total as f64 + 1.0);
        let error_share_hi = if shares.len() >= 5 {
            shares.sort_by(f64::total_cmp);
            shares[((shares.len() - 1) as f64 * 0.95).round() as usize].max(smoothed)
        } else {
            smoothed
        };
        let mut p = KeyProfile {
            service: self.services[svc as usize].clone(),
            subject,
            total,
            errors,
            buckets_present: s.points.len() as u64,
            sum_how: Vec::new(),
            sum_bod: Vec::new(),
            present_bod: Vec::new(),
            dispersion: self.cfg.min_dispersion,
            error_share_hi,
            first_seen: s.first_seen,
            warns: 0,
            cadence: match subject {
                Subject::Template(_) => Cadence::of(&s.gaps),
                _ => None,
            },
        };
        let rare = matches!(subject, Subject::Template(_)) && total <= self.cfg.rare_max_count;
        if rare {
            return p;
        }
        let mut sum_how = vec![0.0; 168];
        let mut sum_bod = vec![0.0; base.exposure_bod.len()];
        let mut present_bod = vec![0u32; base.exposure_bod.len()];
        for &(rel, c, _) in &s.points {
            if let Some(season) = seasons.get(rel as usize) {
                sum_how[season.how] += f64::from(c);
                sum_bod[season.bod] += f64::from(c);
                if c > 0 {
                    present_bod[season.bod] += 1;
                }
            }
        }
        p.sum_how = sum_how;
        p.sum_bod = sum_bod;
        p.present_bod = present_bod;
        // Method-of-moments overdispersion over every training bucket (absent = zero).
        let mut counts = vec![0u32; seasons.len()];
        for &(rel, c, _) in &s.points {
            if let Some(slot) = counts.get_mut(rel as usize) {
                *slot = c;
            }
        }
        let (mut num, mut den) = (0.0, 0.0);
        for (season, &c) in seasons.iter().zip(&counts) {
            let (mu, _) = base.expected(&p, *season, &self.cfg);
            let d = f64::from(c) - mu;
            num += d * d - mu;
            den += mu * mu;
        }
        if den > 0.0 {
            p.dispersion = (num / den).clamp(self.cfg.min_dispersion, 5.0);
        }
        p
    }
}

fn min_opt(a: Option<DateTime<Utc>>, b: Option<DateTime<Utc>>) -> Option<DateTime<Utc>> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

/// Sort sparse points by bucket and add up those of the same bucket.
fn combine(mut points: Vec<(u32, u32, u32)>) -> Vec<(u32, u32, u32)> {
    points.sort_by_key(|p| p.0);
    let mut out: Vec<(u32, u32, u32)> = Vec::with_capacity(points.len());
    for p in points {
        match out.last_mut() {
            Some(last) if last.0 == p.0 => {
                last.1 = last.1.saturating_add(p.1);
                last.2 = last.2.saturating_add(p.2);
            }
            _ => out.push(p),
        }
    }
    out
}

/// Map variable slot `slot` of template `old` to the same `<*>` in `new`: same token
/// position, same occurrence within the token (a token like `[pid=<*>,uid=<*>]` holds two
/// slots, as the miner counts them). `None` when the token counts differ or the token no
/// longer holds the same number of variables.
fn remap_slot(old: Option<&str>, new: &str, slot: usize) -> Option<usize> {
    let o: Vec<&str> = old?.split_whitespace().collect();
    let n: Vec<&str> = new.split_whitespace().collect();
    if o.len() != n.len() {
        return None;
    }
    let vars = |t: &str| t.matches("<*>").count();
    let mut seen = 0;
    for (pos, tok) in o.iter().enumerate() {
        let k = vars(tok);
        if slot < seen + k {
            if vars(n[pos]) != k {
                return None;
            }
            let before: usize = n[..pos].iter().map(|t| vars(t)).sum();
            return Some(before + slot - seen);
        }
        seen += k;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;

    fn gaps(times: impl IntoIterator<Item = i64>) -> GapHistogram {
        let mut h = GapHistogram::default();
        for ms in times {
            h.note(DateTime::from_timestamp_millis(ms).unwrap());
        }
        h
    }

    #[test]
    fn a_job_with_a_nightly_pause_has_a_cadence_and_random_lines_have_none() {
        // Every 5 minutes (±2 s) from 05:00 to 22:55, for a week: the nightly pause is not
        // part of the job's regular gaps.
        let mut t = Vec::new();
        for day in 0..7i64 {
            for k in 0..216i64 {
                let jitter = (k * 7919 % 4000) - 2000;
                t.push(day * 86_400_000 + 5 * 3_600_000 + k * 300_000 + jitter);
            }
        }
        let c = Cadence::of(&gaps(t)).expect("a steady job");
        assert!((c.period_secs - 300.0).abs() < 300.0 * 0.03, "{c:?}");
        assert!(
            c.longest_secs < 320.0,
            "the pause is not a regular gap: {c:?}"
        );
        assert_eq!(c.gaps, 7 * 216 - 1);

        // Requests at random (exponential gaps, mean 60 s): no cadence.
        let mut x: u64 = 42;
        let mut now = 0i64;
        let mut t = Vec::new();
        for _ in 0..2_000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let u = (x % 1_000_000) as f64 / 1_000_000.0;
            now += (-(1.0 - u).ln() * 60_000.0) as i64;
            t.push(now);
        }
        assert_eq!(Cadence::of(&gaps(t)), None);

        // Too few gaps to trust, and out-of-order lines are not gaps.
        assert_eq!(Cadence::of(&gaps((0..40).map(|k| k * 60_000))), None);
        let h = gaps([0, 60_000, 30_000, 120_000]);
        assert_eq!(h.bins.iter().sum::<u32>(), 2);
    }

    #[test]
    fn seasons_follow_local_time_across_dst() {
        let cal = Calendar::new(chrono_tz::Europe::Berlin, 600);
        // 2026-03-29 is the spring DST change in Berlin: 09:00 local is 08:00 UTC before
        // and 07:00 UTC after.
        let before = "2026-03-28T08:00:00Z".parse::<DateTime<Utc>>().unwrap();
        let after = "2026-03-30T07:00:00Z".parse::<DateTime<Utc>>().unwrap();
        let sb = cal.season(cal.bucket_of(before));
        let sa = cal.season(cal.bucket_of(after));
        assert_eq!(sb.hod, 9);
        assert_eq!(sa.hod, 9);
        assert_eq!(sb.bod, sa.bod);
        assert_eq!(sb.how, 5 * 24 + 9, "Saturday 09:00");
        assert_eq!(sa.how, 9, "Monday 09:00");
    }

    #[test]
    fn slots_remap_by_token_position() {
        let old = "took <*> ms for user bob id <*>";
        let new = "took <*> ms for user <*> id <*>";
        assert_eq!(remap_slot(Some(old), new, 0), Some(0));
        assert_eq!(remap_slot(Some(old), new, 1), Some(2));
        assert_eq!(remap_slot(Some(old), "took <*>", 0), None);
        let old = "exit [pid=<*>,uid=<*>] after <*> ms";
        let new = "<*> [pid=<*>,uid=<*>] after <*> ms";
        assert_eq!(
            remap_slot(Some(old), new, 1),
            Some(2),
            "second variable in one token"
        );
        assert_eq!(remap_slot(Some(old), new, 2), Some(3));
    }

    fn record(t: DateTime<Utc>, message: &str) -> LogRecord {
        LogRecord {
            timestamp: t,
            message: message.to_string(),
            service: "svc".to_string(),
            level: Some("info".to_string()),
            host: None,
        }
    }

    #[test]
    fn a_stray_old_timestamp_does_not_stretch_the_history() {
        let cfg = Config::default();
        let mut t = Trainer::new(&cfg.trainer_settings());
        t.add(&record(DateTime::UNIX_EPOCH, "booted at epoch"));
        let start = "2026-11-02T00:00:00Z".parse::<DateTime<Utc>>().unwrap();
        for m in 0..3 * 24 * 60 {
            t.add(&record(start + chrono::Duration::minutes(m), "tick"));
        }
        let b = t.finish();
        assert_eq!(b.n_buckets, 120 * 144);
        let tick_id = b.miner.match_message("tick").unwrap().template_id;
        let tick = b
            .profiles
            .iter()
            .find(|p| p.subject == Subject::Template(tick_id))
            .unwrap();
        assert_eq!(tick.total, 3 * 24 * 60);
        assert!(
            !b.profiles.iter().any(|p| p.total == 1),
            "the stray line is dropped"
        );
        assert_eq!(
            b.exposure_how.iter().map(|&n| u64::from(n)).sum::<u64>(),
            b.n_buckets
        );
    }

    /// Two weeks of a minute tick and a nightly run of 200 lines from 00:30 to 00:49.
    fn nightly_run() -> (Baseline, DateTime<Utc>) {
        let cfg = Config::default();
        let mut t = Trainer::new(&cfg.trainer_settings());
        let start = "2026-11-02T00:00:00Z".parse::<DateTime<Utc>>().unwrap();
        for m in 0..14 * 24 * 60 {
            let at = start + chrono::Duration::minutes(m);
            t.add(&record(at, "tick"));
            if (30..50).contains(&(m % 1440)) {
                for k in 0..10 {
                    t.add(&record(at, &format!("invoice run processed invoice {k}")));
                }
            }
        }
        (t.finish(), start + chrono::Duration::days(14))
    }

    #[test]
    fn a_busy_nightly_run_is_expected_when_it_runs_not_all_hour() {
        let (b, monday) = nightly_run();
        let id = b
            .miner
            .match_message("invoice run processed invoice 3")
            .unwrap()
            .template_id;
        let p = b
            .profiles
            .iter()
            .find(|p| p.subject == Subject::Template(id))
            .unwrap();
        let cal = Calendar::new(chrono_tz::UTC, 600);
        let at = |min: i64| cal.season(cal.bucket_of(monday + chrono::Duration::minutes(min)));
        let cfg = DetectConfig::default();
        // The hour averages 33 lines a bucket; 00:10 never had one, 00:30 always 100.
        let (early, _) = b.expected(p, at(10), &cfg);
        let (running, _) = b.expected(p, at(30), &cfg);
        assert!(early < 2.5, "00:10 expects {early}");
        assert!((running - 100.0).abs() < 10.0, "00:30 expects {running}");
        // Weighing the hour by days alone (the prior before `shape_prior_lines`) would expect
        // the run at 00:10 more than twice as much.
        let by_days = DetectConfig {
            shape_prior_lines: 1e9,
            ..DetectConfig::default()
        };
        let (early_by_days, _) = b.expected(p, at(10), &by_days);
        assert!(early_by_days > 2.0 * early, "{early_by_days} vs {early}");
        // It came at 00:30 on all 14 days, with 100 lines each time; never at 00:10.
        assert_eq!(b.when_present(p, 3), Some((100.0, 14)));
        assert_eq!(b.when_present(p, 1), None);
    }

    #[test]
    fn combine_adds_points_of_one_bucket() {
        let c = combine(vec![(3, 1, 0), (1, 2, 1), (3, 4, 2)]);
        assert_eq!(c, vec![(1, 2, 1), (3, 5, 2)]);
    }
}
