//! Feedback from Kibana's Discover, against the real clusters: a user sets `feedback.label` on
//! anomaly documents, the sidecar reads the marks on its next poll, and the same anomalies
//! found again are lowered (the false positive) or kept (the confirmed one) — written either
//! way, never dropped.

mod sidecar_data;

use chrono::Duration;
use logwarden::backend::{Backend, HttpMethod};
use serde_json::{json, Value};
use sidecar_data::*;

/// The anomalies written, by id.
async fn anomalies(b: &dyn Backend, prefix: &str) -> Vec<(String, String, Value)> {
    search_all(b, &format!("{prefix}anomalies*"))
        .await
        .into_iter()
        .map(|h| {
            (
                h["_index"].as_str().unwrap().to_string(),
                h["_id"].as_str().unwrap().to_string(),
                h["_source"].clone(),
            )
        })
        .collect()
}

fn score(a: &Value) -> f64 {
    a["anomaly"]["score"].as_f64().unwrap()
}

/// What a user does in Discover (or with `_update`): set the label on the document.
async fn label(b: &dyn Backend, index: &str, id: &str, feedback: Value) {
    let r = b
        .send_raw(
            "test label",
            HttpMethod::Post,
            &format!("/{index}/_update/{id}"),
            &[("refresh", "true")],
            Some(json!({"doc": {"feedback": feedback}})),
        )
        .await
        .unwrap();
    assert_eq!(r.status, 200, "{}", r.body);
}

async fn a_false_positive_mark_in_the_index_lowers_the_repeat_and_a_confirmed_one_keeps_it(
    var: &str,
    prefix: &str,
) {
    let b = backend(var).await;
    let b = b.as_ref();
    reset(b, prefix).await;
    let end = anchor();
    let from = end - Duration::hours(3);
    load(b, prefix, &generate(end, from)).await;
    let first_dir = tempfile::tempdir().unwrap();
    let cfg = config(&b.config().url, prefix, first_dir.path(), "");
    run_once(&cfg, from, end).await;

    // The two loudest anomalies: one the user calls a false positive, one a real problem.
    let mut found = anomalies(b, prefix).await;
    found.sort_by(|x, y| score(&y.2).total_cmp(&score(&x.2)));
    let loud: Vec<_> = found
        .iter()
        .filter(|(_, _, a)| a["anomaly"]["severity"] != "low")
        .collect();
    assert!(loud.len() >= 2, "two moderate+ anomalies: {found:#?}");
    let (fp, kept) = (loud[0], loud[1]);
    label(
        b,
        &fp.0,
        &fp.1,
        json!({"label": "false_positive", "by": "bob", "comment": "load test"}),
    )
    .await;
    label(
        b,
        &kept.0,
        &kept.1,
        json!({"label": "confirmed", "by": "carol"}),
    )
    .await;

    // The same data again, as after a restart with no local state: only the index knows.
    delete_all(b, &format!("{prefix}state")).await;
    let second_dir = tempfile::tempdir().unwrap();
    let cfg = config(&b.config().url, prefix, second_dir.path(), "");
    let (s, metrics) = run_once(&cfg, from, end).await;
    assert_eq!(s.failures, 0);
    let again = anomalies(b, prefix).await;
    assert_eq!(
        again.len(),
        found.len(),
        "every anomaly is written again, none dropped"
    );
    let get = |id: &str| &again.iter().find(|(_, i, _)| i == id).unwrap().2;

    let lowered = get(&fp.1);
    let was = fp.2["anomaly"]["severity"].as_str().unwrap();
    let now = lowered["anomaly"]["severity"].as_str().unwrap();
    assert_eq!(
        (was, now),
        (was, if was == "critical" { "moderate" } else { "low" }),
        "{lowered:#}"
    );
    assert_eq!(
        lowered["feedback"]["label"], "false_positive",
        "the mark stays"
    );
    assert_eq!(lowered["feedback"]["by"], "bob");
    let why = lowered["feedback"]["suppressed_by"].as_str().unwrap();
    assert!(
        why.contains("1 false_positive mark(s)") && why.contains("last by bob: \"load test\""),
        "{why}"
    );

    let confirmed = get(&kept.1);
    assert_eq!(
        confirmed["anomaly"]["severity"],
        kept.2["anomaly"]["severity"]
    );
    assert_eq!(confirmed["feedback"]["label"], "confirmed");
    assert!(
        confirmed["feedback"]["suppressed_by"].is_null(),
        "{confirmed:#}"
    );

    assert!(metrics.suppressed.with_label_values(&["app"]).get() >= 1);
    let text = metrics.render();
    assert!(
        text.contains("logwarden_feedback_marks{label=\"false_positive\"} 1"),
        "{text}"
    );
    assert!(
        text.contains("logwarden_feedback_marks{label=\"confirmed\"} 1"),
        "{text}"
    );
    let saved = std::fs::read_to_string(second_dir.path().join("feedback.json")).unwrap();
    assert!(
        saved.contains("false_positive") && saved.contains("carol"),
        "{saved}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn elasticsearch_feedback_from_the_index() {
    a_false_positive_mark_in_the_index_lowers_the_repeat_and_a_confirmed_one_keeps_it(
        "LOGWARDEN_TEST_ES_URL",
        "lwfb-",
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn opensearch_feedback_from_the_index() {
    a_false_positive_mark_in_the_index_lowers_the_repeat_and_a_confirmed_one_keeps_it(
        "LOGWARDEN_TEST_OS_URL",
        "lwfb-",
    )
    .await;
}
