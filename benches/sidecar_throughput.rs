//! End to end on a local cluster: ≥ 1,000,000 demo log lines in one index, then the sidecar
//! binary over it as a subprocess (`logwarden run --config <tmp> --once`), with its CPU
//! seconds and peak RSS (from `/usr/bin/time`) and the cluster's CPU seconds over the same
//! interval (`_nodes/_local/stats/process`), against the cluster's own raw read pace on the
//! same index: point in time + `search_after` scans of the five needed `_source` fields in
//! the largest page the cluster allows, with the sidecar's sort and with `_doc` order, with
//! `filter_path`, in two parallel slices, and a scroll.
//!
//! Until `logwarden run` exists, the end-to-end row is the same work the sidecar does first,
//! in a child process of this bench: the window reader over the whole index into the trainer
//! (template mining, baseline, patterns).
//!
//! `scripts/clusters start`, then
//! `cargo bench --bench sidecar_throughput -- --engine elasticsearch` (or `opensearch`; no
//! `--engine` runs both). `--lines N` (default 1,000,000); `LOGWARDEN_BIN=path` measures
//! another logwarden binary than the one built with the bench. The data is deterministic (seed,
//! rate and start are fixed): when the index `feed-bench-<N>` already holds N documents the
//! load is skipped, so reruns only measure. Linux only (`/proc`, `/usr/bin/time`).

use chrono::{DateTime, Duration, TimeZone, Utc};
use elasticsearch::http::headers::HeaderMap;
use elasticsearch::http::request::JsonBody;
use elasticsearch::http::transport::Transport;
use elasticsearch::http::Method;
use elasticsearch::Elasticsearch;
use logwarden::backend::bulk::BulkDoc;
use logwarden::backend::load::{doc_id, log_index_body, LoadOptions, Loader};
use logwarden::backend::{connect, read_window, Backend, BackendConfig, WindowRequest};
use logwarden::demo::feed::{Feed, FeedSettings};
use logwarden::source::FieldsConfig;
use serde_json::{json, Value};
use std::process::Command;
use std::sync::Arc;
use std::time::Instant;

const SEED: u64 = 2026;
const RATE: f64 = 10.0;
const PAGE: usize = 10_000;

fn data_start() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 2, 0, 0, 0).unwrap()
}

fn fields() -> Vec<&'static str> {
    vec![
        "@timestamp",
        "message",
        "service.name",
        "log.level",
        "host.name",
    ]
}

struct Args {
    engines: Vec<(&'static str, String)>,
    lines: u64,
    child: Option<(String, String)>,
}

fn args() -> Args {
    let mut engines = Vec::new();
    let mut lines = 1_000_000;
    let mut child_url = None;
    let mut child_index = None;
    let mut it = std::env::args().skip(1);
    let env_url = |var: &str| {
        std::env::var(var).unwrap_or_else(|_| {
            panic!(
                "{var} is not set: `scripts/clusters start` and `eval \"$(scripts/clusters env)\"`"
            )
        })
    };
    while let Some(a) = it.next() {
        match a.as_str() {
            "--engine" => match it.next().as_deref() {
                Some("elasticsearch" | "es") => {
                    engines.push(("elasticsearch", env_url("LOGWARDEN_TEST_ES_URL")))
                }
                Some("opensearch" | "os") => {
                    engines.push(("opensearch", env_url("LOGWARDEN_TEST_OS_URL")))
                }
                other => panic!("--engine elasticsearch|opensearch, not {other:?}"),
            },
            "--lines" => {
                lines = it.next().and_then(|v| v.parse().ok()).expect("--lines N");
            }
            "--child-pipeline" => {
                child_url = it.next();
                child_index = it.next();
            }
            "--bench" => {}
            other => panic!("unknown argument {other}"),
        }
    }
    if engines.is_empty() && child_url.is_none() {
        engines.push(("elasticsearch", env_url("LOGWARDEN_TEST_ES_URL")));
        engines.push(("opensearch", env_url("LOGWARDEN_TEST_OS_URL")));
    }
    Args {
        engines,
        lines,
        child: child_url.zip(child_index),
    }
}

/// Raw requests for what the backend trait does not offer (node stats, scroll, filter_path).
#[derive(Clone)]
struct Raw(Elasticsearch);

impl Raw {
    fn new(url: &str) -> Raw {
        Raw(Elasticsearch::new(
            Transport::single_node(url).expect("client"),
        ))
    }

    async fn call(
        &self,
        method: Method,
        path: &str,
        query: &[(&str, &str)],
        body: Option<Value>,
    ) -> Value {
        let r = self
            .0
            .send(
                method,
                path,
                HeaderMap::new(),
                Some(&query),
                body.map(JsonBody::new),
                None,
            )
            .await
            .unwrap_or_else(|e| panic!("{path}: {e}"));
        let status = r.status_code().as_u16();
        let v: Value = r.json().await.unwrap_or(Value::Null);
        assert!(status < 300, "{path}: status {status}: {v}");
        v
    }

    /// CPU milliseconds the node's process has used so far.
    async fn cluster_cpu_ms(&self) -> u64 {
        let v = self
            .call(Method::Get, "/_nodes/_local/stats/process", &[], None)
            .await;
        v["nodes"]
            .as_object()
            .map(|nodes| {
                nodes
                    .values()
                    .filter_map(|n| n.pointer("/process/cpu/total_in_millis")?.as_u64())
                    .sum()
            })
            .unwrap_or(0)
    }
}

/// One row of the table.
struct Row {
    step: String,
    docs: u64,
    secs: f64,
    cpu_self: Option<f64>,
    rss_mb: Option<f64>,
    cpu_cluster: f64,
}

async fn load(b: Arc<dyn Backend>, index: &str, n: u64) {
    let have = b.count(index).await.unwrap_or(0);
    if have == n {
        println!("  {index} already holds {n} documents: load skipped");
        return;
    }
    b.delete_index(index).await.expect("delete");
    let mut body = log_index_body(&FieldsConfig::default());
    body["settings"] =
        json!({"number_of_shards": 1, "number_of_replicas": 0, "refresh_interval": "-1"});
    b.create_index(index, body).await.expect("create index");
    let settings = FeedSettings {
        seed: SEED,
        tz: chrono_tz::Europe::Berlin,
        rate: RATE,
        days: 0,
        incidents_from: None,
    };
    let mut feed = Feed::new(&settings, data_start());
    let opts = LoadOptions {
        batch_docs: 10_000,
        concurrency: 2,
        create_index: false,
        refresh: true,
        report_first: 5,
    };
    let mut loader = Loader::new(Arc::clone(&b), index, opts);
    let mut t = data_start();
    let mut sent = 0u64;
    while sent < n {
        t += Duration::hours(1);
        for (ord, line) in feed.take_until(t) {
            if sent == n {
                break;
            }
            sent += 1;
            loader.note_line();
            let doc = BulkDoc {
                id: doc_id(ord, &line.json),
                source: line.json,
            };
            loader.push(ord, doc).await.expect("bulk");
        }
    }
    let report = loader.finish().await.expect("load");
    assert!(report.is_clean(), "{}", report.summary(index));
    b.put_index_settings(index, json!({"index.refresh_interval": "1s"}))
        .await
        .expect("settings");
    println!(
        "  loaded {n} lines ({} to {}) in {:.0}s = {:.0} docs/s",
        data_start().to_rfc3339(),
        t.to_rfc3339(),
        report.elapsed_secs,
        report.docs_per_sec()
    );
}

/// Run `cmd` under `/usr/bin/time`: (wall s, CPU s, peak RSS MB, stdout, stderr).
fn timed(cmd: &mut Command) -> (f64, f64, f64, String, String) {
    let mut full = Command::new("/usr/bin/time");
    full.args(["-f", "LWTIME %e %U %S %M"])
        .arg(cmd.get_program());
    full.args(cmd.get_args());
    let out = full.output().expect("/usr/bin/time");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "{:?} failed:\n{stderr}",
        cmd.get_program()
    );
    let line = stderr
        .lines()
        .rev()
        .find(|l| l.starts_with("LWTIME "))
        .expect("/usr/bin/time output");
    let v: Vec<f64> = line
        .split_whitespace()
        .skip(1)
        .map(|x| x.parse().unwrap_or(0.0))
        .collect();
    (
        v[0],
        v[1] + v[2],
        v[3] / 1024.0,
        String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr.into_owned(),
    )
}

async fn measured_child(raw: &Raw, step: &str, docs: Option<u64>, cmd: &mut Command) -> Row {
    let c0 = raw.cluster_cpu_ms().await;
    let (wall, cpu, rss, stdout, stderr) = timed(cmd);
    for l in stderr
        .lines()
        .filter(|l| !l.starts_with("LWTIME "))
        .rev()
        .take(4)
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
    {
        println!("    | {l}");
    }
    let c1 = raw.cluster_cpu_ms().await;
    let docs = docs.unwrap_or_else(|| {
        stdout
            .lines()
            .find_map(|l| l.strip_prefix("records ")?.trim().parse().ok())
            .unwrap_or(0)
    });
    Row {
        step: step.to_string(),
        docs,
        secs: wall,
        cpu_self: Some(cpu),
        rss_mb: Some(rss),
        cpu_cluster: (c1 - c0) as f64 / 1000.0,
    }
}

/// The logwarden binary: `LOGWARDEN_BIN`, or the one built with this bench.
fn binary() -> String {
    std::env::var("LOGWARDEN_BIN").unwrap_or_else(|_| env!("CARGO_BIN_EXE_logwarden").to_string())
}

/// The sidecar binary, if it has `run` yet.
fn sidecar_has_run() -> bool {
    Command::new(binary())
        .args(["run", "--help"])
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false)
}

async fn sidecar_row(b: &dyn Backend, raw: &Raw, url: &str, index: &str, n: u64) -> Option<Row> {
    if !sidecar_has_run() {
        println!("  `logwarden run` is not in this build yet: end-to-end row measured in-process (read + train)");
        return None;
    }
    // baseline from the first day, detection from the second on: every line is processed
    // once, by the trainer or by the detectors
    let from = data_start() + Duration::days(1);
    let prefix = format!("feed-bench-{}", std::process::id());
    let dir = tempfile::tempdir().expect("tmp");
    let yaml = format!(
        "cluster:\n  url: {url}\nsources:\n  bench:\n    index: {index}\nindices:\n  anomalies: {prefix}-anomalies\n  incidents: {prefix}-incidents\n  patterns: {prefix}-patterns\n  state: {prefix}-state\nrun:\n  backfill_days: 1\n  delay_secs: 0\n  max_window_secs: 86400\n  listen: \"\"\n  state_dir: {}\n",
        dir.path().join("state").display()
    );
    let cfg = dir.path().join("lw.yaml");
    std::fs::write(&cfg, yaml).expect("config");
    let mut cmd = Command::new(binary());
    cmd.arg("--config")
        .arg(&cfg)
        .args(["run", "--once", "--from", &from.to_rfc3339()]);
    let row = measured_child(raw, "logwarden run --once --from day 2", Some(n), &mut cmd).await;
    for suffix in ["anomalies", "incidents", "patterns", "state"] {
        let name = format!("{prefix}-{suffix}");
        b.delete_index(&name).await.ok();
        // the templates `run` installed for them; a missing one is fine
        let path = format!("/_index_template/{name}");
        let _ = raw
            .0
            .send(
                Method::Delete,
                &path,
                HeaderMap::new(),
                None::<&()>,
                None::<JsonBody<Value>>,
                None,
            )
            .await;
    }
    Some(row)
}

/// The child: the window reader (default settings) over the whole index into the trainer.
async fn child_pipeline(url: &str, index: &str) {
    // the reader's default page (2,000): faster than 10,000 with this sort, see the table
    let b = connect(&BackendConfig::for_url(url))
        .await
        .expect("connect");
    let req = WindowRequest {
        index: index.to_string(),
        start: data_start() - Duration::milliseconds(10_000),
        end: Utc::now(),
        filter: None,
        fields: FieldsConfig::default(),
    };
    let config = logwarden::config::Config::default();
    let mut trainer = logwarden::detect::Trainer::new(&config.trainer_settings());
    let mut reader = read_window(b.as_ref(), req).await.expect("open window");
    let mut n = 0u64;
    while let Some(page) = reader.next_page().await.expect("page") {
        for r in &page.records {
            trainer.add(&r.record);
        }
        n += page.records.len() as u64;
    }
    reader.close().await.expect("close");
    let baseline = trainer.finish();
    println!("records {n}");
    println!("templates {}", baseline.miner.templates().len());
}

/// Which documents a scan reads.
#[derive(Clone, Copy)]
enum Part {
    /// All of them.
    All,
    /// Slice `id` of `max` (the engine's `slice`).
    Slice(u32, u32),
    /// Those stamped before this epoch millisecond.
    Before(i64),
    /// Those stamped at or after it.
    From(i64),
}

/// Scans in parallel, one task per part; returns the documents seen.
async fn parallel(
    b: &Arc<dyn Backend>,
    raw: &Raw,
    index: &str,
    order: Order,
    parts: Vec<Part>,
) -> u64 {
    let mut tasks = tokio::task::JoinSet::new();
    for part in parts {
        let (raw, index, b) = (raw.clone(), index.to_string(), Arc::clone(b));
        tasks.spawn(
            async move { pit_scan(b.as_ref(), &raw, &index, &order, PAGE, true, part).await },
        );
    }
    let mut total = 0;
    while let Some(r) = tasks.join_next().await {
        total += r.expect("scan task");
    }
    total
}

/// The median `@timestamp` of `index`, epoch milliseconds.
async fn median_ms(raw: &Raw, index: &str) -> i64 {
    let r = raw
        .call(
            Method::Post,
            &format!("/{index}/_search"),
            &[],
            Some(json!({"size": 0, "aggs": {"p": {"percentiles": {"field": "@timestamp", "percents": [50]}}}})),
        )
        .await;
    r.pointer("/aggregations/p/values/50.0")
        .and_then(Value::as_f64)
        .expect("median timestamp") as i64
}

#[derive(Clone, Copy)]
enum Order {
    /// (timestamp, tiebreaker), as the sidecar reads.
    Sidecar,
    /// Index order: `_shard_doc` on Elasticsearch, `_doc` on OpenSearch 2.x (one shard).
    Doc,
}

/// A point-in-time scan; returns documents seen.
async fn pit_scan(
    b: &dyn Backend,
    raw: &Raw,
    index: &str,
    order: &Order,
    page: usize,
    filter_path: bool,
    part: Part,
) -> u64 {
    let pit = b.open_pit(index, "2m").await.expect("pit");
    let sort: Vec<Value> = match order {
        Order::Sidecar => {
            let mut s = vec![json!({"@timestamp": {"order": "asc", "numeric_type": "date"}})];
            s.extend(b.tiebreaker());
            s
        }
        Order::Doc if b.info().has_shard_doc() => vec![json!({"_shard_doc": "asc"})],
        Order::Doc => vec![json!({"_doc": "asc"})],
    };
    let query: Vec<(&str, &str)> = if filter_path {
        vec![("filter_path", "hits.hits._source,hits.hits.sort")]
    } else {
        Vec::new()
    };
    let mut after: Option<Value> = None;
    let mut seen = 0u64;
    loop {
        let mut body = json!({"size": page, "sort": sort, "_source": fields(),
            "track_total_hits": false, "pit": {"id": pit, "keep_alive": "2m"}});
        match part {
            Part::All => {}
            Part::Slice(id, max) => body["slice"] = json!({"id": id, "max": max}),
            Part::Before(ms) => {
                body["query"] =
                    json!({"range": {"@timestamp": {"lt": ms, "format": "epoch_millis"}}})
            }
            Part::From(ms) => {
                body["query"] =
                    json!({"range": {"@timestamp": {"gte": ms, "format": "epoch_millis"}}})
            }
        }
        if let Some(a) = &after {
            body["search_after"] = a.clone();
        }
        let r = raw.call(Method::Post, "/_search", &query, Some(body)).await;
        let hits = r.pointer("/hits/hits").and_then(Value::as_array);
        let k = hits.map_or(0, Vec::len);
        seen += k as u64;
        if k < page {
            break;
        }
        after = hits.and_then(|h| h.last()).map(|h| h["sort"].clone());
    }
    b.close_pit(&pit).await.ok();
    seen
}

async fn scroll_scan(raw: &Raw, index: &str, page: usize) -> u64 {
    let body = json!({"size": page, "sort": ["_doc"], "_source": fields()});
    let mut r = raw
        .call(
            Method::Post,
            &format!("/{index}/_search"),
            &[("scroll", "2m")],
            Some(body),
        )
        .await;
    let mut seen = 0u64;
    loop {
        let k = r
            .pointer("/hits/hits")
            .and_then(Value::as_array)
            .map_or(0, Vec::len);
        seen += k as u64;
        let id = r["_scroll_id"].as_str().unwrap_or_default().to_string();
        if k == 0 {
            raw.call(
                Method::Delete,
                "/_search/scroll",
                &[],
                Some(json!({"scroll_id": id})),
            )
            .await;
            return seen;
        }
        r = raw
            .call(
                Method::Post,
                "/_search/scroll",
                &[],
                Some(json!({"scroll": "2m", "scroll_id": id})),
            )
            .await;
    }
}

async fn in_process<F: std::future::Future<Output = u64>>(raw: &Raw, step: &str, f: F) -> Row {
    let c0 = raw.cluster_cpu_ms().await;
    let t = Instant::now();
    let docs = f.await;
    let secs = t.elapsed().as_secs_f64();
    let c1 = raw.cluster_cpu_ms().await;
    Row {
        step: step.to_string(),
        docs,
        secs,
        cpu_self: None,
        rss_mb: None,
        cpu_cluster: (c1 - c0) as f64 / 1000.0,
    }
}

async fn engine(name: &str, url: &str, n: u64) -> Vec<Row> {
    let mut cfg = BackendConfig::for_url(url);
    cfg.bulk.max_docs = 5_000;
    cfg.read.page_size = PAGE;
    let b: Arc<dyn Backend> = Arc::from(
        connect(&cfg)
            .await
            .unwrap_or_else(|e| panic!("cannot reach {url} ({e}): `scripts/clusters start`")),
    );
    println!("{name} {} at {url}:", b.info().version);
    let index = format!("feed-bench-{n}");
    load(Arc::clone(&b), &index, n).await;
    let raw = Raw::new(url);
    let mut rows = Vec::new();
    if let Some(r) = sidecar_row(b.as_ref(), &raw, url, &index, n).await {
        rows.push(r);
    }
    let exe = std::env::current_exe().expect("bench exe");
    let mut child = Command::new(exe);
    child.args(["--child-pipeline", url, &index]);
    rows.push(
        measured_child(
            &raw,
            "window reader + trainer (child process)",
            None,
            &mut child,
        )
        .await,
    );
    let bb = b.as_ref();
    let scans: [(&str, Order, usize, bool); 5] = [
        (
            "raw PIT scan, sidecar sort, page 10000",
            Order::Sidecar,
            PAGE,
            false,
        ),
        (
            "raw PIT scan, sidecar sort, page 2000",
            Order::Sidecar,
            2_000,
            false,
        ),
        (
            "raw PIT scan, sidecar sort, filter_path",
            Order::Sidecar,
            PAGE,
            true,
        ),
        (
            "raw PIT scan, _doc order, page 10000",
            Order::Doc,
            PAGE,
            false,
        ),
        (
            "raw PIT scan, _doc order, filter_path",
            Order::Doc,
            PAGE,
            true,
        ),
    ];
    for (step, order, page, fp) in scans {
        rows.push(
            in_process(&raw, step, async {
                pit_scan(bb, &raw, &index, &order, page, fp, Part::All).await
            })
            .await,
        );
    }
    let mid = median_ms(&raw, &index).await;
    rows.push(
        in_process(
            &raw,
            "sidecar sort, filter_path, 2 time halves ||",
            parallel(
                &b,
                &raw,
                &index,
                Order::Sidecar,
                vec![Part::Before(mid), Part::From(mid)],
            ),
        )
        .await,
    );
    rows.push(
        in_process(
            &raw,
            "_doc order, filter_path, 2 slices ||",
            parallel(
                &b,
                &raw,
                &index,
                Order::Doc,
                vec![Part::Slice(0, 2), Part::Slice(1, 2)],
            ),
        )
        .await,
    );
    rows.push(
        in_process(&raw, "raw scroll, _doc order, page 10000", async {
            scroll_scan(&raw, &index, PAGE).await
        })
        .await,
    );
    rows
}

fn print_table(name: &str, rows: &[Row], n: u64) {
    println!(
        "\n{name}, {n} lines\n{:<42} {:>9} {:>7} {:>9} {:>10} {:>8} {:>11} {:>9}",
        "step", "docs", "secs", "docs/s", "lw CPU s", "RSS MB", "cluster CPU s", "lw share"
    );
    for r in rows {
        let opt = |v: Option<f64>, p: usize| v.map_or("-".to_string(), |x| format!("{x:.p$}"));
        let share = r
            .cpu_self
            .map(|c| 100.0 * c / (c + r.cpu_cluster).max(1e-9));
        println!(
            "{:<42} {:>9} {:>7.1} {:>9.0} {:>10} {:>8} {:>11.1} {:>8}%",
            r.step,
            r.docs,
            r.secs,
            r.docs as f64 / r.secs.max(1e-9),
            opt(r.cpu_self, 1),
            opt(r.rss_mb, 0),
            r.cpu_cluster,
            opt(share, 0)
        );
        if r.docs != n {
            println!("    (expected {n} documents)");
        }
    }
}

#[tokio::main]
async fn main() {
    let a = args();
    if let Some((url, index)) = &a.child {
        child_pipeline(url, index).await;
        return;
    }
    let mut all = Vec::new();
    for (name, url) in &a.engines {
        let rows = engine(name, url, a.lines).await;
        all.push((name, rows));
    }
    for (name, rows) in &all {
        print_table(name, rows, a.lines);
    }
}
