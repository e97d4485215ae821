//! `logwarden run` against the real clusters `scripts/clusters start` runs (Elasticsearch at
//! `LOGWARDEN_TEST_ES_URL`, OpenSearch at `LOGWARDEN_TEST_OS_URL`; a missing cluster fails
//! the test, it never skips).
//!
//! The sidecar replays the last three hours of the data in `sidecar_data` (`--from`), with
//! the baseline learned from the two days before.

mod sidecar_data;

use chrono::{DateTime, Duration, Utc};
use logwarden::backend::bulk::{write_docs, BulkDoc};
use logwarden::backend::HttpMethod;
use logwarden::sidecar::{self, health::Metrics, RunOptions};
use serde_json::{json, Value};
use sidecar_data::*;
use std::collections::BTreeSet;

async fn finds_the_incident_and_resumes_without_duplicates(var: &str, prefix: &str) {
    let b = backend(var).await;
    let b = b.as_ref();
    reset(b, prefix).await;
    let end = anchor();
    let from = end - Duration::hours(3);
    let data = generate(end, from);
    load(b, prefix, &data).await;
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(&b.config().url, prefix, dir.path(), "");

    // The sidecar stops 25 minutes into the worker's silence (after its first, low report)
    // and starts again: the silence goes on as the same incident, escalated.
    let stop = from + Duration::minutes(155);
    let (s1, metrics) = run_once(&cfg, from, stop).await;
    let (s2, _) = run_once(&cfg, from, end).await;
    let s = sidecar::RunSummary {
        records: s1.records + s2.records,
        windows: s1.windows + s2.windows,
        anomalies: s1.anomalies + s2.anomalies,
        failures: s1.failures + s2.failures,
        ..s2
    };
    // The cluster's own count of the replayed range: every document in it is read once,
    // the two without a usable message are counted and skipped.
    let r = b
        .send_raw(
            "count",
            HttpMethod::Post,
            &format!("/{prefix}logs/_count"),
            &[],
            Some(json!({"query": {"range": {"@timestamp": {"gte": from.to_rfc3339()}}}})),
        )
        .await
        .unwrap();
    assert_eq!(
        r.body["count"].as_u64().unwrap(),
        s.records + 2,
        "{}",
        r.body
    );
    assert_eq!(s.failures, 0);
    assert!(s.windows >= 6, "{s:?}");
    for problem in ["MissingMessage", "WrongType", "MessageTruncated"] {
        let n = metrics.rejected.with_label_values(&["app", problem]).get();
        assert!(n >= 1, "{problem} counted: {}", metrics.render());
    }

    let anomalies = search_all(b, &format!("{prefix}anomalies*")).await;
    assert_eq!(
        anomalies.len() as u64,
        s.anomalies,
        "every anomaly written once"
    );
    let src: Vec<&Value> = anomalies.iter().map(|h| &h["_source"]).collect();
    let db = src.iter().find(|a| {
        a["service"]["name"] == "api"
            && a["pattern"]["template"]
                .as_str()
                .unwrap_or("")
                .contains("pool exhausted")
    });
    let db = db.unwrap_or_else(|| panic!("the database errors are found: {src:#?}"));
    let at: DateTime<Utc> = db["@timestamp"].as_str().unwrap().parse().unwrap();
    assert!(
        at >= from + Duration::minutes(80) && at <= from + Duration::minutes(120),
        "{at}"
    );
    assert!(
        src.iter()
            .any(|a| a["service"]["name"] == "worker" && a["anomaly"]["type"] == "volume_drop"),
        "the silent worker is found: {src:#?}"
    );
    let silence: Vec<_> = src
        .iter()
        .filter(|a| a["service"]["name"] == "worker" && a["anomaly"]["type"] == "volume_drop")
        .collect();
    let tiers: BTreeSet<&str> = silence
        .iter()
        .map(|a| a["anomaly"]["severity"].as_str().unwrap())
        .collect();
    let incidents: BTreeSet<&str> = silence
        .iter()
        .map(|a| a["incident"]["id"].as_str().unwrap())
        .collect();
    let ends: Vec<DateTime<Utc>> = silence
        .iter()
        .map(|a| {
            a["anomaly"]["window"]["end"]
                .as_str()
                .unwrap()
                .parse()
                .unwrap()
        })
        .collect();
    assert!(
        ends.iter().any(|&e| e <= stop) && ends.iter().any(|&e| e > stop),
        "the silence is reported before and after the restart: {silence:#?}"
    );
    assert!(tiers.contains("moderate"), "{silence:#?}");
    assert_eq!(
        incidents.len(),
        1,
        "reported before and after the restart, the silence is one incident: {silence:#?}"
    );
    for a in &src {
        for field in [
            "anomaly.id",
            "anomaly.type",
            "anomaly.severity",
            "anomaly.score",
            "anomaly.explanation",
            "model.version",
            "incident.id",
        ] {
            let v = field.split('.').fold(*a, |v, k| &v[k]);
            assert!(!v.is_null(), "{field} missing in {a}");
        }
        assert_eq!(a["tenant"], "t");
    }
    let api_before = src
        .iter()
        .filter(|a| {
            a["service"]["name"] == "api"
                && a["@timestamp"]
                    .as_str()
                    .unwrap()
                    .parse::<DateTime<Utc>>()
                    .unwrap()
                    < from + Duration::minutes(80)
        })
        .count();
    assert!(api_before <= 1, "a quiet stretch stays quiet: {api_before}");

    // Pattern rates add up to the records read; incidents name their services.
    let rates = search_all(b, &format!("{prefix}patterns*")).await;
    let total: u64 = rates
        .iter()
        .map(|h| h["_source"]["rate"]["count"].as_u64().unwrap())
        .sum();
    assert_eq!(total, s.records);
    assert!(rates
        .iter()
        .any(|h| h["_source"]["rate"]["expected"].as_f64().unwrap() > 0.0));
    let incidents = search_all(b, &format!("{prefix}incidents*")).await;
    assert!(incidents
        .iter()
        .any(|h| h["_source"]["incident"]["services"]
            .as_array()
            .unwrap()
            .iter()
            .any(|s| s == "api")));

    // The checkpoint is saved, and a second run has nothing to redo and writes nothing twice.
    let state = search_all(b, &format!("{prefix}state")).await;
    assert_eq!(state.len(), 1);
    let cp: DateTime<Utc> = state[0]["_source"]["checkpoint"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(cp >= end - Duration::minutes(1), "{cp}");
    let (s2, _) = run_once(&cfg, from, end).await;
    assert!(s2.windows == 0 && s2.anomalies == 0, "{s2:?}");
    let again = search_all(b, &format!("{prefix}anomalies*")).await;
    assert_eq!(ids(&again), ids(&anomalies));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn elasticsearch_run_finds_the_incident_and_resumes() {
    finds_the_incident_and_resumes_without_duplicates("LOGWARDEN_TEST_ES_URL", "run-es-").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn opensearch_run_finds_the_incident_and_resumes() {
    finds_the_incident_and_resumes_without_duplicates("LOGWARDEN_TEST_OS_URL", "run-os-").await;
}

/// Live mode: once caught up, documents written into an already processed window are
/// counted as late on the next poll; a stop signal ends the run cleanly.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn late_documents_are_counted_in_live_mode() {
    let b = backend("LOGWARDEN_TEST_ES_URL").await;
    let b = b.as_ref();
    let prefix = "late-es-";
    reset(b, prefix).await;
    let end = anchor();
    let from = end - Duration::hours(3);
    load(b, prefix, &generate(end, from)).await;
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(
        &b.config().url,
        prefix,
        dir.path(),
        "  interval_secs: 1\n  late_recount_minutes: 1\n",
    );
    let (run, metrics, tx) = run_live(&cfg, from);
    wait_until(
        120,
        || metrics.is_ready(),
        || format!("not live: {}", metrics.status()),
    )
    .await;
    assert_eq!(metrics.late.with_label_values(&["app"]).get(), 0);
    // Five documents an hour into the replay, long processed.
    let late_t = from + Duration::minutes(60) + Duration::seconds(20);
    let docs: Vec<BulkDoc> = (0..5)
        .map(|i| BulkDoc {
            id: format!("late-{i}"),
            source: doc(late_t, "api", "info", "user u1 logged in from 10.0.1.1").to_string(),
        })
        .collect();
    let index = format!("{prefix}logs");
    write_docs(b, &index, docs, &b.config().bulk).await.unwrap();
    b.refresh(&index).await.unwrap();
    wait_until(
        150,
        || metrics.late.with_label_values(&["app"]).get() >= 5,
        || format!("late documents not counted: {}", metrics.render()),
    )
    .await;
    assert_eq!(metrics.late.with_label_values(&["app"]).get(), 5);
    tx.send(true).unwrap();
    let s = run.await.unwrap().unwrap();
    assert_eq!(s.failures, 0);
    assert!(!metrics.is_ready(), "stopped");
}

/// An anomaly index whose mapping conflicts with the documents (someone created it by hand
/// with `anomaly.score` as a boolean): every refused document is counted, the run completes
/// and the checkpoint moves on.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_mapping_conflict_on_the_anomaly_index_is_counted_not_fatal() {
    let b = backend("LOGWARDEN_TEST_ES_URL").await;
    let b = b.as_ref();
    let prefix = "conflict-es-";
    reset(b, prefix).await;
    let end = anchor();
    let from = end - Duration::hours(3);
    load(b, prefix, &generate(end, from)).await;
    for t in [from, end] {
        let index = logwarden::sidecar::docs::weekly_index(&format!("{prefix}anomalies"), t);
        let body = json!({"mappings": {"properties": {"anomaly": {"properties": {"score": {"type": "boolean"}}}}}});
        let r = b.create_index(&index, body).await;
        assert!(
            r.is_ok() || format!("{r:?}").contains("already_exists"),
            "{r:?}"
        );
    }
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(&b.config().url, prefix, dir.path(), "");
    let (s, metrics) = run_once(&cfg, from, end).await;
    assert_eq!(s.failures, 0, "{s:?}");
    assert_eq!(s.anomalies, 0, "{s:?}");
    assert!(s.refused >= 2, "{s:?}");
    let refused = metrics
        .write_failures
        .with_label_values(&[&format!("{prefix}anomalies")])
        .get();
    assert_eq!(refused, s.refused);
    let state = search_all(b, &format!("{prefix}state")).await;
    let cp: DateTime<Utc> = state[0]["_source"]["checkpoint"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(cp >= end - Duration::minutes(1), "the run went on: {cp}");
    // Incidents and rates, in their own indices, were written.
    assert!(!search_all(b, &format!("{prefix}patterns*"))
        .await
        .is_empty());
}

/// Each source runs on its own: a source whose index does not exist, named so that it comes
/// first (the sidecar once tried the sources in turn, and a failing first source held back
/// the others), delays no other. Live, the good source catches up while `/ready` names the
/// missing index; with `--once`, the run gives up after `run.once_give_up_secs`, naming it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_source_index_delays_no_other_source() {
    let b = backend("LOGWARDEN_TEST_ES_URL").await;
    let b = b.as_ref();
    let prefix = "two-es-";
    reset(b, prefix).await;
    let end = anchor();
    let from = end - Duration::hours(3);
    load(b, prefix, &generate(end, from)).await;
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = config(
        &b.config().url,
        prefix,
        dir.path(),
        "  interval_secs: 1\n  max_retry_secs: 1\n  once_give_up_secs: 3\n",
    );
    cfg.sources.insert(
        "absent".to_string(),
        logwarden::config::SourceConfig {
            index: format!("{prefix}nosuch"),
            query: None,
            fields: None,
        },
    );
    assert_eq!(cfg.sources.keys().next().unwrap(), "absent");
    let missing = format!("source index `{prefix}nosuch` does not exist");

    let (run, metrics, tx) = run_live(&cfg, from);
    let windows = || metrics.windows.with_label_values(&["app"]).get();
    // Three hours in windows of at most 30 minutes.
    wait_until(
        120,
        || windows() >= 6,
        || {
            format!(
                "source app held back ({} windows): {}",
                windows(),
                metrics.status()
            )
        },
    )
    .await;
    assert!(metrics.status().contains(&missing), "{}", metrics.status());
    assert!(!metrics.is_ready());
    tx.send(true).unwrap();
    let s = run.await.unwrap().unwrap();
    assert!(s.windows >= 6, "{s:?}");

    // A batch run does not wait forever on it.
    let (_tx, rx) = tokio::sync::watch::channel(false);
    let opts = RunOptions {
        once: true,
        from: Some(from),
        until: Some(end),
        force_templates: false,
    };
    let t0 = std::time::Instant::now();
    let err = sidecar::run(cfg, opts, Metrics::new(), rx)
        .await
        .unwrap_err()
        .to_string();
    assert!(
        err.starts_with("gave up after 3 s (run.once_give_up_secs): source absent: ")
            && err.contains(&missing),
        "{err}"
    );
    assert!(t0.elapsed().as_secs() < 60, "{:?}", t0.elapsed());
    reset(b, prefix).await;
}
