//! `logwarden run` against the real clusters `scripts/clusters start` runs (Elasticsearch at
//! `LOGWARDEN_TEST_ES_URL`, OpenSearch at `LOGWARDEN_TEST_OS_URL`; a missing cluster fails
//! the test, it never skips).
//!
//! The data: two services over two days and three hours, ending a few minutes ago; in the
//! last three hours `api` starts failing with a database error it never logged before and
//! `worker` goes silent for half an hour. Bad documents are mixed in. The sidecar replays
//! the last three hours (`--from`), with the baseline learned from the two days before.

use chrono::{DateTime, Duration, DurationRound, Utc};
use logwarden::backend::bulk::{write_docs, BulkDoc};
use logwarden::backend::{connect, Backend, BackendConfig, HttpMethod};
use logwarden::config::Config;
use logwarden::sidecar::{self, health::Metrics, RunOptions, RunSummary};
use serde_json::{json, Value};
use std::collections::BTreeSet;
use std::path::Path;

async fn backend(var: &str) -> Box<dyn Backend> {
    let url = std::env::var(var).unwrap_or_else(|_| {
        panic!("{var} is not set: run `scripts/clusters start` and `eval \"$(scripts/clusters env)\"`, or `scripts/test`")
    });
    connect(&BackendConfig::for_url(&url))
        .await
        .unwrap_or_else(|e| panic!("cannot reach the test cluster at {url}: {e}"))
}

/// The end of the data, and the start of the replay three hours before it.
fn anchor() -> DateTime<Utc> {
    (Utc::now() - Duration::minutes(3))
        .duration_trunc(Duration::minutes(10))
        .unwrap()
}

struct Data {
    docs: Vec<BulkDoc>,
}

fn doc(t: DateTime<Utc>, service: &str, level: &str, message: &str) -> Value {
    json!({"@timestamp": t.to_rfc3339(), "service": {"name": service}, "log": {"level": level}, "message": message})
}

fn generate(end: DateTime<Utc>, from: DateTime<Utc>) -> Data {
    let start = end - Duration::days(2) - Duration::hours(3);
    let incident = (from + Duration::minutes(90), from + Duration::minutes(120));
    let silence = (from + Duration::minutes(130), from + Duration::minutes(160));
    let mut docs = Vec::new();
    let mut n = 0u64;
    let mut t = start;
    while t < end {
        let mut lines: Vec<Value> = Vec::new();
        for k in 0..3u64 {
            let at = t + Duration::seconds(k as i64 * 17 + 3);
            lines.push(doc(
                at,
                "api",
                "info",
                &format!(
                    "GET /api/orders/{} 200 in {} ms",
                    1000 + (n * 7 + k) % 900,
                    20 + (n + k * 13) % 30
                ),
            ));
        }
        lines.push(doc(
            t + Duration::seconds(41),
            "api",
            "info",
            &format!(
                "user u{} logged in from 10.0.{}.{}",
                n % 500,
                n % 7,
                n % 250
            ),
        ));
        if t < silence.0 || t >= silence.1 {
            lines.push(doc(
                t + Duration::seconds(5),
                "worker",
                "info",
                &format!("processed batch {} with {} items", n, 40 + n % 20),
            ));
            lines.push(doc(
                t + Duration::seconds(35),
                "worker",
                "info",
                &format!("processed batch {} with {} items", n + 1, 40 + (n + 3) % 20),
            ));
            lines.push(doc(
                t + Duration::seconds(50),
                "worker",
                "info",
                "heartbeat ok",
            ));
        }
        if t >= incident.0 && t < incident.1 {
            for k in 0..8 {
                lines.push(doc(
                    t + Duration::seconds(k * 7),
                    "api",
                    "error",
                    &format!(
                        "connection to db-7 refused: pool exhausted (active={})",
                        50 + k
                    ),
                ));
            }
        }
        for (i, l) in lines.into_iter().enumerate() {
            docs.push(BulkDoc {
                id: format!("d{n}-{i}"),
                source: l.to_string(),
            });
        }
        n += 1;
        t += Duration::minutes(1);
    }
    // Bad documents in the replayed range: counted by problem, never fatal.
    let bad_t = (from + Duration::minutes(30)).to_rfc3339();
    for (id, src) in [
        (
            "bad-no-message",
            json!({"@timestamp": bad_t, "service": {"name": "api"}}),
        ),
        (
            "bad-object-message",
            json!({"@timestamp": bad_t, "service": {"name": "api"}, "message": {"text": "x"}}),
        ),
        (
            "bad-number-message",
            json!({"@timestamp": bad_t, "service": {"name": "api"}, "message": 42}),
        ),
    ] {
        docs.push(BulkDoc {
            id: id.to_string(),
            source: src.to_string(),
        });
    }
    // A 1 MB message: cut to `max_message_bytes` and processed.
    docs.push(BulkDoc {
        id: "big".to_string(),
        source: doc(
            from + Duration::minutes(31),
            "api",
            "info",
            &"x".repeat(1 << 20),
        )
        .to_string(),
    });
    Data { docs }
}

async fn reset(b: &dyn Backend, prefix: &str) {
    for suffix in ["logs", "anomalies", "incidents", "patterns", "state"] {
        b.delete_index(&format!("{prefix}{suffix}")).await.unwrap();
    }
}

/// Load the data into `<prefix>logs`, whose mapping leaves `message` unmapped so documents
/// of any shape get in (as they do in real clusters with loose mappings).
async fn load(b: &dyn Backend, prefix: &str, data: &Data) {
    let index = format!("{prefix}logs");
    b.create_index(&index, json!({"settings": {"number_of_shards": 2, "number_of_replicas": 0}, "mappings": {"dynamic": false, "properties": {"@timestamp": {"type": "date"}, "service": {"properties": {"name": {"type": "keyword"}}}, "log": {"properties": {"level": {"type": "keyword"}}}}}})).await.unwrap();
    let mut cfg = b.config().bulk.clone();
    cfg.max_docs = 2000;
    let r = write_docs(b, &index, data.docs.clone(), &cfg)
        .await
        .unwrap();
    assert!(
        r.failed.is_empty(),
        "{:?}",
        &r.failed[..r.failed.len().min(3)]
    );
    b.refresh(&index).await.unwrap();
}

fn config(url: &str, prefix: &str, state_dir: &Path, extra: &str) -> Config {
    let yaml = format!(
        "tenant: t\ncluster:\n  url: {url}\n  read:\n    page_size: 1000\nsources:\n  app:\n    index: \"{prefix}logs\"\n\
         indices:\n  anomalies: {prefix}anomalies\n  incidents: {prefix}incidents\n  patterns: {prefix}patterns\n  state: {prefix}state\n\
         run:\n  delay_secs: 0\n  backfill_days: 2\n  warmup_hours: 4\n  listen: \"\"\n  max_window_secs: 1800\n  state_dir: {}\n{extra}",
        state_dir.display()
    );
    Config::from_yaml(&yaml).unwrap()
}

async fn run_once(cfg: &Config, from: DateTime<Utc>) -> (RunSummary, Metrics) {
    let metrics = Metrics::new();
    let (_tx, rx) = tokio::sync::watch::channel(false);
    let opts = RunOptions {
        once: true,
        from: Some(from),
        force_templates: false,
    };
    let s = sidecar::run(cfg.clone(), opts, metrics.clone(), rx)
        .await
        .unwrap();
    (s, metrics)
}

async fn search_all(b: &dyn Backend, index: &str) -> Vec<Value> {
    b.refresh(index).await.unwrap();
    let r = b
        .send_raw(
            "test search",
            HttpMethod::Post,
            &format!("/{index}/_search"),
            &[],
            Some(json!({"size": 10000, "query": {"match_all": {}}})),
        )
        .await
        .unwrap();
    assert_eq!(r.status, 200, "{}", r.body);
    r.body["hits"]["hits"]
        .as_array()
        .cloned()
        .unwrap_or_default()
}

fn ids(hits: &[Value]) -> BTreeSet<String> {
    hits.iter()
        .map(|h| h["_id"].as_str().unwrap().to_string())
        .collect()
}

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

    let (s, metrics) = run_once(&cfg, from).await;
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

    let anomalies = search_all(b, &format!("{prefix}anomalies")).await;
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
    let rates = search_all(b, &format!("{prefix}patterns")).await;
    let total: u64 = rates
        .iter()
        .map(|h| h["_source"]["rate"]["count"].as_u64().unwrap())
        .sum();
    assert_eq!(total, s.records);
    assert!(rates
        .iter()
        .any(|h| h["_source"]["rate"]["expected"].as_f64().unwrap() > 0.0));
    let incidents = search_all(b, &format!("{prefix}incidents")).await;
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
    let (s2, _) = run_once(&cfg, from).await;
    assert!(s2.windows <= 1 && s2.anomalies == 0, "{s2:?}");
    let again = search_all(b, &format!("{prefix}anomalies")).await;
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
