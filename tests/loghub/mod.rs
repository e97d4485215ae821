//! Loghub-2k: reading the structured CSVs and counting grouping accuracy (GA).
//!
//! Shared by `tests/template_mining.rs` and `benches/template_mining.rs`.

#![allow(dead_code)]

use logwarden::model::TemplateId;
use logwarden::parse::{ParseConfig, TemplateMiner};
use std::collections::HashMap;
use std::path::PathBuf;

/// The sixteen datasets and Drain's published GA on each (Zhu et al., "Tools and Benchmarks for
/// Automated Log Parsing", ICSE-SEIP 2019, Table III).
pub const DATASETS: &[(&str, f64)] = &[
    ("Apache", 1.000),
    ("HDFS", 0.998),
    ("Hadoop", 0.948),
    ("Spark", 0.920),
    ("Zookeeper", 0.967),
    ("OpenStack", 0.733),
    ("Android", 0.911),
    ("HPC", 0.887),
    ("BGL", 0.963),
    ("HealthApp", 0.780),
    ("Linux", 0.690),
    ("Mac", 0.787),
    ("OpenSSH", 0.788),
    ("Proxifier", 0.527),
    ("Thunderbird", 0.955),
    ("Windows", 0.997),
];

/// The Loghub-2k folder: the repository's own copy, `tests/data/loghub-2k` (with Loghub's
/// licence and citation), unless `LOGHUB_DIR` names another.
pub fn dir() -> PathBuf {
    std::env::var_os("LOGHUB_DIR").map_or_else(
        || PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data/loghub-2k"),
        PathBuf::from,
    )
}

/// One CSV record (RFC 4180: quoted fields, `""` inside quotes, newlines inside quotes).
fn csv_records(text: &str) -> Vec<Vec<String>> {
    let mut rows = Vec::new();
    let mut row = Vec::new();
    let mut field = String::new();
    let mut quoted = false;
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if quoted {
            if c == '"' {
                if chars.peek() == Some(&'"') {
                    field.push('"');
                    chars.next();
                } else {
                    quoted = false;
                }
            } else {
                field.push(c);
            }
            continue;
        }
        match c {
            '"' => quoted = true,
            ',' => row.push(std::mem::take(&mut field)),
            '\r' => {}
            '\n' => {
                row.push(std::mem::take(&mut field));
                rows.push(std::mem::take(&mut row));
            }
            c => field.push(c),
        }
    }
    if !field.is_empty() || !row.is_empty() {
        row.push(field);
        rows.push(row);
    }
    rows
}

/// `(Content, EventId)` of every line of `X_2k.log_structured.csv`.
pub fn load(name: &str) -> Result<Vec<(String, String)>, String> {
    let path = dir().join(format!("{name}_2k.log_structured.csv"));
    let text = std::fs::read_to_string(&path).map_err(|e| {
        format!(
            "cannot read Loghub-2k file {} ({e}); set LOGHUB_DIR to the loghub-2k folder",
            path.display()
        )
    })?;
    let rows = csv_records(&text);
    let header = rows
        .first()
        .ok_or_else(|| format!("{} is empty", path.display()))?;
    let col = |n: &str| {
        header
            .iter()
            .position(|h| h == n)
            .ok_or_else(|| format!("{} has no `{n}` column", path.display()))
    };
    let (content, event) = (col("Content")?, col("EventId")?);
    rows[1..]
        .iter()
        .enumerate()
        .map(|(i, r)| match (r.get(content), r.get(event)) {
            (Some(c), Some(e)) => Ok((c.clone(), e.clone())),
            _ => Err(format!("{} row {} is short", path.display(), i + 2)),
        })
        .collect()
}

/// The predicted groups that are exactly a true group (each as its lines), and the number of
/// predicted and of true groups.
fn exact_groups<P: std::hash::Hash + Eq + Clone>(
    pred: &[P],
    truth: &[String],
) -> (Vec<Vec<usize>>, usize, usize) {
    let mut by_pred: HashMap<P, Vec<usize>> = HashMap::new();
    let mut by_true: HashMap<&str, Vec<usize>> = HashMap::new();
    for (i, (p, t)) in pred.iter().zip(truth).enumerate() {
        by_pred.entry(p.clone()).or_default().push(i);
        by_true.entry(t.as_str()).or_default().push(i);
    }
    let (np, nt) = (by_pred.len(), by_true.len());
    let exact = by_pred
        .into_values()
        .filter(|lines| by_true[truth[lines[0]].as_str()] == *lines)
        .collect();
    (exact, np, nt)
}

/// Grouping accuracy: the share of lines whose predicted group is exactly their true group.
pub fn grouping_accuracy<P: std::hash::Hash + Eq + Clone>(pred: &[P], truth: &[String]) -> f64 {
    let (exact, _, _) = exact_groups(pred, truth);
    let correct: usize = exact.iter().map(Vec::len).sum();
    correct as f64 / pred.len().max(1) as f64
}

/// F1 of grouping accuracy (FGA, Loghub-2.0: Jiang et al., "A Large-scale Evaluation for Log
/// Parsing Techniques: How Far are We?", ISSTA 2024): the harmonic mean of the share of
/// predicted groups that are exactly a true group and the share of true groups found exactly.
pub fn fga<P: std::hash::Hash + Eq + Clone>(pred: &[P], truth: &[String]) -> f64 {
    let (exact, np, nt) = exact_groups(pred, truth);
    let exact = exact.len() as f64;
    let (p, r) = (exact / np.max(1) as f64, exact / nt.max(1) as f64);
    if p + r == 0.0 {
        0.0
    } else {
        2.0 * p * r / (p + r)
    }
}

/// A template text in the form templates are compared in: single spaces, and a run of
/// variables (`<*> <*>`, `<*><*>`) as one `<*>`.
pub fn normalise_template(t: &str) -> String {
    let mut out = String::new();
    for tok in t.split_whitespace() {
        let mut tok = tok.to_string();
        while tok.contains("<*><*>") {
            tok = tok.replace("<*><*>", "<*>");
        }
        if tok == "<*>" && out.ends_with("<*>") {
            continue;
        }
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(&tok);
    }
    out
}

/// Parsing accuracy (PA, Dai et al., "Logram", TSE 2020): the share of lines whose template
/// text is exactly the ground truth's (both normalised).
pub fn parsing_accuracy(pred: &[&str], truth: &[&str]) -> f64 {
    let ok = pred
        .iter()
        .zip(truth)
        .filter(|(p, t)| normalise_template(p) == normalise_template(t))
        .count();
    ok as f64 / pred.len().max(1) as f64
}

/// Mine the lines with the default configuration: each line's final template and the miner.
pub fn mine_ids(lines: &[(String, String)]) -> (Vec<TemplateId>, TemplateMiner) {
    let mut m = TemplateMiner::new(ParseConfig::default());
    let ids: Vec<TemplateId> = lines.iter().map(|(c, _)| m.add(c).template_id).collect();
    let ids = ids.into_iter().map(|id| m.resolve(id)).collect();
    (ids, m)
}

/// Mine the lines with the default configuration and return the GA and the miner.
pub fn mine(lines: &[(String, String)]) -> (f64, TemplateMiner) {
    let (ids, m) = mine_ids(lines);
    let truth: Vec<String> = lines.iter().map(|(_, e)| e.clone()).collect();
    (grouping_accuracy(&ids, &truth), m)
}

/// The ground-truth template text of each event id of `X_2k.log_templates.csv`.
pub fn event_templates(name: &str) -> Result<HashMap<String, String>, String> {
    let path = dir().join(format!("{name}_2k.log_templates.csv"));
    let text = std::fs::read_to_string(&path)
        .map_err(|e| format!("cannot read Loghub-2k file {} ({e})", path.display()))?;
    Ok(csv_records(&text)
        .into_iter()
        .skip(1)
        .filter_map(|r| Some((r.first()?.clone(), r.get(1)?.clone())))
        .collect())
}
