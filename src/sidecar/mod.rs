//! The sidecar, `logwarden run`: connects to the cluster (waiting while it is down),
//! installs the index templates, and keeps every configured source's checkpoint close to
//! now minus `run.delay_secs`, one window at a time (see [`runner`]). `--once` stops when the
//! sources have caught up; `--from` replays a past range with a baseline learned from the
//! history before it.
//!
//! Failure model: a window is done when its documents are acknowledged and its checkpoint
//! saved. Anything that fails before (the cluster goes away, a request keeps failing) leaves
//! the checkpoint where it was; the source is prepared again (model reloaded, the hours
//! before the checkpoint replayed) and the window redone once the cluster answers. Document
//! ids derive from content, so a redone window overwrites instead of duplicating. A shutdown
//! signal abandons the window in progress the same way.
//!
//! With `routes` configured, a window's notifications are queued in the durable outbox
//! ([`crate::notify`]) after its documents are written and before its checkpoint is saved;
//! the delivery tasks run beside the window loop, and `--once` waits (bounded by
//! `routes.delivery.drain_timeout_secs`) for the outbox to empty before returning.

pub mod api;
pub mod checkpoint;
pub mod docs;
pub mod health;
pub mod runner;
pub mod ui;

use crate::backend::{connect, Backend, BackendConfig, BackendError};
use crate::config::Config;
use chrono::{DateTime, Duration, Utc};
use health::Metrics;
use runner::{window_bound, SourceRunner, WindowError};
use std::sync::Arc;
use tokio::sync::watch;

/// How `run` was asked to behave.
#[derive(Debug, Clone, Default)]
pub struct RunOptions {
    /// Process what is available now, then exit.
    pub once: bool,
    /// Replay from this time: baseline from the history before it, detection from it on.
    pub from: Option<DateTime<Utc>>,
    /// With `once`: stop at this time instead of now, so a replay of a past range is the
    /// same whenever it runs.
    pub until: Option<DateTime<Utc>>,
    /// Reinstall the index templates even when the current ones are present.
    pub force_templates: bool,
}

/// What a run did, summed over its sources.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RunSummary {
    /// Windows processed.
    pub windows: u64,
    /// Log records read.
    pub records: u64,
    /// Anomalies written.
    pub anomalies: u64,
    /// Documents the cluster refused for good.
    pub refused: u64,
    /// Windows that failed and were redone.
    pub failures: u64,
    /// Notifications queued for the receivers of `routes`.
    pub notifications: u64,
    /// Notifications still queued when the run ended (`--once` waits for them, bounded by
    /// `routes.delivery.drain_timeout_secs`; they are sent on the next start).
    pub undelivered: u64,
}

/// A shutdown signal: `true` once the sidecar should stop.
pub type Shutdown = watch::Receiver<bool>;

/// Sleep for `d`, returning early (with `true`) when shutdown is signalled.
async fn sleep_or_stop(d: std::time::Duration, stop: &mut Shutdown) -> bool {
    if *stop.borrow() {
        return true;
    }
    tokio::select! {
        _ = tokio::time::sleep(d) => *stop.borrow(),
        _ = stop.changed() => true,
    }
}

/// The wait before reconnection attempt `attempt` (1, 2, 4, … seconds up to `max_secs`).
fn retry_delay(attempt: u32, max_secs: u64) -> std::time::Duration {
    let secs = 1u64
        .checked_shl(attempt.min(16))
        .unwrap_or(u64::MAX)
        .min(max_secs.max(1));
    std::time::Duration::from_secs(secs)
}

/// What `logwarden run` needs before it starts anything: a cluster and a source. With
/// `from_file` false (no `--config` given), the error says so.
pub fn check(config: &Config, from_file: bool) -> anyhow::Result<()> {
    let hint = if from_file {
        ""
    } else {
        " (no --config was given; logwarden.example.yaml shows every key)"
    };
    anyhow::ensure!(
        config.cluster.is_some(),
        "config key `cluster` is missing: `logwarden run` needs `cluster.url`{hint}"
    );
    anyhow::ensure!(
        !config.sources.is_empty(),
        "config key `sources` is empty: `logwarden run` needs at least one source index{hint}"
    );
    Ok(())
}

/// Connect, retrying with backoff until the cluster answers or shutdown (`Ok(None)`). A
/// setting that cannot work (a secret's variable not set, an unreadable CA file, an engine
/// this version does not support) is an error at once: waiting will not fix it.
///
/// `give_up` (for `--once`) bounds the wait: unreachable that long, it is an error too.
async fn connect_with_retry(
    cfg: &BackendConfig,
    max_retry_secs: u64,
    give_up: Option<std::time::Duration>,
    metrics: &Metrics,
    stop: &mut Shutdown,
) -> anyhow::Result<Option<Arc<dyn Backend>>> {
    let mut attempt = 0;
    let since = std::time::Instant::now();
    loop {
        match connect(cfg).await {
            Ok(b) => {
                metrics.cluster_up.set(1);
                tracing::info!("connected to {} {}", b.info().engine, b.info().version);
                return Ok(Some(Arc::from(b)));
            }
            Err(e @ BackendError::Config(_)) | Err(e @ BackendError::Unsupported(_)) => {
                metrics.set_ready(false, format!("cannot use the cluster: {e}"));
                anyhow::bail!("cannot use the cluster: {e}");
            }
            Err(e) => {
                // The URL is the configured one, which may not carry credentials.
                let url = &cfg.url;
                metrics.set_ready(false, format!("cluster unreachable at {url}: {e}"));
                if let Some(limit) = give_up.filter(|l| since.elapsed() >= *l) {
                    anyhow::bail!(
                        "gave up after {} s (run.once_give_up_secs): cluster unreachable at {url}: {e}",
                        limit.as_secs()
                    );
                }
                tracing::warn!(
                    "cluster unreachable at {url} (attempt {}): {e}",
                    attempt + 1
                );
            }
        }
        metrics.cluster_up.set(0);
        attempt += 1;
        if sleep_or_stop(retry_delay(attempt, max_retry_secs), stop).await {
            return Ok(None);
        }
    }
}

/// Install the index templates and the state index.
async fn install(backend: &dyn Backend, config: &Config, force: bool) -> Result<(), BackendError> {
    for report in crate::backend::install_templates(backend, &config.indices, force).await? {
        tracing::info!("{report}");
    }
    checkpoint::ensure_state_index(backend, &config.indices.state).await
}

/// The newest end a window may have now.
fn live_end(config: &Config) -> DateTime<Utc> {
    window_bound(Utc::now() - Duration::seconds(config.run.delay_secs as i64))
}

/// Run the sidecar until `stop` says so (or, with `once`, until every source has caught
/// up). Never exits because the cluster is down: it waits, reporting not-ready.
pub async fn run(
    config: Config,
    opts: RunOptions,
    metrics: Metrics,
    mut stop: Shutdown,
) -> anyhow::Result<RunSummary> {
    check(&config, true)?;
    let cluster =
        anyhow::Context::context(config.cluster.clone(), "config key `cluster` is missing")?;
    let max_retry = config.run.max_retry_secs;
    let mut summary = RunSummary::default();
    // Secrets are read now: a missing one stops the start, naming its key.
    let targets = crate::notify::build_targets(&config.routes)?;
    let notifier = crate::notify::Notifier::open(&config.notify_settings())?;
    let delivery = notifier.as_ref().map(|n| {
        crate::notify::Delivery::start(&config.routes, targets, n.outbox().clone(), metrics.clone())
    });
    let mut runners: Vec<SourceRunner> = config
        .sources
        .iter()
        .map(|(name, s)| {
            SourceRunner::new(name, s, &config, opts.from, metrics.clone())
                .with_notifier(notifier.clone())
        })
        .collect();
    let mut installed = false;
    let mut attempt = 0u32;
    // Each pass: (re)connect, prepare the sources, and process windows until caught up.
    'outer: loop {
        let give_up = opts
            .once
            .then(|| std::time::Duration::from_secs(config.run.once_give_up_secs));
        let Some(backend) =
            connect_with_retry(&cluster, max_retry, give_up, &metrics, &mut stop).await?
        else {
            break;
        };
        let mut failed = false;
        if !installed {
            if let Err(e) = install(backend.as_ref(), &config, opts.force_templates).await {
                tracing::warn!("installing index templates failed: {e}");
                failed = true;
            } else {
                installed = true;
            }
        }
        let once_end = match opts.until {
            Some(u) => window_bound(u).min(live_end(&config)),
            None => live_end(&config),
        };
        while !failed {
            let end = if opts.once {
                once_end
            } else {
                live_end(&config)
            };
            let mut idle = true;
            for r in runners.iter_mut() {
                if *stop.borrow() {
                    break 'outer;
                }
                if !r.is_prepared() {
                    metrics.set_ready(false, format!("preparing source {}", r.name()));
                    let prep = r.prepare(&backend, end);
                    let res = tokio::select! {
                        res = prep => res,
                        _ = stop.changed() => break 'outer,
                    };
                    if let Err(e) = res {
                        report_failure(r.name(), r.index(), &e, &metrics);
                        r.note_failure(&backend, r.checkpoint().unwrap_or(end), &e.to_string())
                            .await;
                        failed = true;
                        break;
                    }
                }
                let Some((start, wend)) = r.next_window(end) else {
                    r.count_late(backend.as_ref()).await;
                    continue;
                };
                idle = false;
                let res = tokio::select! {
                    res = r.process_window(&backend, start, wend) => res,
                    _ = stop.changed() => break 'outer,
                };
                match res {
                    Ok(o) => {
                        attempt = 0;
                        summary.windows += 1;
                        summary.records += o.records;
                        summary.anomalies += o.anomalies;
                        summary.refused += o.refused;
                        summary.notifications += o.notifications;
                        tracing::debug!(source = r.name(), %start, end = %wend, records = o.records, anomalies = o.anomalies, "window done");
                    }
                    Err(e) => {
                        summary.failures += 1;
                        report_failure(r.name(), r.index(), &e, &metrics);
                        r.note_failure(&backend, start, &e.to_string()).await;
                        failed = true;
                        break;
                    }
                }
            }
            if failed {
                break;
            }
            if idle {
                metrics.set_ready(true, "live");
                if opts.once {
                    break 'outer;
                }
                let wait = std::time::Duration::from_secs(config.run.interval_secs);
                if sleep_or_stop(wait, &mut stop).await {
                    break 'outer;
                }
            }
        }
        // Something failed: wait, then reconnect and prepare again.
        metrics.cluster_up.set(0);
        attempt += 1;
        if sleep_or_stop(retry_delay(attempt, max_retry), &mut stop).await {
            break;
        }
    }
    if let (Some(d), Some(n)) = (delivery, &notifier) {
        if opts.once && !*stop.borrow() {
            let limit = std::time::Duration::from_secs(config.routes.delivery.drain_timeout_secs);
            if !d.drain(limit).await {
                tracing::warn!(
                    "{} notifications not delivered within routes.delivery.drain_timeout_secs; they stay queued in the outbox and go out on the next start",
                    n.outbox().len()
                );
            }
        }
        d.shutdown().await;
        summary.undelivered = n.outbox().len() as u64;
    }
    metrics.set_ready(false, "stopped");
    Ok(summary)
}

fn report_failure(source: &str, index: &str, e: &WindowError, metrics: &Metrics) {
    let why = match e {
        WindowError::Backend(BackendError::Status { reason, .. })
            if reason.contains("index_not_found_exception") =>
        {
            format!("source index `{index}` does not exist ({e})")
        }
        _ => e.to_string(),
    };
    tracing::warn!(source, "window not finished, will redo it: {why}");
    metrics.set_ready(false, format!("source {source}: {why}"));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_delays_double_up_to_the_cap() {
        let s: Vec<u64> = (1..8).map(|a| retry_delay(a, 30).as_secs()).collect();
        assert_eq!(s, vec![2, 4, 8, 16, 30, 30, 30]);
        assert_eq!(retry_delay(1000, 60).as_secs(), 60);
    }

    #[test]
    fn window_bounds_end_just_before_a_minute() {
        let t = |s: &str| s.parse::<DateTime<Utc>>().unwrap();
        assert_eq!(
            window_bound(t("2026-11-30T12:03:41.5Z")),
            t("2026-11-30T12:02:59.999Z")
        );
        // A bound is its own bound.
        assert_eq!(
            window_bound(t("2026-11-30T12:02:59.999Z")),
            t("2026-11-30T12:02:59.999Z")
        );
        assert_eq!(
            window_bound(t("2026-11-30T12:03:00Z")),
            t("2026-11-30T12:02:59.999Z")
        );
    }
}
