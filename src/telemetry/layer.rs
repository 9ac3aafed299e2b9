//! [`TraceLayer`]: one OpenTelemetry server span per HTTP request.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{ready, Context, Poll};

use axum::extract::MatchedPath;
use http::header::{HeaderName, HeaderValue};
use http::{Method, Request, Response};
use opentelemetry::propagation::TextMapPropagator;
use opentelemetry_sdk::propagation::TraceContextPropagator;
use pin_project_lite::pin_project;
use tower_layer::Layer;
use tower_service::Service;
use tracing::field::Empty;
use tracing::Span;
use tracing_opentelemetry::OpenTelemetrySpanExt as _;

use super::body::TraceBody;
use super::propagation::extract_context;

const TRACEPARENT_NAME: &str = "traceparent";

/// A tower [`Layer`] that opens one server span per request and continues the caller's trace.
///
/// The span is named `{METHOD} {route}` from axum's `MatchedPath` (the route template, never the
/// raw path; just `{METHOD}` for unmatched requests) and carries the semantic-convention
/// attributes `http.request.method` (`_OTHER` for non-standard methods), `http.route`,
/// `url.path`, `http.response.status_code`, and `error.type` plus an error status for 5xx
/// responses and service errors. W3C `traceparent`/`tracestate` and `baggage` are extracted
/// from the request headers, so the span is a child of the caller's span. Spans opened while the
/// handler runs (such as `#[track_inference]`'s) nest under it.
///
/// The span ends when the response body ends, not when the response head is ready: the
/// response body is wrapped in a [`TraceBody`] that holds the span until its last frame (or
/// until it is dropped, when the client goes away), so a streamed response's span covers the
/// whole stream.
/// A sampled server span is also the exemplar of the request's latency observation, whichever
/// side of a [`RequestMetricsLayer`](crate::http::RequestMetricsLayer) this layer sits on (see
/// docs/exemplars.md).
///
/// Apply it with axum's `Router::layer` so the matched route is known. The span is recorded by
/// the subscriber [`TelemetryConfig`](super::TelemetryConfig) builds; without one it costs next
/// to nothing.
///
/// ```
/// use axum::{routing::get, Router};
/// use recwatch::telemetry::TraceLayer;
///
/// let app: Router = Router::new()
///     .route("/movies/{id}", get(|| async { "movie" }))
///     .layer(TraceLayer::new().with_response_traceparent(true).add_skip_path("/metrics"));
/// ```
#[derive(Clone, Debug, Default)]
#[must_use]
pub struct TraceLayer {
    config: Arc<Config>,
}

#[derive(Clone, Debug, Default)]
struct Config {
    response_traceparent: bool,
    skip_paths: Vec<Box<str>>,
}

impl TraceLayer {
    /// A layer that traces every request and adds nothing to responses.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a `traceparent` header naming the server span to every traced response, so callers
    /// can find the trace. Defaults to `false`.
    pub fn with_response_traceparent(mut self, enabled: bool) -> Self {
        Arc::make_mut(&mut self.config).response_traceparent = enabled;
        self
    }

    /// Opens no span for requests whose path is exactly `path` (e.g. `/metrics`, `/healthz`).
    /// Defaults to none.
    pub fn add_skip_path(mut self, path: impl Into<String>) -> Self {
        Arc::make_mut(&mut self.config)
            .skip_paths
            .push(path.into().into_boxed_str());
        self
    }
}

impl<S> Layer<S> for TraceLayer {
    type Service = TraceService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        TraceService {
            inner,
            config: self.config.clone(),
        }
    }
}

/// The service made by [`TraceLayer`].
///
/// ```
/// use recwatch::telemetry::{TraceLayer, TraceService};
/// use tower::{service_fn, Layer};
///
/// let svc: TraceService<_> = TraceLayer::new().layer(service_fn(|_: http::Request<()>| async {
///     Ok::<_, std::convert::Infallible>(http::Response::new(()))
/// }));
/// # let _ = svc;
/// ```
#[derive(Clone, Debug)]
pub struct TraceService<S> {
    inner: S,
    config: Arc<Config>,
}

fn method_name(method: &Method) -> &'static str {
    match *method {
        Method::GET => "GET",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::DELETE => "DELETE",
        Method::PATCH => "PATCH",
        Method::HEAD => "HEAD",
        Method::OPTIONS => "OPTIONS",
        Method::CONNECT => "CONNECT",
        Method::TRACE => "TRACE",
        _ => "_OTHER",
    }
}

impl<S, ReqBody, ResBody> Service<Request<ReqBody>> for TraceService<S>
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>>,
{
    type Response = Response<TraceBody<ResBody>>;
    type Error = S::Error;
    type Future = TraceFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request<ReqBody>) -> Self::Future {
        let path = req.uri().path();
        if self.config.skip_paths.iter().any(|p| **p == *path) {
            return TraceFuture {
                inner: self.inner.call(req),
                span: Span::none(),
                traceparent: None,
            };
        }
        let method = method_name(req.method());
        let route = req
            .extensions()
            .get::<MatchedPath>()
            .map(MatchedPath::as_str);
        let name = match route {
            Some(route) => format!("{method} {route}"),
            None => method.to_owned(),
        };
        let span = tracing::info_span!(
            target: "recwatch::http",
            "HTTP request",
            otel.name = name,
            otel.kind = "server",
            otel.status_code = Empty,
            http.request.method = method,
            http.route = route,
            url.path = path,
            http.response.status_code = Empty,
            error.type = Empty,
        );
        let mut traceparent = None;
        if !span.is_disabled() {
            // A missing or malformed header yields an empty context: the span becomes a root.
            let _ = span.set_parent(extract_context(req.headers()));
            if self.config.response_traceparent {
                let mut carrier = TraceparentCarrier(None);
                TraceContextPropagator::new().inject_context(&span.context(), &mut carrier);
                traceparent = carrier.0;
            }
        }
        let inner = {
            let _entered = span.enter();
            self.inner.call(req)
        };
        TraceFuture {
            inner,
            span,
            traceparent,
        }
    }
}

struct TraceparentCarrier(Option<HeaderValue>);

impl opentelemetry::propagation::Injector for TraceparentCarrier {
    fn set(&mut self, key: &str, value: String) {
        if key == TRACEPARENT_NAME {
            self.0 = HeaderValue::from_str(&value).ok();
        }
    }
}

pin_project! {
    /// The response future of [`TraceService`]: polls the inner future inside the request span,
    /// records the outcome on it and hands the span to the response's [`TraceBody`].
    ///
    /// ```
    /// use recwatch::telemetry::TraceLayer;
    /// use tower::{service_fn, Layer, Service};
    ///
    /// let mut svc = TraceLayer::new().layer(service_fn(|_: http::Request<()>| async {
    ///     Ok::<_, std::convert::Infallible>(http::Response::new(()))
    /// }));
    /// let fut: recwatch::telemetry::TraceFuture<_> = svc.call(http::Request::new(()));
    /// # drop(fut);
    /// ```
    pub struct TraceFuture<F> {
        #[pin]
        inner: F,
        span: Span,
        traceparent: Option<HeaderValue>,
    }
}

impl<F, ResBody, E> Future for TraceFuture<F>
where
    F: Future<Output = Result<Response<ResBody>, E>>,
{
    type Output = Result<Response<TraceBody<ResBody>>, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let _entered = this.span.enter();
        let result = ready!(this.inner.poll(cx));
        if this.span.is_disabled() {
            return Poll::Ready(result.map(|r| r.map(|b| TraceBody::new(b, Span::none()))));
        }
        Poll::Ready(match result {
            Ok(mut response) => {
                let status = response.status();
                this.span
                    .record("http.response.status_code", i64::from(status.as_u16()));
                if status.is_server_error() {
                    this.span.record("error.type", status.as_str());
                    this.span.record("otel.status_code", "error");
                }
                if let Some(value) = this.traceparent.take() {
                    response
                        .headers_mut()
                        .insert(HeaderName::from_static(TRACEPARENT_NAME), value);
                }
                // For a `RequestMetricsLayer` further out, which records the request's latency
                // after this span was left: the exemplar of that observation. The span is
                // still entered here, so its context is the active one.
                if let Some(ids) = crate::exemplar::active() {
                    response
                        .extensions_mut()
                        .insert(crate::exemplar::ServerSpan(ids));
                }
                Ok(response.map(|body| TraceBody::new(body, this.span.clone())))
            }
            Err(error) => {
                this.span.record("error.type", "_OTHER");
                this.span.record("otel.status_code", "error");
                Err(error)
            }
        })
    }
}
