//! Drift and forecast evaluation and speed: false findings on normal and deploy weeks, lead
//! times and breach-time errors on a +2%/h creep, over many seeds; then throughput.
//!
//! Run: `cargo bench --bench drift` (optionally `-- SEEDS`, default 20).

use chrono::{DateTime, Duration, Utc};
use logwarden::detect::drift::{DriftConfig, SlotModel};
use logwarden::detect::forecast::Threshold;

#[path = "../tests/drift_gen/mod.rs"]
mod drift_gen;
use drift_gen::{how, Gen, BUCKET_MIN, KEY, SIGMA};
use std::time::Instant;

const LIMIT: f64 = 450.0;

fn start() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-11-02T00:00:00Z")
        .unwrap()
        .with_timezone(&Utc)
}

fn train(cfg: &DriftConfig, g: &mut Gen) -> SlotModel {
    let mut m = SlotModel::new(cfg);
    let mut at = start();
    while at < start() + Duration::days(14) {
        for v in g.bucket(at) {
            m.learn(how(at), v);
        }
        m.learn_bucket_end(how(at));
        at += Duration::minutes(BUCKET_MIN);
    }
    m
}

/// (drift times, forecast (time, breach_at) pairs) over `hours` from `from`.
#[allow(clippy::type_complexity)]
fn run(
    m: &mut SlotModel,
    cfg: &DriftConfig,
    g: &mut Gen,
    from: DateTime<Utc>,
    hours: i64,
) -> (Vec<DateTime<Utc>>, Vec<(DateTime<Utc>, DateTime<Utc>)>) {
    let (mut drifts, mut forecasts) = (Vec::new(), Vec::new());
    let mut at = from;
    while at < from + Duration::hours(hours) {
        for v in g.bucket(at) {
            m.observe(v);
        }
        let end = at + Duration::minutes(BUCKET_MIN);
        let (d, f) = m.close_bucket(cfg, &KEY, at, end, how(at));
        if d.is_some() {
            drifts.push(end);
        }
        if let Some(f) = f {
            forecasts.push((end, f.breach_at));
        }
        at = end;
    }
    (drifts, forecasts)
}

fn quantiles(mut v: Vec<f64>) -> String {
    if v.is_empty() {
        return "none".to_string();
    }
    v.sort_by(f64::total_cmp);
    let q = |p: f64| v[((v.len() - 1) as f64 * p).round() as usize];
    format!(
        "min {:.2} median {:.2} max {:.2} (n={})",
        q(0.0),
        q(0.5),
        q(1.0),
        v.len()
    )
}

fn main() {
    let seeds: u64 = std::env::args()
        .skip(1)
        .find_map(|a| a.parse().ok())
        .unwrap_or(20);
    let mut cfg = DriftConfig::default();
    cfg.forecast.thresholds = vec![Threshold {
        slot: "latency_ms".to_string(),
        above: LIMIT,
        service: None,
        quantile: None,
    }];
    let detect_from = start() + Duration::days(14);

    // Normal and deploy weeks: everything found is false.
    for deploy in [false, true] {
        let (mut d, mut f) = (0, 0);
        for s in 0..seeds {
            let mut g = Gen::new(1000 + s);
            g.deploy = deploy;
            let mut m = train(&cfg, &mut g);
            let (dr, fc) = run(&mut m, &cfg, &mut g, detect_from, 7 * 24);
            d += dr.len();
            f += fc.len();
        }
        println!(
            "{} weeks: {seeds} slot-weeks, {d} drift and {f} forecast findings (all false)",
            if deploy { "deploy" } else { "normal" }
        );
    }

    // Normal weeks with a slow wander (in training too): correlated hours are harder.
    for wander in [0.03, 0.05] {
        let (mut d, mut f) = (0, 0);
        for s in 0..seeds {
            let mut g = Gen::new(4000 + s);
            g.wander = wander;
            let mut m = train(&cfg, &mut g);
            let (dr, fc) = run(&mut m, &cfg, &mut g, detect_from, 7 * 24);
            d += dr.len();
            f += fc.len();
        }
        println!(
            "wander {wander} (stationary sd {:.3}): {seeds} slot-weeks, {d} drift and {f} forecast findings (all false)",
            wander / (1.0f64 - 0.64).sqrt()
        );
    }

    // A step up of 50% that stays (its highest p95 stays below the threshold): a drift is
    // right, a forecast would be false.
    let (mut d, mut f) = (0, 0);
    for s in 0..seeds {
        let mut g = Gen::new(3000 + s);
        let mut m = train(&cfg, &mut g);
        let step_at = detect_from + Duration::hours(30);
        let mut at = detect_from;
        while at < detect_from + Duration::days(4) {
            let factor = if at >= step_at { 1.5 } else { 1.0 };
            for v in g.bucket(at) {
                m.observe(v * factor);
            }
            let end = at + Duration::minutes(BUCKET_MIN);
            let (dr, fc) = m.close_bucket(&cfg, &KEY, at, end, how(at));
            d += usize::from(dr.is_some());
            f += usize::from(fc.is_some());
            at = end;
        }
    }
    println!(
        "step +50%: {seeds} slots, {d} drift findings (right: {seeds}), {f} forecasts (all false)"
    );

    // Creep of +2%/h from one day into detection.
    let (mut drift_lead, mut fc_lead, mut fc_err) = (Vec::new(), Vec::new(), Vec::new());
    let (mut early, mut missed_drift, mut missed_fc) = (0, 0, 0);
    for s in 0..seeds {
        let mut g = Gen::new(2000 + s);
        let mut m = train(&cfg, &mut g);
        let creep_from = detect_from + Duration::hours(24);
        g.creep_from = Some(creep_from);
        g.creep = 0.02;
        let mut breach = creep_from;
        while g.median(breach) * (1.644_854 * SIGMA).exp() < LIMIT {
            breach += Duration::minutes(1);
        }
        let (dr, fc) = run(&mut m, &cfg, &mut g, detect_from, 24 * 4);
        early += dr.iter().filter(|t| **t <= creep_from).count();
        match dr.iter().find(|t| **t > creep_from) {
            Some(t) => drift_lead.push((breach - *t).num_minutes() as f64 / 60.0),
            None => missed_drift += 1,
        }
        match fc.iter().find(|(t, _)| *t > creep_from) {
            Some((t, at)) => {
                fc_lead.push((breach - *t).num_minutes() as f64 / 60.0);
                fc_err.push((*at - breach).num_minutes() as f64 / 60.0);
            }
            None => missed_fc += 1,
        }
    }
    println!("creep +2%/h, p95 threshold {LIMIT} (breach ~35 h after the start), {seeds} seeds:");
    println!("  drift hours before breach: {}", quantiles(drift_lead));
    println!("  forecast hours before breach: {}", quantiles(fc_lead));
    println!("  forecast breach_at error (h): {}", quantiles(fc_err));
    println!(
        "  missed: drift {missed_drift}, forecast {missed_fc}; findings before the creep: {early}"
    );

    // Throughput.
    let mut g = Gen::new(7);
    let mut m = train(&cfg, &mut g);
    let values: Vec<f64> = (0..2_000_000).map(|i| 100.0 + (i % 977) as f64).collect();
    let t0 = Instant::now();
    for &v in &values {
        m.observe(v);
    }
    let observe = t0.elapsed().as_secs_f64();
    let mut at = detect_from;
    let closes = 20_000;
    let t0 = Instant::now();
    for _ in 0..closes {
        for v in [120.0, 130.0, 90.0, 150.0, 110.0, 170.0] {
            m.observe(v);
        }
        let end = at + Duration::minutes(BUCKET_MIN);
        std::hint::black_box(m.close_bucket(&cfg, &KEY, at, end, how(at)));
        at = end;
    }
    let close = t0.elapsed().as_secs_f64();
    println!(
        "observe: {:.1} M values/s; close_bucket (6 values): {:.0} k/s; trained model {} bytes of JSON",
        values.len() as f64 / observe / 1e6,
        closes as f64 / close / 1e3,
        serde_json::to_string(&train(&cfg, &mut Gen::new(8))).unwrap().len()
    );
}
