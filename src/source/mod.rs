//! Sources: where log records come from.
//!
//! Owns: the field mapping ([`FieldsConfig`], ECS names by default), the input limits
//! ([`InputConfig`]), and the file/stdin reader ([`file`]) that turns NDJSON or plain lines
//! into [`LogRecord`](crate::model::LogRecord)s. Bad lines never stop a run: each is counted
//! by kind in an [`InputReport`] with the first few line numbers, and the rest is processed;
//! `strict` turns the first bad line into an error.

pub mod file;

use crate::validate::Problems;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt;

pub use file::{InputFormat, RecordReader};

/// Names of the fields read from each document. Dotted names match either a literal dotted
/// key (`"service.name": …`) or nested objects (`"service": {"name": …}`).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct FieldsConfig {
    /// Event time: RFC 3339 string, `YYYY-MM-DD HH:MM:SS[.fff]` (read as UTC), or epoch
    /// milliseconds.
    pub timestamp: String,
    /// The log message.
    pub message: String,
    /// The service name.
    pub service: String,
    /// The log level.
    pub level: String,
    /// The host name.
    pub host: String,
}

impl Default for FieldsConfig {
    fn default() -> Self {
        FieldsConfig {
            timestamp: "@timestamp".to_string(),
            message: "message".to_string(),
            service: "service.name".to_string(),
            level: "log.level".to_string(),
            host: "host.name".to_string(),
        }
    }
}

impl FieldsConfig {
    /// Report problems under `path`.
    pub fn validate(&self, path: &str, p: &mut Problems) {
        for (key, value) in [
            ("timestamp", &self.timestamp),
            ("message", &self.message),
            ("service", &self.service),
            ("level", &self.level),
            ("host", &self.host),
        ] {
            if value.trim().is_empty() {
                p.add(format!("{path}.{key}"), "must not be empty");
            }
        }
    }
}

/// Limits applied to each input line.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct InputConfig {
    /// Lines longer than this are skipped (counted as `line_too_long`). Bounds memory.
    pub max_line_bytes: usize,
    /// Messages longer than this are cut at a character boundary (counted as
    /// `message_truncated`) and processed.
    pub max_message_bytes: usize,
    /// How many bad lines to report with their line numbers (the rest are only counted).
    pub report_first: usize,
}

fn default_max_line_bytes() -> usize {
    4 * 1024 * 1024
}

fn default_max_message_bytes() -> usize {
    16 * 1024
}

impl Default for InputConfig {
    fn default() -> Self {
        InputConfig {
            max_line_bytes: default_max_line_bytes(),
            max_message_bytes: default_max_message_bytes(),
            report_first: 10,
        }
    }
}

impl InputConfig {
    /// Report problems under `path`.
    pub fn validate(&self, path: &str, p: &mut Problems) {
        p.range(
            format!("{path}.max_line_bytes"),
            self.max_line_bytes,
            1024,
            1 << 30,
        );
        p.range(
            format!("{path}.max_message_bytes"),
            self.max_message_bytes,
            64,
            self.max_line_bytes.max(64),
        );
    }
}

/// What was wrong with an input line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Problem {
    /// Not a JSON object (skipped).
    NotJson,
    /// No timestamp field (skipped).
    MissingTimestamp,
    /// A timestamp that cannot be read (skipped).
    BadTimestamp,
    /// No message field (skipped).
    MissingMessage,
    /// A field of the wrong type, e.g. a message that is an object (skipped).
    WrongType,
    /// Longer than `input.max_line_bytes` (skipped).
    LineTooLong,
    /// Message longer than `input.max_message_bytes` (cut and processed).
    MessageTruncated,
    /// Invalid UTF-8, replaced with U+FFFD (processed).
    InvalidUtf8,
    /// Control characters, replaced with spaces (processed).
    ControlCharacters,
    /// Earlier than a record before it (processed).
    OutOfOrder,
}

impl Problem {
    /// Whether the line was skipped (true) or processed after repair (false).
    pub fn is_rejected(self) -> bool {
        matches!(
            self,
            Problem::NotJson
                | Problem::MissingTimestamp
                | Problem::BadTimestamp
                | Problem::MissingMessage
                | Problem::WrongType
                | Problem::LineTooLong
        )
    }

    /// The snake_case name used in reports.
    pub fn as_str(self) -> &'static str {
        match self {
            Problem::NotJson => "not_json",
            Problem::MissingTimestamp => "missing_timestamp",
            Problem::BadTimestamp => "bad_timestamp",
            Problem::MissingMessage => "missing_message",
            Problem::WrongType => "wrong_type",
            Problem::LineTooLong => "line_too_long",
            Problem::MessageTruncated => "message_truncated",
            Problem::InvalidUtf8 => "invalid_utf8",
            Problem::ControlCharacters => "control_characters",
            Problem::OutOfOrder => "out_of_order",
        }
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One reported bad line.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BadLine {
    /// 1-based line number in the input.
    pub line: u64,
    /// What was wrong.
    pub problem: Problem,
    /// Details, e.g. the parser's message or the field name.
    pub detail: String,
}

impl fmt::Display for BadLine {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}: {}: {}", self.line, self.problem, self.detail)
    }
}

/// Counts of everything read, by outcome, with the first few problems.
#[derive(Debug, Clone, Default, Serialize)]
pub struct InputReport {
    /// Lines read (including bad ones).
    pub lines: u64,
    /// Records produced.
    pub records: u64,
    /// Lines skipped.
    pub rejected: u64,
    /// Problems by kind (a line can have several repairable ones).
    pub problems: BTreeMap<Problem, u64>,
    /// The first `input.report_first` problems with their line numbers.
    pub first: Vec<BadLine>,
}

impl InputReport {
    /// Record a problem on a line.
    pub fn note(&mut self, bad: BadLine, keep: usize) {
        *self.problems.entry(bad.problem).or_default() += 1;
        if bad.problem.is_rejected() {
            self.rejected += 1;
        }
        if self.first.len() < keep {
            self.first.push(bad);
        }
    }

    /// Whether anything was wrong.
    pub fn is_clean(&self) -> bool {
        self.problems.is_empty()
    }

    /// A short multi-line human summary.
    pub fn summary(&self) -> String {
        let mut s = format!(
            "read {} lines: {} records, {} rejected",
            self.lines, self.records, self.rejected
        );
        for (p, n) in &self.problems {
            s.push_str(&format!("\n  {p}: {n}"));
        }
        for b in &self.first {
            s.push_str(&format!("\n  {b}"));
        }
        s
    }
}

/// How many records lacked the service, level or host field: a layout that is not ECS
/// (rsyslog's `programname` and `severity`, say) read without a `fields` mapping would
/// otherwise become service `unknown` with no error lines, silently. Counted by `train` and by
/// the sidecar's backfill.
#[derive(Debug, Default)]
pub struct MissingFields {
    records: u64,
    service: u64,
    level: u64,
    host: u64,
}

impl MissingFields {
    /// Counts one record.
    pub fn count(&mut self, r: &crate::model::LogRecord) {
        self.records += 1;
        self.service += u64::from(r.service == crate::model::UNKNOWN_SERVICE);
        self.level += u64::from(r.level.is_none());
        self.host += u64::from(r.host.is_none());
    }

    /// One sentence per field missing from more than half of the records, naming the field
    /// read and the key that maps it (`key` is where the mapping lives: `fields` or
    /// `sources.NAME.fields`).
    pub fn warnings(&self, key: &str, fields: &FieldsConfig) -> Vec<String> {
        let what = [
            (
                self.service,
                "service",
                &fields.service,
                "every line counts for service `unknown`",
            ),
            (
                self.level,
                "level",
                &fields.level,
                "no line counts as an error or a warning",
            ),
            (self.host, "host", &fields.host, "anomalies name no host"),
        ];
        what.into_iter()
            .filter(|(n, ..)| self.records > 0 && 2 * n > self.records)
            .map(|(n, what, field, effect)| {
                format!(
                    "field `{field}` is missing from {n} of the {} records learnt from: {effect}; if your documents keep the {what} elsewhere, set `{key}.{what}` to that field (see the README's field layouts of rsyslog, Filebeat and Logstash)",
                    self.records
                )
            })
            .collect()
    }
}

#[cfg(test)]
mod missing_fields_tests {
    use super::*;
    use crate::model::LogRecord;

    fn rec(service: &str, level: Option<&str>, host: Option<&str>) -> LogRecord {
        LogRecord {
            timestamp: chrono::Utc::now(),
            message: "m".to_string(),
            service: service.to_string(),
            level: level.map(str::to_string),
            host: host.map(str::to_string),
        }
    }

    #[test]
    fn a_field_missing_from_most_documents_is_named_with_its_key() {
        let mut m = MissingFields::default();
        for i in 0..10 {
            // rsyslog's layout read with the ECS defaults: a host, no service, no level.
            m.count(&rec("unknown", None, Some("web-1")));
            if i < 4 {
                m.count(&rec("api", Some("info"), Some("web-1")));
            }
        }
        let w = m.warnings("sources.syslog.fields", &FieldsConfig::default());
        assert_eq!(w.len(), 2, "{w:#?}");
        assert!(
            w[0].starts_with("field `service.name` is missing from 10 of the 14 records learnt from: every line counts for service `unknown`"),
            "{}",
            w[0]
        );
        assert!(w[0].contains("`sources.syslog.fields.service`"), "{}", w[0]);
        assert!(
            w[1].starts_with("field `log.level` is missing from 10 of the 14"),
            "{}",
            w[1]
        );
        // Half or fewer is not most.
        let mut m = MissingFields::default();
        m.count(&rec("unknown", None, None));
        m.count(&rec("api", Some("info"), Some("h")));
        assert!(m.warnings("fields", &FieldsConfig::default()).is_empty());
        assert!(MissingFields::default()
            .warnings("fields", &FieldsConfig::default())
            .is_empty());
    }
}
