//! `/metrics` as an axum route, and the standalone listener.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use tokio::sync::oneshot;

use super::{ExporterError, MetricsHandle};

/// `Content-Type` of the Prometheus text exposition format.
pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// `Content-Type` of the OpenMetrics 1.0 text exposition format, served to scrapers whose
/// `Accept` header prefers it.
pub const OPENMETRICS_CONTENT_TYPE: &str =
    "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// Settings of the standalone `/metrics` listener.
///
/// # Examples
///
/// ```
/// use recwatch::exporter::ListenerConfig;
///
/// let config = ListenerConfig::new()
///     .with_addr(([127, 0, 0, 1], 9464).into())
///     .with_bearer_token("s3cret");
/// assert_eq!(config.addr().port(), 9464);
/// ```
#[derive(Clone)]
#[must_use = "a config does nothing until passed to `MetricsHandle::spawn_listener`"]
pub struct ListenerConfig {
    addr: SocketAddr,
    path: String,
    bearer_token: Option<Arc<str>>,
}

impl std::fmt::Debug for ListenerConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ListenerConfig")
            .field("addr", &self.addr)
            .field("path", &self.path)
            .field(
                "bearer_token",
                &self.bearer_token.as_ref().map(|_| "<redacted>"),
            )
            .finish()
    }
}

impl Default for ListenerConfig {
    fn default() -> Self {
        Self::new()
    }
}

impl ListenerConfig {
    /// Default settings: `127.0.0.1:8001`, path `/metrics`, no authentication.
    pub fn new() -> Self {
        Self {
            addr: SocketAddr::from(([127, 0, 0, 1], 8001)),
            path: "/metrics".into(),
            bearer_token: None,
        }
    }

    /// Sets the address to bind. Port 0 picks a free port (see [`ListenerHandle::local_addr`]).
    /// Defaults to `127.0.0.1:8001`.
    pub fn with_addr(mut self, addr: SocketAddr) -> Self {
        self.addr = addr;
        self
    }

    /// Sets the path the exposition is served on. Defaults to `/metrics`.
    pub fn with_path(mut self, path: impl Into<String>) -> Self {
        let mut path = path.into();
        if !path.starts_with('/') {
            path.insert(0, '/');
        }
        self.path = path;
        self
    }

    /// Requires `Authorization: Bearer <token>` on every scrape; others get `401`.
    /// Defaults to no authentication.
    pub fn with_bearer_token(mut self, token: impl Into<String>) -> Self {
        self.bearer_token = Some(Arc::from(token.into()));
        self
    }

    /// The address that will be bound.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }
}

/// A running standalone listener.
///
/// As every handle of a background task in recwatch: dropping it stops the listener (it stops
/// accepting and finishes in-progress scrapes); [`detach`](Self::detach) keeps it serving for
/// the rest of the process; [`shutdown`](Self::shutdown) stops it and waits.
#[derive(Debug)]
#[must_use = "dropping the handle stops the listener; call `detach` to keep it serving"]
pub struct ListenerHandle {
    local_addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<()>>,
}

impl ListenerHandle {
    /// The address actually bound.
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// Keeps the listener serving for the rest of the process.
    pub fn detach(mut self) {
        // Dropping the sender without sending would stop the server too: forget it instead.
        if let Some(stop) = self.stop.take() {
            std::mem::forget(stop);
        }
        self.task.take();
    }

    /// Stops accepting scrapes and waits at most `timeout` for in-progress ones to finish.
    ///
    /// # Errors
    ///
    /// [`ExporterError::ShutdownTimedOut`] when scrapes are still running after `timeout`
    /// (the listener keeps finishing them in the background).
    pub async fn shutdown(mut self, timeout: std::time::Duration) -> Result<(), ExporterError> {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        match self.task.take() {
            Some(task) => match tokio::time::timeout(timeout, task).await {
                Ok(_) => Ok(()),
                Err(_) => Err(ExporterError::ShutdownTimedOut { timeout }),
            },
            None => Ok(()),
        }
    }
}

impl Drop for ListenerHandle {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

/// Compares in time independent of where the first difference is.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

fn authorized(headers: &HeaderMap, token: Option<&str>) -> bool {
    let Some(token) = token else { return true };
    headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .is_some_and(|given| constant_time_eq(given.trim().as_bytes(), token.as_bytes()))
}

/// Whether the `Accept` headers ask for OpenMetrics at least as much as for plain text.
///
/// Only an explicit `application/openmetrics-text` (version 1.0.0, 0.0.1 or unspecified) with
/// a quality above zero, and at least that of `text/plain`, `text/*` or `*/*`, selects it, so
/// clients that send no `Accept`, or `*/*`, keep getting the Prometheus text format.
fn wants_openmetrics(headers: &HeaderMap) -> bool {
    let mut openmetrics = 0.0f32;
    let mut plain = 0.0f32;
    let ranges = headers
        .get_all(header::ACCEPT)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','));
    for range in ranges {
        let mut parts = range.split(';').map(str::trim);
        let media = parts.next().unwrap_or_default().to_ascii_lowercase();
        let mut q = 1.0f32;
        let mut version = None;
        for param in parts {
            match param.split_once('=').map(|(k, v)| (k.trim(), v.trim())) {
                Some((k, v)) if k.eq_ignore_ascii_case("q") => {
                    q = v
                        .parse()
                        .ok()
                        .filter(|q: &f32| (0.0..=1.0).contains(q))
                        .unwrap_or(0.0);
                }
                Some((k, v)) if k.eq_ignore_ascii_case("version") => version = Some(v),
                _ => {}
            }
        }
        match media.as_str() {
            "application/openmetrics-text"
                if matches!(version, None | Some("1.0.0") | Some("0.0.1")) =>
            {
                openmetrics = openmetrics.max(q);
            }
            "text/plain" | "text/*" | "*/*" => plain = plain.max(q),
            _ => {}
        }
    }
    openmetrics > 0.0 && openmetrics >= plain
}

fn exposition(handle: &MetricsHandle, headers: &HeaderMap) -> Response {
    let (content_type, body) = if wants_openmetrics(headers) {
        (OPENMETRICS_CONTENT_TYPE, handle.render_openmetrics())
    } else {
        (CONTENT_TYPE, handle.render())
    };
    (
        [
            (header::CONTENT_TYPE, HeaderValue::from_static(content_type)),
            (header::VARY, HeaderValue::from_static("accept")),
        ],
        body,
    )
        .into_response()
}

impl MetricsHandle {
    /// An axum router serving the exposition on `GET /metrics`, to merge into the application.
    ///
    /// Scrapers whose `Accept` header asks for `application/openmetrics-text` (Prometheus
    /// does) get [`render_openmetrics`](Self::render_openmetrics) with exemplars; every other
    /// client gets the Prometheus text of [`render`](Self::render).
    ///
    /// # Examples
    ///
    /// ```
    /// use axum::{routing::get, Router};
    ///
    /// let (_recorder, handle) = recwatch::exporter::ExporterBuilder::new().build();
    /// let app: Router = Router::new()
    ///     .route("/healthz", get(|| async { "ok" }))
    ///     .merge(handle.router());
    /// ```
    pub fn router<S>(&self) -> Router<S>
    where
        S: Clone + Send + Sync + 'static,
    {
        self.router_at("/metrics")
    }

    /// Like [`router`](Self::router), on another path.
    pub fn router_at<S>(&self, path: &str) -> Router<S>
    where
        S: Clone + Send + Sync + 'static,
    {
        let handle = self.clone();
        Router::new().route(
            path,
            get(move |headers: HeaderMap| async move { exposition(&handle, &headers) }),
        )
    }

    fn protected_router(&self, path: &str, token: Option<Arc<str>>) -> Router {
        let handle = self.clone();
        Router::new().route(
            path,
            get(move |headers: HeaderMap| async move {
                if authorized(&headers, token.as_deref()) {
                    exposition(&handle, &headers)
                } else {
                    (
                        StatusCode::UNAUTHORIZED,
                        [(header::WWW_AUTHENTICATE, "Bearer")],
                        "unauthorized\n",
                    )
                        .into_response()
                }
            }),
        )
    }

    /// Starts a standalone listener serving only the exposition, as a task on the current
    /// Tokio runtime. Keep the returned handle (or [`detach`](ListenerHandle::detach) it):
    /// dropping it stops the listener.
    ///
    /// # Errors
    ///
    /// Binding happens before this returns, so a taken port is reported here as
    /// [`ExporterError::Bind`]. Outside a runtime it fails with [`ExporterError::NoRuntime`].
    ///
    /// # Examples
    ///
    /// ```no_run
    /// use recwatch::exporter::{ExporterBuilder, ListenerConfig};
    ///
    /// # async fn run() -> Result<(), recwatch::ExporterError> {
    /// let handle = ExporterBuilder::new().install()?;
    /// let listener = handle.spawn_listener(ListenerConfig::new().with_bearer_token("s3cret"))?;
    /// println!("metrics on http://{}/metrics", listener.local_addr());
    /// listener.detach(); // serve for the rest of the process
    /// # Ok(())
    /// # }
    /// ```
    pub fn spawn_listener(&self, config: ListenerConfig) -> Result<ListenerHandle, ExporterError> {
        let runtime =
            tokio::runtime::Handle::try_current().map_err(|_| ExporterError::NoRuntime)?;
        let bind = |addr| -> std::io::Result<(tokio::net::TcpListener, SocketAddr)> {
            let std_listener = std::net::TcpListener::bind(addr)?;
            std_listener.set_nonblocking(true)?;
            let local = std_listener.local_addr()?;
            let _guard = runtime.enter();
            Ok((tokio::net::TcpListener::from_std(std_listener)?, local))
        };
        let (listener, local_addr) = bind(config.addr).map_err(|source| ExporterError::Bind {
            addr: config.addr,
            source,
        })?;
        let app = self.protected_router(&config.path, config.bearer_token.clone());
        let (stop, stopped) = oneshot::channel::<()>();
        let task = runtime.spawn(async move {
            let _ = axum::serve(listener, app)
                .with_graceful_shutdown(async {
                    let _ = stopped.await;
                })
                .await;
        });
        Ok(ListenerHandle {
            local_addr,
            stop: Some(stop),
            task: Some(task),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bearer_check() {
        let mut headers = HeaderMap::new();
        assert!(authorized(&headers, None));
        assert!(!authorized(&headers, Some("t")));
        headers.insert(header::AUTHORIZATION, HeaderValue::from_static("Bearer t"));
        assert!(authorized(&headers, Some("t")));
        assert!(!authorized(&headers, Some("tt")));
        headers.insert(header::AUTHORIZATION, HeaderValue::from_static("Basic t"));
        assert!(!authorized(&headers, Some("t")));
    }

    #[test]
    fn accept_negotiation() {
        let wants = |accept: &[&str]| {
            let mut headers = HeaderMap::new();
            for a in accept {
                headers.append(header::ACCEPT, HeaderValue::from_str(a).unwrap());
            }
            wants_openmetrics(&headers)
        };
        // What Prometheus 2.x sends.
        assert!(wants(&["application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1"]));
        assert!(wants(&["application/openmetrics-text"]));
        assert!(wants(&[
            "text/plain;q=0.5",
            "Application/OpenMetrics-Text; q=0.9"
        ]));
        assert!(!wants(&[]));
        assert!(!wants(&["*/*"]));
        assert!(!wants(&["text/plain"]));
        assert!(!wants(&["text/plain, application/openmetrics-text;q=0.5"]));
        assert!(!wants(&["application/openmetrics-text;q=0"]));
        assert!(!wants(&["application/openmetrics-text;version=2.0.0"]));
        assert!(!wants(&["application/openmetrics-text;q=bogus"]));
        assert!(!wants(&["application/json"]));
    }

    #[test]
    fn serve_outside_runtime_is_a_typed_error() {
        let (_r, handle) = super::super::ExporterBuilder::new().build();
        let err = handle.spawn_listener(ListenerConfig::new()).unwrap_err();
        assert!(matches!(err, ExporterError::NoRuntime));
    }
}
