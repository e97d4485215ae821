//! One incident, one page: the notification state of each open incident of a source, and
//! the [`Message`]s a window's anomalies call for. Pure and deterministic (no clock, no
//! I/O besides [`Tracker::load`] and [`Tracker::save`]): event time drives it, so a replay
//! sends what a live run would have sent.
//!
//! Per incident and receiver:
//! - the first time the incident reaches a tier routed to the receiver: `trigger`;
//! - new anomalies of a triggered incident: one `update` per window at most (a receiver that
//!   cannot edit, Slack, only when the incident escalates to a higher tier);
//! - no new anomaly for `routes.resolve_after_minutes` (event time): `resolve`.
//!
//! Idempotent: a window processed again (after a crash before its checkpoint) finds its
//! anomalies already known and produces nothing, and every message has a key derived from
//! (receiver, incident, action, sequence), so the outbox drops a message it has seen.
//!
//! Incident ids come from grouping (`crate::incidents::group`), which sees only the recent
//! anomalies of the runner (after a restart, those its warm-up replay finds again); an
//! ongoing incident can still come back under another id (a replay shorter than the
//! incident, a changed model). It is matched to the open incident by shared anomaly ids, or by a shared service
//! within `incidents.gap_minutes` of its last anomaly, and keeps the first id (PagerDuty's
//! `dedup_key`) for its whole life. An incident that comes back after its resolve is a new
//! episode, `<id>-2`, with its own trigger: the old alert is closed.

use super::config::RoutesConfig;
use super::incident::IncidentSnapshot;
use super::NotifyError;
use crate::model::{content_id, Anomaly, Severity};
use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// What a message tells a receiver.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    /// A new incident (for this receiver).
    Trigger,
    /// More anomalies of an open incident, or an escalation.
    Update,
    /// The incident is over.
    Resolve,
}

impl Action {
    /// The lowercase name.
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Trigger => "trigger",
            Action::Update => "update",
            Action::Resolve => "resolve",
        }
    }
}

/// One notification to one receiver, as the outbox stores it. It holds no secret: the
/// receiver's credentials are added when it is sent.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Message {
    /// Idempotency key: derived from receiver, incident, action and sequence.
    pub key: String,
    /// The receiver's name.
    pub receiver: String,
    /// Trigger, update or resolve.
    pub action: Action,
    /// 0 for the trigger, then one more per message to this receiver about this incident.
    pub seq: u32,
    /// The tier the receiver last heard of, when the incident escalated since.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub escalated_from: Option<Severity>,
    /// Event time the message is about (the end of the window that produced it).
    pub at: DateTime<Utc>,
    /// Minutes of quiet that resolved it (resolve only).
    #[serde(default)]
    pub quiet_minutes: u64,
    /// The incident.
    pub incident: IncidentSnapshot,
}

impl Message {
    pub(crate) fn new(
        receiver: &str,
        action: Action,
        seq: u32,
        at: DateTime<Utc>,
        incident: &IncidentSnapshot,
    ) -> Message {
        Message {
            key: content_id(&[
                "notify",
                receiver,
                &incident.id,
                action.as_str(),
                &seq.to_string(),
            ]),
            receiver: receiver.to_string(),
            action,
            seq,
            escalated_from: None,
            at,
            quiet_minutes: 0,
            incident: incident.clone(),
        }
    }
}

/// What one receiver has heard of an incident.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Heard {
    /// Sequence of the last message.
    seq: u32,
    /// The tier it was last told.
    severity: Severity,
}

/// An open incident.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Open {
    anomaly_ids: BTreeSet<String>,
    services: BTreeSet<String>,
    /// End of its latest anomaly (event time).
    last_end: DateTime<Utc>,
    severity: Severity,
    /// Receivers told so far.
    heard: BTreeMap<String, Heard>,
    /// The snapshot last sent; its id is the one receivers know.
    snapshot: IncidentSnapshot,
}

/// A resolved incident whose grouping id may come back (a new anomaly within
/// `incidents.gap_minutes` of the old ones groups with them).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Closed {
    /// Episodes resolved under this grouping id.
    episodes: u32,
    /// When the last one was resolved (event time).
    at: DateTime<Utc>,
    /// Its anomalies: they do not reopen it.
    anomaly_ids: BTreeSet<String>,
}

/// Resolved incidents are remembered this long (event time): far longer than grouping can
/// reach back.
const REMEMBER_RESOLVED_DAYS: i64 = 7;

/// The open incidents of one source and what each receiver has heard of them.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Tracker {
    open: BTreeMap<String, Open>,
    #[serde(default)]
    resolved: BTreeMap<String, Closed>,
}

/// The context a tracker needs: routes, receiver kinds, tenant, grouping gap.
pub struct Context<'a> {
    /// `routes`.
    pub routes: &'a RoutesConfig,
    /// `tenant`.
    pub tenant: &'a str,
    /// `incidents.gap_minutes`.
    pub gap_minutes: u64,
    /// The field Discover links filter on (`fields.service`).
    pub service_field: &'a str,
}

impl Tracker {
    /// Read the tracker saved at `path` (empty when there is none).
    pub fn load(path: &Path) -> Result<Tracker, NotifyError> {
        match std::fs::read(path) {
            Ok(bytes) => serde_json::from_slice(&bytes).map_err(|e| NotifyError::Io {
                path: path.display().to_string(),
                message: format!("not a notification state file: {e}"),
            }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Tracker::default()),
            Err(e) => Err(NotifyError::io(path, e)),
        }
    }

    /// Save to `path` atomically and durably (written aside, fsynced, renamed).
    pub fn save(&self, path: &Path) -> Result<(), NotifyError> {
        let bytes = serde_json::to_vec(self).map_err(|e| NotifyError::Io {
            path: path.display().to_string(),
            message: e.to_string(),
        })?;
        super::outbox::write_durably(path, &bytes)
    }

    /// Open incidents.
    pub fn open_incidents(&self) -> usize {
        self.open.len()
    }

    /// The messages for the window ending at `window_end`: `recent` are the runner's recent
    /// anomalies, grouped, and `touched` the incidents that got new anomalies in the window;
    /// then the resolves of incidents quiet for `routes.resolve_after_minutes`.
    pub fn window(
        &mut self,
        recent: &[Anomaly],
        touched: &BTreeSet<String>,
        window_end: DateTime<Utc>,
        cx: &Context,
    ) -> Vec<Message> {
        let mut by_id: BTreeMap<&str, Vec<&Anomaly>> = BTreeMap::new();
        for a in recent {
            if touched.contains(&a.incident.id) {
                by_id.entry(a.incident.id.as_str()).or_default().push(a);
            }
        }
        let mut out = Vec::new();
        for (id, members) in by_id {
            self.observe(id, &members, window_end, cx, &mut out);
        }
        self.resolve_due(window_end, cx, &mut out);
        out
    }

    /// The open incident `members` belong to, if any.
    fn matching(&self, id: &str, members: &[&Anomaly], gap: Duration) -> Option<String> {
        if self.open.contains_key(id) {
            return Some(id.to_string());
        }
        let ids: BTreeSet<&str> = members.iter().map(|a| a.anomaly.id.as_str()).collect();
        if let Some((k, _)) = self
            .open
            .iter()
            .find(|(_, o)| o.anomaly_ids.iter().any(|i| ids.contains(i.as_str())))
        {
            return Some(k.clone());
        }
        let start = members.iter().map(|a| a.timestamp).min()?;
        self.open
            .iter()
            .filter(|(_, o)| {
                o.last_end + gap >= start
                    && members.iter().any(|a| o.services.contains(&a.service.name))
            })
            .min_by_key(|(_, o)| o.snapshot.start)
            .map(|(k, _)| k.clone())
    }

    fn observe(
        &mut self,
        group_id: &str,
        members: &[&Anomaly],
        at: DateTime<Utc>,
        cx: &Context,
        out: &mut Vec<Message>,
    ) {
        let gap = Duration::minutes(cx.gap_minutes.min(10 * 366 * 24 * 60) as i64);
        let id = self
            .matching(group_id, members, gap)
            .unwrap_or_else(|| group_id.to_string());
        let existing = self.open.get(&id).cloned();
        // A resolved incident that comes back is a new episode under a new id (its old
        // alert is closed; PagerDuty needs a new dedup_key to page again), made of the
        // anomalies that were not part of the resolved one.
        let mut members: Vec<&Anomaly> = members.to_vec();
        let notify_id = match (&existing, self.resolved.get(&id)) {
            (Some(o), _) => o.snapshot.id.clone(),
            (None, Some(c)) => {
                members.retain(|a| !c.anomaly_ids.contains(&a.anomaly.id));
                format!("{id}-{}", c.episodes + 1)
            }
            (None, None) => id.clone(),
        };
        let Some(mut snapshot) = IncidentSnapshot::of(
            &notify_id,
            &members,
            cx.tenant,
            &cx.routes.links,
            cx.service_field,
        ) else {
            return;
        };
        let known: BTreeSet<String> = existing
            .as_ref()
            .map(|o| o.anomaly_ids.clone())
            .unwrap_or_default();
        let fresh = members.iter().any(|a| !known.contains(&a.anomaly.id));
        if !fresh {
            return;
        }
        // The incident as a whole: what it had before (say, before a restart) and now.
        let mut all_ids = known;
        all_ids.extend(members.iter().map(|a| a.anomaly.id.clone()));
        let mut services: BTreeSet<String> =
            members.iter().map(|a| a.service.name.clone()).collect();
        let mut last_end = members
            .iter()
            .map(|a| a.anomaly.window.end.max(a.timestamp))
            .max()
            .unwrap_or(at);
        if let Some(o) = &existing {
            services.extend(o.services.iter().cloned());
            last_end = last_end.max(o.last_end);
            snapshot.severity = snapshot.severity.max(o.severity);
            snapshot.start = snapshot.start.min(o.snapshot.start);
            snapshot.end = snapshot.end.max(o.snapshot.end);
            snapshot.score = snapshot.score.max(o.snapshot.score);
            if snapshot.services.len() < services.len() {
                snapshot.services = services.iter().cloned().collect();
            }
            let types: BTreeSet<String> = snapshot
                .types
                .iter()
                .chain(o.snapshot.types.iter())
                .cloned()
                .collect();
            snapshot.types = types.into_iter().collect();
        }
        snapshot.anomaly_count = all_ids.len();
        snapshot.anomaly_ids = all_ids.iter().cloned().collect();

        let mut heard = existing.map(|o| o.heard).unwrap_or_default();
        let mut wanted: BTreeSet<&str> = BTreeSet::new();
        for a in members {
            wanted.extend(cx.routes.receivers_for(
                a.anomaly.severity,
                &a.service.name,
                a.anomaly.kind,
            ));
        }
        wanted.extend(heard.keys().map(|k| k.as_str()).collect::<Vec<_>>());
        let wanted: Vec<String> = wanted.into_iter().map(str::to_string).collect();
        for r in wanted {
            let Some(sends_updates) = cx.routes.receivers.get(&r).map(|c| c.sends_updates()) else {
                continue;
            };
            match heard.get_mut(&r) {
                None => {
                    out.push(Message::new(&r, Action::Trigger, 0, at, &snapshot));
                    heard.insert(
                        r,
                        Heard {
                            seq: 0,
                            severity: snapshot.severity,
                        },
                    );
                }
                Some(h) => {
                    let escalated = snapshot.severity > h.severity;
                    if escalated || sends_updates {
                        h.seq += 1;
                        let mut m = Message::new(&r, Action::Update, h.seq, at, &snapshot);
                        if escalated {
                            m.escalated_from = Some(h.severity);
                        }
                        h.severity = h.severity.max(snapshot.severity);
                        out.push(m);
                    }
                }
            }
        }
        self.open.insert(
            id,
            Open {
                anomaly_ids: all_ids,
                services,
                last_end,
                severity: snapshot.severity,
                heard,
                snapshot,
            },
        );
    }

    fn resolve_due(&mut self, at: DateTime<Utc>, cx: &Context, out: &mut Vec<Message>) {
        self.resolved
            .retain(|_, c| c.at + Duration::days(REMEMBER_RESOLVED_DAYS) > at);
        let quiet = cx.routes.resolve_after_minutes;
        let after = Duration::minutes(quiet.min(10 * 366 * 24 * 60) as i64);
        let due: Vec<String> = self
            .open
            .iter()
            .filter(|(_, o)| o.last_end + after <= at)
            .map(|(k, _)| k.clone())
            .collect();
        for id in due {
            let Some(o) = self.open.remove(&id) else {
                continue;
            };
            let closed = self.resolved.entry(id).or_insert(Closed {
                episodes: 0,
                at,
                anomaly_ids: BTreeSet::new(),
            });
            closed.episodes += 1;
            closed.at = at;
            closed.anomaly_ids.extend(o.anomaly_ids.iter().cloned());
            for (r, h) in &o.heard {
                let mut m = Message::new(r, Action::Resolve, h.seq + 1, at, &o.snapshot);
                m.quiet_minutes = quiet;
                out.push(m);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::*;

    fn t(min: i64) -> DateTime<Utc> {
        "2026-11-30T12:00:00Z".parse::<DateTime<Utc>>().unwrap() + Duration::minutes(min)
    }

    fn anomaly(id: &str, service: &str, sev: Severity, min: i64) -> Anomaly {
        Anomaly {
            timestamp: t(min),
            anomaly: AnomalyBody {
                id: id.to_string(),
                kind: AnomalyType::NewPattern,
                severity: sev,
                score: match sev {
                    Severity::Critical => 90.0,
                    Severity::Moderate => 60.0,
                    Severity::Low => 20.0,
                },
                window: Window {
                    start: t(min),
                    end: t(min + 1),
                },
                observed: 8.0,
                expected: 0.0,
                unit: "count".to_string(),
                confidence: 1.0,
                probability: 1e-9,
                explanation: format!("{id} happened"),
            },
            service: ServiceRef {
                name: service.to_string(),
            },
            pattern: PatternRef {
                id: "t1".to_string(),
                template: "x <*>".to_string(),
                cluster_id: None,
                examples: vec!["x 1".to_string()],
            },
            incident: IncidentRef { id: String::new() },
            model: ModelRef {
                version: "m".to_string(),
            },
            feedback: FeedbackRef::default(),
            tenant: "t".to_string(),
            event: EventRef {
                kind: "alert".to_string(),
                start: t(min),
                end: t(min + 1),
                severity: ecs_severity(sev),
                risk_score: 50.0,
            },
            parameter: None,
            forecast: None,
        }
    }

    fn routes() -> RoutesConfig {
        crate::config::Config::from_yaml(
            "routes:\n  receivers:\n    pd:\n      pagerduty:\n        routing_key: {env: X}\n    chat:\n      slack:\n        webhook_url: {env: Y}\n    hook:\n      webhook:\n        url: http://127.0.0.1:1/h\n",
        )
        .unwrap()
        .routes
    }

    /// Feed windows of one minute; each window's anomalies are added to `recent`, grouped,
    /// and passed to the tracker as the runner does.
    struct Sim {
        recent: Vec<Anomaly>,
        tracker: Tracker,
        routes: RoutesConfig,
        sent: Vec<Message>,
    }

    impl Sim {
        fn new() -> Sim {
            Sim {
                recent: Vec::new(),
                tracker: Tracker::default(),
                routes: routes(),
                sent: Vec::new(),
            }
        }
        fn window(&mut self, end_min: i64, found: Vec<Anomaly>) -> Vec<Message> {
            let new_ids: BTreeSet<String> = found.iter().map(|a| a.anomaly.id.clone()).collect();
            self.recent.retain(|a| !new_ids.contains(&a.anomaly.id));
            self.recent.extend(found);
            crate::incidents::group(&mut self.recent, &Default::default());
            let touched = self
                .recent
                .iter()
                .filter(|a| new_ids.contains(&a.anomaly.id))
                .map(|a| a.incident.id.clone())
                .collect();
            let cx = Context {
                routes: &self.routes,
                tenant: "t",
                gap_minutes: 30,
                service_field: "service.name",
            };
            let m = self.tracker.window(&self.recent, &touched, t(end_min), &cx);
            self.sent.extend(m.clone());
            m
        }
        fn to(&self, r: &str) -> Vec<(Action, u32)> {
            self.sent
                .iter()
                .filter(|m| m.receiver == r)
                .map(|m| (m.action, m.seq))
                .collect()
        }
    }

    #[test]
    fn one_incident_one_trigger_then_updates_escalation_and_resolve() {
        let mut s = Sim::new();
        // Low: nobody hears of it.
        assert!(s
            .window(1, vec![anomaly("a1", "api", Severity::Low, 0)])
            .is_empty());
        // Moderate: chat and webhook trigger; PagerDuty waits for critical.
        s.window(2, vec![anomaly("a2", "api", Severity::Moderate, 1)]);
        // More moderate anomalies: the webhook hears each window, Slack nothing.
        s.window(3, vec![anomaly("a3", "api", Severity::Moderate, 2)]);
        s.window(
            4,
            vec![
                anomaly("a4", "api", Severity::Moderate, 3),
                anomaly("a5", "api", Severity::Moderate, 3),
            ],
        );
        // Critical: PagerDuty triggers, Slack hears of the escalation.
        s.window(5, vec![anomaly("a6", "api", Severity::Critical, 4)]);
        s.window(6, vec![anomaly("a7", "api", Severity::Critical, 5)]);
        // Quiet for 30 minutes after the last anomaly ended (minute 6): resolved at 36.
        assert!(s.window(35, vec![]).is_empty());
        s.window(36, vec![]);
        use Action::*;
        assert_eq!(s.to("chat"), vec![(Trigger, 0), (Update, 1), (Resolve, 2)]);
        assert_eq!(
            s.to("hook"),
            vec![
                (Trigger, 0),
                (Update, 1),
                (Update, 2),
                (Update, 3),
                (Update, 4),
                (Resolve, 5)
            ]
        );
        assert_eq!(s.to("pd"), vec![(Trigger, 0), (Update, 1), (Resolve, 2)]);
        let ids: BTreeSet<&str> = s.sent.iter().map(|m| m.incident.id.as_str()).collect();
        assert_eq!(ids.len(), 1, "one incident id throughout");
        let esc = s
            .sent
            .iter()
            .find(|m| m.receiver == "chat" && m.action == Update)
            .unwrap();
        assert_eq!(esc.escalated_from, Some(Severity::Moderate));
        assert_eq!(esc.incident.severity, Severity::Critical);
        let keys: BTreeSet<&str> = s.sent.iter().map(|m| m.key.as_str()).collect();
        assert_eq!(keys.len(), s.sent.len(), "every message has its own key");
        assert_eq!(s.tracker.open_incidents(), 0);
        let resolve = s.sent.last().unwrap();
        assert_eq!(resolve.incident.anomaly_count, 7);
    }

    #[test]
    fn a_redone_window_sends_nothing_and_a_restart_keeps_the_incident() {
        let mut s = Sim::new();
        let first = s.window(1, vec![anomaly("a1", "api", Severity::Critical, 0)]);
        assert_eq!(first.len(), 3);
        // The same window again (a crash before its checkpoint): nothing new.
        assert!(s
            .window(1, vec![anomaly("a1", "api", Severity::Critical, 0)])
            .is_empty());
        // A restart: the runner's recent anomalies are gone, the tracker is reloaded. The
        // next anomaly of the ongoing incident groups under another id, yet updates the
        // open incident instead of paging again.
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.json");
        s.tracker.save(&path).unwrap();
        s.tracker = Tracker::load(&path).unwrap();
        s.recent.clear();
        let next = s.window(3, vec![anomaly("a2", "api", Severity::Critical, 2)]);
        assert!(next.iter().all(|m| m.action == Action::Update), "{next:?}");
        assert!(next.iter().all(|m| m.incident.id == first[0].incident.id));
        assert_eq!(next[0].incident.anomaly_count, 2);
        // Another service far away in time is another incident.
        let other = s.window(60, vec![anomaly("b1", "worker", Severity::Critical, 59)]);
        assert!(other
            .iter()
            .any(|m| m.action == Action::Trigger && m.incident.id != first[0].incident.id));
    }

    #[test]
    fn an_incident_that_comes_back_after_its_resolve_pages_again_under_a_new_id() {
        let mut s = Sim::new();
        // Resolved sooner than grouping lets go (30 minutes).
        s.routes.resolve_after_minutes = 20;
        let first = s.window(1, vec![anomaly("a1", "api", Severity::Critical, 0)]);
        let resolved = s.window(21, vec![]);
        assert!(resolved.iter().all(|m| m.action == Action::Resolve));
        assert_eq!(resolved.len(), 3);
        // Within the grouping gap of the old anomaly: grouping gives the old id, but the
        // old alert is closed, so this is a new episode with its own id and keys.
        let again = s.window(26, vec![anomaly("a2", "api", Severity::Critical, 25)]);
        assert_eq!(again.len(), 3, "{again:?}");
        assert!(again.iter().all(|m| m.action == Action::Trigger));
        let id = &again[0].incident.id;
        assert_eq!(*id, format!("{}-2", first[0].incident.id));
        assert_eq!(again[0].incident.anomaly_ids, vec!["a2".to_string()]);
        let old: BTreeSet<&str> = first.iter().map(|m| m.key.as_str()).collect();
        assert!(again.iter().all(|m| !old.contains(m.key.as_str())));
        // Its next anomaly updates the new episode.
        let more = s.window(27, vec![anomaly("a3", "api", Severity::Critical, 26)]);
        assert!(more
            .iter()
            .all(|m| m.incident.id == *id && m.action == Action::Update));
    }

    #[test]
    fn rules_pick_receivers_by_tier_service_and_type() {
        let cfg = crate::config::Config::from_yaml(
            "routes:\n  receivers:\n    pd:\n      pagerduty:\n        routing_key: {env: X}\n    chat:\n      slack:\n        webhook_url: {env: Y}\n  rules:\n    - tier: critical\n      service: api\n      receivers: [pd]\n    - tier: moderate\n      anomaly_type: volume_drop\n      receivers: [chat, pd]\n",
        )
        .unwrap();
        let r = &cfg.routes;
        assert_eq!(
            r.receivers_for(Severity::Critical, "api", AnomalyType::NewPattern),
            vec!["pd"]
        );
        assert!(r
            .receivers_for(Severity::Critical, "db", AnomalyType::NewPattern)
            .is_empty());
        assert_eq!(
            r.receivers_for(Severity::Moderate, "db", AnomalyType::VolumeDrop),
            vec!["chat", "pd"]
        );
        assert!(r
            .receivers_for(Severity::Low, "api", AnomalyType::VolumeDrop)
            .is_empty());
        // No rules: the defaults.
        let d = routes();
        assert_eq!(
            d.receivers_for(Severity::Critical, "x", AnomalyType::NewPattern),
            vec!["chat", "hook", "pd"]
        );
        assert_eq!(
            d.receivers_for(Severity::Moderate, "x", AnomalyType::NewPattern),
            vec!["chat", "hook"]
        );
        assert!(d
            .receivers_for(Severity::Low, "x", AnomalyType::NewPattern)
            .is_empty());
    }
}
