//! `routes` in the config: every bad key is named with its full path, and a secret written
//! inline is refused without its value appearing anywhere in the error.

use logwarden::config::Config;

fn err(yaml: &str) -> String {
    Config::from_yaml(yaml).unwrap_err().to_string()
}

const PD: &str =
    "routes:\n  receivers:\n    oncall:\n      pagerduty:\n        routing_key: {env: PD_KEY}\n";

#[test]
fn a_valid_routes_section_parses_with_its_defaults() {
    let cfg = Config::from_yaml(PD).unwrap();
    let r = &cfg.routes;
    let pd = r.receivers["oncall"].pagerduty.as_ref().unwrap();
    assert_eq!(pd.url, "https://events.pagerduty.com/v2/enqueue");
    assert_eq!(pd.source, "logwarden");
    assert_eq!(r.receivers["oncall"].max_per_minute, 60);
    assert_eq!(r.resolve_after_minutes, 30);
    assert!(r.rules.is_empty());
    assert_eq!(r.delivery.drain_timeout_secs, 60);
}

#[test]
fn an_inline_secret_is_refused_without_echoing_it() {
    for (key, yaml) in [
        (
            "routes.receivers.oncall.pagerduty.routing_key",
            "routes:\n  receivers:\n    oncall:\n      pagerduty:\n        routing_key: R0UTINGKEYsupersecret42\n",
        ),
        (
            "routes.receivers.chat.slack.webhook_url",
            "routes:\n  receivers:\n    chat:\n      slack:\n        webhook_url: https://hooks.slack.com/services/T1/B2/supersecret42\n",
        ),
        (
            "routes.receivers.dd.datadog.api_key",
            "routes:\n  receivers:\n    dd:\n      datadog:\n        api_key: 4242424242supersecret42\n",
        ),
        (
            "routes.receivers.hook.webhook.secret",
            "routes:\n  receivers:\n    hook:\n      webhook:\n        url: http://h.example/x\n        secret: [supersecret42]\n",
        ),
    ] {
        let e = err(yaml);
        assert!(e.contains(key), "{e}");
        assert!(!e.contains("supersecret42"), "the secret leaked: {e}");
        assert!(e.contains("env") && e.contains("file"), "{e}");
    }
}

#[test]
fn an_inline_secret_from_the_environment_is_not_echoed_either() {
    let e = Config::load_with_env(
        None,
        [(
            "LOGWARDEN__ROUTES__RECEIVERS__ONCALL__PAGERDUTY__ROUTING_KEY".to_string(),
            "envsecret4242".to_string(),
        )],
    )
    .unwrap_err()
    .to_string();
    assert!(
        e.contains("routes.receivers.oncall.pagerduty.routing_key"),
        "{e}"
    );
    assert!(!e.contains("envsecret4242"), "{e}");
}

#[test]
fn a_missing_secret_names_the_key_and_the_variable() {
    let cfg = Config::from_yaml(
        "routes:\n  receivers:\n    oncall:\n      pagerduty:\n        routing_key: {env: LOGWARDEN_TEST_UNSET_PD_KEY}\n",
    )
    .unwrap();
    let e = logwarden::notify::build_targets(&cfg.routes)
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("routes.receivers.oncall.pagerduty.routing_key"),
        "{e}"
    );
    assert!(e.contains("LOGWARDEN_TEST_UNSET_PD_KEY"), "{e}");
}

#[test]
fn each_bad_key_is_named() {
    let cases: &[(&str, &str)] = &[
        ("routes:\n  resolve_after_minutes: 0\n", "routes.resolve_after_minutes"),
        (
            "routes:\n  receivers:\n    x:\n      slack: {}\n",
            "routes.receivers.x.slack",
        ),
        (
            "routes:\n  receivers:\n    x:\n      slack: {token: {env: A}}\n",
            "routes.receivers.x.slack.channel",
        ),
        (
            "routes:\n  receivers:\n    x:\n      slack: {token: {env: A}, channel: C1, api_url: slack.com}\n",
            "routes.receivers.x.slack.api_url",
        ),
        ("routes:\n  receivers:\n    x: {}\n", "routes.receivers.x"),
        (
            "routes:\n  receivers:\n    x:\n      slack: {webhook_url: {env: A}}\n      webhook: {url: http://h/x}\n",
            "routes.receivers.x",
        ),
        (
            "routes:\n  receivers:\n    x:\n      pagerduty:\n        routing_key: {env: A, file: /b}\n",
            "routes.receivers.x.pagerduty.routing_key",
        ),
        (
            "routes:\n  receivers:\n    x:\n      pagerduty:\n        routing_key: {}\n",
            "routes.receivers.x.pagerduty.routing_key",
        ),
        (
            "routes:\n  receivers:\n    x:\n      pagerduty:\n        routing_key: {env: A}\n        url: events.example.com\n",
            "routes.receivers.x.pagerduty.url",
        ),
        (
            "routes:\n  receivers:\n    x:\n      webhook: {url: 'https://user:pw@h/x'}\n",
            "routes.receivers.x.webhook.url",
        ),
        (
            "routes:\n  receivers:\n    x:\n      webhook: {url: http://h/x}\n      max_per_minute: 0\n",
            "routes.receivers.x.max_per_minute",
        ),
        (
            "routes:\n  receivers:\n    x:\n      datadog: {api_key: {env: A}, tags: ['a,b']}\n",
            "routes.receivers.x.datadog.tags[0]",
        ),
        (
            "routes:\n  receivers:\n    x:\n      splunk: {url: http://s:8088, token: {env: A}, sourcetype: ''}\n",
            "routes.receivers.x.splunk.sourcetype",
        ),
        (
            "routes:\n  receivers:\n    x:\n      splunk: {token: {env: A}}\n",
            "routes.receivers.x.splunk",
        ),
        (
            "routes:\n  receivers:\n    x:\n      webhook: {url: http://h/x}\n  rules:\n    - tier: critical\n      receivers: [nope]\n",
            "routes.rules[0].receivers[0]",
        ),
        (
            "routes:\n  receivers:\n    x:\n      webhook: {url: http://h/x}\n  rules:\n    - tier: urgent\n      receivers: [x]\n",
            "routes.rules[0].tier",
        ),
        (
            "routes:\n  rules:\n    - tier: low\n      receivers: []\n",
            "routes.rules[0].receivers",
        ),
        ("routes:\n  links:\n    kibana_url: kibana:5601\n", "routes.links.kibana_url"),
        ("routes:\n  delivery:\n    initial_backoff_ms: 0\n", "routes.delivery.initial_backoff_ms"),
        ("routes:\n  delivery:\n    max_backoff_secs: 0\n", "routes.delivery.max_backoff_secs"),
        ("routes:\n  delivery:\n    timeout_secs: 0\n", "routes.delivery.timeout_secs"),
        ("routes:\n  delivery:\n    max_queue_age_secs: 0\n", "routes.delivery.max_queue_age_secs"),
        ("routes:\n  delivery:\n    give_up_after_minutes: 0\n", "routes.delivery.give_up_after_minutes"),
        ("routes:\n  delivery:\n    remember_sent: 1\n", "routes.delivery.remember_sent"),
        ("routes:\n  delivery:\n    no_such: 1\n", "no_such"),
        (
            "routes:\n  receivers:\n    x:\n      pagerduty:\n        routing_key: {env: A}\n        severity: high\n",
            "severity",
        ),
    ];
    for (yaml, key) in cases {
        let e = err(yaml);
        assert!(e.contains(key), "`{key}` not named for\n{yaml}\n→ {e}");
    }
}
