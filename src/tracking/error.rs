//! The error type of `recwatch::tracking`.

use std::path::PathBuf;
use std::time::Duration;

/// An error answer from the tracking server (an HTTP status and MLflow's `error_code`).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[non_exhaustive]
pub struct ApiError {
    /// HTTP status.
    pub status: u16,
    /// MLflow's `error_code` (`INVALID_PARAMETER_VALUE`, `RESOURCE_ALREADY_EXISTS`, …), empty when
    /// the body was not an MLflow error.
    pub error_code: String,
    /// The server's message.
    pub message: String,
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "HTTP {} {}: {}",
            self.status, self.error_code, self.message
        )
    }
}

impl std::error::Error for ApiError {}

/// What is wrong with a metric, param or tag key (mirrors the MLflow server's checks).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum KeyProblem {
    /// The key is empty.
    #[error("the key is empty")]
    Empty,
    /// A character outside letters, digits, `_`, `-`, `.`, space, `:` and `/` (the server
    /// rejects `ndcg@10`; see [`sanitize_key`](super::sanitize_key)).
    #[error("character {0:?} is not allowed (letters, digits, _ - . space : / only)")]
    Character(char),
    /// The key would not name one file (`/a`, `a/`, `a//b`, `./a`, `a/../b`).
    #[error("the key is not a normalised relative path")]
    Path,
    /// Longer than the server's 250 characters.
    #[error("the key has {0} characters, over the limit of 250")]
    TooLong(usize),
}

/// Why an experiment-tracking call failed.
///
/// # Examples
///
/// ```
/// use recwatch::tracking::mlflow::MlflowConfig;
/// use recwatch::TrackingError;
///
/// let err = MlflowConfig::new().with_tracking_uri("file:///tmp/mlruns").unwrap_err();
/// assert!(matches!(err, TrackingError::UnsupportedUri { .. }));
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TrackingError {
    /// A metric, param or tag key the server would reject.
    #[error("invalid {what} key {key:?}")]
    InvalidKey {
        /// `metric`, `param`, `tag` or `artifact path`.
        what: &'static str,
        /// The key.
        key: String,
        /// What is wrong with it.
        #[source]
        problem: KeyProblem,
    },
    /// A param or tag value over the server's length limit (never truncated silently).
    #[error("{what} {key:?} has a value of {len} characters, over the server's limit of {limit}")]
    ValueTooLong {
        /// `param`, `tag` or `run name`.
        what: &'static str,
        /// The key.
        key: String,
        /// The value's length in characters.
        len: usize,
        /// The limit.
        limit: usize,
    },
    /// A run status that cannot end a run.
    #[error("a run cannot end with status {0:?}")]
    InvalidStatus(super::mlflow::RunStatus),
    /// The tracking URI is not an `http://` URI (MLflow's `file:`/database stores and `https://`
    /// are not supported by this client).
    #[error("tracking URI {uri:?} is not supported (use http://host:port)")]
    UnsupportedUri {
        /// The URI.
        uri: String,
    },
    /// An `MLFLOW_*` environment variable has a value that cannot be used.
    #[error("environment variable {name} has an invalid value {value:?}")]
    InvalidEnv {
        /// The variable.
        name: &'static str,
        /// Its value.
        value: String,
    },
    /// The HTTP client could not be built.
    #[error("cannot build the HTTP client")]
    Client(#[source] reqwest::Error),
    /// The worker thread could not be started.
    #[error("cannot start the tracking worker thread")]
    SpawnThread(#[source] std::io::Error),
    /// The worker's bounded queue is full; the call was not recorded (counted in
    /// `recwatch_tracking_dropped_total`).
    #[error("the tracking queue is full ({capacity} operations)")]
    QueueFull {
        /// The queue's capacity.
        capacity: usize,
    },
    /// The worker has stopped (the tracker was shut down or dropped).
    #[error("the tracking worker has stopped")]
    Stopped,
    /// The worker did not finish within the timeout.
    #[error("the tracking worker did not finish within {0:?}")]
    Timeout(Duration),
    /// The server rejected operations (permanently; retrying would not help). `count` were
    /// rejected since the last flush; the first one's answer is the source.
    #[error("the tracking server rejected {count} operation(s), the first a {op}")]
    Rejected {
        /// The first rejected operation (`log-batch`, `create-run`, …).
        op: &'static str,
        /// How many were rejected.
        count: usize,
        /// The server's answer.
        #[source]
        source: ApiError,
    },
    /// A request to the server failed (connection, timeout, or an answer that is not MLflow's).
    #[error("request to the tracking server failed")]
    Http(#[source] reqwest::Error),
    /// The journal could not be written or read.
    #[error("journal {path} cannot be used")]
    Journal {
        /// The journal file.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// A journal line is not a valid entry.
    #[error("journal {path} line {line} is not a valid entry")]
    JournalEntry {
        /// The journal file.
        path: PathBuf,
        /// 1-based line number.
        line: usize,
        /// The parse error.
        #[source]
        source: serde_json::Error,
    },
    /// An artifact file could not be read.
    #[error("cannot read artifact file {path}")]
    ReadArtifact {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// A plot could not be drawn.
    #[error("cannot draw plot {name}")]
    Plot {
        /// The plot.
        name: &'static str,
        /// The drawing backend's error.
        #[source]
        source: PlotError,
    },
    /// Plot input is empty, mismatched or not finite.
    #[error("cannot plot the data")]
    PlotData(#[source] crate::quality::QualityError),
}

/// A drawing error from the plotting backend.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct PlotError(pub(crate) String);
