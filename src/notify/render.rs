//! What each receiver is sent: the HTTP request (URL, headers, JSON body) for a [`Message`],
//! per receiver kind, following each receiver's public API documentation. Pure: secrets and
//! the current time are passed in.
//!
//! - PagerDuty Events API v2 (`POST /v2/enqueue`): `routing_key`, `event_action`
//!   (`trigger` for trigger and update — a repeated trigger with the same `dedup_key` adds to
//!   the open alert, it does not page again — and `resolve`), `dedup_key` = incident id,
//!   `payload` {`summary` ≤ 1024 characters, `source`, `severity` critical/warning/info,
//!   `timestamp`, `component`, `group`, `class`, `custom_details`}, `links` [{`href`,
//!   `text`}], `client`, `client_url`.
//! - Slack incoming webhook: `text` (the fallback) and Block Kit `blocks` (header, section,
//!   fields, actions with link buttons, context); through the Web API (`chat.postMessage`,
//!   `Authorization: Bearer <token>`) the same with `channel`, and `thread_ts` (the first
//!   message's `ts`) on later ones, `reply_broadcast` on escalations and the resolve.
//! - Generic webhook: the incident as JSON, `Idempotency-Key`, and when a secret is set
//!   `X-Logwarden-Timestamp: <unix seconds>` and
//!   `X-Logwarden-Signature: sha256=<hex HMAC-SHA256 of "<timestamp>.<body>">`.
//! - Datadog Events API v1 (`POST /api/v1/events`, `DD-API-KEY`): `title` ≤ 100 characters,
//!   `text` ≤ 4000, `aggregation_key` = incident id, `alert_type` error/warning/info (and
//!   `success` on resolve), `priority`, `date_happened` (integer seconds, within the last 18
//!   hours), `source_type_name`, `tags`.
//! - Splunk HEC (`POST /services/collector/event`, `Authorization: Splunk <token>`): `time`
//!   (epoch seconds), `host`, `source`, `sourcetype`, `index` (optional), `event`.

use super::config::ReceiverKind;
use super::incident::IncidentSnapshot;
use super::tracker::{Action, Message};
use crate::backend::config::Secret;
use crate::model::Severity;
use chrono::{DateTime, Duration, SecondsFormat, Utc};
use hmac::{Hmac, Mac};
use serde_json::{json, Value};
use sha2::Sha256;

/// A receiver ready to send: its settings with secrets resolved.
#[derive(Debug, Clone)]
pub enum Target {
    /// PagerDuty Events API v2.
    PagerDuty {
        /// The enqueue URL.
        url: String,
        /// `routing_key`.
        routing_key: Secret,
        /// `payload.source`.
        source: String,
    },
    /// Slack incoming webhook.
    Slack {
        /// The webhook URL.
        webhook_url: Secret,
    },
    /// Slack Web API (`chat.postMessage`), threaded per incident.
    SlackApi {
        /// The `chat.postMessage` URL.
        url: String,
        /// Bot token.
        token: Secret,
        /// Channel.
        channel: String,
    },
    /// Generic webhook.
    Webhook {
        /// Where to POST.
        url: String,
        /// HMAC key.
        secret: Option<Secret>,
    },
    /// Datadog Events API.
    Datadog {
        /// Site base URL.
        url: String,
        /// `DD-API-KEY`.
        api_key: Secret,
        /// `source_type_name`.
        source_type_name: String,
        /// Extra tags.
        tags: Vec<String>,
    },
    /// Splunk HEC.
    Splunk {
        /// Collector base URL.
        url: String,
        /// HEC token.
        token: Secret,
        /// `sourcetype`.
        sourcetype: String,
        /// `source`.
        source: String,
        /// `index`.
        index: Option<String>,
        /// `host`: this machine.
        host: String,
    },
}

impl Target {
    /// The kind of receiver.
    pub fn kind(&self) -> ReceiverKind {
        match self {
            Target::PagerDuty { .. } => ReceiverKind::Pagerduty,
            Target::Slack { .. } | Target::SlackApi { .. } => ReceiverKind::Slack,
            Target::Webhook { .. } => ReceiverKind::Webhook,
            Target::Datadog { .. } => ReceiverKind::Datadog,
            Target::Splunk { .. } => ReceiverKind::Splunk,
        }
    }
}

/// One HTTP POST to make.
#[derive(Debug, Clone)]
pub struct Request {
    /// Full URL (may carry a secret: Slack's webhook URL; never log it).
    pub url: String,
    /// Headers besides `Content-Type: application/json`.
    pub headers: Vec<(String, String)>,
    /// The JSON body.
    pub body: Vec<u8>,
}

/// The header carrying a webhook's signature.
pub const SIGNATURE_HEADER: &str = "X-Logwarden-Signature";
/// The header carrying the signed timestamp (unix seconds).
pub const TIMESTAMP_HEADER: &str = "X-Logwarden-Timestamp";
/// The idempotency header of webhooks.
pub const IDEMPOTENCY_HEADER: &str = "Idempotency-Key";

/// Cut `s` to at most `max` characters, marking the cut with `…`.
pub fn truncate(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        return s.to_string();
    }
    let mut out: String = s.chars().take(max.saturating_sub(1)).collect();
    out.push('…');
    out
}

fn ts(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// A number for people: integers without decimals, others with at most three.
fn num(x: f64) -> String {
    if x.fract() == 0.0 && x.abs() < 1e15 {
        format!("{}", x as i64)
    } else {
        let s = format!("{x:.3}");
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    }
}

/// PagerDuty's severity for a tier.
pub fn pagerduty_severity(s: Severity) -> &'static str {
    match s {
        Severity::Critical => "critical",
        Severity::Moderate => "warning",
        Severity::Low => "info",
    }
}

/// Datadog's `alert_type` for a tier.
pub fn datadog_alert_type(s: Severity) -> &'static str {
    match s {
        Severity::Critical => "error",
        Severity::Moderate => "warning",
        Severity::Low => "info",
    }
}

fn upper(s: Severity) -> String {
    s.as_str().to_uppercase()
}

/// The incident's one-line summary: tier, title, affected services.
fn summary(i: &IncidentSnapshot) -> String {
    format!(
        "[{}] {} ({})",
        i.severity.as_str(),
        i.title,
        i.services.join(", ")
    )
}

/// The custom details / machine-readable part shared by several receivers.
fn details(m: &Message) -> Value {
    let i = &m.incident;
    let top = i.top();
    json!({
        "incident_id": i.id,
        "status": m.action.as_str(),
        "severity": i.severity.as_str(),
        "score": i.score,
        "explanation": top.map(|a| a.explanation.as_str()).unwrap_or(""),
        "observed": top.map(|a| a.observed),
        "expected": top.map(|a| a.expected),
        "unit": top.map(|a| a.unit.as_str()).unwrap_or(""),
        "template": top.map(|a| a.template.as_str()).unwrap_or(""),
        "example_lines": top.map(|a| a.examples.clone()).unwrap_or_default(),
        "services": i.services,
        "anomaly_types": i.types,
        "anomaly_count": i.anomaly_count,
        "anomaly_ids": i.anomaly_ids,
        "start": ts(i.start),
        "end": ts(i.end),
        "tenant": i.tenant,
    })
}

/// The webhook document: the incident and its anomalies, with the status.
pub fn webhook_body(m: &Message) -> Value {
    let i = &m.incident;
    json!({
        "version": 1,
        "idempotency_key": m.key,
        "incident_id": i.id,
        "status": m.action.as_str(),
        "sequence": m.seq,
        "escalated_from": m.escalated_from.map(|s| s.as_str()),
        "at": ts(m.at),
        "severity": i.severity.as_str(),
        "score": i.score,
        "title": i.title,
        "start": ts(i.start),
        "end": ts(i.end),
        "tenant": i.tenant,
        "services": i.services,
        "types": i.types,
        "anomaly_count": i.anomaly_count,
        "anomaly_ids": i.anomaly_ids,
        "anomalies": i.anomalies.iter().map(|a| json!({
            "id": a.id,
            "type": a.kind,
            "service": a.service,
            "severity": a.severity.as_str(),
            "score": a.score,
            "explanation": a.explanation,
            "observed": a.observed,
            "expected": a.expected,
            "unit": a.unit,
            "template": a.template,
            "examples": a.examples,
            "start": ts(a.start),
            "end": ts(a.end),
        })).collect::<Vec<_>>(),
        "links": {
            "dashboard": i.links.dashboard,
            "discover": i.links.discover,
        },
    })
}

fn links_list(i: &IncidentSnapshot) -> Vec<Value> {
    let mut out = Vec::new();
    if let Some(d) = &i.links.dashboard {
        out.push(json!({"href": d, "text": "logwarden incidents dashboard"}));
    }
    if let Some(d) = &i.links.discover {
        out.push(json!({"href": d, "text": "Kibana Discover: the 30 minutes before"}));
    }
    out
}

/// HMAC-SHA256 of `"<timestamp>.<body>"` under `key`, hex.
pub fn signature(key: &[u8], timestamp: i64, body: &[u8]) -> String {
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(key).expect("HMAC takes any key length");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    mac.finalize()
        .into_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Escape text for Slack's mrkdwn.
fn slack_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

fn slack_body(m: &Message) -> Value {
    let i = &m.incident;
    let top = i.top();
    let head = match (m.action, m.escalated_from) {
        (Action::Resolve, _) => format!("✅ RESOLVED ({}): {}", i.severity.as_str(), i.title),
        (_, Some(from)) => format!(
            "⬆️ ESCALATED {} → {}: {}",
            upper(from),
            upper(i.severity),
            i.title
        ),
        _ => format!(
            "{} {}: {}",
            match i.severity {
                Severity::Critical => "🔴",
                Severity::Moderate => "🟠",
                Severity::Low => "🔵",
            },
            upper(i.severity),
            i.title
        ),
    };
    let fallback = match m.action {
        Action::Resolve => format!("Resolved: {}", summary(i)),
        _ => summary(i),
    };
    let mut blocks = vec![json!({
        "type": "header",
        "text": {"type": "plain_text", "text": truncate(&head, 150), "emoji": true},
    })];
    if m.action == Action::Resolve {
        blocks.push(json!({
            "type": "section",
            "text": {"type": "mrkdwn", "text": truncate(&format!(
                "No new anomaly for {} minutes. {} anomalies from {} to {}.",
                m.quiet_minutes, i.anomaly_count, ts(i.start), ts(i.end)
            ), 3000)},
        }));
    } else if let Some(a) = top {
        blocks.push(json!({
            "type": "section",
            "text": {"type": "mrkdwn", "text": truncate(&format!(
                "{}\n*Observed* {} {} · *expected* {} {}",
                slack_escape(&a.explanation), num(a.observed), slack_escape(&a.unit),
                num(a.expected), slack_escape(&a.unit)
            ), 3000)},
        }));
    }
    blocks.push(json!({
        "type": "section",
        "fields": [
            {"type": "mrkdwn", "text": truncate(&format!("*Service*\n{}", slack_escape(&i.services.join(", "))), 2000)},
            {"type": "mrkdwn", "text": truncate(&format!("*Type*\n{}", i.types.join(", ")), 2000)},
            {"type": "mrkdwn", "text": format!("*Score*\n{}", num((i.score * 10.0).round() / 10.0))},
            {"type": "mrkdwn", "text": format!("*Anomalies*\n{}", i.anomaly_count)},
        ],
    }));
    if m.action != Action::Resolve {
        if let Some(line) = top.and_then(|a| a.examples.first()) {
            let line = truncate(&line.replace("```", "'''"), 2900);
            blocks.push(json!({
                "type": "section",
                "text": {"type": "mrkdwn", "text": format!("```{line}```")},
            }));
        }
    }
    let mut buttons = Vec::new();
    if let Some(d) = &i.links.dashboard {
        buttons.push(json!({"type": "button", "text": {"type": "plain_text", "text": "Dashboard"}, "url": d}));
    }
    if let Some(d) = &i.links.discover {
        buttons.push(json!({"type": "button", "text": {"type": "plain_text", "text": "Discover: 30 min before"}, "url": d}));
    }
    if !buttons.is_empty() {
        blocks.push(json!({"type": "actions", "elements": buttons}));
    }
    blocks.push(json!({
        "type": "context",
        "elements": [{"type": "mrkdwn", "text": format!(
            "incident `{}` · tenant {} · started {}", i.id, slack_escape(&i.tenant), ts(i.start)
        )}],
    }));
    json!({"text": truncate(&fallback, 3000), "blocks": blocks})
}

fn datadog_text(m: &Message) -> String {
    let i = &m.incident;
    let mut t = String::from("%%%\n");
    if m.action == Action::Resolve {
        t.push_str(&format!(
            "**Resolved**: no new anomaly for {} minutes.\n\n",
            m.quiet_minutes
        ));
    }
    if let Some(a) = i.top() {
        t.push_str(&format!(
            "{}\n\nObserved **{} {}**, expected {} {}.\n\n",
            a.explanation,
            num(a.observed),
            a.unit,
            num(a.expected),
            a.unit
        ));
        if let Some(line) = a.examples.first() {
            t.push_str(&format!("```\n{}\n```\n\n", line.replace("```", "'''")));
        }
    }
    t.push_str(&format!(
        "{} anomalies on {} (score {}).\n",
        i.anomaly_count,
        i.services.join(", "),
        num((i.score * 10.0).round() / 10.0)
    ));
    if let Some(d) = &i.links.dashboard {
        t.push_str(&format!("\n[Dashboard]({d})"));
    }
    if let Some(d) = &i.links.discover {
        t.push_str(&format!("\n[Discover: 30 minutes before]({d})"));
    }
    // Keep the closing marker inside the 4000-character limit.
    let mut t = truncate(&t, 3990);
    t.push_str("\n%%%");
    t
}

/// The request for `m` to `target`, at wall-clock time `now`; `thread` is the Slack Web API
/// `ts` of the incident's first message, when there is one.
pub fn render(target: &Target, m: &Message, now: DateTime<Utc>, thread: Option<&str>) -> Request {
    let i = &m.incident;
    match target {
        Target::PagerDuty {
            url,
            routing_key,
            source,
        } => {
            let body = if m.action == Action::Resolve {
                json!({
                    "routing_key": routing_key.expose(),
                    "event_action": "resolve",
                    "dedup_key": i.id,
                })
            } else {
                let top = i.top();
                let mut details = details(m);
                if let Some(from) = m.escalated_from {
                    details["escalated_from"] = json!(from.as_str());
                }
                let mut body = json!({
                    "routing_key": routing_key.expose(),
                    "event_action": "trigger",
                    "dedup_key": i.id,
                    "payload": {
                        "summary": truncate(&summary(i), 1024),
                        "source": source,
                        "severity": pagerduty_severity(i.severity),
                        "timestamp": ts(i.start),
                        "component": top.map(|a| a.service.as_str()).unwrap_or(""),
                        "group": i.tenant,
                        "class": top.map(|a| a.kind.as_str()).unwrap_or(""),
                        "custom_details": details,
                    },
                    "client": "logwarden",
                    "links": links_list(i),
                });
                if let Some(d) = &i.links.dashboard {
                    body["client_url"] = json!(d);
                }
                body
            };
            Request {
                url: url.clone(),
                headers: Vec::new(),
                body: body.to_string().into_bytes(),
            }
        }
        Target::Slack { webhook_url } => Request {
            url: webhook_url.expose().to_string(),
            headers: Vec::new(),
            body: slack_body(m).to_string().into_bytes(),
        },
        Target::SlackApi {
            url,
            token,
            channel,
        } => {
            let mut body = slack_body(m);
            body["channel"] = json!(channel);
            body["unfurl_links"] = json!(false);
            if let Some(ts) = thread {
                body["thread_ts"] = json!(ts);
                // Escalations and the end show in the channel too, not only in the thread.
                if m.escalated_from.is_some() || m.action == Action::Resolve {
                    body["reply_broadcast"] = json!(true);
                }
            }
            Request {
                url: url.clone(),
                headers: vec![
                    (
                        "Authorization".to_string(),
                        format!("Bearer {}", token.expose()),
                    ),
                    (
                        "Content-Type".to_string(),
                        "application/json; charset=utf-8".to_string(),
                    ),
                ],
                body: body.to_string().into_bytes(),
            }
        }
        Target::Webhook { url, secret } => {
            let body = webhook_body(m).to_string().into_bytes();
            let mut headers = vec![(IDEMPOTENCY_HEADER.to_string(), m.key.clone())];
            if let Some(s) = secret {
                let t = now.timestamp();
                headers.push((TIMESTAMP_HEADER.to_string(), t.to_string()));
                headers.push((
                    SIGNATURE_HEADER.to_string(),
                    format!("sha256={}", signature(s.expose().as_bytes(), t, &body)),
                ));
            }
            Request {
                url: url.clone(),
                headers,
                body,
            }
        }
        Target::Datadog {
            url,
            api_key,
            source_type_name,
            tags,
        } => {
            let mut all_tags: Vec<String> =
                i.services.iter().map(|s| format!("service:{s}")).collect();
            all_tags.push(format!("severity:{}", i.severity.as_str()));
            all_tags.extend(i.types.iter().map(|t| format!("anomaly_type:{t}")));
            all_tags.push(format!("tenant:{}", i.tenant));
            all_tags.push(format!("incident_id:{}", i.id));
            all_tags.push(format!("status:{}", m.action.as_str()));
            all_tags.extend(tags.iter().cloned());
            // Datadog refuses events older than 18 hours: a replay's are dated now.
            let happened = if m.at < now - Duration::hours(17) || m.at > now {
                now
            } else {
                m.at
            };
            let (title, alert_type) = if m.action == Action::Resolve {
                (format!("Resolved: {}", i.title), "success")
            } else {
                (
                    format!("[{}] {}", i.severity.as_str(), i.title),
                    datadog_alert_type(i.severity),
                )
            };
            let body = json!({
                "title": truncate(&title, 100),
                "text": datadog_text(m),
                "aggregation_key": truncate(&i.id, 100),
                "alert_type": alert_type,
                "priority": if i.severity == Severity::Low { "low" } else { "normal" },
                "date_happened": happened.timestamp(),
                "source_type_name": source_type_name,
                "tags": all_tags,
            });
            Request {
                url: format!("{}/api/v1/events", url.trim_end_matches('/')),
                headers: vec![("DD-API-KEY".to_string(), api_key.expose().to_string())],
                body: body.to_string().into_bytes(),
            }
        }
        Target::Splunk {
            url,
            token,
            sourcetype,
            source,
            index,
            host,
        } => {
            let mut body = json!({
                "time": m.at.timestamp_millis() as f64 / 1000.0,
                "host": host,
                "source": source,
                "sourcetype": sourcetype,
                "event": webhook_body(m),
            });
            if let Some(ix) = index {
                body["index"] = json!(ix);
            }
            Request {
                url: format!("{}/services/collector/event", url.trim_end_matches('/')),
                headers: vec![(
                    "Authorization".to_string(),
                    format!("Splunk {}", token.expose()),
                )],
                body: body.to_string().into_bytes(),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn truncation_keeps_the_limit_in_characters() {
        let s = "é".repeat(2000);
        let t = truncate(&s, 1024);
        assert_eq!(t.chars().count(), 1024);
        assert!(t.ends_with('…'));
        assert_eq!(truncate("short", 1024), "short");
    }

    #[test]
    fn signature_matches_a_known_vector() {
        // RFC 4231 test case 2: key "Jefe", data "what do ya want for nothing?".
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(b"Jefe").unwrap();
        mac.update(b"what do ya want for nothing?");
        let hex: String = mac
            .finalize()
            .into_bytes()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        assert_eq!(
            hex,
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
        assert_eq!(signature(b"k", 5, b"x").len(), 64);
    }

    #[test]
    fn numbers_read_well() {
        assert_eq!(num(412.0), "412");
        assert_eq!(num(0.125), "0.125");
        assert_eq!(num(71.23456), "71.235");
    }
}
