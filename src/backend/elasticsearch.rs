//! The Elasticsearch backend, on the `elasticsearch` crate. It sends plain
//! `application/json`, which 8.x and 9.x both accept; points in time are `POST /<idx>/_pit`
//! and the sort tiebreaker is `_shard_doc`.
//!
//! It also serves engine detection for both engines ([`EsBackend::detect`]): detection needs
//! only an HTTP GET, and the product shows in the answer (`version.distribution` of `GET /`,
//! or the `X-elastic-product` header, which every Elasticsearch answer carries since 7.14;
//! `GET /` itself is missing from distributions without the rest-root module).

use super::config::{AuthConfig, BackendConfig};
use super::{
    strip_urls, Backend, BackendError, ClusterInfo, Engine, HttpMethod, RawResponse, Version,
};
use async_trait::async_trait;
use elasticsearch::auth::Credentials;
use elasticsearch::cert::{Certificate, CertificateValidation};
use elasticsearch::http::headers::HeaderMap;
use elasticsearch::http::request::JsonBody;
use elasticsearch::http::response::Response;
use elasticsearch::http::transport::{SingleNodeConnectionPool, TransportBuilder};
use elasticsearch::http::{Method, Url};
use elasticsearch::indices::{
    IndicesCreateParts, IndicesDeleteParts, IndicesGetIndexTemplateParts, IndicesGetMappingParts,
    IndicesPutIndexTemplateParts, IndicesPutSettingsParts, IndicesRefreshParts,
};
use elasticsearch::{BulkParts, CountParts, Elasticsearch, OpenPointInTimeParts, SearchParts};
use serde_json::{json, Value};
use std::time::Duration;

/// An Elasticsearch cluster.
pub struct EsBackend {
    client: Elasticsearch,
    config: BackendConfig,
    info: ClusterInfo,
}

fn transport_error(op: &'static str, e: elasticsearch::Error) -> BackendError {
    BackendError::Transport {
        op,
        detail: super::error_detail(&e),
    }
}

async fn raw(
    op: &'static str,
    r: Result<Response, elasticsearch::Error>,
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

impl EsBackend {
    /// Build the client from `config`. With `info` `None` (before detection) the backend
    /// assumes Elasticsearch 8.0 until [`EsBackend::detect`] says otherwise.
    pub fn build(config: &BackendConfig, info: Option<ClusterInfo>) -> Result<Self, BackendError> {
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
        Ok(EsBackend {
            client: Elasticsearch::new(transport),
            config: config.clone(),
            info: info.unwrap_or(ClusterInfo {
                engine: Engine::Elasticsearch,
                version: Version(8, 0, 0),
            }),
        })
    }

    /// Ask the cluster what it is (works against OpenSearch too).
    pub async fn detect(&self) -> Result<ClusterInfo, BackendError> {
        let r = self
            .client
            .send(
                Method::Get,
                "/",
                HeaderMap::new(),
                None::<&()>,
                None::<()>,
                None,
            )
            .await
            .map_err(|e| transport_error("engine detection", e))?;
        let elastic_header = r.headers().contains_key("x-elastic-product");
        let status = r.status_code().as_u16();
        let root: Value = r.json().await.unwrap_or(Value::Null);
        if status == 200 {
            if let Some(number) = root.pointer("/version/number").and_then(Value::as_str) {
                let engine = if root
                    .pointer("/version/distribution")
                    .and_then(Value::as_str)
                    == Some("opensearch")
                {
                    Engine::Opensearch
                } else {
                    Engine::Elasticsearch
                };
                return info_from(engine, number);
            }
        } else if status == 401 || status == 403 {
            return Err(BackendError::Status {
                op: "engine detection",
                status,
                reason: "authentication refused".to_string(),
            });
        }
        // No `GET /` (rest-root module absent): the local node's version, the product from
        // the header.
        let r = self
            .client
            .send(
                Method::Get,
                "/_nodes/_local",
                HeaderMap::new(),
                Some(&[("filter_path", "nodes.*.version")]),
                None::<()>,
                None,
            )
            .await
            .map_err(|e| transport_error("engine detection", e))?;
        let elastic = elastic_header || r.headers().contains_key("x-elastic-product");
        let body = raw("engine detection", Ok(r))
            .await?
            .check("engine detection")?;
        let number = body
            .get("nodes")
            .and_then(Value::as_object)
            .and_then(|n| n.values().next())
            .and_then(|n| n.get("version"))
            .and_then(Value::as_str)
            .ok_or_else(|| BackendError::Response {
                op: "engine detection",
                detail: "no node version in the answer".to_string(),
            })?;
        let engine = if elastic {
            Engine::Elasticsearch
        } else {
            Engine::Opensearch
        };
        info_from(engine, number)
    }
}

fn info_from(engine: Engine, number: &str) -> Result<ClusterInfo, BackendError> {
    let version = Version::parse(number).ok_or_else(|| BackendError::Response {
        op: "engine detection",
        detail: format!("unreadable version `{number}`"),
    })?;
    Ok(ClusterInfo { engine, version })
}

#[async_trait]
impl Backend for EsBackend {
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
                .get_index_template(IndicesGetIndexTemplateParts::Name(name))
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
                .open_point_in_time(OpenPointInTimeParts::Index(&[index]))
                .keep_alive(keep_alive)
                .send()
                .await,
        )
        .await?
        .check("open point in time")?;
        body.get("id")
            .and_then(Value::as_str)
            .map(str::to_string)
            .ok_or_else(|| BackendError::Response {
                op: "open point in time",
                detail: "no id in the answer".to_string(),
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
                .close_point_in_time()
                .body(json!({ "id": pit_id }))
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
