//! Metrics of the experiment-tracking worker (`recwatch::tracking`).

use super::{MetricKind::*, MetricSpec, MetricUnit};

/// `recwatch_tracking_requests_total`: requests the tracking worker sent to the tracking server
/// (counter; `outcome`: `ok`, `retried`, `failed`).
pub const TRACKING_REQUESTS_TOTAL: MetricSpec = MetricSpec::new(
    "recwatch_tracking_requests_total",
    Counter,
    MetricUnit::None,
    "tracking",
    "Requests sent by the experiment-tracking worker, by outcome.",
)
.labels(&["outcome"]);

/// `recwatch_tracking_journaled_total`: operations written to the on-disk journal because the
/// server could not take them (counter).
pub const TRACKING_JOURNALED_TOTAL: MetricSpec = MetricSpec::new(
    "recwatch_tracking_journaled_total",
    Counter,
    MetricUnit::None,
    "tracking",
    "Tracking operations written to the on-disk journal while the server was unreachable.",
);

/// `recwatch_tracking_replayed_total`: journaled operations later delivered to the server
/// (counter).
pub const TRACKING_REPLAYED_TOTAL: MetricSpec = MetricSpec::new(
    "recwatch_tracking_replayed_total",
    Counter,
    MetricUnit::None,
    "tracking",
    "Journaled tracking operations delivered to the server after it came back.",
);

/// `recwatch_tracking_dropped_total`: logging calls refused because the worker's bounded queue
/// was full (counter). Each refusal is also returned to the caller as an error.
pub const TRACKING_DROPPED_TOTAL: MetricSpec = MetricSpec::new(
    "recwatch_tracking_dropped_total",
    Counter,
    MetricUnit::None,
    "tracking",
    "Tracking calls refused because the worker queue was full (the caller got an error).",
);

/// `recwatch_tracking_queue_depth`: operations waiting in the worker's queue (gauge).
pub const TRACKING_QUEUE_DEPTH: MetricSpec = MetricSpec::new(
    "recwatch_tracking_queue_depth",
    Gauge,
    MetricUnit::None,
    "tracking",
    "Tracking operations waiting in the worker queue.",
);

pub(super) const SPECS: &[MetricSpec] = &[
    TRACKING_REQUESTS_TOTAL,
    TRACKING_JOURNALED_TOTAL,
    TRACKING_REPLAYED_TOTAL,
    TRACKING_DROPPED_TOTAL,
    TRACKING_QUEUE_DEPTH,
];
