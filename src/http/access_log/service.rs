//! The [`AccessLog`] service.

use std::net::SocketAddr;
use std::sync::Arc;
use std::task::{Context, Poll};

use axum::extract::{ConnectInfo, MatchedPath};
use http::{Request, Response};
use tower_service::Service;

use super::future::AccessLogFuture;
use super::layer::Shared;
use super::record::Record;
use super::ACCESS_LOG_TARGET;

/// At most this much of the `User-Agent` header is written.
const MAX_USER_AGENT: usize = 256;

/// The service made by [`AccessLogLayer`](super::AccessLogLayer).
///
/// ```
/// use recwatch::http::{AccessLog, AccessLogLayer};
/// use tower::{service_fn, Layer};
///
/// let svc: AccessLog<_> = AccessLogLayer::new().layer(service_fn(|_: http::Request<()>| async {
///     Ok::<_, std::convert::Infallible>(http::Response::new(()))
/// }));
/// # let _ = svc;
/// ```
#[derive(Clone, Debug)]
pub struct AccessLog<S> {
    inner: S,
    shared: Arc<Shared>,
}

impl<S> AccessLog<S> {
    pub(crate) fn new(inner: S, shared: Arc<Shared>) -> Self {
        Self { inner, shared }
    }

    /// The wrapped service.
    pub fn get_ref(&self) -> &S {
        &self.inner
    }
}

impl<S, ReqBody, ResBody> Service<Request<ReqBody>> for AccessLog<S>
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>>,
    ResBody: http_body::Body,
{
    type Response = Response<super::AccessLogBody<ResBody>>;
    type Error = S::Error;
    type Future = AccessLogFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request<ReqBody>) -> Self::Future {
        let config = &self.shared.config;
        let path = req.uri().path();
        let skipped = config.skip_paths.iter().any(|p| **p == *path);
        // Nothing to prepare when no subscriber wants the lines (or the filter drops them).
        if skipped || !tracing::enabled!(target: ACCESS_LOG_TARGET, tracing::Level::ERROR) {
            return AccessLogFuture::new(self.inner.call(req), None);
        }
        let user_agent = req
            .headers()
            .get(http::header::USER_AGENT)
            .and_then(|v| v.to_str().ok())
            .map(|ua| truncate(ua, MAX_USER_AGENT).to_owned());
        let record = Record::start(
            self.shared.clone(),
            req.method().clone(),
            req.extensions().get::<MatchedPath>().cloned(),
            path.to_owned(),
            config
                .query
                .then(|| req.uri().query().map(str::to_owned))
                .flatten(),
            req.extensions()
                .get::<ConnectInfo<SocketAddr>>()
                .map(|c| c.0),
            user_agent,
        );
        AccessLogFuture::new(self.inner.call(req), Some(record))
    }
}

/// The longest prefix of `text` of at most `max` bytes that ends on a character boundary.
fn truncate(text: &str, max: usize) -> &str {
    if text.len() <= max {
        return text;
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}

#[cfg(test)]
mod tests {
    #[test]
    fn truncation_keeps_whole_characters() {
        assert_eq!(super::truncate("abc", 8), "abc");
        assert_eq!(super::truncate("aé", 2), "a");
        assert_eq!(super::truncate("abcdef", 3), "abc");
    }
}
