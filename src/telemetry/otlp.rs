//! The OTLP side of [`TelemetryConfig::build`]: where each signal goes, its exporter (one set-up
//! for traces and logs), the tracer provider and the logger provider.

use std::sync::Arc;

use opentelemetry_otlp::{Protocol, WithExportConfig as _};
use opentelemetry_sdk::logs::SdkLoggerProvider;
use opentelemetry_sdk::trace::SdkTracerProvider;
use opentelemetry_sdk::Resource;

use super::config::SignalSettings;
use super::export::{CountingProcessor, QueueState};
use super::{OtlpProtocol, TelemetryConfig, TelemetryError};

/// One OTLP signal.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Signal {
    Traces,
    Logs,
}

impl Signal {
    /// The name used in errors and the `/v1/{name}` path.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Self::Traces => "traces",
            Self::Logs => "logs",
        }
    }

    fn settings(self, config: &TelemetryConfig) -> &SignalSettings {
        match self {
            Self::Traces => &config.traces,
            Self::Logs => &config.logs,
        }
    }
}

/// Where a signal is sent, and how.
#[derive(Debug)]
pub(crate) struct Target {
    protocol: OtlpProtocol,
    endpoint: String,
}

impl Target {
    /// The signal's protocol and endpoint: the signal's own variable, then the base endpoint
    /// (with `/v1/{signal}` appended for http/protobuf). `None` when neither is configured.
    pub(crate) fn configured(
        config: &TelemetryConfig,
        signal: Signal,
    ) -> Result<Option<Self>, TelemetryError> {
        let settings = signal.settings(config);
        let protocol = settings
            .protocol
            .or(config.protocol)
            .unwrap_or(OtlpProtocol::HttpProtobuf);
        let endpoint = if let Some((full, origin)) = &settings.endpoint {
            check_endpoint(full, origin)?;
            full.trim().to_owned()
        } else if let Some((base, origin)) = &config.endpoint {
            check_endpoint(base, origin)?;
            join(base.trim(), protocol, signal)
        } else {
            return Ok(None);
        };
        Ok(Some(Self { protocol, endpoint }))
    }

    /// The configured target, or the collector's standard local address.
    pub(crate) fn or_default(
        config: &TelemetryConfig,
        signal: Signal,
    ) -> Result<Self, TelemetryError> {
        if let Some(target) = Self::configured(config, signal)? {
            return Ok(target);
        }
        let protocol = signal
            .settings(config)
            .protocol
            .or(config.protocol)
            .unwrap_or(OtlpProtocol::HttpProtobuf);
        let base = match protocol {
            OtlpProtocol::HttpProtobuf => "http://localhost:4318",
            OtlpProtocol::Grpc => "http://localhost:4317",
        };
        Ok(Self {
            protocol,
            endpoint: join(base, protocol, signal),
        })
    }
}

fn join(base: &str, protocol: OtlpProtocol, signal: Signal) -> String {
    match protocol {
        OtlpProtocol::HttpProtobuf => {
            format!("{}/v1/{}", base.trim_end_matches('/'), signal.name())
        }
        OtlpProtocol::Grpc => base.to_owned(),
    }
}

/// The transport set-up shared by both signals; `$exporter` is the signal's exporter type.
macro_rules! otlp_exporter {
    ($exporter:ty, $target:expr) => {{
        let Target { protocol, endpoint } = $target;
        match protocol {
            OtlpProtocol::HttpProtobuf => <$exporter>::builder()
                .with_http()
                .with_protocol(Protocol::HttpBinary)
                .with_endpoint(endpoint)
                .build(),
            OtlpProtocol::Grpc => <$exporter>::builder()
                .with_tonic()
                .with_endpoint(endpoint)
                .build(),
        }
    }};
}

/// Builds a signal's exporter: checks the runtime gRPC needs, then the shared set-up.
fn exporter<E>(
    signal: Signal,
    target: Target,
    build: fn(Target) -> Result<E, opentelemetry_otlp::ExporterBuildError>,
) -> Result<E, TelemetryError> {
    if target.protocol == OtlpProtocol::Grpc {
        tokio::runtime::Handle::try_current()
            .map_err(|source| TelemetryError::NoRuntime { source })?;
    }
    build(target).map_err(|source| TelemetryError::Exporter {
        signal: signal.name(),
        source,
    })
}

/// The tracer provider, exporting through the bounded queue when trace export is on.
pub(crate) fn tracer_provider(
    config: &TelemetryConfig,
    resource: Resource,
) -> Result<(SdkTracerProvider, Option<Arc<QueueState>>), TelemetryError> {
    let target = Target::configured(config, Signal::Traces)?;
    let export = config.export_traces.unwrap_or(target.is_some());
    let mut provider = SdkTracerProvider::builder()
        .with_sampler(config.sampler.clone())
        .with_resource(resource);
    let mut queue = None;
    if export {
        let target = match target {
            Some(t) => t,
            None => Target::or_default(config, Signal::Traces)?,
        };
        let exporter = exporter(Signal::Traces, target, |t| {
            otlp_exporter!(opentelemetry_otlp::SpanExporter, t)
        })?;
        let state = QueueState::new(config.max_queue_size);
        provider = provider.with_span_processor(CountingProcessor::new(
            exporter,
            state.clone(),
            config.scheduled_delay,
        ));
        queue = Some(state);
    }
    Ok((provider.build(), queue))
}

/// The logger provider when OTLP log export is on.
pub(crate) fn logger_provider(
    config: &TelemetryConfig,
    resource: Resource,
) -> Result<Option<SdkLoggerProvider>, TelemetryError> {
    if !config.export_logs {
        return Ok(None);
    }
    let target = Target::or_default(config, Signal::Logs)?;
    let exporter = exporter(Signal::Logs, target, |t| {
        otlp_exporter!(opentelemetry_otlp::LogExporter, t)
    })?;
    Ok(Some(
        SdkLoggerProvider::builder()
            .with_resource(resource)
            .with_batch_exporter(exporter)
            .build(),
    ))
}

/// Validates an endpoint: an absolute http(s) URI.
fn check_endpoint(endpoint: &str, origin: &'static str) -> Result<(), TelemetryError> {
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

    #[test]
    fn signal_endpoint_wins_over_base_and_setter_over_both() {
        let mut config = TelemetryConfig::new();
        config.endpoint = Some(("http://base:4318".into(), "OTEL_EXPORTER_OTLP_ENDPOINT"));
        config.traces.endpoint = Some((
            "http://traces:9999/custom".into(),
            "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
        ));
        let traces = Target::configured(&config, Signal::Traces)
            .unwrap()
            .unwrap();
        assert_eq!(traces.endpoint, "http://traces:9999/custom");
        let logs = Target::configured(&config, Signal::Logs).unwrap().unwrap();
        assert_eq!(logs.endpoint, "http://base:4318/v1/logs");

        let config = config.with_otlp_endpoint("http://explicit:4318/");
        let traces = Target::configured(&config, Signal::Traces)
            .unwrap()
            .unwrap();
        assert_eq!(traces.endpoint, "http://explicit:4318/v1/traces");
        assert!(Target::configured(&TelemetryConfig::new(), Signal::Traces)
            .unwrap()
            .is_none());
    }
}
