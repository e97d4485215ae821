//! The README's rsyslog recipe, run by the real rsyslogd (Debian's `rsyslog`, installed by
//! `scripts/test-tools`): its template, copied from the README, turns syslog lines received
//! over TCP into documents that logwarden reads with the recipe's field mapping, the program
//! as the service and the syslog severity as the level. Without rsyslogd the test fails.

use logwarden::source::file::parse_document;
use logwarden::source::FieldsConfig;
use std::io::Write;
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The README, and the block of it that starts with `start` and ends with the first line
/// that is exactly `end`.
fn readme_block(start: &str, end: &str) -> String {
    let readme = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md"))
        .expect("README.md");
    let from = readme
        .find(start)
        .unwrap_or_else(|| panic!("README has no `{start}`"));
    let rest = &readme[from..];
    let to = rest
        .lines()
        .position(|l| l == end)
        .unwrap_or_else(|| panic!("README block `{start}` has no line `{end}`"));
    rest.lines().take(to + 1).collect::<Vec<_>>().join("\n")
}

fn rsyslogd() -> PathBuf {
    ["/usr/sbin/rsyslogd", "/usr/bin/rsyslogd"]
        .iter()
        .map(PathBuf::from)
        .find(|p| p.exists())
        .expect("rsyslogd is not installed: run scripts/test-tools (Debian package `rsyslog`)")
}

/// Kills rsyslogd when the test ends, however it ends.
struct Daemon(Child);

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn wait_for(what: &str, mut ok: impl FnMut() -> bool) {
    let start = Instant::now();
    while !ok() {
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "timed out waiting for {what}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn the_readme_rsyslog_template_gives_documents_read_with_program_and_severity() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out.json");
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let template = readme_block("template(name=\"logwarden\"", "}");
    let conf = format!(
        "global(workDirectory=\"{dir}\")\nmodule(load=\"imtcp\")\ninput(type=\"imtcp\" port=\"{port}\" address=\"127.0.0.1\")\n{template}\naction(type=\"omfile\" file=\"{out}\" template=\"logwarden\")\n",
        dir = dir.path().display(),
        out = out.display()
    );
    let conf_path = dir.path().join("rsyslog.conf");
    std::fs::write(&conf_path, conf).unwrap();
    let _daemon = Daemon(
        Command::new(rsyslogd())
            .arg("-n")
            .arg("-f")
            .arg(&conf_path)
            .arg("-i")
            .arg(dir.path().join("rsyslogd.pid"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start rsyslogd"),
    );
    wait_for("rsyslogd to listen", || {
        TcpStream::connect(("127.0.0.1", port)).is_ok()
    });
    let mut tcp = TcpStream::connect(("127.0.0.1", port)).unwrap();
    // RFC 3164 over TCP, one message per line: priority 11 is user.err, 14 user.info.
    tcp.write_all(
        b"<11>Dec  6 10:00:00 web-1 checkout[42]: Payment declined for order 12345 \"gift card\"\n\
          <14>Dec  6 10:00:01 web-2 api: GET /items/7 200\n",
    )
    .unwrap();
    drop(tcp);
    wait_for("rsyslogd to write both documents", || {
        std::fs::read_to_string(&out).is_ok_and(|t| t.lines().count() >= 2)
    });
    let text = std::fs::read_to_string(&out).unwrap();

    // The recipe's mapping, from the README's YAML.
    let mapping = readme_block(
        "sources:\n  syslog:",
        "    fields: { message: message, service: programname, level: severity, host: host }",
    );
    assert!(mapping.contains("service: programname"), "{mapping}");
    let fields = FieldsConfig {
        service: "programname".to_string(),
        level: "severity".to_string(),
        host: "host".to_string(),
        ..FieldsConfig::default()
    };
    let records: Vec<_> = text
        .lines()
        .map(|l| parse_document(l, &fields).unwrap_or_else(|e| panic!("{l}: {e:?}")))
        .collect();
    assert_eq!(records[0].service, "checkout", "{text}");
    assert_eq!(records[0].host.as_deref(), Some("web-1"));
    assert_eq!(records[0].level.as_deref(), Some("err"));
    assert!(records[0].is_error());
    // rsyslog's `msg` keeps the space after the tag; the miner splits on whitespace, so the
    // template is the same.
    assert_eq!(
        records[0].message.trim_start(),
        "Payment declined for order 12345 \"gift card\"",
        "{text}"
    );
    assert_eq!(records[1].service, "api");
    assert_eq!(records[1].level.as_deref(), Some("info"));
    assert!(!records[1].is_error());

    // With the ECS defaults the same documents lack service and level: `train` says so,
    // naming the key to set.
    let model = dir.path().join("model.json");
    let run = Command::new(env!("CARGO_BIN_EXE_logwarden"))
        .args(["train", "--input"])
        .arg(&out)
        .arg("--model")
        .arg(&model)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert!(run.status.success(), "{stderr}");
    assert!(
        stderr.contains("warning: field `service.name` is missing from 2 of the 2 records learnt from: every line counts for service `unknown`"),
        "{stderr}"
    );
    assert!(stderr.contains("set `fields.level`"), "{stderr}");
    assert!(stderr.contains("`host.name` is missing"), "{stderr}");
}
