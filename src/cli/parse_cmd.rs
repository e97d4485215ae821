//! `logwarden parse`: plain lines in, one NDJSON object per line out, in input order, with
//! the line's template and the pattern its template belongs to (`null` for noise templates).
//!
//! Two passes, so that memory grows with the templates, not with the lines:
//!
//! 1. Learn: every record goes through [`TemplateMiner::learn`]. What is kept per line is the
//!    id of the template it was learnt into, as a 4-byte index into a table of the ids seen,
//!    in an anonymous temporary file ([`LearntIds`]); memory holds only the table. Stdin is
//!    copied to another temporary file while it is read, so it can be read again. With more
//!    than one thread, reading runs on a thread of its own beside the miner.
//! 2. Write: the input and the ids are read again and every line is written with the final id
//!    of the template it was learnt into ([`TemplateMiner::resolve`]: a template generalised
//!    later forwards to the one that absorbed it). That is the grouping the template-mining
//!    benchmark scores, and it needs no second matching: this pass reads, looks up and
//!    serialises. It is a pipeline: a reader thread cuts the input into numbered batches,
//!    `--threads` workers serialise whole batches, and the calling thread writes the batches
//!    back in input order. At most [`in_flight`] batches exist at a time.

use crate::cluster::PatternModel;
use crate::config::Config;
use crate::model::TemplateId;
use crate::parse::{TemplateMiner, Tokens};
use crate::source::{InputFormat, InputReport, RecordReader};
use anyhow::Context;
use std::collections::{BTreeMap, HashMap};
use std::fs::File;
use std::io::{BufRead, BufReader, Read, Seek, Write};
use std::num::NonZeroUsize;
use std::path::PathBuf;

/// Lines per batch in the writing pass: large enough that handing a batch between threads
/// costs little next to matching it, small enough that a few batches stay a few megabytes.
const BATCH_LINES: usize = 4096;

/// Lines per batch of split messages in the learning pass: small, because a split message
/// holds its tokens, and the batches in flight should stay in the cores' caches.
const LEARN_BATCH_LINES: usize = 256;

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
    /// Worker threads that match and serialise lines in the writing pass (default: the
    /// available cores); with more than one, reading also runs beside learning. 1 does
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
    let stdin = args.input.as_os_str() == "-";
    // The output is created before the input is read the second time: were they the same
    // file, the input would be lost.
    if let (Some(out), false) = (&args.output, stdin) {
        if let (Ok(a), Ok(b)) = (
            std::fs::canonicalize(&args.input),
            std::fs::canonicalize(out),
        ) {
            if a == b {
                anyhow::bail!("--output is the input file {}", args.input.display());
            }
        }
    }

    // Pass 1: learn. Stdin can be read only once, so it is copied to a temporary file (removed
    // by the system when closed) as it is read.
    let (input, len, spill) = if stdin {
        let spill = tempfile::tempfile().context("cannot create a temporary file for stdin")?;
        let tee = Tee {
            inner: std::io::stdin(),
            copy: spill
                .try_clone()
                .context("cannot create a temporary file for stdin")?,
        };
        let input: Box<dyn BufRead + Send> = Box::new(BufReader::with_capacity(1 << 16, tee));
        (input, 0, Some(spill))
    } else {
        let (input, len) = super::open_input(&args.input)?;
        (input, len, None)
    };
    let (reader, bar) = super::records_from(
        config,
        input,
        len,
        InputFormat::Plain,
        args.strict,
        "parsing",
    );
    let mut miner = TemplateMiner::new(config.parse.clone());
    let mut learnt = LearntIds::new()?;
    let report = if threads == 1 {
        learn_sequential(reader, &mut miner, &mut learnt)?
    } else {
        learn_pipelined(reader, &mut miner, &mut learnt)?
    };
    bar.finish_and_clear();

    let templates = miner.templates();
    let patterns = PatternModel::fit(&templates, &config.vectorize, &config.patterns);
    let (table, ids) = learnt.finish()?;
    let render = Render::new(&miner, &patterns, &table)?;

    // Pass 2: write. The same reader settings give the same records and the same rejected
    // lines; its problems were reported in pass 1, so it reports none (`report_first: 0`).
    let (file, len) = match spill {
        Some(mut f) => {
            f.rewind()
                .context("cannot read back the temporary copy of stdin")?;
            let len = f.metadata().map(|m| m.len()).unwrap_or(0);
            (f, len)
        }
        None => {
            let f = File::open(&args.input)
                .with_context(|| format!("cannot open input {}", args.input.display()))?;
            let len = f.metadata().map(|m| m.len()).unwrap_or(0);
            (f, len)
        }
    };
    let bar = crate::telemetry::progress(len, "writing");
    let mut limits = config.input.clone();
    limits.report_first = 0;
    let reader = RecordReader::new(
        bar.wrap_read(BufReader::with_capacity(1 << 16, file)),
        InputFormat::Plain,
        config.fields.clone(),
        limits,
        false,
    );
    let mut lines = Lines::new(reader, ids);
    let mut out = super::open_output(args.output.as_deref())?;
    let written = if threads == 1 {
        write_sequential(&mut lines, &render, &mut out)
    } else {
        write_parallel(&mut lines, &render, &mut out, threads)
    };
    let changed = || {
        anyhow::anyhow!(
            "{} changed while it was parsed: {} lines when learning, {} when writing",
            args.input.display(),
            report.lines,
            lines.next_line - 1
        )
    };
    match written {
        Err(e) if e.is::<MoreRecords>() => return Err(changed()),
        r => r?,
    }
    out.flush()?;
    bar.finish_and_clear();
    if lines.next_line - 1 != report.lines || lines.records != report.records {
        return Err(changed());
    }
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

/// The template each record was learnt into, in record order: a table of the distinct ids and,
/// per record, the little-endian `u32` index of its id in the table, written to an anonymous
/// temporary file. Memory holds the table (one entry per template id ever returned), the file
/// grows by 4 bytes a record.
struct LearntIds {
    /// The distinct ids, in order of first use.
    table: Vec<TemplateId>,
    /// Each id's index in `table`.
    index: HashMap<TemplateId, u32>,
    /// The indices written so far.
    file: std::io::BufWriter<File>,
}

impl LearntIds {
    /// An empty record, with its temporary file.
    fn new() -> anyhow::Result<Self> {
        let file = tempfile::tempfile().context("cannot create a temporary file for the ids")?;
        Ok(LearntIds {
            table: Vec::new(),
            index: HashMap::new(),
            file: std::io::BufWriter::with_capacity(1 << 16, file),
        })
    }

    /// Note the template of the next record.
    fn push(&mut self, id: TemplateId) -> anyhow::Result<()> {
        let k = match self.index.get(&id) {
            Some(&k) => k,
            None => {
                let k = u32::try_from(self.table.len())
                    .context("more than 4 billion template ids in one input")?;
                self.table.push(id);
                self.index.insert(id, k);
                k
            }
        };
        self.file
            .write_all(&k.to_le_bytes())
            .context("cannot write the temporary file of the ids")
    }

    /// The table, and the indices to read back from the start.
    fn finish(self) -> anyhow::Result<(Vec<TemplateId>, BufReader<File>)> {
        let mut file = self
            .file
            .into_inner()
            .map_err(|e| e.into_error())
            .context("cannot write the temporary file of the ids")?;
        file.rewind()
            .context("cannot read back the temporary file of the ids")?;
        Ok((self.table, BufReader::with_capacity(1 << 16, file)))
    }
}

/// The writing pass met a record after the last one the learning pass saw: the input grew.
#[derive(Debug)]
struct MoreRecords;

impl std::fmt::Display for MoreRecords {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("the input has more records than when it was learnt from")
    }
}

impl std::error::Error for MoreRecords {}

/// The learning pass on the calling thread alone; returns what the reader saw.
fn learn_sequential(
    mut reader: super::Records,
    miner: &mut TemplateMiner,
    learnt: &mut LearntIds,
) -> anyhow::Result<InputReport> {
    while let Some(rec) = reader.next_record()? {
        learnt.push(miner.learn(&rec.message))?;
    }
    Ok(reader.into_report())
}

/// The learning pass as a pipeline: a thread of its own reads (UTF-8 checks, line limits, the
/// copy of stdin) and splits the messages into masked tokens, handing batches to the calling
/// thread, which learns; returns what the reader saw. Splitting needs nothing learnt, so only
/// learning itself stays sequential: every message may change the templates the next one
/// meets. Batches go back to the reader once learnt, to be refilled without allocating.
fn learn_pipelined(
    mut reader: super::Records,
    miner: &mut TemplateMiner,
    learnt: &mut LearntIds,
) -> anyhow::Result<InputReport> {
    /// A batch: the messages and their tokens (the first `len` entries are in use).
    struct Batch {
        lines: Vec<(String, Tokens)>,
        len: usize,
    }
    // Three batches exist in all (one filling, one queued, one learning): they start in the
    // return channel, and the reader fills whichever comes back.
    let (tx, rx) = crossbeam_channel::bounded::<Batch>(2);
    let (back_tx, back_rx) = crossbeam_channel::bounded::<Batch>(3);
    for _ in 0..3 {
        back_tx.send(Batch {
            lines: Vec::with_capacity(LEARN_BATCH_LINES),
            len: 0,
        })?;
    }
    let tokenizer = miner.tokenizer();
    std::thread::scope(|s| {
        let reading = s.spawn(move || -> anyhow::Result<InputReport> {
            // No batch comes back once the miner has stopped; then the reading stops too.
            while let Ok(mut batch) = back_rx.recv() {
                batch.len = 0;
                let mut end = false;
                while batch.len < LEARN_BATCH_LINES {
                    let Some(rec) = reader.next_record()? else {
                        end = true;
                        break;
                    };
                    if batch.len == batch.lines.len() {
                        batch.lines.push((String::new(), Tokens::default()));
                    }
                    let (message, tokens) = &mut batch.lines[batch.len];
                    *message = rec.message;
                    tokenizer.split(message, tokens);
                    batch.len += 1;
                }
                // The receiver lives until every batch has been taken.
                tx.send(batch)?;
                if end {
                    break;
                }
            }
            Ok(reader.into_report())
        });
        // Owned here, so that a failed miner drops it and a reader waiting for a batch stops.
        let back_tx = back_tx;
        for mut batch in rx {
            for (message, tokens) in &mut batch.lines[..batch.len] {
                learnt.push(miner.learn_tokens(message, tokens))?;
            }
            // The reader may have finished; then the batch is not needed.
            let _ = back_tx.send(batch);
        }
        reading
            .join()
            .map_err(|_| anyhow::anyhow!("the reading thread panicked"))?
    })
}

/// A reader that copies every byte it reads from `inner` into `copy`.
struct Tee<R, W> {
    /// Where the bytes come from.
    inner: R,
    /// Where a copy of them goes.
    copy: W,
}

impl<R: Read, W: Write> Read for Tee<R, W> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.copy.write_all(&buf[..n])?;
        Ok(n)
    }
}

/// One input line of the writing pass: its number (1-based) and its message with the index of
/// its learnt template id, or `None` for a line the reader rejected.
type Line = (u64, Option<(String, u32)>);

/// The input of the writing pass as runs of consecutive lines, with the lines the reader
/// rejected put back at their place.
struct Lines<R> {
    /// The records.
    reader: RecordReader<R>,
    /// The learnt id index of each record, in order (see [`LearntIds`]).
    ids: BufReader<File>,
    /// The number of the next line to hand out.
    next_line: u64,
    /// The records read so far.
    records: u64,
    /// A record read but not handed out yet (it comes after rejected lines), with its number
    /// and id index.
    held: Option<(u64, String, u32)>,
    /// The number of lines in the input, once the reader reached its end.
    end: Option<u64>,
}

impl<R: BufRead> Lines<R> {
    /// Lines of `reader`, from the first, with the learnt ids of its records.
    fn new(reader: RecordReader<R>, ids: BufReader<File>) -> Self {
        Lines {
            reader,
            ids,
            next_line: 1,
            records: 0,
            held: None,
            end: None,
        }
    }

    /// The id index of the next record; [`MoreRecords`] when learning saw no more records.
    fn next_id(&mut self) -> anyhow::Result<u32> {
        let mut b = [0u8; 4];
        match self.ids.read_exact(&mut b) {
            Ok(()) => Ok(u32::from_le_bytes(b)),
            Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => Err(MoreRecords.into()),
            Err(e) => {
                Err(anyhow::Error::new(e).context("cannot read the temporary file of the ids"))
            }
        }
    }

    /// The next run of at most [`BATCH_LINES`] lines; `None` after the last line.
    fn next_batch(&mut self) -> anyhow::Result<Option<Vec<Line>>> {
        let mut batch = Vec::with_capacity(BATCH_LINES);
        while batch.len() < BATCH_LINES {
            if self.held.is_none() && self.end.is_none() {
                match self.reader.next_record()? {
                    Some(rec) => {
                        let id = self.next_id()?;
                        self.records += 1;
                        self.held = Some((self.reader.line_no(), rec.message, id));
                    }
                    None => self.end = Some(self.reader.line_no()),
                }
            }
            // The number of the next line that is a record (one past the last line at the
            // end); the lines before it were rejected.
            let record_line = self
                .held
                .as_ref()
                .map_or(self.end.unwrap_or(0) + 1, |(n, _, _)| *n);
            if self.next_line < record_line {
                batch.push((self.next_line, None));
                self.next_line += 1;
                continue;
            }
            let Some((n, message, id)) = self.held.take() else {
                break;
            };
            batch.push((n, Some((message, id))));
            self.next_line = n + 1;
        }
        Ok((!batch.is_empty()).then_some(batch))
    }
}

/// Turns lines into NDJSON with the learnt templates; shared read-only by the workers.
struct Render {
    /// For each entry of the learnt-id table, the end of its lines' objects, serialised once:
    /// the final template's pattern id, text and id, and the closing brace.
    tails: Vec<Vec<u8>>,
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

impl Render {
    /// A renderer over the learnt `miner`, the `patterns` of its templates and the `table` of
    /// ids the records were learnt into.
    fn new(
        miner: &TemplateMiner,
        patterns: &PatternModel,
        table: &[TemplateId],
    ) -> anyhow::Result<Self> {
        let tails = table
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
                Ok(tail)
            })
            .collect::<anyhow::Result<_>>()?;
        Ok(Render { tails })
    }

    /// Append one NDJSON object per line of `lines` to `out`: `line`, `message` (the message
    /// as read: control characters replaced, cut to `input.max_message_bytes`), then the
    /// template's part.
    fn batch(&self, lines: &[Line], out: &mut Vec<u8>) -> anyhow::Result<()> {
        for (line, message) in lines {
            let line = *line;
            match message {
                None => serde_json::to_writer(
                    &mut *out,
                    &RejectedOut {
                        line,
                        rejected: true,
                    },
                )?,
                Some((message, k)) => {
                    let tail = self
                        .tails
                        .get(*k as usize)
                        .context("internal error: a learnt id index out of the table")?;
                    write!(out, "{{\"line\":{line},\"message\":")?;
                    serde_json::to_writer(&mut *out, message)?;
                    out.extend_from_slice(tail);
                }
            }
            out.push(b'\n');
        }
        Ok(())
    }
}

/// The writing pass on the calling thread alone.
fn write_sequential<R: BufRead>(
    lines: &mut Lines<R>,
    render: &Render,
    out: &mut dyn Write,
) -> anyhow::Result<()> {
    let mut buf = Vec::new();
    while let Some(batch) = lines.next_batch()? {
        buf.clear();
        render.batch(&batch, &mut buf)?;
        out.write_all(&buf)?;
    }
    Ok(())
}

/// Batches that may exist at once in the pipeline of `threads` workers: one being read, one
/// queued and one being matched per worker, and one being written. This bounds the memory of
/// the writing pass, however slow one worker is.
fn in_flight(threads: usize) -> usize {
    2 * threads + 2
}

/// A batch serialised by a worker.
struct Done {
    /// The batch's place in the input (0, 1, 2, …).
    seq: u64,
    /// Its NDJSON.
    bytes: Vec<u8>,
}

/// The writing pass as a pipeline of a reader thread, `threads` workers and the calling thread
/// as writer.
fn write_parallel<R: BufRead + Send>(
    lines: &mut Lines<R>,
    render: &Render,
    out: &mut dyn Write,
    threads: usize,
) -> anyhow::Result<()> {
    let slots = in_flight(threads);
    let (work_tx, work_rx) = crossbeam_channel::bounded::<(u64, Vec<Line>)>(threads);
    let (done_tx, done_rx) = crossbeam_channel::bounded::<anyhow::Result<Done>>(threads);
    // A batch may be read only with a slot, and the writer frees the slot once the batch is
    // written: this is what keeps a slow batch from letting the others pile up.
    let (slot_tx, slot_rx) = crossbeam_channel::bounded::<()>(slots);
    for _ in 0..slots {
        slot_tx.send(())?;
    }
    std::thread::scope(|s| {
        let reader = s.spawn(move || -> anyhow::Result<()> {
            let mut seq = 0;
            // The writer gone (no slot will come) or the workers gone: stop reading.
            while slot_rx.recv().is_ok() {
                let Some(batch) = lines.next_batch()? else {
                    break;
                };
                if work_tx.send((seq, batch)).is_err() {
                    break;
                }
                seq += 1;
            }
            Ok(())
        });
        for _ in 0..threads {
            let work_rx = work_rx.clone();
            let done_tx = done_tx.clone();
            s.spawn(move || {
                for (seq, batch) in work_rx {
                    let mut bytes = Vec::with_capacity(batch.len() * 256);
                    let done = render
                        .batch(&batch, &mut bytes)
                        .map(|()| Done { seq, bytes });
                    if done_tx.send(done).is_err() {
                        break;
                    }
                }
            });
        }
        // Only the workers hold these now, so the channels close when the workers end.
        drop(work_rx);
        drop(done_tx);
        let written = write_in_order(done_rx, slot_tx, out);
        let read = reader
            .join()
            .map_err(|_| anyhow::anyhow!("the reading thread panicked"))?;
        // A reading error explains a short output, so it comes first.
        read?;
        written
    })
}

/// Write the batches coming from `done` in input order, freeing a slot on `slots` for each one
/// written. Returning (on an error too) drops both channels, which stops the reader and the
/// workers.
fn write_in_order(
    done: crossbeam_channel::Receiver<anyhow::Result<Done>>,
    slots: crossbeam_channel::Sender<()>,
    out: &mut dyn Write,
) -> anyhow::Result<()> {
    let mut waiting = BTreeMap::new();
    let mut next = 0;
    for d in done {
        let d = d?;
        waiting.insert(d.seq, d);
        while let Some(d) = waiting.remove(&next) {
            out.write_all(&d.bytes)?;
            next += 1;
            // The reader may have stopped already; then nobody needs the slot.
            let _ = slots.send(());
        }
    }
    if !waiting.is_empty() {
        anyhow::bail!("internal error: batch {next} of the output never came");
    }
    Ok(())
}
