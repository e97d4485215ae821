//! The outbox across a crash, with the real binary against the real Elasticsearch
//! (`LOGWARDEN_TEST_ES_URL`; a missing cluster fails the test): `logwarden run --once --from`
//! processes every window while the receiver answers 503, and is killed with SIGKILL while
//! it waits for the outbox; started again with the receiver back, it sends every queued
//! notification exactly once — the same ones, in the same order, as an undisturbed run.

mod notify_support;
mod sidecar_data;

use chrono::{DateTime, Duration, Utc};
use notify_support::Recorder;
use sidecar_data::*;
use std::collections::BTreeSet;
use std::path::Path;
use std::time::Instant;

const ROUTES: &str = "severity:\n  critical: 30.0\n  moderate: 15.0\n";

fn routes(r: &Recorder) -> String {
    format!(
        "{ROUTES}routes:\n  resolve_after_minutes: 20\n  delivery:\n    initial_backoff_ms: 10\n    max_backoff_secs: 1\n    drain_timeout_secs: 600\n  receivers:\n    hook:\n      webhook:\n        url: {}\n  rules:\n    - {{tier: low, receivers: [hook]}}\n",
        r.url("/hook")
    )
}

fn yaml(url: &str, prefix: &str, out: &str, state: &Path, extra: &str) -> String {
    format!(
        "tenant: t\ncluster:\n  url: {url}\n  read:\n    page_size: 1000\nsources:\n  app:\n    index: \"{prefix}logs\"\n\
         indices:\n  anomalies: {out}anomalies\n  incidents: {out}incidents\n  patterns: {out}patterns\n  state: {out}state\n\
         run:\n  delay_secs: 0\n  backfill_days: 2\n  warmup_hours: 4\n  listen: \"\"\n  max_window_secs: 1800\n  state_dir: {}\n{extra}",
        state.display()
    )
}

/// The run's checkpoint, once its state index exists.
async fn checkpoint(b: &dyn logwarden::backend::Backend, index: &str) -> Option<DateTime<Utc>> {
    b.refresh(index).await.ok()?;
    let r = b
        .send_raw(
            "state",
            logwarden::backend::HttpMethod::Post,
            &format!("/{index}/_search"),
            &[],
            None,
        )
        .await
        .ok()?;
    (r.status == 200).then_some(())?;
    r.body["hits"]["hits"][0]["_source"]["checkpoint"]
        .as_str()?
        .parse()
        .ok()
}

fn spawn(config: &Path, from: &str, until: &str) -> std::process::Child {
    std::process::Command::new(env!("CARGO_BIN_EXE_logwarden"))
        .args([
            "--config",
            config.to_str().unwrap(),
            "run",
            "--once",
            "--from",
            from,
            "--until",
            until,
        ])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("the logwarden binary starts")
}

/// (incident, status, sequence) of each accepted webhook request, in arrival order.
fn delivered(r: &Recorder) -> Vec<(String, String, u64)> {
    r.accepted("/hook")
        .iter()
        .map(|q| {
            (
                q.body["incident_id"].as_str().unwrap().to_string(),
                q.body["status"].as_str().unwrap().to_string(),
                q.body["sequence"].as_u64().unwrap(),
            )
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_with_notifications_queued_loses_none_and_sends_none_twice() {
    let b = backend("LOGWARDEN_TEST_ES_URL").await;
    let b = b.as_ref();
    let prefix = "notify-kill-es-";
    reset(b, prefix).await;
    for s in ["anomalies", "incidents", "patterns", "state"] {
        delete_all(b, &format!("{prefix}clean-{s}")).await;
    }
    let end = anchor();
    let from: DateTime<Utc> = end - Duration::hours(3);
    load(b, prefix, &generate(end, from)).await;
    let url = b.config().url.clone();

    // Undisturbed, in process: what should arrive.
    let clean_r = Recorder::start().await;
    let clean_dir = tempfile::tempdir().unwrap();
    let clean = config_to(
        &url,
        prefix,
        &format!("{prefix}clean-"),
        clean_dir.path(),
        &routes(&clean_r),
    );
    let (s, _) = run_once(&clean, from, end).await;
    assert_eq!(s.undelivered, 0);
    let want = delivered(&clean_r);
    assert!(want.len() >= 3, "{want:?}");

    // The binary, with the receiver down: killed while it waits for the outbox.
    let r = Recorder::start().await;
    r.script(&vec![(503, None); 1_000_000]);
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state");
    let config_path = dir.path().join("logwarden.yaml");
    std::fs::write(
        &config_path,
        yaml(&url, prefix, prefix, &state, &routes(&r)),
    )
    .unwrap();
    let (from_s, until_s) = (from.to_rfc3339(), end.to_rfc3339());
    let mut child = spawn(&config_path, &from_s, &until_s);
    let t0 = Instant::now();
    loop {
        let done = checkpoint(b, &format!("{prefix}state"))
            .await
            .is_some_and(|c| c >= end - Duration::minutes(1));
        if done && r.requests().len() >= 3 {
            break;
        }
        assert!(
            child.try_wait().unwrap().is_none(),
            "the sidecar exited early"
        );
        assert!(t0.elapsed().as_secs() < 300, "no progress in 5 minutes");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    assert!(r.accepted("/hook").is_empty());
    let pending = std::fs::read_dir(state.join("outbox/pending"))
        .unwrap()
        .count();
    assert_eq!(pending, want.len(), "every notification is on disk");

    // Started again with the receiver back: nothing to redo, everything delivered once.
    r.drop_script();
    let status = spawn(&config_path, &from_s, &until_s).wait().unwrap();
    assert!(status.success(), "{status}");
    let got = delivered(&r);
    assert_eq!(got.len(), want.len(), "{got:?}\nvs\n{want:?}");
    let keys: BTreeSet<String> = r
        .accepted("/hook")
        .iter()
        .map(|q| q.headers["idempotency-key"].clone())
        .collect();
    assert_eq!(keys.len(), got.len(), "nothing twice");
    // The same messages, in the same order per incident (ids are content-derived, so the
    // two runs name incidents alike).
    for id in want.iter().map(|w| &w.0).collect::<BTreeSet<_>>() {
        let a: Vec<_> = want.iter().filter(|w| &w.0 == id).collect();
        let b: Vec<_> = got.iter().filter(|w| &w.0 == id).collect();
        assert_eq!(a, b, "incident {id}");
    }
    assert_eq!(
        std::fs::read_dir(state.join("outbox/pending"))
            .unwrap()
            .count(),
        0
    );
    // And a third start sends nothing.
    let status = spawn(&config_path, &from_s, &until_s).wait().unwrap();
    assert!(status.success());
    assert_eq!(r.accepted("/hook").len(), want.len());
}
