//! The built-in monitoring page: an axum router that serves a live dashboard from inside the
//! service, working with no Prometheus at all.
//!
//! The page shows the original design's dashboard: key numbers (requests per minute, average
//! response time, error rate, active users), the response-time trend (average and p95), CPU and
//! memory, GPU when one is sampled, the recommendation quality score, the inference time
//! distribution and the drift score, over a selectable range (15 min, 1 h, 6 h).
//!
//! - **Embedded (default).** A sampler thread reads recwatch's own store every step (default
//!   5 s) into a bounded ring of samples holding cumulative totals, so every rate and quantile
//!   on the page is exact between two samples. Its size is fixed by retention / step: with the
//!   default 6 h at 5 s it holds 4 321 samples of 368 bytes, 1.6 MB at most (see
//!   [`Dashboard::memory_bytes`]). One replica shows itself.
//! - **Prometheus.** With [`DashboardBuilder::with_prometheus_url`] the panels come from
//!   Prometheus's `query_range` API instead, summed across every replica Prometheus scrapes
//!   (`sum(rate(...))` before any division; p95 from `histogram_quantile` over the summed
//!   buckets). If Prometheus does not answer, the page says so and shows the embedded samples.
//!
//! The page is self-contained: charts are SVG drawn on the server, styles and a small script are
//! inline, and nothing is loaded from anywhere else (a `Content-Security-Policy` enforces it).
//! The first view is complete HTML, so the page works with scripts disabled (it then reloads
//! itself); with scripts it refreshes from `<path>/data.json`. An optional bearer token protects
//! it as it protects `/metrics`; browsers get a small sign-in form that sets a cookie.
//!
//! [`DashboardBuilder::build`] has no side effect: it returns the [`Dashboard`] (whose
//! [`router`](Dashboard::router) you merge into your app) and a [`DashboardSampler`] that
//! [`spawn`](DashboardSampler::spawn) starts.
//!
//! # Examples
//!
//! ```
//! use std::time::Duration;
//! use axum::Router;
//! use recwatch::dashboard::DashboardBuilder;
//! use recwatch::exporter::ExporterBuilder;
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let (_recorder, metrics) = ExporterBuilder::new().build();
//! let (dashboard, sampler) = DashboardBuilder::new(metrics.clone())
//!     .with_step(Duration::from_secs(5))
//!     .with_retention(Duration::from_secs(6 * 3600))
//!     .build()?;
//! assert_eq!(dashboard.capacity(), 4321); // 6 h of 5 s steps, plus the first baseline
//! let app: Router = Router::new().merge(metrics.router()).merge(dashboard.router());
//! // Inside a running service: start sampling; dropping the handle stops it.
//! let sampling = sampler.spawn()?;
//! sampling.shutdown(Duration::from_secs(1))?;
//! # drop(app);
//! # Ok(())
//! # }
//! ```
//!
//! Prometheus mode, for a fleet of replicas:
//!
//! ```no_run
//! use recwatch::dashboard::DashboardBuilder;
//!
//! # fn main() -> Result<(), recwatch::DashboardError> {
//! let metrics = recwatch::exporter::installed().expect("exporter installed at start-up");
//! let (dashboard, sampler) = DashboardBuilder::new(metrics)
//!     .with_prometheus_url("http://prometheus.monitoring:9090")?
//!     .with_prometheus_selector(r#"job="recommendation_service""#)
//!     .with_bearer_token("s3cret")
//!     .build()?;
//! // The embedded samples stay the fallback when Prometheus does not answer.
//! sampler.spawn()?.detach();
//! # drop(dashboard);
//! # Ok(())
//! # }
//! ```

mod chart;
mod error;
mod model;
mod page;
mod prometheus;
mod series;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use axum::body::Bytes;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;

pub use error::DashboardError;

use crate::exporter::MetricsHandle;
use model::{Range, View};
use prometheus::Prometheus;
use series::Ring;

/// Default time between two samples of the embedded store.
pub const DEFAULT_STEP: Duration = Duration::from_secs(5);
/// Default time the embedded store keeps.
pub const DEFAULT_RETENTION: Duration = Duration::from_secs(6 * 3600);
/// Default mount path.
pub const DEFAULT_PATH: &str = "/dashboard";
/// Default timeout of one Prometheus query.
pub const DEFAULT_PROMETHEUS_TIMEOUT: Duration = Duration::from_secs(10);
/// Most samples the embedded store may keep (retention / step).
pub const MAX_SAMPLES: usize = 100_000;

const COOKIE: &str = "recwatch_dashboard";
const CSP: &str = "default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; \
                   connect-src 'self'; img-src data:; form-action 'self'; base-uri 'none'; \
                   frame-ancestors 'none'";

/// Builds a [`Dashboard`] and its [`DashboardSampler`].
///
/// # Examples
///
/// ```
/// use recwatch::dashboard::DashboardBuilder;
///
/// let (_recorder, metrics) = recwatch::exporter::ExporterBuilder::new().build();
/// let (dashboard, _sampler) = DashboardBuilder::new(metrics)
///     .with_path("/ops/dashboard")
///     .build()
///     .unwrap();
/// assert_eq!(dashboard.path(), "/ops/dashboard");
/// ```
#[derive(Debug)]
#[must_use]
pub struct DashboardBuilder {
    metrics: MetricsHandle,
    path: String,
    step: Duration,
    retention: Duration,
    prometheus: Option<reqwest::Url>,
    prometheus_token: Option<Arc<str>>,
    prometheus_selector: Option<Arc<str>>,
    prometheus_timeout: Duration,
    token: Option<Arc<str>>,
}

impl DashboardBuilder {
    /// A builder reading the store behind `metrics` (the handle returned by
    /// [`ExporterBuilder::install`](crate::exporter::ExporterBuilder::install)).
    pub fn new(metrics: MetricsHandle) -> Self {
        Self {
            metrics,
            path: DEFAULT_PATH.into(),
            step: DEFAULT_STEP,
            retention: DEFAULT_RETENTION,
            prometheus: None,
            prometheus_token: None,
            prometheus_selector: None,
            prometheus_timeout: DEFAULT_PROMETHEUS_TIMEOUT,
            token: None,
        }
    }

    /// Sets the path the page is served on; `<path>/data.json` and `<path>/login` go with it.
    /// A missing leading `/` is added and a trailing one removed. Defaults to [`DEFAULT_PATH`].
    pub fn with_path(mut self, path: impl Into<String>) -> Self {
        let mut path = path.into().trim_end_matches('/').to_owned();
        if !path.starts_with('/') {
            path.insert(0, '/');
        }
        self.path = path;
        self
    }

    /// Sets the time between two samples of the embedded store (at least 1 s, checked by
    /// [`build`](Self::build)). Defaults to [`DEFAULT_STEP`].
    pub fn with_step(mut self, step: Duration) -> Self {
        self.step = step;
        self
    }

    /// Sets how much time the embedded store keeps; with the step it fixes the store's size
    /// (`retention / step` samples, at most [`MAX_SAMPLES`], checked by [`build`](Self::build)).
    /// Defaults to [`DEFAULT_RETENTION`].
    pub fn with_retention(mut self, retention: Duration) -> Self {
        self.retention = retention;
        self
    }

    /// Takes the panels from the Prometheus server at `url` (its HTTP API, `http://` only)
    /// instead of the embedded store. Defaults to none (embedded).
    ///
    /// # Errors
    ///
    /// [`DashboardError::InvalidPrometheusUrl`] if `url` does not parse,
    /// [`DashboardError::UnsupportedScheme`] if it is not `http://`.
    pub fn with_prometheus_url(mut self, url: &str) -> Result<Self, DashboardError> {
        let mut parsed =
            reqwest::Url::parse(url).map_err(|source| DashboardError::InvalidPrometheusUrl {
                url: url.to_owned(),
                source,
            })?;
        if parsed.scheme() != "http" || parsed.cannot_be_a_base() {
            return Err(DashboardError::UnsupportedScheme {
                scheme: parsed.scheme().to_owned(),
            });
        }
        if !parsed.path().ends_with('/') {
            let path = format!("{}/", parsed.path());
            parsed.set_path(&path);
        }
        parsed.set_query(None);
        parsed.set_fragment(None);
        self.prometheus = Some(parsed);
        Ok(self)
    }

    /// Sends `Authorization: Bearer <token>` with every Prometheus query. Defaults to none.
    pub fn with_prometheus_bearer_token(mut self, token: impl Into<String>) -> Self {
        self.prometheus_token = Some(Arc::from(token.into()));
        self
    }

    /// Adds label matchers to every Prometheus selector, to keep one service's series when
    /// Prometheus scrapes several (`job="recommendation_service"`). Defaults to none.
    pub fn with_prometheus_selector(mut self, matchers: impl Into<String>) -> Self {
        let matchers = matchers.into();
        let matchers = matchers
            .trim()
            .trim_start_matches('{')
            .trim_end_matches('}');
        self.prometheus_selector = (!matchers.is_empty()).then(|| Arc::from(matchers));
        self
    }

    /// Sets how long one Prometheus query may take. Defaults to [`DEFAULT_PROMETHEUS_TIMEOUT`].
    pub fn with_prometheus_timeout(mut self, timeout: Duration) -> Self {
        self.prometheus_timeout = timeout;
        self
    }

    /// Requires `Authorization: Bearer <token>` (or the cookie the sign-in form sets) on the
    /// page and its data; others get `401` and the sign-in form. Defaults to no authentication.
    pub fn with_bearer_token(mut self, token: impl Into<String>) -> Self {
        self.token = Some(Arc::from(token.into()));
        self
    }

    /// Builds the dashboard and its (not yet running) sampler. Allocates the embedded store;
    /// starts nothing.
    ///
    /// # Errors
    ///
    /// [`DashboardError::InvalidStep`] for a step under 1 s,
    /// [`DashboardError::InvalidRetention`] when the retention holds no full step or more than
    /// [`MAX_SAMPLES`] steps, [`DashboardError::HttpClient`] if the Prometheus client cannot be
    /// built.
    pub fn build(self) -> Result<(Dashboard, DashboardSampler), DashboardError> {
        if self.step < Duration::from_secs(1) {
            return Err(DashboardError::InvalidStep { step: self.step });
        }
        let steps = self.retention.as_secs_f64() / self.step.as_secs_f64();
        if !(1.0..=MAX_SAMPLES as f64).contains(&steps) {
            return Err(DashboardError::InvalidRetention {
                retention: self.retention,
                step: self.step,
            });
        }
        // One more sample than steps: the oldest is the baseline of the first interval.
        let capacity = steps.ceil() as usize + 1;
        let prometheus = match self.prometheus {
            Some(url) => Some(
                Prometheus::new(
                    url,
                    self.prometheus_token,
                    self.prometheus_selector,
                    self.prometheus_timeout,
                )
                .map_err(DashboardError::HttpClient)?,
            ),
            None => None,
        };
        let store = Arc::new(Store {
            ring: Mutex::new(Ring::new(capacity)),
            running: AtomicBool::new(false),
        });
        let inner = Arc::new(Inner {
            store: store.clone(),
            path: self.path,
            step: self.step,
            retention: self.retention,
            prometheus,
            token: self.token,
        });
        Ok((
            Dashboard { inner },
            DashboardSampler {
                metrics: self.metrics,
                store,
                step: self.step,
            },
        ))
    }

    /// [`build`](Self::build)s and spawns the sampler.
    ///
    /// # Errors
    ///
    /// Those of [`build`](Self::build) and [`DashboardSampler::spawn`].
    pub fn spawn(self) -> Result<(Dashboard, DashboardHandle), DashboardError> {
        let (dashboard, sampler) = self.build()?;
        Ok((dashboard, sampler.spawn()?))
    }
}

/// The embedded store, shared by the sampler and the routes.
#[derive(Debug)]
struct Store {
    ring: Mutex<Ring>,
    running: AtomicBool,
}

impl Store {
    fn ring(&self) -> std::sync::MutexGuard<'_, Ring> {
        self.ring.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

#[derive(Debug)]
struct Inner {
    store: Arc<Store>,
    path: String,
    step: Duration,
    retention: Duration,
    prometheus: Option<Prometheus>,
    token: Option<Arc<str>>,
}

/// The monitoring page: merge [`router`](Self::router) into the service's router.
#[derive(Debug, Clone)]
pub struct Dashboard {
    inner: Arc<Inner>,
}

fn now() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64())
}

impl Dashboard {
    /// The path the page is served on.
    pub fn path(&self) -> &str {
        &self.inner.path
    }

    /// How many samples the embedded store holds at most (`retention / step`, plus one).
    pub fn capacity(&self) -> usize {
        self.inner.store.ring().capacity()
    }

    /// The embedded store's memory once full, in bytes (samples and their bucket counters;
    /// 1.6 MB for 6 h at 5 s with the default histogram layouts).
    pub fn memory_bytes(&self) -> usize {
        let ring = self.inner.store.ring();
        let buckets =
            |b: &Option<Arc<[f64]>>, default: &[f64]| b.as_ref().map_or(default.len(), |b| b.len());
        let per = series::sample_bytes(
            buckets(
                &ring.bounds.latency,
                crate::catalogue::DEFAULT_REQUEST_BUCKETS,
            ),
            buckets(
                &ring.bounds.inference,
                crate::catalogue::DEFAULT_INFERENCE_BUCKETS,
            ),
        );
        per * ring.capacity()
    }

    /// An axum router serving the page on [`path`](Self::path) (and `path/`),
    /// `path/data.json` and `path/login`. Leave these paths out of the request metrics
    /// (`RequestMetricsLayer::add_skip_path`) so the page's refreshes do not count as traffic.
    pub fn router<S>(&self) -> Router<S>
    where
        S: Clone + Send + Sync + 'static,
    {
        let base = self.inner.path.clone();
        let prefix = self.inner.prefix().to_owned();
        let (page, data, login) = (self.inner.clone(), self.inner.clone(), self.inner.clone());
        let page_handler = move |uri: Uri, headers: HeaderMap| {
            let inner = page.clone();
            async move { inner.page(&uri, &headers).await }
        };
        let mut router = Router::new()
            .route(&base, get(page_handler.clone()))
            .route(
                &format!("{prefix}/data.json"),
                get(move |uri: Uri, headers: HeaderMap| {
                    let inner = data.clone();
                    async move { inner.data(&uri, &headers).await }
                }),
            )
            .route(
                &format!("{prefix}/login"),
                post(move |body: Bytes| {
                    let inner = login.clone();
                    async move { inner.login(&body) }
                }),
            );
        if !prefix.is_empty() {
            router = router.route(&format!("{prefix}/"), get(page_handler));
        }
        router
    }
}

/// Compares in time independent of where the first difference is.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Decodes one `application/x-www-form-urlencoded` value; `None` if it is not UTF-8.
fn form_decode(value: &str) -> Option<String> {
    let bytes = value.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match (bytes[i], bytes.get(i + 1..i + 3)) {
            (b'%', Some(h)) if h.iter().all(u8::is_ascii_hexdigit) => {
                let hi = (h[0] as char).to_digit(16).unwrap_or(0);
                let lo = (h[1] as char).to_digit(16).unwrap_or(0);
                out.push((hi * 16 + lo) as u8);
                i += 3;
                continue;
            }
            (b'+', _) => out.push(b' '),
            (b, _) => out.push(b),
        }
        i += 1;
    }
    String::from_utf8(out).ok()
}

fn html(status: StatusCode, body: String) -> Response {
    (
        status,
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            (header::CACHE_CONTROL, "no-store"),
            (header::CONTENT_SECURITY_POLICY, CSP),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        ],
        body,
    )
        .into_response()
}

impl Inner {
    /// The path without a trailing `/`: empty when mounted at the root.
    fn prefix(&self) -> &str {
        self.path.trim_end_matches('/')
    }

    fn authorized(&self, headers: &HeaderMap) -> bool {
        let Some(token) = self.token.as_deref() else {
            return true;
        };
        let bearer = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .is_some_and(|given| constant_time_eq(given.trim().as_bytes(), token.as_bytes()));
        let expected = hex(token.as_bytes());
        let cookie = headers
            .get_all(header::COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(';'))
            .filter_map(|kv| kv.trim().strip_prefix(COOKIE)?.strip_prefix('='))
            .any(|v| constant_time_eq(v.as_bytes(), expected.as_bytes()));
        bearer || cookie
    }

    fn source(&self) -> String {
        match &self.prometheus {
            Some(p) => format!("Prometheus at {}, all replicas", p.base()),
            None => format!(
                "This process, sampled every {} s ({} kept)",
                self.step.as_secs(),
                human(self.retention)
            ),
        }
    }

    fn refresh_ms(&self) -> u64 {
        let floor = if self.prometheus.is_some() {
            15_000
        } else {
            5_000
        };
        (self.step.as_millis() as u64).max(floor)
    }

    fn embedded(&self, range: Range) -> View {
        let mut view = model::embedded(&self.store.ring(), range, now(), self.step.as_secs_f64());
        if !self.store.running.load(Ordering::Relaxed) {
            view.notice = Some(
                "The dashboard's sampler is not running, so nothing is being recorded \
                 (start it with DashboardSampler::spawn)."
                    .into(),
            );
        } else if (range.secs() as f64) > self.retention.as_secs_f64() {
            view.notice = Some(format!(
                "This process keeps {} of samples; the rest of the range is empty.",
                human(self.retention)
            ));
        }
        view
    }

    async fn view(&self, uri: &Uri) -> View {
        let range = Range::from_query(uri.query());
        let Some(prometheus) = &self.prometheus else {
            return self.embedded(range);
        };
        match prometheus.view(range, now()).await {
            Ok(view) => view,
            Err(e) => {
                let mut why = e.to_string();
                let mut source = std::error::Error::source(&e);
                while let Some(s) = source {
                    why.push_str(": ");
                    why.push_str(&s.to_string());
                    source = s.source();
                }
                let mut view = self.embedded(range);
                view.notice = Some(format!(
                    "Prometheus did not answer ({why}); showing this process's own samples."
                ));
                view
            }
        }
    }

    async fn page(&self, uri: &Uri, headers: &HeaderMap) -> Response {
        if !self.authorized(headers) {
            return html(StatusCode::UNAUTHORIZED, page::login(self.prefix(), false));
        }
        let view = self.view(uri).await;
        let source = self.source();
        let body = page::page(
            &view,
            &page::PageContext {
                base: self.prefix(),
                refresh_ms: self.refresh_ms(),
                source: &source,
            },
        );
        html(StatusCode::OK, body)
    }

    async fn data(&self, uri: &Uri, headers: &HeaderMap) -> Response {
        if !self.authorized(headers) {
            return (
                StatusCode::UNAUTHORIZED,
                [(header::WWW_AUTHENTICATE, "Bearer")],
                "unauthorized\n",
            )
                .into_response();
        }
        let view = self.view(uri).await;
        let body = serde_json::to_vec(&page::payload(&view)).unwrap_or_default();
        (
            [
                (
                    header::CONTENT_TYPE,
                    HeaderValue::from_static("application/json"),
                ),
                (header::CACHE_CONTROL, HeaderValue::from_static("no-store")),
            ],
            body,
        )
            .into_response()
    }

    fn login(&self, body: &[u8]) -> Response {
        let Some(token) = self.token.as_deref() else {
            return (
                StatusCode::SEE_OTHER,
                [(header::LOCATION, self.path.clone())],
            )
                .into_response();
        };
        let given = std::str::from_utf8(body)
            .ok()
            .into_iter()
            .flat_map(|b| b.split('&'))
            .filter_map(|kv| kv.strip_prefix("token="))
            .find_map(form_decode);
        match given {
            Some(given) if constant_time_eq(given.as_bytes(), token.as_bytes()) => {
                let cookie = format!(
                    "{COOKIE}={}; Path={}; HttpOnly; SameSite=Strict",
                    hex(token.as_bytes()),
                    &self.path
                );
                (
                    StatusCode::SEE_OTHER,
                    [
                        (header::LOCATION, self.path.clone()),
                        (header::SET_COOKIE, cookie),
                    ],
                )
                    .into_response()
            }
            _ => html(StatusCode::UNAUTHORIZED, page::login(self.prefix(), true)),
        }
    }
}

fn human(d: Duration) -> String {
    let s = d.as_secs();
    if s >= 3600 && s % 3600 == 0 {
        format!("{} h", s / 3600)
    } else if s >= 60 && s % 60 == 0 {
        format!("{} min", s / 60)
    } else {
        format!("{s} s")
    }
}

/// The embedded store's sampler, built by [`DashboardBuilder::build`]; not running until
/// [`spawn`](Self::spawn)ed.
#[derive(Debug)]
#[must_use = "the sampler records nothing until it is spawned"]
pub struct DashboardSampler {
    metrics: MetricsHandle,
    store: Arc<Store>,
    step: Duration,
}

impl DashboardSampler {
    /// Starts sampling on a thread of its own (`recwatch-dashboard`), one sample now and one
    /// every step. A sample reads the store's atomics under the registry's read locks, as a
    /// scrape does, and runs the exporter's collectors.
    ///
    /// # Errors
    ///
    /// [`DashboardError::Spawn`] if the thread cannot be started.
    pub fn spawn(self) -> Result<DashboardHandle, DashboardError> {
        let (stop_tx, stop_rx) = mpsc::channel::<()>();
        let (done_tx, done_rx) = mpsc::channel::<()>();
        let DashboardSampler {
            metrics,
            store,
            step,
        } = self;
        let running = store.clone();
        store.running.store(true, Ordering::Relaxed);
        let spawned = std::thread::Builder::new()
            .name("recwatch-dashboard".into())
            .spawn(move || {
                // Marks the sampler stopped however the thread ends.
                struct Stopped(Arc<Store>);
                impl Drop for Stopped {
                    fn drop(&mut self) {
                        self.0.running.store(false, Ordering::Relaxed);
                    }
                }
                let stopped = Stopped(store.clone());
                let mut next = Instant::now();
                loop {
                    let mut bounds = store.ring().bounds.clone();
                    let sample = series::read(&metrics, now(), &mut bounds);
                    {
                        let mut ring = store.ring();
                        ring.bounds = bounds;
                        ring.push(sample);
                    }
                    next += step;
                    let wait = next.saturating_duration_since(Instant::now());
                    match stop_rx.recv_timeout(wait) {
                        Err(mpsc::RecvTimeoutError::Timeout) => {}
                        _ => break,
                    }
                }
                drop(stopped);
                let _ = done_tx.send(());
            });
        match spawned {
            Ok(_) => Ok(DashboardHandle {
                stop: Some(stop_tx),
                done: done_rx,
            }),
            Err(e) => {
                running.running.store(false, Ordering::Relaxed);
                Err(DashboardError::Spawn(e))
            }
        }
    }
}

/// Keeps the dashboard's sampler running: dropping it stops the sampler (without waiting),
/// [`detach`](Self::detach) keeps it for the rest of the process, [`shutdown`](Self::shutdown)
/// stops it and waits.
#[derive(Debug)]
#[must_use = "dropping the handle stops the sampler"]
pub struct DashboardHandle {
    stop: Option<mpsc::Sender<()>>,
    done: mpsc::Receiver<()>,
}

impl DashboardHandle {
    /// Keeps the sampler running for the rest of the process.
    pub fn detach(mut self) {
        if let Some(stop) = self.stop.take() {
            // The thread stops when the sender goes away: keep it for good.
            std::mem::forget(stop);
        }
    }

    /// Stops the sampler and waits at most `timeout` for its thread to finish.
    ///
    /// # Errors
    ///
    /// [`DashboardError::ShutdownTimedOut`] if it did not finish in time (it still stops after
    /// its current sample), [`DashboardError::Panicked`] if the thread had panicked.
    pub fn shutdown(mut self, timeout: Duration) -> Result<(), DashboardError> {
        drop(self.stop.take());
        match self.done.recv_timeout(timeout) {
            Ok(()) => Ok(()),
            Err(mpsc::RecvTimeoutError::Disconnected) => Err(DashboardError::Panicked),
            Err(mpsc::RecvTimeoutError::Timeout) => {
                Err(DashboardError::ShutdownTimedOut { timeout })
            }
        }
    }
}

impl Drop for DashboardHandle {
    fn drop(&mut self) {
        drop(self.stop.take());
    }
}

#[cfg(test)]
mod tests;
