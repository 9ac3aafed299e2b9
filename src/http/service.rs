//! The [`RequestMetrics`] service.

use quanta::Instant;
use std::sync::Arc;
use std::task::{Context, Poll};

use axum::extract::MatchedPath;
use http::{Request, Response};
use tower_service::Service;

use super::body::ResponseBody;
use super::future::{RequestGuard, ResponseFuture};
use super::labels::UNMATCHED_ENDPOINT;
use super::layer::Shared;

/// Service made by [`RequestMetricsLayer`](super::RequestMetricsLayer).
#[derive(Clone)]
pub struct RequestMetrics<S> {
    inner: S,
    shared: Arc<Shared>,
}

impl<S: std::fmt::Debug> std::fmt::Debug for RequestMetrics<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RequestMetrics")
            .field("inner", &self.inner)
            .finish_non_exhaustive()
    }
}

impl<S> RequestMetrics<S> {
    pub(crate) fn new(inner: S, shared: Arc<Shared>) -> Self {
        Self { inner, shared }
    }

    /// The wrapped service.
    pub fn get_ref(&self) -> &S {
        &self.inner
    }
}

impl<S, ReqBody, ResBody> Service<Request<ReqBody>> for RequestMetrics<S>
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>>,
    ResBody: http_body::Body,
{
    type Response = Response<ResponseBody<ResBody>>;
    type Error = S::Error;
    type Future = ResponseFuture<S::Future>;

    #[inline]
    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request<ReqBody>) -> Self::Future {
        let config = &self.shared.config;
        let path = req.uri().path();
        if !config.skip_paths.is_empty() && config.skip_paths.iter().any(|p| **p == *path) {
            return ResponseFuture::new(self.inner.call(req), None, false);
        }
        let endpoint = match req.extensions().get::<MatchedPath>() {
            Some(matched) => matched.as_str(),
            None => config
                .endpoint_fn
                .and_then(|f| f(req.method(), req.uri()))
                .unwrap_or(UNMATCHED_ENDPOINT),
        };
        let route = self.shared.cache.route(req.method(), endpoint);
        route.in_flight.increment(1.0);
        let guard = RequestGuard::new(route, Instant::now());
        ResponseFuture::new(self.inner.call(req), Some(guard), config.time_body)
    }
}
