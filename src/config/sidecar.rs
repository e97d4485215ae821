//! The section only the sidecar reads: `run`, the schedule, backfill, local state and
//! health endpoint of `logwarden run`.

use crate::validate::Problems;
use serde::{Deserialize, Serialize};
use std::path::PathBuf;

/// `logwarden run`: how often it polls, how it starts, where it keeps its model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RunConfig {
    /// Seconds between polls of each source.
    pub interval_secs: u64,
    /// Seconds a document may arrive late: a poll reads up to now minus this.
    pub delay_secs: u64,
    /// The longest window read in one go (catching up after downtime reads several).
    pub max_window_secs: u64,
    /// Days of history the baseline is learned from when there is no model yet (and before
    /// `--from`).
    pub backfill_days: u32,
    /// Hours before the checkpoint replayed (without writing) after a restart, so drift and
    /// trend detectors resume with their state instead of from zero.
    pub warmup_hours: u32,
    /// Directory of the model files (one per source).
    pub state_dir: PathBuf,
    /// Address of the health and metrics endpoint (`/health`, `/ready`, `/metrics`); empty
    /// turns it off.
    pub listen: String,
    /// Longest wait between reconnection attempts when the cluster is unreachable, seconds.
    pub max_retry_secs: u64,
    /// With `--once`: how long the cluster may stay unreachable before the run gives up and
    /// exits non-zero with the reason, seconds (a batch job must end; the service mode waits
    /// as long as it takes).
    pub once_give_up_secs: u64,
    /// Minutes of pattern-rate documents per (service, template) bucket: 1 writes one
    /// document per minute.
    pub rate_minutes: u32,
    /// Minutes after a window was processed that its documents are counted again; what
    /// arrived in between is reported as late (`logwarden_late_documents_total`).
    pub late_recount_minutes: u32,
    /// After this many attempts in a row to read a source fail (a missing index, reads
    /// refused, the cluster gone), one critical anomaly — and its incident, routed like any
    /// other — says that logwarden cannot see the source (default 3).
    pub blind_after_failures: u32,
    /// Bearer token the HTTP API (`/api/v1/…` on `run.listen`) requires, from `env` or
    /// `file`; unset, the API answers anyone who can reach the address (`/health`, `/ready`
    /// and `/metrics` never need it).
    pub api_token: Option<crate::backend::SecretRef>,
}

impl Default for RunConfig {
    fn default() -> Self {
        RunConfig {
            interval_secs: 60,
            delay_secs: 60,
            max_window_secs: 3600,
            backfill_days: 30,
            warmup_hours: 6,
            state_dir: PathBuf::from("logwarden-state"),
            listen: "127.0.0.1:9464".to_string(),
            max_retry_secs: 60,
            once_give_up_secs: 300,
            rate_minutes: 1,
            late_recount_minutes: 10,
            blind_after_failures: 3,
            api_token: None,
        }
    }
}

impl RunConfig {
    /// Report problems under `path`.
    pub fn validate(&self, path: &str, p: &mut Problems) {
        p.range(
            format!("{path}.interval_secs"),
            self.interval_secs,
            1,
            86_400,
        );
        p.range(format!("{path}.delay_secs"), self.delay_secs, 0, 86_400);
        p.range(
            format!("{path}.max_window_secs"),
            self.max_window_secs,
            60,
            86_400,
        );
        p.range(format!("{path}.backfill_days"), self.backfill_days, 0, 400);
        p.range(format!("{path}.warmup_hours"), self.warmup_hours, 0, 168);
        p.range(
            format!("{path}.max_retry_secs"),
            self.max_retry_secs,
            1,
            3600,
        );
        p.range(
            format!("{path}.once_give_up_secs"),
            self.once_give_up_secs,
            1,
            86_400,
        );
        p.range(format!("{path}.rate_minutes"), self.rate_minutes, 1, 60);
        p.range(
            format!("{path}.late_recount_minutes"),
            self.late_recount_minutes,
            0,
            1440,
        );
        p.range(
            format!("{path}.blind_after_failures"),
            self.blind_after_failures,
            1,
            10_000,
        );
        if self.state_dir.as_os_str().is_empty() {
            p.add(format!("{path}.state_dir"), "must not be empty");
        }
        if !self.listen.is_empty() && self.listen.parse::<std::net::SocketAddr>().is_err() {
            p.add(
                format!("{path}.listen"),
                format!("`{}` is not an address like 127.0.0.1:9464", self.listen),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn listen_must_be_an_address() {
        let c = RunConfig {
            listen: "localhost".to_string(),
            ..RunConfig::default()
        };
        let mut p = Problems::default();
        c.validate("run", &mut p);
        assert!(p.0.iter().any(|m| m.contains("run.listen")), "{:?}", p.0);
        let mut p = Problems::default();
        RunConfig::default().validate("run", &mut p);
        assert!(p.0.is_empty(), "{:?}", p.0);
    }
}
