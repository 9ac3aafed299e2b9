//! [`TelemetryConfig`]: what [`init`](super::init) sets up, resolved against the standard
//! OpenTelemetry environment variables.

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use opentelemetry_sdk::trace::Sampler;
use tracing_subscriber::fmt::writer::BoxMakeWriter;
use tracing_subscriber::fmt::MakeWriter;

use super::TelemetryError;

/// How log lines are written.
///
/// ```
/// use recwatch::telemetry::LogFormat;
///
/// assert_eq!("human".parse::<LogFormat>().unwrap(), LogFormat::Human);
/// assert!("xml".parse::<LogFormat>().is_err());
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum LogFormat {
    /// One JSON object per line with `timestamp`, `level`, `target`, `message`, `fields`,
    /// `trace_id` and `span_id` (the last two when inside a span), for log shippers.
    #[default]
    Json,
    /// tracing-subscriber's human-readable format, for development.
    Human,
    /// No local log output (spans and, if enabled, OTLP logs are still exported).
    Off,
}

impl FromStr for LogFormat {
    type Err = TelemetryError;

    /// Parses `json`, `human` (or `pretty`, `text`) and `off` (or `none`), case-insensitively.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "json" => Ok(Self::Json),
            "human" | "pretty" | "text" => Ok(Self::Human),
            "off" | "none" => Ok(Self::Off),
            _ => Err(TelemetryError::UnknownLogFormat {
                value: s.to_owned(),
            }),
        }
    }
}

/// The OTLP transport.
///
/// ```
/// use recwatch::telemetry::OtlpProtocol;
///
/// assert_eq!("grpc".parse::<OtlpProtocol>().unwrap(), OtlpProtocol::Grpc);
/// assert_eq!(OtlpProtocol::HttpProtobuf.to_string(), "http/protobuf");
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum OtlpProtocol {
    /// Protobuf over HTTP (`http/protobuf`), default port 4318, paths `/v1/traces` and `/v1/logs`.
    HttpProtobuf,
    /// gRPC (`grpc`), default port 4317. Needs a Tokio runtime when [`init`](super::init) runs.
    Grpc,
}

impl FromStr for OtlpProtocol {
    type Err = TelemetryError;

    /// Parses the values of `OTEL_EXPORTER_OTLP_PROTOCOL`: `http/protobuf` and `grpc`.
    /// `http/json` is rejected with [`TelemetryError::UnknownProtocol`].
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim() {
            "http/protobuf" => Ok(Self::HttpProtobuf),
            "grpc" => Ok(Self::Grpc),
            other => Err(TelemetryError::UnknownProtocol {
                value: other.to_owned(),
            }),
        }
    }
}

impl fmt::Display for OtlpProtocol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::HttpProtobuf => "http/protobuf",
            Self::Grpc => "grpc",
        })
    }
}

/// What [`init`](super::init) sets up.
///
/// Every setter documents its default; settings left unset fall back to the standard
/// OpenTelemetry environment variables, read when [`build`](Self::build) runs:
///
/// | variable | effect |
/// |---|---|
/// | `RUST_LOG` | log filter (default `info`) |
/// | `RECWATCH_LOG_FORMAT` | `json` (default), `human`, `off` |
/// | `OTEL_EXPORTER_OTLP_ENDPOINT` | base URL; trace export is on when it (or the traces variant) is set |
/// | `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT` / `_LOGS_ENDPOINT` | full per-signal URL |
/// | `OTEL_EXPORTER_OTLP_PROTOCOL` (and `_TRACES_`/`_LOGS_` variants) | `http/protobuf` (default) or `grpc` |
/// | `OTEL_EXPORTER_OTLP_HEADERS`, `_TIMEOUT`, `_COMPRESSION` | passed to the exporter |
/// | `OTEL_SERVICE_NAME`, `OTEL_RESOURCE_ATTRIBUTES` | resource of every span and log |
/// | `OTEL_TRACES_SAMPLER`, `OTEL_TRACES_SAMPLER_ARG` | sampler (default `parentbased_always_on`) |
/// | `OTEL_TRACES_EXPORTER` | `none` turns trace export off |
/// | `OTEL_LOGS_EXPORTER` | `otlp` turns OTLP log export on |
///
/// ```
/// use recwatch::telemetry::{LogFormat, TelemetryConfig};
///
/// let config = TelemetryConfig::from_env()
///     .with_service_name("recommender")
///     .with_log_format(LogFormat::Human)
///     .with_default_filter("info,recwatch=debug");
/// # let _ = config;
/// ```
pub struct TelemetryConfig {
    pub(crate) service_name: Option<String>,
    pub(crate) filter: Option<String>,
    pub(crate) default_filter: String,
    pub(crate) log_format: Option<LogFormat>,
    pub(crate) writer: Option<BoxMakeWriter>,
    pub(crate) endpoint: Option<String>,
    pub(crate) protocol: Option<OtlpProtocol>,
    pub(crate) export_traces: Option<bool>,
    pub(crate) export_logs: Option<bool>,
    pub(crate) max_queue_size: usize,
    pub(crate) log_queue_size: usize,
    pub(crate) scheduled_delay: Duration,
    pub(crate) shutdown_timeout: Duration,
}

impl fmt::Debug for TelemetryConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TelemetryConfig")
            .field("service_name", &self.service_name)
            .field("filter", &self.filter)
            .field("default_filter", &self.default_filter)
            .field("log_format", &self.log_format)
            .field("custom_writer", &self.writer.is_some())
            .field("endpoint", &self.endpoint)
            .field("protocol", &self.protocol)
            .field("export_traces", &self.export_traces)
            .field("export_logs", &self.export_logs)
            .field("max_queue_size", &self.max_queue_size)
            .field("log_queue_size", &self.log_queue_size)
            .field("scheduled_delay", &self.scheduled_delay)
            .field("shutdown_timeout", &self.shutdown_timeout)
            .finish()
    }
}

impl Default for TelemetryConfig {
    fn default() -> Self {
        Self::from_env()
    }
}

impl TelemetryConfig {
    /// A configuration that takes everything from the environment (see the table above).
    ///
    /// Reading the variables happens in [`build`](Self::build), so setters always win.
    pub fn from_env() -> Self {
        Self {
            service_name: None,
            filter: None,
            default_filter: "info".to_owned(),
            log_format: None,
            writer: None,
            endpoint: None,
            protocol: None,
            export_traces: None,
            export_logs: None,
            max_queue_size: 2048,
            log_queue_size: 8192,
            scheduled_delay: Duration::from_secs(1),
            shutdown_timeout: Duration::from_secs(3),
        }
    }

    /// Sets the `service.name` used when the environment names none: `OTEL_SERVICE_NAME` (or a
    /// `service.name` in `OTEL_RESOURCE_ATTRIBUTES`) wins, so a deployment can rename the service
    /// without a rebuild. Without either, the SDK's `unknown_service:<executable>`.
    pub fn with_service_name(mut self, name: impl Into<String>) -> Self {
        self.service_name = Some(name.into());
        self
    }

    /// Sets the log filter directives, ignoring `RUST_LOG`. Defaults to `RUST_LOG`, then
    /// [`with_default_filter`](Self::with_default_filter).
    pub fn with_filter(mut self, directives: impl Into<String>) -> Self {
        self.filter = Some(directives.into());
        self
    }

    /// Sets the filter used when `RUST_LOG` is unset or empty. Defaults to `info`.
    ///
    /// The filter decides which spans exist at all, so it applies to exported spans too.
    pub fn with_default_filter(mut self, directives: impl Into<String>) -> Self {
        self.default_filter = directives.into();
        self
    }

    /// Sets the local log format. Defaults to `RECWATCH_LOG_FORMAT`, then [`LogFormat::Json`].
    pub fn with_log_format(mut self, format: LogFormat) -> Self {
        self.log_format = Some(format);
        self
    }

    /// Sets where log lines go. Defaults to standard output (with colours in the human format
    /// only when it is a terminal). Lines reach it from a dedicated thread.
    pub fn with_writer<W>(mut self, writer: W) -> Self
    where
        W: for<'a> MakeWriter<'a> + Send + Sync + 'static,
    {
        self.writer = Some(BoxMakeWriter::new(writer));
        self
    }

    /// Sets the OTLP base endpoint (e.g. `http://127.0.0.1:4318`) and turns trace export on.
    /// For `http/protobuf`, `/v1/traces` and `/v1/logs` are appended.
    /// Defaults to `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT` / `OTEL_EXPORTER_OTLP_ENDPOINT`; with
    /// neither set, nothing is exported (spans still get ids, so logs carry `trace_id`).
    pub fn with_otlp_endpoint(mut self, endpoint: impl Into<String>) -> Self {
        self.endpoint = Some(endpoint.into());
        self
    }

    /// Sets the OTLP transport. Defaults to `OTEL_EXPORTER_OTLP_PROTOCOL`, then
    /// [`OtlpProtocol::HttpProtobuf`].
    pub fn with_otlp_protocol(mut self, protocol: OtlpProtocol) -> Self {
        self.protocol = Some(protocol);
        self
    }

    /// Turns trace export on or off. Defaults to on exactly when an endpoint is configured and
    /// `OTEL_TRACES_EXPORTER` is not `none`.
    pub fn with_trace_export(mut self, enabled: bool) -> Self {
        self.export_traces = Some(enabled);
        self
    }

    /// Turns OTLP log export on or off. Defaults to `OTEL_LOGS_EXPORTER=otlp` (off otherwise).
    /// Needs an endpoint, like trace export.
    pub fn with_log_export(mut self, enabled: bool) -> Self {
        self.export_logs = Some(enabled);
        self
    }

    /// Sets the bound of the span export queue. When the collector is down or slow and the queue
    /// is full, new spans are dropped (never waited for) and counted. Defaults to 2048.
    pub fn with_max_queue_size(mut self, spans: usize) -> Self {
        self.max_queue_size = spans.max(1);
        self
    }

    /// Sets the bound of the log line queue. Lines are written to the output by their own thread,
    /// so a slow stdout never blocks the code that logs; when the queue is full, new lines are
    /// dropped and counted. Defaults to 8192 lines.
    pub fn with_log_queue_size(mut self, lines: usize) -> Self {
        self.log_queue_size = lines.max(1);
        self
    }

    /// Sets how often queued spans are sent. Defaults to 1 s.
    pub fn with_scheduled_delay(mut self, delay: Duration) -> Self {
        self.scheduled_delay = delay;
        self
    }

    /// Sets how long dropping the [`Guard`](super::Guard) waits for the final flush, per signal.
    /// Defaults to 3 s.
    pub fn with_shutdown_timeout(mut self, timeout: Duration) -> Self {
        self.shutdown_timeout = timeout;
        self
    }
}

/// Reads a variable; empty counts as unset.
pub(crate) fn env_var(name: &'static str) -> Result<Option<String>, TelemetryError> {
    match std::env::var(name) {
        Ok(v) if v.trim().is_empty() => Ok(None),
        Ok(v) => Ok(Some(v)),
        Err(std::env::VarError::NotPresent) => Ok(None),
        Err(std::env::VarError::NotUnicode(_)) => Err(TelemetryError::NotUnicode { name }),
    }
}

/// Parses `OTEL_TRACES_SAMPLER` / `OTEL_TRACES_SAMPLER_ARG` values.
pub(crate) fn parse_sampler(name: &str, arg: Option<&str>) -> Result<Sampler, TelemetryError> {
    let ratio = || -> Result<f64, TelemetryError> {
        match arg {
            None => Ok(1.0),
            Some(a) => match a.trim().parse::<f64>() {
                Ok(r) if (0.0..=1.0).contains(&r) => Ok(r),
                _ => Err(TelemetryError::InvalidSamplerArg {
                    value: a.to_owned(),
                }),
            },
        }
    };
    Ok(match name.trim() {
        "always_on" => Sampler::AlwaysOn,
        "always_off" => Sampler::AlwaysOff,
        "traceidratio" => Sampler::TraceIdRatioBased(ratio()?),
        "parentbased_always_on" => Sampler::ParentBased(Box::new(Sampler::AlwaysOn)),
        "parentbased_always_off" => Sampler::ParentBased(Box::new(Sampler::AlwaysOff)),
        "parentbased_traceidratio" => {
            Sampler::ParentBased(Box::new(Sampler::TraceIdRatioBased(ratio()?)))
        }
        other => {
            return Err(TelemetryError::UnknownSampler {
                value: other.to_owned(),
            })
        }
    })
}

/// Validates an endpoint: an absolute http(s) URI.
pub(crate) fn check_endpoint(endpoint: &str, origin: &'static str) -> Result<(), TelemetryError> {
    let uri: http::Uri =
        endpoint
            .trim()
            .parse()
            .map_err(|source| TelemetryError::InvalidEndpoint {
                endpoint: endpoint.to_owned(),
                origin,
                source,
            })?;
    match (uri.scheme_str(), uri.host()) {
        (Some("http" | "https"), Some(h)) if !h.is_empty() => Ok(()),
        _ => Err(TelemetryError::EndpointNotHttp {
            endpoint: endpoint.to_owned(),
            origin,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn protocols_parse() {
        assert_eq!("grpc".parse::<OtlpProtocol>().unwrap(), OtlpProtocol::Grpc);
        assert_eq!(
            "http/protobuf".parse::<OtlpProtocol>().unwrap(),
            OtlpProtocol::HttpProtobuf
        );
        assert!(matches!(
            "http/json".parse::<OtlpProtocol>(),
            Err(TelemetryError::UnknownProtocol { .. })
        ));
    }

    #[test]
    fn samplers_parse() {
        assert!(matches!(
            parse_sampler("always_on", None).unwrap(),
            Sampler::AlwaysOn
        ));
        assert!(matches!(
            parse_sampler("traceidratio", Some("0.25")).unwrap(),
            Sampler::TraceIdRatioBased(r) if r == 0.25
        ));
        assert!(matches!(
            parse_sampler("traceidratio", Some("2")),
            Err(TelemetryError::InvalidSamplerArg { .. })
        ));
        assert!(matches!(
            parse_sampler("jaeger_remote", None),
            Err(TelemetryError::UnknownSampler { .. })
        ));
    }

    #[test]
    fn endpoints_checked() {
        assert!(check_endpoint("http://127.0.0.1:4318", "config").is_ok());
        assert!(matches!(
            check_endpoint("not a url", "config"),
            Err(TelemetryError::InvalidEndpoint { .. })
        ));
        assert!(matches!(
            check_endpoint("127.0.0.1:4318", "config"),
            Err(TelemetryError::EndpointNotHttp { .. })
        ));
    }
}
