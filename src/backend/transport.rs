//! The single request layer under [`Backend`](super::Backend): what one HTTP exchange is, the
//! engine differences as data ([`Dialect`]), and what every answer goes through.
//!
//! Owns: the request body encodings (JSON, NDJSON for bulk), the escaping of index names in
//! paths, the `Warning` headers of every answer (deprecations: each distinct text logged once
//! per process at WARN with the request's method and path, every one counted in
//! `logwarden_engine_warnings_total`), and the `engine_client!` macro that builds each
//! engine's client over its own crate. The engine modules only instantiate that macro: the
//! requests themselves are written once, in the trait's default methods.
//!
//! Invariants: a logged warning names the method and the path only — never the URL, its
//! user info or the query; a warning is counted however many times it repeats, logged once.

use super::{templates, ClusterInfo, Engine, HttpMethod, RawResponse};
use reqwest::header::HeaderMap;
use serde_json::Value;
use std::collections::HashSet;
use std::sync::{LazyLock, Mutex};

/// The body of a request.
#[derive(Debug, Clone)]
pub enum RequestBody {
    /// A JSON document, sent as `application/json`.
    Json(Value),
    /// NDJSON lines, each without its newline, sent as `application/x-ndjson` (bulk).
    Ndjson(Vec<String>),
}

impl RequestBody {
    /// The content type and the bytes on the wire.
    pub fn encode(self) -> (&'static str, Vec<u8>) {
        match self {
            RequestBody::Json(v) => ("application/json", v.to_string().into_bytes()),
            RequestBody::Ndjson(lines) => {
                let mut out = Vec::with_capacity(lines.iter().map(|l| l.len() + 1).sum());
                for l in lines {
                    out.extend_from_slice(l.as_bytes());
                    out.push(b'\n');
                }
                ("application/x-ndjson", out)
            }
        }
    }
}

/// One answer as the transport got it, before the shared layer reads it.
#[derive(Debug)]
pub struct HttpAnswer {
    /// HTTP status.
    pub status: u16,
    /// The response headers.
    pub headers: HeaderMap,
    /// The body text.
    pub text: String,
}

impl HttpAnswer {
    /// The answer as a [`RawResponse`]: the body parsed (`Null` when empty, a string when not
    /// JSON) and its `Warning` headers read, logged and counted as the answer of `method`
    /// `path`.
    pub fn into_raw(self, method: HttpMethod, path: &str) -> RawResponse {
        let warnings: Vec<String> = self
            .headers
            .get_all("warning")
            .iter()
            .map(|v| warning_text(&String::from_utf8_lossy(v.as_bytes())))
            .collect();
        note_warnings(method, path, &warnings);
        let body = if self.text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&self.text).unwrap_or(Value::String(self.text))
        };
        RawResponse {
            status: self.status,
            body,
            warnings,
        }
    }
}

/// The text of one `Warning` header value (`299 Elasticsearch-9.2.0-abc "text" ["date"]`,
/// RFC 7234 §5.5): the first quoted string, unescaped; the whole value when it has none.
pub fn warning_text(value: &str) -> String {
    let Some(open) = value.find('"') else {
        return value.trim().to_string();
    };
    let mut out = String::new();
    let mut chars = value[open + 1..].chars();
    while let Some(c) = chars.next() {
        match c {
            '"' => return out,
            '\\' => out.extend(chars.next()),
            c => out.push(c),
        }
    }
    out
}

/// At most this many distinct warning texts are remembered (and logged); past it, warnings
/// are still counted but no longer logged, so a cluster that varies its texts cannot grow
/// the set without end.
const REMEMBERED_WARNINGS: usize = 256;

static SEEN_WARNINGS: LazyLock<Mutex<HashSet<String>>> =
    LazyLock::new(|| Mutex::new(HashSet::new()));

fn note_warnings(method: HttpMethod, path: &str, warnings: &[String]) {
    if warnings.is_empty() {
        return;
    }
    crate::telemetry::engine_warnings().inc_by(warnings.len() as u64);
    let Ok(mut seen) = SEEN_WARNINGS.lock() else {
        return;
    };
    for w in warnings {
        if seen.len() < REMEMBERED_WARNINGS && seen.insert(w.clone()) {
            tracing::warn!(method = method.as_str(), path, warning = %w, "the cluster warns");
        }
    }
}

/// Escape an index name, pattern or comma list for a path: everything but `[A-Za-z0-9._,*-]`
/// as `%XX`, as the engine crates do.
pub fn index_part(index: &str) -> String {
    let mut out = String::with_capacity(index.len());
    for b in index.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-' | b',' | b'*') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// What differs between the engines and their versions, in one place; everything else is
/// the same request on both.
#[derive(Debug, Clone, Copy)]
pub struct Dialect {
    /// The endpoint after `/<index>/` that opens a point in time.
    pub pit_open: &'static str,
    /// Query parameters of that request besides `keep_alive`.
    pub pit_open_query: &'static [(&'static str, &'static str)],
    /// The field of the answer that holds the point-in-time id.
    pub pit_id_field: &'static str,
    /// The path that closes a point in time (DELETE).
    pub pit_close: &'static str,
    /// Whether the close body holds a list of ids (`{"pit_id": [id]}`) rather than one
    /// (`{"id": id}`).
    pub pit_close_takes_list: bool,
    /// Whether sorts can use the `_shard_doc` tiebreaker.
    pub shard_doc: bool,
    /// The retention policy API (ILM or ISM).
    pub lifecycle: &'static templates::Lifecycle,
}

impl Dialect {
    /// The dialect of `info`'s engine and version.
    pub fn of(info: &ClusterInfo) -> Dialect {
        match info.engine {
            Engine::Elasticsearch => Dialect {
                pit_open: "_pit",
                pit_open_query: &[],
                pit_id_field: "id",
                pit_close: "/_pit",
                pit_close_takes_list: false,
                shard_doc: info.has_shard_doc(),
                lifecycle: &templates::ILM,
            },
            Engine::Opensearch => Dialect {
                pit_open: "_search/point_in_time",
                // A point in time missing some shards would read a window with holes.
                pit_open_query: &[("allow_partial_pit_creation", "false")],
                pit_id_field: "pit_id",
                pit_close: "/_search/point_in_time",
                pit_close_takes_list: true,
                shard_doc: info.has_shard_doc(),
                lifecycle: &templates::ISM,
            },
        }
    }

    /// The body that closes point in time `id`.
    pub fn pit_close_body(&self, id: &str) -> Value {
        if self.pit_close_takes_list {
            serde_json::json!({ self.pit_id_field: [id] })
        } else {
            serde_json::json!({ self.pit_id_field: id })
        }
    }
}

/// A backend struct over one engine crate (`elasticsearch` or `opensearch`, whose client
/// APIs are the same in everything used here): its client built from the config (URL,
/// auth, TLS, timeout) and the one transport call every request goes through.
macro_rules! engine_client {
    ($krate:ident, $name:ident, $what:literal) => {
        use super::config::{AuthConfig, BackendConfig};
        use super::transport::{HttpAnswer, RequestBody};
        use super::{strip_urls, Backend, BackendError, ClusterInfo, HttpMethod};
        use $krate::auth::Credentials;
        use $krate::cert::{Certificate, CertificateValidation};
        use $krate::http::headers::{HeaderMap, HeaderValue, CONTENT_TYPE};
        use $krate::http::transport::{SingleNodeConnectionPool, Transport, TransportBuilder};
        use $krate::http::{Method, Url};

        #[doc = $what]
        pub struct $name {
            transport: Transport,
            config: BackendConfig,
            info: ClusterInfo,
        }

        impl $name {
            /// Build the client from `config` for a cluster known (or assumed) to be `info`.
            pub fn build(config: &BackendConfig, info: ClusterInfo) -> Result<Self, BackendError> {
                let url = Url::parse(&config.url)
                    .map_err(|e| BackendError::Config(format!("`url` is not a URL: {e}")))?;
                let mut b = TransportBuilder::new(SingleNodeConnectionPool::new(url))
                    .timeout(std::time::Duration::from_secs(config.request_timeout_secs));
                match &config.auth {
                    AuthConfig::None => {}
                    AuthConfig::Basic { username, password } => {
                        let pw = password.resolve()?;
                        b = b.auth(Credentials::Basic(
                            username.clone(),
                            pw.expose().to_string(),
                        ));
                    }
                    AuthConfig::ApiKey { id, key } => {
                        let k = key.resolve()?;
                        b = b.auth(Credentials::ApiKey(id.clone(), k.expose().to_string()));
                    }
                }
                if config.tls.insecure_skip_verify {
                    b = b.cert_validation(CertificateValidation::None);
                } else if let Some(ca) = &config.tls.ca_file {
                    let pem = std::fs::read(ca).map_err(|e| {
                        BackendError::Config(format!(
                            "cannot read `tls.ca_file` {}: {}",
                            ca.display(),
                            e.kind()
                        ))
                    })?;
                    let cert = Certificate::from_pem(&pem).map_err(|_| {
                        BackendError::Config(format!(
                            "`tls.ca_file` {} is not a PEM certificate",
                            ca.display()
                        ))
                    })?;
                    b = b.cert_validation(CertificateValidation::Full(cert));
                }
                let transport = b.build().map_err(|e| {
                    BackendError::Config(format!(
                        "cannot build the HTTP client: {}",
                        strip_urls(&e.to_string())
                    ))
                })?;
                Ok($name {
                    transport,
                    config: config.clone(),
                    info,
                })
            }
        }

        #[async_trait::async_trait]
        impl Backend for $name {
            fn info(&self) -> &ClusterInfo {
                &self.info
            }

            fn config(&self) -> &BackendConfig {
                &self.config
            }

            async fn send_http(
                &self,
                op: &'static str,
                method: HttpMethod,
                path: &str,
                query: &[(&str, &str)],
                body: Option<RequestBody>,
            ) -> Result<HttpAnswer, BackendError> {
                let unreachable = |e: $krate::Error| BackendError::Transport {
                    op,
                    detail: super::error_detail(&e),
                };
                let method = match method {
                    HttpMethod::Get => Method::Get,
                    HttpMethod::Put => Method::Put,
                    HttpMethod::Post => Method::Post,
                    HttpMethod::Delete => Method::Delete,
                };
                let mut headers = HeaderMap::new();
                let body = body.map(|b| {
                    let (content_type, bytes) = b.encode();
                    headers.insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
                    bytes
                });
                let query = (!query.is_empty()).then_some(query);
                let r = self
                    .transport
                    .send(method, path, headers, query, body, None)
                    .await
                    .map_err(unreachable)?;
                let status = r.status_code().as_u16();
                let headers = r.headers().clone();
                let text = r.text().await.map_err(unreachable)?;
                Ok(HttpAnswer {
                    status,
                    headers,
                    text,
                })
            }
        }
    };
}
pub(crate) use engine_client;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::Version;

    #[test]
    fn warning_texts_are_the_quoted_part_unescaped() {
        assert_eq!(
            warning_text(r#"299 Elasticsearch-9.2.0-abc "Legacy index templates are deprecated""#),
            "Legacy index templates are deprecated"
        );
        assert_eq!(
            warning_text(r#"299 OpenSearch-2.19.6 "say \"no\"" "Mon, 07 Dec 2026 00:00:00 GMT""#),
            r#"say "no""#
        );
        assert_eq!(warning_text("  bare text "), "bare text");
    }

    #[test]
    fn answers_carry_their_warnings_and_parse_their_bodies() {
        let mut headers = HeaderMap::new();
        headers.append("warning", r#"299 x "first""#.parse().unwrap());
        headers.append("warning", r#"299 x "second""#.parse().unwrap());
        let before = crate::telemetry::engine_warnings().get();
        let r = HttpAnswer {
            status: 200,
            headers,
            text: r#"{"acknowledged":true}"#.to_string(),
        }
        .into_raw(HttpMethod::Put, "/_template/x");
        assert_eq!(r.warnings, ["first", "second"]);
        assert_eq!(r.body["acknowledged"], Value::Bool(true));
        assert!(crate::telemetry::engine_warnings().get() >= before + 2);
        let plain = HttpAnswer {
            status: 502,
            headers: HeaderMap::new(),
            text: "bad gateway".to_string(),
        }
        .into_raw(HttpMethod::Get, "/");
        assert!(plain.warnings.is_empty());
        assert_eq!(plain.body, Value::String("bad gateway".to_string()));
    }

    #[test]
    fn bodies_encode_as_json_or_ndjson() {
        let (ct, bytes) = RequestBody::Ndjson(vec!["{}".into(), "{\"a\":1}".into()]).encode();
        assert_eq!(ct, "application/x-ndjson");
        assert_eq!(bytes, b"{}\n{\"a\":1}\n");
        let (ct, bytes) = RequestBody::Json(serde_json::json!({"a": 1})).encode();
        assert_eq!(ct, "application/json");
        assert_eq!(bytes, b"{\"a\":1}");
    }

    #[test]
    fn index_names_keep_patterns_and_lists_and_escape_the_rest() {
        assert_eq!(index_part("logs-*,lw_a.1"), "logs-*,lw_a.1");
        assert_eq!(index_part("a/b?c d"), "a%2Fb%3Fc%20d");
    }

    #[test]
    fn the_dialects_differ_where_the_engines_do() {
        let es = Dialect::of(&ClusterInfo {
            engine: Engine::Elasticsearch,
            version: Version(9, 2, 0),
        });
        assert_eq!(es.pit_close_body("p"), serde_json::json!({"id": "p"}));
        assert!(es.shard_doc);
        let os = Dialect::of(&ClusterInfo {
            engine: Engine::Opensearch,
            version: Version(2, 19, 6),
        });
        assert_eq!(os.pit_close_body("p"), serde_json::json!({"pit_id": ["p"]}));
        assert!(!os.shard_doc);
    }
}
