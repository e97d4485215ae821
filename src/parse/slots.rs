//! Readable names for the variable slots of a template, from the words around each `<*>`.
//!
//! `latency=<*>` and `latency: <*>` name the slot `latency`; `took <*> ms` names it `took_ms`;
//! a slot with no word before it and no unit after it is `slot{n}`. Names are lowercase
//! `[a-z0-9_]`, and unique within a template (a repeated name gets `_{n}` appended).

use super::mask::VAR;

/// Words after a number that say what it measures.
const UNIT_WORDS: &[&str] = &[
    "ns", "us", "ms", "s", "sec", "secs", "seconds", "second", "min", "mins", "minutes", "h",
    "hours", "b", "kb", "mb", "gb", "tb", "kib", "mib", "gib", "bytes", "byte", "%", "percent",
    "times", "items", "records", "rows", "lines", "files", "blocks", "tasks", "retries",
    "attempts", "requests", "msgs", "messages", "entries",
];

/// The last word (letters, digits, `_`, `-`, `.`) of `s` that starts with a letter, normalised.
fn last_word(s: &str) -> Option<String> {
    let end = s
        .char_indices()
        .rev()
        .find(|&(_, c)| c.is_alphanumeric())
        .map(|(i, c)| i + c.len_utf8())?;
    let s = &s[..end];
    let start = s
        .char_indices()
        .rev()
        .find(|&(_, c)| !(c.is_alphanumeric() || c == '_' || c == '-' || c == '.'))
        .map_or(0, |(i, c)| i + c.len_utf8());
    let w = &s[start..];
    let w = w.rsplit('.').next().unwrap_or(w);
    if !w.chars().next().is_some_and(char::is_alphabetic) || w.contains(VAR) {
        return None;
    }
    Some(normalise(w))
}

fn normalise(w: &str) -> String {
    let mut out = String::with_capacity(w.len());
    for c in w.chars().flat_map(char::to_lowercase) {
        if c.is_ascii_alphanumeric() {
            out.push(c);
        } else if !out.ends_with('_') && !out.is_empty() {
            out.push('_');
        }
    }
    while out.ends_with('_') {
        out.pop();
    }
    out
}

/// The unit a token names, if it is one of [`UNIT_WORDS`] (punctuation around it ignored).
fn unit(tok: &str) -> Option<String> {
    let t = tok.trim_matches(|c: char| !(c.is_alphanumeric() || c == '%'));
    UNIT_WORDS
        .iter()
        .any(|u| t.eq_ignore_ascii_case(u))
        .then(|| {
            if t == "%" {
                "pct".to_string()
            } else {
                t.to_ascii_lowercase()
            }
        })
}

/// A name for every `<*>` of `template`, in order.
pub fn slot_names(template: &str) -> Vec<String> {
    let toks: Vec<&str> = template.split(' ').collect();
    let mut names: Vec<String> = Vec::new();
    for (i, tok) in toks.iter().enumerate() {
        let mut rest = *tok;
        let mut first = true;
        while let Some(pos) = rest.find(VAR) {
            let inner = &rest[..pos];
            // A key inside the token (`size=<*>`), else the previous token (`size <*>`).
            let mut name = last_word(inner).or_else(|| {
                let prev_free = first && inner.chars().all(|c| !c.is_alphanumeric());
                let prev = if prev_free && i > 0 {
                    Some(toks[i - 1])
                } else {
                    None
                };
                prev.and_then(last_word)
            });
            let after = &rest[pos + VAR.len()..];
            let is_last = !after.contains(VAR);
            let u = if is_last && after.chars().all(|c| !c.is_alphanumeric()) {
                toks.get(i + 1).and_then(|t| unit(t))
            } else {
                unit(after)
            };
            if let Some(u) = u {
                name = Some(match name {
                    Some(n) if n != u => format!("{n}_{u}"),
                    Some(n) => n,
                    None => u,
                });
            }
            names.push(name.unwrap_or_else(|| format!("slot{}", names.len())));
            rest = after;
            first = false;
        }
    }
    let dup: Vec<bool> = (0..names.len())
        .map(|i| names.iter().filter(|n| **n == names[i]).count() > 1)
        .collect();
    for (i, d) in dup.into_iter().enumerate() {
        if d {
            names[i] = format!("{}_{i}", names[i]);
        }
    }
    names
}
