//! Vectors: tokenize templates with a tantivy analyzer and weight tokens with TF-IDF.
//!
//! Owns: [`VectorizeConfig`], the tantivy text-analyzer pipeline (tokenizer, lowercaser,
//! length filter, optional stemmer), sublinear-tf TF-IDF with L2-normalised rows, and a
//! dimension reduction that keeps HDBSCAN fast. Pure: no I/O.

use crate::config::Problems;
use serde::{Deserialize, Serialize};

/// Tokenizing and weighting settings.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct VectorizeConfig {}

impl VectorizeConfig {
    /// Report problems under `path`.
    pub fn validate(&self, _path: &str, _p: &mut Problems) {}
}
