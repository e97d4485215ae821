//! `logwarden notify test`: send one made-up incident to the configured receivers, so that a
//! wrong URL, a revoked key or a proxy in the way shows up at setup time and not during the
//! first outage.
//!
//! Owns: [`test_incident`] and [`send_test`]. The message goes through the same rendering
//! and HTTP code as the sidecar's, one attempt per message, without the outbox: nothing is
//! queued, retried or remembered, and the sidecar's state is not touched.

use super::config::ReceiverKind;
use super::deliver::{attempt, Outcome};
use super::incident::IncidentSnapshot;
use super::tracker::{Action, Message};
use super::{build_targets, NotifyError, NotifySettings};
use crate::model::{
    content_id, ecs_severity, Anomaly, AnomalyBody, AnomalyType, EventRef, FeedbackRef,
    IncidentRef, ModelRef, PatternRef, ServiceRef, Severity, Window,
};
use chrono::{DateTime, Duration, Utc};

/// The service name the test incident is about.
pub const TEST_SERVICE: &str = "logwarden-test";

/// What one receiver answered.
#[derive(Debug, Clone, PartialEq)]
pub struct ProbeResult {
    /// The receiver's name in `routes.receivers`.
    pub receiver: String,
    /// Its kind.
    pub kind: ReceiverKind,
    /// Each message sent, in order, with the receiver's answer.
    pub steps: Vec<(Action, Outcome)>,
}

impl ProbeResult {
    /// Whether every message was accepted.
    pub fn ok(&self) -> bool {
        self.steps
            .iter()
            .all(|(_, o)| matches!(o, Outcome::Delivered { .. }))
    }
}

/// A made-up critical incident at `now`, one anomaly on [`TEST_SERVICE`] that says it is a
/// test; its id is new on every call, so a pager opens (and closes) a fresh alert.
pub fn test_incident(config: &NotifySettings, now: DateTime<Utc>) -> IncidentSnapshot {
    let start = now - Duration::minutes(10);
    let id = content_id(&["notify-test", &now.to_rfc3339()]);
    let score = 90.0;
    let anomaly = Anomaly {
        timestamp: start,
        anomaly: AnomalyBody {
            id: id.clone(),
            kind: AnomalyType::NewPattern,
            severity: Severity::Critical,
            score,
            window: Window { start, end: now },
            observed: 1.0,
            expected: 0.0,
            unit: "count".to_string(),
            confidence: 1.0,
            probability: 0.0,
            explanation: "logwarden notify test: a test message from `logwarden notify test`; no action needed".to_string(),
        },
        service: ServiceRef {
            name: TEST_SERVICE.to_string(),
        },
        pattern: PatternRef {
            id: "test".to_string(),
            template: "logwarden notify test".to_string(),
            cluster_id: None,
            examples: vec!["logwarden notify test: if you read this, the route works".to_string()],
        },
        incident: IncidentRef {
            id: format!("i{}", content_id(&["incident", &id])),
        },
        model: ModelRef {
            version: "test".to_string(),
        },
        feedback: FeedbackRef::default(),
        tenant: config.tenant.clone(),
        event: EventRef {
            kind: "alert".to_string(),
            start,
            end: now,
            severity: ecs_severity(Severity::Critical),
            risk_score: score,
        },
        parameter: None,
        forecast: None,
    };
    IncidentSnapshot::of(
        &anomaly.incident.id,
        &[&anomaly],
        &config.tenant,
        &config.routes.links,
        &config.service_field,
    )
    .expect("one member")
}

/// Send the test incident to `only` (every configured receiver when empty): a trigger, then,
/// with `resolve`, its resolve, so that a pager's test alert closes itself. A receiver name
/// not configured is an error naming it; a secret that cannot be read is an error naming
/// its key. Receivers are tried in name order, each whatever the others answered.
pub async fn send_test(
    config: &NotifySettings,
    only: &[String],
    resolve: bool,
    now: DateTime<Utc>,
) -> Result<Vec<ProbeResult>, NotifyError> {
    let routes = &config.routes;
    if let Some(name) = only.iter().find(|n| !routes.receivers.contains_key(*n)) {
        let known: Vec<&str> = routes.receivers.keys().map(String::as_str).collect();
        return Err(NotifyError::Unknown {
            name: name.clone(),
            known: if known.is_empty() {
                "none: `routes.receivers` is empty".to_string()
            } else {
                known.join(", ")
            },
        });
    }
    let targets = build_targets(routes)?;
    let client = reqwest::Client::builder()
        .timeout(std::time::Duration::from_secs(routes.delivery.timeout_secs))
        .build()
        .unwrap_or_default();
    let incident = test_incident(config, now);
    let mut out = Vec::new();
    for (name, target) in &targets {
        if !only.is_empty() && !only.contains(name) {
            continue;
        }
        let mut steps = Vec::new();
        let mut thread = None;
        let mut actions = vec![Action::Trigger];
        if resolve {
            actions.push(Action::Resolve);
        }
        for (seq, action) in actions.into_iter().enumerate() {
            let mut m = Message::new(name, action, seq as u32, now, &incident);
            if action == Action::Resolve {
                m.quiet_minutes = 0;
            }
            let o = attempt(&client, target, &m, thread.as_deref()).await;
            if let Outcome::Delivered { thread: Some(ts) } = &o {
                thread = Some(ts.clone());
            }
            let failed = !matches!(o, Outcome::Delivered { .. });
            steps.push((action, o));
            // A refused trigger leaves nothing to resolve.
            if failed {
                break;
            }
        }
        out.push(ProbeResult {
            receiver: name.clone(),
            kind: target.kind(),
            steps,
        });
    }
    Ok(out)
}
