//! Prometheus exporter: recorder install, `/metrics` route, standalone listener, buckets.
//!
//! recwatch records through the [`metrics`] facade and exports with
//! [`metrics_exporter_prometheus`]. This module wraps that exporter with the defaults a
//! recommendation service needs:
//!
//! - every histogram is a real Prometheus histogram (`_bucket` series), never a summary — each
//!   catalogue metric gets its layout from the [`catalogue`], everything else
//!   [`DEFAULT_REQUEST_BUCKETS`] unless configured;
//! - `# HELP`/`# TYPE` lines, fractional-counter typing and GPU-series expiry come from the
//!   catalogue too, never from name prefixes;
//! - histograms are stored as fixed atomic bucket counters: exact under any concurrency, with
//!   memory independent of the number of observations, so nothing grows when nobody scrapes;
//! - no background thread: expired series are dropped at render time;
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
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use metrics::{Counter, Gauge, Histogram, Key, KeyName, Metadata, Recorder, SharedString, Unit};
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle, PrometheusRecorder};
use metrics_util::MetricKindMask;

#[cfg_attr(not(feature = "dashboard"), allow(unused_imports))]
pub(crate) use store::SeriesValue;
use store::{Layouts, Store};

use crate::catalogue::{self, MetricSpec};

pub use crate::catalogue::{
    validate_buckets, DEFAULT_BATCH_SIZE_BUCKETS, DEFAULT_INFERENCE_BUCKETS,
    DEFAULT_REQUEST_BUCKETS,
};
#[cfg(feature = "http")]
pub use route::{ListenerConfig, ListenerHandle, CONTENT_TYPE, OPENMETRICS_CONTENT_TYPE};

pub use crate::error::ExporterError;

/// Default time after which an expiring gauge (per-GPU series) that is no longer updated leaves
/// the exposition.
pub const DEFAULT_GPU_IDLE_TIMEOUT: Duration = Duration::from_secs(30);

/// Builds (and optionally installs) the Prometheus recorder.
///
/// Follows the crate's builder vocabulary: taken by value, `with_*` replaces a default,
/// `add_*` appends, [`build`](Self::build) has no side effect and
/// [`install`](Self::install) makes the recorder global. Bucket setters validate eagerly.
///
/// # Examples
///
/// ```
/// use std::time::Duration;
/// use recwatch::exporter::ExporterBuilder;
///
/// # fn main() -> Result<(), recwatch::ExporterError> {
/// let (recorder, handle) = ExporterBuilder::new()
///     .add_global_label("region", "eu-west-1")?
///     .with_inference_buckets(&[0.05, 0.5, 5.0, 50.0])?
///     .with_gpu_idle_timeout(Duration::from_secs(60))
///     .build();
/// // `recorder` can be installed with `metrics::set_global_recorder` or used locally.
/// # drop((recorder, handle));
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
#[must_use = "a builder does nothing until `build` or `install` is called"]
pub struct ExporterBuilder {
    global_labels: Vec<(String, String)>,
    default_buckets: Vec<f64>,
    metric_buckets: Vec<(String, Vec<f64>)>,
    gpu_idle_timeout: Duration,
}

impl fmt::Debug for ExporterBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ExporterBuilder")
            .field("global_labels", &self.global_labels)
            .field("gpu_idle_timeout", &self.gpu_idle_timeout)
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
    /// A builder with recwatch's defaults: no global labels, each metric's buckets from the
    /// [`catalogue`], [`DEFAULT_REQUEST_BUCKETS`] for histograms outside it.
    pub fn new() -> Self {
        Self {
            global_labels: Vec::new(),
            default_buckets: DEFAULT_REQUEST_BUCKETS.to_vec(),
            metric_buckets: Vec::new(),
            gpu_idle_timeout: DEFAULT_GPU_IDLE_TIMEOUT,
        }
    }

    /// Adds a label put on every exported series. A later call with the same name replaces the
    /// value; a metric's own label of the same name wins over it.
    ///
    /// # Errors
    ///
    /// [`ExporterError::InvalidLabelName`] for names Prometheus rejects.
    pub fn add_global_label(
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

    fn with_known_label(mut self, name: &str, value: impl Into<String>) -> Self {
        // `name` is a valid literal, so no validation is needed.
        let value = value.into();
        match self.global_labels.iter_mut().find(|(n, _)| n == name) {
            Some(slot) => slot.1 = value,
            None => self.global_labels.push((name.to_owned(), value)),
        }
        self
    }

    /// Sets the global `service` label. Defaults to none.
    pub fn with_service(self, service: impl Into<String>) -> Self {
        self.with_known_label("service", service)
    }

    /// Sets the global `version` label (the service's version). Defaults to none.
    ///
    /// Inference series carry the model's version as `model_version`, so both appear on them.
    pub fn with_version(self, version: impl Into<String>) -> Self {
        self.with_known_label("version", version)
    }

    /// Sets the global `model_version` label (the deployed model). A call site's own
    /// `#[track_inference(version = "…")]` wins on its series. Defaults to none.
    pub fn with_model_version(self, model_version: impl Into<String>) -> Self {
        self.with_known_label("model_version", model_version)
    }

    /// Replaces the buckets (seconds) of the HTTP latency histograms, both naming schemes.
    /// Defaults to [`DEFAULT_REQUEST_BUCKETS`].
    ///
    /// # Errors
    ///
    /// [`ExporterError::InvalidBuckets`] unless the bounds are finite and strictly increasing.
    pub fn with_request_buckets(self, buckets: &[f64]) -> Result<Self, ExporterError> {
        self.add_spec_buckets(&catalogue::REQUEST_DURATION_SECONDS, buckets)
    }

    /// Replaces the buckets (seconds) of `model_inference_duration_seconds`.
    /// Defaults to [`DEFAULT_INFERENCE_BUCKETS`].
    ///
    /// # Errors
    ///
    /// [`ExporterError::InvalidBuckets`] unless the bounds are finite and strictly increasing.
    pub fn with_inference_buckets(self, buckets: &[f64]) -> Result<Self, ExporterError> {
        self.add_spec_buckets(&catalogue::INFERENCE_DURATION_SECONDS, buckets)
    }

    /// Replaces the buckets of `model_inference_batch_size`.
    /// Defaults to [`DEFAULT_BATCH_SIZE_BUCKETS`].
    ///
    /// # Errors
    ///
    /// [`ExporterError::InvalidBuckets`] unless the bounds are finite and strictly increasing.
    pub fn with_batch_size_buckets(self, buckets: &[f64]) -> Result<Self, ExporterError> {
        self.add_spec_buckets(&catalogue::INFERENCE_BATCH_SIZE, buckets)
    }

    /// Replaces the buckets used by any histogram that has no layout of its own (neither in the
    /// catalogue nor set per metric), so that no histogram is ever exported as a summary.
    /// Defaults to [`DEFAULT_REQUEST_BUCKETS`].
    ///
    /// # Errors
    ///
    /// [`ExporterError::InvalidBuckets`] unless the bounds are finite and strictly increasing.
    pub fn with_default_buckets(mut self, buckets: &[f64]) -> Result<Self, ExporterError> {
        validate_buckets("default", buckets)?;
        self.default_buckets = buckets.to_vec();
        Ok(self)
    }

    /// Adds a bucket layout for one histogram, by its full name (either naming scheme). Wins
    /// over the catalogue's layout and the default; a later call for the same name replaces it.
    ///
    /// # Errors
    ///
    /// [`ExporterError::InvalidBuckets`] unless the bounds are finite and strictly increasing.
    pub fn add_metric_buckets(
        mut self,
        metric: impl Into<String>,
        buckets: &[f64],
    ) -> Result<Self, ExporterError> {
        let metric = metric.into();
        validate_buckets(&metric, buckets)?;
        self.metric_buckets.retain(|(n, _)| *n != metric);
        self.metric_buckets.push((metric, buckets.to_vec()));
        Ok(self)
    }

    fn add_spec_buckets(self, spec: &MetricSpec, buckets: &[f64]) -> Result<Self, ExporterError> {
        let mut b = self.add_metric_buckets(spec.name, buckets)?;
        if let Some(otel) = spec.otel_name {
            b = b.add_metric_buckets(otel, buckets)?;
        }
        Ok(b)
    }

    /// Sets how long an expiring gauge (the catalogue's per-GPU series) may go without an
    /// update before it leaves the exposition, so the series of a GPU that disappeared stop
    /// being exported. Keep it at least three sampler intervals. Values below 1 s are raised to
    /// 1 s. Defaults to [`DEFAULT_GPU_IDLE_TIMEOUT`].
    ///
    /// Only gauges the catalogue marks as expiring expire: the HTTP layer caches its handles,
    /// which an expiry would silently detach.
    pub fn with_gpu_idle_timeout(mut self, timeout: Duration) -> Self {
        self.gpu_idle_timeout = timeout.max(Duration::from_secs(1));
        self
    }

    fn layouts(&self) -> Layouts {
        Layouts {
            default: self.default_buckets.as_slice().into(),
            by_name: self
                .metric_buckets
                .iter()
                .map(|(name, b)| (name.clone(), b.as_slice().into()))
                .collect(),
        }
    }

    /// Builds the recorder and its handle without installing anything or starting a thread.
    ///
    /// Use this to combine recorders or to test (with `metrics::with_local_recorder`); most
    /// applications call [`install`](Self::install).
    pub fn build(self) -> (RecwatchRecorder, MetricsHandle) {
        let mut prometheus = PrometheusBuilder::new();
        for (k, v) in &self.global_labels {
            prometheus = prometheus.add_global_label(k, v);
        }
        let expiring = prometheus
            .idle_timeout(MetricKindMask::GAUGE, Some(self.gpu_idle_timeout))
            .build_recorder();
        // The store reads HELP from the catalogue at render time; the upstream recorder needs
        // it described.
        for spec in catalogue::all().iter().filter(|s| s.expires) {
            expiring.describe_gauge(
                KeyName::from_const_str(spec.name),
                None,
                SharedString::const_str(spec.help),
            );
        }
        let store = Arc::new(Store::new(self.layouts(), self.global_labels));
        let handle = MetricsHandle {
            shared: Arc::new(Shared {
                expiring: expiring.handle(),
                store: store.clone(),
                collectors: Mutex::new(Vec::new()),
            }),
        };
        (RecwatchRecorder { store, expiring }, handle)
    }

    /// Builds the recorder, installs it as the global `metrics` recorder and returns a handle.
    ///
    /// Also turns on handle caching for `#[track_inference]` call sites
    /// ([`cache_global_recorder_handles`](crate::inference::cache_global_recorder_handles)):
    /// only expiring gauges ever leave this recorder, never inference histograms.
    ///
    /// # Errors
    ///
    /// [`ExporterError::AlreadyInstalled`] if any global recorder is already set; the existing
    /// recorder is left untouched.
    pub fn install(self) -> Result<MetricsHandle, ExporterError> {
        let (recorder, handle) = self.build();
        metrics::set_global_recorder(recorder).map_err(|_| ExporterError::AlreadyInstalled)?;
        let _ = INSTALLED.set(handle.clone());
        // Inference histograms never expire, so their call sites may keep their handles.
        crate::inference::cache_global_recorder_handles();
        Ok(handle)
    }
}

/// The recorder built by [`ExporterBuilder::build`].
///
/// Counters, gauges and histograms live in recwatch's store: single atomics, and fixed-bucket
/// histograms that are exact under concurrency and need no draining. Gauges the catalogue marks
/// as expiring (per-GPU series) live in a `metrics-exporter-prometheus` recorder whose idle
/// timeout drops the series of a GPU that disappeared.
pub struct RecwatchRecorder {
    store: Arc<Store>,
    expiring: PrometheusRecorder,
}

impl fmt::Debug for RecwatchRecorder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RecwatchRecorder").finish_non_exhaustive()
    }
}

fn expires(name: &str) -> bool {
    catalogue::find(name).is_some_and(|spec| spec.expires)
}

impl Recorder for RecwatchRecorder {
    fn describe_counter(&self, key: KeyName, _unit: Option<Unit>, description: SharedString) {
        self.store.describe(key, description)
    }

    fn describe_gauge(&self, key: KeyName, unit: Option<Unit>, description: SharedString) {
        if expires(key.as_str()) {
            self.expiring.describe_gauge(key, unit, description)
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
        if expires(key.name()) {
            self.expiring.register_gauge(key, metadata)
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

type Collector = Arc<dyn Fn() + Send + Sync>;

struct Shared {
    expiring: PrometheusHandle,
    store: Arc<Store>,
    collectors: Mutex<Vec<Collector>>,
}

/// A cheap, cloneable handle to a recwatch Prometheus recorder: renders the exposition, serves
/// it over HTTP and runs collectors before each scrape.
#[derive(Clone)]
pub struct MetricsHandle {
    shared: Arc<Shared>,
}

impl fmt::Debug for MetricsHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MetricsHandle").finish_non_exhaustive()
    }
}

impl MetricsHandle {
    /// Renders the Prometheus text exposition, after running the registered collectors.
    ///
    /// `# HELP` and `# TYPE` come from the [`catalogue`] for its metrics (a
    /// `describe_*!` call wins for HELP); other metrics are typed by how they were recorded.
    ///
    /// # Examples
    ///
    /// ```
    /// let (recorder, handle) = recwatch::exporter::ExporterBuilder::new().build();
    /// metrics::with_local_recorder(&recorder, || {
    ///     metrics::histogram!("recommendation_request_duration_seconds").record(0.02);
    /// });
    /// let text = handle.render();
    /// assert!(text.contains("recommendation_request_duration_seconds_bucket{le=\"0.025\"} 1"));
    /// assert!(text.contains("# HELP recommendation_request_duration_seconds HTTP request latency"));
    /// ```
    pub fn render(&self) -> String {
        self.run_collectors();
        let mut text = String::with_capacity(16 * 1024);
        self.shared.store.render_into(&mut text);
        text.push_str(&retype_fractional(self.shared.expiring.render()));
        text
    }

    /// Renders the OpenMetrics 1.0 text exposition, after running the registered collectors.
    ///
    /// The same series as [`render`](Self::render), as OpenMetrics metric families: counters
    /// are families without `_total` (their samples keep it; a counter whose name lacks it is
    /// typed `unknown`, so Prometheus stores the same series names from either format),
    /// catalogue units appear as `# UNIT`, the text ends with `# EOF`, and the buckets of
    /// exemplar-capable histograms (the `exemplars` field of their
    /// [`catalogue::MetricSpec`]) carry the trace of their latest
    /// observation made in a sampled span: `# {trace_id="…",span_id="…"} value timestamp`
    /// (feature `telemetry`; see docs/exemplars.md).
    ///
    /// The `/metrics` route serves this to scrapers that send
    /// `Accept: application/openmetrics-text` (Prometheus does).
    ///
    /// # Examples
    ///
    /// ```
    /// let (recorder, handle) = recwatch::exporter::ExporterBuilder::new().build();
    /// metrics::with_local_recorder(&recorder, || {
    ///     metrics::counter!("recommendation_requests_total").increment(1);
    /// });
    /// let text = handle.render_openmetrics();
    /// assert!(text.contains("# TYPE recommendation_requests counter\n"));
    /// assert!(text.contains("recommendation_requests_total 1\n"));
    /// assert!(text.ends_with("# EOF\n"));
    /// ```
    pub fn render_openmetrics(&self) -> String {
        self.run_collectors();
        let mut text = String::with_capacity(16 * 1024);
        self.shared.store.render_openmetrics_into(&mut text);
        openmetrics_from_prometheus(&retype_fractional(self.shared.expiring.render()), &mut text);
        text.push_str("# EOF\n");
        text
    }

    fn run_collectors(&self) {
        // Clone the list and release the lock before running: a collector may register
        // another collector (or render) without deadlocking.
        let collectors: Vec<Collector> = match self.shared.collectors.lock() {
            Ok(c) => c.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        };
        for c in collectors {
            c();
        }
    }

    /// Runs the collectors, then calls `f` with every series and its current value, for
    /// in-process readers such as the dashboard's sampler. Expiring gauges (`gpu_*`), which live
    /// in the expiring recorder, are read back from its exposition (without their labels).
    #[cfg_attr(not(feature = "dashboard"), allow(dead_code))]
    pub(crate) fn visit_series(&self, f: &mut dyn FnMut(&Key, SeriesValue<'_>)) {
        self.run_collectors();
        self.shared.store.visit(f);
        let expiring = self.shared.expiring.render();
        for line in expiring.lines().filter(|l| !l.starts_with('#')) {
            let Some((series, value)) = line.rsplit_once(' ') else {
                continue;
            };
            let name = series.split('{').next().unwrap_or(series);
            if let Ok(v) = value.parse::<f64>() {
                f(&Key::from_name(name.to_owned()), SeriesValue::Gauge(v));
            }
        }
    }

    /// Registers a function run before every render, to refresh gauges that are computed on
    /// demand (for example [`ActiveUsers::publish`](crate::active_users::ActiveUsers::publish)).
    /// Collectors run without any lock held, so one may register another; a collector added
    /// during a render first runs at the next one. Collectors must be quick.
    pub fn add_collector(&self, collector: impl Fn() + Send + Sync + 'static) {
        let mut collectors = match self.shared.collectors.lock() {
            Ok(c) => c,
            Err(poisoned) => poisoned.into_inner(),
        };
        collectors.push(Arc::new(collector));
    }
}

/// `metrics-exporter-prometheus` types every gauge `gauge`; the catalogue's fractional
/// counters among the expiring gauges (GPU energy) are monotonic and typed `counter`.
fn retype_fractional(mut text: String) -> String {
    for spec in catalogue::all()
        .iter()
        .filter(|s| s.fractional && s.expires)
    {
        let gauge = format!("# TYPE {} gauge\n", spec.name);
        if text.contains(&gauge) {
            text = text.replace(&gauge, &format!("# TYPE {} counter\n", spec.name));
        }
    }
    text
}

/// Rewrites the Prometheus text of the expiring gauges as OpenMetrics families: HELP escaped
/// for OpenMetrics, counter families without `_total`, catalogue units, no blank lines.
fn openmetrics_from_prometheus(text: &str, out: &mut String) {
    use std::fmt::Write as _;
    // The upstream exporter writes HELP, then TYPE, then the samples of each family.
    let mut help: Option<(&str, &str)> = None;
    for line in text.lines() {
        if line.is_empty() {
            continue;
        }
        if let Some(rest) = line.strip_prefix("# HELP ") {
            help = rest.split_once(' ');
        } else if let Some(rest) = line.strip_prefix("# TYPE ") {
            let Some((name, kind)) = rest.split_once(' ') else {
                continue;
            };
            let (family, kind) = store::openmetrics_family(name, kind);
            if let Some((_, text)) = help.take().filter(|(n, _)| *n == name) {
                // Backslashes and newlines are already escaped; OpenMetrics also escapes quotes.
                let _ = writeln!(out, "# HELP {family} {}", text.replace('"', "\\\""));
            }
            let _ = writeln!(out, "# TYPE {family} {kind}");
            store::push_unit(out, name, family);
        } else if !line.starts_with('#') {
            out.push_str(line);
            out.push('\n');
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Records one of each kind of series the exporter renders.
    fn record_sample_series(recorder: &RecwatchRecorder) {
        metrics::with_local_recorder(recorder, || {
            let labels = [
                ("method", "GET"),
                ("endpoint", "/movies/{id}"),
                ("status", "200"),
            ];
            metrics::counter!(catalogue::REQUESTS_TOTAL.name, &labels).increment(3);
            metrics::counter!("cache_hits_total").increment(2);
            metrics::describe_counter!("cache_hits_total", "Cache hits.");
            metrics::describe_histogram!("queue_wait_seconds", "Queue wait \\ in \"seconds\".");
            for v in [0.004, 0.02, 0.3, 7.0, 100.0] {
                metrics::histogram!(catalogue::REQUEST_DURATION_SECONDS.name, &labels).record(v);
            }
            metrics::histogram!("queue_wait_seconds", "x" => "a\"b").record(0.3);
            metrics::gauge!(catalogue::REQUESTS_IN_FLIGHT.name, "method" => "GET", "endpoint" => "/").set(2.0);
            metrics::gauge!("process_cpu_seconds_total").set(1.25);
            metrics::gauge!("gpu_usage_percent", "gpu" => "0").set(40.0);
            metrics::gauge!("gpu_energy_joules_total", "gpu" => "0").set(12.5);
        });
    }

    /// Clients that do not ask for OpenMetrics get exactly the text they always got.
    #[test]
    fn plain_text_exposition_is_pinned() {
        let (recorder, handle) = ExporterBuilder::new().with_service("svc").build();
        record_sample_series(&recorder);
        let text = handle.render();
        // The families of the expiring gauges come from `metrics-exporter-prometheus` in hash
        // order: compare those as a set, everything else byte for byte.
        let split = |t: &str| -> (String, Vec<String>) {
            let at = t.find("# HELP gpu_").unwrap_or(t.len());
            let mut upstream: Vec<String> =
                t[at..].split_inclusive("\n\n").map(str::to_owned).collect();
            upstream.sort();
            (t[..at].to_owned(), upstream)
        };
        assert_eq!(split(&text), split(PINNED_PLAIN_TEXT), "{text}");
    }

    /// Generated by the exporter before OpenMetrics existed; passes `promtool check metrics`.
    const PINNED_PLAIN_TEXT: &str = include_str!("../../tests/fixtures/exposition_plain.prom");

    #[test]
    fn openmetrics_exposition_of_the_same_series() {
        let (recorder, handle) = ExporterBuilder::new().with_service("svc").build();
        record_sample_series(&recorder);
        metrics::with_local_recorder(&recorder, || {
            metrics::counter!("bare_counter").increment(1);
        });
        let text = handle.render_openmetrics();
        assert!(text.ends_with("\n# EOF\n"), "{text}");
        assert_eq!(text.matches("# EOF").count(), 1, "{text}");
        assert!(!text.contains("\n\n"), "no blank lines:\n{text}");
        for expected in [
            "# HELP cache_hits Cache hits.\n# TYPE cache_hits counter\ncache_hits_total{service=\"svc\"} 2\n",
            "# TYPE bare_counter unknown\nbare_counter{service=\"svc\"} 1\n",
            "# TYPE recommendation_requests counter\nrecommendation_requests_total{",
            "# TYPE process_cpu_seconds counter\n# UNIT process_cpu_seconds seconds\nprocess_cpu_seconds_total{service=\"svc\"} 1.25\n",
            "# TYPE recommendation_requests_in_flight gauge\nrecommendation_requests_in_flight{",
            "# TYPE recommendation_request_duration_seconds histogram\n# UNIT recommendation_request_duration_seconds seconds\n",
            "status=\"200\",le=\"+Inf\"} 5\n",
            "# HELP queue_wait_seconds Queue wait \\\\ in \\\"seconds\\\".\n# TYPE queue_wait_seconds histogram\nqueue_wait_seconds_bucket{",
            "# HELP gpu_usage_percent GPU utilisation, 0-100.\n# TYPE gpu_usage_percent gauge\n# UNIT gpu_usage_percent percent\ngpu_usage_percent{service=\"svc\",gpu=\"0\"} 40\n",
            "# TYPE gpu_energy_joules counter\n# UNIT gpu_energy_joules joules\ngpu_energy_joules_total{service=\"svc\",gpu=\"0\"} 12.5\n",
        ] {
            assert!(text.contains(expected), "missing {expected:?} in\n{text}");
        }
        // The samples are those of the Prometheus text (upstream families come in hash order).
        let samples = |t: &str| -> Vec<String> {
            t.lines()
                .filter(|l| !l.is_empty() && !l.starts_with('#'))
                .map(|l| l.split(" # ").next().unwrap_or(l).to_owned())
                .collect::<Vec<_>>()
        };
        let plain = handle.render();
        let (mut om, mut plain) = (samples(&text), samples(&plain));
        om.sort();
        plain.sort();
        assert_eq!(om, plain);
        assert!(!text.contains("trace_id"), "no span, no exemplar:\n{text}");
    }

    #[cfg(feature = "telemetry")]
    #[test]
    fn exemplars_of_sampled_spans_only_on_capable_histograms() {
        use opentelemetry::trace::{
            SpanContext, SpanId, TraceContextExt as _, TraceFlags, TraceId, TraceState,
        };
        let context = |trace: u128, span: u64, flags| {
            opentelemetry::Context::new().with_remote_span_context(SpanContext::new(
                TraceId::from_bytes(trace.to_be_bytes()),
                SpanId::from_bytes(span.to_be_bytes()),
                flags,
                true,
                TraceState::default(),
            ))
        };
        let (recorder, handle) = ExporterBuilder::new().build();
        let name = catalogue::REQUEST_DURATION_SECONDS.name;
        metrics::with_local_recorder(&recorder, || {
            {
                let _cx = context(0xabc, 0x1, TraceFlags::SAMPLED).attach();
                metrics::histogram!(name).record(0.02);
                metrics::histogram!(name).record(0.03);
                metrics::histogram!("queue_wait_seconds").record(0.02);
            }
            {
                let _cx = context(0xdef, 0x2, TraceFlags::default()).attach();
                metrics::histogram!(name).record(7.0);
            }
            metrics::histogram!(name).record(70.0);
        });
        let text = handle.render_openmetrics();
        let bucket = |le: &str| {
            let prefix = format!("{name}_bucket{{le=\"{le}\"}} ");
            text.lines()
                .find(|l| l.starts_with(&prefix))
                .unwrap_or_else(|| panic!("no {prefix} in\n{text}"))
                .to_owned()
        };
        // The latest sampled observation of the 0.025 < v <= 0.05 bucket.
        let line = bucket("0.05");
        assert!(
            line.starts_with(&format!(
                "{name}_bucket{{le=\"0.05\"}} 2 # {{trace_id=\"{:032x}\",span_id=\"{:016x}\"}} 0.03 ",
                0xabc, 0x1
            )),
            "{line}"
        );
        let ts: f64 = line.rsplit(' ').next().unwrap().parse().unwrap();
        assert!(ts > 1.6e9, "{line}");
        assert!(bucket("0.025").contains(" # {trace_id="), "{text}");
        assert!(
            !bucket("10").contains('#'),
            "unsampled span: no exemplar\n{text}"
        );
        assert!(
            !bucket("+Inf").contains('#'),
            "no span: no exemplar\n{text}"
        );
        assert!(
            text.lines()
                .filter(|l| l.starts_with("queue_wait_seconds_bucket"))
                .all(|l| !l.contains('#')),
            "not exemplar-capable:\n{text}"
        );
        // The Prometheus text never carries exemplars.
        assert!(!handle.render().contains("trace_id"));
    }

    #[test]
    fn label_names_are_validated() {
        assert!(valid_label_name("service"));
        assert!(valid_label_name("_x1"));
        assert!(!valid_label_name("1x"));
        assert!(!valid_label_name("__reserved"));
        assert!(!valid_label_name("a-b"));
        assert!(!valid_label_name(""));
        let err = ExporterBuilder::new()
            .add_global_label("bad-name", "v")
            .unwrap_err();
        assert!(matches!(err, ExporterError::InvalidLabelName { .. }));
    }

    #[test]
    fn every_histogram_is_a_real_histogram_with_global_labels() {
        let (recorder, handle) = ExporterBuilder::new()
            .with_service("svc")
            .with_model_version("m1")
            .build();
        metrics::with_local_recorder(&recorder, || {
            metrics::histogram!(catalogue::INFERENCE_DURATION_SECONDS.name, "model" => "m")
                .record(90.0);
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
            .build();
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
            .with_gpu_idle_timeout(Duration::from_secs(1))
            .build();
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
