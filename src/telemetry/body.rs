//! [`TraceBody`]: keeps the request span open until the response body ends.

use std::pin::Pin;
use std::task::{Context, Poll};

use http_body::{Body, Frame, SizeHint};
use pin_project_lite::pin_project;
use tracing::Span;

pin_project! {
    /// Response body of [`TraceService`](super::TraceService).
    ///
    /// Holds the request's server span until the last frame has been produced (or the body
    /// fails, or is dropped because the client went away), so the span of a streamed response
    /// (server-sent events, a generated answer) covers the whole stream, not only the time to
    /// the response head. Each frame is polled inside the span, so spans and events of the
    /// producer nest under it.
    ///
    /// ```
    /// use recwatch::telemetry::{TraceBody, TraceLayer};
    /// use tower::{service_fn, Layer, Service, ServiceExt};
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let mut svc = TraceLayer::new().layer(service_fn(|_: http::Request<()>| async {
    ///     Ok::<_, std::convert::Infallible>(http::Response::new(String::from("streamed")))
    /// }));
    /// let response = svc.ready().await.unwrap().call(http::Request::new(())).await.unwrap();
    /// let _body: &TraceBody<String> = response.body();
    /// # }
    /// ```
    pub struct TraceBody<B> {
        #[pin]
        inner: B,
        span: Option<Span>,
    }
}

impl<B> TraceBody<B> {
    pub(crate) fn new(inner: B, span: Span) -> Self {
        let span = (!span.is_disabled()).then_some(span);
        Self { inner, span }
    }

    /// The wrapped body.
    pub fn into_inner(self) -> B {
        self.inner
    }
}

impl<B: Body> Body for TraceBody<B> {
    type Data = B::Data;
    type Error = B::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Self::Data>, Self::Error>>> {
        let this = self.project();
        let mut inner = this.inner;
        let polled = match this.span.as_ref() {
            Some(span) => span.in_scope(|| inner.as_mut().poll_frame(cx)),
            None => inner.as_mut().poll_frame(cx),
        };
        if this.span.is_some() {
            let ended = match &polled {
                Poll::Ready(None) | Poll::Ready(Some(Err(_))) => true,
                Poll::Ready(Some(Ok(_))) => inner.is_end_stream(),
                Poll::Pending => false,
            };
            if ended {
                // The last handle of the span: it closes (and is exported) now.
                *this.span = None;
            }
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}
