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

/// A tower [`Layer`] that writes one access log line per finished request (see the
/// [module docs](super) for the fields).
///
/// Apply it with axum's `Router::layer`, inside [`TraceLayer`](crate::telemetry::TraceLayer)
/// (that is, before it in the `.layer` chain), so the route template is known and the line
/// carries the request's trace id. Serve with
/// `into_make_service_with_connect_info::<SocketAddr>()` to log the client address.
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
