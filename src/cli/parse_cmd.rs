//! `logwarden parse`: plain lines in, one NDJSON object per line out, in input order, with
//! the line's template and the pattern its template belongs to (`null` for noise templates).
//!
//! The input is read once (stdin too); memory grows with the templates, not with the lines:
//!
//! 1. Learn. Every record is split into masked tokens ([`Tokenizer`]) and the start of its
//!    object (`{"line":N,"message":"…"`) is serialised; the miner then learns the tokens in
//!    input order ([`TemplateMiner::learn_tokens`]), and the object's start goes to an
//!    anonymous temporary file, the spill ([`Spill`]), behind the index of the template id the
//!    record was learnt into (in a table of the ids seen). A rejected line goes to the spill
//!    whole. With more than one thread this is a pipeline with bounded queues: a reader thread
//!    (reading, UTF-8 checks, line limits) cuts the input into numbered batches, `--threads`
//!    workers split and serialise whole batches, and the calling thread learns the batches in
//!    input order and writes them to the spill. Splitting and serialising need nothing learnt;
//!    learning stays sequential, as every message may change the templates the next one meets.
//!    At most [`in_flight`] batches exist at a time, and they are reused.
//! 2. Write. With every template final, the spill is read back in order and each record's
//!    start is written with the end its template gives (pattern id, template text, final id:
//!    a template generalised later forwards to the one that absorbed it, see
//!    [`TemplateMiner::resolve`]), serialised once per template. That is the grouping the
//!    template-mining benchmark scores, and it needs no second matching. With more than one
//!    thread the writes run on a thread of their own, behind the gathering.
//!
//! The spill holds about the output without its template parts: the size of the input and
//! the JSON escaping, plus 8 bytes a line.

use crate::cluster::PatternModel;
use crate::config::Config;
use crate::model::TemplateId;
use crate::parse::{FxMap, TemplateMiner, Tokenizer, Tokens, Vocabulary};
use crate::source::{InputFormat, InputReport};
use anyhow::Context;
use std::collections::BTreeMap;
use std::fs::File;
use std::io::{Read, Seek, Write};
use std::num::NonZeroUsize;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

/// Lines per batch of the learning pass: large enough that handing a batch between threads
/// costs little next to splitting it, small enough that the batches in flight (their tokens
/// and serialised messages) stay a few megabytes and in the caches. 1,024 gave the same speed
/// and 10 MiB more peak RSS at 2 threads.
const BATCH_LINES: usize = 256;

/// Bytes a batch's line keeps room for between messages: most lines are shorter, and a longer
/// one allocates its own.
const KEEP_MESSAGE_BYTES: usize = 1024;

/// The template index of a rejected line in the spill.
const REJECTED: u32 = u32::MAX;

/// Arguments of `parse`.
#[derive(Debug, clap::Args)]
pub struct ParseArgs {
    /// Input file of plain log lines (`-` for stdin).
    #[arg(long, value_name = "FILE")]
    pub input: PathBuf,
    /// Output NDJSON file (stdout when absent).
    #[arg(long, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Fail on the first bad input line instead of counting it.
    #[arg(long)]
    pub strict: bool,
    /// Worker threads that split and serialise lines while the miner learns (default: the
    /// available cores); with more than one, reading also runs on a thread of its own. 1 does
    /// everything on one thread.
    #[arg(long, value_name = "N")]
    pub threads: Option<NonZeroUsize>,
}

/// Run `parse`: learn templates over the whole input, then write every line with the final id
/// of its template (after any generalisation), so the ids are consistent across the output.
pub fn run(config: &Config, args: ParseArgs) -> anyhow::Result<()> {
    let threads = args
        .threads
        .or_else(|| std::thread::available_parallelism().ok())
        .map_or(1, NonZeroUsize::get);

    let started = std::time::Instant::now();
    // The output is created once the input has been read, and would replace it.
    if let (Some(out), false) = (&args.output, args.input.as_os_str() == "-") {
        if let (Ok(a), Ok(b)) = (
            std::fs::canonicalize(&args.input),
            std::fs::canonicalize(out),
        ) {
            if a == b {
                anyhow::bail!("--output is the input file {}", args.input.display());
            }
        }
    }

    // Pass 1: learn.
    let (input, len) = super::open_input(&args.input)?;
    let (reader, bar) = super::records_from(
        config,
        input,
        len,
        InputFormat::Plain,
        args.strict,
        "parsing",
    );
    let mut miner = TemplateMiner::new(config.parse.clone());
    let mut spill = Spill::new()?;
    let feed = Feed::new(reader);
    let report = if threads == 1 {
        learn_sequential(feed, &mut miner, &mut spill)?
    } else {
        learn_pipelined(feed, &mut miner, &mut spill, threads)?
    };
    bar.finish_and_clear();

    let templates = miner.templates();
    let patterns = PatternModel::fit(&templates, &config.vectorize, &config.patterns);
    let (table, file, spilled) = spill.finish()?;
    let tails = tails(&miner, &patterns, &table)?;

    // Pass 2: write.
    let bar = crate::telemetry::progress(spilled, "writing");
    let mut out = super::open_output(args.output.as_deref())?;
    if threads == 1 {
        write_out(bar.wrap_read(file), &tails, &mut out)?;
    } else {
        write_out_behind(bar.wrap_read(file), &tails, &mut out)?;
    }
    out.flush()?;
    bar.finish_and_clear();
    eprintln!("{}", report.summary());
    if let Some(warning) = crate::parse::overflow_warning(&miner) {
        eprintln!("warning: {warning}");
    }
    let secs = started.elapsed().as_secs_f64();
    eprintln!(
        "parsed {} records into {} templates, {} patterns in {:.1} s ({:.0} lines/s, {} thread{}) -> {}",
        report.records,
        templates.len(),
        patterns.len(),
        secs,
        report.lines as f64 / secs.max(1e-9),
        threads,
        if threads == 1 { "" } else { "s" },
        args.output
            .as_deref()
            .map_or_else(|| "stdout".to_string(), |p| p.display().to_string())
    );
    Ok(())
}

/// The learning pass's record of every line, in input order: an anonymous temporary file of
/// entries (a little-endian `u32` index into `table` of the template id the record was learnt
/// into, or [`REJECTED`]; a little-endian `u32` length; that many bytes of the line's object,
/// whole for a rejected line, without the template's part for a record), and the table of the
/// distinct ids. Memory holds the table, one entry per template id ever returned.
struct Spill {
    /// The distinct ids, in order of first use.
    table: Vec<TemplateId>,
    /// Each id's index in `table` (the ids are hashes already).
    index: FxMap<TemplateId, u32>,
    /// The entries written so far.
    file: std::io::BufWriter<File>,
    /// The bytes written so far.
    written: u64,
}

impl Spill {
    /// An empty spill, with its temporary file.
    fn new() -> anyhow::Result<Self> {
        let file = tempfile::tempfile().context("cannot create a temporary file for parsing")?;
        Ok(Spill {
            table: Vec::new(),
            index: FxMap::default(),
            file: std::io::BufWriter::with_capacity(1 << 20, file),
            written: 0,
        })
    }

    /// The index of `id` in the table, added when new.
    fn index(&mut self, id: TemplateId) -> anyhow::Result<u32> {
        if let Some(&k) = self.index.get(&id) {
            return Ok(k);
        }
        let k = u32::try_from(self.table.len())
            .ok()
            .filter(|&k| k != REJECTED)
            .context("more than 4 billion template ids in one input")?;
        self.table.push(id);
        self.index.insert(id, k);
        Ok(k)
    }

    /// Append serialised entries.
    fn write(&mut self, entries: &[u8]) -> anyhow::Result<()> {
        self.written += entries.len() as u64;
        self.file
            .write_all(entries)
            .context("cannot write the temporary file of parsing")
    }

    /// The table, the entries to read back from the start, and their size in bytes.
    fn finish(self) -> anyhow::Result<(Vec<TemplateId>, File, u64)> {
        let mut file = self
            .file
            .into_inner()
            .map_err(|e| e.into_error())
            .context("cannot write the temporary file of parsing")?;
        file.rewind()
            .context("cannot read back the temporary file of parsing")?;
        Ok((self.table, file, self.written))
    }
}

/// Consecutive input lines on their way through the learning pass; reused from batch to batch
/// (the first `len` entries of each vector are in use).
#[derive(Default)]
struct Batch {
    /// The batch's place in the input (0, 1, 2, …).
    seq: u64,
    /// Lines in use.
    len: usize,
    /// Per line: its number (1-based), and its message (`None` for a line the reader
    /// rejected).
    lines: Vec<(u64, Option<String>)>,
    /// Per line, its message split into tokens (unused for a rejected line).
    tokens: Vec<Tokens>,
    /// The lines' spill entries, in order (see [`Spill`]); a record's template index is
    /// filled in when it is learnt.
    entries: Vec<u8>,
    /// Per line, where its entry starts in `entries`.
    at: Vec<usize>,
}

impl Batch {
    /// Split every record (looking its routing tokens up in `vocabulary`, when given) and
    /// serialise every line's spill entry.
    fn prepare(
        &mut self,
        tokenizer: &Tokenizer,
        vocabulary: Option<&Vocabulary>,
    ) -> anyhow::Result<()> {
        self.entries.clear();
        self.at.clear();
        if self.tokens.len() < self.len {
            self.tokens.resize_with(self.len, Tokens::default);
        }
        for ((line, message), tokens) in self.lines[..self.len].iter().zip(&mut self.tokens) {
            let at = self.entries.len();
            self.at.push(at);
            let index = if message.is_some() { 0 } else { REJECTED };
            self.entries.extend_from_slice(&index.to_le_bytes());
            self.entries.extend_from_slice(&[0; 4]);
            match message {
                None => serde_json::to_writer(
                    &mut self.entries,
                    &RejectedOut {
                        line: *line,
                        rejected: true,
                    },
                )?,
                Some(message) => {
                    match vocabulary {
                        Some(v) => tokenizer.split_known(message, tokens, v),
                        None => tokenizer.split(message, tokens),
                    }
                    self.entries.extend_from_slice(b"{\"line\":");
                    self.entries
                        .extend_from_slice(itoa::Buffer::new().format(*line).as_bytes());
                    self.entries.extend_from_slice(b",\"message\":");
                    write_json_str(&mut self.entries, message)?;
                }
            }
            let size =
                u32::try_from(self.entries.len() - at - 8).context("a line's object over 4 GiB")?;
            self.entries[at + 4..at + 8].copy_from_slice(&size.to_le_bytes());
        }
        Ok(())
    }

    /// Learn the batch's records in order and write its entries to the spill.
    fn learn(&mut self, miner: &mut TemplateMiner, spill: &mut Spill) -> anyhow::Result<()> {
        let lines = self.lines[..self.len].iter().zip(&mut self.tokens);
        for (((_, message), tokens), &at) in lines.zip(&self.at) {
            if let Some(message) = message {
                let k = spill.index(miner.learn_tokens(message, tokens))?;
                self.entries[at..at + 4].copy_from_slice(&k.to_le_bytes());
            }
        }
        spill.write(&self.entries)
    }
}

/// `s` as a JSON string, byte for byte as `serde_json` writes it. Most messages hold no byte
/// that JSON escapes (a control character, `"` or `\`: `serde_json` leaves the rest as it
/// is), and those are copied whole after one branch-free pass over them; the others go to
/// `serde_json`. (Escaping byte by byte was 6% of the instructions of a one-thread run.)
fn write_json_str(out: &mut Vec<u8>, s: &str) -> serde_json::Result<()> {
    if needs_escape(s.as_bytes()) {
        return serde_json::to_writer(out, s);
    }
    out.reserve(s.len() + 2);
    out.push(b'"');
    out.extend_from_slice(s.as_bytes());
    out.push(b'"');
    Ok(())
}

/// Whether `bytes` holds a byte below 0x20, `"` or `\`: a pass without a branch per byte,
/// which the compiler vectorises (as `has_control` in the reader does).
fn needs_escape(bytes: &[u8]) -> bool {
    bytes.iter().fold(false, |any, &c| {
        any | (c < 0x20) | (c == b'"') | (c == b'\\')
    })
}

/// The input as runs of consecutive lines, with the lines the reader rejected at their place.
struct Feed {
    /// The records.
    reader: super::Records,
    /// The number of the next line to hand out.
    next_line: u64,
    /// A record read but not handed out yet (it comes after rejected lines), with its number.
    held: Option<(u64, String)>,
    /// Whether the reader reached the end of the input.
    done: bool,
}

impl Feed {
    /// Lines of `reader`, from the first.
    fn new(reader: super::Records) -> Self {
        Feed {
            reader,
            next_line: 1,
            held: None,
            done: false,
        }
    }

    /// Fill `batch` with the next [`BATCH_LINES`] lines, fewer at the end of the input.
    /// Returns whether lines may follow. Each message is read into the allocation of the one
    /// it replaces in the batch, so reading allocates nothing per line.
    fn fill(&mut self, batch: &mut Batch) -> anyhow::Result<bool> {
        batch.len = 0;
        while batch.len < BATCH_LINES {
            if batch.len == batch.lines.len() {
                batch.lines.push((0, None));
            }
            let slot = &mut batch.lines[batch.len];
            if self.held.is_none() && !self.done {
                let mut message = slot.1.take().unwrap_or_default();
                // Room for a usual line, not for the longest this one ever held.
                message.clear();
                message.shrink_to(KEEP_MESSAGE_BYTES);
                if self.reader.next_message(&mut message)? {
                    self.held = Some((self.reader.line_no(), message));
                } else {
                    self.done = true;
                }
            }
            // The number of the next line that is a record (one past the last line at the
            // end); the lines before it were rejected.
            let record_line = self
                .held
                .as_ref()
                .map_or(self.reader.line_no() + 1, |(n, _)| *n);
            *slot = if self.next_line < record_line {
                (self.next_line, None)
            } else if let Some((n, message)) = self.held.take() {
                (n, Some(message))
            } else {
                return Ok(false);
            };
            self.next_line = slot.0 + 1;
            batch.len += 1;
        }
        Ok(true)
    }

    /// What the reader saw.
    fn into_report(self) -> InputReport {
        self.reader.into_report()
    }
}

/// The learning pass on the calling thread alone; returns what the reader saw.
fn learn_sequential(
    mut feed: Feed,
    miner: &mut TemplateMiner,
    spill: &mut Spill,
) -> anyhow::Result<InputReport> {
    let tokenizer = miner.tokenizer();
    let mut batch = Batch::default();
    loop {
        let more = feed.fill(&mut batch)?;
        batch.prepare(&tokenizer, None)?;
        batch.learn(miner, spill)?;
        if !more {
            return Ok(feed.into_report());
        }
    }
}

/// Batches that may exist at once in the pipeline of `threads` workers: one being read, one
/// queued and one being prepared per worker, and one being learnt. This bounds the memory of
/// the learning pass, however slow one worker is.
fn in_flight(threads: usize) -> usize {
    2 * threads + 2
}

/// The learning pass as a pipeline of a reader thread, `threads` workers and the calling
/// thread as the learner; returns what the reader saw. Batches start in a pool; the reader
/// fills one taken from the pool, a worker prepares it, the learner learns it in input order
/// and gives it back to the pool.
fn learn_pipelined(
    mut feed: Feed,
    miner: &mut TemplateMiner,
    spill: &mut Spill,
    threads: usize,
) -> anyhow::Result<InputReport> {
    let slots = in_flight(threads);
    let (pool_tx, pool_rx) = crossbeam_channel::bounded::<Batch>(slots);
    let (work_tx, work_rx) = crossbeam_channel::bounded::<Batch>(threads);
    let (done_tx, done_rx) = crossbeam_channel::bounded::<anyhow::Result<Batch>>(threads);
    for _ in 0..slots {
        pool_tx.send(Batch::default())?;
    }
    let tokenizer = miner.tokenizer();
    let words = Words::default();
    std::thread::scope(|s| {
        let reading = s.spawn(move || -> anyhow::Result<InputReport> {
            let mut seq = 0;
            // No batch comes back once the learner has stopped; then the reading stops too.
            while let Ok(mut batch) = pool_rx.recv() {
                let more = feed.fill(&mut batch)?;
                batch.seq = seq;
                seq += 1;
                if work_tx.send(batch).is_err() || !more {
                    break;
                }
            }
            Ok(feed.into_report())
        });
        for _ in 0..threads {
            let work_rx = work_rx.clone();
            let done_tx = done_tx.clone();
            let (tokenizer, words) = (&tokenizer, &words);
            s.spawn(move || {
                let mut vocabulary = Vocabulary::default();
                let mut chunks = 0;
                for mut batch in work_rx {
                    chunks = words.update(&mut vocabulary, chunks);
                    let done = batch.prepare(tokenizer, Some(&vocabulary)).map(|()| batch);
                    if done_tx.send(done).is_err() {
                        break;
                    }
                }
            });
        }
        // Only the workers hold these now, so the channels close when the workers end.
        drop(work_rx);
        drop(done_tx);
        let learnt = learn_in_order(done_rx, pool_tx, miner, spill, &words);
        let read = reading
            .join()
            .map_err(|_| anyhow::anyhow!("the reading thread panicked"))?;
        // A reading error explains a short input, so it comes first.
        let report = read?;
        learnt?;
        Ok(report)
    })
}

/// The miner's words as the learner hands them to the workers, in chunks of the words learnt
/// since the last chunk: each worker keeps its own [`Vocabulary`] from them, so the learner
/// copies every word once, however many workers there are.
#[derive(Default)]
struct Words {
    chunks: Mutex<Vec<Arc<[String]>>>,
}

impl Words {
    /// Add the words `miner` learnt after the first `published` as a chunk, if any.
    fn publish(&self, miner: &TemplateMiner, published: &mut usize) {
        if miner.words() > *published {
            let chunk: Arc<[String]> = miner.words_since(*published).into();
            *published = miner.words();
            // A worker that panicked holding the lock left the chunks whole.
            let mut chunks = self.chunks.lock().unwrap_or_else(|e| e.into_inner());
            chunks.push(chunk);
        }
    }

    /// Extend `vocabulary`, which holds the words of the first `applied` chunks, with the
    /// later chunks; returns the number of chunks it now holds.
    fn update(&self, vocabulary: &mut Vocabulary, applied: usize) -> usize {
        let new: Vec<Arc<[String]>> = {
            let chunks = self.chunks.lock().unwrap_or_else(|e| e.into_inner());
            chunks.get(applied..).unwrap_or_default().to_vec()
        };
        for chunk in &new {
            vocabulary.extend(chunk);
        }
        applied + new.len()
    }
}

/// Learn the batches coming from `done` in input order, giving each back to `pool` once
/// learnt, and publish the words learnt to `words`. Returning (on an error too) drops both
/// channels, which stops the reader and the workers.
fn learn_in_order(
    done: crossbeam_channel::Receiver<anyhow::Result<Batch>>,
    pool: crossbeam_channel::Sender<Batch>,
    miner: &mut TemplateMiner,
    spill: &mut Spill,
    words: &Words,
) -> anyhow::Result<()> {
    let mut waiting = BTreeMap::new();
    let mut next = 0;
    let mut published = 0;
    for batch in done {
        let batch = batch?;
        waiting.insert(batch.seq, batch);
        while let Some(mut batch) = waiting.remove(&next) {
            batch.learn(miner, spill)?;
            words.publish(miner, &mut published);
            next += 1;
            // The reader may have stopped already; then nobody needs the batch.
            let _ = pool.send(batch);
        }
    }
    if !waiting.is_empty() {
        anyhow::bail!("internal error: batch {next} of the input never came");
    }
    Ok(())
}

/// For each entry of the learnt-id table, the end of its lines' objects, serialised once: the
/// final template's pattern id, text and id, the closing brace and the line end.
fn tails(
    miner: &TemplateMiner,
    patterns: &PatternModel,
    table: &[TemplateId],
) -> anyhow::Result<Vec<Vec<u8>>> {
    table
        .iter()
        .map(|&learnt| {
            let id = miner.resolve(learnt);
            let mut tail = serde_json::to_vec(&TemplateOut {
                pattern_id: patterns.pattern_of(id).map(|p| p.to_string()),
                template: miner.template(id).unwrap_or_default(),
                template_id: id.to_string(),
            })?;
            // `{"pattern_id":…}` becomes `,"pattern_id":…}`, to follow the message.
            tail[0] = b',';
            tail.push(b'\n');
            Ok(tail)
        })
        .collect()
}

/// Bytes the writing pass reads from the spill, and gathers for the output, at a time.
const WRITE_CHUNK: usize = 1 << 20;

/// The writing pass on the calling thread: every spill entry of `spill`, in order, completed
/// with its template's tail from `tails` (see [`gather`]), written to `out`.
fn write_out(spill: impl Read, tails: &[Vec<u8>], out: &mut dyn Write) -> anyhow::Result<()> {
    gather(spill, tails, &mut |mut buf| {
        out.write_all(&buf)?;
        buf.clear();
        Ok(buf)
    })
}

/// The writing pass with the writes on a thread of their own: while one buffer goes to
/// `out`, the calling thread gathers the next. The writes copy every byte into the page cache,
/// which would otherwise leave the second core idle at the end of a run.
fn write_out_behind(
    spill: impl Read,
    tails: &[Vec<u8>],
    out: &mut (dyn Write + Send),
) -> anyhow::Result<()> {
    let (full_tx, full_rx) = crossbeam_channel::bounded::<Vec<u8>>(1);
    let (free_tx, free_rx) = crossbeam_channel::bounded::<Vec<u8>>(2);
    free_tx.send(Vec::with_capacity(WRITE_CHUNK))?;
    std::thread::scope(|s| {
        let writer = s.spawn(move || -> std::io::Result<()> {
            for mut buf in full_rx {
                out.write_all(&buf)?;
                buf.clear();
                // The gatherer may have stopped already; then nobody needs the buffer.
                let _ = free_tx.send(buf);
            }
            Ok(())
        });
        let stopped = || anyhow::anyhow!("the writing thread stopped");
        let gathered = gather(spill, tails, &mut |buf| {
            full_tx.send(buf).map_err(|_| stopped())?;
            free_rx.recv().map_err(|_| stopped())
        });
        drop(full_tx);
        let written = writer
            .join()
            .map_err(|_| anyhow::anyhow!("the writing thread panicked"))?;
        // A write error explains a stopped writer, so it comes first.
        written?;
        gathered
    })
}

/// The writing pass: every spill entry of `spill`, in order, completed with its template's
/// tail from `tails`. The spill is read in chunks of [`WRITE_CHUNK`] bytes and the objects
/// are gathered in one buffer of about that size, which `emit` takes whole and gives back
/// empty (or gives another): each byte is copied once between the two (a `BufReader` and a
/// `BufWriter` would copy it twice more).
fn gather(
    mut spill: impl Read,
    tails: &[Vec<u8>],
    emit: &mut dyn FnMut(Vec<u8>) -> anyhow::Result<Vec<u8>>,
) -> anyhow::Result<()> {
    let read_error = "cannot read the temporary file of parsing";
    let mut chunk = vec![0u8; WRITE_CHUNK];
    // `chunk[at..filled]` is read and not written yet.
    let (mut at, mut filled) = (0, 0);
    let mut gathered = Vec::with_capacity(WRITE_CHUNK);
    loop {
        // Complete entries in the chunk.
        while let Some((index, object)) = entry(&chunk[at..filled]) {
            gathered.extend_from_slice(object);
            if index == REJECTED {
                gathered.push(b'\n');
            } else {
                let tail = tails
                    .get(index as usize)
                    .context("internal error: a learnt id index out of the table")?;
                gathered.extend_from_slice(tail);
            }
            at += 8 + object.len();
            if gathered.len() >= WRITE_CHUNK {
                gathered = emit(std::mem::take(&mut gathered))?;
            }
        }
        // The start of an entry is left: move it to the front, and make room for the whole
        // entry when it is longer than the chunk.
        chunk.copy_within(at..filled, 0);
        filled -= at;
        at = 0;
        let want = entry_size(&chunk[..filled]).unwrap_or(8);
        if want > chunk.len() {
            chunk.resize(want, 0);
        }
        let n = loop {
            match spill.read(&mut chunk[filled..]) {
                Ok(n) => break n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => return Err(anyhow::Error::new(e).context(read_error)),
            }
        };
        if n == 0 {
            if filled > 0 {
                anyhow::bail!("{read_error}: it ends inside an entry");
            }
            emit(gathered)?;
            return Ok(());
        }
        filled += n;
    }
}

/// The size of the spill entry that `bytes` starts with (its head and its object), once its
/// head is there.
fn entry_size(bytes: &[u8]) -> Option<usize> {
    let size: [u8; 4] = bytes.get(4..8)?.try_into().ok()?;
    Some(8 + u32::from_le_bytes(size) as usize)
}

/// The template index and the object of the spill entry that `bytes` starts with, when it is
/// there whole.
fn entry(bytes: &[u8]) -> Option<(u32, &[u8])> {
    let object = bytes.get(8..entry_size(bytes)?)?;
    let index: [u8; 4] = bytes.get(..4)?.try_into().ok()?;
    Some((u32::from_le_bytes(index), object))
}

/// The part of a line's object that comes from its template. The keys are in alphabetical
/// order (`line`, `message`, then these) because that is the order `serde_json::json!` wrote
/// them in before, and output must not change.
#[derive(serde::Serialize)]
struct TemplateOut<'a> {
    /// The pattern of the template; `null` for a noise template.
    pattern_id: Option<String>,
    /// The template text.
    template: &'a str,
    /// The final template id (`t` and hex digits).
    template_id: String,
}

/// The object of a line the reader rejected.
#[derive(serde::Serialize)]
struct RejectedOut {
    /// The line number (1-based).
    line: u64,
    /// Always `true`.
    rejected: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A spill entry: template index, object size, object.
    fn spill_entry(index: u32, object: &[u8]) -> Vec<u8> {
        let mut e = index.to_le_bytes().to_vec();
        e.extend_from_slice(&(object.len() as u32).to_le_bytes());
        e.extend_from_slice(object);
        e
    }

    /// A reader that hands out at most `step` bytes a call, so entries straddle the reads.
    struct Trickle<'a> {
        bytes: &'a [u8],
        step: usize,
    }

    impl Read for Trickle<'_> {
        fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
            let n = buf.len().min(self.step).min(self.bytes.len());
            buf[..n].copy_from_slice(&self.bytes[..n]);
            self.bytes = &self.bytes[n..];
            Ok(n)
        }
    }

    #[test]
    fn the_writing_pass_completes_entries_that_straddle_reads_or_outgrow_a_chunk() {
        let long = format!(
            "{{\"line\":2,\"message\":\"{}\"",
            "y".repeat(3 * WRITE_CHUNK)
        );
        let mut spill = spill_entry(1, br#"{"line":1,"message":"a""#);
        spill.extend(spill_entry(0, long.as_bytes()));
        spill.extend(spill_entry(REJECTED, br#"{"line":3,"rejected":true}"#));
        spill.extend(spill_entry(1, br#"{"line":4,"message":"b""#));
        let tails = vec![b",\"t\":0}\n".to_vec(), b",\"t\":1}\n".to_vec()];
        let want = format!(
            "{{\"line\":1,\"message\":\"a\",\"t\":1}}\n{long},\"t\":0}}\n\
             {{\"line\":3,\"rejected\":true}}\n{{\"line\":4,\"message\":\"b\",\"t\":1}}\n"
        );
        for step in [1, 7, 4096, usize::MAX] {
            // On the calling thread, and with the writes on their own thread (four buffers
            // go through it).
            for behind in [false, true] {
                let spill = Trickle {
                    bytes: &spill,
                    step,
                };
                let mut out = Vec::new();
                if behind {
                    write_out_behind(spill, &tails, &mut out).unwrap();
                } else {
                    write_out(spill, &tails, &mut out).unwrap();
                }
                assert!(
                    out == want.as_bytes(),
                    "reads of {step} bytes, writing behind: {behind}"
                );
            }
        }
    }

    /// A writer that takes `room` bytes, then fails.
    struct Full {
        room: usize,
    }

    impl Write for Full {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            if self.room == 0 {
                return Err(std::io::Error::other("no space left on device"));
            }
            let n = buf.len().min(self.room);
            self.room -= n;
            Ok(n)
        }

        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn a_failed_write_behind_the_gathering_is_the_error_reported() {
        let mut spill = Vec::new();
        for i in 0..4 {
            let object = format!("{{\"line\":{i},\"message\":\"{}\"", "z".repeat(WRITE_CHUNK));
            spill.extend(spill_entry(0, object.as_bytes()));
        }
        let tails = vec![b"}\n".to_vec()];
        let e = write_out_behind(
            &spill[..],
            &tails,
            &mut Full {
                room: WRITE_CHUNK / 2,
            },
        )
        .unwrap_err();
        assert!(e.to_string().contains("no space left on device"), "{e}");
    }

    #[test]
    fn a_spill_cut_inside_an_entry_or_naming_an_unknown_template_is_an_error() {
        let spill = spill_entry(0, br#"{"line":1,"message":"a""#);
        let tails = vec![b"}\n".to_vec()];
        let cut = &spill[..spill.len() - 3];
        let e = write_out(cut, &tails, &mut Vec::new()).unwrap_err();
        assert!(e.to_string().contains("ends inside an entry"), "{e}");
        let e = write_out(&spill[..], &[], &mut Vec::new()).unwrap_err();
        assert!(e.to_string().contains("index out of the table"), "{e}");
    }

    #[test]
    fn messages_are_written_as_serde_json_writes_them() {
        let mut cases: Vec<String> = (0u32..0x100)
            .filter_map(char::from_u32)
            .map(|c| format!("abcdefgh{c}ijklmnop{c}"))
            .collect();
        cases.extend(
            [
                "",
                "plain words only here",
                "say \"hi\"",
                "C:\\temp\\x",
                "tab\there",
                "\u{7f}\u{80}é日本語 🦀",
                "exactly8",
                "seven7\"",
            ]
            .map(String::from),
        );
        for s in &cases {
            let mut ours = Vec::new();
            write_json_str(&mut ours, s).unwrap();
            assert_eq!(ours, serde_json::to_vec(s).unwrap(), "{s:?}");
        }
    }

    proptest::proptest! {
        #[test]
        fn any_text_is_written_as_serde_json_writes_it(s in "\\PC*|[\\x00-\\x7f]*") {
            let mut ours = Vec::new();
            write_json_str(&mut ours, &s).unwrap();
            proptest::prop_assert_eq!(ours, serde_json::to_vec(&s).unwrap());
        }
    }

    #[test]
    fn a_batch_line_after_a_long_message_keeps_only_a_bounded_room() {
        let long = "x".repeat(10 * KEEP_MESSAGE_BYTES);
        let mut input = format!("{long}\n");
        for i in 0..BATCH_LINES {
            input.push_str(&format!("short line {i}\n"));
        }
        let len = input.len() as u64;
        let (reader, _bar) = crate::cli::records_from(
            &Config::default(),
            Box::new(std::io::Cursor::new(input.into_bytes())),
            len,
            InputFormat::Plain,
            false,
            "test",
        );
        let mut feed = Feed::new(reader);
        let mut batch = Batch::default();
        assert!(feed.fill(&mut batch).unwrap());
        assert_eq!(batch.lines[0], (1, Some(long)));
        // The next batch reads its first line into the long message's allocation.
        feed.fill(&mut batch).unwrap();
        let (line, message) = &batch.lines[0];
        let message = message.as_ref().unwrap();
        let want = format!("short line {}", BATCH_LINES - 1);
        assert_eq!((*line, message), (BATCH_LINES as u64 + 1, &want));
        assert!(
            message.capacity() <= KEEP_MESSAGE_BYTES,
            "{}",
            message.capacity()
        );
    }
}
