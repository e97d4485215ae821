//! The sidecar's own blindness, against the real Elasticsearch (`LOGWARDEN_TEST_ES_URL`; a
//! missing cluster fails the test): a source whose index does not exist cannot be read;
//! after `run.blind_after_failures` attempts in a row, one critical anomaly says so — written
//! to the anomaly index and sent through the routes to a real webhook receiver on loopback —
//! and only one, however long it lasts; `/ready` says the index does not exist. A pattern
//! that matches nothing (a typo) is said at start, on `/ready` and in the metrics.

mod notify_support;
mod sidecar_data;

use logwarden::sidecar::{self, health::Metrics, RunOptions};
use notify_support::Recorder;
use sidecar_data::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_source_that_cannot_be_read_is_one_critical_anomaly_routed_once() {
    let b = backend("LOGWARDEN_TEST_ES_URL").await;
    let url = std::env::var("LOGWARDEN_TEST_ES_URL").unwrap();
    let prefix = "blind-test-";
    reset(b.as_ref(), prefix).await;
    let r = Recorder::start().await;
    let dir = tempfile::tempdir().unwrap();
    let extra = format!(
        "  blind_after_failures: 2\n  max_retry_secs: 1\nroutes:\n  delivery:\n    initial_backoff_ms: 10\n  receivers:\n    hook:\n      webhook:\n        url: {}\n  rules:\n    - {{tier: moderate, receivers: [hook]}}\n",
        r.url("/hook")
    );
    // `<prefix>logs` is never created: every read of the source fails.
    let cfg = config(&url, prefix, dir.path(), &extra);
    let metrics = Metrics::new();
    let (tx, rx) = tokio::sync::watch::channel(false);
    let run = tokio::spawn(sidecar::run(
        cfg,
        RunOptions::default(),
        metrics.clone(),
        rx,
    ));
    // Wait (bounded) for the receiver to hear of it.
    let mut triggers = Vec::new();
    for _ in 0..600 {
        triggers = r
            .accepted("/hook")
            .into_iter()
            .filter(|q| q.body["status"] == "trigger")
            .collect();
        if !triggers.is_empty() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    assert_eq!(triggers.len(), 1, "{:?}", r.requests().len());
    let body = &triggers[0].body;
    assert_eq!(body["severity"], "critical", "{body}");
    let a = &body["anomalies"][0];
    assert_eq!(a["service"], "*", "{body}");
    assert_eq!(a["type"], "volume_drop", "{body}");
    let explanation = a["explanation"].as_str().unwrap();
    assert!(
        explanation.starts_with("logwarden cannot read source app (index blind-test-logs) since "),
        "{explanation}"
    );
    assert!(
        explanation.contains("attempts in a row failed"),
        "{explanation}"
    );
    // The run keeps trying (and failing) meanwhile; the blindness is not reported again.
    let before = r.requests().len();
    let said = "source app: source index `blind-test-logs` does not exist (";
    for _ in 0..50 {
        if metrics.status().contains(said) {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(metrics.status().contains(said), "{}", metrics.status());
    assert!(!metrics.is_ready());
    tx.send(true).unwrap();
    run.await.unwrap().unwrap();
    let triggers = r
        .accepted("/hook")
        .into_iter()
        .filter(|q| q.body["status"] == "trigger")
        .count();
    assert_eq!(triggers, 1);
    assert!(r.requests().len() >= before);
    // And it is in the anomaly index, where the dashboards see it.
    let hits = search_all(b.as_ref(), &format!("{prefix}anomalies-*")).await;
    assert_eq!(hits.len(), 1, "{hits:?}");
    assert_eq!(hits[0]["_source"]["pattern"]["id"], "sidecar");
    assert_eq!(hits[0]["_source"]["anomaly"]["severity"], "critical");
    reset(b.as_ref(), prefix).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pattern_that_matches_nothing_is_said_and_no_empty_model_is_kept() {
    let url = std::env::var("LOGWARDEN_TEST_ES_URL").unwrap();
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = config(&url, "typo-test-", dir.path(), "");
    cfg.sources.get_mut("app").unwrap().index = "typo-test-nothing-*".to_string();
    let end = chrono::Utc::now();
    let (s, metrics) = run_once(&cfg, end - chrono::Duration::hours(1), end).await;
    assert_eq!(s.records, 0);
    let status = metrics.status();
    assert!(
        status.contains(
            "source app: index pattern `typo-test-nothing-*` has no document in the 2 days before "
        ),
        "{status}"
    );
    assert!(status.contains("(is the pattern right?)"), "{status}");
    let text = metrics.render();
    assert!(
        text.contains("logwarden_source_empty{source=\"app\"} 1"),
        "{text}"
    );
    // The source's series exist from the start, at 0 where nothing happened.
    for line in [
        "logwarden_anomalies_total{severity=\"critical\",source=\"app\"} 0",
        "logwarden_window_failures_total{source=\"app\"} 0",
        "logwarden_late_documents_total{source=\"app\"} 0",
    ] {
        assert!(text.contains(line), "{line} in\n{text}");
    }
    // No model file: the next start learns from what has come since.
    let models: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .flatten()
        .filter(|e| e.path().extension().is_some_and(|x| x == "model"))
        .collect();
    assert!(models.is_empty(), "{models:?}");
}
