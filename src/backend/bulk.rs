//! Bulk writes: documents with explicit ids, cut into requests bounded by count and bytes,
//! each answer classified item by item. A whole request answered 429/5xx (or not answered)
//! is sent again; items answered 429/5xx are sent again on their own; other item failures
//! (a mapping conflict, say) are final. Retries wait an exponentially growing delay with
//! jitter. Every document ends up either acknowledged or in [`BulkReport::failed`] with its
//! id and reason.

use super::config::BulkConfig;
use super::{is_retryable_status, strip_urls, Backend, BackendError};
use crate::model::Anomaly;
use serde::Serialize;
use serde_json::Value;

/// One document to write: its `_id` and its serialized source.
#[derive(Debug, Clone, PartialEq)]
pub struct BulkDoc {
    /// The `_id`.
    pub id: String,
    /// The JSON source, one line.
    pub source: String,
}

impl BulkDoc {
    fn bytes(&self, action: &str) -> usize {
        action.len() + self.source.len() + 2
    }
}

/// The bulk documents of anomalies: `_id` is `anomaly.id`.
pub fn anomaly_docs(anomalies: &[Anomaly]) -> Result<Vec<BulkDoc>, BackendError> {
    anomalies
        .iter()
        .map(|a| {
            let source = serde_json::to_string(a).map_err(|e| BackendError::Response {
                op: "bulk",
                detail: format!("anomaly {} does not serialize: {e}", a.anomaly.id),
            })?;
            Ok(BulkDoc {
                id: a.anomaly.id.clone(),
                source,
            })
        })
        .collect()
}

/// An item that could not be written.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BulkItemFailure {
    /// Its `_id`.
    pub id: String,
    /// The last status (0 when the cluster never answered).
    pub status: u16,
    /// The last reason, URLs stripped.
    pub reason: String,
}

/// The outcome of writing a set of documents.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct BulkReport {
    /// Documents the cluster acknowledged.
    pub written: u64,
    /// Of those, documents that were new (the rest replaced a document with the same id).
    pub created: u64,
    /// Bulk requests sent, retries included.
    pub requests: u64,
    /// Retries (of a whole request or of items).
    pub retries: u64,
    /// Documents that could not be written, with the reason.
    pub failed: Vec<BulkItemFailure>,
}

impl BulkReport {
    /// Whether every document was acknowledged.
    pub fn is_complete(&self) -> bool {
        self.failed.is_empty()
    }
}

/// What happened to one item of a bulk answer.
#[derive(Debug, Clone, PartialEq)]
pub enum ItemOutcome {
    /// Written; `true` when it was new.
    Ok {
        /// Whether it was created rather than replaced.
        created: bool,
    },
    /// Try again (429/5xx).
    Retry {
        /// The item's status.
        status: u16,
        /// Its reason.
        reason: String,
    },
    /// Final failure.
    Fail {
        /// The item's status.
        status: u16,
        /// Its reason.
        reason: String,
    },
}

/// Classify each of the `n` items of a bulk answer body. An answer with a different number
/// of items is an error (nothing in it can be trusted).
pub fn classify_items(body: &Value, n: usize) -> Result<Vec<ItemOutcome>, String> {
    let items = body
        .get("items")
        .and_then(Value::as_array)
        .ok_or_else(|| "no `items` in the bulk answer".to_string())?;
    if items.len() != n {
        return Err(format!("{} items answered for {n} sent", items.len()));
    }
    Ok(items
        .iter()
        .map(|item| {
            let r = item
                .as_object()
                .and_then(|o| o.values().next())
                .cloned()
                .unwrap_or(Value::Null);
            let status = r.get("status").and_then(Value::as_u64).unwrap_or(0) as u16;
            if (200..300).contains(&status) && r.get("error").is_none() {
                ItemOutcome::Ok {
                    created: r.get("result").and_then(Value::as_str) == Some("created"),
                }
            } else {
                let reason = super::error_reason(&r);
                if is_retryable_status(status) {
                    ItemOutcome::Retry { status, reason }
                } else {
                    ItemOutcome::Fail { status, reason }
                }
            }
        })
        .collect())
}

/// The action line for a document.
fn action(index: &str, id: &str) -> String {
    serde_json::json!({"index": {"_index": index, "_id": id}}).to_string()
}

/// Split documents into requests of at most `max_docs` documents and `max_bytes` bytes (a
/// document larger than `max_bytes` goes alone). Order is kept.
pub fn chunks(
    index: &str,
    docs: Vec<BulkDoc>,
    max_docs: usize,
    max_bytes: usize,
) -> Vec<Vec<BulkDoc>> {
    let mut out = Vec::new();
    let mut cur: Vec<BulkDoc> = Vec::new();
    let mut bytes = 0;
    for d in docs {
        let b = d.bytes(&action(index, &d.id));
        if !cur.is_empty() && (cur.len() >= max_docs.max(1) || bytes + b > max_bytes) {
            out.push(std::mem::take(&mut cur));
            bytes = 0;
        }
        bytes += b;
        cur.push(d);
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out
}

/// Write `docs` to `index` through `backend`, as the module doc says.
pub async fn write_docs<B: Backend + ?Sized>(
    backend: &B,
    index: &str,
    docs: Vec<BulkDoc>,
    cfg: &BulkConfig,
) -> Result<BulkReport, BackendError> {
    let mut report = BulkReport::default();
    let mut unreachable: Option<BackendError> = None;
    for chunk in chunks(index, docs, cfg.max_docs, cfg.max_bytes) {
        let n = chunk.len();
        let mut pending = chunk;
        let mut attempt = 0u32;
        loop {
            let lines = pending
                .iter()
                .flat_map(|d| [action(index, &d.id), d.source.clone()])
                .collect();
            report.requests += 1;
            let answer = backend.bulk_raw(lines).await;
            let mut retry: Vec<(BulkDoc, u16, String)> = Vec::new();
            match answer {
                Err(e) => {
                    let reason = strip_urls(&e.to_string());
                    let transient = e.is_transient();
                    if !transient {
                        return Err(e);
                    }
                    unreachable = Some(e);
                    retry = pending.drain(..).map(|d| (d, 0, reason.clone())).collect();
                }
                Ok(r) if !r.is_success() => {
                    let reason = super::error_reason(&r.body);
                    if is_retryable_status(r.status) {
                        retry = pending
                            .drain(..)
                            .map(|d| (d, r.status, reason.clone()))
                            .collect();
                    } else {
                        for d in pending.drain(..) {
                            report.failed.push(BulkItemFailure {
                                id: d.id,
                                status: r.status,
                                reason: reason.clone(),
                            });
                        }
                    }
                }
                Ok(r) => {
                    unreachable = None;
                    let outcomes = classify_items(&r.body, pending.len())
                        .map_err(|detail| BackendError::Response { op: "bulk", detail })?;
                    for (d, o) in pending.drain(..).zip(outcomes) {
                        match o {
                            ItemOutcome::Ok { created } => {
                                report.written += 1;
                                report.created += u64::from(created);
                            }
                            ItemOutcome::Retry { status, reason } => {
                                retry.push((d, status, reason))
                            }
                            ItemOutcome::Fail { status, reason } => {
                                report.failed.push(BulkItemFailure {
                                    id: d.id,
                                    status,
                                    reason,
                                })
                            }
                        }
                    }
                }
            }
            if retry.is_empty() {
                break;
            }
            attempt += 1;
            if attempt > cfg.max_retries {
                for (d, status, reason) in retry {
                    report.failed.push(BulkItemFailure {
                        id: d.id,
                        status,
                        reason: format!("gave up after {} retries: {reason}", cfg.max_retries),
                    });
                }
                break;
            }
            report.retries += 1;
            tracing::debug!(
                index,
                attempt,
                items = retry.len(),
                of = n,
                "bulk retry after a transient failure"
            );
            let delay = cfg.backoff().delay(attempt);
            tokio::time::sleep(delay).await;
            pending = retry.into_iter().map(|(d, _, _)| d).collect();
        }
    }
    if report.written == 0 && !report.failed.is_empty() {
        if let Some(e) = unreachable {
            return Err(e);
        }
    }
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn doc(id: &str, len: usize) -> BulkDoc {
        BulkDoc {
            id: id.to_string(),
            source: format!("{{\"m\":\"{}\"}}", "x".repeat(len)),
        }
    }

    #[test]
    fn chunks_respect_count_and_bytes_and_keep_order() {
        let docs: Vec<_> = (0..10).map(|i| doc(&format!("d{i}"), 10)).collect();
        let c = chunks("idx", docs.clone(), 4, usize::MAX);
        assert_eq!(c.iter().map(Vec::len).collect::<Vec<_>>(), vec![4, 4, 2]);
        let flat: Vec<_> = c.into_iter().flatten().collect();
        assert_eq!(flat, docs);

        let one = doc("d0", 10).bytes(&action("idx", "d0"));
        let c = chunks("idx", docs, 100, one * 3);
        assert_eq!(c.iter().map(Vec::len).collect::<Vec<_>>(), vec![3, 3, 3, 1]);
    }

    #[test]
    fn an_oversized_document_goes_alone() {
        let docs = vec![doc("a", 10), doc("big", 5000), doc("b", 10)];
        let c = chunks("idx", docs, 100, 1000);
        assert_eq!(c.iter().map(Vec::len).collect::<Vec<_>>(), vec![1, 1, 1]);
        assert_eq!(c[1][0].id, "big");
    }

    #[test]
    fn items_are_classified_ok_retry_fail() {
        let body = serde_json::json!({"errors": true, "items": [
            {"index": {"_id": "a", "status": 201, "result": "created"}},
            {"index": {"_id": "b", "status": 200, "result": "updated"}},
            {"index": {"_id": "c", "status": 429, "error": {"type": "es_rejected_execution_exception", "reason": "queue full"}}},
            {"index": {"_id": "d", "status": 400, "error": {"type": "document_parsing_exception", "reason": "failed to parse field [anomaly.score]"}}},
            {"index": {"_id": "e", "status": 503, "error": {"type": "unavailable_shards_exception", "reason": "primary not active"}}}
        ]});
        let o = classify_items(&body, 5).unwrap();
        assert_eq!(o[0], ItemOutcome::Ok { created: true });
        assert_eq!(o[1], ItemOutcome::Ok { created: false });
        assert!(
            matches!(&o[2], ItemOutcome::Retry { status: 429, reason } if reason.contains("queue full"))
        );
        assert!(
            matches!(&o[3], ItemOutcome::Fail { status: 400, reason } if reason.contains("anomaly.score"))
        );
        assert!(matches!(o[4], ItemOutcome::Retry { status: 503, .. }));
        assert!(classify_items(&body, 4)
            .unwrap_err()
            .contains("5 items answered for 4"));
        assert!(classify_items(&serde_json::json!({"took": 1}), 1).is_err());
    }
}
