//! Delivery: one task per receiver takes that receiver's oldest queued message from the
//! [`Outbox`] and sends it until it is accepted (2xx), refused for good, or too old.
//!
//! - Connection errors, timeouts, 408, 429 and 5xx are retried with exponential backoff
//!   (`initial_backoff_ms`, doubling, capped at `max_backoff_secs`) and jitter (each wait
//!   drawn between half and all of it); a `Retry-After` (seconds or an HTTP date) is
//!   honoured when it asks for longer.
//! - Any other 4xx is permanent: counted, logged with the receiver's name, and the message
//!   moved to the dead-letter file. So is a message still failing `give_up_after_minutes`
//!   after it was queued.
//! - A receiver's messages go out one at a time in queue order, so each incident's trigger,
//!   updates and resolve arrive in order; a receiver that is down holds back only its own.
//! - At most `max_per_minute` requests a minute per receiver (a sliding minute).
//!
//! Errors never show a URL (a Slack webhook URL is a credential) or a secret.

use super::config::{DeliveryConfig, RoutesConfig};
use super::outbox::{Outbox, Queued};
use super::render::{render, Target};
use super::tracker::{Action, Message};
use crate::telemetry::Metrics;
use chrono::Utc;
use std::collections::{BTreeMap, VecDeque};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;
use tokio::time::Instant;

/// What one attempt came to.
#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// Accepted; with the Slack Web API, the message's `ts` (a thread to reply in).
    Delivered {
        /// `ts` of the posted message.
        thread: Option<String>,
    },
    /// Worth another try, after at least this long when the receiver said so.
    Retry {
        /// Why.
        reason: String,
        /// The receiver's `Retry-After`.
        after: Option<Duration>,
    },
    /// Refused for good.
    Permanent {
        /// Why.
        reason: String,
    },
}

/// Classify a response status (with its `Retry-After`, if any).
pub fn classify(status: u16, retry_after: Option<Duration>, body: &str) -> Outcome {
    let excerpt: String = body.chars().take(300).collect();
    match status {
        200..=299 => Outcome::Delivered { thread: None },
        408 | 429 | 500..=599 => Outcome::Retry {
            reason: format!("HTTP {status}: {excerpt}"),
            after: retry_after,
        },
        _ => Outcome::Permanent {
            reason: format!("HTTP {status}: {excerpt}"),
        },
    }
}

/// Classify a Slack Web API answer: HTTP 200 with `{"ok": false, "error": …}` is a failure,
/// retried for Slack's transient errors.
pub fn classify_slack_api(status: u16, retry_after: Option<Duration>, body: &str) -> Outcome {
    let outcome = classify(status, retry_after, body);
    if !matches!(outcome, Outcome::Delivered { .. }) {
        return outcome;
    }
    let v: serde_json::Value = serde_json::from_str(body).unwrap_or_default();
    if v["ok"].as_bool() == Some(true) {
        return Outcome::Delivered {
            thread: v["ts"].as_str().map(str::to_string),
        };
    }
    let error = v["error"]
        .as_str()
        .unwrap_or("no `ok` in the answer")
        .to_string();
    match error.as_str() {
        "ratelimited"
        | "internal_error"
        | "fatal_error"
        | "service_unavailable"
        | "request_timeout" => Outcome::Retry {
            reason: format!("slack: {error}"),
            after: retry_after,
        },
        _ => Outcome::Permanent {
            reason: format!("slack: {error}"),
        },
    }
}

/// Parse a `Retry-After` value: delay seconds or an HTTP date.
pub fn parse_retry_after(v: &str, now: chrono::DateTime<Utc>) -> Option<Duration> {
    let v = v.trim();
    if let Ok(secs) = v.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let t = chrono::DateTime::parse_from_rfc2822(v).ok()?;
    let d = t.with_timezone(&Utc) - now;
    Some(d.to_std().unwrap_or(Duration::ZERO))
}

/// Send one request.
pub async fn attempt(
    client: &reqwest::Client,
    target: &Target,
    message: &Message,
    thread: Option<&str>,
) -> Outcome {
    let req = render(target, message, Utc::now(), thread);
    let mut b = client.post(&req.url).header(
        "User-Agent",
        concat!("logwarden/", env!("CARGO_PKG_VERSION")),
    );
    if !req
        .headers
        .iter()
        .any(|(k, _)| k.eq_ignore_ascii_case("content-type"))
    {
        b = b.header("Content-Type", "application/json");
    }
    for (k, v) in &req.headers {
        b = b.header(k, v);
    }
    match b.body(req.body).send().await {
        Ok(resp) => {
            let status = resp.status().as_u16();
            let retry_after = resp
                .headers()
                .get("retry-after")
                .and_then(|v| v.to_str().ok())
                .and_then(|v| parse_retry_after(v, Utc::now()));
            let body = resp.text().await.unwrap_or_default();
            if matches!(target, Target::SlackApi { .. }) {
                classify_slack_api(status, retry_after, &body)
            } else {
                classify(status, retry_after, &body)
            }
        }
        // Without the URL: a Slack webhook URL is a credential.
        Err(e) => {
            // With its causes ("error sending request: … Connection refused").
            let e = e.without_url();
            let mut reason = e.to_string();
            let mut cause = std::error::Error::source(&e);
            while let Some(c) = cause {
                reason.push_str(&format!(": {c}"));
                cause = c.source();
            }
            Outcome::Retry {
                reason,
                after: None,
            }
        }
    }
}

/// Sleep `d`, or return `true` early when told to stop.
async fn sleep_or_stop(d: Duration, stop: &mut watch::Receiver<bool>) -> bool {
    if *stop.borrow() {
        return true;
    }
    tokio::select! {
        _ = tokio::time::sleep(d) => *stop.borrow(),
        r = stop.changed() => r.is_err() || *stop.borrow(),
    }
}

struct Worker {
    name: String,
    target: Target,
    outbox: Arc<Outbox>,
    client: reqwest::Client,
    cfg: DeliveryConfig,
    max_per_minute: usize,
    metrics: Metrics,
    recent: VecDeque<Instant>,
}

impl Worker {
    async fn run(mut self, mut stop: watch::Receiver<bool>) {
        let mut changes = self.outbox.subscribe();
        loop {
            if *stop.borrow() {
                return;
            }
            let Some(q) = self.outbox.next_for(&self.name) else {
                tokio::select! {
                    r = changes.changed() => if r.is_err() { return },
                    _ = stop.changed() => {},
                }
                continue;
            };
            if !self.deliver(q, &mut stop).await {
                return;
            }
        }
    }

    /// Wait for a slot under the rate limit; `false` when told to stop.
    async fn rate_limit(&mut self, stop: &mut watch::Receiver<bool>) -> bool {
        let minute = Duration::from_secs(60);
        loop {
            let now = Instant::now();
            while self.recent.front().is_some_and(|t| now - *t >= minute) {
                self.recent.pop_front();
            }
            if self.recent.len() < self.max_per_minute {
                self.recent.push_back(now);
                return true;
            }
            let wait = self
                .recent
                .front()
                .map_or(Duration::ZERO, |t| minute - (now - *t));
            if sleep_or_stop(wait, stop).await {
                return false;
            }
        }
    }

    /// Deliver `q` (or give up on it); `false` when told to stop first.
    async fn deliver(&mut self, q: Queued, stop: &mut watch::Receiver<bool>) -> bool {
        let name = self.name.clone();
        let give_up = chrono::Duration::minutes(self.cfg.give_up_after_minutes as i64);
        let mut tries = 0u32;
        loop {
            if !self.rate_limit(stop).await {
                return false;
            }
            let thread = self.outbox.thread(&name, &q.message.incident.id);
            let outcome = attempt(&self.client, &self.target, &q.message, thread.as_deref()).await;
            let result = match outcome {
                Outcome::Delivered { thread: ts } => {
                    if q.message.action == Action::Resolve {
                        self.outbox.forget_thread(&name, &q.message.incident.id);
                    } else if let (Some(ts), None) = (ts, thread) {
                        self.outbox.set_thread(&name, &q.message.incident.id, &ts);
                    }
                    self.metrics
                        .notifications_sent
                        .with_label_values(&[&name])
                        .inc();
                    tracing::info!(receiver = %name, incident = %q.message.incident.id, action = q.message.action.as_str(), "notification sent");
                    self.outbox.delivered(q.seq)
                }
                Outcome::Permanent { reason } => {
                    self.metrics
                        .notifications_dropped
                        .with_label_values(&[&name])
                        .inc();
                    tracing::error!(receiver = %name, incident = %q.message.incident.id, action = q.message.action.as_str(), "notification refused for good, moved to {}: {reason}", self.outbox.dead_letter_path().display());
                    self.outbox.dead(q.seq, &reason)
                }
                Outcome::Retry { reason, after } => {
                    self.metrics
                        .notifications_failed
                        .with_label_values(&[&name])
                        .inc();
                    if Utc::now() - q.queued_at > give_up {
                        self.metrics
                            .notifications_dropped
                            .with_label_values(&[&name])
                            .inc();
                        tracing::error!(receiver = %name, incident = %q.message.incident.id, "notification still failing after {} minutes, moved to the dead-letter file: {reason}", self.cfg.give_up_after_minutes);
                        self.outbox.dead(q.seq, &format!("gave up: {reason}"))
                    } else {
                        tries += 1;
                        let wait = self
                            .cfg
                            .backoff()
                            .delay(tries)
                            .max(after.unwrap_or_default());
                        tracing::warn!(receiver = %name, incident = %q.message.incident.id, attempt = tries, "notification not delivered, retrying in {:.1}s: {reason}", wait.as_secs_f64());
                        if sleep_or_stop(wait, stop).await {
                            return false;
                        }
                        continue;
                    }
                }
            };
            if let Err(e) = result {
                // The outbox's files could not be updated: stop this receiver rather than
                // send the message again and again.
                tracing::error!(receiver = %name, "outbox: {e}; delivery to this receiver stops");
                return false;
            }
            return true;
        }
    }
}

/// The running delivery tasks.
pub struct Delivery {
    outbox: Arc<Outbox>,
    stop: watch::Sender<bool>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl Delivery {
    /// Start one task per receiver of `targets`, and a monitor that keeps the queue metrics
    /// and `/ready` current. Messages queued for receivers no longer configured go to the
    /// dead-letter file.
    pub fn start(
        routes: &RoutesConfig,
        targets: BTreeMap<String, Target>,
        outbox: Arc<Outbox>,
        metrics: Metrics,
    ) -> Delivery {
        for q in outbox.pending() {
            if !targets.contains_key(&q.message.receiver) {
                tracing::error!(receiver = %q.message.receiver, "queued notification for a receiver no longer configured, moved to the dead-letter file");
                metrics
                    .notifications_dropped
                    .with_label_values(&[&q.message.receiver])
                    .inc();
                if let Err(e) = outbox.dead(q.seq, "receiver no longer configured") {
                    tracing::error!("outbox: {e}");
                }
            }
        }
        let (stop, rx) = watch::channel(false);
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(routes.delivery.timeout_secs))
            .build()
            .unwrap_or_default();
        let mut tasks = Vec::new();
        for (name, target) in targets {
            metrics.register_receiver(&name);
            let max = routes.receivers.get(&name).map_or(60, |r| r.max_per_minute) as usize;
            let w = Worker {
                name,
                target,
                outbox: outbox.clone(),
                client: client.clone(),
                cfg: routes.delivery.clone(),
                max_per_minute: max.max(1),
                metrics: metrics.clone(),
                recent: VecDeque::new(),
            };
            tasks.push(tokio::spawn(w.run(rx.clone())));
        }
        let (o, m, mut s) = (outbox.clone(), metrics, rx);
        let max_age = routes.delivery.max_queue_age_secs as i64;
        tasks.push(tokio::spawn(async move {
            loop {
                let age = o
                    .oldest()
                    .map_or(0, |t| (Utc::now() - t).num_seconds().max(0));
                m.notifications_queued.set(o.len() as i64);
                m.notifications_oldest_seconds.set(age);
                m.set_outbox_problem((age > max_age).then(|| {
                    format!("the oldest queued notification has waited {age}s (more than routes.delivery.max_queue_age_secs)")
                }));
                if sleep_or_stop(Duration::from_secs(1), &mut s).await {
                    return;
                }
            }
        }));
        Delivery {
            outbox,
            stop,
            tasks,
        }
    }

    /// Wait until the outbox is empty, at most `timeout`; whether it is.
    pub async fn drain(&self, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        let mut changes = self.outbox.subscribe();
        while !self.outbox.is_empty() {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return false;
            }
            // Woken by each delivery; the timeout bounds a wait for a retry.
            let _ =
                tokio::time::timeout(left.min(Duration::from_millis(200)), changes.changed()).await;
        }
        true
    }

    /// Stop every task (queued messages stay in the outbox for the next start).
    pub async fn shutdown(self) {
        let _ = self.stop.send(true);
        for t in self.tasks {
            let _ = t.await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_are_classified() {
        assert_eq!(classify(202, None, ""), Outcome::Delivered { thread: None });
        assert_eq!(
            classify_slack_api(200, None, r#"{"ok":true,"channel":"C1","ts":"17.01"}"#),
            Outcome::Delivered {
                thread: Some("17.01".to_string())
            }
        );
        assert!(matches!(
            classify_slack_api(200, None, r#"{"ok":false,"error":"channel_not_found"}"#),
            Outcome::Permanent { .. }
        ));
        assert!(matches!(
            classify_slack_api(200, None, r#"{"ok":false,"error":"ratelimited"}"#),
            Outcome::Retry { .. }
        ));
        assert!(matches!(classify(503, None, ""), Outcome::Retry { .. }));
        assert!(matches!(
            classify(429, Some(Duration::from_secs(3)), ""),
            Outcome::Retry { after: Some(d), .. } if d == Duration::from_secs(3)
        ));
        assert!(matches!(
            classify(400, None, "bad"),
            Outcome::Permanent { .. }
        ));
        assert!(matches!(classify(404, None, ""), Outcome::Permanent { .. }));
    }

    #[test]
    fn retry_after_reads_seconds_and_dates() {
        let now: chrono::DateTime<Utc> = "2026-11-30T12:00:00Z".parse().unwrap();
        assert_eq!(parse_retry_after("7", now), Some(Duration::from_secs(7)));
        assert_eq!(
            parse_retry_after("Mon, 30 Nov 2026 12:00:30 GMT", now),
            Some(Duration::from_secs(30))
        );
        assert_eq!(parse_retry_after("soon", now), None);
    }
}
