//! Patterns: HDBSCAN over template vectors, outlier scores, and assignment of new templates.
//!
//! Owns: [`PatternsConfig`] and the [`PatternModel`]. Templates HDBSCAN leaves as noise, and
//! new templates that fit no pattern, are novelty candidates ranked by an outlier score. Pure.

use crate::config::Problems;
use crate::model::{PatternId, TemplateId};
use crate::vectorize::VectorizeConfig;
use serde::{Deserialize, Serialize};

/// HDBSCAN settings.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PatternsConfig {}

impl PatternsConfig {
    /// Report problems under `path`.
    pub fn validate(&self, _path: &str, _p: &mut Problems) {}
}

/// Where a template falls among the learned patterns.
#[derive(Debug, Clone, PartialEq)]
pub struct Assignment {
    /// The pattern it joins, or `None` when it fits none (a novelty candidate).
    pub pattern: Option<PatternId>,
    /// 0 (typical member) to 1 (far from everything).
    pub outlier_score: f64,
    /// The most similar known template, if any.
    pub nearest: Option<TemplateId>,
    /// Cosine similarity to the nearest known template, 0-1.
    pub similarity: f64,
}

/// Patterns learned from templates.
///
/// PLACEHOLDER (to be replaced): no clustering yet; every template is its own outlier.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct PatternModel {}

impl PatternModel {
    /// Fit patterns over templates given as (id, text, count).
    pub fn fit(
        _templates: &[(TemplateId, &str, u64)],
        _vectorize: &VectorizeConfig,
        _patterns: &PatternsConfig,
    ) -> PatternModel {
        PatternModel::default()
    }

    /// The pattern of a template seen at fit time (`None` for noise or unknown).
    pub fn pattern_of(&self, _id: TemplateId) -> Option<PatternId> {
        None
    }

    /// The outlier score of a template seen at fit time (0 typical, 1 far from everything).
    pub fn outlier_score(&self, _id: TemplateId) -> f64 {
        1.0
    }

    /// Place a new template text among the learned patterns.
    pub fn assign(&self, _template: &str) -> Assignment {
        Assignment {
            pattern: None,
            outlier_score: 1.0,
            nearest: None,
            similarity: 0.0,
        }
    }

    /// Number of patterns found.
    pub fn len(&self) -> usize {
        0
    }

    /// Whether no patterns were found.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}
