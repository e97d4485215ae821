//! A source in rsyslog's layout (`programname`, `severity`, no ECS fields) against the real
//! clusters (`LOGWARDEN_TEST_ES_URL`, `LOGWARDEN_TEST_OS_URL`; a missing cluster fails the
//! test), through the binary as a user runs it: without a `fields` mapping the backfill
//! says which fields are missing and which key to set; with the mapping README "Field
//! layouts of common shippers" gives, it says nothing and the services are the programs.

mod sidecar_data;

use chrono::{DateTime, Duration, Utc};
use logwarden::backend::bulk::BulkDoc;
use logwarden::backend::Backend;
use serde_json::json;
use sidecar_data::*;
use std::path::Path;
use std::process::Command;

/// Two days and three hours of sshd and cron lines in rsyslog's JSON template layout.
async fn load_rsyslog(b: &dyn Backend, index: &str, end: DateTime<Utc>) -> usize {
    b.create_index(
        index,
        json!({"settings": {"number_of_shards": 1, "number_of_replicas": 0},
               "mappings": {"properties": {"@timestamp": {"type": "date"},
                 "programname": {"type": "keyword"}, "severity": {"type": "keyword"},
                 "host": {"type": "keyword"}}}}),
    )
    .await
    .unwrap();
    let start = end - Duration::days(2) - Duration::hours(3);
    let mut docs = Vec::new();
    let mut t = start;
    let mut i = 0u64;
    while t < end {
        let (program, severity, message) = if i.is_multiple_of(3) {
            (
                "CRON",
                "info",
                format!("(root) CMD (run-parts /etc/cron.hourly) job {i}"),
            )
        } else {
            (
                "sshd",
                if i.is_multiple_of(7) { "err" } else { "info" },
                format!(
                    "Accepted publickey for deploy from 10.0.{}.{} port {}",
                    i % 5,
                    i % 250,
                    40000 + i % 999
                ),
            )
        };
        docs.push(BulkDoc {
            id: format!("r{i}"),
            source: json!({"@timestamp": t.to_rfc3339(), "host": "web-1", "programname": program,
                           "severity": severity, "message": message})
            .to_string(),
        });
        t += Duration::seconds(40);
        i += 1;
    }
    let n = docs.len();
    write_all(b, index, docs).await;
    n
}

/// `logwarden run --once` over the last hour of the data, with `fields` under the source.
fn run(
    url: &str,
    prefix: &str,
    dir: &Path,
    fields: &str,
    from: DateTime<Utc>,
    end: DateTime<Utc>,
) -> (bool, String) {
    let yaml = dir.join("logwarden.yaml");
    std::fs::write(
        &yaml,
        format!(
            "cluster:\n  url: {url}\nsources:\n  syslog:\n    index: \"{prefix}logs\"\n{fields}\
             indices:\n  anomalies: {prefix}anomalies\n  incidents: {prefix}incidents\n  patterns: {prefix}patterns\n  state: {prefix}state\n\
             run:\n  delay_secs: 0\n  backfill_days: 2\n  listen: \"\"\n  max_window_secs: 3600\n  state_dir: {}\n",
            dir.join("state").display()
        ),
    )
    .unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_logwarden"))
        .arg("--config")
        .arg(&yaml)
        .args([
            "run",
            "--once",
            "--from",
            &from.to_rfc3339(),
            "--until",
            &end.to_rfc3339(),
        ])
        .env("RUST_LOG", "info")
        .output()
        .unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

async fn rsyslog_layout(var: &str, prefix: &str) {
    let b = backend(var).await;
    let b = b.as_ref();
    reset(b, prefix).await;
    let end = anchor();
    let from = end - Duration::hours(1);
    let n = load_rsyslog(b, &format!("{prefix}logs"), end).await;
    let url = b.config().url.clone();

    // Without a mapping: the service, the level and the host are all elsewhere.
    let dir = tempfile::tempdir().unwrap();
    let (ok, log) = run(&url, prefix, dir.path(), "", from, end);
    assert!(ok, "{log}");
    let learnt = (n as f64 * 48.0 / 51.0) as i64;
    let said = |field: &str, key: &str| {
        log.lines().any(|l| {
            l.contains(&format!("field `{field}` is missing from "))
                && l.contains(&format!("set `sources.syslog.fields.{key}`"))
                && l.contains("source=syslog")
        })
    };
    assert!(said("service.name", "service"), "{log}");
    assert!(said("log.level", "level"), "{log}");
    assert!(said("host.name", "host"), "{log}");
    // The count is of the records learnt from: about 48 of the 51 hours.
    let counted: i64 = log
        .lines()
        .find(|l| l.contains("field `service.name` is missing from "))
        .and_then(|l| l.split("is missing from ").nth(1))
        .and_then(|rest| rest.split(' ').next())
        .and_then(|v| v.parse().ok())
        .unwrap();
    assert!(
        (counted - learnt).abs() < 200,
        "{counted} vs about {learnt}: {log}"
    );

    // With the README's rsyslog mapping: no warning, and the programs are the services.
    reset(b, prefix).await;
    load_rsyslog(b, &format!("{prefix}logs"), end).await;
    let dir = tempfile::tempdir().unwrap();
    let mapping =
        "    fields: { message: message, service: programname, level: severity, host: host }\n";
    let (ok, log) = run(&url, prefix, dir.path(), mapping, from, end);
    assert!(ok, "{log}");
    assert!(!log.contains("is missing from"), "{log}");
    assert!(log.contains("baseline learned from"), "{log}");
    let model = std::fs::read_to_string(
        std::fs::read_dir(dir.path().join("state"))
            .unwrap()
            .map(|e| e.unwrap().path())
            .find(|p| p.extension().is_some_and(|e| e == "model"))
            .expect("a model file"),
    )
    .unwrap();
    for service in ["\"sshd\"", "\"CRON\""] {
        assert!(model.contains(service), "{service} not in the model");
    }
    reset(b, prefix).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn elasticsearch_backfill_names_the_fields_an_rsyslog_layout_lacks() {
    rsyslog_layout("LOGWARDEN_TEST_ES_URL", "fields-es-").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn opensearch_backfill_names_the_fields_an_rsyslog_layout_lacks() {
    rsyslog_layout("LOGWARDEN_TEST_OS_URL", "fields-os-").await;
}
