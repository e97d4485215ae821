//! The demo log feed: the shop of [`LiveShop`] written into a cluster, first a history ending
//! now (in bulk), then, when following, each line as its time comes, until told to stop.
//! This is what `logwarden feed` and the docker compose demo run.
//!
//! Invariants: the history starts at 00:00 UTC of the first day, so feeding again on the same
//! day with the same seed, zone and rate writes the same lines with the same `_id`s (a
//! restarted feed replaces its documents instead of doubling them); no line is written before
//! its timestamp has passed; every line goes through [`Loader`], so every document is either
//! acknowledged or reported with its ordinal and id.

use super::generator::{LiveShop, ShopLine};
use super::incidents;
use crate::backend::bulk::BulkDoc;
use crate::backend::load::{doc_id, ensure_log_index, LoadError, LoadOptions, LoadReport, Loader};
use crate::backend::Backend;
use crate::source::FieldsConfig;
use chrono::{DateTime, Duration, NaiveDate, Utc};
use chrono_tz::Tz;
use std::future::Future;
use std::sync::Arc;

/// What to feed.
#[derive(Debug, Clone)]
pub struct FeedSettings {
    /// Random seed.
    pub seed: u64,
    /// The zone the shop's users live in (traffic curve, deploy hour).
    pub tz: Tz,
    /// Traffic factor (1.0 ≈ 80 request lines a minute at the daily peak, plus heartbeats).
    pub rate: f64,
    /// Days of history before today (the history starts at 00:00 UTC `days` days ago).
    pub days: u32,
    /// The first local day of a week with the seven incidents of the demo's test week
    /// ([`incidents::schedule`]); `None` feeds normal traffic only.
    pub incidents_from: Option<NaiveDate>,
}

/// The first instant of the history fed at `now`: 00:00 UTC `days` days before today.
pub fn history_start(now: DateTime<Utc>, days: u32) -> DateTime<Utc> {
    let midnight = now
        .date_naive()
        .and_hms_opt(0, 0, 0)
        .map(|t| t.and_utc())
        .unwrap_or(now);
    midnight - Duration::days(i64::from(days))
}

/// The shop's lines in time order up to any instant, each with its ordinal.
pub struct Feed {
    shop: LiveShop,
    held: Vec<ShopLine>,
    ordinal: u64,
}

impl Feed {
    /// A feed whose first line is in the minute of `start`.
    pub fn new(settings: &FeedSettings, start: DateTime<Utc>) -> Feed {
        let mut shop = LiveShop::new(settings.seed, settings.tz, settings.rate, start);
        if let Some(day0) = settings.incidents_from {
            shop = shop.with_incidents(incidents::schedule(settings.tz, day0));
        }
        Feed {
            shop,
            held: Vec::new(),
            ordinal: 0,
        }
    }

    /// Lines produced so far.
    pub fn ordinal(&self) -> u64 {
        self.ordinal
    }

    /// Every line not yet taken whose timestamp is at or before `until`, in time order, as
    /// `(ordinal, line)`. Lines of a minute that has not fully passed are held back until
    /// their time.
    pub fn take_until(&mut self, until: DateTime<Utc>) -> Vec<(u64, ShopLine)> {
        // a minute's lines lie within it, except a few written up to 2.5 s early
        // (late shippers): generate every minute that starts before `until` + 3 s
        while self.shop.next_minute() <= until + Duration::seconds(3) {
            let lines = self.shop.next_minute_lines();
            self.held.extend(lines);
        }
        self.held.sort_by_key(|l| l.timestamp);
        let due = self.held.partition_point(|l| l.timestamp <= until);
        self.held
            .drain(..due)
            .map(|l| {
                self.ordinal += 1;
                (self.ordinal, l)
            })
            .collect()
    }
}

async fn push_lines(loader: &mut Loader, lines: Vec<(u64, ShopLine)>) -> Result<(), LoadError> {
    for (n, l) in lines {
        loader.note_line();
        let doc = BulkDoc {
            id: doc_id(n, &l.json),
            source: l.json,
        };
        loader.push(n, doc).await?;
    }
    Ok(())
}

/// Write the history `[history_start(now, days), now]` into `index` (created with a log
/// mapping when missing and `opts.create_index`), an hour at a time; `progress` is called
/// after each hour with the fraction done. Returns the feed positioned at `now`, ready to
/// [`follow`], and what was written.
pub async fn feed_history(
    backend: Arc<dyn Backend>,
    index: &str,
    settings: &FeedSettings,
    now: DateTime<Utc>,
    opts: LoadOptions,
    mut progress: impl FnMut(f64),
) -> Result<(Feed, LoadReport), LoadError> {
    if opts.create_index {
        ensure_log_index(backend.as_ref(), index, &FieldsConfig::default())
            .await
            .map_err(|source| LoadError::Backend { written: 0, source })?;
    }
    let start = history_start(now, settings.days);
    let mut feed = Feed::new(settings, start);
    let mut loader = Loader::new(backend, index, opts);
    let total = (now - start).num_seconds().max(1) as f64;
    let mut t = start;
    while t < now {
        t = (t + Duration::hours(1)).min(now);
        let lines = feed.take_until(t);
        push_lines(&mut loader, lines).await?;
        progress((t - start).num_seconds() as f64 / total);
    }
    let report = loader.finish().await?;
    Ok((feed, report))
}

/// Keep writing the feed's lines into `index` as their time comes (checked every
/// `tick`), each second's lines in one bulk request, until `stop` completes; the lines due
/// at that moment are written before returning. `on_tick` sees the running report.
pub async fn follow(
    backend: Arc<dyn Backend>,
    index: &str,
    feed: &mut Feed,
    tick: std::time::Duration,
    opts: LoadOptions,
    stop: impl Future<Output = ()>,
    mut on_tick: impl FnMut(&LoadReport),
) -> Result<LoadReport, LoadError> {
    let mut loader = Loader::new(backend, index, opts);
    tokio::pin!(stop);
    loop {
        let lines = feed.take_until(Utc::now());
        push_lines(&mut loader, lines).await?;
        loader.flush().await?;
        on_tick(loader.report());
        tokio::select! {
            _ = &mut stop => break,
            _ = tokio::time::sleep(tick) => {}
        }
    }
    let lines = feed.take_until(Utc::now());
    push_lines(&mut loader, lines).await?;
    loader.finish().await
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn settings() -> FeedSettings {
        FeedSettings {
            seed: 3,
            tz: chrono_tz::Europe::Berlin,
            rate: 1.0,
            days: 1,
            incidents_from: None,
        }
    }

    #[test]
    fn history_starts_at_midnight_utc() {
        let now = Utc.with_ymd_and_hms(2026, 11, 30, 18, 24, 53).unwrap();
        assert_eq!(
            history_start(now, 2),
            Utc.with_ymd_and_hms(2026, 11, 28, 0, 0, 0).unwrap()
        );
        assert_eq!(
            history_start(now, 0),
            Utc.with_ymd_and_hms(2026, 11, 30, 0, 0, 0).unwrap()
        );
    }

    #[test]
    fn taking_in_steps_gives_the_same_lines_as_at_once_and_none_early() {
        let start = Utc.with_ymd_and_hms(2026, 11, 2, 11, 0, 0).unwrap();
        let end = start + Duration::minutes(20) + Duration::milliseconds(12_345);
        let mut once = Feed::new(&settings(), start);
        let all = once.take_until(end);
        assert!(all.len() > 500, "{}", all.len());
        assert!(all.iter().all(|(_, l)| l.timestamp <= end));
        assert!(all.windows(2).all(|w| w[0].1.timestamp <= w[1].1.timestamp));
        assert_eq!(all.last().map(|(n, _)| *n), Some(all.len() as u64));

        let mut steps = Feed::new(&settings(), start);
        let mut got = Vec::new();
        let mut t = start;
        while t < end {
            t = (t + Duration::milliseconds(7_001)).min(end);
            let part = steps.take_until(t);
            assert!(part.iter().all(|(_, l)| l.timestamp <= t));
            got.extend(part);
        }
        assert_eq!(got, all);
        // what comes later is all after `end`
        let later = once.take_until(end + Duration::minutes(2));
        assert!(!later.is_empty());
        assert!(later.iter().all(|(_, l)| l.timestamp > end));
    }

    #[test]
    fn every_service_keeps_its_heartbeat() {
        let start = Utc.with_ymd_and_hms(2026, 11, 3, 3, 0, 0).unwrap();
        let mut f = Feed::new(&settings(), start);
        let lines = f.take_until(start + Duration::minutes(10) - Duration::seconds(5));
        let beats = lines
            .iter()
            .filter(|(_, l)| l.json.contains("health check ok"))
            .count();
        assert!(
            (150..=160).contains(&beats),
            "{beats} heartbeats in 10 minutes"
        );
    }

    #[test]
    fn an_incident_week_injects_its_new_pattern_only_while_it_lasts() {
        let day0 = chrono::NaiveDate::from_ymd_opt(2026, 11, 2).unwrap();
        let with = FeedSettings {
            incidents_from: Some(day0),
            ..settings()
        };
        let plan = incidents::schedule(with.tz, day0);
        let np = plan
            .iter()
            .find(|i| i.kind == crate::model::AnomalyType::NewPattern)
            .unwrap();
        let from = np.start - Duration::minutes(30);
        let until = np.end + Duration::minutes(30);
        let count = |s: &FeedSettings| {
            let lines = Feed::new(s, from).take_until(until);
            lines
                .iter()
                .filter(|(_, l)| l.json.contains("certificate expired for"))
                .map(|(_, l)| l.timestamp)
                .collect::<Vec<_>>()
        };
        let injected = count(&with);
        assert!(injected.len() > 10, "{}", injected.len());
        assert!(injected
            .iter()
            .all(|t| *t >= np.start - Duration::seconds(3) && *t < np.end));
        assert!(count(&settings()).is_empty());
    }
}
