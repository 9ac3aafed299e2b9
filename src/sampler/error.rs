//! The sampler's error type.

use std::path::PathBuf;
use std::time::Duration;

use super::gpu::GpuErrorKind;

/// Errors from the resource sampler.
///
/// Most errors never reach the caller: a failed reading makes its metric absent and increments
/// `recwatch_sampler_errors_total{collector}`. They are returned by [`SamplerBuilder::spawn`],
/// [`SamplerHandle::shutdown`] and by [`GpuBackend`] implementations.
///
/// [`SamplerBuilder::spawn`]: super::SamplerBuilder::spawn
/// [`SamplerHandle::shutdown`]: super::SamplerHandle::shutdown
/// [`GpuBackend`]: super::GpuBackend
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SamplerError {
    /// The operating system refused to spawn the sampler thread.
    #[error("failed to spawn the sampler thread")]
    Spawn(#[source] std::io::Error),

    /// The sampler thread did not stop within the shutdown timeout (for example because a GPU
    /// driver call hangs). The thread is detached and exits on its own once the call returns.
    #[error("the sampler thread did not stop within {timeout:?}")]
    ShutdownTimedOut {
        /// How long the shutdown waited.
        timeout: Duration,
    },

    /// The sampler thread panicked.
    #[error("the sampler thread panicked")]
    Panicked,

    /// A `/proc` or cgroup file could not be read.
    #[error("failed to read {path}")]
    Read {
        /// The file that could not be read.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },

    /// A `/proc` or cgroup file had content that could not be parsed.
    #[error("unexpected content in {path}: {what}")]
    Parse {
        /// The file with the unexpected content.
        path: PathBuf,
        /// What was expected.
        what: &'static str,
    },

    /// A GPU backend reported an error of the given kind (used by backends other than NVML,
    /// such as test fakes). Build it with [`SamplerError::gpu`] or
    /// [`SamplerError::gpu_with_cause`].
    #[error("GPU backend error: {kind}")]
    Gpu {
        /// What kind of failure it was; decides how the sampler reacts.
        kind: GpuErrorKind,
        /// The backend's own error, if it has one.
        #[source]
        source: Option<GpuBackendCause>,
    },

    /// NVML reported an error.
    #[cfg(feature = "nvml")]
    #[error("NVML error: {kind}")]
    Nvml {
        /// What kind of failure it was; decides how the sampler reacts.
        kind: GpuErrorKind,
        /// The error reported by `nvml-wrapper`.
        #[source]
        source: nvml_wrapper::error::NvmlError,
    },
}

/// The underlying error of a custom [`GpuBackend`](super::GpuBackend), kept as the
/// [`source`](std::error::Error::source) of [`SamplerError::Gpu`].
#[derive(Debug)]
pub struct GpuBackendCause(Box<dyn std::error::Error + Send + Sync + 'static>);

impl std::fmt::Display for GpuBackendCause {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

impl std::error::Error for GpuBackendCause {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.0.source()
    }
}

impl SamplerError {
    /// A GPU backend error of `kind` with no further cause.
    ///
    /// ```
    /// use recwatch::sampler::{GpuErrorKind, SamplerError};
    ///
    /// let err = SamplerError::gpu(GpuErrorKind::GpuLost);
    /// assert!(std::error::Error::source(&err).is_none());
    /// ```
    pub fn gpu(kind: GpuErrorKind) -> Self {
        SamplerError::Gpu { kind, source: None }
    }

    /// A GPU backend error of `kind` caused by the backend's own error, which becomes this
    /// error's [`source`](std::error::Error::source).
    ///
    /// ```
    /// use recwatch::sampler::{GpuErrorKind, SamplerError};
    ///
    /// let io = std::io::Error::other("ioctl failed");
    /// let err = SamplerError::gpu_with_cause(GpuErrorKind::NoData, io);
    /// assert_eq!(err.to_string(), "GPU backend error: no data");
    /// assert_eq!(std::error::Error::source(&err).unwrap().to_string(), "ioctl failed");
    /// ```
    pub fn gpu_with_cause(
        kind: GpuErrorKind,
        cause: impl std::error::Error + Send + Sync + 'static,
    ) -> Self {
        SamplerError::Gpu {
            kind,
            source: Some(GpuBackendCause(Box::new(cause))),
        }
    }

    /// The GPU failure kind, for [`SamplerError::Gpu`] and `SamplerError::Nvml`.
    ///
    /// ```
    /// use recwatch::sampler::{GpuErrorKind, SamplerError};
    ///
    /// let err = SamplerError::gpu(GpuErrorKind::DriverNotLoaded);
    /// assert_eq!(err.gpu_kind(), Some(GpuErrorKind::DriverNotLoaded));
    /// ```
    pub fn gpu_kind(&self) -> Option<GpuErrorKind> {
        match self {
            SamplerError::Gpu { kind, .. } => Some(*kind),
            #[cfg(feature = "nvml")]
            SamplerError::Nvml { kind, .. } => Some(*kind),
            _ => None,
        }
    }

    pub(crate) fn read(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        SamplerError::Read {
            path: path.into(),
            source,
        }
    }

    pub(crate) fn parse(path: impl Into<PathBuf>, what: &'static str) -> Self {
        SamplerError::Parse {
            path: path.into(),
            what,
        }
    }
}
