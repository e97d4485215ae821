//! The command-line shell: turns arguments into settings, runs a command, maps errors to an
//! exit code. All real work lives in the library modules.

mod dashboards_cmd;
mod demo_cmd;
mod detect_cmd;
mod load_cmd;
mod mute_cmd;
mod notify_cmd;
mod parse_cmd;
mod patterns_cmd;
mod run_cmd;
mod train_cmd;

use crate::config::Config;
use clap::{Parser, Subcommand};
use std::path::PathBuf;
use std::process::ExitCode;

/// logwarden: finds what is unusual in logs before it becomes an outage.
#[derive(Debug, Parser)]
#[command(name = "logwarden", version, about)]
pub struct Cli {
    /// YAML configuration file (every key can also be set as LOGWARDEN__SECTION__KEY).
    #[arg(long, global = true, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// The command.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Mine templates: plain lines in, NDJSON out (one object per input line, in order).
    Parse(parse_cmd::ParseArgs),
    /// Learn a baseline from historical NDJSON logs and save it as a model file.
    Train(train_cmd::TrainArgs),
    /// Find anomalies in NDJSON logs against a trained model; anomaly documents out as NDJSON.
    Detect(detect_cmd::DetectArgs),
    /// Write a synthetic multi-service log history and a test week with labelled incidents.
    Generate(demo_cmd::GenerateArgs),
    /// The sidecar: poll the configured sources, write anomalies back to the cluster.
    Run(run_cmd::RunArgs),
    /// Generate a log week with incidents, train, detect, and report what was found.
    Demo(demo_cmd::DemoArgs),
    /// Install the Kibana / OpenSearch Dashboards dashboards, or export them for the UI.
    Dashboards(dashboards_cmd::DashboardsArgs),
    /// Bulk-load an NDJSON log file into an index of the configured cluster.
    Load(load_cmd::LoadArgs),
    /// Write the demo shop's logs into the configured cluster: a history ending now, then
    /// with --follow each line as its time comes.
    Feed(load_cmd::FeedArgs),
    /// What a model's logs are made of: patterns and templates by share of lines, with the
    /// cumulative coverage, per service.
    Patterns(patterns_cmd::PatternsArgs),
    /// Keep a service, a pattern or an anomaly type from reaching anyone for a while; list
    /// and lift mutes (the sidecar reads them from `run.state_dir/mutes.json`).
    Mute(mute_cmd::MuteArgs),
    /// Check the routes: send a test incident to the configured receivers and show what
    /// each answered.
    Notify(notify_cmd::NotifyArgs),
}

/// Run the CLI with the process arguments; returns the exit code.
pub fn main() -> ExitCode {
    crate::telemetry::init_logging();
    let cli = Cli::parse();
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(2)
        }
    }
}

/// Run one parsed command line.
pub fn run(cli: Cli) -> anyhow::Result<()> {
    let config = Config::load(cli.config.as_deref())?;
    let custom_config = cli.config.is_some();
    match cli.command {
        Command::Parse(args) => parse_cmd::run(&config, args),
        Command::Train(args) => train_cmd::run(&config, args),
        Command::Detect(args) => detect_cmd::run(&config, args),
        Command::Run(args) => run_cmd::run(&config, custom_config, args),
        Command::Generate(args) => demo_cmd::run_generate(&config, args),
        Command::Demo(args) => demo_cmd::run_demo(&config, custom_config, args),
        Command::Dashboards(args) => dashboards_cmd::run(&config, args),
        Command::Load(args) => load_cmd::run_load(&config, args),
        Command::Feed(args) => load_cmd::run_feed(&config, args),
        Command::Patterns(args) => patterns_cmd::run(args),
        Command::Mute(args) => mute_cmd::run(&config, args),
        Command::Notify(args) => notify_cmd::run(&config, args),
    }
}

/// The record reader every command reads its input through: the configured field mapping
/// and limits, behind a progress bar.
pub(crate) type Records = crate::source::RecordReader<
    std::io::BufReader<indicatif::ProgressBarIter<Box<dyn std::io::Read + Send>>>,
>;

/// Open `path` (`-` for stdin) as records of `format`, with a progress bar labelled `what`
/// (hidden when stderr is not a terminal).
pub(crate) fn open_records(
    config: &Config,
    path: &std::path::Path,
    format: crate::source::InputFormat,
    strict: bool,
    what: &str,
) -> anyhow::Result<(Records, indicatif::ProgressBar)> {
    let (input, len) = open_input(path)?;
    Ok(records_from(config, input, len, format, strict, what))
}

/// Records of `format` from an already open `input` of `len` bytes (0 when unknown), with a
/// progress bar labelled `what` (hidden when stderr is not a terminal).
pub(crate) fn records_from(
    config: &Config,
    input: Box<dyn std::io::Read + Send>,
    len: u64,
    format: crate::source::InputFormat,
    strict: bool,
    what: &str,
) -> (Records, indicatif::ProgressBar) {
    let bar = crate::telemetry::progress(len, what);
    // The bar counts the bytes of each large read, not of each line.
    let reader = crate::source::RecordReader::new(
        std::io::BufReader::with_capacity(1 << 16, bar.wrap_read(input)),
        format,
        config.fields.clone(),
        config.input.clone(),
        strict,
    );
    (reader, bar)
}

/// Open an input path, `-` for stdin, unbuffered (the caller buffers), with its length in
/// bytes (0 when unknown).
fn open_input(path: &std::path::Path) -> anyhow::Result<(Box<dyn std::io::Read + Send>, u64)> {
    use anyhow::Context;
    if path.as_os_str() == "-" {
        return Ok((Box::new(std::io::stdin()), 0));
    }
    let file = std::fs::File::open(path)
        .with_context(|| format!("cannot open input {}", path.display()))?;
    let len = file.metadata().map(|m| m.len()).unwrap_or(0);
    Ok((Box::new(file), len))
}

/// Create an output path, `-` or none for stdout.
pub(crate) fn open_output(
    path: Option<&std::path::Path>,
) -> anyhow::Result<Box<dyn std::io::Write + Send>> {
    use anyhow::Context;
    match path {
        None => Ok(Box::new(std::io::BufWriter::new(std::io::stdout()))),
        Some(p) if p.as_os_str() == "-" => Ok(Box::new(std::io::BufWriter::new(std::io::stdout()))),
        Some(p) => {
            let f = std::fs::File::create(p)
                .with_context(|| format!("cannot create output {}", p.display()))?;
            Ok(Box::new(std::io::BufWriter::with_capacity(1 << 16, f)))
        }
    }
}
