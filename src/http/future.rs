//! Response future and the guard that records a request exactly once.

use quanta::Instant;
use std::future::Future;
use std::pin::Pin;
use std::task::{ready, Context, Poll};

use http::Response;
use pin_project_lite::pin_project;

use super::body::ResponseBody;
use super::labels::{RouteRef, StatusKey, STATUS_CANCELLED};
use crate::exemplar::{self, TraceIds};

/// Records one request when finished, or on drop: as `500` while panicking, as
/// [`CANCELLED_STATUS`](super::CANCELLED_STATUS) otherwise. Always brings the in-flight gauge
/// back down.
pub(crate) struct RequestGuard {
    route: RouteRef,
    start: Instant,
    /// Response status, once known (used when timing until the end of the body).
    status: Option<StatusKey>,
    /// The request's sampled span, once known: the latency observation's exemplar. Recording
    /// happens after the server span was left (a `TraceLayer` inside this layer) or outside
    /// any span (end of body), so the ids are taken when the response head is ready. Zero-sized
    /// without the `telemetry` feature.
    exemplar: Option<TraceIds>,
    done: bool,
}

impl RequestGuard {
    pub(crate) fn new(route: RouteRef, start: Instant) -> Self {
        Self {
            route,
            start,
            status: None,
            exemplar: None,
            done: false,
        }
    }

    pub(crate) fn set_status(&mut self, status: StatusKey) {
        self.status = Some(status);
    }

    /// Takes the request's span from the response (put there by a `TraceLayer` inside this
    /// layer) or, failing that, from the span being polled in (a `TraceLayer` outside).
    #[inline]
    pub(crate) fn capture_exemplar<B>(&mut self, response: &Response<B>) {
        self.exemplar = exemplar::of_response(response).or_else(exemplar::active);
    }

    pub(crate) fn finish(&mut self, status: StatusKey) {
        if !self.done {
            self.done = true;
            let seconds = self.start.elapsed().as_secs_f64();
            // Without ids of its own, the histogram takes the active span's, if any.
            exemplar::with_ids(self.exemplar, || self.route.record(status, seconds));
            self.route.in_flight.decrement(1.0);
        }
    }

    /// Finishes with the status recorded by [`set_status`](Self::set_status).
    pub(crate) fn finish_with_known_status(&mut self) {
        let status = self.status.unwrap_or(STATUS_CANCELLED);
        self.finish(status);
    }
}

impl Drop for RequestGuard {
    fn drop(&mut self) {
        if !self.done {
            let status = if std::thread::panicking() {
                500
            } else {
                STATUS_CANCELLED
            };
            self.finish(status);
        }
    }
}

struct PanicMarker<'a>(&'a mut Option<RequestGuard>);

impl Drop for PanicMarker<'_> {
    fn drop(&mut self) {
        if std::thread::panicking() {
            if let Some(mut guard) = self.0.take() {
                guard.finish(500);
            }
        }
    }
}

pin_project! {
    /// Response future of [`RequestMetrics`](super::RequestMetrics).
    pub struct ResponseFuture<F> {
        #[pin]
        inner: F,
        guard: Option<RequestGuard>,
        time_body: bool,
    }
}

impl<F> ResponseFuture<F> {
    pub(crate) fn new(inner: F, guard: Option<RequestGuard>, time_body: bool) -> Self {
        Self {
            inner,
            guard,
            time_body,
        }
    }
}

impl<F, B, E> Future for ResponseFuture<F>
where
    F: Future<Output = Result<Response<B>, E>>,
    B: http_body::Body,
{
    type Output = Result<Response<ResponseBody<B>>, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        // If the inner future panics, the unwinding passes through this frame while the
        // future itself may outlive the panic (a catch-panic layer further out holds it), so
        // record the 500 from a guard on the stack.
        let marker = PanicMarker(this.guard);
        let result = ready!(this.inner.poll(cx));
        let mut guard = marker.0.take();
        Poll::Ready(match result {
            Ok(response) => {
                let status = response.status().as_u16();
                if let Some(g) = guard.as_mut() {
                    g.capture_exemplar(&response);
                }
                let body_guard = match guard.as_mut() {
                    Some(g) if *this.time_body => {
                        g.set_status(status);
                        guard
                    }
                    Some(g) => {
                        g.finish(status);
                        None
                    }
                    None => None,
                };
                Ok(response.map(|body| ResponseBody::new(body, body_guard)))
            }
            Err(err) => {
                // The service failed without a response: the connection gets none either.
                if let Some(g) = guard.as_mut() {
                    g.finish(500);
                }
                Err(err)
            }
        })
    }
}
