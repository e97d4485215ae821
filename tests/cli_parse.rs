//! `logwarden parse` end to end through the binary: one object per input line, in order,
//! with consistent template ids, and bad lines reported rather than dropped.

use std::io::Write;
use std::process::Command;

fn run_parse(input: &[u8], extra: &[&str]) -> (std::process::Output, Vec<serde_json::Value>) {
    let dir = tempfile::tempdir().unwrap();
    let input_path = dir.path().join("in.log");
    let output_path = dir.path().join("out.ndjson");
    std::fs::File::create(&input_path)
        .unwrap()
        .write_all(input)
        .unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_logwarden"))
        .arg("parse")
        .arg("--input")
        .arg(&input_path)
        .arg("--output")
        .arg(&output_path)
        .args(extra)
        .output()
        .unwrap();
    let text = std::fs::read_to_string(&output_path).unwrap_or_default();
    let objs = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    (out, objs)
}

#[test]
fn one_object_per_line_in_order_with_shared_template_ids() {
    let input = b"Connection from 10.0.0.1 closed after 250 ms\n\
User alice logged in\n\
Connection from 10.0.0.7 closed after 31 ms\n\
Disk /dev/sda1 is 91% full\n";
    let (out, objs) = run_parse(input, &[]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(objs.len(), 4);
    for (i, o) in objs.iter().enumerate() {
        assert_eq!(o["line"], i as u64 + 1);
        assert!(o["template_id"].as_str().unwrap().starts_with('t'));
        assert!(o.get("pattern_id").is_some(), "pattern_id key present: {o}");
    }
    assert_eq!(objs[0]["template_id"], objs[2]["template_id"]);
    assert_ne!(objs[0]["template_id"], objs[1]["template_id"]);
    assert_eq!(objs[1]["message"], "User alice logged in");
    assert!(!objs[0]["template"].as_str().unwrap().contains("10.0.0.1"));
}

/// Templates that generalise or merge after a line was read: every line still gets the final
/// id, so lines of one event share it whichever came first.
#[test]
fn every_line_gets_the_final_id_after_merges() {
    let input = b"query 'red shoes' failed: timeout after 3012 ms\n\
alice logged in from 10.0.0.1\n\
query 'laptop' failed: timeout after 2950 ms\n\
bob logged in from 10.0.0.2\n\
carol logged in from 10.0.0.3\n\
query 'gift card balance' failed: timeout after 3100 ms\n\
dave logged in from 10.0.0.4\n";
    let (out, objs) = run_parse(input, &[]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(objs.len(), 7);
    let id = |i: usize| objs[i]["template_id"].as_str().unwrap().to_string();
    for i in [2, 5] {
        assert_eq!(id(i), id(0));
    }
    assert_eq!(
        objs[0]["template"],
        "query <*> failed: timeout after <*> ms"
    );
    for i in [3, 4, 6] {
        assert_eq!(id(i), id(1));
    }
    assert_eq!(objs[1]["template"], "<*> logged in from <*>");
    assert_ne!(id(0), id(1));
}

#[test]
fn invalid_utf8_and_control_characters_are_reported_not_dropped() {
    let mut input = b"first line ok\n".to_vec();
    input.extend_from_slice(b"bad \xff\xfe bytes here\n");
    input.extend_from_slice(b"bell \x07 and nul \x00 inside\n");
    input.extend_from_slice(b"last line ok\n");
    let (out, objs) = run_parse(&input, &[]);
    assert!(out.status.success());
    assert_eq!(objs.len(), 4, "every input line has its object");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("line 2"),
        "bad line named by number: {stderr}"
    );
    assert_eq!(objs[3]["message"], "last line ok");
}

#[test]
fn an_overlong_line_keeps_its_place_in_the_output() {
    let mut input = b"before\n".to_vec();
    input.extend(std::iter::repeat_n(b'x', 2 * 1024 * 1024));
    input.extend_from_slice(b"\nafter\n");
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("c.yaml");
    std::fs::write(&cfg, "input:\n  max_line_bytes: 1048576\n").unwrap();
    let (out, objs) = run_parse(&input, &["--config", cfg.to_str().unwrap()]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(objs.len(), 3);
    assert_eq!(objs[1]["rejected"], true);
    assert_eq!(objs[2]["message"], "after");
    assert!(String::from_utf8_lossy(&out.stderr).contains("line 2"));
}

#[test]
fn strict_mode_fails_on_the_first_bad_line_with_its_number() {
    let (out, _) = run_parse(b"ok\nbad \xff\n", &["--strict"]);
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("line 2"), "{stderr}");
}

/// `run --from` takes RFC 3339 or a date; anything else is an error that names the flag.
#[test]
fn run_from_must_be_a_time() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_logwarden"))
        .args(["run", "--once", "--from", "last tuesday"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("--from"), "{err}");
    assert!(err.contains("RFC 3339"), "{err}");
}
