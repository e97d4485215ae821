//! Template mining benchmark: grouping accuracy per Loghub-2k dataset and lines per second.
//!
//! `cargo bench --bench template_mining` (Loghub folder: `LOGHUB_DIR`, default
//! `../shared/data/loghub-2k`). Throughput is one core, the default configuration: a fresh
//! miner over the 16k lines, then one miner over the 16k lines repeated 50 times.

#[path = "../tests/loghub/mod.rs"]
mod loghub;

use logwarden::parse::{ParseConfig, TemplateMiner};
use std::hint::black_box;
use std::time::Instant;

fn rate(lines: &[&str], rounds: usize) -> (f64, usize) {
    let mut m = TemplateMiner::new(ParseConfig::default());
    let start = Instant::now();
    let mut params = 0usize;
    for _ in 0..rounds {
        for l in lines {
            params += black_box(m.add(l)).params.len();
        }
    }
    let secs = start.elapsed().as_secs_f64();
    black_box(params);
    ((lines.len() * rounds) as f64 / secs, m.templates().len())
}

fn main() {
    println!(
        "{:<10} {:>6} {:>6} {:>9}",
        "dataset", "GA", "Drain", "templates"
    );
    let mut sum = 0.0;
    let mut all = Vec::new();
    for (name, drain) in loghub::DATASETS {
        let lines = loghub::load(name).unwrap_or_else(|e| panic!("{e}"));
        let (ga, m) = loghub::mine(&lines);
        sum += ga;
        let mark = if ga >= *drain { "" } else { "  < Drain" };
        println!(
            "{name:<10} {ga:>6.3} {drain:>6.3} {:>9}{mark}",
            m.templates().len()
        );
        all.extend(lines.into_iter().map(|(c, _)| c));
    }
    println!(
        "{:<10} {:>6.3}",
        "average",
        sum / loghub::DATASETS.len() as f64
    );
    let refs: Vec<&str> = all.iter().map(String::as_str).collect();
    let bytes: usize = refs.iter().map(|l| l.len()).sum();
    println!();
    println!("{:<28} {:>12} {:>9}", "stream", "lines/s", "templates");
    let (r, n) = rate(&refs, 1);
    println!(
        "{:<28} {r:>12.0} {n:>9}",
        format!("16k lines ({bytes} B), cold")
    );
    let (r, n) = rate(&refs, 50);
    println!("{:<28} {r:>12.0} {n:>9}", "16k lines x 50, warm");
}
