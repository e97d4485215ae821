//! Configuration: one YAML file, every key overridable from the environment.
//!
//! Three steps, as the rest of the code expects them:
//! 1. serde structs (`deny_unknown_fields`; each section lives beside the module it configures,
//!    with a `///` doc on every field and defaults in named functions);
//! 2. [`Config::validate`], pure, reporting every problem with its full key path;
//! 3. `build()` steps in the modules that may touch the network.
//!
//! Sources, lowest first: built-in defaults, the YAML file, then `LOGWARDEN__SECTION__KEY`
//! environment variables (double underscore between levels, keys lowercased).

mod sidecar;

pub use crate::backend::{IndicesConfig, RetentionConfig};
pub use sidecar::RunConfig;

pub use crate::incidents::Criticality;
use crate::validate::Problems;
use crate::{cluster, detect, incidents, parse, source, vectorize};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::Path;

/// The whole configuration.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// Written into every anomaly document, so one index can serve several teams.
    pub tenant: Tenant,
    /// IANA time zone in which seasonality (hour of day, day of week) is learned, e.g.
    /// `Europe/Berlin`. Users' traffic follows their local clock, not UTC.
    pub timezone: TimeZone,
    /// The cluster to read from and write to (used by `logwarden run`).
    pub cluster: Option<crate::backend::BackendConfig>,
    /// Log sources to poll, by any name (used by `logwarden run`).
    pub sources: BTreeMap<String, SourceConfig>,
    /// Field names in the input documents (ECS by default).
    pub fields: source::FieldsConfig,
    /// Limits on input lines.
    pub input: source::InputConfig,
    /// Variable masking and template mining.
    pub parse: parse::ParseConfig,
    /// Tokenizing templates and weighting tokens.
    pub vectorize: vectorize::VectorizeConfig,
    /// Grouping templates into patterns (HDBSCAN).
    pub patterns: cluster::PatternsConfig,
    /// Baseline and detectors.
    pub detect: detect::DetectConfig,
    /// Score cut-offs for the severity tiers.
    pub severity: incidents::SeverityConfig,
    /// Grouping anomalies into incidents.
    pub incidents: incidents::IncidentsConfig,
    /// Per-service settings, by service name.
    pub services: BTreeMap<String, ServiceConfig>,
    /// The indices logwarden writes, and how long they are kept.
    pub indices: IndicesConfig,
    /// The sidecar (`logwarden run`): schedule, backfill, state, health endpoint.
    pub run: RunConfig,
    /// Where incidents are sent (PagerDuty, Slack, webhooks, Datadog, Splunk), by tier.
    pub routes: crate::notify::RoutesConfig,
    /// What users' `false_positive` and `confirmed` marks do.
    pub feedback: crate::feedback::FeedbackConfig,
}

/// The tenant name (default `default`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Tenant(pub String);

impl Default for Tenant {
    fn default() -> Self {
        Tenant("default".to_string())
    }
}

/// An IANA time zone (default `UTC`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct TimeZone(pub chrono_tz::Tz);

impl Default for TimeZone {
    fn default() -> Self {
        TimeZone(chrono_tz::UTC)
    }
}

/// One polled source.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SourceConfig {
    /// Index pattern, e.g. `logs-*` (or a comma-separated list).
    pub index: String,
    /// An optional query (Query DSL) every read is filtered by, e.g.
    /// `{"term": {"event.dataset": "app"}}`.
    #[serde(default)]
    pub query: Option<serde_json::Value>,
    /// Field names of this source when they differ from the top-level `fields`.
    #[serde(default)]
    pub fields: Option<source::FieldsConfig>,
}

/// Settings for one service.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ServiceConfig {
    /// `low`, `normal` (default), `high` or `critical`.
    pub criticality: Criticality,
}

/// Everything wrong with a configuration, each with its key path.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read or is not valid YAML.
    #[error("cannot read config {path}: {message}")]
    Read {
        /// The file.
        path: String,
        /// What went wrong.
        message: String,
    },
    /// A key has a value of the wrong type, or is unknown.
    #[error("config key `{key}`: {message}")]
    Key {
        /// Full dotted key path.
        key: String,
        /// What is wrong with it.
        message: String,
    },
    /// Validation found problems.
    #[error("invalid config: {}", .0.join("; "))]
    Invalid(Vec<String>),
}

impl Config {
    /// Load from an optional YAML file plus `LOGWARDEN__…` environment overrides, then
    /// validate.
    pub fn load(path: Option<&Path>) -> Result<Config, ConfigError> {
        Self::load_with_env(path, std::env::vars())
    }

    /// As [`Config::load`], with the environment given explicitly (for tests).
    pub fn load_with_env(
        path: Option<&Path>,
        env: impl IntoIterator<Item = (String, String)>,
    ) -> Result<Config, ConfigError> {
        let mut builder = config::Config::builder();
        if let Some(p) = path {
            if !p.exists() {
                return Err(ConfigError::Read {
                    path: p.display().to_string(),
                    message: "no such file".to_string(),
                });
            }
            builder = builder.add_source(
                config::File::from(p)
                    .format(config::FileFormat::Yaml)
                    .required(true),
            );
        }
        let env: config::Map<String, String> = env
            .into_iter()
            .filter(|(k, _)| k.starts_with("LOGWARDEN__"))
            .collect();
        builder = builder.add_source(
            config::Environment::with_prefix("LOGWARDEN")
                .prefix_separator("__")
                .separator("__")
                .try_parsing(true)
                .source(Some(env)),
        );
        let raw = builder.build().map_err(|e| ConfigError::Read {
            path: path.map(|p| p.display().to_string()).unwrap_or_default(),
            message: e.to_string(),
        })?;
        let cfg: Config = serde_path_to_error::deserialize(raw).map_err(|e| {
            let key = e.path().to_string();
            let message = e.into_inner().to_string();
            ConfigError::Key { key, message }
        })?;
        cfg.validate()?;
        Ok(cfg)
    }

    /// Parse YAML text (no environment), then validate.
    pub fn from_yaml(text: &str) -> Result<Config, ConfigError> {
        let raw = config::Config::builder()
            .add_source(config::File::from_str(text, config::FileFormat::Yaml))
            .build()
            .map_err(|e| ConfigError::Read {
                path: "<string>".to_string(),
                message: e.to_string(),
            })?;
        let cfg: Config = serde_path_to_error::deserialize(raw).map_err(|e| {
            let key = e.path().to_string();
            let message = e.into_inner().to_string();
            ConfigError::Key { key, message }
        })?;
        cfg.validate()?;
        Ok(cfg)
    }

    /// Check every value, reporting all problems at once with their key paths.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let mut p = Problems::default();
        if self.tenant.0.trim().is_empty() {
            p.add("tenant", "must not be empty");
        }
        if let Some(c) = &self.cluster {
            c.validate("cluster", &mut p);
        }
        for (name, s) in &self.sources {
            if s.index.trim().is_empty() {
                p.add(format!("sources.{name}.index"), "must not be empty");
            }
            if let Some(q) = &s.query {
                if !q.is_object() {
                    p.add(
                        format!("sources.{name}.query"),
                        "must be a Query DSL object",
                    );
                }
            }
            if let Some(f) = &s.fields {
                f.validate(&format!("sources.{name}.fields"), &mut p);
            }
        }
        self.fields.validate("fields", &mut p);
        self.input.validate("input", &mut p);
        self.parse.validate("parse", &mut p);
        self.vectorize.validate("vectorize", &mut p);
        self.patterns.validate("patterns", &mut p);
        self.detect.validate("detect", &mut p);
        self.severity.validate("severity", &mut p);
        self.incidents.validate("incidents", &mut p);
        self.indices.validate("indices", &mut p);
        self.run.validate("run", &mut p);
        self.routes.validate("routes", &mut p);
        self.feedback.validate("feedback", &mut p);
        if p.0.is_empty() {
            Ok(())
        } else {
            Err(ConfigError::Invalid(p.0))
        }
    }

    /// The criticality of a service (default `normal`).
    pub fn criticality(&self, service: &str) -> Criticality {
        self.services
            .get(service)
            .map(|s| s.criticality)
            .unwrap_or_default()
    }

    /// What [`crate::notify`] reads.
    pub fn notify_settings(&self) -> crate::notify::NotifySettings {
        crate::notify::NotifySettings {
            routes: self.routes.clone(),
            tenant: self.tenant.0.clone(),
            gap_minutes: self.incidents.gap_minutes,
            service_field: self.fields.service.clone(),
            state_dir: self.run.state_dir.clone(),
        }
    }

    /// The sections a [`detect::Trainer`] reads.
    pub fn trainer_settings(&self) -> detect::TrainerSettings {
        detect::TrainerSettings {
            timezone: self.timezone.0,
            parse: self.parse.clone(),
            vectorize: self.vectorize.clone(),
            patterns: self.patterns.clone(),
            detect: self.detect.clone(),
        }
    }

    /// The sections a [`detect::Detector`] reads.
    pub fn detector_settings(&self) -> detect::DetectorSettings {
        detect::DetectorSettings {
            tenant: self.tenant.0.clone(),
            timezone: self.timezone.0,
            detect: self.detect.clone(),
            severity: self.severity.clone(),
            incidents: self.incidents.clone(),
            criticality: self
                .services
                .iter()
                .filter(|(_, s)| s.criticality != Criticality::Normal)
                .map(|(name, s)| (name.clone(), s.criticality))
                .collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn minimal_config_from_design_parses() {
        let cfg = Config::from_yaml(
            "cluster:\n  url: http://localhost:9200\nsources:\n  app_logs:\n    index: \"logs-*\"\n",
        )
        .unwrap();
        assert_eq!(cfg.sources["app_logs"].index, "logs-*");
        assert_eq!(cfg.fields.timestamp, "@timestamp");
        assert_eq!(cfg.tenant.0, "default");
    }

    #[test]
    fn sidecar_keys_are_named_in_errors() {
        let err = Config::from_yaml(
            "cluster:\n  url: http://es:9200\n  read:\n    parallel: 0\nsources:\n  app:\n    index: logs\n    query: 3\n",
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("cluster.read.parallel"), "{err}");
        assert!(err.contains("sources.app.query"), "{err}");
        let err = Config::from_yaml("run:\n  interval_secs: 0\n")
            .unwrap_err()
            .to_string();
        assert!(err.contains("run.interval_secs"), "{err}");
    }

    #[test]
    fn unknown_key_is_named() {
        let err = Config::from_yaml("detect:\n  no_such_key: 3\n").unwrap_err();
        let msg = err.to_string();
        assert!(msg.contains("detect"), "{msg}");
        assert!(msg.contains("no_such_key"), "{msg}");
    }

    #[test]
    fn bad_timezone_is_named() {
        let err = Config::from_yaml("timezone: Mars/Olympus\n").unwrap_err();
        assert!(err.to_string().contains("timezone"), "{err}");
    }

    #[test]
    fn env_overrides_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.yaml");
        std::fs::write(&path, "tenant: team-a\n").unwrap();
        let cfg = Config::load_with_env(
            Some(&path),
            [("LOGWARDEN__TENANT".to_string(), "team-b".to_string())],
        )
        .unwrap();
        assert_eq!(cfg.tenant.0, "team-b");
    }

    #[test]
    fn bad_cluster_url_is_named() {
        let err = Config::from_yaml("cluster:\n  url: localhost:9200\n").unwrap_err();
        assert!(err.to_string().contains("cluster.url"), "{err}");
    }
}
