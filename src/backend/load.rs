//! Loading log documents into a cluster: the library behind `logwarden load` and
//! `logwarden feed`.
//!
//! Owns: checking each NDJSON line before it is sent (a JSON object with a readable
//! timestamp; anything else is counted with its line number and skipped, never fatal),
//! deriving each document's `_id` from its line number and content (so loading the same file
//! twice leaves the same documents), creating a missing index with a mapping for the
//! configured log fields, and writing batches through [`bulk::write_docs`] (chunking, per-item
//! retries) with a few batches in flight at once. Every document ends up written, skipped as
//! a bad line, or in [`LoadReport::failed`] with its line number and id.
//!
//! Sits beside the flow: it fills the index that `source` later reads.

use super::bulk::{self, BulkDoc, BulkReport};
use super::{Backend, BackendError};
use crate::source::{BadLine, FieldsConfig, InputConfig, Problem};
use serde::Serialize;
use serde_json::{json, Value};
use std::collections::{BTreeMap, HashMap};
use std::io::BufRead;
use std::sync::Arc;
use std::time::Instant;
use tokio::task::JoinSet;

/// How to load.
#[derive(Debug, Clone)]
pub struct LoadOptions {
    /// Documents handed to one [`bulk::write_docs`] call (it cuts them further by
    /// `cluster.bulk.max_docs` and `max_bytes`).
    pub batch_docs: usize,
    /// Batches in flight at once.
    pub concurrency: usize,
    /// Create the index with a log mapping when it does not exist.
    pub create_index: bool,
    /// Refresh the index at the end so the documents are searchable at once.
    pub refresh: bool,
    /// How many bad lines and failed documents to keep with their line numbers.
    pub report_first: usize,
}

impl Default for LoadOptions {
    fn default() -> Self {
        LoadOptions {
            batch_docs: 5_000,
            concurrency: 2,
            create_index: true,
            refresh: false,
            report_first: 20,
        }
    }
}

/// A document the cluster did not accept.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FailedDoc {
    /// The 1-based line number (for `feed`: the document's ordinal).
    pub line: u64,
    /// Its `_id`.
    pub id: String,
    /// The last status (0 when the cluster never answered).
    pub status: u16,
    /// The last reason.
    pub reason: String,
}

/// What a load did.
#[derive(Debug, Clone, Default, Serialize)]
pub struct LoadReport {
    /// Lines read, bad ones included (blank lines are not counted).
    pub lines: u64,
    /// Documents acknowledged by the cluster.
    pub written: u64,
    /// Of those, documents that were new (the rest replaced one with the same id).
    pub created: u64,
    /// Lines skipped because they are not a log document.
    pub rejected: u64,
    /// Skipped lines by problem.
    pub problems: BTreeMap<Problem, u64>,
    /// The first skipped lines, with line numbers.
    pub bad_lines: Vec<BadLine>,
    /// Documents the cluster refused, in total.
    pub failed_count: u64,
    /// The first refused documents, with line numbers and ids.
    pub failed: Vec<FailedDoc>,
    /// Bulk requests sent, retries included.
    pub requests: u64,
    /// Retries of requests or items.
    pub retries: u64,
    /// Wall-clock seconds from the first line to the last acknowledgement.
    pub elapsed_secs: f64,
}

impl LoadReport {
    /// Documents written per second of wall-clock time.
    pub fn docs_per_sec(&self) -> f64 {
        if self.elapsed_secs > 0.0 {
            self.written as f64 / self.elapsed_secs
        } else {
            0.0
        }
    }

    /// Whether every line became a written document.
    pub fn is_clean(&self) -> bool {
        self.rejected == 0 && self.failed_count == 0
    }

    /// A short multi-line human summary.
    pub fn summary(&self, index: &str) -> String {
        let mut s = format!(
            "{} lines: {} documents written to {index} ({} new) in {:.1}s = {:.0} docs/s, {} bad lines skipped, {} documents failed ({} bulk requests, {} retries)",
            self.lines,
            self.written,
            self.created,
            self.elapsed_secs,
            self.docs_per_sec(),
            self.rejected,
            self.failed_count,
            self.requests,
            self.retries
        );
        for (p, n) in &self.problems {
            s.push_str(&format!("\n  {p}: {n}"));
        }
        for b in &self.bad_lines {
            s.push_str(&format!("\n  {b}"));
        }
        for f in &self.failed {
            s.push_str(&format!(
                "\n  line {}: id {}: failed with status {}: {}",
                f.line, f.id, f.status, f.reason
            ));
        }
        if self.failed_count > self.failed.len() as u64 {
            s.push_str(&format!(
                "\n  … and {} more failed documents",
                self.failed_count - self.failed.len() as u64
            ));
        }
        s
    }

    fn note_bad(&mut self, bad: BadLine, keep: usize) {
        *self.problems.entry(bad.problem).or_default() += 1;
        self.rejected += 1;
        if self.bad_lines.len() < keep {
            tracing::debug!(line = bad.line, problem = %bad.problem, detail = %bad.detail, "bad input line skipped");
            self.bad_lines.push(bad);
        }
    }

    fn absorb(&mut self, r: BulkReport, lines: &HashMap<String, u64>, keep: usize) {
        self.written += r.written;
        self.created += r.created;
        self.requests += r.requests;
        self.retries += r.retries;
        self.failed_count += r.failed.len() as u64;
        for f in r.failed {
            if self.failed.len() < keep {
                let line = lines.get(&f.id).copied().unwrap_or(0);
                tracing::debug!(line, id = %f.id, status = f.status, reason = %f.reason, "document not written");
                self.failed.push(FailedDoc {
                    line,
                    id: f.id,
                    status: f.status,
                    reason: f.reason,
                });
            }
        }
    }
}

/// Errors that stop a load.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// The input could not be read.
    #[error("reading line {line}: {source}")]
    Io {
        /// The last line read before the failure.
        line: u64,
        /// The cause.
        source: std::io::Error,
    },
    /// The cluster stayed unreachable or answered something unusable.
    #[error("after {written} documents written: {source}")]
    Backend {
        /// Documents confirmed written before the failure.
        written: u64,
        /// The cause.
        source: BackendError,
    },
}

/// The `_id` of the document on line `line` with text `text`: 32 hex digits of a hash of
/// both, so a reload of the same file replaces rather than duplicates, and two equal lines
/// stay two documents.
pub fn doc_id(line: u64, text: &str) -> String {
    let mut h = xxhash_rust::xxh3::Xxh3::new();
    h.update(&line.to_le_bytes());
    h.update(text.as_bytes());
    format!("{:032x}", h.digest128())
}

/// Check one NDJSON line: a JSON object with a readable timestamp in `fields.timestamp`.
pub fn check_line(text: &str, fields: &FieldsConfig) -> Result<(), (Problem, String)> {
    crate::source::file::timestamped_document(text, fields).map(drop)
}

/// The index body `load` creates a missing index with: the timestamp as a date, the message
/// as text, service, level and host as keywords (under the configured names).
pub fn log_index_body(fields: &FieldsConfig) -> Value {
    let mut props = serde_json::Map::new();
    props.insert(fields.timestamp.clone(), json!({"type": "date"}));
    props.insert(fields.message.clone(), json!({"type": "text"}));
    for f in [&fields.service, &fields.level, &fields.host] {
        props.insert(f.clone(), json!({"type": "keyword", "ignore_above": 1024}));
    }
    json!({"mappings": {"properties": props}})
}

/// Create `index` with [`log_index_body`] unless it exists; returns whether it was created.
pub async fn ensure_log_index(
    backend: &dyn Backend,
    index: &str,
    fields: &FieldsConfig,
) -> Result<bool, BackendError> {
    match backend.create_index(index, log_index_body(fields)).await {
        Ok(()) => Ok(true),
        Err(BackendError::Status {
            status: 400,
            reason,
            ..
        }) if reason.contains("already_exists") => Ok(false),
        Err(e) => Err(e),
    }
}

type BatchResult = Result<(BulkReport, HashMap<String, u64>), BackendError>;

/// Writes documents in batches, a few in flight at once, and adds up what happened.
pub struct Loader {
    backend: Arc<dyn Backend>,
    index: String,
    opts: LoadOptions,
    batch: Vec<BulkDoc>,
    batch_lines: HashMap<String, u64>,
    tasks: JoinSet<BatchResult>,
    report: LoadReport,
    started: Instant,
}

impl Loader {
    /// A loader into `index`.
    pub fn new(backend: Arc<dyn Backend>, index: &str, opts: LoadOptions) -> Loader {
        Loader {
            backend,
            index: index.to_string(),
            opts,
            batch: Vec::new(),
            batch_lines: HashMap::new(),
            tasks: JoinSet::new(),
            report: LoadReport::default(),
            started: Instant::now(),
        }
    }

    /// The report so far (documents still in flight are not in it).
    pub fn report(&self) -> &LoadReport {
        &self.report
    }

    /// Count a line that was read.
    pub fn note_line(&mut self) {
        self.report.lines += 1;
    }

    /// Count a skipped line.
    pub fn note_bad(&mut self, bad: BadLine) {
        self.report.note_bad(bad, self.opts.report_first);
    }

    /// Queue a document (from input line `line`); sends a batch when one is full.
    pub async fn push(&mut self, line: u64, doc: BulkDoc) -> Result<(), LoadError> {
        self.batch_lines.insert(doc.id.clone(), line);
        self.batch.push(doc);
        if self.batch.len() >= self.opts.batch_docs.max(1) {
            self.send().await?;
        }
        Ok(())
    }

    /// Send the queued documents and wait until everything sent is acknowledged.
    pub async fn flush(&mut self) -> Result<(), LoadError> {
        if !self.batch.is_empty() {
            self.send().await?;
        }
        while let Some(done) = self.tasks.join_next().await {
            self.settle(done)?;
        }
        Ok(())
    }

    /// Flush, refresh when asked, and return the report.
    pub async fn finish(mut self) -> Result<LoadReport, LoadError> {
        self.flush().await?;
        if self.opts.refresh {
            self.backend
                .refresh(&self.index)
                .await
                .map_err(|source| LoadError::Backend {
                    written: self.report.written,
                    source,
                })?;
        }
        self.report.elapsed_secs = self.started.elapsed().as_secs_f64();
        Ok(self.report)
    }

    async fn send(&mut self) -> Result<(), LoadError> {
        while self.tasks.len() >= self.opts.concurrency.max(1) {
            if let Some(done) = self.tasks.join_next().await {
                self.settle(done)?;
            }
        }
        let docs = std::mem::take(&mut self.batch);
        let lines = std::mem::take(&mut self.batch_lines);
        let backend = Arc::clone(&self.backend);
        let index = self.index.clone();
        self.tasks.spawn(async move {
            let cfg = backend.config().bulk.clone();
            let r = bulk::write_docs(backend.as_ref(), &index, docs, &cfg).await?;
            Ok((r, lines))
        });
        Ok(())
    }

    fn settle(
        &mut self,
        done: Result<BatchResult, tokio::task::JoinError>,
    ) -> Result<(), LoadError> {
        let written = self.report.written;
        match done {
            Ok(Ok((r, lines))) => {
                self.report.absorb(r, &lines, self.opts.report_first);
                Ok(())
            }
            Ok(Err(source)) => Err(LoadError::Backend { written, source }),
            Err(e) => Err(LoadError::Backend {
                written,
                source: BackendError::Response {
                    op: "bulk",
                    detail: format!("bulk task failed: {e}"),
                },
            }),
        }
    }
}

/// Load NDJSON from `input` into `index`: every line that is a JSON object with a readable
/// timestamp becomes one document (`_id` from [`doc_id`]), sent as it is; other lines are
/// counted with their line numbers. Lines longer than `limits.max_line_bytes` are skipped.
pub async fn load_ndjson<R: BufRead>(
    backend: Arc<dyn Backend>,
    index: &str,
    mut input: R,
    fields: &FieldsConfig,
    limits: &InputConfig,
    opts: LoadOptions,
) -> Result<LoadReport, LoadError> {
    if opts.create_index {
        ensure_log_index(backend.as_ref(), index, fields)
            .await
            .map_err(|source| LoadError::Backend { written: 0, source })?;
    }
    let mut loader = Loader::new(backend, index, opts);
    let mut buf = Vec::with_capacity(1024);
    let mut line = 0u64;
    loop {
        buf.clear();
        let n = input
            .read_until(b'\n', &mut buf)
            .map_err(|source| LoadError::Io { line, source })?;
        if n == 0 {
            break;
        }
        line += 1;
        let text = String::from_utf8_lossy(&buf);
        let text = text.trim_end_matches(['\n', '\r']);
        if text.trim().is_empty() {
            continue;
        }
        loader.note_line();
        if buf.len() > limits.max_line_bytes {
            loader.note_bad(BadLine {
                line,
                problem: Problem::LineTooLong,
                detail: format!("longer than {} bytes", limits.max_line_bytes),
            });
            continue;
        }
        if let Err((problem, detail)) = check_line(text, fields) {
            loader.note_bad(BadLine {
                line,
                problem,
                detail,
            });
            continue;
        }
        let doc = BulkDoc {
            id: doc_id(line, text),
            source: text.to_string(),
        };
        loader.push(line, doc).await?;
    }
    loader.finish().await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_depend_on_line_and_text() {
        let a = doc_id(1, r#"{"message":"x"}"#);
        assert_eq!(a.len(), 32);
        assert_eq!(a, doc_id(1, r#"{"message":"x"}"#));
        assert_ne!(a, doc_id(2, r#"{"message":"x"}"#));
        assert_ne!(a, doc_id(1, r#"{"message":"y"}"#));
    }

    #[test]
    fn lines_are_checked_for_an_object_with_a_timestamp() {
        let f = FieldsConfig::default();
        assert!(check_line(
            r#"{"@timestamp":"2026-11-02T10:00:00Z","message":"ok"}"#,
            &f
        )
        .is_ok());
        assert!(check_line(r#"{"@timestamp":1793613600000}"#, &f).is_ok());
        assert_eq!(
            check_line(r#"{"message":"no time""#, &f).unwrap_err().0,
            Problem::NotJson
        );
        assert_eq!(check_line("[1,2]", &f).unwrap_err().0, Problem::NotJson);
        let (p, d) = check_line(r#"{"message":"no time"}"#, &f).unwrap_err();
        assert_eq!(
            (p, d.as_str()),
            (Problem::MissingTimestamp, "no field `@timestamp`")
        );
        assert_eq!(
            check_line(r#"{"@timestamp":"yesterday","message":"x"}"#, &f)
                .unwrap_err()
                .0,
            Problem::BadTimestamp
        );
    }

    #[test]
    fn the_index_body_maps_the_configured_fields() {
        let f = FieldsConfig {
            timestamp: "ts".to_string(),
            ..FieldsConfig::default()
        };
        let b = log_index_body(&f);
        assert_eq!(b["mappings"]["properties"]["ts"]["type"], "date");
        assert_eq!(b["mappings"]["properties"]["message"]["type"], "text");
        assert_eq!(
            b["mappings"]["properties"]["service.name"]["type"],
            "keyword"
        );
    }

    #[test]
    fn the_summary_names_bad_lines_and_failed_ids() {
        let mut r = LoadReport {
            lines: 5,
            written: 3,
            created: 3,
            elapsed_secs: 1.5,
            ..LoadReport::default()
        };
        r.note_bad(
            BadLine {
                line: 4,
                problem: Problem::NotJson,
                detail: "expected value".to_string(),
            },
            10,
        );
        let mut lines = HashMap::new();
        lines.insert("abc".to_string(), 5u64);
        r.absorb(
            BulkReport {
                failed: vec![bulk::BulkItemFailure {
                    id: "abc".to_string(),
                    status: 400,
                    reason: "mapper_parsing_exception: x".to_string(),
                }],
                ..BulkReport::default()
            },
            &lines,
            10,
        );
        let s = r.summary("feed-x");
        assert!(s.contains("3 documents written to feed-x"), "{s}");
        assert!(s.contains("= 2 docs/s"), "{s}");
        assert!(s.contains("line 4: not_json: expected value"), "{s}");
        assert!(s.contains("line 5: id abc: failed with status 400"), "{s}");
        assert!(!r.is_clean());
    }
}
