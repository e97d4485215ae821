//! The log generator: a history without incidents (`train.ndjson`), the following week with
//! one incident of each type (`test.ndjson`) and their labels (`labels.json`).
//!
//! Invariants: the output is a pure function of [`GenSettings`] (same seed, same bytes);
//! timestamps are in order except a tiny share (~0.03%) written up to 2.5 s late, as real
//! shippers do; everything periodic happens on the local clock of `tz` — the traffic curve,
//! quieter weekends, and the rolling deploy at 14:00 on weekdays (normal, present in the
//! history), which therefore moves in UTC when daylight saving changes. Each service logs a
//! heartbeat every 30 s.
//!
//! The world is simulated minute by minute: the [`Mods`] of a minute (traffic level, deploy
//! warm-up, active incidents) set each shape's Poisson rate and the medians of its values.

use super::catalog::{self, Mods, Shape, Vars, SERVICES};
use super::incidents::{self, DeployWindow, Incident, Labels};
use super::rng::DemoRng;
use super::DemoError;
use crate::model::AnomalyType;
use chrono::{DateTime, Datelike, Duration, NaiveDate, SecondsFormat, Timelike, Utc, Weekday};
use chrono_tz::Tz;
use serde::Serialize;
use std::io::{self, Write};
use std::path::Path;

/// The length of the test week in days.
pub const TEST_DAYS: i64 = 7;
/// Local hour of the daily rolling deploy (weekdays).
pub const DEPLOY_HOUR: u32 = 14;
/// Minutes from the deploy start to the end of its warm-up (the deploy window).
pub const DEPLOY_MINUTES: i64 = 30;
/// Minutes between two services' turns in the rolling deploy.
const DEPLOY_SLOT_MINUTES: i64 = 3;
/// Replicas (pods) per service.
const REPLICAS: [usize; 8] = [3, 2, 3, 2, 2, 3, 1, 2];

/// What to generate.
#[derive(Debug, Clone, PartialEq)]
pub struct GenSettings {
    /// Random seed: the same settings give the same bytes.
    pub seed: u64,
    /// First local day of the history.
    pub start: NaiveDate,
    /// Days of history before the test week.
    pub train_days: u32,
    /// The IANA zone users live in.
    pub tz: Tz,
    /// Traffic factor (1.0 ≈ 80 request lines a minute across the shop at the daily peak,
    /// plus heartbeats).
    pub rate: f64,
}

impl Default for GenSettings {
    /// 21 days from Monday 2026-10-12 in Europe/Berlin: the history crosses the end of
    /// daylight saving time (Sunday 2026-10-25); the test week starts Monday 2026-11-02.
    fn default() -> Self {
        GenSettings {
            seed: 42,
            start: NaiveDate::from_ymd_opt(2026, 10, 12).unwrap_or_default(),
            train_days: 21,
            tz: chrono_tz::Europe::Berlin,
            rate: 1.0,
        }
    }
}

impl GenSettings {
    /// Check the ranges.
    pub fn validate(&self) -> Result<(), DemoError> {
        if !(1..=366).contains(&self.train_days) {
            return Err(DemoError::Setting {
                key: "train-days",
                message: format!("must be between 1 and 366, got {}", self.train_days),
            });
        }
        if !(self.rate > 0.0 && self.rate <= 50.0) {
            return Err(DemoError::Setting {
                key: "rate",
                message: format!("must be above 0 and at most 50, got {}", self.rate),
            });
        }
        if !(1971..=9000).contains(&self.start.year()) {
            return Err(DemoError::Setting {
                key: "start",
                message: format!("year must be between 1971 and 9000, got {}", self.start),
            });
        }
        Ok(())
    }

    /// First local day of the test week.
    pub fn test_day0(&self) -> NaiveDate {
        self.start + Duration::days(i64::from(self.train_days))
    }
}

/// What [`generate_to_dir`] wrote.
#[derive(Debug, Clone, PartialEq)]
pub struct Generated {
    /// Lines in `train.ndjson`.
    pub train_lines: u64,
    /// Lines in `test.ndjson`.
    pub test_lines: u64,
    /// The labels written to `labels.json`.
    pub labels: Labels,
}

/// Traffic level at `t`, 0-1, from the local time in `tz`: a late-morning and a higher
/// evening peak, a night trough at ~6% of the peak, weekends at 70% with a later morning.
pub fn load(tz: Tz, t: DateTime<Utc>) -> f64 {
    let local = t.with_timezone(&tz);
    let h = f64::from(local.hour()) + f64::from(local.minute()) / 60.0;
    let weekend = matches!(local.weekday(), Weekday::Sat | Weekday::Sun);
    let bump = |center: f64, width: f64| {
        let d = (h - center).abs();
        let d = d.min(24.0 - d);
        (-(d / width) * (d / width)).exp()
    };
    let morning = if weekend { 13.0 } else { 11.5 };
    let raw = 0.06 + 0.6 * bump(morning, 3.2) + 0.85 * bump(20.0, 2.4);
    let day = if weekend { 0.7 } else { 1.0 };
    (day * raw / 0.91).min(1.0)
}

/// The deploy window of local day `date`, if it is a weekday.
pub fn deploy_window(tz: Tz, date: NaiveDate) -> Option<DeployWindow> {
    if matches!(date.weekday(), Weekday::Sat | Weekday::Sun) {
        return None;
    }
    let start = incidents::local_instant(tz, date, DEPLOY_HOUR, 0);
    Some(DeployWindow {
        start,
        end: start + Duration::minutes(DEPLOY_MINUTES),
    })
}

/// Request latency factor while a deploy warms up (1 outside deploys).
fn deploy_slowdown(tz: Tz, t: DateTime<Utc>) -> f64 {
    let date = t.with_timezone(&tz).date_naive();
    match deploy_window(tz, date) {
        Some(w) if t >= w.start && t < w.end => {
            let mins = (t - w.start).num_seconds() as f64 / 60.0;
            1.0 + 0.6 * (-mins / 10.0).exp()
        }
        _ => 1.0,
    }
}

/// The effects of the active incidents in one minute, beyond [`Mods`].
#[derive(Debug, Clone, Default)]
struct Extra {
    /// A service whose heartbeat is silent.
    silent: Option<usize>,
    /// Lines per minute of the new pattern.
    new_pattern: f64,
    /// Lines per minute of the rare pattern's burst.
    rare_burst: f64,
}

fn hours_since(t: DateTime<Utc>, start: DateTime<Utc>) -> f64 {
    (t - start).num_seconds() as f64 / 3600.0
}

/// The state of the shop at `t`.
fn mods_at(tz: Tz, incidents: &[Incident], t: DateTime<Utc>) -> (Mods, Extra) {
    let mut m = Mods {
        load: load(tz, t),
        slow: deploy_slowdown(tz, t),
        ..Mods::default()
    };
    let mut x = Extra::default();
    for inc in incidents.iter().filter(|i| t >= i.start && t < i.end) {
        match inc.kind {
            AnomalyType::NewPattern => x.new_pattern = incidents::NEW_PATTERN_PER_MIN,
            AnomalyType::RarePattern => x.rare_burst = incidents::RARE_BURST_PER_MIN,
            AnomalyType::VolumeSpike => m.cache_miss_factor = incidents::SPIKE_FACTOR,
            AnomalyType::VolumeDrop => x.silent = catalog::service_index(&inc.service),
            AnomalyType::ErrorRatio => m.decline_share = incidents::INCIDENT_DECLINE_SHARE,
            AnomalyType::ParameterDrift => {
                m.pool_drift = (1.0 + incidents::DRIFT_PER_HOUR).powf(hours_since(t, inc.start));
            }
            AnomalyType::ForecastBreach => {
                m.search_trend_ms =
                    incidents::FORECAST_TREND_MS_PER_HOUR * hours_since(t, inc.start);
            }
        }
    }
    (m, x)
}

/// The first minute in which the incident's trended median reaches its threshold.
fn breach_time(tz: Tz, all: &[Incident], inc: &Incident) -> Option<DateTime<Utc>> {
    let threshold = inc.threshold?;
    let median: fn(&Mods) -> f64 = match inc.kind {
        AnomalyType::ParameterDrift => catalog::pool_wait_median,
        AnomalyType::ForecastBreach => catalog::search_latency_median,
        _ => return None,
    };
    let mut t = inc.start;
    while t < inc.end {
        let (m, _) = mods_at(tz, all, t + Duration::seconds(30));
        if median(&m) >= threshold {
            return Some(t);
        }
        t += Duration::minutes(1);
    }
    None
}

/// The rate factor an incident applies to a shape.
fn rate_factor(shape: &Shape, m: &Mods) -> f64 {
    match shape.key {
        "payments.auth_approved" => 1.0 - m.decline_share,
        "payments.auth_declined" => m.decline_share,
        "checkout.order_failed" => m.decline_share / catalog::NORMAL_DECLINE_SHARE,
        // an issuer outage: most extra declines are issuer timeouts
        "payments.issuer_timeout" => {
            1.0 + (m.decline_share - catalog::NORMAL_DECLINE_SHARE).max(0.0) * 600.0
        }
        "inventory.cache_miss" => m.cache_miss_factor,
        _ => 1.0,
    }
}

/// Renders one message.
type Render = fn(&mut Vars<'_>) -> String;

/// One line before it is written.
struct Event {
    ts: DateTime<Utc>,
    service: usize,
    level: &'static str,
    host: String,
    message: String,
}

#[derive(Serialize)]
struct Doc<'a> {
    #[serde(rename = "@timestamp")]
    timestamp: &'a str,
    message: &'a str,
    #[serde(rename = "service.name")]
    service: &'a str,
    #[serde(rename = "log.level")]
    level: &'a str,
    #[serde(rename = "host.name")]
    host: &'a str,
}

/// The pods of one service for the version deployed on local day `version`.
fn pods(service: usize, version: NaiveDate) -> Vec<String> {
    let name = SERVICES[service];
    let h = xxhash_rust::xxh3::xxh3_64(format!("{name}/{version}").as_bytes());
    let rs = format!("{:010x}", h & 0xff_ffff_ffff);
    let rs = &rs[..9];
    (0..REPLICAS[service])
        .map(|i| {
            let k = (h >> (8 * i)) as u32;
            let sfx: String = (0..5)
                .map(|j| {
                    let c = ((k >> (j * 5)) & 31) as u8;
                    (if c < 26 { b'a' + c } else { b'2' + c - 26 }) as char
                })
                .collect();
            format!("{name}-{rs}-{sfx}")
        })
        .collect()
}

/// When `service` takes its turn in the deploy of local day `date`.
fn deploy_slot(tz: Tz, date: NaiveDate, service: usize) -> Option<DateTime<Utc>> {
    deploy_window(tz, date)
        .map(|w| w.start + Duration::minutes(DEPLOY_SLOT_MINUTES * service as i64))
}

/// The local day of the version `service` runs at `t` (its latest deploy at or before `t`).
fn running_version(tz: Tz, t: DateTime<Utc>, service: usize) -> NaiveDate {
    let today = t.with_timezone(&tz).date_naive();
    for back in 0..7 {
        let d = today - Duration::days(back);
        if deploy_slot(tz, d, service).is_some_and(|s| s <= t) {
            return d;
        }
    }
    today
}

/// The simulated shop between two minutes: the random stream, the pods of each service's
/// running version, and deploy lines already rendered but not yet due. [`generate`] and
/// [`LiveShop`] drive it minute by minute; the order of its random draws is the output's
/// contract (same seed, same bytes).
struct World {
    tz: Tz,
    rate: f64,
    rng: DemoRng,
    shapes: Vec<Shape>,
    versions: Vec<(NaiveDate, Vec<String>)>,
    pending: Vec<Event>,
}

impl World {
    /// The shop as it runs at `start`.
    fn new(seed: u64, tz: Tz, rate: f64, start: DateTime<Utc>) -> World {
        let versions = (0..SERVICES.len())
            .map(|s| {
                let v = running_version(tz, start, s);
                (v, pods(s, v))
            })
            .collect();
        World {
            tz,
            rate,
            rng: DemoRng::new(seed),
            shapes: catalog::shapes(),
            versions,
            pending: Vec::new(),
        }
    }

    /// Simulate the minute starting at `minute` with the incidents in `active`; its events,
    /// sorted by time, are appended to `events` (expected empty).
    fn minute(&mut self, minute: DateTime<Utc>, active: &[Incident], events: &mut Vec<Event>) {
        let tz = self.tz;
        let next = minute + Duration::minutes(1);
        let (mods, extra) = mods_at(tz, active, minute + Duration::seconds(30));
        for (s, slot) in self.versions.iter_mut().enumerate() {
            let v = running_version(tz, minute, s);
            if v != slot.0 {
                *slot = (v, pods(s, v));
            }
        }
        let versions = &self.versions;
        let pending = &mut self.pending;
        let mut vars = Vars {
            rng: &mut self.rng,
            mods: &mods,
        };
        // deploys: each service's turn starts in this minute
        let today = minute.with_timezone(&tz).date_naive();
        let gateway_pods = &versions[0].1;
        for (s, (v, pods)) in versions.iter().enumerate() {
            if deploy_slot(tz, today, s).is_some_and(|t| t >= minute && t < next) {
                let version = format!("{}-1", v.format("%Y.%m.%d"));
                let lines = catalog::deploy_lines(&mut vars, SERVICES[s], &version, pods);
                let step = 150_000 / lines.len().max(1) as i64;
                for (i, (level, message)) in lines.into_iter().enumerate() {
                    let p = (i.saturating_sub(1) / 6).min(pods.len() - 1);
                    let ts = minute
                        + Duration::milliseconds(step * i as i64 + vars.rng.int(0, 900) as i64);
                    if s != 0 && message.starts_with("received SIGTERM") {
                        let left = pods.len() - 1;
                        let drain = catalog::gateway_drain(&mut vars, SERVICES[s], left);
                        pending.push(Event {
                            ts,
                            service: 0,
                            level: "info",
                            host: vars.rng.pick(gateway_pods).clone(),
                            message: drain,
                        });
                    }
                    pending.push(Event {
                        ts,
                        service: s,
                        level,
                        host: pods[p].clone(),
                        message,
                    });
                }
            }
        }
        // heartbeats
        for (s, (_, pods)) in versions.iter().enumerate() {
            if extra.silent == Some(s) {
                continue;
            }
            let phase = 1_200 + (s as i64 * 3_710) % 28_000;
            for k in 0..2 {
                let jitter = vars.rng.int(0, 300) as i64 - 150;
                let ts = minute + Duration::milliseconds((phase + 30_000 * k + jitter).max(0));
                let message = catalog::heartbeat(&mut vars);
                events.push(Event {
                    ts,
                    service: s,
                    level: "info",
                    host: vars.rng.pick(pods).clone(),
                    message,
                });
            }
        }
        // traffic
        for shape in &self.shapes {
            let level = if shape.follows_load { mods.load } else { 1.0 };
            let lambda = shape.per_min * self.rate * level * rate_factor(shape, &mods);
            let n = vars.rng.poisson(lambda);
            for _ in 0..n {
                let ts = minute + Duration::milliseconds(vars.rng.int(0, 59_999) as i64);
                let message = (shape.render)(&mut vars);
                let host = vars.rng.pick(&versions[shape.service].1).clone();
                events.push(Event {
                    ts,
                    service: shape.service,
                    level: shape.level,
                    host,
                    message,
                });
            }
        }
        // the weekly access review: one admin grant on Monday mornings, so the rare
        // pattern is known from the history
        let local = minute.with_timezone(&tz);
        if local.weekday() == Weekday::Mon && (local.hour(), local.minute()) == (10, 17) {
            let message = catalog::admin_grant(&mut vars);
            events.push(Event {
                ts: minute + Duration::milliseconds(vars.rng.int(0, 59_999) as i64),
                service: 1,
                level: "warn",
                host: vars.rng.pick(&versions[1].1).clone(),
                message,
            });
        }
        // incident lines
        let injected: [(f64, usize, &'static str, Render); 2] = [
            (extra.new_pattern, 0, "error", catalog::tls_expired),
            (extra.rare_burst, 1, "warn", catalog::admin_grant),
        ];
        for (per_min, s, level, render) in injected {
            for _ in 0..vars.rng.poisson(per_min) {
                let ts = minute + Duration::milliseconds(vars.rng.int(0, 59_999) as i64);
                let message = render(&mut vars);
                let host = vars.rng.pick(&versions[s].1).clone();
                events.push(Event {
                    ts,
                    service: s,
                    level,
                    host,
                    message,
                });
            }
        }
        // due deploy lines
        let mut i = 0;
        while i < pending.len() {
            if pending[i].ts < next {
                events.push(pending.swap_remove(i));
            } else {
                i += 1;
            }
        }
        events.sort_by_key(|e| e.ts);
    }

    /// Append `e` as one JSON document (no newline) to `buf`, a tiny share written up to
    /// 2.5 s late as real shippers do; returns the timestamp written.
    fn render(&mut self, e: &Event, buf: &mut Vec<u8>) -> io::Result<DateTime<Utc>> {
        let mut ts = e.ts;
        if self.rng.chance(0.0003) {
            ts -= Duration::milliseconds(self.rng.int(200, 2_500) as i64);
        }
        let stamp = ts.to_rfc3339_opts(SecondsFormat::Millis, true);
        let doc = Doc {
            timestamp: &stamp,
            message: &e.message,
            service: SERVICES[e.service],
            level: e.level,
            host: &e.host,
        };
        serde_json::to_writer(&mut *buf, &doc)?;
        Ok(ts)
    }
}

/// One generated log line.
#[derive(Debug, Clone, PartialEq)]
pub struct ShopLine {
    /// Its `@timestamp`.
    pub timestamp: DateTime<Utc>,
    /// The document, one JSON object as [`generate`] writes it, without a newline.
    pub json: String,
}

/// The demo shop from any instant on, minute by minute, for feeding a cluster: the world of
/// [`generate`] (traffic curve, quieter weekends, the daily rolling deploy, heartbeats, the
/// weekly access review), without incidents unless given ([`LiveShop::with_incidents`]). The lines are a pure function of the seed, zone,
/// rate and start minute.
pub struct LiveShop {
    world: World,
    next: DateTime<Utc>,
    incidents: Vec<Incident>,
}

impl LiveShop {
    /// The shop from the minute containing `start` on, with traffic factor `rate` (see
    /// [`GenSettings::rate`]; out-of-range rates are clamped to (0, 50]).
    pub fn new(seed: u64, tz: Tz, rate: f64, start: DateTime<Utc>) -> LiveShop {
        let secs = start.timestamp().div_euclid(60) * 60;
        let first = DateTime::from_timestamp(secs, 0).unwrap_or(start);
        let rate = if rate.is_finite() {
            rate.clamp(1e-6, 50.0)
        } else {
            1.0
        };
        LiveShop {
            world: World::new(seed, tz, rate, first),
            next: first,
            incidents: Vec::new(),
        }
    }

    /// The same shop with `incidents` (e.g. [`incidents::schedule`] of a week) injected
    /// while they last, as in the test week of [`generate`].
    pub fn with_incidents(mut self, incidents: Vec<Incident>) -> LiveShop {
        self.incidents = incidents;
        self
    }

    /// The start of the minute the next call to [`LiveShop::next_minute_lines`] produces.
    pub fn next_minute(&self) -> DateTime<Utc> {
        self.next
    }

    /// The lines of the next minute, in time order except the few written late; then
    /// advance by one minute.
    pub fn next_minute_lines(&mut self) -> Vec<ShopLine> {
        let mut events = Vec::new();
        self.world.minute(self.next, &self.incidents, &mut events);
        let mut buf = Vec::with_capacity(256);
        let lines = events
            .iter()
            .filter_map(|e| {
                buf.clear();
                let timestamp = self.world.render(e, &mut buf).ok()?;
                let json = String::from_utf8(buf.clone()).ok()?;
                Some(ShopLine { timestamp, json })
            })
            .collect();
        self.next += Duration::minutes(1);
        lines
    }
}

/// Write the history to `train` and the test week to `test`; returns the labels and the
/// number of lines written to each.
pub fn generate(
    settings: &GenSettings,
    train: &mut dyn Write,
    test: &mut dyn Write,
) -> io::Result<(Labels, u64, u64)> {
    let tz = settings.tz;
    let train_start = incidents::local_instant(tz, settings.start, 0, 0);
    let day0 = settings.test_day0();
    let test_start = incidents::local_instant(tz, day0, 0, 0);
    let test_end = incidents::local_instant(tz, day0 + Duration::days(TEST_DAYS), 0, 0);
    let mut plan = incidents::schedule(tz, day0);
    let breaches: Vec<_> = plan.iter().map(|i| breach_time(tz, &plan, i)).collect();
    for (inc, b) in plan.iter_mut().zip(breaches) {
        inc.breach_at = b;
    }
    let deploys = (0..TEST_DAYS)
        .filter_map(|d| deploy_window(tz, day0 + Duration::days(d)))
        .collect();
    let labels = Labels {
        seed: settings.seed,
        timezone: tz.name().to_string(),
        train_start,
        test_start,
        test_end,
        incidents: plan,
        deploys,
    };

    let mut world = World::new(settings.seed, tz, settings.rate, train_start);
    let mut events: Vec<Event> = Vec::new();
    let mut buf: Vec<u8> = Vec::with_capacity(512);
    let mut counts = (0u64, 0u64);
    let mut minute = train_start;
    while minute < test_end {
        let active: &[Incident] = if minute >= test_start {
            &labels.incidents
        } else {
            &[]
        };
        world.minute(minute, active, &mut events);
        let out: &mut dyn Write = if minute < test_start {
            counts.0 += events.len() as u64;
            &mut *train
        } else {
            counts.1 += events.len() as u64;
            &mut *test
        };
        for e in events.drain(..) {
            buf.clear();
            world.render(&e, &mut buf)?;
            buf.push(b'\n');
            out.write_all(&buf)?;
        }
        minute += Duration::minutes(1);
    }
    Ok((labels, counts.0, counts.1))
}

/// Write `train.ndjson`, `test.ndjson` and `labels.json` into `dir` (created if missing).
pub fn generate_to_dir(settings: &GenSettings, dir: &Path) -> Result<Generated, DemoError> {
    settings.validate()?;
    let io_err = |path: &Path| {
        let path = path.to_path_buf();
        move |source| DemoError::Io { path, source }
    };
    std::fs::create_dir_all(dir).map_err(io_err(dir))?;
    let train_path = dir.join("train.ndjson");
    let test_path = dir.join("test.ndjson");
    let labels_path = dir.join("labels.json");
    let create = |p: &Path| {
        std::fs::File::create(p)
            .map(|f| io::BufWriter::with_capacity(1 << 16, f))
            .map_err(io_err(p))
    };
    let mut train = create(&train_path)?;
    let mut test = create(&test_path)?;
    let (labels, train_lines, test_lines) =
        generate(settings, &mut train, &mut test).map_err(io_err(dir))?;
    train.flush().map_err(io_err(&train_path))?;
    test.flush().map_err(io_err(&test_path))?;
    let mut text = serde_json::to_string_pretty(&labels).unwrap_or_default();
    text.push('\n');
    std::fs::write(&labels_path, text).map_err(io_err(&labels_path))?;
    Ok(Generated {
        train_lines,
        test_lines,
        labels,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn load_peaks_in_the_evening_and_is_low_at_night_in_local_time() {
        let tz = chrono_tz::Europe::Berlin;
        let d = NaiveDate::from_ymd_opt(2026, 11, 4).unwrap(); // a Wednesday
        let at = |h| load(tz, incidents::local_instant(tz, d, h, 0));
        assert!(at(20) > 0.95, "{}", at(20));
        assert!(at(4) < 0.1, "{}", at(4));
        assert!(at(11) > 0.5);
        let sat = NaiveDate::from_ymd_opt(2026, 11, 7).unwrap();
        assert!(load(tz, incidents::local_instant(tz, sat, 20, 0)) < 0.75);
    }

    #[test]
    fn deploys_on_weekdays_only_at_local_two_pm() {
        let tz = chrono_tz::Europe::Berlin;
        let mon = NaiveDate::from_ymd_opt(2026, 10, 19).unwrap();
        let w = deploy_window(tz, mon).unwrap();
        assert_eq!(w.start.to_rfc3339(), "2026-10-19T12:00:00+00:00"); // CEST
        let mon2 = NaiveDate::from_ymd_opt(2026, 10, 26).unwrap();
        let w2 = deploy_window(tz, mon2).unwrap();
        assert_eq!(w2.start.to_rfc3339(), "2026-10-26T13:00:00+00:00"); // CET
        assert!(deploy_window(tz, NaiveDate::from_ymd_opt(2026, 10, 25).unwrap()).is_none());
    }

    #[test]
    fn pods_change_with_the_deployed_version_only() {
        let a = NaiveDate::from_ymd_opt(2026, 10, 19).unwrap();
        let b = NaiveDate::from_ymd_opt(2026, 10, 20).unwrap();
        assert_eq!(pods(2, a), pods(2, a));
        assert_ne!(pods(2, a), pods(2, b));
        assert_eq!(pods(2, a).len(), 3);
        assert!(pods(2, a)[0].starts_with("checkout-"));
    }

    #[test]
    fn breach_times_fall_inside_their_incidents() {
        let s = GenSettings::default();
        let tz = s.tz;
        let plan = incidents::schedule(tz, s.test_day0());
        for inc in plan.iter().filter(|i| i.threshold.is_some()) {
            let b = breach_time(tz, &plan, inc).unwrap();
            assert!(b > inc.start + Duration::hours(6), "{} {b}", inc.id);
            assert!(b < inc.end, "{} {b}", inc.id);
        }
    }

    #[test]
    fn bad_settings_are_named() {
        let s = GenSettings {
            train_days: 0,
            ..GenSettings::default()
        };
        assert!(s.validate().unwrap_err().to_string().contains("train-days"));
        let s = GenSettings {
            rate: 0.0,
            ..GenSettings::default()
        };
        assert!(s.validate().unwrap_err().to_string().contains("rate"));
    }
}
