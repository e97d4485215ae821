//! `logwarden train`: learn a baseline from historical NDJSON logs and save it as a model file.

use crate::config::Config;
use crate::detect::Trainer;
use crate::source::InputFormat;
use anyhow::Context;
use std::path::PathBuf;

/// Arguments of `train`.
#[derive(Debug, clap::Args)]
pub struct TrainArgs {
    /// Historical logs, one ECS JSON document per line (dotted or nested keys; `-` for stdin).
    #[arg(long, value_name = "FILE")]
    pub input: PathBuf,
    /// Where to write the model.
    #[arg(long, value_name = "PATH")]
    pub model: PathBuf,
    /// Fail on the first bad input line instead of counting it.
    #[arg(long)]
    pub strict: bool,
}

/// Run `train`: read every record, learn, save the model, print a summary to stderr.
pub fn run(config: &Config, args: TrainArgs) -> anyhow::Result<()> {
    let (mut reader, bar) = super::open_records(
        config,
        &args.input,
        InputFormat::Ndjson,
        args.strict,
        "training",
    )?;
    let mut trainer = Trainer::new(&config.trainer_settings());
    let mut missing = crate::source::MissingFields::default();
    while let Some(rec) = reader
        .next_record()
        .with_context(|| format!("reading {}", args.input.display()))?
    {
        missing.count(&rec);
        trainer.add(&rec);
    }
    bar.finish_and_clear();
    let report = reader.into_report();
    // An empty model would make every later line "new": refuse it, saying what was read.
    anyhow::ensure!(
        report.records > 0,
        "no record to learn from in {} (no model written; the input must be NDJSON with a \
         timestamp and a message, see `fields` in logwarden.example.yaml): {}",
        args.input.display(),
        report.summary()
    );
    let baseline = trainer.finish();
    crate::state::save(&args.model, &baseline.model_version, &baseline)
        .with_context(|| format!("saving model {}", args.model.display()))?;
    let days = baseline.n_buckets as f64 * baseline.bucket_secs as f64 / 86_400.0;
    eprintln!("{}", report.summary());
    if let Some(warning) = crate::parse::overflow_warning(&baseline.miner) {
        eprintln!("warning: {warning}");
    }
    for warning in missing.warnings("fields", &config.fields) {
        eprintln!("warning: {warning}");
    }
    eprintln!(
        "trained model {} on {} records over {:.1} days: {} templates, {} patterns, {} profiles, {} numeric slots -> {}",
        baseline.model_version,
        baseline.lines,
        days,
        baseline.miner.templates().len(),
        baseline.patterns.len(),
        baseline.profiles.len(),
        baseline.slots.len(),
        args.model.display()
    );
    Ok(())
}
