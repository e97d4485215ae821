//! The platform run: generate into a directory, train and detect exactly as the shop demo
//! does ([`crate::demo::pipeline::train_and_detect`]), grade with the shared grader, and
//! render what reached a person.

use super::generate::{generate_to_dir, PlatformGenerated, PlatformSettings};
use super::plan::{self, IncidentKind};
use crate::config::Config;
use crate::demo::eval::{
    self, Alert, EvalConfig, Evaluation, IncidentReach, Reach, ReachConfig, Verdict,
};
use crate::demo::pipeline::{train_and_detect, Timings};
use crate::demo::DemoError;
use crate::model::Anomaly;
use crate::source::InputReport;
use std::fmt::Write as _;
use std::path::Path;
use std::time::Instant;

/// Everything a platform run produced.
#[derive(Debug, Clone)]
pub struct ScenarioOutcome {
    /// What was generated, with the labels.
    pub generated: PlatformGenerated,
    /// The anomalies of the test period, grouped into incidents.
    pub anomalies: Vec<Anomaly>,
    /// Their evaluation against the labels (found, explained, false).
    pub evaluation: Evaluation,
    /// What reached a person.
    pub reach: Reach,
    /// Stage timings.
    pub timings: Timings,
    /// What reading the history saw.
    pub train_input: InputReport,
    /// What reading the test period saw.
    pub test_input: InputReport,
}

/// Generate into `dir`, train, detect and grade.
pub fn run_platform(
    config: &Config,
    settings: &PlatformSettings,
    dir: &Path,
) -> Result<ScenarioOutcome, DemoError> {
    let started = Instant::now();
    let generated = generate_to_dir(settings, dir)?;
    let generate = started.elapsed();
    let (anomalies, train_input, test_input, mut timings) =
        train_and_detect(config, &dir.join("train.ndjson"), &dir.join("test.ndjson"))?;
    timings.generate = generate;
    let evaluation = eval::evaluate(&generated.labels, &anomalies, &EvalConfig::default());
    let reach = eval::reach(
        &generated.labels,
        &anomalies,
        &evaluation,
        &ReachConfig::default(),
    );
    Ok(ScenarioOutcome {
        generated,
        anomalies,
        evaluation,
        reach,
        timings,
        train_input,
        test_input,
    })
}

fn short(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_string();
    }
    let mut s: String = text.chars().take(max.saturating_sub(1)).collect();
    s.push('…');
    s
}

/// The readable report of a platform run.
pub fn render_summary(o: &ScenarioOutcome) -> String {
    let labels = &o.generated.labels;
    let tz = labels.tz();
    let local = |t: chrono::DateTime<chrono::Utc>| t.with_timezone(&tz).format("%a %d %b %H:%M");
    let e = &o.evaluation;
    let mut s = String::new();
    let _ = writeln!(
        s,
        "logwarden demo --scenario platform: a logistics platform of 11 services, {} days of history and {} test day(s) with {} injected incidents (seed {}, {})",
        (labels.test_start - labels.train_start).num_days(),
        ((labels.test_end - labels.test_start).num_hours() as f64 / 24.0).round(),
        labels.incidents.len(),
        labels.seed,
        labels.timezone
    );
    let secs = |d: std::time::Duration| d.as_secs_f64();
    let _ = writeln!(
        s,
        "  generated {} history lines and {} test lines in {:.1}s; trained in {:.1}s; detected in {:.1}s; {} + {} records read back, {} rejected",
        o.generated.train_lines,
        o.generated.test_lines,
        secs(o.timings.generate),
        secs(o.timings.train),
        secs(o.timings.detect),
        o.train_input.records,
        o.test_input.records,
        o.train_input.rejected + o.test_input.rejected,
    );
    let _ = writeln!(
        s,
        "\nFound at any tier (the demo's older criterion): {}/{}",
        e.found(),
        e.incidents.len()
    );
    for r in &e.incidents {
        let i = &r.incident;
        let _ = writeln!(
            s,
            "  [{}] {:<26} {:<16} {}  {}",
            if r.found { "found " } else { "MISSED" },
            i.id,
            i.service,
            local(i.start),
            i.description
        );
    }
    let _ = writeln!(s, "\nFalse alerts per day (local days):");
    for d in &e.false_per_day {
        let _ = writeln!(
            s,
            "  {}  critical {:>3}  moderate {:>3}  low {:>4}",
            d.date.format("%a %d %b"),
            d.critical,
            d.moderate,
            d.low
        );
    }
    let loud_false: Vec<usize> = e
        .false_alerts()
        .into_iter()
        .filter(|&i| o.anomalies[i].anomaly.severity >= crate::model::Severity::Moderate)
        .collect();
    if !loud_false.is_empty() {
        let _ = writeln!(s, "\nModerate+ false alerts:");
        for &k in &loud_false {
            let a = &o.anomalies[k];
            let _ = writeln!(
                s,
                "  {:>3.0} {:<8} {:<15} {:<16} {}{}  {}",
                a.anomaly.score,
                a.anomaly.severity.as_str(),
                a.anomaly.kind.as_str(),
                a.service.name,
                local(a.anomaly.window.start),
                if e.verdicts[k] == Verdict::Deploy {
                    " (deploy)"
                } else {
                    ""
                },
                short(&a.anomaly.explanation, 140)
            );
        }
    }
    crate::demo::pipeline::render_top(&mut s, &o.anomalies, e, tz, 12, 16, 100);
    let _ = writeln!(s);
    s.push_str(&eval::render_reach(labels, e, &o.reach));
    s
}

/// One cell of the seeds grid: `ok 4m` (reached, minutes after the start), `ok 7.8h`
/// (reached, hours before the breach), `late 26m` / `late 0.5h` (moderate+ but too late),
/// `low 17m` (found only below moderate), `-` (no alert of a fitting type).
pub fn reach_cell(r: &IncidentReach) -> String {
    let when = |a: &Alert| match a.lead_hours {
        Some(l) => format!("{l:.1}h"),
        None => format!("{:.0}m", a.delay_minutes),
    };
    match (&r.first_loud, &r.first_any) {
        (Some(a), _) if r.reached => format!("ok {}", when(a)),
        (Some(a), _) => format!("late {}", when(a)),
        (None, Some(a)) => format!("{} {}", a.severity, when(a)),
        (None, None) => "-".to_string(),
    }
}

/// The seeds grid: one row per incident kind, one column per run, then the false alerts.
pub fn render_grid(runs: &[ScenarioOutcome]) -> String {
    let mut s = String::new();
    let _ = write!(s, "{:<16}", "incident");
    for o in runs {
        let _ = write!(s, " {:>10}", format!("seed {}", o.generated.labels.seed));
    }
    let _ = writeln!(s, " {:>8}", "reached");
    for kind in IncidentKind::ALL {
        let _ = write!(s, "{:<16}", kind.name());
        let mut reached = 0;
        let mut present = 0;
        for o in runs {
            let cell = o
                .evaluation
                .incidents
                .iter()
                .zip(&o.reach.incidents)
                .find(|(e, _)| plan::kind_of(&e.incident) == Some(kind))
                .map(|(_, r)| {
                    present += 1;
                    reached += r.reached as u32;
                    reach_cell(r)
                })
                .unwrap_or_default();
            let _ = write!(s, " {cell:>10}");
        }
        let _ = writeln!(s, " {:>8}", format!("{reached}/{present}"));
    }
    let row = |s: &mut String, name: &str, f: &dyn Fn(&ScenarioOutcome) -> String| {
        let _ = write!(s, "{name:<16}");
        for o in runs {
            let _ = write!(s, " {:>10}", f(o));
        }
        let _ = writeln!(s);
    };
    row(&mut s, "reached", &|o| {
        format!("{}/{}", o.reach.reached(), o.reach.incidents.len())
    });
    row(&mut s, "false mod+/day", &|o| {
        let v: Vec<String> = o
            .reach
            .false_loud_per_day
            .iter()
            .map(|d| d.1.to_string())
            .collect();
        v.join(",")
    });
    row(&mut s, "deploy mod+", &|o| o.reach.deploy_loud.to_string());
    row(&mut s, "bar", &|o| {
        if o.reach.meets_bar() {
            "MET"
        } else {
            "not met"
        }
        .to_string()
    });
    s
}
