//! What reaches a person on the second, independently written generator (the platform
//! scenario, `src/scenario`): the full generate → train → detect → grade path on seed 1, as
//! `logwarden demo --scenario platform --seed 1` runs it.
//!
//! The floors here are what the detectors reach today (README, "A second scenario"): on
//! seed 1, eight of nine incidents reach moderate or critical in time (the job that runs
//! every five minutes is found after about an hour, too late for the 20-minute bar), at most
//! two moderate+ false alerts a day. A change that loses an incident, or adds noise, fails
//! here.

use logwarden::model::AnomalyType;
use logwarden::scenario::{platform_config, run_platform, PlatformSettings};

#[test]
fn seed_one_reaches_a_person_for_eight_incidents_of_nine_with_little_noise() {
    let config = platform_config().unwrap();
    let settings = PlatformSettings {
        seed: 1,
        ..PlatformSettings::default()
    };
    let dir = tempfile::tempdir().unwrap();
    let o = run_platform(&config, &settings, dir.path()).unwrap();
    let report = logwarden::scenario::run::render_summary(&o);
    let reach = &o.reach;
    assert_eq!(reach.incidents.len(), 9, "{report}");
    assert!(reach.reached() >= 8, "{report}");
    // Each of these kinds reaches a person on this seed.
    for (r, i) in reach.incidents.iter().zip(&o.generated.labels.incidents) {
        if i.service == "*" || matches!(i.kind, AnomalyType::NewPattern | AnomalyType::ErrorRatio) {
            assert!(r.reached, "{}: {report}", i.id);
        }
    }
    assert!(reach.max_false_loud_per_day() <= 2, "{report}");
}
