//! Prometheus exporter: recorder install, `/metrics` route, standalone listener, buckets.
//!
//! recwatch records through the [`metrics`] facade and exports with
//! [`metrics_exporter_prometheus`]. This module wraps that exporter with the defaults a
//! recommendation service needs:
//!
//! - every histogram is a real Prometheus histogram (`_bucket` series), never a summary — the
//!   request and inference latencies get the layouts in [`DEFAULT_REQUEST_BUCKETS`] and
//!   [`DEFAULT_INFERENCE_BUCKETS`], everything else [`DEFAULT_REQUEST_BUCKETS`] unless configured;
//! - histograms are stored as fixed atomic bucket counters: exact under any concurrency, with
//!   memory independent of the number of observations, so nothing grows when nobody scrapes;
//! - the exporter's maintenance (expiring the series of vanished GPUs) runs on its own thread;
//! - global labels such as `service`, `version` and `model_version` go on every series;
//! - installing twice is a typed error ([`ExporterError::AlreadyInstalled`]), never a panic.
//!
//! Nothing is installed implicitly: the application calls [`ExporterBuilder::install`] once, at
//! start-up, before it builds its layers.
//!
//! # Examples
//!
//! ```
//! use recwatch::exporter::ExporterBuilder;
//!
//! # fn main() -> Result<(), recwatch::ExporterError> {
//! let handle = ExporterBuilder::new()
//!     .with_service("recommender")
//!     .with_version(env!("CARGO_PKG_VERSION"))
//!     .install()?;
//!
//! metrics::counter!("recommendation_requests_total", "method" => "GET").increment(1);
//! assert!(handle.render().contains("recommendation_requests_total"));
//!
//! // A second install is refused, and the first keeps working.
//! assert!(ExporterBuilder::new().install().is_err());
//! # Ok(())
//! # }
//! ```

#[cfg(feature = "http")]
mod route;
mod store;

use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock, Weak};
use std::time::Duration;

use metrics::{Counter, Gauge, Histogram, Key, KeyName, Metadata, Recorder, SharedString, Unit};
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle, PrometheusRecorder};
use metrics_util::MetricKindMask;

use store::{Layouts, Store, FLOAT_COUNTERS};

pub use crate::catalogue::{
    validate_buckets, DEFAULT_BATCH_SIZE_BUCKETS, DEFAULT_INFERENCE_BUCKETS,
    DEFAULT_REQUEST_BUCKETS,
};
#[cfg(feature = "http")]
pub use route::{ListenerConfig, ListenerHandle, CONTENT_TYPE};

pub use crate::error::ExporterError;

/// Name of the HTTP request counter (catalogue default).
pub const REQUESTS_TOTAL: &str = "recommendation_requests_total";
/// Name of the HTTP request latency histogram (catalogue default).
pub const REQUEST_DURATION_SECONDS: &str = "recommendation_request_duration_seconds";
/// Name of the in-flight HTTP request gauge (catalogue default).
pub const REQUESTS_IN_FLIGHT: &str = "recommendation_requests_in_flight";
/// Name of the OpenTelemetry-convention HTTP latency histogram.
pub const OTEL_REQUEST_DURATION_SECONDS: &str = "http_server_request_duration_seconds";
/// Name of the OpenTelemetry-convention in-flight HTTP request gauge.
pub const OTEL_ACTIVE_REQUESTS: &str = "http_server_active_requests";
/// Name of the active-users gauge.
pub const ACTIVE_USERS: &str = "recommendation_active_users";
/// Name of the model inference latency histogram.
pub const INFERENCE_DURATION_SECONDS: &str = "model_inference_duration_seconds";
/// Name of the model inference batch-size histogram.
pub const INFERENCE_BATCH_SIZE: &str = "model_inference_batch_size";

/// Default interval between two upkeep runs.
pub const DEFAULT_UPKEEP_INTERVAL: Duration = Duration::from_secs(5);

/// Default time after which a `gpu_*` gauge that is no longer updated leaves the exposition.
pub const DEFAULT_GPU_IDLE_TIMEOUT: Duration = Duration::from_secs(30);

/// Bucket layout (seconds) of the sampler's own tick-duration histogram.
const SAMPLER_TICK_BUCKETS: &[f64] = &[
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.1, 0.5, 1.0, 5.0,
];

/// Builds (and optionally installs) the Prometheus recorder.
///
/// Setters follow the `with_*` (add something) / `set_*` (replace a default) convention of
/// `metrics-exporter-prometheus`. Bucket setters validate eagerly and return
/// [`ExporterError::InvalidBuckets`].
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use recwatch::exporter::ExporterBuilder;
///
/// # fn main() -> Result<(), recwatch::ExporterError> {
/// let (recorder, handle) = ExporterBuilder::new()
///     .with_global_label("region", "eu-west-1")?
///     .set_inference_buckets(&[0.05, 0.5, 5.0, 50.0])?
///     .set_upkeep_interval(Duration::from_secs(1))
///     .build()?;
/// // `recorder` can be installed with `metrics::set_global_recorder` or used locally.
/// # drop((recorder, handle));
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct ExporterBuilder {
    global_labels: Vec<(String, String)>,
    request_buckets: Vec<f64>,
    inference_buckets: Vec<f64>,
    batch_buckets: Vec<f64>,
    default_buckets: Vec<f64>,
    metric_buckets: Vec<(String, Vec<f64>)>,
    upkeep_interval: Duration,
    gpu_idle_timeout: Duration,
}

impl fmt::Debug for ExporterBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ExporterBuilder")
            .field("global_labels", &self.global_labels)
            .field("upkeep_interval", &self.upkeep_interval)
            .finish_non_exhaustive()
    }
}

impl Default for ExporterBuilder {
    fn default() -> Self {
        Self::new()
    }
}

fn valid_label_name(name: &str) -> bool {
    let mut chars = name.chars();
    let first_ok = matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_');
    first_ok && chars.all(|c| c.is_ascii_alphanumeric() || c == '_') && !name.starts_with("__")
}

impl ExporterBuilder {
    /// A builder with recwatch's defaults: no global labels, the default bucket layouts, upkeep
    /// every [`DEFAULT_UPKEEP_INTERVAL`].
    pub fn new() -> Self {
        Self {
            global_labels: Vec::new(),
            request_buckets: DEFAULT_REQUEST_BUCKETS.to_vec(),
            inference_buckets: DEFAULT_INFERENCE_BUCKETS.to_vec(),
            batch_buckets: DEFAULT_BATCH_SIZE_BUCKETS.to_vec(),
            default_buckets: DEFAULT_REQUEST_BUCKETS.to_vec(),
            metric_buckets: Vec::new(),
            upkeep_interval: DEFAULT_UPKEEP_INTERVAL,
            gpu_idle_timeout: DEFAULT_GPU_IDLE_TIMEOUT,
        }
    }

    /// Adds a label put on every exported series. A later call with the same name replaces the
    /// value. Fails with [`ExporterError::InvalidLabelName`] for names Prometheus rejects.
    pub fn with_global_label(
        mut self,
        name: impl Into<String>,
        value: impl Into<String>,
    ) -> Result<Self, ExporterError> {
        let name = name.into();
        if !valid_label_name(&name) {
            return Err(ExporterError::InvalidLabelName { name });
        }
        let value = value.into();
        match self.global_labels.iter_mut().find(|(n, _)| *n == name) {
            Some(slot) => slot.1 = value,
            None => self.global_labels.push((name, value)),
        }
        Ok(self)
    }

    fn with_known_label(self, name: &str, value: impl Into<String>) -> Self {
        // `name` is a valid literal, so this cannot fail.
        match self.clone().with_global_label(name, value) {
            Ok(b) => b,
            Err(_) => self,
        }
    }

    /// Sets the global `service` label.
    pub fn with_service(self, service: impl Into<String>) -> Self {
        self.with_known_label("service", service)
    }

    /// Sets the global `version` label (the service's version).
    pub fn with_version(self, version: impl Into<String>) -> Self {
        self.with_known_label("version", version)
    }

    /// Sets the global `model_version` label.
    pub fn with_model_version(self, model_version: impl Into<String>) -> Self {
        self.with_known_label("model_version", model_version)
    }

    /// Replaces the buckets (seconds) of the HTTP latency histograms, both naming schemes.
    /// Defaults to [`DEFAULT_REQUEST_BUCKETS`].
    pub fn set_request_buckets(mut self, buckets: &[f64]) -> Result<Self, ExporterError> {
        validate_buckets(REQUEST_DURATION_SECONDS, buckets)?;
        self.request_buckets = buckets.to_vec();
        Ok(self)
    }

    /// Replaces the buckets (seconds) of `model_inference_duration_seconds`.
    /// Defaults to [`DEFAULT_INFERENCE_BUCKETS`].
    pub fn set_inference_buckets(mut self, buckets: &[f64]) -> Result<Self, ExporterError> {
        validate_buckets(INFERENCE_DURATION_SECONDS, buckets)?;
        self.inference_buckets = buckets.to_vec();
        Ok(self)
    }

    /// Replaces the buckets of `model_inference_batch_size`.
    /// Defaults to [`DEFAULT_BATCH_SIZE_BUCKETS`].
    pub fn set_batch_size_buckets(mut self, buckets: &[f64]) -> Result<Self, ExporterError> {
        validate_buckets(INFERENCE_BATCH_SIZE, buckets)?;
        self.batch_buckets = buckets.to_vec();
        Ok(self)
    }

    /// Replaces the buckets used by any histogram that has no layout of its own, so that no
    /// histogram is ever exported as a summary. Defaults to [`DEFAULT_REQUEST_BUCKETS`].
    pub fn set_default_buckets(mut self, buckets: &[f64]) -> Result<Self, ExporterError> {
        validate_buckets("default", buckets)?;
        self.default_buckets = buckets.to_vec();
        Ok(self)
    }

    /// Sets the buckets of one histogram, by its full name. Overrides every other layout.
    pub fn add_metric_buckets(
        mut self,
        metric: impl Into<String>,
        buckets: &[f64],
    ) -> Result<Self, ExporterError> {
        let metric = metric.into();
        validate_buckets(&metric, buckets)?;
        self.metric_buckets.push((metric, buckets.to_vec()));
        Ok(self)
    }

    /// Sets how often the upkeep thread runs the Prometheus exporter's maintenance (recency
    /// tracking for the idle-series expiry of `gpu_*` gauges). Histograms need none: they are
    /// fixed bucket counters. Values below 10 ms are raised to 10 ms.
    /// Defaults to [`DEFAULT_UPKEEP_INTERVAL`].
    pub fn set_upkeep_interval(mut self, interval: Duration) -> Self {
        self.upkeep_interval = interval.max(Duration::from_millis(10));
        self
    }

    /// Sets how long a `gpu_*` gauge may go without an update before it leaves the exposition,
    /// so the series of a GPU that disappeared stop being exported. Keep it at least three
    /// sampler intervals. Values below 1 s are raised to 1 s.
    /// Defaults to [`DEFAULT_GPU_IDLE_TIMEOUT`].
    ///
    /// Only `gpu_*` gauges expire: the HTTP layer caches its handles, which an expiry would
    /// silently detach.
    pub fn set_gpu_idle_timeout(mut self, timeout: Duration) -> Self {
        self.gpu_idle_timeout = timeout.max(Duration::from_secs(1));
        self
    }

    fn prometheus_builder(&self) -> PrometheusBuilder {
        let mut b = PrometheusBuilder::new();
        for (k, v) in &self.global_labels {
            b = b.add_global_label(k, v);
        }
        b
    }

    fn layouts(&self) -> Layouts {
        let mut by_name: Vec<(String, std::sync::Arc<[f64]>)> = vec![
            (
                REQUEST_DURATION_SECONDS.into(),
                self.request_buckets.as_slice().into(),
            ),
            (
                OTEL_REQUEST_DURATION_SECONDS.into(),
                self.request_buckets.as_slice().into(),
            ),
            (
                INFERENCE_DURATION_SECONDS.into(),
                self.inference_buckets.as_slice().into(),
            ),
            (
                INFERENCE_BATCH_SIZE.into(),
                self.batch_buckets.as_slice().into(),
            ),
            (
                "recwatch_sampler_tick_duration_seconds".into(),
                SAMPLER_TICK_BUCKETS.into(),
            ),
        ];
        // Streamed generation: default buckets straight from the catalogue.
        for spec in crate::catalogue::all()
            .iter()
            .filter(|s| s.source == "generation")
        {
            if let Some(buckets) = spec.buckets {
                for name in std::iter::once(spec.name).chain(spec.otel_name) {
                    by_name.push((name.into(), buckets.into()));
                }
            }
        }
        for (name, buckets) in &self.metric_buckets {
            by_name.retain(|(n, _)| n != name);
            by_name.push((name.clone(), buckets.as_slice().into()));
        }
        Layouts {
            default: self.default_buckets.as_slice().into(),
            by_name,
        }
    }

    /// Builds the recorder without installing it, and starts its upkeep thread.
    ///
    /// The upkeep thread stops once every [`MetricsHandle`] clone is dropped, so keep one alive
    /// as long as the recorder is in use. Use this to combine recorders or to test (with
    /// `metrics::with_local_recorder`); most applications call [`install`](Self::install).
    pub fn build(&self) -> Result<(RecwatchRecorder, MetricsHandle), ExporterError> {
        let gpu = self
            .prometheus_builder()
            .idle_timeout(MetricKindMask::GAUGE, Some(self.gpu_idle_timeout))
            .build_recorder();
        let store = Arc::new(Store::new(self.layouts(), self.global_labels.clone()));
        let handle = MetricsHandle::start(gpu.handle(), store.clone(), self.upkeep_interval)?;
        let recorder = RecwatchRecorder { store, gpu };
        describe_catalogue(&recorder);
        Ok((recorder, handle))
    }

    /// Builds the recorder, installs it as the global `metrics` recorder and returns a handle.
    ///
    /// Also turns on handle caching for `#[track_inference]` call sites
    /// ([`cache_global_recorder_handles`](crate::inference::cache_global_recorder_handles)):
    /// only `gpu_*` gauges ever expire in this recorder, never inference histograms.
    ///
    /// Fails with [`ExporterError::AlreadyInstalled`] if any global recorder is already set; the
    /// existing recorder is left untouched. The installed recorder's upkeep thread runs for the
    /// rest of the process.
    pub fn install(&self) -> Result<MetricsHandle, ExporterError> {
        let (recorder, handle) = self.build()?;
        metrics::set_global_recorder(recorder).map_err(|_| ExporterError::AlreadyInstalled)?;
        // The global recorder lives forever; so must its upkeep.
        let _ = INSTALLED.set(handle.clone());
        // Inference histograms live in the non-expiring recorder, so their call sites may keep
        // their handles.
        crate::inference::cache_global_recorder_handles();
        Ok(handle)
    }
}

/// The recorder built by [`ExporterBuilder::build`].
///
/// Counters, gauges and histograms live in recwatch's store: single atomics, and fixed-bucket
/// histograms that are exact under concurrency and need no draining. `gpu_*` gauges live in a
/// `metrics-exporter-prometheus` recorder whose idle timeout drops the series of a GPU that
/// disappeared.
pub struct RecwatchRecorder {
    store: Arc<Store>,
    gpu: PrometheusRecorder,
}

impl fmt::Debug for RecwatchRecorder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RecwatchRecorder").finish_non_exhaustive()
    }
}

fn is_gpu(name: &str) -> bool {
    name.starts_with("gpu_")
}

impl Recorder for RecwatchRecorder {
    fn describe_counter(&self, key: KeyName, _unit: Option<Unit>, description: SharedString) {
        self.store.describe(key, description)
    }

    fn describe_gauge(&self, key: KeyName, unit: Option<Unit>, description: SharedString) {
        if is_gpu(key.as_str()) {
            self.gpu.describe_gauge(key, unit, description)
        } else {
            self.store.describe(key, description)
        }
    }

    fn describe_histogram(&self, key: KeyName, _unit: Option<Unit>, description: SharedString) {
        self.store.describe(key, description)
    }

    fn register_counter(&self, key: &Key, _metadata: &Metadata<'_>) -> Counter {
        self.store.counter(key)
    }

    fn register_gauge(&self, key: &Key, metadata: &Metadata<'_>) -> Gauge {
        if is_gpu(key.name()) {
            self.gpu.register_gauge(key, metadata)
        } else {
            self.store.gauge(key)
        }
    }

    fn register_histogram(&self, key: &Key, _metadata: &Metadata<'_>) -> Histogram {
        self.store.histogram(key)
    }
}

static INSTALLED: OnceLock<MetricsHandle> = OnceLock::new();

/// The handle of the recorder installed by [`ExporterBuilder::install`], if any.
///
/// # Examples
///
/// ```
/// // Nothing installed in this doctest's process.
/// assert!(recwatch::exporter::installed().is_none());
/// ```
pub fn installed() -> Option<MetricsHandle> {
    INSTALLED.get().cloned()
}

fn describe_catalogue(recorder: &RecwatchRecorder) {
    let describe = |kind: u8, name: &'static str, unit: Option<Unit>, help: &'static str| {
        let (key, help) = (KeyName::from_const_str(name), SharedString::const_str(help));
        match kind {
            0 => recorder.describe_counter(key, unit, help),
            1 => recorder.describe_gauge(key, unit, help),
            _ => recorder.describe_histogram(key, unit, help),
        }
    };
    describe(
        0,
        REQUESTS_TOTAL,
        None,
        "HTTP requests handled, by route template and status.",
    );
    describe(
        2,
        REQUEST_DURATION_SECONDS,
        None,
        "HTTP request latency in seconds, by route template and status.",
    );
    describe(
        1,
        REQUESTS_IN_FLIGHT,
        None,
        "HTTP requests being handled right now.",
    );
    describe(
        2,
        OTEL_REQUEST_DURATION_SECONDS,
        None,
        "Duration of HTTP server requests in seconds.",
    );
    describe(
        1,
        OTEL_ACTIVE_REQUESTS,
        None,
        "Number of active HTTP server requests.",
    );
    describe(
        1,
        ACTIVE_USERS,
        None,
        "Distinct users seen in the sliding window (HyperLogLog estimate).",
    );
    describe(
        2,
        INFERENCE_DURATION_SECONDS,
        None,
        "Model inference latency in seconds, by model and outcome.",
    );
    describe(
        2,
        INFERENCE_BATCH_SIZE,
        None,
        "Items per batched inference call.",
    );
    // Streamed generation: help text straight from the catalogue.
    for spec in crate::catalogue::all()
        .iter()
        .filter(|s| s.source == "generation")
    {
        let kind = match (spec.kind, spec.fractional) {
            (_, true) | (crate::catalogue::MetricKind::Gauge, _) => 1,
            (crate::catalogue::MetricKind::Counter, _) => 0,
            _ => 2,
        };
        for name in std::iter::once(spec.name).chain(spec.otel_name) {
            describe(kind, name, None, spec.help);
        }
    }
}

type Collector = Box<dyn Fn() + Send + Sync>;

struct Shared {
    gpu: PrometheusHandle,
    store: Arc<Store>,
    collectors: Mutex<Vec<Collector>>,
    upkeep_runs: AtomicU64,
}

/// A cheap, cloneable handle to a recwatch Prometheus recorder: renders the exposition, serves
/// it over HTTP and runs collectors before each scrape.
#[derive(Clone)]
pub struct MetricsHandle {
    shared: Arc<Shared>,
}

impl fmt::Debug for MetricsHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MetricsHandle")
            .field("upkeep_runs", &self.upkeep_runs())
            .finish_non_exhaustive()
    }
}

impl MetricsHandle {
    fn start(
        gpu: PrometheusHandle,
        store: Arc<Store>,
        interval: Duration,
    ) -> Result<Self, ExporterError> {
        let shared = Arc::new(Shared {
            gpu,
            store,
            collectors: Mutex::new(Vec::new()),
            upkeep_runs: AtomicU64::new(0),
        });
        let weak: Weak<Shared> = Arc::downgrade(&shared);
        std::thread::Builder::new()
            .name("recwatch-upkeep".into())
            .spawn(move || loop {
                std::thread::sleep(interval);
                let Some(shared) = weak.upgrade() else { break };
                shared.gpu.run_upkeep();
                shared.upkeep_runs.fetch_add(1, Ordering::Relaxed);
            })
            .map_err(ExporterError::SpawnThread)?;
        Ok(Self { shared })
    }

    /// Renders the Prometheus text exposition, after running the registered collectors.
    ///
    /// # Examples
    ///
    /// ```
    /// let (recorder, handle) = recwatch::exporter::ExporterBuilder::new().build().unwrap();
    /// metrics::with_local_recorder(&recorder, || {
    ///     metrics::histogram!("recommendation_request_duration_seconds").record(0.02);
    /// });
    /// let text = handle.render();
    /// assert!(text.contains("recommendation_request_duration_seconds_bucket{le=\"0.025\"} 1"));
    /// ```
    pub fn render(&self) -> String {
        self.run_collectors();
        let mut text = String::with_capacity(16 * 1024);
        // The store types its own fractional counters; only the GPU recorder's output, which
        // comes from metrics-exporter-prometheus, needs retyping.
        self.shared.store.render_into(&mut text);
        let mut gpu = self.shared.gpu.render();
        for name in FLOAT_COUNTERS.iter().filter(|n| is_gpu(n)) {
            let gauge = format!("# TYPE {name} gauge\n");
            if gpu.contains(&gauge) {
                gpu = gpu.replace(&gauge, &format!("# TYPE {name} counter\n"));
            }
        }
        text.push_str(&gpu);
        text
    }

    fn run_collectors(&self) {
        let collectors = match self.shared.collectors.lock() {
            Ok(c) => c,
            Err(poisoned) => poisoned.into_inner(),
        };
        for c in collectors.iter() {
            c();
        }
    }

    /// Registers a function run before every render, to refresh gauges that are computed on
    /// demand (for example [`ActiveUsers::publish`](crate::active_users::ActiveUsers::publish)).
    /// Collectors must be quick and must not render.
    pub fn add_collector(&self, collector: impl Fn() + Send + Sync + 'static) {
        let mut collectors = match self.shared.collectors.lock() {
            Ok(c) => c,
            Err(poisoned) => poisoned.into_inner(),
        };
        collectors.push(Box::new(collector));
    }

    /// Runs the exporter's maintenance now. The upkeep thread does this on its own.
    pub fn run_upkeep(&self) {
        self.shared.gpu.run_upkeep();
    }

    /// How many times the upkeep thread has run so far.
    pub fn upkeep_runs(&self) -> u64 {
        self.shared.upkeep_runs.load(Ordering::Relaxed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn label_names_are_validated() {
        assert!(valid_label_name("service"));
        assert!(valid_label_name("_x1"));
        assert!(!valid_label_name("1x"));
        assert!(!valid_label_name("__reserved"));
        assert!(!valid_label_name("a-b"));
        assert!(!valid_label_name(""));
        let err = ExporterBuilder::new()
            .with_global_label("bad-name", "v")
            .unwrap_err();
        assert!(matches!(err, ExporterError::InvalidLabelName { .. }));
    }

    #[test]
    fn every_histogram_is_a_real_histogram_with_global_labels() {
        let (recorder, handle) = ExporterBuilder::new()
            .with_service("svc")
            .with_model_version("m1")
            .build()
            .unwrap();
        metrics::with_local_recorder(&recorder, || {
            metrics::histogram!(INFERENCE_DURATION_SECONDS, "model" => "m").record(90.0);
            metrics::histogram!("some_other_histogram").record(0.3);
        });
        let text = handle.render();
        assert!(
            text.contains("# TYPE model_inference_duration_seconds histogram"),
            "{text}"
        );
        assert!(
            text.contains(
                "model_inference_duration_seconds_bucket{service=\"svc\",model_version=\"m1\",model=\"m\",le=\"120\"} 1"
            ),
            "{text}"
        );
        assert!(
            text.contains("# TYPE some_other_histogram histogram"),
            "{text}"
        );
        assert!(!text.contains("summary"), "{text}");
        assert!(text.contains("service=\"svc\""), "{text}");
    }

    #[test]
    fn custom_buckets_and_collectors_apply() {
        let (recorder, handle) = ExporterBuilder::new()
            .add_metric_buckets("queue_wait_seconds", &[1.0, 2.0])
            .unwrap()
            .build()
            .unwrap();
        metrics::with_local_recorder(&recorder, || {
            metrics::histogram!("queue_wait_seconds").record(1.5);
        });
        let gauge = metrics::with_local_recorder(&recorder, || metrics::gauge!("on_demand"));
        handle.add_collector(move || gauge.set(7.0));
        let text = handle.render();
        assert!(
            text.contains("queue_wait_seconds_bucket{le=\"2\"} 1"),
            "{text}"
        );
        assert!(
            !text.contains("queue_wait_seconds_bucket{le=\"0.005\"}"),
            "{text}"
        );
        assert!(text.contains("on_demand 7"), "{text}");
    }

    #[test]
    fn float_counters_are_typed_counter_and_gpu_gauges_expire() {
        let (recorder, handle) = ExporterBuilder::new()
            .set_gpu_idle_timeout(Duration::from_secs(1))
            .build()
            .unwrap();
        metrics::with_local_recorder(&recorder, || {
            metrics::gauge!("process_cpu_seconds_total").set(1.25);
            metrics::gauge!("gpu_usage_percent", "gpu" => "0").set(40.0);
            metrics::gauge!("gpu_energy_joules_total", "gpu" => "0").set(12.5);
            metrics::gauge!("recommendation_requests_in_flight").set(2.0);
        });
        let text = handle.render();
        assert!(
            text.contains("# TYPE process_cpu_seconds_total counter\n"),
            "{text}"
        );
        assert!(text.contains("process_cpu_seconds_total 1.25"), "{text}");
        assert!(
            text.contains("# TYPE gpu_energy_joules_total counter\n"),
            "{text}"
        );
        assert!(text.contains("# TYPE gpu_usage_percent gauge\n"), "{text}");
        assert!(text.contains("gpu_usage_percent{gpu=\"0\"} 40"), "{text}");
        std::thread::sleep(Duration::from_millis(1300));
        let text = handle.render();
        assert!(!text.contains("gpu_usage_percent"), "{text}");
        assert!(
            text.contains("recommendation_requests_in_flight 2"),
            "{text}"
        );
    }
}
