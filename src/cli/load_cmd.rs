//! `logwarden load` (an NDJSON log file into an index of the configured cluster) and
//! `logwarden feed` (the demo shop's logs into the cluster: a history, then live).

use crate::backend::load::{load_ndjson, LoadOptions, LoadReport};
use crate::backend::{connect, Backend, BackendConfig};
use crate::config::Config;
use crate::demo::feed::{feed_history, follow, FeedSettings};
use anyhow::Context;
use std::path::PathBuf;
use std::sync::Arc;

/// Bulk settings shared by `load` and `feed`.
#[derive(Debug, Clone, clap::Args)]
pub struct WriteArgs {
    /// Index to write to (created with a log mapping when missing).
    #[arg(long, value_name = "NAME")]
    pub index: String,
    /// Refresh the index at the end so everything is searchable at once.
    #[arg(long)]
    pub refresh: bool,
    /// Bulk batches in flight at once.
    #[arg(long, default_value_t = 2, value_parser = clap::value_parser!(u16).range(1..=64))]
    pub concurrency: u16,
}

impl WriteArgs {
    fn options(&self) -> LoadOptions {
        LoadOptions {
            concurrency: usize::from(self.concurrency),
            refresh: self.refresh,
            ..LoadOptions::default()
        }
    }
}

/// Arguments of `load`.
#[derive(Debug, clap::Args)]
pub struct LoadArgs {
    /// NDJSON logs, one document per line as `generate` writes them (`-` for stdin).
    #[arg(long, value_name = "FILE")]
    pub input: PathBuf,
    /// Where and how to write.
    #[command(flatten)]
    pub write: WriteArgs,
}

/// Arguments of `feed`.
#[derive(Debug, clap::Args)]
pub struct FeedArgs {
    /// Where and how to write.
    #[command(flatten)]
    pub write: WriteArgs,
    /// Days of history to write first (from 00:00 UTC that many days ago up to now).
    #[arg(long, default_value_t = 7, value_parser = clap::value_parser!(u32).range(0..=366))]
    pub days: u32,
    /// After the history, keep writing lines as their time comes, until SIGINT or SIGTERM.
    #[arg(long)]
    pub follow: bool,
    /// Traffic factor (1.0 ≈ 80 request lines a minute at the daily peak, plus heartbeats).
    #[arg(long, default_value_t = 1.0)]
    pub rate: f64,
    /// Random seed: the same seed on the same day writes the same history.
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// IANA time zone the shop's users live in (default: the config's `timezone`).
    #[arg(long, value_name = "ZONE")]
    pub tz: Option<chrono_tz::Tz>,
    /// Inject the demo's seven incidents (one of each anomaly type, over five days) in the
    /// week that starts today (local day in --tz).
    #[arg(long)]
    pub incidents: bool,
    /// Like --incidents, in the week that starts on this local day (YYYY-MM-DD).
    #[arg(long, value_name = "DATE", conflicts_with = "incidents")]
    pub incidents_from: Option<chrono::NaiveDate>,
    /// Create this file once the history is written (and refreshed), e.g. for a container
    /// health check that holds the sidecar back until its backfill can see the history.
    #[arg(long, value_name = "PATH")]
    pub ready_file: Option<std::path::PathBuf>,
}

fn cluster(config: &Config) -> anyhow::Result<&BackendConfig> {
    config.cluster.as_ref().context(
        "the config has no `cluster` section: give one with --config (cluster.url at least)",
    )
}

fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")
}

async fn connect_arc(cfg: &BackendConfig) -> anyhow::Result<Arc<dyn Backend>> {
    let b = connect(cfg).await.context("connecting to the cluster")?;
    Ok(Arc::from(b))
}

fn finish(report: &LoadReport, index: &str) -> anyhow::Result<()> {
    eprintln!("{}", report.summary(index));
    check_failed(report)
}

fn check_failed(report: &LoadReport) -> anyhow::Result<()> {
    if report.failed_count > 0 {
        anyhow::bail!(
            "{} documents were not written (ids above)",
            report.failed_count
        );
    }
    Ok(())
}

/// Run `load`. Bad lines are skipped and reported; documents the cluster refuses make the
/// exit status non-zero after the summary.
pub fn run_load(config: &Config, args: LoadArgs) -> anyhow::Result<()> {
    let cfg = cluster(config)?;
    let (input, len) = super::open_input(&args.input)?;
    let bar = crate::telemetry::progress(len, "loading");
    let input = std::io::BufReader::with_capacity(1 << 16, bar.wrap_read(input));
    let index = args.write.index.clone();
    let report = runtime()?.block_on(async {
        let backend = connect_arc(cfg).await?;
        load_ndjson(
            backend,
            &index,
            input,
            &config.fields,
            &config.input,
            args.write.options(),
        )
        .await
        .with_context(|| format!("loading {} into {index}", args.input.display()))
    })?;
    bar.finish_and_clear();
    finish(&report, &index)
}

/// Run `feed`.
pub fn run_feed(config: &Config, args: FeedArgs) -> anyhow::Result<()> {
    let cfg = cluster(config)?;
    if !(args.rate > 0.0 && args.rate <= 50.0) {
        anyhow::bail!("--rate must be above 0 and at most 50, got {}", args.rate);
    }
    let tz = args.tz.unwrap_or(config.timezone.0);
    let today = chrono::Utc::now().with_timezone(&tz).date_naive();
    let settings = FeedSettings {
        seed: args.seed,
        tz,
        rate: args.rate,
        days: args.days,
        incidents_from: args.incidents_from.or(args.incidents.then_some(today)),
    };
    let index = args.write.index.clone();
    runtime()?.block_on(async {
        let backend = connect_arc(cfg).await?;
        let bar = percent_bar("history");
        let now = chrono::Utc::now();
        let (mut feed, report) = feed_history(
            Arc::clone(&backend),
            &index,
            &settings,
            now,
            args.write.options(),
            |f| bar.set_position((f * 1000.0) as u64),
        )
        .await
        .with_context(|| format!("writing the history into {index}"))?;
        bar.finish_and_clear();
        eprintln!(
            "history from {}: {}",
            crate::demo::feed::history_start(now, settings.days).to_rfc3339(),
            report.summary(&index)
        );
        if report.failed_count == 0 {
            if let Some(path) = &args.ready_file {
                backend
                    .refresh(&index)
                    .await
                    .with_context(|| format!("refreshing {index}"))?;
                std::fs::write(path, format!("{}\n", report.summary(&index)))
                    .with_context(|| format!("cannot write --ready-file {}", path.display()))?;
            }
        }
        if report.failed_count > 0 || !args.follow {
            return check_failed(&report);
        }
        eprintln!(
            "following: writing lines into {index} as they fall due (SIGINT or SIGTERM stops)"
        );
        let mut last_minute = -1i64;
        let live = follow(
            backend,
            &index,
            &mut feed,
            std::time::Duration::from_secs(1),
            LoadOptions {
                create_index: false,
                ..args.write.options()
            },
            shutdown(),
            |r| {
                let minute = chrono::Utc::now().timestamp() / 60;
                if minute != last_minute {
                    last_minute = minute;
                    tracing::info!(written = r.written, failed = r.failed_count, "feed running");
                }
            },
        )
        .await
        .with_context(|| format!("following into {index}"))?;
        finish(&live, &index)
    })
}

/// A percentage bar on a terminal, hidden otherwise.
fn percent_bar(what: &str) -> indicatif::ProgressBar {
    use std::io::IsTerminal;
    if !std::io::stderr().is_terminal() {
        return indicatif::ProgressBar::hidden();
    }
    let bar = indicatif::ProgressBar::new(1000);
    if let Ok(style) =
        indicatif::ProgressStyle::with_template("{msg} [{bar:40}] {percent}% eta {eta}")
    {
        bar.set_style(style.progress_chars("=> "));
    }
    bar.set_message(what.to_string());
    bar
}

/// Completes on SIGINT or SIGTERM.
async fn shutdown() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = term.recv() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}
