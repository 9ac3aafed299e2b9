//! The response future of [`AccessLog`](super::AccessLog).

use std::future::Future;
use std::pin::Pin;
use std::task::{ready, Context, Poll};

use http::Response;
use pin_project_lite::pin_project;

use super::body::AccessLogBody;
use super::record::{End, Record};

pin_project! {
    /// The response future of [`AccessLog`](super::AccessLog): hands the record of the request
    /// to the response body, or writes the line if the request ends here (service error,
    /// panic, or the future dropped before a response: cancelled).
    ///
    /// ```
    /// use recwatch::http::AccessLogLayer;
    /// use tower::{service_fn, Layer, Service};
    ///
    /// let mut svc = AccessLogLayer::new().layer(service_fn(|_: http::Request<()>| async {
    ///     Ok::<_, std::convert::Infallible>(http::Response::new(axum::body::Body::empty()))
    /// }));
    /// let fut: recwatch::http::AccessLogFuture<_> = svc.call(http::Request::new(()));
    /// # drop(fut);
    /// ```
    pub struct AccessLogFuture<F> {
        #[pin]
        inner: F,
        record: Option<Record>,
    }
}

impl<F> AccessLogFuture<F> {
    pub(crate) fn new(inner: F, record: Option<Record>) -> Self {
        Self { inner, record }
    }
}

impl<F, B, E> Future for AccessLogFuture<F>
where
    F: Future<Output = Result<Response<B>, E>>,
    B: http_body::Body,
{
    type Output = Result<Response<AccessLogBody<B>>, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        // If the inner future panics, the unwinding passes through this frame while the future
        // itself may outlive the panic (a catch-panic layer further out holds it), so write the
        // line from a guard on the stack.
        let guard = PanicGuard(this.record);
        let result = ready!(this.inner.poll(cx));
        let mut record = guard.0.take();
        Poll::Ready(match result {
            Ok(response) => {
                if let Some(r) = record.as_mut() {
                    r.set_status(response.status().as_u16());
                }
                Ok(response.map(|body| AccessLogBody::new(body, record)))
            }
            Err(error) => {
                if let Some(r) = record.as_mut() {
                    r.finish(End::ServiceError);
                }
                Err(error)
            }
        })
    }
}

struct PanicGuard<'a>(&'a mut Option<Record>);

impl Drop for PanicGuard<'_> {
    fn drop(&mut self) {
        if std::thread::panicking() {
            if let Some(mut record) = self.0.take() {
                record.finish(End::Panic);
            }
        }
    }
}
