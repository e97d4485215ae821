//! `logwarden train` and `logwarden detect` end to end through the binary: ECS NDJSON with
//! dotted and nested keys in, anomaly documents out, bad lines reported with their line
//! numbers, `--strict`, `--config`, and a model of another format version.

use chrono::{DateTime, Duration, Utc};
use std::fmt::Write as _;
use std::path::Path;
use std::process::{Command, Output};

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_logwarden"))
}

fn run(args: &[&str]) -> Output {
    bin().args(args).output().unwrap()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn start() -> DateTime<Utc> {
    "2026-11-02T00:00:00Z".parse().unwrap()
}

/// `days` of a steady service: a heartbeat a minute and three requests a minute, half of the
/// lines with dotted keys and half nested.
fn logs(from: DateTime<Utc>, days: i64) -> String {
    let mut s = String::new();
    for m in 0..days * 24 * 60 {
        let t = from + Duration::minutes(m);
        let ts = t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
        writeln!(
            s,
            r#"{{"@timestamp":"{ts}","service.name":"web","log.level":"info","message":"cache heartbeat ok"}}"#
        )
        .unwrap();
        for k in 0..3 {
            let ts = (t + Duration::seconds(10 + 15 * k))
                .to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
            let id = (m * 3 + k) % 997;
            writeln!(
                s,
                r#"{{"@timestamp":"{ts}","service":{{"name":"web"}},"log":{{"level":"info"}},"message":"GET /items/{id} 200"}}"#
            )
            .unwrap();
        }
    }
    s
}

/// One day of the same traffic with a bad third line and a burst of a request line at 12:00.
fn detect_input() -> String {
    let day = start() + Duration::days(3);
    let mut lines: Vec<String> = logs(day, 1).lines().map(str::to_string).collect();
    lines.insert(2, "this is not json".to_string());
    let burst = day + Duration::hours(12);
    let mut extra = String::new();
    for i in 0..300 {
        let ts =
            (burst + Duration::seconds(i * 2)).to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
        writeln!(
            extra,
            r#"{{"@timestamp":"{ts}","service.name":"web","log.level":"info","message":"GET /items/{i} 200"}}"#
        )
        .unwrap();
    }
    // Keep the file in time order: the burst goes where its minutes are.
    let mut at = lines.len();
    for (i, l) in lines.iter().enumerate().skip(3) {
        if l.contains(&format!("\"{}", burst.format("%Y-%m-%dT%H:%M"))) {
            at = i;
            break;
        }
    }
    let tail = lines.split_off(at);
    let mut out = lines.join("\n");
    out.push('\n');
    out.push_str(&extra);
    out.push_str(&tail.join("\n"));
    out.push('\n');
    out
}

fn write(dir: &Path, name: &str, text: &str) -> String {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p.display().to_string()
}

fn train(dir: &Path, config: &str) -> String {
    let input = write(dir, "train.ndjson", &logs(start(), 3));
    let model = dir.join("model.json").display().to_string();
    let o = run(&[
        "train", "--config", config, "--input", &input, "--model", &model,
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let err = stderr(&o);
    assert!(err.contains("trained model m"), "{err}");
    assert!(err.contains("17280 records"), "{err}");
    model
}

#[test]
fn train_then_detect_finds_the_burst_and_reports_the_bad_line() {
    let dir = tempfile::tempdir().unwrap();
    let config = write(
        dir.path(),
        "c.yaml",
        "tenant: team-x\ntimezone: Europe/Paris\n",
    );
    let model = train(dir.path(), &config);
    let input = write(dir.path(), "day.ndjson", &detect_input());
    let out = dir.path().join("anomalies.ndjson").display().to_string();
    let o = run(&[
        "detect", "--config", &config, "--model", &model, "--input", &input, "--output", &out,
    ]);
    let err = stderr(&o);
    assert!(o.status.success(), "{err}");
    assert!(err.contains("line 3: not_json"), "{err}");
    assert!(err.contains("1 rejected"), "{err}");
    assert!(err.contains("volume_spike: "), "{err}");
    let text = std::fs::read_to_string(&out).unwrap();
    let docs: Vec<serde_json::Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let spike = docs
        .iter()
        .find(|d| d["anomaly"]["type"] == "volume_spike")
        .unwrap_or_else(|| panic!("{text}"));
    assert_eq!(spike["service"]["name"], "web");
    assert!(spike["pattern"]["template"]
        .as_str()
        .unwrap()
        .starts_with("GET "));
    assert_eq!(spike["tenant"], "team-x");
    assert_eq!(spike["@timestamp"], "2026-11-05T12:00:00Z");
    assert!(spike["anomaly"]["observed"].as_f64().unwrap() > 300.0);
    assert!(spike["anomaly"]["confidence"].as_f64().unwrap() < 0.5);
    // The same run again writes the same documents.
    let out2 = dir.path().join("again.ndjson").display().to_string();
    let o = run(&[
        "detect", "--config", &config, "--model", &model, "--input", &input, "--output", &out2,
    ]);
    assert!(o.status.success());
    assert_eq!(std::fs::read_to_string(&out2).unwrap(), text);

    // The burst was the load test: mark it in the output and run again with the marks, with
    // cut-offs under which it reaches a person (three days of history keep it `low` otherwise).
    let config = write(
        dir.path(),
        "c2.yaml",
        "tenant: team-x\ntimezone: Europe/Paris\nseverity:\n  moderate: 20.0\n  critical: 90.0\n",
    );
    let out_loud = dir.path().join("loud.ndjson").display().to_string();
    let o = run(&[
        "detect", "--config", &config, "--model", &model, "--input", &input, "--output", &out_loud,
    ]);
    assert!(o.status.success());
    let docs: Vec<serde_json::Value> = std::fs::read_to_string(&out_loud)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let spike = docs
        .iter()
        .find(|d| d["anomaly"]["id"] == spike["anomaly"]["id"])
        .unwrap();
    let was = spike["anomaly"]["severity"].as_str().unwrap().to_string();
    assert_ne!(was, "low", "{spike:#}");
    let mut marked = spike.clone();
    marked["feedback"] =
        serde_json::json!({"label": "false_positive", "by": "ops", "comment": "load test"});
    let marks = write(
        dir.path(),
        "marks.ndjson",
        &format!("{marked}\nnot json\n{{\"feedback\": {{\"label\": \"confirmed\"}}}}\n"),
    );
    let out3 = dir.path().join("marked.ndjson").display().to_string();
    let o = run(&[
        "detect",
        "--config",
        &config,
        "--model",
        &model,
        "--input",
        &input,
        "--output",
        &out3,
        "--feedback",
        &marks,
    ]);
    let err = stderr(&o);
    assert!(o.status.success(), "{err}");
    assert!(err.contains("marks.ndjson: line 2: not JSON"), "{err}");
    assert!(
        err.contains("marks.ndjson: line 3: no usable `anomaly.id`"),
        "{err}"
    );
    assert!(err.contains("feedback: 1 marks from"), "{err}");
    let again: Vec<serde_json::Value> = std::fs::read_to_string(&out3)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(again.len(), docs.len(), "nothing is dropped");
    let lowered = again
        .iter()
        .find(|d| d["anomaly"]["id"] == spike["anomaly"]["id"])
        .unwrap();
    let now = if was == "critical" { "moderate" } else { "low" };
    assert_eq!(lowered["anomaly"]["severity"], now, "{lowered:#}");
    assert_eq!(lowered["feedback"]["label"], "false_positive");
    assert!(lowered["feedback"]["suppressed_by"]
        .as_str()
        .unwrap()
        .contains("last by ops: \"load test\""));
}

#[test]
fn strict_mode_stops_at_the_bad_line() {
    let dir = tempfile::tempdir().unwrap();
    let config = write(dir.path(), "c.yaml", "tenant: t\n");
    let model = train(dir.path(), &config);
    let input = write(dir.path(), "day.ndjson", &detect_input());
    let out = dir.path().join("a.ndjson").display().to_string();
    let o = run(&[
        "detect", "--model", &model, "--input", &input, "--output", &out, "--strict",
    ]);
    assert!(!o.status.success());
    let err = stderr(&o);
    assert!(err.contains("line 3: not_json"), "{err}");
    assert!(err.contains("strict"), "{err}");
    // Training is strict too.
    let bad = write(dir.path(), "bad.ndjson", "{\"message\":\"no time\"}\n");
    let o = run(&["train", "--input", &bad, "--model", &model, "--strict"]);
    assert!(!o.status.success());
    assert!(
        stderr(&o).contains("line 1: missing_timestamp"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn a_model_of_another_format_version_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let config = write(dir.path(), "c.yaml", "tenant: t\n");
    let model = train(dir.path(), &config);
    let text = std::fs::read_to_string(&model).unwrap();
    let (header, body) = text.split_once('\n').unwrap();
    let mut h: serde_json::Value = serde_json::from_str(header).unwrap();
    h["format_version"] = serde_json::json!(99);
    std::fs::write(&model, format!("{h}\n{body}")).unwrap();
    let input = write(dir.path(), "day.ndjson", &logs(start(), 1));
    let out = dir.path().join("a.ndjson").display().to_string();
    let o = run(&[
        "detect", "--model", &model, "--input", &input, "--output", &out,
    ]);
    assert_eq!(o.status.code(), Some(2));
    let err = stderr(&o);
    assert!(err.contains("format version 99"), "{err}");
    assert!(err.contains("logwarden train"), "{err}");
}

#[test]
fn a_bad_detect_setting_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let config = write(dir.path(), "c.yaml", "detect:\n  spike_min_ratio: 0.5\n");
    let input = write(dir.path(), "x.ndjson", "");
    let model = dir.path().join("m.json").display().to_string();
    let o = run(&[
        "train", "--config", &config, "--input", &input, "--model", &model,
    ]);
    assert!(!o.status.success());
    assert!(
        stderr(&o).contains("detect.spike_min_ratio"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn a_missing_model_file_is_one_error_naming_the_file_once() {
    let dir = tempfile::tempdir().unwrap();
    let input = write(dir.path(), "in.ndjson", &detect_input());
    let model = dir.path().join("no-such.model");
    let out_path = dir.path().join("out.ndjson");
    let o = run(&[
        "detect",
        "--model",
        model.to_str().unwrap(),
        "--input",
        &input,
        "--output",
        out_path.to_str().unwrap(),
    ]);
    assert!(!o.status.success());
    let err = stderr(&o);
    assert!(err.contains("no-such.model"), "{err}");
    assert_eq!(
        err.matches("os error 2").count(),
        1,
        "cause said once: {err}"
    );
}

#[test]
fn the_pattern_report_shows_what_the_logs_are_made_of() {
    let dir = tempfile::tempdir().unwrap();
    let config = write(dir.path(), "c.yaml", "timezone: UTC\n");
    let model = train(dir.path(), &config);

    let o = run(&["patterns", "--model", &model, "--json"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let r: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(r["lines"], 17280);
    let web = &r["services"][0];
    assert_eq!(
        (web["service"].as_str(), web["lines"].as_u64()),
        (Some("web"), Some(17280))
    );
    let entries = web["entries"].as_array().unwrap();
    let sum: u64 = entries.iter().map(|e| e["lines"].as_u64().unwrap()).sum();
    assert_eq!(sum, 17280, "every line is in one entry: {entries:#?}");
    // Three requests a minute are 75% of the lines, the heartbeat a minute the rest.
    let first = &entries[0];
    assert!(
        first["example"].as_str().unwrap().starts_with("GET "),
        "{first:#}"
    );
    assert_eq!(first["lines"], 12960);
    assert!((first["share"].as_f64().unwrap() - 0.75).abs() < 1e-9);
    let beat = entries
        .iter()
        .find(|e| e["example"] == "cache heartbeat ok")
        .unwrap_or_else(|| panic!("{entries:#?}"));
    assert_eq!(beat["lines"], 4320);
    assert!(
        (beat["period_secs"].as_f64().unwrap() - 60.0).abs() < 1.0,
        "{beat:#}"
    );
    assert!((beat["cumulative"].as_f64().unwrap() - 1.0).abs() < 1e-9);
    assert_eq!(
        (r["entries_for_90"].as_u64(), r["entries_for_99"].as_u64()),
        (Some(2), Some(2))
    );

    let o = run(&["patterns", "--model", &model]);
    let text = String::from_utf8_lossy(&o.stdout);
    assert!(
        text.contains("2 of them carry 90% of the lines, 2 carry 99%"),
        "{text}"
    );
    assert!(
        text.contains("web: 17280 lines (100.0% of all), 0.00% errors"),
        "{text}"
    );
    assert!(text.contains("every 60 s"), "{text}");

    let o = run(&["patterns", "--model", &model, "--service", "nope"]);
    assert!(!o.status.success());
    let err = stderr(&o);
    assert!(
        err.contains("service \"nope\" is not in the model (it has web)"),
        "{err}"
    );
}

#[test]
fn training_on_lines_without_a_record_is_an_error_and_writes_no_model() {
    let dir = tempfile::tempdir().unwrap();
    let text: String = (1..=2000)
        .map(|i| {
            format!(
                "Dec  6 10:00:{:02} host app[1]: plain text line {i}\n",
                i % 60
            )
        })
        .collect();
    let input = write(dir.path(), "plain.log", &text);
    let model = dir.path().join("m.lwm");
    let out = run(&[
        "train",
        "--input",
        &input,
        "--model",
        model.to_str().unwrap(),
    ]);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("(no model written; the input must be NDJSON with a timestamp and a message, see `fields` in logwarden.example.yaml): read 2000 lines: 0 records, 2000 rejected"),
        "{err}"
    );
    assert!(err.contains("line 1: not_json"), "{err}");
    assert!(!model.exists());
    // Written to a pipe, the log lines carry no colour codes.
    assert!(!err.contains('\u{1b}'), "{err:?}");
}
