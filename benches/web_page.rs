//! The API and the web page over 10,000 anomalies (1,250 incidents, 20 services, a week) on
//! the real Elasticsearch: the time of each endpoint the page uses (median and 95th
//! percentile of 20 requests), and of the page in a headless Chromium from the start of a
//! view to its last drawing, fetches included (median of 5; the page records it in
//! `data-route-ms`).
//!
//! `scripts/clusters start; eval "$(scripts/clusters env)"`, then
//! `cargo bench --bench web_page`. The documents go to `bench-web-*` indices, written once:
//! a rerun finding 10,000 anomalies there only measures.

#[path = "../tests/web_support/mod.rs"]
mod web_support;

use chrono::{Duration, DurationRound, Utc};
use logwarden::backend::{bulk, connect, templates, Backend, HttpMethod};
use logwarden::config::Config;
use logwarden::model::*;
use logwarden::sidecar::{api::Api, docs, health};
use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Instant;

const ANOMALIES: usize = 10_000;
const PER_INCIDENT: usize = 8;

fn anomalies(now: chrono::DateTime<Utc>) -> Vec<Anomaly> {
    let kinds = [
        AnomalyType::NewPattern,
        AnomalyType::VolumeSpike,
        AnomalyType::VolumeDrop,
        AnomalyType::ErrorRatio,
        AnomalyType::ParameterDrift,
    ];
    let week = Duration::days(7).num_seconds();
    (0..ANOMALIES)
        .map(|k| {
            let incident = k / PER_INCIDENT;
            // Incidents spread over the week; their anomalies a minute apart.
            let start = now - Duration::seconds(week)
                + Duration::seconds((incident as i64 * week) / (ANOMALIES / PER_INCIDENT) as i64)
                + Duration::minutes((k % PER_INCIDENT) as i64);
            let start = start.duration_trunc(Duration::minutes(1)).unwrap();
            let severity = match k % 20 {
                0 => Severity::Critical,
                1..=5 => Severity::Moderate,
                _ => Severity::Low,
            };
            let score = match severity {
                Severity::Critical => 85.0,
                Severity::Moderate => 60.0,
                Severity::Low => 30.0,
            };
            let service = format!("svc-{:02}", incident % 20);
            let template = format!("request {} failed after <*> ms", k % 300);
            Anomaly {
                timestamp: start,
                anomaly: AnomalyBody {
                    id: content_id(&["bench", &k.to_string()]),
                    kind: kinds[k % kinds.len()],
                    severity,
                    score,
                    window: Window {
                        start,
                        end: start + Duration::minutes(10),
                    },
                    observed: 40.0 + (k % 50) as f64,
                    expected: 10.0,
                    unit: "count".into(),
                    confidence: 0.8,
                    probability: 1e-6,
                    explanation: format!(
                        "{service}: {template} came {} times, usually 10",
                        40 + k % 50
                    ),
                },
                service: ServiceRef { name: service },
                pattern: PatternRef {
                    id: TemplateId::of(&template).to_string(),
                    template,
                    cluster_id: None,
                    examples: vec![format!("request {} failed after 5000 ms", k % 300)],
                },
                incident: IncidentRef {
                    id: format!("bench-incident-{incident}"),
                },
                model: ModelRef {
                    version: "bench".into(),
                },
                feedback: FeedbackRef::default(),
                tenant: "default".into(),
                event: EventRef {
                    kind: "alert".into(),
                    start,
                    end: start + Duration::minutes(10),
                    severity: ecs_severity(severity),
                    risk_score: score,
                },
                parameter: None,
                forecast: None,
            }
        })
        .collect()
}

async fn load(b: &dyn Backend, cfg: &Config) {
    let indices = &cfg.indices;
    let count = b
        .send_raw(
            "bench count",
            HttpMethod::Get,
            &format!("/{}*/_count", indices.anomalies),
            &[("ignore_unavailable", "true"), ("allow_no_indices", "true")],
            None,
        )
        .await
        .unwrap();
    if count.body["count"].as_u64() == Some(ANOMALIES as u64) {
        eprintln!(
            "web_page: {ANOMALIES} anomalies already in {}*",
            indices.anomalies
        );
        return;
    }
    for base in [&indices.anomalies, &indices.incidents] {
        let _ = b
            .send_raw(
                "bench delete",
                HttpMethod::Delete,
                &format!("/{base}*"),
                &[("allow_no_indices", "true"), ("expand_wildcards", "all")],
                None,
            )
            .await;
    }
    templates::install_templates(b, indices, true)
        .await
        .unwrap();
    let all = anomalies(Utc::now());
    let touched: BTreeSet<String> = all.iter().map(|a| a.incident.id.clone()).collect();
    let mut batches: std::collections::BTreeMap<String, Vec<bulk::BulkDoc>> = Default::default();
    for (a, d) in all.iter().zip(bulk::anomaly_docs(&all).unwrap()) {
        batches
            .entry(docs::weekly_index(&indices.anomalies, a.timestamp))
            .or_default()
            .push(d);
    }
    for (t, d) in docs::incident_docs(&all, &touched, "default") {
        batches
            .entry(docs::weekly_index(&indices.incidents, t))
            .or_default()
            .push(d);
    }
    for (index, docs) in batches {
        let r = bulk::write_docs(b, &index, docs, &b.config().bulk)
            .await
            .unwrap();
        assert!(r.failed.is_empty());
        b.refresh(&index).await.unwrap();
    }
    eprintln!(
        "web_page: wrote {ANOMALIES} anomalies and {} incidents",
        touched.len()
    );
}

fn summary(mut ms: Vec<f64>) -> String {
    ms.sort_by(f64::total_cmp);
    let p = |q: f64| ms[((ms.len() - 1) as f64 * q).round() as usize];
    format!("median {:>6.1} ms, p95 {:>6.1} ms", p(0.5), p(0.95))
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let url = std::env::var("LOGWARDEN_TEST_ES_URL")
        .expect("LOGWARDEN_TEST_ES_URL: run `eval \"$(scripts/clusters env)\"` first");
    let state = tempfile::tempdir().unwrap();
    let cfg = Config::from_yaml(&format!(
        "cluster:\n  url: {url}\nsources:\n  app:\n    index: bench-web-logs\nindices:\n  anomalies: bench-web-anomalies\n  incidents: bench-web-incidents\n  patterns: bench-web-patterns\n  state: bench-web-state\nrun:\n  state_dir: {}\n",
        state.path().display()
    ))
    .unwrap();
    let b = connect(cfg.cluster.as_ref().unwrap()).await.unwrap();
    load(b.as_ref(), &cfg).await;

    let (_stop_tx, mut stop) = tokio::sync::watch::channel(false);
    let addr = health::serve(
        "127.0.0.1:0".parse().unwrap(),
        health::Metrics::new(),
        Some(Arc::new(Api::new(&cfg).unwrap())),
        async move {
            let _ = stop.wait_for(|s| *s).await;
        },
    )
    .await
    .unwrap();
    let site = format!("http://{addr}");
    let client = reqwest::Client::new();
    let week_ago = (Utc::now() - Duration::days(7))
        .to_rfc3339()
        .replace('+', "%2B");
    let busiest = "bench-incident-1000";
    println!("API over {ANOMALIES} anomalies (Elasticsearch at {url}):");
    for path in [
        format!("timeline?from={week_ago}"),
        format!("incidents?from={week_ago}&size=50"),
        format!("incidents/{busiest}"),
        format!("anomalies?from={week_ago}&size=100"),
        format!("anomalies?from={week_ago}&size=1000"),
    ] {
        let mut ms = Vec::new();
        for _ in 0..20 {
            let t = Instant::now();
            let r = client
                .get(format!("{site}/api/v1/{path}"))
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), 200, "{path}");
            let _ = r.bytes().await.unwrap();
            ms.push(t.elapsed().as_secs_f64() * 1e3);
        }
        println!(
            "  GET /api/v1/{:<40} {}",
            path.replace(&format!("from={week_ago}"), "from=-7d"),
            summary(ms)
        );
    }

    let profile = tempfile::tempdir().unwrap();
    let web = web_support::Browser::start(profile.path()).await;
    web.go(&format!("{site}/ui/")).await;
    web.js("localStorage.setItem('logwarden.hours', '168'); return true")
        .await;
    println!("The page in headless Chromium:");
    for (name, hash, ready) in [
        (
            "timeline + incident list (a week)",
            "#/",
            "document.querySelectorAll('tr[data-incident-id]').length",
        ),
        (
            "an incident (8 anomalies)",
            &*format!("#/incident/{busiest}"),
            "document.querySelectorAll('.card.anomaly').length",
        ),
    ] {
        let mut ms = Vec::new();
        for _ in 0..5 {
            web.go("about:blank").await;
            web.go(&format!("{site}/ui/{hash}")).await;
            let took = web
                .until(name, &format!("return document.body.dataset.loaded && {ready} && document.body.dataset.routeMs"))
                .await;
            ms.push(took.as_str().unwrap().parse::<f64>().unwrap());
        }
        println!("  {name:<42} {}", summary(ms));
        web.shot(if hash == "#/" {
            "bench-timeline"
        } else {
            "bench-incident"
        })
        .await;
    }
}
