//! [`AccessLogLayer`]: one log line per finished HTTP request.
//!
//! Each line is a `tracing` event with target [`ACCESS_LOG_TARGET`], emitted inside the
//! request's server span (put the layer inside [`TraceLayer`](crate::telemetry::TraceLayer)),
//! so the subscriber recwatch builds writes it with the request's trace and span ids, through
//! its bounded, non-blocking log writer: a stalled log shipper costs dropped (and counted)
//! lines, never slower requests. With [`LogFormat::Ecs`](crate::telemetry::LogFormat::Ecs) the
//! fields land on the Elastic Common Schema names:
//!
//! | field | value |
//! |---|---|
//! | `message` | `GET /movies/42 200` |
//! | `http.request.method` | the request method |
//! | `http.route` | the route template (`/movies/{id}`), when axum matched one |
//! | `url.path` | the path, without the query string |
//! | `url.query` | the query string, only with [`AccessLogLayer::with_query`] |
//! | `http.response.status_code` | the status; [`CANCELLED_STATUS_CODE`] (499) when the client went away first |
//! | `http.response.body.bytes` | the body size, when the body was sent to the end |
//! | `event.duration` | nanoseconds from the request to the end of the response body |
//! | `event.outcome` | `success`, `failure` (5xx, panic, service error) or `unknown` (cancelled) |
//! | `event.reason` | `cancelled`, `panic`, `body error` or `service error`, when one applies |
//! | `error.type` | the status code of a 5xx, `panic`, or `_OTHER` for a service error |
//! | `client.address`, `client.ip`, `client.port` | from axum's `ConnectInfo<SocketAddr>`, when served with `into_make_service_with_connect_info` |
//! | `user_agent.original` | the `User-Agent` header (at most 256 bytes) |
//! | `event.kind`, `event.category`, `event.type` | `event`, `web`, `access` |
//!
//! Errors — 5xx responses, panics (the layer sees them unwind), service errors, cancelled
//! requests and bodies cut short — are always logged, at `ERROR` (5xx, panics, service and
//! body errors) or `WARN` (cancellations). Other requests are logged at `INFO`, one in
//! [`AccessLogLayer::with_success_sampling`] (every one by default). No header other than
//! `User-Agent` is ever written, and the query string only when asked for: they carry tokens
//! and personal data.
//!
//! # Example
//!
//! ```no_run
//! use std::net::SocketAddr;
//! use axum::{routing::get, Router};
//! use recwatch::http::AccessLogLayer;
//! use recwatch::telemetry::{TelemetryConfig, TraceLayer};
//!
//! #[tokio::main]
//! async fn main() -> Result<(), Box<dyn std::error::Error>> {
//!     let _telemetry = TelemetryConfig::from_env()?.install()?;
//!     let app = Router::new()
//!         .route("/movies/{id}", get(|| async { "{}" }))
//!         .route("/healthz", get(|| async { "ok" }))
//!         // Inside the trace layer, so lines carry the request's trace id.
//!         .layer(AccessLogLayer::new().add_skip_path("/healthz"))
//!         .layer(TraceLayer::new());
//!     let listener = tokio::net::TcpListener::bind("127.0.0.1:8000").await?;
//!     axum::serve(listener, app.into_make_service_with_connect_info::<SocketAddr>()).await?;
//!     Ok(())
//! }
//! ```

mod body;
mod future;
mod layer;
mod record;
mod service;

pub use body::AccessLogBody;
pub use future::AccessLogFuture;
pub use layer::AccessLogLayer;
pub use service::AccessLog;

/// The `tracing` target of access log lines: filter them with `RUST_LOG`
/// (`recwatch::access=off`, `recwatch::access=warn` for errors only).
pub const ACCESS_LOG_TARGET: &str = "recwatch::access";

/// The `http.response.status_code` of a request whose client went away before the response
/// (the code nginx uses for "client closed request"); such lines also say
/// `event.reason = "cancelled"`.
pub const CANCELLED_STATUS_CODE: u16 = 499;
