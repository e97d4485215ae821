//! Config errors at start, through the binary: a secret written where its source belongs is
//! refused, the key named and the value never shown (a config error goes to terminals and
//! log collectors); a run that cannot work stops at once and says why.

use std::process::Command;

const SECRET: &str = "12345supersecret";

/// Run `logwarden run --once` on `yaml`; (exit code, stderr + stdout).
fn run(yaml: &str) -> (Option<i32>, String) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("config.yaml");
    std::fs::write(&path, yaml).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_logwarden"))
        .args(["--config", path.to_str().unwrap(), "run", "--once"])
        .env_remove("LOGWARDEN_TEST_UNSET_PASSWORD")
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stderr),
        String::from_utf8_lossy(&out.stdout)
    );
    (out.status.code(), text)
}

#[test]
fn an_inline_secret_in_any_shape_is_refused_without_showing_it() {
    let cluster = "cluster:\n  url: http://127.0.0.1:9\n";
    let cases = [
        (
            format!("{cluster}  auth: {SECRET}\n"),
            "`cluster.auth`",
            "found a string",
        ),
        (
            format!("{cluster}  auth:\n    type: basic\n    username: elastic\n    password: {SECRET}\n"),
            "`cluster.auth`",
            "found a string: expected a secret source",
        ),
        (
            format!("{cluster}  auth:\n    type: api_key\n    id: k1\n    key: [{SECRET}]\n"),
            "`cluster.auth`",
            "found a list: expected a secret source",
        ),
        (
            format!("{cluster}  auth:\n    type: basic\n    username: elastic\n    password: 12345\n"),
            "`cluster.auth`",
            "found a number: expected a secret source",
        ),
        (
            format!("{cluster}routes:\n  receivers:\n    pager:\n      pagerduty:\n        routing_key: {SECRET}\n"),
            "routes.receivers",
            "found a string: expected a secret source",
        ),
        (
            format!("{cluster}routes:\n  receivers:\n    hook:\n      webhook:\n        url: http://127.0.0.1:9/\n        secret: {{ value: {SECRET} }}\n"),
            "routes.receivers",
            "unknown field `value`",
        ),
    ];
    for (yaml, key, says) in cases {
        let (code, text) = run(&yaml);
        assert_eq!(code, Some(2), "{yaml}\n{text}");
        assert!(text.contains(key), "{yaml}\n{text}");
        assert!(text.contains(says), "{yaml}\n{text}");
        assert!(
            !text.contains(SECRET),
            "the secret is shown:\n{yaml}\n{text}"
        );
        assert!(
            !text.contains("12345"),
            "the number is shown:\n{yaml}\n{text}"
        );
    }
}

#[test]
fn a_secret_whose_variable_is_not_set_stops_the_run_naming_it() {
    // Nothing listens at port 9: were the run to wait for the cluster, it would never end.
    let (code, text) = run(
        "cluster:\n  url: http://127.0.0.1:9\n  auth:\n    type: basic\n    username: elastic\n    password: { env: LOGWARDEN_TEST_UNSET_PASSWORD }\nsources:\n  app:\n    index: logs-x\nrun:\n  listen: \"\"\n",
    );
    assert_eq!(code, Some(2), "{text}");
    assert!(
        text.contains(
            "error: cannot use the cluster: backend config: environment variable LOGWARDEN_TEST_UNSET_PASSWORD is not set"
        ),
        "{text}"
    );
}

#[test]
fn run_without_a_config_says_so_before_it_starts_anything() {
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_logwarden"))
        .args(["run", "--once"])
        .current_dir(dir.path())
        .env_remove("LOGWARDEN__CLUSTER__URL")
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{text}");
    assert_eq!(
        text.trim(),
        "error: config key `cluster` is missing: `logwarden run` needs `cluster.url` (no --config was given; logwarden.example.yaml shows every key)"
    );
}

#[test]
fn a_batch_run_gives_up_on_an_unreachable_cluster_with_the_reason() {
    // Nothing listens at port 9; the service mode would wait, a batch run must end.
    let (code, text) = run(
        "cluster:\n  url: http://127.0.0.1:9\nsources:\n  app:\n    index: logs-x\nrun:\n  listen: \"\"\n  max_retry_secs: 1\n  once_give_up_secs: 2\n",
    );
    assert_eq!(code, Some(2), "{text}");
    assert!(
        text.contains("error: gave up after 2 s (run.once_give_up_secs): cluster unreachable at http://127.0.0.1:9: engine detection: cluster unreachable: error sending request"),
        "{text}"
    );
    assert!(
        text.contains("cluster unreachable at http://127.0.0.1:9 (attempt 1)"),
        "{text}"
    );
}

/// The caps on templates and on watched new templates are checked at start, naming the key.
#[test]
fn the_template_caps_out_of_range_stop_the_run_naming_the_key() {
    let (code, text) = run(
        "cluster:\n  url: http://127.0.0.1:9\nparse:\n  max_templates: 0\ndetect:\n  max_novel_templates: 0\n",
    );
    assert_ne!(code, Some(0), "{text}");
    assert!(
        text.contains("`parse.max_templates`: must be between 10 and 10000000, got 0"),
        "{text}"
    );
    assert!(
        text.contains("`detect.max_novel_templates`: must be between 10 and 1000000, got 0"),
        "{text}"
    );
}
