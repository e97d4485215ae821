//! `logwarden generate` (a synthetic log week with labelled incidents) and `logwarden demo`
//! (generate → train → detect → a readable report), for either scenario: `shop` (the web
//! shop of [`crate::demo`]) or `platform` (the logistics platform of [`crate::scenario`]).

use crate::config::Config;
use crate::demo::{self, GenSettings};
use crate::scenario::{self, IncidentKind, PlatformSettings};
use anyhow::Context;
use chrono::NaiveDate;
use std::path::PathBuf;

/// What to generate (shared by `generate` and `demo`).
#[derive(Debug, Clone, clap::Args)]
pub struct GenArgs {
    /// Random seed: the same seed writes the same bytes.
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// Days of history (train.ndjson) before the test week.
    #[arg(long, default_value_t = 21, value_name = "DAYS")]
    pub train_days: u32,
    /// First local day of the history (YYYY-MM-DD); the default history crosses the end of
    /// daylight saving time.
    #[arg(long, default_value = "2026-10-12", value_name = "DATE")]
    pub start: NaiveDate,
    /// IANA time zone the shop's users live in (default: the config's `timezone` for
    /// `demo`, Europe/Berlin for `generate`).
    #[arg(long, value_name = "ZONE")]
    pub tz: Option<chrono_tz::Tz>,
    /// Traffic factor (1.0 ≈ 80 request lines a minute across the shop at the daily peak,
    /// ≈ 250 lines a minute across the platform).
    #[arg(long, default_value_t = 1.0)]
    pub rate: f64,
    /// Which generator: `shop` (the web shop, a test week with seven incidents) or
    /// `platform` (a logistics platform written apart from the detectors, nine incident
    /// kinds at times drawn from the seed).
    #[arg(long, value_enum, default_value_t = Scenario::Shop)]
    pub scenario: Scenario,
    /// Platform only: days of the test period (default 2).
    #[arg(long, value_name = "DAYS")]
    pub test_days: Option<u32>,
    /// Platform only: the incidents to inject, comma-separated (default all): panic,
    /// heartbeat, job-stop, search-timeouts, status-5xx, value-jump, slow-leak,
    /// latency-drift, source-silence.
    #[arg(long, value_delimiter = ',', value_name = "KINDS")]
    pub incidents: Option<Vec<IncidentKind>>,
}

/// The scenario generators.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Scenario {
    /// The web shop (`crate::demo`).
    Shop,
    /// The logistics platform (`crate::scenario`).
    Platform,
}

impl GenArgs {
    fn shop_only(&self) -> anyhow::Result<()> {
        if self.test_days.is_some() || self.incidents.is_some() {
            anyhow::bail!("--test-days and --incidents need --scenario platform");
        }
        Ok(())
    }

    fn platform(&self, default_tz: chrono_tz::Tz) -> PlatformSettings {
        PlatformSettings {
            seed: self.seed,
            start: self.start,
            train_days: self.train_days,
            test_days: self.test_days.unwrap_or(2),
            tz: self.tz.unwrap_or(default_tz),
            rate: self.rate,
            incidents: self
                .incidents
                .clone()
                .unwrap_or_else(|| IncidentKind::ALL.to_vec()),
        }
    }

    fn settings(&self, default_tz: chrono_tz::Tz) -> GenSettings {
        GenSettings {
            seed: self.seed,
            start: self.start,
            train_days: self.train_days,
            tz: self.tz.unwrap_or(default_tz),
            rate: self.rate,
        }
    }
}

/// Arguments of `generate`.
#[derive(Debug, clap::Args)]
pub struct GenerateArgs {
    /// Directory to write train.ndjson, test.ndjson and labels.json into.
    #[arg(long, visible_alias = "output-dir", value_name = "DIR")]
    pub out_dir: PathBuf,
    /// What to generate.
    #[command(flatten)]
    pub gen: GenArgs,
}

/// Run `generate`.
pub fn run_generate(_config: &Config, args: GenerateArgs) -> anyhow::Result<()> {
    if args.gen.scenario == Scenario::Platform {
        let settings = args.gen.platform(chrono_tz::America::Chicago);
        let started = std::time::Instant::now();
        let g = scenario::generate_to_dir(&settings, &args.out_dir)
            .with_context(|| format!("generating into {}", args.out_dir.display()))?;
        eprintln!(
            "wrote {} history lines ({} days) and {} test lines ({} days) with {} incidents to {} in {:.1}s",
            g.train_lines,
            settings.train_days,
            g.test_lines,
            settings.test_days,
            g.labels.incidents.len(),
            args.out_dir.display(),
            started.elapsed().as_secs_f64()
        );
        return Ok(());
    }
    args.gen.shop_only()?;
    let settings = args.gen.settings(chrono_tz::Europe::Berlin);
    let started = std::time::Instant::now();
    let g = demo::generate_to_dir(&settings, &args.out_dir)
        .with_context(|| format!("generating into {}", args.out_dir.display()))?;
    eprintln!(
        "wrote {} history lines ({} days) and {} test-week lines with {} incidents to {} in {:.1}s",
        g.train_lines,
        settings.train_days,
        g.test_lines,
        g.labels.incidents.len(),
        args.out_dir.display(),
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

/// Arguments of `demo`.
#[derive(Debug, clap::Args)]
pub struct DemoArgs {
    /// Keep the generated files (train.ndjson, test.ndjson, labels.json) and the anomalies
    /// (anomalies.ndjson) in this directory instead of a temporary one.
    #[arg(long, value_name = "DIR")]
    pub keep: Option<PathBuf>,
    /// What to generate.
    #[command(flatten)]
    pub gen: GenArgs,
}

/// Run `demo`: with `--config` the given configuration, otherwise the embedded demo one.
pub fn run_demo(config: &Config, custom_config: bool, args: DemoArgs) -> anyhow::Result<()> {
    if args.gen.scenario == Scenario::Platform {
        return run_platform_demo(config, custom_config, args);
    }
    args.gen.shop_only()?;
    let config = if custom_config {
        config.clone()
    } else {
        demo::demo_config().context("the embedded demo config")?
    };
    let settings = args.gen.settings(config.timezone.0);
    settings.validate()?;
    let (dir, temporary) = work_dir(&args.keep, "demo");
    eprintln!(
        "generating {} days of history and a test week into {} ...",
        settings.train_days,
        dir.display()
    );
    let result = demo::run_pipeline(&config, &settings, &dir);
    let outcome = keep_or_clean(&dir, temporary, result, |o| &o.anomalies)?;
    print!("{}", demo::pipeline::render_summary(&outcome));
    let reach = demo::eval::reach(
        &outcome.generated.labels,
        &outcome.anomalies,
        &outcome.evaluation,
        &demo::eval::ReachConfig::default(),
    );
    print!(
        "\n{}",
        demo::eval::render_reach(&outcome.generated.labels, &outcome.evaluation, &reach)
    );
    if !temporary {
        println!(
            "\nfiles kept in {}: train.ndjson, test.ndjson, labels.json, anomalies.ndjson",
            dir.display()
        );
    }
    Ok(())
}

/// `demo --scenario platform`: the platform configuration unless `--config` is given.
fn run_platform_demo(config: &Config, custom_config: bool, args: DemoArgs) -> anyhow::Result<()> {
    let config = if custom_config {
        config.clone()
    } else {
        scenario::platform_config().context("the embedded platform config")?
    };
    let settings = args.gen.platform(config.timezone.0);
    settings.validate()?;
    let (dir, temporary) = work_dir(&args.keep, "platform");
    eprintln!(
        "generating {} days of platform history and {} test day(s) into {} ...",
        settings.train_days,
        settings.test_days,
        dir.display()
    );
    let result = scenario::run_platform(&config, &settings, &dir);
    let outcome = keep_or_clean(&dir, temporary, result, |o| &o.anomalies)?;
    print!("{}", scenario::run::render_summary(&outcome));
    if !temporary {
        println!(
            "\nfiles kept in {}: train.ndjson, test.ndjson, labels.json, anomalies.ndjson",
            dir.display()
        );
    }
    Ok(())
}

/// The folder a demo works in: `--keep DIR`, or a temporary one (then `true`).
fn work_dir(keep: &Option<std::path::PathBuf>, name: &str) -> (std::path::PathBuf, bool) {
    match keep {
        Some(d) => (d.clone(), false),
        None => (
            std::env::temp_dir().join(format!("logwarden-{name}-{}", std::process::id())),
            true,
        ),
    }
}

/// After a demo run: write its anomalies into a kept folder, or remove a temporary one.
fn keep_or_clean<T, E: Into<anyhow::Error>>(
    dir: &std::path::Path,
    temporary: bool,
    result: Result<T, E>,
    anomalies: impl Fn(&T) -> &[crate::model::Anomaly],
) -> anyhow::Result<T> {
    let written = match &result {
        Ok(outcome) if !temporary => write_anomalies(dir, anomalies(outcome)),
        _ => Ok(()),
    };
    if temporary {
        let _ = std::fs::remove_dir_all(dir);
    }
    let outcome = result.map_err(Into::into)?;
    written?;
    Ok(outcome)
}

fn write_anomalies(
    dir: &std::path::Path,
    anomalies: &[crate::model::Anomaly],
) -> anyhow::Result<()> {
    use std::io::Write;
    let path = dir.join("anomalies.ndjson");
    let mut out = super::open_output(Some(&path))?;
    for a in anomalies {
        serde_json::to_writer(&mut out, a)?;
        out.write_all(b"\n")?;
    }
    out.flush()
        .with_context(|| format!("writing {}", path.display()))
}
