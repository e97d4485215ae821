//! The indices logwarden writes (`indices`): their names and how long they are kept.

use crate::validate::Problems;
use serde::{Deserialize, Serialize};

/// The indices logwarden writes. Their names must not match the built-in `logs-*-*` data
/// stream templates, so they keep the `logwarden-` prefix by default.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct IndicesConfig {
    /// Anomaly documents (the contract the dashboards read).
    pub anomalies: String,
    /// One document per incident (anomalies grouped across services and time).
    pub incidents: String,
    /// Per-minute counts of each (service, template), observed and expected.
    pub patterns: String,
    /// The sidecar's checkpoints, one document per source.
    pub state: String,
    /// How long documents are kept before the ILM (Elasticsearch) or ISM (OpenSearch) policy
    /// deletes them.
    pub retention: RetentionConfig,
}

impl Default for IndicesConfig {
    fn default() -> Self {
        IndicesConfig {
            anomalies: "logwarden-anomalies".to_string(),
            incidents: "logwarden-incidents".to_string(),
            patterns: "logwarden-patterns".to_string(),
            state: "logwarden-state".to_string(),
            retention: RetentionConfig::default(),
        }
    }
}

impl IndicesConfig {
    /// Report problems under `path`.
    pub fn validate(&self, path: &str, p: &mut Problems) {
        for (key, name) in [
            ("anomalies", &self.anomalies),
            ("incidents", &self.incidents),
            ("patterns", &self.patterns),
            ("state", &self.state),
        ] {
            if let Some(m) = index_name_problem(name) {
                p.add(format!("{path}.{key}"), m);
            }
        }
        let names = [
            &self.anomalies,
            &self.incidents,
            &self.patterns,
            &self.state,
        ];
        for (i, a) in names.iter().enumerate() {
            if names[i + 1..].contains(a) {
                p.add(path, format!("index name `{a}` is used twice"));
            }
        }
        self.retention.validate(&format!("{path}.retention"), p);
    }
}

/// Why `name` cannot be an index name, if it cannot.
fn index_name_problem(name: &str) -> Option<String> {
    if name.is_empty() {
        return Some("must not be empty".to_string());
    }
    if name != name.to_lowercase() {
        return Some(format!("`{name}` must be lowercase"));
    }
    if name.starts_with(['-', '_', '+']) || name == "." || name == ".." {
        return Some(format!("`{name}` must not start with -, _ or +"));
    }
    if let Some(c) = name.chars().find(|c| "\\/*?\"<>| ,#:".contains(*c)) {
        return Some(format!("`{name}` must not contain `{c}`"));
    }
    if name.len() > 200 {
        return Some("is longer than 200 bytes".to_string());
    }
    None
}

/// Days documents are kept (by rollover-free delete policies on index age).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RetentionConfig {
    /// Anomaly documents.
    pub anomalies_days: u32,
    /// Incident documents.
    pub incidents_days: u32,
    /// Pattern-rate documents.
    pub patterns_days: u32,
}

impl Default for RetentionConfig {
    fn default() -> Self {
        RetentionConfig {
            anomalies_days: 90,
            incidents_days: 90,
            patterns_days: 30,
        }
    }
}

impl RetentionConfig {
    /// Report problems under `path`.
    pub fn validate(&self, path: &str, p: &mut Problems) {
        p.range(
            format!("{path}.anomalies_days"),
            self.anomalies_days,
            1,
            3650,
        );
        p.range(
            format!("{path}.incidents_days"),
            self.incidents_days,
            1,
            3650,
        );
        p.range(format!("{path}.patterns_days"), self.patterns_days, 1, 3650);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn index_names_are_checked_by_key() {
        let mut c = IndicesConfig {
            patterns: "Logwarden-Patterns".to_string(),
            state: "logwarden-anomalies".to_string(),
            ..IndicesConfig::default()
        };
        c.incidents = "a*b".to_string();
        let mut p = Problems::default();
        c.validate("indices", &mut p);
        let all = p.0.join("\n");
        assert!(all.contains("indices.patterns"), "{all}");
        assert!(all.contains("indices.incidents"), "{all}");
        assert!(all.contains("`logwarden-anomalies` is used twice"), "{all}");
    }
}
