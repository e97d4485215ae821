//! `logwarden parse`: plain lines in, one NDJSON object per line out, in input order, with
//! the line's template and the pattern its template belongs to (`null` for noise templates).

use crate::cluster::PatternModel;
use crate::config::Config;
use crate::model::TemplateId;
use crate::parse::TemplateMiner;
use crate::source::InputFormat;
use std::io::Write;
use std::path::PathBuf;

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
}

/// Run `parse`: learn templates over the whole input, then write every line with the final id
/// of its template (after any generalisation), so the ids are consistent across the output.
pub fn run(config: &Config, args: ParseArgs) -> anyhow::Result<()> {
    let (mut reader, bar) = super::open_records(
        config,
        &args.input,
        InputFormat::Plain,
        args.strict,
        "parsing",
    )?;
    let mut miner = TemplateMiner::new(config.parse.clone());
    // A line the reader rejected (e.g. longer than `input.max_line_bytes`) still gets its
    // object in the output, so output line N always describes input line N.
    let mut lines: Vec<Option<(String, TemplateId)>> = Vec::new();
    while let Some(rec) = reader.next_record()? {
        let parsed = miner.add(&rec.message);
        lines.resize(reader.line_no() as usize - 1, None);
        lines.push(Some((rec.message, parsed.template_id)));
    }
    lines.resize(reader.line_no() as usize, None);
    bar.finish_and_clear();
    let templates = miner.templates();
    let patterns = PatternModel::fit(&templates, &config.vectorize, &config.patterns);
    let mut out = super::open_output(args.output.as_deref())?;
    for (i, line) in lines.iter().enumerate() {
        let Some((message, id)) = line else {
            let obj = serde_json::json!({"line": i + 1, "rejected": true});
            serde_json::to_writer(&mut out, &obj)?;
            out.write_all(b"\n")?;
            continue;
        };
        let id = miner.resolve(*id);
        let obj = serde_json::json!({
            "line": i + 1,
            "message": message,
            "template_id": id.to_string(),
            "template": miner.template(id).unwrap_or_default(),
            "pattern_id": patterns.pattern_of(id).map(|p| p.to_string()),
        });
        serde_json::to_writer(&mut out, &obj)?;
        out.write_all(b"\n")?;
    }
    out.flush()?;
    let report = reader.into_report();
    if !report.is_clean() {
        eprintln!("{}", report.summary());
    }
    Ok(())
}
