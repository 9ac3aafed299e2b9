//! Tracing, OTLP export and structured logs: one configuration, traces that continue the
//! caller's.
//!
//! [`TelemetryConfig::install`] makes a `tracing` subscriber the global default, made of
//!
//! - an env filter (`RUST_LOG`, default `info`);
//! - log lines for log shippers, written by their own thread through a bounded queue: JSON
//!   (`timestamp`, `level`, `target`, `message`, `fields`, `trace_id`, `span_id`), Elastic
//!   Common Schema JSON for Filebeat/Logstash/Kibana (`@timestamp`, `log.level`, `message`,
//!   `ecs.version`, `trace.id`, …), or a human format for development ([`LogFormat`]);
//! - a `tracing-opentelemetry` layer whose spans are exported over OTLP (http/protobuf or gRPC)
//!   when `OTEL_EXPORTER_OTLP_ENDPOINT` (or [`TelemetryConfig::with_otlp_endpoint`]) is set;
//! - optionally, OTLP log export ([`TelemetryConfig::with_log_export`], `OTEL_LOGS_EXPORTER=otlp`);
//! - a bridge that forwards the `log` crate's records (used by many libraries) to the same
//!   outputs ([`TelemetryConfig::with_log_bridge`]).
//!
//! [`TelemetryConfig::from_env`] reads the standard OpenTelemetry variables;
//! [`TelemetryConfig::new`] ignores them. [`TelemetryConfig::build`] builds the same stack
//! without installing anything global ([`Telemetry`]: a [`Dispatch`](tracing::Dispatch) to
//! scope, plus its guard). Library code never installs anything itself.
//!
//! Both return a [`Guard`], the handle of the exporters and the log writer: dropping it flushes
//! and shuts them down (bounded by [`TelemetryConfig::with_shutdown_timeout`]),
//! [`Guard::detach`] keeps them running for the rest of the process, and
//! [`Guard::shutdown`] stops them and waits at most a given timeout.
//!
//! With the `http` feature, [`TraceLayer`] opens one server span per request, named
//! `{METHOD} {route}` after axum's `MatchedPath`, continuing the trace of an incoming W3C
//! `traceparent` (and carrying its `baggage`). Spans opened while handling the request — for
//! example by `#[track_inference]` — nest under it, and so do the access log lines of
//! [`AccessLogLayer`](crate::http::AccessLogLayer).
//!
//! Export never slows requests: finished spans go to a bounded queue drained by a background
//! thread; when the collector is down or slow and the queue is full, new spans are dropped and
//! counted ([`Guard::dropped_spans`], the `recwatch_telemetry_dropped_spans_total` counter), with
//! one warning when dropping starts and one with the total at shutdown. Log lines are treated
//! the same way ([`Guard::dropped_log_lines`], `recwatch_telemetry_dropped_log_lines_total`).
//!
//! # Example
//!
//! ```no_run
//! use std::time::Duration;
//! use axum::{routing::post, Router};
//! use recwatch::telemetry::{TelemetryConfig, TraceLayer};
//!
//! #[tokio::main]
//! async fn main() -> Result<(), Box<dyn std::error::Error>> {
//!     // Exports when OTEL_EXPORTER_OTLP_ENDPOINT is set; logs JSON to stdout either way
//!     // (RECWATCH_LOG_FORMAT=ecs for Elastic Common Schema).
//!     let guard = TelemetryConfig::from_env()?
//!         .with_service_name("recommender")
//!         .install()?;
//!
//!     let app = Router::new()
//!         .route("/recommend", post(|| async { "[]" }))
//!         .layer(TraceLayer::new());
//!     let listener = tokio::net::TcpListener::bind("127.0.0.1:8000").await?;
//!     axum::serve(listener, app).await?;
//!
//!     // Flush off the runtime's worker threads (required for gRPC, harmless otherwise).
//!     tokio::task::spawn_blocking(move || guard.shutdown(Duration::from_secs(3))).await??;
//!     Ok(())
//! }
//! ```

mod build;
mod config;
mod env;
mod error;
mod export;
mod format;
mod guard;
#[cfg(feature = "http")]
mod layer;
mod log_pipe;
mod otlp;
mod propagation;
mod subscriber;

pub use config::{LogFormat, OtlpProtocol, TelemetryConfig};
pub use error::TelemetryError;
pub use export::DROPPED_SPANS_METRIC;
pub use guard::{Guard, Telemetry};
#[cfg(feature = "http")]
pub use layer::{TraceFuture, TraceLayer, TraceService};
pub use log_pipe::DROPPED_LOG_LINES_METRIC;
pub use propagation::{extract_context, inject_context};
