//! Telemetry: logging set-up and progress display.
//!
//! Logs go to stderr through `tracing` (level from `RUST_LOG`, default `info`); progress bars
//! are drawn only when stderr is a terminal, so scripts and CI see clean output. It also
//! holds the one process-wide metric, [`engine_warnings`], which the cluster request layer
//! counts wherever it runs and the sidecar's `/metrics` exports.

pub mod metrics;

pub use metrics::Metrics;

use indicatif::{ProgressBar, ProgressStyle};
use prometheus::IntCounter;
use std::io::IsTerminal;
use std::sync::LazyLock;

/// `logwarden_engine_warnings_total`: `Warning` headers (deprecations) the cluster answered
/// with, one per header, since the process started. Process-wide because every backend of
/// the process sends through the same request layer; `Metrics` registers it.
pub fn engine_warnings() -> &'static IntCounter {
    static WARNINGS: LazyLock<IntCounter> = LazyLock::new(|| {
        IntCounter::new(
            "logwarden_engine_warnings_total",
            "Warning headers (deprecations) the cluster answered with",
        )
        .expect("the metric name is valid")
    });
    &WARNINGS
}

/// Install the stderr log subscriber once.
pub fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        // Colours only for a person at a terminal: a file or a log collector gets plain text.
        .with_ansi(std::io::stderr().is_terminal())
        .with_target(false)
        .try_init();
}

/// A byte-count progress bar for reading a file of `total` bytes; hidden when stderr is not a
/// terminal.
pub fn progress(total: u64, what: &str) -> ProgressBar {
    if !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new(total);
    bar.set_style(
        ProgressStyle::with_template(
            "{msg} [{bar:40}] {bytes}/{total_bytes} {bytes_per_sec} eta {eta}",
        )
        .unwrap_or_else(|_| ProgressStyle::default_bar())
        .progress_chars("=> "),
    );
    bar.set_message(what.to_string());
    bar
}

/// A counting spinner for work of unknown size (records read from a cluster); hidden when
/// stderr is not a terminal.
pub fn progress_count(what: &str) -> ProgressBar {
    if !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new_spinner();
    bar.set_style(
        ProgressStyle::with_template("{spinner} {msg}: {human_pos} records, {per_sec}")
            .unwrap_or_else(|_| ProgressStyle::default_spinner()),
    );
    bar.set_message(what.to_string());
    bar.enable_steady_tick(std::time::Duration::from_millis(200));
    bar
}
