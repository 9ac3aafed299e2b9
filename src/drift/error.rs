use std::path::PathBuf;
use thiserror::Error;

/// Which of the two frames an error or a note is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum Frame {
    /// The reference (baseline) frame.
    Reference,
    /// The current (production) frame.
    Current,
}

impl std::fmt::Display for Frame {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Frame::Reference => "reference",
            Frame::Current => "current",
        })
    }
}

/// Errors of the drift detector: unusable input. Problems with a single column never abort a
/// report; they give that column `status: "skipped"` and a `reason` instead.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum DriftError {
    /// A frame has no rows or no columns.
    #[error("{frame} frame is empty (no rows or no columns)")]
    EmptyFrame {
        /// The empty frame.
        frame: Frame,
    },
    /// The two frames share no column name.
    #[error("reference and current frames have no column in common")]
    NoCommonColumns,
    /// An option is out of its domain (a threshold or drift share that is not finite, a
    /// drift share outside `[0, 1]`, an unknown test name).
    #[error("invalid option `{name}`: {reason}")]
    InvalidOption {
        /// The option.
        name: &'static str,
        /// Why it is invalid.
        reason: String,
    },
    /// A file could not be opened or read.
    #[error("cannot read {}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// A report file could not be written.
    #[error("cannot write {}", path.display())]
    Write {
        /// The file.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// A reference profile file is not valid JSON of the profile format.
    #[error("{} is not a readable recwatch reference profile", path.display())]
    BadProfile {
        /// The file.
        path: PathBuf,
        /// The underlying JSON error.
        #[source]
        source: serde_json::Error,
    },
    /// A file is not a recwatch reference profile, or of a version this build does not read.
    #[error("{} is not a recwatch reference profile of version 1 or 2 (found version {version:?})", path.display())]
    UnsupportedProfile {
        /// The file.
        path: PathBuf,
        /// The version the file names, if any.
        version: Option<u64>,
    },
    /// Two reference profiles cannot be merged (different modes or columns).
    #[error("the reference profiles cannot be merged: {reason}")]
    ProfileMismatch {
        /// What differs.
        reason: String,
    },
    /// A file that should be Parquet is not (bad magic bytes, truncated).
    #[error("{} is not a Parquet file", path.display())]
    NotParquet {
        /// The file.
        path: PathBuf,
    },
    /// polars failed to scan or collect a file or frame.
    #[error("{context}")]
    Polars {
        /// What was being done (names the file when there is one).
        context: String,
        /// The underlying polars error.
        #[source]
        source: polars::error::PolarsError,
    },
    /// A background thread of the drift monitor could not be started.
    #[error("cannot start a drift monitor thread")]
    Spawn {
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// The drift monitor's threads were still running when the shutdown timeout passed.
    #[error("drift monitor did not stop within {timeout:?}")]
    ShutdownTimeout {
        /// The timeout that passed.
        timeout: std::time::Duration,
    },
    /// polars panicked while reading a file's schema (a data type this build cannot represent).
    #[error("cannot read {}: {detail}", path.display())]
    UnreadableFile {
        /// The file.
        path: PathBuf,
        /// What the reader reported (its panic message; there is no error value to keep).
        detail: String,
    },
}

/// Formats an error and its chain of sources on one line, `outer: inner: …`.
///
/// recwatch's errors keep the cause out of their own message (it is their
/// [`source`](std::error::Error::source)); this joins them for a log line or a CLI.
///
/// ```
/// use recwatch::drift::{error_chain, DriftError};
/// let e = DriftError::Io {
///     path: "ref.parquet".into(),
///     source: std::io::Error::from(std::io::ErrorKind::NotFound),
/// };
/// assert_eq!(error_chain(&e), "cannot read ref.parquet: entity not found");
/// ```
pub fn error_chain(e: &dyn std::error::Error) -> String {
    let mut out = e.to_string();
    let mut cur = e.source();
    while let Some(s) = cur {
        let msg = s.to_string();
        if !out.ends_with(&msg) {
            out.push_str(": ");
            out.push_str(&msg);
        }
        cur = s.source();
    }
    out
}
