//! The import rules of the crate, checked on its own source (README "Layout"):
//! - the top-level modules import each other without a circle, so each can be read, tested
//!   and changed from the leaves up;
//! - the pure core (templates, vectors, patterns, detection, incidents, and the types and
//!   validation they share) imports nothing outside the core and no async crate, so it runs
//!   the same in `parse`, `train`, `detect`, the demo and the sidecar.
//!
//! Only code counts: comments and `#[cfg(test)]` parts are left out, since a test may build
//! a whole configuration to check one section.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// The pure core.
const CORE: &[&str] = &[
    "model",
    "validate",
    "parse",
    "vectorize",
    "cluster",
    "detect",
    "incidents",
];

/// Crates of the async shell the core must not use.
const ASYNC_CRATES: &[&str] = &["tokio", "reqwest", "warp", "elasticsearch", "opensearch"];

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The code of a file: up to its first `#[cfg(test)]`, without comment lines. A file named
/// `tests.rs` is test code as a whole.
fn code(path: &Path) -> String {
    if path.file_name().is_some_and(|n| n == "tests.rs") {
        return String::new();
    }
    let text = std::fs::read_to_string(path).unwrap();
    let text = match text.find("#[cfg(test)]") {
        Some(i) => &text[..i],
        None => &text[..],
    };
    text.lines()
        .filter(|l| !l.trim_start().starts_with("//"))
        .collect::<Vec<_>>()
        .join("\n")
}

fn ident(s: &str) -> &str {
    let end = s
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .unwrap_or(s.len());
    &s[..end]
}

/// The top-level modules `code` names after `crate::`, in paths and in `use crate::{…}`.
fn crate_modules(code: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for (i, _) in code.match_indices("crate::") {
        let rest = &code[i + "crate::".len()..];
        if let Some(group) = rest.strip_prefix('{') {
            let mut depth = 1;
            let mut item_start = true;
            for (j, c) in group.char_indices() {
                match c {
                    '{' => depth += 1,
                    '}' => depth -= 1,
                    ',' if depth == 1 => item_start = true,
                    c if c.is_whitespace() => {}
                    _ if item_start && depth == 1 => {
                        out.insert(ident(&group[j..]).to_string());
                        item_start = false;
                    }
                    _ => {}
                }
                if depth == 0 {
                    break;
                }
            }
        } else {
            out.insert(ident(rest).to_string());
        }
    }
    out.retain(|m| !m.is_empty() && m != "self");
    out
}

/// Each top-level module of `src` with the other top-level modules its code imports.
fn module_graph() -> BTreeMap<String, BTreeSet<String>> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    let mut graph: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for f in files {
        let rel = f.strip_prefix(&src).unwrap();
        let first = rel
            .components()
            .next()
            .unwrap()
            .as_os_str()
            .to_string_lossy();
        let module = first.trim_end_matches(".rs").to_string();
        if module == "lib" || module == "main" {
            continue;
        }
        let imports = crate_modules(&code(&f));
        let entry = graph.entry(module.clone()).or_default();
        entry.extend(imports.into_iter().filter(|m| *m != module));
    }
    graph
}

/// A circle through `graph`, as the modules along it, if there is one.
fn find_cycle(graph: &BTreeMap<String, BTreeSet<String>>) -> Option<Vec<String>> {
    fn visit(
        m: &str,
        graph: &BTreeMap<String, BTreeSet<String>>,
        path: &mut Vec<String>,
        done: &mut BTreeSet<String>,
    ) -> Option<Vec<String>> {
        if let Some(at) = path.iter().position(|p| p == m) {
            let mut cycle = path[at..].to_vec();
            cycle.push(m.to_string());
            return Some(cycle);
        }
        if done.contains(m) {
            return None;
        }
        path.push(m.to_string());
        for next in graph.get(m).into_iter().flatten() {
            if let Some(c) = visit(next, graph, path, done) {
                return Some(c);
            }
        }
        path.pop();
        done.insert(m.to_string());
        None
    }
    let mut done = BTreeSet::new();
    graph
        .keys()
        .find_map(|m| visit(m, graph, &mut Vec::new(), &mut done))
}

#[test]
fn the_reader_sees_imports_in_paths_and_groups() {
    let code = "use crate::{detect::{Baseline, Trainer}, model::Severity,\n  parse};\nlet x = crate::validate::Problems::default();\nuse crate::{self as lw};";
    let found: Vec<String> = crate_modules(code).into_iter().collect();
    assert_eq!(found, ["detect", "model", "parse", "validate"]);
    let graph = BTreeMap::from([
        ("a".to_string(), BTreeSet::from(["b".to_string()])),
        ("b".to_string(), BTreeSet::from(["c".to_string()])),
        ("c".to_string(), BTreeSet::from(["a".to_string()])),
    ]);
    assert_eq!(find_cycle(&graph).unwrap(), ["a", "b", "c", "a"]);
}

#[test]
fn the_modules_import_each_other_without_a_circle() {
    let graph = module_graph();
    assert!(graph.len() >= 15, "{graph:?}");
    assert!(graph["config"].contains("detect"), "{graph:?}");
    if let Some(cycle) = find_cycle(&graph) {
        panic!("import circle: {}", cycle.join(" -> "));
    }
}

#[test]
fn the_pure_core_imports_only_the_core_and_no_async_crate() {
    let graph = module_graph();
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    for core in CORE {
        let outside: Vec<&String> = graph[*core]
            .iter()
            .filter(|m| !CORE.contains(&m.as_str()))
            .collect();
        assert!(outside.is_empty(), "{core} imports {outside:?}");
        let mut files = Vec::new();
        let dir = src.join(core);
        if dir.is_dir() {
            rust_files(&dir, &mut files);
        } else {
            files.push(src.join(format!("{core}.rs")));
        }
        for f in files {
            let code = code(&f);
            for krate in ASYNC_CRATES {
                assert!(
                    !code.contains(&format!("{krate}::")),
                    "{} uses {krate}",
                    f.display()
                );
            }
        }
    }
}
