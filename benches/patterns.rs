//! Patterns benchmark: fit times per stage for 2,000, 10,000 and 50,000 distinct templates,
//! and the cost of assigning new templates.
//!
//! Run with `cargo bench --bench patterns` (optionally followed by sizes, e.g.
//! `cargo bench --bench patterns -- 10000`). The templates are built from realistic message
//! shapes (request logs, job runs, connection errors, audit events…) filled from service,
//! object, action and error vocabularies, with masked variables as `<*>`; a fixed seed makes
//! every run use the same templates. `LW_DISTANCES=projected` clusters the projected vectors
//! instead of the exact TF-IDF distances. CPU time is printed beside wall time because the
//! machines this runs on are often shared.

use logwarden::cluster::{Distances, PatternModel, PatternsConfig};
use logwarden::model::TemplateId;
use logwarden::vectorize::VectorizeConfig;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use std::collections::BTreeSet;
use std::time::Instant;

const SERVICES: &[&str] = &[
    "auth",
    "billing",
    "checkout",
    "inventory",
    "search",
    "gateway",
    "payments",
    "notifications",
    "scheduler",
    "reporting",
    "catalog",
    "shipping",
    "recommendations",
    "profile",
    "media",
    "ledger",
    "fraud",
    "pricing",
    "session",
    "audit",
];
const OBJECTS: &[&str] = &[
    "order",
    "invoice",
    "session",
    "user",
    "cart",
    "shipment",
    "token",
    "report",
    "job",
    "file",
    "payment",
    "refund",
    "coupon",
    "account",
    "subscription",
    "webhook",
    "export",
    "thumbnail",
    "index",
    "snapshot",
    "message",
    "batch",
    "lease",
    "certificate",
    "quota",
];
const ACTIONS: &[(&str, &str, &str)] = &[
    ("create", "created", "creating"),
    ("update", "updated", "updating"),
    ("delete", "deleted", "deleting"),
    ("load", "loaded", "loading"),
    ("validate", "validated", "validating"),
    ("queue", "queued", "queueing"),
    ("sync", "synced", "syncing"),
    ("publish", "published", "publishing"),
    ("archive", "archived", "archiving"),
    ("refresh", "refreshed", "refreshing"),
    ("lock", "locked", "locking"),
    ("serialize", "serialized", "serializing"),
    ("compress", "compressed", "compressing"),
    ("encrypt", "encrypted", "encrypting"),
    ("render", "rendered", "rendering"),
    ("import", "imported", "importing"),
];
const ERRORS: &[&str] = &[
    "connection refused",
    "connection reset by peer",
    "read timeout",
    "permission denied",
    "not found",
    "rate limited",
    "deadlock detected",
    "checksum mismatch",
    "schema validation failed",
    "upstream unavailable",
    "certificate expired",
    "quota exceeded",
    "disk full",
    "out of memory",
    "invalid argument",
];
const STORES: &[&str] = &[
    "postgres",
    "redis",
    "kafka",
    "elasticsearch",
    "s3",
    "mysql",
    "rabbitmq",
    "cassandra",
];
const METHODS: &[&str] = &["GET", "POST", "PUT", "DELETE", "PATCH"];

fn pick<'a, T>(rng: &mut StdRng, xs: &'a [T]) -> &'a T {
    &xs[rng.random_range(0..xs.len())]
}

/// One template from one of the shapes.
fn template(rng: &mut StdRng) -> String {
    let svc = pick(rng, SERVICES);
    let obj = pick(rng, OBJECTS);
    let (act, acted, acting) = *pick(rng, ACTIONS);
    let err = pick(rng, ERRORS);
    let store = pick(rng, STORES);
    match rng.random_range(0..16) {
        0 => format!("{svc}: {obj} <*> {acted} in <*> ms"),
        1 => format!("Failed to {act} {obj} <*>: {err}"),
        2 => format!("[{svc}] {err} while {acting} {obj} <*>"),
        3 => format!(
            "{} /api/v<*>/{obj}s/<*> returned <*> in <*> ms",
            pick(rng, METHODS)
        ),
        4 => format!("{svc} worker <*> {acted} {obj} batch of <*> items"),
        5 => format!("Retrying {acting} {obj} <*> on {store} (attempt <*> of <*>): {err}"),
        6 => format!("{store} query for {obj} took <*> ms, rows <*>"),
        7 => format!("User <*> {acted} {obj} <*> via {svc}"),
        8 => format!("Scheduled job {svc}-{obj}-{act} finished with status <*> after <*> s"),
        9 => format!("Cache miss for {obj} <*> in {svc}, loading from {store}"),
        10 => format!("{svc} circuit breaker to {store} opened after <*> failures: {err}"),
        11 => format!("Audit: {obj} <*> {acted} by <*> from <*>"),
        12 => format!("{svc} health check of {store} {err}"),
        13 => format!("Consumer {svc}-{obj} lag <*> messages on topic {obj}-{acted}"),
        14 => format!("Slow {acting} of {obj} <*> in {svc}: <*> ms over budget"),
        _ => format!("{svc} could not {act} {obj} <*> because {err}, giving up"),
    }
}

/// `n` distinct templates with long-tailed counts.
fn templates(n: usize, seed: u64) -> Vec<(String, u64)> {
    let mut rng = StdRng::seed_from_u64(seed);
    let mut seen = BTreeSet::new();
    let mut out = Vec::with_capacity(n);
    let mut tries = 0usize;
    while out.len() < n && tries < n * 200 {
        tries += 1;
        let t = template(&mut rng);
        if seen.insert(t.clone()) {
            // Zipf-like: a few templates carry most lines.
            let count = (1_000_000.0 / (1.0 + out.len() as f64).powf(1.1)).max(1.0) as u64;
            out.push((t, count));
        }
    }
    out
}

/// CPU time of this thread in ms (Linux), which the other processes on a busy machine do not
/// inflate the way they inflate wall time.
fn cpu_ms() -> Option<f64> {
    let s = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    let ns: f64 = s.split_whitespace().next()?.parse().ok()?;
    Some(ns / 1e6)
}

fn main() {
    let sizes: Vec<usize> = std::env::args()
        .skip(1)
        .filter_map(|a| a.parse().ok())
        .collect();
    let sizes = if sizes.is_empty() {
        vec![2_000, 10_000, 50_000]
    } else {
        sizes
    };
    let vcfg = VectorizeConfig::default();
    let pcfg = PatternsConfig {
        distances: match std::env::var("LW_DISTANCES").as_deref() {
            Ok("projected") => Distances::Projected,
            _ => Distances::Exact,
        },
        ..PatternsConfig::default()
    };
    println!(
        "patterns bench: distances {:?} (LW_DISTANCES=projected to change), dims {}, sample_size {}, \
         min_cluster_size {}, min_samples {}",
        pcfg.distances, vcfg.dims, pcfg.sample_size, pcfg.min_cluster_size, pcfg.min_samples
    );
    for n in sizes {
        let owned = templates(n, 42);
        let input: Vec<(TemplateId, &str, u64)> = owned
            .iter()
            .map(|(t, c)| (TemplateId::of(t), t.as_str(), *c))
            .collect();
        let cpu0 = cpu_ms();
        let (model, stats) = PatternModel::fit_with_stats(&input, &vcfg, &pcfg);
        let cpu = cpu_ms().zip(cpu0).map_or(f64::NAN, |(b, a)| b - a);
        println!(
            "n={:>6} distinct={:>6} vocab={:>4} sampled={:>5} patterns={:>4} noise={:>6} | \
             vectorize {:>7.1} ms  hdbscan {:>7.1} ms  assign+score {:>7.1} ms  total {:>7.1} ms \
             (cpu {:>7.1} ms)",
            n,
            stats.templates,
            stats.vocabulary,
            stats.sampled,
            stats.patterns,
            stats.noise,
            stats.vectorize.as_secs_f64() * 1e3,
            stats.hdbscan.as_secs_f64() * 1e3,
            stats.assign.as_secs_f64() * 1e3,
            stats.total.as_secs_f64() * 1e3,
            cpu,
        );
        // New templates: fresh shapes from another seed, half of them unseen.
        let fresh = templates(1_000, 7);
        let start = Instant::now();
        let mut joined = 0usize;
        for (t, _) in &fresh {
            if model.assign(t).pattern.is_some() {
                joined += 1;
            }
        }
        let per = start.elapsed().as_secs_f64() * 1e6 / fresh.len() as f64;
        let start = Instant::now();
        let json = serde_json::to_string(&model).unwrap_or_default();
        let ser = start.elapsed();
        let start = Instant::now();
        let back: Option<PatternModel> = serde_json::from_str(&json).ok();
        let first = back.map(|m| m.assign(&fresh[0].0));
        let de = start.elapsed();
        println!(
            "          assign {per:>7.1} us/template ({joined}/{} joined a pattern) | model \
             {:.1} KiB json, save {:.1} ms, load+first assign {:.1} ms ({})",
            fresh.len(),
            json.len() as f64 / 1024.0,
            ser.as_secs_f64() * 1e3,
            de.as_secs_f64() * 1e3,
            if first.is_some() { "ok" } else { "failed" },
        );
    }
}
