//! The [`AccessLogLayer`] and its settings.

use std::num::NonZeroU32;
use std::sync::atomic::AtomicU64;
use std::sync::Arc;

use tower_layer::Layer;

use super::service::AccessLog;

#[derive(Clone, Debug)]
pub(crate) struct Config {
    pub(crate) skip_paths: Vec<Box<str>>,
    pub(crate) success_one_in: NonZeroU32,
    pub(crate) query: bool,
}

#[derive(Debug)]
pub(crate) struct Shared {
    pub(crate) config: Config,
    /// Successful requests seen, for sampling.
    pub(crate) successes: AtomicU64,
}

/// A tower [`Layer`] that writes one access log line per finished request.
///
/// Apply it with axum's `Router::layer`, inside [`TraceLayer`](crate::telemetry::TraceLayer)
/// (that is, before it in the `.layer` chain), so the route template is known and the line
/// carries the request's trace id. Serve with
/// `into_make_service_with_connect_info::<SocketAddr>()` to log the client address.
///
/// Each line is a `tracing` event with target
/// [`ACCESS_LOG_TARGET`](crate::http::ACCESS_LOG_TARGET), emitted inside the request's server
/// span (hence inside `TraceLayer`), so the subscriber recwatch builds writes it with the
/// request's trace and span ids, through its bounded, non-blocking log writer: a stalled log shipper costs dropped (and counted)
/// lines, never slower requests. With [`LogFormat::Ecs`](crate::telemetry::LogFormat::Ecs) the
/// fields land on the Elastic Common Schema names:
///
/// | field | value |
/// |---|---|
/// | `message` | `GET /movies/42 200` |
/// | `http.request.method` | the request method |
/// | `http.route` | the route template (`/movies/{id}`), when axum matched one |
/// | `url.path` | the path, without the query string |
/// | `url.query` | the query string, only with [`with_query`](Self::with_query) |
/// | `http.response.status_code` | the status; [`CANCELLED_STATUS_CODE`](crate::http::CANCELLED_STATUS_CODE) (499) when the client went away first |
/// | `http.response.body.bytes` | the body size, when the body was sent to the end |
/// | `event.duration` | nanoseconds from the request to the end of the response body |
/// | `event.outcome` | `success`, `failure` (5xx, panic, service error) or `unknown` (cancelled) |
/// | `event.reason` | `cancelled`, `panic`, `body error` or `service error`, when one applies |
/// | `error.type` | the status code of a 5xx, `panic`, or `_OTHER` for a service error |
/// | `client.address`, `client.ip`, `client.port` | from axum's `ConnectInfo<SocketAddr>`, when served with `into_make_service_with_connect_info` |
/// | `user_agent.original` | the `User-Agent` header (at most 256 bytes) |
/// | `event.kind`, `event.category`, `event.type` | `event`, `web`, `access` |
///
/// Errors — 5xx responses, panics (the layer sees them unwind), service errors, cancelled
/// requests and bodies cut short — are always logged, at `ERROR` (5xx, panics, service and
/// body errors) or `WARN` (cancellations). Other requests are logged at `INFO`, one in
/// [`with_success_sampling`](Self::with_success_sampling) (every one by default). No header
/// other than `User-Agent` is ever written, and the query string only when asked for: they carry tokens
/// and personal data.
///
/// # Examples
///
/// ```no_run
/// use std::net::SocketAddr;
/// use axum::{routing::get, Router};
/// use recwatch::http::AccessLogLayer;
/// use recwatch::telemetry::{TelemetryConfig, TraceLayer};
///
/// #[tokio::main]
/// async fn main() -> Result<(), Box<dyn std::error::Error>> {
///     let _telemetry = TelemetryConfig::from_env()?.install()?;
///     let app = Router::new()
///         .route("/movies/{id}", get(|| async { "{}" }))
///         .route("/healthz", get(|| async { "ok" }))
///         // Inside the trace layer, so lines carry the request's trace id.
///         .layer(AccessLogLayer::new().add_skip_path("/healthz"))
///         .layer(TraceLayer::new());
///     let listener = tokio::net::TcpListener::bind("127.0.0.1:8000").await?;
///     axum::serve(listener, app.into_make_service_with_connect_info::<SocketAddr>()).await?;
///     Ok(())
/// }
/// ```
///
/// Settings:
///
/// ```
/// use std::num::NonZeroU32;
/// use axum::{routing::get, Router};
/// use recwatch::http::AccessLogLayer;
///
/// let layer = AccessLogLayer::new()
///     .add_skip_path("/metrics")
///     .add_skip_path("/healthz")
///     .with_success_sampling(NonZeroU32::new(10).unwrap());
/// let app: Router = Router::new()
///     .route("/movies/{id}", get(|| async { "movie" }))
///     .layer(layer);
/// ```
#[derive(Clone, Debug)]
#[must_use]
pub struct AccessLogLayer {
    shared: Arc<Shared>,
}

impl Default for AccessLogLayer {
    fn default() -> Self {
        Self::new()
    }
}

impl AccessLogLayer {
    /// A layer that logs every request, without query strings, skipping no path.
    pub fn new() -> Self {
        Self::from_config(Config {
            skip_paths: Vec::new(),
            success_one_in: NonZeroU32::MIN,
            query: false,
        })
    }

    fn from_config(config: Config) -> Self {
        Self {
            shared: Arc::new(Shared {
                config,
                successes: AtomicU64::new(0),
            }),
        }
    }

    fn edit(self, f: impl FnOnce(&mut Config)) -> Self {
        let mut config = self.shared.config.clone();
        f(&mut config);
        Self::from_config(config)
    }

    /// Writes no line for requests whose path is exactly `path` (e.g. `/metrics`, `/healthz`).
    /// May be called several times. Defaults to none.
    pub fn add_skip_path(self, path: impl Into<String>) -> Self {
        let path = path.into().into_boxed_str();
        self.edit(|c| c.skip_paths.push(path))
    }

    /// Logs one in every `one_in` successful requests (status below 500, response sent to the
    /// end): the 1st, the `one_in + 1`-th, and so on, counted per layer. Errors and cancelled
    /// requests are always logged. Defaults to 1: every request.
    pub fn with_success_sampling(self, one_in: NonZeroU32) -> Self {
        self.edit(|c| c.success_one_in = one_in)
    }

    /// Writes the query string as `url.query`. Defaults to `false`: query strings often carry
    /// tokens and personal data.
    pub fn with_query(self, enabled: bool) -> Self {
        self.edit(|c| c.query = enabled)
    }
}

impl<S> Layer<S> for AccessLogLayer {
    type Service = AccessLog<S>;

    fn layer(&self, inner: S) -> Self::Service {
        AccessLog::new(inner, self.shared.clone())
    }
}
