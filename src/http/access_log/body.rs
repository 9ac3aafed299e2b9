//! The response body of [`AccessLog`](super::AccessLog): counts bytes and writes the line at
//! the end of the stream.

use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Buf as _;
use http_body::{Body, Frame, SizeHint};
use pin_project_lite::pin_project;

use super::record::{End, Record};

pin_project! {
    /// The response body of [`AccessLog`](super::AccessLog).
    ///
    /// The line is written when the last frame has been produced; a body dropped before that
    /// (the client went away mid-stream) is logged as cancelled, one that fails as a body
    /// error.
    pub struct AccessLogBody<B> {
        #[pin]
        inner: B,
        record: Option<Record>,
    }
}

impl<B: Body> AccessLogBody<B> {
    pub(crate) fn new(inner: B, mut record: Option<Record>) -> Self {
        if inner.is_end_stream() {
            if let Some(r) = record.as_mut() {
                r.finish(End::Sent);
            }
            record = None;
        }
        Self { inner, record }
    }
}

impl<B: Body> Body for AccessLogBody<B> {
    type Data = B::Data;
    type Error = B::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Self::Data>, Self::Error>>> {
        let this = self.project();
        let mut inner = this.inner;
        let polled = inner.as_mut().poll_frame(cx);
        if let Some(record) = this.record.as_mut() {
            let end = match &polled {
                Poll::Ready(Some(Ok(frame))) => {
                    if let Some(data) = frame.data_ref() {
                        record.add_bytes(data.remaining());
                    }
                    inner.is_end_stream().then_some(End::Sent)
                }
                Poll::Ready(None) => Some(End::Sent),
                Poll::Ready(Some(Err(_))) => Some(End::BodyError),
                Poll::Pending => None,
            };
            if let Some(end) = end {
                record.finish(end);
                *this.record = None;
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
