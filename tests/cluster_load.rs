//! `logwarden load` and `logwarden feed` against the real clusters `scripts/clusters start`
//! runs: Elasticsearch at `LOGWARDEN_TEST_ES_URL`, OpenSearch at `LOGWARDEN_TEST_OS_URL`. A
//! missing or unreachable cluster fails the test (it never skips): run
//! `scripts/clusters start` and `eval "$(scripts/clusters env)"`, or `scripts/test`.
//!
//! Each engine gets: the `load` binary on a file with good lines, bad lines (invalid JSON, no
//! timestamp, an unreadable timestamp) and one document the cluster refuses (a mapping
//! conflict), checked by the count in the index, the line numbers and the id in the summary
//! and the exit status, then loaded again without duplicates; the feed's history written
//! twice with one count; and a few seconds of following with no line written before its
//! time.

mod cluster_support;

use chrono::{DateTime, Duration, TimeZone, Utc};
use logwarden::backend::load::{doc_id, LoadOptions};
use logwarden::backend::{Backend, Engine};
use logwarden::demo::feed::{feed_history, follow, history_start, Feed, FeedSettings};
use serde_json::{json, Value};
use std::process::Command;
use std::sync::Arc;

use cluster_support::url;

async fn backend(var: &str, engine: Engine) -> Arc<dyn Backend> {
    Arc::from(cluster_support::backend(var, engine, |cfg| cfg.bulk.max_docs = 50).await)
}

fn good(i: u32) -> String {
    let t = Utc.with_ymd_and_hms(2026, 11, 2, 9, 0, 0).unwrap() + Duration::seconds(i64::from(i));
    json!({
        "@timestamp": t.to_rfc3339(),
        "message": format!("GET /api/orders/{i} 200 in {}ms", 10 + i % 7),
        "service.name": "api",
        "log.level": "info",
        "host.name": "api-1",
    })
    .to_string()
}

/// The input file: 8 good lines (line numbers 1, 2, 4, 6, 8, 10, 11, 12), a blank line (9),
/// three bad lines, and one the cluster refuses (line 13: `service.name` is an object where
/// the mapping has a keyword).
fn input() -> (String, String) {
    let refused = json!({"@timestamp": "2026-11-02T09:10:00Z", "message": "x", "service.name": {"nested": true}}).to_string();
    let lines = [
        good(1),
        good(2),
        r#"{"@timestamp": "2026-11-02T09:00:03Z", "message": "cut off"#.to_string(),
        good(4),
        r#"{"message": "no time here", "service.name": "api"}"#.to_string(),
        good(6),
        r#"{"@timestamp": "last tuesday", "message": "when?"}"#.to_string(),
        good(8),
        String::new(),
        good(10),
        good(11),
        good(12),
        refused.clone(),
    ];
    (lines.join("\n") + "\n", refused)
}

fn load_cli(config: &std::path::Path, file: &std::path::Path, index: &str) -> (bool, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_logwarden"))
        .arg("--config")
        .arg(config)
        .args(["load", "--input"])
        .arg(file)
        .args(["--index", index, "--refresh"])
        .output()
        .expect("run logwarden");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

async fn load_scenario(var: &str, engine: Engine) {
    let b = backend(var, engine).await;
    let index = format!("feed-test-load-{}-{engine}", std::process::id());
    b.delete_index(&index).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("lw.yaml");
    std::fs::write(
        &config,
        format!("cluster:\n  url: {}\n  bulk:\n    max_docs: 3\n", url(var)),
    )
    .unwrap();
    let (text, refused) = input();
    let file = dir.path().join("logs.ndjson");
    std::fs::write(&file, text).unwrap();

    let (ok, err) = load_cli(&config, &file, &index);
    assert!(!ok, "a refused document must fail the run:\n{err}");
    assert_eq!(b.count(&index).await.unwrap(), 8, "{err}");
    for want in [
        "12 lines: 8 documents written to",
        "(8 new)",
        "3 bad lines skipped, 1 documents failed",
        "line 3: not_json:",
        "line 5: missing_timestamp: no field `@timestamp`",
        "line 7: bad_timestamp:",
        "1 documents were not written",
    ] {
        assert!(err.contains(want), "`{want}` missing in:\n{err}");
    }
    let failed = format!(
        "line 13: id {}: failed with status 400",
        doc_id(13, &refused)
    );
    assert!(err.contains(&failed), "`{failed}` missing in:\n{err}");
    // the good documents are there as they were in the file, under their ids
    let r = source_by_id(b.as_ref(), &index, &doc_id(4, &good(4)))
        .await
        .expect("document of line 4");
    assert_eq!(r["message"], "GET /api/orders/4 200 in 14ms");

    // loading again replaces, it does not duplicate
    let (_, err) = load_cli(&config, &file, &index);
    assert!(
        err.contains("8 documents written to") && err.contains("(0 new)"),
        "{err}"
    );
    assert_eq!(b.count(&index).await.unwrap(), 8);

    // a clean file exits 0
    let clean = dir.path().join("clean.ndjson");
    std::fs::write(&clean, format!("{}\n{}\n", good(20), good(21))).unwrap();
    let (ok, err) = load_cli(&config, &clean, &index);
    assert!(ok, "{err}");
    assert_eq!(b.count(&index).await.unwrap(), 10);
    b.delete_index(&index).await.unwrap();
}

/// One document's `_source` by id, through a search (the backend trait has no get).
async fn source_by_id(b: &dyn Backend, index: &str, id: &str) -> Option<Value> {
    let r = search(b, index, json!({"query": {"ids": {"values": [id]}}})).await;
    r.pointer("/hits/hits/0/_source").cloned()
}

/// How many documents of `index` are stamped after `t`.
async fn count_after(b: &dyn Backend, index: &str, t: DateTime<Utc>) -> u64 {
    let query = json!({"size": 0, "track_total_hits": true,
        "query": {"range": {"@timestamp": {"gt": t.to_rfc3339()}}}});
    let r = search(b, index, query).await;
    r.pointer("/hits/total/value")
        .and_then(Value::as_u64)
        .unwrap()
}

async fn search(b: &dyn Backend, index: &str, mut body: Value) -> Value {
    let pit = b.open_pit(index, "1m").await.unwrap();
    body["pit"] = json!({"id": pit, "keep_alive": "1m"});
    let r = b.search_pit(body).await.unwrap().check("search").unwrap();
    b.close_pit(&pit).await.ok();
    r
}

async fn feed_scenario(var: &str, engine: Engine) {
    let b = backend(var, engine).await;
    let index = format!("feed-test-feed-{}-{engine}", std::process::id());
    b.delete_index(&index).await.unwrap();
    let settings = FeedSettings {
        seed: 11,
        tz: chrono_tz::Europe::Berlin,
        rate: 0.5,
        days: 0,
        incidents_from: None,
    };
    // a night: heartbeats and a little traffic, 00:00-02:30 UTC
    let now: DateTime<Utc> = Utc.with_ymd_and_hms(2026, 11, 3, 2, 30, 0).unwrap();
    let opts = LoadOptions {
        refresh: true,
        ..LoadOptions::default()
    };
    let mut fractions = Vec::new();
    let (_, first) = feed_history(Arc::clone(&b), &index, &settings, now, opts.clone(), |f| {
        fractions.push(f)
    })
    .await
    .unwrap();
    assert_eq!(fractions.len(), 3, "one call per hour: {fractions:?}");
    assert_eq!(fractions.last().copied(), Some(1.0));
    let expected = Feed::new(&settings, history_start(now, 0)).take_until(now);
    assert!(expected.len() > 2_000, "{}", expected.len());
    assert_eq!(first.written, expected.len() as u64);
    assert_eq!(first.created, first.written);
    assert!(first.is_clean(), "{}", first.summary(&index));
    assert_eq!(b.count(&index).await.unwrap(), expected.len() as u64);
    let newest = expected.last().unwrap().1.clone();
    let got = source_by_id(
        b.as_ref(),
        &index,
        &doc_id(expected.len() as u64, &newest.json),
    )
    .await
    .expect("the newest line");
    assert_eq!(got, serde_json::from_str::<Value>(&newest.json).unwrap());

    // the same feed again (a restarted container) replaces its documents
    let (_, again) = feed_history(Arc::clone(&b), &index, &settings, now, opts.clone(), |_| {})
        .await
        .unwrap();
    assert_eq!((again.written, again.created), (first.written, 0));
    assert_eq!(b.count(&index).await.unwrap(), expected.len() as u64);

    // the command: today's history at a low rate, then its summary and count agree
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("lw.yaml");
    std::fs::write(&config, format!("cluster:\n  url: {}\n", url(var))).unwrap();
    let cli_index = format!("{index}-cli");
    b.delete_index(&cli_index).await.unwrap();
    let midnight_before = history_start(Utc::now(), 0).to_rfc3339();
    let out = Command::new(env!("CARGO_BIN_EXE_logwarden"))
        .arg("--config")
        .arg(&config)
        .args([
            "feed",
            "--index",
            &cli_index,
            "--days",
            "0",
            "--rate",
            "0.05",
            "--refresh",
        ])
        .output()
        .expect("run logwarden feed");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    // The command's midnight: the day it started, or the next if it ran across midnight.
    let midnight_after = history_start(Utc::now(), 0).to_rfc3339();
    assert!(
        [midnight_before, midnight_after]
            .iter()
            .any(|m| err.contains(&format!("history from {m}: "))),
        "{err}"
    );
    let written: u64 = err
        .split(" documents written to ")
        .next()
        .and_then(|head| head.rsplit(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no count in {err}"));
    assert_eq!(b.count(&cli_index).await.unwrap(), written, "{err}");
    b.delete_index(&cli_index).await.unwrap();

    // following: from 20 s ago for 3 s; nothing written ahead of its time
    let live_index = format!("{index}-live");
    b.delete_index(&live_index).await.unwrap();
    let mut feed = Feed::new(
        &FeedSettings {
            rate: 20.0,
            ..settings
        },
        Utc::now() - Duration::seconds(20),
    );
    let live = follow(
        Arc::clone(&b),
        &live_index,
        &mut feed,
        std::time::Duration::from_millis(500),
        LoadOptions {
            refresh: true,
            ..LoadOptions::default()
        },
        tokio::time::sleep(std::time::Duration::from_secs(3)),
        |_| {},
    )
    .await
    .unwrap();
    let stopped = Utc::now();
    assert!(
        live.written > 0 && live.is_clean(),
        "{}",
        live.summary(&live_index)
    );
    assert_eq!(live.written, feed.ordinal());
    assert_eq!(b.count(&live_index).await.unwrap(), live.written);
    let ahead = count_after(b.as_ref(), &live_index, stopped).await;
    assert_eq!(ahead, 0, "documents stamped after the feed stopped");
    b.delete_index(&index).await.unwrap();
    b.delete_index(&live_index).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn load_on_elasticsearch() {
    load_scenario("LOGWARDEN_TEST_ES_URL", Engine::Elasticsearch).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn load_on_opensearch() {
    load_scenario("LOGWARDEN_TEST_OS_URL", Engine::Opensearch).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn feed_on_elasticsearch() {
    feed_scenario("LOGWARDEN_TEST_ES_URL", Engine::Elasticsearch).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn feed_on_opensearch() {
    feed_scenario("LOGWARDEN_TEST_OS_URL", Engine::Opensearch).await;
}
