//! What reaches a person on the second, independently written generator (the platform
//! scenario, `src/scenario`): the full generate → train → detect → grade path on seed 1, as
//! `logwarden demo --scenario platform --seed 1` runs it.
//!
//! The floors here are what the detectors reach today (README, "A second scenario"): on
//! seed 1, all nine incidents reach moderate or critical in time (the value that jumps
//! 56-fold for half an hour among them), no moderate+ false alert on either day and none
//! during the deploy. A change that loses an incident, or adds noise, fails here.

use logwarden::scenario::{platform_config, run_platform, PlatformSettings};

#[test]
fn seed_one_reaches_a_person_for_all_nine_incidents_and_nothing_else() {
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
    for (r, i) in reach.incidents.iter().zip(&o.generated.labels.incidents) {
        assert!(r.reached, "{} ({:?}): {report}", i.id, i.kind);
    }
    assert_eq!(reach.reached(), 9, "{report}");
    assert_eq!(reach.max_false_loud_per_day(), 0, "{report}");
    assert_eq!(reach.deploy_loud, 0, "{report}");
}
