//! `routes` in YAML: the receivers incidents are sent to, the rules that pick them by tier
//! (and optionally service or anomaly type), the links put in each message, and how the
//! outbox delivers. Serde structs with defaults in named functions, and a pure
//! [`RoutesConfig::validate`] that names the full key path of every problem.
//!
//! Secrets (routing keys, webhook URLs, tokens) come from the environment or a file, as the
//! cluster's credentials do (`{ env: NAME }` or `{ file: PATH }`). A secret written inline
//! is refused without echoing it: the error names the key, never the value.

use crate::backend::config::SecretRef;
use crate::model::{AnomalyType, Severity};
use crate::validate::Problems;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The default PagerDuty Events API v2 endpoint.
pub const PAGERDUTY_EVENTS_URL: &str = "https://events.pagerduty.com/v2/enqueue";
/// The default Datadog API site (US1); the path `/api/v1/events` is added.
pub const DATADOG_API_URL: &str = "https://api.datadoghq.com";

/// Where incidents are sent.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RoutesConfig {
    /// Receivers by any name (referred to by `rules`). Empty: nothing is sent, incidents
    /// only land in the incident index.
    pub receivers: BTreeMap<String, ReceiverConfig>,
    /// Which receivers an incident goes to. Empty: the defaults — `critical` incidents to
    /// every PagerDuty receiver, `moderate` and higher to every other receiver, `low` to none.
    pub rules: Vec<RuleConfig>,
    /// Minutes without a new anomaly after which an incident is resolved (event time: the
    /// end of the window that processed the quiet stretch).
    pub resolve_after_minutes: u64,
    /// Links put in every message (dashboard, Kibana Discover of the 30 minutes before).
    pub links: LinksConfig,
    /// How the outbox delivers: retries, rate limits, readiness.
    pub delivery: DeliveryConfig,
}

fn default_resolve_after_minutes() -> u64 {
    30
}

impl Default for RoutesConfig {
    fn default() -> Self {
        RoutesConfig {
            receivers: BTreeMap::new(),
            rules: Vec::new(),
            resolve_after_minutes: default_resolve_after_minutes(),
            links: LinksConfig::default(),
            delivery: DeliveryConfig::default(),
        }
    }
}

/// A rule: incidents at `tier` or higher (optionally only of a service or an anomaly type)
/// go to `receivers`. An incident escalated to a higher tier keeps its lower-tier receivers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RuleConfig {
    /// The lowest tier the rule applies to: `critical`, `moderate` or `low`.
    pub tier: Severity,
    /// Only anomalies of this service (every service when absent).
    #[serde(default)]
    pub service: Option<String>,
    /// Only anomalies of this type (every type when absent).
    #[serde(default)]
    pub anomaly_type: Option<AnomalyType>,
    /// Names of receivers (keys of `routes.receivers`).
    pub receivers: Vec<String>,
}

/// Links in messages; each is omitted when its base URL is not configured.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LinksConfig {
    /// Kibana (or OpenSearch Dashboards) base URL, e.g. `https://kibana.example.com`: each
    /// message links to Discover over the incident's services for the 30 minutes before it.
    pub kibana_url: Option<String>,
    /// The dashboard's URL; when absent and `kibana_url` is set, the imported logwarden
    /// incidents dashboard under `kibana_url`, around the incident's time.
    pub dashboard_url: Option<String>,
}

/// How the outbox delivers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DeliveryConfig {
    /// First wait after a failed attempt, milliseconds; doubles per attempt (with jitter).
    pub initial_backoff_ms: u64,
    /// Longest wait between attempts, seconds (a `Retry-After` longer than this is honoured).
    pub max_backoff_secs: u64,
    /// A message still failing this many minutes after it was queued goes to the
    /// dead-letter file.
    pub give_up_after_minutes: u64,
    /// Timeout of one request, seconds.
    pub timeout_secs: u64,
    /// `/ready` reports not ready while the oldest queued message is older than this,
    /// seconds.
    pub max_queue_age_secs: u64,
    /// `run --once` waits at most this long for the outbox to drain before exiting, seconds.
    pub drain_timeout_secs: u64,
    /// Keys of sent messages remembered (so a restart does not send them again).
    pub remember_sent: usize,
}

fn default_initial_backoff_ms() -> u64 {
    1000
}
fn default_max_backoff_secs() -> u64 {
    300
}
fn default_give_up_after_minutes() -> u64 {
    24 * 60
}
fn default_timeout_secs() -> u64 {
    10
}
fn default_max_queue_age_secs() -> u64 {
    600
}
fn default_drain_timeout_secs() -> u64 {
    60
}
fn default_remember_sent() -> usize {
    100_000
}

impl Default for DeliveryConfig {
    fn default() -> Self {
        DeliveryConfig {
            initial_backoff_ms: default_initial_backoff_ms(),
            max_backoff_secs: default_max_backoff_secs(),
            give_up_after_minutes: default_give_up_after_minutes(),
            timeout_secs: default_timeout_secs(),
            max_queue_age_secs: default_max_queue_age_secs(),
            drain_timeout_secs: default_drain_timeout_secs(),
            remember_sent: default_remember_sent(),
        }
    }
}

/// One receiver: exactly one of `pagerduty`, `slack`, `webhook`, `datadog`, `splunk`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ReceiverConfig {
    /// PagerDuty Events API v2.
    pub pagerduty: Option<PagerDutyConfig>,
    /// Slack incoming webhook.
    pub slack: Option<SlackConfig>,
    /// Generic webhook: the incident as JSON, optionally signed.
    pub webhook: Option<WebhookConfig>,
    /// Datadog Events API.
    pub datadog: Option<DatadogConfig>,
    /// Splunk HTTP Event Collector.
    pub splunk: Option<SplunkConfig>,
    /// At most this many messages a minute to this receiver; more wait their turn.
    pub max_per_minute: u32,
}

fn default_max_per_minute() -> u32 {
    60
}

impl Default for ReceiverConfig {
    fn default() -> Self {
        ReceiverConfig {
            pagerduty: None,
            slack: None,
            webhook: None,
            datadog: None,
            splunk: None,
            max_per_minute: default_max_per_minute(),
        }
    }
}

/// PagerDuty Events API v2: `trigger` with the incident id as `dedup_key` (later updates
/// re-trigger the same alert), `resolve` when the incident ends.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PagerDutyConfig {
    /// The integration's routing key (32 characters), `{ env: NAME }` or `{ file: PATH }`.
    pub routing_key: Secret,
    /// Events endpoint (default PagerDuty's public `/v2/enqueue`).
    #[serde(default = "default_pagerduty_url")]
    pub url: String,
    /// `payload.source` (default `logwarden`).
    #[serde(default = "default_source")]
    pub source: String,
}

fn default_pagerduty_url() -> String {
    PAGERDUTY_EVENTS_URL.to_string()
}
fn default_source() -> String {
    "logwarden".to_string()
}

/// Slack (Block Kit messages): an incoming webhook (`webhook_url`; it cannot edit or
/// thread, so it hears of an incident's start, escalations and end), or the Web API
/// (`token` and `channel`; `chat.postMessage`, later messages as replies in the first
/// one's thread, so it hears of every update too).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SlackConfig {
    /// The incoming webhook URL, `{ env: NAME }` or `{ file: PATH }` (it carries its own
    /// credential, so it is a secret).
    #[serde(default)]
    pub webhook_url: Option<Secret>,
    /// A bot token (`xoxb-…`, scope `chat:write`) for the Web API, `{ env: NAME }` or
    /// `{ file: PATH }`; instead of `webhook_url`.
    #[serde(default)]
    pub token: Option<Secret>,
    /// The channel the Web API posts to (id or `#name`); with `token`.
    #[serde(default)]
    pub channel: Option<String>,
    /// Base URL of the Web API; `/chat.postMessage` is added.
    #[serde(default = "default_slack_api_url")]
    pub api_url: String,
}

/// The default Slack Web API base URL.
pub const SLACK_API_URL: &str = "https://slack.com/api";

fn default_slack_api_url() -> String {
    SLACK_API_URL.to_string()
}

/// Generic webhook: POSTs the incident JSON with an `Idempotency-Key` header, signed with
/// HMAC-SHA256 when `secret` is set.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WebhookConfig {
    /// Where to POST.
    pub url: String,
    /// HMAC-SHA256 key, `{ env: NAME }` or `{ file: PATH }`; unsigned when absent.
    #[serde(default)]
    pub secret: Option<Secret>,
}

/// Datadog Events API v1 (`POST /api/v1/events`), events aggregated by incident id.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DatadogConfig {
    /// API key (`DD-API-KEY`), `{ env: NAME }` or `{ file: PATH }`.
    pub api_key: Secret,
    /// API base URL of the Datadog site (default US1); `/api/v1/events` is added.
    #[serde(default = "default_datadog_url")]
    pub url: String,
    /// `source_type_name` of the events.
    #[serde(default = "default_source_type_name")]
    pub source_type_name: String,
    /// Extra tags on every event, e.g. `env:prod`.
    #[serde(default)]
    pub tags: Vec<String>,
}

fn default_datadog_url() -> String {
    DATADOG_API_URL.to_string()
}
fn default_source_type_name() -> String {
    "my_apps".to_string()
}

/// Splunk HTTP Event Collector (`POST /services/collector/event`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SplunkConfig {
    /// Base URL of the collector, e.g. `https://splunk.example.com:8088`.
    pub url: String,
    /// HEC token (`Authorization: Splunk <token>`), `{ env: NAME }` or `{ file: PATH }`.
    pub token: Secret,
    /// `sourcetype` of the events.
    #[serde(default = "default_sourcetype")]
    pub sourcetype: String,
    /// `source` of the events.
    #[serde(default = "default_source")]
    pub source: String,
    /// Target index (the token's default index when absent).
    #[serde(default)]
    pub index: Option<String>,
}

fn default_sourcetype() -> String {
    "logwarden:incident".to_string()
}

/// The kinds of receiver.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReceiverKind {
    /// PagerDuty Events API v2.
    Pagerduty,
    /// Slack incoming webhook.
    Slack,
    /// Generic webhook.
    Webhook,
    /// Datadog Events API.
    Datadog,
    /// Splunk HTTP Event Collector.
    Splunk,
}

impl ReceiverKind {
    /// The config key naming this kind.
    pub fn as_str(self) -> &'static str {
        match self {
            ReceiverKind::Pagerduty => "pagerduty",
            ReceiverKind::Slack => "slack",
            ReceiverKind::Webhook => "webhook",
            ReceiverKind::Datadog => "datadog",
            ReceiverKind::Splunk => "splunk",
        }
    }

    /// The lowest tier this kind receives when no rules are configured.
    pub fn default_tier(self) -> Severity {
        match self {
            ReceiverKind::Pagerduty => Severity::Critical,
            _ => Severity::Moderate,
        }
    }
}

impl ReceiverConfig {
    /// The configured kinds (exactly one in a valid config).
    pub fn kinds(&self) -> Vec<ReceiverKind> {
        let mut k = Vec::new();
        if self.pagerduty.is_some() {
            k.push(ReceiverKind::Pagerduty);
        }
        if self.slack.is_some() {
            k.push(ReceiverKind::Slack);
        }
        if self.webhook.is_some() {
            k.push(ReceiverKind::Webhook);
        }
        if self.datadog.is_some() {
            k.push(ReceiverKind::Datadog);
        }
        if self.splunk.is_some() {
            k.push(ReceiverKind::Splunk);
        }
        k
    }

    /// Whether every anomaly of an open incident is worth an update here. A Slack incoming
    /// webhook cannot edit or thread, so it hears only of the start, an escalation and the
    /// end; through the Web API updates go into the incident's thread.
    pub fn sends_updates(&self) -> bool {
        match &self.slack {
            Some(s) => s.token.is_some(),
            None => true,
        }
    }

    /// The receiver's kind (the first configured; validation ensures there is one).
    pub fn kind(&self) -> ReceiverKind {
        self.kinds()
            .first()
            .copied()
            .unwrap_or(ReceiverKind::Webhook)
    }

    fn validate(&self, path: &str, p: &mut Problems) {
        match self.kinds().len() {
            0 => p.add(
                path,
                "set one of `pagerduty`, `slack`, `webhook`, `datadog`, `splunk`",
            ),
            1 => {}
            _ => p.add(
                path,
                "set only one of `pagerduty`, `slack`, `webhook`, `datadog`, `splunk`",
            ),
        }
        p.range(
            format!("{path}.max_per_minute"),
            self.max_per_minute,
            1,
            100_000,
        );
        if let Some(c) = &self.pagerduty {
            let path = format!("{path}.pagerduty");
            c.routing_key.validate(&format!("{path}.routing_key"), p);
            url_check(&format!("{path}.url"), &c.url, p);
            if c.source.trim().is_empty() {
                p.add(format!("{path}.source"), "must not be empty");
            }
        }
        if let Some(c) = &self.slack {
            let path = format!("{path}.slack");
            match (&c.webhook_url, &c.token) {
                (Some(u), None) => u.validate(&format!("{path}.webhook_url"), p),
                (None, Some(t)) => {
                    t.validate(&format!("{path}.token"), p);
                    if c.channel.as_deref().is_none_or(|ch| ch.trim().is_empty()) {
                        p.add(format!("{path}.channel"), "is needed with `token`");
                    }
                }
                (None, None) => p.add(&path, "set `webhook_url` or `token` (with `channel`)"),
                (Some(_), Some(_)) => p.add(&path, "set only one of `webhook_url` and `token`"),
            }
            url_check(&format!("{path}.api_url"), &c.api_url, p);
        }
        if let Some(c) = &self.webhook {
            url_check(&format!("{path}.webhook.url"), &c.url, p);
            if let Some(s) = &c.secret {
                s.validate(&format!("{path}.webhook.secret"), p);
            }
        }
        if let Some(c) = &self.datadog {
            let path = format!("{path}.datadog");
            c.api_key.validate(&format!("{path}.api_key"), p);
            url_check(&format!("{path}.url"), &c.url, p);
            if c.source_type_name.trim().is_empty() {
                p.add(format!("{path}.source_type_name"), "must not be empty");
            }
            for (i, t) in c.tags.iter().enumerate() {
                if t.trim().is_empty() || t.contains(',') {
                    p.add(
                        format!("{path}.tags[{i}]"),
                        "must be a non-empty tag without commas",
                    );
                }
            }
        }
        if let Some(c) = &self.splunk {
            let path = format!("{path}.splunk");
            url_check(&format!("{path}.url"), &c.url, p);
            c.token.validate(&format!("{path}.token"), p);
            if c.sourcetype.trim().is_empty() {
                p.add(format!("{path}.sourcetype"), "must not be empty");
            }
            if c.index.as_deref().is_some_and(|i| i.trim().is_empty()) {
                p.add(format!("{path}.index"), "must not be empty when given");
            }
        }
    }
}

/// A URL must be http(s) with a host and no credentials in it.
fn url_check(key: &str, url: &str, p: &mut Problems) {
    let rest = url
        .strip_prefix("http://")
        .or_else(|| url.strip_prefix("https://"));
    match rest {
        None => p.add(key, "must start with http:// or https://"),
        Some(r) => {
            let authority = r.split('/').next().unwrap_or("");
            if authority.is_empty() {
                p.add(key, "has no host");
            } else if authority.contains('@') {
                p.add(key, "must not contain credentials");
            }
        }
    }
}

impl LinksConfig {
    fn validate(&self, path: &str, p: &mut Problems) {
        for (k, v) in [
            ("kibana_url", &self.kibana_url),
            ("dashboard_url", &self.dashboard_url),
        ] {
            if let Some(u) = v {
                url_check(&format!("{path}.{k}"), u, p);
            }
        }
    }
}

impl DeliveryConfig {
    /// The backoff of failed deliveries.
    pub fn backoff(&self) -> crate::retry::Backoff {
        crate::retry::Backoff {
            first: std::time::Duration::from_millis(self.initial_backoff_ms),
            max: std::time::Duration::from_secs(self.max_backoff_secs),
        }
    }

    fn validate(&self, path: &str, p: &mut Problems) {
        p.range(
            format!("{path}.initial_backoff_ms"),
            self.initial_backoff_ms,
            1,
            3_600_000,
        );
        p.range(
            format!("{path}.max_backoff_secs"),
            self.max_backoff_secs,
            1,
            86_400,
        );
        p.range(
            format!("{path}.give_up_after_minutes"),
            self.give_up_after_minutes,
            1,
            30 * 24 * 60,
        );
        p.range(format!("{path}.timeout_secs"), self.timeout_secs, 1, 600);
        p.range(
            format!("{path}.max_queue_age_secs"),
            self.max_queue_age_secs,
            1,
            7 * 86_400,
        );
        p.range(
            format!("{path}.drain_timeout_secs"),
            self.drain_timeout_secs,
            0,
            3600,
        );
        p.range(
            format!("{path}.remember_sent"),
            self.remember_sent,
            100,
            10_000_000,
        );
    }
}

impl RoutesConfig {
    /// Report problems under `path` (`routes`).
    pub fn validate(&self, path: &str, p: &mut Problems) {
        for (name, r) in &self.receivers {
            if name.trim().is_empty() {
                p.add(
                    format!("{path}.receivers"),
                    "receiver names must not be empty",
                );
            }
            r.validate(&format!("{path}.receivers.{name}"), p);
        }
        for (i, rule) in self.rules.iter().enumerate() {
            let key = format!("{path}.rules[{i}]");
            if rule.receivers.is_empty() {
                p.add(
                    format!("{key}.receivers"),
                    "must name at least one receiver",
                );
            }
            for (j, r) in rule.receivers.iter().enumerate() {
                if !self.receivers.contains_key(r) {
                    p.add(
                        format!("{key}.receivers[{j}]"),
                        format!("`{r}` is not a receiver in `{path}.receivers`"),
                    );
                }
            }
            if rule.service.as_deref().is_some_and(|s| s.trim().is_empty()) {
                p.add(format!("{key}.service"), "must not be empty when given");
            }
        }
        p.range(
            format!("{path}.resolve_after_minutes"),
            self.resolve_after_minutes,
            1,
            7 * 24 * 60,
        );
        self.links.validate(&format!("{path}.links"), p);
        self.delivery.validate(&format!("{path}.delivery"), p);
    }

    /// Whether anything is to be sent at all.
    pub fn enabled(&self) -> bool {
        !self.receivers.is_empty()
    }

    /// The receivers an anomaly of `tier`, `service` and `kind` goes to: the configured
    /// rules, or the defaults when there are none.
    pub fn receivers_for(&self, tier: Severity, service: &str, kind: AnomalyType) -> Vec<&str> {
        let mut out: Vec<&str> = Vec::new();
        if self.rules.is_empty() {
            for (name, r) in &self.receivers {
                if tier >= r.kind().default_tier() {
                    out.push(name);
                }
            }
            return out;
        }
        for rule in &self.rules {
            if tier >= rule.tier
                && rule.service.as_deref().is_none_or(|s| s == service)
                && rule.anomaly_type.is_none_or(|t| t == kind)
            {
                for r in &rule.receivers {
                    if !out.contains(&r.as_str()) {
                        out.push(r);
                    }
                }
            }
        }
        out
    }
}

/// A secret's source in `routes`: `{ env: NAME }` or `{ file: PATH }`. Anything else (an
/// inline string, a number) is refused with an error that does not repeat the value.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Secret(pub SecretRef);

impl PartialEq for Secret {
    fn eq(&self, other: &Self) -> bool {
        self.0.env == other.0.env && self.0.file == other.0.file
    }
}

impl Secret {
    fn validate(&self, path: &str, p: &mut Problems) {
        self.0.validate(path, p);
    }
}
