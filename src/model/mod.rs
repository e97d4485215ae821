//! The types passed between the stages of the flow.
//!
//! `source` produces [`LogRecord`]s, `parse` turns each into a template id plus numeric
//! parameters, `detect` and `incidents` produce [`Anomaly`] documents, and `sink` writes them.
//! The anomaly document is a contract other tools rely on (the anomaly index mapping, the
//! Kibana dashboards, the NDJSON the CLI writes): its serialized shape must only grow.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::fmt;

/// One log event as read from a source, after field mapping.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LogRecord {
    /// Event time (`@timestamp` by default).
    pub timestamp: DateTime<Utc>,
    /// The log message (`message` by default).
    pub message: String,
    /// The emitting service (`service.name`); `unknown` when the record has none.
    pub service: String,
    /// Log level, lowercased (`log.level`), if present.
    pub level: Option<String>,
    /// Host name (`host.name`), if present.
    pub host: Option<String>,
}

/// The service name used when a record carries none.
pub const UNKNOWN_SERVICE: &str = "unknown";

impl LogRecord {
    /// Whether the record's level marks an error (`error`, `fatal`, `critical`, `crit`,
    /// `alert`, `emerg`, `severe`).
    pub fn is_error(&self) -> bool {
        self.level.as_deref().is_some_and(is_error_level)
    }
}

impl LogRecord {
    /// Whether the record's level is a warning (`warn`, `warning`).
    pub fn is_warn(&self) -> bool {
        matches!(self.level.as_deref(), Some("warn" | "warning"))
    }
}

/// Whether a (lowercased) level name is an error level.
pub fn is_error_level(level: &str) -> bool {
    matches!(
        level,
        "error"
            | "err"
            | "fatal"
            | "critical"
            | "crit"
            | "alert"
            | "emerg"
            | "emergency"
            | "severe"
    )
}

/// A stable template identifier: derived from the template text, never from a counter, so the
/// same template gets the same id after a restart and on another instance.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct TemplateId(pub u64);

impl TemplateId {
    /// The id of a template text (xxh3 of its UTF-8 bytes).
    pub fn of(template: &str) -> Self {
        TemplateId(xxhash_rust::xxh3::xxh3_64(template.as_bytes()))
    }
}

impl fmt::Display for TemplateId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "t{:016x}", self.0)
    }
}

/// A pattern (a cluster of templates found by HDBSCAN) identifier, derived from the ids of
/// the templates in it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct PatternId(pub u64);

impl fmt::Display for PatternId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "p{:016x}", self.0)
    }
}

/// The seven kinds of anomaly logwarden reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AnomalyType {
    /// A template never seen in training (and not a variant of a known one).
    NewPattern,
    /// A known but rare template appearing.
    RarePattern,
    /// A template's count far above its seasonal expectation.
    VolumeSpike,
    /// A normally steady template going quiet or silent.
    VolumeDrop,
    /// A service's share of error-level lines far above its baseline.
    ErrorRatio,
    /// A numeric parameter's distribution shifted (e.g. latency creeping up).
    ParameterDrift,
    /// A trend that, projected forward, crosses a threshold within the horizon.
    ForecastBreach,
}

impl AnomalyType {
    /// All seven, in a fixed order.
    pub const ALL: [AnomalyType; 7] = [
        AnomalyType::NewPattern,
        AnomalyType::RarePattern,
        AnomalyType::VolumeSpike,
        AnomalyType::VolumeDrop,
        AnomalyType::ErrorRatio,
        AnomalyType::ParameterDrift,
        AnomalyType::ForecastBreach,
    ];

    /// The snake_case name used in documents and config.
    pub fn as_str(self) -> &'static str {
        match self {
            AnomalyType::NewPattern => "new_pattern",
            AnomalyType::RarePattern => "rare_pattern",
            AnomalyType::VolumeSpike => "volume_spike",
            AnomalyType::VolumeDrop => "volume_drop",
            AnomalyType::ErrorRatio => "error_ratio",
            AnomalyType::ParameterDrift => "parameter_drift",
            AnomalyType::ForecastBreach => "forecast_breach",
        }
    }
}

impl fmt::Display for AnomalyType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Severity tiers, routed to different places (critical pages, moderate chats, low is
/// dashboard-only).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    /// Dashboard only.
    Low,
    /// Worth a chat message.
    Moderate,
    /// Worth a page.
    Critical,
}

impl Severity {
    /// The lowercase name used in documents.
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Low => "low",
            Severity::Moderate => "moderate",
            Severity::Critical => "critical",
        }
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// User feedback on an anomaly.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FeedbackLabel {
    /// Not a real problem: future scoring of the same kind is lowered.
    FalsePositive,
    /// A real problem.
    Confirmed,
}

/// An anomaly document, serialized as nested ECS-style JSON (`anomaly.id`, `service.name`, ...).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Anomaly {
    /// Window start (event time).
    #[serde(rename = "@timestamp")]
    pub timestamp: DateTime<Utc>,
    /// What was found.
    pub anomaly: AnomalyBody,
    /// The affected service.
    pub service: ServiceRef,
    /// The log pattern or template the anomaly is about.
    pub pattern: PatternRef,
    /// The incident this anomaly was grouped into.
    pub incident: IncidentRef,
    /// The model that produced it.
    pub model: ModelRef,
    /// User feedback; empty until a user labels it.
    pub feedback: FeedbackRef,
    /// The tenant from config, so one index can serve several teams.
    pub tenant: String,
    /// ECS event fields (`event.kind: alert`, start/end, severity, risk score).
    pub event: EventRef,
    /// For `parameter_drift` (and parameter forecasts): which slot and how it moved.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub parameter: Option<ParameterRef>,
    /// For `forecast_breach`: the projection.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub forecast: Option<ForecastRef>,
}

/// `anomaly.*`
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AnomalyBody {
    /// Content-derived id: the same finding in a replay gets the same id.
    pub id: String,
    /// One of the seven types.
    #[serde(rename = "type")]
    pub kind: AnomalyType,
    /// Tier from the score and the configured cut-offs.
    pub severity: Severity,
    /// 0-100.
    pub score: f64,
    /// The detection window.
    pub window: Window,
    /// What was measured in the window (a count, a ratio, a quantile, a projected value).
    pub observed: f64,
    /// What the baseline expected for this hour of this weekday.
    pub expected: f64,
    /// The unit of observed/expected (`count`, `ratio`, or the parameter's unit).
    pub unit: String,
    /// How much history backs the expectation, 0-1 (cold start is low).
    pub confidence: f64,
    /// Tail probability of the observation under the baseline (smaller is more surprising).
    pub probability: f64,
    /// One readable sentence.
    pub explanation: String,
}

/// A time window `[start, end)`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Window {
    /// Inclusive start.
    pub start: DateTime<Utc>,
    /// Exclusive end.
    pub end: DateTime<Utc>,
}

/// `service.*`
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ServiceRef {
    /// Service name.
    pub name: String,
}

/// `pattern.*`
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PatternRef {
    /// The id of what was measured: a template id (`t…`), or a pattern id (`p…`) for
    /// pattern-level findings, or `service` for service-level ones (error ratio).
    pub id: String,
    /// The template text (`<*>` marks variables).
    pub template: String,
    /// The HDBSCAN pattern the template belongs to, if any.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub cluster_id: Option<String>,
    /// A few example lines from the window.
    pub examples: Vec<String>,
}

/// `incident.*`
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IncidentRef {
    /// Id shared by anomalies grouped into one incident.
    pub id: String,
}

/// `model.*`
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelRef {
    /// The model version that produced the anomaly.
    pub version: String,
}

/// `feedback.*`
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct FeedbackRef {
    /// Empty (`null`) until labelled.
    pub label: Option<FeedbackLabel>,
    /// Who labelled it (optional, set with the label).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub by: Option<String>,
    /// Why (optional, set with the label).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
    /// Set when earlier `false_positive` marks on the same kind of anomaly lowered this one:
    /// what was done and which marks did it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub suppressed_by: Option<String>,
    /// Set when a mute (`logwarden mute`) matched this anomaly: written, not routed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub muted_by: Option<String>,
}

/// ECS `event.*` for alerts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EventRef {
    /// Always `alert`.
    pub kind: String,
    /// Window start.
    pub start: DateTime<Utc>,
    /// Window end.
    pub end: DateTime<Utc>,
    /// Numeric severity: 1 low, 2 moderate, 3 critical.
    pub severity: u8,
    /// Same as `anomaly.score`.
    pub risk_score: f64,
}

/// `parameter.*` for drift findings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ParameterRef {
    /// Slot index within the template's variables (0-based).
    pub slot: usize,
    /// A readable name for the slot, from the token before it (e.g. `latency_ms`).
    pub name: String,
    /// The quantile tracked (e.g. 0.5 or 0.95).
    pub quantile: f64,
    /// The baseline value of that quantile.
    pub baseline: f64,
    /// The value in the window.
    pub current: f64,
}

/// `forecast.*` for forecast breaches.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ForecastRef {
    /// The threshold the projection crosses.
    pub threshold: f64,
    /// When the projection crosses it.
    pub breach_at: DateTime<Utc>,
    /// Hours from window end to the breach.
    pub hours_to_breach: f64,
    /// The projection horizon in hours.
    pub horizon_hours: f64,
    /// The current smoothed level.
    pub level: f64,
    /// The trend per hour.
    pub trend_per_hour: f64,
}

/// The ECS numeric severity of a tier.
pub fn ecs_severity(s: Severity) -> u8 {
    match s {
        Severity::Low => 1,
        Severity::Moderate => 2,
        Severity::Critical => 3,
    }
}

/// A content-derived id: xxh3 over the parts joined by a separator that cannot occur in them.
pub fn content_id(parts: &[&str]) -> String {
    let mut h = xxhash_rust::xxh3::Xxh3::new();
    for p in parts {
        h.update(p.as_bytes());
        h.update(&[0x1f]);
    }
    format!("{:016x}", h.digest())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn template_id_is_stable_and_derived_from_text() {
        let a = TemplateId::of("Connection from <*> closed");
        assert_eq!(a, TemplateId::of("Connection from <*> closed"));
        assert_ne!(a, TemplateId::of("Connection from <*> opened"));
        assert_eq!(a.to_string().len(), 17);
        assert!(a.to_string().starts_with('t'));
    }

    #[test]
    fn content_id_separates_parts() {
        assert_ne!(content_id(&["ab", "c"]), content_id(&["a", "bc"]));
        assert_eq!(content_id(&["x", "y"]), content_id(&["x", "y"]));
    }

    fn full_anomaly() -> Anomaly {
        let t = DateTime::parse_from_rfc3339("2026-11-03T14:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        let e = t + chrono::Duration::minutes(10);
        Anomaly {
            timestamp: t,
            anomaly: AnomalyBody {
                id: content_id(&["x"]),
                kind: AnomalyType::ForecastBreach,
                severity: Severity::Moderate,
                score: 61.0,
                window: Window { start: t, end: e },
                observed: 412.0,
                expected: 71.0,
                unit: "ms".to_string(),
                confidence: 0.8,
                probability: 1e-9,
                explanation: "latency creeps up".to_string(),
            },
            service: ServiceRef {
                name: "checkout".to_string(),
            },
            pattern: PatternRef {
                id: TemplateId::of("a <*>").to_string(),
                template: "a <*>".to_string(),
                cluster_id: Some(PatternId(7).to_string()),
                examples: vec!["a 1".to_string()],
            },
            incident: IncidentRef {
                id: "i1".to_string(),
            },
            model: ModelRef {
                version: "m1".to_string(),
            },
            feedback: FeedbackRef {
                label: Some(FeedbackLabel::Confirmed),
                by: Some("alice".to_string()),
                comment: Some("a real leak".to_string()),
                suppressed_by: Some("one tier lower: 1 false_positive mark(s)".to_string()),
                muted_by: Some("mute m1 (service checkout) until 2026-11-03 16:00 UTC".to_string()),
            },
            tenant: "default".to_string(),
            event: EventRef {
                kind: "alert".to_string(),
                start: t,
                end: e,
                severity: ecs_severity(Severity::Moderate),
                risk_score: 61.0,
            },
            parameter: Some(ParameterRef {
                slot: 0,
                name: "latency".to_string(),
                quantile: 0.95,
                baseline: 100.0,
                current: 180.0,
            }),
            forecast: Some(ForecastRef {
                threshold: 800.0,
                breach_at: e,
                hours_to_breach: 5.0,
                horizon_hours: 12.0,
                level: 500.0,
                trend_per_hour: 60.0,
            }),
        }
    }

    fn leaves(prefix: &str, v: &serde_json::Value, out: &mut Vec<String>) {
        match v {
            serde_json::Value::Object(m) => {
                for (k, v) in m {
                    let key = if prefix.is_empty() {
                        k.clone()
                    } else {
                        format!("{prefix}.{k}")
                    };
                    leaves(&key, v, out);
                }
            }
            _ => out.push(prefix.to_string()),
        }
    }

    #[test]
    fn every_document_field_is_in_the_index_mapping() {
        let mapping: serde_json::Value =
            serde_json::from_str(include_str!("../../mappings/anomalies.json")).unwrap();
        let doc = serde_json::to_value(full_anomaly()).unwrap();
        let mut fields = Vec::new();
        leaves("", &doc, &mut fields);
        assert!(fields.len() > 30, "{fields:?}");
        for f in fields {
            let mut node = &mapping;
            for part in f.split('.') {
                node = &node["properties"][part];
            }
            let ty = node["type"].as_str();
            assert!(
                ty.is_some(),
                "field `{f}` is not in mappings/anomalies.json"
            );
            let value = f.split('.').fold(&doc, |v, p| &v[p]);
            let ok = match ty.unwrap() {
                "date" => value
                    .as_str()
                    .is_some_and(|s| DateTime::parse_from_rfc3339(s).is_ok()),
                "keyword" | "text" => value.is_string() || value.is_array(),
                "float" | "double" | "long" | "integer" => value.is_number(),
                other => panic!("unexpected mapping type {other} for {f}"),
            };
            assert!(ok, "field `{f}` = {value} does not fit mapping type {ty:?}");
        }
    }

    #[test]
    fn anomaly_types_serialize_snake_case() {
        for t in AnomalyType::ALL {
            let s = serde_json::to_string(&t).unwrap();
            assert_eq!(s, format!("\"{}\"", t.as_str()));
        }
    }
}
