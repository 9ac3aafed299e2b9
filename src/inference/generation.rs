//! Streamed generation: time to first token, time per output token, tokens, cost.
//!
//! A [`GenerationTracker`] holds the label set of one model (built once) and, optionally, its
//! [`ModelPrice`] and GPU count. Each request gets a [`Generation`] guard from
//! [`start`](GenerationTracker::start) (or [`enqueue`](GenerationTracker::enqueue) when it first
//! waits in a queue). Feed it tokens by hand with [`Generation::add_output_tokens`], or wrap the
//! output stream with [`Generation::track`] / [`Generation::track_with`]: the returned
//! [`TrackedStream`] counts every item as it passes and finishes the generation when the stream
//! ends. Whatever happens, the generation is recorded exactly once:
//!
//! | how it ends | `outcome` |
//! |---|---|
//! | the stream ends, or [`finish`](Generation::finish)`(Outcome::Ok)` | `ok` |
//! | an item was classified [`StreamItem::Error`], or `finish(Outcome::Error)` | `error` |
//! | the guard or stream is dropped first (the client went away mid-stream) | `cancelled` |
//! | the producer panicked (while polled, or while the guard was held) | `panic` |
//!
//! Tokens produced before the end are counted whatever the outcome, so a client that hangs up
//! is `cancelled` with the tokens sent so far.
//!
//! # Metrics
//!
//! The metrics are those of [`catalogue::generation`](crate::catalogue) (all labelled `model`
//! and, when given, `model_version`):
//!
//! - `model_time_to_first_token_seconds` (histogram), recorded when the first token arrives;
//! - `model_time_per_output_token_seconds` (histogram): `(end − first token) / (output − 1)`,
//!   once per `ok` generation with at least two output tokens;
//! - `model_generation_duration_seconds` (histogram; `outcome`);
//! - `model_token_usage` (histogram; `type` = `input` | `output`), once per generation;
//! - `model_tokens_total` (counter; `type`);
//! - `model_requests_running` and `model_requests_waiting` (gauges);
//! - `model_cost_total` (fractional counter; `type` = `input` | `output` | `gpu`) when the
//!   tracker has a price, and `model_gpu_seconds_total` when it has a GPU count.
//!
//! With [`Naming::OpenTelemetry`] the first four use the GenAI semantic-convention names and
//! attribute keys (`gen_ai_server_time_to_first_token_seconds{gen_ai_request_model}`, …,
//! `gen_ai_client_token_usage{gen_ai_token_type}`); the others have no convention and keep
//! their names.
//!
//! Token counters, usage and cost are added when the generation ends (one recorder look-up per
//! metric per generation); per streamed item the tracker only adds to a local count, so a
//! tracked item costs a few nanoseconds (docs/benchmarks.md).
//!
//! # Cost
//!
//! A [`ModelPrice`] gives prices per 1000 input tokens, per 1000 output tokens and per
//! GPU-second, in one currency of your choice; a [`PriceTable`] maps model names to prices and
//! reads JSON. Cost is `input/1000 × input price + output/1000 × output price` per generation,
//! plus `GPU-seconds × GPU-second price`. GPU-seconds of a model are the wall time during which
//! at least one of its generations ran, times the number of GPUs it is configured to occupy
//! ([`GenerationTracker::with_gpus`]): concurrent generations batched on the same GPUs are not
//! counted twice. recwatch's sampler sees the machine's GPUs, not which model uses them, so the
//! count is configuration; without it no GPU time is claimed. Busy time accrues at each
//! generation start and end.
//!
//! # Traces
//!
//! With the `telemetry` feature each generation opens a span under the current one (the request
//! span of [`TraceLayer`](crate::telemetry::TraceLayer)), named `{operation} {model}` with the
//! GenAI attributes `gen_ai.operation.name`, `gen_ai.request.model`,
//! `gen_ai.usage.input_tokens`, `gen_ai.usage.output_tokens`, `gen_ai.response.finish_reasons`
//! and, when not `ok`, `error.type`. It stays open until the generation ends (the end of the
//! stream, not of the response head).
//!
//! # Example
//!
//! ```
//! use recwatch::inference::{GenerationTracker, ModelPrice, Outcome};
//!
//! # fn main() -> Result<(), recwatch::GenerationError> {
//! let tracker = GenerationTracker::new("explainer")
//!     .with_price(ModelPrice::new().with_input_per_1k(0.5)?.with_output_per_1k(1.5)?);
//!
//! // By hand: a guard per request.
//! let mut generation = tracker.start().with_input_tokens(12);
//! for _token in ["A", " great", " pick"] {
//!     generation.add_output_tokens(1);
//! }
//! generation.finish(Outcome::Ok);
//!
//! // Or wrap the output stream (any `futures_core::Stream`): every item is one token.
//! # struct Words(u32);
//! # impl futures_core::Stream for Words {
//! #     type Item = &'static str;
//! #     fn poll_next(
//! #         mut self: std::pin::Pin<&mut Self>,
//! #         _: &mut std::task::Context<'_>,
//! #     ) -> std::task::Poll<Option<Self::Item>> {
//! #         self.0 = self.0.saturating_sub(1);
//! #         std::task::Poll::Ready((self.0 > 0).then_some("word"))
//! #     }
//! # }
//! let stream = tracker.start().with_input_tokens(12).track(Words(4));
//! # drop(stream);
//! # Ok(())
//! # }
//! ```

use std::collections::HashMap;
use std::fmt;
use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll};
use std::time::Duration;

use futures_core::Stream;
use metrics::{Key, Label, Level, Metadata, SharedString};
use pin_project_lite::pin_project;
use quanta::{Clock, Instant};

use super::Outcome;
use crate::catalogue::{
    MetricSpec, Naming, COST_TOTAL, GENERATION_DURATION_SECONDS, GPU_SECONDS_TOTAL,
    REQUESTS_RUNNING, REQUESTS_WAITING, TIME_PER_OUTPUT_TOKEN_SECONDS, TIME_TO_FIRST_TOKEN_SECONDS,
    TOKENS_TOTAL, TOKEN_USAGE,
};

/// Metadata attached to every generation metric.
static METADATA: Metadata<'static> =
    Metadata::new("recwatch::generation", Level::INFO, Some(module_path!()));

/// Default `gen_ai.operation.name` of the generation span.
pub const DEFAULT_OPERATION: &str = "text_completion";

/// Errors of generation tracking: bad prices.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum GenerationError {
    /// A price is negative, infinite or NaN.
    #[error("invalid {field} price {value}: prices must be finite and not negative")]
    InvalidPrice {
        /// Which price: `input_per_1k`, `output_per_1k` or `gpu_second`.
        field: &'static str,
        /// The rejected value.
        value: f64,
    },
    /// A price table in JSON could not be read.
    #[error("invalid price table JSON")]
    PriceTableJson(#[source] serde_json::Error),
    /// A price of one model in a price table is invalid.
    #[error("invalid price for model `{model}`")]
    ModelPrice {
        /// The model's name in the table.
        model: String,
        /// What is wrong with its price.
        #[source]
        source: Box<GenerationError>,
    },
}

fn valid_price(field: &'static str, value: f64) -> Result<f64, GenerationError> {
    if value.is_finite() && value >= 0.0 {
        Ok(value)
    } else {
        Err(GenerationError::InvalidPrice { field, value })
    }
}

/// Prices of one model, in one currency of your choice. All default to 0.
///
/// ```
/// use recwatch::inference::ModelPrice;
///
/// # fn main() -> Result<(), recwatch::GenerationError> {
/// let price = ModelPrice::new().with_input_per_1k(0.25)?.with_output_per_1k(1.0)?;
/// // 2000 input and 500 output tokens: 2 × 0.25 + 0.5 × 1.0.
/// assert_eq!(price.cost_of_tokens(2000, 500), 1.0);
/// assert!(ModelPrice::new().with_gpu_second(-1.0).is_err());
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Default)]
#[must_use]
pub struct ModelPrice {
    input_per_1k: f64,
    output_per_1k: f64,
    gpu_second: f64,
}

impl ModelPrice {
    /// All prices 0.
    pub const fn new() -> Self {
        ModelPrice {
            input_per_1k: 0.0,
            output_per_1k: 0.0,
            gpu_second: 0.0,
        }
    }

    /// Sets the price of 1000 input (prompt) tokens. Defaults to 0.
    ///
    /// # Errors
    ///
    /// [`GenerationError::InvalidPrice`] for a negative, infinite or NaN price.
    pub fn with_input_per_1k(mut self, price: f64) -> Result<Self, GenerationError> {
        self.input_per_1k = valid_price("input_per_1k", price)?;
        Ok(self)
    }

    /// Sets the price of 1000 output (generated) tokens. Defaults to 0.
    ///
    /// # Errors
    ///
    /// [`GenerationError::InvalidPrice`] for a negative, infinite or NaN price.
    pub fn with_output_per_1k(mut self, price: f64) -> Result<Self, GenerationError> {
        self.output_per_1k = valid_price("output_per_1k", price)?;
        Ok(self)
    }

    /// Sets the price of one GPU-second (see [`GenerationTracker::with_gpus`]). Defaults to 0.
    ///
    /// # Errors
    ///
    /// [`GenerationError::InvalidPrice`] for a negative, infinite or NaN price.
    pub fn with_gpu_second(mut self, price: f64) -> Result<Self, GenerationError> {
        self.gpu_second = valid_price("gpu_second", price)?;
        Ok(self)
    }

    /// The price of 1000 input tokens.
    pub fn input_per_1k(&self) -> f64 {
        self.input_per_1k
    }

    /// The price of 1000 output tokens.
    pub fn output_per_1k(&self) -> f64 {
        self.output_per_1k
    }

    /// The price of one GPU-second.
    pub fn gpu_second(&self) -> f64 {
        self.gpu_second
    }

    /// The cost of `input` and `output` tokens at these prices.
    pub fn cost_of_tokens(&self, input: u64, output: u64) -> f64 {
        tokens_f64(input) / 1000.0 * self.input_per_1k
            + tokens_f64(output) / 1000.0 * self.output_per_1k
    }
}

/// A token count as a metric value (precision loss above 2^52 tokens is irrelevant).
#[allow(clippy::cast_precision_loss)]
fn tokens_f64(n: u64) -> f64 {
    n as f64
}

/// Prices per model name.
///
/// Read from JSON with [`from_json`](Self::from_json): an object mapping each model name to its
/// prices, every field optional (0 when absent):
///
/// ```
/// use recwatch::inference::PriceTable;
///
/// # fn main() -> Result<(), recwatch::GenerationError> {
/// let table = PriceTable::from_json(
///     r#"{"explainer": {"input_per_1k": 0.5, "output_per_1k": 1.5, "gpu_second": 0.0008}}"#,
/// )?;
/// assert_eq!(table.price("explainer").map(|p| p.output_per_1k()), Some(1.5));
/// assert!(table.price("ranker").is_none());
/// assert!(PriceTable::from_json(r#"{"m": {"input_per_1k": -1}}"#).is_err());
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone, Default, PartialEq)]
#[must_use]
pub struct PriceTable {
    prices: HashMap<String, ModelPrice>,
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPrice {
    #[serde(default)]
    input_per_1k: f64,
    #[serde(default)]
    output_per_1k: f64,
    #[serde(default)]
    gpu_second: f64,
}

impl PriceTable {
    /// An empty table: no model has a price.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds (or replaces) the price of the model named `model`.
    pub fn add_model(mut self, model: impl Into<String>, price: ModelPrice) -> Self {
        self.prices.insert(model.into(), price);
        self
    }

    /// Reads a table from JSON (see the type's documentation for the format).
    ///
    /// # Errors
    ///
    /// [`GenerationError::PriceTableJson`] when the text is not such an object (unknown fields
    /// included), [`GenerationError::ModelPrice`] when a price is negative or not finite.
    pub fn from_json(text: &str) -> Result<Self, GenerationError> {
        let raw: HashMap<String, RawPrice> =
            serde_json::from_str(text).map_err(GenerationError::PriceTableJson)?;
        let mut table = PriceTable::new();
        for (model, p) in raw {
            let price = ModelPrice::new()
                .with_input_per_1k(p.input_per_1k)
                .and_then(|m| m.with_output_per_1k(p.output_per_1k))
                .and_then(|m| m.with_gpu_second(p.gpu_second));
            match price {
                Ok(price) => table = table.add_model(model, price),
                Err(e) => {
                    return Err(GenerationError::ModelPrice {
                        model,
                        source: Box::new(e),
                    })
                }
            }
        }
        Ok(table)
    }

    /// The price of the model named `model`, if the table has one.
    pub fn price(&self, model: &str) -> Option<&ModelPrice> {
        self.prices.get(model)
    }
}

/// Why a generation stopped, for the span's `gen_ai.response.finish_reasons` (values of the GenAI
/// semantic conventions).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum FinishReason {
    /// The model stopped on its own (`stop`).
    Stop,
    /// The token limit was reached (`length`).
    Length,
    /// A content filter stopped it (`content_filter`).
    ContentFilter,
    /// The model called a tool (`tool_call`).
    ToolCall,
    /// Generation failed (`error`).
    Error,
}

impl FinishReason {
    /// The attribute value: `stop`, `length`, `content_filter`, `tool_call` or `error`.
    ///
    /// ```
    /// assert_eq!(recwatch::inference::FinishReason::Length.as_str(), "length");
    /// ```
    pub const fn as_str(self) -> &'static str {
        match self {
            FinishReason::Stop => "stop",
            FinishReason::Length => "length",
            FinishReason::ContentFilter => "content_filter",
            FinishReason::ToolCall => "tool_call",
            FinishReason::Error => "error",
        }
    }
}

/// What one streamed item is, for a [`TrackedStream`] built with [`Generation::track_with`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum StreamItem {
    /// The item carries this many output tokens (0 for keep-alives and other non-tokens).
    Tokens(u64),
    /// The item reports a failure: the generation ends as [`Outcome::Error`] when the stream
    /// ends (or [`Outcome::Cancelled`] if it is dropped first).
    Error,
}

/// What each item of a [`TrackedStream`] counts for: implemented by closures
/// `FnMut(&Item) -> StreamItem` and by [`OneTokenPerItem`].
pub trait Classify<T> {
    /// The tokens `item` carries, or that it reports a failure.
    fn classify(&mut self, item: &T) -> StreamItem;
}

impl<T, F: FnMut(&T) -> StreamItem> Classify<T> for F {
    #[inline]
    fn classify(&mut self, item: &T) -> StreamItem {
        self(item)
    }
}

/// The classifier of [`Generation::track`]: every item is one output token.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct OneTokenPerItem;

impl<T> Classify<T> for OneTokenPerItem {
    #[inline]
    fn classify(&mut self, _: &T) -> StreamItem {
        StreamItem::Tokens(1)
    }
}

/// The series of one model, in one naming.
#[derive(Debug)]
struct Keys {
    ttft: Key,
    tpot: Key,
    duration: [Key; 4],
    usage_input: Key,
    usage_output: Key,
    tokens_input: Key,
    tokens_output: Key,
    running: Key,
    waiting: Key,
    cost_input: Key,
    cost_output: Key,
    cost_gpu: Key,
    gpu_seconds: Key,
}

impl Keys {
    fn build(naming: Naming, model: &SharedString, version: Option<&SharedString>) -> Self {
        // Metrics without a semantic-convention counterpart keep their names in both schemes.
        let key = |spec: &MetricSpec, extra: Option<&'static str>| {
            let naming = if spec.otel_name.is_some() {
                naming
            } else {
                Naming::Recwatch
            };
            let keys = spec.labels_in(naming);
            let mut labels = Vec::with_capacity(3);
            labels.push(Label::new(keys[0], model.clone()));
            if let Some(v) = version {
                labels.push(Label::new(keys[1], v.clone()));
            }
            if let (Some(extra), Some(&k)) = (extra, keys.get(2)) {
                labels.push(Label::from_static_parts(k, extra));
            }
            let name = spec.name_in(naming).unwrap_or(spec.name);
            Key::from_parts(name, labels)
        };
        let duration = Outcome::ALL.map(|o| {
            let extra = match (naming, o) {
                // `error.type` is only set on failures.
                (Naming::OpenTelemetry, Outcome::Ok) => None,
                _ => Some(o.as_str()),
            };
            key(&GENERATION_DURATION_SECONDS, extra)
        });
        Keys {
            ttft: key(&TIME_TO_FIRST_TOKEN_SECONDS, None),
            tpot: key(&TIME_PER_OUTPUT_TOKEN_SECONDS, None),
            duration,
            usage_input: key(&TOKEN_USAGE, Some("input")),
            usage_output: key(&TOKEN_USAGE, Some("output")),
            tokens_input: key(&TOKENS_TOTAL, Some("input")),
            tokens_output: key(&TOKENS_TOTAL, Some("output")),
            running: key(&REQUESTS_RUNNING, None),
            waiting: key(&REQUESTS_WAITING, None),
            cost_input: key(&COST_TOTAL, Some("input")),
            cost_output: key(&COST_TOTAL, Some("output")),
            cost_gpu: key(&COST_TOTAL, Some("gpu")),
            gpu_seconds: key(&GPU_SECONDS_TOTAL, None),
        }
    }
}

fn histogram(key: &Key, value: f64) {
    metrics::with_recorder(|r| r.register_histogram(key, &METADATA).record(value));
}

fn counter(key: &Key, n: u64) {
    metrics::with_recorder(|r| r.register_counter(key, &METADATA).increment(n));
}

fn gauge_add(key: &Key, delta: f64) {
    metrics::with_recorder(|r| r.register_gauge(key, &METADATA).increment(delta));
}

#[derive(Clone)]
struct Config {
    name: SharedString,
    version: Option<SharedString>,
    naming: Naming,
    price: Option<ModelPrice>,
    gpus: u32,
    operation: &'static str,
    clock: Option<Clock>,
}

/// Busy-time bookkeeping for GPU-seconds: generations running and the last accrual instant.
#[derive(Debug, Default)]
struct Busy {
    running: u64,
    mark: Option<Instant>,
}

struct Inner {
    config: Config,
    keys: Keys,
    busy: Mutex<Busy>,
}

/// The label set, prices and GPU count of one generating model, built once and shared.
///
/// Cloning is cheap (one reference count). The `with_*` setters rebuild the metric keys:
/// configure the tracker once at start-up, then call [`start`](Self::start) per request.
///
/// ```
/// use recwatch::catalogue::Naming;
/// use recwatch::inference::GenerationTracker;
///
/// let tracker = GenerationTracker::new("explainer")
///     .with_version("2025-01")
///     .with_naming(Naming::OpenTelemetry)
///     .with_gpus(2);
/// assert_eq!(tracker.name(), "explainer");
/// assert_eq!(tracker.version(), Some("2025-01"));
/// ```
#[derive(Clone)]
#[must_use]
pub struct GenerationTracker {
    inner: Arc<Inner>,
}

impl fmt::Debug for GenerationTracker {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let c = &self.inner.config;
        f.debug_struct("GenerationTracker")
            .field("name", &&*c.name)
            .field("version", &c.version.as_deref())
            .field("naming", &c.naming)
            .field("price", &c.price)
            .field("gpus", &c.gpus)
            .field("operation", &c.operation)
            .finish_non_exhaustive()
    }
}

impl GenerationTracker {
    /// A tracker for the model named `name` (the `model` label; a fixed, low-cardinality name,
    /// never user input), with recwatch's naming, no version, no price and no GPUs.
    pub fn new(name: impl Into<SharedString>) -> Self {
        Self::from_config(Config {
            name: name.into(),
            version: None,
            naming: Naming::Recwatch,
            price: None,
            gpus: 0,
            operation: DEFAULT_OPERATION,
            clock: None,
        })
    }

    fn from_config(config: Config) -> Self {
        let keys = Keys::build(config.naming, &config.name, config.version.as_ref());
        GenerationTracker {
            inner: Arc::new(Inner {
                config,
                keys,
                busy: Mutex::new(Busy::default()),
            }),
        }
    }

    fn map(self, f: impl FnOnce(&mut Config)) -> Self {
        let mut config = self.inner.config.clone();
        f(&mut config);
        Self::from_config(config)
    }

    /// Sets the `model_version` label. Defaults to none.
    pub fn with_version(self, version: impl Into<SharedString>) -> Self {
        let version = version.into();
        self.map(|c| c.version = Some(version))
    }

    /// Chooses the metric and label names. Defaults to [`Naming::Recwatch`].
    pub fn with_naming(self, naming: Naming) -> Self {
        self.map(|c| c.naming = naming)
    }

    /// Sets the prices that turn usage into `model_cost_total`. Defaults to none (no cost
    /// series).
    pub fn with_price(self, price: ModelPrice) -> Self {
        self.map(|c| c.price = Some(price))
    }

    /// Takes this model's price from `table`, if it has one; otherwise leaves the price as it
    /// was. Defaults to none.
    pub fn with_prices(self, table: &PriceTable) -> Self {
        match table.price(&self.inner.config.name).copied() {
            Some(price) => self.with_price(price),
            None => self,
        }
    }

    /// Sets how many GPUs this model occupies, for `model_gpu_seconds_total` and the GPU-second
    /// price. Defaults to 0 (no GPU time is attributed).
    pub fn with_gpus(self, gpus: u32) -> Self {
        self.map(|c| c.gpus = gpus)
    }

    /// Sets the span's `gen_ai.operation.name` (`chat`, `text_completion`, …). Defaults to
    /// [`DEFAULT_OPERATION`].
    pub fn with_operation(self, operation: &'static str) -> Self {
        self.map(|c| c.operation = operation)
    }

    /// Uses `clock` instead of the process clock (tests drive a `quanta::Clock::mock()`).
    /// Defaults to the process clock.
    #[cfg(test)]
    pub(crate) fn with_clock(self, clock: Clock) -> Self {
        self.map(|c| c.clock = Some(clock))
    }

    /// The `model` label value.
    pub fn name(&self) -> &str {
        &self.inner.config.name
    }

    /// The `model_version` label value, if any.
    pub fn version(&self) -> Option<&str> {
        self.inner.config.version.as_deref()
    }

    #[inline]
    fn now(&self) -> Instant {
        match &self.inner.config.clock {
            Some(clock) => clock.now(),
            None => Instant::now(),
        }
    }

    /// Starts one generation now: `model_requests_running` goes up until it ends.
    pub fn start(&self) -> Generation {
        let now = self.now();
        self.enter_running(now);
        Generation::new(self.clone(), now, false)
    }

    /// Starts one generation that first waits in a queue: `model_requests_waiting` goes up until
    /// [`QueuedGeneration::start`]. Its time to first token and duration count from now.
    pub fn enqueue(&self) -> QueuedGeneration {
        let now = self.now();
        gauge_add(&self.inner.keys.waiting, 1.0);
        QueuedGeneration {
            generation: Generation::new(self.clone(), now, true),
        }
    }

    /// Starts a generation and wraps `stream` with it (every item one output token). See
    /// [`Generation::track`].
    pub fn track<S: Stream>(&self, stream: S) -> TrackedStream<S, OneTokenPerItem> {
        self.start().track(stream)
    }

    fn enter_running(&self, now: Instant) {
        gauge_add(&self.inner.keys.running, 1.0);
        self.accrue_busy(now, 1);
    }

    fn leave_running(&self, now: Instant) {
        gauge_add(&self.inner.keys.running, -1.0);
        self.accrue_busy(now, -1);
    }

    /// Adds the busy time since the last mark to the GPU-seconds (when GPUs are configured),
    /// then changes the running count by `delta`.
    fn accrue_busy(&self, now: Instant, delta: i8) {
        let config = &self.inner.config;
        if config.gpus == 0 {
            return;
        }
        let busy_seconds = {
            let mut busy = self
                .inner
                .busy
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            let seconds = match busy.mark {
                Some(mark) if busy.running > 0 => now.saturating_duration_since(mark).as_secs_f64(),
                _ => 0.0,
            };
            busy.mark = Some(now);
            busy.running = if delta > 0 {
                busy.running + 1
            } else {
                busy.running.saturating_sub(1)
            };
            seconds
        };
        if busy_seconds > 0.0 {
            let gpu_seconds = busy_seconds * f64::from(config.gpus);
            let keys = &self.inner.keys;
            gauge_add(&keys.gpu_seconds, gpu_seconds);
            if let Some(price) = config.price {
                gauge_add(&keys.cost_gpu, gpu_seconds * price.gpu_second);
            }
        }
    }
}

/// A generation waiting in a queue, from [`GenerationTracker::enqueue`].
///
/// [`start`](Self::start) it when its turn comes; dropped before that, it is recorded as a
/// `cancelled` generation with no tokens.
#[derive(Debug)]
#[must_use = "a queued generation records `cancelled` when dropped without starting"]
pub struct QueuedGeneration {
    generation: Generation,
}

impl QueuedGeneration {
    /// Leaves the queue (`model_requests_waiting` down, `model_requests_running` up) and
    /// returns the running generation.
    pub fn start(self) -> Generation {
        let QueuedGeneration { mut generation } = self;
        let tracker = generation.tracker.clone();
        gauge_add(&tracker.inner.keys.waiting, -1.0);
        tracker.enter_running(tracker.now());
        generation.queued = false;
        generation
    }
}

/// One generation: a guard that records it exactly once (see the [module docs](self)).
///
/// Finish it with [`finish`](Self::finish), or hand it a stream with [`track`](Self::track).
/// Dropped unfinished, it records [`Outcome::Cancelled`], or [`Outcome::Panic`] while
/// unwinding.
#[must_use = "a generation records `cancelled` when dropped without finishing"]
pub struct Generation {
    tracker: GenerationTracker,
    start: Instant,
    first_token: Option<Instant>,
    input_tokens: u64,
    output_tokens: u64,
    failed: bool,
    finish_reason: Option<FinishReason>,
    queued: bool,
    done: bool,
    /// Set while a wrapped stream is polled: a drop that finds it set follows a panic in
    /// `poll_next`, even when the panic was caught before the drop.
    in_poll: bool,
    #[cfg(feature = "telemetry")]
    span: tracing::Span,
}

impl fmt::Debug for Generation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Generation")
            .field("model", &self.tracker.name())
            .field("input_tokens", &self.input_tokens)
            .field("output_tokens", &self.output_tokens)
            .field("done", &self.done)
            .finish_non_exhaustive()
    }
}

impl Generation {
    fn new(tracker: GenerationTracker, start: Instant, queued: bool) -> Self {
        #[cfg(feature = "telemetry")]
        let span = {
            let c = &tracker.inner.config;
            let span = tracing::info_span!(
                target: "recwatch::generation",
                "generation",
                otel.name = tracing::field::Empty,
                gen_ai.operation.name = c.operation,
                gen_ai.request.model = &*c.name,
                model_version = c.version.as_deref(),
                gen_ai.usage.input_tokens = tracing::field::Empty,
                gen_ai.usage.output_tokens = tracing::field::Empty,
                error.type = tracing::field::Empty,
                otel.status_code = tracing::field::Empty,
                outcome = tracing::field::Empty,
            );
            if !span.is_disabled() {
                span.record("otel.name", format!("{} {}", c.operation, c.name));
            }
            span
        };
        Generation {
            tracker,
            start,
            first_token: None,
            input_tokens: 0,
            output_tokens: 0,
            failed: false,
            finish_reason: None,
            queued,
            done: false,
            in_poll: false,
            #[cfg(feature = "telemetry")]
            span,
        }
    }

    /// Sets the input (prompt) token count. Defaults to 0.
    pub fn with_input_tokens(mut self, tokens: u64) -> Self {
        self.input_tokens = tokens;
        self
    }

    /// Adds input tokens (prompts assembled in pieces).
    pub fn add_input_tokens(&mut self, tokens: u64) {
        self.input_tokens = self.input_tokens.saturating_add(tokens);
    }

    /// Adds output tokens as they are produced. The first non-zero call records the time to
    /// first token.
    #[inline]
    pub fn add_output_tokens(&mut self, tokens: u64) {
        if tokens == 0 {
            return;
        }
        if self.output_tokens == 0 {
            self.first_token_now();
        }
        self.output_tokens = self.output_tokens.saturating_add(tokens);
    }

    #[cold]
    fn first_token_now(&mut self) {
        let now = self.tracker.now();
        self.first_token = Some(now);
        histogram(
            &self.tracker.inner.keys.ttft,
            now.saturating_duration_since(self.start).as_secs_f64(),
        );
    }

    /// Marks the generation failed: it ends as [`Outcome::Error`] unless finished otherwise.
    pub fn mark_failed(&mut self) {
        self.failed = true;
    }

    /// Records why the model stopped (the span's `gen_ai.response.finish_reasons`). Defaults
    /// to [`FinishReason::Stop`] for `ok` and [`FinishReason::Error`] for `error`.
    pub fn record_finish_reason(&mut self, reason: FinishReason) {
        self.finish_reason = Some(reason);
    }

    /// Input tokens so far.
    pub fn input_tokens(&self) -> u64 {
        self.input_tokens
    }

    /// Output tokens so far.
    pub fn output_tokens(&self) -> u64 {
        self.output_tokens
    }

    /// Time from the start to the first output token, once there is one.
    pub fn time_to_first_token(&self) -> Option<Duration> {
        self.first_token
            .map(|t| t.saturating_duration_since(self.start))
    }

    /// The tracing span of this generation (feature `telemetry`), to attach events or more
    /// attributes while it runs (a disabled span once the generation has ended).
    #[cfg(feature = "telemetry")]
    pub fn span(&self) -> &tracing::Span {
        &self.span
    }

    /// Ends the generation with `outcome` and records it. Returns its duration.
    pub fn finish(mut self, outcome: Outcome) -> Duration {
        self.record(outcome)
    }

    /// Wraps `stream`: every item is one output token. See [`TrackedStream`].
    pub fn track<S: Stream>(self, stream: S) -> TrackedStream<S, OneTokenPerItem> {
        self.wrap(stream, OneTokenPerItem)
    }

    /// Wraps `stream`, classifying each item with `classify` (its token count, or an error).
    ///
    /// ```
    /// use recwatch::inference::{GenerationTracker, StreamItem};
    /// # struct Chunks;
    /// # impl futures_core::Stream for Chunks {
    /// #     type Item = Result<Vec<u32>, std::io::Error>;
    /// #     fn poll_next(
    /// #         self: std::pin::Pin<&mut Self>,
    /// #         _: &mut std::task::Context<'_>,
    /// #     ) -> std::task::Poll<Option<Self::Item>> {
    /// #         std::task::Poll::Ready(None)
    /// #     }
    /// # }
    ///
    /// // Items are chunks of token ids, or errors.
    /// let tracker = GenerationTracker::new("chat");
    /// let tracked = tracker.start().track_with(Chunks, |item| match item {
    ///     Ok(ids) => StreamItem::Tokens(ids.len() as u64),
    ///     Err(_) => StreamItem::Error,
    /// });
    /// # drop(tracked);
    /// ```
    pub fn track_with<S, F>(self, stream: S, classify: F) -> TrackedStream<S, F>
    where
        S: Stream,
        F: FnMut(&S::Item) -> StreamItem,
    {
        self.wrap(stream, classify)
    }

    fn wrap<S, F>(self, stream: S, classify: F) -> TrackedStream<S, F> {
        TrackedStream {
            inner: stream,
            classify,
            generation: self,
        }
    }

    fn record(&mut self, outcome: Outcome) -> Duration {
        self.done = true;
        let tracker = self.tracker.clone();
        let inner = &tracker.inner;
        let keys = &inner.keys;
        let now = tracker.now();
        let elapsed = now.saturating_duration_since(self.start);
        let (input, output) = (self.input_tokens, self.output_tokens);
        histogram(&keys.usage_input, tokens_f64(input));
        histogram(&keys.usage_output, tokens_f64(output));
        counter(&keys.tokens_input, input);
        counter(&keys.tokens_output, output);
        if let (Outcome::Ok, Some(first), true) = (outcome, self.first_token, output >= 2) {
            let after_first = now.saturating_duration_since(first).as_secs_f64();
            histogram(&keys.tpot, after_first / tokens_f64(output - 1));
        }
        if let Some(price) = inner.config.price {
            gauge_add(
                &keys.cost_input,
                tokens_f64(input) / 1000.0 * price.input_per_1k,
            );
            gauge_add(
                &keys.cost_output,
                tokens_f64(output) / 1000.0 * price.output_per_1k,
            );
        }
        if self.queued {
            gauge_add(&keys.waiting, -1.0);
        } else {
            tracker.leave_running(now);
        }
        // Last: a reader that sees this generation's duration sees its tokens and cost too.
        histogram(&keys.duration[outcome.index()], elapsed.as_secs_f64());
        #[cfg(feature = "telemetry")]
        {
            self.record_span(outcome);
            // The generation is over: its span ends now, not when the stream is dropped.
            self.span = tracing::Span::none();
        }
        elapsed
    }

    #[cfg(feature = "telemetry")]
    fn record_span(&self, outcome: Outcome) {
        use tracing_opentelemetry::OpenTelemetrySpanExt as _;
        let span = &self.span;
        if span.is_disabled() {
            return;
        }
        // As signed integers: OpenTelemetry has no unsigned attribute type.
        let signed = |n: u64| i64::try_from(n).unwrap_or(i64::MAX);
        span.record("gen_ai.usage.input_tokens", signed(self.input_tokens));
        span.record("gen_ai.usage.output_tokens", signed(self.output_tokens));
        span.record("outcome", outcome.as_str());
        if outcome != Outcome::Ok {
            span.record("error.type", outcome.as_str());
        }
        if matches!(outcome, Outcome::Error | Outcome::Panic) {
            span.record("otel.status_code", "error");
        }
        let reason = self.finish_reason.or(match outcome {
            Outcome::Ok => Some(FinishReason::Stop),
            Outcome::Error => Some(FinishReason::Error),
            _ => None,
        });
        if let Some(reason) = reason {
            span.set_attribute(
                "gen_ai.response.finish_reasons",
                opentelemetry::Value::Array(opentelemetry::Array::String(vec![reason
                    .as_str()
                    .into()])),
            );
        }
    }

    fn end_of_stream(&mut self) {
        if !self.done {
            let outcome = if self.failed {
                Outcome::Error
            } else {
                Outcome::Ok
            };
            self.record(outcome);
        }
    }
}

impl Drop for Generation {
    fn drop(&mut self) {
        if !self.done {
            let outcome = if self.in_poll || std::thread::panicking() {
                Outcome::Panic
            } else if self.failed {
                // Dropped after a failure was reported: still an error, not a hang-up.
                Outcome::Error
            } else {
                Outcome::Cancelled
            };
            self.record(outcome);
        }
    }
}

pin_project! {
    /// A stream wrapped by [`Generation::track`] or [`Generation::track_with`].
    ///
    /// Passes every item through unchanged, adding its tokens to the generation; when the inner
    /// stream ends, the generation is recorded (`ok`, or `error` if an item was classified
    /// [`StreamItem::Error`]). Dropped before the end, it records `cancelled` with the tokens
    /// so far; a panic inside the inner stream's `poll_next` records `panic`. Once ended, it
    /// yields `None` without polling the inner stream again.
    pub struct TrackedStream<S, F> {
        #[pin]
        inner: S,
        classify: F,
        generation: Generation,
    }
}

impl<S, F> fmt::Debug for TrackedStream<S, F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TrackedStream")
            .field("generation", &self.generation)
            .finish_non_exhaustive()
    }
}

impl<S, F> TrackedStream<S, F> {
    /// The generation being tracked (token counts so far, finish reason).
    pub fn generation_mut(self: Pin<&mut Self>) -> &mut Generation {
        self.project().generation
    }

    /// The generation being tracked.
    pub fn generation(&self) -> &Generation {
        &self.generation
    }
}

impl<S, F> Stream for TrackedStream<S, F>
where
    S: Stream,
    F: Classify<S::Item>,
{
    type Item = S::Item;

    #[inline]
    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<S::Item>> {
        let this = self.project();
        let generation = this.generation;
        if generation.done {
            return Poll::Ready(None);
        }
        generation.in_poll = true;
        let polled = this.inner.poll_next(cx);
        generation.in_poll = false;
        match polled {
            Poll::Ready(Some(item)) => {
                match this.classify.classify(&item) {
                    StreamItem::Tokens(n) => generation.add_output_tokens(n),
                    StreamItem::Error => generation.failed = true,
                }
                Poll::Ready(Some(item))
            }
            Poll::Ready(None) => {
                generation.end_of_stream();
                Poll::Ready(None)
            }
            Poll::Pending => Poll::Pending,
        }
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        if self.generation.done {
            (0, Some(0))
        } else {
            self.inner.size_hint()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use metrics_util::debugging::{DebugValue, DebuggingRecorder, Snapshotter};
    use std::task::Waker;

    /// (name, sorted labels) → value: counter/gauge as f64, histogram as its observations.
    fn snapshot(snapshotter: &Snapshotter) -> HashMap<(String, Vec<String>), Vec<f64>> {
        snapshotter
            .snapshot()
            .into_vec()
            .into_iter()
            .map(|(ck, _, _, value)| {
                let key = ck.key();
                let mut labels: Vec<String> = key
                    .labels()
                    .map(|l| format!("{}={}", l.key(), l.value()))
                    .collect();
                labels.sort();
                let values = match value {
                    DebugValue::Counter(c) => vec![tokens_f64(c)],
                    DebugValue::Gauge(g) => vec![g.into_inner()],
                    DebugValue::Histogram(h) => h.into_iter().map(|v| v.into_inner()).collect(),
                };
                ((key.name().to_owned(), labels), values)
            })
            .collect()
    }

    fn get<'a>(
        s: &'a HashMap<(String, Vec<String>), Vec<f64>>,
        name: &str,
        labels: &[&str],
    ) -> &'a [f64] {
        let mut labels: Vec<String> = labels.iter().map(|l| (*l).to_owned()).collect();
        labels.sort();
        s.get(&(name.to_owned(), labels.clone()))
            .map(Vec::as_slice)
            .unwrap_or_else(|| panic!("no {name} {labels:?} in {:#?}", s.keys()))
    }

    /// A stream of `n` words whose clock advances `step_ms` before each item.
    struct Words {
        left: u32,
        mock: Arc<quanta::Mock>,
        step: Duration,
        panic_at: Option<u32>,
    }

    impl Stream for Words {
        type Item = &'static str;
        fn poll_next(mut self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<Option<Self::Item>> {
            if self.left == 0 {
                return Poll::Ready(None);
            }
            if self.panic_at == Some(self.left) {
                panic!("generator failed");
            }
            self.left -= 1;
            self.mock.increment(self.step);
            Poll::Ready(Some("word"))
        }
    }

    fn poll_n<S: Stream + Unpin>(s: &mut S, n: usize) -> usize {
        let mut cx = Context::from_waker(Waker::noop());
        let mut got = 0;
        for _ in 0..n {
            match Pin::new(&mut *s).poll_next(&mut cx) {
                Poll::Ready(Some(_)) => got += 1,
                _ => break,
            }
        }
        got
    }

    #[test]
    fn controlled_clock_gives_exact_ttft_tpot_duration_tokens_and_cost() {
        let recorder = DebuggingRecorder::new();
        let snapshotter = recorder.snapshotter();
        let (clock, mock) = Clock::mock();
        metrics::with_local_recorder(&recorder, || {
            let tracker = GenerationTracker::new("explainer")
                .with_clock(clock)
                .with_price(
                    ModelPrice::new()
                        .with_input_per_1k(2.0)
                        .unwrap()
                        .with_output_per_1k(10.0)
                        .unwrap(),
                );
            let generation = tracker.start().with_input_tokens(100);
            // 50 ms queueing/prefill before the first token, then 10 ms per token.
            mock.increment(Duration::from_millis(40));
            let words = Words {
                left: 5,
                mock: mock.clone(),
                step: Duration::from_millis(10),
                panic_at: None,
            };
            let mut stream = generation.track(words);
            assert_eq!(poll_n(&mut stream, 10), 5);
            assert!(stream.generation().done);
        });
        let s = snapshot(&snapshotter);
        let m = "model=explainer";
        assert_eq!(get(&s, "model_time_to_first_token_seconds", &[m]), [0.05]);
        // 4 tokens after the first, 40 ms after it: 10 ms each.
        let tpot = get(&s, "model_time_per_output_token_seconds", &[m]);
        assert_eq!(tpot.len(), 1);
        assert!((tpot[0] - 0.01).abs() < 1e-12, "{tpot:?}");
        let d = get(&s, "model_generation_duration_seconds", &[m, "outcome=ok"]);
        assert!((d[0] - 0.09).abs() < 1e-12, "{d:?}");
        assert_eq!(get(&s, "model_tokens_total", &[m, "type=input"]), [100.0]);
        assert_eq!(get(&s, "model_tokens_total", &[m, "type=output"]), [5.0]);
        assert_eq!(get(&s, "model_token_usage", &[m, "type=output"]), [5.0]);
        assert_eq!(get(&s, "model_token_usage", &[m, "type=input"]), [100.0]);
        assert_eq!(get(&s, "model_requests_running", &[m]), [0.0]);
        assert!((get(&s, "model_cost_total", &[m, "type=input"])[0] - 0.2).abs() < 1e-12);
        assert!((get(&s, "model_cost_total", &[m, "type=output"])[0] - 0.05).abs() < 1e-12);
        // No GPUs configured: no GPU time claimed.
        assert!(!s.keys().any(|(n, _)| n == "model_gpu_seconds_total"));
    }

    #[test]
    fn dropped_stream_is_cancelled_with_tokens_so_far() {
        let recorder = DebuggingRecorder::new();
        let snapshotter = recorder.snapshotter();
        let (clock, mock) = Clock::mock();
        metrics::with_local_recorder(&recorder, || {
            let tracker = GenerationTracker::new("m").with_clock(clock);
            let words = Words {
                left: 10,
                mock,
                step: Duration::from_millis(1),
                panic_at: None,
            };
            let mut stream = tracker.track(words);
            assert_eq!(poll_n(&mut stream, 3), 3);
            drop(stream);
        });
        let s = snapshot(&snapshotter);
        assert_eq!(
            get(
                &s,
                "model_generation_duration_seconds",
                &["model=m", "outcome=cancelled"]
            )
            .len(),
            1
        );
        assert_eq!(
            get(&s, "model_tokens_total", &["model=m", "type=output"]),
            [3.0]
        );
        assert_eq!(
            get(&s, "model_time_to_first_token_seconds", &["model=m"]).len(),
            1
        );
        // Not a successful generation: no time per output token.
        assert!(!s
            .keys()
            .any(|(n, _)| n == "model_time_per_output_token_seconds"));
        assert_eq!(get(&s, "model_requests_running", &["model=m"]), [0.0]);
    }

    #[test]
    fn panic_in_poll_is_panic_even_when_caught_before_the_drop() {
        let recorder = DebuggingRecorder::new();
        let snapshotter = recorder.snapshotter();
        let (clock, mock) = Clock::mock();
        metrics::with_local_recorder(&recorder, || {
            let tracker = GenerationTracker::new("m").with_clock(clock);
            let mut stream = tracker.track(Words {
                left: 5,
                mock,
                step: Duration::from_millis(1),
                panic_at: Some(3),
            });
            let caught =
                std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| poll_n(&mut stream, 10)));
            assert!(caught.is_err());
            // Dropped after the panic was caught, as an executor does.
            drop(stream);
        });
        let s = snapshot(&snapshotter);
        assert_eq!(
            get(
                &s,
                "model_generation_duration_seconds",
                &["model=m", "outcome=panic"]
            )
            .len(),
            1
        );
        assert_eq!(
            get(&s, "model_tokens_total", &["model=m", "type=output"]),
            [2.0]
        );
    }

    #[test]
    fn error_items_queue_gauges_gpu_seconds_and_otel_names() {
        let recorder = DebuggingRecorder::new();
        let snapshotter = recorder.snapshotter();
        let (clock, mock) = Clock::mock();
        metrics::with_local_recorder(&recorder, || {
            let tracker = GenerationTracker::new("llm")
                .with_version("v2")
                .with_naming(Naming::OpenTelemetry)
                .with_gpus(2)
                .with_price(ModelPrice::new().with_gpu_second(0.5).unwrap())
                .with_clock(clock);
            let queued = tracker.enqueue();
            mock.increment(Duration::from_secs(1));
            let first = queued.start();
            mock.increment(Duration::from_secs(1));
            // A second generation overlaps the first: busy time is not counted twice.
            let mut second = tracker.start();
            mock.increment(Duration::from_secs(1));
            drop(first);
            mock.increment(Duration::from_secs(1));
            second.add_output_tokens(3);
            second.mark_failed();
            second.finish(Outcome::Error);
            // Idle time is not GPU time.
            mock.increment(Duration::from_secs(10));
            drop(tracker.enqueue());
        });
        let s = snapshot(&snapshotter);
        let (m, v) = ("gen_ai_request_model=llm", "model_version=v2");
        // Busy from 1 s to 4 s: 3 s × 2 GPUs.
        assert_eq!(get(&s, "model_gpu_seconds_total", &["model=llm", v]), [6.0]);
        assert_eq!(
            get(&s, "model_cost_total", &["model=llm", v, "type=gpu"]),
            [3.0]
        );
        assert_eq!(get(&s, "model_requests_waiting", &["model=llm", v]), [0.0]);
        assert_eq!(get(&s, "model_requests_running", &["model=llm", v]), [0.0]);
        let d = "gen_ai_server_request_duration_seconds";
        assert_eq!(get(&s, d, &[m, v, "error_type=cancelled"]), [3.0, 0.0]);
        assert_eq!(get(&s, d, &[m, v, "error_type=error"]), [2.0]);
        assert_eq!(
            get(
                &s,
                "gen_ai_client_token_usage",
                &[m, v, "gen_ai_token_type=output"]
            ),
            [0.0, 3.0, 0.0]
        );
        assert_eq!(
            get(&s, "gen_ai_server_time_to_first_token_seconds", &[m, v]),
            [2.0]
        );
        assert_eq!(
            get(&s, "model_tokens_total", &["model=llm", v, "type=output"]),
            [3.0]
        );
    }

    #[test]
    fn price_table_validates_and_applies() {
        let table = PriceTable::from_json(r#"{"a": {"output_per_1k": 3}, "b": {}}"#).unwrap();
        assert_eq!(table.price("a").unwrap().output_per_1k(), 3.0);
        assert_eq!(table.price("b"), Some(&ModelPrice::new()));
        let tracker = GenerationTracker::new("a").with_prices(&table);
        assert_eq!(tracker.inner.config.price.unwrap().output_per_1k(), 3.0);
        assert!(GenerationTracker::new("z")
            .with_prices(&table)
            .inner
            .config
            .price
            .is_none());
        let err = PriceTable::from_json(r#"{"a": {"gpu_second": -2}}"#).unwrap_err();
        assert!(matches!(err, GenerationError::ModelPrice { ref model, .. } if model == "a"));
        assert!(std::error::Error::source(&err)
            .unwrap()
            .to_string()
            .contains("gpu_second"));
        assert!(matches!(
            PriceTable::from_json(r#"{"a": {"input": 1}}"#),
            Err(GenerationError::PriceTableJson(_))
        ));
        assert!(ModelPrice::new().with_output_per_1k(f64::NAN).is_err());
    }
}
