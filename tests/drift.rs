//! Parameter drift and forecasts on synthetic slots: two weeks of seasonal, noisy latencies
//! for training, then a normal week, a daily deploy, or a creep of +2% an hour.

use chrono::{DateTime, Duration, Timelike, Utc};
use logwarden::detect::drift::{DriftConfig, DriftFinding, SlotModel};
use logwarden::detect::forecast::{ForecastFinding, Threshold};
use logwarden::validate::Problems;

mod drift_gen;
use drift_gen::{how, Gen, BUCKET_MIN, KEY, SIGMA};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

/// exp(1.645 σ): the p95 of a log-normal over its median.
fn p95_factor() -> f64 {
    (1.644_854 * SIGMA).exp()
}

fn t(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
}

/// Monday 2026-11-02 00:00 UTC: the start of training.
fn train_start() -> DateTime<Utc> {
    t("2026-11-02T00:00:00Z")
}

fn train(cfg: &DriftConfig, seed: u64, deploy: bool) -> SlotModel {
    let mut g = Gen::new(seed);
    g.deploy = deploy;
    train_on(cfg, &mut g)
}

fn train_on(cfg: &DriftConfig, g: &mut Gen) -> SlotModel {
    let mut m = SlotModel::new(cfg);
    let mut at = train_start();
    while at < train_start() + Duration::days(14) {
        for v in g.bucket(at) {
            m.learn(how(at), v);
        }
        m.learn_bucket_end(how(at));
        at += Duration::minutes(BUCKET_MIN);
    }
    m
}

type Found = (DateTime<Utc>, Option<DriftFinding>, Option<ForecastFinding>);

/// Detection over `[from, from + hours)`; the buckets where something fired.
fn detect(
    m: &mut SlotModel,
    cfg: &DriftConfig,
    g: &mut Gen,
    from: DateTime<Utc>,
    hours: i64,
) -> Vec<Found> {
    let mut out = Vec::new();
    let mut at = from;
    while at < from + Duration::hours(hours) {
        for v in g.bucket(at) {
            m.observe(v);
        }
        let end = at + Duration::minutes(BUCKET_MIN);
        let (d, f) = m.close_bucket(cfg, &KEY, at, end, how(at));
        if d.is_some() || f.is_some() {
            out.push((end, d, f));
        }
        at = end;
    }
    out
}

fn detect_start() -> DateTime<Utc> {
    train_start() + Duration::days(14)
}

#[test]
fn normal_weeks_raise_nothing() {
    let cfg = DriftConfig::default();
    let model = train(&cfg, 1, false);
    for seed in 2..5 {
        let mut m = model.clone();
        let found = detect(&mut m, &cfg, &mut Gen::new(seed), detect_start(), 7 * 24);
        assert!(found.is_empty(), "seed {seed}: {found:?}");
    }
}

#[test]
fn the_daily_deploy_seen_in_training_is_normal_and_unseen_it_is_a_drift() {
    let cfg = DriftConfig::default();
    let mut g = Gen::new(7);
    g.deploy = true;
    let mut m = train(&cfg, 6, true);
    let found = detect(&mut m, &cfg, &mut g, detect_start(), 7 * 24);
    assert!(found.is_empty(), "{found:?}");

    // The same week against a model that never saw the deploy: the slow hour is a drift
    // (so the quiet week above is the model's doing, not a blind detector).
    let mut g = Gen::new(7);
    g.deploy = true;
    let mut m = train(&cfg, 6, false);
    let found = detect(&mut m, &cfg, &mut g, detect_start(), 7 * 24);
    let drifts: Vec<_> = found.iter().filter(|f| f.1.is_some()).collect();
    assert!(!drifts.is_empty());
    for (end, d, _) in drifts {
        assert_eq!(end.hour(), 14, "{end} {d:?}");
        assert!(d.as_ref().unwrap().magnitude > 0.3, "{d:?}");
    }
}

/// The first time the true p95 reaches `limit`, minute by minute.
fn true_breach(g: &Gen, from: DateTime<Utc>, limit: f64) -> DateTime<Utc> {
    let mut at = from;
    while g.median(at) * p95_factor() < limit {
        at += Duration::minutes(1);
        assert!(at < from + Duration::days(10), "never breaches");
    }
    at
}

#[test]
fn a_creep_of_two_percent_an_hour_drifts_early_and_forecasts_the_breach() {
    let mut cfg = DriftConfig::default();
    cfg.forecast.thresholds = vec![Threshold {
        slot: "latency_ms".to_string(),
        above: 450.0,
        service: None,
        quantile: None,
    }];
    let mut m = train(&cfg, 11, false);
    let mut g = Gen::new(12);
    let creep_from = detect_start() + Duration::hours(24);
    g.creep_from = Some(creep_from);
    g.creep = 0.02;
    let breach = true_breach(&g, creep_from, 450.0);
    let found = detect(&mut m, &cfg, &mut g, detect_start(), 24 * 4);

    let drift = found.iter().find(|f| f.1.is_some()).expect("no drift");
    let d = drift.1.as_ref().unwrap();
    let drift_lead = (breach - drift.0).num_minutes() as f64 / 60.0;
    println!(
        "creep from {creep_from}, true breach {breach}; drift at {} ({drift_lead:.1} h before): {d:?}",
        drift.0
    );
    assert!(drift.0 > creep_from, "drift before the creep began");
    assert!(
        drift_lead >= 1.0,
        "drift only {drift_lead:.1} h before the breach"
    );
    assert!(d.magnitude > 0.0 && d.current > d.baseline, "{d:?}");
    assert!(d.probability < 1e-3, "{d:?}");
    assert!(d.persistence >= 3, "{d:?}");
    assert_eq!(
        found.iter().filter(|f| f.1.is_some()).count(),
        1,
        "one drift per episode: {found:?}"
    );

    let fc = found.iter().find(|f| f.2.is_some()).expect("no forecast");
    let f = fc.2.as_ref().unwrap();
    let lead = (breach - fc.0).num_minutes() as f64 / 60.0;
    let error = (f.breach_at - breach).num_minutes() as f64 / 60.0;
    println!(
        "forecast at {} ({lead:.1} h before the breach): breach_at {} (error {error:+.2} h): {f:?}",
        fc.0, f.breach_at
    );
    assert!(lead >= 2.0, "forecast only {lead:.1} h before the breach");
    assert!(error.abs() <= 2.0, "breach_at off by {error:.2} h");
    assert_eq!(f.threshold, 450.0);
    assert!(f.hours_to_breach > 0.0 && f.hours_to_breach <= f.horizon_hours);
    // ~2%/h of a level of a few hundred ms.
    assert!(
        f.trend_per_hour > 0.01 * f.level && f.trend_per_hour < 0.04 * f.level,
        "{f:?}"
    );
    assert!(f.confidence > 0.3, "{f:?}");
}

#[test]
fn without_a_configured_threshold_the_default_is_three_times_the_highest_seasonal_p95() {
    let cfg = DriftConfig::default();
    let mut m = train(&cfg, 21, false);
    let mut g = Gen::new(22);
    let creep_from = detect_start() + Duration::hours(6);
    g.creep_from = Some(creep_from);
    g.creep = 0.04;
    // Highest true p95: weekday peak of the daily cycle.
    let highest = 120.0 * 1.25 * p95_factor();
    let found = detect(&mut m, &cfg, &mut g, detect_start(), 24 * 3);
    let fc = found.iter().find(|f| f.2.is_some()).expect("no forecast");
    let f = fc.2.as_ref().unwrap();
    assert!(
        (f.threshold / (3.0 * highest) - 1.0).abs() < 0.1,
        "{} vs {}",
        f.threshold,
        3.0 * highest
    );
    let breach = true_breach(&g, creep_from, f.threshold);
    assert!(fc.0 < breach, "{} not before {breach}", fc.0);
    assert!(
        (f.breach_at - breach).num_minutes().abs() <= 120,
        "{f:?} vs {breach}"
    );
}

#[test]
fn constant_values_are_quiet_until_they_move() {
    let cfg = DriftConfig::default();
    let mut m = SlotModel::new(&cfg);
    let mut at = train_start();
    for _ in 0..(14 * 144) {
        for _ in 0..20 {
            m.learn(how(at), 100.0);
        }
        m.learn_bucket_end(how(at));
        at += Duration::minutes(BUCKET_MIN);
    }
    let mut found = Vec::new();
    for i in 0..(2 * 144) {
        // A day constant at 100, then constant at 130.
        let v = if i < 144 { 100.0 } else { 130.0 };
        for _ in 0..20 {
            m.observe(v);
        }
        let end = at + Duration::minutes(BUCKET_MIN);
        let (d, _) = m.close_bucket(&cfg, &KEY, at, end, how(at));
        if let Some(d) = d {
            found.push((i, d));
        }
        at = end;
    }
    assert_eq!(found.len(), 1, "{found:?}");
    let (i, d) = &found[0];
    assert!(*i >= 144 && *i < 150, "fired at bucket {i}");
    assert!((d.magnitude - 0.3).abs() < 0.03, "{d:?}");
    assert_eq!(d.quantile, 0.5);
}

#[test]
fn non_finite_values_are_ignored_and_zeros_and_negatives_work() {
    let cfg = DriftConfig::default();
    let mut clean = SlotModel::new(&cfg);
    let mut dirty = SlotModel::new(&cfg);
    let mut rng = StdRng::seed_from_u64(5);
    let mut at = train_start();
    for _ in 0..(7 * 144) {
        for _ in 0..15 {
            // A signed quantity around zero (e.g. a clock offset), with exact zeros.
            let v: f64 = (rng.random_range(-40.0f64..40.0)).round() / 4.0;
            clean.learn(how(at), v);
            dirty.learn(how(at), v);
        }
        dirty.learn(how(at), f64::NAN);
        dirty.learn(how(at), f64::INFINITY);
        clean.learn_bucket_end(how(at));
        dirty.learn_bucket_end(how(at));
        at += Duration::minutes(BUCKET_MIN);
    }
    assert_eq!(
        serde_json::to_string(&clean).unwrap(),
        serde_json::to_string(&dirty).unwrap()
    );
    let mut quiet = Vec::new();
    let mut shifted = Vec::new();
    for i in 0..(2 * 144) {
        // A day as trained, then everything 8 lower.
        let shift = if i < 144 { 0.0 } else { -8.0 };
        for _ in 0..15 {
            let v: f64 = (rng.random_range(-40.0f64..40.0)).round() / 4.0 + shift;
            dirty.observe(v);
        }
        dirty.observe(f64::NEG_INFINITY);
        let end = at + Duration::minutes(BUCKET_MIN);
        let (d, f) = dirty.close_bucket(&cfg, &KEY, at, end, how(at));
        assert!(f.is_none());
        if let Some(d) = d {
            assert!(
                d.probability.is_finite() && d.magnitude.is_finite(),
                "{d:?}"
            );
            if i < 144 {
                quiet.push(d)
            } else {
                shifted.push(d)
            }
        }
        at = end;
    }
    assert!(quiet.is_empty(), "{quiet:?}");
    assert_eq!(shifted.len(), 1, "{shifted:?}");
    assert!(shifted[0].current < shifted[0].baseline, "{shifted:?}");
    // The model still serializes (no NaN reached its state).
    let json = serde_json::to_string(&dirty).unwrap();
    let _: SlotModel = serde_json::from_str(&json).unwrap();
}

#[test]
fn sparse_slots_are_judged_on_merged_buckets() {
    // Two values per bucket (below min_bucket_values = 5): buckets merge three at a time.
    let cfg = DriftConfig::default();
    let sparse = |g: &mut Gen, at| g.bucket(at).into_iter().take(2).collect::<Vec<f64>>();
    let mut g = Gen::new(31);
    let mut m = SlotModel::new(&cfg);
    let mut at = train_start();
    while at < detect_start() {
        for v in sparse(&mut g, at) {
            m.learn(how(at), v);
        }
        m.learn_bucket_end(how(at));
        at += Duration::minutes(BUCKET_MIN);
    }
    assert_eq!(m.trained_buckets(), 14 * 144 / 3);
    let run = |m: &mut SlotModel, g: &mut Gen, from: DateTime<Utc>, factor: f64| {
        let mut found = Vec::new();
        let mut at = from;
        let mut closes = 0;
        while at < from + Duration::days(1) {
            for v in sparse(g, at) {
                m.observe(v * factor);
            }
            let end = at + Duration::minutes(BUCKET_MIN);
            let (d, f) = m.close_bucket(&cfg, &KEY, at, end, how(at));
            // Two of three closes only carry their values over.
            if closes % 3 != 2 {
                assert_eq!((&d, &f), (&None, &None));
            }
            closes += 1;
            if let Some(d) = d {
                found.push(d);
            }
            at = end;
        }
        found
    };
    let mut g = Gen::new(32);
    assert!(run(&mut m, &mut g, detect_start(), 1.0).is_empty());
    let found = run(&mut m, &mut g, detect_start() + Duration::days(1), 1.6);
    assert_eq!(found.len(), 1, "{found:?}");
    assert!(found[0].magnitude > 0.3, "{found:?}");
}

#[test]
fn a_cold_model_learns_first_then_detects() {
    let cfg = DriftConfig {
        min_training_buckets: 144,
        ..DriftConfig::default()
    };
    let mut m = SlotModel::new(&cfg);
    let mut g = Gen::new(41);
    // Nothing trained: the first day is learned during detection, and is quiet.
    let found = detect(&mut m, &cfg, &mut g, train_start(), 24);
    assert!(found.is_empty(), "{found:?}");
    assert_eq!(m.trained_buckets(), 144);
}

#[test]
fn a_model_survives_a_serde_round_trip_and_stays_compact() {
    let mut cfg = DriftConfig::default();
    cfg.forecast.thresholds = vec![Threshold {
        slot: "latency_ms".to_string(),
        above: 450.0,
        service: None,
        quantile: Some(0.95),
    }];
    let mut a = train(&cfg, 51, false);
    let json = serde_json::to_string(&a).unwrap();
    assert!(json.len() < 16_000, "{} bytes", json.len());
    let mut b: SlotModel = serde_json::from_str(&json).unwrap();
    assert_eq!(serde_json::to_string(&b).unwrap(), json);
    let creep = |seed| {
        let mut g = Gen::new(seed);
        g.creep_from = Some(detect_start() + Duration::hours(12));
        g.creep = 0.02;
        g
    };
    let fa = detect(&mut a, &cfg, &mut creep(52), detect_start(), 72);
    let fb = detect(&mut b, &cfg, &mut creep(52), detect_start(), 72);
    assert!(fa.iter().any(|f| f.1.is_some()) && fa.iter().any(|f| f.2.is_some()));
    assert_eq!(fa, fb);
}

#[test]
fn config_validation_names_the_key() {
    let mut cfg = DriftConfig {
        quantiles: vec![0.5, 1.5],
        cusum_threshold: 0.0,
        ..DriftConfig::default()
    };
    cfg.forecast.horizon_hours = 48.0;
    cfg.forecast.thresholds = vec![Threshold {
        slot: "latency_ms".to_string(),
        above: f64::NAN,
        service: None,
        quantile: Some(0.99),
    }];
    let mut p = Problems::default();
    cfg.validate("detect.drift", &mut p);
    let all = p.0.join("\n");
    assert_eq!(p.0.len(), 5, "{all}");
    for key in [
        "`detect.drift.quantiles[1]`",
        "`detect.drift.cusum_threshold`",
        "`detect.drift.forecast.horizon_hours`",
        "`detect.drift.forecast.thresholds[0].above`",
        "`detect.drift.forecast.thresholds[0].quantile`",
    ] {
        assert!(all.contains(key), "{key} missing in {all}");
    }
    let mut ok = Problems::default();
    DriftConfig::default().validate("detect.drift", &mut ok);
    assert!(ok.0.is_empty(), "{:?}", ok.0);

    let yaml = "forecast:\n  horizon_hours: 6\n  thresholds:\n    - {slot: latency_ms, above: 800, service: checkout}\n";
    let value: serde_json::Value = config::Config::builder()
        .add_source(config::File::from_str(yaml, config::FileFormat::Yaml))
        .build()
        .unwrap()
        .try_deserialize()
        .unwrap();
    let parsed: DriftConfig = serde_json::from_value(value).unwrap();
    assert_eq!(parsed.forecast.horizon_hours, 6.0);
    assert_eq!(
        parsed.forecast.thresholds[0].service.as_deref(),
        Some("checkout")
    );
    let bad: Result<DriftConfig, _> = serde_json::from_str(r#"{"cusum": 3}"#);
    assert!(bad
        .unwrap_err()
        .to_string()
        .contains("unknown field `cusum`"));
}

#[test]
fn a_damaged_model_file_does_not_panic_and_learns_again() {
    let cfg = DriftConfig::default();
    let model = train(&cfg, 61, false);
    let mut json: serde_json::Value = serde_json::to_value(&model).unwrap();
    // Arrays cut short, as a truncated or hand-edited file might have them.
    json["mean"] = serde_json::json!([1.0, 2.0]);
    let mut m: SlotModel = serde_json::from_value(json).unwrap();
    let found = detect(&mut m, &cfg, &mut Gen::new(62), detect_start(), 24);
    assert!(found.is_empty(), "{found:?}");
    // It forgot the damaged statistics and learned from the first buckets it saw: the
    // first 48 (the cold start, 00:00-08:00), then the first two of each hour of the day
    // it had not seen yet (08:00-24:00).
    assert_eq!(m.trained_buckets(), 48 + 16 * 2);
    let mut d = SlotModel::default();
    assert_eq!(d.quantiles(), &[0.5, 0.95]);
    d.learn_bucket_end(500);
}

#[test]
fn a_step_that_stays_below_the_threshold_is_a_drift_but_not_a_forecast() {
    let mut cfg = DriftConfig::default();
    cfg.forecast.thresholds = vec![Threshold {
        slot: "latency_ms".to_string(),
        above: 450.0,
        service: None,
        quantile: None,
    }];
    for (seed, step) in [(71, 1.4), (73, 1.6), (75, 1.7)] {
        let mut m = train(&cfg, seed, false);
        // A step: all values x`step` from 30 h on, then flat. The highest p95 is then
        // 120 * 1.25 * 1.64 * step, below 450 for these steps.
        let mut flat = Gen::new(seed + 1);
        let mut found = Vec::new();
        let mut at = detect_start();
        while at < detect_start() + Duration::days(4) {
            let values = if at >= detect_start() + Duration::hours(30) {
                flat.bucket(at).into_iter().map(|v| v * step).collect()
            } else {
                flat.bucket(at)
            };
            for v in values {
                m.observe(v);
            }
            let end = at + Duration::minutes(BUCKET_MIN);
            let (d, f) = m.close_bucket(&cfg, &KEY, at, end, how(at));
            if d.is_some() || f.is_some() {
                found.push((end, d, f));
            }
            at = end;
        }
        assert!(found.iter().any(|f| f.1.is_some()), "step {step}: no drift");
        let forecasts: Vec<_> = found.iter().filter(|f| f.2.is_some()).collect();
        assert!(forecasts.is_empty(), "step {step}: {forecasts:?}");
    }
}

#[test]
fn hours_long_wander_does_not_add_up_to_a_drift() {
    // A slot whose level wanders by ~5% for hours at a time (in training too): its buckets
    // deviate together, which a CUSUM alone reads as a shift.
    let cfg = DriftConfig::default();
    let without_gate = DriftConfig {
        min_level_sigmas: 0.0,
        ..DriftConfig::default()
    };
    let mut ungated = 0;
    for seed in [81, 83, 85] {
        let mut g = Gen::new(seed);
        g.wander = 0.03;
        let model = train_on(&cfg, &mut g);
        let mut m = model.clone();
        let mut week = Gen::new(seed + 1);
        week.wander = 0.03;
        let found = detect(&mut m, &cfg, &mut week, detect_start(), 7 * 24);
        assert!(found.is_empty(), "seed {seed}: {found:?}");
        let mut m = model;
        let mut week = Gen::new(seed + 1);
        week.wander = 0.03;
        ungated += detect(&mut m, &without_gate, &mut week, detect_start(), 7 * 24).len();
    }
    // The same weeks without the level requirement: the sums alone do fire.
    assert!(ungated > 0);
}

#[test]
fn a_many_fold_jump_in_a_busy_slot_is_a_drift_within_two_buckets() {
    let cfg = DriftConfig::default();
    let mut m = train(&cfg, 7, false);
    let mut g = Gen::new(70);
    // Tuesday 12:00, a busy hour (about 60 values a bucket): the values become five-fold.
    let from = detect_start() + Duration::hours(36);
    let quiet = detect(&mut m, &cfg, &mut g, detect_start(), 36);
    assert!(quiet.is_empty(), "{quiet:?}");
    let mut at = from;
    let mut found = Vec::new();
    for i in 0..4 {
        for v in g.bucket(at) {
            m.observe(5.0 * v);
        }
        let end = at + Duration::minutes(BUCKET_MIN);
        if let (Some(d), _) = m.close_bucket(&cfg, &KEY, at, end, how(at)) {
            found.push((i, d));
        }
        at = end;
    }
    assert_eq!(found.len(), 1, "one drift per episode: {found:?}");
    let (i, d) = &found[0];
    assert!(
        *i <= 1,
        "a jump fires in its second bucket at the latest, not {i}"
    );
    assert!(d.jumped, "the bulk of the values moved: {d:?}");
    assert!(
        d.magnitude > 2.0,
        "the bucket's value against its season: {d:?}"
    );
    assert_eq!(d.persistence, 2, "{d:?}");
}

/// A slot of six zeros a bucket (a response size of DELETE requests), then two buckets where
/// two lines in six carry 138.
fn thin_slot_findings(cfg: &DriftConfig) -> Vec<DriftFinding> {
    let mut m = SlotModel::new(cfg);
    let mut at = train_start();
    for _ in 0..(14 * 144) {
        for _ in 0..6 {
            m.learn(how(at), 0.0);
        }
        m.learn_bucket_end(how(at));
        at += Duration::minutes(BUCKET_MIN);
    }
    let mut found = Vec::new();
    for _ in 0..2 {
        for k in 0..6 {
            m.observe(if k < 2 { 138.0 } else { 0.0 });
        }
        let end = at + Duration::minutes(BUCKET_MIN);
        found.extend(m.close_bucket(cfg, &KEY, at, end, how(at)).0);
        at = end;
    }
    found
}

#[test]
fn a_thin_slot_does_not_jump_on_one_line_a_bucket() {
    let cfg = DriftConfig::default();
    assert_eq!(thin_slot_findings(&cfg), Vec::new());
    // The same two buckets do jump when thin buckets are allowed to: the key is what holds.
    let loose = DriftConfig {
        jump_min_values: 1,
        ..DriftConfig::default()
    };
    let found = thin_slot_findings(&loose);
    assert_eq!(found.len(), 1, "{found:?}");
}
