//! `logwarden detect`: run the detectors over NDJSON logs against a trained model and write
//! anomaly documents as NDJSON.

use crate::config::Config;
use crate::detect::{Baseline, Detector};
use crate::feedback::FeedbackStore;
use crate::model::{Anomaly, AnomalyType, Severity};
use crate::sink::NdjsonSink;
use crate::source::InputFormat;
use anyhow::Context;
use std::collections::BTreeMap;
use std::path::PathBuf;

/// Arguments of `detect`.
#[derive(Debug, clap::Args)]
pub struct DetectArgs {
    /// The model written by `logwarden train`.
    #[arg(long, value_name = "PATH")]
    pub model: PathBuf,
    /// Logs to examine, one ECS JSON document per line (`-` for stdin).
    #[arg(long, value_name = "FILE")]
    pub input: PathBuf,
    /// Where to write the anomaly documents (NDJSON; `-` for stdout).
    #[arg(long, value_name = "FILE")]
    pub output: PathBuf,
    /// Fail on the first bad input line instead of counting it.
    #[arg(long)]
    pub strict: bool,
    /// Users' marks: anomaly documents (NDJSON, e.g. an earlier `--output` with
    /// `feedback.label` set on some lines) or the sidecar's `feedback.json`. The same kind of
    /// anomaly is then lowered as the sidecar lowers it.
    #[arg(long, value_name = "FILE")]
    pub feedback: Option<PathBuf>,
}

/// The marks in `path`: the sidecar's `feedback.json`, or labelled anomaly documents, one per
/// line (a line that is not one is reported with its number and skipped).
fn read_feedback(path: &std::path::Path) -> anyhow::Result<FeedbackStore> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read feedback file {}", path.display()))?;
    if let Ok(store) = serde_json::from_str::<FeedbackStore>(&text) {
        return Ok(store);
    }
    let mut store = FeedbackStore::default();
    let mut skipped = 0;
    for (i, line) in text
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
    {
        let problem = match serde_json::from_str::<serde_json::Value>(line) {
            Ok(doc) => store
                .record_doc(&doc)
                .err()
                .map(|b| format!("no usable `{}`", b.field)),
            Err(e) => Some(format!("not JSON ({e})")),
        };
        if let Some(p) = problem {
            skipped += 1;
            eprintln!("{}: line {}: {p}; skipped", path.display(), i + 1);
        }
    }
    eprintln!(
        "feedback: {} marks from {}{}",
        store.len(),
        path.display(),
        if skipped > 0 {
            format!(", {skipped} lines skipped")
        } else {
            String::new()
        }
    );
    Ok(store)
}

/// Run `detect`: load the model, stream the records through the detector, write every
/// anomaly, and print a summary (lines, templates, anomalies by type and severity) to stderr.
pub fn run(config: &Config, args: DetectArgs) -> anyhow::Result<()> {
    let (_, baseline): (_, Baseline) = crate::state::load(&args.model)?;
    let marks = match &args.feedback {
        Some(path) => read_feedback(path)?,
        None => FeedbackStore::default(),
    };
    let (mut reader, bar) = super::open_records(
        config,
        &args.input,
        InputFormat::Ndjson,
        args.strict,
        "detecting",
    )?;
    let out = super::open_output(Some(&args.output))?;
    let mut sink = NdjsonSink::new(out);
    let mut detector = Detector::new(baseline, &config.detector_settings());
    let mut tally = Tally::default();
    let write = |sink: &mut NdjsonSink<_>, tally: &mut Tally, batch: Vec<Anomaly>| {
        for mut a in batch {
            marks.apply(&mut a, &config.feedback, &config.severity);
            tally.add(&a);
            sink.write(&a)
                .with_context(|| format!("writing {}", args.output.display()))?;
        }
        anyhow::Ok(())
    };
    while let Some(rec) = reader
        .next_record()
        .with_context(|| format!("reading {}", args.input.display()))?
    {
        let batch = detector.push(&rec);
        write(&mut sink, &mut tally, batch)?;
    }
    let batch = detector.finish();
    write(&mut sink, &mut tally, batch)?;
    sink.finish()
        .with_context(|| format!("writing {}", args.output.display()))?;
    bar.finish_and_clear();
    let report = reader.into_report();
    let stats = detector.stats().clone();
    eprintln!("{}", report.summary());
    eprintln!(
        "model {}: {} records, {} templates ({} records of {} new templates), {} buckets",
        detector.model_version(),
        stats.records,
        detector.templates(),
        stats.novel,
        stats.novel_templates,
        stats.buckets
    );
    if stats.novel_untracked > 0 {
        eprintln!(
            "warning: {} records of new templates were not watched: `detect.max_novel_templates` ({}) new templates were already",
            stats.novel_untracked, config.detect.max_novel_templates
        );
    }
    if let Some(warning) = crate::parse::overflow_warning(detector.miner()) {
        eprintln!("warning: {warning}");
    }
    eprintln!("{}", tally.summary());
    Ok(())
}

/// Anomalies counted by type and severity.
#[derive(Debug, Default)]
struct Tally {
    by_type: BTreeMap<AnomalyType, BTreeMap<Severity, u64>>,
    total: u64,
}

impl Tally {
    fn add(&mut self, a: &Anomaly) {
        *self
            .by_type
            .entry(a.anomaly.kind)
            .or_default()
            .entry(a.anomaly.severity)
            .or_default() += 1;
        self.total += 1;
    }

    fn summary(&self) -> String {
        let mut s = format!("{} anomalies", self.total);
        for (kind, sev) in &self.by_type {
            let parts: Vec<String> = sev.iter().rev().map(|(k, n)| format!("{n} {k}")).collect();
            s.push_str(&format!("\n  {kind}: {}", parts.join(", ")));
        }
        s
    }
}
