//! The cluster backend: Elasticsearch or OpenSearch, behind one small async trait.
//!
//! Owns: connecting (auth none/basic/API key, custom CA, opt-in for unverified TLS), detecting
//! the engine and its version, installing the index templates and retention policies of the
//! indices logwarden writes ([`templates`], mappings from `mappings/*.json`), writing anomaly documents with the bulk API, and reading the log
//! documents of a time window `(start, end]` as [`LogRecord`](crate::model::LogRecord)s.
//!
//! Sits at both ends of the flow: it feeds `source` with records and takes the documents the
//! `sink` stage produces. The two engines differ only in a few requests (how a point in time is
//! opened and closed, which tiebreaker a sort can use, which retention policy API there is),
//! and those differences are data ([`Dialect`]): each implementation of the [`Backend`]
//! trait only builds its crate's client and sends one HTTP exchange over it
//! ([`transport`]); every request is written once, in the trait, and the shared behaviour
//! on top of them once too: bulk chunking with per-item retries ([`bulk`]), and
//! point-in-time + `search_after` paging with per-document accounting ([`read`]).
//!
//! Invariants: an anomaly's `_id` is its content-derived `anomaly.id`, so writing the same
//! anomalies twice leaves the same documents; a bulk item that cannot be written is retried
//! (429/5xx) or reported with its id, never dropped; a window read returns every document in
//! `(start, end]` exactly once, however many pages it takes; a document that cannot become a
//! record is counted with its index and id, never fatal. Credentials never appear in `Debug`
//! output or error messages, and URLs are stripped from transport errors.

pub mod bulk;
pub mod config;
pub mod elasticsearch;
pub mod indices;
pub mod load;
pub mod opensearch;
pub mod prefetch;
pub mod read;
pub mod templates;
pub mod transport;

use crate::model::Anomaly;
use async_trait::async_trait;
use serde_json::{json, Value};
use std::fmt;

pub use bulk::{BulkItemFailure, BulkReport};
pub use config::{AuthConfig, BackendConfig, BulkConfig, ReadConfig, SecretRef, TlsConfig};
pub use indices::{IndicesConfig, RetentionConfig};
pub use read::{BadDocument, ReadReport, SourcedRecord, WindowPage, WindowReader, WindowRequest};
pub use templates::{install_templates, IndexKind, InstallOutcome, InstallReport, ObjectKind};
pub use transport::{index_part, Dialect, HttpAnswer, RequestBody};

/// The anomaly index mapping, the contract the dashboards use.
pub const ANOMALY_MAPPING: &str = include_str!("../../mappings/anomalies.json");

/// The incident index mapping.
pub const INCIDENT_MAPPING: &str = include_str!("../../mappings/incidents.json");

/// The pattern-rate index mapping.
pub const PATTERN_MAPPING: &str = include_str!("../../mappings/patterns.json");

/// The HTTP method of a request sent with [`Backend::send_raw`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HttpMethod {
    /// GET
    Get,
    /// PUT
    Put,
    /// POST
    Post,
    /// DELETE
    Delete,
}

impl HttpMethod {
    /// The method's name, as on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            HttpMethod::Get => "GET",
            HttpMethod::Put => "PUT",
            HttpMethod::Post => "POST",
            HttpMethod::Delete => "DELETE",
        }
    }
}

/// The two supported engines.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Engine {
    /// Elasticsearch 8.x or 9.x.
    Elasticsearch,
    /// OpenSearch 2.4 or newer (point in time is needed).
    Opensearch,
}

impl Engine {
    /// The lowercase name used in config.
    pub fn as_str(self) -> &'static str {
        match self {
            Engine::Elasticsearch => "elasticsearch",
            Engine::Opensearch => "opensearch",
        }
    }
}

impl fmt::Display for Engine {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A `major.minor.patch` engine version.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Version(pub u32, pub u32, pub u32);

impl Version {
    /// Read `8.19.21`, `2.19.6`, `3.3.0-SNAPSHOT`; missing parts are 0.
    pub fn parse(s: &str) -> Option<Version> {
        let core = s.split(['-', '+']).next()?;
        let mut it = core.split('.');
        let major = it.next()?.parse().ok()?;
        let minor = it.next().map_or(Some(0), |m| m.parse().ok())?;
        let patch = it.next().map_or(Some(0), |p| p.parse().ok())?;
        Some(Version(major, minor, patch))
    }
}

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}.{}", self.0, self.1, self.2)
    }
}

/// What the connected cluster is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClusterInfo {
    /// The engine.
    pub engine: Engine,
    /// Its version (of the node answered).
    pub version: Version,
}

impl ClusterInfo {
    /// Whether the engine has the `_shard_doc` sort tiebreaker (Elasticsearch since 7.12,
    /// OpenSearch since 3.3).
    pub fn has_shard_doc(&self) -> bool {
        match self.engine {
            Engine::Elasticsearch => self.version >= Version(7, 12, 0),
            Engine::Opensearch => self.version >= Version(3, 3, 0),
        }
    }
}

/// Errors at the backend boundary. Messages never contain URLs or credentials.
#[derive(Debug, thiserror::Error)]
pub enum BackendError {
    /// The settings cannot work (bad URL, unreadable CA file, missing secret).
    #[error("backend config: {0}")]
    Config(String),
    /// The request did not get an answer (connection refused, timeout, TLS failure).
    #[error("{op}: cluster unreachable: {detail}")]
    Transport {
        /// The operation, e.g. `bulk` or `search`.
        op: &'static str,
        /// What failed, URLs stripped.
        detail: String,
    },
    /// The cluster answered with an error status.
    #[error("{op}: status {status}: {reason}")]
    Status {
        /// The operation.
        op: &'static str,
        /// The HTTP status.
        status: u16,
        /// The cluster's reason, URLs stripped.
        reason: String,
    },
    /// The cluster answered something that is not what the API promises.
    #[error("{op}: unexpected response: {detail}")]
    Response {
        /// The operation.
        op: &'static str,
        /// What was wrong.
        detail: String,
    },
    /// The engine or version cannot do what is needed (e.g. OpenSearch before 2.4 has no
    /// point in time).
    #[error("unsupported cluster: {0}")]
    Unsupported(String),
}

impl BackendError {
    /// Whether trying again later may succeed (unreachable, 429, 5xx).
    pub fn is_transient(&self) -> bool {
        match self {
            BackendError::Transport { .. } => true,
            BackendError::Status { status, .. } => is_retryable_status(*status),
            _ => false,
        }
    }
}

/// Whether an HTTP status (of a request or of one bulk item) is worth retrying.
pub fn is_retryable_status(status: u16) -> bool {
    status == 429 || (500..600).contains(&status)
}

/// Replace every `http://…` / `https://…` in `text` with `<url>`: reqwest errors carry the
/// request URL, and a URL may carry credentials.
pub fn strip_urls(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    loop {
        let at = ["http://", "https://"]
            .iter()
            .filter_map(|p| rest.find(p))
            .min();
        match at {
            None => {
                out.push_str(rest);
                return out;
            }
            Some(i) => {
                out.push_str(&rest[..i]);
                out.push_str("<url>");
                let tail = &rest[i..];
                let end = tail
                    .find(|c: char| c.is_whitespace() || matches!(c, '"' | '\'' | ')' | '>'))
                    .unwrap_or(tail.len());
                rest = &tail[end..];
            }
        }
    }
}

/// The message of a transport error with its causes, URLs stripped.
///
/// reqwest's own message is only "error sending request for url (…)": what went wrong
/// (refused, timed out, a certificate that does not verify) is further down its source
/// chain, so the chain is joined, each message once. A failed TLS handshake is said to be
/// one first, since the OpenSSL text alone reads like any other connection error.
pub fn error_detail(e: &(dyn std::error::Error + 'static)) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut next = Some(e);
    while let Some(err) = next {
        let msg = strip_urls(&err.to_string()).replace(" for url (<url>)", "");
        if !msg.is_empty() && !parts.iter().any(|p| p.contains(&msg)) {
            parts.push(msg);
        }
        next = err.source();
    }
    let detail = parts.join(": ");
    let lower = detail.to_lowercase();
    if lower.contains("ssl routines")
        || lower.contains("certificate verify failed")
        || lower.contains("tls handshake")
    {
        format!(
            "TLS handshake failed (check `tls.ca_file` and the certificate's host names): {detail}"
        )
    } else {
        detail
    }
}

/// A raw answer: status, JSON body (`Value::Null` when the body was empty, a string when it
/// was not JSON) and the texts of its `Warning` headers.
#[derive(Debug, Clone)]
pub struct RawResponse {
    /// HTTP status.
    pub status: u16,
    /// Parsed body.
    pub body: Value,
    /// The text of each `Warning` header (deprecations), in order; already logged and counted.
    pub warnings: Vec<String>,
}

impl RawResponse {
    /// Whether the status is 2xx.
    pub fn is_success(&self) -> bool {
        (200..300).contains(&self.status)
    }

    /// This response as an error for `op` unless it is 2xx.
    pub fn check(self, op: &'static str) -> Result<Value, BackendError> {
        if self.is_success() {
            Ok(self.body)
        } else {
            Err(BackendError::Status {
                op,
                status: self.status,
                reason: error_reason(&self.body),
            })
        }
    }
}

/// The `error.type: error.reason` of an error body, or the body itself, cut short.
pub fn error_reason(body: &Value) -> String {
    let reason = match body.get("error") {
        Some(Value::Object(e)) => format!(
            "{}: {}",
            e.get("type").and_then(Value::as_str).unwrap_or("error"),
            e.get("reason").and_then(Value::as_str).unwrap_or("")
        ),
        Some(Value::String(s)) => s.clone(),
        _ => body.to_string(),
    };
    let reason = strip_urls(&reason);
    if reason.len() > 500 {
        let mut cut = 500;
        while !reason.is_char_boundary(cut) {
            cut -= 1;
        }
        format!("{}…", &reason[..cut])
    } else {
        reason
    }
}

/// What [`Backend::ensure_anomaly_template`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TemplateOutcome {
    /// There was none: installed.
    Installed,
    /// There was one with an older `logwarden_mapping_version`: replaced.
    Updated,
    /// The current one was there: nothing done.
    Present,
}

/// One cluster, Elasticsearch or OpenSearch.
///
/// Implementations provide only what differs between the engine crates: building the client
/// ([`elasticsearch::EsBackend::build`], [`opensearch::OsBackend::build`]) and one HTTP
/// exchange over it ([`Backend::send_http`]). Every request is written once, here, over that
/// exchange; what differs between the engines and versions is data in [`Dialect`].
#[async_trait]
pub trait Backend: Send + Sync {
    /// The engine and version, as detected at connect time.
    fn info(&self) -> &ClusterInfo;

    /// The settings this backend was built from.
    fn config(&self) -> &BackendConfig;

    /// Send one request over the engine crate's transport and return the answer as it came,
    /// whatever its status. `path` starts with `/` and is already escaped.
    async fn send_http(
        &self,
        op: &'static str,
        method: HttpMethod,
        path: &str,
        query: &[(&str, &str)],
        body: Option<RequestBody>,
    ) -> Result<HttpAnswer, BackendError>;

    /// What differs between this engine and version and the others.
    fn dialect(&self) -> Dialect {
        Dialect::of(self.info())
    }

    /// The sort clauses that follow the timestamp so every document has a unique sort key
    /// within a point in time (`_shard_doc` where the engine has it).
    fn tiebreaker(&self) -> Vec<Value> {
        if self.dialect().shard_doc {
            vec![json!({"_shard_doc": "asc"})]
        } else {
            // OpenSearch before 3.3: (index, id) is unique in any index pattern; sorting on
            // `_id` loads its field data, the price of losing nothing.
            vec![json!({"_index": "asc"}), json!({"_id": "asc"})]
        }
    }

    /// Send a request: `op` names it in errors, `path` starts with `/` and its segments are
    /// already escaped, `query` pairs are encoded by the client. Any status is returned, not
    /// only 2xx, with the `Warning` headers of the answer (logged and counted).
    async fn send_raw(
        &self,
        op: &'static str,
        method: HttpMethod,
        path: &str,
        query: &[(&str, &str)],
        body: Option<Value>,
    ) -> Result<RawResponse, BackendError> {
        let answer = self
            .send_http(op, method, path, query, body.map(RequestBody::Json))
            .await?;
        Ok(answer.into_raw(method, path))
    }

    /// The composable index template `name`, or `None` when there is none.
    async fn get_index_template(&self, name: &str) -> Result<Option<Value>, BackendError> {
        let op = "get index template";
        let path = format!("/_index_template/{}", index_part(name));
        let r = self.send_raw(op, HttpMethod::Get, &path, &[], None).await?;
        if r.status == 404 {
            return Ok(None);
        }
        let body = r.check(op)?;
        Ok(body.pointer("/index_templates/0/index_template").cloned())
    }

    /// Create or replace the composable index template `name`.
    async fn put_index_template(&self, name: &str, body: Value) -> Result<(), BackendError> {
        let path = format!("/_index_template/{}", index_part(name));
        self.send_ok("put index template", HttpMethod::Put, &path, Some(body))
            .await
    }

    /// Send one bulk request (NDJSON lines, each without its newline).
    async fn bulk_raw(&self, lines: Vec<String>) -> Result<RawResponse, BackendError> {
        let body = Some(RequestBody::Ndjson(lines));
        let answer = self
            .send_http("bulk", HttpMethod::Post, "/_bulk", &[], body)
            .await?;
        Ok(answer.into_raw(HttpMethod::Post, "/_bulk"))
    }

    /// Open a point in time over `index` (a name, pattern or comma list) and return its id.
    async fn open_pit(&self, index: &str, keep_alive: &str) -> Result<String, BackendError> {
        let op = "open point in time";
        let d = self.dialect();
        let path = format!("/{}/{}", index_part(index), d.pit_open);
        let mut query = vec![("keep_alive", keep_alive)];
        query.extend_from_slice(d.pit_open_query);
        let body = self
            .send_raw(op, HttpMethod::Post, &path, &query, None)
            .await?
            .check(op)?;
        body.get(d.pit_id_field)
            .and_then(Value::as_str)
            .map(str::to_string)
            .ok_or_else(|| BackendError::Response {
                op,
                detail: format!("no {} in the answer", d.pit_id_field),
            })
    }

    /// Run a search whose body names a point in time (so no index in the path).
    async fn search_pit(&self, body: Value) -> Result<RawResponse, BackendError> {
        self.send_raw("search", HttpMethod::Post, "/_search", &[], Some(body))
            .await
    }

    /// Close a point in time; closing one that is gone is not an error.
    async fn close_pit(&self, pit_id: &str) -> Result<(), BackendError> {
        let d = self.dialect();
        let body = Some(d.pit_close_body(pit_id));
        self.send_ok_or_gone("close point in time", d.pit_close, body)
            .await
    }

    /// Make recent writes to `index` visible to search.
    async fn refresh(&self, index: &str) -> Result<(), BackendError> {
        let path = format!("/{}/_refresh", index_part(index));
        self.send_ok("refresh", HttpMethod::Post, &path, None).await
    }

    /// The number of documents in `index`.
    async fn count(&self, index: &str) -> Result<u64, BackendError> {
        let path = format!("/{}/_count", index_part(index));
        let body = self
            .send_raw("count", HttpMethod::Get, &path, &[], None)
            .await?
            .check("count")?;
        body.get("count")
            .and_then(Value::as_u64)
            .ok_or_else(|| BackendError::Response {
                op: "count",
                detail: "no count in the answer".to_string(),
            })
    }

    /// The mappings of `index` as the cluster returns them (`{index: {mappings: …}}`).
    async fn get_mapping(&self, index: &str) -> Result<Value, BackendError> {
        let path = format!("/{}/_mapping", index_part(index));
        self.send_raw("get mapping", HttpMethod::Get, &path, &[], None)
            .await?
            .check("get mapping")
    }

    /// Create `index` with `body` (settings, mappings).
    async fn create_index(&self, index: &str, body: Value) -> Result<(), BackendError> {
        let path = format!("/{}", index_part(index));
        self.send_ok("create index", HttpMethod::Put, &path, Some(body))
            .await
    }

    /// Delete `index`; a missing index is not an error.
    async fn delete_index(&self, index: &str) -> Result<(), BackendError> {
        let path = format!("/{}", index_part(index));
        self.send_ok_or_gone("delete index", &path, None).await
    }

    /// Update dynamic settings of `index` (e.g. `{"index.refresh_interval": "5s"}`).
    async fn put_index_settings(&self, index: &str, settings: Value) -> Result<(), BackendError> {
        let path = format!("/{}/_settings", index_part(index));
        self.send_ok("put index settings", HttpMethod::Put, &path, Some(settings))
            .await
    }

    /// Send a request whose answer matters only by being 2xx.
    async fn send_ok(
        &self,
        op: &'static str,
        method: HttpMethod,
        path: &str,
        body: Option<Value>,
    ) -> Result<(), BackendError> {
        self.send_raw(op, method, path, &[], body)
            .await?
            .check(op)
            .map(drop)
    }

    /// Send a DELETE for which 404 (already gone) is as good as 2xx.
    async fn send_ok_or_gone(
        &self,
        op: &'static str,
        path: &str,
        body: Option<Value>,
    ) -> Result<(), BackendError> {
        let r = self
            .send_raw(op, HttpMethod::Delete, path, &[], body)
            .await?;
        if r.status == 404 {
            return Ok(());
        }
        r.check(op).map(drop)
    }

    /// Install the anomaly index template (named after the index, matching `index` and
    /// `index-*`) when it is missing or older than `mappings/anomalies.json`. The template is
    /// the one [`install_templates`] installs, without a retention policy; prefer that call,
    /// which installs all three indices' templates and their policies.
    async fn ensure_anomaly_template(&self, index: &str) -> Result<TemplateOutcome, BackendError> {
        let body =
            templates::index_template_body(IndexKind::Anomalies, index, self.info().engine, None)?;
        let wanted = body
            .pointer("/template/mappings")
            .map(mapping_version)
            .unwrap_or(0);
        let existing = self.get_index_template(index).await?;
        let outcome = match existing {
            None => TemplateOutcome::Installed,
            Some(t) => {
                let have = t
                    .pointer("/template/mappings")
                    .map(mapping_version)
                    .unwrap_or(0);
                if have >= wanted {
                    return Ok(TemplateOutcome::Present);
                }
                TemplateOutcome::Updated
            }
        };
        self.put_index_template(index, body).await?;
        Ok(outcome)
    }

    /// Write anomalies to `index` with `_id` = `anomaly.id`, in chunks, retrying 429/5xx
    /// answers and items with backoff. Items that still fail are in the report, with ids.
    /// An error means nothing could be confirmed written (the cluster stayed unreachable).
    async fn write_anomalies(
        &self,
        index: &str,
        anomalies: &[Anomaly],
    ) -> Result<BulkReport, BackendError> {
        let docs = bulk::anomaly_docs(anomalies)?;
        bulk::write_docs(self, index, docs, &self.config().bulk).await
    }
}

/// `_meta.logwarden_mapping_version` of a mapping, 0 when absent.
pub fn mapping_version(mapping: &Value) -> u64 {
    mapping
        .pointer("/_meta/logwarden_mapping_version")
        .and_then(Value::as_u64)
        .unwrap_or(0)
}

/// Connect to the cluster in `config`: detect the engine (unless configured) and its
/// version, and build the matching backend.
pub async fn connect(config: &BackendConfig) -> Result<Box<dyn Backend>, BackendError> {
    config.check()?;
    // Detection needs only two GETs, which either crate's client can send to either engine.
    let assumed = ClusterInfo {
        engine: Engine::Elasticsearch,
        version: Version(8, 0, 0),
    };
    let detected = detect(&elasticsearch::EsBackend::build(config, assumed)?).await?;
    let info = match config.backend {
        Some(engine) if engine != detected.engine => {
            return Err(BackendError::Config(format!(
                "`backend` says {engine} but the cluster is {}",
                detected.engine
            )))
        }
        _ => detected,
    };
    match info.engine {
        Engine::Elasticsearch => Ok(Box::new(elasticsearch::EsBackend::build(config, info)?)),
        Engine::Opensearch => {
            if info.version < Version(2, 4, 0) {
                return Err(BackendError::Unsupported(format!(
                    "opensearch {} has no point in time; 2.4 or newer is needed",
                    info.version
                )));
            }
            Ok(Box::new(opensearch::OsBackend::build(config, info)?))
        }
    }
}

/// Ask the cluster what it is. The product shows in `version.distribution` of `GET /`, or
/// in the `X-elastic-product` header, which every Elasticsearch answer carries since 7.14;
/// `GET /` itself is missing from distributions without the rest-root module, and then the
/// local node's version is asked for.
pub async fn detect(backend: &dyn Backend) -> Result<ClusterInfo, BackendError> {
    const OP: &str = "engine detection";
    let answer = backend
        .send_http(OP, HttpMethod::Get, "/", &[], None)
        .await?;
    let elastic_header = answer.headers.contains_key("x-elastic-product");
    let root = answer.into_raw(HttpMethod::Get, "/");
    if root.status == 200 {
        if let Some(number) = root.body.pointer("/version/number").and_then(Value::as_str) {
            let distribution = root.body.pointer("/version/distribution");
            let engine = if distribution.and_then(Value::as_str) == Some("opensearch") {
                Engine::Opensearch
            } else {
                Engine::Elasticsearch
            };
            return info_from(engine, number);
        }
    } else if root.status == 401 || root.status == 403 {
        return Err(BackendError::Status {
            op: OP,
            status: root.status,
            reason: "authentication refused".to_string(),
        });
    }
    let path = "/_nodes/_local";
    let query = [("filter_path", "nodes.*.version")];
    let answer = backend
        .send_http(OP, HttpMethod::Get, path, &query, None)
        .await?;
    let elastic = elastic_header || answer.headers.contains_key("x-elastic-product");
    let body = answer.into_raw(HttpMethod::Get, path).check(OP)?;
    let number = body
        .get("nodes")
        .and_then(Value::as_object)
        .and_then(|n| n.values().next())
        .and_then(|n| n.get("version"))
        .and_then(Value::as_str)
        .ok_or_else(|| BackendError::Response {
            op: OP,
            detail: "no node version in the answer".to_string(),
        })?;
    let engine = if elastic {
        Engine::Elasticsearch
    } else {
        Engine::Opensearch
    };
    info_from(engine, number)
}

fn info_from(engine: Engine, number: &str) -> Result<ClusterInfo, BackendError> {
    let version = Version::parse(number).ok_or_else(|| BackendError::Response {
        op: "engine detection",
        detail: format!("unreadable version `{number}`"),
    })?;
    Ok(ClusterInfo { engine, version })
}

/// Start reading the window `(req.start, req.end]` of `backend`, page by page.
pub async fn read_window<B: Backend + ?Sized>(
    backend: &B,
    req: WindowRequest,
) -> Result<WindowReader<'_, B>, BackendError> {
    WindowReader::open(backend, req).await
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An error like reqwest's: the URL in its message, the cause in its source.
    #[derive(Debug)]
    struct Wrapped(&'static str, std::io::Error);
    impl fmt::Display for Wrapped {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str(self.0)
        }
    }
    impl std::error::Error for Wrapped {
        fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
            Some(&self.1)
        }
    }

    #[test]
    fn error_detail_joins_the_causes_without_urls() {
        let refused = Wrapped(
            "error sending request for url (https://elastic:s3cret@es.example:9200/_bulk)",
            std::io::Error::new(std::io::ErrorKind::ConnectionRefused, "connection refused"),
        );
        assert_eq!(
            error_detail(&refused),
            "error sending request: connection refused"
        );
        let tls = Wrapped(
            "error sending request for url (https://es.example:9200/)",
            std::io::Error::other(
                "error:0A000086:SSL routines:tls_post_process_server_certificate:\
                 certificate verify failed (self-signed certificate)",
            ),
        );
        let detail = error_detail(&tls);
        assert!(detail.starts_with("TLS handshake failed"), "{detail}");
        assert!(detail.ends_with("(self-signed certificate)"), "{detail}");
        assert!(!detail.contains("es.example"), "{detail}");
        // A cause whose message is already in the text is not repeated.
        let same = Wrapped("timed out", std::io::Error::other("timed out"));
        assert_eq!(error_detail(&same), "timed out");
    }

    #[test]
    fn versions_parse_and_order() {
        assert_eq!(Version::parse("8.19.21"), Some(Version(8, 19, 21)));
        assert_eq!(Version::parse("3.3.0-SNAPSHOT"), Some(Version(3, 3, 0)));
        assert_eq!(Version::parse("9"), Some(Version(9, 0, 0)));
        assert_eq!(Version::parse("x.1"), None);
        assert!(Version(2, 19, 6) < Version(3, 3, 0));
    }

    #[test]
    fn shard_doc_only_where_the_engine_has_it() {
        let os = |v| ClusterInfo {
            engine: Engine::Opensearch,
            version: v,
        };
        assert!(!os(Version(2, 19, 6)).has_shard_doc());
        assert!(!os(Version(3, 2, 9)).has_shard_doc());
        assert!(os(Version(3, 3, 0)).has_shard_doc());
        assert!(ClusterInfo {
            engine: Engine::Elasticsearch,
            version: Version(8, 19, 21)
        }
        .has_shard_doc());
    }

    #[test]
    fn urls_are_stripped_with_their_credentials() {
        let msg = "error sending request for url (https://elastic:s3cret@es.example:9200/_bulk): connection refused";
        let s = strip_urls(msg);
        assert_eq!(
            s,
            "error sending request for url (<url>): connection refused"
        );
        assert!(!s.contains("s3cret"));
        assert_eq!(strip_urls("no url here"), "no url here");
        assert_eq!(strip_urls("a http://x b https://y"), "a <url> b <url>");
    }

    #[test]
    fn statuses_worth_retrying() {
        for s in [429, 500, 502, 503, 504] {
            assert!(is_retryable_status(s), "{s}");
        }
        for s in [200, 400, 401, 403, 404, 409, 413] {
            assert!(!is_retryable_status(s), "{s}");
        }
    }

    #[test]
    fn error_reason_reads_type_and_reason() {
        let body = serde_json::json!({"error": {"type": "mapper_parsing_exception", "reason": "failed to parse field [message]"}, "status": 400});
        assert_eq!(
            error_reason(&body),
            "mapper_parsing_exception: failed to parse field [message]"
        );
    }

    #[test]
    fn the_shipped_mapping_has_a_version_and_no_dynamic_fields() {
        let m: Value = serde_json::from_str(ANOMALY_MAPPING).unwrap();
        assert!(mapping_version(&m) >= 1);
        assert_eq!(m["dynamic"], Value::Bool(false));
    }
}
