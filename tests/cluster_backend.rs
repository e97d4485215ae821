//! The backend against the real clusters `scripts/clusters start` runs: Elasticsearch at
//! `LOGWARDEN_TEST_ES_URL`, OpenSearch at `LOGWARDEN_TEST_OS_URL`. A missing or unreachable
//! cluster fails the test (it never skips): run `scripts/clusters start` and
//! `eval "$(scripts/clusters env)"`, or `scripts/test`.
//!
//! Each engine gets the same scenario: bulk-load a few thousand realistic log documents into
//! two indices of one pattern (bad ones included, timestamps shared across shards and
//! indices, `_id`s repeated across indices, documents on both window edges), read the
//! window back in small pages and check every document comes exactly once and every bad one
//! is counted with its id; then install the anomaly template, write anomalies twice and
//! check the ids keep the count, and that the index mapping is exactly the shipped one.

mod cluster_support;

use chrono::{DateTime, Duration, TimeZone, Utc};
use logwarden::backend::bulk::{write_docs, BulkDoc};
use logwarden::backend::{
    connect, read_window, Backend, BackendConfig, Engine, TemplateOutcome, WindowRequest,
    ANOMALY_MAPPING,
};
use logwarden::model::{
    content_id, ecs_severity, Anomaly, AnomalyBody, AnomalyType, EventRef, FeedbackRef,
    IncidentRef, ModelRef, PatternRef, ServiceRef, Severity, Window,
};
use logwarden::source::{FieldsConfig, Problem};
use serde_json::{json, Value};
use std::collections::{BTreeMap, BTreeSet};

async fn backend_from_env(var: &str, engine: Engine) -> Box<dyn Backend> {
    cluster_support::backend(var, engine, |cfg| {
        cfg.read.page_size = 97; // prime, so page ends fall inside groups of equal timestamps
        cfg.read.max_message_bytes = 16 * 1024;
        cfg.bulk.max_docs = 400;
        cfg.request_timeout_secs = 30;
    })
    .await
}

fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 2, 9, 0, 0).unwrap()
}

/// A small deterministic generator, so the data is the same on every run.
struct Lcg(u64);
impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        self.0 >> 33
    }
    fn pick<'a>(&mut self, xs: &[&'a str]) -> &'a str {
        xs[(self.next() % xs.len() as u64) as usize]
    }
}

fn message(rng: &mut Lcg, service: &str) -> String {
    match service {
        "api" => format!(
            "{} /api/v1/{}/{} {} in {}ms",
            rng.pick(&["GET", "POST", "PUT"]),
            rng.pick(&["users", "orders", "carts"]),
            rng.next() % 10_000,
            rng.pick(&["200", "200", "200", "201", "404", "500"]),
            rng.next() % 900 + 3
        ),
        "auth" => format!(
            "user {} logged in from 10.{}.{}.{}",
            rng.next() % 5000,
            rng.next() % 255,
            rng.next() % 255,
            rng.next() % 255
        ),
        _ => format!(
            "query on {} took {}ms (pool {}/20)",
            rng.pick(&["orders", "users", "inventory"]),
            rng.next() % 2000,
            rng.next() % 21
        ),
    }
}

/// What was loaded, and what a read of `(t0, t0 + 1h]` must return.
struct Loaded {
    /// (index, id) of every document that must come back as a record.
    good: BTreeSet<(String, String)>,
    /// (index, id) → problem, for each bad document inside the window.
    bad: BTreeMap<(String, String), Problem>,
    /// (index, id) of the documents whose message must come back cut.
    truncated: BTreeSet<(String, String)>,
}

async fn load_logs(b: &dyn Backend, prefix: &str) -> Loaded {
    let (ia, ib, ic) = (
        format!("{prefix}-a"),
        format!("{prefix}-b"),
        format!("{prefix}-c"),
    );
    // Three shards so equal timestamps and equal `_doc`s meet across shards; no replicas on a
    // one-node cluster.
    b.create_index(
        &ia,
        json!({"settings": {"number_of_shards": 3, "number_of_replicas": 0},
               "mappings": {"properties": {"@timestamp": {"type": "date"}, "message": {"type": "text"}}}}),
    )
    .await
    .unwrap();
    b.create_index(
        &ib,
        json!({"settings": {"number_of_shards": 1, "number_of_replicas": 0},
               "mappings": {"dynamic": false, "properties": {"@timestamp": {"type": "date"}}}}),
    )
    .await
    .unwrap();
    b.create_index(
        &ic,
        json!({"settings": {"number_of_shards": 3, "number_of_replicas": 0}}),
    )
    .await
    .unwrap();

    let mut rng = Lcg(42);
    let mut loaded = Loaded {
        good: BTreeSet::new(),
        bad: BTreeMap::new(),
        truncated: BTreeSet::new(),
    };
    let mut a_docs = Vec::new();
    let mut b_docs = Vec::new();
    let mut c_docs = Vec::new();
    let services = ["api", "auth", "db"];
    for i in 0..3000u64 {
        // Groups of six share a millisecond.
        let ts = t0() + Duration::milliseconds(1 + (i / 6) as i64 * 1150);
        let service = services[(i % 3) as usize];
        let id = format!("d{i:05}");
        let mut doc = json!({
            "@timestamp": ts.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
            "message": message(&mut rng, service),
            "service": {"name": service},
            "log": {"level": rng.pick(&["INFO", "INFO", "INFO", "WARN", "ERROR", "DEBUG"])},
            "host": {"name": format!("node-{}", rng.next() % 4)}
        });
        let key = (ia.clone(), id.clone());
        match i % 250 {
            7 => {
                doc.as_object_mut().unwrap().remove("message");
                loaded.bad.insert(key, Problem::MissingMessage);
            }
            13 => {
                doc["message"] = json!("x".repeat(100 * 1024));
                loaded.truncated.insert(key.clone());
                loaded.good.insert(key);
            }
            _ => {
                loaded.good.insert(key);
            }
        }
        a_docs.push(BulkDoc {
            id,
            source: doc.to_string(),
        });
    }
    // Another app logs at second precision: sixty documents share each timestamp, in index b
    // (one shard, some with a `message` that is an object) and again, with the same `_id`s
    // and timestamps, in index c (three shards). Neither `_doc` nor `_id` alone can order
    // these uniquely.
    for i in 0..600u64 {
        let ts = t0() + Duration::seconds(1 + (i / 60) as i64);
        let id = format!("d{i:05}");
        loaded.good.insert((ic.clone(), id.clone()));
        c_docs.push(BulkDoc {
            id: id.clone(),
            source: json!({"@timestamp": ts.to_rfc3339(), "message": format!("invoice {i} queued"), "service.name": "billing"}).to_string(),
        });
        let key = (ib.clone(), id.clone());
        let doc = if i % 50 == 0 {
            loaded.bad.insert(key, Problem::WrongType);
            json!({"@timestamp": ts.to_rfc3339(), "message": {"text": "structured", "code": 7}, "service.name": "billing"})
        } else {
            loaded.good.insert(key);
            json!({"@timestamp": ts.to_rfc3339(), "message": format!("invoice {i} sent"), "service.name": "billing", "log.level": "info"})
        };
        b_docs.push(BulkDoc {
            id,
            source: doc.to_string(),
        });
    }
    // The edges: exactly at the start is outside, exactly at the end inside; before and after
    // and without a timestamp are never read.
    let edge = |id: &str, ts: Option<DateTime<Utc>>| {
        let mut d = json!({"message": format!("edge {id}"), "service": {"name": "api"}});
        if let Some(ts) = ts {
            d["@timestamp"] = json!(ts.to_rfc3339());
        }
        BulkDoc {
            id: id.to_string(),
            source: d.to_string(),
        }
    };
    b_docs.push(edge("at-start", Some(t0())));
    b_docs.push(edge("before", Some(t0() - Duration::seconds(5))));
    b_docs.push(edge(
        "after",
        Some(t0() + Duration::hours(1) + Duration::milliseconds(1)),
    ));
    b_docs.push(edge("no-timestamp", None));
    b_docs.push(edge("at-end", Some(t0() + Duration::hours(1))));
    loaded.good.insert((ib.clone(), "at-end".to_string()));

    for (index, docs) in [(&ia, a_docs), (&ib, b_docs), (&ic, c_docs)] {
        let n = docs.len() as u64;
        let r = write_docs(b, index, docs, &b.config().bulk).await.unwrap();
        assert!(
            r.is_complete(),
            "loading {index}: {:?}",
            &r.failed[..r.failed.len().min(3)]
        );
        assert_eq!(r.written, n);
        assert!(
            r.requests >= n / 400,
            "chunked into {} requests",
            r.requests
        );
    }
    b.refresh(&format!("{prefix}-*")).await.unwrap();
    assert_eq!(b.count(&ia).await.unwrap(), 3000);
    assert_eq!(b.count(&ib).await.unwrap(), 605);
    assert_eq!(b.count(&ic).await.unwrap(), 600);
    loaded
}

async fn read_back_every_document_once(b: &dyn Backend, prefix: &str, loaded: &Loaded) {
    let req = WindowRequest {
        index: format!("{prefix}-*"),
        start: t0(),
        end: t0() + Duration::hours(1),
        filter: None,
        fields: FieldsConfig::default(),
    };
    let mut reader = read_window(b, req).await.unwrap();
    let mut seen = BTreeSet::new();
    let mut pages = 0;
    let mut last_ts = None;
    while let Some(page) = reader.next_page().await.unwrap() {
        pages += 1;
        assert!(page.documents <= 97);
        for r in page.records {
            if let Some(prev) = last_ts {
                assert!(r.record.timestamp >= prev, "records out of order");
            }
            last_ts = Some(r.record.timestamp);
            let key = (r.index.clone(), r.id.clone());
            if loaded.truncated.contains(&key) {
                assert_eq!(r.record.message.len(), 16 * 1024);
            }
            assert!(seen.insert(key.clone()), "{key:?} read twice");
        }
    }
    let report = reader.close().await.unwrap();
    let missing: Vec<_> = loaded.good.difference(&seen).take(5).collect();
    let extra: Vec<_> = seen.difference(&loaded.good).take(5).collect();
    assert!(
        missing.is_empty() && extra.is_empty(),
        "missing {missing:?}, unexpected {extra:?}"
    );
    assert_eq!(seen.len(), loaded.good.len());
    assert!(
        pages > 30,
        "{pages} pages: the window must cross many page boundaries"
    );

    // Every bad document is counted, and the first ones are named with their ids.
    assert_eq!(
        report.documents as usize,
        loaded.good.len() + loaded.bad.len()
    );
    assert_eq!(report.records as usize, loaded.good.len());
    assert_eq!(report.rejected as usize, loaded.bad.len());
    let by_kind = |p| loaded.bad.values().filter(|&&q| q == p).count() as u64;
    assert_eq!(
        report.problems.get(&Problem::MissingMessage).copied(),
        Some(by_kind(Problem::MissingMessage))
    );
    assert_eq!(
        report.problems.get(&Problem::WrongType).copied(),
        Some(by_kind(Problem::WrongType))
    );
    assert_eq!(
        report.problems.get(&Problem::MessageTruncated).copied(),
        Some(loaded.truncated.len() as u64)
    );
    assert!(!report.first.is_empty());
    for bad in &report.first {
        let key = (bad.index.clone(), bad.id.clone());
        match bad.problem {
            Problem::MessageTruncated => assert!(loaded.truncated.contains(&key)),
            p => assert_eq!(loaded.bad.get(&key), Some(&p), "{bad:?}"),
        }
    }
}

/// The source's optional query applies on top of the window: only index c's 600, in the
/// window (t0, t0 + 4 s], which holds its seconds 1 to 4 → 240 of them.
async fn a_filter_narrows_the_window(b: &dyn Backend, prefix: &str) {
    let req = WindowRequest {
        index: format!("{prefix}-*"),
        start: t0(),
        end: t0() + Duration::seconds(4),
        filter: Some(json!({"term": {"_index": format!("{prefix}-c")}})),
        fields: FieldsConfig::default(),
    };
    let mut reader = read_window(b, req).await.unwrap();
    let records = reader.collect().await.unwrap();
    let report = reader.close().await.unwrap();
    assert_eq!(records.len(), 240, "seconds 1-4 hold 60 documents each");
    assert!(records.iter().all(|r| r.index == format!("{prefix}-c")));
    assert!(records.iter().all(|r| r.record.service == "billing"));
    assert_eq!(report.rejected, 0);
}

/// A source whose indices do not exist yet (a fresh install) reads as empty.
async fn a_pattern_without_indices_is_an_empty_window(b: &dyn Backend, run: &str) {
    let req = WindowRequest {
        index: format!("lw-test-none-{run}-*"),
        start: t0(),
        end: t0() + Duration::hours(1),
        filter: None,
        fields: FieldsConfig::default(),
    };
    let mut reader = read_window(b, req).await.unwrap();
    assert!(reader.collect().await.unwrap().is_empty());
    let report = reader.close().await.unwrap();
    assert_eq!((report.documents, report.rejected), (0, 0));
}

fn anomaly(i: usize) -> Anomaly {
    let start = t0() + Duration::minutes(10 * (i % 6) as i64);
    let end = start + Duration::minutes(10);
    let kind = AnomalyType::ALL[i % AnomalyType::ALL.len()];
    let severity = [Severity::Low, Severity::Moderate, Severity::Critical][i % 3];
    let template = format!("GET /api/v1/<*> {} in <*>ms", 500 + i % 4);
    Anomaly {
        timestamp: start,
        anomaly: AnomalyBody {
            id: content_id(&[
                kind.as_str(),
                &template,
                &start.to_rfc3339(),
                &i.to_string(),
            ]),
            kind,
            severity,
            score: (i % 100) as f64,
            window: Window { start, end },
            observed: 40.0 + i as f64,
            expected: 3.5,
            unit: "count".to_string(),
            confidence: 0.9,
            probability: 1e-7,
            explanation: format!("{template} seen {} times where 3.5 were expected", 40 + i),
        },
        service: ServiceRef {
            name: ["api", "auth", "db"][i % 3].to_string(),
        },
        pattern: PatternRef {
            id: format!("t{i:016x}"),
            template: template.clone(),
            cluster_id: None,
            examples: vec![template.replace("<*>", "42")],
        },
        incident: IncidentRef {
            id: content_id(&["incident", &(i / 10).to_string()]),
        },
        model: ModelRef {
            version: "test-1".to_string(),
        },
        feedback: FeedbackRef::default(),
        tenant: "default".to_string(),
        event: EventRef {
            kind: "alert".to_string(),
            start,
            end,
            severity: ecs_severity(severity),
            risk_score: (i % 100) as f64,
        },
        parameter: None,
        forecast: None,
    }
}

async fn anomalies_are_written_once_with_the_shipped_mapping(b: &dyn Backend, index: &str) {
    assert_eq!(
        b.ensure_anomaly_template(index).await.unwrap(),
        TemplateOutcome::Installed
    );
    assert_eq!(
        b.ensure_anomaly_template(index).await.unwrap(),
        TemplateOutcome::Present
    );

    let anomalies: Vec<_> = (0..1000).map(anomaly).collect();
    let first = b.write_anomalies(index, &anomalies).await.unwrap();
    assert!(first.is_complete(), "{:?}", first.failed);
    assert_eq!((first.written, first.created), (1000, 1000));
    assert_eq!(
        first.requests, 3,
        "1000 documents in requests of at most 400"
    );
    b.refresh(index).await.unwrap();
    assert_eq!(b.count(index).await.unwrap(), 1000);

    // A replay writes the same ids: nothing new.
    let again = b.write_anomalies(index, &anomalies).await.unwrap();
    assert!(again.is_complete());
    assert_eq!((again.written, again.created), (1000, 0));
    b.refresh(index).await.unwrap();
    assert_eq!(b.count(index).await.unwrap(), 1000);

    // The index took the template's mapping, and writing added no field to it.
    let shipped: Value = serde_json::from_str(ANOMALY_MAPPING).unwrap();
    let got = b.get_mapping(index).await.unwrap();
    let mappings = &got[index]["mappings"];
    assert_eq!(
        mappings["properties"], shipped["properties"],
        "mapping drifted from mappings/anomalies.json"
    );
    assert!(
        mappings["dynamic"] == json!(false) || mappings["dynamic"] == json!("false"),
        "dynamic is {}",
        mappings["dynamic"]
    );
    assert_eq!(
        mappings["_meta"]["logwarden_mapping_version"],
        shipped["_meta"]["logwarden_mapping_version"]
    );

    // A document that breaks the mapping is reported with its id, never dropped silently.
    let bad = BulkDoc {
        id: "broken".to_string(),
        source: json!({"@timestamp": "not a date", "anomaly": {"id": "broken"}}).to_string(),
    };
    let r = write_docs(b, index, vec![bad], &b.config().bulk)
        .await
        .unwrap();
    assert_eq!(r.written, 0);
    assert_eq!(r.failed.len(), 1);
    assert_eq!(
        (r.failed[0].id.as_str(), r.failed[0].status),
        ("broken", 400)
    );
    assert!(
        r.failed[0].reason.contains("@timestamp") || r.failed[0].reason.contains("date"),
        "{}",
        r.failed[0].reason
    );
    assert_eq!(r.retries, 0, "a mapping error is not retried");
}

async fn scenario(var: &str, engine: Engine) {
    let b = backend_from_env(var, engine).await;
    let run = format!(
        "{}",
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_millis()
    );
    let prefix = format!("lw-test-logs-{run}");
    let anomalies = format!("lw-test-anomalies-{run}");
    let loaded = load_logs(b.as_ref(), &prefix).await;
    read_back_every_document_once(b.as_ref(), &prefix, &loaded).await;
    a_filter_narrows_the_window(b.as_ref(), &prefix).await;
    a_pattern_without_indices_is_an_empty_window(b.as_ref(), &run).await;
    anomalies_are_written_once_with_the_shipped_mapping(b.as_ref(), &anomalies).await;
    for index in [
        format!("{prefix}-a"),
        format!("{prefix}-b"),
        format!("{prefix}-c"),
        anomalies,
    ] {
        b.delete_index(&index).await.unwrap();
    }
}

#[tokio::test]
async fn elasticsearch_reads_windows_and_writes_anomalies() {
    scenario("LOGWARDEN_TEST_ES_URL", Engine::Elasticsearch).await;
}

#[tokio::test]
async fn opensearch_reads_windows_and_writes_anomalies() {
    scenario("LOGWARDEN_TEST_OS_URL", Engine::Opensearch).await;
}

#[tokio::test]
async fn an_unreachable_cluster_is_a_transient_error_without_url_or_credentials() {
    // Port 9 (discard) on loopback: nothing listens there on these machines.
    std::env::set_var("LW_TEST_UNREACHABLE_PW", "pw-never-shown");
    let mut cfg = BackendConfig::for_url("http://127.0.0.1:9");
    cfg.auth = logwarden::backend::AuthConfig::Basic {
        username: "elastic".to_string(),
        password: logwarden::backend::SecretRef::env("LW_TEST_UNREACHABLE_PW"),
    };
    cfg.request_timeout_secs = 5;
    let err = match connect(&cfg).await {
        Ok(_) => panic!("something answered on 127.0.0.1:9"),
        Err(e) => e,
    };
    assert!(err.is_transient(), "{err:?}");
    let text = format!("{err} {err:?}");
    assert!(text.contains("unreachable"), "{text}");
    assert!(!text.contains("127.0.0.1"), "URL leaked: {text}");
    assert!(!text.contains("pw-never-shown"), "secret leaked: {text}");
}

#[tokio::test]
async fn credentials_configured_by_env_reach_the_cluster() {
    // The test cluster has security off, so it accepts any credentials: this checks that the
    // header is built and sent without breaking requests, and that the secret is resolved.
    let url = std::env::var("LOGWARDEN_TEST_ES_URL")
        .expect("LOGWARDEN_TEST_ES_URL is not set: run `scripts/clusters start`");
    std::env::set_var("LW_TEST_API_KEY", "not-a-real-key");
    let mut cfg = BackendConfig::for_url(url);
    cfg.auth = logwarden::backend::AuthConfig::ApiKey {
        id: "lw-test".to_string(),
        key: logwarden::backend::SecretRef::env("LW_TEST_API_KEY"),
    };
    let b = connect(&cfg)
        .await
        .expect("cannot reach the Elasticsearch test cluster: run `scripts/clusters start`");
    assert_eq!(b.info().engine, Engine::Elasticsearch);
    assert!(!format!("{:?}", b.config()).contains("not-a-real-key"));
    cfg.auth = logwarden::backend::AuthConfig::ApiKey {
        id: "lw-test".to_string(),
        key: logwarden::backend::SecretRef::env("LW_TEST_UNSET_KEY_VAR"),
    };
    let err = connect(&cfg)
        .await
        .err()
        .expect("a missing secret must fail");
    assert!(err.to_string().contains("LW_TEST_UNSET_KEY_VAR"), "{err}");
}

/// While the anomaly index carries the read-only-allow-delete block (what a full disk sets),
/// both engines answer writes with 429: the writer must back off and retry until the block is
/// lifted, then have every document written once; and when the block stays, report every
/// document with its id instead of dropping it.
async fn blocked_writes_are_retried_then_reported(b: &dyn Backend, index: &str) {
    b.ensure_anomaly_template(index).await.unwrap();
    b.create_index(index, json!({"settings": {"number_of_replicas": 0}}))
        .await
        .unwrap();
    let block = json!({"index.blocks.read_only_allow_delete": true});
    let unblock = json!({"index.blocks.read_only_allow_delete": null});
    let anomalies: Vec<_> = (0..50).map(anomaly).collect();

    b.put_index_settings(index, block.clone()).await.unwrap();
    let (report, ()) = tokio::join!(b.write_anomalies(index, &anomalies), async {
        tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
        b.put_index_settings(index, unblock.clone()).await.unwrap();
    });
    let report = report.unwrap();
    assert!(
        report.is_complete(),
        "{:?}",
        &report.failed[..report.failed.len().min(2)]
    );
    assert!(
        report.retries >= 1,
        "the block must have caused retries: {report:?}"
    );
    assert_eq!((report.written, report.created), (50, 50));
    b.refresh(index).await.unwrap();
    assert_eq!(b.count(index).await.unwrap(), 50);

    // Blocked for good, with few retries: every document is reported, none silently lost.
    b.put_index_settings(index, block).await.unwrap();
    let more: Vec<_> = (50..60).map(anomaly).collect();
    let mut cfg = b.config().bulk.clone();
    cfg.max_retries = 2;
    cfg.initial_backoff_ms = 20;
    let docs = logwarden::backend::bulk::anomaly_docs(&more).unwrap();
    let r = write_docs(b, index, docs, &cfg).await.unwrap();
    assert_eq!(r.written, 0);
    assert_eq!(r.retries, 2);
    let failed: BTreeSet<_> = r.failed.iter().map(|f| f.id.clone()).collect();
    let wanted: BTreeSet<_> = more.iter().map(|a| a.anomaly.id.clone()).collect();
    assert_eq!(failed, wanted);
    assert!(
        r.failed
            .iter()
            .all(|f| f.status == 429 && f.reason.contains("gave up after 2 retries")),
        "{:?}",
        r.failed[0]
    );
    b.put_index_settings(index, unblock).await.unwrap();
    b.delete_index(index).await.unwrap();
}

#[tokio::test]
async fn elasticsearch_retries_blocked_writes() {
    let b = backend_from_env("LOGWARDEN_TEST_ES_URL", Engine::Elasticsearch).await;
    blocked_writes_are_retried_then_reported(
        b.as_ref(),
        &format!("lw-test-blocked-{}", std::process::id()),
    )
    .await;
}

#[tokio::test]
async fn opensearch_retries_blocked_writes() {
    let b = backend_from_env("LOGWARDEN_TEST_OS_URL", Engine::Opensearch).await;
    blocked_writes_are_retried_then_reported(
        b.as_ref(),
        &format!("lw-test-blocked-{}", std::process::id()),
    )
    .await;
}

/// A log sink for the calling thread (`#[tokio::test]` runs on one thread), so the test can
/// read what the request layer logged.
#[derive(Clone, Default)]
struct Captured(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

impl std::io::Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Captured {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }
}

/// PUT a legacy `_template` twice through `send_raw` and return the two answers' warnings,
/// how much the warnings counter rose, and what was logged meanwhile.
async fn put_legacy_template_twice(b: &dyn Backend, name: &str) -> (Vec<Vec<String>>, u64, String) {
    use logwarden::backend::HttpMethod;
    let log = Captured::default();
    let sink = log.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_writer(move || sink.clone())
        .with_ansi(false)
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);
    let path = format!("/_template/{name}");
    let body =
        json!({"index_patterns": [format!("{name}-*")], "settings": {"number_of_shards": 1}});
    let counter = logwarden::telemetry::engine_warnings();
    let before = counter.get();
    let mut warnings = Vec::new();
    for _ in 0..2 {
        let r = b
            .send_raw(
                "legacy template",
                HttpMethod::Put,
                &path,
                &[],
                Some(body.clone()),
            )
            .await
            .unwrap();
        assert!(r.is_success(), "{} {:?}", r.status, r.body);
        warnings.push(r.warnings);
    }
    let rose = counter.get() - before;
    let gone = b
        .send_raw("legacy template", HttpMethod::Delete, &path, &[], None)
        .await
        .unwrap();
    assert!(gone.is_success(), "{} {:?}", gone.status, gone.body);
    (warnings, rose, log.text())
}

#[tokio::test]
async fn elasticsearch_deprecation_warnings_are_read_logged_once_and_counted() {
    let b = backend_from_env("LOGWARDEN_TEST_ES_URL", Engine::Elasticsearch).await;
    let (warnings, rose, log) = put_legacy_template_twice(b.as_ref(), "lw-test-legacy-es").await;
    for w in &warnings {
        assert_eq!(w.len(), 1, "{warnings:?}");
        assert!(
            w[0].starts_with("Legacy index templates are deprecated"),
            "{warnings:?}"
        );
    }
    // Other tests of this process may warn too: at least ours were counted.
    assert!(rose >= 2, "the counter rose by {rose}");
    assert_eq!(
        log.matches("Legacy index templates are deprecated").count(),
        1,
        "logged once per process:\n{log}"
    );
    assert!(log.contains("WARN"), "{log}");
    assert!(
        log.contains("PUT") && log.contains("/_template/lw-test-legacy-es"),
        "{log}"
    );
    assert!(
        !log.contains("127.0.0.1") && !log.contains("http"),
        "no URL: {log}"
    );
}

#[tokio::test]
async fn opensearch_answers_a_legacy_template_without_warning() {
    let b = backend_from_env("LOGWARDEN_TEST_OS_URL", Engine::Opensearch).await;
    let (warnings, _, log) = put_legacy_template_twice(b.as_ref(), "lw-test-legacy-os").await;
    // OpenSearch keeps legacy templates without deprecating them (checked on 3.6.0 and
    // 2.19.6); the counter is shared with the Elasticsearch test, so only the answers and the
    // log are ours to check.
    assert_eq!(warnings, [Vec::<String>::new(), Vec::new()]);
    assert!(!log.contains("the cluster warns"), "{log}");
}
