//! Index templates and retention policies on the real clusters `scripts/clusters start` runs:
//! Elasticsearch at `LOGWARDEN_TEST_ES_URL`, OpenSearch at `LOGWARDEN_TEST_OS_URL`. A missing
//! or unreachable cluster fails the test (it never skips): run `scripts/clusters start` and
//! `eval "$(scripts/clusters env)"`, or `scripts/test`.
//!
//! Each engine gets the same scenario on `tmpl-*` indices: the first install reports every
//! template installed, the second reports them present, `force` replaces them, an older
//! template is updated; an anomaly, an incident and a pattern-rate document written to new
//! indices get exactly the mapping of `mappings/*.json` (an unknown field stays in `_source`
//! and is not mapped); and the retention policy is attached to a new index and to one that
//! existed before the install.
//!
//! The clusters these tests run against are the `integ-test-zip` distributions, which have
//! neither ILM (Elasticsearch's x-pack-ilm module) nor ISM (OpenSearch's index-management
//! plugin). There the policies must be reported unavailable, with the reason, and the
//! templates must carry no lifecycle setting: both engines refuse a template naming
//! `index.lifecycle.name` without ILM (`unknown setting`), which the test shows with the
//! Elasticsearch variant, while the OpenSearch variant of the same template is accepted.

mod cluster_support;

use chrono::{DateTime, Duration, TimeZone, Utc};
use logwarden::backend::bulk::{write_docs, BulkDoc};
use logwarden::backend::templates::{
    existing_indices, index_template_body, policy_name, retention_unavailable, TEMPLATE_PRIORITY,
};
use logwarden::backend::{
    install_templates, Backend, Engine, HttpMethod, IndexKind, InstallOutcome, InstallReport,
    ObjectKind, TemplateOutcome,
};
use logwarden::config::{IndicesConfig, RetentionConfig};
use logwarden::model::{
    content_id, ecs_severity, Anomaly, AnomalyBody, AnomalyType, EventRef, FeedbackRef,
    ForecastRef, IncidentRef, ModelRef, PatternRef, ServiceRef, Severity, Window,
};
use serde_json::{json, Value};

async fn backend_from_env(var: &str, engine: Engine) -> Box<dyn Backend> {
    cluster_support::backend(var, engine, |cfg| cfg.request_timeout_secs = 30).await
}

fn indices(prefix: &str) -> IndicesConfig {
    IndicesConfig {
        anomalies: format!("{prefix}-anomalies"),
        incidents: format!("{prefix}-incidents"),
        patterns: format!("{prefix}-patterns"),
        state: format!("{prefix}-state"),
        retention: RetentionConfig {
            anomalies_days: 90,
            incidents_days: 60,
            patterns_days: 30,
        },
    }
}

async fn raw(b: &dyn Backend, method: HttpMethod, path: &str, body: Option<Value>) -> Value {
    let r = b.send_raw("test", method, path, &[], body).await.unwrap();
    r.check("test").unwrap()
}

async fn raw_delete_template(b: &dyn Backend, name: &str) {
    let r = b
        .send_raw(
            "test",
            HttpMethod::Delete,
            &format!("/_index_template/{name}"),
            &[],
            None,
        )
        .await
        .unwrap();
    assert!(r.is_success() || r.status == 404, "{r:?}");
}

/// Remove what an earlier run left: indices, templates, policies.
async fn clean(b: &dyn Backend, cfg: &IndicesConfig) {
    for kind in IndexKind::ALL {
        let index = kind.index_name(cfg);
        b.delete_index(&format!("{index}*")).await.unwrap();
        raw_delete_template(b, index).await;
        raw_delete_template(b, "tmpl-probe").await;
        let policy = match b.info().engine {
            Engine::Elasticsearch => format!("/_ilm/policy/{}", policy_name(index)),
            Engine::Opensearch => format!("/_plugins/_ism/policies/{}", policy_name(index)),
        };
        // On a cluster without ILM/ISM there is no such endpoint: any answer will do.
        b.send_raw("test", HttpMethod::Delete, &policy, &[], None)
            .await
            .unwrap();
    }
}

fn outcomes(r: &[InstallReport]) -> Vec<(ObjectKind, String, InstallOutcome)> {
    r.iter()
        .map(|x| (x.object, x.name.clone(), x.outcome))
        .collect()
}

/// The reports one call must give: policy then template per index, with these outcomes.
fn expected(
    engine: Engine,
    cfg: &IndicesConfig,
    policy: InstallOutcome,
    template: InstallOutcome,
) -> Vec<(ObjectKind, String, InstallOutcome)> {
    let policy_kind = match engine {
        Engine::Elasticsearch => ObjectKind::IlmPolicy,
        Engine::Opensearch => ObjectKind::IsmPolicy,
    };
    IndexKind::ALL
        .iter()
        .flat_map(|k| {
            let index = k.index_name(cfg);
            [
                (policy_kind, format!("{index}-retention"), policy),
                (ObjectKind::IndexTemplate, index.to_string(), template),
            ]
        })
        .collect()
}

fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 2, 9, 0, 0).unwrap()
}

fn anomaly() -> Anomaly {
    let start = t0();
    let end = start + Duration::minutes(10);
    let template = "disk usage on <*> at <*>%".to_string();
    Anomaly {
        timestamp: start,
        anomaly: AnomalyBody {
            id: content_id(&["forecast_breach", &template, &start.to_rfc3339()]),
            kind: AnomalyType::ForecastBreach,
            severity: Severity::Moderate,
            score: 61.5,
            window: Window { start, end },
            observed: 81.0,
            expected: 60.0,
            unit: "percent".to_string(),
            confidence: 0.8,
            probability: 1e-4,
            explanation: "disk usage on db-1 reaches 95% in 6 hours".to_string(),
        },
        service: ServiceRef {
            name: "db".to_string(),
        },
        pattern: PatternRef {
            id: "t00000000000000aa".to_string(),
            template: template.clone(),
            cluster_id: Some("p3".to_string()),
            examples: vec!["disk usage on db-1 at 81%".to_string()],
        },
        incident: IncidentRef {
            id: content_id(&["incident", "disk"]),
        },
        model: ModelRef {
            version: "test-1".to_string(),
        },
        feedback: FeedbackRef::default(),
        tenant: "default".to_string(),
        event: EventRef {
            kind: "alert".to_string(),
            start,
            end,
            severity: ecs_severity(Severity::Moderate),
            risk_score: 61.5,
        },
        parameter: None,
        forecast: Some(ForecastRef {
            threshold: 95.0,
            breach_at: end + Duration::hours(6),
            hours_to_breach: 6.0,
            horizon_hours: 24.0,
            level: 81.0,
            trend_per_hour: 2.3,
        }),
    }
}

/// A document of `kind` with every contract field set, plus fields outside the contract.
fn document(kind: IndexKind) -> Value {
    let mut doc = match kind {
        IndexKind::Anomalies => serde_json::to_value(anomaly()).unwrap(),
        IndexKind::Incidents => json!({
            "@timestamp": "2026-11-02T09:00:00Z",
            "tenant": "default",
            "incident": {
                "id": "i-1", "title": "db disk filling and api errors", "severity": "critical",
                "score": 88.0, "start": "2026-11-02T09:00:00Z", "end": "2026-11-02T09:40:00Z",
                "anomaly_count": 2, "anomaly_ids": ["a-1", "a-2"],
                "types": ["forecast_breach", "error_ratio"], "services": ["db", "api"]
            },
            "event": {"kind": "alert", "start": "2026-11-02T09:00:00Z",
                      "end": "2026-11-02T09:40:00Z", "severity": 3, "risk_score": 88.0},
            "model": {"version": "test-1"}
        }),
        IndexKind::Patterns => json!({
            "@timestamp": "2026-11-02T09:01:00Z",
            "tenant": "default",
            "service": {"name": "api"},
            "pattern": {"id": "t00000000000000bb", "template": "GET <*> 200 in <*>ms",
                        "cluster_id": "p1"},
            "rate": {"minutes": 1, "count": 412, "errors": 3, "expected": 398.5},
            "model": {"version": "test-1"}
        }),
    };
    doc["surprise"] = json!({"nested": {"deep": 1}, "label": "not in the contract"});
    doc["service"]["surprise_sub"] = json!("nor this");
    doc
}

/// Write one document of `kind` to the new index `index` and check its mapping is exactly
/// the shipped one, and the unknown fields are kept but not mapped.
async fn mapping_is_the_contract(b: &dyn Backend, kind: IndexKind, index: &str) {
    let doc = document(kind);
    let report = write_docs(
        b,
        index,
        vec![BulkDoc {
            id: "doc-1".to_string(),
            source: doc.to_string(),
        }],
        &b.config().bulk,
    )
    .await
    .unwrap();
    assert!(report.is_complete(), "{index}: {:?}", report.failed);
    assert_eq!(report.created, 1, "{index}");
    b.refresh(index).await.unwrap();
    assert_eq!(b.count(index).await.unwrap(), 1, "{index}");

    let shipped = kind.mapping().unwrap();
    let got = b.get_mapping(index).await.unwrap();
    let mut mappings = got[index]["mappings"].clone();
    // Elasticsearch answers `dynamic` as the string "false".
    if mappings["dynamic"] == json!("false") {
        mappings["dynamic"] = json!(false);
    }
    assert_eq!(
        mappings,
        shipped,
        "{index}: the mapping is not {} (unknown fields mapped?)",
        kind.mapping_file()
    );

    let stored = raw(b, HttpMethod::Get, &format!("/{index}/_doc/doc-1"), None).await;
    assert_eq!(stored["_source"]["surprise"]["nested"]["deep"], json!(1));
    assert_eq!(
        stored["_source"]["service"]["surprise_sub"],
        json!("nor this")
    );
}

/// Which retention policy `index` is attached to, per the engine's explain API.
async fn attached_policy(b: &dyn Backend, index: &str) -> Option<String> {
    match b.info().engine {
        Engine::Elasticsearch => {
            let e = raw(b, HttpMethod::Get, &format!("/{index}/_ilm/explain"), None).await;
            e.pointer(&format!("/indices/{index}/policy"))
                .and_then(Value::as_str)
                .map(str::to_string)
        }
        Engine::Opensearch => {
            // ISM attaches through `ism_template` when its coordinator sees the new index,
            // a moment after the index is created: ask a bounded number of times.
            for _ in 0..30 {
                let e = raw(
                    b,
                    HttpMethod::Get,
                    &format!("/_plugins/_ism/explain/{index}"),
                    None,
                )
                .await;
                let policy = e.get(index).and_then(|i| {
                    i.get("index.plugins.index_state_management.policy_id")
                        .or_else(|| i.get("policy_id"))
                        .and_then(Value::as_str)
                });
                if let Some(p) = policy {
                    return Some(p.to_string());
                }
                tokio::time::sleep(std::time::Duration::from_secs(1)).await;
            }
            None
        }
    }
}

async fn scenario(var: &str, engine: Engine) {
    let b = backend_from_env(var, engine).await;
    let b = b.as_ref();
    let cfg = indices("tmpl");
    clean(b, &cfg).await;

    // An index that exists before the install: the template cannot reach it, the install
    // must attach the policy to it explicitly.
    let old_index = format!("{}-2026.10.01", cfg.incidents);
    b.create_index(&old_index, json!({})).await.unwrap();

    let unavailable = retention_unavailable(b).await.unwrap();
    let first_policy = match &unavailable {
        Some(why) => {
            let component = match engine {
                Engine::Elasticsearch => "the x-pack-ilm module is not installed",
                Engine::Opensearch => "the opensearch-index-management plugin is not installed",
            };
            assert!(why.contains(component), "{why}");
            InstallOutcome::Unavailable
        }
        None => InstallOutcome::Installed,
    };
    let later_policy = |o: InstallOutcome| match &unavailable {
        Some(_) => InstallOutcome::Unavailable,
        None => o,
    };

    // 1. Everything is missing: installed.
    let r = install_templates(b, &cfg, false).await.unwrap();
    assert_eq!(
        outcomes(&r),
        expected(engine, &cfg, first_policy, InstallOutcome::Installed)
    );
    if let Some(why) = &unavailable {
        for p in r.iter().filter(|x| x.object != ObjectKind::IndexTemplate) {
            assert_eq!(&p.detail, why);
        }
    }
    for kind in IndexKind::ALL {
        let index = kind.index_name(&cfg);
        let t = b.get_index_template(index).await.unwrap().unwrap();
        assert_eq!(
            t["index_patterns"],
            json!([index, format!("{index}-*")]),
            "{index}"
        );
        assert_eq!(t["priority"], json!(TEMPLATE_PRIORITY));
        assert_eq!(t["_meta"]["managed_by"], json!("logwarden"));
        assert_eq!(
            t["template"]["mappings"],
            kind.mapping().unwrap(),
            "{index}"
        );
        let lifecycle = t.pointer("/template/settings/index/lifecycle/name");
        match (&unavailable, engine) {
            (None, Engine::Elasticsearch) => {
                assert_eq!(lifecycle, Some(&json!(policy_name(index))))
            }
            _ => assert_eq!(t["template"].get("settings"), None, "{index}: {t}"),
        }
    }

    // The Elasticsearch variant that names a policy is refused by an engine without ILM
    // (OpenSearch never has it): why there are two variants and a capability check.
    let probe = "tmpl-probe";
    if unavailable.is_some() || engine == Engine::Opensearch {
        let es_variant = index_template_body(
            IndexKind::Anomalies,
            probe,
            Engine::Elasticsearch,
            Some("tmpl-probe-retention"),
        )
        .unwrap();
        let err = b
            .put_index_template(probe, es_variant)
            .await
            .unwrap_err()
            .to_string();
        assert!(
            err.starts_with("put index template: status 400: ")
                && err.contains("unknown setting [index.lifecycle.name]"),
            "{err}"
        );
    }
    let own_variant = index_template_body(
        IndexKind::Anomalies,
        probe,
        engine,
        Some("tmpl-probe-retention"),
    )
    .unwrap();
    if engine == Engine::Opensearch || unavailable.is_none() {
        b.put_index_template(probe, own_variant).await.unwrap();
    }
    raw_delete_template(b, probe).await;

    // 2. Everything is there: left alone.
    let r = install_templates(b, &cfg, false).await.unwrap();
    assert_eq!(
        outcomes(&r),
        expected(
            engine,
            &cfg,
            later_policy(InstallOutcome::Present),
            InstallOutcome::Present
        )
    );

    // 3. Forced: replaced.
    let r = install_templates(b, &cfg, true).await.unwrap();
    assert_eq!(
        outcomes(&r),
        expected(
            engine,
            &cfg,
            later_policy(InstallOutcome::Forced),
            InstallOutcome::Forced
        )
    );

    // 4. An older template (an earlier mapping version) is updated, the others stay.
    let mut older = index_template_body(IndexKind::Patterns, &cfg.patterns, engine, None).unwrap();
    older["template"]["mappings"]["_meta"]["logwarden_mapping_version"] = json!(0);
    b.put_index_template(&cfg.patterns, older).await.unwrap();
    let r = install_templates(b, &cfg, false).await.unwrap();
    let mut want = expected(
        engine,
        &cfg,
        later_policy(InstallOutcome::Present),
        InstallOutcome::Present,
    );
    want[5].2 = InstallOutcome::Updated;
    assert_eq!(outcomes(&r), want);
    let t = b.get_index_template(&cfg.patterns).await.unwrap().unwrap();
    assert_eq!(
        t["template"]["mappings"],
        IndexKind::Patterns.mapping().unwrap()
    );

    // The anomaly template that `ensure_anomaly_template` sees is current.
    assert_eq!(
        b.ensure_anomaly_template(&cfg.anomalies).await.unwrap(),
        TemplateOutcome::Present
    );

    // 5. New indices (the plain name and a dated one) get exactly the contract.
    let new_indices = [
        (IndexKind::Anomalies, cfg.anomalies.clone()),
        (IndexKind::Incidents, cfg.incidents.clone()),
        (IndexKind::Patterns, format!("{}-2026.11.02", cfg.patterns)),
    ];
    for (kind, index) in &new_indices {
        mapping_is_the_contract(b, *kind, index).await;
    }
    // Anomalies written the pipeline's way too.
    let a = anomaly();
    let dated = format!("{}-2026.11.02", cfg.anomalies);
    let w = b.write_anomalies(&dated, &[a]).await.unwrap();
    assert_eq!(w.created, 1);
    let got = b.get_mapping(&dated).await.unwrap();
    assert_eq!(
        got[&dated]["mappings"]["properties"],
        IndexKind::Anomalies.mapping().unwrap()["properties"]
    );

    // The indices an install attaches a policy to explicitly: every open index of the
    // name and its `-*`, and none of another name.
    let found = existing_indices(b, &cfg.incidents).await.unwrap();
    let names: Vec<&String> = found.keys().collect();
    assert_eq!(names, [&cfg.incidents, &old_index]);
    // With ILM the install named the policy on both; OpenSearch keeps ISM state elsewhere.
    let lifecycle = match (&unavailable, engine) {
        (None, Engine::Elasticsearch) => Some(policy_name(&cfg.incidents)),
        _ => None,
    };
    assert!(found.values().all(|p| *p == lifecycle), "{found:?}");
    assert!(existing_indices(b, "tmpl-none").await.unwrap().is_empty());

    // 6. Retention: the policy is attached to the new indices and to the one that existed.
    for (kind, index) in &new_indices {
        let want = unavailable
            .is_none()
            .then(|| policy_name(kind.index_name(&cfg)));
        match &unavailable {
            None => assert_eq!(attached_policy(b, index).await, want, "{index}"),
            Some(_) => {
                // No lifecycle setting reached the index (the engine would have refused it).
                let s = raw(b, HttpMethod::Get, &format!("/{index}/_settings"), None).await;
                assert_eq!(
                    s[index.as_str()]["settings"]["index"].get("lifecycle"),
                    None
                );
            }
        }
    }
    if unavailable.is_none() {
        assert_eq!(
            attached_policy(b, &old_index).await,
            Some(policy_name(&cfg.incidents))
        );
    }

    clean(b, &cfg).await;
}

#[tokio::test]
async fn elasticsearch_templates_and_retention() {
    scenario("LOGWARDEN_TEST_ES_URL", Engine::Elasticsearch).await;
}

#[tokio::test]
async fn opensearch_templates_and_retention() {
    scenario("LOGWARDEN_TEST_OS_URL", Engine::Opensearch).await;
}
