//! The weekday rolling deploy: which services restart, pod by pod, and when.
//!
//! Every weekday at [`DEPLOY_AT`](super::plan::DEPLOY_AT) local time two to four of the
//! deployable services are restarted one pod at a time (stop, start, ready, then the next
//! pod). The schedule of a day is drawn from its own stream, keyed by the date, so the
//! labels can list the deploy windows of the test period without generating the traffic.

use super::plan::{Span, DEPLOY_AT};
use super::rng::ScenarioRng;
use super::vocab;
use crate::demo::incidents::local_instant;
use chrono::{DateTime, Datelike, Duration, NaiveDate, Utc, Weekday};
use chrono_tz::Tz;

/// The services the deploy restarts, with their pod counts and runtime.
pub(crate) const DEPLOYABLE: &[(&str, usize, Runtime)] = &[
    ("shipment-api", 3, Runtime::Spring),
    ("rate-engine", 2, Runtime::Go),
    ("tracking-search", 2, Runtime::Gunicorn),
    ("billing-api", 2, Runtime::Puma),
    ("notifier", 2, Runtime::Node),
    ("dispatch-worker", 3, Runtime::Go),
];

/// How a service starts and stops (which messages it writes).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Runtime {
    /// Spring Boot on Java 21.
    Spring,
    /// A Go binary.
    Go,
    /// Python behind gunicorn.
    Gunicorn,
    /// Rails behind puma.
    Puma,
    /// Node.js.
    Node,
}

impl Runtime {
    /// Seconds from process start to ready.
    fn boot_secs(self, r: &mut ScenarioRng) -> f64 {
        match self {
            Runtime::Spring => r.uniform(11.0, 24.0),
            Runtime::Go => r.uniform(0.4, 2.5),
            Runtime::Gunicorn => r.uniform(2.0, 5.0),
            Runtime::Puma => r.uniform(5.0, 9.0),
            Runtime::Node => r.uniform(1.0, 3.0),
        }
    }
}

/// One pod's restart.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Restart {
    /// The service.
    pub service: &'static str,
    /// The pod's index in the service's fleet.
    pub pod: usize,
    /// The runtime (which messages).
    pub runtime: Runtime,
    /// When the old process is told to stop.
    pub stop: DateTime<Utc>,
    /// When the new process starts.
    pub start: DateTime<Utc>,
    /// When the new process is ready.
    pub ready: DateTime<Utc>,
    /// The new pod's replica-set suffix (`7d9f8c6b4-x2k4q`); `None` for stateful sets.
    pub suffix: Option<String>,
}

/// The deploy of local day `date`: its restarts and its window (from the deploy time to
/// five minutes after the last pod is ready); `None` on weekends.
pub(crate) fn deploy_of(seed: u64, tz: Tz, date: NaiveDate) -> Option<(Vec<Restart>, Span)> {
    if matches!(date.weekday(), Weekday::Sat | Weekday::Sun) {
        return None;
    }
    let mut r = ScenarioRng::stream(seed, &format!("deploy-{date}"));
    let begin = local_instant(tz, date, DEPLOY_AT.0, DEPLOY_AT.1);
    let n = r.int(2, 4) as usize;
    let mut chosen: Vec<usize> = Vec::new();
    while chosen.len() < n {
        let i = r.int(0, DEPLOYABLE.len() as i64 - 1) as usize;
        if !chosen.contains(&i) {
            chosen.push(i);
        }
    }
    let mut restarts = Vec::new();
    let mut cursor = begin + Duration::milliseconds(r.int(2_000, 40_000));
    for i in chosen {
        let (service, pods, runtime) = DEPLOYABLE[i];
        // one replica-set hash per deploy of a service, one suffix per pod
        let hash = vocab::pod_suffix(&mut r)[..9].to_string();
        for pod in 0..pods {
            let stop = cursor;
            let start = stop + Duration::milliseconds(r.int(3_000, 12_000));
            let ready = start + Duration::milliseconds((runtime.boot_secs(&mut r) * 1000.0) as i64);
            let suffix = (service != "dispatch-worker")
                .then(|| format!("{hash}-{}", &vocab::pod_suffix(&mut r)[10..]));
            restarts.push(Restart {
                service,
                pod,
                runtime,
                stop,
                start,
                ready,
                suffix,
            });
            cursor = ready + Duration::milliseconds(r.int(20_000, 60_000));
        }
        cursor += Duration::milliseconds(r.int(30_000, 90_000));
    }
    let last = restarts.iter().map(|x| x.ready).max().unwrap_or(begin);
    Some((
        restarts,
        Span {
            start: begin,
            end: last + Duration::minutes(5),
        },
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn weekdays_deploy_pod_by_pod_within_the_hour() {
        let tz = chrono_tz::America::Chicago;
        let mon = NaiveDate::from_ymd_opt(2026, 11, 2).unwrap();
        for d in 0..7 {
            let date = mon + Duration::days(d);
            let dep = deploy_of(4, tz, date);
            assert_eq!(dep.is_some(), d < 5, "{date}");
            if let Some((rs, span)) = dep {
                assert!(rs.len() >= 4, "{rs:?}");
                for w in rs.windows(2) {
                    assert!(w[0].ready < w[1].stop);
                }
                assert!(rs.iter().all(|x| x.stop < x.start && x.start < x.ready));
                assert!(span.end - span.start < Duration::minutes(45), "{span:?}");
                assert_eq!(deploy_of(4, tz, date).unwrap().1, span, "deterministic");
            }
        }
    }
}
