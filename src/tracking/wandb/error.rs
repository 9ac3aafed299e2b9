//! The W&B capability's error type.

use std::path::PathBuf;
use std::time::Duration;

/// Errors from writing W&B offline runs.
///
/// ```
/// use recwatch::tracking::wandb::{Mode, RunBuilder};
/// use recwatch::WandbError;
///
/// let err = RunBuilder::new().with_mode(Mode::Online).spawn().unwrap_err();
/// assert!(matches!(err, WandbError::OnlineUnsupported));
/// assert!(err.to_string().contains("WANDB_MODE=offline"));
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum WandbError {
    /// Online mode was asked for (`WANDB_MODE=online` or [`Mode::Online`]). recwatch writes W&B
    /// runs offline only; they are uploaded later with the official `wandb sync`.
    ///
    /// [`Mode::Online`]: super::Mode::Online
    #[error(
        "W&B online mode is not supported: recwatch writes offline runs. Set WANDB_MODE=offline \
         (or use Mode::Offline), then upload the run with `wandb sync <dir>/wandb/offline-run-*`"
    )]
    OnlineUnsupported,

    /// `WANDB_MODE` has a value the W&B client does not know.
    #[error("unknown WANDB_MODE `{value}` (expected offline, dryrun, disabled or online)")]
    UnknownMode {
        /// The value found.
        value: String,
    },

    /// The run id (from [`RunBuilder::with_run_id`] or `WANDB_RUN_ID`) cannot be used.
    ///
    /// [`RunBuilder::with_run_id`]: super::RunBuilder::with_run_id
    #[error("invalid W&B run id `{id}`: {reason}")]
    InvalidRunId {
        /// The rejected id.
        id: String,
        /// Why it was rejected.
        reason: &'static str,
    },

    /// A key of a row, the summary or the config cannot be used.
    #[error("invalid W&B key `{key}`: {reason}")]
    InvalidKey {
        /// The rejected key.
        key: String,
        /// Why it was rejected.
        reason: &'static str,
    },

    /// An image could not be used.
    #[error("invalid image: {reason}")]
    InvalidImage {
        /// Why it was rejected.
        reason: &'static str,
    },

    /// An explicit step was not greater than the last logged step. W&B history steps only
    /// increase; log several values of one step in one [`Values`].
    ///
    /// [`Values`]: super::Values
    #[error("step {step} is not after the last logged step {last}")]
    StepNotIncreasing {
        /// The step that was asked for.
        step: u64,
        /// The last step already logged.
        last: u64,
    },

    /// The run directory could not be created.
    #[error("could not create the run directory {path}")]
    CreateDir {
        /// The directory.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },

    /// A file of the run could not be written.
    #[error("could not write {path}")]
    Write {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },

    /// The background writer thread could not be started.
    #[error("could not start the W&B writer thread")]
    SpawnThread(#[source] std::io::Error),

    /// The writer's queue was full, so this entry was dropped rather than block the caller.
    /// The count of dropped entries is in [`FinishReport::dropped`].
    ///
    /// [`FinishReport::dropped`]: super::FinishReport::dropped
    #[error("the W&B writer queue is full; the entry was dropped")]
    QueueFull,

    /// The writer thread has stopped (after a write error, which [`WandbRun::finish`] returns).
    ///
    /// [`WandbRun::finish`]: super::WandbRun::finish
    #[error("the W&B writer has stopped")]
    WriterStopped,

    /// The writer did not finish the run within the timeout given to [`WandbRun::finish`]. It
    /// keeps writing in the background; the log stays readable up to its last complete record.
    ///
    /// [`WandbRun::finish`]: super::WandbRun::finish
    #[error("the W&B writer did not finish within {timeout:?}")]
    FinishTimedOut {
        /// How long finish waited.
        timeout: Duration,
    },

    /// The writer thread panicked.
    #[error("the W&B writer thread panicked")]
    WriterPanicked,
}
