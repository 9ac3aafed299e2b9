//! What is known about one request, and the line written when it ends — exactly once,
//! however it ends.

use std::net::SocketAddr;
use std::sync::atomic::Ordering;
use std::sync::Arc;

use axum::extract::MatchedPath;
use http::Method;
use quanta::Instant;
use tracing::{Level, Span};

use super::layer::Shared;
use super::{ACCESS_LOG_TARGET, CANCELLED_STATUS_CODE};

/// How a request ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum End {
    /// The response was sent to the end of its body.
    Sent,
    /// The client went away (future or body dropped) before the end.
    Cancelled,
    /// The handler panicked.
    Panic,
    /// The inner service returned an error instead of a response.
    ServiceError,
    /// The response body failed mid-stream.
    BodyError,
}

pub(crate) struct Record {
    shared: Arc<Shared>,
    method: Method,
    route: Option<MatchedPath>,
    path: String,
    query: Option<String>,
    client: Option<SocketAddr>,
    user_agent: Option<String>,
    /// The span current when the request arrived: the server span of `TraceLayer`.
    span: Span,
    start: Instant,
    status: Option<u16>,
    bytes: u64,
    done: bool,
}

impl Record {
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn start(
        shared: Arc<Shared>,
        method: Method,
        route: Option<MatchedPath>,
        path: String,
        query: Option<String>,
        client: Option<SocketAddr>,
        user_agent: Option<String>,
    ) -> Self {
        Self {
            shared,
            method,
            route,
            path,
            query,
            client,
            user_agent,
            span: Span::current(),
            start: Instant::now(),
            status: None,
            bytes: 0,
            done: false,
        }
    }

    pub(crate) fn set_status(&mut self, status: u16) {
        self.status = Some(status);
    }

    pub(crate) fn add_bytes(&mut self, n: usize) {
        self.bytes = self.bytes.saturating_add(n as u64);
    }

    /// Writes the line (unless sampled out), once.
    pub(crate) fn finish(&mut self, end: End) {
        if std::mem::replace(&mut self.done, true) {
            return;
        }
        let status = match end {
            End::Panic | End::ServiceError => 500,
            End::Cancelled => self.status.unwrap_or(CANCELLED_STATUS_CODE),
            End::Sent | End::BodyError => self.status.unwrap_or(500),
        };
        let failed = status >= 500 || !matches!(end, End::Sent | End::Cancelled);
        let (level, outcome) = match end {
            _ if failed => (Level::ERROR, "failure"),
            End::Cancelled => (Level::WARN, "unknown"),
            _ => (Level::INFO, "success"),
        };
        if level == Level::INFO && !self.sampled() {
            return;
        }
        let reason = match end {
            End::Sent => None,
            End::Cancelled => Some("cancelled"),
            End::Panic => Some("panic"),
            End::ServiceError => Some("service error"),
            End::BodyError => Some("body error"),
        };
        let error_type = match end {
            End::Panic => Some("panic".to_owned()),
            End::ServiceError => Some("_OTHER".to_owned()),
            _ if status >= 500 => Some(status.to_string()),
            _ => None,
        };
        let shown_status = if end == End::Cancelled && self.status.is_none() {
            "cancelled".to_owned()
        } else {
            status.to_string()
        };
        let duration_ns = u64::try_from(self.start.elapsed().as_nanos()).unwrap_or(u64::MAX);
        let bytes = (end == End::Sent).then_some(self.bytes);
        let client_ip = self.client.map(|a| a.ip().to_string());
        let client_port = self.client.map(|a| a.port());

        macro_rules! line {
            ($level:expr) => {
                tracing::event!(
                    target: ACCESS_LOG_TARGET,
                    parent: &self.span,
                    $level,
                    http.request.method = self.method.as_str(),
                    http.route = self.route.as_ref().map(MatchedPath::as_str),
                    url.path = self.path.as_str(),
                    url.query = self.query.as_deref(),
                    http.response.status_code = status,
                    http.response.body.bytes = bytes,
                    event.duration = duration_ns,
                    event.outcome = outcome,
                    event.reason = reason,
                    error.type = error_type.as_deref(),
                    client.address = client_ip.as_deref(),
                    client.ip = client_ip.as_deref(),
                    client.port = client_port,
                    user_agent.original = self.user_agent.as_deref(),
                    event.kind = "event",
                    event.category = "web",
                    event.type = "access",
                    "{} {} {}",
                    self.method,
                    self.path,
                    shown_status
                )
            };
        }
        match level {
            Level::ERROR => line!(Level::ERROR),
            Level::WARN => line!(Level::WARN),
            _ => line!(Level::INFO),
        }
    }

    /// Whether this successful request is one of the sampled ones.
    fn sampled(&self) -> bool {
        let one_in = u64::from(self.shared.config.success_one_in.get());
        one_in == 1 || self.shared.successes.fetch_add(1, Ordering::Relaxed) % one_in == 0
    }
}

impl Drop for Record {
    fn drop(&mut self) {
        if !self.done {
            self.finish(if std::thread::panicking() {
                End::Panic
            } else {
                End::Cancelled
            });
        }
    }
}
