//! Points in time are closed on every path of a chunked window read, against the real
//! clusters: read to the end, and dropped by its consumer after the first page (as when the
//! window fails elsewhere or the run stops). The keep-alive is ten minutes, so a point in time
//! left open would still count as an open search context when the test looks.
//!
//! A test binary of its own with a single test: it counts the cluster's open search contexts,
//! which other tests reading at the same time would change. Needs the clusters of
//! `scripts/clusters start` and `eval "$(scripts/clusters env)"`.

mod cluster_support;

use chrono::{DateTime, Duration, Utc};
use logwarden::backend::prefetch::PrefetchReader;
use logwarden::backend::{Backend, Engine, HttpMethod, WindowRequest};
use logwarden::source::FieldsConfig;
use serde_json::{json, Value};
use std::sync::Arc;

async fn backend_from_env(var: &str, engine: Engine) -> Arc<dyn Backend> {
    let b = cluster_support::backend(var, engine, |cfg| {
        cfg.read.page_size = 20;
        cfg.read.keep_alive_secs = 600;
    })
    .await;
    Arc::from(b)
}

/// Open search contexts over all nodes (a point in time holds one per shard).
async fn open_contexts(b: &dyn Backend) -> u64 {
    let r = b
        .send_raw(
            "node stats",
            HttpMethod::Get,
            "/_nodes/stats/indices/search",
            &[],
            None,
        )
        .await
        .unwrap();
    assert!(r.is_success(), "{:?}", r.body);
    r.body["nodes"]
        .as_object()
        .unwrap()
        .values()
        .map(|n| n["indices"]["search"]["open_contexts"].as_u64().unwrap())
        .sum()
}

/// Wait up to ten seconds for the open contexts to fall back to `want`.
async fn contexts_fall_to(b: &dyn Backend, want: u64, what: &str) {
    let mut now = open_contexts(b).await;
    for _ in 0..100 {
        if now <= want {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        now = open_contexts(b).await;
    }
    panic!("{what}: {now} search contexts still open, {want} before the read");
}

fn t0() -> DateTime<Utc> {
    "2026-11-30T10:00:00Z".parse().unwrap()
}

async fn load(b: &dyn Backend, index: &str) {
    b.delete_index(index).await.unwrap();
    b.create_index(
        index,
        json!({"settings": {"number_of_shards": 2, "number_of_replicas": 0}}),
    )
    .await
    .unwrap();
    let mut lines = Vec::new();
    for i in 0..400 {
        let ts = t0() + Duration::seconds(i * 5);
        lines.push(json!({"index": {"_index": index}}).to_string());
        lines.push(
            json!({"@timestamp": ts.to_rfc3339(), "message": format!("request {i} served")})
                .to_string(),
        );
    }
    let r = b.bulk_raw(lines).await.unwrap();
    assert!(r.is_success(), "{:?}", r.body);
    assert_eq!(r.body["errors"], Value::Bool(false), "{:?}", r.body);
    b.refresh(index).await.unwrap();
}

fn reader(b: &Arc<dyn Backend>, index: &str) -> PrefetchReader {
    let req = WindowRequest {
        index: index.to_string(),
        start: t0() - Duration::seconds(1),
        end: t0() + Duration::hours(1),
        filter: None,
        fields: FieldsConfig::default(),
    };
    // Two chunks read side by side: two points in time open at once.
    PrefetchReader::new(b.clone(), req, 2, Duration::minutes(1), 2)
}

async fn check(var: &str, engine: Engine) {
    let b = backend_from_env(var, engine).await;
    let index = format!("logwarden-test-pit-{}", engine.as_str());
    load(b.as_ref(), &index).await;
    let before = open_contexts(b.as_ref()).await;

    // Read to the end: every point in time closed.
    let mut r = reader(&b, &index);
    let mut records = 0;
    while let Some(page) = r.next_page().await.unwrap() {
        records += page.len();
    }
    assert_eq!(records, 400, "{engine}: the whole window");
    contexts_fall_to(b.as_ref(), before, &format!("{engine}, read to the end")).await;

    // Dropped after the first page, with the chunks' tasks mid-read and pages buffered.
    let mut r = reader(&b, &index);
    let first = r.next_page().await.unwrap().unwrap();
    assert_eq!(first.len(), 20, "{engine}: one page");
    assert!(
        open_contexts(b.as_ref()).await > before,
        "{engine}: the points in time are open while the window is read"
    );
    drop(r);
    contexts_fall_to(b.as_ref(), before, &format!("{engine}, reader dropped")).await;

    b.delete_index(&index).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn points_in_time_are_closed_when_read_to_the_end_and_when_dropped() {
    check("LOGWARDEN_TEST_ES_URL", Engine::Elasticsearch).await;
    check("LOGWARDEN_TEST_OS_URL", Engine::Opensearch).await;
}
