//! The demo generator: determinism, seasonality, daylight saving, labels, variables and the
//! injected incidents, checked on the files it writes, read back through the NDJSON source.

use chrono::{DateTime, Datelike, Duration, NaiveDate, Timelike, Utc, Weekday};
use logwarden::config::Config;
use logwarden::demo::{self, GenSettings, Labels};
use logwarden::model::{AnomalyType, LogRecord};
use logwarden::source::{InputFormat, InputReport, RecordReader};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

/// A week of history across the end of DST (Sunday 2026-10-25) and the test week after it,
/// generated once for all tests in this file.
struct Fixture {
    _dir: tempfile::TempDir,
    path: PathBuf,
    labels: Labels,
    train: Vec<LogRecord>,
    test: Vec<LogRecord>,
    train_report: InputReport,
}

fn settings() -> GenSettings {
    GenSettings {
        seed: 7,
        start: NaiveDate::from_ymd_opt(2026, 10, 21).unwrap(),
        train_days: 7,
        tz: chrono_tz::Europe::Berlin,
        rate: 0.4,
    }
}

fn read(path: &Path) -> (Vec<LogRecord>, InputReport) {
    let cfg = Config::default();
    let f = std::io::BufReader::new(std::fs::File::open(path).unwrap());
    let mut r = RecordReader::new(f, InputFormat::Ndjson, cfg.fields, cfg.input, false);
    let mut out = Vec::new();
    while let Some(rec) = r.next_record().unwrap() {
        out.push(rec);
    }
    (out, r.into_report())
}

fn fixture() -> &'static Fixture {
    static F: OnceLock<Fixture> = OnceLock::new();
    F.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("week");
        let g = demo::generate_to_dir(&settings(), &path).unwrap();
        let labels = Labels::read(&path.join("labels.json")).unwrap();
        assert_eq!(labels, g.labels);
        let (train, train_report) = read(&path.join("train.ndjson"));
        let (test, _) = read(&path.join("test.ndjson"));
        assert_eq!(train.len() as u64, g.train_lines);
        assert_eq!(test.len() as u64, g.test_lines);
        Fixture {
            _dir: dir,
            path,
            labels,
            train,
            test,
            train_report,
        }
    })
}

fn berlin(t: DateTime<Utc>) -> DateTime<chrono_tz::Tz> {
    t.with_timezone(&chrono_tz::Europe::Berlin)
}

#[test]
fn same_seed_gives_same_bytes_and_another_seed_does_not() {
    let small = GenSettings {
        train_days: 1,
        rate: 0.2,
        ..settings()
    };
    let run = |s: &GenSettings| {
        let (mut a, mut b) = (Vec::new(), Vec::new());
        let (labels, _, _) = demo::generate(s, &mut a, &mut b).unwrap();
        (a, b, serde_json::to_string(&labels).unwrap())
    };
    let first = run(&small);
    assert!(first.0.len() > 100_000 && first.1.len() > 100_000);
    assert_eq!(first, run(&small));
    let other = run(&GenSettings { seed: 8, ..small });
    assert_ne!(first.0, other.0);
    assert_eq!(first.2.replace("\"seed\":7", "\"seed\":8"), other.2);
}

#[test]
fn files_read_back_cleanly_and_nearly_in_order() {
    let f = fixture();
    let r = &f.train_report;
    assert_eq!(r.rejected, 0, "{}", r.summary());
    assert_eq!(r.records, r.lines);
    let late = r
        .problems
        .get(&logwarden::source::Problem::OutOfOrder)
        .copied()
        .unwrap_or(0);
    assert!(late > 0, "a tiny share of late lines is realistic");
    assert!(late * 1000 < r.records, "{late} of {}", r.records);
    let services: BTreeSet<&str> = f.train.iter().map(|r| r.service.as_str()).collect();
    assert_eq!(services.len(), 8, "{services:?}");
    assert!(f
        .train
        .iter()
        .all(|r| r.level.is_some() && r.host.is_some()));
    assert!(f.train.last().unwrap().timestamp < f.labels.test_start + Duration::minutes(5));
    assert!(f.test[0].timestamp >= f.labels.test_start - Duration::seconds(3));
}

fn is_heartbeat(r: &LogRecord) -> bool {
    r.message.starts_with("health check ok")
}

#[test]
fn traffic_follows_the_local_day_and_weekends_are_quieter() {
    let f = fixture();
    let mut by_hour = [0u64; 24];
    let mut by_day: std::collections::BTreeMap<NaiveDate, u64> = Default::default();
    for r in f.train.iter().filter(|r| !is_heartbeat(r)) {
        let l = berlin(r.timestamp);
        *by_day.entry(l.date_naive()).or_default() += 1;
        if !matches!(l.weekday(), Weekday::Sat | Weekday::Sun) {
            by_hour[l.hour() as usize] += 1;
        }
    }
    let night = by_hour[3] + by_hour[4];
    let evening = by_hour[20] + by_hour[21];
    assert!(evening > 6 * night, "evening {evening}, night {night}");
    assert!(by_hour[11] > 3 * by_hour[4], "{by_hour:?}");
    let weekday = by_day[&NaiveDate::from_ymd_opt(2026, 10, 22).unwrap()];
    let saturday = by_day[&NaiveDate::from_ymd_opt(2026, 10, 24).unwrap()];
    assert!(
        (saturday as f64) < 0.85 * weekday as f64,
        "{saturday} vs {weekday}"
    );
    // heartbeats stay steady: 2 a minute per service, day and night
    let hb_night = f
        .train
        .iter()
        .filter(|r| is_heartbeat(r) && r.service == "auth" && berlin(r.timestamp).hour() == 4)
        .count();
    assert_eq!(hb_night, 7 * 120);
    // the night the clocks go back, local 02:00-03:00 happens twice
    let dst_night = NaiveDate::from_ymd_opt(2026, 10, 25).unwrap();
    let hb_twice = f
        .train
        .iter()
        .filter(|r| is_heartbeat(r) && r.service == "auth")
        .map(|r| berlin(r.timestamp))
        .filter(|l| l.date_naive() == dst_night && l.hour() == 2)
        .count();
    assert_eq!(hb_twice, 240);
}

#[test]
fn the_deploy_stays_at_two_pm_local_across_the_dst_change() {
    let f = fixture();
    let starts: Vec<DateTime<Utc>> = f
        .train
        .iter()
        .filter(|r| {
            r.message
                .starts_with("rolling deploy started service=gateway")
        })
        .map(|r| r.timestamp)
        .collect();
    let days: Vec<NaiveDate> = starts.iter().map(|t| berlin(*t).date_naive()).collect();
    let expect: Vec<NaiveDate> = [21, 22, 23, 26, 27]
        .iter()
        .map(|d| NaiveDate::from_ymd_opt(2026, 10, *d).unwrap())
        .collect();
    assert_eq!(days, expect, "weekdays only");
    for t in &starts {
        let l = berlin(*t);
        assert_eq!((l.hour(), l.minute()), (14, 0), "{t}");
    }
    let utc_hours: BTreeSet<u32> = starts.iter().map(|t| t.hour()).collect();
    assert_eq!(utc_hours, BTreeSet::from([12, 13]), "CEST then CET");
    // a deploy writes its restart lines and new pods appear
    let warmups = f
        .train
        .iter()
        .filter(|r| r.message.starts_with("warm-up complete in"))
        .count();
    assert_eq!(warmups, 5 * 18, "18 pods restart per deploy");
    let drains = f
        .train
        .iter()
        .filter(|r| r.service == "gateway" && r.message.contains(" marked draining, "))
        .count();
    assert_eq!(drains, 5 * 15, "the gateway sees the other 15 pods drain");
    let before: BTreeSet<&str> = f
        .train
        .iter()
        .filter(|r| r.service == "checkout" && r.timestamp < starts[0])
        .filter_map(|r| r.host.as_deref())
        .collect();
    let after: BTreeSet<&str> = f
        .train
        .iter()
        .filter(|r| r.service == "checkout" && r.timestamp > starts[0] + Duration::hours(1))
        .filter(|r| r.timestamp < starts[1])
        .filter_map(|r| r.host.as_deref())
        .collect();
    assert_eq!(before.len(), 3);
    assert!(before.is_disjoint(&after), "{before:?} {after:?}");
}

#[test]
fn labels_hold_one_incident_of_each_type_with_breach_times() {
    let f = fixture();
    let l = &f.labels;
    assert_eq!(l.timezone, "Europe/Berlin");
    for t in AnomalyType::ALL {
        let i: Vec<_> = l.incidents.iter().filter(|i| i.kind == t).collect();
        assert_eq!(i.len(), 1, "{t}");
        assert!(i[0].start >= l.test_start && i[0].end <= l.test_end);
    }
    for i in l.incidents.iter().filter(|i| i.threshold.is_some()) {
        let b = i
            .breach_at
            .expect("trend incidents carry their breach time");
        assert!(b > i.start + Duration::hours(6) && b < i.end, "{}", i.id);
    }
    // test week Wed 28 Oct - Tue 3 Nov: five weekdays
    assert_eq!(l.deploys.len(), 5);
    let text = std::fs::read_to_string(f.path.join("labels.json")).unwrap();
    assert!(text.contains("\"type\": \"forecast_breach\""), "{text}");
}

fn is_uuid(tok: &str) -> bool {
    let parts: Vec<&str> = tok.split('-').collect();
    parts.iter().map(|p| p.len()).collect::<Vec<_>>() == [8, 4, 4, 4, 12]
        && parts
            .iter()
            .all(|p| p.chars().all(|c| c.is_ascii_hexdigit()))
}

fn is_ipv4(tok: &str) -> bool {
    let tok = tok.split(':').next().unwrap_or("");
    let parts: Vec<&str> = tok.split('.').collect();
    parts.len() == 4
        && parts
            .iter()
            .all(|p| !p.is_empty() && p.parse::<u8>().is_ok())
}

fn has_number_with_unit(msg: &str, units: &[&str]) -> bool {
    msg.split(|c: char| c.is_whitespace() || c == '(' || c == ')' || c == ',' || c == '=')
        .any(|tok| {
            units.iter().any(|u| {
                tok.strip_suffix(u).is_some_and(|n| {
                    !n.is_empty()
                        && n.parse::<f64>().is_ok()
                        && n.contains(|c: char| c.is_ascii_digit())
                })
            })
        })
}

#[test]
fn messages_carry_the_variables_a_miner_must_mask() {
    let f = fixture();
    let msgs: Vec<&str> = f.train.iter().map(|r| r.message.as_str()).collect();
    let any = |p: &dyn Fn(&str) -> bool| msgs.iter().any(|m| p(m));
    let tokens = |m: &str| -> Vec<String> {
        m.split(|c: char| c.is_whitespace() || "=(),\"<>".contains(c))
            .map(|t| t.to_string())
            .collect()
    };
    assert!(any(&|m| tokens(m).iter().any(|t| is_uuid(t))), "uuid");
    assert!(any(&|m| tokens(m).iter().any(|t| is_ipv4(t))), "ip");
    assert!(
        any(&|m| tokens(m)
            .iter()
            .any(|t| t.contains('@') && t.contains('.') && !t.starts_with('@'))),
        "email"
    );
    assert!(any(&|m| m.contains("https://")), "url");
    assert!(
        any(&|m| tokens(m).iter().any(|t| t.starts_with("/api/v2/"))),
        "path"
    );
    assert!(any(&|m| has_number_with_unit(m, &["ms"])), "duration ms");
    assert!(any(&|m| has_number_with_unit(m, &["s"])), "duration s");
    assert!(
        any(&|m| has_number_with_unit(m, &["KiB", "MiB", "GiB"])),
        "size"
    );
    assert!(
        any(&|m| m.contains(" status=200 ") && m.contains(" trace_id=")),
        "k=v"
    );
    let shapes: BTreeSet<String> = msgs
        .iter()
        .map(|m| m.split_whitespace().take(2).collect::<Vec<_>>().join(" "))
        .collect();
    assert!(shapes.len() >= 60, "{} distinct openings", shapes.len());
    // values vary: the most common full message is rare
    let mut counts: std::collections::HashMap<&str, u32> = Default::default();
    for m in msgs.iter().filter(|m| !m.starts_with("health check ok")) {
        *counts.entry(m).or_default() += 1;
    }
    let top = counts.values().max().copied().unwrap_or(0) as usize;
    assert!(top * 200 < msgs.len(), "a message repeats {top} times");
}

fn in_window(
    recs: &[LogRecord],
    start: DateTime<Utc>,
    end: DateTime<Utc>,
) -> impl Iterator<Item = &LogRecord> {
    recs.iter()
        .filter(move |r| r.timestamp >= start && r.timestamp < end)
}

#[test]
fn the_incidents_show_in_the_test_week_only() {
    let f = fixture();
    let inc = |t: AnomalyType| f.labels.incidents.iter().find(|i| i.kind == t).unwrap();
    // new pattern: never in the history, only inside its window in the test week
    let tls = |r: &&LogRecord| r.message.starts_with("TLS handshake failed");
    assert_eq!(f.train.iter().filter(tls).count(), 0);
    let np = inc(AnomalyType::NewPattern);
    let n = f.test.iter().filter(tls).count();
    assert!(n >= 40, "{n}");
    assert_eq!(in_window(&f.test, np.start, np.end).filter(tls).count(), n);
    // rare pattern: a handful in the history, a burst in its window
    let admin = |r: &&LogRecord| r.message.starts_with("admin ") && r.service == "auth";
    let rp = inc(AnomalyType::RarePattern);
    let burst = in_window(&f.test, rp.start, rp.end).filter(admin).count();
    assert!(burst >= 35, "{burst}");
    let known = f.train.iter().filter(admin).count();
    assert!((1..=6).contains(&known), "{known}");
    // volume spike: the cache-miss line at several times the same hour the day before
    let vs = inc(AnomalyType::VolumeSpike);
    let miss = |r: &&LogRecord| r.message.starts_with("cache miss for sku=");
    let during = in_window(&f.test, vs.start, vs.end).filter(miss).count();
    let day_before = in_window(
        &f.test,
        vs.start - Duration::days(1),
        vs.end - Duration::days(1),
    )
    .filter(miss)
    .count();
    assert!(during >= 4 * day_before.max(3), "{during} vs {day_before}");
    // volume drop: the notifier's heartbeat is silent in its window, and only there
    let vd = inc(AnomalyType::VolumeDrop);
    let hb = |r: &&LogRecord| is_heartbeat(r) && r.service == "notifier";
    assert_eq!(in_window(&f.test, vd.start, vd.end).filter(hb).count(), 0);
    let before = in_window(&f.test, vd.start - Duration::hours(1), vd.start)
        .filter(hb)
        .count();
    assert_eq!(before, 120);
    // error ratio: payments' error share jumps
    let er = inc(AnomalyType::ErrorRatio);
    let share = |a, b| {
        let all: Vec<_> = in_window(&f.test, a, b)
            .filter(|r| r.service == "payments" && !is_heartbeat(r))
            .collect();
        all.iter().filter(|r| r.is_error()).count() as f64 / all.len().max(1) as f64
    };
    let normal = share(er.start - Duration::days(1), er.end - Duration::days(1));
    let during = share(er.start, er.end);
    assert!(
        during > 0.08 && during > 5.0 * normal,
        "{during} vs {normal}"
    );
}

fn median_of(recs: &[&LogRecord], key: &str) -> f64 {
    let mut v: Vec<f64> = recs
        .iter()
        .filter_map(|r| {
            let rest = r.message.split(key).nth(1)?;
            rest.split_whitespace().next()?.parse().ok()
        })
        .collect();
    assert!(!v.is_empty(), "no {key}");
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

#[test]
fn the_trends_creep_and_breach_where_the_labels_say() {
    let f = fixture();
    for (kind, prefix, key) in [
        (
            AnomalyType::ParameterDrift,
            "connection acquired pool=primary",
            "wait_ms=",
        ),
        (
            AnomalyType::ForecastBreach,
            "query served q=",
            "latency_ms=",
        ),
    ] {
        let i = f.labels.incidents.iter().find(|i| i.kind == kind).unwrap();
        let breach = i.breach_at.unwrap();
        let threshold = i.threshold.unwrap();
        let window = |a: DateTime<Utc>, b: DateTime<Utc>| -> Vec<&LogRecord> {
            in_window(&f.test, a, b)
                .filter(|r| r.message.starts_with(prefix))
                .collect()
        };
        let week_before: Vec<&LogRecord> = f
            .train
            .iter()
            .filter(|r| r.message.starts_with(prefix))
            .filter(|r| {
                r.timestamp >= i.start - Duration::days(7)
                    && r.timestamp < breach - Duration::days(7)
            })
            .collect();
        let early = median_of(&window(i.start, i.start + Duration::hours(2)), key);
        let near = median_of(
            &window(breach - Duration::hours(1), breach + Duration::hours(1)),
            key,
        );
        let base = median_of(&week_before, key);
        assert!(base < 0.8 * threshold, "{kind}: {base}");
        assert!(
            near > 0.85 * threshold && near < 1.2 * threshold,
            "{kind}: {near}"
        );
        assert!(near > 1.3 * early, "{kind}: {early} -> {near}");
    }
}
