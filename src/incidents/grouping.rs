//! Incidents: anomalies close in time and across related services grouped into one incident,
//! after dropping those that fall in a suppression window.
//!
//! Owns: [`IncidentsConfig`] (`incidents` in YAML), [`group`] and [`suppress_and_group`].
//! Pure and deterministic: the same anomalies give the same incident ids in any input order
//! and on any rerun, because an incident's id derives from the id of the anomaly reported
//! first; an anomaly found later never renames the incident it joins.
//!
//! Invariants:
//! - two anomalies share an incident when they are linked by a chain of anomalies, each on
//!   the same service as the next or on a related one (`related_services`, read both ways),
//!   each starting no later than `gap_minutes` after the previous one ended;
//! - suppression windows are local wall-clock times in the configured time zone, so a window
//!   at 02:00-04:00 Europe/Berlin covers 02:00-04:00 local in summer and in winter alike.
//!
//! Grouping sees one batch (the anomalies of one detection run or window); anomalies written
//! in different batches are not merged.

use crate::model::{content_id, Anomaly, AnomalyType};
use crate::validate::Problems;
use chrono::{Datelike, NaiveTime, TimeZone, Timelike, Weekday};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Incident grouping settings.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct IncidentsConfig {
    /// Anomalies starting at most this many minutes after a related anomaly ended join its
    /// incident (default 30).
    pub gap_minutes: u64,
    /// Services whose anomalies belong together, e.g. `checkout: [payments, cart]`. Read both
    /// ways: `payments` is then related to `checkout` too.
    pub related_services: BTreeMap<String, Vec<String>>,
    /// Windows in which anomalies are dropped (e.g. a maintenance window).
    pub suppress: Vec<SuppressionWindow>,
}

fn default_gap_minutes() -> u64 {
    30
}

impl Default for IncidentsConfig {
    fn default() -> Self {
        IncidentsConfig {
            gap_minutes: default_gap_minutes(),
            related_services: BTreeMap::new(),
            suppress: Vec::new(),
        }
    }
}

/// A recurring local-time window in which anomalies are dropped.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SuppressionWindow {
    /// Days of the week the window starts on (`mon`…`sun` or full names, any case); empty
    /// means every day.
    pub days: Vec<String>,
    /// Local start time, `HH:MM`.
    pub start: String,
    /// Local end time, `HH:MM` (exclusive; `24:00` is the end of the day). An end at or
    /// before the start runs past midnight into the next day.
    pub end: String,
    /// Only anomalies of this service (all services when absent).
    pub service: Option<String>,
    /// Only anomalies of this type (all types when absent).
    pub anomaly_type: Option<AnomalyType>,
}

/// Parse a weekday name (`mon`, `Monday`, …).
fn parse_day(s: &str) -> Option<Weekday> {
    let s = s.trim().to_ascii_lowercase();
    let days = [
        ("mon", Weekday::Mon),
        ("tue", Weekday::Tue),
        ("wed", Weekday::Wed),
        ("thu", Weekday::Thu),
        ("fri", Weekday::Fri),
        ("sat", Weekday::Sat),
        ("sun", Weekday::Sun),
    ];
    let full = [
        "monday",
        "tuesday",
        "wednesday",
        "thursday",
        "friday",
        "saturday",
        "sunday",
    ];
    days.iter()
        .zip(full)
        .find(|((short, _), long)| s == *short || s == *long)
        .map(|((_, d), _)| *d)
}

/// Parse `HH:MM` into minutes since midnight; `24:00` is 1440.
fn parse_minutes(s: &str) -> Option<u32> {
    let s = s.trim();
    if s == "24:00" {
        return Some(24 * 60);
    }
    let t = NaiveTime::parse_from_str(s, "%H:%M").ok()?;
    Some(t.hour() * 60 + t.minute())
}

impl IncidentsConfig {
    /// Report problems under `path`.
    pub fn validate(&self, path: &str, p: &mut Problems) {
        p.range(
            format!("{path}.gap_minutes"),
            self.gap_minutes,
            0,
            7 * 24 * 60,
        );
        for (service, related) in &self.related_services {
            if service.trim().is_empty() {
                p.add(
                    format!("{path}.related_services"),
                    "service names must not be empty",
                );
            }
            for (i, r) in related.iter().enumerate() {
                if r.trim().is_empty() {
                    p.add(
                        format!("{path}.related_services.{service}[{i}]"),
                        "must not be empty",
                    );
                }
            }
        }
        for (i, w) in self.suppress.iter().enumerate() {
            let key = format!("{path}.suppress[{i}]");
            for (j, d) in w.days.iter().enumerate() {
                if parse_day(d).is_none() {
                    p.add(
                        format!("{key}.days[{j}]"),
                        format!("`{d}` is not a day of the week (mon … sun)"),
                    );
                }
            }
            match parse_minutes(&w.start) {
                Some(m) if m < 24 * 60 => {}
                _ => p.add(
                    format!("{key}.start"),
                    format!("must be a time HH:MM, got `{}`", w.start),
                ),
            }
            if parse_minutes(&w.end).is_none() {
                p.add(
                    format!("{key}.end"),
                    format!("must be a time HH:MM, got `{}`", w.end),
                );
            }
            if w.service.as_deref().is_some_and(|s| s.trim().is_empty()) {
                p.add(format!("{key}.service"), "must not be empty when given");
            }
        }
    }

    /// Whether two services are the same or related.
    fn related(&self, a: &str, b: &str) -> bool {
        a == b
            || self
                .related_services
                .get(a)
                .is_some_and(|l| l.iter().any(|s| s == b))
            || self
                .related_services
                .get(b)
                .is_some_and(|l| l.iter().any(|s| s == a))
    }
}

impl SuppressionWindow {
    /// Whether the window covers `anomaly` (its window start, read as local time in `tz`).
    /// A window whose times do not parse covers nothing (validation reports it).
    pub fn covers(&self, anomaly: &Anomaly, tz: chrono_tz::Tz) -> bool {
        if self
            .service
            .as_deref()
            .is_some_and(|s| s != anomaly.service.name)
        {
            return false;
        }
        if self.anomaly_type.is_some_and(|t| t != anomaly.anomaly.kind) {
            return false;
        }
        let (Some(start), Some(end)) = (parse_minutes(&self.start), parse_minutes(&self.end))
        else {
            return false;
        };
        let local = tz.from_utc_datetime(&anomaly.timestamp.naive_utc());
        let minute = local.hour() * 60 + local.minute();
        let day = local.weekday();
        let on =
            |d: Weekday| self.days.is_empty() || self.days.iter().any(|s| parse_day(s) == Some(d));
        if start < end {
            on(day) && minute >= start && minute < end
        } else {
            // Runs past midnight: the evening part on a listed day, the morning part on the
            // day after one.
            (on(day) && minute >= start) || (on(day.pred()) && minute < end)
        }
    }
}

/// Drop anomalies that fall in a configured suppression window (local times in `tz`), then
/// [`group`] the rest.
pub fn suppress_and_group(anomalies: &mut Vec<Anomaly>, cfg: &IncidentsConfig, tz: chrono_tz::Tz) {
    anomalies.retain(|a| !cfg.suppress.iter().any(|w| w.covers(a, tz)));
    group(anomalies, cfg);
}

fn find(parent: &mut [usize], mut i: usize) -> usize {
    while parent[i] != i {
        parent[i] = parent[parent[i]];
        i = parent[i];
    }
    i
}

/// Assign `incident.id` to anomalies, grouping those close in time and on the same or related
/// services. The slice keeps its order; anomalies are considered in time order (ties by
/// anomaly id), and an incident's id is `i` followed by a hash of the id of the anomaly
/// reported first (the earliest window end).
pub fn group(anomalies: &mut [Anomaly], cfg: &IncidentsConfig) {
    let n = anomalies.len();
    if n == 0 {
        return;
    }
    let mut order: Vec<usize> = (0..n).collect();
    order.sort_by(|&a, &b| {
        let (x, y) = (&anomalies[a], &anomalies[b]);
        x.timestamp
            .cmp(&y.timestamp)
            .then_with(|| x.anomaly.id.cmp(&y.anomaly.id))
    });
    // Capped at ten years so that adding it to a time span cannot overflow.
    let gap = chrono::Duration::minutes(cfg.gap_minutes.min(10 * 366 * 24 * 60) as i64);
    let end_of = |a: &Anomaly| a.anomaly.window.end.max(a.timestamp);
    let longest = anomalies
        .iter()
        .map(|a| end_of(a) - a.timestamp)
        .max()
        .unwrap_or_default();
    let mut parent: Vec<usize> = (0..n).collect();
    for (pos, &i) in order.iter().enumerate() {
        let start = anomalies[i].timestamp;
        for &j in order[..pos].iter().rev() {
            let earlier = &anomalies[j];
            // Sorted by start: once even the longest anomaly starting here ends too early,
            // nothing before it can link.
            // (An overflowing sum is later than any start.)
            let reach = |t: chrono::DateTime<chrono::Utc>, d: chrono::Duration| {
                t.checked_add_signed(d).is_none_or(|r| r >= start)
            };
            if !reach(earlier.timestamp, longest + gap) {
                break;
            }
            if reach(end_of(earlier), gap)
                && cfg.related(&earlier.service.name, &anomalies[i].service.name)
            {
                let (ri, rj) = (find(&mut parent, i), find(&mut parent, j));
                if ri != rj {
                    parent[ri] = rj;
                }
            }
        }
    }
    // The first member reported (earliest window end, then start, then id) names the group:
    // an incident keeps the id it was first written under when an anomaly that started
    // earlier but was found later (a silence, an escalation of the same finding) joins it.
    let mut named = order.clone();
    named.sort_by(|&a, &b| {
        let (x, y) = (&anomalies[a], &anomalies[b]);
        end_of(x)
            .cmp(&end_of(y))
            .then_with(|| x.timestamp.cmp(&y.timestamp))
            .then_with(|| x.anomaly.id.cmp(&y.anomaly.id))
    });
    let mut first: BTreeMap<usize, usize> = BTreeMap::new();
    for &i in &named {
        let r = find(&mut parent, i);
        first.entry(r).or_insert(i);
    }
    let ids: BTreeMap<usize, String> = first
        .iter()
        .map(|(&r, &i)| {
            (
                r,
                format!("i{}", content_id(&["incident", &anomalies[i].anomaly.id])),
            )
        })
        .collect();
    for (i, a) in anomalies.iter_mut().enumerate() {
        let r = find(&mut parent, i);
        a.incident.id = ids[&r].clone();
    }
}
