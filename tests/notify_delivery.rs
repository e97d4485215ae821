//! Notifications delivered to real HTTP servers on loopback, each payload checked field by
//! field against the receiver's public API documentation (PagerDuty Events API v2, Slack
//! incoming webhooks with Block Kit, Datadog Events API v1, Splunk HEC, and logwarden's own
//! signed webhook); retries through 503 and 429 with `Retry-After`; a restart with messages
//! queued; the rate limit. Assertions are on what arrived and in which order, never on time.

mod notify_support;

use logwarden::config::Config;
use logwarden::model::Severity;
use logwarden::notify::{build_targets, Action, Delivery, Message, Notifier};
use logwarden::sidecar::health::Metrics;
use notify_support::*;
use serde_json::Value;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

const PD_KEY: &str = "R0UT1NGKEY0123456789abcdef012345";
const DD_KEY: &str = "dd-api-key-secret-value";
const HEC_TOKEN: &str = "11111111-2222-3333-4444-555555555555";
const HOOK_KEY: &str = "webhook-signing-key";

fn secret_file(dir: &Path, name: &str, value: &str) -> String {
    let p = dir.join(name);
    std::fs::write(&p, format!("{value}\n")).unwrap();
    p.display().to_string()
}

/// A config with every kind of receiver pointing at `r`, secrets in files under `dir`.
fn config(r: &Recorder, dir: &Path, extra: &str) -> Config {
    let slack_url = r.url("/services/T000/B000/XXXX");
    let yaml = format!(
        "tenant: t\nrun:\n  state_dir: {state}\nroutes:\n  resolve_after_minutes: 30\n  links:\n    kibana_url: https://kibana.example.com\n  delivery:\n    initial_backoff_ms: 10\n    max_backoff_secs: 1\n    drain_timeout_secs: 60\n  receivers:\n\
         \x20   pd:\n      pagerduty:\n        routing_key: {{file: {pd}}}\n        url: {pd_url}\n\
         \x20   chat:\n      slack:\n        webhook_url: {{file: {slack}}}\n\
         \x20   hook:\n      webhook:\n        url: {hook_url}\n        secret: {{file: {hook}}}\n\
         \x20   dd:\n      datadog:\n        api_key: {{file: {dd}}}\n        url: {dd_url}\n        tags: [env:test]\n\
         \x20   hec:\n      splunk:\n        url: {hec_url}\n        token: {{file: {hec}}}\n        index: alerts\n{extra}",
        state = dir.join("state").display(),
        pd = secret_file(dir, "pd", PD_KEY),
        slack = secret_file(dir, "slack", &slack_url),
        hook = secret_file(dir, "hook", HOOK_KEY),
        dd = secret_file(dir, "dd", DD_KEY),
        hec = secret_file(dir, "hec", HEC_TOKEN),
        pd_url = r.url("/v2/enqueue"),
        hook_url = r.url("/hook"),
        dd_url = r.url(""),
        hec_url = r.url(""),
    );
    Config::from_yaml(&yaml).unwrap()
}

/// Queue `messages` and deliver them until the outbox is empty (or `limit` passes).
async fn deliver(
    cfg: &Config,
    messages: Vec<Message>,
    limit: Duration,
) -> (Arc<Notifier>, Metrics, bool) {
    let n = Notifier::open(&cfg.notify_settings()).unwrap().unwrap();
    n.outbox().enqueue(messages).unwrap();
    let metrics = Metrics::new();
    let d = Delivery::start(
        &cfg.routes,
        build_targets(&cfg.routes).unwrap(),
        n.outbox().clone(),
        metrics.clone(),
    );
    let drained = d.drain(limit).await;
    d.shutdown().await;
    (n, metrics, drained)
}

fn s<'a>(v: &'a Value, path: &str) -> &'a Value {
    path.split('.').fold(v, |v, k| &v[k])
}

fn is_rfc3339(v: &Value) -> bool {
    v.as_str()
        .is_some_and(|s| chrono::DateTime::parse_from_rfc3339(s).is_ok())
}

/// A moderate anomaly, then a critical one in the same incident, then 30 quiet minutes.
fn escalating(n: &Notifier) -> Vec<Message> {
    let mut w = Windows::default();
    let mut m = w.window(n, 1, vec![anomaly("a1", "api", Severity::Moderate, 0)]);
    m.extend(w.window(n, 2, vec![anomaly("a2", "api", Severity::Critical, 1)]));
    m.extend(w.window(n, 10, vec![]));
    m.extend(w.window(n, 32, vec![]));
    m
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_receiver_gets_what_its_api_documents() {
    let r = Recorder::start().await;
    r.require_signature(HOOK_KEY.as_bytes());
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(&r, dir.path(), "");
    let n = Notifier::open(&cfg.notify_settings()).unwrap().unwrap();
    let messages = escalating(&n);
    let incident = messages[0].incident.id.clone();
    let (_, metrics, drained) = deliver(&cfg, messages, Duration::from_secs(60)).await;
    assert!(drained);
    assert!(
        r.requests().iter().all(|q| q.accepted()),
        "{:?}",
        r.requests()
            .iter()
            .map(|q| (&q.path, q.status))
            .collect::<Vec<_>>()
    );

    // PagerDuty: triggered once the incident is critical, resolved at the end.
    let pd = r.accepted("/v2/enqueue");
    assert_eq!(pd.len(), 2);
    let trig = &pd[0].body;
    assert_eq!(pd[0].headers["content-type"], "application/json");
    assert_eq!(trig["routing_key"], PD_KEY);
    assert_eq!(trig["event_action"], "trigger");
    assert_eq!(trig["dedup_key"], incident.as_str());
    let summary = s(trig, "payload.summary").as_str().unwrap();
    assert!(!summary.is_empty() && summary.chars().count() <= 1024);
    assert!(summary.contains("pattern never seen before"), "{summary}");
    assert_eq!(s(trig, "payload.source"), "logwarden");
    assert_eq!(s(trig, "payload.severity"), "critical");
    assert!(is_rfc3339(s(trig, "payload.timestamp")));
    assert_eq!(s(trig, "payload.component"), "api");
    assert_eq!(s(trig, "payload.group"), "t");
    assert_eq!(s(trig, "payload.class"), "new_pattern");
    let d = s(trig, "payload.custom_details");
    assert!(d["explanation"].as_str().unwrap().contains("api logged"));
    assert_eq!(d["observed"], 8.0);
    assert_eq!(d["expected"], 0.25);
    assert_eq!(
        d["example_lines"][0],
        "connection to db-7 refused: pool exhausted (active=50)"
    );
    assert_eq!(d["anomaly_ids"].as_array().unwrap().len(), 2);
    assert!(d["score"].is_number());
    let links = trig["links"].as_array().unwrap();
    assert_eq!(links.len(), 2);
    for l in links {
        assert!(l["href"]
            .as_str()
            .unwrap()
            .starts_with("https://kibana.example.com/app/"));
        assert!(l["text"].is_string());
    }
    assert!(links[1]["href"]
        .as_str()
        .unwrap()
        .contains("/app/discover#/"));
    assert_eq!(trig["client"], "logwarden");
    assert!(trig["client_url"].is_string());
    let res = &pd[1].body;
    let keys: Vec<&String> = res.as_object().unwrap().keys().collect();
    assert_eq!(keys, ["dedup_key", "event_action", "routing_key"]);
    assert_eq!(res["event_action"], "resolve");
    assert_eq!(res["dedup_key"], incident.as_str());

    // Slack: the start, the escalation and the end; nothing per anomaly.
    let chat = r.accepted("/services/T000/B000/XXXX");
    assert_eq!(chat.len(), 3);
    for (q, head) in chat
        .iter()
        .zip(["MODERATE", "ESCALATED MODERATE → CRITICAL", "RESOLVED"])
    {
        let b = &q.body;
        assert!(
            b["text"].as_str().is_some_and(|t| !t.is_empty()),
            "fallback text"
        );
        let blocks = b["blocks"].as_array().unwrap();
        assert_eq!(blocks[0]["type"], "header");
        assert_eq!(blocks[0]["text"]["type"], "plain_text");
        let h = blocks[0]["text"]["text"].as_str().unwrap();
        assert!(h.contains(head), "{h}");
        assert!(h.chars().count() <= 150);
        let types: Vec<&str> = blocks.iter().map(|b| b["type"].as_str().unwrap()).collect();
        assert!(
            types.contains(&"actions") && types.contains(&"context"),
            "{types:?}"
        );
        let actions = blocks.iter().find(|b| b["type"] == "actions").unwrap();
        for e in actions["elements"].as_array().unwrap() {
            assert_eq!(e["type"], "button");
            assert_eq!(e["text"]["type"], "plain_text");
            assert!(e["url"]
                .as_str()
                .unwrap()
                .starts_with("https://kibana.example.com/"));
        }
        let fields = blocks.iter().find_map(|b| b["fields"].as_array()).unwrap();
        assert!(fields.iter().all(|f| f["type"] == "mrkdwn"));
        assert!(fields[0]["text"].as_str().unwrap().contains("api"));
    }
    let first = serde_json::to_string(&chat[0].body).unwrap();
    assert!(
        first.contains("```connection to db-7 refused: pool exhausted (active=50)```"),
        "{first}"
    );
    assert!(
        first.contains("*Observed* 8 count · *expected* 0.25 count"),
        "{first}"
    );

    // Webhook: trigger, update (the escalation), resolve; signed (the server refuses a bad
    // signature with 401, and none was refused), idempotency key in header and body.
    let hook = r.accepted("/hook");
    let statuses: Vec<&str> = hook
        .iter()
        .map(|q| q.body["status"].as_str().unwrap())
        .collect();
    assert_eq!(statuses, ["trigger", "update", "resolve"]);
    for q in &hook {
        assert!(signature_ok(HOOK_KEY.as_bytes(), &q.headers, &q.raw));
        assert_eq!(
            q.headers["idempotency-key"],
            q.body["idempotency_key"].as_str().unwrap()
        );
        assert!(q.headers["x-logwarden-timestamp"].parse::<i64>().is_ok());
        let b = &q.body;
        assert_eq!(b["incident_id"], incident.as_str());
        assert!(b["title"].is_string());
        assert_eq!(b["services"], serde_json::json!(["api"]));
        assert_eq!(b["types"], serde_json::json!(["new_pattern"]));
        let a = &b["anomalies"][0];
        for f in [
            "explanation",
            "observed",
            "expected",
            "examples",
            "id",
            "type",
            "service",
            "score",
        ] {
            assert!(!a[f].is_null(), "{f}");
        }
        assert!(b["links"]["dashboard"].is_string() && b["links"]["discover"].is_string());
    }
    assert_eq!(hook[0].body["severity"], "moderate");
    assert_eq!(hook[1].body["severity"], "critical");
    assert_eq!(hook[1].body["escalated_from"], "moderate");
    let ids: std::collections::BTreeSet<&str> = hook
        .iter()
        .map(|q| q.headers["idempotency-key"].as_str())
        .collect();
    assert_eq!(ids.len(), 3);

    // Datadog: one aggregation key, alert types following the tier, success at the end.
    let dd = r.accepted("/api/v1/events");
    assert_eq!(dd.len(), 3);
    let types: Vec<&str> = dd
        .iter()
        .map(|q| q.body["alert_type"].as_str().unwrap())
        .collect();
    assert_eq!(types, ["warning", "error", "success"]);
    for q in &dd {
        assert_eq!(q.headers["dd-api-key"], DD_KEY);
        let b = &q.body;
        assert!(b["title"].as_str().unwrap().chars().count() <= 100);
        let text = b["text"].as_str().unwrap();
        assert!(text.chars().count() <= 4000 && text.starts_with("%%%") && text.ends_with("%%%"));
        assert_eq!(b["aggregation_key"], incident.as_str());
        assert!(b["date_happened"].is_i64());
        assert_eq!(b["source_type_name"], "my_apps");
        assert_eq!(b["priority"], "normal");
        let tags: Vec<&str> = b["tags"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t.as_str().unwrap())
            .collect();
        for want in [
            "service:api",
            "anomaly_type:new_pattern",
            "tenant:t",
            "env:test",
        ] {
            assert!(tags.contains(&want), "{tags:?}");
        }
        assert!(tags.iter().any(|t| t.starts_with("severity:")));
    }

    // Splunk HEC: the event envelope, the token, the configured index and sourcetype.
    let hec = r.accepted("/services/collector/event");
    assert_eq!(hec.len(), 3);
    for q in &hec {
        assert_eq!(q.headers["authorization"], format!("Splunk {HEC_TOKEN}"));
        let b = &q.body;
        assert!(b["time"].is_number());
        assert!(b["host"].is_string());
        assert_eq!(b["source"], "logwarden");
        assert_eq!(b["sourcetype"], "logwarden:incident");
        assert_eq!(b["index"], "alerts");
        assert_eq!(b["event"]["incident_id"], incident.as_str());
    }
    assert_eq!(hec[2].body["event"]["status"], "resolve");

    for (name, n) in [("pd", 2), ("chat", 3), ("hook", 3), ("dd", 3), ("hec", 3)] {
        assert_eq!(
            metrics.notifications_sent.with_label_values(&[name]).get(),
            n,
            "{name}"
        );
    }
    // No secret is written to the outbox.
    let mut files = String::new();
    for e in walk(&dir.path().join("state")) {
        files.push_str(&String::from_utf8_lossy(&std::fs::read(e).unwrap()));
    }
    for secret in [
        PD_KEY,
        DD_KEY,
        HEC_TOKEN,
        HOOK_KEY,
        "/services/T000/B000/XXXX",
    ] {
        assert!(!files.contains(secret), "{secret} written to the state dir");
    }
}

fn walk(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            out.extend(walk(&p));
        } else {
            out.push(p);
        }
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retries_through_503_and_429_deliver_each_message_once_in_order() {
    let r = Recorder::start().await;
    r.require_signature(HOOK_KEY.as_bytes());
    // Every receiver shares the server: the first five requests fail, whoever sends them.
    r.script(&[
        (503, None),
        (503, None),
        (429, Some("1")),
        (502, None),
        (503, None),
    ]);
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(&r, dir.path(), "");
    let n = Notifier::open(&cfg.notify_settings()).unwrap().unwrap();
    let messages = escalating(&n);
    let want: Vec<(String, Action, u32)> = messages
        .iter()
        .map(|m| (m.receiver.clone(), m.action, m.seq))
        .collect();
    let (_, metrics, drained) = deliver(&cfg, messages.clone(), Duration::from_secs(60)).await;
    assert!(drained);
    let all = r.requests();
    assert_eq!(all.iter().filter(|q| !q.accepted()).count(), 5);
    let failed: u64 = ["pd", "chat", "hook", "dd", "hec"]
        .iter()
        .map(|n| metrics.notifications_failed.with_label_values(&[n]).get())
        .sum();
    assert_eq!(failed, 5);
    // Exactly once each, and per receiver in the order queued.
    let accepted: Vec<_> = all.iter().filter(|q| q.accepted()).collect();
    assert_eq!(accepted.len(), messages.len());
    for receiver in ["pd", "chat", "hook", "dd", "hec"] {
        let prefix = match receiver {
            "pd" => "/v2/enqueue",
            "chat" => "/services/T000",
            "hook" => "/hook",
            "dd" => "/api/v1/events",
            _ => "/services/collector",
        };
        let got: Vec<String> = accepted
            .iter()
            .filter(|q| q.path.starts_with(prefix))
            .map(|q| match receiver {
                "pd" => q.body["event_action"].as_str().unwrap().to_string(),
                "hook" => q.body["status"].as_str().unwrap().to_string(),
                "hec" => q.body["event"]["status"].as_str().unwrap().to_string(),
                "dd" => q.body["alert_type"].as_str().unwrap().to_string(),
                _ => q.body["blocks"][0]["text"]["text"]
                    .as_str()
                    .unwrap()
                    .to_string(),
            })
            .collect();
        let expected: Vec<&(String, Action, u32)> =
            want.iter().filter(|w| w.0 == receiver).collect();
        assert_eq!(got.len(), expected.len(), "{receiver}: {got:?}");
        assert!(
            got.last().unwrap().to_lowercase().contains("resol")
                || receiver == "dd" && got.last().unwrap() == "success",
            "{receiver}: {got:?}"
        );
    }
    let hook: Vec<_> = accepted
        .iter()
        .filter(|q| q.path == "/hook")
        .map(|q| q.body["sequence"].as_u64().unwrap())
        .collect();
    assert_eq!(hook, [0, 1, 2]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_message_goes_to_the_dead_letter_file_and_the_rest_go_on() {
    let r = Recorder::start().await;
    r.script(&[(400, None)]);
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = config(&r, dir.path(), "");
    cfg.routes.receivers.retain(|k, _| k == "hook");
    cfg.routes
        .receivers
        .get_mut("hook")
        .unwrap()
        .webhook
        .as_mut()
        .unwrap()
        .secret = None;
    let n = Notifier::open(&cfg.notify_settings()).unwrap().unwrap();
    let messages = escalating(&n);
    assert_eq!(messages.len(), 3);
    let (n, metrics, drained) = deliver(&cfg, messages, Duration::from_secs(60)).await;
    assert!(drained);
    assert_eq!(
        metrics
            .notifications_dropped
            .with_label_values(&["hook"])
            .get(),
        1
    );
    assert_eq!(
        metrics
            .notifications_sent
            .with_label_values(&["hook"])
            .get(),
        2
    );
    let dead = std::fs::read_to_string(n.outbox().dead_letter_path()).unwrap();
    let lines: Vec<Value> = dead
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 1);
    assert_eq!(lines[0]["receiver"], "hook");
    assert_eq!(lines[0]["message"]["action"], "trigger");
    assert!(lines[0]["reason"].as_str().unwrap().contains("400"));
    let statuses: Vec<String> = r
        .accepted("/hook")
        .iter()
        .map(|q| q.body["status"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(statuses, ["update", "resolve"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn queued_messages_survive_a_restart_and_are_sent_once() {
    let r = Recorder::start().await;
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = config(&r, dir.path(), "");
    cfg.routes.receivers.retain(|k, _| k == "hook" || k == "pd");
    // The receivers are down: every request fails for a long while.
    r.script(&vec![(503, None); 10_000]);
    let n = Notifier::open(&cfg.notify_settings()).unwrap().unwrap();
    let messages = escalating(&n);
    assert_eq!(messages.len(), 5);
    n.outbox().enqueue(messages.clone()).unwrap();
    let metrics = Metrics::new();
    let d = Delivery::start(
        &cfg.routes,
        build_targets(&cfg.routes).unwrap(),
        n.outbox().clone(),
        metrics.clone(),
    );
    while r.requests().len() < 4 {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert!(!d.drain(Duration::from_millis(50)).await);
    // Stopped with everything queued (as a kill would leave it: files on disk).
    d.shutdown().await;
    drop(n);
    assert!(r.accepted("").is_empty());
    // The receivers come back; the sidecar starts again and redoes the window, queueing the
    // same messages again: each is sent once.
    let before = r.requests().len();
    r.drop_script();
    let (n2, _, drained) = deliver(&cfg, messages.clone(), Duration::from_secs(60)).await;
    assert!(drained);
    assert_eq!(n2.outbox().len(), 0);
    let accepted = r.accepted("");
    assert_eq!(accepted.len(), 5, "{}", r.requests().len() - before);
    let hook: Vec<u64> = accepted
        .iter()
        .filter(|q| q.path == "/hook")
        .map(|q| q.body["sequence"].as_u64().unwrap())
        .collect();
    assert_eq!(hook, [0, 1, 2]);
    // A third start that queues them once more sends nothing: their keys are in sent.log.
    let (_, metrics3, drained) = deliver(&cfg, messages, Duration::from_secs(60)).await;
    assert!(drained);
    assert_eq!(r.accepted("").len(), 5);
    assert_eq!(
        metrics3
            .notifications_sent
            .with_label_values(&["hook"])
            .get(),
        0
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_rate_limit_holds_the_rest_back() {
    let r = Recorder::start().await;
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = config(&r, dir.path(), "");
    cfg.routes.receivers.retain(|k, _| k == "hook");
    cfg.routes.receivers.get_mut("hook").unwrap().max_per_minute = 2;
    let n = Notifier::open(&cfg.notify_settings()).unwrap().unwrap();
    // Five incidents on five services, far apart: five triggers.
    let mut w = Windows::default();
    let mut messages = Vec::new();
    for (i, svc) in ["a", "b", "c", "d", "e"].iter().enumerate() {
        let at = i as i64 * 120;
        messages.extend(w.window(
            &n,
            at + 1,
            vec![anomaly(&format!("x{i}"), svc, Severity::Critical, at)],
        ));
    }
    let triggers: Vec<&Message> = messages
        .iter()
        .filter(|m| m.action == Action::Trigger)
        .collect();
    assert_eq!(triggers.len(), 5);
    let first_two: Vec<String> = triggers[..2].iter().map(|m| m.key.clone()).collect();
    let queued = messages.len();
    n.outbox().enqueue(messages).unwrap();
    let metrics = Metrics::new();
    let d = Delivery::start(
        &cfg.routes,
        build_targets(&cfg.routes).unwrap(),
        n.outbox().clone(),
        metrics.clone(),
    );
    while r.accepted("/hook").len() < 2 {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    // The minute is not over: nothing more may go.
    assert!(!d.drain(Duration::from_millis(500)).await);
    d.shutdown().await;
    let got: Vec<String> = r
        .accepted("/hook")
        .iter()
        .map(|q| q.headers["idempotency-key"].clone())
        .collect();
    assert_eq!(got, first_two, "the two oldest, in order");
    assert_eq!(n.outbox().len(), queued - 2);
    assert_eq!(
        metrics
            .notifications_sent
            .with_label_values(&["hook"])
            .get(),
        2
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stuck_outbox_shows_on_ready_and_in_the_metrics() {
    let r = Recorder::start().await;
    r.script(&vec![(503, None); 10_000]);
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = config(&r, dir.path(), "");
    cfg.routes.receivers.retain(|k, _| k == "hook");
    cfg.routes.delivery.max_queue_age_secs = 1;
    let n = Notifier::open(&cfg.notify_settings()).unwrap().unwrap();
    let messages = escalating(&n);
    n.outbox().enqueue(messages).unwrap();
    let metrics = Metrics::new();
    metrics.set_ready(true, "live");
    let d = Delivery::start(
        &cfg.routes,
        build_targets(&cfg.routes).unwrap(),
        n.outbox().clone(),
        metrics.clone(),
    );
    while metrics.is_ready() {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(
        metrics.status().contains("oldest queued notification"),
        "{}",
        metrics.status()
    );
    assert_eq!(metrics.notifications_queued.get(), 3);
    assert!(metrics.notifications_oldest_seconds.get() >= 1);
    let text = metrics.render();
    for name in [
        "logwarden_notifications_queued 3",
        "logwarden_notification_failures_total{receiver=\"hook\"}",
        "logwarden_notifications_oldest_queued_seconds",
    ] {
        assert!(text.contains(name), "{name} in\n{text}");
    }
    // The receiver recovers: everything goes, and the sidecar is ready again.
    r.drop_script();
    assert!(d.drain(Duration::from_secs(60)).await);
    while !metrics.is_ready() {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    d.shutdown().await;
    assert_eq!(r.accepted("/hook").len(), 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slack_web_api_replies_in_the_incident_thread() {
    let r = Recorder::start().await;
    let dir = tempfile::tempdir().unwrap();
    let token = secret_file(dir.path(), "bot", "xoxb-test-token");
    let extra = format!(
        "    bot:\n      slack:\n        token: {{file: {token}}}\n        channel: \"#ops\"\n        api_url: {}\n",
        r.url("/api")
    );
    let mut cfg = config(&r, dir.path(), &extra);
    cfg.routes.receivers.retain(|k, _| k == "bot");
    let n = Notifier::open(&cfg.notify_settings()).unwrap().unwrap();
    // Through the Web API Slack hears of every update, in the thread.
    let messages = escalating(&n);
    assert_eq!(messages.len(), 3);
    let (_, _, drained) = deliver(&cfg, messages, Duration::from_secs(60)).await;
    assert!(drained);
    let posts = r.accepted("/api/chat.postMessage");
    assert_eq!(posts.len(), 3);
    for q in &posts {
        assert_eq!(q.headers["authorization"], "Bearer xoxb-test-token");
        assert!(q.headers["content-type"].starts_with("application/json"));
        assert_eq!(q.body["channel"], "#ops");
        assert!(q.body["text"].is_string());
        assert_eq!(q.body["blocks"][0]["type"], "header");
    }
    assert!(posts[0].body.get("thread_ts").is_none());
    // The first answer's ts: the recorder numbers its answers.
    let ts = "1764000000.000000";
    assert_eq!(posts[1].body["thread_ts"], ts);
    assert_eq!(
        posts[1].body["reply_broadcast"], true,
        "an escalation shows in the channel"
    );
    assert_eq!(posts[2].body["thread_ts"], ts);
    assert!(posts[2].body["blocks"][0]["text"]["text"]
        .as_str()
        .unwrap()
        .contains("RESOLVED"));
}
