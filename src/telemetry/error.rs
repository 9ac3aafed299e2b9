//! The error type of [`crate::telemetry`].

/// Why telemetry could not be configured ([`TelemetryConfig::from_env`]), built
/// ([`TelemetryConfig::build`]), installed ([`TelemetryConfig::install`]) or shut down
/// ([`Guard::shutdown`]).
///
/// Every variant names the setting at fault; nothing here panics on bad configuration. The
/// message says what failed; `source()`, where there is one, says why.
///
/// [`TelemetryConfig::from_env`]: crate::telemetry::TelemetryConfig::from_env
/// [`TelemetryConfig::build`]: crate::telemetry::TelemetryConfig::build
/// [`TelemetryConfig::install`]: crate::telemetry::TelemetryConfig::install
/// [`Guard::shutdown`]: crate::telemetry::Guard::shutdown
///
/// ```
/// use recwatch::telemetry::{TelemetryConfig, TelemetryError};
///
/// let err = TelemetryConfig::new()
///     .with_otlp_endpoint("collector:4318")
///     .build()
///     .unwrap_err();
/// assert!(matches!(err, TelemetryError::EndpointNotHttp { .. }));
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TelemetryError {
    /// The log filter (`RUST_LOG` or [`with_filter`](crate::telemetry::TelemetryConfig::with_filter))
    /// is not a valid `tracing-subscriber` directive list.
    #[error("invalid log filter `{filter}`")]
    InvalidFilter {
        /// The filter text as given.
        filter: String,
        /// What the directive parser rejected.
        #[source]
        source: tracing_subscriber::filter::ParseError,
    },

    /// An OTLP endpoint is not a valid URI.
    #[error("invalid OTLP endpoint `{endpoint}` (from {origin})")]
    InvalidEndpoint {
        /// The endpoint as given.
        endpoint: String,
        /// Where it came from: the variable name, or `config`.
        origin: &'static str,
        /// What the URI parser rejected.
        #[source]
        source: http::uri::InvalidUri,
    },

    /// An OTLP endpoint is a valid URI but not an absolute `http://` or `https://` URL.
    #[error(
        "OTLP endpoint `{endpoint}` (from {origin}) must be an absolute http:// or https:// URL"
    )]
    EndpointNotHttp {
        /// The endpoint as given.
        endpoint: String,
        /// Where it came from: the variable name, or `config`.
        origin: &'static str,
    },

    /// `OTEL_EXPORTER_OTLP_PROTOCOL` (or the traces/logs variant) names a protocol recwatch does
    /// not speak. Supported: `http/protobuf`, `grpc`.
    #[error("unsupported OTLP protocol `{value}` (supported: http/protobuf, grpc)")]
    UnknownProtocol {
        /// The value as given.
        value: String,
    },

    /// `RECWATCH_LOG_FORMAT` is not one of `json`, `ecs`, `human`, `off`.
    #[error("unknown log format `{value}` (supported: json, ecs, human, off)")]
    UnknownLogFormat {
        /// The value as given.
        value: String,
    },

    /// `OTEL_TRACES_SAMPLER` names a sampler recwatch does not support.
    #[error("unsupported trace sampler `{value}`")]
    UnknownSampler {
        /// The value as given.
        value: String,
    },

    /// `OTEL_TRACES_SAMPLER_ARG` is not a ratio in `0.0..=1.0`.
    #[error("invalid OTEL_TRACES_SAMPLER_ARG `{value}`: expected a ratio between 0 and 1")]
    InvalidSamplerArg {
        /// The value as given.
        value: String,
    },

    /// An environment variable recwatch reads holds bytes that are not UTF-8.
    #[error("environment variable {name} is not valid UTF-8")]
    NotUnicode {
        /// The variable's name.
        name: &'static str,
    },

    /// gRPC export was asked for outside a Tokio runtime: the tonic channel needs one.
    #[error("OTLP over gRPC needs a Tokio runtime: build inside one")]
    NoRuntime {
        /// Tokio's explanation.
        #[source]
        source: tokio::runtime::TryCurrentError,
    },

    /// The OTLP exporter could not be built.
    #[error("could not build the OTLP {signal} exporter")]
    Exporter {
        /// `traces` or `logs`.
        signal: &'static str,
        /// The exporter's own error.
        #[source]
        source: opentelemetry_otlp::ExporterBuildError,
    },

    /// Another global `tracing` subscriber is already installed (by the application or a test
    /// harness); recwatch leaves it in place.
    #[error("a global tracing subscriber is already set")]
    SubscriberAlreadySet {
        /// tracing's error.
        #[source]
        source: tracing::subscriber::SetGlobalDefaultError,
    },

    /// The thread that writes log lines could not be started.
    #[error("could not start the log writer thread")]
    LogWriterThread {
        /// The OS error.
        #[source]
        source: std::io::Error,
    },

    /// Flushing or shutting down an exporter failed.
    #[error("could not flush or shut down the {signal} pipeline")]
    Shutdown {
        /// `traces` or `logs`.
        signal: &'static str,
        /// The SDK's error.
        #[source]
        source: opentelemetry_sdk::error::OTelSdkError,
    },

    /// A flush or shutdown ran past its bounded wait (a collector that does not answer, an
    /// output that does not drain).
    #[error("the {signal} pipeline did not flush within {timeout:?}")]
    ShutdownTimedOut {
        /// `traces`, `logs` or `log lines` (the local output).
        signal: &'static str,
        /// The wait that ran out.
        timeout: std::time::Duration,
    },
}
