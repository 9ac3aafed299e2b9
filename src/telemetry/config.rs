//! [`TelemetryConfig`]: what [`TelemetryConfig::build`] and [`TelemetryConfig::install`] set up,
//! its setters, and the two value types it names ([`LogFormat`], [`OtlpProtocol`]).

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
    /// Elastic Common Schema JSON, one object per line, following the ECS logging
    /// specification: `@timestamp`, `log.level`, `message` first and in that order, then
    /// `ecs.version`, `log.logger`, `service.name`, `trace.id`/`span.id`/`transaction.id` and the
    /// event's fields as dotted top-level keys. For Filebeat, Logstash and Kibana without a
    /// pipeline; see `docs/telemetry.md`.
    Ecs,
    /// tracing-subscriber's human-readable format, for development.
    Human,
    /// No local log output (spans and, if enabled, OTLP logs are still exported).
    Off,
}

impl FromStr for LogFormat {
    type Err = TelemetryError;

    /// Parses `json`, `ecs`, `human` (or `pretty`, `text`) and `off` (or `none`),
    /// case-insensitively.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "json" => Ok(Self::Json),
            "ecs" => Ok(Self::Ecs),
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
    /// gRPC (`grpc`), default port 4317. Needs a Tokio runtime when the
    /// configuration is built.
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

/// What [`build`](Self::build) and [`install`](Self::install) set up.
///
/// Start from [`new`](Self::new) (built-in defaults, the environment ignored) or
/// [`from_env`](Self::from_env), which reads the standard OpenTelemetry variables below when it
/// is called; setters called afterwards win over what it read.
///
/// | variable | effect |
/// |---|---|
/// | `RUST_LOG` | log filter (default `info`) |
/// | `RECWATCH_LOG_FORMAT` | `json` (default), `ecs`, `human`, `off` |
/// | `OTEL_EXPORTER_OTLP_ENDPOINT` | base URL; trace export is on when it (or the traces variant) is set |
/// | `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT` / `_LOGS_ENDPOINT` | full per-signal URL |
/// | `OTEL_EXPORTER_OTLP_PROTOCOL` (and `_TRACES_`/`_LOGS_` variants) | `http/protobuf` (default) or `grpc` |
/// | `OTEL_SERVICE_NAME`, `OTEL_RESOURCE_ATTRIBUTES` | resource of every span and log; they win over [`with_service_name`](Self::with_service_name) and [`with_service_version`](Self::with_service_version) |
/// | `OTEL_TRACES_SAMPLER`, `OTEL_TRACES_SAMPLER_ARG` | sampler (default `parentbased_always_on`) |
/// | `OTEL_TRACES_EXPORTER` | `none` turns trace export off |
/// | `OTEL_LOGS_EXPORTER` | `otlp` turns OTLP log export on, `none` off |
///
/// `OTEL_EXPORTER_OTLP_HEADERS`, `_TIMEOUT` and `_COMPRESSION` (and their per-signal variants)
/// are read by the OTLP exporter itself when [`build`](Self::build) creates it.
///
/// ```
/// use recwatch::telemetry::{LogFormat, TelemetryConfig};
///
/// let config = TelemetryConfig::from_env()?
///     .with_service_name("recommender")
///     .with_log_format(LogFormat::Ecs)
///     .with_default_filter("info,recwatch=debug");
/// # let _ = config;
/// # Ok::<(), recwatch::telemetry::TelemetryError>(())
/// ```
#[must_use]
pub struct TelemetryConfig {
    pub(crate) service_name: Option<String>,
    pub(crate) service_version: Option<String>,
    /// `OTEL_SERVICE_NAME`, as read by `from_env`.
    pub(crate) env_service_name: Option<String>,
    /// `OTEL_RESOURCE_ATTRIBUTES`, as read by `from_env`, in order.
    pub(crate) env_resource: Vec<(String, String)>,
    pub(crate) filter: Option<String>,
    pub(crate) default_filter: String,
    pub(crate) log_format: LogFormat,
    pub(crate) writer: Option<BoxMakeWriter>,
    /// Base endpoint and where it came from (a variable name, or `config`).
    pub(crate) endpoint: Option<(String, &'static str)>,
    pub(crate) protocol: Option<OtlpProtocol>,
    pub(crate) traces: SignalSettings,
    pub(crate) logs: SignalSettings,
    pub(crate) sampler: Sampler,
    pub(crate) export_traces: Option<bool>,
    pub(crate) export_logs: bool,
    pub(crate) log_bridge: bool,
    pub(crate) max_queue_size: usize,
    pub(crate) log_queue_size: usize,
    pub(crate) scheduled_delay: Duration,
    pub(crate) shutdown_timeout: Duration,
}

/// What the environment says about one signal (traces or logs) specifically.
#[derive(Clone, Debug, Default)]
pub(crate) struct SignalSettings {
    /// Full URL from `OTEL_EXPORTER_OTLP_{SIGNAL}_ENDPOINT`, with the variable's name.
    pub(crate) endpoint: Option<(String, &'static str)>,
    /// From `OTEL_EXPORTER_OTLP_{SIGNAL}_PROTOCOL`.
    pub(crate) protocol: Option<OtlpProtocol>,
}

impl fmt::Debug for TelemetryConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TelemetryConfig")
            .field("service_name", &self.service_name)
            .field("service_version", &self.service_version)
            .field("env_service_name", &self.env_service_name)
            .field("env_resource", &self.env_resource)
            .field("filter", &self.filter)
            .field("default_filter", &self.default_filter)
            .field("log_format", &self.log_format)
            .field("custom_writer", &self.writer.is_some())
            .field("endpoint", &self.endpoint)
            .field("protocol", &self.protocol)
            .field("traces", &self.traces)
            .field("logs", &self.logs)
            .field("sampler", &self.sampler)
            .field("export_traces", &self.export_traces)
            .field("export_logs", &self.export_logs)
            .field("log_bridge", &self.log_bridge)
            .field("max_queue_size", &self.max_queue_size)
            .field("log_queue_size", &self.log_queue_size)
            .field("scheduled_delay", &self.scheduled_delay)
            .field("shutdown_timeout", &self.shutdown_timeout)
            .finish()
    }
}

impl Default for TelemetryConfig {
    fn default() -> Self {
        Self::new()
    }
}

impl TelemetryConfig {
    /// A configuration with the built-in defaults, ignoring the environment: filter `info`,
    /// JSON logs to standard output, no OTLP export, `parentbased_always_on` sampling.
    pub fn new() -> Self {
        Self {
            service_name: None,
            service_version: None,
            env_service_name: None,
            env_resource: Vec::new(),
            filter: None,
            default_filter: "info".to_owned(),
            log_format: LogFormat::default(),
            writer: None,
            endpoint: None,
            protocol: None,
            traces: SignalSettings::default(),
            logs: SignalSettings::default(),
            sampler: Sampler::ParentBased(Box::new(Sampler::AlwaysOn)),
            export_traces: None,
            export_logs: false,
            log_bridge: true,
            max_queue_size: 2048,
            log_queue_size: 8192,
            scheduled_delay: Duration::from_secs(1),
            shutdown_timeout: Duration::from_secs(3),
        }
    }

    /// Sets the `service.name` used when the environment names none: `OTEL_SERVICE_NAME` (or a
    /// `service.name` in `OTEL_RESOURCE_ATTRIBUTES`) read by [`from_env`](Self::from_env) wins,
    /// so a deployment can rename the service without a rebuild. Defaults to the SDK's
    /// `unknown_service:<executable>`.
    pub fn with_service_name(mut self, name: impl Into<String>) -> Self {
        self.service_name = Some(name.into());
        self
    }

    /// Sets the `service.version` used when `OTEL_RESOURCE_ATTRIBUTES` names none (exported with
    /// every span and written as `service.version` in ECS lines). Defaults to none.
    pub fn with_service_version(mut self, version: impl Into<String>) -> Self {
        self.service_version = Some(version.into());
        self
    }

    /// Sets the log filter directives, replacing what `RUST_LOG` said. Defaults to `RUST_LOG`
    /// (read by [`from_env`](Self::from_env)), then [`with_default_filter`](Self::with_default_filter).
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

    /// Sets the local log format. Defaults to `RECWATCH_LOG_FORMAT` (read by
    /// [`from_env`](Self::from_env)), then [`LogFormat::Json`].
    pub fn with_log_format(mut self, format: LogFormat) -> Self {
        self.log_format = format;
        self
    }

    /// Sets where log lines go. Defaults to standard output (with colours in the human format
    /// only when it is a terminal). Lines reach it from a dedicated thread through a bounded
    /// queue ([`with_log_queue_size`](Self::with_log_queue_size)).
    pub fn with_writer<W>(mut self, writer: W) -> Self
    where
        W: for<'a> MakeWriter<'a> + Send + Sync + 'static,
    {
        self.writer = Some(BoxMakeWriter::new(writer));
        self
    }

    /// Sets the OTLP base endpoint (e.g. `http://127.0.0.1:4318`), replacing every endpoint the
    /// environment named. For `http/protobuf`, `/v1/traces` and `/v1/logs` are appended.
    /// Defaults to `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT` / `_LOGS_ENDPOINT` /
    /// `OTEL_EXPORTER_OTLP_ENDPOINT`; with none, nothing is exported (spans still get ids, so
    /// logs carry trace ids). Validated by [`build`](Self::build).
    pub fn with_otlp_endpoint(mut self, endpoint: impl Into<String>) -> Self {
        self.endpoint = Some((endpoint.into(), "config"));
        self.traces.endpoint = None;
        self.logs.endpoint = None;
        self
    }

    /// Sets the OTLP transport of both signals, replacing what the environment said. Defaults to
    /// `OTEL_EXPORTER_OTLP_{TRACES,LOGS}_PROTOCOL`, then `OTEL_EXPORTER_OTLP_PROTOCOL`, then
    /// [`OtlpProtocol::HttpProtobuf`].
    pub fn with_otlp_protocol(mut self, protocol: OtlpProtocol) -> Self {
        self.protocol = Some(protocol);
        self.traces.protocol = None;
        self.logs.protocol = None;
        self
    }

    /// Turns trace export on or off. Defaults to on exactly when an endpoint is configured and
    /// `OTEL_TRACES_EXPORTER` is not `none`.
    pub fn with_trace_export(mut self, enabled: bool) -> Self {
        self.export_traces = Some(enabled);
        self
    }

    /// Turns OTLP log export on or off. Defaults to `OTEL_LOGS_EXPORTER=otlp` (off otherwise).
    /// Uses the configured endpoint, or the standard local one.
    pub fn with_log_export(mut self, enabled: bool) -> Self {
        self.export_logs = enabled;
        self
    }

    /// Whether [`install`](Self::install) also forwards records of the `log` crate (used by
    /// many libraries) to the subscriber, so they reach the same output and exporters as
    /// `tracing` events. [`build`](Self::build) never does: the `log` logger is process-global.
    /// Defaults to `true`.
    pub fn with_log_bridge(mut self, enabled: bool) -> Self {
        self.log_bridge = enabled;
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

    /// Sets how long dropping the [`Guard`](super::Guard) waits for the final flush, in all.
    /// Defaults to 3 s.
    pub fn with_shutdown_timeout(mut self, timeout: Duration) -> Self {
        self.shutdown_timeout = timeout;
        self
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
}
