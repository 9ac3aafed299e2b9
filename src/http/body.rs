//! Response body wrapper that finishes the timing at the end of the stream.

use std::pin::Pin;
use std::task::{Context, Poll};

use http_body::{Body, Frame, SizeHint};
use pin_project_lite::pin_project;

use super::future::RequestGuard;

pin_project! {
    /// Response body of [`RequestMetrics`](super::RequestMetrics).
    ///
    /// When timing until the end of the body is on, the request is recorded when the last frame
    /// has been produced; if the body is dropped before that (the client went away mid-stream),
    /// it is recorded with status [`CANCELLED_STATUS`](super::CANCELLED_STATUS).
    pub struct ResponseBody<B> {
        #[pin]
        inner: B,
        guard: Option<RequestGuard>,
    }
}

impl<B: Body> ResponseBody<B> {
    pub(crate) fn new(inner: B, mut guard: Option<RequestGuard>) -> Self {
        if inner.is_end_stream() {
            if let Some(g) = guard.as_mut() {
                g.finish_with_known_status();
            }
            guard = None;
        }
        Self { inner, guard }
    }
}

impl<B: Body> Body for ResponseBody<B> {
    type Data = B::Data;
    type Error = B::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Self::Data>, Self::Error>>> {
        let this = self.project();
        let mut inner = this.inner;
        let polled = inner.as_mut().poll_frame(cx);
        if let Some(guard) = this.guard.as_mut() {
            let finished = match &polled {
                Poll::Ready(None) | Poll::Ready(Some(Err(_))) => true,
                Poll::Ready(Some(Ok(_))) => inner.is_end_stream(),
                Poll::Pending => false,
            };
            if finished {
                guard.finish_with_known_status();
                *this.guard = None;
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
