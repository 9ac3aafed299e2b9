//! Metrics of inference timing (`#[track_inference]`, `recwatch::inference`).

use super::{
    MetricKind::*, MetricSpec, MetricUnit, DEFAULT_BATCH_SIZE_BUCKETS, DEFAULT_INFERENCE_BUCKETS,
};

/// `model_inference_duration_seconds`: model call latency (histogram; model, outcome, and
/// `model_version` when the call site names one; exemplars link buckets to traces).
pub const INFERENCE_DURATION_SECONDS: MetricSpec = MetricSpec::new(
    "model_inference_duration_seconds",
    Histogram,
    MetricUnit::Seconds,
    "inference",
    "Model inference latency in seconds, by model and outcome.",
)
.labels(&["model", "model_version", "outcome"])
.buckets(DEFAULT_INFERENCE_BUCKETS)
.exemplars();

/// `model_inference_batch_size`: items per batched call (histogram; model, `model_version`).
pub const INFERENCE_BATCH_SIZE: MetricSpec = MetricSpec::new(
    "model_inference_batch_size",
    Histogram,
    MetricUnit::None,
    "inference",
    "Items per batched inference call.",
)
.labels(&["model", "model_version"])
.buckets(DEFAULT_BATCH_SIZE_BUCKETS);

pub(super) const SPECS: &[MetricSpec] = &[INFERENCE_DURATION_SECONDS, INFERENCE_BATCH_SIZE];
