//! The subscriber [`TelemetryConfig::build`](super::TelemetryConfig::build) assembles: the
//! filter, the OpenTelemetry span layer, the local log lines (through the bounded log pipe) and
//! the OTLP log bridge.

use std::io::IsTerminal as _;
use std::sync::{Arc, OnceLock};

use opentelemetry::trace::TracerProvider as _;
use opentelemetry_sdk::logs::SdkLoggerProvider;
use opentelemetry_sdk::trace::SdkTracerProvider;
use tracing::Dispatch;
use tracing_subscriber::filter::{filter_fn, EnvFilter};
use tracing_subscriber::fmt::writer::BoxMakeWriter;
use tracing_subscriber::layer::{Layer, Layered, SubscriberExt as _};
use tracing_subscriber::Registry;

use super::format::ecs::EcsFormat;
use super::format::json::JsonFormat;
use super::log_pipe::{self, PipeHandle};
use super::{LogFormat, TelemetryError};

type Base = Layered<EnvFilter, Registry>;
type BoxedLayer = Box<dyn Layer<Base> + Send + Sync + 'static>;

/// Crates whose events come from the export path itself; never fed back into export (and not
/// bridged from the `log` crate, whose records would otherwise loop through the exporter).
pub(crate) const EXPORT_INTERNALS: &[&str] =
    &["h2", "hyper", "tonic", "tower", "reqwest", "opentelemetry"];

fn not_export_internals(meta: &tracing::Metadata<'_>) -> bool {
    let t = meta.target();
    !EXPORT_INTERNALS.iter().any(|p| t.starts_with(p))
}

/// The service as ECS lines name it.
pub(crate) struct Service {
    pub(crate) name: String,
    pub(crate) version: Option<String>,
    /// Whether the name was configured (in code or the environment) rather than defaulted.
    pub(crate) named: bool,
}

/// What the subscriber is made of.
pub(crate) struct Parts<'a> {
    pub(crate) filter: EnvFilter,
    pub(crate) format: LogFormat,
    pub(crate) writer: Option<BoxMakeWriter>,
    pub(crate) log_queue_size: usize,
    pub(crate) tracer_provider: &'a SdkTracerProvider,
    pub(crate) logger_provider: Option<&'a SdkLoggerProvider>,
    pub(crate) service: Service,
}

/// Assembles the subscriber; starts the log writer thread when lines are written locally.
pub(crate) fn dispatch(parts: Parts<'_>) -> Result<(Dispatch, Option<PipeHandle>), TelemetryError> {
    let dispatch_cell = Arc::new(OnceLock::new());
    let mut layers: Vec<BoxedLayer> = Vec::with_capacity(3);
    layers.push(
        tracing_opentelemetry::layer()
            .with_tracer(parts.tracer_provider.tracer("recwatch"))
            .with_threads(false)
            .with_tracked_inactivity(false)
            .with_filter(filter_fn(not_export_internals))
            .boxed(),
    );
    let mut pipe_handle = None;
    if parts.format != LogFormat::Off {
        let ansi = parts.writer.is_none() && std::io::stdout().is_terminal();
        let target = parts
            .writer
            .unwrap_or_else(|| BoxMakeWriter::new(std::io::stdout));
        let (pipe, handle) = log_pipe::spawn(target, parts.log_queue_size)
            .map_err(|source| TelemetryError::LogWriterThread { source })?;
        pipe_handle = Some(handle);
        let layer = tracing_subscriber::fmt::layer().with_writer(pipe);
        layers.push(match parts.format {
            LogFormat::Human => layer.with_ansi(ansi).boxed(),
            LogFormat::Ecs => {
                let service = &parts.service;
                layer
                    .with_ansi(false)
                    .event_format(EcsFormat::new(
                        dispatch_cell.clone(),
                        &service.name,
                        service.version.as_deref(),
                        service.named.then_some(service.name.as_str()),
                    ))
                    .boxed()
            }
            _ => layer
                .with_ansi(false)
                .event_format(JsonFormat {
                    dispatch: dispatch_cell.clone(),
                })
                .boxed(),
        });
    }
    if let Some(logs) = parts.logger_provider {
        layers.push(
            opentelemetry_appender_tracing::layer::OpenTelemetryTracingBridge::new(logs)
                .with_filter(filter_fn(not_export_internals))
                .boxed(),
        );
    }
    let subscriber = Registry::default().with(parts.filter).with(layers);
    let dispatch = Dispatch::new(subscriber);
    let _ = dispatch_cell.set(dispatch.downgrade());
    Ok((dispatch, pipe_handle))
}
