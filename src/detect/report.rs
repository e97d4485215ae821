//! The pattern report: what a model's logs are made of, per service, patterns and templates
//! by share of lines with the cumulative coverage — what a user reads on day one.
//!
//! Owns: [`PatternReport`] (built from a [`Baseline`], serializable for an API) and its text
//! rendering. Pure.
//!
//! An entry is a pattern of a service (its templates counted together) or a template that
//! belongs to no pattern. Entries are ranked by lines over all services; the headline says
//! how many entries carry 90% and 99% of the lines. Each entry carries its level mix (error
//! and warning shares), its baseline (mean lines per bucket and the busiest local hour), the
//! pace of a periodic message, and its templates, largest first.

use super::baseline::{Baseline, KeyProfile, Subject};
use crate::model::{PatternId, TemplateId};
use chrono::{DateTime, Utc};
use serde::Serialize;
use std::collections::BTreeMap;

/// The whole report.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PatternReport {
    /// The model's version.
    pub model_version: String,
    /// Training records.
    pub lines: u64,
    /// First and last training record.
    pub from: Option<DateTime<Utc>>,
    /// Last training record.
    pub to: Option<DateTime<Utc>>,
    /// Bucket length in seconds.
    pub bucket_secs: u64,
    /// Services in the model.
    pub service_count: usize,
    /// Entries (patterns of a service and templates in none) in the model.
    pub entry_count: usize,
    /// Entries that carry 90% of the lines.
    pub entries_for_90: usize,
    /// ... and 99%.
    pub entries_for_99: usize,
    /// Per service, busiest first.
    pub services: Vec<ServiceReport>,
}

/// One service.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ServiceReport {
    /// The service name.
    pub service: String,
    /// Its training lines.
    pub lines: u64,
    /// Share of all lines.
    pub share: f64,
    /// Share of its lines at an error level.
    pub error_share: f64,
    /// Share at a warning level.
    pub warn_share: f64,
    /// Its patterns and unpatterned templates, largest first.
    pub entries: Vec<Entry>,
}

/// A pattern of a service, or a template in none.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Entry {
    /// `p…` for a pattern, `t…` for a template on its own.
    pub id: String,
    /// The representative template (a pattern's member nearest its centre when the service
    /// logs it, else the service's largest member).
    pub example: String,
    /// Training lines.
    pub lines: u64,
    /// Share of all lines.
    pub share: f64,
    /// Cumulative share of all lines, over entries ranked across services.
    pub cumulative: f64,
    /// Share of its lines at an error level.
    pub error_share: f64,
    /// Mean lines per bucket over the training span.
    pub per_bucket: f64,
    /// The local hour of the day with the most lines.
    pub busiest_hour: Option<u32>,
    /// The period of a periodic message, in seconds.
    pub period_secs: Option<f64>,
    /// Member templates with their lines, largest first.
    pub templates: Vec<(String, String, u64)>,
}

/// The busiest local hour of a profile's bucket-of-day sums.
fn busiest_hour(p: &KeyProfile, per_day: usize) -> Option<u32> {
    if p.sum_bod.is_empty() || per_day < 24 {
        return None;
    }
    let per_hour = per_day / 24;
    let mut hours = [0.0; 24];
    for (bod, &s) in p.sum_bod.iter().enumerate() {
        hours[(bod / per_hour).min(23)] += s;
    }
    let (h, &best) = hours.iter().enumerate().max_by(|a, b| a.1.total_cmp(b.1))?;
    (best > 0.0).then_some(h as u32)
}

impl PatternReport {
    /// The report of `b`, for one service or all.
    pub fn of(b: &Baseline, service: Option<&str>) -> PatternReport {
        let all = b.lines.max(1) as f64;
        let buckets = b.n_buckets.max(1) as f64;
        let per_day = 86_400u64.checked_div(b.bucket_secs).unwrap_or(0) as usize;
        let text = |id: TemplateId| b.miner.template(id).unwrap_or("").to_string();
        let entry = |p: &KeyProfile, id: String, example: String, templates| Entry {
            id,
            example,
            lines: p.total,
            share: p.total as f64 / all,
            cumulative: 0.0,
            error_share: p.errors as f64 / p.total.max(1) as f64,
            per_bucket: p.total as f64 / buckets,
            busiest_hour: busiest_hour(p, per_day),
            period_secs: p.cadence.map(|c| c.period_secs),
            templates,
        };
        // Per service: its own profile, its patterns' and its templates'.
        let mut by_service: BTreeMap<&str, Vec<&KeyProfile>> = BTreeMap::new();
        for p in &b.profiles {
            by_service.entry(p.service.as_str()).or_default().push(p);
        }
        let mut services = Vec::new();
        for (name, profiles) in by_service {
            let own = profiles.iter().find(|p| p.subject == Subject::Service);
            let lines = own.map_or(0, |p| p.total);
            let mut members: BTreeMap<PatternId, Vec<(String, String, u64)>> = BTreeMap::new();
            let mut entries = Vec::new();
            let has_profile =
                |pid: PatternId| profiles.iter().any(|p| p.subject == Subject::Pattern(pid));
            for p in &profiles {
                let Subject::Template(t) = p.subject else {
                    continue;
                };
                let row = (t.to_string(), text(t), p.total);
                match b.patterns.pattern_of(t).filter(|&pid| has_profile(pid)) {
                    Some(pid) => members.entry(pid).or_default().push(row),
                    None => entries.push(entry(p, t.to_string(), text(t), Vec::new())),
                }
            }
            for p in &profiles {
                let Subject::Pattern(pid) = p.subject else {
                    continue;
                };
                let mut templates = members.remove(&pid).unwrap_or_default();
                templates.sort_by(|a, b| b.2.cmp(&a.2).then_with(|| a.0.cmp(&b.0)));
                // The pattern's representative when this service logs it, else the
                // service's largest member: patterns span services.
                let representative = b
                    .patterns
                    .pattern(pid)
                    .map(|s| s.representative.to_string());
                let example = templates
                    .iter()
                    .find(|t| Some(&t.0) == representative.as_ref())
                    .or_else(|| templates.first())
                    .map(|t| t.1.clone())
                    .unwrap_or_default();
                entries.push(entry(p, pid.to_string(), example, templates));
            }
            entries.sort_by(|a, b| b.lines.cmp(&a.lines).then_with(|| a.id.cmp(&b.id)));
            services.push(ServiceReport {
                service: name.to_string(),
                lines,
                share: lines as f64 / all,
                error_share: own.map_or(0.0, |p| p.errors as f64 / p.total.max(1) as f64),
                warn_share: own.map_or(0.0, |p| p.warns as f64 / p.total.max(1) as f64),
                entries,
            });
        }
        // Rank every entry across services for the coverage.
        let mut ranked: Vec<(usize, usize, u64)> = services
            .iter()
            .enumerate()
            .flat_map(|(s, r)| {
                r.entries
                    .iter()
                    .enumerate()
                    .map(move |(e, x)| (s, e, x.lines))
            })
            .collect();
        ranked.sort_by(|a, b| b.2.cmp(&a.2).then_with(|| (a.0, a.1).cmp(&(b.0, b.1))));
        let total: u64 = ranked.iter().map(|r| r.2).sum();
        let (mut cum, mut for_90, mut for_99) = (0u64, None, None);
        for (i, &(s, e, n)) in ranked.iter().enumerate() {
            cum += n;
            let share = cum as f64 / total.max(1) as f64;
            services[s].entries[e].cumulative = share;
            if for_90.is_none() && share >= 0.9 {
                for_90 = Some(i + 1);
            }
            if for_99.is_none() && share >= 0.99 {
                for_99 = Some(i + 1);
            }
        }
        let (service_count, entry_count) = (services.len(), ranked.len());
        services.retain(|s| service.is_none_or(|want| s.service == want));
        services.sort_by(|a, b| {
            b.lines
                .cmp(&a.lines)
                .then_with(|| a.service.cmp(&b.service))
        });
        PatternReport {
            model_version: b.model_version.clone(),
            lines: b.lines,
            from: b.trained_from,
            to: b.trained_to,
            bucket_secs: b.bucket_secs,
            service_count,
            entry_count,
            entries_for_90: for_90.unwrap_or(ranked.len()),
            entries_for_99: for_99.unwrap_or(ranked.len()),
            services,
        }
    }

    /// The report as text; at most `top` entries per service and `top_templates` templates
    /// per pattern.
    pub fn render(&self, top: usize, top_templates: usize) -> String {
        use std::fmt::Write;
        let mut s = String::new();
        let days = match (self.from, self.to) {
            (Some(a), Some(b)) => format!(
                " from {} to {} ({:.1} days)",
                a.format("%Y-%m-%d %H:%M"),
                b.format("%Y-%m-%d %H:%M"),
                (b - a).num_minutes() as f64 / 1440.0
            ),
            _ => String::new(),
        };
        let _ = writeln!(
            s,
            "model {}: {} lines{days}, {} service(s), {} patterns and lone templates",
            self.model_version, self.lines, self.service_count, self.entry_count
        );
        let _ = writeln!(
            s,
            "{} of them carry 90% of the lines, {} carry 99%",
            self.entries_for_90, self.entries_for_99
        );
        let minutes = self.bucket_secs / 60;
        for r in &self.services {
            let _ = writeln!(
                s,
                "\n{}: {} lines ({:.1}% of all), {:.2}% errors, {:.2}% warnings",
                r.service,
                r.lines,
                r.share * 100.0,
                r.error_share * 100.0,
                r.warn_share * 100.0
            );
            let _ = writeln!(
                s,
                "  {:>6} {:>6} {:>9} {:>7}  {:<28} pattern",
                "share", "cum", "lines", "errors", "baseline"
            );
            for e in r.entries.iter().take(top) {
                let mut baseline = format!("{:.1} per {minutes} min", e.per_bucket);
                if let Some(p) = e.period_secs {
                    baseline = format!("every {:.0} s", p);
                } else if let Some(h) = e.busiest_hour {
                    baseline.push_str(&format!(", peak {h:02}h"));
                }
                let kind = if e.templates.is_empty() {
                    String::new()
                } else {
                    let n = e.templates.len();
                    format!(" ({n} template{})", if n == 1 { "" } else { "s" })
                };
                let _ = writeln!(
                    s,
                    "  {:>5.1}% {:>5.1}% {:>9} {:>6.1}%  {:<28} {}{kind} '{}'",
                    e.share * 100.0,
                    e.cumulative * 100.0,
                    e.lines,
                    e.error_share * 100.0,
                    baseline,
                    e.id,
                    e.example
                );
                for (_, text, n) in e.templates.iter().take(top_templates) {
                    let _ = writeln!(s, "  {:>44}   {n:>9}  '{text}'", "");
                }
                if e.templates.len() > top_templates {
                    let _ = writeln!(
                        s,
                        "  {:>44}   ... and {} more templates",
                        "",
                        e.templates.len() - top_templates
                    );
                }
            }
            if r.entries.len() > top {
                let _ = writeln!(s, "  ... and {} more", r.entries.len() - top);
            }
        }
        s
    }
}
