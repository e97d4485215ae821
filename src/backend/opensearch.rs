//! The OpenSearch backend, on the `opensearch` crate (2.4 or newer: point in time is
//! `POST /<idx>/_search/point_in_time` with `allow_partial_pit_creation=false`, closed with
//! `DELETE /_search/point_in_time`). Before 3.3 there is no `_shard_doc`, so the sort
//! tiebreaker is (`_index`, `_id`) — see [`Backend::tiebreaker`].

use super::config::{AuthConfig, BackendConfig};
use super::{strip_urls, Backend, BackendError, ClusterInfo, HttpMethod, RawResponse};
use async_trait::async_trait;
use opensearch::auth::Credentials;
use opensearch::cert::{Certificate, CertificateValidation};
use opensearch::http::headers::HeaderMap;
use opensearch::http::request::JsonBody;
use opensearch::http::response::Response;
use opensearch::http::transport::{SingleNodeConnectionPool, TransportBuilder};
use opensearch::http::{Method, Url};
use opensearch::indices::{
    IndicesCreateParts, IndicesDeleteParts, IndicesGetIndexTemplateParts, IndicesGetMappingParts,
    IndicesPutIndexTemplateParts, IndicesPutSettingsParts, IndicesRefreshParts,
};
use opensearch::{BulkParts, CountParts, CreatePitParts, OpenSearch, SearchParts};
use serde_json::{json, Value};
use std::time::Duration;

/// An OpenSearch cluster.
pub struct OsBackend {
    client: OpenSearch,
    config: BackendConfig,
    info: ClusterInfo,
}

fn transport_error(op: &'static str, e: opensearch::Error) -> BackendError {
    BackendError::Transport {
        op,
        detail: super::error_detail(&e),
    }
}

async fn raw(
    op: &'static str,
    r: Result<Response, opensearch::Error>,
) -> Result<RawResponse, BackendError> {
    let r = r.map_err(|e| transport_error(op, e))?;
    let status = r.status_code().as_u16();
    let text = r.text().await.map_err(|e| transport_error(op, e))?;
    let body = if text.is_empty() {
        Value::Null
    } else {
        serde_json::from_str(&text).unwrap_or(Value::String(text))
    };
    Ok(RawResponse { status, body })
}

impl OsBackend {
    /// Build the client from `config` for a cluster already detected as `info`.
    pub fn build(config: &BackendConfig, info: ClusterInfo) -> Result<Self, BackendError> {
        let url = Url::parse(&config.url)
            .map_err(|e| BackendError::Config(format!("`url` is not a URL: {e}")))?;
        let mut b = TransportBuilder::new(SingleNodeConnectionPool::new(url))
            .timeout(Duration::from_secs(config.request_timeout_secs));
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
        Ok(OsBackend {
            client: OpenSearch::new(transport),
            config: config.clone(),
            info,
        })
    }
}

#[async_trait]
impl Backend for OsBackend {
    fn info(&self) -> &ClusterInfo {
        &self.info
    }

    fn config(&self) -> &BackendConfig {
        &self.config
    }

    async fn get_index_template(&self, name: &str) -> Result<Option<Value>, BackendError> {
        let r = raw(
            "get index template",
            self.client
                .indices()
                .get_index_template(IndicesGetIndexTemplateParts::Name(&[name]))
                .send()
                .await,
        )
        .await?;
        if r.status == 404 {
            return Ok(None);
        }
        let body = r.check("get index template")?;
        Ok(body.pointer("/index_templates/0/index_template").cloned())
    }

    async fn put_index_template(&self, name: &str, body: Value) -> Result<(), BackendError> {
        raw(
            "put index template",
            self.client
                .indices()
                .put_index_template(IndicesPutIndexTemplateParts::Name(name))
                .body(body)
                .send()
                .await,
        )
        .await?
        .check("put index template")
        .map(drop)
    }

    async fn bulk_raw(&self, lines: Vec<String>) -> Result<RawResponse, BackendError> {
        raw(
            "bulk",
            self.client.bulk(BulkParts::None).body(lines).send().await,
        )
        .await
    }

    async fn open_pit(&self, index: &str, keep_alive: &str) -> Result<String, BackendError> {
        let body = raw(
            "open point in time",
            self.client
                .create_pit(CreatePitParts::Index(&[index]))
                .keep_alive(keep_alive)
                .allow_partial_pit_creation(false)
                .send()
                .await,
        )
        .await?
        .check("open point in time")?;
        body.get("pit_id")
            .and_then(Value::as_str)
            .map(str::to_string)
            .ok_or_else(|| BackendError::Response {
                op: "open point in time",
                detail: "no pit_id in the answer".to_string(),
            })
    }

    async fn search_pit(&self, body: Value) -> Result<RawResponse, BackendError> {
        raw(
            "search",
            self.client
                .search(SearchParts::None)
                .body(body)
                .send()
                .await,
        )
        .await
    }

    async fn close_pit(&self, pit_id: &str) -> Result<(), BackendError> {
        let r = raw(
            "close point in time",
            self.client
                .delete_pit()
                .body(json!({ "pit_id": [pit_id] }))
                .send()
                .await,
        )
        .await?;
        if r.status == 404 {
            return Ok(());
        }
        r.check("close point in time").map(drop)
    }

    async fn refresh(&self, index: &str) -> Result<(), BackendError> {
        raw(
            "refresh",
            self.client
                .indices()
                .refresh(IndicesRefreshParts::Index(&[index]))
                .send()
                .await,
        )
        .await?
        .check("refresh")
        .map(drop)
    }

    async fn count(&self, index: &str) -> Result<u64, BackendError> {
        let body = raw(
            "count",
            self.client.count(CountParts::Index(&[index])).send().await,
        )
        .await?
        .check("count")?;
        body.get("count")
            .and_then(Value::as_u64)
            .ok_or_else(|| BackendError::Response {
                op: "count",
                detail: "no count in the answer".to_string(),
            })
    }

    async fn get_mapping(&self, index: &str) -> Result<Value, BackendError> {
        raw(
            "get mapping",
            self.client
                .indices()
                .get_mapping(IndicesGetMappingParts::Index(&[index]))
                .send()
                .await,
        )
        .await?
        .check("get mapping")
    }

    async fn create_index(&self, index: &str, body: Value) -> Result<(), BackendError> {
        raw(
            "create index",
            self.client
                .indices()
                .create(IndicesCreateParts::Index(index))
                .body(body)
                .send()
                .await,
        )
        .await?
        .check("create index")
        .map(drop)
    }

    async fn put_index_settings(&self, index: &str, settings: Value) -> Result<(), BackendError> {
        raw(
            "put index settings",
            self.client
                .indices()
                .put_settings(IndicesPutSettingsParts::Index(&[index]))
                .body(settings)
                .send()
                .await,
        )
        .await?
        .check("put index settings")
        .map(drop)
    }

    async fn delete_index(&self, index: &str) -> Result<(), BackendError> {
        let r = raw(
            "delete index",
            self.client
                .indices()
                .delete(IndicesDeleteParts::Index(&[index]))
                .send()
                .await,
        )
        .await?;
        if r.status == 404 {
            return Ok(());
        }
        r.check("delete index").map(drop)
    }

    async fn send_raw(
        &self,
        op: &'static str,
        method: HttpMethod,
        path: &str,
        query: &[(&str, &str)],
        body: Option<Value>,
    ) -> Result<RawResponse, BackendError> {
        let method = match method {
            HttpMethod::Get => Method::Get,
            HttpMethod::Put => Method::Put,
            HttpMethod::Post => Method::Post,
            HttpMethod::Delete => Method::Delete,
        };
        let query = (!query.is_empty()).then_some(query);
        raw(
            op,
            self.client
                .send(
                    method,
                    path,
                    HeaderMap::new(),
                    query,
                    body.map(JsonBody::new),
                    None,
                )
                .await,
        )
        .await
    }
}
