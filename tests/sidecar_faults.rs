//! Faults, against the real clusters (a missing cluster fails the test, it never skips): the
//! sidecar binary killed mid-run (SIGKILL) and stopped (SIGTERM) and started again, and the
//! cluster lost mid-run — every connection cut and refused for a while by a TCP proxy on
//! loopback between the sidecar and the cluster. Each must end with exactly the anomaly
//! documents of an undisturbed run of the same data: nothing lost, nothing twice. Every run
//! stops at the end of the data (`--until`), so a slower run does not see more empty minutes
//! than the clean one.

mod sidecar_data;

use chrono::Duration;
use logwarden::backend::Backend;
use serde_json::Value;
use sidecar_data::*;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;
use tokio::net::{TcpListener, TcpStream};

/// Windows the run of `state_index` has finished so far (0 when none).
async fn windows_done(b: &dyn Backend, state_index: &str) -> u64 {
    let r = b
        .send_raw(
            "state",
            logwarden::backend::HttpMethod::Post,
            &format!("/{state_index}/_search"),
            &[],
            None,
        )
        .await;
    match r {
        Ok(r) if r.status == 200 => r.body["hits"]["hits"]
            .as_array()
            .and_then(|h| h.first())
            .and_then(|h| h["_source"]["windows"].as_u64())
            .unwrap_or(0),
        _ => 0,
    }
}

/// Start `logwarden run --once --from … --until …` on `config_path`.
fn spawn_sidecar(config_path: &std::path::Path, from: &str, until: &str) -> std::process::Child {
    std::process::Command::new(env!("CARGO_BIN_EXE_logwarden"))
        .args([
            "--config",
            config_path.to_str().unwrap(),
            "run",
            "--once",
            "--from",
            from,
            "--until",
            until,
        ])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("the logwarden binary starts")
}

/// Wait until the run has finished at least `n` windows (the binary still running).
async fn wait_for_windows(
    b: &dyn Backend,
    state_index: &str,
    n: u64,
    child: &mut std::process::Child,
) {
    let t0 = Instant::now();
    loop {
        b.refresh(state_index).await.ok();
        if windows_done(b, state_index).await >= n {
            return;
        }
        if let Some(status) = child.try_wait().unwrap() {
            panic!("the sidecar exited ({status}) before {n} windows");
        }
        assert!(t0.elapsed().as_secs() < 300, "no progress in 5 minutes");
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}

fn sorted_ids(hits: &[Value]) -> Vec<String> {
    let mut v: Vec<String> = hits
        .iter()
        .map(|h| h["_id"].as_str().unwrap().to_string())
        .collect();
    v.sort();
    v
}

/// Load the data under `prefix`, clear the outputs of the clean run and of `disturbed`, and
/// run undisturbed in one-minute windows (time to interrupt the other run); returns the
/// replay's start and end and the anomaly ids of the clean run.
async fn undisturbed_run(
    b: &dyn Backend,
    prefix: &str,
    disturbed: &str,
) -> (
    chrono::DateTime<chrono::Utc>,
    chrono::DateTime<chrono::Utc>,
    Vec<String>,
) {
    reset(b, prefix).await;
    for out in ["clean-", &format!("{disturbed}-")] {
        for s in ["anomalies", "incidents", "patterns", "state"] {
            delete_all(b, &format!("{prefix}{out}{s}")).await;
        }
    }
    let end = anchor();
    // Ten hours of one-minute windows: 600 of them, time enough to interrupt.
    let from = end - Duration::hours(10);
    load(b, prefix, &generate(end, from)).await;
    let dir = tempfile::tempdir().unwrap();
    let out = format!("{prefix}clean-");
    let mut clean = config_to(
        &b.config().url,
        prefix,
        &out,
        dir.path(),
        "  max_retry_secs: 1\n",
    );
    clean.run.max_window_secs = 60;
    let (s, _) = run_once(&clean, from, end).await;
    assert_eq!(s.failures, 0);
    assert_eq!(s.windows, 600, "the replay stops at --until");
    let want = sorted_ids(&search_all(b, &format!("{out}anomalies*")).await);
    assert!(want.len() >= 2, "{want:?}");
    (from, end, want)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_and_stopped_sidecar_resumes_with_nothing_lost_or_doubled() {
    let b = backend("LOGWARDEN_TEST_ES_URL").await;
    let b = b.as_ref();
    let prefix = "faults-es-";
    let (from, end, want) = undisturbed_run(b, prefix, "kill").await;
    let url = b.config().url.clone();

    let dir = tempfile::tempdir().unwrap();
    let cfg_path = dir.path().join("logwarden.yaml");
    let yaml = format!(
        "tenant: t\ncluster:\n  url: {url}\nsources:\n  app:\n    index: \"{prefix}logs\"\n\
         indices:\n  anomalies: faults-es-kill-anomalies\n  incidents: faults-es-kill-incidents\n  patterns: faults-es-kill-patterns\n  state: faults-es-kill-state\n\
         run:\n  delay_secs: 0\n  backfill_days: 2\n  warmup_hours: 4\n  listen: \"\"\n  max_window_secs: 60\n  max_retry_secs: 1\n  state_dir: {}\n",
        dir.path().join("state").display()
    );
    std::fs::write(&cfg_path, yaml).unwrap();
    let (from_arg, until_arg) = (from.to_rfc3339(), end.to_rfc3339());

    // SIGKILL after some windows: no chance to clean up.
    let mut child = spawn_sidecar(&cfg_path, &from_arg, &until_arg);
    wait_for_windows(b, "faults-es-kill-state", 20, &mut child).await;
    child.kill().unwrap();
    child.wait().unwrap();
    let after_kill = windows_done(b, "faults-es-kill-state").await;
    assert!(after_kill < 600, "killed before the end: {after_kill}");

    // SIGTERM later: a clean stop with exit status 0 and the checkpoint kept.
    let mut child = spawn_sidecar(&cfg_path, &from_arg, &until_arg);
    wait_for_windows(b, "faults-es-kill-state", after_kill + 40, &mut child).await;
    let pid = child.id().to_string();
    let st = std::process::Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .unwrap();
    assert!(st.success());
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "SIGTERM is a clean exit: {stderr}");
    assert!(stderr.contains("stopping"), "{stderr}");
    let after_term = windows_done(b, "faults-es-kill-state").await;
    assert!(
        after_term > after_kill && after_term < 600,
        "{after_kill} {after_term}"
    );

    // The third start finishes the replay.
    let child = spawn_sidecar(&cfg_path, &from_arg, &until_arg);
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    // A line a window, in plain text (stderr is a pipe here, not a terminal).
    let windows: Vec<&str> = stderr
        .lines()
        .filter(|l| l.contains("records,") && l.contains("anomalies,") && l.contains(", lag "))
        .collect();
    assert!(!windows.is_empty(), "{stderr}");
    assert!(windows[0].contains("source=app"), "{}", windows[0]);
    assert!(windows[0].contains(" window 20"), "{}", windows[0]);
    assert!(!stderr.contains('\u{1b}'), "{stderr:?}");
    let got = sorted_ids(&search_all(b, "faults-es-kill-anomalies*").await);
    assert_eq!(got, want, "same anomalies as the undisturbed run");
}

/// A TCP proxy on loopback that can refuse and cut every connection, like a cluster that
/// went away.
struct Proxy {
    url: String,
    down: Arc<AtomicBool>,
    conns: Arc<Mutex<Vec<tokio::task::AbortHandle>>>,
}

impl Proxy {
    async fn start(upstream: &str) -> Proxy {
        let target = upstream.trim_start_matches("http://").to_string();
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let down = Arc::new(AtomicBool::new(false));
        let conns: Arc<Mutex<Vec<tokio::task::AbortHandle>>> = Arc::default();
        let (d, c) = (down.clone(), conns.clone());
        tokio::spawn(async move {
            while let Ok((mut inbound, _)) = listener.accept().await {
                if d.load(Ordering::SeqCst) {
                    continue; // dropped: connection closed at once
                }
                let target = target.clone();
                let task = tokio::spawn(async move {
                    if let Ok(mut out) = TcpStream::connect(&target).await {
                        let _ = tokio::io::copy_bidirectional(&mut inbound, &mut out).await;
                    }
                });
                c.lock().unwrap().push(task.abort_handle());
            }
        });
        Proxy { url, down, conns }
    }

    fn set_down(&self, down: bool) {
        self.down.store(down, Ordering::SeqCst);
        if down {
            for c in self.conns.lock().unwrap().drain(..) {
                c.abort();
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cluster_down_at_start_and_lost_mid_run_nothing_lost() {
    let b = backend("LOGWARDEN_TEST_OS_URL").await;
    let b = b.as_ref();
    let prefix = "faults-os-";
    let (from, end, want) = undisturbed_run(b, prefix, "cut").await;
    let url = b.config().url.clone();
    let extra = "  max_retry_secs: 1\n";

    let proxy = Proxy::start(&url).await;
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = config_to(&proxy.url, prefix, "faults-os-cut-", dir.path(), extra);
    cfg.run.max_window_secs = 60;
    cfg.cluster.as_mut().unwrap().request_timeout_secs = 5;
    // Down at start: the sidecar waits, not ready, and does not exit.
    proxy.set_down(true);
    let metrics = logwarden::sidecar::health::Metrics::new();
    let (_stop, rx) = tokio::sync::watch::channel(false);
    let opts = logwarden::sidecar::RunOptions {
        once: true,
        from: Some(from),
        until: Some(end),
        force_templates: false,
    };
    let m = metrics.clone();
    let run = tokio::spawn(async move { logwarden::sidecar::run(cfg, opts, m, rx).await });
    tokio::time::sleep(std::time::Duration::from_secs(3)).await;
    assert!(
        !run.is_finished(),
        "the sidecar keeps waiting for the cluster"
    );
    assert!(!metrics.is_ready());
    assert_eq!(metrics.cluster_up.get(), 0);
    assert!(
        metrics.status().contains("unreachable"),
        "{}",
        metrics.status()
    );
    proxy.set_down(false);
    let t0 = Instant::now();
    while metrics.windows.with_label_values(&["app"]).get() < 30 {
        assert!(t0.elapsed().as_secs() < 300, "no progress");
        tokio::time::sleep(std::time::Duration::from_millis(1)).await;
    }
    proxy.set_down(true);
    assert!(!run.is_finished(), "cut while the run is going");
    tokio::time::sleep(std::time::Duration::from_secs(4)).await;
    let during = windows_done(b, "faults-os-cut-state").await;
    tokio::time::sleep(std::time::Duration::from_secs(2)).await;
    assert_eq!(
        windows_done(b, "faults-os-cut-state").await,
        during,
        "no progress while the cluster is away"
    );
    proxy.set_down(false);
    let s = run.await.unwrap().unwrap();
    assert!(s.failures >= 1, "the cut was noticed: {s:?}");
    assert!(metrics.window_failures.with_label_values(&["app"]).get() >= 1);
    let got = sorted_ids(&search_all(b, "faults-os-cut-anomalies*").await);
    assert_eq!(got, want, "same anomalies as the undisturbed run");
}
