//! Crate-level error types, one enum per capability.
//!
//! Every enum is `#[non_exhaustive]` so new failure modes can be added without a breaking
//! change; match with a wildcard arm.

use std::net::SocketAddr;

/// Errors from building or installing the Prometheus exporter, or from serving `/metrics`.
///
/// # Examples
///
/// ```
/// use recwatch::exporter::ExporterBuilder;
/// use recwatch::ExporterError;
///
/// let err = ExporterBuilder::new()
///     .with_request_buckets(&[1.0, 0.5])
///     .unwrap_err();
/// assert!(matches!(err, ExporterError::InvalidBuckets { .. }));
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ExporterError {
    /// A global metrics recorder was already installed (by recwatch or by another library).
    ///
    /// The recorder that was installed first stays in place and keeps everything it recorded.
    #[error("a global metrics recorder is already installed")]
    AlreadyInstalled,
    /// A histogram bucket layout was rejected.
    #[error("invalid histogram buckets for `{metric}`: {reason}")]
    InvalidBuckets {
        /// The metric (or layout) the buckets were meant for.
        metric: String,
        /// Why they were rejected.
        reason: &'static str,
    },
    /// A global label name is not a valid Prometheus label name.
    #[error(
        "invalid label name `{name}`: must match [a-zA-Z_][a-zA-Z0-9_]* and not start with `__`"
    )]
    InvalidLabelName {
        /// The rejected name.
        name: String,
    },
    /// The standalone `/metrics` listener could not bind its address.
    #[error("could not bind the metrics listener to {addr}")]
    Bind {
        /// The address that was requested.
        addr: SocketAddr,
        /// The underlying I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The standalone listener was started outside a Tokio runtime.
    #[error("the metrics listener must be started from within a Tokio runtime")]
    NoRuntime,
    /// The standalone listener still had scrapes in progress when the shutdown timeout passed.
    #[error("the metrics listener did not stop within {timeout:?}")]
    ShutdownTimedOut {
        /// The timeout that passed.
        timeout: std::time::Duration,
    },
}
