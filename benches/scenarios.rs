//! The platform scenario over several seeds: generate, train, detect, and print what reached
//! a person, per seed and as one grid, so the figures in the README can be reproduced.
//!
//! Run: `cargo bench --bench scenarios -- --seeds 1-5` (also `--seeds 1,4,9`,
//! `--train-days 21`, `--test-days 2`, `--rate 1.0`, `--quiet` for the grid only). Data goes
//! to a temporary directory that is removed after each seed.

use logwarden::scenario::{self, run, PlatformSettings};

fn parse_seeds(spec: &str) -> Vec<u64> {
    let mut seeds = Vec::new();
    for part in spec.split(',') {
        match part.split_once('-') {
            Some((a, b)) => {
                let (a, b): (u64, u64) = (a.trim().parse().unwrap(), b.trim().parse().unwrap());
                seeds.extend(a..=b);
            }
            None => seeds.push(part.trim().parse().unwrap()),
        }
    }
    seeds
}

fn main() {
    let mut seeds = vec![1, 2, 3];
    let mut settings = PlatformSettings::default();
    let mut quiet = false;
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut i = 0;
    while i < args.len() {
        let value = || args.get(i + 1).cloned().unwrap_or_default();
        match args[i].as_str() {
            "--seeds" => seeds = parse_seeds(&value()),
            "--train-days" => settings.train_days = value().parse().unwrap(),
            "--test-days" => settings.test_days = value().parse().unwrap(),
            "--rate" => settings.rate = value().parse().unwrap(),
            "--quiet" => {
                quiet = true;
                i += 1;
                continue;
            }
            _ => {
                // cargo's own flags (`--bench`)
                i += 1;
                continue;
            }
        }
        i += 2;
    }
    let config = scenario::platform_config().unwrap();
    settings.tz = config.timezone.0;
    let mut runs = Vec::new();
    for seed in seeds {
        let dir =
            std::env::temp_dir().join(format!("logwarden-scenarios-{}-{seed}", std::process::id()));
        let s = PlatformSettings {
            seed,
            ..settings.clone()
        };
        let outcome = scenario::run_platform(&config, &s, &dir);
        let _ = std::fs::remove_dir_all(&dir);
        let outcome = outcome.unwrap();
        if !quiet {
            println!("=== seed {seed} ===");
            print!("{}", run::render_summary(&outcome));
            println!();
        }
        runs.push(outcome);
    }
    println!(
        "platform scenario, {} days of history, {} test day(s), rate {}: what reached a person",
        settings.train_days, settings.test_days, settings.rate
    );
    print!("{}", run::render_grid(&runs));
}
