//! End to end: a generated week with one incident of each type, trained and detected with
//! the real Trainer and Detector, evaluated against its labels.
//!
//! PENDING: fails against the placeholder detector on main (it finds nothing). The
//! integrator renames this file to `tests/demo_week.rs` once the real detector is merged.
//! Run in release for speed: `cargo test --release --test demo_week`.

use chrono::NaiveDate;
use logwarden::demo::{self, eval::Verdict, GenSettings};
use logwarden::model::Severity;

#[test]
fn every_incident_is_found_with_few_false_alerts_and_none_at_the_deploy() {
    let config = demo::demo_config().unwrap();
    let settings = GenSettings {
        seed: 2026,
        start: NaiveDate::from_ymd_opt(2026, 10, 12).unwrap(),
        train_days: 14,
        tz: config.timezone.0,
        rate: 1.0,
    };
    let dir = tempfile::tempdir().unwrap();
    let o = demo::run_pipeline(&config, &settings, dir.path()).unwrap();
    let summary = demo::pipeline::render_summary(&o);
    let e = &o.evaluation;
    for r in &e.incidents {
        assert!(r.found, "{} missed\n{summary}", r.incident.id);
        let a = &o.anomalies[r.first.unwrap()];
        assert!(!a.anomaly.explanation.is_empty(), "{summary}");
        if r.incident.kind == logwarden::model::AnomalyType::ParameterDrift {
            assert!(r.lead_hours.unwrap() >= 1.0, "{summary}");
        }
    }
    assert_eq!(e.false_per_day.len(), 7);
    for d in &e.false_per_day {
        assert!(d.moderate_plus() <= 2, "{}: {d:?}\n{summary}", d.date);
    }
    assert!(e.deploy_alerts().is_empty(), "{summary}");
    // the incidents themselves are reported as something a person sees
    let loud = e
        .incidents
        .iter()
        .filter(|r| o.anomalies[r.first.unwrap()].anomaly.severity >= Severity::Moderate)
        .count();
    assert!(
        loud >= 5,
        "{loud} incidents reached moderate or critical\n{summary}"
    );
    assert!(e.verdicts.iter().any(|v| matches!(v, Verdict::Match(_))));
    assert!(e.meets_bar(), "{summary}");
    // Every incident reaches a person: moderate or critical within 20 minutes, the drifts
    // an hour before their breach.
    let reach = logwarden::demo::eval::reach(
        &o.generated.labels,
        &o.anomalies,
        e,
        &logwarden::demo::eval::ReachConfig::default(),
    );
    assert_eq!(reach.reached(), 7, "{summary}");
}
