//! Incident grouping and suppression windows.

use chrono::{DateTime, Duration, Utc};
use logwarden::incidents::grouping::SuppressionWindow;
use logwarden::incidents::{group, suppress_and_group, IncidentsConfig};
use logwarden::model::{
    content_id, Anomaly, AnomalyBody, AnomalyType, EventRef, FeedbackRef, IncidentRef, ModelRef,
    PatternRef, ServiceRef, Severity, Window,
};
use logwarden::validate::Problems;
use std::collections::BTreeMap;

fn t(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
}

fn anomaly(service: &str, start: &str, kind: AnomalyType) -> Anomaly {
    let start = t(start);
    let end = start + Duration::minutes(10);
    Anomaly {
        timestamp: start,
        anomaly: AnomalyBody {
            id: content_id(&[service, &start.to_rfc3339(), kind.as_str()]),
            kind,
            severity: Severity::Moderate,
            score: 60.0,
            window: Window { start, end },
            observed: 10.0,
            expected: 1.0,
            unit: "count".to_string(),
            confidence: 1.0,
            probability: 1e-6,
            explanation: "test".to_string(),
        },
        service: ServiceRef {
            name: service.to_string(),
        },
        pattern: PatternRef {
            id: "t1".to_string(),
            template: "x <*>".to_string(),
            cluster_id: None,
            examples: vec![],
        },
        incident: IncidentRef { id: String::new() },
        model: ModelRef {
            version: "m1".to_string(),
        },
        feedback: FeedbackRef::default(),
        tenant: "default".to_string(),
        event: EventRef {
            kind: "alert".to_string(),
            start,
            end,
            severity: 2,
            risk_score: 60.0,
        },
        parameter: None,
        forecast: None,
    }
}

fn config(yaml: &str) -> IncidentsConfig {
    serde_json::from_value(serde_yaml_value(yaml)).unwrap()
}

/// The `config` crate is how YAML reaches these structs; go through it here too.
fn serde_yaml_value(yaml: &str) -> serde_json::Value {
    let c = config::Config::builder()
        .add_source(config::File::from_str(yaml, config::FileFormat::Yaml))
        .build()
        .unwrap();
    c.try_deserialize::<serde_json::Value>().unwrap()
}

#[test]
fn related_services_close_in_time_share_an_incident_unrelated_do_not() {
    let cfg = config("gap_minutes: 30\nrelated_services:\n  checkout: [payments]\n");
    let mut a = vec![
        anomaly("checkout", "2026-11-03T14:00:00Z", AnomalyType::VolumeSpike),
        // Related (listed under checkout, read both ways), 20 min after checkout's window end.
        anomaly("payments", "2026-11-03T14:30:00Z", AnomalyType::ErrorRatio),
        // Unrelated service at the same time: its own incident.
        anomaly("search", "2026-11-03T14:05:00Z", AnomalyType::VolumeDrop),
        // Same service, but 50 min after the last checkout/payments window ended.
        anomaly("payments", "2026-11-03T15:30:00Z", AnomalyType::ErrorRatio),
    ];
    group(&mut a, &cfg);
    assert_eq!(a[0].incident.id, a[1].incident.id);
    assert_ne!(a[0].incident.id, a[2].incident.id);
    assert_ne!(a[0].incident.id, a[3].incident.id);
    assert_ne!(a[2].incident.id, a[3].incident.id);
    // The id derives from the earliest anomaly's id.
    assert_eq!(
        a[0].incident.id,
        format!("i{}", content_id(&["incident", &a[0].anomaly.id]))
    );
}

#[test]
fn an_escalation_found_later_keeps_the_incident_id_first_written() {
    let cfg = IncidentsConfig::default();
    // A silence since 17:10 is reported low at 17:30, then escalated at 17:40: the same
    // start, a later window end, and an id that may sort first.
    let mut low = anomaly("worker", "2026-11-03T17:10:00Z", AnomalyType::VolumeDrop);
    low.anomaly.window.end = t("2026-11-03T17:30:00Z");
    let mut first = vec![low.clone()];
    group(&mut first, &cfg);
    let mut ids = Vec::new();
    for extra in ["escalated-moderate", "escalated-critical", "a", "b", "c"] {
        let mut up = low.clone();
        up.anomaly.id = content_id(&[&low.anomaly.id, extra]);
        up.anomaly.window.end = t("2026-11-03T17:40:00Z");
        ids.push(up.anomaly.id.clone());
        let mut both = vec![up, low.clone()];
        group(&mut both, &cfg);
        assert_eq!(both[0].incident.id, first[0].incident.id, "{extra}");
        assert_eq!(both[1].incident.id, first[0].incident.id, "{extra}");
    }
    // Some of those ids sort before the first one: the window end, not the id, decides.
    assert!(
        ids.iter().any(|i| *i < low.anomaly.id),
        "{ids:?} {}",
        low.anomaly.id
    );
}

#[test]
fn a_chain_of_close_anomalies_is_one_incident_and_ids_are_stable_across_order() {
    let cfg = IncidentsConfig::default();
    let mut a: Vec<Anomaly> = (0..6)
        .map(|i| {
            let start = t("2026-11-03T10:00:00Z") + Duration::minutes(35 * i);
            anomaly("api", &start.to_rfc3339(), AnomalyType::ParameterDrift)
        })
        .collect();
    group(&mut a, &cfg);
    assert!(a.iter().all(|x| x.incident.id == a[0].incident.id));
    let id = a[0].incident.id.clone();
    let mut reversed: Vec<Anomaly> = a.iter().rev().cloned().collect();
    for x in &mut reversed {
        x.incident.id.clear();
    }
    group(&mut reversed, &cfg);
    assert!(reversed.iter().all(|x| x.incident.id == id));
}

#[test]
fn zero_gap_still_groups_overlapping_windows_only() {
    let cfg = config("gap_minutes: 0\n");
    let mut a = vec![
        anomaly("api", "2026-11-03T10:00:00Z", AnomalyType::VolumeSpike),
        anomaly("api", "2026-11-03T10:05:00Z", AnomalyType::ErrorRatio),
        anomaly("api", "2026-11-03T10:20:00Z", AnomalyType::ErrorRatio),
    ];
    group(&mut a, &cfg);
    assert_eq!(a[0].incident.id, a[1].incident.id);
    assert_ne!(a[1].incident.id, a[2].incident.id);
    group(&mut [], &cfg);
}

#[test]
fn maintenance_window_in_berlin_follows_local_time_across_the_dst_change() {
    // Sundays 02:00-04:00 Berlin time. DST ends on 2026-10-25: that is 00:00-02:00 UTC in
    // summer and 01:00-03:00 UTC in winter.
    let cfg = config(
        "suppress:\n  - days: [sun]\n    start: \"02:00\"\n    end: \"04:00\"\n    service: db\n",
    );
    let mut a = vec![
        anomaly("db", "2026-10-18T00:30:00Z", AnomalyType::VolumeDrop), // 02:30 CEST: dropped
        anomaly("db", "2026-10-18T02:30:00Z", AnomalyType::VolumeDrop), // 04:30 CEST: kept
        anomaly("db", "2026-11-01T00:30:00Z", AnomalyType::VolumeDrop), // 01:30 CET: kept
        anomaly("db", "2026-11-01T02:30:00Z", AnomalyType::VolumeDrop), // 03:30 CET: dropped
        anomaly("api", "2026-11-01T02:30:00Z", AnomalyType::VolumeDrop), // other service: kept
        anomaly("db", "2026-11-02T02:30:00Z", AnomalyType::VolumeDrop), // Monday: kept
    ];
    let kept_ids: Vec<String> = [1, 2, 4, 5]
        .iter()
        .map(|&i| a[i].anomaly.id.clone())
        .collect();
    suppress_and_group(&mut a, &cfg, chrono_tz::Europe::Berlin);
    let ids: Vec<String> = a.iter().map(|x| x.anomaly.id.clone()).collect();
    assert_eq!(ids, kept_ids);
    assert!(a.iter().all(|x| !x.incident.id.is_empty()));
}

#[test]
fn a_window_past_midnight_and_by_type() {
    let w = SuppressionWindow {
        days: vec!["Friday".to_string()],
        start: "23:00".to_string(),
        end: "01:00".to_string(),
        service: None,
        anomaly_type: Some(AnomalyType::VolumeDrop),
    };
    let utc = chrono_tz::UTC;
    // Friday 23:30 and Saturday 00:30 are covered; Saturday 23:30 is not.
    assert!(w.covers(
        &anomaly("x", "2026-11-06T23:30:00Z", AnomalyType::VolumeDrop),
        utc
    ));
    assert!(w.covers(
        &anomaly("x", "2026-11-07T00:30:00Z", AnomalyType::VolumeDrop),
        utc
    ));
    assert!(!w.covers(
        &anomaly("x", "2026-11-07T23:30:00Z", AnomalyType::VolumeDrop),
        utc
    ));
    // Another anomaly type is never covered.
    assert!(!w.covers(
        &anomaly("x", "2026-11-06T23:30:00Z", AnomalyType::VolumeSpike),
        utc
    ));
}

#[test]
fn validation_names_each_bad_key() {
    let mut related = BTreeMap::new();
    related.insert("checkout".to_string(), vec![String::new()]);
    let cfg = IncidentsConfig {
        gap_minutes: 30,
        related_services: related,
        suppress: vec![SuppressionWindow {
            days: vec!["sun".to_string(), "someday".to_string()],
            start: "25:00".to_string(),
            end: "4pm".to_string(),
            service: None,
            anomaly_type: None,
        }],
    };
    let mut p = Problems::default();
    cfg.validate("incidents", &mut p);
    let all = p.0.join("\n");
    assert_eq!(p.0.len(), 4, "{all}");
    assert!(
        all.contains("`incidents.related_services.checkout[0]`"),
        "{all}"
    );
    assert!(
        all.contains("`incidents.suppress[0].days[1]`: `someday`"),
        "{all}"
    );
    assert!(all.contains("`incidents.suppress[0].start`"), "{all}");
    assert!(all.contains("`incidents.suppress[0].end`"), "{all}");
    let mut ok = Problems::default();
    IncidentsConfig::default().validate("incidents", &mut ok);
    assert!(ok.0.is_empty());
}

#[test]
fn unknown_keys_and_types_are_rejected() {
    let bad: Result<IncidentsConfig, _> = serde_json::from_value(serde_yaml_value("gap: 30\n"));
    assert!(bad.unwrap_err().to_string().contains("unknown field `gap`"));
    let bad: Result<IncidentsConfig, _> = serde_json::from_value(serde_yaml_value(
        "suppress:\n  - start: \"01:00\"\n    end: \"02:00\"\n    anomaly_type: spike\n",
    ));
    assert!(bad.unwrap_err().to_string().contains("spike"));
}

#[test]
fn extreme_times_and_gaps_do_not_panic() {
    let cfg = IncidentsConfig {
        gap_minutes: u64::MAX,
        ..IncidentsConfig::default()
    };
    let mut a = vec![
        anomaly("api", "2026-11-03T10:00:00Z", AnomalyType::VolumeSpike),
        anomaly("api", "9999-12-31T23:50:00Z", AnomalyType::VolumeSpike),
    ];
    a[1].anomaly.window.end = DateTime::<Utc>::MAX_UTC;
    group(&mut a, &cfg);
    // A gap of (at most) ten years does not reach the year 9999.
    assert_ne!(a[0].incident.id, a[1].incident.id);
}

#[test]
fn service_names_in_yaml_keep_their_case() {
    let cfg = config("related_services:\n  Checkout: [Payments]\n");
    let mut a = vec![
        anomaly("Checkout", "2026-11-03T14:00:00Z", AnomalyType::VolumeSpike),
        anomaly("Payments", "2026-11-03T14:05:00Z", AnomalyType::ErrorRatio),
        anomaly("payments", "2026-11-03T14:05:00Z", AnomalyType::ErrorRatio),
    ];
    group(&mut a, &cfg);
    assert_eq!(a[0].incident.id, a[1].incident.id);
    assert_ne!(a[0].incident.id, a[2].incident.id);
}
