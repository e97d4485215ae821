//! End to end: `logwarden run --once --from …` against the real Elasticsearch
//! (`LOGWARDEN_TEST_ES_URL`; a missing cluster fails the test) with receivers on loopback.
//! The replayed data (`sidecar_data`) has a database outage on `api` and a silent `worker`;
//! each incident reaches each receiver with one trigger, then updates and a resolve, never
//! a page per anomaly, and a second run sends nothing again.

mod notify_support;
mod sidecar_data;

use chrono::Duration;
use logwarden::backend::bulk::{write_docs, BulkDoc};
use notify_support::Recorder;
use serde_json::Value;
use sidecar_data::*;
use std::collections::BTreeMap;

/// Per incident id, the statuses a receiver got, in order.
fn by_incident(
    reqs: &[notify_support::Recorded],
    id: impl Fn(&Value) -> String,
    status: impl Fn(&Value) -> String,
) -> BTreeMap<String, Vec<String>> {
    let mut out: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for q in reqs {
        out.entry(id(&q.body)).or_default().push(status(&q.body));
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_incident_pages_once_per_receiver_not_once_per_anomaly() {
    let b = backend("LOGWARDEN_TEST_ES_URL").await;
    let b = b.as_ref();
    let prefix = "notify-es-";
    reset(b, prefix).await;
    let end = anchor();
    let from = end - Duration::hours(3);
    load(b, prefix, &generate(end, from)).await;
    // The outage also brings the payment calls down: two more error messages never seen
    // before, on `api`, while the database refuses connections.
    let mut extra = Vec::new();
    for m in 95..125 {
        let t = from + Duration::minutes(m);
        for k in 0..3 {
            extra.push(BulkDoc {
                id: format!("pay-{m}-{k}"),
                source: doc(
                    t + Duration::seconds(k * 13 + 2),
                    "api",
                    "error",
                    &format!("upstream payments timed out after {} ms", 3000 + m * 7 + k),
                )
                .to_string(),
            });
        }
        if (100..112).contains(&m) {
            extra.push(BulkDoc {
                id: format!("cb-{m}"),
                source: doc(
                    t + Duration::seconds(30),
                    "api",
                    "error",
                    "circuit breaker payments is open, failing fast",
                )
                .to_string(),
            });
        }
    }
    let index = format!("{prefix}logs");
    write_docs(b, &index, extra, &b.config().bulk)
        .await
        .unwrap();
    b.refresh(&index).await.unwrap();
    let r = Recorder::start().await;
    let dir = tempfile::tempdir().unwrap();
    let pd_key = dir.path().join("pd");
    std::fs::write(&pd_key, "R0UT1NGKEY0123456789abcdef012345").unwrap();
    let slack = dir.path().join("slack");
    std::fs::write(&slack, r.url("/services/T1/B1/abc")).unwrap();
    // Every tier to the webhook, moderate and up to Slack, critical to PagerDuty; resolved
    // after 20 quiet minutes so both incidents of the replay end within it.
    let routes = format!(
        "routes:\n  resolve_after_minutes: 20\n  delivery:\n    initial_backoff_ms: 10\n  receivers:\n\
         \x20   hook:\n      webhook:\n        url: {}\n\
         \x20   chat:\n      slack:\n        webhook_url: {{file: {}}}\n\
         \x20   pd:\n      pagerduty:\n        routing_key: {{file: {}}}\n        url: {}\n\
         \x20 rules:\n    - {{tier: low, receivers: [hook]}}\n    - {{tier: moderate, receivers: [chat]}}\n    - {{tier: critical, receivers: [pd]}}\n",
        r.url("/hook"),
        slack.display(),
        pd_key.display(),
        r.url("/v2/enqueue"),
    );
    // The worker consumes what `api` produces: its silence belongs to the same incident.
    let routes = format!("{routes}incidents:\n  related_services:\n    api: [worker]\nservices:\n  api:\n    criticality: critical\nseverity:\n  critical: 40.0\n  moderate: 20.0\n");
    let cfg = config(&b.config().url, prefix, dir.path(), &routes);
    let (s, metrics) = run_once(&cfg, from, end).await;
    assert_eq!(s.failures, 0);
    assert!(s.anomalies >= 2, "{s:?}");
    assert_eq!(s.undelivered, 0, "--once waits for the outbox");
    assert!(r.requests().iter().all(|q| q.accepted()));

    let hook = r.accepted("/hook");
    let per = by_incident(
        &hook,
        |b| b["incident_id"].as_str().unwrap().to_string(),
        |b| b["status"].as_str().unwrap().to_string(),
    );
    let anomalies: std::collections::BTreeSet<String> = hook
        .iter()
        .flat_map(|q| {
            q.body["anomaly_ids"]
                .as_array()
                .unwrap()
                .iter()
                .map(|v| v.as_str().unwrap().to_string())
        })
        .collect();
    assert_eq!(
        anomalies.len() as u64,
        s.anomalies,
        "every anomaly is in a notification"
    );
    for (id, statuses) in &per {
        assert_eq!(statuses[0], "trigger", "{id}: {statuses:?}");
        assert_eq!(
            statuses.iter().filter(|s| *s == "trigger").count(),
            1,
            "{id}: {statuses:?}"
        );
        assert!(statuses[1..].iter().all(|s| s != "trigger"));
        assert!(statuses.iter().filter(|s| *s == "resolve").count() <= 1);
        if let Some(p) = statuses.iter().position(|s| s == "resolve") {
            assert_eq!(p, statuses.len() - 1, "{id}: nothing after the resolve");
        }
    }
    assert!(
        per.len() < s.anomalies as usize,
        "{} incidents for {} anomalies",
        per.len(),
        s.anomalies
    );
    // The database outage on `api` is one incident.
    let api: Vec<&notify_support::Recorded> = hook
        .iter()
        .filter(|q| {
            q.body["status"] == "trigger"
                && q.body["services"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .any(|s| s == "api")
        })
        .collect();
    assert!(!api.is_empty());

    let pd = r.accepted("/v2/enqueue");
    let pd_per = by_incident(
        &pd,
        |b| b["dedup_key"].as_str().unwrap().to_string(),
        |b| b["event_action"].as_str().unwrap().to_string(),
    );
    let chat = r.accepted("/services/T1/B1/abc");
    for (id, actions) in &pd_per {
        assert!(
            per.contains_key(id),
            "PagerDuty's dedup_key is the incident id"
        );
        assert_eq!(actions[0], "trigger");
        assert!(actions.iter().filter(|a| *a == "resolve").count() <= 1);
    }
    // Each incident paged once; Slack hears of the start and the end, and of nothing between
    // (no escalation here: the outage is critical from its first window).
    assert!(
        !pd_per.is_empty(),
        "the outage is critical with these cut-offs"
    );
    let chat_per = by_incident(
        &chat,
        |b| {
            let ctx = b["blocks"].as_array().unwrap().last().unwrap()["elements"][0]["text"]
                .as_str()
                .unwrap()
                .to_string();
            ctx.split('`').nth(1).unwrap().to_string()
        },
        |b| b["blocks"][0]["text"]["text"].as_str().unwrap().to_string(),
    );
    for (id, heads) in &chat_per {
        assert!(per.contains_key(id));
        assert!(heads.len() <= 2, "{id}: {heads:?}");
        assert!(!heads[0].contains("RESOLVED"));
    }
    let mut counts = Vec::new();
    for (name, n) in [("hook", hook.len()), ("chat", chat.len()), ("pd", pd.len())] {
        assert_eq!(
            metrics.notifications_sent.with_label_values(&[name]).get(),
            n as u64
        );
        counts.push(format!("{name}: {n}"));
    }
    eprintln!(
        "alerts per incident: {} anomalies in {} incidents -> {} (webhook statuses per incident: {:?}; PagerDuty: {:?}; Slack messages: {})",
        s.anomalies,
        per.len(),
        counts.join(", "),
        per.values().collect::<Vec<_>>(),
        pd_per.values().collect::<Vec<_>>(),
        chat.len(),
    );

    // A second run has nothing to redo and sends nothing again.
    let before = r.requests().len();
    let (s2, _) = run_once(&cfg, from, end).await;
    assert_eq!(s2.anomalies, 0, "{s2:?}");
    assert_eq!(r.requests().len(), before);
}
