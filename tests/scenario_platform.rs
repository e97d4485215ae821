//! The platform scenario: deterministic per seed, labels that agree with the lines, and the
//! "reaches a person" grade on hand-made anomaly lists.
//!
//! These tests check the generator and the grader, not the detectors: whether the detectors
//! reach the bar on this scenario is measured by `cargo bench --bench scenarios`.

use chrono::{DateTime, Duration, Timelike, Utc};
use logwarden::demo::eval::{self, Deadline, EvalConfig, ReachConfig, Verdict};
use logwarden::demo::{Incident, Labels};
use logwarden::model::*;
use logwarden::scenario::plan::{DRIFT_BASE_MS, LEAK_BASE_MS, SEARCH_TIMEOUT_MS};
use logwarden::scenario::traffic::Line;
use logwarden::scenario::{generate, IncidentKind, PlatformSettings};
use std::collections::BTreeSet;

fn settings(seed: u64) -> PlatformSettings {
    PlatformSettings {
        seed,
        train_days: 1,
        test_days: 2,
        rate: 0.5,
        ..PlatformSettings::default()
    }
}

/// The test period's lines and the labels.
fn test_lines(s: &PlatformSettings) -> (Vec<Line>, Labels) {
    let mut lines = Vec::new();
    let labels = logwarden::scenario::generate::for_each_line(s, |l, is_test| {
        if is_test {
            lines.push(l.clone());
        }
        Ok(())
    })
    .unwrap();
    (lines, labels)
}

fn incident<'a>(labels: &'a Labels, kind: AnomalyType, service: Option<&str>) -> &'a Incident {
    labels
        .incidents
        .iter()
        .find(|i| i.kind == kind && service.is_none_or(|s| i.service == s))
        .unwrap_or_else(|| panic!("no {kind} incident in {:#?}", labels.incidents))
}

fn param(message: &str, key: &str) -> Option<f64> {
    let at = message.find(&format!(" {key}="))? + key.len() + 2;
    let rest = &message[at..];
    let end = rest
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(rest.len());
    rest[..end].parse().ok()
}

fn median(mut v: Vec<f64>) -> f64 {
    assert!(!v.is_empty());
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

#[test]
fn the_same_seed_writes_the_same_bytes_and_another_seed_other_times() {
    let s = PlatformSettings {
        test_days: 1,
        rate: 0.2,
        ..settings(5)
    };
    let run = |s: &PlatformSettings| {
        let (mut train, mut test) = (Vec::new(), Vec::new());
        let (labels, n_train, n_test) = generate(s, &mut train, &mut test).unwrap();
        assert_eq!(
            train.iter().filter(|&&b| b == b'\n').count() as u64,
            n_train
        );
        assert_eq!(test.iter().filter(|&&b| b == b'\n').count() as u64, n_test);
        (train, test, labels)
    };
    let a = run(&s);
    let b = run(&s);
    assert!(a.0 == b.0 && a.1 == b.1 && a.2 == b.2);
    let c = run(&PlatformSettings {
        seed: 6,
        ..s.clone()
    });
    assert!(a.0 != c.0);
    let starts = |l: &Labels| l.incidents.iter().map(|i| i.start).collect::<Vec<_>>();
    assert_ne!(starts(&a.2), starts(&c.2), "incident times vary by seed");
    // every line is a parseable ECS document in time order
    let mut last = None;
    for line in std::str::from_utf8(&a.1).unwrap().lines() {
        let v: serde_json::Value = serde_json::from_str(line).unwrap();
        let ts = DateTime::parse_from_rfc3339(v["@timestamp"].as_str().unwrap()).unwrap();
        assert!(last.is_none_or(|l| l <= ts), "{line}");
        last = Some(ts);
        assert!(v["service"]["name"].is_string() && v["log"]["level"].is_string());
        assert!(v["host"]["name"].is_string() && v["message"].is_string());
    }
}

#[test]
fn labels_agree_with_the_lines() {
    for seed in [1, 2] {
        let s = settings(seed);
        let (lines, labels) = test_lines(&s);
        assert_eq!(labels.incidents.len(), 9, "seed {seed}");
        let inside = |i: &Incident, l: &Line| i.start <= l.ts && l.ts < i.end;

        // 1. the panic lines exist only inside their window
        let np = incident(&labels, AnomalyType::NewPattern, None);
        let is_panic = |l: &Line| {
            l.message.starts_with("panic: runtime error")
                || l.message.contains("IllegalStateException: Duplicate key")
        };
        let panics: Vec<&Line> = lines.iter().filter(|l| is_panic(l)).collect();
        assert!(
            panics.len() >= 8,
            "seed {seed}: {} panic lines",
            panics.len()
        );
        assert!(panics
            .iter()
            .all(|l| inside(np, l) && l.service == np.service && l.level == "error"));

        // 2-3. the silent heartbeat and the stopped job have no line in their window, and
        // lines just before and after it
        let drops: Vec<&Incident> = labels
            .incidents
            .iter()
            .filter(|i| i.kind == AnomalyType::VolumeDrop && i.service != "*")
            .collect();
        assert_eq!(
            drops.len(),
            2,
            "only the heartbeat and the job are labelled drops"
        );
        for d in drops {
            let marker = if d.template.contains("leader lease") {
                "msg=\"leader lease renewed\""
            } else if d.template.contains("heartbeat ok") {
                "heartbeat ok queue="
            } else if d.template.contains("sync-carrier-status") {
                "sync-carrier-status"
            } else {
                "msg=\"rate cards refreshed\""
            };
            let of = |l: &&Line| l.service == d.service && l.message.contains(marker);
            assert_eq!(
                lines.iter().filter(of).filter(|l| inside(d, l)).count(),
                0,
                "{}",
                d.id
            );
            let near = |from: DateTime<Utc>, to: DateTime<Utc>| {
                lines.iter().filter(of).any(|l| from <= l.ts && l.ts < to)
            };
            let hour = Duration::minutes(61);
            assert!(near(d.start - hour, d.start), "{} had a line before", d.id);
            assert!(near(d.end, d.end + hour), "{} resumes after", d.id);
        }

        // 9. the whole source is silent: not one line from any service
        let silence = incident(&labels, AnomalyType::VolumeDrop, Some("*"));
        assert!(silence.end - silence.start >= Duration::minutes(30));
        assert_eq!(lines.iter().filter(|l| inside(silence, l)).count(), 0);
        let minute = Duration::minutes(1);
        assert!(lines
            .iter()
            .any(|l| l.ts >= silence.start - minute && l.ts < silence.start));
        assert!(lines
            .iter()
            .any(|l| l.ts >= silence.end && l.ts < silence.end + minute));

        // 4. the search timeouts: ~3 a minute on 7+ different terms, a handful outside
        let st = incident(&labels, AnomalyType::VolumeSpike, Some("tracking-search"));
        assert!(st.accept.contains(&AnomalyType::NewPattern));
        let timeout = format!("failed: timeout after {SEARCH_TIMEOUT_MS} ms");
        let timeouts: Vec<&Line> = lines
            .iter()
            .filter(|l| l.message.ends_with(&timeout))
            .collect();
        let (tin, tout): (Vec<&&Line>, Vec<&&Line>) = timeouts.iter().partition(|l| inside(st, l));
        assert!(
            (60..=130).contains(&tin.len()),
            "seed {seed}: {} timeouts",
            tin.len()
        );
        assert!(
            tout.len() <= 10,
            "seed {seed}: {} timeouts outside",
            tout.len()
        );
        let terms: BTreeSet<&str> = tin
            .iter()
            .map(|l| l.message.split('\'').nth(1).unwrap())
            .collect();
        assert!(terms.len() >= 7, "{terms:?}");
        assert!(tin.iter().all(|l| l.level == "warn"));

        // 5. the 5xx share among INFO access lines (health checks aside)
        let er = incident(&labels, AnomalyType::ErrorRatio, None);
        let access = |l: &&Line| {
            l.service == "edge-proxy"
                && l.message.contains(" HTTP/1.1\" ")
                && !l.message.contains("/healthz")
        };
        let is5xx = |l: &&&Line| {
            let status = l.message.split("HTTP/1.1\" ").nth(1).unwrap();
            status.starts_with('5')
        };
        let (ain, aout): (Vec<&Line>, Vec<&Line>) =
            lines.iter().filter(access).partition(|l| inside(er, l));
        assert!(ain.iter().chain(&aout).all(|l| l.level == "info"));
        let share = |v: &Vec<&Line>| v.iter().filter(is5xx).count() as f64 / v.len() as f64;
        assert!(share(&ain) >= 0.08, "seed {seed}: {}", share(&ain));
        assert!(share(&aout) <= 0.012, "seed {seed}: {}", share(&aout));

        // 6. the jumping value: many-fold against the two hours before
        let jump = labels
            .incidents
            .iter()
            .find(|i| i.kind == AnomalyType::ParameterDrift && i.breach_at.is_none())
            .unwrap();
        let key = jump.parameter.as_deref().unwrap();
        let values = |from: DateTime<Utc>, to: DateTime<Utc>| {
            let v: Vec<f64> = lines
                .iter()
                .filter(|l| l.service == jump.service && from <= l.ts && l.ts < to)
                .filter_map(|l| param(&l.message, key))
                .collect();
            v
        };
        let during = median(values(jump.start, jump.end));
        let before = median(values(jump.start - Duration::hours(2), jump.start));
        assert!(
            during >= 3.0 * before,
            "seed {seed}: {key} {before} -> {during}"
        );

        // 7-8. the trends follow the curve their labels imply and cross at breach_at
        for (kind, base, key, exponential) in [
            (AnomalyType::ParameterDrift, LEAK_BASE_MS, "wait_ms", true),
            (
                AnomalyType::ForecastBreach,
                DRIFT_BASE_MS,
                "latency_ms",
                false,
            ),
        ] {
            let t = labels
                .incidents
                .iter()
                .find(|i| i.kind == kind && i.breach_at.is_some())
                .unwrap();
            let (breach, threshold) = (t.breach_at.unwrap(), t.threshold.unwrap());
            let span = (breach - t.start).num_seconds() as f64;
            let expected = |at: DateTime<Utc>| {
                let x = (at - t.start).num_seconds() as f64 / span;
                if exponential {
                    base * (threshold / base).powf(x)
                } else {
                    base + (threshold - base) * x
                }
            };
            let marker = if exponential {
                "pool=ledger-primary"
            } else {
                "msg=\"carrier api call\""
            };
            let mut h = t.start;
            while h + Duration::hours(1) <= t.end {
                let v: Vec<f64> = lines
                    .iter()
                    .filter(|l| l.service == t.service && l.message.contains(marker))
                    .filter(|l| h <= l.ts && l.ts < h + Duration::hours(1) && !inside(silence, l))
                    .filter_map(|l| param(&l.message, key))
                    .collect();
                if v.len() >= 40 {
                    let m = median(v);
                    let e = expected(h + Duration::minutes(30));
                    assert!(
                        (m / e - 1.0).abs() < 0.08,
                        "seed {seed} {key} at {h}: {m} vs {e}"
                    );
                }
                h += Duration::hours(1);
            }
            assert!((expected(breach) - threshold).abs() < 1e-9);
            if let Some(lead) = t.min_lead_hours {
                assert_eq!(lead, 6.0);
                let growth = (threshold / base).powf(3600.0 / span) - 1.0;
                assert!(growth < 0.01, "a slow leak grows under 1%/h: {growth}");
                let local = breach.with_timezone(&labels.tz());
                assert!((19..=21).contains(&local.hour()), "{local}");
            }
        }
    }
}

#[test]
fn the_deploy_and_the_nightly_batches_are_normal_and_on_time() {
    let s = PlatformSettings {
        incidents: vec![IncidentKind::Panic],
        ..settings(3)
    };
    let (lines, labels) = test_lines(&s);
    let tz = labels.tz();
    assert!(!labels.deploys.is_empty(), "the test days are weekdays");
    let starting = |m: &str| {
        m.starts_with("[main] INFO  c.p.shipment.ShipmentApiApplication - Starting")
            || m.starts_with("level=info msg=\"starting ")
            || m == "[INFO] Starting gunicorn 22.0.0"
            || m == "Puma starting in cluster mode..."
            || m.starts_with("notifier v3.")
    };
    let np = &labels.incidents[0];
    let mut in_deploy = 0;
    for l in lines.iter().filter(|l| starting(&l.message)) {
        let deploy = labels
            .deploys
            .iter()
            .any(|d| d.start <= l.ts && l.ts < d.end);
        let crash =
            np.service == "rate-engine" && np.start <= l.ts && l.ts < np.end + Duration::minutes(1);
        assert!(deploy || crash, "a start outside the deploy: {l:?}");
        in_deploy += deploy as u32;
    }
    assert!(in_deploy >= 4, "{in_deploy}");
    // the nightly runs end at the same minute every night
    for (marker, hh, mm) in [
        ("[InvoiceRunJob] Invoice run for", 1, 52),
        ("SettlementJob - Nightly settlement for", 2, 47),
    ] {
        let ends: Vec<_> = lines
            .iter()
            .filter(|l| l.message.contains(marker))
            .collect();
        assert_eq!(ends.len(), 2, "{marker}");
        for l in ends {
            let t = l.ts.with_timezone(&tz);
            assert_eq!((t.hour(), t.minute()), (hh, mm), "{l:?}");
        }
    }
    // the 5-minute carrier sync pauses every night and is not labelled for it
    let syncs = lines
        .iter()
        .filter(|l| l.message.contains("sync-carrier-status["))
        .filter(|l| l.ts.with_timezone(&tz).hour() < 5)
        .count();
    assert_eq!(syncs, 0);
    assert_eq!(labels.incidents.len(), 1);
}

#[test]
fn normal_traffic_does_not_depend_on_the_incidents_chosen() {
    let full = settings(4);
    let some = PlatformSettings {
        incidents: vec![IncidentKind::Heartbeat],
        ..settings(4)
    };
    let (a, la) = test_lines(&full);
    let (b, lb) = test_lines(&some);
    let hb = |l: &Labels| {
        l.incidents
            .iter()
            .find(|i| i.template.contains("heartbeat ok") || i.template.contains("lease"))
            .map(|i| (i.start, i.end))
    };
    assert_eq!(hb(&la), hb(&lb), "a subset keeps its times");
    let silence = incident(&la, AnomalyType::VolumeDrop, Some("*"));
    // auth and payments carry no incident: their lines are the same but for the silence
    let quiet = |v: &[Line], drop_silence: bool| {
        v.iter()
            .filter(|l| l.service == "auth" || l.service == "payment-gateway")
            .filter(|l| !(drop_silence && silence.start <= l.ts && l.ts < silence.end))
            .cloned()
            .collect::<Vec<_>>()
    };
    assert_eq!(quiet(&a, false), quiet(&b, true));
}

fn anomaly(
    kind: AnomalyType,
    service: &str,
    end: DateTime<Utc>,
    severity: Severity,
    score: f64,
) -> Anomaly {
    let start = end - Duration::minutes(10);
    Anomaly {
        timestamp: start,
        anomaly: AnomalyBody {
            id: content_id(&[service, &end.to_rfc3339(), kind.as_str()]),
            kind,
            severity,
            score,
            window: Window { start, end },
            observed: 10.0,
            expected: 1.0,
            unit: "count".to_string(),
            confidence: 1.0,
            probability: 1e-6,
            explanation: "hand-made".to_string(),
        },
        service: ServiceRef {
            name: service.to_string(),
        },
        pattern: PatternRef {
            id: "t1".to_string(),
            template: "x".to_string(),
            cluster_id: None,
            examples: vec![],
        },
        incident: IncidentRef { id: String::new() },
        model: ModelRef {
            version: "m".to_string(),
        },
        feedback: FeedbackRef::default(),
        tenant: "platform".to_string(),
        event: EventRef {
            kind: "alert".to_string(),
            start,
            end,
            severity: ecs_severity(severity),
            risk_score: score,
        },
        parameter: None,
        forecast: None,
    }
}

fn grade(labels: &Labels, anomalies: &[Anomaly]) -> (eval::Evaluation, eval::Reach) {
    let e = eval::evaluate(labels, anomalies, &EvalConfig::default());
    let r = eval::reach(labels, anomalies, &e, &ReachConfig::default());
    (e, r)
}

fn position(labels: &Labels, id: &str) -> usize {
    labels.incidents.iter().position(|i| i.id == id).unwrap()
}

#[test]
fn reaching_a_person_takes_moderate_in_time() {
    let labels = settings(1).labels();
    let np = incident(&labels, AnomalyType::NewPattern, None).clone();
    let k = position(&labels, &np.id);
    let m = |x| Duration::minutes(x);

    // found at low after 8 minutes: found, but nobody hears of it
    let low = anomaly(
        AnomalyType::NewPattern,
        &np.service,
        np.start + m(8),
        Severity::Low,
        39.0,
    );
    let (e, r) = grade(&labels, std::slice::from_ref(&low));
    assert!(e.incidents[k].found, "the older criterion counts any tier");
    assert!(!r.incidents[k].reached);
    let first = r.incidents[k].first_any.as_ref().unwrap();
    assert_eq!((first.severity, first.delay_minutes), (Severity::Low, 8.0));
    let text = eval::reach_verdict(&r.incidents[k]);
    assert!(
        text.starts_with("first: new_pattern low 39 after 8 min; never moderate+"),
        "{text}"
    );

    // moderate 25 minutes after the start: too late
    let late = anomaly(
        AnomalyType::NewPattern,
        &np.service,
        np.start + m(25),
        Severity::Moderate,
        55.0,
    );
    let (_, r) = grade(&labels, &[low.clone(), late]);
    assert!(!r.incidents[k].reached);
    assert_eq!(
        r.incidents[k].first_loud.as_ref().unwrap().delay_minutes,
        25.0
    );
    assert_eq!(r.incidents[k].deadline, Deadline::Within(20.0));
    assert!(eval::reach_verdict(&r.incidents[k]).contains("too late"));

    // moderate after 15 minutes reaches a person; so does critical
    let ok = anomaly(
        AnomalyType::NewPattern,
        &np.service,
        np.start + m(15),
        Severity::Critical,
        80.0,
    );
    let (_, r) = grade(&labels, &[low, ok]);
    assert!(r.incidents[k].reached);
    assert_eq!((r.incidents[k].alerts, r.incidents[k].loud_alerts), (2, 1));
}

#[test]
fn trends_must_come_an_hour_before_the_breach_and_a_slow_leak_six() {
    let labels = settings(2).labels();
    let h = |x: f64| Duration::seconds((x * 3600.0) as i64);
    let drift = incident(&labels, AnomalyType::ForecastBreach, None).clone();
    let leak = labels
        .incidents
        .iter()
        .find(|i| i.min_lead_hours.is_some())
        .unwrap()
        .clone();
    let (kd, kl) = (position(&labels, &drift.id), position(&labels, &leak.id));
    let b = drift.breach_at.unwrap();
    let half_hour = anomaly(
        AnomalyType::ForecastBreach,
        &drift.service,
        b - h(0.5),
        Severity::Critical,
        90.0,
    );
    let (_, r) = grade(&labels, &[half_hour]);
    assert!(!r.incidents[kd].reached, "30 min before the breach is late");
    let two_hours = anomaly(
        AnomalyType::ParameterDrift,
        &drift.service,
        b - h(2.0),
        Severity::Moderate,
        60.0,
    );
    let (_, r) = grade(&labels, &[two_hours]);
    assert!(r.incidents[kd].reached);
    assert!(
        (r.incidents[kd]
            .first_loud
            .as_ref()
            .unwrap()
            .lead_hours
            .unwrap()
            - 2.0)
            .abs()
            < 1e-6
    );

    let b = leak.breach_at.unwrap();
    assert_eq!(r.incidents[kl].deadline, Deadline::LeadHours(6.0));
    let (_, r) = grade(
        &labels,
        &[anomaly(
            AnomalyType::ForecastBreach,
            "ledger",
            b - h(2.0),
            Severity::Moderate,
            60.0,
        )],
    );
    assert!(!r.incidents[kl].reached, "a slow leak needs six hours");
    let (_, r) = grade(
        &labels,
        &[anomaly(
            AnomalyType::ParameterDrift,
            "ledger",
            b - h(7.0),
            Severity::Moderate,
            60.0,
        )],
    );
    assert!(r.incidents[kl].reached);
}

#[test]
fn the_source_silence_the_search_burst_and_false_alerts() {
    let labels = settings(3).labels();
    let m = |x| Duration::minutes(x);
    let silence = incident(&labels, AnomalyType::VolumeDrop, Some("*")).clone();
    let search = incident(&labels, AnomalyType::VolumeSpike, None).clone();
    let (ks, kq) = (
        position(&labels, &silence.id),
        position(&labels, &search.id),
    );
    let deploy = labels.deploys[0];
    let anomalies = vec![
        // the convention: one source-level drop on service "*"
        anomaly(
            AnomalyType::VolumeDrop,
            "*",
            silence.start + m(20),
            Severity::Critical,
            85.0,
        ),
        // per-service drops during the silence are its side effects
        anomaly(
            AnomalyType::VolumeDrop,
            "auth",
            silence.start + m(20),
            Severity::Moderate,
            55.0,
        ),
        // a burst of never-seen timeout lines is accepted for the search incident
        anomaly(
            AnomalyType::NewPattern,
            "tracking-search",
            search.start + m(10),
            Severity::Moderate,
            60.0,
        ),
        // a moderate alert during the deploy, and a low one
        anomaly(
            AnomalyType::VolumeSpike,
            "auth",
            deploy.start + m(10),
            Severity::Moderate,
            52.0,
        ),
        anomaly(
            AnomalyType::NewPattern,
            "payment-gateway",
            deploy.start + m(10),
            Severity::Low,
            30.0,
        ),
    ];
    let (e, r) = grade(&labels, &anomalies);
    assert_eq!(e.verdicts[0], Verdict::Match(ks));
    assert_eq!(e.verdicts[1], Verdict::Explained(ks));
    assert!(r.incidents[ks].reached);
    assert_eq!(
        (r.incidents[ks].alerts, r.incidents[ks].loud_alerts),
        (2, 2)
    );
    assert_eq!(e.verdicts[2], Verdict::Match(kq));
    assert!(r.incidents[kq].reached);
    assert_eq!((r.deploy_loud, r.deploy_any), (1, 2));
    let day = deploy.start.with_timezone(&labels.tz()).date_naive();
    let on_day = r.false_loud_per_day.iter().find(|d| d.0 == day).unwrap();
    assert_eq!(on_day.1, 1, "only moderate+ counts");
    assert!(!r.meets_bar());
    let text = eval::render_reach(&labels, &e, &r);
    assert!(text.contains("Reaches a person"), "{text}");
    assert!(text.contains("[REACHED]"), "{text}");
    assert!(text.contains("NOT MET"), "{text}");
}

#[test]
fn labels_without_the_new_fields_still_parse() {
    let old = r#"{"seed":1,"timezone":"Europe/Berlin","train_start":"2026-10-12T00:00:00Z",
        "test_start":"2026-11-02T00:00:00Z","test_end":"2026-11-09T00:00:00Z","deploys":[],
        "incidents":[{"id":"inc-1","type":"volume_drop","service":"a","start":"2026-11-02T10:00:00Z",
        "end":"2026-11-02T11:00:00Z","template":"x","description":"y"}]}"#;
    let l: Labels = serde_json::from_str(old).unwrap();
    assert!(l.incidents[0].accept.is_empty() && l.incidents[0].min_lead_hours.is_none());
}

#[test]
fn cli_generates_a_platform_subset_and_refuses_platform_flags_for_the_shop() {
    let dir = tempfile::tempdir().unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_logwarden"))
        .args([
            "generate",
            "--scenario",
            "platform",
            "--train-days",
            "1",
            "--test-days",
            "1",
            "--rate",
            "0.1",
            "--incidents",
            "heartbeat,slow-leak",
            "--seed",
            "9",
            "--out-dir",
        ])
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let labels = Labels::read(&dir.path().join("labels.json")).unwrap();
    assert_eq!(labels.incidents.len(), 2);
    assert_eq!(labels.timezone, "America/Chicago");
    assert!(dir.path().join("train.ndjson").is_file() && dir.path().join("test.ndjson").is_file());
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_logwarden"))
        .args(["generate", "--test-days", "2", "--out-dir"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("--scenario platform"));
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_logwarden"))
        .args([
            "generate",
            "--scenario",
            "platform",
            "--incidents",
            "nope",
            "--out-dir",
        ])
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("slow-leak"));
}
