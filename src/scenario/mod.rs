//! A second, independently written scenario generator: "platform", a logistics and payments
//! SaaS, for measuring the detectors on data their authors did not shape.
//!
//! Owns: the platform's eleven services and their message shapes ([`traffic`], [`vocab`]:
//! nginx access and error logs with status codes and latencies at INFO, Spring Boot and
//! Rails request logs, Go `level=info msg=...` lines, JSON-ish payment events, cron jobs,
//! heartbeats, a nightly invoice run and settlement that always end at the same minute, jobs
//! every 5 and 15 minutes, hourly reports), the weekday rolling deploy ([`deploy`]), the
//! nine incident kinds and their labels ([`plan`]), the writer ([`generate`]) and the
//! generate → train → detect → "reaches a person" run ([`run`]) behind
//! `logwarden demo --scenario platform` and `cargo bench --bench scenarios`.
//!
//! Invariants: deterministic from the seed (the same settings write the same bytes); the
//! normal traffic of a seed does not depend on which incidents are chosen; every label is
//! computed from the same values the lines are drawn from (a heartbeat's silence has no
//! heartbeat line, the whole-source silence has no line at all, `breach_at` is the instant
//! the drawn medians cross the threshold).
//!
//! Sits beside the flow like [`crate::demo`], and shares only its labels format
//! ([`crate::demo::Labels`]) and grader ([`crate::demo::eval`]) with it: it was written
//! without reading the shop generator or the detectors.

mod deploy;
pub mod generate;
pub mod plan;
mod rng;
pub mod run;
pub mod traffic;
mod vocab;

use crate::config::{Config, ConfigError};

pub use generate::{generate, generate_to_dir, PlatformGenerated, PlatformSettings};
pub use plan::IncidentKind;
pub use run::{run_platform, ScenarioOutcome};

/// The configuration the platform scenario runs with, embedded so `logwarden demo
/// --scenario platform` needs no file.
pub const PLATFORM_CONFIG_YAML: &str = include_str!("platform.yaml");

/// The parsed platform configuration.
pub fn platform_config() -> Result<Config, ConfigError> {
    Config::from_yaml(PLATFORM_CONFIG_YAML)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn platform_config_parses_with_chicago_time() {
        let cfg = platform_config().unwrap();
        assert_eq!(cfg.timezone.0, chrono_tz::America::Chicago);
        assert_eq!(cfg.tenant.0, "platform");
        assert_eq!(
            cfg.criticality("payment-gateway"),
            crate::config::Criticality::Critical
        );
    }
}
