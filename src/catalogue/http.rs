//! Metrics of the HTTP layer (`recwatch::http`).

use super::{MetricKind::*, MetricSpec, MetricUnit, DEFAULT_REQUEST_BUCKETS};

const LABELS: &[&str] = &["method", "endpoint", "status"];
const OTEL_LABELS: &[&str] = &[
    "http_request_method",
    "http_route",
    "http_response_status_code",
];

/// `recommendation_requests_total`: HTTP requests handled (counter; method, endpoint, status).
pub const REQUESTS_TOTAL: MetricSpec = MetricSpec::new(
    "recommendation_requests_total",
    Counter,
    MetricUnit::None,
    "http",
    "HTTP requests handled, by route template and status.",
)
.labels(LABELS);

/// `recommendation_request_duration_seconds` / `http_server_request_duration_seconds`: HTTP
/// request latency (histogram; method, endpoint, status; exemplars link buckets to traces).
pub const REQUEST_DURATION_SECONDS: MetricSpec = MetricSpec::new(
    "recommendation_request_duration_seconds",
    Histogram,
    MetricUnit::Seconds,
    "http",
    "HTTP request latency in seconds, by route template and status.",
)
.labels(LABELS)
.otel("http_server_request_duration_seconds", OTEL_LABELS)
.buckets(DEFAULT_REQUEST_BUCKETS)
.exemplars();

/// `recommendation_requests_in_flight` / `http_server_active_requests`: requests being handled
/// (gauge; method, endpoint).
pub const REQUESTS_IN_FLIGHT: MetricSpec = MetricSpec::new(
    "recommendation_requests_in_flight",
    Gauge,
    MetricUnit::None,
    "http",
    "HTTP requests being handled right now.",
)
.labels(&["method", "endpoint"])
.otel(
    "http_server_active_requests",
    &["http_request_method", "http_route"],
);

/// `recommendation_active_users`: distinct users in the sliding window (gauge).
pub const ACTIVE_USERS: MetricSpec = MetricSpec::new(
    "recommendation_active_users",
    Gauge,
    MetricUnit::None,
    "active_users",
    "Distinct users seen in the sliding window (HyperLogLog estimate).",
);

pub(super) const SPECS: &[MetricSpec] = &[
    REQUESTS_TOTAL,
    REQUEST_DURATION_SECONDS,
    REQUESTS_IN_FLIGHT,
    ACTIVE_USERS,
];
