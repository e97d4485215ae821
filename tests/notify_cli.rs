//! `logwarden notify test` against real HTTP receivers on loopback: every configured route
//! gets a trigger and its resolve, a refusing receiver fails the command with its answer,
//! and a receiver name that is not configured is named.

mod notify_support;

use notify_support::Recorder;
use std::path::Path;
use std::process::{Command, Output};

const HOOK_KEY: &str = "hook-secret";

fn write(dir: &Path, name: &str, text: &str) -> String {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p.display().to_string()
}

/// A config with a PagerDuty, a Slack, a signed webhook, a Datadog and a Splunk receiver on
/// `r`, and `broken`: a webhook at a path `r` is scripted to refuse.
fn config(dir: &Path, r: &Recorder) -> String {
    let yaml = format!(
        "tenant: t\nrun:\n  state_dir: {state}\nroutes:\n  receivers:\n\
         \x20   pager:\n      pagerduty:\n        routing_key: {{file: {pd}}}\n        url: {pd_url}\n\
         \x20   chat:\n      slack:\n        webhook_url: {{file: {slack}}}\n\
         \x20   hook:\n      webhook:\n        url: {hook_url}\n        secret: {{file: {hook}}}\n\
         \x20   dd:\n      datadog:\n        api_key: {{file: {dd}}}\n        url: {dd_url}\n\
         \x20   hec:\n      splunk:\n        url: {hec_url}\n        token: {{file: {hec}}}\n",
        state = dir.join("state").display(),
        pd = write(dir, "pd", "R0UT1NGKEY"),
        slack = write(dir, "slack", &r.url("/services/T000/B000/XXXX")),
        hook = write(dir, "hook", HOOK_KEY),
        dd = write(dir, "dd", "dd-key"),
        hec = write(dir, "hec", "hec-token"),
        pd_url = r.url("/v2/enqueue"),
        hook_url = r.url("/hook"),
        dd_url = r.url(""),
        hec_url = r.url(""),
    );
    write(dir, "config.yaml", &yaml)
}

async fn notify_test(config: &str, args: &[&str]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_logwarden"));
    cmd.args(["--config", config, "notify", "test"]).args(args);
    tokio::task::spawn_blocking(move || cmd.output().unwrap())
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_route_gets_a_trigger_and_its_resolve() {
    let r = Recorder::start().await;
    r.require_signature(HOOK_KEY.as_bytes());
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(dir.path(), &r);
    let out = notify_test(&cfg, &[]).await;
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for (name, kind) in [
        ("chat", "slack"),
        ("dd", "datadog"),
        ("hec", "splunk"),
        ("hook", "webhook"),
        ("pager", "pagerduty"),
    ] {
        assert!(
            stdout.contains(&format!(
                "ok   {name} ({kind}): trigger accepted; resolve accepted"
            )),
            "{stdout}"
        );
    }
    assert!(stdout.contains("5 receiver(s) accepted"), "{stdout}");

    // PagerDuty: a trigger and a resolve of one alert, marked as a test.
    let pd = r.accepted("/v2/enqueue");
    assert_eq!(pd.len(), 2, "{pd:#?}");
    assert_eq!(pd[0].body["event_action"], "trigger");
    assert_eq!(pd[1].body["event_action"], "resolve");
    assert_eq!(pd[0].body["routing_key"], "R0UT1NGKEY");
    assert_eq!(pd[0].body["dedup_key"], pd[1].body["dedup_key"]);
    assert_eq!(pd[0].body["payload"]["component"], "logwarden-test");
    assert!(pd[0].body["payload"]["summary"]
        .as_str()
        .unwrap()
        .contains("logwarden notify test"));
    // The webhook's signature verified (the recorder refuses a bad one with 401).
    let hook = r.accepted("/hook");
    assert_eq!(hook.len(), 2);
    assert_eq!(hook[0].body["status"], "trigger");
    assert_eq!(hook[1].body["status"], "resolve");
    assert_eq!(r.accepted("/services/T000").len(), 2);
    assert_eq!(r.accepted("/api/v1/events").len(), 2);
    assert_eq!(r.accepted("/services/collector").len(), 2);

    // A second test is a new alert, not an update of the first.
    let again = notify_test(&cfg, &["--receiver", "pager", "--no-resolve"]).await;
    assert!(again.status.success());
    let pd = r.accepted("/v2/enqueue");
    assert_eq!(pd.len(), 3, "only the pager, only a trigger");
    assert_eq!(pd[2].body["event_action"], "trigger");
    assert_ne!(pd[2].body["dedup_key"], pd[0].body["dedup_key"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refusing_receiver_fails_the_test_and_an_unknown_name_is_named() {
    let r = Recorder::start().await;
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(dir.path(), &r);
    // The first request (receivers go in name order: `chat` first) is refused for good.
    r.script(&[(403, None)]);
    let out = notify_test(&cfg, &["--receiver", "chat", "--receiver", "pager"]).await;
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stdout}{stderr}");
    assert!(
        stdout.contains("FAIL chat (slack): trigger refused: HTTP 403"),
        "{stdout}"
    );
    assert!(
        stdout.contains("ok   pager (pagerduty): trigger accepted; resolve accepted"),
        "{stdout}"
    );
    assert!(
        stderr.contains("1 of 2 receivers did not accept the test incident"),
        "{stderr}"
    );
    // Nothing to resolve after a refused trigger; the others were not asked.
    assert_eq!(
        r.requests()
            .iter()
            .filter(|q| q.path.starts_with("/services/T"))
            .count(),
        1
    );
    assert!(r.requests().iter().all(|q| !q.path.starts_with("/hook")));

    // A receiver nobody listens at: the cause is shown, as the sidecar would log it.
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let gone = write(
        dir.path(),
        "gone.yaml",
        &format!(
            "routes:\n  receivers:\n    gone:\n      webhook:\n        url: http://{closed}/hook\n"
        ),
    );
    let out = notify_test(&gone, &[]).await;
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(2), "{stdout}");
    assert!(
        stdout.contains(
            "FAIL gone (webhook): trigger failed, would be retried: error sending request"
        ) && stdout.contains("Connection refused"),
        "{stdout}"
    );

    let out = notify_test(&cfg, &["--receiver", "nope"]).await;
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(
            "no receiver `nope` in `routes.receivers` (configured: chat, dd, hec, hook, pager)"
        ),
        "{stderr}"
    );
}
