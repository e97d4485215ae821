//! The incidents injected into the test week, and the labels file that describes them.
//!
//! One incident of each of the seven anomaly types, at fixed local times of the test week
//! (day 0 is its first day), chosen away from the daily 14:00 deploy except where the trend
//! runs across it. The drift and the forecast carry a threshold and the time the trended
//! median actually crosses it (`breach_at`), which the generator computes from the same
//! medians it draws from. `labels.json` also lists the deploy windows of the test week, so
//! the evaluation can count alerts raised during them.

use crate::model::AnomalyType;
use chrono::{DateTime, Duration, NaiveDate, NaiveTime, TimeZone, Utc};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};

/// Pool wait growth per hour during the drift incident (+2%/h, compounding).
pub const DRIFT_PER_HOUR: f64 = 0.02;
/// The pool wait median (`wait_ms`) the drift breaches.
pub const DRIFT_THRESHOLD_MS: f64 = 8.0;
/// Search latency growth during the forecast incident, in ms per hour.
pub const FORECAST_TREND_MS_PER_HOUR: f64 = 30.0;
/// The search latency median (`latency_ms`) the forecast breaches.
pub const FORECAST_THRESHOLD_MS: f64 = 800.0;
/// Rate factor of the spiking template.
pub const SPIKE_FACTOR: f64 = 8.0;
/// Share of declined authorizations during the error-ratio incident.
pub const INCIDENT_DECLINE_SHARE: f64 = 0.20;
/// Lines per minute of the new pattern.
pub const NEW_PATTERN_PER_MIN: f64 = 3.0;
/// Lines per minute of the rare pattern's burst.
pub const RARE_BURST_PER_MIN: f64 = 2.0;

/// One injected incident.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Incident {
    /// A short id, e.g. `inc-3-volume_spike`.
    pub id: String,
    /// The anomaly type a detector should report.
    #[serde(rename = "type")]
    pub kind: AnomalyType,
    /// The service it happens on.
    pub service: String,
    /// Services whose logs show side effects (alerts there are explained, not false).
    #[serde(default)]
    pub related_services: Vec<String>,
    /// Start (inclusive).
    pub start: DateTime<Utc>,
    /// End (exclusive).
    pub end: DateTime<Utc>,
    /// The template involved (`<*>` for variables).
    pub template: String,
    /// What happens, in one sentence.
    pub description: String,
    /// The numeric parameter that drifts or trends (`wait_ms`, `latency_ms`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parameter: Option<String>,
    /// The threshold the parameter's median crosses.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub threshold: Option<f64>,
    /// When the parameter's median actually crosses the threshold.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub breach_at: Option<DateTime<Utc>>,
    /// Anomaly types that also report this incident, beside those
    /// [`compatible`](super::eval::compatible) accepts (e.g. `new_pattern` for a burst of
    /// lines that differ only in a quoted term, which a masker may not recognise).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub accept: Vec<AnomalyType>,
    /// How long before `breach_at` a trend must reach a person, in hours; empty means the
    /// grader's default (1 h). Six for a slow leak (under 1%/h).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_lead_hours: Option<f64>,
    /// For a periodic message that stops (a job every 15 minutes): its period in minutes.
    /// Such a stop is known only when runs are missed, so the grader allows a few periods
    /// ([`ReachConfig::max_delay_periods`](super::eval::ReachConfig)) when that is longer
    /// than its flat deadline.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub period_minutes: Option<f64>,
}

/// A daily rolling deploy in the test week: normal, must not alert.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeployWindow {
    /// Start of the deploy (14:00 local).
    pub start: DateTime<Utc>,
    /// End of the deploy and its warm-up.
    pub end: DateTime<Utc>,
}

/// The contents of `labels.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Labels {
    /// The generator seed.
    pub seed: u64,
    /// The IANA zone traffic follows.
    pub timezone: String,
    /// First instant of the history (`train.ndjson`).
    pub train_start: DateTime<Utc>,
    /// First instant of the test week (`test.ndjson`) = end of the history.
    pub test_start: DateTime<Utc>,
    /// End of the test week (exclusive).
    pub test_end: DateTime<Utc>,
    /// The injected incidents, by start time.
    pub incidents: Vec<Incident>,
    /// The rolling deploys of the test week.
    pub deploys: Vec<DeployWindow>,
}

impl Labels {
    /// Read `labels.json`.
    pub fn read(path: &std::path::Path) -> Result<Labels, super::DemoError> {
        let text = std::fs::read_to_string(path).map_err(|source| super::DemoError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        serde_json::from_str(&text).map_err(|e| super::DemoError::Labels {
            path: path.to_path_buf(),
            message: e.to_string(),
        })
    }

    /// The time zone, falling back to UTC for an unknown name.
    pub fn tz(&self) -> Tz {
        self.timezone.parse().unwrap_or(chrono_tz::UTC)
    }
}

/// The instant of local `date` + `hour:minute` in `tz`; in a DST gap the first valid instant
/// after it, in a repeated hour the earlier one.
pub fn local_instant(tz: Tz, date: NaiveDate, hour: u32, minute: u32) -> DateTime<Utc> {
    let time = NaiveTime::from_hms_opt(hour.min(23), minute.min(59), 0).unwrap_or(NaiveTime::MIN);
    let mut naive = date.and_time(time);
    for _ in 0..4 {
        if let Some(t) = tz.from_local_datetime(&naive).earliest() {
            return t.with_timezone(&Utc);
        }
        naive += Duration::minutes(30);
    }
    Utc.from_utc_datetime(&date.and_time(time))
}

/// The seven incidents of a test week whose first local day is `day0`; `breach_at` is left
/// empty (the generator fills it in).
pub fn schedule(tz: Tz, day0: NaiveDate) -> Vec<Incident> {
    let at = |day: i64, h: u32, m: u32| local_instant(tz, day0 + Duration::days(day), h, m);
    let mk = |kind: AnomalyType, service: &str, start, end, template: &str, description: &str| {
        Incident {
            id: String::new(),
            kind,
            service: service.to_string(),
            related_services: Vec::new(),
            start,
            end,
            template: template.to_string(),
            description: description.to_string(),
            parameter: None,
            threshold: None,
            breach_at: None,
            accept: Vec::new(),
            min_lead_hours: None,
            period_minutes: None,
        }
    };
    let mut v = vec![
        mk(
            AnomalyType::NewPattern,
            "gateway",
            at(0, 10, 20),
            at(0, 10, 50),
            "TLS handshake failed: certificate expired for <*> (notAfter=<*>) peer=<*>",
            "a partner's TLS certificate expired: an error the gateway never logged before",
        ),
        mk(
            AnomalyType::RarePattern,
            "auth",
            at(1, 3, 10),
            at(1, 3, 40),
            "admin <*> granted role <*> to user_id=<*> via console",
            "a rare admin action (a few a month) repeated ~60 times at 3 am",
        ),
        Incident {
            parameter: Some("wait_ms".to_string()),
            threshold: Some(DRIFT_THRESHOLD_MS),
            ..mk(
                AnomalyType::ParameterDrift,
                "db-proxy",
                at(1, 0, 0),
                at(2, 0, 0),
                "connection acquired pool=primary wait_ms=<*> active=<*> idle=<*>",
                "connection pool wait creeps up 2% an hour for a day (a connection leak)",
            )
        },
        mk(
            AnomalyType::VolumeSpike,
            "inventory",
            at(2, 11, 0),
            at(2, 11, 45),
            "cache miss for sku=<*>, loaded from db in <*>",
            "the stock cache was flushed: cache misses run at 8x for 45 minutes",
        ),
        mk(
            AnomalyType::VolumeDrop,
            "notifier",
            at(3, 15, 30),
            at(3, 17, 0),
            "health check ok: status=UP checks=3/3 took <*>",
            "the notifier's health check goes silent for 90 minutes (a stuck event loop)",
        ),
        Incident {
            parameter: Some("latency_ms".to_string()),
            threshold: Some(FORECAST_THRESHOLD_MS),
            ..mk(
                AnomalyType::ForecastBreach,
                "search",
                at(3, 20, 0),
                at(4, 22, 0),
                "query served q=<*> index=products hits=<*> latency_ms=<*> shards=<*>",
                "search latency climbs 30 ms an hour (an index bloat) until it crosses 800 ms",
            )
        },
        Incident {
            related_services: vec!["checkout".to_string()],
            ..mk(
                AnomalyType::ErrorRatio,
                "payments",
                at(4, 11, 10),
                at(4, 11, 55),
                "authorization result=<*> order=<*> amount=<*> EUR card=<*> psp=<*> reason=<*> latency_ms=<*>",
                "an issuer outage: 20% of card authorizations declined, most after issuer timeouts, for 45 minutes",
            )
        },
    ];
    v.sort_by_key(|i| i.start);
    for (n, inc) in v.iter_mut().enumerate() {
        inc.id = format!("inc-{}-{}", n + 1, inc.kind);
    }
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schedule_has_one_incident_of_each_type_in_the_week() {
        let tz = chrono_tz::Europe::Berlin;
        let day0 = NaiveDate::from_ymd_opt(2026, 11, 2).unwrap();
        let v = schedule(tz, day0);
        let start = local_instant(tz, day0, 0, 0);
        let end = start + Duration::days(7);
        for t in AnomalyType::ALL {
            let found: Vec<_> = v.iter().filter(|i| i.kind == t).collect();
            assert_eq!(found.len(), 1, "{t}");
            assert!(
                found[0].start >= start && found[0].end <= end && found[0].start < found[0].end
            );
        }
        // 10:20 local in CET is 09:20 UTC
        let np = v
            .iter()
            .find(|i| i.kind == AnomalyType::NewPattern)
            .unwrap();
        assert_eq!(np.start.to_rfc3339(), "2026-11-02T09:20:00+00:00");
    }

    #[test]
    fn local_instant_skips_the_spring_gap() {
        let tz = chrono_tz::Europe::Berlin;
        let d = NaiveDate::from_ymd_opt(2026, 3, 29).unwrap();
        // 02:30 does not exist that night; 03:00 CEST = 01:00 UTC
        assert_eq!(
            local_instant(tz, d, 2, 30).to_rfc3339(),
            "2026-03-29T01:00:00+00:00"
        );
    }
}
