//! Templates: mask the variables in a message and mine templates online.
//!
//! Owns: [`ParseConfig`], the masking rules ([`mask`]), and [`TemplateMiner`], an online
//! miner whose template ids are stable (derived from the template text) and which maps an old
//! id to its new one when a template generalises. Numeric values in variable slots are
//! returned as parameters, since they carry drift; [`TemplateMiner::slot_name`] names them.
//!
//! Sits between `source` (which yields messages) and `vectorize`/`detect` (which work per
//! template). Pure: no I/O, no clock.

pub mod mask;
mod miner;
mod slots;

pub(crate) use miner::FxMap;
pub use miner::{TemplateMiner, Tokenizer, Tokens, Vocabulary};

use crate::model::TemplateId;
use crate::validate::Problems;
use serde::{Deserialize, Serialize};

/// Fewest messages a thread of [`split_all`] takes: below that, starting a thread costs more
/// than it saves.
const SPLIT_PER_THREAD: usize = 256;

/// Split `messages` with `tokenizer` on up to `threads` threads (the calling one among them),
/// in order: the tokens of `messages[i]` are at `i`. Splitting learns nothing, so the tokens
/// can then be learnt or matched in order on one thread, as the split would have been there.
pub fn split_all(tokenizer: &Tokenizer, messages: &[&str], threads: usize) -> Vec<Tokens> {
    let mut out: Vec<Tokens> = std::iter::repeat_with(Tokens::default)
        .take(messages.len())
        .collect();
    let per = messages
        .len()
        .div_ceil(threads.max(1))
        .max(SPLIT_PER_THREAD);
    let split = |m: &[&str], t: &mut [Tokens]| {
        for (message, tokens) in m.iter().zip(t) {
            tokenizer.split(message, tokens);
        }
    };
    std::thread::scope(|s| {
        let mut chunks = messages.chunks(per).zip(out.chunks_mut(per));
        let first = chunks.next();
        for (m, t) in chunks {
            s.spawn(move || split(m, t));
        }
        if let Some((m, t)) = first {
            split(m, t);
        }
    });
    out
}

/// Template mining settings. One default for all log sources.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ParseConfig {
    /// Share (0 to 1) of the positions that are not a variable in both a template and a
    /// message which must hold the same token for the message to join the template; the
    /// positions that differ then become `<*>`.
    pub similarity: f64,
    /// Number of leading tokens the template tree routes on (after the token count).
    pub depth: usize,
    /// Most children a tree node keeps per token; further tokens share the wildcard branch.
    pub max_children: usize,
    /// Tokens of a message past this many are ignored.
    pub max_tokens: usize,
    /// Bytes of a message past this many are ignored.
    pub max_message_bytes: usize,
    /// Most templates learnt; past this many a message that fits no template joins the
    /// catch-all template of its token count (`<*> <*> …`) instead of making a new one, so a
    /// hostile or chatty source cannot grow the model without bound.
    pub max_templates: usize,
}

fn default_similarity() -> f64 {
    0.7
}
fn default_depth() -> usize {
    2
}
fn default_max_children() -> usize {
    100
}
fn default_max_tokens() -> usize {
    512
}
fn default_max_message_bytes() -> usize {
    64 * 1024
}
fn default_max_templates() -> usize {
    20_000
}

impl Default for ParseConfig {
    fn default() -> Self {
        ParseConfig {
            similarity: default_similarity(),
            depth: default_depth(),
            max_children: default_max_children(),
            max_tokens: default_max_tokens(),
            max_message_bytes: default_max_message_bytes(),
            max_templates: default_max_templates(),
        }
    }
}

impl ParseConfig {
    /// Report problems under `path`.
    pub fn validate(&self, path: &str, p: &mut Problems) {
        p.range(format!("{path}.similarity"), self.similarity, 0.0, 1.0);
        p.range(format!("{path}.depth"), self.depth, 0, 16);
        p.range(
            format!("{path}.max_children"),
            self.max_children,
            1,
            1 << 20,
        );
        p.range(format!("{path}.max_tokens"), self.max_tokens, 1, 1 << 16);
        p.range(
            format!("{path}.max_message_bytes"),
            self.max_message_bytes,
            1,
            1 << 26,
        );
        p.range(
            format!("{path}.max_templates"),
            self.max_templates,
            10,
            10_000_000,
        );
    }
}

/// What to say when `miner` sent messages to catch-all templates because
/// `parse.max_templates` was reached; `None` when it did not.
pub fn overflow_warning(miner: &TemplateMiner) -> Option<String> {
    let n = miner.overflowed();
    (n > 0).then(|| {
        format!(
            "{n} lines fitted no template after `parse.max_templates` ({}) was reached and went to catch-all templates (`<*> <*> …`); raise `parse.max_templates` if this source really has that many kinds of lines",
            miner.config().max_templates
        )
    })
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

#[cfg(test)]
mod tests;
