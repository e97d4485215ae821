//! Throughput and precision of training and detection on synthetic microservice logs.
//!
//! Trains on two weeks (Europe/Berlin, daily and weekly seasonality, a daily 14:00 rolling
//! deploy, a DST change, day and hour levels varying by about 12%), then runs the detectors over four further normal weeks and counts
//! what they raise. Run: `cargo bench --bench detect`.

use chrono::{DateTime, Duration, TimeZone, Timelike, Utc};
use logwarden::config::Config;
use logwarden::detect::{Detector, Trainer};
use logwarden::model::{LogRecord, Severity};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use rand_distr::{Distribution, Poisson};
use std::time::Instant;

const TZ: chrono_tz::Tz = chrono_tz::Europe::Berlin;

fn traffic(t: DateTime<Utc>) -> f64 {
    let l = TZ.from_utc_datetime(&t.naive_utc());
    let h = l.hour() as f64 + l.minute() as f64 / 60.0;
    let daily = 0.15 + 0.85 * (-(h - 13.0).powi(2) / 18.0).exp();
    let weekend = matches!(l.format("%a").to_string().as_str(), "Sat" | "Sun");
    daily * if weekend { 0.5 } else { 1.0 }
}

/// Per-minute rates at peak of (service, level, message maker) for 15 templates.
fn logs(start: DateTime<Utc>, minutes: i64, seed: u64, scale: f64) -> Vec<LogRecord> {
    let mut rng = StdRng::seed_from_u64(seed);
    let mut out = Vec::new();
    let services = ["api", "checkout", "auth", "search", "cart"];
    // Real traffic is overdispersed: a level per day and a wobble per hour.
    let noise = rand_distr::LogNormal::new(0.0, 0.12).unwrap();
    let (mut day_level, mut hour_level) = (1.0, 1.0);
    for m in 0..minutes {
        let t0 = start + Duration::minutes(m);
        if m % 1440 == 0 {
            day_level = noise.sample(&mut rng);
        }
        if m % 60 == 0 {
            hour_level = noise.sample(&mut rng);
        }
        let f = traffic(t0) * scale * day_level * hour_level;
        let mut minute = Vec::new();
        for (si, svc) in services.iter().enumerate() {
            for k in 0..3 {
                let rate = (12.0 / (k as f64 + 1.0)) * f / (si as f64 + 1.0);
                let n = Poisson::new(rate.max(1e-9)).unwrap().sample(&mut rng) as u64;
                for _ in 0..n {
                    let ms = 20 + rng.random_range(0..200);
                    let id = rng.random_range(1..100_000);
                    let message = match k {
                        0 => format!("{svc} request {id} served in {ms}ms"),
                        1 => format!("{svc} cache miss for key {id}"),
                        _ => format!("{svc} upstream retry {id} after {ms}ms"),
                    };
                    let at = t0 + Duration::milliseconds(rng.random_range(0..60_000));
                    minute.push(LogRecord {
                        timestamp: at,
                        message,
                        service: svc.to_string(),
                        level: Some(if k == 2 { "warn" } else { "info" }.to_string()),
                        host: None,
                    });
                }
            }
            minute.push(LogRecord {
                timestamp: t0 + Duration::seconds(si as i64),
                message: format!("{svc} heartbeat ok"),
                service: svc.to_string(),
                level: Some("info".to_string()),
                host: None,
            });
        }
        let l = TZ.from_utc_datetime(&t0.naive_utc());
        if l.hour() == 14 && l.minute() < 5 {
            for _ in 0..(8 + rng.random_range(0..5)) {
                minute.push(LogRecord {
                    timestamp: t0 + Duration::milliseconds(rng.random_range(0..60_000)),
                    message: format!("Rolling restart of pod {} started", rng.random_range(1..60)),
                    service: "deployer".to_string(),
                    level: Some("info".to_string()),
                    host: None,
                });
            }
        }
        minute.sort_by_key(|r| r.timestamp);
        out.extend(minute);
    }
    out
}

fn main() {
    let cfg = Config::from_yaml("timezone: Europe/Berlin\n").unwrap();
    let start = TZ
        .with_ymd_and_hms(2026, 10, 12, 0, 0, 0)
        .unwrap()
        .with_timezone(&Utc);
    let train = logs(start, 14 * 1440, 1, 1.0);
    let t = Instant::now();
    let mut trainer = Trainer::new(&cfg.trainer_settings());
    for r in &train {
        trainer.add(r);
    }
    let base = trainer.finish();
    let secs = t.elapsed().as_secs_f64();
    println!(
        "train: {} lines in {:.2} s = {:.0} lines/s ({} profiles)",
        train.len(),
        secs,
        train.len() as f64 / secs,
        base.profiles.len()
    );
    let mut total_lines = 0usize;
    let mut total_secs = 0.0;
    for week in 0..4 {
        let from = start + Duration::days(14 + 7 * week);
        let records = logs(from, 7 * 1440, 100 + week as u64, 1.0);
        let t = Instant::now();
        let mut d = Detector::new(base.clone(), &cfg.detector_settings());
        let mut found = Vec::new();
        for r in &records {
            found.extend(d.push(r));
        }
        found.extend(d.finish());
        total_secs += t.elapsed().as_secs_f64();
        total_lines += records.len();
        let serious = found
            .iter()
            .filter(|a| a.anomaly.severity >= Severity::Moderate)
            .count();
        let windows = d.stats().buckets * base.profiles.len() as u64;
        println!(
            "normal week {}: {} findings ({} moderate+, {:.2}/day), {:.4}% of key-windows",
            week + 1,
            found.len(),
            serious,
            serious as f64 / 7.0,
            100.0 * found.len() as f64 / windows.max(1) as f64
        );
        for a in found.iter().take(5) {
            println!(
                "  {} {} {}",
                a.anomaly.kind, a.anomaly.severity, a.anomaly.explanation
            );
        }
    }
    println!(
        "detect: {} lines in {:.2} s = {:.0} lines/s",
        total_lines,
        total_secs,
        total_lines as f64 / total_secs
    );
}
