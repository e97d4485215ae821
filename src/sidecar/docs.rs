//! The documents the sidecar writes besides anomalies: pattern rates and incidents, each
//! with an `_id` derived from its content so a redone window overwrites instead of adding.

use crate::backend::bulk::BulkDoc;
use crate::detect::RateRow;
use crate::model::{content_id, ecs_severity, Anomaly, Severity};
use chrono::{DateTime, Utc};
use serde_json::json;
use std::collections::{BTreeMap, BTreeSet};

/// Pattern-rate documents (mappings/patterns.json) for `rows`.
pub fn rate_docs(rows: &[RateRow], tenant: &str, model_version: &str) -> Vec<BulkDoc> {
    rows.iter()
        .map(|r| {
            let start = r.start.to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
            let id = content_id(&[
                "rate",
                tenant,
                &r.service,
                &r.template.to_string(),
                &start,
                &r.minutes.to_string(),
            ]);
            let doc = json!({
                "@timestamp": start,
                "tenant": tenant,
                "service": {"name": r.service},
                "pattern": {
                    "id": r.template.to_string(),
                    "template": r.text,
                    "cluster_id": r.pattern,
                },
                "rate": {
                    "minutes": r.minutes,
                    "count": r.count,
                    "errors": r.errors,
                    "expected": (r.expected * 1000.0).round() / 1000.0,
                },
                "model": {"version": model_version},
            });
            BulkDoc {
                id,
                source: doc.to_string(),
            }
        })
        .collect()
}

/// One incident document per incident id among `touched`, summarising every anomaly of
/// `recent` in it (mappings/incidents.json).
pub fn incident_docs(recent: &[Anomaly], touched: &BTreeSet<String>, tenant: &str) -> Vec<BulkDoc> {
    let mut by_id: BTreeMap<&str, Vec<&Anomaly>> = BTreeMap::new();
    for a in recent {
        if touched.contains(&a.incident.id) {
            by_id.entry(a.incident.id.as_str()).or_default().push(a);
        }
    }
    by_id
        .into_iter()
        .filter_map(|(id, members)| {
            let start: DateTime<Utc> = members.iter().map(|a| a.timestamp).min()?;
            let end = members
                .iter()
                .map(|a| a.anomaly.window.end.max(a.timestamp))
                .max()?;
            let top = members
                .iter()
                .max_by(|a, b| a.anomaly.score.total_cmp(&b.anomaly.score))?;
            let severity: Severity = members.iter().map(|a| a.anomaly.severity).max()?;
            let services: BTreeSet<&str> =
                members.iter().map(|a| a.service.name.as_str()).collect();
            let types: BTreeSet<&str> = members.iter().map(|a| a.anomaly.kind.as_str()).collect();
            let ids: Vec<&str> = members.iter().map(|a| a.anomaly.id.as_str()).collect();
            let title = if members.len() == 1 {
                top.anomaly.explanation.clone()
            } else {
                format!(
                    "{} anomalies on {}: {}",
                    members.len(),
                    services.iter().copied().collect::<Vec<_>>().join(", "),
                    top.anomaly.explanation
                )
            };
            let doc = json!({
                "@timestamp": start,
                "tenant": tenant,
                "incident": {
                    "id": id,
                    "title": title,
                    "severity": severity.as_str(),
                    "score": top.anomaly.score,
                    "start": start,
                    "end": end,
                    "anomaly_count": members.len(),
                    "anomaly_ids": ids,
                    "types": types,
                    "services": services,
                },
                "event": {
                    "kind": "alert",
                    "start": start,
                    "end": end,
                    "severity": ecs_severity(severity),
                    "risk_score": top.anomaly.score,
                },
                "model": {"version": top.model.version},
            });
            Some(BulkDoc {
                id: id.to_string(),
                source: doc.to_string(),
            })
        })
        .collect()
}
