//! The HTTP API against the real Elasticsearch (`LOGWARDEN_TEST_ES_URL`; a missing cluster
//! fails the test), over real HTTP on loopback: the bearer token, bad requests on every
//! endpoint answered 4xx with the field named, anomalies filtered from the cluster, feedback
//! that the next detection respects, and mutes.

mod sidecar_data;

use chrono::Duration;
use logwarden::sidecar::health;
use reqwest::{Client, Method, StatusCode};
use serde_json::{json, Value};
use sidecar_data::*;

struct Http {
    client: Client,
    base: String,
    token: Option<&'static str>,
}

impl Http {
    async fn call(&self, method: Method, path: &str, body: Option<&str>) -> (StatusCode, Value) {
        let mut r = self.client.request(method, format!("{}{path}", self.base));
        if let Some(t) = self.token {
            r = r.header("Authorization", format!("Bearer {t}"));
        }
        if let Some(b) = body {
            r = r
                .header("content-type", "application/json")
                .body(b.to_string());
        }
        let resp = r.send().await.unwrap();
        let status = resp.status();
        let text = resp.text().await.unwrap();
        let v = serde_json::from_str(&text).unwrap_or_else(|_| panic!("not JSON: {text}"));
        (status, v)
    }

    async fn bad(&self, method: Method, path: &str, body: Option<&str>, field: &str) {
        let (status, v) = self.call(method.clone(), path, body).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{method} {path}: {v}");
        assert_eq!(v["field"], field, "{method} {path}: {v}");
        assert!(v["error"].as_str().is_some_and(|e| !e.is_empty()), "{v}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_api_answers_filters_takes_feedback_and_mutes() {
    let b = backend("LOGWARDEN_TEST_ES_URL").await;
    let b = b.as_ref();
    let prefix = "api-es-";
    reset(b, prefix).await;
    let end = anchor();
    let from = end - Duration::hours(3);
    load(b, prefix, &generate(end, from)).await;
    let dir = tempfile::tempdir().unwrap();
    let token_file = dir.path().join("token");
    std::fs::write(&token_file, "s3cret-token\n").unwrap();
    let extra = format!("  api_token: {{file: {}}}\n", token_file.display());
    // `config` ends inside the `run` section: the token goes there.
    let cfg = config(&b.config().url, prefix, dir.path(), &extra);
    let (s, _) = run_once(&cfg, from, end).await;
    assert!(s.anomalies >= 2, "{s:?}");
    let anomalies_index = format!("{prefix}anomalies*");
    b.refresh(&anomalies_index).await.unwrap();
    b.refresh(&format!("{prefix}incidents*")).await.unwrap();

    let metrics = health::Metrics::new();
    let addr = serve_api(&cfg, metrics.clone()).await;
    let client = Client::new();
    let base = format!("http://{addr}");
    let anon = Http {
        client: client.clone(),
        base: base.clone(),
        token: None,
    };
    let wrong = Http {
        client: client.clone(),
        base: base.clone(),
        token: Some("guess"),
    };
    let http = Http {
        client,
        base,
        token: Some("s3cret-token"),
    };

    // The token: needed everywhere under /api/v1, never for health.
    let (st, _) = anon.call(Method::GET, "/health", None).await;
    assert_eq!(st, StatusCode::OK);
    for (m, p) in [
        (Method::GET, "/api/v1/anomalies"),
        (Method::POST, "/api/v1/anomalies/x/feedback"),
        (Method::GET, "/api/v1/mutes"),
        (Method::POST, "/api/v1/mutes"),
        (Method::DELETE, "/api/v1/mutes/m1"),
        (Method::GET, "/api/v1/openapi.json"),
        (Method::GET, "/api/v1/incidents"),
        (Method::GET, "/api/v1/incidents/x"),
        (Method::POST, "/api/v1/incidents/x/feedback"),
        (Method::GET, "/api/v1/timeline"),
    ] {
        for who in [&anon, &wrong] {
            let (st, v) = who.call(m.clone(), p, Some("{}")).await;
            assert_eq!(st, StatusCode::UNAUTHORIZED, "{m} {p}: {v}");
            assert_eq!(v["field"], "Authorization");
        }
    }
    let (st, v) = http.call(Method::GET, "/api/v1/openapi.json", None).await;
    assert_eq!(st, StatusCode::OK);
    assert_eq!(v["openapi"], "3.0.3");
    assert!(v["paths"]["/api/v1/mutes/{id}"]["delete"].is_object());
    let (st, v) = http.call(Method::GET, "/api/v1/nothing-here", None).await;
    assert_eq!(st, StatusCode::NOT_FOUND, "{v}");
    let (st, v) = http.call(Method::PUT, "/api/v1/mutes", Some("{}")).await;
    assert_eq!(st, StatusCode::METHOD_NOT_ALLOWED, "{v}");

    // Endpoints that take no parameters say so, naming the one given.
    for (m, p) in [
        (Method::GET, "/api/v1/openapi.json?x=1"),
        (Method::GET, "/api/v1/sources?x=1"),
        (Method::GET, "/api/v1/incidents/some-id?x=1"),
        (Method::POST, "/api/v1/incidents/some-id/feedback?x=1"),
        (Method::POST, "/api/v1/anomalies/some-id/feedback?x=1"),
        (Method::GET, "/api/v1/mutes?x=1"),
        (Method::POST, "/api/v1/mutes?x=1"),
        (Method::DELETE, "/api/v1/mutes/m1?x=1"),
    ] {
        http.bad(m, p, Some("{}"), "x").await;
    }
    let (st, v) = http.call(Method::GET, "/api/v1/sources", None).await;
    assert_eq!((st, &v["sources"]), (StatusCode::OK, &json!(["app"])));

    // Anomalies: bad parameters named, filters applied by the cluster.
    for (q, field) in [
        ("tier=loud", "tier"),
        ("type=spike", "type"),
        ("size=0", "size"),
        ("size=5000", "size"),
        ("page=x", "page"),
        ("from=yesterday", "from"),
        ("to=2026-13-01", "to"),
        ("colour=red", "colour"),
        ("tenant=other-team", "tenant"),
    ] {
        http.bad(Method::GET, &format!("/api/v1/anomalies?{q}"), None, field)
            .await;
    }
    let (st, all) = http
        .call(Method::GET, "/api/v1/anomalies?size=1000", None)
        .await;
    assert_eq!(st, StatusCode::OK, "{all}");
    assert_eq!(all["total"].as_u64(), Some(s.anomalies));
    let (_, own) = http
        .call(Method::GET, "/api/v1/anomalies?tenant=t&size=1000", None)
        .await;
    assert_eq!(own["total"], all["total"]);
    let (_, api_only) = http
        .call(Method::GET, "/api/v1/anomalies?service=api&size=1000", None)
        .await;
    let listed = api_only["anomalies"].as_array().unwrap();
    assert!(
        !listed.is_empty() && listed.iter().all(|a| a["service"]["name"] == "api"),
        "{api_only}"
    );
    let (_, page) = http
        .call(Method::GET, "/api/v1/anomalies?size=1&page=2", None)
        .await;
    assert_eq!(page["anomalies"].as_array().unwrap().len(), 1);
    assert_eq!(
        page["anomalies"][0], all["anomalies"][1],
        "page 2 of size 1 is the second newest"
    );
    let since = (end - Duration::minutes(30)).to_rfc3339();
    let (_, recent) = http
        .call(
            Method::GET,
            &format!(
                "/api/v1/anomalies?size=1000&from={}",
                since.replace('+', "%2B")
            ),
            None,
        )
        .await;
    for a in recent["anomalies"].as_array().unwrap() {
        assert!(a["@timestamp"].as_str().unwrap() >= since.as_str(), "{a}");
    }

    // Incidents: bad parameters named; the list, one incident with the 30 minutes before it.
    for (q, field) in [
        ("tier=loud", "tier"),
        ("size=0", "size"),
        ("page=0", "page"),
        ("from=yesterday", "from"),
        ("type=new_pattern", "type"),
    ] {
        http.bad(Method::GET, &format!("/api/v1/incidents?{q}"), None, field)
            .await;
    }
    let (st, incidents) = http
        .call(Method::GET, "/api/v1/incidents?size=1000", None)
        .await;
    assert_eq!(st, StatusCode::OK, "{incidents}");
    let listed = incidents["incidents"].as_array().unwrap();
    assert!(!listed.is_empty(), "{incidents}");
    let starts: Vec<&str> = listed
        .iter()
        .map(|i| i["incident"]["start"].as_str().unwrap())
        .collect();
    assert!(
        starts.windows(2).all(|w| w[0] >= w[1]),
        "newest first: {starts:?}"
    );
    // The db pool incident: api errors from 90 minutes into the range.
    let pool = all["anomalies"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| {
            a["pattern"]["template"]
                .as_str()
                .unwrap_or("")
                .contains("pool exhausted")
        })
        .expect("an anomaly on the pool-exhausted errors");
    let incident_id = pool["incident"]["id"].as_str().unwrap();
    let one = format!("/api/v1/incidents/{incident_id}");
    http.bad(Method::GET, &format!("{one}?verbose=1"), None, "verbose")
        .await;
    http.bad(
        Method::GET,
        "/api/v1/incidents?from=2026-01-01T00:00:00Z&to=x",
        None,
        "to",
    )
    .await;
    let (st, v) = http
        .call(Method::GET, "/api/v1/incidents/no-such", None)
        .await;
    assert_eq!(st, StatusCode::NOT_FOUND, "{v}");
    let (st, inc) = http.call(Method::GET, &one, None).await;
    assert_eq!(st, StatusCode::OK, "{inc}");
    assert_eq!(inc["incident"]["incident"]["id"], incident_id);
    let members = inc["anomalies"].as_array().unwrap();
    assert!(
        members
            .iter()
            .any(|a| a["anomaly"]["id"] == pool["anomaly"]["id"]),
        "{inc}"
    );
    assert!(members.iter().all(|a| a["incident"]["id"] == incident_id));
    let start: chrono::DateTime<chrono::Utc> = inc["incident"]["incident"]["start"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    let before = &inc["before"];
    assert_eq!(
        before["from"]
            .as_str()
            .unwrap()
            .parse::<chrono::DateTime<chrono::Utc>>()
            .unwrap(),
        start - Duration::minutes(30)
    );
    // The lines of the incident's services in the 30 minutes before: the normal api
    // traffic, none of the incident's own errors (they start at its start).
    let lines = before["lines"].as_array().unwrap();
    assert!(!lines.is_empty() && lines.len() <= 50, "{before}");
    for l in lines {
        let t: chrono::DateTime<chrono::Utc> = l["time"].as_str().unwrap().parse().unwrap();
        assert!(t < start && t >= start - Duration::minutes(30), "{l}");
        assert!(
            !l["message"].as_str().unwrap().contains("pool exhausted"),
            "{l}"
        );
    }
    assert!(lines.iter().any(|l| l["service"] == "api"), "{before}");
    let api_minutes = before["lines_per_minute"]["api"].as_array().unwrap();
    let incident_end: chrono::DateTime<chrono::Utc> = inc["incident"]["incident"]["end"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(
        api_minutes.len() as i64 >= 30 + (incident_end - start).num_minutes() - 1,
        "a count a minute from 30 minutes before to the end: {}",
        api_minutes.len()
    );
    assert!(
        api_minutes.iter().all(|m| m["n"].as_u64().unwrap() >= 1),
        "api logs every minute"
    );
    assert!(before["anomalies"]
        .as_array()
        .unwrap()
        .iter()
        .all(|a| a["incident"]["id"] != incident_id));
    let (_, api_incidents) = http
        .call(
            Method::GET,
            "/api/v1/incidents?service=worker&size=1000",
            None,
        )
        .await;
    for i in api_incidents["incidents"].as_array().unwrap() {
        assert!(
            i["incident"]["services"]
                .as_array()
                .unwrap()
                .contains(&json!("worker")),
            "{i}"
        );
    }

    // The timeline: buckets by tier adding up to every anomaly in its range.
    http.bad(Method::GET, "/api/v1/timeline?from=x", None, "from")
        .await;
    http.bad(Method::GET, "/api/v1/timeline?tier=low", None, "tier")
        .await;
    let range = format!(
        "from={}&to={}",
        (from - Duration::days(3)).to_rfc3339().replace('+', "%2B"),
        (end + Duration::hours(1)).to_rfc3339().replace('+', "%2B")
    );
    http.bad(
        Method::GET,
        &format!(
            "/api/v1/timeline?from={}&to={}",
            end.to_rfc3339().replace('+', "%2B"),
            from.to_rfc3339().replace('+', "%2B")
        ),
        None,
        "from",
    )
    .await;
    let (st, tl) = http
        .call(Method::GET, &format!("/api/v1/timeline?{range}"), None)
        .await;
    assert_eq!(st, StatusCode::OK, "{tl}");
    let buckets = tl["buckets"].as_array().unwrap();
    assert!(buckets.len() <= 200 && !buckets.is_empty(), "{tl}");
    let summed: u64 = buckets
        .iter()
        .map(|b| {
            ["low", "moderate", "critical"]
                .iter()
                .map(|k| b[k].as_u64().unwrap())
                .sum::<u64>()
        })
        .sum();
    assert_eq!(Some(summed), all["total"].as_u64(), "{tl}");

    // The pattern report of the source's model.
    http.bad(Method::GET, "/api/v1/patterns", None, "source")
        .await;
    http.bad(Method::GET, "/api/v1/patterns?source=nope", None, "source")
        .await;
    http.bad(
        Method::GET,
        "/api/v1/patterns?source=app&top=3",
        None,
        "top",
    )
    .await;
    let (st, report) = http
        .call(Method::GET, "/api/v1/patterns?source=app", None)
        .await;
    assert_eq!(st, StatusCode::OK, "{report}");
    let services: Vec<&str> = report["services"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["service"].as_str().unwrap())
        .collect();
    assert!(
        services.contains(&"api") && services.contains(&"worker"),
        "{services:?}"
    );
    let n90 = report["entries_for_90"].as_u64().unwrap();
    assert!(
        n90 >= 1 && n90 <= report["entry_count"].as_u64().unwrap(),
        "{report}"
    );

    // Feedback: bad bodies named; then a real mark, which the next detection respects.
    let loudest = all["anomalies"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|a| a["anomaly"]["severity"] != "low")
        .max_by(|x, y| {
            x["anomaly"]["score"]
                .as_f64()
                .unwrap()
                .total_cmp(&y["anomaly"]["score"].as_f64().unwrap())
        })
        .expect("a moderate+ anomaly")
        .clone();
    let id = loudest["anomaly"]["id"].as_str().unwrap();
    let fb = format!("/api/v1/anomalies/{id}/feedback");
    http.bad(Method::POST, &fb, Some("not json"), "body").await;
    http.bad(Method::POST, &fb, Some("[1]"), "body").await;
    http.bad(Method::POST, &fb, Some(r#"{"label": "meh"}"#), "label")
        .await;
    http.bad(
        Method::POST,
        &fb,
        Some(r#"{"label": "confirmed", "by": 7}"#),
        "by",
    )
    .await;
    http.bad(
        Method::POST,
        &fb,
        Some(r#"{"label": "confirmed", "who": "x"}"#),
        "who",
    )
    .await;
    let (st, v) = http
        .call(
            Method::POST,
            "/api/v1/anomalies/no-such-id/feedback",
            Some(r#"{"label": "confirmed"}"#),
        )
        .await;
    assert_eq!(st, StatusCode::NOT_FOUND, "{v}");
    let (st, v) = http
        .call(
            Method::POST,
            &fb,
            Some(r#"{"label": "false_positive", "by": "erin", "comment": "synthetic check"}"#),
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{v}");
    delete_all(b, &format!("{prefix}state")).await;
    let fresh = tempfile::tempdir().unwrap();
    let (s2, _) = run_once(
        &config(&b.config().url, prefix, fresh.path(), ""),
        from,
        end,
    )
    .await;
    assert_eq!(s2.failures, 0);
    b.refresh(&anomalies_index).await.unwrap();
    let (_, again) = http
        .call(Method::GET, "/api/v1/anomalies?size=1000", None)
        .await;
    let lowered = again["anomalies"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["anomaly"]["id"] == id)
        .unwrap();
    assert_eq!(lowered["feedback"]["label"], "false_positive");
    assert_eq!(lowered["feedback"]["by"], "erin");
    assert!(
        lowered["anomaly"]["score"].as_f64() < loudest["anomaly"]["score"].as_f64(),
        "{lowered}"
    );
    assert!(lowered["feedback"]["suppressed_by"]
        .as_str()
        .unwrap()
        .contains("last by erin"));

    // Feedback on a whole incident: every one of its anomalies gets the label.
    http.bad(
        Method::POST,
        &format!("{one}/feedback"),
        Some(r#"{"label": "nope"}"#),
        "label",
    )
    .await;
    let (st, v) = http
        .call(
            Method::POST,
            "/api/v1/incidents/no-such/feedback",
            Some(r#"{"label": "confirmed"}"#),
        )
        .await;
    assert_eq!(st, StatusCode::NOT_FOUND, "{v}");
    let (st, v) = http
        .call(
            Method::POST,
            &format!("{one}/feedback"),
            Some(r#"{"label": "confirmed", "by": "sam"}"#),
        )
        .await;
    assert_eq!(st, StatusCode::OK, "{v}");
    let (_, inc) = http.call(Method::GET, &one, None).await;
    let members = inc["anomalies"].as_array().unwrap();
    assert_eq!(v["anomalies"].as_u64(), Some(members.len() as u64));
    assert!(
        members
            .iter()
            .all(|a| a["feedback"]["label"] == "confirmed" && a["feedback"]["by"] == "sam"),
        "{inc}"
    );

    // Mutes.
    http.bad(Method::POST, "/api/v1/mutes", Some("{"), "body")
        .await;
    http.bad(
        Method::POST,
        "/api/v1/mutes",
        Some(r#"{"for": "2h"}"#),
        "service",
    )
    .await;
    http.bad(
        Method::POST,
        "/api/v1/mutes",
        Some(r#"{"service": "api"}"#),
        "for",
    )
    .await;
    http.bad(
        Method::POST,
        "/api/v1/mutes",
        Some(r#"{"service": "api", "for": "soon"}"#),
        "for",
    )
    .await;
    http.bad(
        Method::POST,
        "/api/v1/mutes",
        Some(r#"{"service": 3, "for": "1h"}"#),
        "service",
    )
    .await;
    http.bad(
        Method::POST,
        "/api/v1/mutes",
        Some(r#"{"type": "spike", "for": "1h"}"#),
        "type",
    )
    .await;
    http.bad(
        Method::POST,
        "/api/v1/mutes",
        Some(r#"{"service": "api", "for": "1h", "until": "x"}"#),
        "until",
    )
    .await;
    let (st, m) = http
        .call(
            Method::POST,
            "/api/v1/mutes",
            Some(r#"{"service": "api", "type": "new_pattern", "for": "2h", "reason": "drill"}"#),
        )
        .await;
    assert_eq!(st, StatusCode::CREATED, "{m}");
    assert_eq!(
        (m["id"].as_str(), m["kind"].as_str()),
        (Some("m1"), Some("new_pattern"))
    );
    let (_, list) = http.call(Method::GET, "/api/v1/mutes", None).await;
    assert_eq!(list["mutes"][0]["active"], true, "{list}");
    assert!(
        dir.path().join("mutes.json").exists(),
        "where `logwarden mute` and the sidecar look"
    );
    let (st, v) = http.call(Method::DELETE, "/api/v1/mutes/m9", None).await;
    assert_eq!(st, StatusCode::NOT_FOUND, "{v}");
    let (st, v) = http.call(Method::DELETE, "/api/v1/mutes/m1", None).await;
    assert_eq!((st, &v["lifted"]["id"]), (StatusCode::OK, &json!("m1")));
    let (_, list) = http.call(Method::GET, "/api/v1/mutes", None).await;
    assert_eq!(list["mutes"], json!([]));
    let text = metrics.render();
    assert!(
        text.contains("logwarden_api_requests_total{status=\"401\"} 20"),
        "{text}"
    );
    assert!(
        text.contains("logwarden_api_requests_total{status=\"201\"} 1"),
        "{text}"
    );
}
