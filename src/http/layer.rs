//! The [`RequestMetricsLayer`].

use std::sync::Arc;

use tower_layer::Layer;

use super::labels::RouteCache;
use super::service::RequestMetrics;
use crate::catalogue::Naming;

/// Resolves an endpoint label for requests that carry no axum `MatchedPath`.
///
/// Returning `&'static str` keeps the label set bounded by construction.
pub type EndpointFn = fn(&http::Method, &http::Uri) -> Option<&'static str>;

#[derive(Clone)]
pub(crate) struct Config {
    pub(crate) naming: Naming,
    pub(crate) time_body: bool,
    pub(crate) skip_paths: Vec<Box<str>>,
    pub(crate) endpoint_fn: Option<EndpointFn>,
}

pub(crate) struct Shared {
    pub(crate) config: Config,
    pub(crate) cache: RouteCache,
}

/// A tower [`Layer`] that records request count, latency and in-flight requests.
///
/// Apply it with axum's `Router::layer` (not `route_layer`, which would miss unmatched requests)
/// so that the matched route template is known when a request arrives. All services made from
/// one layer (axum makes one per route) share a cache of resolved metric handles, which is
/// what keeps the per-request cost low: after the first request of a (method, route, status),
/// recording is a few atomic operations with no hashing of label sets.
///
/// Handles are cached for the global recorder installed by
/// [`ExporterBuilder::install`](crate::exporter::ExporterBuilder::install) (or marked with
/// [`cache_global_recorder_handles`](crate::inference::cache_global_recorder_handles)). Its
/// route entries — one per (naming, method, route) — are shared by every layer and kept for the
/// rest of the process, as the recorder keeps the series they feed, so a request needs no
/// reference counting on shared memory (which is what contends across cores) and building many
/// layers costs no more memory than building one. Under any other recorder (a test's local
/// recorder, say) each request resolves its handles in that recorder, so nothing outlives it.
///
/// # Examples
///
/// ```
/// use axum::{routing::get, Router};
/// use recwatch::http::{Naming, RequestMetricsLayer};
///
/// let layer = RequestMetricsLayer::new()
///     .add_skip_path("/metrics")
///     .add_skip_path("/healthz")
///     .with_time_until_body_end(true)
///     .with_naming(Naming::Recwatch);
/// let app: Router = Router::new()
///     .route("/movies/{id}", get(|| async { "movie" }))
///     .layer(layer);
/// ```
#[derive(Clone)]
#[must_use = "a layer does nothing until applied with `Router::layer`"]
pub struct RequestMetricsLayer {
    shared: Arc<Shared>,
}

impl std::fmt::Debug for RequestMetricsLayer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let c = &self.shared.config;
        f.debug_struct("RequestMetricsLayer")
            .field("naming", &c.naming)
            .field("time_body", &c.time_body)
            .field("skip_paths", &c.skip_paths)
            .finish_non_exhaustive()
    }
}

impl Default for RequestMetricsLayer {
    fn default() -> Self {
        Self::new()
    }
}

impl RequestMetricsLayer {
    /// A layer with the catalogue names, timing until the response head, skipping nothing.
    pub fn new() -> Self {
        Self::from_config(Config {
            naming: Naming::Recwatch,
            time_body: false,
            skip_paths: Vec::new(),
            endpoint_fn: None,
        })
    }

    fn from_config(config: Config) -> Self {
        let cache = RouteCache::new(config.naming);
        Self {
            shared: Arc::new(Shared { config, cache }),
        }
    }

    fn edit(self, f: impl FnOnce(&mut Config)) -> Self {
        let mut config = self.shared.config.clone();
        f(&mut config);
        Self::from_config(config)
    }

    /// Chooses the metric and label names. Defaults to [`Naming::Recwatch`].
    pub fn with_naming(self, naming: Naming) -> Self {
        self.edit(|c| c.naming = naming)
    }

    /// When `true`, a request is timed until its response body has been fully sent (or
    /// dropped), which is what matters for streamed responses; the in-flight gauge also stays up
    /// until then. When `false`, timing stops when the response head is ready.
    /// Defaults to `false`.
    pub fn with_time_until_body_end(self, enabled: bool) -> Self {
        self.edit(|c| c.time_body = enabled)
    }

    /// Leaves requests whose path is exactly `path` unrecorded (for example `/metrics` or
    /// `/healthz`). May be called several times. Defaults to skipping nothing.
    pub fn add_skip_path(self, path: impl Into<String>) -> Self {
        let path: Box<str> = path.into().into_boxed_str();
        self.edit(|c| c.skip_paths.push(path))
    }

    /// Sets how to name the endpoint of requests without an axum `MatchedPath` (plain tower
    /// services, or routers wrapped from outside). Returning `None` uses
    /// [`UNMATCHED_ENDPOINT`](super::UNMATCHED_ENDPOINT). Defaults to none.
    ///
    /// ```
    /// use recwatch::http::RequestMetricsLayer;
    ///
    /// let layer = RequestMetricsLayer::new().with_endpoint_fn(|_method, uri| {
    ///     uri.path().starts_with("/v1/").then_some("/v1/*")
    /// });
    /// # drop(layer);
    /// ```
    pub fn with_endpoint_fn(self, f: EndpointFn) -> Self {
        self.edit(|c| c.endpoint_fn = Some(f))
    }
}

impl<S> Layer<S> for RequestMetricsLayer {
    type Service = RequestMetrics<S>;

    fn layer(&self, inner: S) -> Self::Service {
        RequestMetrics::new(inner, self.shared.clone())
    }
}
