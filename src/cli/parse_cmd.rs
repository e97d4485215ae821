//! `logwarden parse`: plain lines in, one NDJSON object per line out, in input order, with
//! the line's template and the pattern its template belongs to (`null` for noise templates).
//!
//! Two passes, so that memory grows with the templates, not with the lines:
//!
//! 1. Learn: every record goes through [`TemplateMiner::add`]; nothing is kept per line. Stdin
//!    is copied to an anonymous temporary file while it is read, so it can be read again. With
//!    more than one thread, reading runs on a thread of its own beside the miner.
//! 2. Write: the input is read again and every line is written with the template the final
//!    miner matches it to ([`TemplateMiner::match_message`], read-only), so ids are consistent
//!    across the output. This pass is a pipeline: a reader thread cuts the input into numbered
//!    batches, `--threads` workers match and serialise whole batches, and the calling thread
//!    writes the batches back in input order. At most [`in_flight`] batches exist at a time.

use crate::cluster::PatternModel;
use crate::config::Config;
use crate::model::TemplateId;
use crate::parse::TemplateMiner;
use crate::source::{InputFormat, InputReport, RecordReader};
use anyhow::Context;
use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap};
use std::fs::File;
use std::io::{BufRead, BufReader, Read, Seek, Write};
use std::num::NonZeroUsize;
use std::path::PathBuf;

/// Lines per batch in the writing pass: large enough that handing a batch between threads
/// costs little next to matching it, small enough that a few batches stay a few megabytes.
const BATCH_LINES: usize = 4096;

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
    let report = if threads == 1 {
        learn_sequential(reader, &mut miner)?
    } else {
        learn_pipelined(reader, &mut miner)?
    };
    bar.finish_and_clear();

    let templates = miner.templates();
    let patterns = PatternModel::fit(&templates, &config.vectorize, &config.patterns);
    let render = Render::new(&miner, &patterns);

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
    let mut lines = Lines::new(reader);
    let mut out = super::open_output(args.output.as_deref())?;
    let unmatched = if threads == 1 {
        write_sequential(&mut lines, &render, &mut out)?
    } else {
        write_parallel(&mut lines, &render, &mut out, threads)?
    };
    out.flush()?;
    bar.finish_and_clear();
    if lines.next_line - 1 != report.lines {
        anyhow::bail!(
            "{} changed while it was parsed: {} lines when learning, {} when writing",
            args.input.display(),
            report.lines,
            lines.next_line - 1
        );
    }
    if !report.is_clean() {
        eprintln!("{}", report.summary());
    }
    if unmatched > 0 {
        eprintln!("{unmatched} lines matched no template when written (template_id: null)");
    }
    Ok(())
}

/// The learning pass on the calling thread alone; returns what the reader saw.
fn learn_sequential(
    mut reader: super::Records,
    miner: &mut TemplateMiner,
) -> anyhow::Result<InputReport> {
    while let Some(rec) = reader.next_record()? {
        miner.add(&rec.message);
    }
    Ok(reader.into_report())
}

/// The learning pass with the reading (UTF-8 checks, line limits, the copy of stdin) on a
/// thread of its own, handing batches of messages to the calling thread, which learns; returns
/// what the reader saw. Learning itself stays sequential: every message may change the
/// templates the next one meets.
fn learn_pipelined(
    mut reader: super::Records,
    miner: &mut TemplateMiner,
) -> anyhow::Result<InputReport> {
    // Two batches queued: the reader runs ahead of the miner by that much, no more.
    let (tx, rx) = crossbeam_channel::bounded::<Vec<String>>(2);
    std::thread::scope(|s| {
        let reading = s.spawn(move || -> anyhow::Result<InputReport> {
            let mut batch = Vec::with_capacity(BATCH_LINES);
            while let Some(rec) = reader.next_record()? {
                batch.push(rec.message);
                if batch.len() == BATCH_LINES {
                    let full = std::mem::replace(&mut batch, Vec::with_capacity(BATCH_LINES));
                    // The receiver lives until every batch has been taken.
                    tx.send(full)?;
                }
            }
            tx.send(batch)?;
            Ok(reader.into_report())
        });
        for batch in rx {
            for message in &batch {
                miner.add(message);
            }
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

/// One input line of the writing pass: its number (1-based) and its message, or `None` for a
/// line the reader rejected.
type Line = (u64, Option<String>);

/// The input of the writing pass as runs of consecutive lines, with the lines the reader
/// rejected put back at their place.
struct Lines<R> {
    /// The records.
    reader: RecordReader<R>,
    /// The number of the next line to hand out.
    next_line: u64,
    /// A record read but not handed out yet (it comes after rejected lines), with its number.
    held: Option<(u64, String)>,
    /// The number of lines in the input, once the reader reached its end.
    end: Option<u64>,
}

impl<R: BufRead> Lines<R> {
    /// Lines of `reader`, from the first.
    fn new(reader: RecordReader<R>) -> Self {
        Lines {
            reader,
            next_line: 1,
            held: None,
            end: None,
        }
    }

    /// The next run of at most [`BATCH_LINES`] lines; `None` after the last line.
    fn next_batch(&mut self) -> anyhow::Result<Option<Vec<Line>>> {
        let mut batch = Vec::with_capacity(BATCH_LINES);
        while batch.len() < BATCH_LINES {
            if self.held.is_none() && self.end.is_none() {
                match self.reader.next_record()? {
                    Some(rec) => self.held = Some((self.reader.line_no(), rec.message)),
                    None => self.end = Some(self.reader.line_no()),
                }
            }
            // The number of the next line that is a record (one past the last line at the
            // end); the lines before it were rejected.
            let record_line = self
                .held
                .as_ref()
                .map_or(self.end.unwrap_or(0) + 1, |(n, _)| *n);
            if self.next_line < record_line {
                batch.push((self.next_line, None));
                self.next_line += 1;
                continue;
            }
            let Some((n, message)) = self.held.take() else {
                break;
            };
            batch.push((n, Some(message)));
            self.next_line = n + 1;
        }
        Ok((!batch.is_empty()).then_some(batch))
    }
}

/// What a template contributes to the object of each of its lines.
#[derive(Debug, Clone)]
struct Known<'a> {
    /// The template id as written (`t` and hex digits).
    id: String,
    /// The template text.
    text: &'a str,
    /// The pattern id as written; `None` for a noise template.
    pattern: Option<String>,
}

/// Turns lines into NDJSON with the learnt templates; shared read-only by the workers.
struct Render<'a> {
    /// The miner after the learning pass.
    miner: &'a TemplateMiner,
    /// The patterns of its templates.
    patterns: &'a PatternModel,
    /// Every live template, ready to write.
    known: HashMap<TemplateId, Known<'a>>,
}

/// The object of a line that has a message. The keys are in alphabetical order because that
/// is the order `serde_json::json!` wrote them in before this struct, and output must not
/// change.
#[derive(serde::Serialize)]
struct LineOut<'a> {
    /// The line number (1-based).
    line: u64,
    /// The message as read (control characters replaced, cut to `input.max_message_bytes`).
    message: &'a str,
    /// The pattern of the template; `null` for a noise template or no template.
    pattern_id: Option<&'a str>,
    /// The template text; `null` when no template matched.
    template: Option<&'a str>,
    /// The final template id; `null` when no template matched.
    template_id: Option<&'a str>,
}

/// The object of a line the reader rejected.
#[derive(serde::Serialize)]
struct RejectedOut {
    /// The line number (1-based).
    line: u64,
    /// Always `true`.
    rejected: bool,
}

impl<'a> Render<'a> {
    /// A renderer over the learnt `miner` and the `patterns` of its templates.
    fn new(miner: &'a TemplateMiner, patterns: &'a PatternModel) -> Self {
        let known = miner
            .templates()
            .into_iter()
            .map(|(id, _, _)| (id, Self::describe(miner, patterns, id)))
            .collect();
        Render {
            miner,
            patterns,
            known,
        }
    }

    /// What template `id` contributes to its lines' objects.
    fn describe(miner: &'a TemplateMiner, patterns: &PatternModel, id: TemplateId) -> Known<'a> {
        Known {
            id: id.to_string(),
            text: miner.template(id).unwrap_or_default(),
            pattern: patterns.pattern_of(id).map(|p| p.to_string()),
        }
    }

    /// Append one NDJSON object per line of `lines` to `out`; returns how many lines matched
    /// no template.
    fn batch(&self, lines: &[Line], out: &mut Vec<u8>) -> anyhow::Result<u64> {
        let mut unmatched = 0;
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
                Some(message) => match self.miner.match_message(message) {
                    Some(parsed) => {
                        let id = self.miner.resolve(parsed.template_id);
                        // Every live template is known; an id that is not (which would be a
                        // miner bug) is described on the spot rather than dropped.
                        let known = match self.known.get(&id) {
                            Some(k) => Cow::Borrowed(k),
                            None => Cow::Owned(Self::describe(self.miner, self.patterns, id)),
                        };
                        let obj = LineOut {
                            line,
                            message,
                            pattern_id: known.pattern.as_deref(),
                            template: Some(known.text),
                            template_id: Some(&known.id),
                        };
                        serde_json::to_writer(&mut *out, &obj)?;
                    }
                    None => {
                        unmatched += 1;
                        let obj = LineOut {
                            line,
                            message,
                            pattern_id: None,
                            template: None,
                            template_id: None,
                        };
                        serde_json::to_writer(&mut *out, &obj)?;
                    }
                },
            }
            out.push(b'\n');
        }
        Ok(unmatched)
    }
}

/// The writing pass on the calling thread alone; returns the lines that matched no template.
fn write_sequential<R: BufRead>(
    lines: &mut Lines<R>,
    render: &Render,
    out: &mut dyn Write,
) -> anyhow::Result<u64> {
    let mut unmatched = 0;
    let mut buf = Vec::new();
    while let Some(batch) = lines.next_batch()? {
        buf.clear();
        unmatched += render.batch(&batch, &mut buf)?;
        out.write_all(&buf)?;
    }
    Ok(unmatched)
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
    /// Its lines that matched no template.
    unmatched: u64,
}

/// The writing pass as a pipeline of a reader thread, `threads` workers and the calling thread
/// as writer; returns the lines that matched no template.
fn write_parallel<R: BufRead + Send>(
    lines: &mut Lines<R>,
    render: &Render,
    out: &mut dyn Write,
    threads: usize,
) -> anyhow::Result<u64> {
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
                    let done = render.batch(&batch, &mut bytes).map(|unmatched| Done {
                        seq,
                        bytes,
                        unmatched,
                    });
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
/// written; returns the lines that matched no template. Returning (on an error too) drops
/// both channels, which stops the reader and the workers.
fn write_in_order(
    done: crossbeam_channel::Receiver<anyhow::Result<Done>>,
    slots: crossbeam_channel::Sender<()>,
    out: &mut dyn Write,
) -> anyhow::Result<u64> {
    let mut waiting = BTreeMap::new();
    let mut next = 0;
    let mut unmatched = 0;
    for d in done {
        let d = d?;
        waiting.insert(d.seq, d);
        while let Some(d) = waiting.remove(&next) {
            out.write_all(&d.bytes)?;
            unmatched += d.unmatched;
            next += 1;
            // The reader may have stopped already; then nobody needs the slot.
            let _ = slots.send(());
        }
    }
    if !waiting.is_empty() {
        anyhow::bail!("internal error: batch {next} of the output never came");
    }
    Ok(unmatched)
}
