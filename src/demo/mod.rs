//! Demo: a realistic multi-service log week with seasonality and injected incidents, and the
//! evaluation of what the detectors found in it.
//!
//! Owns: the synthetic web shop ([`catalog`]: services and ~80 message shapes with
//! real-looking variables), the [`generator`] (a history without incidents and a test week
//! with one incident of each of the seven anomaly types, deterministic from a seed, in local
//! time of an IANA zone so that traffic, the daily 14:00 deploy and the incidents follow the
//! local clock across daylight-saving changes), the incident labels ([`incidents`]), the
//! matching of anomalies to labels ([`eval`]) and the whole generate → train → detect →
//! evaluate run ([`pipeline`]) behind `logwarden demo`.
//!
//! Sits beside the flow, not in it: it writes NDJSON files and reads them back through
//! [`crate::source::RecordReader`], so the demo exercises the real input path, then drives
//! [`crate::detect::Trainer`] and [`crate::detect::Detector`] exactly as `train`/`detect` do.

pub mod catalog;
pub mod eval;
pub mod feed;
pub mod generator;
pub mod incidents;
pub mod pipeline;
mod rng;

use crate::config::{Config, ConfigError};
use std::path::PathBuf;

pub use eval::{evaluate, EvalConfig, Evaluation};
pub use generator::{generate, generate_to_dir, GenSettings, Generated, LiveShop, ShopLine};
pub use incidents::{DeployWindow, Incident, Labels};
pub use pipeline::{run_pipeline, DemoOutcome};

/// The demo configuration (time zone, service criticality, detector thresholds), embedded so
/// that `logwarden demo` needs no file.
pub const DEMO_CONFIG_YAML: &str = include_str!("demo.yaml");

/// The parsed demo configuration.
pub fn demo_config() -> Result<Config, ConfigError> {
    Config::from_yaml(DEMO_CONFIG_YAML)
}

/// Errors of the demo: bad settings, files that cannot be written or read.
#[derive(Debug, thiserror::Error)]
pub enum DemoError {
    /// A generator setting is out of range.
    #[error("demo setting `{key}`: {message}")]
    Setting {
        /// The setting (command-line flag name without dashes).
        key: &'static str,
        /// What is wrong with it.
        message: String,
    },
    /// A file could not be created, written or read.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// The labels file is not valid.
    #[error("labels {path}: {message}")]
    Labels {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// Reading records back failed.
    #[error("reading {path}: {source}")]
    Source {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: crate::source::file::SourceError,
    },
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn demo_config_parses_with_berlin_time_and_critical_payments() {
        let cfg = demo_config().unwrap();
        assert_eq!(cfg.timezone.0, chrono_tz::Europe::Berlin);
        assert_eq!(
            cfg.criticality("payments"),
            crate::config::Criticality::Critical
        );
        assert_eq!(cfg.tenant.0, "demo");
    }
}
