//! `logwarden run`: the sidecar. Signals (SIGTERM, SIGINT) stop it cleanly: the window in
//! progress is abandoned before its checkpoint moves, so the next start redoes it.

use crate::config::Config;
use crate::sidecar::{self, health::Metrics, RunOptions};
use anyhow::Context;
use chrono::{DateTime, NaiveDate, Utc};

/// Arguments of `run`.
#[derive(Debug, clap::Args)]
pub struct RunArgs {
    /// Process everything available up to now (minus `run.delay_secs`), then exit.
    #[arg(long)]
    pub once: bool,
    /// Replay from this time (RFC 3339, or a date meaning its UTC midnight): the baseline is
    /// learned from the `run.backfill_days` before it, detection runs from it on.
    #[arg(long, value_name = "TIMESTAMP", value_parser = parse_time)]
    pub from: Option<DateTime<Utc>>,
    /// With `--once`: stop at this time (RFC 3339 or a date) instead of now, so replaying a
    /// past range gives the same anomalies whenever it runs.
    #[arg(long, value_name = "TIMESTAMP", value_parser = parse_time, requires = "once")]
    pub until: Option<DateTime<Utc>>,
    /// Reinstall the index templates even when the current ones are present.
    #[arg(long)]
    pub force_templates: bool,
}

/// Parse `--from`: RFC 3339 or a plain date.
fn parse_time(s: &str) -> Result<DateTime<Utc>, String> {
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Ok(t.with_timezone(&Utc));
    }
    if let Ok(d) = NaiveDate::parse_from_str(s, "%Y-%m-%d") {
        if let Some(t) = d.and_hms_opt(0, 0, 0) {
            return Ok(t.and_utc());
        }
    }
    Err(format!(
        "`{s}` is not a time: use RFC 3339 (2026-11-02T14:00:00Z) or a date (2026-11-02)"
    ))
}

/// Run the sidecar on a multi-threaded runtime until it finishes or a signal stops it.
pub fn run(config: &Config, from_file: bool, args: RunArgs) -> anyhow::Result<()> {
    // Before the health endpoint is announced: a run that cannot start says why first.
    sidecar::check(config, from_file)?;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    rt.block_on(async move {
        let (tx, rx) = tokio::sync::watch::channel(false);
        let metrics = Metrics::new();
        if !config.run.listen.is_empty() {
            let addr: std::net::SocketAddr = config
                .run
                .listen
                .parse()
                .with_context(|| format!("config key `run.listen`: `{}`", config.run.listen))?;
            let mut stop = rx.clone();
            let api = std::sync::Arc::new(sidecar::api::Api::new(config)?);
            let bound = sidecar::health::serve(addr, metrics.clone(), Some(api), async move {
                let _ = stop.wait_for(|s| *s).await;
            })
            .await
            .with_context(|| format!("cannot listen on {addr} (config key `run.listen`)"))?;
            tracing::info!("health, metrics and API on http://{bound}/ (health, ready, metrics, api/v1/openapi.json)");
        }
        tokio::spawn(async move {
            wait_for_signal().await;
            tracing::info!("stopping: the window in progress is abandoned, the checkpoint stays");
            let _ = tx.send(true);
        });
        let opts = RunOptions {
            once: args.once,
            from: args.from,
            until: args.until,
            force_templates: args.force_templates,
        };
        let s = sidecar::run(config.clone(), opts, metrics, rx).await?;
        eprintln!(
            "{} windows, {} records, {} anomalies written, {} documents refused, {} windows redone",
            s.windows, s.records, s.anomalies, s.refused, s.failures
        );
        if config.routes.enabled() {
            eprintln!(
                "{} notifications queued, {} still in the outbox",
                s.notifications, s.undelivered
            );
        }
        Ok(())
    })
}

/// Resolve on SIGTERM or SIGINT.
async fn wait_for_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = term.recv() => {}
                    _ = tokio::signal::ctrl_c() => {}
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

#[cfg(test)]
mod tests {
    use crate::cli::{Cli, Command};
    use clap::Parser;

    #[test]
    fn until_needs_once_and_takes_a_date() {
        let err = Cli::try_parse_from(["logwarden", "run", "--until", "2026-11-03"]).unwrap_err();
        assert!(err.to_string().contains("--once"), "{err}");
        let cli = Cli::try_parse_from([
            "logwarden",
            "run",
            "--once",
            "--from",
            "2026-11-02",
            "--until",
            "2026-11-03T06:00:00Z",
        ])
        .unwrap();
        let Command::Run(args) = cli.command else {
            panic!("not run");
        };
        assert_eq!(
            args.until.unwrap().to_rfc3339(),
            "2026-11-03T06:00:00+00:00"
        );
    }
}
