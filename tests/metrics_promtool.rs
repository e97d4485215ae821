//! The `/metrics` exposition, served over real HTTP, passes `promtool check metrics` (Debian
//! package `prometheus`; a missing promtool fails the test) with every series of the sidecar
//! present: the feedback marks by label, suppressed and muted anomalies, active mutes and API
//! requests by status among them.

use logwarden::sidecar::health::Metrics;
use std::io::Write;
use std::process::{Command, Stdio};

/// Run `promtool check metrics` on `text`; its exit status and everything it printed.
fn promtool(text: &str) -> (bool, String) {
    let mut child = Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("promtool must be installed (Debian package `prometheus`; .ci/run installs it)");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(text.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), said)
}

#[tokio::test]
async fn the_served_metrics_pass_promtool() {
    let m = Metrics::new();
    // Every series gets a value, so each family is exposed with its labels.
    m.records.with_label_values(&["app"]).inc_by(120);
    m.rejected
        .with_label_values(&["app", "missing timestamp"])
        .inc();
    m.late.with_label_values(&["app"]).inc();
    m.windows.with_label_values(&["app"]).inc_by(3);
    m.window_failures.with_label_values(&["app"]).inc();
    m.anomalies
        .with_label_values(&["app", "moderate"])
        .inc_by(2);
    m.write_failures
        .with_label_values(&["logwarden-anomalies-2026.11.30"])
        .inc();
    m.lag_seconds.with_label_values(&["app"]).set(42);
    m.templates.with_label_values(&["app"]).set(17);
    m.cluster_up.set(1);
    m.notifications_sent.with_label_values(&["chat"]).inc();
    m.notifications_failed.with_label_values(&["chat"]).inc();
    m.notifications_dropped.with_label_values(&["chat"]).inc();
    m.notifications_queued.set(2);
    m.notifications_oldest_seconds.set(30);
    m.feedback_marks
        .with_label_values(&["false_positive"])
        .set(3);
    m.feedback_marks.with_label_values(&["confirmed"]).set(1);
    m.suppressed.with_label_values(&["app"]).inc();
    m.feedback_rejected.with_label_values(&["app"]).inc();
    m.mutes_active.set(1);
    m.api_requests.with_label_values(&["200"]).inc();
    m.api_requests.with_label_values(&["400"]).inc();
    m.muted.with_label_values(&["app"]).inc();

    let (_stop_tx, mut stop) = tokio::sync::watch::channel(false);
    let addr = logwarden::sidecar::health::serve(
        "127.0.0.1:0".parse().unwrap(),
        m.clone(),
        None,
        async move {
            let _ = stop.wait_for(|s| *s).await;
        },
    )
    .await
    .unwrap();
    let resp = reqwest::get(format!("http://{addr}/metrics"))
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    let text = resp.text().await.unwrap();
    for family in [
        "logwarden_feedback_marks{label=\"false_positive\"} 3",
        "logwarden_feedback_marks{label=\"confirmed\"} 1",
        "logwarden_anomalies_suppressed_total{source=\"app\"} 1",
        "logwarden_anomalies_muted_total{source=\"app\"} 1",
        "logwarden_mutes_active 1",
        "logwarden_api_requests_total{status=\"400\"} 1",
        // Process-wide, exported from the start: nothing here talked to a cluster.
        "logwarden_engine_warnings_total 0",
    ] {
        assert!(text.contains(family), "{family} missing from:\n{text}");
    }
    let (ok, said) = promtool(&text);
    assert!(ok, "promtool check metrics refused the exposition:\n{said}");
    assert!(said.trim().is_empty(), "promtool complained:\n{said}");
}

/// The check is live: promtool refuses a counter without `_total` and a broken line.
#[test]
fn promtool_refuses_a_bad_exposition() {
    let (ok, said) = promtool("# HELP requests Requests\n# TYPE requests counter\nrequests 1\n");
    assert!(said.contains("_total"), "{ok} {said}");
    let (ok, _) = promtool("# TYPE x gauge\nx{label=\"unclosed} 1\n");
    assert!(!ok);
}
