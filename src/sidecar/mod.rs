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

/// The wait before reconnection attempt `attempt`: 2, 4, 8, … seconds up to `max_secs`
/// (`run.max_retry_secs`), with jitter.
fn retry_delay(attempt: u32, max_secs: u64) -> std::time::Duration {
    reconnect_backoff(max_secs).delay(attempt)
}

fn reconnect_backoff(max_secs: u64) -> crate::retry::Backoff {
    crate::retry::Backoff {
        first: std::time::Duration::from_secs(2),
        max: std::time::Duration::from_secs(max_secs.max(1)),
    }
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
///
/// Each source runs in a task of its own (see [`source_task`]): a slow or failing source
/// delays no other, and its CPU work runs on tokio's blocking threads.
pub async fn run(
    config: Config,
    opts: RunOptions,
    metrics: Metrics,
    mut stop: Shutdown,
) -> anyhow::Result<RunSummary> {
    check(&config, true)?;
    let cluster =
        anyhow::Context::context(config.cluster.clone(), "config key `cluster` is missing")?;
    let config = Arc::new(config);
    // Secrets are read now: a missing one stops the start, naming its key.
    let targets = crate::notify::build_targets(&config.routes)?;
    let notifier = crate::notify::Notifier::open(&config.notify_settings())?;
    let delivery = notifier.as_ref().map(|n| {
        crate::notify::Delivery::start(&config.routes, targets, n.outbox().clone(), metrics.clone())
    });
    let give_up = opts
        .once
        .then(|| std::time::Duration::from_secs(config.run.once_give_up_secs));
    let mut summary = RunSummary::default();
    // Connect and install the templates once; then the sources go their own ways.
    let mut attempt = 0u32;
    let backend = loop {
        let Some(backend) = connect_with_retry(
            &cluster,
            config.run.max_retry_secs,
            give_up,
            &metrics,
            &mut stop,
        )
        .await?
        else {
            break None;
        };
        match install(backend.as_ref(), &config, opts.force_templates).await {
            Ok(()) => break Some(backend),
            Err(e) => {
                tracing::warn!("installing index templates failed: {e}");
                metrics.cluster_up.set(0);
                attempt += 1;
                if sleep_or_stop(retry_delay(attempt, config.run.max_retry_secs), &mut stop).await {
                    break None;
                }
            }
        }
    };
    if let Some(backend) = backend {
        let live = Arc::new(Live::new(config.sources.len()));
        let mut tasks = tokio::task::JoinSet::new();
        for (name, s) in &config.sources {
            let runner = SourceRunner::new(name, s, &config, opts.from, metrics.clone())
                .with_notifier(notifier.clone());
            let task = SourceTask {
                config: config.clone(),
                cluster: cluster.clone(),
                opts: opts.clone(),
                metrics: metrics.clone(),
                stop: stop.clone(),
                live: live.clone(),
            };
            tasks.spawn(task.run(runner, backend.clone()));
        }
        while let Some(done) = tasks.join_next().await {
            let result = done
                .map_err(|e| anyhow::anyhow!("a source task stopped: {e}"))
                .and_then(|r| r);
            match result {
                Ok(s) => summary.add(&s),
                Err(e) => {
                    tasks.abort_all();
                    return Err(e);
                }
            }
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

impl RunSummary {
    /// Add what another source's task did.
    fn add(&mut self, o: &RunSummary) {
        self.windows += o.windows;
        self.records += o.records;
        self.anomalies += o.anomalies;
        self.refused += o.refused;
        self.failures += o.failures;
        self.notifications += o.notifications;
        self.undelivered += o.undelivered;
    }
}

/// Which sources have caught up: the sidecar is ready when all have.
struct Live {
    sources: usize,
    caught_up: std::sync::Mutex<std::collections::BTreeSet<String>>,
}

impl Live {
    fn new(sources: usize) -> Self {
        Live {
            sources,
            caught_up: Default::default(),
        }
    }

    /// Record whether `source` has caught up; ready once every source has.
    fn set(&self, source: &str, caught_up: bool, metrics: &Metrics) {
        let Ok(mut set) = self.caught_up.lock() else {
            return;
        };
        if caught_up {
            set.insert(source.to_string());
            if set.len() == self.sources {
                metrics.set_ready(true, "live");
            }
        } else {
            set.remove(source);
        }
    }
}

/// What one source's task shares with the others.
struct SourceTask {
    config: Arc<Config>,
    cluster: BackendConfig,
    opts: RunOptions,
    metrics: Metrics,
    stop: Shutdown,
    live: Arc<Live>,
}

impl SourceTask {
    /// Prepare the source and process its windows until stopped (with `once`, until it has
    /// caught up). A failure is reported, then the source waits (backing off), connects
    /// again and is prepared again; the other sources go on meanwhile.
    async fn run(
        mut self,
        mut r: SourceRunner,
        mut backend: Arc<dyn Backend>,
    ) -> anyhow::Result<RunSummary> {
        let config = self.config.clone();
        let mut summary = RunSummary::default();
        let mut attempt = 0u32;
        // With `--once`, a source failing for `run.once_give_up_secs` ends the run with the
        // reason: a batch run must not wait forever on a source that cannot be read.
        let mut failing_since: Option<std::time::Instant> = None;
        let give_up = std::time::Duration::from_secs(config.run.once_give_up_secs);
        let once_end = match self.opts.until {
            Some(u) => window_bound(u).min(live_end(&config)),
            None => live_end(&config),
        };
        loop {
            if *self.stop.borrow() {
                break;
            }
            let end = if self.opts.once {
                once_end
            } else {
                live_end(&config)
            };
            let failure = if !r.is_prepared() {
                self.live.set(r.name(), false, &self.metrics);
                self.metrics
                    .set_ready(false, format!("preparing source {}", r.name()));
                let res = tokio::select! {
                    res = r.prepare(&backend, end) => res,
                    _ = self.stop.changed() => break,
                };
                res.err().map(|e| (e, r.checkpoint().unwrap_or(end)))
            } else if let Some((start, wend)) = r.next_window(end) {
                let res = tokio::select! {
                    res = r.process_window(&backend, start, wend) => res,
                    _ = self.stop.changed() => break,
                };
                match res {
                    Ok(o) => {
                        attempt = 0;
                        summary.windows += 1;
                        summary.records += o.records;
                        summary.anomalies += o.anomalies;
                        summary.refused += o.refused;
                        summary.notifications += o.notifications;
                        None
                    }
                    Err(e) => {
                        summary.failures += 1;
                        Some((e, start))
                    }
                }
            } else {
                // Caught up.
                r.count_late(backend.as_ref()).await;
                self.live.set(r.name(), true, &self.metrics);
                if self.opts.once {
                    break;
                }
                let wait = std::time::Duration::from_secs(config.run.interval_secs);
                if sleep_or_stop(wait, &mut self.stop).await {
                    break;
                }
                continue;
            };
            let Some((e, at)) = failure else {
                if failing_since.take().is_some() {
                    self.metrics.set_source_failure(r.name(), None);
                }
                continue;
            };
            self.live.set(r.name(), false, &self.metrics);
            report_failure(r.name(), r.index(), &e, &self.metrics);
            r.note_failure(&backend, at, &e.to_string()).await;
            let since = *failing_since.get_or_insert_with(std::time::Instant::now);
            if self.opts.once && since.elapsed() >= give_up {
                anyhow::bail!(
                    "gave up after {} s (run.once_give_up_secs): source {}: {}",
                    give_up.as_secs(),
                    r.name(),
                    failure_reason(r.index(), &e)
                );
            }
            // Wait, then connect again and prepare again.
            self.metrics.cluster_up.set(0);
            attempt += 1;
            let max_retry = config.run.max_retry_secs;
            if sleep_or_stop(retry_delay(attempt, max_retry), &mut self.stop).await {
                break;
            }
            match connect_with_retry(
                &self.cluster,
                max_retry,
                self.opts.once.then_some(give_up),
                &self.metrics,
                &mut self.stop,
            )
            .await?
            {
                Some(b) => backend = b,
                None => break,
            }
        }
        Ok(summary)
    }
}

/// Why a window of the source reading `index` failed, in words.
fn failure_reason(index: &str, e: &WindowError) -> String {
    match e {
        WindowError::Backend(BackendError::Status { reason, .. })
            if reason.contains("index_not_found_exception") =>
        {
            format!("source index `{index}` does not exist ({e})")
        }
        _ => e.to_string(),
    }
}

fn report_failure(source: &str, index: &str, e: &WindowError, metrics: &Metrics) {
    let why = failure_reason(index, e);
    tracing::warn!(source, "window not finished, will redo it: {why}");
    metrics.set_source_failure(source, Some(why));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reconnections_back_off_from_two_seconds_to_max_retry_secs() {
        let b = reconnect_backoff(30);
        let s: Vec<u64> = (1..8).map(|a| b.ceiling(a).as_secs()).collect();
        assert_eq!(s, vec![2, 4, 8, 16, 30, 30, 30]);
        assert_eq!(reconnect_backoff(60).ceiling(1000).as_secs(), 60);
        let d = retry_delay(1000, 60).as_secs_f64();
        assert!((30.0..=60.0).contains(&d), "{d}");
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
