//! Checkpoints: one document per source in the state index, written only after a window's
//! documents were acknowledged, read back at start-up so a restart resumes where the last
//! acknowledged window ended.

use crate::backend::{Backend, BackendError, HttpMethod};
use chrono::{DateTime, Utc};
use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use serde::{Deserialize, Serialize};
use serde_json::json;

/// What is saved per source.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Checkpoint {
    /// The source's name in the config.
    pub source: String,
    /// The tenant from config.
    pub tenant: String,
    /// Everything up to and including this time has been processed and written.
    pub checkpoint: DateTime<Utc>,
    /// The model the windows were examined with.
    pub model_version: String,
    /// When this document was written.
    pub updated_at: DateTime<Utc>,
    /// Windows processed since the source was first started.
    pub windows: u64,
    /// Log records processed since the source was first started.
    pub records: u64,
    /// Anomalies written since the source was first started.
    pub anomalies: u64,
}

/// The mapping of the state index: nothing dynamic, the few fields worth searching.
fn state_index_body() -> serde_json::Value {
    json!({
        "settings": {"number_of_shards": 1, "auto_expand_replicas": "0-1"},
        "mappings": {
            "dynamic": false,
            "properties": {
                "source": {"type": "keyword"},
                "tenant": {"type": "keyword"},
                "checkpoint": {"type": "date"},
                "model_version": {"type": "keyword"},
                "updated_at": {"type": "date"}
            }
        }
    })
}

/// Create the state index when it is missing.
pub async fn ensure_state_index(backend: &dyn Backend, index: &str) -> Result<(), BackendError> {
    let r = backend
        .send_raw(
            "state index",
            HttpMethod::Get,
            &format!("/{index}"),
            &[],
            None,
        )
        .await?;
    if r.status == 200 {
        return Ok(());
    }
    match backend.create_index(index, state_index_body()).await {
        Ok(()) => Ok(()),
        // Another instance created it in between.
        Err(BackendError::Status { reason, .. })
            if reason.contains("resource_already_exists_exception") =>
        {
            Ok(())
        }
        Err(e) => Err(e),
    }
}

/// The checkpoint document `id`, or `None` when there is none yet.
pub async fn load(
    backend: &dyn Backend,
    index: &str,
    id: &str,
) -> Result<Option<Checkpoint>, BackendError> {
    let r = backend
        .send_raw(
            "read checkpoint",
            HttpMethod::Get,
            &format!("/{index}/_doc/{}", encode(id)),
            &[],
            None,
        )
        .await?;
    if r.status == 404 {
        return Ok(None);
    }
    let body = r.check("read checkpoint")?;
    if body.get("found").and_then(|f| f.as_bool()) != Some(true) {
        return Ok(None);
    }
    let source = body.get("_source").cloned().unwrap_or_default();
    serde_json::from_value(source)
        .map(Some)
        .map_err(|e| BackendError::Response {
            op: "read checkpoint",
            detail: format!("checkpoint {id} in {index} is not readable: {e}"),
        })
}

/// Save the checkpoint document `id` (a GET by id is real-time, so [`load`] sees it at once
/// without a refresh).
pub async fn save(
    backend: &dyn Backend,
    index: &str,
    id: &str,
    cp: &Checkpoint,
) -> Result<(), BackendError> {
    let body = serde_json::to_value(cp).map_err(|e| BackendError::Config(e.to_string()))?;
    backend
        .send_raw(
            "save checkpoint",
            HttpMethod::Put,
            &format!("/{index}/_doc/{}", encode(id)),
            &[],
            Some(body),
        )
        .await?
        .check("save checkpoint")
        .map(drop)
}

/// Everything but the unreserved characters of RFC 3986 is encoded.
const PATH_SEGMENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');

/// Percent-encode an id for a URL path segment.
fn encode(id: &str) -> String {
    utf8_percent_encode(id, PATH_SEGMENT).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_encoded_for_the_path() {
        assert_eq!(encode("default:app_logs"), "default%3Aapp_logs");
        assert_eq!(encode("a/b c"), "a%2Fb%20c");
    }
}
