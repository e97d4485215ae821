//! The HTTP API on `run.listen`, beside `/health`, `/ready` and `/metrics`: anomalies from
//! the cluster, feedback on one of them, mutes.
//!
//! Owns: [`Api`] and [`routes`]. Every answer is JSON; an error is `{"error": …}` with the
//! offending `field` when there is one: 400 for a bad parameter or body, 401 without the bearer
//! token (`run.api_token`, when set), 404 for an unknown path or id, 405 for a wrong method,
//! 502 when the cluster fails. Feedback is written onto the anomaly document
//! (`feedback.label`), exactly what a user does in Kibana's Discover, so the sidecar's next
//! poll learns it whichever way it came. Mutes go to the same `mutes.json` as `logwarden mute`.

use crate::backend::{connect, Backend, HttpMethod};
use crate::config::Config;
use crate::feedback::mutes::Mutes;
use crate::model::{AnomalyType, FeedbackLabel, Severity};
use chrono::{DateTime, Utc};
use serde_json::{json, Value};
use std::collections::HashMap;
use std::convert::Infallible;
use std::sync::Arc;
use tokio::sync::{Mutex, OnceCell};
use warp::http::StatusCode;
use warp::Filter;

/// What the API needs: the config, the token, and a cluster connection made on first use.
pub struct Api {
    config: Config,
    token: Option<String>,
    backend: OnceCell<Arc<dyn Backend>>,
    /// Serialises read-modify-write of the mutes file.
    mutes: Mutex<()>,
}

/// An answer: status and JSON body.
type Answer = (StatusCode, Value);

fn error(status: StatusCode, message: impl Into<String>, field: Option<&str>) -> Answer {
    let mut body = json!({"error": message.into()});
    if let Some(f) = field {
        body["field"] = json!(f);
    }
    (status, body)
}

fn bad(field: &str, message: impl Into<String>) -> Answer {
    error(StatusCode::BAD_REQUEST, message, Some(field))
}

/// The OpenAPI description served at `/api/v1/openapi.json`.
const OPENAPI: &str = include_str!("openapi.json");

impl Api {
    /// The API of `config`; reads `run.api_token` now (a missing secret is an error naming it).
    pub fn new(config: &Config) -> anyhow::Result<Self> {
        let token = match &config.run.api_token {
            Some(s) => Some(
                s.resolve()
                    .map_err(|e| anyhow::anyhow!("config key `run.api_token`: {e}"))?
                    .expose()
                    .to_string(),
            ),
            None => None,
        };
        Ok(Api {
            config: config.clone(),
            token,
            backend: OnceCell::new(),
            mutes: Mutex::new(()),
        })
    }

    async fn backend(&self) -> Result<&Arc<dyn Backend>, Answer> {
        let cluster = self.config.cluster.as_ref().ok_or_else(|| {
            error(
                StatusCode::SERVICE_UNAVAILABLE,
                "no cluster configured",
                None,
            )
        })?;
        self.backend
            .get_or_try_init(|| async {
                connect(cluster)
                    .await
                    .map(Arc::from)
                    .map_err(|e| error(StatusCode::BAD_GATEWAY, format!("cluster: {e}"), None))
            })
            .await
    }

    fn authorized(&self, header: Option<&str>) -> bool {
        match &self.token {
            None => true,
            Some(t) => header
                .and_then(|h| h.strip_prefix("Bearer "))
                .is_some_and(|given| given.as_bytes() == t.as_bytes()),
        }
    }

    /// Route one request.
    async fn handle(
        &self,
        method: &warp::http::Method,
        path: &str,
        auth: Option<&str>,
        query: &str,
        body: &[u8],
    ) -> Answer {
        if !self.authorized(auth) {
            return error(
                StatusCode::UNAUTHORIZED,
                "missing or wrong bearer token (Authorization: Bearer …)",
                Some("Authorization"),
            );
        }
        let q: HashMap<String, String> = match serde_urlencoded::from_str(query) {
            Ok(q) => q,
            Err(e) => return bad("query", format!("not a query string: {e}")),
        };
        let parts: Vec<&str> = path.trim_matches('/').split('/').collect();
        use warp::http::Method as M;
        match (method, parts.as_slice()) {
            (&M::GET, ["openapi.json"]) => match serde_json::from_str(OPENAPI) {
                Ok(v) => (StatusCode::OK, v),
                Err(e) => error(StatusCode::INTERNAL_SERVER_ERROR, e.to_string(), None),
            },
            (&M::GET, ["anomalies"]) => self.anomalies(&q).await,
            (&M::POST, ["anomalies", id, "feedback"]) => self.feedback(id, body).await,
            (&M::GET, ["patterns"]) => self.patterns(&q).await,
            (&M::GET, ["mutes"]) => self.list_mutes().await,
            (&M::POST, ["mutes"]) => self.add_mute(body).await,
            (&M::DELETE, ["mutes", id]) => self.lift_mute(id).await,
            (
                _,
                ["openapi.json"]
                | ["anomalies"]
                | ["anomalies", _, "feedback"]
                | ["mutes"]
                | ["patterns"],
            )
            | (_, ["mutes", _]) => error(
                StatusCode::METHOD_NOT_ALLOWED,
                format!("{method} is not allowed on /api/v1/{}", parts.join("/")),
                None,
            ),
            _ => error(
                StatusCode::NOT_FOUND,
                format!(
                    "no endpoint /api/v1/{} (see /api/v1/openapi.json)",
                    parts.join("/")
                ),
                None,
            ),
        }
    }

    /// `GET /api/v1/anomalies?from&to&service&type&tier&size&page`, newest first.
    async fn anomalies(&self, q: &HashMap<String, String>) -> Answer {
        for key in q.keys() {
            if !["from", "to", "service", "type", "tier", "size", "page"].contains(&key.as_str()) {
                return bad(
                    key,
                    "unknown parameter (from, to, service, type, tier, size, page)",
                );
            }
        }
        let mut filter = vec![json!({"term": {"tenant": self.config.tenant.0}})];
        let mut range = serde_json::Map::new();
        for (key, op) in [("from", "gte"), ("to", "lt")] {
            if let Some(v) = q.get(key) {
                match DateTime::parse_from_rfc3339(v) {
                    Ok(t) => {
                        range.insert(op.into(), json!(t.with_timezone(&Utc).to_rfc3339()));
                    }
                    Err(_) => return bad(key, format!("`{v}` is not an RFC 3339 time")),
                }
            }
        }
        if !range.is_empty() {
            filter.push(json!({"range": {"@timestamp": range}}));
        }
        if let Some(s) = q.get("service") {
            filter.push(json!({"term": {"service.name": s}}));
        }
        if let Some(t) = q.get("type") {
            if serde_json::from_value::<AnomalyType>(json!(t)).is_err() {
                return bad("type", format!("unknown anomaly type `{t}`"));
            }
            filter.push(json!({"term": {"anomaly.type": t}}));
        }
        if let Some(t) = q.get("tier") {
            if serde_json::from_value::<Severity>(json!(t)).is_err() {
                return bad("tier", format!("`{t}` is not low, moderate or critical"));
            }
            filter.push(json!({"term": {"anomaly.severity": t}}));
        }
        let number = |key: &str, default: u64, max: u64| -> Result<u64, Answer> {
            match q.get(key) {
                None => Ok(default),
                Some(v) => v
                    .parse::<u64>()
                    .ok()
                    .filter(|n| (1..=max).contains(n))
                    .ok_or_else(|| {
                        bad(key, format!("`{v}` is not a whole number from 1 to {max}"))
                    }),
            }
        };
        let size = match number("size", 100, 1000) {
            Ok(n) => n,
            Err(e) => return e,
        };
        let page = match number("page", 1, 10_000 / size) {
            Ok(n) => n,
            Err(e) => return e,
        };
        let backend = match self.backend().await {
            Ok(b) => b,
            Err(e) => return e,
        };
        let body = json!({
            "size": size, "from": (page - 1) * size, "track_total_hits": true,
            "query": {"bool": {"filter": filter}},
            "sort": [{"@timestamp": "desc"}, {"anomaly.id": "asc"}],
        });
        let base = &self.config.indices.anomalies;
        match super::docs::search_anomalies(backend.as_ref(), base, "api anomalies", body).await {
            Ok(r) => {
                let hits = r["hits"]["hits"].as_array().cloned().unwrap_or_default();
                let anomalies: Vec<Value> =
                    hits.into_iter().map(|h| h["_source"].clone()).collect();
                (
                    StatusCode::OK,
                    json!({"total": r["hits"]["total"]["value"], "page": page, "size": size, "anomalies": anomalies}),
                )
            }
            Err(e) => error(StatusCode::BAD_GATEWAY, format!("cluster: {e}"), None),
        }
    }

    /// `POST /api/v1/anomalies/{id}/feedback` with `{"label", "by"?, "comment"?}`: set the
    /// label on the anomaly's document.
    async fn feedback(&self, id: &str, body: &[u8]) -> Answer {
        let v: Value = match serde_json::from_slice(body) {
            Ok(v @ Value::Object(_)) => v,
            _ => return bad("body", "expected a JSON object {\"label\": \"false_positive\" | \"confirmed\", \"by\"?, \"comment\"?}"),
        };
        for key in v.as_object().into_iter().flat_map(|o| o.keys()) {
            if !["label", "by", "comment"].contains(&key.as_str()) {
                return bad(key, "unknown field (label, by, comment)");
            }
        }
        if serde_json::from_value::<FeedbackLabel>(v["label"].clone()).is_err() {
            return bad("label", "must be \"false_positive\" or \"confirmed\"");
        }
        for key in ["by", "comment"] {
            if !(v[key].is_null() || v[key].is_string()) {
                return bad(key, "must be a string");
            }
        }
        let backend = match self.backend().await {
            Ok(b) => b,
            Err(e) => return e,
        };
        let find = json!({"size": 1, "_source": false, "query": {"bool": {"filter": [
            {"term": {"anomaly.id": id}}, {"term": {"tenant": self.config.tenant.0}}]}}});
        let base = &self.config.indices.anomalies;
        let found =
            super::docs::search_anomalies(backend.as_ref(), base, "api find anomaly", find).await;
        let hit = match found {
            Ok(r) => r["hits"]["hits"][0].clone(),
            Err(e) => return error(StatusCode::BAD_GATEWAY, format!("cluster: {e}"), None),
        };
        let (Some(doc_index), Some(doc_id)) = (hit["_index"].as_str(), hit["_id"].as_str()) else {
            return error(StatusCode::NOT_FOUND, format!("no anomaly {id}"), None);
        };
        let update = json!({"doc": {"feedback": {"label": v["label"], "by": v["by"], "comment": v["comment"]}}});
        match backend
            .send_raw(
                "api feedback",
                HttpMethod::Post,
                &format!("/{doc_index}/_update/{doc_id}"),
                &[("refresh", "true")],
                Some(update),
            )
            .await
            .and_then(|r| r.check("api feedback"))
        {
            Ok(_) => (
                StatusCode::OK,
                json!({"id": id, "index": doc_index, "label": v["label"]}),
            ),
            Err(e) => error(StatusCode::BAD_GATEWAY, format!("cluster: {e}"), None),
        }
    }

    /// `GET /api/v1/patterns?source=NAME[&service=S]`: the pattern report of a source's model
    /// (`run.state_dir/NAME.model`, else the newest `NAME-from-….model` of a replay).
    async fn patterns(&self, q: &HashMap<String, String>) -> Answer {
        for key in q.keys() {
            if !["source", "service"].contains(&key.as_str()) {
                return bad(key, "unknown parameter (source, service)");
            }
        }
        let Some(source) = q.get("source") else {
            return bad("source", "required: the name of a configured source");
        };
        if !self.config.sources.contains_key(source) {
            let names: Vec<&str> = self.config.sources.keys().map(String::as_str).collect();
            return bad(
                "source",
                format!("no source `{source}` (there are: {})", names.join(", ")),
            );
        }
        let dir = self.config.run.state_dir.clone();
        let live = dir.join(format!("{source}.model"));
        let path = if live.exists() {
            Some(live)
        } else {
            let prefix = format!("{source}-from-");
            std::fs::read_dir(&dir)
                .into_iter()
                .flatten()
                .flatten()
                .filter(|e| {
                    let n = e.file_name().to_string_lossy().into_owned();
                    n.starts_with(&prefix) && n.ends_with(".model")
                })
                .max_by_key(|e| e.metadata().and_then(|m| m.modified()).ok())
                .map(|e| e.path())
        };
        let Some(path) = path else {
            return error(
                StatusCode::NOT_FOUND,
                format!("source `{source}` has no model yet"),
                None,
            );
        };
        let service = q.get("service").cloned();
        let report = tokio::task::spawn_blocking(move || {
            crate::state::load::<crate::detect::Baseline>(&path)
                .map(|(_, b)| crate::detect::report::PatternReport::of(&b, service.as_deref()))
        })
        .await;
        match report {
            Ok(Ok(r)) => (StatusCode::OK, json!(r)),
            Ok(Err(e)) => error(
                StatusCode::INTERNAL_SERVER_ERROR,
                format!("model: {e}"),
                None,
            ),
            Err(e) => error(StatusCode::INTERNAL_SERVER_ERROR, e.to_string(), None),
        }
    }

    fn mutes_path(&self) -> std::path::PathBuf {
        Mutes::path(&self.config.run.state_dir)
    }

    async fn list_mutes(&self) -> Answer {
        let _guard = self.mutes.lock().await;
        match Mutes::load(&self.mutes_path()) {
            Ok(m) => {
                let now = Utc::now();
                let list: Vec<Value> = m
                    .mutes
                    .iter()
                    .map(|x| {
                        let mut v = json!(x);
                        v["active"] = json!(x.from <= now && now < x.until);
                        v
                    })
                    .collect();
                (StatusCode::OK, json!({"mutes": list}))
            }
            Err(e) => error(StatusCode::INTERNAL_SERVER_ERROR, e.to_string(), None),
        }
    }

    /// `POST /api/v1/mutes` with `{"service"?, "pattern"?, "type"?, "for", "reason"?, "by"?}`.
    async fn add_mute(&self, body: &[u8]) -> Answer {
        let v: Value = match serde_json::from_slice(body) {
            Ok(v @ Value::Object(_)) => v,
            _ => return bad("body", "expected a JSON object {\"service\"?, \"pattern\"?, \"type\"?, \"for\": \"2h\", \"reason\"?, \"by\"?}"),
        };
        for key in v.as_object().into_iter().flat_map(|o| o.keys()) {
            if !["service", "pattern", "type", "for", "reason", "by"].contains(&key.as_str()) {
                return bad(
                    key,
                    "unknown field (service, pattern, type, for, reason, by)",
                );
            }
        }
        let mut text = HashMap::new();
        for key in ["service", "pattern", "type", "for", "reason", "by"] {
            match &v[key] {
                Value::Null => {}
                Value::String(s) if !s.trim().is_empty() => {
                    text.insert(key, s.clone());
                }
                _ => return bad(key, "must be a non-empty string"),
            }
        }
        let kind = match text.get("type") {
            None => None,
            Some(t) => match serde_json::from_value::<AnomalyType>(json!(t)) {
                Ok(k) => Some(k),
                Err(_) => return bad("type", format!("unknown anomaly type `{t}`")),
            },
        };
        let Some(duration) = text.get("for") else {
            return bad("for", "required: how long, e.g. \"2h\"");
        };
        let duration = match humantime::parse_duration(duration)
            .ok()
            .and_then(|d| chrono::Duration::from_std(d).ok())
        {
            Some(d) => d,
            None => {
                return bad(
                    "for",
                    format!("`{duration}` is not a duration (90m, 2h, 1d)"),
                )
            }
        };
        let _guard = self.mutes.lock().await;
        let path = self.mutes_path();
        let mut mutes = match Mutes::load(&path) {
            Ok(m) => m,
            Err(e) => return error(StatusCode::INTERNAL_SERVER_ERROR, e.to_string(), None),
        };
        let added = mutes.add(
            text.get("service").cloned(),
            text.get("pattern").cloned(),
            kind,
            duration,
            text.get("reason").cloned(),
            text.get("by").cloned(),
            Utc::now(),
        );
        match added {
            Ok(m) => match mutes.save(&path) {
                Ok(()) => (StatusCode::CREATED, json!(m)),
                Err(e) => error(StatusCode::INTERNAL_SERVER_ERROR, e.to_string(), None),
            },
            Err(e) => bad(
                if duration <= chrono::Duration::zero() {
                    "for"
                } else {
                    "service"
                },
                e.to_string(),
            ),
        }
    }

    async fn lift_mute(&self, id: &str) -> Answer {
        let _guard = self.mutes.lock().await;
        let path = self.mutes_path();
        let mut mutes = match Mutes::load(&path) {
            Ok(m) => m,
            Err(e) => return error(StatusCode::INTERNAL_SERVER_ERROR, e.to_string(), None),
        };
        match mutes.lift(id) {
            Ok(m) => match mutes.save(&path) {
                Ok(()) => (StatusCode::OK, json!({"lifted": m})),
                Err(e) => error(StatusCode::INTERNAL_SERVER_ERROR, e.to_string(), None),
            },
            Err(e) => error(StatusCode::NOT_FOUND, e.to_string(), None),
        }
    }
}

/// The API's routes under `/api/v1/`.
pub fn routes(
    api: Arc<Api>,
    metrics: super::health::Metrics,
) -> impl Filter<Extract = (warp::reply::Response,), Error = warp::Rejection> + Clone {
    let query = warp::query::raw().or(warp::any().map(String::new)).unify();
    warp::path("api")
        .and(warp::path("v1"))
        .and(warp::path::tail())
        .and(warp::method())
        .and(warp::header::optional::<String>("authorization"))
        .and(query)
        .and(warp::body::bytes())
        .and_then(
            move |tail: warp::path::Tail,
                  method: warp::http::Method,
                  auth: Option<String>,
                  query: String,
                  body: bytes::Bytes| {
                let (api, metrics) = (api.clone(), metrics.clone());
                async move {
                    let (status, body) = api
                        .handle(&method, tail.as_str(), auth.as_deref(), &query, &body)
                        .await;
                    metrics
                        .api_requests
                        .with_label_values(&[status.as_str()])
                        .inc();
                    let reply = warp::reply::with_status(warp::reply::json(&body), status);
                    Ok::<_, Infallible>(warp::reply::Reply::into_response(reply))
                }
            },
        )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_token_secret_names_the_key_and_never_a_value() {
        let cfg = Config::from_yaml("run:\n  api_token: {env: LOGWARDEN_TEST_TOKEN_NEVER_SET}\n")
            .unwrap();
        let err = Api::new(&cfg).err().unwrap().to_string();
        assert!(err.contains("config key `run.api_token`"), "{err}");
        assert!(
            err.contains("LOGWARDEN_TEST_TOKEN_NEVER_SET is not set"),
            "{err}"
        );
    }
}
