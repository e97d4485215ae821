//! Shared by the sidecar tests: a log history with one incident, loaded into a real cluster,
//! and the sidecar's config for it.
//!
//! The data: two services over two days and three hours, ending a few minutes ago; in the
//! last three hours `api` starts failing with a database error it never logged before and
//! `worker` goes silent for half an hour. Bad documents are mixed in.

#![allow(dead_code)]

use chrono::{DateTime, Duration, DurationRound, Utc};
use logwarden::backend::bulk::{write_docs, BulkDoc};
use logwarden::backend::{connect, Backend, BackendConfig, HttpMethod};
use logwarden::config::Config;
use logwarden::sidecar::{self, health::Metrics, RunOptions, RunSummary};
use serde_json::{json, Value};
use std::collections::BTreeSet;
use std::path::Path;

pub async fn backend(var: &str) -> Box<dyn Backend> {
    let url = std::env::var(var).unwrap_or_else(|_| {
        panic!("{var} is not set: run `scripts/clusters start` and `eval \"$(scripts/clusters env)\"`, or `scripts/test`")
    });
    connect(&BackendConfig::for_url(&url))
        .await
        .unwrap_or_else(|e| panic!("cannot reach the test cluster at {url}: {e}"))
}

/// The end of the data, and the start of the replay three hours before it.
pub fn anchor() -> DateTime<Utc> {
    (Utc::now() - Duration::minutes(3))
        .duration_trunc(Duration::minutes(10))
        .unwrap()
}

pub struct Data {
    /// The documents, bad ones included.
    pub docs: Vec<BulkDoc>,
}

pub fn doc(t: DateTime<Utc>, service: &str, level: &str, message: &str) -> Value {
    json!({"@timestamp": t.to_rfc3339(), "service": {"name": service}, "log": {"level": level}, "message": message})
}

pub fn generate(end: DateTime<Utc>, from: DateTime<Utc>) -> Data {
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

pub async fn reset(b: &dyn Backend, prefix: &str) {
    for suffix in ["logs", "anomalies", "incidents", "patterns", "state"] {
        delete_all(b, &format!("{prefix}{suffix}")).await;
    }
}

/// Load the data into `<prefix>logs`, whose mapping leaves `message` unmapped so documents
/// of any shape get in (as they do in real clusters with loose mappings).
pub async fn load(b: &dyn Backend, prefix: &str, data: &Data) {
    let index = format!("{prefix}logs");
    b.create_index(&index, json!({"settings": {"number_of_shards": 2, "number_of_replicas": 0}, "mappings": {"dynamic": false, "properties": {"@timestamp": {"type": "date"}, "service": {"properties": {"name": {"type": "keyword"}}}, "log": {"properties": {"level": {"type": "keyword"}}}}}})).await.unwrap();
    write_all(b, &index, data.docs.clone()).await;
}

/// Write `docs` into `index`, all of them, and refresh it.
pub async fn write_all(b: &dyn Backend, index: &str, docs: Vec<BulkDoc>) {
    let mut cfg = b.config().bulk.clone();
    cfg.max_docs = 2000;
    let r = write_docs(b, index, docs, &cfg).await.unwrap();
    assert!(
        r.failed.is_empty(),
        "{:?}",
        &r.failed[..r.failed.len().min(3)]
    );
    b.refresh(index).await.unwrap();
}

/// The sidecar's config: logs from `<prefix>logs`, everything it writes to `<out>…`.
pub fn config_to(url: &str, prefix: &str, out: &str, state_dir: &Path, extra: &str) -> Config {
    let yaml = format!(
        "tenant: t\ncluster:\n  url: {url}\n  read:\n    page_size: 1000\nsources:\n  app:\n    index: \"{prefix}logs\"\n\
         indices:\n  anomalies: {out}anomalies\n  incidents: {out}incidents\n  patterns: {out}patterns\n  state: {out}state\n\
         run:\n  delay_secs: 0\n  backfill_days: 2\n  warmup_hours: 4\n  listen: \"\"\n  max_window_secs: 1800\n  state_dir: {}\n{extra}",
        state_dir.display()
    );
    Config::from_yaml(&yaml).unwrap()
}

/// `run` live (not `--once`) from `from`, in a task of its own: its handle, its metrics and
/// the switch that stops it.
pub fn run_live(
    cfg: &Config,
    from: DateTime<Utc>,
) -> (
    tokio::task::JoinHandle<anyhow::Result<RunSummary>>,
    Metrics,
    tokio::sync::watch::Sender<bool>,
) {
    let metrics = Metrics::new();
    let (tx, rx) = tokio::sync::watch::channel(false);
    let opts = RunOptions {
        once: false,
        from: Some(from),
        until: None,
        force_templates: false,
    };
    let run = tokio::spawn(sidecar::run(cfg.clone(), opts, metrics.clone(), rx));
    (run, metrics, tx)
}

/// Wait until `done`, failing with `why()` after `secs` seconds.
pub async fn wait_until(secs: u64, mut done: impl FnMut() -> bool, why: impl Fn() -> String) {
    let t0 = std::time::Instant::now();
    while !done() {
        assert!(t0.elapsed().as_secs() < secs, "{}", why());
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
}

/// `run --once --from from --until until`, in process. Stopping at the end of the data keeps
/// the result the same however long the test takes: a run that went on to "now" would judge
/// the empty minutes after the data, and a later run more of them than an earlier one.
pub async fn run_once(
    cfg: &Config,
    from: DateTime<Utc>,
    until: DateTime<Utc>,
) -> (RunSummary, Metrics) {
    let metrics = Metrics::new();
    let (_tx, rx) = tokio::sync::watch::channel(false);
    let opts = RunOptions {
        once: true,
        from: Some(from),
        until: Some(until),
        force_templates: false,
    };
    let s = sidecar::run(cfg.clone(), opts, metrics.clone(), rx)
        .await
        .unwrap();
    (s, metrics)
}

pub async fn search_all(b: &dyn Backend, index: &str) -> Vec<Value> {
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

pub fn ids(hits: &[Value]) -> BTreeSet<String> {
    hits.iter()
        .map(|h| h["_id"].as_str().unwrap().to_string())
        .collect()
}

/// The sidecar's config with logs and output under one prefix.
pub fn config(url: &str, prefix: &str, state_dir: &Path, extra: &str) -> Config {
    config_to(url, prefix, prefix, state_dir, extra)
}

/// Delete `base` and its weekly indices `base-*`.
pub async fn delete_all(b: &dyn Backend, base: &str) {
    b.delete_index(base).await.unwrap();
    let found = logwarden::backend::templates::existing_indices(b, base)
        .await
        .unwrap();
    for index in found.keys() {
        b.delete_index(index).await.unwrap();
    }
}

/// Serve `/health`, `/metrics`, the API and the page of `cfg` on a free loopback port until
/// the test ends.
pub async fn serve_api(cfg: &Config, metrics: Metrics) -> std::net::SocketAddr {
    let api = std::sync::Arc::new(logwarden::sidecar::api::Api::new(cfg).unwrap());
    logwarden::sidecar::health::serve(
        "127.0.0.1:0".parse().unwrap(),
        metrics,
        Some(api),
        std::future::pending(),
    )
    .await
    .unwrap()
}
