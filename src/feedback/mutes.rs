//! Mutes: a service, a pattern or an anomaly type kept from reaching anyone for a while
//! (maintenance, a known issue being fixed). Muted anomalies are written with
//! `feedback.muted_by`, not routed.
//!
//! Owns: [`Mute`], the [`Mutes`] list (JSON at `run.state_dir/mutes.json`, written by
//! `logwarden mute`, read by the sidecar on every window). Pure apart from load and save.

use crate::model::{Anomaly, AnomalyType};
use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// One mute: what it matches (every given field must match) and until when.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Mute {
    /// `m1`, `m2`, ... in order of creation.
    pub id: String,
    /// Only anomalies of this service.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service: Option<String>,
    /// Only anomalies of this pattern id (`t…` template or `p…` pattern).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pattern: Option<String>,
    /// Only anomalies of this type.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<AnomalyType>,
    /// When it was set.
    pub from: DateTime<Utc>,
    /// When it ends.
    pub until: DateTime<Utc>,
    /// Why.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// Who set it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub by: Option<String>,
}

impl Mute {
    /// Whether it is in force at `now` and matches `a`.
    pub fn mutes(&self, a: &Anomaly, now: DateTime<Utc>) -> bool {
        self.from <= now
            && now < self.until
            && self.service.as_ref().is_none_or(|s| *s == a.service.name)
            && self.pattern.as_ref().is_none_or(|p| *p == a.pattern.id)
            && self.kind.is_none_or(|k| k == a.anomaly.kind)
    }

    /// What it matches, in words: `service checkout, type volume_spike`.
    pub fn scope(&self) -> String {
        let mut parts = Vec::new();
        if let Some(s) = &self.service {
            parts.push(format!("service {s}"));
        }
        if let Some(p) = &self.pattern {
            parts.push(format!("pattern {p}"));
        }
        if let Some(k) = self.kind {
            parts.push(format!("type {k}"));
        }
        parts.join(", ")
    }
}

/// The mutes, in order of creation.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Mutes {
    /// The next id's number.
    next: u64,
    /// Every mute not lifted (expired ones stay listed until the next `add` cleans up).
    pub mutes: Vec<Mute>,
}

impl Mutes {
    /// Where the mutes of a state directory live.
    pub fn path(state_dir: &Path) -> PathBuf {
        state_dir.join("mutes.json")
    }

    /// Add a mute for `duration` from `now`; at least one of service, pattern and kind.
    /// Mutes that ended are dropped. Returns the new mute.
    #[allow(clippy::too_many_arguments)]
    pub fn add(
        &mut self,
        service: Option<String>,
        pattern: Option<String>,
        kind: Option<AnomalyType>,
        duration: Duration,
        reason: Option<String>,
        by: Option<String>,
        now: DateTime<Utc>,
    ) -> anyhow::Result<Mute> {
        anyhow::ensure!(
            service.is_some() || pattern.is_some() || kind.is_some(),
            "a mute needs --service, --pattern or --type (muting everything is stopping the sidecar)"
        );
        anyhow::ensure!(
            duration > Duration::zero(),
            "--for must be longer than zero"
        );
        self.mutes.retain(|m| m.until > now);
        self.next += 1;
        let mute = Mute {
            id: format!("m{}", self.next),
            service,
            pattern,
            kind,
            from: now,
            until: now + duration,
            reason,
            by,
        };
        self.mutes.push(mute.clone());
        Ok(mute)
    }

    /// Lift mute `id`; an error naming the ids there are when there is none.
    pub fn lift(&mut self, id: &str) -> anyhow::Result<Mute> {
        let Some(i) = self.mutes.iter().position(|m| m.id == id) else {
            let ids: Vec<&str> = self.mutes.iter().map(|m| m.id.as_str()).collect();
            anyhow::bail!("no mute {id:?} (there are: {})", ids.join(", "));
        };
        Ok(self.mutes.remove(i))
    }

    /// The first mute in force at `now` that matches `a`.
    pub fn matching(&self, a: &Anomaly, now: DateTime<Utc>) -> Option<&Mute> {
        self.mutes.iter().find(|m| m.mutes(a, now))
    }

    /// Mark `a` muted (`feedback.muted_by`) when a mute matches it; true when it did.
    pub fn apply(&self, a: &mut Anomaly, now: DateTime<Utc>) -> bool {
        let Some(m) = self.matching(a, now) else {
            return false;
        };
        let reason = m
            .reason
            .as_deref()
            .map(|r| format!(": {r}"))
            .unwrap_or_default();
        a.feedback.muted_by = Some(format!(
            "mute {} ({}) until {}{reason}",
            m.id,
            m.scope(),
            m.until.format("%Y-%m-%d %H:%M UTC")
        ));
        true
    }

    /// In force at `now`.
    pub fn active(&self, now: DateTime<Utc>) -> usize {
        self.mutes
            .iter()
            .filter(|m| m.from <= now && now < m.until)
            .count()
    }

    /// Load the list at `path`; an absent file is an empty list.
    pub fn load(path: &Path) -> anyhow::Result<Self> {
        super::load_json(path, "mutes")
    }

    /// Save the list at `path` (written aside, then renamed into place).
    pub fn save(&self, path: &Path) -> anyhow::Result<()> {
        super::save_json(self, path)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn anomaly(service: &str, pattern: &str, kind: &str) -> Anomaly {
        serde_json::from_value(serde_json::json!({
            "@timestamp": "2026-11-03T14:00:00Z",
            "anomaly": {"id": "a1", "type": kind, "severity": "critical", "score": 80.0,
                        "window": {"start": "2026-11-03T14:00:00Z", "end": "2026-11-03T14:10:00Z"},
                        "observed": 40.0, "expected": 2.0, "unit": "lines", "confidence": 1.0,
                        "probability": 1e-9, "explanation": "x"},
            "service": {"name": service},
            "pattern": {"id": pattern, "template": "x", "cluster_id": null, "examples": []},
            "incident": {"id": "i1"}, "model": {"version": "m1"}, "feedback": {"label": null},
            "tenant": "default",
            "event": {"kind": "alert", "start": "2026-11-03T14:00:00Z",
                      "end": "2026-11-03T14:10:00Z", "severity": 3, "risk_score": 80.0},
        }))
        .unwrap()
    }

    #[test]
    fn a_mute_matches_every_given_filter_while_it_lasts() {
        let now: DateTime<Utc> = "2026-11-03T14:05:00Z".parse().unwrap();
        let mut m = Mutes::default();
        let kind = Some(AnomalyType::VolumeSpike);
        m.add(
            Some("checkout".into()),
            None,
            kind,
            Duration::hours(2),
            Some("sale".into()),
            None,
            now,
        )
        .unwrap();
        let mut spike = anomaly("checkout", "t1", "volume_spike");
        assert!(m.apply(&mut spike, now));
        assert_eq!(
            spike.feedback.muted_by.as_deref(),
            Some("mute m1 (service checkout, type volume_spike) until 2026-11-03 16:05 UTC: sale")
        );
        assert!(m
            .matching(&anomaly("checkout", "t1", "error_ratio"), now)
            .is_none());
        assert!(m
            .matching(&anomaly("payments", "t1", "volume_spike"), now)
            .is_none());
        let later = now + Duration::hours(2);
        assert!(
            m.matching(&anomaly("checkout", "t1", "volume_spike"), later)
                .is_none(),
            "ended"
        );
        assert_eq!((m.active(now), m.active(later)), (1, 0));

        // A pattern mute; adding after the first ended drops it, ids keep counting.
        let p = m
            .add(
                None,
                Some("p42".into()),
                None,
                Duration::minutes(30),
                None,
                None,
                later,
            )
            .unwrap();
        assert_eq!(p.id, "m2");
        assert_eq!(m.mutes.len(), 1);
        assert!(m
            .matching(&anomaly("any", "p42", "volume_drop"), later)
            .is_some());
        assert!(m
            .add(None, None, None, Duration::hours(1), None, None, now)
            .is_err());
        assert!(m
            .add(
                Some("x".into()),
                None,
                None,
                Duration::zero(),
                None,
                None,
                now
            )
            .is_err());
        let e = m.lift("m1").unwrap_err().to_string();
        assert_eq!(e, "no mute \"m1\" (there are: m2)");
        assert_eq!(m.lift("m2").unwrap().id, "m2");
    }
}
