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

fn exposition(handle: &MetricsHandle) -> Response {
    (
        [(header::CONTENT_TYPE, HeaderValue::from_static(CONTENT_TYPE))],
        handle.render(),
    )
        .into_response()
}

impl MetricsHandle {
    /// An axum router serving the exposition on `GET /metrics`, to merge into the application.
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
        Router::new().route(path, get(move || async move { exposition(&handle) }))
    }

    fn protected_router(&self, path: &str, token: Option<Arc<str>>) -> Router {
        let handle = self.clone();
        Router::new().route(
            path,
            get(move |headers: HeaderMap| async move {
                if authorized(&headers, token.as_deref()) {
                    exposition(&handle)
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
    fn serve_outside_runtime_is_a_typed_error() {
        let (_r, handle) = super::super::ExporterBuilder::new().build();
        let err = handle.spawn_listener(ListenerConfig::new()).unwrap_err();
        assert!(matches!(err, ExporterError::NoRuntime));
    }
}
