//! The documents the sidecar writes besides anomalies: pattern rates and incidents, each
//! with an `_id` derived from its content so a redone window overwrites instead of adding.

use crate::backend::bulk::BulkDoc;
use crate::detect::RateRow;
use crate::model::{content_id, ecs_severity, Anomaly, Severity};
use chrono::{DateTime, Datelike, Utc};
use serde_json::json;
use std::collections::{BTreeMap, BTreeSet};

/// The weekly index of `base` a document of time `t` goes to: `<base>-<Monday, YYYY.MM.DD>`
/// (UTC). Retention policies delete whole indices by age, so one index per week lets old
/// weeks go while recent ones stay; the date comes from the document, so a redone window
/// writes to the same index.
pub fn weekly_index(base: &str, t: DateTime<Utc>) -> String {
    let day = t.date_naive();
    let monday = day - chrono::Duration::days(i64::from(day.weekday().num_days_from_monday()));
    format!("{base}-{}", monday.format("%Y.%m.%d"))
}

/// Pattern-rate documents (mappings/patterns.json) for `rows`, each with its time.
pub fn rate_docs(
    rows: &[RateRow],
    tenant: &str,
    model_version: &str,
) -> Vec<(DateTime<Utc>, BulkDoc)> {
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
            (
                r.start,
                BulkDoc {
                    id,
                    source: doc.to_string(),
                },
            )
        })
        .collect()
}

/// One incident document per incident id among `touched`, summarising every anomaly of
/// `recent` in it (mappings/incidents.json), each with its start.
pub fn incident_docs(
    recent: &[Anomaly],
    touched: &BTreeSet<String>,
    tenant: &str,
) -> Vec<(DateTime<Utc>, BulkDoc)> {
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
            Some((
                start,
                BulkDoc {
                    id: id.to_string(),
                    source: doc.to_string(),
                },
            ))
        })
        .collect()
}

/// Search every anomaly index of `base` (`base*`; none yet is no error) with `body`; the
/// answer's body. `op` names the request in errors.
pub async fn search_anomalies(
    backend: &dyn crate::backend::Backend,
    base: &str,
    op: &'static str,
    body: serde_json::Value,
) -> Result<serde_json::Value, crate::backend::BackendError> {
    backend
        .send_raw(
            op,
            crate::backend::HttpMethod::Post,
            &format!("/{base}*/_search"),
            &[("ignore_unavailable", "true"), ("allow_no_indices", "true")],
            Some(body),
        )
        .await
        .and_then(|r| r.check(op))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn weekly_indices_start_on_monday_utc() {
        let t = |s: &str| s.parse::<DateTime<Utc>>().unwrap();
        assert_eq!(
            weekly_index("lw", t("2026-11-30T00:00:00Z")),
            "lw-2026.11.30"
        );
        assert_eq!(
            weekly_index("lw", t("2026-12-06T23:59:59Z")),
            "lw-2026.11.30"
        );
        assert_eq!(
            weekly_index("lw", t("2027-01-01T12:00:00Z")),
            "lw-2026.12.28"
        );
    }
}
