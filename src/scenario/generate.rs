//! Writing a platform scenario: the history (`train.ndjson`), the test period with its
//! incidents (`test.ndjson`) and `labels.json`, as ECS NDJSON in the demo's labels format.

use super::deploy;
use super::plan::{self, IncidentKind, Period, Plan};
use super::traffic::{Line, Traffic};
use crate::demo::incidents::local_instant;
use crate::demo::{DemoError, DeployWindow, Labels};
use chrono::{DateTime, Duration, NaiveDate, Utc};
use chrono_tz::Tz;
use serde::Serialize;
use std::io::Write;
use std::path::Path;

/// What to generate.
#[derive(Debug, Clone, PartialEq)]
pub struct PlatformSettings {
    /// Random seed: the same seed writes the same bytes.
    pub seed: u64,
    /// First local day of the history.
    pub start: NaiveDate,
    /// Days of history before the test period.
    pub train_days: u32,
    /// Days of the test period.
    pub test_days: u32,
    /// The IANA zone the platform's customers live in.
    pub tz: Tz,
    /// Traffic factor (1.0 ≈ 250 lines a minute at the weekday peak).
    pub rate: f64,
    /// The incidents to inject (each at most once).
    pub incidents: Vec<IncidentKind>,
}

impl Default for PlatformSettings {
    fn default() -> Self {
        PlatformSettings {
            seed: 1,
            start: NaiveDate::from_ymd_opt(2026, 10, 12).expect("valid date"),
            train_days: 21,
            test_days: 2,
            tz: chrono_tz::America::Chicago,
            rate: 1.0,
            incidents: IncidentKind::ALL.to_vec(),
        }
    }
}

impl PlatformSettings {
    /// Check the settings; the error names the flag.
    pub fn validate(&self) -> Result<(), DemoError> {
        let bad = |key, message: String| Err(DemoError::Setting { key, message });
        if !(1..=120).contains(&self.train_days) {
            return bad(
                "train-days",
                format!("must be 1 to 120, got {}", self.train_days),
            );
        }
        if !(1..=14).contains(&self.test_days) {
            return bad(
                "test-days",
                format!("must be 1 to 14, got {}", self.test_days),
            );
        }
        if !(self.rate > 0.0 && self.rate <= 20.0) {
            return bad(
                "rate",
                format!("must be above 0 and at most 20, got {}", self.rate),
            );
        }
        Ok(())
    }

    /// First instant of the history (local midnight of `start`).
    pub fn train_start(&self) -> DateTime<Utc> {
        local_instant(self.tz, self.start, 0, 0)
    }

    /// First instant of the test period.
    pub fn test_start(&self) -> DateTime<Utc> {
        local_instant(self.tz, self.first_test_day(), 0, 0)
    }

    /// End of the test period (exclusive).
    pub fn test_end(&self) -> DateTime<Utc> {
        local_instant(
            self.tz,
            self.first_test_day() + Duration::days(self.test_days as i64),
            0,
            0,
        )
    }

    fn first_test_day(&self) -> NaiveDate {
        self.start + Duration::days(self.train_days as i64)
    }

    /// The incidents drawn for these settings.
    pub fn plan(&self) -> Plan {
        let mut kinds = self.incidents.clone();
        kinds.sort();
        kinds.dedup();
        plan::draw(
            self.seed,
            Period {
                tz: self.tz,
                first_day: self.first_test_day(),
                days: self.test_days,
            },
            &kinds,
        )
    }

    /// The labels of the test period: incidents and deploy windows.
    pub fn labels(&self) -> Labels {
        let p = self.plan();
        let deploys = (0..self.test_days)
            .filter_map(|d| {
                deploy::deploy_of(
                    self.seed,
                    self.tz,
                    self.first_test_day() + Duration::days(d as i64),
                )
            })
            .map(|(_, span)| DeployWindow {
                start: span.start,
                end: span.end,
            })
            .collect();
        Labels {
            seed: self.seed,
            timezone: self.tz.name().to_string(),
            train_start: self.train_start(),
            test_start: self.test_start(),
            test_end: self.test_end(),
            incidents: plan::incidents(&p),
            deploys,
        }
    }
}

/// What [`generate_to_dir`] wrote.
#[derive(Debug, Clone, PartialEq)]
pub struct PlatformGenerated {
    /// Lines in `train.ndjson`.
    pub train_lines: u64,
    /// Lines in `test.ndjson`.
    pub test_lines: u64,
    /// The contents of `labels.json`.
    pub labels: Labels,
}

#[derive(Serialize)]
struct Name<'a> {
    name: &'a str,
}

#[derive(Serialize)]
struct Level<'a> {
    level: &'a str,
}

#[derive(Serialize)]
struct Doc<'a> {
    #[serde(rename = "@timestamp")]
    timestamp: String,
    message: &'a str,
    service: Name<'a>,
    log: Level<'a>,
    host: Name<'a>,
}

fn write_line(out: &mut impl Write, l: &Line) -> std::io::Result<()> {
    let doc = Doc {
        timestamp: l.ts.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string(),
        message: &l.message,
        service: Name { name: l.service },
        log: Level { level: l.level },
        host: Name { name: &l.host },
    };
    serde_json::to_writer(&mut *out, &doc)?;
    out.write_all(b"\n")
}

/// Every line of the scenario, in time order, handed to `f` with whether it belongs to the
/// test period. Returns the labels.
pub fn for_each_line(
    settings: &PlatformSettings,
    mut f: impl FnMut(&Line, bool) -> std::io::Result<()>,
) -> std::io::Result<Labels> {
    let labels = settings.labels();
    let history = Plan::none();
    let plan = settings.plan();
    let (train_start, test_start, test_end) =
        (labels.train_start, labels.test_start, labels.test_end);
    // the history and the test period share one simulator state (pods, versions, leases)
    // but the test period's lines see the plan's incidents
    let mut train = Traffic::new(settings.seed, settings.tz, settings.rate, &history);
    let mut t = train_start;
    while t < test_start {
        for l in train.minute(t) {
            f(&l, false)?;
        }
        t += Duration::minutes(1);
    }
    let mut test = train.with_plan(&plan);
    while t < test_end {
        for l in test.minute(t) {
            f(&l, true)?;
        }
        t += Duration::minutes(1);
    }
    Ok(labels)
}

/// Write the history to `train` and the test period to `test`; returns the labels and the
/// line counts.
pub fn generate(
    settings: &PlatformSettings,
    train: &mut impl Write,
    test: &mut impl Write,
) -> std::io::Result<(Labels, u64, u64)> {
    let (mut n_train, mut n_test) = (0u64, 0u64);
    let labels = for_each_line(settings, |l, is_test| {
        if is_test {
            n_test += 1;
            write_line(test, l)
        } else {
            n_train += 1;
            write_line(train, l)
        }
    })?;
    Ok((labels, n_train, n_test))
}

/// Write `train.ndjson`, `test.ndjson` and `labels.json` into `dir` (created if missing).
pub fn generate_to_dir(
    settings: &PlatformSettings,
    dir: &Path,
) -> Result<PlatformGenerated, DemoError> {
    settings.validate()?;
    let io = |path: &Path| {
        let path = path.to_path_buf();
        move |source| DemoError::Io { path, source }
    };
    std::fs::create_dir_all(dir).map_err(io(dir))?;
    let create = |name: &str| {
        let path = dir.join(name);
        std::fs::File::create(&path)
            .map(|f| std::io::BufWriter::with_capacity(1 << 16, f))
            .map_err(io(&path))
    };
    let mut train = create("train.ndjson")?;
    let mut test = create("test.ndjson")?;
    let (labels, train_lines, test_lines) =
        generate(settings, &mut train, &mut test).map_err(io(dir))?;
    train.flush().map_err(io(&dir.join("train.ndjson")))?;
    test.flush().map_err(io(&dir.join("test.ndjson")))?;
    let path = dir.join("labels.json");
    let text = serde_json::to_string_pretty(&labels).expect("labels serialize");
    std::fs::write(&path, text + "\n").map_err(io(&path))?;
    Ok(PlatformGenerated {
        train_lines,
        test_lines,
        labels,
    })
}
