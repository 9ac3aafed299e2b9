//! Experiment tracking: runs, parameters, per-step metrics, plots and images in the tracking
//! engines teams already use. recwatch is only their client: several training processes log to
//! one MLflow server or W&B project, which is the shared store.
//!
//! - [`mlflow`] (feature `tracking`): an MLflow client that logs through a bounded background
//!   worker (batching, retries, an on-disk journal that is replayed when the server is back),
//!   and [`plots`] of model performance logged as run artifacts.
//! - [`wandb`] (feature `wandb`): Weights & Biases offline runs that the official `wandb` tools
//!   read and `wandb sync` uploads.

#[cfg(feature = "tracking")]
mod error;
#[cfg(feature = "tracking")]
pub mod mlflow;
#[cfg(feature = "tracking")]
pub mod plots;
#[cfg(feature = "wandb")]
pub mod wandb;

#[cfg(feature = "tracking")]
pub use error::{ApiError, KeyProblem, PlotError, TrackingError};
#[cfg(feature = "tracking")]
pub use mlflow::sanitize_key;
