//! Window reads: every log document with a timestamp in `(start, end]`, page by page, each
//! exactly once.
//!
//! A point in time freezes the view so documents indexed meanwhile cannot shift the pages;
//! pages follow each other with `search_after` on (timestamp, tiebreaker) where the tiebreaker
//! makes every sort key unique (see [`Backend::tiebreaker`]). `_source` is limited to the
//! mapped fields, pages are bounded by `read.page_size`. A document that cannot become a
//! [`LogRecord`] (no message, a message that is an object, …) is counted in the
//! [`ReadReport`] with its index and id and skipped; an overlong message is cut and counted.

use super::{Backend, BackendError};
use crate::model::{LogRecord, UNKNOWN_SERVICE};
use crate::source::file::{lookup, parse_timestamp};
use crate::source::{FieldsConfig, Problem};
use chrono::{DateTime, TimeZone, Utc};
use serde::Serialize;
use serde_json::{json, Value};
use std::collections::BTreeMap;

/// What to read.
#[derive(Debug, Clone)]
pub struct WindowRequest {
    /// Index name, pattern or comma list, e.g. `logs-*`.
    pub index: String,
    /// Exclusive start (millisecond precision).
    pub start: DateTime<Utc>,
    /// Inclusive end (millisecond precision).
    pub end: DateTime<Utc>,
    /// An optional query (Query DSL) the documents must also match.
    pub filter: Option<Value>,
    /// Field names.
    pub fields: FieldsConfig,
}

impl WindowRequest {
    /// The query selecting the window's documents: `(start, end]` on the timestamp field,
    /// and the source's own filter.
    pub fn query(&self) -> Value {
        let mut filters = vec![json!({"range": {self.fields.timestamp.clone(): {
            "gt": self.start.timestamp_millis(),
            "lte": self.end.timestamp_millis(),
            "format": "epoch_millis"
        }}})];
        if let Some(q) = &self.filter {
            filters.push(q.clone());
        }
        json!({"bool": {"filter": filters}})
    }
}

/// A record with the document it came from.
#[derive(Debug, Clone, PartialEq)]
pub struct SourcedRecord {
    /// The concrete index.
    pub index: String,
    /// The document `_id`.
    pub id: String,
    /// The record.
    pub record: LogRecord,
}

/// A document that was skipped or repaired.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BadDocument {
    /// The concrete index.
    pub index: String,
    /// The document `_id`.
    pub id: String,
    /// What was wrong.
    pub problem: Problem,
    /// Details (the field name).
    pub detail: String,
}

/// Counts of a window read.
#[derive(Debug, Clone, Default, Serialize)]
pub struct ReadReport {
    /// Documents read.
    pub documents: u64,
    /// Records produced.
    pub records: u64,
    /// Documents skipped.
    pub rejected: u64,
    /// Problems by kind.
    pub problems: BTreeMap<Problem, u64>,
    /// The first `read.report_first` problems with their document ids.
    pub first: Vec<BadDocument>,
    /// Search requests sent (retries included).
    pub requests: u64,
}

impl ReadReport {
    fn note(&mut self, bad: BadDocument, keep: usize) {
        *self.problems.entry(bad.problem).or_default() += 1;
        if bad.problem.is_rejected() {
            self.rejected += 1;
        }
        if self.first.len() < keep {
            tracing::warn!(index = %bad.index, id = %bad.id, problem = %bad.problem, detail = %bad.detail, "bad log document");
            self.first.push(bad);
        }
    }
}

/// One page of records.
#[derive(Debug, Clone, Default)]
pub struct WindowPage {
    /// The records, in (timestamp, tiebreaker) order.
    pub records: Vec<SourcedRecord>,
    /// Documents in this page, bad ones included.
    pub documents: usize,
}

/// Reads one window; see the module doc. Close it with [`WindowReader::close`] (a reader
/// dropped unclosed leaves its point in time to expire on its own).
pub struct WindowReader<'a, B: Backend + ?Sized> {
    backend: &'a B,
    req: WindowRequest,
    pit: Option<String>,
    search_after: Option<Value>,
    done: bool,
    report: ReadReport,
}

impl<'a, B: Backend + ?Sized> WindowReader<'a, B> {
    /// Open a point in time over the request's index.
    pub async fn open(backend: &'a B, req: WindowRequest) -> Result<Self, BackendError> {
        let keep_alive = format!("{}s", backend.config().read.keep_alive_secs);
        let pit = match backend.open_pit(&req.index, &keep_alive).await {
            Ok(pit) => Some(pit),
            // OpenSearch refuses a point in time over a pattern that matches no index yet
            // (Elasticsearch opens an empty one): that window is empty, not an error.
            Err(
                e @ BackendError::Status {
                    status: 400 | 404, ..
                },
            ) => match backend.count(&req.index).await {
                Ok(0) => None,
                _ => return Err(e),
            },
            Err(e) => return Err(e),
        };
        Ok(WindowReader {
            backend,
            req,
            done: pit.is_none(),
            pit,
            search_after: None,
            report: ReadReport::default(),
        })
    }

    /// The counts so far.
    pub fn report(&self) -> &ReadReport {
        &self.report
    }

    /// The search body of the next page.
    fn body(&self) -> Value {
        let cfg = &self.backend.config().read;
        let f = &self.req.fields;
        let mut sort = vec![json!({f.timestamp.clone(): {
            "order": "asc", "unmapped_type": "date", "numeric_type": "date"
        }})];
        sort.extend(self.backend.tiebreaker());
        let mut body = json!({
            "size": cfg.page_size,
            "query": self.req.query(),
            "sort": sort,
            "_source": [&f.timestamp, &f.message, &f.service, &f.level, &f.host],
            "track_total_hits": false,
            "pit": {
                "id": self.pit.clone().unwrap_or_default(),
                "keep_alive": format!("{}s", cfg.keep_alive_secs)
            }
        });
        if let Some(after) = &self.search_after {
            body["search_after"] = after.clone();
        }
        body
    }

    /// The next page, or `None` when the window is exhausted.
    pub async fn next_page(&mut self) -> Result<Option<WindowPage>, BackendError> {
        if self.done {
            return Ok(None);
        }
        let cfg = self.backend.config();
        let mut attempt = 0;
        let body = loop {
            self.report.requests += 1;
            let r = self.backend.search_pit(self.body()).await;
            let err = match r {
                Ok(r) if r.is_success() => break r.body,
                Ok(r) => BackendError::Status {
                    op: "search",
                    status: r.status,
                    reason: super::error_reason(&r.body),
                },
                Err(e) => e,
            };
            attempt += 1;
            if !err.is_transient() || attempt > cfg.read.max_retries {
                return Err(err);
            }
            let delay = cfg.bulk.backoff().delay(attempt);
            tokio::time::sleep(delay).await;
        };
        if let Some(id) = body.get("pit_id").and_then(Value::as_str) {
            self.pit = Some(id.to_string());
        }
        let hits = body
            .pointer("/hits/hits")
            .and_then(Value::as_array)
            .ok_or_else(|| BackendError::Response {
                op: "search",
                detail: "no hits.hits in the answer".to_string(),
            })?;
        if let Some(shards) = body.get("_shards") {
            let failed = shards.get("failed").and_then(Value::as_u64).unwrap_or(0);
            if failed > 0 {
                // A page missing a shard's documents would lose them: the window is redone.
                return Err(BackendError::Response {
                    op: "search",
                    detail: format!("{failed} shards failed"),
                });
            }
        }
        let mut page = WindowPage {
            records: Vec::with_capacity(hits.len()),
            documents: hits.len(),
        };
        for hit in hits {
            self.report.documents += 1;
            let index = hit
                .get("_index")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_string();
            let id = hit
                .get("_id")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_string();
            let (converted, repairs) =
                hit_to_record(hit, &self.req.fields, cfg.read.max_message_bytes);
            let keep = cfg.read.report_first;
            for (problem, detail) in repairs {
                self.report.note(
                    BadDocument {
                        index: index.clone(),
                        id: id.clone(),
                        problem,
                        detail,
                    },
                    keep,
                );
            }
            match converted {
                Ok(record) => {
                    self.report.records += 1;
                    page.records.push(SourcedRecord { index, id, record });
                }
                Err((problem, detail)) => self.report.note(
                    BadDocument {
                        index,
                        id,
                        problem,
                        detail,
                    },
                    keep,
                ),
            }
        }
        match hits.last().and_then(|h| h.get("sort")) {
            Some(sort) if hits.len() >= cfg.read.page_size => {
                self.search_after = Some(sort.clone());
            }
            _ => self.done = true,
        }
        Ok(Some(page))
    }

    /// Read every remaining page into one vector (for small windows and tests).
    pub async fn collect(&mut self) -> Result<Vec<SourcedRecord>, BackendError> {
        let mut all = Vec::new();
        while let Some(p) = self.next_page().await? {
            all.extend(p.records);
        }
        Ok(all)
    }

    /// Close the point in time and return the counts.
    pub async fn close(mut self) -> Result<ReadReport, BackendError> {
        if let Some(pit) = self.pit.take() {
            self.backend.close_pit(&pit).await?;
        }
        Ok(self.report)
    }
}

/// A problem with a document and its detail.
pub type DocProblem = (Problem, String);

/// A hit's conversion: the record or why there is none, and the repairs made on the way.
pub type Conversion = (Result<LogRecord, DocProblem>, Vec<DocProblem>);

/// Turn one search hit into a record, with the repairs made; or say why it cannot be one.
pub fn hit_to_record(hit: &Value, fields: &FieldsConfig, max_message_bytes: usize) -> Conversion {
    let mut repairs = Vec::new();
    let empty = json!({});
    let src = hit.get("_source").unwrap_or(&empty);
    // The sort value is the timestamp as the cluster indexed it (epoch millis); the source
    // form is preferred for its precision when it reads.
    let timestamp = lookup(src, &fields.timestamp)
        .and_then(parse_timestamp)
        .or_else(|| {
            hit.pointer("/sort/0")
                .and_then(Value::as_i64)
                .and_then(|ms| Utc.timestamp_millis_opt(ms).single())
        });
    let Some(timestamp) = timestamp else {
        let p = match lookup(src, &fields.timestamp) {
            None | Some(Value::Null) => Problem::MissingTimestamp,
            _ => Problem::BadTimestamp,
        };
        return (Err((p, format!("field `{}`", fields.timestamp))), repairs);
    };
    let mut message = match lookup(src, &fields.message) {
        None | Some(Value::Null) => {
            return (
                Err((
                    Problem::MissingMessage,
                    format!("no field `{}`", fields.message),
                )),
                repairs,
            )
        }
        Some(Value::String(s)) => s.clone(),
        Some(v @ (Value::Number(_) | Value::Bool(_))) => v.to_string(),
        Some(_) => {
            return (
                Err((
                    Problem::WrongType,
                    format!("field `{}` is not a string", fields.message),
                )),
                repairs,
            )
        }
    };
    if message.len() > max_message_bytes {
        let mut cut = max_message_bytes;
        while !message.is_char_boundary(cut) {
            cut -= 1;
        }
        repairs.push((
            Problem::MessageTruncated,
            format!(
                "field `{}` of {} bytes cut to {cut}",
                fields.message,
                message.len()
            ),
        ));
        message.truncate(cut);
    }
    let scalar = |path: &str| match lookup(src, path) {
        Some(Value::String(s)) if !s.is_empty() => Some(s.clone()),
        Some(Value::Number(n)) => Some(n.to_string()),
        Some(Value::Bool(b)) => Some(b.to_string()),
        _ => None,
    };
    let record = LogRecord {
        timestamp,
        message,
        service: scalar(&fields.service).unwrap_or_else(|| UNKNOWN_SERVICE.to_string()),
        level: scalar(&fields.level).map(|l| l.to_ascii_lowercase()),
        host: scalar(&fields.host),
    };
    (Ok(record), repairs)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn conv(hit: Value) -> Conversion {
        hit_to_record(&hit, &FieldsConfig::default(), 32)
    }

    #[test]
    fn nested_and_dotted_fields_become_a_record() {
        let (r, repairs) = conv(json!({"_id": "1", "_source": {
            "@timestamp": "2026-11-30T10:00:00.123Z", "message": "GET /a 200",
            "service": {"name": "api"}, "log.level": "WARN", "host": {"name": "h1"}},
            "sort": [1]}));
        let r = r.unwrap();
        assert!(repairs.is_empty());
        assert_eq!(r.timestamp.timestamp_millis(), 1_796_032_800_123);
        assert_eq!(
            (r.service.as_str(), r.level.as_deref(), r.host.as_deref()),
            ("api", Some("warn"), Some("h1"))
        );
    }

    #[test]
    fn bad_documents_say_what_is_wrong() {
        let (r, _) = conv(json!({"_source": {"@timestamp": "2026-11-30T10:00:00Z"}, "sort": [1]}));
        assert_eq!(r.unwrap_err().0, Problem::MissingMessage);
        let (r, _) = conv(
            json!({"_source": {"@timestamp": "2026-11-30T10:00:00Z", "message": {"text": "x"}}, "sort": [1]}),
        );
        assert_eq!(r.unwrap_err().0, Problem::WrongType);
        let (r, _) = conv(json!({"_source": {"message": "x"}}));
        assert_eq!(r.unwrap_err().0, Problem::MissingTimestamp);
    }

    #[test]
    fn the_sort_value_stands_in_for_an_unreadable_source_timestamp() {
        let (r, _) = conv(
            json!({"_source": {"@timestamp": "30/11/2026", "message": "m"}, "sort": [1_796_032_800_000i64, 5]}),
        );
        assert_eq!(r.unwrap().timestamp.timestamp_millis(), 1_796_032_800_000);
    }

    #[test]
    fn long_messages_are_cut_at_a_char_boundary_and_counted() {
        let msg = "é".repeat(40);
        let (r, repairs) =
            conv(json!({"_source": {"@timestamp": 1_796_032_800_000i64, "message": msg}}));
        let r = r.unwrap();
        assert!(r.message.len() <= 32 && r.message.len() >= 30);
        assert_eq!(repairs.len(), 1);
        assert_eq!(repairs[0].0, Problem::MessageTruncated);
        assert_eq!(r.service, UNKNOWN_SERVICE);
    }
}
