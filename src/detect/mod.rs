//! Detectors: a seasonal baseline per service and template, and the seven detectors.
//!
//! Owns: [`DetectConfig`], the [`Baseline`] learned by a [`Trainer`], and a [`Detector`] that
//! closes time buckets and emits anomalies. Pure: time comes from the records, never from a
//! clock.
//!
//! How it works, in one paragraph: records are cut into fixed buckets (`bucket_secs`, aligned
//! to the epoch) and counted per (service, template), per (service, pattern) and per service.
//! The baseline ([`baseline`]) keeps, for each of those keys, the mean count per local
//! hour-of-week shrunk towards hour-of-day times day-of-week (so two weeks of history
//! suffice and one day still works), times the shape of the bucket within its hour learned per bucket-of-day (so a
//! burst every day at 14:00 is expected at 14:00), and an overdispersion estimated on the
//! training buckets. The detectors ([`detector`]) compare each closed bucket with that
//! expectation through negative binomial and binomial tail probabilities ([`stats`]), keep
//! only what passes a Bonferroni correction over the bucket's tests plus a minimum count and
//! ratio, and score what remains with [`crate::incidents::score`].

pub mod baseline;
pub mod detector;
pub mod drift;
pub mod explain;
pub mod forecast;
pub mod outcome;
pub mod report;
pub mod sketch;
pub mod stats;

use crate::validate::Problems;
use serde::{Deserialize, Serialize};

pub use baseline::{Baseline, Trainer};
pub use detector::{Detector, RateRow};

use crate::incidents::{Criticality, IncidentsConfig, SeverityConfig};
use std::collections::BTreeMap;

/// What a [`Trainer`] reads of the configuration: the sections of the stages it runs over
/// the history (templates, patterns, baseline) and the zone seasons are learned in. Built
/// from the whole file by `Config::trainer_settings`.
#[derive(Debug, Clone)]
pub struct TrainerSettings {
    /// The zone hour of day and day of week are counted in.
    pub timezone: chrono_tz::Tz,
    /// Template mining.
    pub parse: crate::parse::ParseConfig,
    /// Tokenizing templates for the patterns.
    pub vectorize: crate::vectorize::VectorizeConfig,
    /// Grouping templates into patterns.
    pub patterns: crate::cluster::PatternsConfig,
    /// The baseline's own settings.
    pub detect: DetectConfig,
}

/// What a [`Detector`] reads of the configuration: its own section, the sections that score
/// and group what it finds, and what is written into each anomaly. Built from the whole
/// file by `Config::detector_settings`; the detector never sees the cluster, the routes or
/// the sidecar's sections.
#[derive(Debug, Clone)]
pub struct DetectorSettings {
    /// Written into every anomaly.
    pub tenant: String,
    /// The zone used when a model does not name the one it was learned in.
    pub timezone: chrono_tz::Tz,
    /// The detectors' thresholds.
    pub detect: DetectConfig,
    /// Score cut-offs for the tiers.
    pub severity: SeverityConfig,
    /// Grouping anomalies into incidents.
    pub incidents: IncidentsConfig,
    /// Services whose criticality is not `normal`.
    pub criticality: BTreeMap<String, Criticality>,
}

impl DetectorSettings {
    /// The criticality of a service (default `normal`).
    pub fn criticality(&self, service: &str) -> Criticality {
        self.criticality.get(service).copied().unwrap_or_default()
    }
}

/// Whether a record counts as failing: logged at an error level, or reporting a failed
/// outcome in its text (a 5xx status, a non-zero exit code, `result=declined`; see
/// [`outcome`]). Error shares, and the error level of an anomaly, count these lines.
pub fn failing(record: &crate::model::LogRecord) -> bool {
    record.is_error() || outcome::failed(&record.message)
}

/// Baseline and detector settings. Every threshold is a key; the defaults are tuned for
/// precision (a quiet day produces nothing).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DetectConfig {
    /// Bucket length in seconds (default 600). Buckets are aligned to the epoch, so with a
    /// time zone at a whole or half hour offset they are aligned to the local hour. Must
    /// divide a day. A model keeps the bucket length it was trained with.
    pub bucket_secs: u64,
    /// Family-wise false alarm probability per bucket (default 0.001): a test fires when its
    /// tail probability is below `alpha / tests in the bucket` (Bonferroni).
    pub alpha: f64,
    /// How many buckets of prior evidence an hour-of-week mean is shrunk with (default 6);
    /// the prior is the hour-of-day mean times the day-of-week level, so with thin weekly
    /// history the expectation follows the daily profile scaled to the weekday.
    pub weekly_prior_buckets: f64,
    /// How many samples of the hour's mean the bucket-of-day shape is shrunk towards
    /// (default 3).
    pub shape_prior_days: f64,
    /// ... but never more than this many lines' worth (default 30): a busy key's own
    /// buckets decide its shape within the hour.
    pub shape_prior_lines: f64,
    /// Smallest overdispersion used in the negative binomial (default 0.05: a standard
    /// deviation of at least about 22% of a large mean), guarding against overfitting.
    pub min_dispersion: f64,
    /// Days of training after which confidence is 1 (default 14). Below that, confidence is
    /// days / this, and tests are stricter in proportion.
    pub full_confidence_days: f64,
    /// `volume_spike`: smallest count in the bucket (default 10).
    pub spike_min_count: u64,
    /// `volume_spike`: smallest observed / expected ratio (default 2.0).
    pub spike_min_ratio: f64,
    /// `volume_spike`: the count is compared with the largest expectation of this bucket and
    /// this many buckets either side (default 1), so a recurring burst that comes a bucket
    /// early or late (a daily deploy at 14:00 one day, 14:10 the next) stays normal.
    pub spike_neighbour_buckets: u32,
    /// `volume_drop`: smallest expected count per bucket for a key to be watched for
    /// silence (default 5.0).
    pub drop_min_expected: f64,
    /// `volume_drop`: consecutive low buckets needed (default 2); a silence with no line at
    /// all is reported after one bucket when that alone is improbable enough.
    pub drop_min_buckets: u32,
    /// `volume_drop`: a bucket is low when observed <= this share of expected (default 0.1).
    pub drop_max_ratio: f64,
    /// `volume_drop`: the count is compared with the smallest expectation of this bucket and
    /// this many buckets either side (default 1), so a nightly burst that ends a bucket
    /// early is not a silence.
    pub drop_neighbour_buckets: u32,
    /// `volume_drop`: a silence that lasts this many minutes is at least `moderate`
    /// (default 30).
    pub drop_moderate_minutes: u64,
    /// `volume_drop` of a periodic message (a job every 5 minutes, a heartbeat, an hourly
    /// report: gaps that vary little around their median in training): reported, at least
    /// `moderate`, once nothing has come for this many periods (default 2.5, i.e. two runs
    /// missed) and for half again its longest regular gap in training, while the source's
    /// other lines keep coming and every missed run fell in a bucket where it comes on
    /// (nearly) every day. 0 turns it off.
    pub cadence_periods: f64,
    /// Periodic silences shorter than this many minutes are not reported (default 5).
    pub cadence_min_minutes: f64,
    /// `rare_pattern`: templates seen at most this many times in training are rare (default
    /// 10); their counts are tested against their flat rate instead of a seasonal profile.
    pub rare_max_count: u64,
    /// `rare_pattern`: smallest count in a bucket (default 2).
    pub rare_min_count: u64,
    /// `error_ratio`: smallest number of error lines in the bucket (default 5).
    pub error_min_errors: u64,
    /// `error_ratio`: smallest rise of the error share over its baseline (default 0.1).
    pub error_min_delta: f64,
    /// `error_ratio`: smallest factor over the baseline share (default 3.0).
    pub error_min_factor: f64,
    /// `error_ratio`: templates need this many training lines before their own error share
    /// is tested (default 50); services are always tested.
    pub error_min_template_lines: u64,
    /// `new_pattern`: a new template closer than this cosine similarity to a known template
    /// is a variant of it and counted as it (default 0.8).
    pub new_variant_similarity: f64,
    /// `new_pattern`: lines needed before a non-error new template is reported (default 3);
    /// one error-level line is enough.
    pub new_min_count: u64,
    /// `new_pattern`: a never-seen message with failing lines that keeps coming — in a second
    /// bucket, or this many failing lines (default 5) — is at least `moderate`.
    pub new_error_min_lines: u64,
    /// `new_pattern`: outlier score (0-1) from which a new template seen at least twice is
    /// reported before `new_min_count` (default 0.95).
    pub new_far_outlier: f64,
    /// Example lines per anomaly (default 3).
    pub max_examples: usize,
    /// `new_pattern`: most new (service, template) pairs watched at once (default 5,000).
    /// Past this many, lines of a further new pair still count for their service's volume
    /// and errors but are not candidates (counted as untracked): a source that says
    /// something new on every line cannot grow the detector without bound.
    pub max_novel_templates: usize,
    /// Numeric slots whose name (see `TemplateMiner::slot_name`) has one of these words
    /// (split on `_`, `-`, `.`, case-insensitive) are identifiers, not measurements: no
    /// drift or forecast is learned for them. Default: `id`, `uuid`, `order`, `user`, `key`,
    /// `pod`, `pid`, `port`, `session`, `request`, `trace`, `span`, `item`, `account`,
    /// `customer`, `thread`, `worker`, `node`, `ip`, `host`.
    pub skip_slot_names: Vec<String>,
    /// Training keeps at most this many days of history, the most recent (default 120).
    /// Bounds the model's work when a stray timestamp stretches the span.
    pub max_history_days: u32,
    /// Parameter drift and forecast settings.
    pub drift: drift::DriftConfig,
}

impl Default for DetectConfig {
    fn default() -> Self {
        DetectConfig {
            bucket_secs: 600,
            alpha: 0.001,
            weekly_prior_buckets: 6.0,
            shape_prior_days: 3.0,
            shape_prior_lines: 30.0,
            min_dispersion: 0.05,
            full_confidence_days: 14.0,
            spike_min_count: 10,
            spike_min_ratio: 2.0,
            spike_neighbour_buckets: 1,
            drop_min_expected: 5.0,
            drop_min_buckets: 2,
            drop_max_ratio: 0.1,
            drop_neighbour_buckets: 1,
            drop_moderate_minutes: 30,
            cadence_periods: 2.5,
            cadence_min_minutes: 5.0,
            rare_max_count: 10,
            rare_min_count: 2,
            error_min_errors: 5,
            error_min_delta: 0.1,
            error_min_factor: 3.0,
            error_min_template_lines: 50,
            new_variant_similarity: 0.8,
            new_min_count: 3,
            new_error_min_lines: 5,
            new_far_outlier: 0.95,
            max_examples: 3,
            max_novel_templates: 5_000,
            max_history_days: 120,
            skip_slot_names: [
                "id", "uuid", "order", "user", "key", "pod", "pid", "port", "session", "request",
                "trace", "span", "item", "account", "customer", "thread", "worker", "node", "ip",
                "host",
            ]
            .iter()
            .map(|s| s.to_string())
            .collect(),
            drift: drift::DriftConfig::default(),
        }
    }
}

impl DetectConfig {
    /// Whether a slot of this name is an identifier (see `skip_slot_names`).
    pub fn is_identifier_slot(&self, name: &str) -> bool {
        let name = name.to_lowercase();
        name.split(['_', '-', '.', ' ']).any(|w| {
            self.skip_slot_names
                .iter()
                .any(|s| s.eq_ignore_ascii_case(w))
        })
    }

    /// Report problems under `path`.
    pub fn validate(&self, path: &str, p: &mut Problems) {
        self.drift.validate(&format!("{path}.drift"), p);
        if self.bucket_secs < 60 || 86_400 % self.bucket_secs.max(1) != 0 {
            p.add(
                format!("{path}.bucket_secs"),
                format!(
                    "must be at least 60 and divide a day (86400), got {}",
                    self.bucket_secs
                ),
            );
        }
        if !(self.alpha > 0.0 && self.alpha < 1.0) {
            p.add(
                format!("{path}.alpha"),
                format!("must be between 0 and 1 (exclusive), got {}", self.alpha),
            );
        }
        p.range(
            format!("{path}.weekly_prior_buckets"),
            self.weekly_prior_buckets,
            0.0,
            1e6,
        );
        p.range(
            format!("{path}.shape_prior_days"),
            self.shape_prior_days,
            0.0,
            1e6,
        );
        p.range(
            format!("{path}.shape_prior_lines"),
            self.shape_prior_lines,
            0.0,
            1e9,
        );
        p.range(
            format!("{path}.min_dispersion"),
            self.min_dispersion,
            0.0,
            10.0,
        );
        p.range(
            format!("{path}.full_confidence_days"),
            self.full_confidence_days,
            0.01,
            3650.0,
        );
        p.range(
            format!("{path}.spike_min_count"),
            self.spike_min_count,
            1,
            u64::MAX,
        );
        p.range(
            format!("{path}.spike_min_ratio"),
            self.spike_min_ratio,
            1.0,
            1e6,
        );
        p.range(
            format!("{path}.drop_min_expected"),
            self.drop_min_expected,
            0.1,
            1e9,
        );
        p.range(
            format!("{path}.drop_min_buckets"),
            self.drop_min_buckets,
            1,
            10_000,
        );
        p.range(
            format!("{path}.drop_neighbour_buckets"),
            self.drop_neighbour_buckets,
            0,
            144,
        );
        p.range(
            format!("{path}.drop_moderate_minutes"),
            self.drop_moderate_minutes,
            1,
            7 * 24 * 60,
        );
        if self.cadence_periods != 0.0 {
            p.range(
                format!("{path}.cadence_periods"),
                self.cadence_periods,
                1.0,
                1000.0,
            );
        }
        p.range(
            format!("{path}.cadence_min_minutes"),
            self.cadence_min_minutes,
            0.0,
            7.0 * 24.0 * 60.0,
        );
        p.range(
            format!("{path}.new_error_min_lines"),
            self.new_error_min_lines,
            1,
            u64::MAX,
        );
        p.range(
            format!("{path}.drop_max_ratio"),
            self.drop_max_ratio,
            0.0,
            1.0,
        );
        p.range(
            format!("{path}.rare_min_count"),
            self.rare_min_count,
            1,
            u64::MAX,
        );
        p.range(
            format!("{path}.error_min_errors"),
            self.error_min_errors,
            1,
            u64::MAX,
        );
        p.range(
            format!("{path}.error_min_delta"),
            self.error_min_delta,
            0.0,
            1.0,
        );
        p.range(
            format!("{path}.error_min_factor"),
            self.error_min_factor,
            1.0,
            1e6,
        );
        p.range(
            format!("{path}.new_variant_similarity"),
            self.new_variant_similarity,
            0.0,
            1.0,
        );
        p.range(
            format!("{path}.new_min_count"),
            self.new_min_count,
            1,
            u64::MAX,
        );
        p.range(
            format!("{path}.new_far_outlier"),
            self.new_far_outlier,
            0.0,
            1.0,
        );
        p.range(format!("{path}.max_examples"), self.max_examples, 0, 100);
        p.range(
            format!("{path}.max_novel_templates"),
            self.max_novel_templates,
            10,
            1_000_000,
        );
        p.range(
            format!("{path}.max_history_days"),
            self.max_history_days,
            1,
            3650,
        );
    }
}

#[cfg(test)]
mod tests {
    use crate::config::Config;

    #[test]
    fn bad_cadence_settings_are_named_and_zero_turns_it_off() {
        let err = Config::from_yaml("detect:\n  cadence_periods: 0.5\n  cadence_min_minutes: -1\n")
            .unwrap_err()
            .to_string();
        assert!(err.contains("detect.cadence_periods"), "{err}");
        assert!(err.contains("detect.cadence_min_minutes"), "{err}");
        let off = Config::from_yaml("detect:\n  cadence_periods: 0\n").unwrap();
        assert_eq!(off.detect.cadence_periods, 0.0);
    }

    #[test]
    fn bad_shape_and_jump_settings_are_named() {
        let yaml = "detect:\n  shape_prior_lines: -3\n  drift:\n    jump_moderate_factor: -1\n    jump_min_values: 0\n";
        let err = Config::from_yaml(yaml).unwrap_err().to_string();
        for key in [
            "detect.shape_prior_lines",
            "detect.drift.jump_moderate_factor",
            "detect.drift.jump_min_values",
        ] {
            assert!(err.contains(key), "{key} missing in {err}");
        }
        let err = Config::from_yaml("feedback:\n  suppress_after: 0\n")
            .unwrap_err()
            .to_string();
        assert!(err.contains("feedback.suppress_after"), "{err}");
    }

    #[test]
    fn identifier_slots_are_recognised_by_name() {
        let cfg = super::DetectConfig::default();
        for id in ["order", "user_id", "Request-ID", "pod", "session.key"] {
            assert!(cfg.is_identifier_slot(id), "{id}");
        }
        for m in [
            "took_ms",
            "latency",
            "slot0",
            "bytes",
            "queue_depth",
            "wait",
        ] {
            assert!(!cfg.is_identifier_slot(m), "{m}");
        }
    }

    #[test]
    fn thresholds_are_keys_and_bad_values_are_named() {
        let cfg = Config::from_yaml("detect:\n  bucket_secs: 300\n  alpha: 0.01\n").unwrap();
        assert_eq!(cfg.detect.bucket_secs, 300);
        assert_eq!(cfg.detect.spike_min_count, 10);
        let err = Config::from_yaml("detect:\n  bucket_secs: 7\n  alpha: 2\n")
            .unwrap_err()
            .to_string();
        assert!(err.contains("detect.bucket_secs"), "{err}");
        assert!(err.contains("detect.alpha"), "{err}");
    }
}
