//! State: versioned model files.
//!
//! A model file is two parts: a one-line JSON header naming the format and its version, then
//! the model body as JSON. The header is read first, so a model written by another format
//! version gives a clear error instead of a confusing deserialization failure.

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use std::fs::File;
use std::io::{self, BufRead, BufReader, BufWriter, Write};
use std::path::Path;

/// The format name in every model file header.
pub const MODEL_FORMAT: &str = "logwarden-model";
/// The model file format this build reads and writes. Bump on any incompatible change.
///
/// 2: quoted values mask to one variable and routing positions can become variables, so the
/// templates of a version 1 model no longer match what the miner makes of the same lines.
pub const MODEL_FORMAT_VERSION: u32 = 2;

/// The first line of a model file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelHeader {
    /// Always [`MODEL_FORMAT`].
    pub format: String,
    /// The format version.
    pub format_version: u32,
    /// The logwarden version that wrote it.
    pub written_by: String,
    /// The model version id (also written into anomalies as `model.version`).
    pub model_version: String,
}

/// Errors loading or saving a model.
#[derive(Debug, thiserror::Error)]
pub enum ModelError {
    /// The file could not be read or written.
    #[error("model file {path}: {cause}")]
    Io {
        /// The file.
        path: String,
        /// The cause (in the message, so not also chained as a source).
        cause: io::Error,
    },
    /// Not a logwarden model.
    #[error("model file {path} is not a logwarden model: {message}")]
    NotAModel {
        /// The file.
        path: String,
        /// What was found instead.
        message: String,
    },
    /// Written by an incompatible format version.
    #[error("model file {path} has format version {found}, this logwarden (v{ours}) reads version {expected}: retrain with `logwarden train`")]
    Version {
        /// The file.
        path: String,
        /// Its version.
        found: u32,
        /// The version this build reads.
        expected: u32,
        /// This build's package version.
        ours: &'static str,
    },
    /// The body is damaged.
    #[error("model file {path} is damaged: {message}")]
    Corrupt {
        /// The file.
        path: String,
        /// The parser's message.
        message: String,
    },
}

/// Save a model body under a header.
pub fn save<T: Serialize>(path: &Path, model_version: &str, body: &T) -> Result<(), ModelError> {
    let io_err = |cause| ModelError::Io {
        path: path.display().to_string(),
        cause,
    };
    let header = ModelHeader {
        format: MODEL_FORMAT.to_string(),
        format_version: MODEL_FORMAT_VERSION,
        written_by: env!("CARGO_PKG_VERSION").to_string(),
        model_version: model_version.to_string(),
    };
    // Write to a temporary file and rename, so a crash never leaves half a model.
    let tmp = path.with_extension("tmp");
    let mut w = BufWriter::new(File::create(&tmp).map_err(io_err)?);
    serde_json::to_writer(&mut w, &header).map_err(|e| io_err(e.into()))?;
    w.write_all(b"\n").map_err(io_err)?;
    serde_json::to_writer(&mut w, body).map_err(|e| io_err(e.into()))?;
    w.write_all(b"\n").map_err(io_err)?;
    w.into_inner()
        .map_err(|e| io_err(e.into_error()))?
        .sync_all()
        .map_err(io_err)?;
    std::fs::rename(&tmp, path).map_err(io_err)
}

/// Load a model body, checking the header first.
pub fn load<T: DeserializeOwned>(path: &Path) -> Result<(ModelHeader, T), ModelError> {
    let p = path.display().to_string();
    let file = File::open(path).map_err(|cause| ModelError::Io {
        path: p.clone(),
        cause,
    })?;
    let mut r = BufReader::new(file);
    let mut first = String::new();
    r.read_line(&mut first).map_err(|cause| ModelError::Io {
        path: p.clone(),
        cause,
    })?;
    let header: ModelHeader =
        serde_json::from_str(first.trim_end()).map_err(|e| ModelError::NotAModel {
            path: p.clone(),
            message: e.to_string(),
        })?;
    if header.format != MODEL_FORMAT {
        return Err(ModelError::NotAModel {
            path: p,
            message: format!("format is `{}`", header.format),
        });
    }
    if header.format_version != MODEL_FORMAT_VERSION {
        return Err(ModelError::Version {
            path: p,
            found: header.format_version,
            expected: MODEL_FORMAT_VERSION,
            ours: env!("CARGO_PKG_VERSION"),
        });
    }
    let body = serde_json::from_reader(r).map_err(|e| ModelError::Corrupt {
        path: p,
        message: e.to_string(),
    })?;
    Ok((header, body))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_version_check() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("m.json");
        save(&path, "v1", &vec![1u32, 2, 3]).unwrap();
        let (h, body): (ModelHeader, Vec<u32>) = load(&path).unwrap();
        assert_eq!(body, [1, 2, 3]);
        assert_eq!(h.model_version, "v1");

        let text = std::fs::read_to_string(&path).unwrap();
        std::fs::write(
            &path,
            text.replacen(
                &format!("\"format_version\":{MODEL_FORMAT_VERSION}"),
                "\"format_version\":99",
                1,
            ),
        )
        .unwrap();
        let err = load::<Vec<u32>>(&path).unwrap_err().to_string();
        assert!(err.contains("format version 99"), "{err}");

        std::fs::write(&path, "hello\n").unwrap();
        let err = load::<Vec<u32>>(&path).unwrap_err().to_string();
        assert!(err.contains("not a logwarden model"), "{err}");
    }
}
