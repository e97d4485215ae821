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
///
/// PLACEHOLDER (to be replaced by the real miner): tokens containing a digit become `<*>`,
/// and each distinct masked token sequence is a template.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct TemplateMiner {
    templates: std::collections::BTreeMap<TemplateId, (String, u64)>,
}

fn mask(message: &str) -> (String, Vec<Param>) {
    let mut out = Vec::new();
    let mut params = Vec::new();
    let mut slot = 0;
    for tok in message.split_whitespace() {
        if tok.bytes().any(|b| b.is_ascii_digit()) {
            if let Ok(v) = tok.trim_end_matches("ms").parse::<f64>() {
                params.push(Param { slot, value: v });
            }
            slot += 1;
            out.push("<*>");
        } else {
            out.push(tok);
        }
    }
    (out.join(" "), params)
}

impl TemplateMiner {
    /// A new, empty miner.
    pub fn new(_cfg: ParseConfig) -> Self {
        TemplateMiner::default()
    }

    /// Learn from one message and return its template and parameters.
    pub fn add(&mut self, message: &str) -> Parsed {
        let (t, params) = mask(message);
        let id = TemplateId::of(&t);
        self.templates.entry(id).or_insert((t, 0)).1 += 1;
        Parsed {
            template_id: id,
            params,
        }
    }

    /// Match a message without learning; `None` when no template fits.
    pub fn match_message(&self, message: &str) -> Option<Parsed> {
        let (t, params) = mask(message);
        let id = TemplateId::of(&t);
        self.templates.contains_key(&id).then_some(Parsed {
            template_id: id,
            params,
        })
    }

    /// The current id of a template id that may have been generalised since.
    pub fn resolve(&self, id: TemplateId) -> TemplateId {
        id
    }

    /// The text of a template (`<*>` for variables), by current or old id.
    pub fn template(&self, id: TemplateId) -> Option<&str> {
        self.templates.get(&id).map(|(t, _)| t.as_str())
    }

    /// A readable name for a variable slot (e.g. from the token before it).
    pub fn slot_name(&self, id: TemplateId, slot: usize) -> String {
        let _ = id;
        format!("slot{slot}")
    }

    /// All current templates with the number of messages each matched.
    pub fn templates(&self) -> Vec<(TemplateId, &str, u64)> {
        self.templates
            .iter()
            .map(|(id, (t, n))| (*id, t.as_str(), *n))
            .collect()
    }
}
