//! Crate-level error types.

/// Errors from building or installing the Prometheus exporter.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ExporterError {
    /// A global metrics recorder was already installed.
    #[error("a global metrics recorder is already installed")]
    AlreadyInstalled,
}
