//! `logwarden parse` end to end: lines per second and peak memory at 1 and 2 threads.
//!
//! `cargo bench --bench parse_pipeline` (Loghub folder: `tests/data/loghub-2k`, or
//! `LOGHUB_DIR`). The Content lines of every Loghub-2k dataset found there are repeated and
//! shuffled (with a fixed seed) to `PARSE_BENCH_LINES` lines (300,000 by default) and written
//! to a file in a temporary folder; the release binary then parses that file into an NDJSON
//! file in the same folder, `PARSE_BENCH_RUNS` times (3) per thread count, and the best run is
//! kept. Wall time includes starting the process, both passes and writing. Peak RSS comes
//! from GNU time (`/usr/bin/time`) when it is installed. `PARSE_BENCH_BASELINE` may name
//! another `logwarden` binary (an older build, without `--threads`) to run on the same file.
//! The outputs of all runs must be byte-identical; the bench fails otherwise.
//! `PARSE_BENCH_DRAIN3` may name a Python with `drain3` installed: `scripts/drain3_parse.py`
//! then does the same job on the same file in the same run (learn, then write NDJSON), as
//! many times as each of ours, and each row gets its ratio to Drain3's best lines per second:
//! best against best, so that a slow spell of the machine during Drain3's one run does not
//! flatter the ratio.
//!
//! The row "no parsing" is a floor, not a parser: this process reads the same file and writes
//! the same NDJSON objects on one thread, each line its own template under one fixed id, with
//! no splitting, masking or learning. It is what reading the input and writing the output
//! cost on this machine, so that the distance between `parse` and it is the price of the
//! templates.

#[path = "../tests/loghub/mod.rs"]
mod loghub;

use std::io::{BufWriter, Read, Write};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

/// The sixteen Loghub-2k datasets (all in the repository); those missing from another
/// `LOGHUB_DIR` are skipped.
const ALL: &[&str] = &[
    "Android",
    "Apache",
    "BGL",
    "HDFS",
    "HPC",
    "Hadoop",
    "HealthApp",
    "Linux",
    "Mac",
    "OpenSSH",
    "OpenStack",
    "Proxifier",
    "Spark",
    "Thunderbird",
    "Windows",
    "Zookeeper",
];

/// A number from the environment, or `default`.
fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// A small xorshift generator: a fixed, dependency-free shuffle.
struct XorShift(u64);

impl XorShift {
    /// The next number in `0..n`.
    fn below(&mut self, n: usize) -> usize {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 % n as u64) as usize
    }
}

/// Write `n` lines drawn from the Loghub datasets to `path`: the whole pool, shuffled, again
/// and again. Returns the datasets used.
fn write_input(path: &Path, n: usize) -> Vec<&'static str> {
    let mut pool = Vec::new();
    let mut used = Vec::new();
    for name in ALL {
        match loghub::load(name) {
            Ok(lines) => {
                used.push(*name);
                pool.extend(
                    lines
                        .into_iter()
                        .map(|(content, _)| content.replace(['\n', '\r'], " ")),
                );
            }
            Err(e) => eprintln!("skipped: {e}"),
        }
    }
    assert!(!pool.is_empty(), "no Loghub-2k dataset found");
    let mut rng = XorShift(0x9e37_79b9_7f4a_7c15);
    let mut out = BufWriter::new(std::fs::File::create(path).unwrap());
    let mut written = 0;
    while written < n {
        for i in (1..pool.len()).rev() {
            pool.swap(i, rng.below(i + 1));
        }
        for line in pool.iter().take(n - written) {
            out.write_all(line.as_bytes()).unwrap();
            out.write_all(b"\n").unwrap();
            written += 1;
        }
    }
    out.flush().unwrap();
    used
}

/// One run: wall seconds, CPU seconds (user + system) and peak RSS in KiB, the last two when
/// GNU time is there.
fn run(
    bin: &Path,
    input: &Path,
    output: &Path,
    threads: Option<usize>,
) -> (f64, Option<(f64, u64)>) {
    let time = Path::new("/usr/bin/time");
    let stats = output.with_extension("time");
    let mut cmd = if time.exists() {
        let mut c = Command::new(time);
        c.arg("-o").arg(&stats).args(["-f", "%U %S %M"]).arg(bin);
        c
    } else {
        Command::new(bin)
    };
    cmd.arg("parse")
        .arg("--input")
        .arg(input)
        .arg("--output")
        .arg(output);
    if let Some(t) = threads {
        cmd.args(["--threads", &t.to_string()]);
    }
    let start = Instant::now();
    let out = cmd.output().unwrap();
    let secs = start.elapsed().as_secs_f64();
    assert!(
        out.status.success(),
        "parse failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let measured = std::fs::read_to_string(&stats).ok().and_then(|s| {
        let f: Vec<&str> = s.split_whitespace().collect();
        let cpu = f.first()?.parse::<f64>().ok()? + f.get(1)?.parse::<f64>().ok()?;
        Some((cpu, f.get(2)?.parse().ok()?))
    });
    (secs, measured)
}

/// Whether two files hold the same bytes, read in chunks.
fn same_file(a: &Path, b: &Path) -> bool {
    let (mut fa, mut fb) = (
        std::fs::File::open(a).unwrap(),
        std::fs::File::open(b).unwrap(),
    );
    let (mut ba, mut bb) = (vec![0u8; 1 << 16], vec![0u8; 1 << 16]);
    loop {
        let na = fa.read(&mut ba).unwrap();
        let mut nb = 0;
        while nb < na {
            let k = fb.read(&mut bb[nb..na]).unwrap();
            if k == 0 {
                return false;
            }
            nb += k;
        }
        if ba[..na] != bb[..na] {
            return false;
        }
        if na == 0 {
            return fb.read(&mut bb).unwrap() == 0;
        }
    }
}

/// The floor: `input` to `output` as `parse` objects with no template work, on one thread
/// (see the module's documentation). Returns the wall seconds.
fn no_parsing(input: &Path, output: &Path) -> f64 {
    let start = Instant::now();
    let mut lines = std::io::BufReader::with_capacity(1 << 20, std::fs::File::open(input).unwrap());
    let mut out = BufWriter::with_capacity(1 << 20, std::fs::File::create(output).unwrap());
    let (mut line, mut n) = (Vec::new(), 0u64);
    while std::io::BufRead::read_until(&mut lines, b'\n', &mut line).unwrap() > 0 {
        n += 1;
        let message = String::from_utf8_lossy(line.strip_suffix(b"\n").unwrap_or(&line));
        write!(out, "{{\"line\":{n},\"message\":").unwrap();
        serde_json::to_writer(&mut out, &message).unwrap();
        out.write_all(b",\"pattern_id\":null,\"template\":")
            .unwrap();
        serde_json::to_writer(&mut out, &message).unwrap();
        out.write_all(b",\"template_id\":\"t0000000000000000\"}\n")
            .unwrap();
        line.clear();
    }
    out.flush().unwrap();
    start.elapsed().as_secs_f64()
}

/// Drain3's lines per second (wall) from what `scripts/drain3_parse.py` prints.
fn drain3_rate(printed: &str) -> Option<f64> {
    let words: Vec<&str> = printed.split_whitespace().collect();
    let at = words.windows(2).position(|w| w[1] == "lines/s")?;
    words[at].parse().ok()
}

fn main() {
    let n = env_usize("PARSE_BENCH_LINES", 300_000);
    let runs = env_usize("PARSE_BENCH_RUNS", 3).max(1);
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in.log");
    let used = write_input(&input, n);
    let bytes = std::fs::metadata(&input).unwrap().len();
    println!(
        "{n} lines ({:.1} MB) from {} Loghub-2k datasets: {}",
        bytes as f64 / 1e6,
        used.len(),
        used.join(", ")
    );
    let bin = PathBuf::from(env!("CARGO_BIN_EXE_logwarden"));
    let mut setups: Vec<(String, PathBuf, Option<usize>)> = vec![
        ("--threads 1".into(), bin.clone(), Some(1)),
        ("--threads 2".into(), bin, Some(2)),
    ];
    if let Some(base) = std::env::var_os("PARSE_BENCH_BASELINE") {
        setups.push(("baseline".into(), PathBuf::from(base), None));
    }
    // Rows: label, lines per second, wall seconds, CPU seconds, peak RSS.
    let mut rows: Vec<(String, f64, f64, String, String)> = Vec::new();
    let reference = dir.path().join("out-0.ndjson");
    for (k, (label, bin, threads)) in setups.iter().enumerate() {
        let output = dir.path().join(format!("out-{k}.ndjson"));
        let mut best: Option<(f64, Option<(f64, u64)>)> = None;
        for _ in 0..runs {
            let r = run(bin, &input, &output, *threads);
            if best.as_ref().is_none_or(|b| r.0 < b.0) {
                best = Some(r);
            }
        }
        let Some((secs, measured)) = best else {
            continue;
        };
        let (cpu, rss) = measured.map_or(("-".to_string(), "-".to_string()), |(c, m)| {
            (format!("{c:.2}"), format!("{:.1} MiB", m as f64 / 1024.0))
        });
        rows.push((label.clone(), n as f64 / secs, secs, cpu, rss));
        if k > 0 && !same_file(&reference, &output) {
            println!("{label}: output differs from --threads 1");
            if threads.is_some() {
                panic!("{label}: output differs from --threads 1");
            }
        }
    }
    let floor = dir.path().join("floor.ndjson");
    let secs = (0..runs)
        .map(|_| no_parsing(&input, &floor))
        .fold(f64::INFINITY, f64::min);
    rows.push((
        "no parsing".into(),
        n as f64 / secs,
        secs,
        "-".into(),
        "-".into(),
    ));
    // Drain3 on the same file in the same run, when a Python with drain3 is named.
    let mut drain3: Option<f64> = None;
    if let Some(python) = std::env::var_os("PARSE_BENCH_DRAIN3") {
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/drain3_parse.py");
        let output = dir.path().join("drain3.ndjson");
        for _ in 0..runs {
            let out = Command::new(&python)
                .arg(&script)
                .arg(&input)
                .arg(&output)
                .output()
                .expect("PARSE_BENCH_DRAIN3 names a Python that runs");
            assert!(
                out.status.success(),
                "drain3: {}",
                String::from_utf8_lossy(&out.stderr)
            );
            let printed = String::from_utf8_lossy(&out.stdout);
            print!("{printed}");
            if let Some(rate) = drain3_rate(&printed) {
                drain3 = Some(drain3.map_or(rate, |best| best.max(rate)));
            }
        }
    }
    println!(
        "{:<12} {:>12} {:>10} {:>10} {:>10} {:>10}",
        "run", "lines/s", "wall s", "CPU s", "peak RSS", "x Drain3"
    );
    for (label, rate, secs, cpu, rss) in rows {
        let ratio = drain3.map_or("-".to_string(), |d| format!("{:.1}", rate / d));
        println!("{label:<12} {rate:>12.0} {secs:>10.3} {cpu:>10} {rss:>10} {ratio:>10}");
    }
}
