//! Sinks: where anomaly documents go.
//!
//! Owns: the NDJSON file/stdout writer. Documents are written in the order given, one JSON
//! object per line, in the shape of [`Anomaly`](crate::model::Anomaly).

use crate::model::Anomaly;
use std::io::{self, Write};

/// Writes anomaly documents as NDJSON.
pub struct NdjsonSink<W: Write> {
    out: W,
    written: u64,
}

impl<W: Write> NdjsonSink<W> {
    /// A sink writing to `out`.
    pub fn new(out: W) -> Self {
        NdjsonSink { out, written: 0 }
    }

    /// Write one document.
    pub fn write(&mut self, a: &Anomaly) -> io::Result<()> {
        serde_json::to_writer(&mut self.out, a)?;
        self.out.write_all(b"\n")?;
        self.written += 1;
        Ok(())
    }

    /// How many documents were written.
    pub fn written(&self) -> u64 {
        self.written
    }

    /// Flush and return the writer.
    pub fn finish(mut self) -> io::Result<W> {
        self.out.flush()?;
        Ok(self.out)
    }
}
