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
//!         .layer(RequestMetricsLayer::new().skip_path("/metrics"));
//!
//!     let listener = tokio::net::TcpListener::bind("127.0.0.1:8000").await?;
//!     axum::serve(listener, app).await?;
//!     Ok(())
//! }
//! ```
//!
//! # Modules
//!
//! - [`exporter`]: recorder install, bucket layouts, `/metrics` route and standalone listener.
//! - [`http`]: the tower layer (`recommendation_requests_total`, `…_duration_seconds`,
//!   `…_in_flight`), route-template labels, cancellation and panic accounting.
//! - [`active_users`]: `recommendation_active_users` over a sliding window, in fixed memory.
//! - [`inference`]: runtime side of `#[track_inference]`, the non-macro timer API, and streamed
//!   generation (time to first token, tokens, cost) with `GenerationTracker`.
//! - [`sampler`]: system, process, container and GPU gauges on their own thread.
//! - `telemetry` (feature `telemetry`): one `init` for logs and OTLP traces, server spans that
//!   continue the caller's W3C trace.
//! - `drift` (feature `drift`): data drift between a reference and a current polars frame,
//!   Evidently-compatible by default, with a JSON report.
//!
//! # Feature flags
//!
//! | feature | default | what it adds |
//! |---|---|---|
//! | `http` | yes | [`http`] layer, `/metrics` router and listener (axum, tower) |
//! | `macros` | yes | `#[track_inference]` |
//! | `sampler` | yes | [`sampler`] (sysinfo) |
//! | `nvml` | yes | NVIDIA GPU sampling (nvml-wrapper; `libnvidia-ml.so.1` is loaded at run time, nothing is needed to build) |
//! | `generation` | yes | streamed generation tracking in [`inference`]: time to first token, tokens, cost (futures-core) |
//! | `telemetry` | no | `telemetry`: `init` (env filter, JSON logs, OTLP traces and logs), the HTTP `TraceLayer`, W3C propagation, `inference` spans (tracing, OpenTelemetry) |
//! | `drift` | no | `drift`: drift detection over polars frames (KS, chi-square, Z, PSI, Wasserstein, Jensen–Shannon) |
//! | `full` | no | all of the above |
//!
//! Library code never installs a global recorder or subscriber on its own.
#![deny(missing_docs, unsafe_code)]
#![cfg_attr(docsrs, feature(doc_cfg))]

pub mod active_users;
pub mod catalogue;
#[cfg(feature = "drift")]
pub mod drift;
pub mod error;
pub mod exporter;
#[cfg(feature = "http")]
pub mod http;
pub mod inference;
#[cfg(feature = "sampler")]
pub mod sampler;
#[cfg(feature = "telemetry")]
pub mod telemetry;

#[cfg(feature = "macros")]
pub use recwatch_macros::track_inference;

#[doc(hidden)]
#[path = "private.rs"]
pub mod __private;

pub use error::ExporterError;
#[cfg(feature = "generation")]
pub use inference::GenerationError;
#[cfg(feature = "telemetry")]
pub use telemetry::TelemetryError;

/// The README's code blocks, compiled as doctests so they cannot rot.
#[cfg(all(doctest, feature = "http", feature = "macros", feature = "sampler"))]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
