//! The HTTP API on `run.listen`, beside `/health`, `/ready` and `/metrics`: anomalies and
//! incidents from the cluster (one incident with the 30 minutes before it), a timeline by
//! tier, the pattern report, feedback on an anomaly or a whole incident, mutes.
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
use std::collections::{BTreeSet, HashMap};
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

/// How far before an incident its page looks, minutes.
const BEFORE_MINUTES: i64 = crate::notify::incident::DISCOVER_MINUTES;

/// Lines of the minutes before an incident returned with it.
const LINES_BEFORE: usize = 50;

/// `key`'s value as an RFC 3339 time.
fn parse_time(key: &str, v: &str) -> Result<DateTime<Utc>, Answer> {
    DateTime::parse_from_rfc3339(v)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|_| bad(key, format!("`{v}` is not an RFC 3339 time")))
}

/// `size` (1-1000, default 100) and `page` (from 1, within the first 10,000 hits).
fn paging(q: &HashMap<String, String>) -> Result<(u64, u64), Answer> {
    let number = |key: &str, default: u64, max: u64| -> Result<u64, Answer> {
        match q.get(key) {
            None => Ok(default),
            Some(v) => v
                .parse::<u64>()
                .ok()
                .filter(|n| (1..=max).contains(n))
                .ok_or_else(|| bad(key, format!("`{v}` is not a whole number from 1 to {max}"))),
        }
    };
    let size = number("size", 100, 1000)?;
    Ok((size, number("page", 1, 10_000 / size)?))
}

/// The `_source` of every hit.
fn sources(r: &Value) -> Vec<Value> {
    r["hits"]["hits"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|h| h["_source"].clone())
        .collect()
}

/// A field of a log document by its dotted name, nested or flat.
fn field(doc: &Value, name: &str) -> Value {
    if let Some(v) = doc.get(name) {
        return v.clone();
    }
    name.split('.')
        .try_fold(doc, |v, part| v.get(part))
        .cloned()
        .unwrap_or(Value::Null)
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
        let takes_query = matches!(
            parts.as_slice(),
            ["anomalies"] | ["incidents"] | ["timeline"] | ["patterns"]
        );
        if let (false, Some(key)) = (takes_query, q.keys().min()) {
            return bad(key, "this endpoint takes no parameters");
        }
        use warp::http::Method as M;
        match (method, parts.as_slice()) {
            (&M::GET, ["openapi.json"]) => match serde_json::from_str(OPENAPI) {
                Ok(v) => (StatusCode::OK, v),
                Err(e) => error(StatusCode::INTERNAL_SERVER_ERROR, e.to_string(), None),
            },
            (&M::GET, ["anomalies"]) => self.anomalies(&q).await,
            (&M::GET, ["incidents"]) => self.incidents(&q).await,
            (&M::GET, ["incidents", id]) => self.incident(id).await,
            (&M::GET, ["timeline"]) => self.timeline(&q).await,
            (&M::POST, ["anomalies", id, "feedback"]) => self.feedback(id, false, body).await,
            (&M::POST, ["incidents", id, "feedback"]) => self.feedback(id, true, body).await,
            (&M::GET, ["patterns"]) => self.patterns(&q).await,
            (&M::GET, ["sources"]) => (
                StatusCode::OK,
                json!({"sources": self.config.sources.keys().collect::<Vec<_>>()}),
            ),
            (&M::GET, ["mutes"]) => self.list_mutes().await,
            (&M::POST, ["mutes"]) => self.add_mute(body).await,
            (&M::DELETE, ["mutes", id]) => self.lift_mute(id).await,
            (
                _,
                ["openapi.json"]
                | ["anomalies"]
                | ["incidents"]
                | ["incidents", _]
                | ["timeline"]
                | ["anomalies", _, "feedback"]
                | ["incidents", _, "feedback"]
                | ["mutes"]
                | ["patterns"]
                | ["sources"],
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
        let keys = [
            "from", "to", "service", "type", "tier", "tenant", "size", "page",
        ];
        let mut filter = match self.common_filter(q, &keys, "@timestamp", "@timestamp") {
            Ok(f) => f,
            Err(e) => return e,
        };
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
            filter.push(json!({"term": {"anomaly.severity": t}}));
        }
        let sort = json!([{"@timestamp": "desc"}, {"anomaly.id": "asc"}]);
        let base = &self.config.indices.anomalies;
        self.page(q, base, "anomalies", filter, sort).await
    }

    /// `GET /api/v1/incidents?from&to&service&tier&size&page`: incidents overlapping the
    /// range, newest start first.
    async fn incidents(&self, q: &HashMap<String, String>) -> Answer {
        let keys = ["from", "to", "service", "tier", "tenant", "size", "page"];
        let mut filter = match self.common_filter(q, &keys, "incident.end", "incident.start") {
            Ok(f) => f,
            Err(e) => return e,
        };
        if let Some(s) = q.get("service") {
            filter.push(json!({"term": {"incident.services": s}}));
        }
        if let Some(t) = q.get("tier") {
            filter.push(json!({"term": {"incident.severity": t}}));
        }
        let sort = json!([{"incident.start": "desc"}, {"incident.id": "asc"}]);
        let base = &self.config.indices.incidents;
        self.page(q, base, "incidents", filter, sort).await
    }

    /// One page (`size`, `page` of `q`) of the documents of `base*` matching `filter`,
    /// answered as `{"total", "page", "size", <what>: [documents]}`.
    async fn page(
        &self,
        q: &HashMap<String, String>,
        base: &str,
        what: &str,
        filter: Vec<Value>,
        sort: Value,
    ) -> Answer {
        let (size, page) = match paging(q) {
            Ok(p) => p,
            Err(e) => return e,
        };
        let body = json!({
            "size": size, "from": (page - 1) * size, "track_total_hits": true,
            "query": {"bool": {"filter": filter}}, "sort": sort,
        });
        match self.search(base, "api list", body).await {
            Ok(r) => (
                StatusCode::OK,
                json!({"total": r["hits"]["total"]["value"], "page": page, "size": size, what: sources(&r)}),
            ),
            Err(e) => e,
        }
    }

    /// `GET /api/v1/incidents/{id}`: the incident, its anomalies (oldest first), and the 30
    /// minutes before it: every anomaly then, the lines its services logged (warnings and
    /// errors first) and their lines a minute; with Kibana links when `routes.links` is set.
    async fn incident(&self, id: &str) -> Answer {
        let tenant = json!({"term": {"tenant": self.config.tenant.0}});
        let find = json!({"size": 1, "query": {"bool": {"filter": [
            {"term": {"incident.id": id}}, tenant]}}});
        let found = match self
            .search(&self.config.indices.incidents, "api incident", find)
            .await
        {
            Ok(r) => r["hits"]["hits"][0]["_source"].clone(),
            Err(e) => return e,
        };
        if found.is_null() {
            return error(StatusCode::NOT_FOUND, format!("no incident {id}"), None);
        }
        let time = |key: &str| {
            found["incident"][key]
                .as_str()
                .and_then(|t| t.parse::<DateTime<Utc>>().ok())
        };
        let (Some(start), Some(end)) = (time("start"), time("end")) else {
            return error(
                StatusCode::BAD_GATEWAY,
                format!("incident {id} has no start or end"),
                None,
            );
        };
        let before = start - chrono::Duration::minutes(BEFORE_MINUTES);
        let members = json!({"size": 1000, "query": {"bool": {"filter": [
            {"term": {"incident.id": id}}, tenant]}},
            "sort": [{"@timestamp": "asc"}, {"anomaly.id": "asc"}]});
        let anomalies = match self
            .search(
                &self.config.indices.anomalies,
                "api incident anomalies",
                members,
            )
            .await
        {
            Ok(r) => sources(&r),
            Err(e) => return e,
        };
        let earlier = json!({"size": 200, "query": {"bool": {"filter": [
            {"range": {"@timestamp": {"gte": before.to_rfc3339(), "lt": start.to_rfc3339()}}},
            tenant], "must_not": [{"term": {"incident.id": id}}]}},
            "sort": [{"@timestamp": "asc"}, {"anomaly.id": "asc"}]});
        let earlier = match self
            .search(
                &self.config.indices.anomalies,
                "api incident before",
                earlier,
            )
            .await
        {
            Ok(r) => sources(&r),
            Err(e) => return e,
        };
        let services: Vec<String> = found["incident"]["services"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|s| s.as_str().map(String::from))
            .collect();
        // The logs are context: when they cannot be read (a source's mapping the queries do
        // not fit), the incident is still answered, with the reason.
        let mut context = json!({"from": before, "to": start, "anomalies": earlier});
        match self.lines_before(&services, before, start, end).await {
            Ok((lines, per_minute)) => {
                context["lines"] = json!(lines);
                context["lines_per_minute"] = per_minute;
            }
            Err((_, e)) => {
                context["lines"] = json!([]);
                context["lines_per_minute"] = json!({});
                context["lines_error"] = e["error"].clone();
            }
        }
        let links = crate::notify::incident::Links::build(
            &self.config.routes.links,
            &services,
            start,
            end,
            &self.config.fields.service,
        );
        (
            StatusCode::OK,
            json!({
                "incident": found,
                "anomalies": anomalies,
                "before": context,
                "links": links,
            }),
        )
    }

    /// What `services` logged in `[from, start)` across the configured sources: up to 50
    /// lines, warnings and errors first, and per service the lines a minute over
    /// `[from, end)`.
    async fn lines_before(
        &self,
        services: &[String],
        from: DateTime<Utc>,
        start: DateTime<Utc>,
        end: DateTime<Utc>,
    ) -> Result<(Vec<Value>, Value), Answer> {
        let backend = self.backend().await?;
        let mut lines = Vec::new();
        let mut per_minute = serde_json::Map::new();
        for (name, source) in &self.config.sources {
            let f = source.fields.as_ref().unwrap_or(&self.config.fields);
            // Service and level may be keywords or dynamically mapped text with a
            // `.keyword` beside it: either matches.
            let either = |name: &str, values: Vec<Value>| {
                json!({"bool": {"minimum_should_match": 1, "should": [
                    {"terms": {name: values}}, {"terms": {format!("{name}.keyword"): values}}]}})
            };
            let mut filter = vec![json!({"range": {&f.timestamp: {
                "gte": from.to_rfc3339(), "lt": end.to_rfc3339()}}})];
            if let Some(extra) = &source.query {
                filter.push(extra.clone());
            }
            let minutes = json!({"date_histogram": {"field": &f.timestamp, "fixed_interval": "1m",
                "min_doc_count": 0, "extended_bounds": {"min": from.timestamp_millis(),
                "max": (end.timestamp_millis() - 1).max(from.timestamp_millis())}}});
            let mut aggs = serde_json::Map::new();
            for (k, svc) in services.iter().enumerate() {
                aggs.insert(
                    format!("s{k}"),
                    json!({"filter": either(&f.service, vec![json!(svc)]), "aggs": {"minutes": minutes}}),
                );
            }
            let loud: Vec<Value> = [
                "error", "warn", "warning", "fatal", "critical", "crit", "alert", "emerg", "severe",
            ]
            .iter()
            .flat_map(|l| [json!(l), json!(l.to_uppercase())])
            .collect();
            let newest =
                json!({"top_hits": {"size": LINES_BEFORE, "sort": [{&f.timestamp: "desc"}]}});
            aggs.insert(
                "before".into(),
                json!({"filter": {"bool": {"filter": [
                    {"range": {&f.timestamp: {"lt": start.to_rfc3339()}}},
                    either(&f.service, services.iter().map(|s| json!(s)).collect())]}},
                    "aggs": {"loud": {"filter": either(&f.level, loud), "aggs": {"top": newest}}, "any": newest}}),
            );
            let body = json!({"size": 0, "query": {"bool": {"filter": filter}}, "aggs": aggs});
            let r = backend
                .send_raw(
                    "api incident lines",
                    HttpMethod::Post,
                    &format!("/{}/_search", source.index),
                    &[("ignore_unavailable", "true"), ("allow_no_indices", "true")],
                    Some(body),
                )
                .await
                .and_then(|r| r.check("api incident lines"))
                .map_err(|e| error(StatusCode::BAD_GATEWAY, format!("cluster: {e}"), None))?;
            for (k, svc) in services.iter().enumerate() {
                let counts: Vec<Value> = r["aggregations"][format!("s{k}")]["minutes"]["buckets"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .map(|m| json!({"t": m["key_as_string"], "n": m["doc_count"]}))
                    .collect();
                // Several sources: the counts of a minute add up.
                match per_minute.get_mut(svc).and_then(Value::as_array_mut) {
                    Some(seen) if seen.len() == counts.len() => {
                        for (a, b) in seen.iter_mut().zip(&counts) {
                            a["n"] =
                                json!(a["n"].as_u64().unwrap_or(0) + b["n"].as_u64().unwrap_or(0));
                        }
                    }
                    _ => {
                        per_minute.insert(svc.clone(), json!(counts));
                    }
                }
            }
            let before = &r["aggregations"]["before"];
            let hits = before["loud"]["top"]["hits"]["hits"]
                .as_array()
                .into_iter()
                .flatten()
                .chain(
                    before["any"]["hits"]["hits"]
                        .as_array()
                        .into_iter()
                        .flatten(),
                );
            for h in hits {
                let doc = &h["_source"];
                let line = json!({
                    "source": name,
                    "time": field(doc, &f.timestamp),
                    "service": field(doc, &f.service),
                    "level": field(doc, &f.level),
                    "message": field(doc, &f.message),
                });
                if lines.len() < LINES_BEFORE && !lines.contains(&line) {
                    lines.push(line);
                }
            }
        }
        Ok((lines, Value::Object(per_minute)))
    }

    /// `GET /api/v1/timeline?from&to&service`: anomalies a bucket by tier, from the cluster's
    /// aggregation (so a page over 10,000 anomalies moves a few hundred numbers). The bucket
    /// is the smallest of 1, 5, 15, 30, 60, 180, 360, 720 or 1440 minutes that gives at most
    /// 200 buckets; the range defaults to the last 24 hours.
    async fn timeline(&self, q: &HashMap<String, String>) -> Answer {
        let keys = ["from", "to", "service", "tenant"];
        let mut filter = match self.common_filter(q, &keys, "@timestamp", "@timestamp") {
            Ok(f) => f,
            Err(e) => return e,
        };
        let to = match q.get("to").map(|v| parse_time("to", v)).transpose() {
            Ok(t) => t.unwrap_or_else(Utc::now),
            Err(e) => return e,
        };
        let from = match q.get("from").map(|v| parse_time("from", v)).transpose() {
            Ok(t) => t.unwrap_or(to - chrono::Duration::hours(24)),
            Err(e) => return e,
        };
        if from >= to {
            return bad("from", "must be before `to`");
        }
        if q.get("from").is_none() {
            filter.push(json!({"range": {"@timestamp": {"gte": from.to_rfc3339()}}}));
        }
        if let Some(s) = q.get("service") {
            filter.push(json!({"term": {"service.name": s}}));
        }
        let span = (to - from).num_minutes().max(1);
        let minutes = [1, 5, 15, 30, 60, 180, 360, 720, 1440]
            .into_iter()
            .find(|m| span / m <= 200)
            .unwrap_or(10_080);
        let body = json!({
            "size": 0, "track_total_hits": true,
            "query": {"bool": {"filter": filter}},
            "aggs": {"buckets": {"date_histogram": {"field": "@timestamp", "fixed_interval": format!("{minutes}m"), "min_doc_count": 1},
                "aggs": {"tiers": {"terms": {"field": "anomaly.severity", "size": 3}}}}},
        });
        match self
            .search(&self.config.indices.anomalies, "api timeline", body)
            .await
        {
            Ok(r) => {
                let buckets: Vec<Value> = r["aggregations"]["buckets"]["buckets"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .map(|b| {
                        let mut v = json!({"t": b["key_as_string"], "low": 0, "moderate": 0, "critical": 0});
                        for t in b["tiers"]["buckets"].as_array().into_iter().flatten() {
                            if let Some(k) = t["key"].as_str() {
                                v[k] = t["doc_count"].clone();
                            }
                        }
                        v
                    })
                    .collect();
                (
                    StatusCode::OK,
                    json!({"from": from, "to": to, "bucket_minutes": minutes, "total": r["hits"]["total"]["value"], "buckets": buckets}),
                )
            }
            Err(e) => e,
        }
    }

    /// Filters shared by the list endpoints: the tenant, `from`/`to` (RFC 3339) on the
    /// given fields, `tier`; any key outside `keys` is refused by name.
    fn common_filter(
        &self,
        q: &HashMap<String, String>,
        keys: &[&str],
        from_field: &str,
        to_field: &str,
    ) -> Result<Vec<Value>, Answer> {
        for key in q.keys() {
            if !keys.contains(&key.as_str()) {
                return Err(bad(key, format!("unknown parameter ({})", keys.join(", "))));
            }
        }
        // One sidecar serves its own tenant: a team's token reads only its team's documents.
        let tenant = &self.config.tenant.0;
        if let Some(t) = q.get("tenant").filter(|t| *t != tenant) {
            return Err(bad(
                "tenant",
                format!("this sidecar serves tenant `{tenant}` only, not `{t}`"),
            ));
        }
        let mut filter = vec![json!({"term": {"tenant": tenant}})];
        for (key, op, on) in [("from", "gte", from_field), ("to", "lt", to_field)] {
            if let Some(v) = q.get(key) {
                let t = parse_time(key, v)?;
                filter.push(json!({"range": {on: {op: t.to_rfc3339()}}}));
            }
        }
        if let Some(t) = q.get("tier") {
            if serde_json::from_value::<Severity>(json!(t)).is_err() {
                return Err(bad(
                    "tier",
                    format!("`{t}` is not low, moderate or critical"),
                ));
            }
        }
        Ok(filter)
    }

    /// Search every index of `base` (`base*`), a cluster failure as a 502.
    async fn search(&self, base: &str, op: &'static str, body: Value) -> Result<Value, Answer> {
        let backend = self.backend().await?;
        super::docs::search_anomalies(backend.as_ref(), base, op, body)
            .await
            .map_err(|e| error(StatusCode::BAD_GATEWAY, format!("cluster: {e}"), None))
    }

    /// `POST /api/v1/anomalies/{id}/feedback` with `{"label", "by"?, "comment"?}`: set the
    /// label on the anomaly's document.
    ///
    /// `POST /api/v1/incidents/{id}/feedback` (`incident` true) sets it on every anomaly of
    /// the incident.
    async fn feedback(&self, id: &str, incident: bool, body: &[u8]) -> Answer {
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
        let (what, key) = if incident {
            ("incident", "incident.id")
        } else {
            ("anomaly", "anomaly.id")
        };
        let find = json!({"size": 1000, "_source": false, "query": {"bool": {"filter": [
            {"term": {key: id}}, {"term": {"tenant": self.config.tenant.0}}]}}});
        let hits = match self
            .search(&self.config.indices.anomalies, "api find anomaly", find)
            .await
        {
            Ok(r) => r["hits"]["hits"].as_array().cloned().unwrap_or_default(),
            Err(e) => return e,
        };
        if hits.is_empty() {
            return error(StatusCode::NOT_FOUND, format!("no {what} {id}"), None);
        }
        let update = json!({"doc": {"feedback": {"label": v["label"], "by": v["by"], "comment": v["comment"]}}});
        let mut indices = BTreeSet::new();
        for hit in &hits {
            let (Some(doc_index), Some(doc_id)) = (hit["_index"].as_str(), hit["_id"].as_str())
            else {
                continue;
            };
            let sent = backend
                .send_raw(
                    "api feedback",
                    HttpMethod::Post,
                    &format!("/{doc_index}/_update/{doc_id}"),
                    &[("refresh", "true")],
                    Some(update.clone()),
                )
                .await
                .and_then(|r| r.check("api feedback"));
            if let Err(e) = sent {
                return error(StatusCode::BAD_GATEWAY, format!("cluster: {e}"), None);
            }
            indices.insert(doc_index.to_string());
        }
        let mut answer = json!({"id": id, "label": v["label"], "anomalies": hits.len()});
        if let (false, Some(index)) = (incident, indices.first()) {
            answer["index"] = json!(index);
        }
        (StatusCode::OK, answer)
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
