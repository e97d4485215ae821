//! Mutes end to end against the real Elasticsearch (`LOGWARDEN_TEST_ES_URL`; a missing
//! cluster fails the test): `logwarden mute add --service api` through the binary, then a
//! replay with a webhook on loopback. The muted service's anomalies are written with
//! `feedback.muted_by` and reach no receiver; the other service's still do.

mod notify_support;
mod sidecar_data;

use chrono::Duration;
use notify_support::Recorder;
use sidecar_data::*;
use std::process::Command;

fn mute(config: &std::path::Path, args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_logwarden"))
        .arg("--config")
        .arg(config)
        .arg("mute")
        .args(args)
        .output()
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_muted_service_is_written_not_routed() {
    let b = backend("LOGWARDEN_TEST_ES_URL").await;
    let b = b.as_ref();
    let prefix = "mute-es-";
    reset(b, prefix).await;
    let end = anchor();
    let from = end - Duration::hours(3);
    load(b, prefix, &generate(end, from)).await;
    let r = Recorder::start().await;
    let dir = tempfile::tempdir().unwrap();

    // The CLI writes the mute where the sidecar of the same config reads it.
    let yaml = dir.path().join("c.yaml");
    std::fs::write(
        &yaml,
        format!("run:\n  state_dir: {}\n", dir.path().display()),
    )
    .unwrap();
    let o = mute(
        &yaml,
        &[
            "add",
            "--service",
            "api",
            "--for",
            "2h",
            "--reason",
            "db failover drill",
            "--by",
            "dana",
        ],
    );
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(String::from_utf8_lossy(&o.stdout).starts_with("m1\tservice api\tuntil "));
    let o = mute(&yaml, &["add", "--for", "2h"]);
    assert!(!o.status.success());
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("a mute needs --service, --pattern or --type")
    );

    let routes = format!(
        "routes:\n  delivery:\n    initial_backoff_ms: 10\n  receivers:\n    hook:\n      webhook:\n        url: {}\n  rules:\n    - {{tier: low, receivers: [hook]}}\n",
        r.url("/hook")
    );
    let cfg = config(&b.config().url, prefix, dir.path(), &routes);
    let (s, metrics) = run_once(&cfg, from, end).await;
    assert_eq!(s.failures, 0);

    let written = search_all(b, &format!("{prefix}anomalies*")).await;
    let api: Vec<&serde_json::Value> = written
        .iter()
        .map(|h| &h["_source"])
        .filter(|a| a["service"]["name"] == "api")
        .collect();
    assert!(
        !api.is_empty(),
        "the outage on api is still found and written"
    );
    for a in &api {
        let why = a["feedback"]["muted_by"]
            .as_str()
            .unwrap_or_else(|| panic!("{a:#}"));
        assert!(
            why.starts_with("mute m1 (service api) until ") && why.ends_with(": db failover drill"),
            "{why}"
        );
    }
    let hook = r.accepted("/hook");
    assert!(!hook.is_empty(), "the silent worker is still routed");
    for q in &hook {
        let services = q.body["services"].as_array().unwrap();
        assert!(services.iter().all(|s| s != "api"), "{:#}", q.body);
    }
    assert_eq!(
        metrics.muted.with_label_values(&["app"]).get(),
        api.len() as u64
    );
    assert_eq!(metrics.mutes_active.get(), 1);

    // Listed, then lifted; an unknown id names the ones there are.
    let o = mute(&yaml, &["list"]);
    let list = String::from_utf8_lossy(&o.stdout);
    assert!(
        list.starts_with("m1\tactive\tservice api\tuntil ")
            && list.contains("\tdana\tdb failover drill"),
        "{list}"
    );
    let o = mute(&yaml, &["lift", "m7"]);
    assert!(String::from_utf8_lossy(&o.stderr).contains("no mute \"m7\" (there are: m1)"));
    assert!(mute(&yaml, &["lift", "m1"]).status.success());
    assert_eq!(String::from_utf8_lossy(&mute(&yaml, &["list"]).stdout), "");
}
