//! Inference timing: the runtime side of `#[track_inference]` (feature `macros`),
//! plus a guard and closure API for code the attribute cannot reach (loops, closures,
//! batched calls).
//!
//! Every timed call records one observation in the
//! [`model_inference_duration_seconds`](catalogue::INFERENCE_DURATION_SECONDS) histogram with
//! the labels `model`, `outcome` and, when a version is given, `model_version` (so that the
//! service's global `version` label stays on the series too). `outcome` is one of
//! [`ok`](Outcome::Ok), [`error`](Outcome::Error), [`panic`](Outcome::Panic) or
//! [`cancelled`](Outcome::Cancelled); a timer records on every exit, including unwinding and
//! a dropped future. Batched inference can also record the
//! [`model_inference_batch_size`](catalogue::INFERENCE_BATCH_SIZE) histogram.
//!
//! Nothing here installs a recorder: values go to whatever `metrics` recorder is active (the
//! one installed by [`crate::exporter`] in a service, a local recorder in tests). Bucket
//! boundaries for both histograms come from the catalogue and can be changed in the exporter.
//!
//! # Example
//!
//! ```
//! use recwatch::inference::{time_inference, try_time_inference, InferenceModel, Outcome};
//!
//! // One-off call: records outcome="ok" (or "panic" if the closure panics).
//! let scores = time_inference("ranker", || vec![0.9_f32, 0.4]);
//! assert_eq!(scores.len(), 2);
//!
//! // A `Result`: `Err` records outcome="error".
//! let parsed: Result<u32, std::num::ParseIntError> = try_time_inference("parser", || "42".parse());
//! assert_eq!(parsed, Ok(42));
//!
//! // A hot loop: build the label set once, then time each batch with a guard.
//! let model = InferenceModel::new("ranker").with_version("2024-06-01");
//! for batch in [vec![1, 2, 3], vec![4, 5]] {
//!     let timer = model.start_timer();
//!     model.record_batch_size(batch.len());
//!     let _scores: Vec<i32> = batch.iter().map(|x| x * 2).collect();
//!     timer.finish(Outcome::Ok);
//! }
//! ```

#[cfg(feature = "generation")]
pub mod generation;

#[cfg(feature = "generation")]
pub use generation::{
    Classify, FinishReason, Generation, GenerationError, GenerationTracker, ModelPrice,
    OneTokenPerItem, PriceTable, QueuedGeneration, StreamItem, TrackedStream, DEFAULT_OPERATION,
};

use std::fmt;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use quanta::Instant;

use metrics::{Histogram, Key, Label, Level, Metadata, Recorder, SharedString};

use crate::catalogue;

const INFERENCE_DURATION_SECONDS: &str = catalogue::INFERENCE_DURATION_SECONDS.name;
const INFERENCE_BATCH_SIZE: &str = catalogue::INFERENCE_BATCH_SIZE.name;
use crate::__private::{MODEL_LABEL, MODEL_VERSION_LABEL as VERSION_LABEL, OUTCOME_LABEL};

/// Metadata attached to every inference metric.
pub(crate) static METADATA: Metadata<'static> =
    Metadata::new("recwatch::inference", Level::INFO, Some(module_path!()));

/// How a timed inference call ended; the value of the `outcome` label.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Outcome {
    /// The call returned normally (for a `Result`, it returned `Ok`).
    Ok,
    /// The call returned an `Err`.
    Error,
    /// The call panicked; the panic still propagates to the caller.
    Panic,
    /// The call was abandoned before it finished: an async call whose future was dropped
    /// before completion, or a timer dropped without [`InferenceTimer::finish`].
    Cancelled,
}

impl Outcome {
    /// All outcomes, in label-index order.
    pub const ALL: [Outcome; 4] = [
        Outcome::Ok,
        Outcome::Error,
        Outcome::Panic,
        Outcome::Cancelled,
    ];

    /// The label value: `"ok"`, `"error"`, `"panic"` or `"cancelled"`.
    ///
    /// ```
    /// assert_eq!(recwatch::inference::Outcome::Cancelled.as_str(), "cancelled");
    /// ```
    pub const fn as_str(self) -> &'static str {
        match self {
            Outcome::Ok => "ok",
            Outcome::Error => "error",
            Outcome::Panic => "panic",
            Outcome::Cancelled => "cancelled",
        }
    }

    /// The outcome of a `Result`: [`Outcome::Error`] for `Err`, [`Outcome::Ok`] for `Ok`.
    ///
    /// ```
    /// use recwatch::inference::Outcome;
    /// assert_eq!(Outcome::of_result(&Err::<(), _>("boom")), Outcome::Error);
    /// ```
    pub const fn of_result<T, E>(result: &Result<T, E>) -> Self {
        match result {
            Ok(_) => Outcome::Ok,
            Err(_) => Outcome::Error,
        }
    }

    pub(crate) const fn index(self) -> usize {
        match self {
            Outcome::Ok => 0,
            Outcome::Error => 1,
            Outcome::Panic => 2,
            Outcome::Cancelled => 3,
        }
    }
}

impl fmt::Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Address of the global recorder whose handles call sites may keep (0: keep none). Set by
/// [`cache_global_recorder_handles`].
static CACHED_RECORDER: AtomicUsize = AtomicUsize::new(0);

/// Address of a recorder, its identity for the handle cache.
fn recorder_addr(recorder: &dyn Recorder) -> usize {
    (recorder as *const dyn Recorder).cast::<()>().addr()
}

/// Lets inference call sites keep their histogram handles for the installed global
/// recorder, instead of looking them up in the recorder on every call. Returns whether a
/// global recorder was found (and caching is on).
///
/// Call it once, right after installing the global recorder, and only if that recorder never
/// drops series it handed out (for `metrics-exporter-prometheus`: no `idle_timeout`), since a
/// kept handle would keep writing to a dropped series. Local recorders
/// (`metrics::with_local_recorder`) are never cached: calls made under one always look their
/// handle up in it. It finds the global recorder from a short-lived thread, which has no
/// local recorder.
///
/// Without this call every timed call resolves its handle from the active recorder (a hash
/// lookup with a precomputed hash); see docs/benchmarks.md for both costs.
///
/// ```
/// // No global recorder installed: nothing to cache.
/// assert!(!recwatch::inference::cache_global_recorder_handles());
/// ```
pub fn cache_global_recorder_handles() -> bool {
    // Calibrate the clock now rather than in the first timed call.
    let _ = Instant::now();
    let probe = std::thread::Builder::new()
        .name("recwatch-recorder-probe".into())
        .spawn(|| {
            metrics::with_recorder(|recorder| {
                // Zero-sized recorders (the no-op recorder) have no identity worth keeping.
                (std::mem::size_of_val(recorder) != 0).then(|| recorder_addr(recorder))
            })
        });
    match probe.ok().and_then(|p| p.join().ok()).flatten() {
        Some(addr) => {
            CACHED_RECORDER.store(addr, Ordering::Relaxed);
            true
        }
        None => false,
    }
}

/// Whether the current recorder is the global recorder whose handles may be kept for the
/// process (see [`cache_global_recorder_handles`]). A thread-local read and an atomic load.
#[inline]
#[cfg_attr(not(feature = "http"), allow(dead_code))]
pub(crate) fn current_recorder_is_cached() -> bool {
    let cached = CACHED_RECORDER.load(Ordering::Relaxed);
    cached != 0 && metrics::with_recorder(|recorder| recorder_addr(recorder) == cached)
}

/// One histogram series: its key (hash precomputed) and, for the cached global recorder,
/// its handle.
#[derive(Debug)]
pub(crate) struct Series {
    key: Key,
    handle: OnceLock<Histogram>,
}

impl Series {
    pub(crate) const fn new(key: Key) -> Self {
        Series {
            key,
            handle: OnceLock::new(),
        }
    }

    /// Records `value` in the active recorder.
    #[inline]
    pub(crate) fn record(&self, value: f64) {
        metrics::with_recorder(|recorder| {
            let cached = CACHED_RECORDER.load(Ordering::Relaxed);
            if cached != 0 && recorder_addr(recorder) == cached {
                self.handle
                    .get_or_init(|| recorder.register_histogram(&self.key, &METADATA))
                    .record(value);
            } else {
                recorder
                    .register_histogram(&self.key, &METADATA)
                    .record(value);
            }
        });
    }
}

/// The series of one model: one duration series per outcome plus the batch series.
#[derive(Debug)]
pub(crate) struct Keys {
    pub(crate) duration: [Series; 4],
    pub(crate) batch: Series,
}

impl Keys {
    fn build(model: &SharedString, version: Option<&SharedString>) -> Self {
        let base = |extra: Option<&'static str>| {
            let mut labels = Vec::with_capacity(3);
            labels.push(Label::new(MODEL_LABEL, model.clone()));
            if let Some(v) = version {
                labels.push(Label::new(VERSION_LABEL, v.clone()));
            }
            if let Some(outcome) = extra {
                labels.push(Label::from_static_parts(OUTCOME_LABEL, outcome));
            }
            labels
        };
        let duration = Outcome::ALL.map(|o| {
            Series::new(Key::from_parts(
                INFERENCE_DURATION_SECONDS,
                base(Some(o.as_str())),
            ))
        });
        Keys {
            duration,
            batch: Series::new(Key::from_parts(INFERENCE_BATCH_SIZE, base(None))),
        }
    }
}

/// Records `value` under `key` in the active recorder (no handle cache: one-off keys).
fn record_key(key: &Key, value: f64) {
    metrics::with_recorder(|recorder| recorder.register_histogram(key, &METADATA).record(value));
}

/// A batch size as a histogram value (precision loss above 2^52 items is irrelevant).
#[allow(clippy::cast_precision_loss)]
fn batch_value(size: usize) -> f64 {
    size as f64
}

/// The label set of one model (name and optional version), built once and reused.
///
/// Building the metric keys allocates; an `InferenceModel` does it once so that each
/// [`start_timer`](Self::start_timer), [`time`](Self::time) and
/// [`record_batch_size`](Self::record_batch_size) only looks the keys up. Cloning is cheap
/// (one reference count).
///
/// ```
/// use recwatch::inference::InferenceModel;
///
/// let model = InferenceModel::new("two-tower").with_version("v7");
/// assert_eq!(model.name(), "two-tower");
/// assert_eq!(model.version(), Some("v7"));
/// let embedding = model.time(|| [0.1_f32; 4]);
/// assert_eq!(embedding.len(), 4);
/// ```
#[derive(Clone)]
pub struct InferenceModel {
    inner: Arc<ModelInner>,
}

struct ModelInner {
    name: SharedString,
    version: Option<SharedString>,
    keys: Keys,
}

impl fmt::Debug for InferenceModel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("InferenceModel")
            .field("name", &self.name())
            .field("version", &self.version())
            .finish()
    }
}

impl InferenceModel {
    /// A model label set with the given name (the `model` label) and no version.
    ///
    /// The name becomes a label value: use a fixed, low-cardinality name, never user input.
    pub fn new(name: impl Into<SharedString>) -> Self {
        Self::from_parts(name.into(), None)
    }

    /// Adds a `model_version` label. Defaults to none.
    pub fn with_version(self, version: impl Into<SharedString>) -> Self {
        Self::from_parts(self.inner.name.clone(), Some(version.into()))
    }

    fn from_parts(name: SharedString, version: Option<SharedString>) -> Self {
        let keys = Keys::build(&name, version.as_ref());
        InferenceModel {
            inner: Arc::new(ModelInner {
                name,
                version,
                keys,
            }),
        }
    }

    /// The `model` label value.
    pub fn name(&self) -> &str {
        &self.inner.name
    }

    /// The `model_version` label value, if any.
    pub fn version(&self) -> Option<&str> {
        self.inner.version.as_deref()
    }

    /// Starts a timer for one call of this model. See [`InferenceTimer`].
    pub fn start_timer(&self) -> InferenceTimer {
        InferenceTimer::from_model(self.clone())
    }

    /// Times `f`, recording `outcome="ok"` when it returns and `outcome="panic"` when it
    /// panics (the panic propagates). For closures returning `Result`, use
    /// [`try_time`](Self::try_time).
    pub fn time<T>(&self, f: impl FnOnce() -> T) -> T {
        let timer = self.start_timer();
        let value = f();
        timer.finish(Outcome::Ok);
        value
    }

    /// Times `f`, recording `outcome="error"` when it returns `Err`, `"ok"` for `Ok` and
    /// `"panic"` when it panics (the panic propagates).
    pub fn try_time<T, E>(&self, f: impl FnOnce() -> Result<T, E>) -> Result<T, E> {
        let timer = self.start_timer();
        let result = f();
        timer.finish_result(&result);
        result
    }

    /// Records one observation of the `model_inference_batch_size` histogram (items in one
    /// batched inference call), labelled with this model.
    pub fn record_batch_size(&self, size: usize) {
        self.inner.keys.batch.record(batch_value(size));
    }
}

/// Where a timer's keys come from: a macro call site's statics, a shared
/// [`InferenceModel`], or a bare name (the one key needed is built when recording).
enum KeySource {
    Static(&'static [Series; 4]),
    Model(InferenceModel),
    Name(SharedString),
}

impl KeySource {
    #[inline]
    fn record(&self, outcome: Outcome, elapsed: Duration) {
        match self {
            KeySource::Static(series) => series[outcome.index()].record(elapsed.as_secs_f64()),
            KeySource::Model(model) => {
                model.inner.keys.duration[outcome.index()].record(elapsed.as_secs_f64());
            }
            KeySource::Name(name) => {
                let key = Key::from_parts(
                    INFERENCE_DURATION_SECONDS,
                    vec![
                        Label::new(MODEL_LABEL, name.clone()),
                        Label::from_static_parts(OUTCOME_LABEL, outcome.as_str()),
                    ],
                );
                record_key(&key, elapsed.as_secs_f64());
            }
        }
    }
}

/// A guard that times one inference call and records it exactly once.
///
/// Finish it with [`finish`](Self::finish) or [`finish_result`](Self::finish_result). A
/// timer dropped without finishing records [`Outcome::Panic`] if the thread is unwinding and
/// [`Outcome::Cancelled`] otherwise, so a timer held across an `.await` in a future that gets
/// dropped (a `select!` loser, a timed-out request) still records.
///
/// ```
/// use recwatch::inference::{InferenceTimer, Outcome};
///
/// let timer = InferenceTimer::start("ranker");
/// let result: Result<Vec<f32>, String> = Ok(vec![0.5]);
/// let outcome = timer.finish_result(&result);
/// assert_eq!(outcome, Outcome::Ok);
/// ```
#[must_use = "a timer records when finished or dropped; dropping it at once records a near-zero `cancelled` call"]
pub struct InferenceTimer {
    keys: KeySource,
    start: Instant,
    finished: bool,
}

impl fmt::Debug for InferenceTimer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("InferenceTimer")
            .field("start", &self.start)
            .field("finished", &self.finished)
            .finish_non_exhaustive()
    }
}

impl InferenceTimer {
    /// Starts timing a call of the model named `model` (the `model` label; no `version`).
    ///
    /// The metric key is built when the timer records; in a hot loop, or to add a
    /// `version`, build an [`InferenceModel`] once and use [`InferenceModel::start_timer`].
    pub fn start(model: impl Into<SharedString>) -> Self {
        InferenceTimer {
            keys: KeySource::Name(model.into()),
            start: Instant::now(),
            finished: false,
        }
    }

    fn from_model(model: InferenceModel) -> Self {
        InferenceTimer {
            keys: KeySource::Model(model),
            start: Instant::now(),
            finished: false,
        }
    }

    /// A timer over a macro call site's static keys.
    #[inline]
    pub(crate) fn from_static(keys: &'static [Series; 4]) -> Self {
        InferenceTimer {
            keys: KeySource::Static(keys),
            start: Instant::now(),
            finished: false,
        }
    }

    /// Time since the timer started.
    pub fn elapsed(&self) -> Duration {
        self.start.elapsed()
    }

    /// Stops the timer and records one observation with `outcome`. Returns the elapsed
    /// time.
    pub fn finish(mut self, outcome: Outcome) -> Duration {
        self.record(outcome)
    }

    /// Stops the timer and records the outcome of `result` ([`Outcome::Error`] for `Err`,
    /// [`Outcome::Ok`] for `Ok`). Returns that outcome.
    pub fn finish_result<T, E>(self, result: &Result<T, E>) -> Outcome {
        let outcome = Outcome::of_result(result);
        self.finish(outcome);
        outcome
    }

    #[inline]
    fn record(&mut self, outcome: Outcome) -> Duration {
        let elapsed = self.start.elapsed();
        self.finished = true;
        self.keys.record(outcome, elapsed);
        elapsed
    }

    /// Records `outcome` as the drop-time outcome: used by async call sites that know a
    /// poll unwound even when the thread is no longer panicking.
    #[inline]
    pub(crate) fn abandon(mut self, outcome: Outcome) {
        self.record(outcome);
    }
}

impl Drop for InferenceTimer {
    fn drop(&mut self) {
        if !self.finished {
            let outcome = if std::thread::panicking() {
                Outcome::Panic
            } else {
                Outcome::Cancelled
            };
            self.record(outcome);
        }
    }
}

/// Times `f` as one call of `model`, recording `outcome="ok"` when it returns and
/// `outcome="panic"` when it panics (the panic propagates).
///
/// For a closure that returns `Result`, use [`try_time_inference`] so that `Err` records
/// `outcome="error"`.
///
/// ```
/// let top = recwatch::inference::time_inference("ranker", || [3_u32, 1, 2].iter().max().copied());
/// assert_eq!(top, Some(3));
/// ```
pub fn time_inference<T>(model: impl Into<SharedString>, f: impl FnOnce() -> T) -> T {
    let timer = InferenceTimer::start(model);
    let value = f();
    timer.finish(Outcome::Ok);
    value
}

/// Times `f` as one call of `model`, recording `outcome="error"` when it returns `Err`,
/// `"ok"` when it returns `Ok` and `"panic"` when it panics (the panic propagates).
///
/// ```
/// use recwatch::inference::try_time_inference;
///
/// let r: Result<f32, String> = try_time_inference("scorer", || Err("model not loaded".to_string()));
/// assert!(r.is_err());
/// ```
pub fn try_time_inference<T, E>(
    model: impl Into<SharedString>,
    f: impl FnOnce() -> Result<T, E>,
) -> Result<T, E> {
    let timer = InferenceTimer::start(model);
    let result = f();
    timer.finish_result(&result);
    result
}

/// Records one observation of the `model_inference_batch_size` histogram for `model`.
///
/// Builds the metric key on each call; in a loop prefer
/// [`InferenceModel::record_batch_size`].
///
/// ```
/// recwatch::inference::record_batch_size("ranker", 32);
/// ```
pub fn record_batch_size(model: impl Into<SharedString>, size: usize) {
    let key = Key::from_parts(
        INFERENCE_BATCH_SIZE,
        vec![Label::new(MODEL_LABEL, model.into())],
    );
    record_key(&key, batch_value(size));
}

#[cfg(test)]
mod tests {
    use super::*;
    use metrics_util::debugging::{DebugValue, DebuggingRecorder};
    use metrics_util::MetricKind;

    /// (name, labels, observation count) of each histogram series.
    type Series = (String, Vec<(String, String)>, usize);

    fn histograms(recorder: &DebuggingRecorder) -> Vec<Series> {
        let mut out: Vec<_> = recorder
            .snapshotter()
            .snapshot()
            .into_vec()
            .into_iter()
            .filter(|(ck, ..)| ck.kind() == MetricKind::Histogram)
            .map(|(ck, _, _, value)| {
                let key = ck.key();
                let labels = key
                    .labels()
                    .map(|l| (l.key().to_string(), l.value().to_string()))
                    .collect();
                let n = match value {
                    DebugValue::Histogram(v) => v.len(),
                    _ => 0,
                };
                (key.name().to_string(), labels, n)
            })
            .collect();
        out.sort();
        out
    }

    #[test]
    fn outcome_labels_are_fixed() {
        let labels: Vec<_> = Outcome::ALL.iter().map(|o| o.as_str()).collect();
        assert_eq!(labels, ["ok", "error", "panic", "cancelled"]);
        for (i, o) in Outcome::ALL.iter().enumerate() {
            assert_eq!(o.index(), i);
        }
    }

    #[test]
    fn dropped_timer_records_cancelled_and_batch_sizes_record() {
        let recorder = DebuggingRecorder::new();
        metrics::with_local_recorder(&recorder, || {
            let model = InferenceModel::new("m").with_version("v1");
            drop(model.start_timer());
            model.record_batch_size(8);
        });
        let h = histograms(&recorder);
        assert_eq!(
            h,
            vec![
                (
                    INFERENCE_BATCH_SIZE.to_string(),
                    vec![
                        ("model".into(), "m".into()),
                        ("model_version".into(), "v1".into())
                    ],
                    1
                ),
                (
                    INFERENCE_DURATION_SECONDS.to_string(),
                    vec![
                        ("model".into(), "m".into()),
                        ("model_version".into(), "v1".into()),
                        ("outcome".into(), "cancelled".into())
                    ],
                    1
                ),
            ]
        );
    }
}
