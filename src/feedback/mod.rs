//! What users taught: `false_positive` and `confirmed` marks on anomalies, and how they change
//! the scoring of the same kind of anomaly from then on.
//!
//! Owns: [`FeedbackConfig`] (`feedback` in YAML), the [`FeedbackStore`] (one mark per anomaly
//! id, saved as JSON beside the models) and [`FeedbackStore::apply`]. Pure apart from
//! [`FeedbackStore::load`] and [`FeedbackStore::save`].
//!
//! A mark counts for its *kind*: the anomaly type, the service and the pattern id. With the
//! `false_positive` marks of a kind exceeding its `confirmed` ones by
//! - one: an anomaly of that kind drops one tier (critical to moderate, moderate to low), its
//!   score put just under the tier it had;
//! - `suppress_after` (2) or more: it is suppressed, tier `low`;
//!
//! and either way `feedback.suppressed_by` says which marks did it. Nothing is dropped: the
//! anomaly is still written, it only no longer reaches a person. A `confirmed` mark cancels a
//! `false_positive` one and keeps the score. Marks come from the anomaly documents
//! (`feedback.label` set in Kibana's Discover, picked up by the sidecar on its next poll); the
//! anomaly a user marked keeps its label when a replay writes it again.

pub mod mutes;

use crate::incidents::SeverityConfig;
use crate::model::{ecs_severity, Anomaly, AnomalyType, FeedbackLabel, Severity};
use crate::validate::Problems;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::Path;

/// Feedback settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct FeedbackConfig {
    /// `false_positive` marks (net of `confirmed` ones) on one kind of anomaly after which
    /// it is suppressed (default 2); one mark drops it a tier.
    pub suppress_after: u32,
    /// Labelled anomaly documents the sidecar reads per poll, newest first (default 1000).
    pub poll_size: u32,
}

impl Default for FeedbackConfig {
    fn default() -> Self {
        FeedbackConfig {
            suppress_after: 2,
            poll_size: 1000,
        }
    }
}

impl FeedbackConfig {
    /// Report problems under `path`.
    pub fn validate(&self, path: &str, p: &mut Problems) {
        p.range(
            format!("{path}.suppress_after"),
            self.suppress_after,
            1,
            1000,
        );
        p.range(format!("{path}.poll_size"), self.poll_size, 1, 10_000);
    }
}

/// One user's mark on one anomaly.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Mark {
    /// The anomaly's type.
    pub kind: AnomalyType,
    /// Its service.
    pub service: String,
    /// Its pattern id (template or pattern).
    pub pattern: String,
    /// What the user said.
    pub label: FeedbackLabel,
    /// Who said it, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub by: Option<String>,
    /// Why, when given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
    /// When the anomaly happened.
    pub at: DateTime<Utc>,
}

/// How many marks of each label one kind of anomaly has.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Tally {
    /// `false_positive` marks.
    pub false_positive: u32,
    /// `confirmed` marks.
    pub confirmed: u32,
}

impl Tally {
    /// The marks of `marks`, counted by label.
    fn of<'a>(marks: impl Iterator<Item = &'a Mark>) -> Tally {
        marks.fold(Tally::default(), |mut t, m| {
            match m.label {
                FeedbackLabel::FalsePositive => t.false_positive += 1,
                FeedbackLabel::Confirmed => t.confirmed += 1,
            }
            t
        })
    }

    /// False positives not cancelled by confirmations.
    pub fn net_false_positive(&self) -> u32 {
        self.false_positive.saturating_sub(self.confirmed)
    }
}

/// A labelled document that could not be read as a mark: what was wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BadMark {
    /// The document's `anomaly.id`, or `?`.
    pub id: String,
    /// The missing or malformed field.
    pub field: &'static str,
}

/// Every mark, by anomaly id (a new mark on the same anomaly replaces the old one).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct FeedbackStore {
    marks: BTreeMap<String, Mark>,
}

impl FeedbackStore {
    /// Record `mark` for anomaly `id`; true when it is new or changed what was known.
    pub fn record(&mut self, id: &str, mark: Mark) -> bool {
        if self.marks.get(id) == Some(&mark) {
            return false;
        }
        self.marks.insert(id.to_string(), mark);
        true
    }

    /// Record the mark of a labelled anomaly document (its `_source`); `Ok(None)` when the
    /// document carries no label.
    pub fn record_doc(&mut self, doc: &Value) -> Result<Option<bool>, BadMark> {
        let id = doc["anomaly"]["id"].as_str();
        let bad = |field| BadMark {
            id: id.unwrap_or("?").to_string(),
            field,
        };
        let label = &doc["feedback"]["label"];
        if label.is_null() {
            return Ok(None);
        }
        let label: FeedbackLabel =
            serde_json::from_value(label.clone()).map_err(|_| bad("feedback.label"))?;
        let id = id.ok_or_else(|| bad("anomaly.id"))?;
        let kind: AnomalyType = serde_json::from_value(doc["anomaly"]["type"].clone())
            .map_err(|_| bad("anomaly.type"))?;
        let text = |v: &Value| v.as_str().map(str::to_string);
        let mark = Mark {
            kind,
            service: text(&doc["service"]["name"]).ok_or_else(|| bad("service.name"))?,
            pattern: text(&doc["pattern"]["id"]).ok_or_else(|| bad("pattern.id"))?,
            label,
            by: text(&doc["feedback"]["by"]),
            comment: text(&doc["feedback"]["comment"]),
            at: serde_json::from_value(doc["@timestamp"].clone()).map_err(|_| bad("@timestamp"))?,
        };
        Ok(Some(self.record(id, mark)))
    }

    /// The number of marks.
    pub fn len(&self) -> usize {
        self.marks.len()
    }

    /// No marks at all.
    pub fn is_empty(&self) -> bool {
        self.marks.is_empty()
    }

    /// Marks per label.
    pub fn counts(&self) -> Tally {
        Tally::of(self.marks.values())
    }

    /// The marks on one kind of anomaly.
    pub fn tally(&self, kind: AnomalyType, service: &str, pattern: &str) -> Tally {
        Tally::of(self.of_kind(kind, service, pattern))
    }

    fn of_kind<'a>(
        &'a self,
        kind: AnomalyType,
        service: &'a str,
        pattern: &'a str,
    ) -> impl Iterator<Item = &'a Mark> + 'a {
        self.marks
            .values()
            .filter(move |m| m.kind == kind && m.service == service && m.pattern == pattern)
    }

    /// Apply what users taught to a new anomaly: keep the label of an anomaly they marked,
    /// drop a tier after one net false positive, suppress after `suppress_after`. Returns
    /// true when the anomaly was lowered.
    pub fn apply(&self, a: &mut Anomaly, cfg: &FeedbackConfig, severity: &SeverityConfig) -> bool {
        if let Some(own) = self.marks.get(&a.anomaly.id) {
            a.feedback.label = Some(own.label);
            a.feedback.by = own.by.clone();
            a.feedback.comment = own.comment.clone();
        }
        let (kind, service, pattern) = (a.anomaly.kind, &a.service.name, &a.pattern.id);
        let tally = self.tally(kind, service, pattern);
        let net = tally.net_false_positive();
        if net == 0 || a.anomaly.severity == Severity::Low {
            return false;
        }
        let last = self
            .of_kind(kind, service, pattern)
            .filter(|m| m.label == FeedbackLabel::FalsePositive)
            .max_by_key(|m| m.at);
        let who = last
            .and_then(|m| m.by.as_deref())
            .map(|b| format!(", last by {b}"))
            .unwrap_or_default();
        let why = last
            .and_then(|m| m.comment.as_deref())
            .map(|c| format!(": \"{c}\""))
            .unwrap_or_default();
        let marks = format!(
            "{} false_positive mark(s) on {kind} of '{pattern}' in {service}{who}{why}",
            tally.false_positive
        );
        let (score, action) = if net >= cfg.suppress_after {
            (a.anomaly.score.min(severity.moderate - 0.1), "suppressed")
        } else {
            let floor = match a.anomaly.severity {
                Severity::Critical => severity.critical,
                _ => severity.moderate,
            };
            (a.anomaly.score.min(floor - 0.1), "one tier lower")
        };
        let score = score.max(0.0);
        a.anomaly.score = score;
        a.anomaly.severity = severity.tier(score);
        a.event.severity = ecs_severity(a.anomaly.severity);
        a.event.risk_score = score;
        a.feedback.suppressed_by = Some(format!("{action}: {marks}"));
        true
    }

    /// Load the store at `path`; an absent file is an empty store.
    pub fn load(path: &Path) -> anyhow::Result<Self> {
        load_json(path, "feedback")
    }

    /// Save the store at `path` (written aside, then renamed into place).
    pub fn save(&self, path: &Path) -> anyhow::Result<()> {
        save_json(self, path)
    }
}

/// Read the JSON file at `path` (`what` names it in errors); an absent file is the default.
pub(crate) fn load_json<T: Default + serde::de::DeserializeOwned>(
    path: &Path,
    what: &str,
) -> anyhow::Result<T> {
    match std::fs::read(path) {
        Ok(bytes) => serde_json::from_slice(&bytes)
            .map_err(|e| anyhow::anyhow!("{what} file {}: {e}", path.display())),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(T::default()),
        Err(e) => Err(anyhow::anyhow!("{what} file {}: {e}", path.display())),
    }
}

/// Write `value` as JSON to `path`: aside first, then renamed into place, so a crash leaves
/// the old file or the new one.
pub(crate) fn save_json<T: Serialize>(value: &T, path: &Path) -> anyhow::Result<()> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let tmp = path.with_extension("json.tmp");
    std::fs::write(&tmp, serde_json::to_vec_pretty(value)?)?;
    std::fs::rename(&tmp, path)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// An anomaly document as the sidecar writes it, with `feedback` as given.
    fn doc(id: &str, kind: &str, service: &str, score: f64, feedback: Value) -> Value {
        let severity = SeverityConfig::default().tier(score);
        json!({
            "@timestamp": "2026-11-03T14:00:00Z",
            "anomaly": {"id": id, "type": kind, "severity": severity, "score": score,
                        "window": {"start": "2026-11-03T14:00:00Z", "end": "2026-11-03T14:10:00Z"},
                        "observed": 40.0, "expected": 2.0, "unit": "lines", "confidence": 1.0,
                        "probability": 1e-9, "explanation": "x"},
            "service": {"name": service},
            "pattern": {"id": "t-nightly", "template": "invoice run <*>", "cluster_id": null,
                        "examples": []},
            "incident": {"id": "i1"},
            "model": {"version": "m1"},
            "feedback": feedback,
            "tenant": "default",
            "event": {"kind": "alert", "start": "2026-11-03T14:00:00Z",
                      "end": "2026-11-03T14:10:00Z", "severity": ecs_severity(severity),
                      "risk_score": score},
        })
    }

    fn anomaly(id: &str, score: f64) -> Anomaly {
        serde_json::from_value(doc(
            id,
            "volume_spike",
            "billing",
            score,
            json!({"label": null}),
        ))
        .unwrap()
    }

    fn mark(store: &mut FeedbackStore, id: &str, label: &str) -> bool {
        let d = doc(
            id,
            "volume_spike",
            "billing",
            60.0,
            json!({"label": label, "by": "alice", "comment": "the nightly run"}),
        );
        store.record_doc(&d).unwrap().unwrap()
    }

    #[test]
    fn one_false_positive_drops_a_tier_two_suppress_and_nothing_is_dropped() {
        let (cfg, sev) = (FeedbackConfig::default(), SeverityConfig::default());
        let mut store = FeedbackStore::default();
        let mut a = anomaly("a2", 62.0);
        assert!(!store.apply(&mut a, &cfg, &sev), "no marks, no change");
        assert_eq!(a.anomaly.severity, Severity::Moderate);

        assert!(mark(&mut store, "a1", "false_positive"));
        assert!(
            !mark(&mut store, "a1", "false_positive"),
            "the same mark twice is one"
        );
        let mut a = anomaly("a2", 62.0);
        assert!(store.apply(&mut a, &cfg, &sev));
        assert_eq!(a.anomaly.severity, Severity::Low, "moderate drops to low");
        assert!(a.anomaly.score < sev.moderate && a.event.risk_score == a.anomaly.score);
        assert_eq!(a.event.severity, ecs_severity(Severity::Low));
        let why = a.feedback.suppressed_by.as_deref().unwrap();
        assert!(why.starts_with("one tier lower: 1 false_positive"), "{why}");
        assert!(why.contains("last by alice: \"the nightly run\""), "{why}");
        let mut loud = anomaly("a3", 90.0);
        store.apply(&mut loud, &cfg, &sev);
        assert_eq!(
            loud.anomaly.severity,
            Severity::Moderate,
            "critical drops to moderate"
        );

        mark(&mut store, "a2", "false_positive");
        let mut loud = anomaly("a4", 95.0);
        assert!(store.apply(&mut loud, &cfg, &sev));
        assert_eq!(loud.anomaly.severity, Severity::Low);
        assert!(loud
            .feedback
            .suppressed_by
            .unwrap()
            .starts_with("suppressed: 2 false_positive"));

        // Another service, another type: untouched.
        let other: Anomaly = serde_json::from_value(doc(
            "b1",
            "volume_spike",
            "payments",
            62.0,
            json!({"label": null}),
        ))
        .unwrap();
        let mut other2 = other.clone();
        assert!(!store.apply(&mut other2, &cfg, &sev));
        assert_eq!(other, other2);
    }

    #[test]
    fn a_confirmation_cancels_a_false_positive_and_a_marked_anomaly_keeps_its_label() {
        let (cfg, sev) = (FeedbackConfig::default(), SeverityConfig::default());
        let mut store = FeedbackStore::default();
        mark(&mut store, "a1", "false_positive");
        mark(&mut store, "a2", "confirmed");
        let mut a = anomaly("a3", 62.0);
        assert!(!store.apply(&mut a, &cfg, &sev));
        assert_eq!(a.anomaly.severity, Severity::Moderate);
        assert_eq!(
            store.tally(AnomalyType::VolumeSpike, "billing", "t-nightly"),
            Tally {
                false_positive: 1,
                confirmed: 1
            }
        );
        // A replay writes a1 again: it keeps its label and who set it.
        let mut again = anomaly("a1", 62.0);
        store.apply(&mut again, &cfg, &sev);
        assert_eq!(again.feedback.label, Some(FeedbackLabel::FalsePositive));
        assert_eq!(again.feedback.by.as_deref(), Some("alice"));
        // Changing one's mind replaces the mark.
        assert!(mark(&mut store, "a1", "confirmed"));
        assert_eq!(
            store.counts(),
            Tally {
                false_positive: 0,
                confirmed: 2
            }
        );
    }

    #[test]
    fn a_bad_label_names_the_field_and_the_store_survives_a_restart() {
        let mut store = FeedbackStore::default();
        let bad = doc(
            "a1",
            "volume_spike",
            "billing",
            60.0,
            json!({"label": "wrong"}),
        );
        assert_eq!(
            store.record_doc(&bad),
            Err(BadMark {
                id: "a1".into(),
                field: "feedback.label"
            })
        );
        let mut bad = doc(
            "a2",
            "volume_spike",
            "billing",
            60.0,
            json!({"label": "confirmed"}),
        );
        bad["service"] = json!({});
        assert_eq!(
            store.record_doc(&bad),
            Err(BadMark {
                id: "a2".into(),
                field: "service.name"
            })
        );
        let none = doc(
            "a3",
            "volume_spike",
            "billing",
            60.0,
            json!({"label": null}),
        );
        assert_eq!(store.record_doc(&none), Ok(None));
        assert!(store.is_empty());

        mark(&mut store, "a4", "false_positive");
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state/feedback.json");
        assert_eq!(
            FeedbackStore::load(&path).unwrap(),
            FeedbackStore::default()
        );
        store.save(&path).unwrap();
        assert_eq!(FeedbackStore::load(&path).unwrap(), store);
        std::fs::write(&path, b"{not json").unwrap();
        let e = FeedbackStore::load(&path).unwrap_err().to_string();
        assert!(e.contains("feedback.json"), "{e}");
    }

    #[test]
    fn config_errors_name_the_key() {
        let mut p = Problems::default();
        FeedbackConfig {
            suppress_after: 0,
            poll_size: 0,
        }
        .validate("feedback", &mut p);
        let all = p.0.join("\n");
        assert!(
            all.contains("`feedback.suppress_after`") && all.contains("`feedback.poll_size`"),
            "{all}"
        );
    }
}
