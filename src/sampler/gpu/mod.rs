//! GPU sampling: the [`GpuBackend`] trait and its types, the per-epoch collector and the NVML
//! backend, one file each.
//!
//! The collector initialises its backend once per *epoch* on the sampler thread. Identity
//! (`gpu` index, `uuid`, `name`) is read once per epoch; fast fields every tick; slow fields
//! (temperature, energy, per-process memory) every few ticks. A lifecycle error (GPU lost,
//! driver not loaded, library/driver version mismatch, uninitialised) ends the epoch: the
//! backend is shut down and initialised again after an exponential backoff.

mod collector;
#[cfg(feature = "nvml")]
mod nvml;
mod types;

pub(crate) use collector::GpuCollector;
#[cfg(feature = "nvml")]
pub use nvml::NvmlBackend;
pub use types::{
    GpuAvailability, GpuBackend, GpuDevice, GpuErrorKind, GpuFastReadings, GpuField, GpuProcess,
    GpuSlowReadings,
};
