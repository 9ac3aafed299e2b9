//! # recwatch
//!
//! In-process monitoring and observability for ML recommendation services: Prometheus metrics
//! with real histograms, a tower layer for request count and latency, inference timing, an
//! active-users tracker and a resource sampler — linked in as one crate, nothing to operate.
//!
//! # Quick start
//!
//! Install the exporter once, wrap the router with the layer, mount `/metrics`:
//!
//! ```no_run
//! use axum::{routing::{get, post}, Router};
//! use recwatch::exporter::ExporterBuilder;
//! use recwatch::http::RequestMetricsLayer;
//!
//! #[tokio::main]
//! async fn main() -> Result<(), Box<dyn std::error::Error>> {
//!     let metrics = ExporterBuilder::new()
//!         .with_service("recommender")
//!         .with_model_version("mf-v3")
//!         .install()?;
//!
//!     let app = Router::new()
//!         .route("/recommend", post(|| async { "[]" }))
//!         .route("/movies/{id}", get(|| async { "{}" }))
//!         .merge(metrics.router())
//!         .layer(RequestMetricsLayer::new().add_skip_path("/metrics"));
//!
//!     let listener = tokio::net::TcpListener::bind("127.0.0.1:8000").await?;
//!     axum::serve(listener, app).await?;
//!     Ok(())
//! }
//! ```
//!
//! # Vocabulary
//!
//! Every public builder and handle speaks the same way:
//!
//! | form | meaning |
//! |---|---|
//! | `FooBuilder::new()` / `FooConfig::new()` | defaults; builders are taken and returned by value and are `#[must_use]` |
//! | `with_x(self, v)` | sets or replaces one value; its doc says what it defaults to |
//! | `add_x(self, v)` | appends to a collection (global labels, skipped paths, per-metric buckets, collectors) |
//! | `-> Result<Self, E>` setter | validates eagerly; documented under `# Errors` |
//! | `build(self)` | builds, with no global side effect (the exporter starts no thread either; a built telemetry pipeline owns its export threads and stops them when dropped) |
//! | `install(self)` | builds and makes it process-global (the `metrics` recorder, the `tracing` subscriber); a second install is a typed error |
//! | `spawn(self)` | builds and starts a background task, returning its handle |
//!
//! A handle of a background task (sampler thread, `/metrics` listener, telemetry pipeline, …)
//! stops its task when dropped, waiting at most that task's documented shutdown timeout;
//! `detach(self)` keeps the task running for the rest of the process, and
//! `shutdown(self, timeout)` stops it and reports a timeout as a typed error.
//!
//! Errors: one `#[non_exhaustive]` enum per capability ([`ExporterError`], `SamplerError`,
//! `TelemetryError`, `DriftError`, …), re-exported here; the message says what failed and the
//! underlying error is the [`source`](std::error::Error::source), never repeated in the message.
//!
//! Metrics: every metric is defined once in [`catalogue`] (name per naming scheme, kind, unit,
//! help, labels, buckets, typing, expiry); sources record through it and the exporter reads it.
//! See docs/architecture.md for where a new capability goes.
//!
//! # Modules
//!
//! - [`catalogue`]: every metric recwatch emits, listable and as JSON.
//! - [`exporter`]: recorder install, bucket layouts, `/metrics` route and standalone listener.
//! - [`http`]: the tower layer (`recommendation_requests_total`, `…_duration_seconds`,
//!   `…_in_flight`), route-template labels, cancellation and panic accounting.
//! - [`active_users`]: `recommendation_active_users` over a sliding window, in fixed memory.
//! - [`inference`]: runtime side of `#[track_inference]` and the non-macro timer API.
//! - [`sampler`]: system, process, container and GPU gauges on their own thread.
//! - `telemetry` (feature `telemetry`): one `TelemetryConfig::install` for logs (JSON, ECS,
//!   human; the `log` crate bridged) and OTLP traces, server spans that continue the caller's
//!   W3C trace; with `http`, per-request access logs (`http::AccessLogLayer`).
//! - `drift` (feature `drift`): data drift between a reference and a current polars frame,
//!   Evidently-compatible by default, with a JSON report.
//! - `dashboard` (feature `dashboard`): a live monitoring page served by the service itself,
//!   from an in-process time-series store or from Prometheus.
//! - `tracking::wandb` (feature `wandb`): Weights & Biases offline runs written natively, which
//!   the official `wandb` tools read and `wandb sync` uploads.
//! - `quality` (feature `quality`): rating, ranking and beyond-accuracy metrics published as
//!   gauges; online quality from feedback.
//! - `tracking` (feature `tracking`): an MLflow client that never blocks the training loop
//!   (background batching, retries, journal and replay) and performance plots.
//!
//! # Feature flags
//!
//! | feature | default | what it adds |
//! |---|---|---|
//! | `http` | yes | [`http`] layer, `/metrics` router and listener (axum, tower) |
//! | `macros` | yes | `#[track_inference]` |
//! | `sampler` | yes | [`sampler`] (sysinfo) |
//! | `nvml` | yes | NVIDIA GPU sampling (nvml-wrapper; `libnvidia-ml.so.1` is loaded at run time, nothing is needed to build) |
//! | `telemetry` | no | `telemetry`: `TelemetryConfig` (env filter, JSON/ECS logs, OTLP traces and logs, `log` bridge), the HTTP `TraceLayer` and `AccessLogLayer`, W3C propagation, `inference` spans (tracing, OpenTelemetry) |
//! | `drift` | no | `drift`: drift detection over polars frames (KS, chi-square, Z, PSI, Wasserstein, Jensen–Shannon) |
//! | `dashboard` | no | `dashboard`: the built-in monitoring page (plotters SVG charts; reqwest for Prometheus mode) |
//! | `wandb` | no | `tracking::wandb`: W&B offline runs (prost, crc32fast, sha2, crossbeam-channel) |
//! | `quality` | yes | `quality`: recommendation-quality metrics and online quality (no dependencies) |
//! | `tracking` | no | `tracking`: MLflow client, journal, plots (reqwest blocking, plotters) |
//! | `full` | no | all of the above |
//!
//! Library code never installs a global recorder or subscriber on its own.
#![deny(missing_docs, unsafe_code)]
#![cfg_attr(docsrs, feature(doc_cfg))]

pub mod active_users;
pub mod catalogue;
#[cfg(feature = "dashboard")]
pub mod dashboard;
#[cfg(feature = "drift")]
pub mod drift;
pub mod error;
pub mod exporter;
#[cfg(feature = "http")]
pub mod http;
pub mod inference;
#[cfg(feature = "quality")]
pub mod quality;
#[cfg(feature = "sampler")]
pub mod sampler;
#[cfg(feature = "telemetry")]
pub mod telemetry;
#[cfg(any(feature = "tracking", feature = "wandb"))]
pub mod tracking;

#[cfg(feature = "macros")]
pub use recwatch_macros::track_inference;

#[doc(hidden)]
#[path = "private.rs"]
pub mod __private;

#[cfg(feature = "dashboard")]
pub use dashboard::DashboardError;
#[cfg(feature = "drift")]
pub use drift::DriftError;
pub use error::ExporterError;
#[cfg(feature = "quality")]
pub use quality::QualityError;
#[cfg(feature = "sampler")]
pub use sampler::SamplerError;
#[cfg(feature = "telemetry")]
pub use telemetry::TelemetryError;
#[cfg(feature = "wandb")]
pub use tracking::wandb::WandbError;
#[cfg(feature = "tracking")]
pub use tracking::TrackingError;

/// The README's code blocks, compiled as doctests so they cannot rot.
#[cfg(all(doctest, feature = "http", feature = "macros", feature = "sampler"))]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
