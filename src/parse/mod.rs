//! Templates: mask the variables in a message and mine templates online.
//!
//! Owns: [`ParseConfig`], the masking rules, and [`TemplateMiner`], an online miner whose
//! template ids are stable (derived from the template text) and which maps an old id to its
//! new one when a template generalises. Numeric values in variable slots are returned as
//! parameters, since they carry drift.
//!
//! Sits between `source` (which yields messages) and `vectorize`/`detect` (which work per
//! template). Pure: no I/O, no clock.

use crate::config::Problems;
use crate::model::TemplateId;
use serde::{Deserialize, Serialize};

/// Template mining settings. One default for all log sources.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ParseConfig {}

impl ParseConfig {
    /// Report problems under `path`.
    pub fn validate(&self, _path: &str, _p: &mut Problems) {}
}

/// A numeric value found in a template's variable slot.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Param {
    /// Index of the variable slot (0-based, in template order).
    pub slot: usize,
    /// The value.
    pub value: f64,
}

/// The result of parsing one message.
#[derive(Debug, Clone, PartialEq)]
pub struct Parsed {
    /// The template the message belongs to (current id).
    pub template_id: TemplateId,
    /// Numeric values in the variable slots.
    pub params: Vec<Param>,
}

/// Online template miner.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TemplateMiner {}

impl TemplateMiner {
    /// A new, empty miner.
    pub fn new(_cfg: ParseConfig) -> Self {
        todo!()
    }

    /// Learn from one message and return its template and parameters.
    pub fn add(&mut self, _message: &str) -> Parsed {
        todo!()
    }

    /// Match a message without learning; `None` when no template fits.
    pub fn match_message(&self, _message: &str) -> Option<Parsed> {
        todo!()
    }

    /// The current id of a template id that may have been generalised since.
    pub fn resolve(&self, _id: TemplateId) -> TemplateId {
        todo!()
    }

    /// The text of a template (`<*>` for variables), by current or old id.
    pub fn template(&self, _id: TemplateId) -> Option<&str> {
        todo!()
    }

    /// A readable name for a variable slot (e.g. from the token before it).
    pub fn slot_name(&self, _id: TemplateId, _slot: usize) -> String {
        todo!()
    }

    /// All current templates with the number of messages each matched.
    pub fn templates(&self) -> Vec<(TemplateId, &str, u64)> {
        todo!()
    }
}
