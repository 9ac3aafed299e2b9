//! Experiment tracking: runs, parameters, per-step metrics and images in the tracking engines
//! teams already use.
//!
//! - [`wandb`] (feature `wandb`): Weights & Biases offline runs that the official `wandb` tools
//!   read and `wandb sync` uploads.

#[cfg(feature = "wandb")]
pub mod wandb;
