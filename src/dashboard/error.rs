//! The dashboard's error type.

use std::time::Duration;

/// Errors from building the dashboard or running its sampler.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use recwatch::dashboard::DashboardBuilder;
/// use recwatch::DashboardError;
///
/// let (_recorder, metrics) = recwatch::exporter::ExporterBuilder::new().build();
/// let err = DashboardBuilder::new(metrics)
///     .with_step(Duration::from_millis(10))
///     .build()
///     .unwrap_err();
/// assert!(matches!(err, DashboardError::InvalidStep { .. }));
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DashboardError {
    /// The sampling step is under one second.
    #[error("the dashboard's sampling step must be at least 1 s, got {step:?}")]
    InvalidStep {
        /// The rejected step.
        step: Duration,
    },
    /// The retention holds no full step, or more than [`MAX_SAMPLES`](super::MAX_SAMPLES).
    #[error(
        "the dashboard's retention ({retention:?}) must hold between 1 and 100000 steps of {step:?}"
    )]
    InvalidRetention {
        /// The rejected retention.
        retention: Duration,
        /// The step it was combined with.
        step: Duration,
    },
    /// The Prometheus URL does not parse.
    #[error("invalid Prometheus URL `{url}`")]
    InvalidPrometheusUrl {
        /// The rejected URL.
        url: String,
        /// Why it does not parse.
        #[source]
        source: url::ParseError,
    },
    /// The Prometheus URL is not `http://` (TLS is not built in: reach Prometheus over the
    /// cluster network or a local proxy).
    #[error("the Prometheus URL must use http://, not {scheme}://")]
    UnsupportedScheme {
        /// The rejected scheme.
        scheme: String,
    },
    /// The HTTP client for Prometheus could not be built.
    #[error("could not build the Prometheus HTTP client")]
    HttpClient(#[source] reqwest::Error),
    /// The sampler thread could not be started.
    #[error("could not start the dashboard sampler thread")]
    Spawn(#[source] std::io::Error),
    /// The sampler did not stop within the timeout given to
    /// [`DashboardHandle::shutdown`](super::DashboardHandle::shutdown); it stops after its
    /// current sample.
    #[error("the dashboard sampler did not stop within {timeout:?}")]
    ShutdownTimedOut {
        /// The timeout that passed.
        timeout: Duration,
    },
    /// The sampler thread panicked (a metrics collector it ran panicked).
    #[error("the dashboard sampler thread panicked")]
    Panicked,
}
