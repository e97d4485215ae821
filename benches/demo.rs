//! Demo generator throughput: the default week (21 days of history + the test week) written
//! to memory, and read back through the NDJSON source.
//!
//! Run: `cargo bench --bench demo`

use logwarden::config::Config;
use logwarden::demo::{self, GenSettings};
use logwarden::source::{InputFormat, RecordReader};
use std::time::Instant;

fn main() {
    let settings = GenSettings::default();
    let (mut train, mut test) = (Vec::new(), Vec::new());
    let started = Instant::now();
    let (labels, n_train, n_test) = demo::generate(&settings, &mut train, &mut test).unwrap();
    let secs = started.elapsed().as_secs_f64();
    let lines = n_train + n_test;
    let bytes = (train.len() + test.len()) as f64;
    println!(
        "generate: {lines} lines ({:.0} MB, {} incidents) in {secs:.2}s = {:.0} lines/s, {:.0} MB/s",
        bytes / 1e6,
        labels.incidents.len(),
        lines as f64 / secs,
        bytes / 1e6 / secs
    );
    let cfg = Config::default();
    let started = Instant::now();
    let mut records = 0u64;
    for buf in [&train, &test] {
        let mut r = RecordReader::new(
            buf.as_slice(),
            InputFormat::Ndjson,
            cfg.fields.clone(),
            logwarden::source::InputConfig {
                report_first: 0,
                ..cfg.input.clone()
            },
            false,
        );
        while let Some(_rec) = r.next_record().unwrap() {
            records += 1;
        }
    }
    let secs = started.elapsed().as_secs_f64();
    assert_eq!(records, lines);
    println!(
        "read back: {records} records in {secs:.2}s = {:.0} lines/s",
        records as f64 / secs
    );
}
