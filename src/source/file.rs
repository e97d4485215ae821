//! File and stdin source: NDJSON documents or plain lines, read with bounded memory.
//!
//! Invariants: every input line is either turned into a record or counted as rejected in the
//! [`InputReport`], with its line number among the first few; a line is never held in memory
//! beyond `input.max_line_bytes`.

use super::{BadLine, FieldsConfig, InputConfig, InputReport, Problem};
use crate::model::{LogRecord, UNKNOWN_SERVICE};
use chrono::{DateTime, NaiveDateTime, TimeZone, Utc};
use serde_json::Value;
use std::io::{self, BufRead};

/// How input lines are read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum InputFormat {
    /// One JSON object per line (ECS-style fields).
    Ndjson,
    /// Each line is a message; no timestamp or service.
    Plain,
}

/// Errors that stop reading.
#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    /// The input could not be read.
    #[error("cannot read input: {0}")]
    Io(#[from] io::Error),
    /// A bad line in strict mode.
    #[error("{0} (strict mode)")]
    Strict(BadLine),
}

/// Reads records from a buffered reader, counting and reporting bad lines.
pub struct RecordReader<R> {
    inner: R,
    format: InputFormat,
    fields: FieldsConfig,
    limits: InputConfig,
    strict: bool,
    line_no: u64,
    buf: Vec<u8>,
    last_ts: Option<DateTime<Utc>>,
    report: InputReport,
}

impl<R: BufRead> RecordReader<R> {
    /// A reader with the given field mapping and limits; `strict` makes the first bad line an
    /// error.
    pub fn new(
        inner: R,
        format: InputFormat,
        fields: FieldsConfig,
        limits: InputConfig,
        strict: bool,
    ) -> Self {
        RecordReader {
            inner,
            format,
            fields,
            limits,
            strict,
            line_no: 0,
            buf: Vec::new(),
            last_ts: None,
            report: InputReport::default(),
        }
    }

    /// What has been read so far.
    pub fn report(&self) -> &InputReport {
        &self.report
    }

    /// The number of the last line read (1-based; 0 before the first).
    pub fn line_no(&self) -> u64 {
        self.line_no
    }

    /// Consume the reader, returning its report.
    pub fn into_report(self) -> InputReport {
        self.report
    }

    /// The next record, or `None` at the end of input. Bad lines are skipped (and counted)
    /// unless strict.
    pub fn next_record(&mut self) -> Result<Option<LogRecord>, SourceError> {
        loop {
            let Some(text) = self.next_text()? else {
                return Ok(None);
            };
            if self.format == InputFormat::Ndjson && text.trim().is_empty() {
                continue;
            }
            let record = match self.format {
                InputFormat::Plain => Some(LogRecord {
                    timestamp: DateTime::<Utc>::UNIX_EPOCH,
                    message: text,
                    service: UNKNOWN_SERVICE.to_string(),
                    level: None,
                    host: None,
                }),
                InputFormat::Ndjson => match parse_document(&text, &self.fields) {
                    Ok(r) => Some(r),
                    Err((problem, detail)) => {
                        self.bad(problem, detail)?;
                        None
                    }
                },
            };
            let Some(mut record) = record else { continue };
            self.repair_message(&mut record.message)?;
            if self.format == InputFormat::Ndjson {
                if let Some(last) = self.last_ts {
                    if record.timestamp < last {
                        let detail = format!("{} after {}", record.timestamp, last);
                        self.bad(Problem::OutOfOrder, detail)?;
                    }
                }
                self.last_ts = Some(
                    self.last_ts
                        .map_or(record.timestamp, |l| l.max(record.timestamp)),
                );
            }
            self.report.records += 1;
            return Ok(Some(record));
        }
    }

    /// The message of the next record of a plain-format input, read into `message`, whose
    /// allocation is reused (a reader of many lines then allocates none per line): the message
    /// [`RecordReader::next_record`] would return, with the same lines counted and reported.
    /// Returns `false` at the end of input (`message` is then empty).
    pub fn next_message(&mut self, message: &mut String) -> Result<bool, SourceError> {
        debug_assert_eq!(self.format, InputFormat::Plain);
        // The line is read into the caller's allocation, and handed back in it.
        self.buf = std::mem::take(message).into_bytes();
        let Some(mut text) = self.next_text()? else {
            return Ok(false);
        };
        self.repair_message(&mut text)?;
        self.report.records += 1;
        *message = text;
        Ok(true)
    }

    /// The text of the next line that is not too long, without its line end, or `None` at
    /// the end of input; invalid UTF-8 is replaced (and reported). The line is taken from
    /// `self.buf` without a copy, so the next line is read into a new buffer, or into the one
    /// the caller puts in `self.buf`.
    fn next_text(&mut self) -> Result<Option<String>, SourceError> {
        loop {
            let Some(too_long) = self.read_line()? else {
                return Ok(None);
            };
            self.line_no += 1;
            self.report.lines += 1;
            if too_long {
                self.bad(
                    Problem::LineTooLong,
                    format!("longer than {} bytes", self.limits.max_line_bytes),
                )?;
                continue;
            }
            let mut text = match String::from_utf8(std::mem::take(&mut self.buf)) {
                Ok(s) => s,
                Err(e) => {
                    let detail = format!("invalid byte at offset {}", e.utf8_error().valid_up_to());
                    self.bad(Problem::InvalidUtf8, detail)?;
                    let fixed = String::from_utf8_lossy(e.as_bytes()).into_owned();
                    // The caller's allocation stays with the reader for the next line.
                    self.buf = e.into_bytes();
                    fixed
                }
            };
            let kept = text.trim_end_matches(['\n', '\r']).len();
            text.truncate(kept);
            return Ok(Some(text));
        }
    }

    /// Read one line into `self.buf`, keeping at most `max_line_bytes`. Returns `None` at
    /// end of input, `Some(true)` when the line was longer than the limit.
    fn read_line(&mut self) -> io::Result<Option<bool>> {
        self.buf.clear();
        let mut too_long = false;
        let mut any = false;
        loop {
            let chunk = match self.inner.fill_buf() {
                Ok(c) => c,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            };
            if chunk.is_empty() {
                return Ok(any.then_some(too_long));
            }
            any = true;
            let (take, done) = match memchr::memchr(b'\n', chunk) {
                Some(i) => (i + 1, true),
                None => (chunk.len(), false),
            };
            if !too_long {
                let room = self.limits.max_line_bytes.saturating_sub(self.buf.len());
                if take > room + usize::from(done) {
                    too_long = true;
                    self.buf.clear();
                } else {
                    // One allocation for a line that fits in the chunk.
                    self.buf.reserve(take);
                    self.buf.extend_from_slice(&chunk[..take]);
                }
            }
            self.inner.consume(take);
            if done {
                return Ok(Some(too_long));
            }
        }
    }

    /// Replace control characters and cut an over-long message, reporting each.
    fn repair_message(&mut self, message: &mut String) -> Result<(), SourceError> {
        if has_control(message) {
            *message = message
                .chars()
                .map(|c| if c.is_control() && c != '\t' { ' ' } else { c })
                .collect();
            self.bad(
                Problem::ControlCharacters,
                "replaced with spaces".to_string(),
            )?;
        }
        let max = self.limits.max_message_bytes;
        if message.len() > max {
            let original = message.len();
            let mut cut = max;
            while !message.is_char_boundary(cut) {
                cut -= 1;
            }
            message.truncate(cut);
            self.bad(
                Problem::MessageTruncated,
                format!("message of {original} bytes cut to {cut}"),
            )?;
        }
        Ok(())
    }

    fn bad(&mut self, problem: Problem, detail: String) -> Result<(), SourceError> {
        let bad = BadLine {
            line: self.line_no,
            problem,
            detail,
        };
        if self.strict {
            return Err(SourceError::Strict(bad));
        }
        if self.report.first.len() < self.limits.report_first {
            tracing::warn!(line = bad.line, problem = %bad.problem, "{}", bad.detail);
        }
        self.report.note(bad, self.limits.report_first);
        Ok(())
    }
}

impl<R: BufRead> Iterator for RecordReader<R> {
    type Item = Result<LogRecord, SourceError>;

    fn next(&mut self) -> Option<Self::Item> {
        self.next_record().transpose()
    }
}

/// Whether `text` holds a control character other than a tab (`char::is_control`: U+0000 to
/// U+001F and U+007F to U+009F), checked on the bytes: in UTF-8 the C1 controls are `0xC2`
/// followed by `0x80..=0x9F`, and no other character's encoding holds those two in a row.
fn has_control(text: &str) -> bool {
    let b = text.as_bytes();
    // Most lines hold no byte that may start one: a pass without a branch per byte (which the
    // compiler vectorises) says so before the exact test.
    let suspect = b.iter().fold(false, |any, &c| {
        any | (c < 0x20) | (c == 0x7f) | (c == 0xc2)
    });
    suspect
        && b.iter().enumerate().any(|(i, &c)| {
            (c < 0x20 && c != b'\t')
                || c == 0x7f
                || (c == 0xc2 && b.get(i + 1).is_some_and(|n| (0x80..=0x9f).contains(n)))
        })
}

/// Look up a dotted field: a literal dotted key first, then nested objects.
pub fn lookup<'a>(doc: &'a Value, path: &str) -> Option<&'a Value> {
    let obj = doc.as_object()?;
    if let Some(v) = obj.get(path) {
        return Some(v);
    }
    let (head, rest) = path.split_once('.')?;
    // Try every split point so `a.b.c` matches {"a": {"b.c": …}} and {"a.b": {"c": …}}.
    if let Some(v) = obj.get(head).and_then(|v| lookup(v, rest)) {
        return Some(v);
    }
    let mut idx = head.len();
    while let Some(next) = path[idx + 1..].find('.') {
        idx = idx + 1 + next;
        if let Some(v) = obj
            .get(&path[..idx])
            .and_then(|v| lookup(v, &path[idx + 1..]))
        {
            return Some(v);
        }
    }
    None
}

/// Read one NDJSON line as a JSON object with a readable timestamp, or say what is wrong
/// with it.
pub fn timestamped_document(
    line: &str,
    fields: &FieldsConfig,
) -> Result<(Value, DateTime<Utc>), (Problem, String)> {
    let doc: Value = serde_json::from_str(line).map_err(|e| (Problem::NotJson, e.to_string()))?;
    if !doc.is_object() {
        return Err((Problem::NotJson, "not a JSON object".to_string()));
    }
    let ts = lookup(&doc, &fields.timestamp)
        .filter(|v| !v.is_null())
        .ok_or_else(|| {
            (
                Problem::MissingTimestamp,
                format!("no field `{}`", fields.timestamp),
            )
        })?;
    let timestamp = parse_timestamp(ts).ok_or_else(|| {
        (
            Problem::BadTimestamp,
            format!(
                "field `{}` is not a timestamp: {}",
                fields.timestamp,
                clip(&ts.to_string(), 80)
            ),
        )
    })?;
    Ok((doc, timestamp))
}

/// Turn one NDJSON line into a record, or say what is wrong with it.
pub fn parse_document(line: &str, fields: &FieldsConfig) -> Result<LogRecord, (Problem, String)> {
    let (doc, timestamp) = timestamped_document(line, fields)?;
    let message = match lookup(&doc, &fields.message) {
        None | Some(Value::Null) => {
            return Err((
                Problem::MissingMessage,
                format!("no field `{}`", fields.message),
            ))
        }
        Some(Value::String(s)) => s.clone(),
        Some(v @ (Value::Number(_) | Value::Bool(_))) => v.to_string(),
        Some(_) => {
            return Err((
                Problem::WrongType,
                format!("field `{}` is not a string", fields.message),
            ))
        }
    };
    let service = scalar(&doc, &fields.service).unwrap_or_else(|| UNKNOWN_SERVICE.to_string());
    let level = scalar(&doc, &fields.level).map(|l| l.to_ascii_lowercase());
    let host = scalar(&doc, &fields.host);
    Ok(LogRecord {
        timestamp,
        message,
        service,
        level,
        host,
    })
}

fn scalar(doc: &Value, path: &str) -> Option<String> {
    match lookup(doc, path)? {
        Value::String(s) if !s.is_empty() => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

fn clip(s: &str, n: usize) -> String {
    if s.len() <= n {
        return s.to_string();
    }
    let mut cut = n;
    while !s.is_char_boundary(cut) {
        cut -= 1;
    }
    format!("{}…", &s[..cut])
}

/// Read a timestamp: RFC 3339, `YYYY-MM-DD HH:MM:SS[.fff]` or `YYYY-MM-DDTHH:MM:SS[.fff]`
/// without offset (UTC), or epoch milliseconds as a number.
pub fn parse_timestamp(v: &Value) -> Option<DateTime<Utc>> {
    match v {
        Value::String(s) => {
            let s = s.trim();
            if let Ok(t) = DateTime::parse_from_rfc3339(s) {
                return Some(t.with_timezone(&Utc));
            }
            for f in ["%Y-%m-%d %H:%M:%S%.f", "%Y-%m-%dT%H:%M:%S%.f"] {
                if let Ok(t) = NaiveDateTime::parse_from_str(s, f) {
                    return Some(Utc.from_utc_datetime(&t));
                }
            }
            None
        }
        Value::Number(n) => {
            let ms = n.as_i64().or_else(|| n.as_f64().map(|f| f as i64))?;
            Utc.timestamp_millis_opt(ms).single()
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_characters_are_found_on_the_bytes_as_on_the_chars() {
        let cases = [
            "plain text",
            "tab\there",
            "bell\u{7}",
            "del\u{7f}",
            "c1 \u{85} next line",
            "c1 \u{9f}",
            "not c1: \u{a0} \u{100} é ü ß 日本語 🚀",
            "\u{80}",
            "Â\u{c2}",
        ];
        for text in cases {
            let by_chars = text.chars().any(|c| c.is_control() && c != '\t');
            assert_eq!(has_control(text), by_chars, "{text:?}");
        }
        assert!(!has_control("tab\there"));
        assert!(has_control("c1 \u{85} next line"));
        assert!(!has_control("not c1: \u{a0} \u{100}"));
    }

    fn read(input: &[u8], strict: bool) -> (Vec<LogRecord>, InputReport, Option<String>) {
        let mut r = RecordReader::new(
            input,
            InputFormat::Ndjson,
            FieldsConfig::default(),
            InputConfig {
                max_line_bytes: 2048,
                max_message_bytes: 100,
                report_first: 10,
            },
            strict,
        );
        let mut out = Vec::new();
        let mut err = None;
        loop {
            match r.next_record() {
                Ok(Some(rec)) => out.push(rec),
                Ok(None) => break,
                Err(e) => {
                    err = Some(e.to_string());
                    break;
                }
            }
        }
        (out, r.into_report(), err)
    }

    const GOOD: &str = r#"{"@timestamp":"2026-11-02T10:00:00Z","message":"hello","service.name":"api","log.level":"INFO"}"#;

    #[test]
    fn reads_dotted_and_nested_fields() {
        let nested = r#"{"@timestamp":"2026-11-02T10:00:01Z","message":"hi","service":{"name":"web"},"log":{"level":"error"},"host":{"name":"h1"}}"#;
        let input = format!("{GOOD}\n{nested}\n");
        let (recs, report, err) = read(input.as_bytes(), false);
        assert!(err.is_none());
        assert!(report.is_clean(), "{report:?}");
        assert_eq!(recs[0].service, "api");
        assert_eq!(recs[0].level.as_deref(), Some("info"));
        assert_eq!(recs[1].service, "web");
        assert!(recs[1].is_error());
        assert_eq!(recs[1].host.as_deref(), Some("h1"));
    }

    #[test]
    fn bad_lines_are_counted_with_line_numbers_and_the_rest_processed() {
        let long = format!(
            r#"{{"@timestamp":"2026-11-02T10:00:05Z","message":"{}"}}"#,
            "x".repeat(5000)
        );
        let input = [
            GOOD.as_bytes(),
            b"not json at all",
            br#"{"message":"no time"}"#,
            br#"{"@timestamp":"yesterday","message":"m"}"#,
            br#"{"@timestamp":"2026-11-02T10:00:02Z"}"#,
            br#"{"@timestamp":"2026-11-02T10:00:03Z","message":{"a":1}}"#,
            long.as_bytes(),
            b"{\"@timestamp\":\"2026-11-02T10:00:04Z\",\"message\":\"caf\xff\"}",
            br#"{"@timestamp":"2026-11-02T10:00:06Z","message":"bell\u0007here"}"#,
            br#"{"@timestamp":"2026-11-02T09:00:00Z","message":"late"}"#,
            format!(
                r#"{{"@timestamp":"2026-11-02T10:00:07Z","message":"{}"}}"#,
                "y".repeat(300)
            )
            .as_bytes(),
        ]
        .join(&b'\n');
        let (recs, report, err) = read(&input, false);
        assert!(err.is_none());
        assert_eq!(report.lines, 11);
        assert_eq!(report.rejected, 6);
        assert_eq!(recs.len(), 5);
        let line_of = |p: Problem| report.first.iter().find(|b| b.problem == p).map(|b| b.line);
        assert_eq!(line_of(Problem::NotJson), Some(2));
        assert_eq!(line_of(Problem::MissingTimestamp), Some(3));
        assert_eq!(line_of(Problem::BadTimestamp), Some(4));
        assert_eq!(line_of(Problem::MissingMessage), Some(5));
        assert_eq!(line_of(Problem::WrongType), Some(6));
        assert_eq!(line_of(Problem::LineTooLong), Some(7));
        assert_eq!(line_of(Problem::InvalidUtf8), Some(8));
        assert_eq!(line_of(Problem::ControlCharacters), Some(9));
        assert_eq!(line_of(Problem::OutOfOrder), Some(10));
        assert_eq!(line_of(Problem::MessageTruncated), Some(11));
        assert_eq!(recs[1].message, "caf\u{fffd}");
        assert_eq!(recs[2].message, "bell here");
        assert_eq!(recs[4].message.len(), 100);
    }

    #[test]
    fn strict_mode_stops_at_first_bad_line_naming_it() {
        let input = format!("{GOOD}\n{{\"message\":\"x\"}}\n{GOOD}\n");
        let (recs, _, err) = read(input.as_bytes(), true);
        assert_eq!(recs.len(), 1);
        let err = err.unwrap();
        assert!(err.contains("line 2"), "{err}");
        assert!(err.contains("missing_timestamp"), "{err}");
    }

    #[test]
    fn timestamps_in_several_forms() {
        for (v, want) in [
            (
                Value::from("2026-11-02T10:00:00+01:00"),
                "2026-11-02T09:00:00Z",
            ),
            (
                Value::from("2026-11-02 10:00:00.250"),
                "2026-11-02T10:00:00.250Z",
            ),
            (Value::from(1_793_613_600_000_i64), "2026-11-02T10:00:00Z"),
        ] {
            let got = parse_timestamp(&v).unwrap();
            assert_eq!(
                got,
                DateTime::parse_from_rfc3339(want)
                    .unwrap()
                    .with_timezone(&Utc)
            );
        }
        assert!(parse_timestamp(&Value::from("soon")).is_none());
        assert!(parse_timestamp(&Value::Bool(true)).is_none());
    }

    #[test]
    fn plain_lines_keep_order_and_text() {
        let mut r = RecordReader::new(
            &b"first line\n\nsecond  line\r\nthird"[..],
            InputFormat::Plain,
            FieldsConfig::default(),
            InputConfig::default(),
            false,
        );
        let msgs: Vec<String> = std::iter::from_fn(|| r.next_record().unwrap())
            .map(|r| r.message)
            .collect();
        assert_eq!(msgs, ["first line", "", "second  line", "third"]);
    }

    /// Every plain message of `input` read both ways (records; messages into one reused
    /// buffer), with the line numbers and the reports, as JSON to compare.
    fn plain_both_ways(input: &[u8]) -> [(Vec<(u64, String)>, String); 2] {
        let limits = InputConfig {
            max_line_bytes: 64,
            max_message_bytes: 20,
            report_first: 10,
        };
        let reader = || {
            RecordReader::new(
                input,
                InputFormat::Plain,
                FieldsConfig::default(),
                limits.clone(),
                false,
            )
        };
        let mut r = reader();
        let mut records = Vec::new();
        while let Some(rec) = r.next_record().unwrap() {
            records.push((r.line_no(), rec.message));
        }
        let by_record = serde_json::to_string(r.report()).unwrap();
        let mut r = reader();
        let mut messages = Vec::new();
        let mut buf = String::new();
        while r.next_message(&mut buf).unwrap() {
            messages.push((r.line_no(), buf.clone()));
        }
        assert!(buf.is_empty(), "{buf:?} left at the end");
        let by_message = serde_json::to_string(r.report()).unwrap();
        [(records, by_record), (messages, by_message)]
    }

    #[test]
    fn plain_messages_read_into_a_reused_buffer_are_the_records_messages() {
        let long = "z".repeat(100);
        let input = format!(
            "first\n{long}\ncaf\u{e9}\u{7}bell\n{}\n\nlast",
            "w".repeat(30)
        );
        let mut input = input.into_bytes();
        input.extend_from_slice(b"\nbad \xff byte");
        let [(records, by_record), (messages, by_message)] = plain_both_ways(&input);
        assert_eq!(messages, records);
        assert_eq!(by_message, by_record);
        let want = [
            (1, "first".to_string()),
            (3, "caf\u{e9} bell".to_string()),
            (4, "w".repeat(20)),
            (5, String::new()),
            (6, "last".to_string()),
            (7, "bad \u{fffd} byte".to_string()),
        ];
        assert_eq!(messages, want);
        for problem in [
            "line_too_long",
            "control_characters",
            "message_truncated",
            "invalid_utf8",
        ] {
            assert!(
                by_message.contains(problem),
                "{problem} not in {by_message}"
            );
        }

        // A message that fits the buffer's room is read into that room.
        let mut r = RecordReader::new(
            &b"one\ntwo\n"[..],
            InputFormat::Plain,
            FieldsConfig::default(),
            InputConfig::default(),
            false,
        );
        let mut buf = String::with_capacity(256);
        let room = buf.as_ptr();
        assert!(r.next_message(&mut buf).unwrap());
        assert_eq!((buf.as_str(), buf.as_ptr()), ("one", room));
        assert!(r.next_message(&mut buf).unwrap());
        assert_eq!((buf.as_str(), buf.as_ptr()), ("two", room));
        assert!(!r.next_message(&mut buf).unwrap());
    }

    proptest::proptest! {
        #[test]
        fn never_panics_and_accounts_for_every_line(lines in proptest::collection::vec(proptest::collection::vec(proptest::num::u8::ANY, 0..200), 0..30)) {
            let input: Vec<u8> = lines.iter().flat_map(|l| l.iter().copied().filter(|&b| b != b'\n').chain([b'\n'])).collect();
            let (recs, report, _) = read(&input, false);
            proptest::prop_assert_eq!(report.records as usize, recs.len());
            proptest::prop_assert!(report.records + report.rejected <= report.lines);
            let [by_record, by_message] = plain_both_ways(&input);
            proptest::prop_assert_eq!(by_message, by_record);
        }
    }
}
