//! `logwarden patterns`: what a model's logs are made of — patterns and templates by share of
//! lines, with the cumulative coverage, per service.

use crate::detect::report::PatternReport;
use crate::detect::Baseline;
use std::io::Write;
use std::path::PathBuf;

/// Arguments of `patterns`.
#[derive(Debug, clap::Args)]
pub struct PatternsArgs {
    /// The model written by `logwarden train` (or the sidecar's `run.state_dir/<source>.model`).
    #[arg(long, value_name = "PATH")]
    pub model: PathBuf,
    /// Only this service.
    #[arg(long)]
    pub service: Option<String>,
    /// Patterns shown per service (the coverage counts them all).
    #[arg(long, default_value_t = 20)]
    pub top: usize,
    /// Templates shown per pattern.
    #[arg(long, default_value_t = 3)]
    pub templates: usize,
    /// The whole report as one JSON document instead of text.
    #[arg(long)]
    pub json: bool,
}

/// Run `patterns`: load the model and print its report to stdout.
pub fn run(args: PatternsArgs) -> anyhow::Result<()> {
    let (_, baseline): (_, Baseline) = crate::state::load(&args.model)?;
    let report = PatternReport::of(&baseline, args.service.as_deref());
    if let Some(want) = &args.service {
        anyhow::ensure!(
            !report.services.is_empty(),
            "service {want:?} is not in the model (it has {})",
            baseline
                .profiles
                .iter()
                .filter(|p| p.subject == crate::detect::baseline::Subject::Service)
                .map(|p| p.service.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    let text = if args.json {
        serde_json::to_string_pretty(&report)? + "\n"
    } else {
        report.render(args.top, args.templates)
    };
    std::io::stdout().lock().write_all(text.as_bytes())?;
    Ok(())
}
