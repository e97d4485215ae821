//! The demo run: generate a week into a directory, read it back through the NDJSON source,
//! train a baseline on the history, run the detector over the test week, group the
//! anomalies, evaluate them against the labels, and render a summary a newcomer can read.

use super::eval::{self, EvalConfig, Evaluation};
use super::generator::{self, GenSettings, Generated};
use super::DemoError;
use crate::config::Config;
use crate::detect::{Detector, Trainer};
use crate::model::{Anomaly, LogRecord};
use crate::source::{InputFormat, InputReport, RecordReader};
use std::fmt::Write as _;
use std::path::Path;
use std::time::{Duration, Instant};

/// How long each stage took.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Timings {
    /// Writing the files.
    pub generate: Duration,
    /// Reading the history and training.
    pub train: Duration,
    /// Reading the test week and detecting.
    pub detect: Duration,
}

/// Everything a demo run produced.
#[derive(Debug, Clone)]
pub struct DemoOutcome {
    /// What was generated (with the labels).
    pub generated: Generated,
    /// The anomalies of the test week, grouped into incidents.
    pub anomalies: Vec<Anomaly>,
    /// Their evaluation against the labels.
    pub evaluation: Evaluation,
    /// Stage timings.
    pub timings: Timings,
    /// What reading the history saw.
    pub train_input: InputReport,
    /// What reading the test week saw.
    pub test_input: InputReport,
}

/// Read every record of an NDJSON file, handing each to `f`.
fn read_records(
    config: &Config,
    path: &Path,
    what: &str,
    mut f: impl FnMut(&LogRecord),
) -> Result<InputReport, DemoError> {
    let file = std::fs::File::open(path).map_err(|source| DemoError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    let len = file.metadata().map(|m| m.len()).unwrap_or(0);
    let bar = crate::telemetry::progress(len, what);
    let mut reader = RecordReader::new(
        bar.wrap_read(std::io::BufReader::with_capacity(1 << 16, file)),
        InputFormat::Ndjson,
        config.fields.clone(),
        config.input.clone(),
        false,
    );
    loop {
        match reader.next_record() {
            Ok(Some(rec)) => f(&rec),
            Ok(None) => break,
            Err(source) => {
                return Err(DemoError::Source {
                    path: path.to_path_buf(),
                    source,
                })
            }
        }
    }
    bar.finish_and_clear();
    Ok(reader.into_report())
}

/// Train on `train` and detect over `test` (both NDJSON), as `logwarden train` + `detect`
/// do; returns the grouped anomalies, the two input reports and the two durations.
pub fn train_and_detect(
    config: &Config,
    train: &Path,
    test: &Path,
) -> Result<(Vec<Anomaly>, InputReport, InputReport, Timings), DemoError> {
    let started = Instant::now();
    let mut trainer = Trainer::new(&config.trainer_settings());
    let train_input = read_records(config, train, "training", |r| trainer.add(r))?;
    let baseline = trainer.finish();
    let trained = Instant::now();
    let mut detector = Detector::new(baseline, &config.detector_settings());
    let mut anomalies = Vec::new();
    let test_input = read_records(config, test, "detecting", |r| {
        anomalies.extend(detector.push(r))
    })?;
    anomalies.extend(detector.finish());
    anomalies.sort_by_key(|a| a.anomaly.window.start);
    crate::incidents::suppress_and_group(&mut anomalies, &config.incidents, config.timezone.0);
    let timings = Timings {
        generate: Duration::ZERO,
        train: trained - started,
        detect: trained.elapsed(),
    };
    Ok((anomalies, train_input, test_input, timings))
}

/// Generate into `dir`, train, detect and evaluate.
pub fn run_pipeline(
    config: &Config,
    settings: &GenSettings,
    dir: &Path,
) -> Result<DemoOutcome, DemoError> {
    let started = Instant::now();
    let generated = generator::generate_to_dir(settings, dir)?;
    let generate = started.elapsed();
    let (anomalies, train_input, test_input, mut timings) =
        train_and_detect(config, &dir.join("train.ndjson"), &dir.join("test.ndjson"))?;
    timings.generate = generate;
    let evaluation = eval::evaluate(&generated.labels, &anomalies, &EvalConfig::default());
    Ok(DemoOutcome {
        generated,
        anomalies,
        evaluation,
        timings,
        train_input,
        test_input,
    })
}

fn short(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        text.to_string()
    } else {
        let mut s: String = text.chars().take(max.saturating_sub(1)).collect();
        s.push('…');
        s
    }
}

/// The readable report of a demo run.
pub fn render_summary(o: &DemoOutcome) -> String {
    let labels = &o.generated.labels;
    let tz = labels.tz();
    let local = |t: chrono::DateTime<chrono::Utc>| t.with_timezone(&tz).format("%a %d %b %H:%M");
    let e = &o.evaluation;
    let mut s = String::new();
    let days = (labels.test_start - labels.train_start).num_days();
    let _ = writeln!(
        s,
        "logwarden demo: a web shop of 8 services, {days} days of history and a test week with {} injected incidents (seed {}, {})",
        labels.incidents.len(),
        labels.seed,
        labels.timezone
    );
    let secs = |d: Duration| d.as_secs_f64();
    let per_sec = |n: u64, d: Duration| n as f64 / secs(d).max(1e-9);
    let _ = writeln!(
        s,
        "  generated {} history lines and {} test lines in {:.1}s; trained in {:.1}s ({:.0} lines/s); detected in {:.1}s ({:.0} lines/s)",
        o.generated.train_lines,
        o.generated.test_lines,
        secs(o.timings.generate),
        secs(o.timings.train),
        per_sec(o.train_input.records, o.timings.train),
        secs(o.timings.detect),
        per_sec(o.test_input.records, o.timings.detect),
    );
    for (name, r) in [("history", &o.train_input), ("test week", &o.test_input)] {
        let late = r
            .problems
            .get(&crate::source::Problem::OutOfOrder)
            .copied()
            .unwrap_or(0);
        let _ = writeln!(
            s,
            "  {name} read back through the NDJSON source: {} records, {late} a little late (out of order), {} rejected",
            r.records, r.rejected
        );
    }
    let _ = writeln!(s, "\nIncidents: {}/{} found", e.found(), e.incidents.len());
    for r in &e.incidents {
        let i = &r.incident;
        let same_day =
            i.start.with_timezone(&tz).date_naive() == i.end.with_timezone(&tz).date_naive();
        let end = if same_day {
            i.end.with_timezone(&tz).format("%H:%M").to_string()
        } else {
            local(i.end).to_string()
        };
        let mut line = format!(
            "  [{}] {:<16} {:<9} {} - {end}",
            if r.found { "found " } else { "MISSED" },
            i.kind.as_str(),
            i.service,
            local(i.start),
        );
        if let (Some(p), Some(th), Some(b)) = (&i.parameter, i.threshold, i.breach_at) {
            let _ = write!(line, ", {p} breaches {th} at {}", local(b));
        }
        let _ = writeln!(s, "{line}");
        let _ = writeln!(s, "           {}", i.description);
        match r.first {
            Some(k) => {
                let a = &o.anomalies[k];
                let mut when = format!("after {:.0} min", r.delay_minutes.unwrap_or_default());
                if let Some(lead) = r.lead_hours {
                    let _ = write!(when, ", {lead:.1} h before the breach");
                }
                let _ = writeln!(
                    s,
                    "           {} {} {:.0} ({when}): {}",
                    a.anomaly.kind,
                    a.anomaly.severity,
                    a.anomaly.score,
                    short(&a.anomaly.explanation, 160)
                );
            }
            None if !r.matches.is_empty() => {
                let _ = writeln!(
                    s,
                    "           {} alert(s) of a fitting type, but none early enough",
                    r.matches.len()
                );
            }
            None => {
                let _ = writeln!(s, "           no alert of a fitting type on {}", i.service);
            }
        }
    }
    let _ = writeln!(
        s,
        "\nFalse alerts per day (local days; moderate and critical reach a person):"
    );
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
    let deploy = e.deploy_alerts();
    let _ = writeln!(
        s,
        "  most moderate+ false alerts in a day: {} (bar: at most 2); alerts during the daily 14:00 deploy: {} (bar: 0)",
        e.max_moderate_plus_per_day(),
        deploy.len()
    );
    render_top(&mut s, &o.anomalies, e, tz, 10, 9, 110);
    let _ = writeln!(
        s,
        "\nQuality bar (every incident found, the drift an hour before its breach, <= 2 moderate+ false alerts a day, none during the deploy): {}",
        if e.meets_bar() { "MET" } else { "NOT MET" }
    );
    s
}

/// The `n` highest-scoring anomalies, each with the incident it matched or `FALSE`, into `s`
/// (shared by the shop's and the platform's reports; `service_width` and `text_width` fit
/// their service names and lines).
pub fn render_top(
    s: &mut String,
    anomalies: &[Anomaly],
    e: &eval::Evaluation,
    tz: chrono_tz::Tz,
    n: usize,
    service_width: usize,
    text_width: usize,
) {
    use std::fmt::Write as _;
    if anomalies.is_empty() {
        let _ = writeln!(s, "\nThe detector raised no anomalies.");
        return;
    }
    let mut top: Vec<usize> = (0..anomalies.len()).collect();
    top.sort_by(|&a, &b| {
        anomalies[b]
            .anomaly
            .score
            .total_cmp(&anomalies[a].anomaly.score)
            .then(a.cmp(&b))
    });
    let _ = writeln!(
        s,
        "\nTop anomalies (of {}, {} false):",
        anomalies.len(),
        e.false_alerts().len()
    );
    for &k in top.iter().take(n) {
        let a = &anomalies[k];
        let tag = match e.verdicts[k] {
            eval::Verdict::Match(i) | eval::Verdict::Explained(i) => {
                e.incidents[i].incident.id.clone()
            }
            eval::Verdict::Deploy => "FALSE (deploy)".to_string(),
            eval::Verdict::False => "FALSE".to_string(),
        };
        let _ = writeln!(
            s,
            "  {:>3.0} {:<8} {:<15} {:<service_width$} {}  [{tag}] {}",
            a.anomaly.score,
            a.anomaly.severity.as_str(),
            a.anomaly.kind.as_str(),
            a.service.name,
            a.anomaly
                .window
                .start
                .with_timezone(&tz)
                .format("%a %d %b %H:%M"),
            short(&a.anomaly.explanation, text_width)
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::demo::incidents::{local_instant, schedule};
    use crate::demo::Labels;
    use crate::model::*;
    use chrono::{Duration as Span, NaiveDate};

    fn anomaly(kind: AnomalyType, service: &str, start: chrono::DateTime<chrono::Utc>) -> Anomaly {
        let end = start + Span::minutes(10);
        Anomaly {
            timestamp: start,
            anomaly: AnomalyBody {
                id: content_id(&[service]),
                kind,
                severity: Severity::Critical,
                score: 91.0,
                window: Window { start, end },
                observed: 90.0,
                expected: 0.0,
                unit: "count".to_string(),
                confidence: 1.0,
                probability: 1e-12,
                explanation: format!("{kind} on {service}, never seen before"),
            },
            service: ServiceRef {
                name: service.to_string(),
            },
            pattern: PatternRef {
                id: "t1".to_string(),
                template: "x".to_string(),
                cluster_id: None,
                examples: vec![],
            },
            incident: IncidentRef { id: String::new() },
            model: ModelRef {
                version: "m".to_string(),
            },
            feedback: FeedbackRef::default(),
            tenant: "demo".to_string(),
            event: EventRef {
                kind: "alert".to_string(),
                start,
                end,
                severity: 3,
                risk_score: 91.0,
            },
            parameter: None,
            forecast: None,
        }
    }

    #[test]
    fn summary_names_found_and_missed_incidents_and_false_alerts() {
        let tz = chrono_tz::Europe::Berlin;
        let day0 = NaiveDate::from_ymd_opt(2026, 11, 2).unwrap();
        let start = local_instant(tz, day0, 0, 0);
        let labels = Labels {
            seed: 5,
            timezone: "Europe/Berlin".to_string(),
            train_start: start - Span::days(21),
            test_start: start,
            test_end: start + Span::days(7),
            incidents: schedule(tz, day0),
            deploys: vec![],
        };
        let np = labels.incidents[0].clone();
        assert_eq!(np.kind, AnomalyType::NewPattern);
        let anomalies = vec![
            anomaly(AnomalyType::NewPattern, "gateway", np.start),
            anomaly(
                AnomalyType::VolumeSpike,
                "search",
                local_instant(tz, day0, 4, 0),
            ),
        ];
        let evaluation = eval::evaluate(&labels, &anomalies, &EvalConfig::default());
        let o = DemoOutcome {
            generated: Generated {
                train_lines: 10,
                test_lines: 5,
                labels,
            },
            anomalies,
            evaluation,
            timings: Timings::default(),
            train_input: InputReport::default(),
            test_input: InputReport::default(),
        };
        let s = render_summary(&o);
        assert!(s.contains("Incidents: 1/7 found"), "{s}");
        assert!(
            s.contains("[found ] new_pattern      gateway   Mon 02 Nov 10:20 - 10:50"),
            "{s}"
        );
        assert!(
            s.contains("new_pattern critical 91 (after 10 min): new_pattern on gateway"),
            "{s}"
        );
        assert!(s.contains("[MISSED] volume_drop"), "{s}");
        assert!(s.contains("Mon 02 Nov  critical   1  moderate   0"), "{s}");
        assert!(s.contains("[FALSE] volume_spike on search"), "{s}");
        assert!(s.contains("[inc-1-new_pattern]"), "{s}");
        assert!(s.contains("NOT MET"), "{s}");
    }
}
