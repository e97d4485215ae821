//! Throughput of the backend against the local test clusters: bulk-load N log documents, then
//! read their window back with point in time + `search_after`, and compare with one plain
//! `match_all` scan of the same documents in the same page size (the cluster's own pace).
//!
//! `scripts/clusters start && eval "$(scripts/clusters env)"`, then
//! `cargo bench --bench backend_throughput` (N from `LOGWARDEN_BENCH_DOCS`, default 200000;
//! engines from `LOGWARDEN_BENCH_ENGINES`, default `es,os`).

use chrono::{Duration, TimeZone, Utc};
use logwarden::backend::bulk::{write_docs, BulkDoc};
use logwarden::backend::{connect, read_window, Backend, BackendConfig, WindowRequest};
use logwarden::source::FieldsConfig;
use serde_json::json;
use std::time::Instant;

fn docs(n: usize) -> Vec<BulkDoc> {
    let t0 = Utc.with_ymd_and_hms(2026, 11, 2, 0, 0, 0).unwrap();
    let services = ["api", "auth", "db", "billing"];
    (0..n)
        .map(|i| {
            let ts = t0 + Duration::milliseconds(1 + (i as i64) * 7);
            let s = services[i % 4];
            let level = ["info", "info", "warn", "error"][i % 4];
            let status = [200, 200, 201, 404, 500][i % 5];
            BulkDoc {
                id: format!("b{i:08}"),
                source: json!({
                    "@timestamp": ts.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
                    "message": format!("GET /api/v1/orders/{} {} in {}ms from 10.0.{}.{}", i * 7919 % 100_000, status, i % 900, i % 255, i * 31 % 255),
                    "service": {"name": s},
                    "log": {"level": level},
                    "host": {"name": format!("node-{}", i % 8)},
                    "trace": {"id": format!("{:032x}", i as u128 * 0x9e3779b97f4a7c15)},
                    "http": {"request": {"bytes": i % 5000}}
                })
                .to_string(),
            }
        })
        .collect()
}

async fn bench(b: &dyn Backend, n: usize) {
    let index = format!("lw-bench-{}", std::process::id());
    b.create_index(
        &index,
        json!({"settings": {"number_of_shards": 2, "number_of_replicas": 0, "refresh_interval": "-1"}}),
    )
    .await
    .expect("create index");
    let data = docs(n);
    let started = Instant::now();
    let r = write_docs(b, &index, data, &b.config().bulk)
        .await
        .expect("bulk load");
    let load = started.elapsed().as_secs_f64();
    assert!(r.is_complete(), "{} documents failed", r.failed.len());
    b.refresh(&index).await.expect("refresh");
    println!(
        "  bulk load: {n} docs in {load:.1}s = {:.0} docs/s ({} requests, {} retries)",
        n as f64 / load,
        r.requests,
        r.retries
    );

    let t0 = Utc.with_ymd_and_hms(2026, 11, 2, 0, 0, 0).unwrap();
    let req = WindowRequest {
        index: index.clone(),
        start: t0,
        end: t0 + Duration::days(30),
        filter: None,
        fields: FieldsConfig::default(),
    };
    let started = Instant::now();
    let mut reader = read_window(b, req).await.expect("open window");
    let mut records = 0usize;
    while let Some(page) = reader.next_page().await.expect("page") {
        records += page.records.len();
    }
    let report = reader.close().await.expect("close");
    let read = started.elapsed().as_secs_f64();
    assert_eq!(records, n);
    println!(
        "  window read: {records} records in {read:.1}s = {:.0} records/s ({} pages)",
        records as f64 / read,
        report.requests
    );

    // The cluster's own pace: the same pages, sorted only by `_doc`, whole `_source`, no
    // conversion.
    let page = b.config().read.page_size;
    let pit = b.open_pit(&index, "2m").await.expect("pit");
    let started = Instant::now();
    let mut after: Option<serde_json::Value> = None;
    let mut seen = 0usize;
    loop {
        let mut body = json!({"size": page, "sort": [{"_doc": "asc"}], "track_total_hits": false,
                              "pit": {"id": pit, "keep_alive": "2m"}});
        if let Some(a) = &after {
            body["search_after"] = a.clone();
        }
        let r = b
            .search_pit(body)
            .await
            .expect("search")
            .check("search")
            .expect("search");
        let hits = r["hits"]["hits"].as_array().cloned().unwrap_or_default();
        seen += hits.len();
        if hits.len() < page {
            break;
        }
        after = hits.last().map(|h| h["sort"].clone());
    }
    let raw = started.elapsed().as_secs_f64();
    b.close_pit(&pit).await.ok();
    println!(
        "  raw _doc scan: {seen} docs in {raw:.1}s = {:.0} docs/s (window read at {:.0}% of it)",
        seen as f64 / raw,
        100.0 * raw / read
    );
    b.delete_index(&index).await.expect("delete");
}

#[tokio::main]
async fn main() {
    let n: usize = std::env::var("LOGWARDEN_BENCH_DOCS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(200_000);
    let engines = std::env::var("LOGWARDEN_BENCH_ENGINES").unwrap_or_else(|_| "es,os".to_string());
    for e in engines.split(',') {
        let var = match e.trim() {
            "es" => "LOGWARDEN_TEST_ES_URL",
            "os" => "LOGWARDEN_TEST_OS_URL",
            other => panic!("unknown engine `{other}` in LOGWARDEN_BENCH_ENGINES (es, os)"),
        };
        let url = std::env::var(var)
            .unwrap_or_else(|_| panic!("{var} is not set: run `scripts/clusters start` and `eval \"$(scripts/clusters env)\"`"));
        let mut cfg = BackendConfig::for_url(&url);
        cfg.bulk.max_docs = 5_000;
        cfg.read.page_size = 5_000;
        let b = connect(&cfg)
            .await
            .unwrap_or_else(|e| panic!("cannot reach {url} ({e}): run `scripts/clusters start`"));
        println!("{} {} at {url}:", b.info().engine, b.info().version);
        bench(b.as_ref(), n).await;
    }
}
