//! What a notification says about an incident: an [`IncidentSnapshot`] built from its
//! anomalies (title, tier, score, services, types, the strongest anomalies with their
//! explanation, observed and expected values and example lines) and the [`Links`] to the
//! dashboard and to Kibana Discover over the 30 minutes before it. Pure.

use super::config::LinksConfig;
use crate::model::{Anomaly, Severity};
use chrono::{DateTime, Duration, SecondsFormat, Utc};
use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;

/// At most this many anomalies are carried in a message (the strongest first).
pub const MAX_ANOMALIES: usize = 10;
/// At most this many example lines per anomaly.
pub const MAX_EXAMPLES: usize = 3;
/// Minutes of logs before the incident the Discover link shows.
pub const DISCOVER_MINUTES: i64 = 30;

/// The incident as a message describes it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IncidentSnapshot {
    /// The incident id (PagerDuty `dedup_key`, Datadog `aggregation_key`).
    pub id: String,
    /// One line: the strongest anomaly's explanation, prefixed by the count when several.
    pub title: String,
    /// The highest tier among its anomalies.
    pub severity: Severity,
    /// The highest score among its anomalies.
    pub score: f64,
    /// Start of its earliest anomaly.
    pub start: DateTime<Utc>,
    /// End of its latest anomaly.
    pub end: DateTime<Utc>,
    /// Affected services.
    pub services: Vec<String>,
    /// Anomaly types.
    pub types: Vec<String>,
    /// The tenant from config.
    pub tenant: String,
    /// How many anomalies it has.
    pub anomaly_count: usize,
    /// Ids of all its anomalies.
    pub anomaly_ids: Vec<String>,
    /// The strongest anomalies (at most [`MAX_ANOMALIES`]).
    pub anomalies: Vec<AnomalySummary>,
    /// Dashboard and Discover links, when configured.
    pub links: Links,
}

/// One anomaly in a message.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AnomalySummary {
    /// `anomaly.id`.
    pub id: String,
    /// `anomaly.type`.
    #[serde(rename = "type")]
    pub kind: String,
    /// `service.name`.
    pub service: String,
    /// Tier.
    pub severity: Severity,
    /// 0-100.
    pub score: f64,
    /// One readable sentence.
    pub explanation: String,
    /// What was measured.
    pub observed: f64,
    /// What the baseline expected.
    pub expected: f64,
    /// The unit of observed/expected.
    pub unit: String,
    /// The template.
    pub template: String,
    /// A few example lines.
    pub examples: Vec<String>,
    /// Window start.
    pub start: DateTime<Utc>,
    /// Window end.
    pub end: DateTime<Utc>,
}

/// Links put in messages.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Links {
    /// The logwarden incidents dashboard around the incident.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub dashboard: Option<String>,
    /// Kibana Discover over the incident's services, the 30 minutes before its start.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub discover: Option<String>,
}

impl IncidentSnapshot {
    /// The snapshot of incident `id` made of `members` (not empty).
    pub fn of(
        id: &str,
        members: &[&Anomaly],
        tenant: &str,
        links: &LinksConfig,
        service_field: &str,
    ) -> Option<IncidentSnapshot> {
        let start = members.iter().map(|a| a.timestamp).min()?;
        let end = members
            .iter()
            .map(|a| a.anomaly.window.end.max(a.timestamp))
            .max()?;
        let severity = members.iter().map(|a| a.anomaly.severity).max()?;
        let mut sorted: Vec<&Anomaly> = members.to_vec();
        sorted.sort_by(|a, b| {
            b.anomaly
                .score
                .total_cmp(&a.anomaly.score)
                .then_with(|| a.timestamp.cmp(&b.timestamp))
                .then_with(|| a.anomaly.id.cmp(&b.anomaly.id))
        });
        let top = sorted.first()?;
        let services: BTreeSet<String> = members.iter().map(|a| a.service.name.clone()).collect();
        let types: BTreeSet<String> = members
            .iter()
            .map(|a| a.anomaly.kind.as_str().to_string())
            .collect();
        let mut ids: Vec<String> = members.iter().map(|a| a.anomaly.id.clone()).collect();
        ids.sort();
        ids.dedup();
        let services: Vec<String> = services.into_iter().collect();
        let title = if members.len() == 1 {
            top.anomaly.explanation.clone()
        } else {
            format!(
                "{} anomalies on {}: {}",
                members.len(),
                services.join(", "),
                top.anomaly.explanation
            )
        };
        Some(IncidentSnapshot {
            id: id.to_string(),
            title,
            severity,
            score: top.anomaly.score,
            start,
            end,
            links: Links::build(links, &services, start, end, service_field),
            services,
            types: types.into_iter().collect(),
            tenant: tenant.to_string(),
            anomaly_count: members.len(),
            anomaly_ids: ids,
            anomalies: sorted
                .iter()
                .take(MAX_ANOMALIES)
                .map(|a| AnomalySummary {
                    id: a.anomaly.id.clone(),
                    kind: a.anomaly.kind.as_str().to_string(),
                    service: a.service.name.clone(),
                    severity: a.anomaly.severity,
                    score: a.anomaly.score,
                    explanation: a.anomaly.explanation.clone(),
                    observed: a.anomaly.observed,
                    expected: a.anomaly.expected,
                    unit: a.anomaly.unit.clone(),
                    template: a.pattern.template.clone(),
                    examples: a
                        .pattern
                        .examples
                        .iter()
                        .take(MAX_EXAMPLES)
                        .cloned()
                        .collect(),
                    start: a.anomaly.window.start,
                    end: a.anomaly.window.end,
                })
                .collect(),
        })
    }

    /// The strongest anomaly.
    pub fn top(&self) -> Option<&AnomalySummary> {
        self.anomalies.first()
    }
}

fn ts(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// A string as a Rison string literal (Kibana's URL state): `'` and `!` escaped with `!`.
fn rison_str(s: &str) -> String {
    format!("'{}'", s.replace('!', "!!").replace('\'', "!'"))
}

/// Everything but unreserved characters (RFC 3986) and Rison's structural ones is encoded.
const RISON_URL: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~')
    .remove(b'(')
    .remove(b')')
    .remove(b'\'')
    .remove(b':')
    .remove(b',')
    .remove(b'!')
    .remove(b'*');

/// Percent-encode everything but unreserved characters and Rison's structural ones.
fn encode(s: &str) -> String {
    utf8_percent_encode(s, RISON_URL).to_string()
}

impl Links {
    /// Links for an incident on `services` over `[start, end]`; empty when not configured.
    pub fn build(
        cfg: &LinksConfig,
        services: &[String],
        start: DateTime<Utc>,
        end: DateTime<Utc>,
        service_field: &str,
    ) -> Links {
        let kibana = cfg.kibana_url.as_deref().map(|u| u.trim_end_matches('/'));
        let dashboard = cfg.dashboard_url.clone().or_else(|| {
            kibana.map(|k| {
                let g = format!(
                    "(time:(from:{},to:{}))",
                    rison_str(&ts(start - Duration::minutes(DISCOVER_MINUTES))),
                    rison_str(&ts(end + Duration::minutes(DISCOVER_MINUTES)))
                );
                format!(
                    "{k}/app/dashboards#/view/logwarden-incidents-dashboard?_g={}",
                    encode(&g)
                )
            })
        });
        let discover = kibana.map(|k| {
            let query = services
                .iter()
                .map(|s| format!("{service_field}:\"{}\"", s.replace('"', "\\\"")))
                .collect::<Vec<_>>()
                .join(" or ");
            let g = format!(
                "(time:(from:{},to:{}))",
                rison_str(&ts(start - Duration::minutes(DISCOVER_MINUTES))),
                rison_str(&ts(start))
            );
            let a = format!("(query:(language:kuery,query:{}))", rison_str(&query));
            format!("{k}/app/discover#/?_g={}&_a={}", encode(&g), encode(&a))
        });
        Links {
            dashboard,
            discover,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn links_are_omitted_unless_configured() {
        let t = Utc::now();
        let l = Links::build(
            &LinksConfig::default(),
            &["api".into()],
            t,
            t,
            "service.name",
        );
        assert_eq!(l, Links::default());
    }

    #[test]
    fn discover_covers_the_thirty_minutes_before() {
        let t: DateTime<Utc> = "2026-11-30T12:00:00Z".parse().unwrap();
        let cfg = LinksConfig {
            kibana_url: Some("https://kb.example/".into()),
            dashboard_url: None,
        };
        let l = Links::build(
            &cfg,
            &["api".into(), "it's".into()],
            t,
            t + Duration::minutes(5),
            "service.name",
        );
        let d = l.discover.unwrap();
        assert!(
            d.starts_with("https://kb.example/app/discover#/?_g="),
            "{d}"
        );
        assert!(
            d.contains("from:'2026-11-30T11:30:00.000Z',to:'2026-11-30T12:00:00.000Z'"),
            "{d}"
        );
        assert!(
            d.contains("service.name:%22api%22%20or%20service.name:%22it!'s%22"),
            "{d}"
        );
        let dash = l.dashboard.unwrap();
        assert!(
            dash.contains("/app/dashboards#/view/logwarden-incidents-dashboard"),
            "{dash}"
        );
        assert!(dash.contains("to:'2026-11-30T12:35:00.000Z'"), "{dash}");
    }
}
