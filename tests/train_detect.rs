//! Train on two weeks of realistic synthetic logs (a few services, daily and weekly
//! seasonality in Europe/Berlin across a DST change, a daily 14:00 rolling deploy), then run
//! the detectors over a third week with and without injected incidents.

use chrono::{DateTime, Duration, TimeZone, Timelike, Utc};
use logwarden::config::Config;
use logwarden::detect::{Baseline, Detector, Trainer};
use logwarden::model::{Anomaly, AnomalyType, LogRecord, Severity};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use rand_distr::{Distribution, Poisson};
use std::sync::OnceLock;

const TZ: chrono_tz::Tz = chrono_tz::Europe::Berlin;
const DECLINED: &str = "Payment declined for order <*>";
const HEARTBEAT: &str = "scheduler heartbeat ok";
const DEPLOY: &str = "Rolling restart of pod <*> started";

fn config() -> Config {
    Config::from_yaml(
        "timezone: Europe/Berlin\ntenant: shop\nservices:\n  checkout:\n    criticality: high\n",
    )
    .unwrap()
}

fn local(y: i32, m: u32, d: u32, h: u32, min: u32) -> DateTime<Utc> {
    TZ.with_ymd_and_hms(y, m, d, h, min, 0)
        .single()
        .unwrap()
        .with_timezone(&Utc)
}

/// Training starts Monday 2026-10-12 00:00 Berlin; the DST change is on 2026-10-25.
fn train_start() -> DateTime<Utc> {
    local(2026, 10, 12, 0, 0)
}

/// The held-out week starts Monday 2026-10-26 00:00 Berlin.
fn week_start() -> DateTime<Utc> {
    local(2026, 10, 26, 0, 0)
}

/// Traffic shape by local time: low at night, high in office hours, lower at weekends.
fn traffic(t: DateTime<Utc>) -> f64 {
    let l = TZ.from_utc_datetime(&t.naive_utc());
    let h = l.hour() as f64 + l.minute() as f64 / 60.0;
    let daily = 0.15 + 0.85 * (-(h - 13.0).powi(2) / 18.0).exp();
    let weekend = matches!(l.format("%a").to_string().as_str(), "Sat" | "Sun");
    daily * if weekend { 0.5 } else { 1.0 }
}

fn rec(t: DateTime<Utc>, service: &str, level: &str, message: String) -> LogRecord {
    LogRecord {
        timestamp: t,
        message,
        service: service.to_string(),
        level: Some(level.to_string()),
        host: Some("node-1".to_string()),
    }
}

fn poisson(rng: &mut StdRng, mean: f64) -> u64 {
    if mean <= 0.0 {
        return 0;
    }
    Poisson::new(mean).unwrap().sample(rng) as u64
}

/// Normal logs from `start` for `minutes`, in time order.
fn normal(start: DateTime<Utc>, minutes: i64, seed: u64) -> Vec<LogRecord> {
    let mut rng = StdRng::seed_from_u64(seed);
    let mut out = Vec::new();
    for m in 0..minutes {
        let t0 = start + Duration::minutes(m);
        let f = traffic(t0);
        let mut minute: Vec<LogRecord> = Vec::new();
        let at = |rng: &mut StdRng| t0 + Duration::milliseconds(rng.random_range(0..60_000));
        for _ in 0..poisson(&mut rng, 8.0 * f) {
            let ms = 20 + rng.random_range(0..60);
            let item = rng.random_range(1..5000);
            minute.push(rec(
                at(&mut rng),
                "api",
                "info",
                format!("GET /api/items/{item} 200 {ms}ms"),
            ));
        }
        for _ in 0..poisson(&mut rng, 4.0 * f) {
            let ms = 100 + rng.random_range(0..200);
            let order = rng.random_range(10_000..99_999);
            minute.push(rec(
                at(&mut rng),
                "checkout",
                "info",
                format!("Payment accepted for order {order} in {ms}ms"),
            ));
        }
        for _ in 0..poisson(&mut rng, 0.25 * f) {
            let order = rng.random_range(10_000..99_999);
            minute.push(rec(
                at(&mut rng),
                "checkout",
                "warn",
                format!("Payment declined for order {order}"),
            ));
        }
        for _ in 0..poisson(&mut rng, 3.0 * f) {
            let user = rng.random_range(1..900);
            minute.push(rec(
                at(&mut rng),
                "auth",
                "info",
                format!("User {user} logged in"),
            ));
        }
        for _ in 0..poisson(&mut rng, 0.02 * f) {
            let user = rng.random_range(1..900);
            minute.push(rec(
                at(&mut rng),
                "auth",
                "error",
                format!("Token validation failed for user {user}"),
            ));
        }
        // A steady heartbeat, whatever the time.
        minute.push(rec(
            t0 + Duration::seconds(1),
            "api",
            "info",
            HEARTBEAT.to_string(),
        ));
        // A cleanup job every 15 minutes (at :07, :22, :37 and :52), whatever the time.
        let l = TZ.from_utc_datetime(&t0.naive_utc());
        if l.minute() % 15 == 7 {
            minute.push(rec(
                t0 + Duration::seconds(30),
                "cron",
                "info",
                format!(
                    "cleanup job finished in {} ms",
                    200 + rng.random_range(0..50)
                ),
            ));
        }
        // A nightly batch from 02:00 that always ends at 02:37.
        if l.hour() == 2 && l.minute() < 37 {
            for _ in 0..(15 + rng.random_range(0..10)) {
                let id = rng.random_range(1..100_000);
                minute.push(rec(
                    at(&mut rng),
                    "batch",
                    "info",
                    format!("exported invoice {id}"),
                ));
            }
        }
        // The daily rolling deploy at 14:00 local, every day.
        if l.hour() == 14 && l.minute() < 5 {
            for _ in 0..(8 + rng.random_range(0..5)) {
                let pod = rng.random_range(1..60);
                minute.push(rec(
                    at(&mut rng),
                    "deployer",
                    "info",
                    format!("Rolling restart of pod {pod} started"),
                ));
            }
        }
        minute.sort_by_key(|r| r.timestamp);
        out.extend(minute);
    }
    out
}

fn trained() -> &'static Baseline {
    static BASE: OnceLock<Baseline> = OnceLock::new();
    BASE.get_or_init(|| {
        let mut t = Trainer::new(&config().trainer_settings());
        for r in normal(train_start(), 14 * 24 * 60, 1) {
            t.add(&r);
        }
        t.finish()
    })
}

fn detect(records: &[LogRecord], base: &Baseline) -> Vec<Anomaly> {
    let mut d = Detector::new(base.clone(), &config().detector_settings());
    let mut out = Vec::new();
    for r in records {
        out.extend(d.push(r));
    }
    out.extend(d.finish());
    out
}

fn insert(records: &mut Vec<LogRecord>, extra: Vec<LogRecord>) {
    records.extend(extra);
    records.sort_by_key(|r| r.timestamp);
}

fn describe(a: &[Anomaly]) -> String {
    a.iter()
        .map(|a| {
            format!(
                "{} {} {} {:.0} {}",
                a.anomaly.kind,
                a.anomaly.severity,
                a.timestamp,
                a.anomaly.score,
                a.anomaly.explanation
            )
        })
        .collect::<Vec<_>>()
        .join("\n")
}

fn serious(a: &[Anomaly]) -> Vec<Anomaly> {
    a.iter()
        .filter(|a| a.anomaly.severity >= Severity::Moderate)
        .cloned()
        .collect()
}

#[test]
fn a_normal_week_raises_no_moderate_alert_and_the_daily_deploy_nothing() {
    let base = trained();
    let week = normal(week_start(), 7 * 24 * 60, 2);
    let found = detect(&week, base);
    eprintln!(
        "normal week: {} findings\n{}",
        found.len(),
        describe(&found)
    );
    let serious = serious(&found);
    assert!(
        serious.is_empty(),
        "moderate+ on a normal week:\n{}",
        describe(&serious)
    );
    // Low-tier findings are allowed but must stay rare (0.1-1% of windows at most).
    assert!(
        found.len() <= 10,
        "{} findings:\n{}",
        found.len(),
        describe(&found)
    );
    let deploy: Vec<_> = found
        .iter()
        .filter(|a| a.pattern.template == DEPLOY)
        .cloned()
        .collect();
    assert!(
        deploy.is_empty(),
        "the daily deploy alerted:\n{}",
        describe(&deploy)
    );
}

#[test]
fn a_spike_of_one_template_is_a_volume_spike_for_that_service_and_template() {
    let base = trained();
    let start = local(2026, 10, 27, 0, 0);
    let mut records = normal(start, 2 * 24 * 60, 3);
    let burst_at = local(2026, 10, 27, 15, 0);
    let mut rng = StdRng::seed_from_u64(9);
    let extra = (0..150)
        .map(|i| {
            let order = rng.random_range(10_000..99_999);
            rec(
                burst_at + Duration::seconds(i * 4),
                "checkout",
                "warn",
                format!("Payment declined for order {order}"),
            )
        })
        .collect();
    insert(&mut records, extra);
    let found = detect(&records, base);
    let spikes: Vec<_> = found
        .iter()
        .filter(|a| {
            a.anomaly.kind == AnomalyType::VolumeSpike
                && a.service.name == "checkout"
                && a.pattern.template == DECLINED
        })
        .collect();
    assert!(!spikes.is_empty(), "no spike:\n{}", describe(&found));
    let first = spikes[0];
    assert_eq!(first.anomaly.window.start, burst_at);
    assert!(
        first.anomaly.severity >= Severity::Moderate,
        "{}",
        describe(&found)
    );
    assert!(first.anomaly.observed > 5.0 * first.anomaly.expected);
    assert!(first.pattern.id.starts_with('t'));
    assert_eq!(first.pattern.examples.len(), 3);
    assert!(first.pattern.examples[0].starts_with("Payment declined for order "));
    assert!(
        first
            .anomaly
            .explanation
            .starts_with("checkout: 'Payment declined for order <*>'"),
        "{}",
        first.anomaly.explanation
    );
    assert!(
        first
            .anomaly
            .explanation
            .contains("on Tuesdays 15:00-16:00"),
        "{}",
        first.anomaly.explanation
    );
    assert_eq!(first.tenant, "shop");
    assert_eq!(first.model.version, base.model_version);
    assert_eq!(first.event.kind, "alert");
    assert_eq!(first.event.risk_score, first.anomaly.score);
    // Nothing else serious besides the injected burst.
    let others: Vec<_> = serious(&found)
        .into_iter()
        .filter(|a| a.pattern.template != DECLINED && a.service.name != "checkout")
        .collect();
    assert!(others.is_empty(), "{}", describe(&others));
}

#[test]
fn a_silent_heartbeat_is_a_volume_drop() {
    let base = trained();
    let start = local(2026, 10, 28, 0, 0);
    let mut records = normal(start, 2 * 24 * 60, 4);
    let (from, to) = (local(2026, 10, 28, 10, 0), local(2026, 10, 28, 11, 0));
    records.retain(|r| !(r.message == HEARTBEAT && r.timestamp >= from && r.timestamp < to));
    let found = detect(&records, base);
    let drops: Vec<_> = found
        .iter()
        .filter(|a| a.anomaly.kind == AnomalyType::VolumeDrop && a.pattern.template == HEARTBEAT)
        .collect();
    // One silence: reported once, then again only as it escalates. The heartbeat comes
    // every minute, so its silence is known once `detect.cadence_min_minutes` (5) pass
    // without it, as `moderate`; the bucket tests of the same silence stay quiet unless
    // they would go higher.
    assert!(!drops.is_empty(), "{}", describe(&found));
    assert!(
        drops
            .windows(2)
            .all(|w| w[0].anomaly.severity < w[1].anomaly.severity),
        "{}",
        describe(&found)
    );
    for d in &drops {
        assert_eq!(d.service.name, "api");
        assert!(
            (d.anomaly.window.start - from).num_seconds().abs() <= 60,
            "{}",
            describe(&found)
        );
        assert_eq!(d.anomaly.observed, 0.0);
    }
    let first = drops[0];
    assert_eq!(first.anomaly.unit, "runs");
    assert_eq!(first.anomaly.severity, Severity::Moderate);
    assert!(
        first.anomaly.window.end <= from + Duration::minutes(6),
        "{}",
        describe(&found)
    );
    assert!(first.anomaly.expected >= 5.0, "{}", first.anomaly.expected);
    assert!(
        first
            .anomaly
            .explanation
            .starts_with("api: 'scheduler heartbeat ok' comes every 60 s, never more than 60 s apart in the history; nothing since 09:59 (5 min, 5 runs missed)"),
        "{}",
        first.anomaly.explanation
    );
    let paged = drops
        .iter()
        .find(|d| d.anomaly.severity >= Severity::Moderate)
        .expect("the silence reaches moderate");
    assert!(
        paged.anomaly.window.end <= from + Duration::minutes(30),
        "{}",
        describe(&found)
    );
}

#[test]
fn an_error_burst_raises_the_error_ratio_of_the_service() {
    let base = trained();
    let start = local(2026, 10, 29, 0, 0);
    let mut records = normal(start, 24 * 60, 5);
    let at = local(2026, 10, 29, 11, 20);
    let extra = (0..60)
        .map(|i| {
            rec(
                at + Duration::seconds(i * 9),
                "auth",
                "error",
                format!("Token validation failed for user {}", 100 + i),
            )
        })
        .collect();
    insert(&mut records, extra);
    let found = detect(&records, base);
    let ratio: Vec<_> = found
        .iter()
        .filter(|a| a.anomaly.kind == AnomalyType::ErrorRatio && a.service.name == "auth")
        .collect();
    assert!(!ratio.is_empty(), "{}", describe(&found));
    let r = ratio[0];
    assert_eq!(r.anomaly.window.start, at - Duration::minutes(0));
    assert_eq!(r.pattern.id, "service");
    assert_eq!(r.anomaly.unit, "ratio");
    assert!(
        r.anomaly.observed > 0.3 && r.anomaly.expected < 0.05,
        "{}",
        describe(&found)
    );
    assert!(r.pattern.examples[0].starts_with("Token validation failed"));
    assert!(
        r.anomaly.severity >= Severity::Moderate,
        "{}",
        describe(&found)
    );
}

/// A normal day (2026-10-30) with four checkout errors, `message(i)` for i = 0..4, from 09:42
/// every 7 minutes.
fn day_with_checkout_errors(message: impl Fn(i64) -> String) -> Vec<LogRecord> {
    let mut records = normal(local(2026, 10, 30, 0, 0), 24 * 60, 6);
    let at = local(2026, 10, 30, 9, 42);
    let extra = (0..4)
        .map(|i| {
            rec(
                at + Duration::minutes(i * 7),
                "checkout",
                "error",
                message(i),
            )
        })
        .collect();
    insert(&mut records, extra);
    records
}

/// The sidecar splits a page's messages on every core, then detects in order with the tokens:
/// the anomalies must be those of splitting each message on the detecting thread.
#[test]
fn messages_split_ahead_on_several_threads_give_the_same_anomalies() {
    let base = trained();
    let records = day_with_checkout_errors(|i| {
        format!("Stripe webhook signature mismatch for event evt_{i}9a")
    });
    let inline = detect(&records, base);
    assert!(
        inline
            .iter()
            .any(|a| a.anomaly.kind == AnomalyType::NewPattern),
        "{}",
        describe(&inline)
    );
    let mut d = Detector::new(base.clone(), &config().detector_settings());
    let messages: Vec<&str> = records.iter().map(|r| r.message.as_str()).collect();
    let mut tokens = logwarden::parse::split_all(&d.tokenizer(), &messages, 3);
    let mut ahead: Vec<Anomaly> = records
        .iter()
        .zip(&mut tokens)
        .flat_map(|(r, t)| d.push_split(r, Some(t)))
        .collect();
    ahead.extend(d.finish());
    assert_eq!(
        serde_json::to_string(&ahead).unwrap(),
        serde_json::to_string(&inline).unwrap()
    );
}

#[test]
fn an_unseen_error_message_is_a_new_pattern_reported_once() {
    let base = trained();
    let records = day_with_checkout_errors(|_| "Stripe webhook signature mismatch".to_string());
    let found = detect(&records, base);
    let new: Vec<_> = found
        .iter()
        .filter(|a| a.anomaly.kind == AnomalyType::NewPattern)
        .collect();
    assert_eq!(new.len(), 1, "{}", describe(&found));
    let n = new[0];
    assert_eq!(n.service.name, "checkout");
    assert_eq!(n.pattern.template, "Stripe webhook signature mismatch");
    assert_eq!(n.anomaly.window.start, local(2026, 10, 30, 9, 40));
    // The two lines of the first bucket (09:42 and 09:49) are its examples.
    assert_eq!(
        n.pattern.examples,
        vec!["Stripe webhook signature mismatch".to_string(); 2]
    );
    assert_eq!(n.anomaly.observed, 2.0);
    assert!(
        n.anomaly.explanation.starts_with(
            "checkout: new message 'Stripe webhook signature mismatch' 2 times (2 failing) since 09:42, never seen before; "
        ),
        "{}",
        n.anomaly.explanation
    );
    assert!(
        n.anomaly.severity >= Severity::Moderate,
        "{}",
        describe(&found)
    );
}

#[test]
fn the_same_input_twice_gives_the_same_ids() {
    let base = trained();
    let start = local(2026, 10, 27, 12, 0);
    let mut records = normal(start, 6 * 60, 7);
    let at = local(2026, 10, 27, 15, 0);
    insert(
        &mut records,
        (0..80)
            .map(|i| {
                rec(
                    at + Duration::seconds(i * 5),
                    "checkout",
                    "warn",
                    format!("Payment declined for order {}", 5000 + i),
                )
            })
            .collect(),
    );
    insert(
        &mut records,
        vec![rec(at, "auth", "error", "LDAP bind refused".to_string())],
    );
    let a = detect(&records, base);
    let b = detect(&records, base);
    assert!(a.len() >= 2, "{}", describe(&a));
    let ids = |v: &[Anomaly]| v.iter().map(|x| x.anomaly.id.clone()).collect::<Vec<_>>();
    assert_eq!(ids(&a), ids(&b));
    assert_eq!(a, b);
    let mut unique = ids(&a);
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), a.len(), "ids are distinct");
}

#[test]
fn cold_start_from_one_day_finds_a_large_spike_and_says_it_is_unsure() {
    let mut t = Trainer::new(&config().trainer_settings());
    for r in normal(local(2026, 10, 26, 0, 0), 24 * 60, 8) {
        t.add(&r);
    }
    let base = t.finish();
    let start = local(2026, 10, 27, 0, 0);
    let mut records = normal(start, 24 * 60, 10);
    let at = local(2026, 10, 27, 16, 0);
    insert(
        &mut records,
        (0..300)
            .map(|i| {
                rec(
                    at + Duration::seconds(i * 2),
                    "checkout",
                    "warn",
                    format!("Payment declined for order {}", 7000 + i),
                )
            })
            .collect(),
    );
    let found = detect(&records, &base);
    let spike = found
        .iter()
        .find(|a| a.anomaly.kind == AnomalyType::VolumeSpike && a.pattern.template == DECLINED)
        .unwrap_or_else(|| panic!("{}", describe(&found)));
    assert!(
        spike.anomaly.confidence < 0.1,
        "{}",
        spike.anomaly.confidence
    );
    let serious = serious(&found);
    assert!(
        serious.iter().all(|a| a.service.name == "checkout"),
        "{}",
        describe(&serious)
    );
}

#[test]
fn the_model_survives_a_save_and_load() {
    let base = trained();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("model.json");
    logwarden::state::save(&path, &base.model_version, base).unwrap();
    let (header, loaded): (_, Baseline) = logwarden::state::load(&path).unwrap();
    assert_eq!(header.model_version, base.model_version);
    assert_eq!(loaded.profiles.len(), base.profiles.len());
    for (a, b) in loaded.profiles.iter().zip(&base.profiles) {
        assert_eq!(
            (&a.service, a.subject, a.total, a.errors),
            (&b.service, b.subject, b.total, b.errors)
        );
        assert_eq!(a.sum_how, b.sum_how);
        assert!((a.dispersion - b.dispersion).abs() < 1e-12);
    }
    assert_eq!(loaded.n_buckets, 14 * 144);
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(24))]

    /// Any records, in any order, at any time: training and detection never panic and every
    /// anomaly is well formed.
    #[test]
    fn arbitrary_records_never_panic(
        train in proptest::collection::vec((0i64..40 * 86_400, "[a-z0-9 /=:.-]{0,40}", 0usize..3, proptest::bool::ANY), 0..200),
        test in proptest::collection::vec((-86_400i64..80 * 86_400, "[a-z0-9 /=:.-]{0,40}", 0usize..4, proptest::bool::ANY), 0..200),
    ) {
        let services = ["a", "b", "", "ünïcode"];
        let origin = "2026-01-01T00:00:00Z".parse::<DateTime<Utc>>().unwrap();
        let mk = |(secs, msg, svc, err): &(i64, String, usize, bool)| LogRecord {
            timestamp: origin + Duration::seconds(*secs),
            message: msg.clone(),
            service: services[*svc].to_string(),
            level: Some(if *err { "error" } else { "info" }.to_string()),
            host: None,
        };
        let mut t = Trainer::new(&config().trainer_settings());
        for r in train.iter().map(mk) {
            t.add(&r);
        }
        let base = t.finish();
        let found = detect(&test.iter().map(mk).collect::<Vec<_>>(), &base);
        for a in &found {
            proptest::prop_assert!((0.0..=100.0).contains(&a.anomaly.score));
            proptest::prop_assert!((0.0..=1.0).contains(&a.anomaly.probability));
            proptest::prop_assert!(a.anomaly.window.start < a.anomaly.window.end);
            proptest::prop_assert!(!a.anomaly.explanation.is_empty());
            proptest::prop_assert!(a.pattern.examples.len() <= 3);
        }
    }
}

#[test]
fn a_threefold_rise_of_a_busy_template_for_half_an_hour_is_found() {
    let base = trained();
    let start = local(2026, 10, 27, 0, 0);
    let mut records = normal(start, 24 * 60, 11);
    let at = local(2026, 10, 27, 11, 0);
    let mut rng = StdRng::seed_from_u64(12);
    // The GET line runs at about 7 a minute at 11:00 on a Tuesday; add 14 a minute.
    let extra = (0..30 * 14)
        .map(|i| {
            let t = at + Duration::milliseconds(i * 60_000 / 14);
            let item = rng.random_range(1..5000);
            rec(t, "api", "info", format!("GET /api/items/{item} 200 33ms"))
        })
        .collect();
    insert(&mut records, extra);
    let found = detect(&records, base);
    let spikes: Vec<_> = found
        .iter()
        .filter(|a| {
            a.anomaly.kind == AnomalyType::VolumeSpike
                && a.service.name == "api"
                && a.pattern.template.starts_with("GET ")
        })
        .collect();
    assert!(!spikes.is_empty(), "{}", describe(&found));
    assert_eq!(spikes[0].anomaly.window.start, at);
    assert!(spikes.len() <= 3, "{}", describe(&found));
    // Persistence raises the score of the later windows.
    let last = spikes.last().unwrap();
    assert!(
        last.anomaly.score >= spikes[0].anomaly.score,
        "{}",
        describe(&found)
    );
}

#[test]
fn a_silent_service_is_one_volume_drop_not_one_per_template() {
    let base = trained();
    let start = local(2026, 10, 28, 0, 0);
    let mut records = normal(start, 24 * 60, 13);
    let (from, to) = (local(2026, 10, 28, 13, 0), local(2026, 10, 28, 14, 0));
    records.retain(|r| !(r.service == "auth" && r.timestamp >= from && r.timestamp < to));
    let found = detect(&records, base);
    let drops: Vec<_> = found
        .iter()
        .filter(|a| a.anomaly.kind == AnomalyType::VolumeDrop)
        .collect();
    // One silence of the service (escalating as it lasts), none of its templates.
    assert!(!drops.is_empty(), "{}", describe(&found));
    assert!(
        drops
            .iter()
            .all(|d| d.service.name == "auth" && d.pattern.id == "service"),
        "{}",
        describe(&found)
    );
    assert!(
        drops
            .windows(2)
            .all(|w| w[0].anomaly.severity < w[1].anomaly.severity),
        "{}",
        describe(&found)
    );
    assert_eq!(drops[0].service.name, "auth");
    assert_eq!(drops[0].pattern.id, "service");
    assert_eq!(drops[0].anomaly.window.start, from);
    assert!(
        drops[0]
            .anomaly
            .explanation
            .starts_with("auth: all lines 0 times in the 10 min since 13:00"),
        "{}",
        drops[0].anomaly.explanation
    );
}

#[test]
fn a_daily_deploy_ten_minutes_late_is_still_normal() {
    let base = trained();
    let start = local(2026, 10, 29, 0, 0);
    let mut records = normal(start, 24 * 60, 14);
    // Move that day's deploy from 14:00 to 14:10.
    for r in records.iter_mut().filter(|r| r.service == "deployer") {
        r.timestamp += Duration::minutes(10);
    }
    records.sort_by_key(|r| r.timestamp);
    let found = detect(&records, base);
    let deploy: Vec<_> = found
        .iter()
        .filter(|a| a.service.name == "deployer")
        .cloned()
        .collect();
    assert!(deploy.is_empty(), "{}", describe(&deploy));
    // Twenty minutes late is outside the one-bucket tolerance, and is reported.
    let mut records = normal(start, 24 * 60, 14);
    for r in records.iter_mut().filter(|r| r.service == "deployer") {
        r.timestamp += Duration::minutes(20);
    }
    records.sort_by_key(|r| r.timestamp);
    let found = detect(&records, base);
    assert!(
        found
            .iter()
            .any(|a| a.service.name == "deployer" && a.anomaly.kind == AnomalyType::VolumeSpike),
        "{}",
        describe(&found)
    );
}

#[test]
fn a_baseline_after_detection_knows_the_new_templates_it_reported() {
    let base = trained();
    let at = local(2026, 10, 30, 9, 42);
    let lines: Vec<LogRecord> = (0..3)
        .map(|i| {
            rec(
                at + Duration::minutes(i),
                "checkout",
                "error",
                "Stripe webhook signature mismatch".to_string(),
            )
        })
        .collect();
    let mut d = Detector::new(base.clone(), &config().detector_settings());
    let mut first: Vec<Anomaly> = lines.iter().flat_map(|r| d.push(r)).collect();
    first.extend(d.finish());
    assert_eq!(first.len(), 1, "{}", describe(&first));
    assert_eq!(first[0].anomaly.kind, AnomalyType::NewPattern);
    let learned = d.into_baseline();
    assert_eq!(learned.profiles.len(), base.profiles.len() + 1);
    let later: Vec<LogRecord> = lines
        .iter()
        .map(|r| LogRecord {
            timestamp: r.timestamp + Duration::days(1),
            ..r.clone()
        })
        .collect();
    let again = detect(&later, &learned);
    assert!(
        again
            .iter()
            .all(|a| a.anomaly.kind != AnomalyType::NewPattern),
        "{}",
        describe(&again)
    );
}

#[test]
fn every_service_silent_at_once_is_one_critical_source_silence() {
    let base = trained();
    let start = local(2026, 10, 28, 0, 0);
    let mut records = normal(start, 24 * 60, 21);
    let (from, to) = (local(2026, 10, 28, 11, 0), local(2026, 10, 28, 12, 0));
    records.retain(|r| !(r.timestamp >= from && r.timestamp < to));
    let found = detect(&records, base);
    let drops: Vec<_> = found
        .iter()
        .filter(|a| a.anomaly.kind == AnomalyType::VolumeDrop)
        .collect();
    assert_eq!(drops.len(), 1, "{}", describe(&found));
    let d = drops[0];
    assert_eq!(d.service.name, "*");
    assert_eq!(d.pattern.id, "source");
    assert_eq!(d.anomaly.severity, Severity::Critical);
    assert_eq!(d.anomaly.window.start, from);
    assert!(d.anomaly.window.end <= from + Duration::minutes(20));
    assert!(
        d.anomaly.explanation.starts_with(
            "no logs from the input since 11:00 (0 lines from its 3 services in 10 min"
        ),
        "{}",
        d.anomaly.explanation
    );
    // Nothing else of that hour reaches a person: the cause is one.
    let others: Vec<_> = serious(&found)
        .into_iter()
        .filter(|a| a.anomaly.id != d.anomaly.id)
        .collect();
    assert!(others.is_empty(), "{}", describe(&others));
}

#[test]
fn a_new_error_that_keeps_coming_reaches_a_person_even_on_thin_history() {
    // Three days of history: confidence 0.21, yet a never-seen failing message arriving
    // hundreds of times is news, and so is the error share it brings.
    let mut t = Trainer::new(&config().trainer_settings());
    for r in normal(train_start(), 3 * 24 * 60, 31) {
        t.add(&r);
    }
    let base = t.finish();
    let start = local(2026, 10, 15, 0, 0);
    let mut records = normal(start, 24 * 60, 32);
    let at = local(2026, 10, 15, 10, 5);
    let extra = (0..200)
        .map(|i| {
            rec(
                at + Duration::milliseconds(i * 250),
                "api",
                "error",
                "Severe unrecoverable error, exiting: java.io.IOException: No space left on device"
                    .to_string(),
            )
        })
        .collect();
    insert(&mut records, extra);
    let found = detect(&records, &base);
    let new: Vec<_> = found
        .iter()
        .filter(|a| a.anomaly.kind == AnomalyType::NewPattern && a.service.name == "api")
        .collect();
    assert_eq!(new.len(), 1, "{}", describe(&found));
    assert!(new[0].anomaly.confidence < 0.25);
    assert!(
        new[0].anomaly.severity >= Severity::Moderate,
        "{}",
        describe(&found)
    );
    // The new lines count in the service's error share too.
    assert!(
        found
            .iter()
            .any(|a| a.anomaly.kind == AnomalyType::ErrorRatio
                && a.service.name == "api"
                && a.pattern.id == "service"
                && a.anomaly.window.start == local(2026, 10, 15, 10, 0)),
        "{}",
        describe(&found)
    );
}

#[test]
fn server_errors_in_info_access_lines_raise_the_error_ratio() {
    let base = trained();
    let start = local(2026, 10, 29, 0, 0);
    let mut records = normal(start, 24 * 60, 41);
    let (from, to) = (local(2026, 10, 29, 15, 0), local(2026, 10, 29, 15, 30));
    // A third of the api's requests fail with 503, all still logged at INFO.
    let mut n = 0;
    for r in records.iter_mut() {
        if r.service == "api"
            && r.timestamp >= from
            && r.timestamp < to
            && r.message.contains(" 200 ")
        {
            n += 1;
            if n % 3 == 0 {
                r.message = r.message.replace(" 200 ", " 503 ");
            }
        }
    }
    let found = detect(&records, base);
    let ratio: Vec<_> = found
        .iter()
        .filter(|a| a.anomaly.kind == AnomalyType::ErrorRatio && a.service.name == "api")
        .collect();
    assert!(!ratio.is_empty(), "{}", describe(&found));
    assert_eq!(ratio[0].anomaly.window.start, from);
    assert!(ratio[0]
        .pattern
        .examples
        .iter()
        .all(|e| e.contains(" 503 ")));
    assert!(
        ratio[0].anomaly.severity >= Severity::Moderate,
        "{}",
        describe(&found)
    );
    assert!(ratio
        .iter()
        .all(|a| a.anomaly.window.end <= to + Duration::minutes(10)));
}

#[test]
fn a_job_every_fifteen_minutes_that_stops_is_found_within_the_hour() {
    let base = trained();
    let start = local(2026, 10, 29, 0, 0);
    let mut records = normal(start, 24 * 60, 51);
    let from = local(2026, 10, 29, 10, 0);
    records.retain(|r| !(r.service == "cron" && r.timestamp >= from));
    let found = detect(&records, base);
    let drops: Vec<_> = found
        .iter()
        .filter(|a| a.anomaly.kind == AnomalyType::VolumeDrop && a.service.name == "cron")
        .collect();
    assert!(!drops.is_empty(), "{}", describe(&found));
    // The last run is 09:52, the first missed one 10:07; two and a half periods after the
    // last run (10:30) someone hears of it.
    let first = drops
        .iter()
        .find(|a| a.anomaly.severity >= Severity::Moderate)
        .expect("the stopped job reaches moderate");
    assert!(
        first.anomaly.window.end <= local(2026, 10, 29, 10, 31),
        "{}",
        describe(&found)
    );
    assert!(
        first.anomaly.explanation.starts_with(
            "cron: 'cleanup job finished in <*> ms' comes every 15 min, never more than 15 min apart in the history; nothing since 09:52 (38 min, 2 runs missed), and at this time it comes on 14 of 14 days"
        ),
        "{}",
        first.anomaly.explanation
    );
    // One absence, escalating at most: not a new alert every bucket.
    assert!(drops.len() <= 3, "{}", describe(&found));
}

/// What the sidecar does when it restarts at `restart`: a new detector from the same model
/// replays the six hours before (what it finds was written before the restart), then
/// detects on.
fn detect_with_restart(
    records: &[LogRecord],
    base: &Baseline,
    restart: DateTime<Utc>,
) -> (Vec<Anomaly>, Vec<Anomaly>) {
    let (before, after): (Vec<&LogRecord>, Vec<&LogRecord>) =
        records.iter().partition(|r| r.timestamp < restart);
    let mut first = Detector::new(base.clone(), &config().detector_settings());
    let mut written = Vec::new();
    for r in &before {
        written.extend(first.push(r));
    }
    written.extend(first.close_until(restart));
    drop(first);
    let mut second = Detector::new(base.clone(), &config().detector_settings());
    for r in before
        .iter()
        .filter(|r| r.timestamp >= restart - Duration::hours(6))
    {
        second.push(r);
    }
    second.close_until(restart + Duration::milliseconds(1));
    let mut out = Vec::new();
    for r in &after {
        out.extend(second.push(r));
    }
    out.extend(second.finish());
    (written, out)
}

#[test]
fn a_restart_during_a_stopped_job_keeps_its_clock() {
    let base = trained();
    let start = local(2026, 10, 29, 0, 0);
    let mut records = normal(start, 24 * 60, 51);
    let from = local(2026, 10, 29, 10, 0);
    records.retain(|r| !(r.service == "cron" && r.timestamp >= from));
    let whole = detect(&records, base);
    let job = |a: &&Anomaly| a.anomaly.unit == "runs" && a.service.name == "cron";
    let expected: Vec<&Anomaly> = whole.iter().filter(job).collect();
    assert_eq!(expected.len(), 1, "{}", describe(&whole));
    // The sidecar stops at 10:12, after the last run (09:52) and before the job is overdue
    // (10:30); the replay of the hours before restores the job's clock.
    let (written, after) = detect_with_restart(&records, base, local(2026, 10, 29, 10, 12));
    assert!(!written.iter().any(|a| job(&a)), "{}", describe(&written));
    let found: Vec<&Anomaly> = after.iter().filter(job).collect();
    assert_eq!(found.len(), 1, "{}", describe(&after));
    assert_eq!(found[0].anomaly.id, expected[0].anomaly.id);
    assert!(
        found[0]
            .anomaly
            .explanation
            .contains("nothing since 09:52 (38 min, 2 runs missed)"),
        "{}",
        found[0].anomaly.explanation
    );
}

#[test]
fn a_value_many_fold_for_half_an_hour_is_a_drift_within_twenty_minutes() {
    let base = trained();
    let start = local(2026, 10, 29, 0, 0);
    let mut records = normal(start, 24 * 60, 61);
    let (from, to) = (local(2026, 10, 29, 16, 0), local(2026, 10, 29, 16, 30));
    // Checkout's payments take 20 times as long for half an hour.
    for r in records.iter_mut() {
        if r.service == "checkout" && r.timestamp >= from && r.timestamp < to {
            if let Some(rest) = r.message.strip_prefix("Payment accepted for order ") {
                let (order, ms) = rest.split_once(" in ").unwrap();
                let ms: u64 = ms.trim_end_matches("ms").parse().unwrap();
                r.message = format!("Payment accepted for order {order} in {}ms", ms * 20);
            }
        }
    }
    let found = detect(&records, base);
    let drift = found
        .iter()
        .find(|a| a.anomaly.kind == AnomalyType::ParameterDrift && a.service.name == "checkout")
        .unwrap_or_else(|| panic!("{}", describe(&found)));
    assert!(
        drift.anomaly.severity >= Severity::Moderate,
        "{}",
        describe(&found)
    );
    assert!(
        drift.anomaly.window.end <= from + Duration::minutes(20),
        "{}",
        describe(&found)
    );
}

/// Refunds in nine kinds (issued, queued or settled, by card, PayPal or voucher): nine
/// templates, since no word of theirs takes four values, that the pattern model puts in one
/// pattern.
fn refunds(start: DateTime<Utc>, minutes: i64, per_ten_minutes: f64, seed: u64) -> Vec<LogRecord> {
    let mut rng = StdRng::seed_from_u64(seed);
    let mut out = Vec::new();
    for m in (0..minutes).step_by(10) {
        let t0 = start + Duration::minutes(m);
        for state in ["issued", "queued", "settled"] {
            for via in ["card", "paypal", "voucher"] {
                for _ in 0..poisson(&mut rng, per_ten_minutes * traffic(t0)) {
                    let order = rng.random_range(10_000..99_999);
                    let at = t0 + Duration::seconds(rng.random_range(0..600));
                    out.push(rec(
                        at,
                        "checkout",
                        "info",
                        format!("Refund {state} via {via} for order {order}"),
                    ));
                }
            }
        }
    }
    out
}

#[test]
fn a_rise_spread_over_a_pattern_is_reported_for_the_pattern_with_its_templates() {
    let mut t = Trainer::new(&config().trainer_settings());
    let mut history = normal(train_start(), 14 * 24 * 60, 1);
    insert(&mut history, refunds(train_start(), 14 * 24 * 60, 1.0, 5));
    for r in &history {
        t.add(r);
    }
    let base = t.finish();
    let start = local(2026, 10, 27, 0, 0);
    let mut records = normal(start, 2 * 24 * 60, 3);
    insert(&mut records, refunds(start, 2 * 24 * 60, 1.0, 6));
    // Each of the nine kinds comes about six times as often for half an hour: too few lines
    // for any one template's spike (fewer than `detect.spike_min_count` a bucket each), a
    // clear one for the pattern.
    insert(
        &mut records,
        refunds(local(2026, 10, 27, 15, 0), 30, 5.0, 7),
    );
    let found = detect(&records, &base);
    let pattern_level: Vec<_> = found
        .iter()
        .filter(|a| a.pattern.id.starts_with('p') && a.service.name == "checkout")
        .collect();
    assert!(!pattern_level.is_empty(), "{}", describe(&found));
    let a = pattern_level[0];
    assert_eq!(
        a.anomaly.kind,
        AnomalyType::VolumeSpike,
        "{}",
        describe(&found)
    );
    // It names the pattern and the templates it stands for.
    let names = format!("(pattern {} of 9 templates: ", a.pattern.id);
    assert!(
        a.anomaly.explanation.contains(&names),
        "{}",
        a.anomaly.explanation
    );
    assert!(
        a.anomaly
            .explanation
            .contains("'Refund issued via card for order <*>'"),
        "{}",
        a.anomaly.explanation
    );
}
