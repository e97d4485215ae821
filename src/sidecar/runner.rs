//! One source's loop: learn or load its model, resume from its checkpoint, and process
//! windows `(checkpoint, end]` — read with a point in time, detect, write anomalies,
//! incidents and pattern rates, and only then move the checkpoint.

use super::checkpoint::{self, Checkpoint};
use super::docs;
use super::health::Metrics;
use crate::backend::bulk::BulkDoc;
use crate::backend::prefetch::PrefetchReader;
use crate::backend::{bulk, Backend, BackendError, BulkReport, WindowRequest};
use crate::config::{Config, SourceConfig};
use crate::detect::{Baseline, Detector, Trainer};
use crate::feedback::mutes::Mutes;
use crate::feedback::FeedbackStore;
use crate::model::Anomaly;
use crate::notify::{Notifier, Tracker};
use crate::source::FieldsConfig;
use chrono::{DateTime, Duration, DurationRound, Utc};
use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::sync::Arc;

/// Why a window could not be finished.
#[derive(Debug, thiserror::Error)]
pub enum WindowError {
    /// The cluster failed (unreachable, 5xx after retries, ...): redo the window later.
    #[error(transparent)]
    Backend(#[from] BackendError),
    /// The notification state or outbox could not be written: the window's notifications
    /// are not safe, so neither is its checkpoint.
    #[error(transparent)]
    Notify(#[from] crate::notify::NotifyError),
    /// The model file could not be read or written.
    #[error("model file {path}: {message}")]
    Model {
        /// The file.
        path: String,
        /// What went wrong.
        message: String,
    },
    /// Training or detection stopped with a panic (a bug): the window is redone with the
    /// model loaded again.
    #[error("{stage} of source {name} stopped: {message}")]
    Crashed {
        /// What was running.
        stage: &'static str,
        /// The source.
        name: String,
        /// The panic's message.
        message: String,
    },
}

/// Run CPU work (training, detection, loading and saving the model) on tokio's blocking
/// threads, so a busy source never holds a worker that the HTTP endpoint, the deliveries
/// and the other sources need.
async fn blocking<T: Send + 'static>(
    source: &str,
    stage: &'static str,
    work: impl FnOnce() -> T + Send + 'static,
) -> Result<T, WindowError> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|e| WindowError::Crashed {
            stage,
            name: source.to_string(),
            message: match e.try_into_panic() {
                Ok(p) => p
                    .downcast_ref::<&str>()
                    .map(|m| m.to_string())
                    .or_else(|| p.downcast_ref::<String>().cloned())
                    .unwrap_or_else(|| "panic".to_string()),
                Err(e) => e.to_string(),
            },
        })
}

/// [`blocking`] work on `state` (a trainer, a detector), which moves to the blocking thread
/// and back, so nothing is copied.
async fn off_worker<S, T>(
    source: &str,
    stage: &'static str,
    mut state: S,
    work: impl FnOnce(&mut S) -> T + Send + 'static,
) -> Result<(S, T), WindowError>
where
    S: Send + 'static,
    T: Send + 'static,
{
    blocking(source, stage, move || {
        let out = work(&mut state);
        (state, out)
    })
    .await
}

/// Run `detector` over a page of records, off the workers.
async fn detect_page(
    source: &str,
    detector: Detector,
    page: Vec<crate::backend::SourcedRecord>,
) -> Result<(Detector, Vec<Anomaly>), WindowError> {
    off_worker(source, "detection", detector, move |d| {
        // The messages are split on every core first; detection then runs in order on this
        // thread, as it must (each record may change what the next one meets).
        let messages: Vec<&str> = page.iter().map(|r| r.record.message.as_str()).collect();
        let threads = std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get);
        let mut tokens = crate::parse::split_all(&d.tokenizer(), &messages, threads);
        page.iter()
            .zip(&mut tokens)
            .flat_map(|(r, t)| d.push_split(&r.record, Some(t)))
            .collect::<Vec<_>>()
    })
    .await
}

/// Save a model to `path` (its folder made when missing).
fn save_model(
    path: &std::path::Path,
    version: &str,
    body: &impl serde::Serialize,
) -> std::io::Result<()> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    crate::state::save(path, version, body).map_err(std::io::Error::other)
}

/// What one processed window did.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct WindowOutcome {
    /// Records read.
    pub records: u64,
    /// Anomalies written.
    pub anomalies: u64,
    /// Pattern-rate documents written.
    pub rates: u64,
    /// Incident documents written.
    pub incidents: u64,
    /// Documents the cluster refused for good.
    pub refused: u64,
    /// Notifications queued.
    pub notifications: u64,
}

/// The state of one configured source.
pub struct SourceRunner {
    name: String,
    config: Config,
    index: String,
    filter: Option<serde_json::Value>,
    fields: FieldsConfig,
    state_id: String,
    model_path: PathBuf,
    from: Option<DateTime<Utc>>,
    detector: Option<Detector>,
    checkpoint: Option<Checkpoint>,
    recent: Vec<Anomaly>,
    /// Attempts to read the source that failed in a row, since when, and whether the
    /// blindness was reported.
    failed_in_row: u32,
    failing_since: Option<DateTime<Utc>>,
    blind_reported: bool,
    last_model_save: Option<DateTime<Utc>>,
    /// Processed windows waiting to be counted again for late documents: (processed at,
    /// start, end, documents seen).
    recount: std::collections::VecDeque<Recount>,
    metrics: Metrics,
    /// Where incidents are sent, when routes are configured.
    notifier: Option<Arc<Notifier>>,
    /// What each receiver has heard of this source's open incidents.
    tracker: Tracker,
    /// Users' marks, from the anomaly documents, saved at `feedback_path`.
    feedback: FeedbackStore,
    feedback_path: PathBuf,
}

/// A processed window to count again: (processed at, start, end, documents seen).
type Recount = (DateTime<Utc>, DateTime<Utc>, DateTime<Utc>, u64);

/// The end of the last complete minute at or before `t`, as a window bound: windows are
/// `(start, end]` and buckets `[start, end)`, so a window ends one millisecond before a
/// minute boundary and every record lands in the window of its bucket.
pub fn window_bound(t: DateTime<Utc>) -> DateTime<Utc> {
    let ms = Duration::milliseconds(1);
    (t + ms).duration_trunc(Duration::minutes(1)).unwrap_or(t) - ms
}

impl SourceRunner {
    /// A runner for source `name`; `from` replays from that time (its own checkpoint and
    /// model, so a backtest never disturbs the live state).
    pub fn new(
        name: &str,
        source: &SourceConfig,
        config: &Config,
        from: Option<DateTime<Utc>>,
        metrics: Metrics,
    ) -> Self {
        let suffix = from
            .map(|t| format!("-from-{}", t.format("%Y%m%dT%H%M%SZ")))
            .unwrap_or_default();
        metrics.register_source(name);
        SourceRunner {
            name: name.to_string(),
            index: source.index.clone(),
            filter: source.query.clone(),
            fields: source
                .fields
                .clone()
                .unwrap_or_else(|| config.fields.clone()),
            state_id: format!("{}:{name}{suffix}", config.tenant.0),
            model_path: config.run.state_dir.join(format!("{name}{suffix}.model")),
            from: from.map(window_bound),
            config: config.clone(),
            detector: None,
            checkpoint: None,
            recent: Vec::new(),
            failed_in_row: 0,
            failing_since: None,
            blind_reported: false,
            last_model_save: None,
            recount: std::collections::VecDeque::new(),
            metrics,
            notifier: None,
            tracker: Tracker::default(),
            feedback: FeedbackStore::default(),
            feedback_path: config.run.state_dir.join("feedback.json"),
        }
    }

    /// Send this source's incidents through `notifier`.
    pub fn with_notifier(mut self, notifier: Option<Arc<Notifier>>) -> Self {
        self.notifier = notifier;
        self
    }

    /// The source's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The index (or pattern) the source reads.
    pub fn index(&self) -> &str {
        &self.index
    }

    /// Everything up to this time is done (`None` before [`SourceRunner::prepare`]).
    pub fn checkpoint(&self) -> Option<DateTime<Utc>> {
        self.checkpoint.as_ref().map(|c| c.checkpoint)
    }

    /// Whether the model and checkpoint are loaded.
    pub fn is_prepared(&self) -> bool {
        self.detector.is_some()
    }

    /// A reader of `(start, end]` in time chunks, `cluster.read.parallel` side by side.
    fn reader(
        &self,
        backend: &Arc<dyn Backend>,
        start: DateTime<Utc>,
        end: DateTime<Utc>,
    ) -> PrefetchReader {
        let parallel = backend.config().read.parallel;
        // Enough chunks to keep `parallel` readers busy, none shorter than a minute.
        PrefetchReader::new(
            backend.clone(),
            self.request(start, end),
            parallel * 4,
            Duration::minutes(1),
            parallel,
        )
    }

    fn request(&self, start: DateTime<Utc>, end: DateTime<Utc>) -> WindowRequest {
        WindowRequest {
            index: self.index.clone(),
            start,
            end,
            filter: self.filter.clone(),
            fields: self.fields.clone(),
        }
    }

    fn model_error(&self, e: impl std::fmt::Display) -> WindowError {
        WindowError::Model {
            path: self.model_path.display().to_string(),
            message: e.to_string(),
        }
    }

    /// Load the model and checkpoint, learning the model from history first when there is
    /// none; then replay the hours before the checkpoint (without writing) so the drift and
    /// trend detectors resume with their state. `live_end` is the newest time a window may
    /// end at now.
    pub async fn prepare(
        &mut self,
        backend: &Arc<dyn Backend>,
        live_end: DateTime<Utc>,
    ) -> Result<(), WindowError> {
        self.detector = None;
        self.recent.clear();
        self.feedback = FeedbackStore::load(&self.feedback_path).unwrap_or_else(|e| {
            // The marks live in the anomaly documents too: the next poll reads them again.
            tracing::warn!(source = %self.name, "{e}; reading the marks from the index again");
            FeedbackStore::default()
        });
        if let Some(n) = &self.notifier {
            self.tracker = Tracker::load(&n.tracker_path(&self.state_id))?;
        }
        let stored =
            checkpoint::load(backend.as_ref(), &self.config.indices.state, &self.state_id).await?;
        let path = self.model_path.clone();
        let loaded = blocking(&self.name, "loading the model", move || {
            path.exists().then(|| crate::state::load::<Baseline>(&path))
        })
        .await?;
        let model = if let Some(loaded) = loaded {
            match loaded {
                Ok((_, b)) => Some(b),
                Err(e) => {
                    tracing::warn!(source = %self.name, "model {} is not usable ({e}); learning a new one", self.model_path.display());
                    None
                }
            }
        } else {
            None
        };
        let start_at = match (&stored, self.from) {
            (Some(c), _) => c.checkpoint,
            (None, Some(from)) => from,
            (None, None) => match &model {
                Some(b) => b
                    .trained_to
                    .map(window_bound)
                    .unwrap_or(live_end)
                    .min(live_end),
                None => live_end,
            },
        };
        let baseline = match model {
            Some(b) => b,
            None => {
                let b = self.backfill(backend, start_at).await?;
                // An empty model is not kept: the next start learns from what came since.
                if b.lines > 0 {
                    let path = self.model_path.clone();
                    let (b, saved) = off_worker(&self.name, "saving the model", b, move |b| {
                        save_model(&path, &b.model_version, b)
                    })
                    .await?;
                    saved.map_err(|e| self.model_error(e))?;
                    b
                } else {
                    b
                }
            }
        };
        let settings = self.config.detector_settings();
        let name = self.name.clone();
        let mut detector = blocking(&self.name, "loading the model", move || {
            let mut d = Detector::new(baseline, &settings);
            d.set_source_name(&name);
            d
        })
        .await?;
        let warmup = Duration::hours(i64::from(self.config.run.warmup_hours));
        if stored.is_some() && warmup > Duration::zero() {
            // Replay without writing: what it finds was written before the restart, and
            // goes back into the recent anomalies so that an incident open at the restart
            // keeps its id when it continues or escalates.
            let mut reader = self.reader(backend, start_at - warmup, start_at);
            while let Some(page) = reader.next_page().await? {
                let found;
                (detector, found) = detect_page(&self.name, detector, page).await?;
                self.recent.extend(found);
            }
        }
        let boundary = start_at + Duration::milliseconds(1);
        let found;
        (detector, found) = off_worker(&self.name, "detection", detector, move |d| {
            d.close_until(boundary)
        })
        .await?;
        self.recent.extend(found);
        crate::incidents::group(&mut self.recent, &self.config.incidents);
        detector.track_rates(self.config.run.rate_minutes);
        self.metrics
            .templates
            .with_label_values(&[&self.name])
            .set(detector.templates() as i64);
        self.checkpoint = Some(stored.unwrap_or(Checkpoint {
            source: self.name.clone(),
            tenant: self.config.tenant.0.clone(),
            checkpoint: start_at,
            model_version: detector.model_version().to_string(),
            updated_at: Utc::now(),
            windows: 0,
            records: 0,
            anomalies: 0,
        }));
        self.detector = Some(detector);
        self.last_model_save = Some(Utc::now());
        Ok(())
    }

    /// Learn a baseline from the `backfill_days` before `end`.
    async fn backfill(
        &self,
        backend: &Arc<dyn Backend>,
        end: DateTime<Utc>,
    ) -> Result<Baseline, WindowError> {
        let days = i64::from(self.config.run.backfill_days);
        let start = end - Duration::days(days);
        tracing::info!(source = %self.name, index = %self.index, "learning the baseline from {days} days of history ({start} .. {end})");
        let bar = crate::telemetry::progress_count(&format!("backfill {}", self.name));
        let mut trainer = Trainer::new(&self.config.trainer_settings());
        let mut reader = self.reader(backend, start, end);
        let mut missing = crate::source::MissingFields::default();
        while let Some(page) = reader.next_page().await? {
            for r in &page {
                missing.count(&r.record);
            }
            bar.inc(page.len() as u64);
            (trainer, ()) = off_worker(&self.name, "training", trainer, move |t| {
                for r in &page {
                    t.add(&r.record);
                }
            })
            .await?;
        }
        let report = reader.report().clone();
        bar.finish_and_clear();
        self.count_read(&report);
        for warning in missing.warnings(&format!("sources.{}.fields", self.name), &self.fields) {
            tracing::warn!(source = %self.name, "{warning}");
        }
        let baseline = blocking(&self.name, "training", move || trainer.finish()).await?;
        if let Some(warning) = crate::parse::overflow_warning(&baseline.miner) {
            tracing::warn!(source = %self.name, "{warning}");
        }
        tracing::info!(source = %self.name, "baseline learned from {} records: {} templates, model {}", report.records, baseline.miner.templates().len(), baseline.model_version);
        if report.records == 0 {
            // A typo in the pattern looks like this too: say it where it is seen.
            let problem = format!(
                "source {}: index pattern `{}` has no document in the {days} days before {end}: nothing to learn from (is the pattern right?)",
                self.name, self.index
            );
            tracing::warn!("{problem}; the model is learned again at the next start");
            self.metrics.set_source_problem(&self.name, Some(problem));
        }
        Ok(baseline)
    }

    fn count_read(&self, report: &crate::backend::ReadReport) {
        for (problem, n) in &report.problems {
            self.metrics
                .rejected
                .with_label_values(&[&self.name, &format!("{problem:?}")])
                .inc_by(*n);
        }
    }

    /// Count again the processed windows that are old enough, and add what arrived since to
    /// the late-document metric. Counting is best effort: a failed count is tried next time.
    pub async fn count_late(&mut self, backend: &dyn Backend) {
        let due = Utc::now() - Duration::minutes(i64::from(self.config.run.late_recount_minutes));
        while let Some(&(processed, start, end, seen)) = self.recount.front() {
            if processed > due {
                break;
            }
            let body = serde_json::json!({"query": self.request(start, end).query()});
            let path = format!("/{}/_count", self.index);
            let r = backend
                .send_raw(
                    "count",
                    crate::backend::HttpMethod::Post,
                    &path,
                    &[],
                    Some(body),
                )
                .await;
            let Some(now) = r
                .ok()
                .filter(|r| r.is_success())
                .and_then(|r| r.body.get("count").and_then(|c| c.as_u64()))
            else {
                return;
            };
            if now > seen {
                tracing::warn!(source = %self.name, %start, %end, "{} documents arrived after their window was processed (raise run.delay_secs)", now - seen);
                self.metrics
                    .late
                    .with_label_values(&[&self.name])
                    .inc_by(now - seen);
            }
            self.recount.pop_front();
        }
    }

    /// The next window to process, if the checkpoint is behind `live_end`.
    pub fn next_window(&self, live_end: DateTime<Utc>) -> Option<(DateTime<Utc>, DateTime<Utc>)> {
        let start = self.checkpoint()?;
        let max = Duration::seconds(self.config.run.max_window_secs as i64);
        let end = window_bound((start + max).min(live_end));
        (end > start).then_some((start, end))
    }

    /// Process the window `(start, end]`: read, detect, write, then save the checkpoint.
    /// On error nothing is saved and the runner must be prepared again (its detector has
    /// seen part of the window).
    pub async fn process_window(
        &mut self,
        backend: &Arc<dyn Backend>,
        start: DateTime<Utc>,
        end: DateTime<Utc>,
    ) -> Result<WindowOutcome, WindowError> {
        self.count_late(backend.as_ref()).await;
        let result = self.process_inner(backend, start, end).await;
        if result.is_ok() {
            self.failed_in_row = 0;
            self.failing_since = None;
            self.blind_reported = false;
        }
        if result.is_err() {
            self.detector = None;
            self.metrics
                .window_failures
                .with_label_values(&[&self.name])
                .inc();
        }
        result
    }

    /// Count a failed attempt to prepare or read the source (`at`: the start of the window
    /// that failed, or now); after `run.blind_after_failures` in a row, report once that
    /// logwarden cannot see the source: a critical `volume_drop` with `service.name` `*` and
    /// `pattern.id` `sidecar`, written to the anomaly index when the cluster takes it, and
    /// sent through the routes either way (the outbox is local).
    pub async fn note_failure(
        &mut self,
        backend: &Arc<dyn Backend>,
        at: DateTime<Utc>,
        error: &str,
    ) {
        self.failed_in_row += 1;
        let since = *self.failing_since.get_or_insert(at);
        if self.blind_reported || self.failed_in_row < self.config.run.blind_after_failures {
            return;
        }
        self.blind_reported = true;
        let tenant = self.config.tenant.0.clone();
        let a = blindness_anomaly(
            &tenant,
            &self.name,
            &self.index,
            since,
            at,
            self.failed_in_row,
            error,
        );
        tracing::error!(source = %self.name, "{}", a.anomaly.explanation);
        self.metrics
            .anomalies
            .with_label_values(&[&self.name, a.anomaly.severity.as_str()])
            .inc();
        let touched: BTreeSet<String> = [a.incident.id.clone()].into();
        let list = vec![a];
        if let Ok(docs) = bulk::anomaly_docs(&list) {
            let index = docs::weekly_index(&self.config.indices.anomalies, since);
            let cfg = &backend.config().bulk;
            if let Err(e) = bulk::write_docs(backend.as_ref(), &index, docs, cfg).await {
                tracing::warn!(source = %self.name, "the blindness anomaly was not written: {e}");
            }
        }
        if let Some(n) = &self.notifier {
            let messages = self.tracker.window(&list, &touched, at, &n.context());
            let queued = n
                .outbox()
                .enqueue(messages)
                .and_then(|_| self.tracker.save(&n.tracker_path(&self.state_id)));
            if let Err(e) = queued {
                tracing::error!(source = %self.name, "the blindness notification was not queued: {e}");
            }
        }
    }

    /// Read the labelled anomaly documents (newest first, `feedback.poll_size` of them) into
    /// the feedback store, and save it when something changed. A failed read is logged and
    /// retried on the next window: feedback never stops detection.
    async fn poll_feedback(&mut self, backend: &dyn Backend) {
        let body = serde_json::json!({
            "size": self.config.feedback.poll_size,
            "query": {"bool": {"filter": [
                {"exists": {"field": "feedback.label"}},
                {"term": {"tenant": self.config.tenant.0}},
            ]}},
            "sort": [{"@timestamp": "desc"}],
            "_source": ["@timestamp", "anomaly.id", "anomaly.type", "service.name",
                        "pattern.id", "feedback"],
        });
        let base = &self.config.indices.anomalies;
        let hits = match docs::search_anomalies(backend, base, "read feedback", body).await {
            Ok(body) => body["hits"]["hits"].as_array().cloned().unwrap_or_default(),
            Err(e) => {
                tracing::warn!(source = %self.name, "cannot read feedback from {base}*: {e}");
                return;
            }
        };
        let mut changed = false;
        for hit in &hits {
            match self.feedback.record_doc(&hit["_source"]) {
                Ok(Some(new)) => changed |= new,
                Ok(None) => {}
                Err(bad) => {
                    self.metrics
                        .feedback_rejected
                        .with_label_values(&[&self.name])
                        .inc();
                    tracing::warn!(source = %self.name, anomaly = %bad.id, "a labelled anomaly in {base}* has no usable `{}`; its mark is ignored", bad.field);
                }
            }
        }
        let counts = self.feedback.counts();
        self.metrics
            .feedback_marks
            .with_label_values(&["false_positive"])
            .set(i64::from(counts.false_positive));
        self.metrics
            .feedback_marks
            .with_label_values(&["confirmed"])
            .set(i64::from(counts.confirmed));
        if changed {
            if let Err(e) = self.feedback.save(&self.feedback_path) {
                tracing::warn!(source = %self.name, "{e}");
            }
        }
    }

    async fn process_inner(
        &mut self,
        backend: &Arc<dyn Backend>,
        start: DateTime<Utc>,
        end: DateTime<Utc>,
    ) -> Result<WindowOutcome, WindowError> {
        let mut reader = self.reader(backend, start, end);
        // Taken for the window and put back at its end: a failed window leaves the runner
        // to be prepared again anyway.
        let Some(mut detector) = self.detector.take() else {
            return Err(WindowError::Backend(BackendError::Config(
                "source not prepared".to_string(),
            )));
        };
        let mut out = WindowOutcome::default();
        let mut found: Vec<Anomaly> = Vec::new();
        while let Some(page) = reader.next_page().await? {
            out.records += page.len() as u64;
            let more;
            (detector, more) = detect_page(&self.name, detector, page).await?;
            found.extend(more);
        }
        let report = reader.report().clone();
        drop(reader);
        if self.recount.len() < 10_000 {
            self.recount
                .push_back((Utc::now(), start, end, report.documents));
        }
        let boundary = end + Duration::milliseconds(1);
        let (detector, (closed, rates)) = off_worker(&self.name, "detection", detector, move |d| {
            (d.close_until(boundary), d.drain_rates(boundary))
        })
        .await?;
        found.extend(closed);
        let model_version = detector.model_version().to_string();
        let templates = detector.templates();
        let capped = (
            detector.miner().overflowed(),
            detector.stats().novel_untracked,
        );
        self.detector = Some(detector);
        self.count_read(&report);
        self.poll_feedback(backend.as_ref()).await;
        for a in &mut found {
            if self
                .feedback
                .apply(a, &self.config.feedback, &self.config.severity)
            {
                self.metrics
                    .suppressed
                    .with_label_values(&[&self.name])
                    .inc();
            }
        }
        // Mutes are read on every window: `logwarden mute` changes them while the sidecar runs.
        let mutes_path = Mutes::path(&self.config.run.state_dir);
        let mutes = Mutes::load(&mutes_path).unwrap_or_else(|e| {
            tracing::warn!(source = %self.name, "{e}; no mutes apply");
            Mutes::default()
        });
        let now = Utc::now();
        self.metrics.mutes_active.set(mutes.active(now) as i64);
        for a in &mut found {
            if mutes.apply(a, now) {
                self.metrics.muted.with_label_values(&[&self.name]).inc();
            }
        }

        // Incidents span windows: group the new anomalies with the recent ones.
        let keep =
            Duration::minutes(self.config.incidents.gap_minutes as i64 * 4).max(Duration::hours(6));
        self.recent.retain(|a| a.anomaly.window.end > end - keep);
        let new_ids: BTreeSet<String> = found.iter().map(|a| a.anomaly.id.clone()).collect();
        self.recent.retain(|a| !new_ids.contains(&a.anomaly.id));
        self.recent.extend(found);
        crate::incidents::group(&mut self.recent, &self.config.incidents);
        let new: Vec<Anomaly> = self
            .recent
            .iter()
            .filter(|a| new_ids.contains(&a.anomaly.id))
            .cloned()
            .collect();
        let touched: BTreeSet<String> = new.iter().map(|a| a.incident.id.clone()).collect();
        let tenant = self.config.tenant.0.clone();

        let indices = self.config.indices.clone();
        for a in &new {
            self.metrics
                .anomalies
                .with_label_values(&[&self.name, a.anomaly.severity.as_str()])
                .inc();
        }
        let anomaly_docs = bulk::anomaly_docs(&new)?;
        let incident_docs = docs::incident_docs(&self.recent, &touched, &tenant);
        let rate_docs = docs::rate_docs(&rates, &tenant, &model_version);
        out.incidents = incident_docs.len() as u64;
        out.rates = rate_docs.len() as u64;
        let mut batches: BTreeMap<(usize, String), Vec<BulkDoc>> = BTreeMap::new();
        let dated = new
            .iter()
            .map(|a| a.timestamp)
            .zip(anomaly_docs)
            .map(|d| (0, d))
            .chain(incident_docs.into_iter().map(|d| (1, d)))
            .chain(rate_docs.into_iter().map(|d| (2, d)));
        let bases = [&indices.anomalies, &indices.incidents, &indices.patterns];
        for (kind, (t, doc)) in dated {
            let index = docs::weekly_index(bases[kind], t);
            batches.entry((kind, index)).or_default().push(doc);
        }
        let cfg = &backend.config().bulk;
        for ((kind, index), docs) in batches {
            let report = bulk::write_docs(backend.as_ref(), &index, docs, cfg).await?;
            out.refused += self.count_write(bases[kind], &index, &report);
            if kind == 0 {
                out.anomalies += report.written;
            }
        }

        // Notifications go to the outbox (fsynced) before the checkpoint moves: a crash
        // after the checkpoint cannot lose them, one before it redoes the window, whose
        // messages the tracker and the outbox recognise.
        if let Some(n) = &self.notifier {
            // Muted anomalies are written, not routed.
            let routable: Vec<Anomaly> = self
                .recent
                .iter()
                .filter(|a| a.feedback.muted_by.is_none())
                .cloned()
                .collect();
            let messages = self.tracker.window(&routable, &touched, end, &n.context());
            out.notifications = n.outbox().enqueue(messages)? as u64;
            self.tracker.save(&n.tracker_path(&self.state_id))?;
        }

        // Keep the templates learned since the model was saved, so a restart does not
        // report them as new again.
        let now = Utc::now();
        if self
            .last_model_save
            .is_none_or(|t| now - t > Duration::minutes(10))
        {
            if let Some(d) = self.detector.take() {
                let path = self.model_path.clone();
                let (d, saved) = off_worker(&self.name, "saving the model", d, move |d| {
                    let model = d.model();
                    save_model(&path, model.model_version(), &model)
                })
                .await?;
                self.detector = Some(d);
                saved.map_err(|e| self.model_error(e))?;
                self.last_model_save = Some(now);
            }
        }

        let cp = self
            .checkpoint
            .as_mut()
            .ok_or_else(|| BackendError::Config("checkpoint missing after prepare".to_string()))?;
        cp.checkpoint = end;
        cp.model_version = model_version;
        cp.updated_at = now;
        cp.windows += 1;
        cp.records += out.records;
        cp.anomalies += out.anomalies;
        let cp = cp.clone();
        checkpoint::save(backend.as_ref(), &indices.state, &self.state_id, &cp).await?;
        self.metrics
            .records
            .with_label_values(&[&self.name])
            .inc_by(out.records);
        if out.records > 0 {
            self.metrics.set_source_problem(&self.name, None);
        }
        self.metrics.windows.with_label_values(&[&self.name]).inc();
        self.metrics
            .lag_seconds
            .with_label_values(&[&self.name])
            .set((now - end).num_seconds().max(0));
        self.metrics
            .templates
            .with_label_values(&[&self.name])
            .set(templates as i64);
        self.metrics
            .template_overflow
            .with_label_values(&[&self.name])
            .set(capped.0 as i64);
        self.metrics
            .novel_untracked
            .with_label_values(&[&self.name])
            .set(capped.1 as i64);
        // One line a window: what a person watching the log (or its collector) needs to see
        // that the sidecar keeps up.
        tracing::info!(
            source = %self.name,
            "window {} .. {}: {} records, {} anomalies, {} notifications queued, {} refused, lag {} s",
            start.format("%Y-%m-%dT%H:%M:%SZ"),
            end.format("%Y-%m-%dT%H:%M:%SZ"),
            out.records,
            out.anomalies,
            out.notifications,
            out.refused,
            (now - end).num_seconds().max(0)
        );
        Ok(out)
    }

    /// Count and log documents refused for good; returns how many.
    fn count_write(&self, base: &str, index: &str, report: &BulkReport) -> u64 {
        for f in report.failed.iter().take(
            self.config
                .cluster
                .as_ref()
                .map_or(20, |c| c.read.report_first),
        ) {
            tracing::error!(source = %self.name, index, id = %f.id, status = f.status, "document refused: {}", f.reason);
        }
        let n = report.failed.len() as u64;
        self.metrics
            .write_failures
            .with_label_values(&[base])
            .inc_by(n);
        n
    }
}

/// The anomaly that says logwarden cannot read source `name` (index `index`) since `since`.
fn blindness_anomaly(
    tenant: &str,
    name: &str,
    index: &str,
    since: DateTime<Utc>,
    at: DateTime<Utc>,
    attempts: u32,
    error: &str,
) -> Anomaly {
    use crate::model::{
        content_id, ecs_severity, AnomalyBody, AnomalyType, EventRef, FeedbackRef, IncidentRef,
        ModelRef, PatternRef, ServiceRef, Severity, Window,
    };
    let id = content_id(&[
        tenant,
        "volume_drop",
        "*",
        &format!("sidecar:{name}"),
        &since.to_rfc3339(),
    ]);
    let end = at.max(since);
    Anomaly {
        timestamp: since,
        anomaly: AnomalyBody {
            id: id.clone(),
            kind: AnomalyType::VolumeDrop,
            severity: Severity::Critical,
            score: 100.0,
            window: Window { start: since, end },
            observed: 0.0,
            expected: f64::from(attempts),
            unit: "failed_reads".to_string(),
            confidence: 1.0,
            probability: 0.0,
            explanation: format!(
                "logwarden cannot read source {name} (index {index}) since {}: {attempts} attempts in a row failed, the last with: {error}",
                since.format("%Y-%m-%d %H:%M UTC")
            ),
        },
        service: ServiceRef { name: "*".to_string() },
        pattern: PatternRef {
            id: "sidecar".to_string(),
            template: "*".to_string(),
            cluster_id: None,
            examples: Vec::new(),
        },
        incident: IncidentRef { id },
        model: ModelRef { version: String::new() },
        feedback: FeedbackRef::default(),
        tenant: tenant.to_string(),
        event: EventRef {
            kind: "alert".to_string(),
            start: since,
            end,
            severity: ecs_severity(Severity::Critical),
            risk_score: 100.0,
        },
        parameter: None,
        forecast: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn work_off_the_workers_returns_its_state_and_a_panic_becomes_an_error() {
        let (v, n) = off_worker("app", "detection", vec![1, 2], |v| {
            v.push(3);
            v.len()
        })
        .await
        .unwrap();
        assert_eq!((v, n), (vec![1, 2, 3], 3));
        let err = blocking("app", "detection", || -> u32 {
            panic!("bucket {} out of range", 7)
        })
        .await
        .unwrap_err();
        assert_eq!(
            err.to_string(),
            "detection of source app stopped: bucket 7 out of range"
        );
    }
}
