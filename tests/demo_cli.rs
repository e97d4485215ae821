//! `logwarden generate` and `logwarden demo` as a user runs them.

use std::process::Command;

fn logwarden() -> Command {
    Command::new(env!("CARGO_BIN_EXE_logwarden"))
}

#[test]
fn generate_rejects_a_bad_setting_by_name() {
    let dir = tempfile::tempdir().unwrap();
    let out = logwarden()
        .args(["generate", "--train-days", "0", "--out-dir"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("train-days"), "{err}");
    let out = logwarden()
        .args(["generate", "--tz", "Mars/Olympus", "--out-dir"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("--tz"));
}

#[test]
fn demo_runs_end_to_end_and_keeps_its_files() {
    let dir = tempfile::tempdir().unwrap();
    let keep = dir.path().join("kept");
    let out = logwarden()
        .args([
            "demo",
            "--train-days",
            "1",
            "--rate",
            "0.1",
            "--seed",
            "3",
            "--keep",
        ])
        .arg(&keep)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for id in [
        "new_pattern",
        "rare_pattern",
        "volume_spike",
        "volume_drop",
        "error_ratio",
        "parameter_drift",
        "forecast_breach",
    ] {
        assert!(stdout.contains(id), "{id} missing from\n{stdout}");
    }
    assert!(stdout.contains("Incidents: "), "{stdout}");
    assert!(stdout.contains("False alerts per day"), "{stdout}");
    assert!(stdout.contains("wait_ms breaches 8 at"), "{stdout}");
    for f in [
        "train.ndjson",
        "test.ndjson",
        "labels.json",
        "anomalies.ndjson",
    ] {
        assert!(keep.join(f).is_file(), "{f}");
    }
    let labels = logwarden::demo::Labels::read(&keep.join("labels.json")).unwrap();
    assert_eq!(labels.seed, 3);
    // the anomalies file holds one anomaly document per line, as many as reported
    let text = std::fs::read_to_string(keep.join("anomalies.ndjson")).unwrap();
    for line in text.lines() {
        let a: logwarden::model::Anomaly = serde_json::from_str(line).unwrap();
        assert_eq!(a.tenant, "demo");
    }
}
