//! Experiment tracking from training loops (feature `tracking`): an [`mlflow`] client that logs
//! through a bounded background worker (batching, retries, an on-disk journal that is replayed
//! when the server is back), and [`plots`] of model performance logged as run artifacts.
//!
//! Several training processes log to one MLflow server, which is the shared store: recwatch is
//! only its client. See the [`mlflow`] module for an example.

mod error;
pub mod mlflow;
pub mod plots;

pub use error::{ApiError, KeyProblem, PlotError, TrackingError};
pub use mlflow::sanitize_key;
