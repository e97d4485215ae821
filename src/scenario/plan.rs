//! The incidents of a platform test period: which ones, when, with which drawn values, and
//! the labels that describe them.
//!
//! Nine kinds ([`IncidentKind`]); each seed places the chosen ones at different local times
//! and days of the test period. Short incidents keep 45 minutes apart from each other and
//! from the weekday deploy, and stay out of the nightly batch window, so that one alert can be
//! judged against one incident. The two trends are drawn so that their threshold is crossed
//! at a known instant: the slow leak compounds `rate_per_hour` from local midnight and
//! crosses [`LEAK_THRESHOLD_MS`] between 19:00 and 21:00; the latency drift adds
//! `slope_ms_per_hour` to a flat median and crosses [`DRIFT_THRESHOLD_MS`] 3-5 hours after
//! it starts. `breach_at` is computed from the same formulas the traffic draws its values
//! from (medians of log-normal values, which are the formula's value exactly).

use super::rng::ScenarioRng;
use super::vocab;
use crate::demo::incidents::local_instant;
use crate::demo::Incident;
use crate::model::AnomalyType;
use chrono::{DateTime, Datelike, Duration, NaiveDate, Utc, Weekday};
use chrono_tz::Tz;
use std::fmt;
use std::str::FromStr;

/// The median pool wait (`wait_ms`) of the ledger before the leak.
pub const LEAK_BASE_MS: f64 = 40.0;
/// The median pool wait the slow leak crosses.
pub const LEAK_THRESHOLD_MS: f64 = 47.0;
/// The median carrier API latency (`latency_ms`) of the rate engine before the drift.
pub const DRIFT_BASE_MS: f64 = 180.0;
/// The median carrier API latency the drift crosses.
pub const DRIFT_THRESHOLD_MS: f64 = 400.0;
/// Local time of the weekday rolling deploy (hour, minute).
pub const DEPLOY_AT: (u32, u32) = (10, 40);
/// Timeout of the tracking search, in the timeout message.
pub const SEARCH_TIMEOUT_MS: u32 = 5000;
/// Local minutes of day of the nightly batches: the invoice run (billing-api) and the
/// settlement (ledger); each ends at the same minute every night.
pub const INVOICE_RUN: (u32, u32) = (30, 112);
/// See [`INVOICE_RUN`].
pub const SETTLEMENT_RUN: (u32, u32) = (120, 167);
/// Local hours during which the 5-minute carrier status sync runs (05:00 to 22:55).
pub const CARRIER_SYNC_HOURS: (u32, u32) = (5, 23);

/// The kinds of incident the platform scenario injects.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum IncidentKind {
    /// A never-seen ERROR-level panic / stack trace in one service for ~10 minutes.
    Panic,
    /// A heartbeat goes silent for 40 minutes.
    Heartbeat,
    /// A periodic job (every 5 or 15 minutes) stops running.
    JobStop,
    /// The tracking search times out ~3 times a minute for 30 minutes.
    SearchTimeouts,
    /// The share of 5xx among the edge proxy's INFO access lines rises to 10-18%.
    Status5xx,
    /// A numeric value (consumer lag, delivery attempts) jumps many-fold for 30 minutes.
    ValueJump,
    /// The ledger's pool wait grows under 1%/h from midnight and crosses its threshold ~20:00.
    SlowLeak,
    /// The carrier API latency climbs and crosses its threshold within a few hours.
    LatencyDrift,
    /// Every service stops logging at once (the shipper stopped) for 30-50 minutes.
    SourceSilence,
}

impl IncidentKind {
    /// All nine, in a fixed order.
    pub const ALL: [IncidentKind; 9] = [
        IncidentKind::Panic,
        IncidentKind::Heartbeat,
        IncidentKind::JobStop,
        IncidentKind::SearchTimeouts,
        IncidentKind::Status5xx,
        IncidentKind::ValueJump,
        IncidentKind::SlowLeak,
        IncidentKind::LatencyDrift,
        IncidentKind::SourceSilence,
    ];

    /// The name used on the command line (`--incidents panic,heartbeat`).
    pub fn name(self) -> &'static str {
        match self {
            IncidentKind::Panic => "panic",
            IncidentKind::Heartbeat => "heartbeat",
            IncidentKind::JobStop => "job-stop",
            IncidentKind::SearchTimeouts => "search-timeouts",
            IncidentKind::Status5xx => "status-5xx",
            IncidentKind::ValueJump => "value-jump",
            IncidentKind::SlowLeak => "slow-leak",
            IncidentKind::LatencyDrift => "latency-drift",
            IncidentKind::SourceSilence => "source-silence",
        }
    }
}

impl fmt::Display for IncidentKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for IncidentKind {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        IncidentKind::ALL
            .into_iter()
            .find(|k| k.name() == s)
            .ok_or_else(|| {
                let names: Vec<&str> = IncidentKind::ALL.iter().map(|k| k.name()).collect();
                format!("unknown incident `{s}`; one of {}", names.join(", "))
            })
    }
}

/// A time window `[start, end)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Span {
    /// Inclusive start.
    pub start: DateTime<Utc>,
    /// Exclusive end.
    pub end: DateTime<Utc>,
}

impl Span {
    /// Whether `t` lies inside.
    pub fn contains(&self, t: DateTime<Utc>) -> bool {
        self.start <= t && t < self.end
    }
}

/// Which service panics, and how.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PanicVariant {
    /// A Go nil-pointer panic in the rate engine; each crash restarts the pod.
    GoRateEngine,
    /// An unhandled Java exception in the shipment API's request path.
    JavaShipmentApi,
}

/// Which heartbeat goes silent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HeartbeatVariant {
    /// The dispatch worker's leader lease renewal (every 20 s).
    DispatchLease,
    /// The notifier's queue heartbeat (every 30 s from each of two pods).
    NotifierQueue,
}

/// Which periodic job stops.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JobVariant {
    /// The carrier status sync on the scheduler, every 5 minutes from 05:00 to 22:55.
    CarrierSync,
    /// The rate engine's rate-card refresh, every 15 minutes day and night.
    RateCardRefresh,
}

/// Which value jumps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JumpVariant {
    /// The dispatch worker's consumer lag (`lag`).
    ConsumerLag,
    /// The notifier's webhook delivery attempts (`attempts`).
    WebhookAttempts,
}

/// The drawn incidents of one test period (each `None` when not chosen).
#[derive(Debug, Clone, PartialEq)]
pub struct Plan {
    /// The panic and its lines per minute.
    pub panic: Option<(Span, PanicVariant, f64)>,
    /// The silent heartbeat.
    pub heartbeat: Option<(Span, HeartbeatVariant)>,
    /// The stopped job.
    pub job_stop: Option<(Span, JobVariant)>,
    /// The search timeouts, their rate per minute and the terms they quote.
    pub search: Option<(Span, f64, Vec<String>)>,
    /// The 5xx share among access lines during the window.
    pub status_5xx: Option<(Span, f64)>,
    /// The jumping value and its factor.
    pub jump: Option<(Span, JumpVariant, f64)>,
    /// The slow leak: window, compound growth per hour, breach instant.
    pub leak: Option<(Span, f64, DateTime<Utc>)>,
    /// The latency drift: window, ms per hour, breach instant.
    pub drift: Option<(Span, f64, DateTime<Utc>)>,
    /// The whole-source silence.
    pub silence: Option<Span>,
}

impl Plan {
    /// A plan without incidents (the history).
    pub fn none() -> Plan {
        Plan {
            panic: None,
            heartbeat: None,
            job_stop: None,
            search: None,
            status_5xx: None,
            jump: None,
            leak: None,
            drift: None,
            silence: None,
        }
    }

    /// The slow leak's factor on the pool wait at `t` (1 outside it).
    pub fn leak_factor(&self, t: DateTime<Utc>) -> f64 {
        match self.leak {
            Some((span, rate, _)) if span.contains(t) => (1.0 + rate).powf(hours(t - span.start)),
            _ => 1.0,
        }
    }

    /// The latency drift's median carrier latency at `t` (the base outside it).
    pub fn drift_median(&self, t: DateTime<Utc>) -> f64 {
        match self.drift {
            Some((span, slope, _)) if span.contains(t) => {
                DRIFT_BASE_MS + slope * hours(t - span.start)
            }
            _ => DRIFT_BASE_MS,
        }
    }
}

fn hours(d: Duration) -> f64 {
    d.num_milliseconds() as f64 / 3_600_000.0
}

/// Local days of the test period and the time zone, for drawing.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Period {
    pub tz: Tz,
    pub first_day: NaiveDate,
    pub days: u32,
}

impl Period {
    fn at(&self, day: u32, minute_of_day: u32) -> DateTime<Utc> {
        let date = self.first_day + Duration::days(day as i64);
        local_instant(self.tz, date, minute_of_day / 60, minute_of_day % 60)
    }

    fn is_weekday(&self, day: u32) -> bool {
        let d = self.first_day + Duration::days(day as i64);
        !matches!(d.weekday(), Weekday::Sat | Weekday::Sun)
    }
}

const fn hm(h: u32, m: u32) -> u32 {
    h * 60 + m
}

/// Draw the chosen incidents for a test period.
pub(crate) fn draw(seed: u64, period: Period, kinds: &[IncidentKind]) -> Plan {
    let mut r = ScenarioRng::stream(seed, "plan");
    let mut plan = Plan::none();
    // draw every kind's values whether chosen or not, so a subset keeps the same times
    let panic_variant = if r.chance(0.5) {
        PanicVariant::GoRateEngine
    } else {
        PanicVariant::JavaShipmentApi
    };
    let heartbeat_variant = if r.chance(0.5) {
        HeartbeatVariant::DispatchLease
    } else {
        HeartbeatVariant::NotifierQueue
    };
    let job_variant = if r.chance(0.5) {
        JobVariant::CarrierSync
    } else {
        JobVariant::RateCardRefresh
    };
    let jump_variant = if r.chance(0.5) {
        JumpVariant::ConsumerLag
    } else {
        JumpVariant::WebhookAttempts
    };
    // (kind, earliest local start, latest local start, duration minutes)
    let job_window = match job_variant {
        JobVariant::CarrierSync => (hm(6, 0), hm(19, 30), r.int(90, 150) as u32),
        JobVariant::RateCardRefresh => (hm(3, 30), hm(20, 0), r.int(120, 180) as u32),
    };
    let short: Vec<(IncidentKind, u32, u32, u32)> = vec![
        (
            IncidentKind::Panic,
            hm(7, 0),
            hm(21, 0),
            r.int(9, 12) as u32,
        ),
        (IncidentKind::Heartbeat, hm(3, 30), hm(22, 0), 40),
        (
            IncidentKind::JobStop,
            job_window.0,
            job_window.1,
            job_window.2,
        ),
        (IncidentKind::SearchTimeouts, hm(8, 0), hm(18, 30), 30),
        (
            IncidentKind::Status5xx,
            hm(8, 0),
            hm(18, 0),
            r.int(28, 34) as u32,
        ),
        (
            IncidentKind::ValueJump,
            hm(6, 0),
            hm(21, 0),
            r.int(28, 35) as u32,
        ),
        (
            IncidentKind::SourceSilence,
            hm(3, 30),
            hm(22, 0),
            r.int(32, 50) as u32,
        ),
    ];
    let spans = place(&mut r, period, &short);
    let span_of = |k: IncidentKind| spans.iter().find(|(kk, _)| *kk == k).map(|(_, s)| *s);
    let panic_rate = r.uniform(1.5, 3.5);
    let search_rate = r.uniform(2.6, 3.6);
    let mut terms: Vec<String> = Vec::new();
    while terms.len() < 5 {
        let t = r.pick(vocab::SEARCH_TERMS).to_string();
        if !terms.contains(&t) {
            terms.push(t);
        }
    }
    while terms.len() < 9 {
        let t = r.pick(vocab::NEW_SEARCH_TERMS).to_string();
        if !terms.contains(&t) {
            terms.push(t);
        }
    }
    let share_5xx = r.uniform(0.10, 0.18);
    let jump_factor = match jump_variant {
        JumpVariant::ConsumerLag => r.uniform(40.0, 120.0),
        JumpVariant::WebhookAttempts => r.uniform(4.0, 6.0),
    };
    // slow leak: from local midnight of its day, crossing the threshold 19:00-21:00
    let leak_day = r.int(0, period.days as i64 - 1) as u32;
    let leak_hours = r.uniform(19.0, 21.0);
    let leak_rate = (LEAK_THRESHOLD_MS / LEAK_BASE_MS).powf(1.0 / leak_hours) - 1.0;
    let leak_start = period.at(leak_day, 0);
    let leak_breach = leak_start + Duration::milliseconds((leak_hours * 3_600_000.0) as i64);
    // latency drift: starts 08:00-12:00, crosses the threshold 3-5 h later
    let drift_day = r.int(0, period.days as i64 - 1) as u32;
    let drift_start = period.at(drift_day, r.int(hm(8, 0) as i64, hm(12, 0) as i64) as u32);
    let drift_hours = r.uniform(3.0, 5.0);
    let drift_slope = (DRIFT_THRESHOLD_MS - DRIFT_BASE_MS) / drift_hours;
    let drift_breach = drift_start + Duration::milliseconds((drift_hours * 3_600_000.0) as i64);
    for &k in kinds {
        match k {
            IncidentKind::Panic => plan.panic = span_of(k).map(|s| (s, panic_variant, panic_rate)),
            IncidentKind::Heartbeat => plan.heartbeat = span_of(k).map(|s| (s, heartbeat_variant)),
            IncidentKind::JobStop => plan.job_stop = span_of(k).map(|s| (s, job_variant)),
            IncidentKind::SearchTimeouts => {
                plan.search = span_of(k).map(|s| (s, search_rate, terms.clone()))
            }
            IncidentKind::Status5xx => plan.status_5xx = span_of(k).map(|s| (s, share_5xx)),
            IncidentKind::ValueJump => {
                plan.jump = span_of(k).map(|s| (s, jump_variant, jump_factor))
            }
            IncidentKind::SourceSilence => plan.silence = span_of(k),
            IncidentKind::SlowLeak => {
                let end = leak_breach + Duration::hours(2);
                plan.leak = Some((
                    Span {
                        start: leak_start,
                        end,
                    },
                    leak_rate,
                    leak_breach,
                ))
            }
            IncidentKind::LatencyDrift => {
                let end = drift_breach + Duration::hours(1);
                plan.drift = Some((
                    Span {
                        start: drift_start,
                        end,
                    },
                    drift_slope,
                    drift_breach,
                ))
            }
        }
    }
    plan
}

/// Place the short incidents: each on a random day at a random minute of its range, 45
/// minutes clear of the others and of the weekday deploy.
fn place(
    r: &mut ScenarioRng,
    period: Period,
    short: &[(IncidentKind, u32, u32, u32)],
) -> Vec<(IncidentKind, Span)> {
    let gap = Duration::minutes(45);
    let deploy = |day: u32| {
        period.is_weekday(day).then(|| {
            let s = period.at(day, hm(DEPLOY_AT.0, DEPLOY_AT.1));
            (s - Duration::minutes(30), s + Duration::minutes(65))
        })
    };
    for attempt in 0..20_000 {
        let mut placed: Vec<(IncidentKind, Span)> = Vec::new();
        let mut ok = true;
        for &(kind, lo, hi, minutes) in short {
            let day = r.int(0, period.days as i64 - 1) as u32;
            let start = period.at(day, r.int(lo as i64, hi as i64) as u32);
            let span = Span {
                start,
                end: start + Duration::minutes(minutes as i64),
            };
            let clash = placed
                .iter()
                .any(|(_, o)| span.start < o.end + gap && o.start < span.end + gap)
                || deploy(day).is_some_and(|(ds, de)| span.start < de && ds < span.end);
            if clash && attempt < 19_999 {
                ok = false;
                break;
            }
            placed.push((kind, span));
        }
        if ok {
            return placed;
        }
    }
    unreachable!("the last attempt accepts any placement")
}

/// The labels of the chosen incidents, sorted by start, with ids `inc-N-<type>`.
pub(crate) fn incidents(plan: &Plan) -> Vec<Incident> {
    let mk = |kind: AnomalyType, service: &str, span: Span, template: &str, description: String| {
        Incident {
            id: String::new(),
            kind,
            service: service.to_string(),
            related_services: Vec::new(),
            start: span.start,
            end: span.end,
            template: template.to_string(),
            description,
            parameter: None,
            threshold: None,
            breach_at: None,
            accept: Vec::new(),
            min_lead_hours: None,
            period_minutes: None,
        }
    };
    let mut v = Vec::new();
    if let Some((span, variant, rate)) = plan.panic {
        v.push(match variant {
            PanicVariant::GoRateEngine => mk(
                AnomalyType::NewPattern,
                "rate-engine",
                span,
                GO_PANIC_TEMPLATE,
                format!("a nil-pointer panic in the surcharge code crashes rate-engine pods {rate:.1} times a minute"),
            ),
            PanicVariant::JavaShipmentApi => mk(
                AnomalyType::NewPattern,
                "shipment-api",
                span,
                JAVA_EXCEPTION_TEMPLATE,
                format!("an unhandled IllegalStateException on shipment creation, {rate:.1} a minute"),
            ),
        });
    }
    if let Some((span, variant)) = plan.heartbeat {
        v.push(match variant {
            HeartbeatVariant::DispatchLease => mk(
                AnomalyType::VolumeDrop,
                "dispatch-worker",
                span,
                LEASE_TEMPLATE,
                "the dispatch leader stops renewing its lease (every 20 s) for 40 minutes".into(),
            ),
            HeartbeatVariant::NotifierQueue => mk(
                AnomalyType::VolumeDrop,
                "notifier",
                span,
                NOTIFIER_HEARTBEAT_TEMPLATE,
                "the notifier's queue heartbeat (every 30 s per pod) goes silent for 40 minutes"
                    .into(),
            ),
        });
    }
    if let Some((span, variant)) = plan.job_stop {
        let mut i = match variant {
            JobVariant::CarrierSync => mk(
                AnomalyType::VolumeDrop,
                "scheduler",
                span,
                CARRIER_SYNC_TEMPLATE,
                format!("the 5-minute carrier status sync stops running for {} minutes (its nightly pause 23:00-05:00 is normal)", (span.end - span.start).num_minutes()),
            ),
            JobVariant::RateCardRefresh => mk(
                AnomalyType::VolumeDrop,
                "rate-engine",
                span,
                RATE_CARD_TEMPLATE,
                format!("the 15-minute rate-card refresh stops for {} minutes", (span.end - span.start).num_minutes()),
            ),
        };
        i.period_minutes = Some(match variant {
            JobVariant::CarrierSync => 5.0,
            JobVariant::RateCardRefresh => 15.0,
        });
        v.push(i);
    }
    if let Some((span, rate, terms)) = &plan.search {
        let mut i = mk(
            AnomalyType::VolumeSpike,
            "tracking-search",
            *span,
            SEARCH_TIMEOUT_TEMPLATE,
            format!(
                "tracking search times out {rate:.1} times a minute (usually a few a day) on {} different quoted terms",
                terms.len()
            ),
        );
        // a masker that keeps quoted terms sees each term's line as its own template, new
        // (never seen) or rare (seen once or twice in the history): reported as such it still
        // reaches a person, and the alert count per incident shows the fragmentation
        i.accept = vec![AnomalyType::NewPattern, AnomalyType::RarePattern];
        v.push(i);
    }
    if let Some((span, share)) = plan.status_5xx {
        let mut i = mk(
            AnomalyType::ErrorRatio,
            "edge-proxy",
            span,
            ACCESS_TEMPLATE,
            format!(
                "{:.0}% of API requests answered 5xx (usually 0.5%), logged at INFO in the access log",
                share * 100.0
            ),
        );
        i.related_services = vec!["billing-api".into(), "shipment-api".into()];
        v.push(i);
    }
    if let Some((span, variant, factor)) = plan.jump {
        let mut i = match variant {
            JumpVariant::ConsumerLag => mk(
                AnomalyType::ParameterDrift,
                "dispatch-worker",
                span,
                LAG_TEMPLATE,
                format!("the dispatch consumer lag jumps {factor:.0}-fold for half an hour"),
            ),
            JumpVariant::WebhookAttempts => mk(
                AnomalyType::ParameterDrift,
                "notifier",
                span,
                WEBHOOK_TEMPLATE,
                format!("webhook deliveries need {factor:.0}x the attempts (a customer endpoint flaps) for half an hour"),
            ),
        };
        i.parameter = Some(
            match variant {
                JumpVariant::ConsumerLag => "lag",
                JumpVariant::WebhookAttempts => "attempts",
            }
            .into(),
        );
        v.push(i);
    }
    if let Some((span, rate, breach)) = plan.leak {
        let mut i = mk(
            AnomalyType::ParameterDrift,
            "ledger",
            span,
            POOL_TEMPLATE,
            format!(
                "a connection leak: the ledger pool wait grows {:.2}%/h from midnight until it crosses {LEAK_THRESHOLD_MS} ms",
                rate * 100.0
            ),
        );
        i.parameter = Some("wait_ms".into());
        i.threshold = Some(LEAK_THRESHOLD_MS);
        i.breach_at = Some(breach);
        i.min_lead_hours = Some(6.0);
        v.push(i);
    }
    if let Some((span, slope, breach)) = plan.drift {
        let mut i = mk(
            AnomalyType::ForecastBreach,
            "rate-engine",
            span,
            CARRIER_CALL_TEMPLATE,
            format!(
                "carrier API latency climbs {slope:.0} ms an hour (an egress proxy saturates) until it crosses {DRIFT_THRESHOLD_MS} ms"
            ),
        );
        i.parameter = Some("latency_ms".into());
        i.threshold = Some(DRIFT_THRESHOLD_MS);
        i.breach_at = Some(breach);
        v.push(i);
    }
    if let Some(span) = plan.silence {
        v.push(mk(
            AnomalyType::VolumeDrop,
            "*",
            span,
            "*",
            format!(
                "the log shipper stops: no service logs anything for {} minutes",
                (span.end - span.start).num_minutes()
            ),
        ));
    }
    v.sort_by_key(|i| i.start);
    for (n, i) in v.iter_mut().enumerate() {
        i.id = format!("inc-{}-{}", n + 1, i.kind);
    }
    v
}

/// Which kind of platform incident a label describes (from its template), `None` for a
/// label this generator did not write.
pub fn kind_of(incident: &Incident) -> Option<IncidentKind> {
    let t = incident.template.as_str();
    Some(match t {
        GO_PANIC_TEMPLATE | JAVA_EXCEPTION_TEMPLATE => IncidentKind::Panic,
        LEASE_TEMPLATE | NOTIFIER_HEARTBEAT_TEMPLATE => IncidentKind::Heartbeat,
        CARRIER_SYNC_TEMPLATE | RATE_CARD_TEMPLATE => IncidentKind::JobStop,
        SEARCH_TIMEOUT_TEMPLATE => IncidentKind::SearchTimeouts,
        ACCESS_TEMPLATE => IncidentKind::Status5xx,
        LAG_TEMPLATE | WEBHOOK_TEMPLATE => IncidentKind::ValueJump,
        POOL_TEMPLATE => IncidentKind::SlowLeak,
        CARRIER_CALL_TEMPLATE => IncidentKind::LatencyDrift,
        "*" => IncidentKind::SourceSilence,
        _ => return None,
    })
}

/// The Go panic line, masked.
pub const GO_PANIC_TEMPLATE: &str = "panic: runtime error: invalid memory address or nil pointer dereference [signal SIGSEGV: segmentation violation code=<*> addr=<*> pc=<*>] goroutine <*> [running]: github.com/parcelstream/rate-engine/internal/quote.(*Engine).applySurcharge(<*>) /build/internal/quote/surcharge.go:<*>";
/// The Java exception line, masked.
pub const JAVA_EXCEPTION_TEMPLATE: &str = "[http-nio-8080-exec-<*>] ERROR c.p.shipment.web.GlobalExceptionHandler - Unhandled exception on POST /api/v2/shipments: java.lang.IllegalStateException: Duplicate key <*> (attempted merging values Parcel[id=<*>] and Parcel[id=<*>]) at java.base/java.util.stream.Collectors.duplicateKeyException(Collectors.java:135)";
/// The dispatch leader's lease renewal.
pub const LEASE_TEMPLATE: &str =
    "level=info msg=\"leader lease renewed\" holder=<*> term=<*> ttl_s=<*>";
/// The notifier's queue heartbeat.
pub const NOTIFIER_HEARTBEAT_TEMPLATE: &str =
    "heartbeat ok queue=notifications depth=<*> consumers=<*> broker=<*>";
/// The carrier status sync's result line.
pub const CARRIER_SYNC_TEMPLATE: &str =
    "sync-carrier-status[<*>]: <*> shipments updated from <*> carriers in <*>s";
/// The rate-card refresh line.
pub const RATE_CARD_TEMPLATE: &str =
    "level=info msg=\"rate cards refreshed\" source=<*> cards=<*> changed=<*> took=<*>";
/// The search timeout line.
pub const SEARCH_TIMEOUT_TEMPLATE: &str = "query <*> failed: timeout after <*> ms";
/// The edge proxy's access line.
pub const ACCESS_TEMPLATE: &str =
    "<*> - <*> [<*>] \"<*> <*> HTTP/1.1\" <*> <*> \"-\" \"<*>\" rt=<*> upstream=<*>";
/// The consumer lag line.
pub const LAG_TEMPLATE: &str =
    "level=info msg=\"consumer lag\" group=dispatch topic=shipment-events partition=<*> lag=<*>";
/// The webhook delivery line.
pub const WEBHOOK_TEMPLATE: &str =
    "webhook delivered url=<*> event=<*> status=<*> latency_ms=<*> attempts=<*>";
/// The ledger's pool statistics line.
pub const POOL_TEMPLATE: &str = "[HikariPool-1 housekeeper] INFO  c.p.ledger.db.PoolMonitor - pool=ledger-primary total=<*> active=<*> idle=<*> waiting=<*> wait_ms=<*>";
/// The rate engine's carrier API call line.
pub const CARRIER_CALL_TEMPLATE: &str = "level=info msg=\"carrier api call\" carrier=<*> endpoint=<*> status=<*> latency_ms=<*> attempt=<*>";

#[cfg(test)]
mod tests {
    use super::*;

    fn period(days: u32) -> Period {
        Period {
            tz: chrono_tz::America::Chicago,
            first_day: NaiveDate::from_ymd_opt(2026, 11, 2).unwrap(),
            days,
        }
    }

    #[test]
    fn every_kind_is_placed_apart_and_off_the_deploy() {
        for seed in 0..30 {
            for days in [1, 2, 3] {
                let p = period(days);
                let plan = draw(seed, p, &IncidentKind::ALL);
                let inc = incidents(&plan);
                assert_eq!(inc.len(), 9, "seed {seed}");
                let short: Vec<_> = inc.iter().filter(|i| i.breach_at.is_none()).collect();
                for (a, x) in short.iter().enumerate() {
                    for y in &short[a + 1..] {
                        let apart = x.end + Duration::minutes(45) <= y.start
                            || y.end + Duration::minutes(45) <= x.start;
                        assert!(apart, "seed {seed} days {days}: {} and {}", x.id, y.id);
                    }
                    let local = x.start.with_timezone(&p.tz);
                    let m = local.hour_min();
                    assert!(m >= hm(3, 30), "seed {seed}: {} at {local}", x.id);
                }
            }
        }
    }

    #[test]
    fn a_subset_keeps_the_times_of_the_full_mix() {
        let p = period(2);
        let full = draw(7, p, &IncidentKind::ALL);
        let some = draw(7, p, &[IncidentKind::Heartbeat, IncidentKind::SlowLeak]);
        assert_eq!(some.heartbeat, full.heartbeat);
        assert_eq!(some.leak, full.leak);
        assert!(some.panic.is_none() && some.silence.is_none());
    }

    #[test]
    fn trends_breach_at_their_drawn_instant() {
        let p = period(2);
        for seed in 0..20 {
            let plan = draw(seed, p, &IncidentKind::ALL);
            let (span, rate, breach) = plan.leak.unwrap();
            assert!(rate < 0.01, "a slow leak grows under 1%/h: {rate}");
            let local = breach.with_timezone(&p.tz).hour_min();
            assert!((hm(19, 0)..=hm(21, 0)).contains(&local), "{breach}");
            let at = LEAK_BASE_MS * plan.leak_factor(breach - Duration::seconds(1));
            assert!((at - LEAK_THRESHOLD_MS).abs() < 0.01, "{at}");
            assert!(span.start.with_timezone(&p.tz).hour_min() == 0);
            let (_, _, breach) = plan.drift.unwrap();
            let m = plan.drift_median(breach - Duration::seconds(1));
            assert!((m - DRIFT_THRESHOLD_MS).abs() < 0.1, "{m}");
        }
    }

    #[test]
    fn every_label_maps_back_to_its_kind() {
        let plan = draw(3, period(2), &IncidentKind::ALL);
        let kinds: Vec<IncidentKind> = incidents(&plan).iter().filter_map(kind_of).collect();
        let mut sorted = kinds.clone();
        sorted.sort();
        assert_eq!(sorted, IncidentKind::ALL.to_vec());
    }

    #[test]
    fn kinds_parse_by_name() {
        for k in IncidentKind::ALL {
            assert_eq!(k.name().parse::<IncidentKind>().unwrap(), k);
        }
        assert!("nope"
            .parse::<IncidentKind>()
            .unwrap_err()
            .contains("panic"));
    }

    trait HourMin {
        fn hour_min(&self) -> u32;
    }
    impl HourMin for DateTime<Tz> {
        fn hour_min(&self) -> u32 {
            use chrono::Timelike;
            self.hour() * 60 + self.minute()
        }
    }
}
