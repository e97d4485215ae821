//! The platform's traffic, minute by minute: eleven services, their message shapes, rates
//! and periodic jobs, the weekday deploy, and the incidents of the [`Plan`] laid over them.
//!
//! Normal traffic draws only from the `data` stream and incident effects only from the
//! `incident` stream: an incident modifies or removes lines after they were drawn (or adds
//! its own), so the normal lines of a seed are the same whichever incidents are chosen.
//! Lines of a minute come out sorted by time; lines scheduled past the minute (a job's
//! result line, a pod's ready message) wait in a queue until their minute.

use super::deploy::{self, Restart, Runtime};
use super::plan::{
    HeartbeatVariant, JobVariant, JumpVariant, PanicVariant, Plan, CARRIER_SYNC_HOURS, INVOICE_RUN,
    LEAK_BASE_MS, SEARCH_TIMEOUT_MS, SETTLEMENT_RUN,
};
use super::rng::ScenarioRng;
use super::vocab::{self, CARRIERS, CUSTOMERS, DEPOTS, ROUTES, SERVICE_LEVELS, USER_AGENTS};
use chrono::{DateTime, Datelike, Duration, NaiveDate, Timelike, Utc, Weekday};
use chrono_tz::Tz;
use std::collections::BTreeMap;

/// One log line.
#[derive(Debug, Clone, PartialEq)]
pub struct Line {
    /// Event time.
    pub ts: DateTime<Utc>,
    /// `service.name`.
    pub service: &'static str,
    /// `host.name`.
    pub host: String,
    /// `log.level`.
    pub level: &'static str,
    /// `message`.
    pub message: String,
}

/// Services and their pod counts (0: fixed host names).
pub(crate) const SERVICES: &[(&str, usize)] = &[
    ("edge-proxy", 0),
    ("shipment-api", 3),
    ("rate-engine", 2),
    ("tracking-search", 2),
    ("payment-gateway", 2),
    ("ledger", 2),
    ("billing-api", 2),
    ("dispatch-worker", 3),
    ("notifier", 2),
    ("auth", 2),
    ("scheduler", 0),
];

/// The share of the weekday peak at local `minute` of a day of `weekday` (before the day's
/// random factor): business hours in the US, a lunch dip, a quiet night, a slow weekend.
pub fn load(weekday: Weekday, minute: u32) -> f64 {
    const WEEKDAY: &[(f64, f64)] = &[
        (0.0, 0.07),
        (5.0, 0.07),
        (6.5, 0.35),
        (8.0, 0.95),
        (11.5, 1.0),
        (12.25, 0.8),
        (13.25, 1.0),
        (16.5, 0.95),
        (18.0, 0.55),
        (20.0, 0.3),
        (22.0, 0.14),
        (24.0, 0.07),
    ];
    const WEEKEND: &[(f64, f64)] = &[
        (0.0, 0.06),
        (7.0, 0.06),
        (10.0, 0.3),
        (15.0, 0.3),
        (19.0, 0.15),
        (24.0, 0.06),
    ];
    let h = minute as f64 / 60.0;
    let (curve, factor) = match weekday {
        Weekday::Mon => (WEEKDAY, 1.08),
        Weekday::Tue | Weekday::Wed => (WEEKDAY, 1.0),
        Weekday::Thu => (WEEKDAY, 0.97),
        Weekday::Fri => (WEEKDAY, 0.88),
        Weekday::Sat => (WEEKEND, 1.0),
        Weekday::Sun => (WEEKEND, 0.6),
    };
    let i = curve.iter().rposition(|p| p.0 <= h).unwrap_or(0);
    let (h0, v0) = curve[i];
    let (h1, v1) = curve[(i + 1).min(curve.len() - 1)];
    let v = if h1 > h0 {
        v0 + (v1 - v0) * (h - h0) / (h1 - h0)
    } else {
        v0
    };
    v * factor
}

/// What the minute loop needs to know about the current local day.
struct Day {
    date: NaiveDate,
    factor: f64,
    hour_noise: [f64; 24],
    restarts: Vec<Restart>,
}

/// The minute-by-minute simulator.
pub(crate) struct Traffic<'a> {
    seed: u64,
    tz: Tz,
    rate: f64,
    plan: &'a Plan,
    data: ScenarioRng,
    inc: ScenarioRng,
    pods: BTreeMap<&'static str, Vec<String>>,
    versions: BTreeMap<&'static str, u32>,
    leader: usize,
    term: u64,
    day: Option<Day>,
    later: Vec<Line>,
    lines: Vec<Line>,
    counters: u64,
}

impl<'a> Traffic<'a> {
    /// A simulator for `seed` in `tz` at `rate` times the base traffic, with `plan`'s
    /// incidents.
    pub(crate) fn new(seed: u64, tz: Tz, rate: f64, plan: &'a Plan) -> Self {
        let mut data = ScenarioRng::stream(seed, "data");
        let mut pods = BTreeMap::new();
        for &(service, n) in SERVICES {
            let names: Vec<String> = match service {
                "edge-proxy" => vec!["edge-1".into(), "edge-2".into()],
                "scheduler" => vec!["cron-1".into()],
                "dispatch-worker" => (0..n).map(|i| format!("dispatch-worker-{i}")).collect(),
                _ => {
                    let hash = vocab::pod_suffix(&mut data)[..9].to_string();
                    (0..n)
                        .map(|_| {
                            format!("{service}-{hash}-{}", &vocab::pod_suffix(&mut data)[10..])
                        })
                        .collect()
                }
            };
            pods.insert(service, names);
        }
        let versions = deploy::DEPLOYABLE
            .iter()
            .map(|&(s, _, _)| (s, data.int(3, 40) as u32))
            .collect();
        Traffic {
            seed,
            tz,
            rate,
            plan,
            data,
            inc: ScenarioRng::stream(seed, "incident"),
            pods,
            versions,
            leader: 0,
            term: 800 + (seed % 97),
            day: None,
            later: Vec::new(),
            lines: Vec::new(),
            counters: 1_000_000,
        }
    }

    /// The same simulator (pods, versions, queued lines, random streams) going on with
    /// another plan: the history runs without incidents, the test period with them.
    pub(crate) fn with_plan<'b>(self, plan: &'b Plan) -> Traffic<'b> {
        Traffic {
            seed: self.seed,
            tz: self.tz,
            rate: self.rate,
            plan,
            data: self.data,
            inc: self.inc,
            pods: self.pods,
            versions: self.versions,
            leader: self.leader,
            term: self.term,
            day: self.day,
            later: self.later,
            lines: self.lines,
            counters: self.counters,
        }
    }

    fn pod(&mut self, service: &'static str) -> String {
        let pods = &self.pods[service];
        let i = self.data.int(0, pods.len() as i64 - 1) as usize;
        pods[i].clone()
    }

    fn push(&mut self, ts: DateTime<Utc>, service: &'static str, level: &'static str, msg: String) {
        let host = self.pod(service);
        self.push_on(ts, service, host, level, msg);
    }

    fn push_on(
        &mut self,
        ts: DateTime<Utc>,
        service: &'static str,
        host: String,
        level: &'static str,
        message: String,
    ) {
        self.lines.push(Line {
            ts,
            service,
            host,
            level,
            message,
        });
    }

    fn later_on(
        &mut self,
        ts: DateTime<Utc>,
        service: &'static str,
        host: String,
        level: &'static str,
        message: String,
    ) {
        self.later.push(Line {
            ts,
            service,
            host,
            level,
            message,
        });
    }

    /// A random instant within the minute starting at `t0`.
    fn within(&mut self, t0: DateTime<Utc>) -> DateTime<Utc> {
        t0 + Duration::milliseconds(self.data.int(0, 59_999))
    }

    /// A small delay (jitter of a periodic event), `0..ms` milliseconds.
    fn jitter(&mut self, ms: i64) -> Duration {
        Duration::milliseconds(self.data.int(0, ms))
    }

    fn next_counter(&mut self) -> u64 {
        self.counters += self.data.int(1, 3) as u64;
        self.counters
    }

    /// Poisson count of a stream with `per_min` lines a minute at the weekday peak.
    fn count(&mut self, per_min: f64, load: f64) -> u64 {
        self.data.poisson(per_min * load * self.rate)
    }

    /// Every line of the minute starting at `t0`, sorted by time (the whole-source silence
    /// already removed).
    pub(crate) fn minute(&mut self, t0: DateTime<Utc>) -> Vec<Line> {
        let local = t0.with_timezone(&self.tz);
        let date = local.date_naive();
        if self.day.as_ref().is_none_or(|d| d.date != date) {
            self.start_day(date);
        }
        let mod_ = local.hour() * 60 + local.minute();
        let day = self.day.as_ref().expect("day set above");
        let load = load(date.weekday(), mod_) * day.factor * day.hour_noise[local.hour() as usize];
        self.edge_proxy(t0, load, local.weekday());
        self.shipment_api(t0, load, mod_, date);
        self.rate_engine(t0, load, mod_);
        self.tracking_search(t0, load, mod_);
        self.payment_gateway(t0, load, mod_);
        self.ledger(t0, load, mod_, date);
        self.billing_api(t0, load, mod_, date, local.hour());
        self.dispatch_worker(t0, load, mod_);
        self.notifier(t0, load);
        self.auth(t0, load, mod_);
        self.scheduler(t0, mod_, date);
        self.deploys(t0);
        self.incident_lines(t0);
        let end = t0 + Duration::minutes(1);
        let mut i = 0;
        while i < self.later.len() {
            if self.later[i].ts < end {
                let l = self.later.swap_remove(i);
                self.lines.push(l);
            } else {
                i += 1;
            }
        }
        let mut out = std::mem::take(&mut self.lines);
        out.sort_by_key(|a| a.ts);
        if let Some(s) = self.plan.silence {
            out.retain(|l| !s.contains(l.ts));
        }
        out
    }

    fn start_day(&mut self, date: NaiveDate) {
        let mut r = ScenarioRng::stream(self.seed, &format!("day-{date}"));
        let factor = r.lognormal(1.0, 0.06);
        let mut hour_noise = [1.0; 24];
        for h in hour_noise.iter_mut() {
            *h = r.lognormal(1.0, 0.05);
        }
        let restarts = deploy::deploy_of(self.seed, self.tz, date)
            .map(|(r, _)| r)
            .unwrap_or_default();
        self.day = Some(Day {
            date,
            factor,
            hour_noise,
            restarts,
        });
    }

    fn clf(&self, ts: DateTime<Utc>) -> String {
        ts.format("%d/%b/%Y:%H:%M:%S +0000").to_string()
    }

    fn edge_proxy(&mut self, t0: DateTime<Utc>, load: f64, _weekday: Weekday) {
        let n = self.count(45.0, load);
        for _ in 0..n {
            let ts = self.within(t0);
            let u = self.data.unit();
            let mut acc = 0.0;
            let mut route = ROUTES[0];
            for r in ROUTES {
                acc += r.3;
                if u < acc {
                    route = *r;
                    break;
                }
            }
            let (method, shape, upstream, _) = route;
            let cust = vocab::customer(&mut self.data);
            let path = shape
                .replace("{shp}", &vocab::shipment(&mut self.data))
                .replace("{trk}", &vocab::tracking(&mut self.data))
                .replace("{cust}", cust)
                .replace("{page}", &self.data.int(1, 12).to_string());
            let (median_rt, median_bytes) = match upstream {
                "shipment-api" => (0.035, 1800.0),
                "tracking-search" => (0.060, 2400.0),
                "rate-engine" => (0.180, 900.0),
                "billing-api" => (0.250, 14000.0),
                "payment-gateway" => (0.400, 600.0),
                _ => (0.300, 300.0),
            };
            let mut rt = self.data.lognormal(median_rt, 0.5);
            let s = self.data.unit();
            let mut status: u16 = if s < 0.005 {
                *self.data.pick(&[502, 503, 504, 502, 503])
            } else if s < 0.010 {
                400
            } else if s < 0.016 {
                if method == "GET" {
                    404
                } else {
                    422
                }
            } else if s < 0.021 {
                401
            } else if s < 0.024 {
                429
            } else if s < 0.026 {
                409
            } else if method == "POST" && shape == "/api/v2/shipments" {
                201
            } else if method == "DELETE" {
                204
            } else if method == "GET" && s > 0.97 {
                304
            } else {
                200
            };
            let mut bytes = match status {
                200 | 201 => self.data.lognormal(median_bytes, 0.7) as u64,
                204 | 304 => 0,
                _ => self.data.int(60, 240) as u64,
            };
            let ua = *self.data.pick_skewed(USER_AGENTS);
            let client = vocab::public_ip(&mut self.data);
            let user = if ua.starts_with("Mozilla") { "-" } else { cust };
            if let Some((span, share)) = self.plan.status_5xx {
                if span.contains(ts) && self.inc.chance(share) {
                    status = if self.inc.chance(0.7) {
                        503
                    } else if self.inc.chance(0.6) {
                        504
                    } else {
                        502
                    };
                    rt = if status == 504 {
                        30.0 + self.inc.uniform(0.0, 0.01)
                    } else {
                        self.inc.uniform(0.0, 0.004)
                    };
                    bytes = 91;
                }
            }
            let host = if self.data.chance(0.5) {
                "edge-1"
            } else {
                "edge-2"
            };
            let msg = format!(
                "{client} - {user} [{}] \"{method} {path} HTTP/1.1\" {status} {bytes} \"-\" \"{ua}\" rt={rt:.3} upstream={upstream}:8080",
                self.clf(ts)
            );
            self.push_on(ts, "edge-proxy", host.into(), "info", msg);
        }
        // load balancer health checks: two balancers probe both proxies every 30 s
        for (h, host) in ["edge-1", "edge-2"].into_iter().enumerate() {
            for (b, lb) in ["10.0.0.5", "10.0.0.6"].into_iter().enumerate() {
                for k in 0..2 {
                    let ts =
                        t0 + Duration::milliseconds(
                            k * 30_000 + (h as i64 * 7_500) + b as i64 * 15_000,
                        ) + self.jitter(300);
                    let msg = format!(
                        "{lb} - - [{}] \"GET /healthz HTTP/1.1\" 200 2 \"-\" \"ELB-HealthChecker/2.0\" rt=0.000 upstream=-",
                        self.clf(ts)
                    );
                    self.push_on(ts, "edge-proxy", host.into(), "info", msg);
                }
            }
        }
        // the proxy's own error log: a few benign warnings and upstream timeouts an hour
        if self.data.chance(0.06 * load.max(0.2)) {
            let ts = self.within(t0);
            let cust = vocab::customer(&mut self.data);
            let ip = vocab::public_ip(&mut self.data);
            let page = self.data.int(1, 30);
            let up = vocab::internal_ip(&mut self.data);
            let msg = format!(
                "{} [error] 2211#2211: *{} upstream timed out (110: Connection timed out) while reading response header from upstream, client: {ip}, server: api.parcelstream.io, request: \"GET /api/v2/invoices?customer={cust}&page={page} HTTP/1.1\", upstream: \"http://{up}:3000/invoices?customer={cust}&page={page}\"",
                ts.format("%Y/%m/%d %H:%M:%S"),
                self.next_counter()
            );
            let host = if self.data.chance(0.5) {
                "edge-1"
            } else {
                "edge-2"
            };
            self.push_on(ts, "edge-proxy", host.into(), "error", msg);
        }
        if self.data.chance(0.1 * load) {
            let ts = self.within(t0);
            let ip = vocab::public_ip(&mut self.data);
            let shp = vocab::shipment(&mut self.data);
            let n = self.data.int(1, 99_999);
            let msg = format!(
                "{} [warn] 2211#2211: *{} an upstream response is buffered to a temporary file /var/cache/nginx/proxy_temp/{}/{:02}/{n:010} while reading upstream, client: {ip}, server: api.parcelstream.io, request: \"GET /api/v2/labels/{shp}.pdf HTTP/1.1\"",
                ts.format("%Y/%m/%d %H:%M:%S"),
                self.next_counter(),
                n % 10,
                n % 100
            );
            let host = if self.data.chance(0.5) {
                "edge-1"
            } else {
                "edge-2"
            };
            self.push_on(ts, "edge-proxy", host.into(), "warn", msg);
        }
    }

    fn exec(&mut self) -> String {
        format!("http-nio-8080-exec-{}", self.data.int(1, 200))
    }

    fn shipment_api(&mut self, t0: DateTime<Utc>, load: f64, mod_: u32, date: NaiveDate) {
        const STATUS: &[&str] = &[
            "IN_TRANSIT",
            "DELIVERED",
            "LABEL_CREATED",
            "OUT_FOR_DELIVERY",
            "EXCEPTION",
        ];
        for _ in 0..self.count(20.0, load) {
            let ts = self.within(t0);
            let (exec, shp) = (self.exec(), vocab::shipment(&mut self.data));
            let events = self.data.int(1, 24);
            let st = *self.data.pick_skewed(STATUS);
            let ms = self.data.lognormal(12.0, 0.6).ceil();
            self.push(ts, "shipment-api", "info", format!("[{exec}] INFO  c.p.shipment.web.ShipmentController - Loaded shipment {shp} ({events} events, status {st}) in {ms} ms"));
        }
        for _ in 0..self.count(6.0, load) {
            let ts = self.within(t0);
            let (exec, shp) = (self.exec(), vocab::shipment(&mut self.data));
            let cust = vocab::customer(&mut self.data);
            let parcels = self.data.int(1, 6);
            let kg = self.data.lognormal(4.0 * parcels as f64, 0.6);
            let lvl = *self.data.pick_skewed(SERVICE_LEVELS);
            let carrier = *self.data.pick_skewed(CARRIERS);
            self.push(ts, "shipment-api", "info", format!("[{exec}] INFO  c.p.shipment.service.ShipmentService - Created shipment {shp} for customer {cust}: {parcels} parcels, {kg:.1} kg, service={lvl}, carrier={carrier}"));
        }
        for _ in 0..self.count(4.0, load) {
            let ts = self.within(t0);
            let (exec, shp) = (self.exec(), vocab::shipment(&mut self.data));
            let kb = self.data.lognormal(38.0, 0.4).round();
            let carrier = *self.data.pick_skewed(CARRIERS);
            let fmt = if self.data.chance(0.7) { "PDF" } else { "ZPL" };
            let ms = self.data.lognormal(60.0, 0.5).ceil();
            self.push(ts, "shipment-api", "info", format!("[{exec}] INFO  c.p.shipment.label.LabelRenderer - Rendered label {shp}.pdf ({kb} KB, {carrier}, {fmt}) in {ms} ms"));
        }
        for _ in 0..self.count(3.0, load) {
            let ts = self.within(t0);
            let exec = self.exec();
            let cust = vocab::customer(&mut self.data);
            let n = self.data.int(1, 50);
            self.push(ts, "shipment-api", "info", format!("[{exec}] INFO  c.p.shipment.web.AddressController - Listed {n} addresses for customer {cust}"));
        }
        if self.data.chance(0.25 * load) {
            let ts = self.within(t0);
            let (exec, shp) = (self.exec(), vocab::shipment(&mut self.data));
            let zip = self.data.digits(5);
            let st = *self.data.pick(vocab::STATES);
            self.push(ts, "shipment-api", "warn", format!("[{exec}] WARN  c.p.shipment.address.AddressValidator - Address for shipment {shp} could not be verified (postal code {zip} not found in {st}), accepted with warning"));
        }
        if self.data.chance(0.04 * load) {
            let ts = self.within(t0);
            let (exec, shp) = (self.exec(), vocab::shipment(&mut self.data));
            let v = self.data.int(2, 9);
            self.push(ts, "shipment-api", "warn", format!("[{exec}] WARN  c.p.shipment.service.ShipmentService - Optimistic lock conflict on Shipment#{shp} (version {v}), retrying attempt 1/3"));
        }
        // hourly manifests at :50, business hours of weekdays
        let weekday = !matches!(date.weekday(), Weekday::Sat | Weekday::Sun);
        if weekday && mod_ % 60 == 50 && (8..=20).contains(&(mod_ / 60)) {
            let host = self.pods["shipment-api"][0].clone();
            for (k, carrier) in CARRIERS.iter().enumerate() {
                let ts = t0 + Duration::milliseconds(200 + 150 * k as i64) + self.jitter(100);
                let seq = self.data.int(1, 9999);
                let n = (self.data.lognormal(60.0, 0.5) * (1.0 - k as f64 * 0.12)).max(1.0) as u64;
                let msg = format!("[scheduling-1] INFO  c.p.shipment.jobs.ManifestCloser - Closed manifest MNF-{}-{seq:04} with {n} shipments for carrier {carrier}", date.format("%Y%m%d"));
                self.push_on(ts, "shipment-api", host.clone(), "info", msg);
            }
        }
    }

    fn rate_engine(&mut self, t0: DateTime<Utc>, load: f64, mod_: u32) {
        for _ in 0..self.count(12.0, load) {
            let ts = self.within(t0);
            let cust = vocab::customer(&mut self.data);
            let lane = vocab::lane(&mut self.data);
            let kg = self.data.lognormal(8.0, 0.9);
            let carriers = self.data.int(2, 6);
            let best = *self.data.pick(CARRIERS);
            let price = vocab::amount(&mut self.data, 24.0);
            let ms = self.data.lognormal(220.0, 0.35).round();
            self.push(ts, "rate-engine", "info", format!("level=info msg=\"quote computed\" customer={cust} lane={lane} weight_kg={kg:.1} carriers={carriers} best={best} price_usd={price} latency_ms={ms}"));
        }
        for _ in 0..self.count(16.0, load) {
            let ts = self.within(t0);
            let carrier = *self.data.pick_skewed(CARRIERS);
            let draw = self.data.lognormal(1.0, 0.35);
            let limited = self.data.chance(0.005);
            let ms = (draw * self.plan.drift_median(ts)).round();
            let (level, status) = if limited {
                ("warn", 429)
            } else {
                ("info", 200)
            };
            self.push(ts, "rate-engine", level, format!("level={level} msg=\"carrier api call\" carrier={carrier} endpoint=/v1/rates status={status} latency_ms={ms} attempt=1"));
        }
        // the rate-card refresh, every 15 minutes day and night
        if mod_ % 15 == 3 {
            let stopped = matches!(self.plan.job_stop, Some((s, JobVariant::RateCardRefresh)) if s.contains(t0));
            let host = self.pods["rate-engine"][0].clone();
            let ts = t0 + Duration::milliseconds(1_000) + self.jitter(800);
            let cards = self.data.int(1180, 1240);
            let changed = self.data.int(0, 14);
            let took = self.data.lognormal(900.0, 0.3).round();
            let fuel = self.data.uniform(14.0, 16.5);
            let zones = self.data.int(8, 9);
            if !stopped {
                self.push_on(ts, "rate-engine", host.clone(), "info", format!("level=info msg=\"rate cards refreshed\" source=s3://ps-ratecards/prod cards={cards} changed={changed} took={took}ms"));
                self.push_on(ts + Duration::milliseconds(40), "rate-engine", host, "info", format!("level=info msg=\"surcharge table loaded\" fuel_pct={fuel:.2} zones={zones}"));
            }
        }
    }

    fn tracking_search(&mut self, t0: DateTime<Utc>, load: f64, mod_: u32) {
        for _ in 0..self.count(18.0, load) {
            let ts = self.within(t0);
            let term = vocab::search_term(&mut self.data);
            let hits = self.data.lognormal(20.0, 1.2) as u64;
            let ms = self.data.lognormal(45.0, 0.5).ceil();
            self.push(
                ts,
                "tracking-search",
                "info",
                format!("query '{term}' returned {hits} hits in {ms} ms"),
            );
        }
        if self.data.chance(0.005 * load) {
            let ts = self.within(t0);
            let term = vocab::search_term(&mut self.data);
            let ms = self.data.int(520, 2900);
            self.push(
                ts,
                "tracking-search",
                "warn",
                format!("slow query '{term}' took {ms} ms (threshold 500 ms)"),
            );
        }
        // a few timeouts a day are normal
        if self.data.chance(0.0045 * load) {
            let ts = self.within(t0);
            let term = vocab::search_term(&mut self.data);
            self.push(
                ts,
                "tracking-search",
                "warn",
                format!("query '{term}' failed: timeout after {SEARCH_TIMEOUT_MS} ms"),
            );
        }
        if mod_ % 5 == 1 {
            let host = self.pods["tracking-search"][0].clone();
            let ts = t0 + Duration::milliseconds(12_000) + self.jitter(2_000);
            let docs = 48_000_000 + (t0.timestamp() / 60 % 1_000_000) as u64 * 3;
            let seg = self.data.int(18, 40);
            let ms = self.data.lognormal(140.0, 0.3).round();
            self.push_on(
                ts,
                "tracking-search",
                host,
                "info",
                format!("index tracking-v7 refreshed: {docs} docs, {seg} segments in {ms} ms"),
            );
        }
    }

    fn payment_gateway(&mut self, t0: DateTime<Utc>, load: f64, mod_: u32) {
        const PSP: &[&str] = &["stripe", "adyen", "braintree"];
        for _ in 0..self.count(5.0, load) {
            let ts = self.within(t0);
            let psp = *self.data.pick_skewed(PSP);
            let cust = vocab::customer(&mut self.data);
            let amt = vocab::amount(&mut self.data, 140.0);
            let ms = self.data.lognormal(320.0, 0.4).round();
            let idem = self.data.hex(16);
            if self.data.chance(0.03) {
                let code = *self.data.pick(&[
                    "insufficient_funds",
                    "card_expired",
                    "do_not_honor",
                    "limit_exceeded",
                ]);
                self.push(ts, "payment-gateway", "warn", format!("{{\"evt\":\"charge\",\"psp\":\"{psp}\",\"merchant\":\"{cust}\",\"amount\":{amt},\"currency\":\"USD\",\"result\":\"declined\",\"decline_code\":\"{code}\",\"latency_ms\":{ms},\"idem\":\"idk_{idem}\"}}"));
            } else {
                self.push(ts, "payment-gateway", "info", format!("{{\"evt\":\"charge\",\"psp\":\"{psp}\",\"merchant\":\"{cust}\",\"amount\":{amt},\"currency\":\"USD\",\"result\":\"succeeded\",\"latency_ms\":{ms},\"idem\":\"idk_{idem}\"}}"));
            }
        }
        for _ in 0..self.count(4.0, load) {
            let ts = self.within(t0);
            let psp = *self.data.pick_skewed(PSP);
            let kind =
                *self
                    .data
                    .pick(&["AUTHORISATION", "CAPTURE", "REFUND", "CHARGEBACK_NOTICE"]);
            let r = self.data.digits(16);
            self.push(ts, "payment-gateway", "info", format!("{{\"evt\":\"webhook.received\",\"psp\":\"{psp}\",\"type\":\"{kind}\",\"psp_ref\":\"{r}\",\"ok\":true}}"));
        }
        if mod_ == 6 * 60 {
            let ts = t0 + Duration::milliseconds(2_000) + self.jitter(3_000);
            let n = self.data.int(20, 60);
            let total = vocab::amount(&mut self.data, 52_000.0);
            self.push(ts, "payment-gateway", "info", format!("{{\"evt\":\"payout.batch\",\"psp\":\"stripe\",\"payouts\":{n},\"total\":{total},\"currency\":\"USD\"}}"));
        }
        if mod_ % 60 == 42 {
            let ts = t0 + self.jitter(5_000);
            self.push(
                ts,
                "payment-gateway",
                "info",
                "{\"evt\":\"psp.token.refreshed\",\"psp\":\"adyen\",\"expires_in\":3600}"
                    .to_string(),
            );
        }
    }

    fn ledger(&mut self, t0: DateTime<Utc>, load: f64, mod_: u32, date: NaiveDate) {
        for _ in 0..self.count(5.0, load) {
            let ts = self.within(t0);
            let th = self.data.int(1, 8);
            let je = self.next_counter();
            let inv = self.data.int(100_000, 999_999);
            let cust = vocab::customer(&mut self.data);
            let amt = vocab::amount(&mut self.data, 140.0);
            self.push(ts, "ledger", "info", format!("[ledger-posting-{th}] INFO  c.p.ledger.JournalService - Posted journal entry JE-{je} for invoice INV-2026-{inv}: debit AR:{cust} credit REV:shipping amount {amt} USD"));
        }
        // pool statistics every 30 s from each pod: the slow leak's parameter
        for p in 0..2 {
            let host = self.pods["ledger"][p].clone();
            for k in 0..2 {
                let ts =
                    t0 + Duration::milliseconds(k * 30_000 + p as i64 * 13_000) + self.jitter(400);
                let active = (self.data.poisson(2.0 + 6.0 * load) as i64).min(20);
                let waiting = if self.data.chance(0.05 * load) {
                    self.data.int(1, 3)
                } else {
                    0
                };
                let wait = self.data.lognormal(LEAK_BASE_MS, 0.15) * self.plan.leak_factor(ts);
                self.push_on(ts, "ledger", host.clone(), "info", format!("[HikariPool-1 housekeeper] INFO  c.p.ledger.db.PoolMonitor - pool=ledger-primary total=20 active={active} idle={} waiting={waiting} wait_ms={wait:.1}", 20 - active));
            }
        }
        // the nightly settlement: 02:00 to 02:47, every night
        let (from, to) = SETTLEMENT_RUN;
        let host = self.pods["ledger"][1].clone();
        let batches = 60 + (date.ordinal() % 17) as i64;
        if mod_ == from {
            let ts = t0 + Duration::milliseconds(500) + self.jitter(500);
            self.push_on(ts, "ledger", host.clone(), "info", format!("[settlement-1] INFO  c.p.ledger.settlement.SettlementJob - Starting nightly settlement for {}: {batches} batches", date.pred_opt().unwrap_or(date)));
        }
        if (from..to).contains(&mod_) {
            for _ in 0..self.data.poisson(18.0) {
                let ts = self.within(t0);
                let b = self.data.int(1, batches);
                let k = self.data.int(40, 400);
                let amt = vocab::amount(&mut self.data, 9_000.0);
                self.push_on(ts, "ledger", host.clone(), "info", format!("[settlement-1] INFO  c.p.ledger.settlement.SettlementJob - Settled batch {b}/{batches}: {k} entries, {amt} USD"));
            }
        }
        if mod_ == to {
            let ts = t0 + Duration::milliseconds(3_000) + self.jitter(20_000);
            let entries = self.data.int(9_000, 16_000);
            let secs = (to - from) as i64 * 60 + self.data.int(0, 20);
            self.push_on(ts, "ledger", host, "info", format!("[settlement-1] INFO  c.p.ledger.settlement.SettlementJob - Nightly settlement for {} complete: {batches} batches, {entries} entries in {secs} s", date.pred_opt().unwrap_or(date)));
        }
    }

    fn billing_api(&mut self, t0: DateTime<Utc>, load: f64, mod_: u32, date: NaiveDate, hour: u32) {
        for _ in 0..self.count(4.0, load) {
            let ts = self.within(t0);
            let rid = self.data.hex(8);
            let cust = vocab::customer(&mut self.data);
            let page = self.data.int(1, 12);
            let ip = vocab::internal_ip(&mut self.data);
            let ms = self.data.lognormal(180.0, 0.5).round();
            let views = ms * self.data.uniform(0.05, 0.2);
            let ar = ms * self.data.uniform(0.3, 0.7);
            let alloc = self.data.int(8_000, 60_000);
            let host = self.pod("billing-api");
            let local = ts.with_timezone(&self.tz).format("%Y-%m-%d %H:%M:%S %z");
            self.push_on(ts, "billing-api", host.clone(), "info", format!("[{rid}] Started GET \"/invoices?customer={cust}&page={page}\" for {ip} at {local}"));
            self.push_on(
                ts + Duration::milliseconds(1),
                "billing-api",
                host.clone(),
                "info",
                format!("[{rid}] Processing by InvoicesController#index as JSON"),
            );
            self.later_on(ts + Duration::milliseconds(ms as i64), "billing-api", host, "info", format!("[{rid}] Completed 200 OK in {ms}ms (Views: {views:.1}ms | ActiveRecord: {ar:.1}ms | Allocations: {alloc})"));
        }
        // the nightly invoice run: 00:30 to 01:52, every night
        let (from, to) = INVOICE_RUN;
        let host = self.pods["billing-api"][0].clone();
        if mod_ == from {
            let ts = t0 + self.jitter(1_000);
            self.push_on(
                ts,
                "billing-api",
                host.clone(),
                "info",
                format!(
                    "[InvoiceRunJob] Starting invoice run for {}: {} customers",
                    date.pred_opt().unwrap_or(date),
                    CUSTOMERS.len() * 61
                ),
            );
        }
        if (from..to).contains(&mod_) {
            for _ in 0..self.data.poisson(22.0) {
                let ts = self.within(t0);
                let inv = self.data.int(100_000, 999_999);
                let cust = vocab::customer(&mut self.data);
                let k = self.data.int(1, 40);
                let amt = vocab::amount(&mut self.data, 900.0);
                let ms = self.data.lognormal(80.0, 0.4).round();
                self.push_on(ts, "billing-api", host.clone(), "info", format!("[InvoiceRunJob] Rendered invoice INV-2026-{inv} for {cust} ({k} lines, {amt} USD) in {ms}ms"));
            }
        }
        if mod_ == to {
            let ts = t0 + Duration::milliseconds(5_000) + self.jitter(10_000);
            let n = self.data.int(1_700, 1_900);
            let secs = (to - from) as i64 * 60 + self.data.int(5, 15);
            self.push_on(ts, "billing-api", host.clone(), "info", format!("[InvoiceRunJob] Invoice run for {} finished: {n} invoices, 0 failed, took {secs}s", date.pred_opt().unwrap_or(date)));
        }
        // the hourly usage report at hh:05
        if mod_ % 60 == 5 {
            let ts = t0 + Duration::milliseconds(1_000) + self.jitter(2_000);
            let rows = (self.data.lognormal(1400.0, 0.2) * (0.2 + load)) as u64;
            let kb = rows / 9 + 3;
            let secs = self.data.lognormal(2.3, 0.3);
            let prev = if hour == 0 { 23 } else { hour - 1 };
            let path = format!("{}/{prev:02}", date.format("%Y/%m/%d"));
            self.push_on(ts, "billing-api", host, "info", format!("[UsageReportJob] Usage report {}T{prev:02} written to s3://ps-reports/usage/{path}.csv.gz: {rows} rows, {kb} KB in {secs:.1}s", date));
        }
    }

    fn dispatch_worker(&mut self, t0: DateTime<Utc>, load: f64, mod_: u32) {
        for _ in 0..self.count(8.0, load) {
            let ts = self.within(t0);
            let shp = vocab::shipment(&mut self.data);
            let depot = *self.data.pick_skewed(DEPOTS);
            let route = self.data.int(100, 480);
            let driver = self.data.int(1, 2400);
            let eta = self.data.int(12, 240);
            self.push(ts, "dispatch-worker", "info", format!("level=info msg=\"shipment assigned\" shipment={shp} depot={depot} route=R-{route} driver=drv-{driver:04} eta_min={eta}"));
        }
        if self.data.chance(0.2 * load) {
            let ts = self.within(t0);
            let driver = self.data.int(1, 2400);
            let age = self.data.int(120, 1800);
            self.push(
                ts,
                "dispatch-worker",
                "warn",
                format!(
                    "level=warn msg=\"driver location stale\" driver=drv-{driver:04} age_s={age}"
                ),
            );
        }
        // consumer lag, every 30 s per partition
        for part in 0..4usize {
            let host = self.pods["dispatch-worker"][part % 3].clone();
            for k in 0..2 {
                let ts =
                    t0 + Duration::milliseconds(k * 30_000 + part as i64 * 700) + self.jitter(300);
                let mut lag = self.data.lognormal(6.0 + 30.0 * load, 0.6);
                if let Some((span, JumpVariant::ConsumerLag, factor)) = self.plan.jump {
                    if span.contains(ts) {
                        lag *= factor * self.inc.lognormal(1.0, 0.2);
                    }
                }
                self.push_on(ts, "dispatch-worker", host.clone(), "info", format!("level=info msg=\"consumer lag\" group=dispatch topic=shipment-events partition={part} lag={}", lag.round() as u64));
            }
        }
        // the leader renews its lease every 20 s
        let silent = matches!(self.plan.heartbeat, Some((s, HeartbeatVariant::DispatchLease)) if s.contains(t0));
        for k in 0..3 {
            let ts = t0 + Duration::milliseconds(k * 20_000 + 4_000) + self.jitter(250);
            let holder = self.pods["dispatch-worker"][self.leader].clone();
            let msg = format!(
                "level=info msg=\"leader lease renewed\" holder={holder} term={} ttl_s=15",
                self.term
            );
            if !silent {
                self.push_on(ts, "dispatch-worker", holder, "info", msg);
            }
        }
        // route optimisation every 15 minutes, 05:00-20:00
        if mod_ % 15 == 10 && (5 * 60..20 * 60).contains(&mod_) {
            let host = self.pods["dispatch-worker"][self.leader].clone();
            for d in 0..3 {
                let ts = t0 + Duration::milliseconds(500 + d * 1_500) + self.jitter(1_000);
                let depot = *self.data.pick(DEPOTS);
                let routes = self.data.int(20, 90);
                let stops = routes * self.data.int(8, 25);
                let took = self.data.lognormal(1_400.0, 0.4).round();
                self.push_on(ts, "dispatch-worker", host.clone(), "info", format!("level=info msg=\"routes optimized\" depot={depot} routes={routes} stops={stops} took={took}ms"));
            }
        }
    }

    fn notifier(&mut self, t0: DateTime<Utc>, load: f64) {
        const TEMPLATES: &[&str] = &[
            "shipment-delivered",
            "out-for-delivery",
            "exception-notice",
            "label-created",
            "pickup-scheduled",
        ];
        const EVENTS: &[&str] = &[
            "shipment.updated",
            "shipment.delivered",
            "label.created",
            "tracking.exception",
        ];
        for _ in 0..self.count(7.0, load) {
            let ts = self.within(t0);
            let tpl = *self.data.pick_skewed(TEMPLATES);
            let email = vocab::email(&mut self.data);
            let masked = format!(
                "{}***{}",
                &email[..1],
                &email[email.find('@').unwrap_or(0)..]
            );
            let id = format!("0100018c{}-{}-000000", self.data.hex(8), self.data.hex(8));
            self.push(
                ts,
                "notifier",
                "info",
                format!("sent email template={tpl} to={masked} provider=ses message_id={id}"),
            );
        }
        for _ in 0..self.count(2.5, load) {
            let ts = self.within(t0);
            let tpl = *self.data.pick_skewed(TEMPLATES);
            let last4 = self.data.digits(4);
            let sid = self.data.hex(32);
            self.push(
                ts,
                "notifier",
                "info",
                format!("sent sms template={tpl} to=+1******{last4} provider=twilio sid=SM{sid}"),
            );
        }
        for _ in 0..self.count(5.0, load) {
            let ts = self.within(t0);
            let cust = vocab::customer(&mut self.data);
            let domain = cust.split('-').next().unwrap_or(cust);
            let evt = *self.data.pick_skewed(EVENTS);
            let ms = self.data.lognormal(210.0, 0.5).round();
            let u = self.data.unit();
            let mut attempts = if u < 0.94 {
                1.0
            } else if u < 0.99 {
                2.0
            } else {
                3.0
            };
            if let Some((span, JumpVariant::WebhookAttempts, factor)) = self.plan.jump {
                if span.contains(ts) {
                    attempts = (attempts * factor * self.inc.lognormal(1.0, 0.15))
                        .round()
                        .min(10.0);
                }
            }
            self.push(ts, "notifier", "info", format!("webhook delivered url=https://hooks.{domain}.com/parcelstream event={evt} status=200 latency_ms={ms} attempts={attempts}"));
        }
        if self.data.chance(0.1 * load) {
            let ts = self.within(t0);
            let cust = vocab::customer(&mut self.data);
            let domain = cust.split('-').next().unwrap_or(cust);
            let a = self.data.int(1, 4);
            self.push(ts, "notifier", "warn", format!("webhook failed url=https://hooks.{domain}.com/parcelstream status=502 attempt {a}/5, retrying in {}s", 2i64.pow(a as u32) * 15));
        }
        let silent = matches!(self.plan.heartbeat, Some((s, HeartbeatVariant::NotifierQueue)) if s.contains(t0));
        for p in 0..2 {
            let host = self.pods["notifier"][p].clone();
            for k in 0..2 {
                let ts = t0
                    + Duration::milliseconds(k * 30_000 + 9_000 + p as i64 * 11_000)
                    + self.jitter(300);
                let depth = self.data.poisson(3.0 * load);
                let broker = self.data.int(0, 2);
                if !silent {
                    self.push_on(ts, "notifier", host.clone(), "info", format!("heartbeat ok queue=notifications depth={depth} consumers=4 broker=rabbitmq-{broker}"));
                }
            }
        }
    }

    fn auth(&mut self, t0: DateTime<Utc>, load: f64, mod_: u32) {
        for _ in 0..self.count(2.0, load) {
            let ts = self.within(t0);
            let user = vocab::email(&mut self.data);
            let method = *self.data.pick(&[
                "password+totp",
                "sso:okta",
                "sso:azuread",
                "password+webauthn",
            ]);
            let ip = vocab::public_ip(&mut self.data);
            self.push(
                ts,
                "auth",
                "info",
                format!("login ok user={user} method={method} ip={ip}"),
            );
        }
        if self.data.chance(0.15 * load) {
            let ts = self.within(t0);
            let user = vocab::email(&mut self.data);
            let reason = *self.data.pick(&[
                "bad_password",
                "bad_password",
                "mfa_timeout",
                "account_locked",
            ]);
            let ip = vocab::public_ip(&mut self.data);
            self.push(
                ts,
                "auth",
                "warn",
                format!("login failed user={user} reason={reason} ip={ip}"),
            );
        }
        for _ in 0..self.count(6.0, load) {
            let ts = self.within(t0);
            let cust = vocab::customer(&mut self.data);
            let scopes = *self.data.pick(&[
                "shipments:read,rates:read",
                "shipments:write",
                "tracking:read",
                "invoices:read",
            ]);
            self.push(ts, "auth", "info", format!("token issued client=cl_{}_prod grant=client_credentials scopes={scopes} ttl=3600", cust.replace('-', "_")));
        }
        if mod_ % 60 == 17 {
            let ts = t0 + self.jitter(3_000);
            let days = 30 - (t0.timestamp() / 86_400 % 30);
            self.push(ts, "auth", "info", format!("signing key check: kid=ps-2026-11 expires in {days} days, next rotation scheduled"));
        }
    }

    fn scheduler(&mut self, t0: DateTime<Utc>, mod_: u32, date: NaiveDate) {
        let host = "cron-1".to_string();
        let (h0, h1) = CARRIER_SYNC_HOURS;
        if mod_.is_multiple_of(5) && (h0 * 60..h1 * 60).contains(&mod_) {
            let stopped =
                matches!(self.plan.job_stop, Some((s, JobVariant::CarrierSync)) if s.contains(t0));
            let pid = self.data.int(10_000, 99_999);
            let ts = t0 + self.jitter(200);
            let done = ts + Duration::milliseconds(self.data.int(15_000, 70_000));
            let n = self.data.poisson(40.0 + 200.0 * load(date.weekday(), mod_));
            let k = self.data.int(4, 6);
            if !stopped {
                self.push_on(
                    ts,
                    "scheduler",
                    host.clone(),
                    "info",
                    format!(
                        "CRON[{pid}]: (svc-sync) CMD (/opt/ps/bin/sync-carrier-status --since 5m)"
                    ),
                );
                let secs = (done - ts).num_milliseconds() as f64 / 1000.0;
                self.later_on(done, "scheduler", host.clone(), "info", format!("sync-carrier-status[{pid}]: {n} shipments updated from {k} carriers in {secs:.1}s"));
            }
        }
        if mod_ % 15 == 2 {
            let pid = self.data.int(10_000, 99_999);
            let ts = t0 + self.jitter(200);
            let n = self.data.int(30, 31);
            let change = self.data.lognormal(0.15, 0.8);
            self.push_on(
                ts,
                "scheduler",
                host.clone(),
                "info",
                format!("CRON[{pid}]: (svc-fx) CMD (/opt/ps/bin/fx-refresh)"),
            );
            let done = ts + Duration::milliseconds(self.data.int(800, 3_000));
            self.push_on(done, "scheduler", host.clone(), "info", format!("fx-refresh[{pid}]: base=USD {n} currencies updated from ecb, max change {change:.2}%"));
        }
        if mod_ == 3 * 60 + 30 {
            let pid = self.data.int(10_000, 99_999);
            let ts = t0 + self.jitter(200);
            self.push_on(
                ts,
                "scheduler",
                host.clone(),
                "info",
                format!("CRON[{pid}]: (postgres) CMD (/opt/ps/bin/pg-backup ledger)"),
            );
            let secs = self.data.int(540, 780);
            let gb = self.data.uniform(14.0, 15.0);
            self.later_on(ts + Duration::seconds(secs), "scheduler", host, "info", format!("pg-backup[{pid}]: ledger dump {gb:.1} GB written to s3://ps-backups/ledger/{date}.dump in {secs}s"));
        }
    }

    /// Start and stop messages of the pods restarting in this minute (the deploy), and the
    /// edge proxy's few refused connections while one is down.
    fn deploys(&mut self, t0: DateTime<Utc>) {
        let end = t0 + Duration::minutes(1);
        let due: Vec<Restart> = self
            .day
            .as_ref()
            .map(|d| {
                d.restarts
                    .iter()
                    .filter(|r| t0 <= r.stop && r.stop < end)
                    .cloned()
                    .collect()
            })
            .unwrap_or_default();
        for r in due {
            let old = self.pods[r.service][r.pod].clone();
            let new = match &r.suffix {
                Some(s) => format!("{}-{s}", r.service),
                None => old.clone(),
            };
            let v = self.versions.get_mut(r.service).map(|v| {
                if r.pod == 0 {
                    *v += 1;
                }
                *v
            });
            let version = v.unwrap_or(1);
            self.restart_lines(&r, &old, &new, version, true);
            if let Some(p) = self.pods.get_mut(r.service) {
                p[r.pod] = new;
            }
            if r.service == "dispatch-worker" && r.pod == self.leader {
                self.leader = (self.leader + 1) % 3;
                self.term += 1;
            }
            if self.data.chance(0.5) {
                let ts = r.stop + Duration::milliseconds(self.data.int(200, 3_000));
                let ip = vocab::public_ip(&mut self.data);
                let up = vocab::internal_ip(&mut self.data);
                let msg = format!("{} [error] 2211#2211: *{} connect() failed (111: Connection refused) while connecting to upstream, client: {ip}, server: api.parcelstream.io, upstream: \"http://{up}:8080/\"", ts.format("%Y/%m/%d %H:%M:%S"), self.next_counter());
                self.later_on(ts, "edge-proxy", "edge-1".into(), "error", msg);
            }
        }
    }

    /// The messages of one pod restart: the old process stops (when `graceful`), the new one
    /// starts and becomes ready.
    fn restart_lines(&mut self, r: &Restart, old: &str, new: &str, version: u32, graceful: bool) {
        let svc = r.service;
        let mut out: Vec<(DateTime<Utc>, String, &'static str, String)> = Vec::new();
        let (stop, start, ready) = (r.stop, r.start, r.ready);
        let ms = |d: i64| Duration::milliseconds(d);
        match r.runtime {
            Runtime::Spring => {
                if graceful {
                    out.push((stop, old.into(), "info", "[SpringApplicationShutdownHook] INFO  o.s.b.w.e.tomcat.GracefulShutdown - Commencing graceful shutdown. Waiting for active requests to complete".into()));
                    out.push((stop + ms(self.data.int(300, 2_500)), old.into(), "info", "[tomcat-shutdown] INFO  o.s.b.w.e.tomcat.GracefulShutdown - Graceful shutdown complete".into()));
                    out.push((start - ms(400), old.into(), "info", "[SpringApplicationShutdownHook] INFO  com.zaxxer.hikari.HikariDataSource - HikariPool-1 - Shutdown completed.".into()));
                }
                out.push((start, new.into(), "info", format!("[main] INFO  c.p.shipment.ShipmentApiApplication - Starting ShipmentApiApplication v4.18.{version} using Java 21.0.5 with PID 1 (/app/app.jar started by app in /app)")));
                out.push((start + ms(40), new.into(), "info", "[main] INFO  c.p.shipment.ShipmentApiApplication - The following 1 profile is active: \"prod\"".into()));
                out.push((start + (ready - start) / 2, new.into(), "warn", "[main] WARN  o.s.b.a.orm.jpa.JpaBaseConfiguration$JpaWebConfiguration - spring.jpa.open-in-view is enabled by default. Therefore, database queries may be performed during view rendering. Explicitly configure spring.jpa.open-in-view to disable this warning".into()));
                out.push((start + (ready - start) * 2 / 3, new.into(), "info", "[main] INFO  com.zaxxer.hikari.HikariDataSource - HikariPool-1 - Start completed.".into()));
                out.push((ready - ms(30), new.into(), "info", "[main] INFO  o.s.b.w.embedded.tomcat.TomcatWebServer - Tomcat started on port 8080 (http) with context path '/'".into()));
                let secs = (ready - start).num_milliseconds() as f64 / 1000.0;
                out.push((ready, new.into(), "info", format!("[main] INFO  c.p.shipment.ShipmentApiApplication - Started ShipmentApiApplication in {secs:.3} seconds (process running for {:.3})", secs + 0.9)));
            }
            Runtime::Go => {
                if graceful {
                    let inflight = self.data.int(0, 12);
                    out.push((stop, old.into(), "info", format!("level=info msg=\"shutting down\" signal=terminated inflight={inflight}")));
                    out.push((
                        stop + ms(self.data.int(100, 2_000)),
                        old.into(),
                        "info",
                        format!(
                            "level=info msg=\"shutdown complete\" took={}ms",
                            self.data.int(100, 2_000)
                        ),
                    ));
                }
                let commit = self.data.hex(7);
                out.push((start, new.into(), "info", format!("level=info msg=\"starting {svc}\" version=v2.{version}.0 commit={commit} go=go1.23.4")));
                out.push((
                    start + ms(15),
                    new.into(),
                    "info",
                    "level=info msg=\"config loaded\" env=prod region=us-central1".into(),
                ));
                out.push((
                    ready,
                    new.into(),
                    "info",
                    format!(
                        "level=info msg=\"listening\" addr=:8080 ready_in={}ms",
                        (ready - start).num_milliseconds()
                    ),
                ));
            }
            Runtime::Gunicorn => {
                if graceful {
                    out.push((
                        stop,
                        old.into(),
                        "info",
                        "[INFO] Handling signal: term".into(),
                    ));
                    for _ in 0..4 {
                        let pid = self.data.int(7, 60);
                        out.push((
                            stop + ms(self.data.int(50, 900)),
                            old.into(),
                            "info",
                            format!("[INFO] Worker exiting (pid: {pid})"),
                        ));
                    }
                    out.push((
                        stop + ms(1_200),
                        old.into(),
                        "info",
                        "[INFO] Shutting down: Master".into(),
                    ));
                }
                out.push((
                    start,
                    new.into(),
                    "info",
                    "[INFO] Starting gunicorn 22.0.0".into(),
                ));
                out.push((
                    start + ms(20),
                    new.into(),
                    "info",
                    "[INFO] Listening at: http://0.0.0.0:8000 (1)".into(),
                ));
                out.push((
                    start + ms(25),
                    new.into(),
                    "info",
                    "[INFO] Using worker: uvicorn.workers.UvicornWorker".into(),
                ));
                for k in 0..4 {
                    out.push((
                        start + ms(40 + k * 30),
                        new.into(),
                        "info",
                        format!("[INFO] Booting worker with pid: {}", 7 + k),
                    ));
                }
                out.push((
                    ready,
                    new.into(),
                    "info",
                    "[INFO] Application startup complete.".into(),
                ));
            }
            Runtime::Puma => {
                if graceful {
                    out.push((
                        stop,
                        old.into(),
                        "info",
                        "- Gracefully stopping, waiting for requests to finish".into(),
                    ));
                    out.push((
                        stop + ms(800),
                        old.into(),
                        "info",
                        format!(
                            "=== puma shutdown: {} ===",
                            (stop + ms(800)).format("%Y-%m-%d %H:%M:%S +0000")
                        ),
                    ));
                    out.push((stop + ms(900), old.into(), "info", "- Goodbye!".into()));
                }
                out.push((
                    start,
                    new.into(),
                    "info",
                    "Puma starting in cluster mode...".into(),
                ));
                out.push((
                    start + ms(5),
                    new.into(),
                    "info",
                    "* Puma version: 6.4.2 (\"The Eagle of Durango\")".into(),
                ));
                out.push((
                    start + ms(6),
                    new.into(),
                    "info",
                    "* Ruby version: ruby 3.3.5 (2024-09-03 revision ef084cc8f4) [x86_64-linux]"
                        .into(),
                ));
                out.push((
                    start + ms(7),
                    new.into(),
                    "info",
                    "*  Min threads: 5".into(),
                ));
                out.push((
                    start + ms(8),
                    new.into(),
                    "info",
                    "* Environment: production".into(),
                ));
                out.push((
                    ready,
                    new.into(),
                    "info",
                    "* Listening on http://0.0.0.0:3000".into(),
                ));
                out.push((
                    ready + ms(2),
                    new.into(),
                    "info",
                    "Use Ctrl-C to stop".into(),
                ));
            }
            Runtime::Node => {
                if graceful {
                    out.push((
                        stop,
                        old.into(),
                        "info",
                        "received SIGTERM, closing consumers".into(),
                    ));
                    out.push((
                        stop + ms(self.data.int(200, 1_500)),
                        old.into(),
                        "info",
                        "closed 4 consumers, exiting".into(),
                    ));
                }
                out.push((
                    start,
                    new.into(),
                    "info",
                    format!("notifier v3.{version}.0 starting (node v20.18.1, pid 1)"),
                ));
                out.push((
                    start + ms(300),
                    new.into(),
                    "info",
                    "connected to broker amqp://rabbitmq.messaging.svc:5672 (vhost /prod)".into(),
                ));
                out.push((
                    ready,
                    new.into(),
                    "info",
                    "consumers started: 4 on queue notifications".into(),
                ));
            }
        }
        for (ts, host, level, msg) in out {
            self.later_on(ts, svc, host, level, msg);
        }
    }

    /// Lines the incidents add: the panic, the search timeouts.
    fn incident_lines(&mut self, t0: DateTime<Utc>) {
        if let Some((span, variant, rate)) = self.plan.panic {
            if span.contains(t0) || span.contains(t0 + Duration::seconds(59)) {
                for _ in 0..self.inc.poisson(rate) {
                    let ts = t0 + Duration::milliseconds(self.inc.int(0, 59_999));
                    if !span.contains(ts) {
                        continue;
                    }
                    match variant {
                        PanicVariant::GoRateEngine => {
                            let p = self.inc.int(0, 1) as usize;
                            let host = self.pods["rate-engine"][p].clone();
                            let code = *self.inc.pick(&["0x1", "0x2"]);
                            let addr = format!("0x{:x}", self.inc.int(0x10, 0x40));
                            let pc = format!("0x{}", self.inc.hex(6));
                            let g = self.inc.int(100, 99_999);
                            let arg = format!("0xc000{}", self.inc.hex(6));
                            let line = *self.inc.pick(&[212, 212, 219]);
                            self.push_on(ts, "rate-engine", host.clone(), "error", format!("panic: runtime error: invalid memory address or nil pointer dereference [signal SIGSEGV: segmentation violation code={code} addr={addr} pc={pc}] goroutine {g} [running]: github.com/parcelstream/rate-engine/internal/quote.(*Engine).applySurcharge({arg}) /build/internal/quote/surcharge.go:{line}"));
                            let start = ts + Duration::milliseconds(self.inc.int(1_000, 10_000));
                            let restart = Restart {
                                service: "rate-engine",
                                pod: p,
                                runtime: Runtime::Go,
                                stop: ts,
                                start,
                                ready: start + Duration::milliseconds(self.inc.int(400, 2_500)),
                                suffix: None,
                            };
                            let version = self.versions["rate-engine"];
                            // a crash: no graceful stop, the container restarts in place
                            let saved = std::mem::replace(&mut self.data, self.inc.clone());
                            self.restart_lines(&restart, &host, &host, version, false);
                            self.inc = std::mem::replace(&mut self.data, saved);
                        }
                        PanicVariant::JavaShipmentApi => {
                            let p = self.inc.int(0, 2) as usize;
                            let host = self.pods["shipment-api"][p].clone();
                            let exec = self.inc.int(1, 200);
                            let shp = vocab::shipment(&mut self.inc);
                            let a = format!("PCL-{}", self.inc.digits(8));
                            let b = format!("PCL-{}", self.inc.digits(8));
                            self.push_on(ts, "shipment-api", host, "error", format!("[http-nio-8080-exec-{exec}] ERROR c.p.shipment.web.GlobalExceptionHandler - Unhandled exception on POST /api/v2/shipments: java.lang.IllegalStateException: Duplicate key {shp} (attempted merging values Parcel[id={a}] and Parcel[id={b}]) at java.base/java.util.stream.Collectors.duplicateKeyException(Collectors.java:135)"));
                        }
                    }
                }
            }
        }
        if let Some((span, rate, terms)) = &self.plan.search {
            let (span, rate) = (*span, *rate);
            if span.contains(t0) || span.contains(t0 + Duration::seconds(59)) {
                let terms = terms.clone();
                for _ in 0..self.inc.poisson(rate) {
                    let ts = t0 + Duration::milliseconds(self.inc.int(0, 59_999));
                    if !span.contains(ts) {
                        continue;
                    }
                    let p = self.inc.int(0, 1) as usize;
                    let host = self.pods["tracking-search"][p].clone();
                    let term = self.inc.pick(&terms).clone();
                    self.push_on(
                        ts,
                        "tracking-search",
                        host,
                        "warn",
                        format!("query '{term}' failed: timeout after {SEARCH_TIMEOUT_MS} ms"),
                    );
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn load_follows_the_business_week() {
        assert!(load(Weekday::Tue, 10 * 60) > 0.9);
        assert!(load(Weekday::Tue, 3 * 60) < 0.1);
        assert!(load(Weekday::Tue, 12 * 60 + 30) < load(Weekday::Tue, 11 * 60));
        assert!(load(Weekday::Sun, 12 * 60) < 0.25);
        assert!(load(Weekday::Mon, 10 * 60) > load(Weekday::Fri, 10 * 60));
        for m in 0..1440 {
            let l = load(Weekday::Wed, m);
            assert!(l > 0.0 && l <= 1.0, "{m}: {l}");
        }
    }
}
