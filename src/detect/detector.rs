//! The [`Detector`]: counts new records per bucket and key, and when a bucket closes runs the
//! seven detectors against the [`Baseline`].
//!
//! Invariants:
//! - buckets close in time order; a late record counts in the open bucket;
//! - every detector's tail probability is compared with `alpha / tests per bucket`
//!   (Bonferroni over all the keys the baseline watches), so a quiet day produces nothing;
//! - a new template and a silence are reported once, then again only when they escalate to a
//!   higher tier (they keep coming, the silence lasts);
//! - anomaly ids derive from (tenant, type, service, pattern id, window start, slot), so the
//!   same input gives the same ids.

use super::baseline::{Baseline, Calendar, KeyProfile, Season, Subject};
use super::drift::SlotKey;
use super::explain;
use super::stats::{binom_sf, nbinom_cdf, nbinom_sf};
use super::DetectorSettings;
use crate::incidents::{self, ScoreInputs};
use crate::model::{
    content_id, ecs_severity, Anomaly, AnomalyBody, AnomalyType, EventRef, FeedbackRef,
    ForecastRef, IncidentRef, LogRecord, ModelRef, ParameterRef, PatternRef, ServiceRef, Severity,
    TemplateId, Window,
};
use crate::parse::{Tokenizer, Tokens};
use chrono::{DateTime, TimeZone, Utc};
use std::collections::{BTreeMap, HashMap};
use std::fmt::Write as _;

/// A key is regular in a bucket-of-day where its presence share is at least this.
const REGULAR_PRESENCE: f64 = 0.9;

/// Neutral buckets (where a key is usually absent) after which an absence is forgotten.
const GAP_FORGET_BUCKETS: u32 = 24;

/// `service.name` of the anomaly that reports a whole source gone silent.
pub const SOURCE_SERVICE: &str = "*";

/// Per-key state carried across buckets.
#[derive(Debug, Clone, Default)]
struct KeyState {
    spike_streak: u32,
    error_streak: u32,
    drop_len: u32,
    drop_start: i64,
    drop_ln_p: f64,
    drop_observed: u64,
    drop_expected: f64,
    /// The tier the current silence was last reported at.
    drop_tier: Option<Severity>,
    /// A regular key's absence: buckets it is usually present in that passed without it,
    /// the log-probability of that, when it started, and the tier reported.
    gap_len: u32,
    gap_ln_p: f64,
    gap_start: i64,
    gap_neutral: u32,
    gap_tier: Option<Severity>,
    /// A template's last line, and the tier its periodic silence was reported at (a drop
    /// or absence of the same silence is then reported only when it goes higher).
    last_seen: Option<DateTime<Utc>>,
    cadence_tier: Option<Severity>,
}

/// Counts of one key in the open bucket.
#[derive(Debug, Clone, Default)]
struct Cell {
    count: u64,
    errors: u64,
    warns: u64,
    examples: Vec<String>,
    error_examples: Vec<String>,
    warn_examples: Vec<String>,
}

/// A template not in the baseline, seen during detection.
#[derive(Debug, Clone)]
struct Novel {
    template: TemplateId,
    text: String,
    count: u64,
    errors: u64,
    in_bucket: u64,
    first_seen: DateTime<Utc>,
    examples: Vec<String>,
    outlier: f64,
    similarity: f64,
    nearest: Option<TemplateId>,
    /// The pattern it joins, if it is close enough to one.
    pattern: Option<crate::model::PatternId>,
    /// Buckets it appeared in.
    buckets: u32,
    /// The tier it was last reported at (reported again only when the tier rises).
    reported: Option<Severity>,
}

/// Counters of what a detector has seen.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DetectStats {
    /// Records pushed.
    pub records: u64,
    /// Records of templates the baseline knows (or near variants of them).
    pub known: u64,
    /// Records of templates the baseline does not know.
    pub novel: u64,
    /// Distinct new (service, template) pairs seen.
    pub novel_templates: u64,
    /// Records of new pairs not watched because `detect.max_novel_templates` were already.
    pub novel_untracked: u64,
    /// Buckets closed.
    pub buckets: u64,
}

/// Lines of one (service, template) in one rate interval, for the pattern-rate index.
#[derive(Debug, Clone, PartialEq)]
pub struct RateRow {
    /// Start of the interval.
    pub start: DateTime<Utc>,
    /// Length of the interval in minutes.
    pub minutes: u32,
    /// The service.
    pub service: String,
    /// The template the lines counted as (the known one for variants).
    pub template: TemplateId,
    /// Its text.
    pub text: String,
    /// Its pattern, if it has one.
    pub pattern: Option<String>,
    /// Lines seen.
    pub count: u64,
    /// Error lines among them.
    pub errors: u64,
    /// Lines the baseline expected in the interval (0 for templates it does not know).
    pub expected: f64,
}

/// (interval number, service, template) of a rate cell.
type RateKey = (i64, String, TemplateId);

/// One service's (lines, error lines) by (interval number, template).
type ServiceRates = HashMap<(i64, TemplateId), (u64, u64)>;

/// Per-interval counts kept for [`Detector::drain_rates`]: (lines, error lines) by service,
/// then by (interval number, template), so counting a line allocates nothing.
#[derive(Debug, Clone, Default)]
struct Rates {
    minutes: u32,
    cells: HashMap<String, ServiceRates>,
}

/// A finding before it becomes an anomaly document.
#[derive(Debug, Clone)]
struct Finding {
    kind: AnomalyType,
    service: String,
    /// The key found anomalous; `None` for the whole source.
    subject: Option<Subject>,
    pattern_id: String,
    template: String,
    cluster_id: Option<String>,
    start: DateTime<Utc>,
    end: DateTime<Utc>,
    observed: f64,
    expected: f64,
    unit: String,
    probability: f64,
    magnitude: f64,
    error_level: bool,
    persistence: u32,
    examples: Vec<String>,
    explanation: String,
    id_extra: String,
    /// Warning lines dominate (scores a little higher than info).
    warn_level: bool,
    /// Whether the history's confidence scales the score (see [`ScoreInputs`]).
    confidence_applies: bool,
    /// The lowest tier an impact rule gives this finding.
    floor: Option<Severity>,
    parameter: Option<ParameterRef>,
    forecast: Option<ForecastRef>,
}

impl Finding {
    /// A finding of `kind` on `(service, subject)`, shown as `pattern_id`/`template`, with
    /// what most findings share: no measurement yet, no examples, persistence 1, scaled by
    /// confidence, no impact floor.
    #[allow(clippy::too_many_arguments)]
    fn new(
        kind: AnomalyType,
        service: &str,
        subject: Option<Subject>,
        pattern_id: String,
        template: String,
        cluster_id: Option<String>,
        start: DateTime<Utc>,
        end: DateTime<Utc>,
    ) -> Finding {
        Finding {
            kind,
            service: service.to_string(),
            subject,
            pattern_id,
            template,
            cluster_id,
            start,
            end,
            observed: 0.0,
            expected: 0.0,
            unit: "count".to_string(),
            probability: 1.0,
            magnitude: 0.0,
            error_level: false,
            persistence: 1,
            examples: Vec::new(),
            explanation: String::new(),
            id_extra: String::new(),
            warn_level: false,
            confidence_applies: true,
            floor: None,
            parameter: None,
            forecast: None,
        }
    }
}

/// What the tests of one closing bucket share.
struct Closing {
    bucket: i64,
    season: Season,
    start: DateTime<Utc>,
    end: DateTime<Utc>,
    /// The Bonferroni threshold of the bucket's tests.
    thr: f64,
    /// "10 min": the bucket, in words.
    words: String,
}

/// Runs the detectors over new records against a [`Baseline`].
#[derive(Debug, Clone)]
pub struct Detector {
    config: DetectorSettings,
    cal: Calendar,
    base: Baseline,
    confidence: f64,
    n_tests: f64,
    /// Keys watched for absence (their own Bonferroni family).
    n_regular: f64,
    index: HashMap<String, HashMap<Subject, usize>>,
    slot_index: HashMap<String, HashMap<(TemplateId, usize), usize>>,
    alias: HashMap<TemplateId, TemplateId>,
    states: Vec<KeyState>,
    /// Per profile: (pattern.id, pattern.template, pattern.cluster_id), computed once.
    labels: Vec<(String, String, Option<String>)>,
    current: Option<i64>,
    open: HashMap<usize, Cell>,
    touched_slots: Vec<usize>,
    novel: BTreeMap<(String, TemplateId), Novel>,
    stats: DetectStats,
    rates: Option<Rates>,
    /// The silence of the whole source (every service at once).
    source: KeyState,
    /// How the source is named in explanations.
    source_name: String,
    /// Profiles with a learned [`Cadence`](super::baseline::Cadence).
    cadenced: Vec<usize>,
    /// The latest record time seen, and when periodic silences are next checked.
    latest: Option<DateTime<Utc>>,
    cadence_next: Option<DateTime<Utc>>,
}

/// A whole source quiet for this long (the shipper stopped, ingest lagged) restarts the
/// clocks of periodic messages: their silence during it is the source's, not theirs.
const SOURCE_QUIET_SECS: i64 = 120;

/// How often (in record time) periodic messages are checked for silence.
const CADENCE_CHECK_SECS: i64 = 10;

impl Detector {
    /// A detector for `config` against `baseline`.
    pub fn new(baseline: Baseline, config: &DetectorSettings) -> Self {
        let bucket_secs = if baseline.bucket_secs > 0 {
            baseline.bucket_secs
        } else {
            config.detect.bucket_secs
        };
        // Seasons must be read in the zone they were learned in.
        let tz = baseline
            .timezone
            .parse::<chrono_tz::Tz>()
            .unwrap_or(config.timezone);
        let cal = Calendar::new(tz, bucket_secs);
        let mut base = baseline;
        if base.bucket_secs == 0 {
            base.bucket_secs = bucket_secs;
        }
        let mut d = Detector {
            config: config.clone(),
            cal,
            confidence: base.confidence(&config.detect),
            n_tests: 1.0,
            n_regular: 1.0,
            index: HashMap::new(),
            slot_index: HashMap::new(),
            alias: HashMap::new(),
            states: Vec::new(),
            labels: Vec::new(),
            current: None,
            open: HashMap::new(),
            touched_slots: Vec::new(),
            novel: BTreeMap::new(),
            stats: DetectStats::default(),
            rates: None,
            source: KeyState::default(),
            source_name: "the input".to_string(),
            cadenced: Vec::new(),
            latest: None,
            cadence_next: None,
            base,
        };
        d.reindex();
        d
    }

    fn reindex(&mut self) {
        self.index.clear();
        self.slot_index.clear();
        let mut tests = 0.0f64;
        for (i, p) in self.base.profiles.iter().enumerate() {
            self.index
                .entry(p.service.clone())
                .or_default()
                .insert(p.subject, i);
            tests += match p.subject {
                // Error share, warning share and silence.
                Subject::Service => 3.0,
                _ if p.is_rare() => 1.0,
                // Spike, drop, and the template's own error share.
                _ => 3.0,
            };
        }
        for (i, s) in self.base.slots.iter().enumerate() {
            self.slot_index
                .entry(s.service.clone())
                .or_default()
                .insert((s.template, s.slot), i);
        }
        self.n_tests = tests.max(1.0);
        let regular = (0..self.base.profiles.len())
            .filter(|&i| {
                let p = &self.base.profiles[i];
                (0..p.present_bod.len()).any(|b| self.base.presence(p, b) >= REGULAR_PRESENCE)
            })
            .count();
        self.n_regular = (regular as f64).max(1.0);
        self.states = vec![KeyState::default(); self.base.profiles.len()];
        self.cadenced = (0..self.base.profiles.len())
            .filter(|&i| self.base.profiles[i].cadence.is_some())
            .collect();
        // A pattern is shown by the text of its most frequent template.
        let mut pattern_text: HashMap<crate::model::PatternId, (u64, TemplateId)> = HashMap::new();
        for p in &self.base.profiles {
            if let Subject::Template(t) = p.subject {
                if let Some(pid) = self.base.patterns.pattern_of(t) {
                    let e = pattern_text.entry(pid).or_insert((p.total, t));
                    if p.total > e.0 {
                        *e = (p.total, t);
                    }
                }
            }
        }
        let text_of = |t: TemplateId| self.base.miner.template(t).unwrap_or_default().to_string();
        self.labels = self
            .base
            .profiles
            .iter()
            .map(|p| match p.subject {
                Subject::Service => ("service".to_string(), "*".to_string(), None),
                Subject::Template(t) => (
                    t.to_string(),
                    text_of(t),
                    self.base.patterns.pattern_of(t).map(|c| c.to_string()),
                ),
                Subject::Pattern(c) => (
                    c.to_string(),
                    pattern_text
                        .get(&c)
                        .map(|e| text_of(e.1))
                        .unwrap_or_default(),
                    Some(c.to_string()),
                ),
            })
            .collect();
    }

    /// Name the source in explanations (the sidecar's source name; `the input` otherwise).
    pub fn set_source_name(&mut self, name: &str) {
        self.source_name = format!("source {name}");
    }

    /// What this detector has seen so far.
    pub fn stats(&self) -> &DetectStats {
        &self.stats
    }

    /// The baseline's model version.
    pub fn model_version(&self) -> &str {
        &self.base.model_version
    }

    /// Number of templates the miner knows (trained plus new ones).
    pub fn templates(&self) -> usize {
        self.base.miner.len()
    }

    /// The model's template miner (it learns the templates met during detection).
    pub fn miner(&self) -> &crate::parse::TemplateMiner {
        &self.base.miner
    }

    fn threshold(&self) -> f64 {
        self.config.detect.alpha * self.confidence.max(0.05) / self.n_tests
    }

    /// Feed one record; returns the anomalies of any buckets this record closed.
    pub fn push(&mut self, record: &LogRecord) -> Vec<Anomaly> {
        self.push_split(record, None)
    }

    /// A splitter with the settings of this detector's miner: messages split by it on other
    /// threads go to [`Detector::push_split`].
    pub fn tokenizer(&self) -> Tokenizer {
        self.base.miner.tokenizer()
    }

    /// [`Detector::push`] with the record's message split ahead by [`Detector::tokenizer`]
    /// (`None`: split here): the same anomalies, with the splitting done elsewhere.
    pub fn push_split(&mut self, record: &LogRecord, tokens: Option<&mut Tokens>) -> Vec<Anomaly> {
        self.stats.records += 1;
        let b = self.cal.bucket_of(record.timestamp);
        let mut out = self.advance_to(b);
        self.account(record, tokens);
        out.extend(self.cadence_due(record.timestamp));
        self.finish_batch(out)
    }

    /// The periodic silences found at record time `t` (checked every
    /// [`CADENCE_CHECK_SECS`]): a template that comes at a steady pace and has not come for
    /// `detect.cadence_periods` periods while the rest of the source keeps writing.
    fn cadence_due(&mut self, t: DateTime<Utc>) -> Vec<Anomaly> {
        if self
            .latest
            .is_some_and(|l| t - l > chrono::Duration::seconds(SOURCE_QUIET_SECS))
        {
            for &i in &self.cadenced {
                if let Some(seen) = self.states[i].last_seen.as_mut() {
                    *seen = (*seen).max(t);
                }
            }
        }
        self.latest = Some(self.latest.map_or(t, |l| l.max(t)));
        if self.config.detect.cadence_periods <= 0.0
            || self.cadenced.is_empty()
            || self.cadence_next.is_some_and(|n| t < n)
        {
            return Vec::new();
        }
        self.cadence_next = Some(t + chrono::Duration::seconds(CADENCE_CHECK_SECS));
        let mut out = Vec::new();
        for k in 0..self.cadenced.len() {
            let i = self.cadenced[k];
            if let Some(f) = self.cadence_silence(i, t) {
                let tier = Some(self.tier_of(&f));
                let st = &mut self.states[i];
                st.cadence_tier = tier;
                // The bucket tests of the same silence report it again only higher.
                if st.drop_len > 0 {
                    st.drop_tier = st.drop_tier.max(tier);
                }
                if st.gap_len > 0 {
                    st.gap_tier = st.gap_tier.max(tier);
                }
                out.push(self.anomaly(f, 0));
            }
        }
        out
    }

    /// The periodic silence test of profile `i` at `now` (see [`Detector::cadence_due`]).
    fn cadence_silence(&self, i: usize, now: DateTime<Utc>) -> Option<Finding> {
        let p = &self.base.profiles[i];
        let c = p.cadence?;
        let st = &self.states[i];
        if st.cadence_tier.is_some() {
            return None;
        }
        let last = st.last_seen?;
        let cfg = &self.config.detect;
        let gap = (now - last).num_milliseconds() as f64 / 1000.0;
        let deadline = (cfg.cadence_periods * c.period_secs)
            .max(1.5 * c.longest_secs)
            .max(cfg.cadence_min_minutes * 60.0);
        if gap <= deadline {
            return None;
        }
        // Every run missed before the deadline was due where the message comes on (nearly)
        // every day: a job that pauses at night is not missed at night.
        let period = chrono::Duration::milliseconds((c.period_secs * 1000.0) as i64);
        let due = ((deadline / c.period_secs).floor() as i32).clamp(1, 64);
        let mut ln_p = 0.0;
        let mut checked = None;
        let mut bod = 0;
        for j in 1..=due {
            let b = self.cal.bucket_of(last + period * j);
            if checked == Some(b) {
                continue;
            }
            checked = Some(b);
            bod = self.cal.season(b).bod;
            let q = self.base.presence(p, bod);
            if q < REGULAR_PRESENCE {
                return None;
            }
            ln_p += (1.0 - q).max(1e-9).ln();
        }
        let presence = self.base.presence_days(p, bod);
        let (pid, text, cluster) = &self.labels[i];
        let svc = &p.service;
        let missed = (gap / c.period_secs).floor();
        let start = last + period;
        Some(Finding {
            expected: missed,
            unit: "runs".to_string(),
            probability: ln_p.exp(),
            magnitude: missed,
            explanation: explain::missed_runs(
                svc,
                text,
                c.period_secs,
                c.longest_secs,
                &self.local_hm(last),
                gap,
                missed,
                presence.0,
                presence.1,
            ),
            id_extra: "cadence".to_string(),
            // A steady message that missed its runs is a stopped job or a dead peer.
            floor: Some(Severity::Moderate),
            ..Finding::new(
                AnomalyType::VolumeDrop,
                svc,
                Some(p.subject),
                pid.clone(),
                text.clone(),
                cluster.clone(),
                start,
                now,
            )
        })
    }

    /// Make `b` the open bucket: close the open one and the empty ones in a gap (at most a
    /// day of them: longer silences have been reported by then) and return what they found.
    /// An earlier `b` (a late record) changes nothing.
    fn advance_to(&mut self, b: i64) -> Vec<Anomaly> {
        let mut out = Vec::new();
        match self.current {
            None => self.current = Some(b),
            Some(c) if b > c => {
                let gap_limit = self.cal.per_day() as i64;
                let mut k = c;
                while k < b {
                    out.extend(self.close_bucket(k));
                    k = if b - k > gap_limit && k == c {
                        b - gap_limit
                    } else {
                        k + 1
                    };
                }
                self.current = Some(b);
            }
            Some(_) => {}
        }
        out
    }

    /// Close every bucket that ends at or before `t` (empty ones included, so silence is
    /// seen without a later record) and return their anomalies. Records at or after the
    /// start of `t`'s bucket may still come. The sidecar calls this at the end of each window
    /// and once at start-up to anchor the first bucket.
    pub fn close_until(&mut self, t: DateTime<Utc>) -> Vec<Anomaly> {
        let b = self.cal.bucket_of(t);
        let out = self.advance_to(b);
        self.finish_batch(out)
    }

    /// Count lines per (service, template) in intervals of `minutes` from now on, for
    /// [`Detector::drain_rates`].
    pub fn track_rates(&mut self, minutes: u32) {
        self.rates = Some(Rates {
            minutes: minutes.max(1),
            cells: HashMap::new(),
        });
    }

    /// The counted intervals that end at or before `t`, with what the baseline expected
    /// for each; they are forgotten here. Sorted by (start, service, template).
    pub fn drain_rates(&mut self, t: DateTime<Utc>) -> Vec<RateRow> {
        let Some(rates) = self.rates.as_mut() else {
            return Vec::new();
        };
        let secs = i64::from(rates.minutes) * 60;
        let limit = t.timestamp().div_euclid(secs);
        let minutes = rates.minutes;
        let mut cells: Vec<(RateKey, (u64, u64))> = Vec::new();
        for (service, by_slot) in rates.cells.iter_mut() {
            by_slot.retain(|&(slot, template), &mut v| {
                let done = slot < limit;
                if done {
                    cells.push(((slot, service.clone(), template), v));
                }
                !done
            });
        }
        rates.cells.retain(|_, by_slot| !by_slot.is_empty());
        cells.sort_by(|a, b| a.0.cmp(&b.0));
        let cfg = self.config.detect.clone();
        let bucket_secs = self.cal.bucket_secs as f64;
        cells
            .into_iter()
            .map(|((slot, service, template), (count, errors))| {
                let start = Utc
                    .timestamp_opt(slot * secs, 0)
                    .single()
                    .unwrap_or_default();
                let expected = match self.profile_of(&service, Subject::Template(template)) {
                    Some(i) => {
                        let season = self.cal.season(self.cal.bucket_of(start));
                        let (mu, _) = self.base.expected(&self.base.profiles[i], season, &cfg);
                        mu * secs as f64 / bucket_secs.max(1.0)
                    }
                    None => 0.0,
                };
                RateRow {
                    start,
                    minutes,
                    text: self
                        .base
                        .miner
                        .template(template)
                        .unwrap_or_default()
                        .to_string(),
                    pattern: self
                        .base
                        .patterns
                        .pattern_of(template)
                        .map(|c| c.to_string()),
                    service,
                    template,
                    count,
                    errors,
                    expected,
                }
            })
            .collect()
    }

    fn count_rate(&mut self, record: &LogRecord, template: TemplateId, is_error: bool) {
        if let Some(r) = self.rates.as_mut() {
            let slot = record
                .timestamp
                .timestamp()
                .div_euclid(i64::from(r.minutes) * 60);
            if !r.cells.contains_key(&record.service) {
                r.cells.insert(record.service.clone(), HashMap::new());
            }
            let Some(by_slot) = r.cells.get_mut(&record.service) else {
                return;
            };
            let c = by_slot.entry((slot, template)).or_default();
            c.0 += 1;
            c.1 += u64::from(is_error);
        }
    }

    /// Close the open buckets and return their anomalies (end of input).
    pub fn finish(&mut self) -> Vec<Anomaly> {
        let out = match self.current.take() {
            Some(c) => self.close_bucket(c),
            None => Vec::new(),
        };
        self.finish_batch(out)
    }

    /// The model with what detection learned, to save while this detector keeps running
    /// (the sidecar saves it so a restart knows the templates that are no longer new):
    /// serialises as [`Detector::into_baseline`]'s [`Baseline`] does, borrowing the miner,
    /// patterns, profiles and slot models instead of copying them.
    pub fn model(&self) -> ModelView<'_> {
        let b = &self.base;
        let learned: Vec<KeyProfile> = self
            .novel
            .iter()
            .map(|((service, _), n)| self.novel_profile(service, n))
            .collect();
        ModelView {
            model_version: &b.model_version,
            timezone: &b.timezone,
            bucket_secs: b.bucket_secs,
            trained_from: b.trained_from,
            trained_to: b.trained_to,
            lines: b.lines,
            n_buckets: b.n_buckets,
            exposure_how: &b.exposure_how,
            exposure_bod: &b.exposure_bod,
            miner: &b.miner,
            patterns: &b.patterns,
            profiles: ProfilesView {
                known: &b.profiles,
                learned,
            },
            slots: &b.slots,
        }
    }

    /// The baseline with what detection learned (for saving after a run): the miner with the
    /// new templates, the slot models' state, and new templates as rare known ones.
    pub fn into_baseline(mut self) -> Baseline {
        let novel = std::mem::take(&mut self.novel);
        for ((service, _), n) in &novel {
            let p = self.novel_profile(service, n);
            self.base.profiles.push(p);
        }
        sort_profiles(&mut self.base.profiles);
        self.base
    }

    /// A template first seen during detection, as a rare known one.
    fn novel_profile(&self, service: &str, n: &Novel) -> KeyProfile {
        KeyProfile {
            service: service.to_string(),
            subject: Subject::Template(n.template),
            total: n.count,
            errors: n.errors,
            buckets_present: 1,
            sum_how: Vec::new(),
            sum_bod: Vec::new(),
            present_bod: Vec::new(),
            dispersion: self.config.detect.min_dispersion,
            error_share_hi: (n.errors as f64 + 0.5) / (n.count as f64 + 1.0),
            first_seen: Some(n.first_seen),
            warns: 0,
            cadence: None,
        }
    }

    fn finish_batch(&self, mut out: Vec<Anomaly>) -> Vec<Anomaly> {
        if !out.is_empty() {
            incidents::suppress_and_group(&mut out, &self.config.incidents, self.config.timezone);
        }
        out
    }

    fn profile_of(&self, service: &str, subject: Subject) -> Option<usize> {
        self.index.get(service)?.get(&subject).copied()
    }

    /// The known template a detection-time template id counts as, if any.
    fn known_template(&mut self, service: &str, id: TemplateId) -> Option<TemplateId> {
        if self.profile_of(service, Subject::Template(id)).is_some() {
            return Some(id);
        }
        if let Some(&a) = self.alias.get(&id) {
            if self.profile_of(service, Subject::Template(a)).is_some() {
                return Some(a);
            }
        }
        None
    }

    fn account(&mut self, record: &LogRecord, tokens: Option<&mut Tokens>) {
        let max_examples = self.config.detect.max_examples;
        let max_novel = self.config.detect.max_novel_templates;
        let miner = &mut self.base.miner;
        let message = &record.message;
        let parsed = match tokens {
            Some(t) => match miner.match_tokens(message, t) {
                Some(p) => p,
                None => miner.add_tokens(message, t),
            },
            None => match miner.match_message(message) {
                Some(p) => p,
                None => miner.add(message),
            },
        };
        let id = self.base.miner.resolve(parsed.template_id);
        let service = record.service.as_str();
        let is_error = super::failing(record);
        let known = match self.known_template(service, id) {
            Some(k) => Some(k),
            None if self.novel.contains_key(&(service.to_string(), id)) => None,
            // Past the cap a new template is not watched, nor searched for a known variant on
            // every one of its lines.
            None if self.novel.len() >= max_novel => None,
            None => self.classify_new(service, id),
        };
        self.count_rate(record, known.unwrap_or(id), is_error);
        let Some(tid) = known else {
            self.stats.novel += 1;
            let key = (service.to_string(), id);
            let watched = self.novel.contains_key(&key);
            if !watched && self.novel.len() >= max_novel {
                self.stats.novel_untracked += 1;
            } else if !watched {
                self.stats.novel_templates += 1;
                let text = self.base.miner.template(id).unwrap_or_default().to_string();
                let a = self.base.patterns.assign(&text);
                self.novel.insert(
                    key.clone(),
                    Novel {
                        template: id,
                        text,
                        count: 0,
                        errors: 0,
                        in_bucket: 0,
                        buckets: 0,
                        first_seen: record.timestamp,
                        examples: Vec::new(),
                        outlier: a.outlier_score,
                        similarity: a.similarity,
                        nearest: a.nearest,
                        pattern: a.pattern,
                        reported: None,
                    },
                );
            }
            let mut pattern = None;
            if let Some(n) = self.novel.get_mut(&key) {
                n.count += 1;
                n.in_bucket += 1;
                n.errors += u64::from(is_error);
                if n.examples.len() < max_examples {
                    n.examples.push(record.message.clone());
                }
                pattern = n.pattern;
            }
            // A new template still counts for its service's volume and error share, and for
            // the pattern it joins: a burst spread over many new variants of one message
            // (a quoted search term, a file name) is that pattern's burst.
            self.count_cells(
                record,
                service,
                [Some(Subject::Service), pattern.map(Subject::Pattern)],
                is_error,
            );
            return;
        };
        self.stats.known += 1;
        let pattern = self.base.patterns.pattern_of(tid).map(Subject::Pattern);
        self.count_cells(
            record,
            service,
            [
                Some(Subject::Template(tid)),
                Some(Subject::Service),
                pattern,
            ],
            is_error,
        );
        // A variant's slots need not line up with the known template's: only exact matches
        // feed the slot models.
        if parsed.params.is_empty() || tid != id {
            return;
        }
        if let Some(slots) = self.slot_index.get(service) {
            for p in &parsed.params {
                if !p.value.is_finite() {
                    continue;
                }
                if let Some(&i) = slots.get(&(tid, p.slot)) {
                    self.base.slots[i].model.observe(p.value);
                    if !self.touched_slots.contains(&i) {
                        self.touched_slots.push(i);
                    }
                }
            }
        }
    }

    /// Count one record in the open cells of `subjects` of `service` (those the baseline
    /// watches).
    fn count_cells<const N: usize>(
        &mut self,
        record: &LogRecord,
        service: &str,
        subjects: [Option<Subject>; N],
        is_error: bool,
    ) {
        let max_examples = self.config.detect.max_examples;
        for subject in subjects.into_iter().flatten() {
            if let Some(i) = self.profile_of(service, subject) {
                if let Subject::Template(_) = subject {
                    let st = &mut self.states[i];
                    st.last_seen = Some(
                        st.last_seen
                            .map_or(record.timestamp, |l| l.max(record.timestamp)),
                    );
                    st.cadence_tier = None;
                }
                let cell = self.open.entry(i).or_default();
                cell.count += 1;
                cell.errors += u64::from(is_error);
                cell.warns += u64::from(!is_error && record.is_warn());
                if cell.examples.len() < max_examples {
                    cell.examples.push(record.message.clone());
                }
                // Failing lines explain an error share better than the first lines.
                if is_error && cell.error_examples.len() < max_examples {
                    cell.error_examples.push(record.message.clone());
                } else if !is_error && record.is_warn() && cell.warn_examples.len() < max_examples {
                    cell.warn_examples.push(record.message.clone());
                }
            }
        }
    }

    /// Decide whether a template the baseline does not know is a variant of a known one
    /// (or a known one that generalised); returns the known template it counts as.
    fn classify_new(&mut self, service: &str, id: TemplateId) -> Option<TemplateId> {
        // A known template that generalised during detection now resolves to `id`.
        if let Some(subjects) = self.index.get(service) {
            let mut found = None;
            for s in subjects.keys() {
                if let Subject::Template(k) = s {
                    if *k != id && self.base.miner.resolve(*k) == id {
                        found = Some(*k);
                        break;
                    }
                }
            }
            if let Some(k) = found {
                self.alias.insert(id, k);
                return Some(k);
            }
        }
        let text = self.base.miner.template(id)?.to_string();
        let a = self.base.patterns.assign(&text);
        let nearest = a.nearest?;
        if a.similarity >= self.config.detect.new_variant_similarity
            && self
                .profile_of(service, Subject::Template(nearest))
                .is_some()
        {
            self.alias.insert(id, nearest);
            return Some(nearest);
        }
        None
    }

    /// "on Wednesdays 10:00-11:00" when at least two whole weeks back that hour of the
    /// week; "at 10:00-11:00" (the hour of day, all days) when fewer do, so no claim about a
    /// weekday rests on one partial day.
    fn season_words(&self, s: Season) -> String {
        const DAYS: [&str; 7] = [
            "Mondays",
            "Tuesdays",
            "Wednesdays",
            "Thursdays",
            "Fridays",
            "Saturdays",
            "Sundays",
        ];
        let per_hour = (3600 / self.cal.bucket_secs.max(1)).max(1) as u32;
        let weeks = self.base.exposure_how.get(s.how).copied().unwrap_or(0) / per_hour;
        if weeks >= 2 {
            format!(
                "on {} {:02}:00-{:02}:00",
                DAYS[(s.how / 24).min(6)],
                s.hod,
                (s.hod + 1) % 24
            )
        } else {
            format!("at {:02}:00-{:02}:00", s.hod, (s.hod + 1) % 24)
        }
    }

    fn local_hm(&self, t: DateTime<Utc>) -> String {
        self.cal
            .tz
            .from_utc_datetime(&t.naive_utc())
            .format("%H:%M")
            .to_string()
    }

    fn minutes(&self, buckets: i64) -> String {
        let m = buckets * self.cal.bucket_secs / 60;
        if m % 60 == 0 && m >= 60 {
            format!("{} h", m / 60)
        } else {
            format!("{m} min")
        }
    }

    fn close_bucket(&mut self, bucket: i64) -> Vec<Anomaly> {
        self.stats.buckets += 1;
        let c = Closing {
            bucket,
            season: self.cal.season(bucket),
            start: self.cal.start(bucket),
            end: self.cal.start(bucket + 1),
            thr: self.threshold(),
            words: self.minutes(1),
        };
        let thr_gap = self.config.detect.alpha * self.confidence.max(0.05) / self.n_regular;
        let open = std::mem::take(&mut self.open);
        let mut findings: Vec<Finding> = Vec::new();
        let mut service_error_fired: Vec<String> = Vec::new();
        let mut template_error: Vec<(String, Finding)> = Vec::new();
        let empty = Cell::default();

        // Each key's tests, by what the key is: a service's error and warning shares and
        // its silence; a template's or pattern's error share, then, when rare, the rare
        // test, otherwise spike, drop and (templates) absence.
        for i in 0..self.base.profiles.len() {
            let cell = open.get(&i).unwrap_or(&empty);
            let p = &self.base.profiles[i];
            let subject = p.subject;
            let rare = p.is_rare();
            let (mu, disp) = self.base.expected(p, c.season, &self.config.detect);
            let error = self.test_error_share(i, cell, &c);
            let error_fired = error.is_some();
            match error {
                Some(f) if subject == Subject::Service => {
                    service_error_fired.push(f.service.clone());
                    findings.push(f);
                }
                Some(f) => template_error.push((f.service.clone(), f)),
                None => {}
            }
            match subject {
                Subject::Service => {
                    if !error_fired {
                        findings.extend(self.test_warn_share(i, cell, &c));
                    }
                    findings.extend(self.test_drop(i, cell.count, mu, disp, &c));
                }
                Subject::Template(_) | Subject::Pattern(_) if rare => {
                    findings.extend(self.test_rare(i, cell, mu, disp, &c));
                }
                Subject::Template(_) | Subject::Pattern(_) => {
                    findings.extend(self.test_spike(i, cell, mu, disp, &c));
                    let p = &self.base.profiles[i];
                    let watch_absence = mu < self.config.detect.drop_min_expected
                        && matches!(subject, Subject::Template(_))
                        && !p.present_bod.is_empty();
                    findings.extend(self.test_drop(i, cell.count, mu, disp, &c));
                    // Absence of a regular key too sparse for the drop test (a job every
                    // 15 minutes, an hourly report): the buckets it appears in on (nearly)
                    // every day that pass without it. Buckets where it is usually absent
                    // count neither way, so a nightly burst that ends at its usual minute
                    // is not missed.
                    if watch_absence {
                        findings
                            .extend(self.absence(i, bucket, c.season, cell.count, thr_gap, c.end));
                    }
                }
            }
        }
        for (svc, f) in template_error {
            if !service_error_fired.contains(&svc) {
                findings.push(f);
            }
        }
        self.suppress_explained(&open, &c, &mut findings);

        self.close_novel(c.start, c.end, &mut findings);
        self.close_slots(c.season, c.start, c.end, &mut findings);
        self.open.clear();

        for f in findings.iter_mut() {
            if matches!(f.subject, Some(Subject::Pattern(_))) {
                self.name_members(f);
            }
        }
        let breadth = breadth_of(&findings);
        let mut out: Vec<Anomaly> = findings
            .into_iter()
            .zip(breadth)
            .map(|(f, b)| self.anomaly(f, b))
            .collect();
        out.sort_by(|a, b| {
            (
                a.timestamp,
                a.anomaly.kind,
                &a.service.name,
                &a.pattern.id,
                &a.anomaly.id,
            )
                .cmp(&(
                    b.timestamp,
                    b.anomaly.kind,
                    &b.service.name,
                    &b.pattern.id,
                    &b.anomaly.id,
                ))
        });
        out
    }

    /// Drop the findings another explains: a whole-source silence replaces its services'
    /// silences; a silent service's templates' silences and absences add nothing; nor does
    /// a pattern's spike or drop when one of its templates has the same.
    fn suppress_explained(
        &mut self,
        open: &HashMap<usize, Cell>,
        c: &Closing,
        findings: &mut Vec<Finding>,
    ) {
        // When every service is silent at once the cause is upstream of them all (the
        // shipper, the pipeline, ingest): one critical finding replaces their silences.
        if let Some(f) = self.source_silence(open, c.season, c.start, c.end, c.thr) {
            findings.retain(|g| g.kind != AnomalyType::VolumeDrop);
            findings.push(f);
        }
        if self.source.drop_tier.is_some() && self.source.drop_len > 0 {
            findings.retain(|g| g.kind != AnomalyType::VolumeDrop || g.service == SOURCE_SERVICE);
        }
        // While a service (or the whole source) is silent, its keys' absences are explained
        // by that silence and must not outlast it.
        let silent_services: Vec<String> = if self.source.drop_len > 0 {
            self.index.keys().cloned().collect()
        } else {
            self.base
                .profiles
                .iter()
                .zip(&self.states)
                .filter(|(p, st)| p.subject == Subject::Service && st.drop_len > 0)
                .map(|(p, _)| p.service.clone())
                .collect()
        };
        for svc in &silent_services {
            if let Some(keys) = self.index.get(svc) {
                for &i in keys.values() {
                    self.states[i].gap_len = 0;
                    self.states[i].gap_tier = None;
                }
            }
        }
        // While a whole service is silent, its templates' silences add nothing.
        let silent: Vec<&str> = self
            .base
            .profiles
            .iter()
            .zip(&self.states)
            .filter(|(p, st)| {
                p.subject == Subject::Service && st.drop_tier.is_some() && st.drop_len > 0
            })
            .map(|(p, _)| p.service.as_str())
            .collect();
        findings.retain(|f| {
            !(f.kind == AnomalyType::VolumeDrop
                && f.subject != Some(Subject::Service)
                && silent.contains(&f.service.as_str()))
        });
        // A pattern spike or drop adds nothing when one of its templates has the same.
        let by_template: Vec<(AnomalyType, String, Option<String>)> = findings
            .iter()
            .filter(|f| matches!(f.subject, Some(Subject::Template(_))))
            .map(|f| (f.kind, f.service.clone(), f.cluster_id.clone()))
            .collect();
        findings.retain(|f| {
            !(matches!(f.subject, Some(Subject::Pattern(_)))
                && by_template.iter().any(|(k, s, c)| {
                    *k == f.kind && *s == f.service && c.as_deref() == Some(f.pattern_id.as_str())
                }))
        });
    }

    /// A finding of `kind` on profile `i`, with its labels.
    fn finding(
        &self,
        kind: AnomalyType,
        i: usize,
        start: DateTime<Utc>,
        end: DateTime<Utc>,
    ) -> Finding {
        let p = &self.base.profiles[i];
        let (pid, text, cluster) = &self.labels[i];
        Finding::new(
            kind,
            &p.service,
            Some(p.subject),
            pid.clone(),
            text.clone(),
            cluster.clone(),
            start,
            end,
        )
    }

    /// The error-share test of profile `i`: a service, or a template or pattern with enough
    /// history, whose share of failing lines rose by `error_min_factor` and
    /// `error_min_delta` with a binomial tail below the bucket's threshold. Counts the
    /// buckets in a row it fired in.
    fn test_error_share(&mut self, i: usize, cell: &Cell, c: &Closing) -> Option<Finding> {
        let cfg = &self.config.detect;
        let p = &self.base.profiles[i];
        let obs = cell.count;
        let eligible = match p.subject {
            Subject::Service => true,
            Subject::Template(_) => !p.is_rare() && p.total >= cfg.error_min_template_lines,
            Subject::Pattern(_) => p.total >= cfg.error_min_template_lines,
        };
        let base_share = p.error_share();
        let share = cell.errors as f64 / obs.max(1) as f64;
        let pv = (eligible
            && cell.errors >= cfg.error_min_errors
            && obs > 0
            && share >= base_share * cfg.error_min_factor
            && share - base_share >= cfg.error_min_delta)
            .then(|| binom_sf(cell.errors, obs, p.error_share_hi.max(base_share)))
            .filter(|pv| *pv < c.thr);
        let Some(pv) = pv else {
            self.states[i].error_streak = 0;
            return None;
        };
        self.states[i].error_streak += 1;
        let p = &self.base.profiles[i];
        let template = (p.subject != Subject::Service).then_some(self.labels[i].1.as_str());
        Some(Finding {
            observed: share,
            expected: base_share,
            unit: "ratio".to_string(),
            probability: pv,
            magnitude: share / base_share.max(1e-3) - 1.0,
            error_level: true,
            persistence: self.states[i].error_streak,
            examples: cell.error_examples.clone(),
            explanation: explain::error_share(
                &p.service,
                template,
                share,
                cell.errors,
                obs,
                base_share,
                &c.words,
            ),
            ..self.finding(AnomalyType::ErrorRatio, i, c.start, c.end)
        })
    }

    /// The warning-share test of service profile `i`: a rising share of WARN lines is a
    /// signal too, reported as an `error_ratio` with the unit `warn_ratio`.
    fn test_warn_share(&self, i: usize, cell: &Cell, c: &Closing) -> Option<Finding> {
        let cfg = &self.config.detect;
        let p = &self.base.profiles[i];
        let obs = cell.count;
        if cell.warns < cfg.error_min_errors || obs == 0 {
            return None;
        }
        let share = cell.warns as f64 / obs as f64;
        let base_share = p.warn_share();
        if share < base_share * cfg.error_min_factor || share - base_share < cfg.error_min_delta {
            return None;
        }
        let pv = binom_sf(cell.warns, obs, base_share);
        (pv < c.thr).then(|| Finding {
            observed: share,
            expected: base_share,
            unit: "warn_ratio".to_string(),
            probability: pv,
            magnitude: share / base_share.max(1e-3) - 1.0,
            examples: cell.warn_examples.clone(),
            explanation: explain::warn_share(
                &p.service, share, cell.warns, obs, base_share, &c.words,
            ),
            id_extra: "warn".to_string(),
            warn_level: true,
            ..self.finding(AnomalyType::ErrorRatio, i, c.start, c.end)
        })
    }

    /// The rare test of profile `i` (a template or pattern seen a few times in the whole
    /// history): `rare_min_count` lines or more, with a negative binomial tail below the
    /// threshold.
    fn test_rare(&self, i: usize, cell: &Cell, mu: f64, disp: f64, c: &Closing) -> Option<Finding> {
        let obs = cell.count;
        if obs < self.config.detect.rare_min_count {
            return None;
        }
        let pv = nbinom_sf(obs, mu.max(1e-9), disp);
        if pv >= c.thr {
            return None;
        }
        let p = &self.base.profiles[i];
        let days = self.base.n_buckets as f64 * self.cal.bucket_secs as f64 / 86_400.0;
        Some(Finding {
            observed: obs as f64,
            expected: mu,
            probability: pv,
            magnitude: obs as f64 / mu.max(1e-3) - 1.0,
            error_level: cell.errors > 0,
            examples: cell.examples.clone(),
            explanation: explain::rare(&p.service, &self.labels[i].1, obs, &c.words, p.total, days),
            ..self.finding(AnomalyType::RarePattern, i, c.start, c.end)
        })
    }

    /// The spike test of template or pattern profile `i` (a service's volume is the sum of
    /// theirs): against the largest expectation of the neighbouring buckets, or, for a
    /// message that comes at this time on some days only (a deploy's restart lines), against
    /// what it brings on those days. Counts the buckets in a row it fired in.
    fn test_spike(
        &mut self,
        i: usize,
        cell: &Cell,
        mu: f64,
        disp: f64,
        c: &Closing,
    ) -> Option<Finding> {
        let cfg = &self.config.detect;
        let p = &self.base.profiles[i];
        let obs = cell.count;
        let (mut mu_spike, mut episodic) = (mu, None);
        if obs >= cfg.spike_min_count {
            let n = i64::from(cfg.spike_neighbour_buckets);
            for b in c.bucket - n..=c.bucket + n {
                let sb = self.cal.season(b);
                let e = self.base.expected(p, sb, cfg).0;
                if e > mu_spike {
                    (mu_spike, episodic) = (e, None);
                }
                if let Some((m, days)) = self.base.when_present(p, sb.bod) {
                    if m > mu_spike {
                        mu_spike = m;
                        episodic = Some((days, self.base.presence_days(p, sb.bod).1));
                    }
                }
            }
        }
        let pv = (obs >= cfg.spike_min_count && obs as f64 >= cfg.spike_min_ratio * mu_spike)
            .then(|| nbinom_sf(obs, mu_spike.max(1e-9), disp))
            .filter(|pv| *pv < c.thr);
        let Some(pv) = pv else {
            self.states[i].spike_streak = 0;
            return None;
        };
        self.states[i].spike_streak += 1;
        let spread = (mu_spike + disp * mu_spike * mu_spike).sqrt();
        Some(Finding {
            observed: obs as f64,
            expected: mu_spike,
            probability: pv,
            magnitude: obs as f64 / mu_spike.max(0.5) - 1.0,
            error_level: cell.errors * 2 > obs,
            persistence: self.states[i].spike_streak,
            examples: cell.examples.clone(),
            explanation: explain::spike(
                &self.base.profiles[i].service,
                &self.labels[i].1,
                obs,
                &c.words,
                mu_spike,
                spread,
                &self.season_words(c.season),
                episodic,
            ),
            ..self.finding(AnomalyType::VolumeSpike, i, c.start, c.end)
        })
    }

    /// The drop test of profile `i`: consecutive low buckets where much was expected,
    /// their negative binomial lower tails multiplied. Like a spike, a drop is judged
    /// against the neighbouring buckets too (here their smallest expectation), so a nightly
    /// burst that ends a few minutes early is not a silence. Reported once per episode,
    /// then again only when it escalates.
    fn test_drop(
        &mut self,
        i: usize,
        obs: u64,
        mu: f64,
        disp: f64,
        c: &Closing,
    ) -> Option<Finding> {
        let cfg = &self.config.detect;
        let p = &self.base.profiles[i];
        let mu_drop = if mu >= cfg.drop_min_expected {
            let n = i64::from(cfg.drop_neighbour_buckets);
            (c.bucket - n..=c.bucket + n)
                .map(|b| self.base.expected(p, self.cal.season(b), cfg).0)
                .fold(mu, f64::min)
        } else {
            mu
        };
        let regular_here = self.base.presence(p, c.season.bod) >= REGULAR_PRESENCE;
        let not_first = self.stats.buckets > 1;
        let (min_buckets, moderate_minutes) = (cfg.drop_min_buckets, cfg.drop_moderate_minutes);
        let st = &mut self.states[i];
        if mu_drop < cfg.drop_min_expected || obs as f64 > cfg.drop_max_ratio * mu_drop {
            st.drop_len = 0;
            return None;
        }
        if st.drop_len == 0 {
            st.drop_start = c.bucket;
            st.drop_ln_p = 0.0;
            st.drop_observed = 0;
            st.drop_expected = 0.0;
            st.drop_tier = st.cadence_tier;
        }
        st.drop_len += 1;
        st.drop_ln_p += nbinom_cdf(obs, mu_drop, disp).max(1e-300).ln();
        st.drop_observed += obs;
        st.drop_expected += mu_drop;
        let pv = st.drop_ln_p.exp();
        // A silence so complete that one bucket is already beyond doubt need not wait for a
        // second one (`drop_min_buckets` guards partial lows). Only where the key comes on
        // (nearly) every day at this time, and never in the detector's first bucket, which
        // may have started mid-way.
        let complete = st.drop_observed == 0 && regular_here && not_first;
        if (st.drop_len < min_buckets && !complete) || pv >= c.thr {
            return None;
        }
        let len = st.drop_len;
        let (o, e, ds) = (st.drop_observed, st.drop_expected, st.drop_start);
        let reported = st.drop_tier;
        let spread = (e + disp * e * e / f64::from(len)).sqrt();
        let dstart = self.cal.start(ds);
        // Impact rule: a silence that lasts `drop_moderate_minutes`, or a steady message
        // stopped dead (not one line where many were expected), reaches a person.
        let lasting = i64::from(len) * self.cal.bucket_secs >= moderate_minutes as i64 * 60;
        let p = &self.base.profiles[i];
        let template = (p.subject != Subject::Service).then_some(self.labels[i].1.as_str());
        let mut finding = Finding {
            observed: o as f64,
            expected: e,
            probability: pv,
            magnitude: e / (o as f64).max(1.0) - 1.0,
            persistence: len,
            explanation: explain::drop(
                &p.service,
                template,
                o,
                &self.minutes(i64::from(len)),
                &self.local_hm(dstart),
                e,
                spread,
                &self.season_words(c.season),
            ),
            floor: (lasting || complete).then_some(Severity::Moderate),
            ..self.finding(AnomalyType::VolumeDrop, i, dstart, c.end)
        };
        self.states[i].drop_tier = Some(self.escalation(&mut finding, reported)?);
        Some(finding)
    }

    /// A silence is reported once per episode, then again only when it escalates: the tier
    /// to report `finding` at, or `None` when it was `reported` at that tier or higher. An
    /// escalation gets an id of its own (`escalated-<tier>` after the finding's id extra).
    fn escalation(&self, finding: &mut Finding, reported: Option<Severity>) -> Option<Severity> {
        let tier = self.tier_of(finding);
        if reported.is_some_and(|r| tier <= r) {
            return None;
        }
        if reported.is_some() {
            finding.id_extra = if finding.id_extra.is_empty() {
                format!("escalated-{}", tier.as_str())
            } else {
                format!("{}-escalated-{}", finding.id_extra, tier.as_str())
            };
        }
        Some(tier)
    }

    /// The whole-source silence test: the lines of every service together, against the sum
    /// of their expectations, accumulated over consecutive low buckets like a drop. Reported
    /// once per episode, as `critical`; the episode ends when lines come back.
    fn source_silence(
        &mut self,
        open: &HashMap<usize, Cell>,
        season: Season,
        start: DateTime<Utc>,
        end: DateTime<Utc>,
        thr: f64,
    ) -> Option<Finding> {
        let cfg = &self.config.detect;
        let (mut obs, mut mu, mut services) = (0u64, 0.0f64, 0u32);
        for (i, p) in self.base.profiles.iter().enumerate() {
            if p.subject != Subject::Service {
                continue;
            }
            let (m, _) = self.base.expected(p, season, cfg);
            if m >= 1.0 {
                services += 1;
            }
            mu += m;
            obs += open.get(&i).map_or(0, |c| c.count);
        }
        let st = &mut self.source;
        if services < 2 || mu < cfg.drop_min_expected || obs as f64 > cfg.drop_max_ratio * mu {
            *st = KeyState::default();
            return None;
        }
        if st.drop_len == 0 {
            *st = KeyState {
                drop_start: self.cal.bucket_of(start),
                ..KeyState::default()
            };
        }
        st.drop_len += 1;
        st.drop_ln_p += nbinom_cdf(obs, mu, cfg.min_dispersion).max(1e-300).ln();
        st.drop_observed += obs;
        st.drop_expected += mu;
        let pv = st.drop_ln_p.exp();
        let complete = st.drop_observed == 0 && self.stats.buckets > 1;
        if (st.drop_len < cfg.drop_min_buckets && !complete) || pv >= thr || st.drop_tier.is_some()
        {
            return None;
        }
        st.drop_tier = Some(Severity::Critical);
        let (len, o, e) = (st.drop_len, st.drop_observed, st.drop_expected);
        let dstart = self.cal.start(st.drop_start);
        Some(Finding {
            observed: o as f64,
            expected: e,
            probability: pv,
            magnitude: e / (o as f64).max(1.0) - 1.0,
            persistence: len,
            explanation: explain::source_silence(
                &self.source_name,
                &self.local_hm(dstart),
                o,
                services,
                &self.minutes(i64::from(len)),
                e,
            ),
            confidence_applies: false,
            floor: Some(Severity::Critical),
            ..Finding::new(
                AnomalyType::VolumeDrop,
                SOURCE_SERVICE,
                None,
                "source".to_string(),
                "*".to_string(),
                None,
                dstart,
                end,
            )
        })
    }

    /// Say which templates a pattern-level finding stands for: its known templates of the
    /// service and the new ones that joined it, so a burst spread over variants (a quoted
    /// term, a file name) reads as one pattern with its members.
    fn name_members(&self, f: &mut Finding) {
        let Some(subjects) = self.index.get(&f.service) else {
            return;
        };
        let mut members: Vec<&str> = Vec::new();
        for s in subjects.keys() {
            if let Subject::Template(t) = s {
                if self
                    .base
                    .patterns
                    .pattern_of(*t)
                    .map(|p| p.to_string())
                    .as_deref()
                    == Some(f.pattern_id.as_str())
                {
                    members.push(self.base.miner.template(*t).unwrap_or_default());
                }
            }
        }
        let new = self
            .novel
            .iter()
            .filter(|((svc, _), n)| {
                *svc == f.service
                    && n.pattern.map(|p| p.to_string()).as_deref() == Some(f.pattern_id.as_str())
            })
            .count();
        if members.len() + new <= 1 {
            return;
        }
        members.sort_unstable();
        let shown: Vec<String> = members.iter().take(3).map(|t| format!("'{t}'")).collect();
        let more = members.len().saturating_sub(3);
        let _ = write!(
            f.explanation,
            " (pattern {} of {} templates: {}{}{})",
            f.pattern_id,
            members.len() + new,
            shown.join(", "),
            if more > 0 {
                format!(" and {more} more")
            } else {
                String::new()
            },
            if new > 0 {
                format!(", {new} of them new")
            } else {
                String::new()
            },
        );
    }

    /// The absence test of profile `i` in `bucket` (see `close_bucket`).
    fn absence(
        &mut self,
        i: usize,
        bucket: i64,
        season: Season,
        obs: u64,
        thr: f64,
        end: DateTime<Utc>,
    ) -> Option<Finding> {
        let q = self.base.presence(&self.base.profiles[i], season.bod);
        let st = &mut self.states[i];
        if obs > 0 {
            st.gap_len = 0;
            st.gap_neutral = 0;
            st.gap_tier = None;
            return None;
        }
        if q < REGULAR_PRESENCE {
            st.gap_neutral += 1;
            if st.gap_neutral > GAP_FORGET_BUCKETS {
                st.gap_len = 0;
                st.gap_tier = None;
            }
            return None;
        }
        if st.gap_len == 0 {
            st.gap_start = bucket;
            st.gap_ln_p = 0.0;
            st.gap_tier = st.cadence_tier;
        }
        st.gap_len += 1;
        st.gap_neutral = 0;
        st.gap_ln_p += (1.0 - q).max(1e-9).ln();
        let pv = st.gap_ln_p.exp();
        if pv >= thr {
            return None;
        }
        let (len, since, reported) = (bucket - st.gap_start + 1, st.gap_start, st.gap_tier);
        let cfg = &self.config.detect;
        let lasting = len * self.cal.bucket_secs >= cfg.drop_moderate_minutes as i64 * 60;
        let p = &self.base.profiles[i];
        let dstart = self.cal.start(since);
        let (present, days) = self.base.presence_days(p, season.bod);
        let mut finding = Finding {
            expected: f64::from(self.states[i].gap_len),
            unit: "buckets".to_string(),
            probability: pv,
            magnitude: f64::from(self.states[i].gap_len),
            persistence: len.max(1) as u32,
            explanation: explain::absence(
                &p.service,
                &self.labels[i].1,
                &self.local_hm(dstart),
                &self.minutes(len),
                present,
                days,
            ),
            id_extra: "absence".to_string(),
            floor: lasting.then_some(Severity::Moderate),
            ..self.finding(AnomalyType::VolumeDrop, i, dstart, end)
        };
        self.states[i].gap_tier = Some(self.escalation(&mut finding, reported)?);
        Some(finding)
    }

    fn close_novel(
        &mut self,
        start: DateTime<Utc>,
        end: DateTime<Utc>,
        findings: &mut Vec<Finding>,
    ) {
        let cfg = self.config.detect.clone();
        let per_bucket = 1.0 / (self.base.n_buckets as f64 + 2.0);
        let active: Vec<(String, TemplateId)> = self
            .novel
            .iter()
            .filter(|(_, n)| n.in_bucket > 0)
            .map(|(k, _)| k.clone())
            .collect();
        for key in active {
            let Some(n) = self.novel.get_mut(&key) else {
                continue;
            };
            n.in_bucket = 0;
            n.buckets += 1;
            let real = n.errors > 0
                || n.count >= cfg.new_min_count
                || (n.outlier >= cfg.new_far_outlier && n.count >= 2);
            if !real {
                continue;
            }
            let n = n.clone();
            let svc = &key.0;
            // A template unseen in `n` buckets has a chance of about 1/n per bucket; one far
            // from every known template is rarer still (up to 1/n²). The count adds
            // magnitude, not surprise, so a chatty new info line stays low until it is many.
            let probability = per_bucket.powf(1.0 + n.outlier.clamp(0.0, 1.0));
            let still = (n.buckets > 1).then(|| self.minutes(i64::from(n.buckets)));
            // Impact rule: a never-seen failing message that keeps coming (in a second
            // bucket, or `new_error_min_lines` times) reaches a person; one stray line need
            // not. Novelty does not rest on the length of history, so confidence does not
            // scale a failing new message down.
            let keeps_coming =
                n.errors > 0 && (n.buckets >= 2 || n.errors >= cfg.new_error_min_lines);
            let closest = n
                .nearest
                .and_then(|t| self.base.miner.template(t))
                .map(|t| (t, n.similarity));
            let finding = Finding {
                observed: n.count as f64,
                probability,
                magnitude: n.count as f64,
                error_level: n.errors > 0,
                persistence: n.buckets,
                examples: n.examples.clone(),
                explanation: explain::new_message(
                    svc,
                    &n.text,
                    n.count,
                    n.errors,
                    &self.local_hm(n.first_seen),
                    still.as_deref(),
                    closest,
                ),
                confidence_applies: n.errors == 0,
                floor: keeps_coming.then_some(Severity::Moderate),
                ..Finding::new(
                    AnomalyType::NewPattern,
                    svc,
                    Some(Subject::Template(n.template)),
                    n.template.to_string(),
                    n.text.clone(),
                    n.pattern.map(|p| p.to_string()),
                    start,
                    end,
                )
            };
            // Reported once, then again only when it escalates to a higher tier (an update
            // of the same incident, not a new one).
            let tier = self.tier_of(&finding);
            if n.reported.is_some_and(|r| r >= tier) {
                continue;
            }
            if let Some(m) = self.novel.get_mut(&key) {
                m.reported = Some(tier);
            }
            findings.push(finding);
        }
    }

    fn close_slots(
        &mut self,
        season: Season,
        start: DateTime<Utc>,
        end: DateTime<Utc>,
        findings: &mut Vec<Finding>,
    ) {
        let touched = std::mem::take(&mut self.touched_slots);
        let drift_cfg = self.config.detect.drift.clone();
        for i in touched {
            let (service, template, name) = {
                let s = &self.base.slots[i];
                (s.service.clone(), s.template, s.name.clone())
            };
            let text = self
                .base
                .miner
                .template(template)
                .unwrap_or_default()
                .to_string();
            let key = SlotKey {
                service: &service,
                template: &text,
                slot_name: &name,
            };
            let (drift, forecast) = self.base.slots[i]
                .model
                .close_bucket(&drift_cfg, &key, start, end, season.how);
            findings.extend(self.slot_findings(i, &text, drift, forecast, start, end));
        }
    }

    /// Turn a slot model's drift and forecast findings into anomaly findings.
    fn slot_findings(
        &self,
        i: usize,
        text: &str,
        drift: Option<super::drift::DriftFinding>,
        forecast: Option<super::forecast::ForecastFinding>,
        start: DateTime<Utc>,
        end: DateTime<Utc>,
    ) -> Vec<Finding> {
        let mut findings = Vec::new();
        let (service, template, slot, name) = {
            let s = &self.base.slots[i];
            (s.service.clone(), s.template, s.slot, s.name.clone())
        };
        let cluster_id = self
            .base
            .patterns
            .pattern_of(template)
            .map(|p| p.to_string());
        let on_slot = |kind| {
            Finding::new(
                kind,
                &service,
                Some(Subject::Template(template)),
                template.to_string(),
                text.to_string(),
                cluster_id.clone(),
                start,
                end,
            )
        };
        // Impact rule: a drift whose slot is projected to cross its threshold within the
        // horizon reaches a person.
        let forecast_within = forecast
            .as_ref()
            .is_some_and(|f| f.hours_to_breach <= f.horizon_hours);
        if let Some(d) = drift {
            // Impact rule: a value that jumped many-fold (a queue lag, a retry count)
            // reaches a person.
            let factor = self.config.detect.drift.jump_moderate_factor;
            let fold = if d.magnitude >= 0.0 {
                1.0 + d.magnitude
            } else {
                1.0 / (1.0 + d.magnitude).max(1e-9)
            };
            let many_fold = d.jumped && factor > 0.0 && fold >= factor;
            findings.push(Finding {
                observed: d.current,
                expected: d.baseline,
                unit: name.clone(),
                probability: d.probability,
                magnitude: d.magnitude,
                persistence: d.persistence,
                explanation: explain::drift(
                    &service,
                    text,
                    &name,
                    d.quantile,
                    d.current,
                    d.baseline,
                    d.magnitude,
                    &self.minutes(i64::from(d.persistence.max(1))),
                ),
                id_extra: format!("{slot}/{}", d.quantile),
                floor: (forecast_within || many_fold).then_some(Severity::Moderate),
                parameter: Some(ParameterRef {
                    slot,
                    name: name.clone(),
                    quantile: d.quantile,
                    baseline: d.baseline,
                    current: d.current,
                }),
                ..on_slot(AnomalyType::ParameterDrift)
            });
        }
        if let Some(f) = forecast {
            // A confident projection is as telling as a very improbable count: 1e-3 at no
            // confidence down to 1e-12 at full confidence. Sooner is bigger.
            let probability = 10f64.powf(-3.0 - 9.0 * f.confidence.clamp(0.0, 1.0));
            let magnitude = f.horizon_hours / f.hours_to_breach.max(0.1);
            // Impact rule: a breach projected within the horizon reaches a person; one
            // within the hour pages.
            let floor = if f.hours_to_breach <= 1.0 {
                Severity::Critical
            } else {
                Severity::Moderate
            };
            findings.push(Finding {
                observed: f.level,
                expected: f.threshold,
                unit: name.clone(),
                probability,
                magnitude,
                explanation: explain::forecast(
                    &service,
                    text,
                    &name,
                    f.level,
                    f.trend_per_hour,
                    f.threshold,
                    &self.local_hm(f.breach_at),
                    f.hours_to_breach,
                ),
                id_extra: format!("{slot}/forecast"),
                floor: Some(floor),
                forecast: Some(ForecastRef {
                    threshold: f.threshold,
                    breach_at: f.breach_at,
                    hours_to_breach: f.hours_to_breach,
                    horizon_hours: f.horizon_hours,
                    level: f.level,
                    trend_per_hour: f.trend_per_hour,
                }),
                ..on_slot(AnomalyType::ForecastBreach)
            });
        }
        findings
    }

    /// The score of a finding, with `breadth` other keys anomalous beside it.
    fn score_of(&self, f: &Finding, breadth: u32) -> f64 {
        incidents::score(
            &ScoreInputs {
                probability: f.probability,
                magnitude: f.magnitude,
                error_level: f.error_level,
                warn_level: f.warn_level,
                persistence: f.persistence,
                criticality: self.config.criticality(&f.service),
                confidence: self.confidence,
                confidence_applies: f.confidence_applies,
                breadth,
                floor: f.floor,
            },
            &self.config.severity,
        )
    }

    /// The tier a finding would get on its own.
    fn tier_of(&self, f: &Finding) -> Severity {
        self.config.severity.tier(self.score_of(f, 0))
    }

    fn anomaly(&self, f: Finding, breadth: u32) -> Anomaly {
        let score = self.score_of(&f, breadth);
        let severity = self.config.severity.tier(score);
        let tenant = self.config.tenant.clone();
        let id = content_id(&[
            &tenant,
            f.kind.as_str(),
            &f.service,
            &f.pattern_id,
            &f.start.to_rfc3339(),
            &f.id_extra,
        ]);
        Anomaly {
            timestamp: f.start,
            anomaly: AnomalyBody {
                id: id.clone(),
                kind: f.kind,
                severity,
                score,
                window: Window {
                    start: f.start,
                    end: f.end,
                },
                observed: f.observed,
                expected: f.expected,
                unit: f.unit,
                confidence: self.confidence,
                probability: f.probability,
                explanation: f.explanation,
            },
            service: ServiceRef { name: f.service },
            pattern: PatternRef {
                id: f.pattern_id,
                template: f.template,
                cluster_id: f.cluster_id,
                examples: f.examples,
            },
            incident: IncidentRef { id },
            model: ModelRef {
                version: self.base.model_version.clone(),
            },
            feedback: FeedbackRef::default(),
            tenant,
            event: EventRef {
                kind: "alert".to_string(),
                start: f.start,
                end: f.end,
                severity: ecs_severity(severity),
                risk_score: score,
            },
            parameter: f.parameter,
            forecast: f.forecast,
        }
    }
}

/// For each finding, how many other keys are anomalous in the same bucket: other patterns
/// of its service, plus other services (a whole-source finding counts as every service).
fn breadth_of(findings: &[Finding]) -> Vec<u32> {
    let mut keys: BTreeMap<&str, std::collections::BTreeSet<&str>> = BTreeMap::new();
    for f in findings {
        keys.entry(f.service.as_str())
            .or_default()
            .insert(f.cluster_id.as_deref().unwrap_or(f.pattern_id.as_str()));
    }
    findings
        .iter()
        .map(|f| {
            let own = keys
                .get(f.service.as_str())
                .map_or(0, |k| k.len().saturating_sub(1));
            let others = keys.len().saturating_sub(1);
            (own + others) as u32
        })
        .collect()
}

/// Profiles sorted by (service, subject), the first of each key kept: what
/// [`Detector::into_baseline`] leaves in [`Baseline::profiles`].
fn sort_profiles<P: std::borrow::Borrow<KeyProfile>>(profiles: &mut Vec<P>) {
    let key = |p: &P| {
        let p = p.borrow();
        (p.service.clone(), p.subject)
    };
    profiles.sort_by_cached_key(key);
    profiles.dedup_by(|a, b| key(a) == key(b));
}

/// A running detector's model, borrowed: see [`Detector::model`]. Its fields are
/// [`Baseline`]'s, in the same order, so the saved file is the same.
#[derive(Debug, serde::Serialize)]
pub struct ModelView<'a> {
    model_version: &'a str,
    timezone: &'a str,
    bucket_secs: u64,
    trained_from: Option<DateTime<Utc>>,
    trained_to: Option<DateTime<Utc>>,
    lines: u64,
    n_buckets: u64,
    exposure_how: &'a [u32],
    exposure_bod: &'a [u32],
    miner: &'a crate::parse::TemplateMiner,
    patterns: &'a crate::cluster::PatternModel,
    profiles: ProfilesView<'a>,
    slots: &'a [super::baseline::SlotEntry],
}

impl ModelView<'_> {
    /// The model's version.
    pub fn model_version(&self) -> &str {
        self.model_version
    }
}

/// The baseline's profiles and those learned since, serialised as one sorted list.
#[derive(Debug)]
struct ProfilesView<'a> {
    known: &'a [KeyProfile],
    learned: Vec<KeyProfile>,
}

impl serde::Serialize for ProfilesView<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut all: Vec<&KeyProfile> = self.known.iter().chain(&self.learned).collect();
        sort_profiles(&mut all);
        serializer.collect_seq(all)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;
    use crate::detect::baseline::SlotEntry;
    use crate::detect::drift::{DriftFinding, SlotModel};
    use crate::detect::forecast::ForecastFinding;
    use crate::model::Severity;

    /// The start of training in these tests.
    fn t0() -> DateTime<Utc> {
        "2026-11-02T00:00:00Z".parse().unwrap()
    }

    /// A baseline of `days` days of one `pay` line a minute, `charge took N ms`.
    fn trained(config: &Config, days: i64) -> crate::detect::Baseline {
        let mut t = crate::detect::Trainer::new(&config.trainer_settings());
        for m in 0..days * 24 * 60 {
            t.add(&LogRecord {
                timestamp: t0() + chrono::Duration::minutes(m),
                message: format!("charge took {} ms", 100 + m % 7),
                service: "pay".to_string(),
                level: Some("info".to_string()),
                host: None,
            });
        }
        t.finish()
    }

    fn detector() -> Detector {
        let config =
            Config::from_yaml("tenant: ops\nservices:\n  pay:\n    criticality: critical\n")
                .unwrap();
        let mut base = trained(&config, 14);
        if base.slots.is_empty() {
            // The miner found no numeric slot: watch slot 0 of the only template.
            let template = base.miner.templates()[0].0;
            base.slots.push(SlotEntry {
                service: "pay".to_string(),
                template,
                slot: 0,
                name: "took".to_string(),
                values: 1,
                model: SlotModel::new(&config.detect.drift),
            });
        }
        Detector::new(base, &config.detector_settings())
    }

    /// A source that says something new on every line: the detector watches at most
    /// `detect.max_novel_templates` new templates and counts the lines of the others.
    #[test]
    fn new_templates_watched_stay_within_max_novel_templates() {
        let config =
            Config::from_yaml("tenant: ops\ndetect:\n  max_novel_templates: 10\n").unwrap();
        let mut d = Detector::new(trained(&config, 2), &config.detector_settings());
        let start = t0() + chrono::Duration::days(2);
        // Words of letters only, a different set on every line: 200 new templates.
        let word = |i: usize| -> String {
            (0..4)
                .map(|k| char::from(b'a' + ((i / 26usize.pow(k)) % 26) as u8))
                .collect()
        };
        for i in 0..200 {
            d.push(&LogRecord {
                timestamp: start + chrono::Duration::seconds(i as i64),
                message: format!("{} {} {}", word(3 * i), word(3 * i + 1), word(3 * i + 2)),
                service: "pay".to_string(),
                level: Some("info".to_string()),
                host: None,
            });
        }
        let st = d.stats();
        assert_eq!(st.novel_templates, 10, "watched");
        assert_eq!(st.novel, 200, "every line of a new template is counted");
        assert_eq!(
            st.novel_untracked, 190,
            "the lines of the pairs not watched"
        );
        assert!(d.novel.len() <= 10);
    }

    #[test]
    fn the_borrowed_model_saves_what_into_baseline_returns() {
        let config = Config::from_yaml("tenant: ops\n").unwrap();
        let mut d = Detector::new(trained(&config, 2), &config.detector_settings());
        let start = t0() + chrono::Duration::days(2);
        for (i, message) in ["ledger sync failed for shard 7", "charge took 12 ms"]
            .iter()
            .cycle()
            .take(40)
            .enumerate()
        {
            d.push(&LogRecord {
                timestamp: start + chrono::Duration::seconds(i as i64),
                message: message.to_string(),
                service: if i % 4 == 0 { "ledger" } else { "pay" }.to_string(),
                level: Some("error".to_string()),
                host: None,
            });
        }
        assert!(d.stats().novel_templates >= 2, "{:?}", d.stats());
        let saved = serde_json::to_value(d.model()).unwrap();
        let learned = d.clone().into_baseline();
        assert!(learned.profiles.len() > d.base.profiles.len());
        assert_eq!(saved, serde_json::to_value(&learned).unwrap());
        // And it loads back as that baseline.
        let back: Baseline = serde_json::from_value(saved).unwrap();
        assert_eq!(back.profiles.len(), learned.profiles.len());
    }

    #[test]
    fn drift_and_forecast_findings_become_full_anomalies() {
        let d = detector();
        let start = "2026-11-17T10:00:00Z".parse::<DateTime<Utc>>().unwrap();
        let end = start + chrono::Duration::minutes(10);
        let drift = DriftFinding {
            quantile: 0.95,
            baseline: 106.0,
            current: 160.0,
            probability: 1e-14,
            magnitude: 0.51,
            persistence: 6,
            jumped: false,
        };
        let forecast = ForecastFinding {
            threshold: 500.0,
            breach_at: end + chrono::Duration::hours(5),
            hours_to_breach: 5.0,
            horizon_hours: 12.0,
            level: 160.0,
            trend_per_hour: 68.0,
            confidence: 0.9,
        };
        let text = d
            .base
            .miner
            .template(d.base.slots[0].template)
            .unwrap()
            .to_string();
        let f = d.slot_findings(0, &text, Some(drift), Some(forecast), start, end);
        assert_eq!(f.len(), 2);
        let a: Vec<Anomaly> = f.into_iter().map(|f| d.anomaly(f, 0)).collect();
        let drift = &a[0];
        assert_eq!(drift.anomaly.kind, AnomalyType::ParameterDrift);
        let p = drift.parameter.as_ref().unwrap();
        assert_eq!((p.quantile, p.baseline, p.current), (0.95, 106.0, 160.0));
        assert_eq!(drift.anomaly.observed, 160.0);
        assert_eq!(drift.anomaly.expected, 106.0);
        assert!(
            drift.anomaly.explanation.contains("p95"),
            "{}",
            drift.anomaly.explanation
        );
        assert!(
            drift.anomaly.explanation.contains("+51%"),
            "{}",
            drift.anomaly.explanation
        );
        assert_eq!(drift.tenant, "ops");
        assert_eq!(drift.service.name, "pay");
        // Critical service, very improbable, persistent: at least moderate.
        assert!(
            drift.anomaly.severity >= Severity::Moderate,
            "{}",
            drift.anomaly.score
        );
        let fc = &a[1];
        assert_eq!(fc.anomaly.kind, AnomalyType::ForecastBreach);
        let r = fc.forecast.as_ref().unwrap();
        assert_eq!(r.hours_to_breach, 5.0);
        assert_eq!(r.breach_at, end + chrono::Duration::hours(5));
        assert!(
            fc.anomaly.explanation.contains("projected to cross 500"),
            "{}",
            fc.anomaly.explanation
        );
        assert!(
            fc.anomaly.explanation.contains("(in 5.0 h)"),
            "{}",
            fc.anomaly.explanation
        );
        assert!(
            fc.anomaly.severity >= Severity::Moderate,
            "{}",
            fc.anomaly.score
        );
        assert_ne!(drift.anomaly.id, fc.anomaly.id);
        assert_eq!(fc.event.severity, ecs_severity(fc.anomaly.severity));
    }
}
