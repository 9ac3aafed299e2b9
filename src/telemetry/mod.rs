//! Tracing, OTLP export and structured logs: one [`init`], traces that continue the caller's.
//!
//! [`init`] installs a global `tracing` subscriber made of
//!
//! - an env filter (`RUST_LOG`, default `info`);
//! - JSON log lines for log shippers (`timestamp`, `level`, `target`, `message`, `fields`,
//!   `trace_id`, `span_id`) or a human format for development ([`LogFormat`]);
//! - a `tracing-opentelemetry` layer whose spans are exported over OTLP (http/protobuf or gRPC)
//!   when `OTEL_EXPORTER_OTLP_ENDPOINT` (or [`TelemetryConfig::with_otlp_endpoint`]) is set;
//! - optionally, OTLP log export ([`TelemetryConfig::with_log_export`], `OTEL_LOGS_EXPORTER=otlp`).
//!
//! It returns a [`Guard`]: dropping it flushes and shuts the exporters down, waiting at most
//! [`TelemetryConfig::with_shutdown_timeout`] per signal. Library code never calls `init` itself.
//!
//! With the `http` feature, [`TraceLayer`] opens one server span per request, named
//! `{METHOD} {route}` after axum's `MatchedPath`, continuing the trace of an incoming W3C
//! `traceparent` (and carrying its `baggage`). Spans opened while handling the request — for
//! example by `#[track_inference]` — nest under it.
//!
//! Export never slows requests: finished spans go to a bounded queue drained by a background
//! thread; when the collector is down or slow and the queue is full, new spans are dropped and
//! counted ([`Guard::dropped_spans`], the `recwatch_telemetry_dropped_spans_total` counter), with
//! one warning when dropping starts and one with the total at shutdown.
//!
//! # Example
//!
//! ```no_run
//! use axum::{routing::post, Router};
//! use recwatch::telemetry::{self, TelemetryConfig, TraceLayer};
//!
//! #[tokio::main]
//! async fn main() -> Result<(), Box<dyn std::error::Error>> {
//!     // Exports when OTEL_EXPORTER_OTLP_ENDPOINT is set; logs JSON to stdout either way.
//!     let guard = telemetry::init(TelemetryConfig::from_env().with_service_name("recommender"))?;
//!
//!     let app = Router::new()
//!         .route("/recommend", post(|| async { "[]" }))
//!         .layer(TraceLayer::new());
//!     let listener = tokio::net::TcpListener::bind("127.0.0.1:8000").await?;
//!     axum::serve(listener, app).await?;
//!
//!     // Flush off the runtime's worker threads (required for gRPC, harmless otherwise).
//!     tokio::task::spawn_blocking(move || guard.shutdown()).await??;
//!     Ok(())
//! }
//! ```

#[cfg(feature = "http")]
mod body;
mod config;
mod error;
mod export;
mod json;
#[cfg(feature = "http")]
mod layer;
mod log_pipe;
mod propagation;

use std::io::IsTerminal as _;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use opentelemetry::trace::TracerProvider as _;
use opentelemetry_otlp::WithExportConfig;
use opentelemetry_sdk::logs::SdkLoggerProvider;
use opentelemetry_sdk::trace::{Sampler, SdkTracerProvider};
use opentelemetry_sdk::Resource;
use tracing::Dispatch;
use tracing_subscriber::filter::{filter_fn, EnvFilter};
use tracing_subscriber::fmt::writer::BoxMakeWriter;
use tracing_subscriber::layer::{Layer, Layered, SubscriberExt as _};
use tracing_subscriber::Registry;

#[cfg(feature = "http")]
pub use body::TraceBody;
pub use config::{LogFormat, OtlpProtocol, TelemetryConfig};
pub use error::TelemetryError;
pub use export::DROPPED_SPANS_METRIC;
#[cfg(feature = "http")]
pub use layer::{TraceFuture, TraceLayer, TraceService};
pub use log_pipe::DROPPED_LOG_LINES_METRIC;
pub use propagation::{extract_context, inject_context};

use config::{check_endpoint, env_var, parse_sampler};
use export::{CountingProcessor, QueueState};
use log_pipe::PipeHandle;

/// Builds the subscriber and exporters described by `config` and installs the subscriber as the
/// global default.
///
/// Keep the returned [`Guard`] alive for the life of the program; dropping it flushes pending
/// spans and logs (bounded wait). Fails with [`TelemetryError::SubscriberAlreadySet`] if a global
/// subscriber exists, and with a typed error for any invalid setting or variable.
///
/// ```no_run
/// # fn main() -> Result<(), recwatch::telemetry::TelemetryError> {
/// let _guard = recwatch::telemetry::init(recwatch::telemetry::TelemetryConfig::from_env())?;
/// tracing::info!(user = 42, "ready");
/// # Ok(()) }
/// ```
pub fn init(config: TelemetryConfig) -> Result<Guard, TelemetryError> {
    config.build()?.install()
}

/// A built but not yet installed telemetry stack: the subscriber as a [`Dispatch`] plus its
/// [`Guard`].
///
/// Use [`install`](Self::install) for the global default (what [`init`] does), or
/// [`into_parts`](Self::into_parts) to scope the subscriber with
/// [`tracing::dispatcher::with_default`] (tests, embedding in a host that owns the global one).
///
/// ```
/// use recwatch::telemetry::{LogFormat, TelemetryConfig};
///
/// let (dispatch, guard) = TelemetryConfig::from_env()
///     .with_filter("info")
///     .with_log_format(LogFormat::Off)
///     .with_trace_export(false)
///     .build()?
///     .into_parts();
/// tracing::dispatcher::with_default(&dispatch, || tracing::info!("scoped"));
/// guard.shutdown()?;
/// # Ok::<(), recwatch::telemetry::TelemetryError>(())
/// ```
#[derive(Debug)]
pub struct Telemetry {
    dispatch: Dispatch,
    guard: Guard,
}

impl Telemetry {
    /// The subscriber.
    pub fn dispatch(&self) -> &Dispatch {
        &self.dispatch
    }

    /// Installs the subscriber as the global default, and the tracer provider and W3C
    /// propagators (trace context + baggage) as OpenTelemetry's globals.
    pub fn install(self) -> Result<Guard, TelemetryError> {
        let Self { dispatch, guard } = self;
        tracing::dispatcher::set_global_default(dispatch)
            .map_err(|source| TelemetryError::SubscriberAlreadySet { source })?;
        opentelemetry::global::set_tracer_provider(guard.tracer_provider.clone());
        opentelemetry::global::set_text_map_propagator(propagation::w3c());
        Ok(guard)
    }

    /// The subscriber and the guard, without installing anything.
    pub fn into_parts(self) -> (Dispatch, Guard) {
        (self.dispatch, self.guard)
    }
}

/// Keeps the exporters running; dropping it flushes and shuts them down with a bounded wait.
///
/// Dropping blocks the current thread for at most the shutdown timeout per signal. With gRPC
/// export the flush needs the Tokio runtime to make progress, so shut down with
/// `tokio::task::spawn_blocking(move || guard.shutdown())` or after the runtime has finished.
///
/// ```
/// use recwatch::telemetry::{LogFormat, TelemetryConfig};
///
/// let (_dispatch, guard) = TelemetryConfig::from_env()
///     .with_log_format(LogFormat::Off)
///     .with_trace_export(false)
///     .build()?
///     .into_parts();
/// assert!(!guard.exports_traces());
/// assert_eq!(guard.dropped_spans(), 0);
/// guard.shutdown()?;
/// # Ok::<(), recwatch::telemetry::TelemetryError>(())
/// ```
#[derive(Debug)]
#[must_use = "dropping the guard shuts telemetry export down"]
pub struct Guard {
    tracer_provider: SdkTracerProvider,
    logger_provider: Option<SdkLoggerProvider>,
    queue: Option<Arc<QueueState>>,
    log_pipe: Option<PipeHandle>,
    timeout: Duration,
    done: bool,
}

impl Guard {
    /// Spans dropped so far because the export queue was full (collector down or slow).
    pub fn dropped_spans(&self) -> u64 {
        self.queue.as_ref().map_or(0, |q| q.dropped())
    }

    /// Log lines dropped so far because the log queue was full (output slower than logging).
    pub fn dropped_log_lines(&self) -> u64 {
        self.log_pipe.as_ref().map_or(0, |p| p.stats.dropped())
    }

    /// Whether spans are being exported over OTLP.
    pub fn exports_traces(&self) -> bool {
        self.queue.is_some()
    }

    /// Whether logs are being exported over OTLP.
    pub fn exports_logs(&self) -> bool {
        self.logger_provider.is_some()
    }

    /// Sends everything queued now, waiting for the exporters, and writes every queued log line
    /// (waiting at most the shutdown timeout for those).
    pub fn force_flush(&self) -> Result<(), TelemetryError> {
        if let Some(pipe) = &self.log_pipe {
            pipe.flush(self.timeout);
        }
        self.tracer_provider
            .force_flush()
            .map_err(|source| TelemetryError::Shutdown {
                signal: "traces",
                source,
            })?;
        if let Some(logs) = &self.logger_provider {
            logs.force_flush()
                .map_err(|source| TelemetryError::Shutdown {
                    signal: "logs",
                    source,
                })?;
        }
        Ok(())
    }

    /// Flushes and shuts the exporters down now, waiting at most the configured timeout per
    /// signal, and reports the total of dropped spans if any. Dropping the guard does the same
    /// and ignores the result.
    pub fn shutdown(mut self) -> Result<(), TelemetryError> {
        self.shutdown_inner()
    }

    fn shutdown_inner(&mut self) -> Result<(), TelemetryError> {
        if std::mem::replace(&mut self.done, true) {
            return Ok(());
        }
        let dropped = self.dropped_spans();
        if dropped > 0 {
            tracing::warn!(
                target: "recwatch::telemetry",
                dropped_spans = dropped,
                "spans dropped in total because the export queue was full"
            );
        }
        let dropped = self.dropped_log_lines();
        if dropped > 0 {
            tracing::warn!(
                target: "recwatch::telemetry",
                dropped_log_lines = dropped,
                "log lines dropped in total because the log queue was full"
            );
        }
        let traces = self
            .tracer_provider
            .shutdown_with_timeout(self.timeout)
            .map_err(|source| TelemetryError::Shutdown {
                signal: "traces",
                source,
            });
        let logs = match &self.logger_provider {
            Some(p) => {
                p.shutdown_with_timeout(self.timeout)
                    .map_err(|source| TelemetryError::Shutdown {
                        signal: "logs",
                        source,
                    })
            }
            None => Ok(()),
        };
        // Last, so the lines above (and the exporters' last words) are written.
        if let Some(pipe) = &self.log_pipe {
            pipe.flush(self.timeout);
        }
        traces.and(logs)
    }
}

impl Drop for Guard {
    fn drop(&mut self) {
        let _ = self.shutdown_inner();
    }
}

type Base = Layered<EnvFilter, Registry>;
type BoxedLayer = Box<dyn Layer<Base> + Send + Sync + 'static>;

/// Targets whose events come from the export path itself; never fed back into export.
fn not_export_internals(meta: &tracing::Metadata<'_>) -> bool {
    let t = meta.target();
    !(t.starts_with("h2")
        || t.starts_with("hyper")
        || t.starts_with("tonic")
        || t.starts_with("tower")
        || t.starts_with("reqwest")
        || t.starts_with("opentelemetry"))
}

/// Per-signal endpoint: explicit base, then the signal variable (used as is), then the generic
/// base variable. For http/protobuf a base gets `/v1/{signal}` appended.
fn resolve_endpoint(
    explicit: Option<&str>,
    signal_var: &'static str,
    signal_path: &str,
    protocol: OtlpProtocol,
) -> Result<Option<String>, TelemetryError> {
    let join = |base: &str| match protocol {
        OtlpProtocol::HttpProtobuf => format!("{}/{signal_path}", base.trim_end_matches('/')),
        OtlpProtocol::Grpc => base.to_owned(),
    };
    if let Some(base) = explicit {
        check_endpoint(base, "config")?;
        return Ok(Some(join(base.trim())));
    }
    if let Some(full) = env_var(signal_var)? {
        check_endpoint(&full, signal_var)?;
        return Ok(Some(full.trim().to_owned()));
    }
    if let Some(base) = env_var("OTEL_EXPORTER_OTLP_ENDPOINT")? {
        check_endpoint(&base, "OTEL_EXPORTER_OTLP_ENDPOINT")?;
        return Ok(Some(join(base.trim())));
    }
    Ok(None)
}

fn resolve_protocol(
    explicit: Option<OtlpProtocol>,
    signal_var: &'static str,
) -> Result<OtlpProtocol, TelemetryError> {
    if let Some(p) = explicit {
        return Ok(p);
    }
    match env_var(signal_var)? {
        Some(v) => v.parse(),
        None => env_var("OTEL_EXPORTER_OTLP_PROTOCOL")?
            .map_or(Ok(OtlpProtocol::HttpProtobuf), |v| v.parse()),
    }
}

fn default_endpoint(protocol: OtlpProtocol, signal_path: &str) -> String {
    match protocol {
        OtlpProtocol::HttpProtobuf => format!("http://localhost:4318/{signal_path}"),
        OtlpProtocol::Grpc => "http://localhost:4317".to_owned(),
    }
}

fn require_runtime(protocol: OtlpProtocol) -> Result<(), TelemetryError> {
    if protocol == OtlpProtocol::Grpc {
        tokio::runtime::Handle::try_current()
            .map_err(|source| TelemetryError::NoRuntime { source })?;
    }
    Ok(())
}

impl TelemetryConfig {
    /// Resolves the configuration against the environment and builds the subscriber and the
    /// exporters, without installing anything.
    ///
    /// Nothing is sent anywhere during `build`; exporters connect lazily.
    pub fn build(self) -> Result<Telemetry, TelemetryError> {
        // Filter.
        let filter_text = match self.filter {
            Some(f) => f,
            None => env_var("RUST_LOG")?.unwrap_or(self.default_filter),
        };
        let filter = EnvFilter::builder().parse(&filter_text).map_err(|source| {
            TelemetryError::InvalidFilter {
                filter: filter_text.clone(),
                source,
            }
        })?;

        let format = match self.log_format {
            Some(f) => f,
            None => {
                env_var("RECWATCH_LOG_FORMAT")?.map_or(Ok(LogFormat::default()), |v| v.parse())?
            }
        };

        let sampler = match env_var("OTEL_TRACES_SAMPLER")? {
            Some(name) => parse_sampler(&name, env_var("OTEL_TRACES_SAMPLER_ARG")?.as_deref())?,
            None => Sampler::ParentBased(Box::new(Sampler::AlwaysOn)),
        };

        // The environment names the service when it says so (deployments rename without a
        // rebuild); the configured name is the fallback before the SDK's `unknown_service`.
        let env_names_service = env_var("OTEL_SERVICE_NAME")?.is_some()
            || env_var("OTEL_RESOURCE_ATTRIBUTES")?.is_some_and(|attrs| {
                attrs
                    .split(',')
                    .any(|kv| kv.split('=').next().map(str::trim) == Some("service.name"))
            });
        let mut resource = Resource::builder();
        if let (Some(name), false) = (&self.service_name, env_names_service) {
            resource = resource.with_service_name(name.clone());
        }
        let resource = resource.build();

        // Traces.
        let traces_protocol =
            resolve_protocol(self.protocol, "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL")?;
        let traces_endpoint = resolve_endpoint(
            self.endpoint.as_deref(),
            "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
            "v1/traces",
            traces_protocol,
        )?;
        let export_traces = match self.export_traces {
            Some(on) => on,
            None => {
                traces_endpoint.is_some()
                    && env_var("OTEL_TRACES_EXPORTER")?.is_none_or(|v| v.trim() != "none")
            }
        };
        let mut provider = SdkTracerProvider::builder()
            .with_sampler(sampler)
            .with_resource(resource.clone());
        let mut queue = None;
        if export_traces {
            require_runtime(traces_protocol)?;
            let endpoint =
                traces_endpoint.unwrap_or_else(|| default_endpoint(traces_protocol, "v1/traces"));
            let exporter = match traces_protocol {
                OtlpProtocol::HttpProtobuf => opentelemetry_otlp::SpanExporter::builder()
                    .with_http()
                    .with_protocol(opentelemetry_otlp::Protocol::HttpBinary)
                    .with_endpoint(endpoint)
                    .build(),
                OtlpProtocol::Grpc => opentelemetry_otlp::SpanExporter::builder()
                    .with_tonic()
                    .with_endpoint(endpoint)
                    .build(),
            }
            .map_err(|source| TelemetryError::Exporter {
                signal: "traces",
                source,
            })?;
            let state = QueueState::new(self.max_queue_size);
            provider = provider.with_span_processor(CountingProcessor::new(
                exporter,
                state.clone(),
                self.scheduled_delay,
            ));
            queue = Some(state);
        }
        let tracer_provider = provider.build();
        let tracer = tracer_provider.tracer("recwatch");

        // Logs.
        let logs_protocol = resolve_protocol(self.protocol, "OTEL_EXPORTER_OTLP_LOGS_PROTOCOL")?;
        let export_logs = match self.export_logs {
            Some(on) => on,
            None => env_var("OTEL_LOGS_EXPORTER")?.is_some_and(|v| v.trim() == "otlp"),
        };
        let logger_provider = if export_logs {
            require_runtime(logs_protocol)?;
            let endpoint = resolve_endpoint(
                self.endpoint.as_deref(),
                "OTEL_EXPORTER_OTLP_LOGS_ENDPOINT",
                "v1/logs",
                logs_protocol,
            )?
            .unwrap_or_else(|| default_endpoint(logs_protocol, "v1/logs"));
            let exporter = match logs_protocol {
                OtlpProtocol::HttpProtobuf => opentelemetry_otlp::LogExporter::builder()
                    .with_http()
                    .with_protocol(opentelemetry_otlp::Protocol::HttpBinary)
                    .with_endpoint(endpoint)
                    .build(),
                OtlpProtocol::Grpc => opentelemetry_otlp::LogExporter::builder()
                    .with_tonic()
                    .with_endpoint(endpoint)
                    .build(),
            }
            .map_err(|source| TelemetryError::Exporter {
                signal: "logs",
                source,
            })?;
            Some(
                SdkLoggerProvider::builder()
                    .with_resource(resource)
                    .with_batch_exporter(exporter)
                    .build(),
            )
        } else {
            None
        };

        // Subscriber.
        let dispatch_cell = Arc::new(OnceLock::new());
        let mut layers: Vec<BoxedLayer> = Vec::with_capacity(3);
        layers.push(
            tracing_opentelemetry::layer()
                .with_tracer(tracer)
                .with_threads(false)
                .with_tracked_inactivity(false)
                .with_filter(filter_fn(not_export_internals))
                .boxed(),
        );
        let mut pipe_handle = None;
        if format != LogFormat::Off {
            let ansi = self.writer.is_none() && std::io::stdout().is_terminal();
            let target = self
                .writer
                .unwrap_or_else(|| BoxMakeWriter::new(std::io::stdout));
            let (pipe, handle) = log_pipe::spawn(target, self.log_queue_size)
                .map_err(|source| TelemetryError::LogWriterThread { source })?;
            pipe_handle = Some(handle);
            let layer = tracing_subscriber::fmt::layer().with_writer(pipe);
            layers.push(match format {
                LogFormat::Human => layer.with_ansi(ansi).boxed(),
                _ => layer
                    .with_ansi(false)
                    .event_format(json::JsonFormat {
                        dispatch: dispatch_cell.clone(),
                    })
                    .boxed(),
            });
        }
        if let Some(logs) = &logger_provider {
            layers.push(
                opentelemetry_appender_tracing::layer::OpenTelemetryTracingBridge::new(logs)
                    .with_filter(filter_fn(not_export_internals))
                    .boxed(),
            );
        }
        let subscriber = Registry::default().with(filter).with(layers);
        let dispatch = Dispatch::new(subscriber);
        let _ = dispatch_cell.set(dispatch.downgrade());

        Ok(Telemetry {
            dispatch,
            guard: Guard {
                tracer_provider,
                logger_provider,
                queue,
                log_pipe: pipe_handle,
                timeout: self.shutdown_timeout,
                done: false,
            },
        })
    }
}
