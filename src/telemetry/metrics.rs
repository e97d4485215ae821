//! The sidecar's Prometheus metrics, shared by its source tasks, the notification delivery
//! and the HTTP endpoint (`crate::sidecar::health`). Every metric name is defined here, but
//! for the process-wide `logwarden_engine_warnings_total` of [`super::engine_warnings`],
//! which is registered here.

use prometheus::{Encoder, IntCounterVec, IntGauge, IntGaugeVec, Opts, Registry, TextEncoder};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

/// Counters and gauges of one sidecar, shared by its tasks and the HTTP endpoint.
#[derive(Clone)]
pub struct Metrics {
    registry: Registry,
    /// Log records read, by source.
    pub records: IntCounterVec,
    /// Documents that could not be used (no message, no timestamp, wrong type, ...), by
    /// source and problem.
    pub rejected: IntCounterVec,
    /// Documents found after their window had been processed, by source.
    pub late: IntCounterVec,
    /// Windows processed, by source.
    pub windows: IntCounterVec,
    /// Windows that failed and will be redone, by source.
    pub window_failures: IntCounterVec,
    /// Anomalies written, by source and severity.
    pub anomalies: IntCounterVec,
    /// Documents the cluster refused for good (mapping conflicts and the like), by index.
    pub write_failures: IntCounterVec,
    /// Seconds the checkpoint is behind now, by source.
    pub lag_seconds: IntGaugeVec,
    /// Templates the detector knows, by source.
    pub templates: IntGaugeVec,
    /// Lines sent to catch-all templates since the model was loaded (`parse.max_templates`
    /// reached), by source.
    pub template_overflow: IntGaugeVec,
    /// Lines of new templates not watched since the detector started
    /// (`detect.max_novel_templates` reached), by source.
    pub novel_untracked: IntGaugeVec,
    /// 1 while the cluster answers.
    pub cluster_up: IntGauge,
    /// Notifications delivered, by receiver.
    pub notifications_sent: IntCounterVec,
    /// Delivery attempts that failed and will be retried (connection errors, 429, 5xx), by
    /// receiver.
    pub notifications_failed: IntCounterVec,
    /// Notifications given up on and moved to the dead-letter file (4xx other than 429, or
    /// still failing after `routes.delivery.give_up_after_minutes`), by receiver.
    pub notifications_dropped: IntCounterVec,
    /// Notifications waiting in the outbox.
    pub notifications_queued: IntGauge,
    /// Users' marks known, by label (`false_positive`, `confirmed`).
    pub feedback_marks: IntGaugeVec,
    /// Anomalies lowered by users' marks (a tier down or suppressed), by source.
    pub suppressed: IntCounterVec,
    /// Labelled documents that could not be read as a mark, by source.
    pub feedback_rejected: IntCounterVec,
    /// Mutes in force.
    pub mutes_active: IntGauge,
    /// API requests answered, by HTTP status.
    pub api_requests: IntCounterVec,
    /// Anomalies a mute kept from being routed, by source.
    pub muted: IntCounterVec,
    /// Seconds the oldest queued notification has waited (0 when none).
    pub notifications_oldest_seconds: IntGauge,
    /// 1 while a source's baseline was learned from no document at all (its index pattern
    /// matches nothing, or nothing in the backfill days), by source.
    pub source_empty: IntGaugeVec,
    ready: Arc<AtomicBool>,
    /// What keeps the sidecar from being ready besides the cluster: the outbox (`outbox`) and
    /// sources without data (`source <name>`), each with its reason.
    problems: Arc<Mutex<std::collections::BTreeMap<String, String>>>,
    status: Arc<Mutex<String>>,
}

impl Metrics {
    /// Fresh metrics.
    pub fn new() -> Self {
        let registry = Registry::new();
        let counter = |name: &str, help: &str, labels: &[&str]| {
            let c =
                IntCounterVec::new(Opts::new(name, help), labels).expect("metric names are valid");
            registry
                .register(Box::new(c.clone()))
                .expect("metric names are unique");
            c
        };
        let records = counter("logwarden_records_total", "Log records read", &["source"]);
        let rejected = counter(
            "logwarden_rejected_documents_total",
            "Documents that could not be used, by problem",
            &["source", "problem"],
        );
        let late = counter(
            "logwarden_late_documents_total",
            "Documents that arrived after their window was processed",
            &["source"],
        );
        let windows = counter("logwarden_windows_total", "Windows processed", &["source"]);
        let window_failures = counter(
            "logwarden_window_failures_total",
            "Windows that failed and are redone",
            &["source"],
        );
        let anomalies = counter(
            "logwarden_anomalies_total",
            "Anomalies written",
            &["source", "severity"],
        );
        let write_failures = counter(
            "logwarden_write_failures_total",
            "Documents refused by the cluster for good",
            &["index"],
        );
        let gauge = |name: &str, help: &str, labels: &[&str]| {
            let g = IntGaugeVec::new(Opts::new(name, help), labels).expect("valid");
            registry.register(Box::new(g.clone())).expect("unique");
            g
        };
        let lag_seconds = gauge(
            "logwarden_lag_seconds",
            "Seconds the checkpoint is behind now",
            &["source"],
        );
        let templates = gauge("logwarden_templates", "Templates known", &["source"]);
        let template_overflow = gauge(
            "logwarden_template_overflow_lines",
            "Lines sent to catch-all templates since the model was loaded: parse.max_templates reached",
            &["source"],
        );
        let novel_untracked = gauge(
            "logwarden_novel_untracked_lines",
            "Lines of new templates not watched since start: detect.max_novel_templates reached",
            &["source"],
        );
        let source_empty = gauge(
            "logwarden_source_empty",
            "1 while a source's baseline was learned from no document",
            &["source"],
        );
        let cluster_up =
            IntGauge::new("logwarden_cluster_up", "1 while the cluster answers").expect("valid");
        registry
            .register(Box::new(cluster_up.clone()))
            .expect("unique");
        let notifications_sent = counter(
            "logwarden_notifications_sent_total",
            "Notifications delivered",
            &["receiver"],
        );
        let notifications_failed = counter(
            "logwarden_notification_failures_total",
            "Notification delivery attempts that failed and are retried",
            &["receiver"],
        );
        let notifications_dropped = counter(
            "logwarden_notifications_dropped_total",
            "Notifications given up on (dead-letter file)",
            &["receiver"],
        );
        let plain_gauge = |name: &str, help: &str| {
            let g = IntGauge::new(name, help).expect("valid");
            registry.register(Box::new(g.clone())).expect("unique");
            g
        };
        let notifications_queued = plain_gauge(
            "logwarden_notifications_queued",
            "Notifications waiting in the outbox",
        );
        let notifications_oldest_seconds = plain_gauge(
            "logwarden_notifications_oldest_queued_seconds",
            "Seconds the oldest queued notification has waited",
        );
        let feedback_marks = gauge(
            "logwarden_feedback_marks",
            "Users' marks on anomalies known, by label",
            &["label"],
        );
        let suppressed = counter(
            "logwarden_anomalies_suppressed_total",
            "Anomalies lowered by users' false_positive marks",
            &["source"],
        );
        let feedback_rejected = counter(
            "logwarden_feedback_rejected_total",
            "Labelled anomaly documents that could not be read as a mark",
            &["source"],
        );
        let mutes_active = plain_gauge("logwarden_mutes_active", "Mutes in force");
        let api_requests = counter(
            "logwarden_api_requests_total",
            "HTTP API requests answered, by status",
            &["status"],
        );
        let muted = counter(
            "logwarden_anomalies_muted_total",
            "Anomalies written but not routed because a mute matched them",
            &["source"],
        );
        // Process-wide (the request layer counts it), defined in `telemetry`; at 0 from the
        // start like the others, since it has no labels.
        registry
            .register(Box::new(crate::telemetry::engine_warnings().clone()))
            .expect("metric names are unique");
        Metrics {
            registry,
            mutes_active,
            api_requests,
            muted,
            feedback_marks,
            suppressed,
            feedback_rejected,
            records,
            rejected,
            late,
            windows,
            window_failures,
            anomalies,
            write_failures,
            lag_seconds,
            templates,
            template_overflow,
            novel_untracked,
            cluster_up,
            notifications_sent,
            notifications_failed,
            notifications_dropped,
            notifications_queued,
            notifications_oldest_seconds,
            source_empty,
            problems: Arc::new(Mutex::new(Default::default())),
            ready: Arc::new(AtomicBool::new(false)),
            status: Arc::new(Mutex::new("starting".to_string())),
        }
    }

    /// Create every series of source `name` at 0, so that `/metrics` shows them from the
    /// start (a rate over a series that appears at its first increment misses that one).
    pub fn register_source(&self, name: &str) {
        for c in [
            &self.records,
            &self.late,
            &self.windows,
            &self.window_failures,
            &self.suppressed,
            &self.feedback_rejected,
            &self.muted,
        ] {
            c.with_label_values(&[name]);
        }
        for tier in ["low", "moderate", "critical"] {
            self.anomalies.with_label_values(&[name, tier]);
        }
        for g in [
            &self.lag_seconds,
            &self.templates,
            &self.template_overflow,
            &self.novel_untracked,
            &self.source_empty,
        ] {
            g.with_label_values(&[name]);
        }
    }

    /// Create the delivery series of receiver `name` at 0 (see [`Metrics::register_source`]).
    pub fn register_receiver(&self, name: &str) {
        for c in [
            &self.notifications_sent,
            &self.notifications_failed,
            &self.notifications_dropped,
        ] {
            c.with_label_values(&[name]);
        }
    }

    /// Set readiness and the one-line status `/ready` shows.
    pub fn set_ready(&self, ready: bool, status: impl Into<String>) {
        self.ready.store(ready, Ordering::SeqCst);
        if let Ok(mut s) = self.status.lock() {
            *s = status.into();
        }
    }

    /// Say why the outbox makes the sidecar not ready (its oldest message is too old), or
    /// `None` once it does not.
    pub fn set_outbox_problem(&self, problem: Option<String>) {
        self.set_problem("outbox", problem);
    }

    /// Say why source `name` makes the sidecar not ready (it has no data), or `None` once it
    /// does not; `logwarden_source_empty` follows.
    pub fn set_source_problem(&self, name: &str, problem: Option<String>) {
        self.source_empty
            .with_label_values(&[name])
            .set(i64::from(problem.is_some()));
        self.set_problem(&format!("source {name}"), problem);
    }

    /// Say why source `name` cannot be read now (its preparation or a window failed), or
    /// `None` once a window of it is done again. Kept per source, so that what one source
    /// reports does not hide another's failure.
    pub fn set_source_failure(&self, name: &str, problem: Option<String>) {
        self.set_problem(
            &format!("failing {name}"),
            problem.map(|p| format!("source {name}: {p}")),
        );
    }

    fn set_problem(&self, key: &str, problem: Option<String>) {
        if let Ok(mut p) = self.problems.lock() {
            match problem {
                Some(text) => p.insert(key.to_string(), text),
                None => p.remove(key),
            };
        }
    }

    fn problems(&self) -> Vec<String> {
        self.problems
            .lock()
            .map(|p| p.values().cloned().collect())
            .unwrap_or_default()
    }

    /// Whether the sidecar is ready: the sources keep up and have data, and the outbox
    /// delivers.
    pub fn is_ready(&self) -> bool {
        self.ready.load(Ordering::SeqCst) && self.problems().is_empty()
    }

    /// The current status line (with the outbox's and the sources' problems, if any).
    pub fn status(&self) -> String {
        let mut s = self.status.lock().map(|s| s.clone()).unwrap_or_default();
        for p in self.problems() {
            s.push_str("; ");
            s.push_str(&p);
        }
        s
    }

    /// Everything in the Prometheus text format.
    pub fn render(&self) -> String {
        let mut buf = Vec::new();
        let _ = TextEncoder::new().encode(&self.registry.gather(), &mut buf);
        String::from_utf8(buf).unwrap_or_default()
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}
