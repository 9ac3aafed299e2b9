//! Metrics of the drift monitor (`recwatch::drift::DriftMonitor`).
//!
//! The `feature` label is a column name of the operator's reference frame, so its values are
//! bounded by that schema (never by traffic); `stattest` is one of the six test names; `role`
//! is `target` or `prediction`.

use super::{MetricKind::*, MetricSpec, MetricUnit};

const FEATURE_LABELS: &[&str] = &["feature", "stattest"];
const ROLE_LABELS: &[&str] = &["role", "stattest"];

/// `recommendation_drift_score`: share of drifted feature columns in the last check (gauge,
/// 0–1).
pub const DRIFT_SCORE: MetricSpec = MetricSpec::new(
    "recommendation_drift_score",
    Gauge,
    MetricUnit::Ratio,
    "drift",
    "Share of feature columns found drifted in the last drift check (0-1).",
);

/// `recommendation_feature_drift_score`: one feature's drift score in the last check (gauge;
/// feature, stattest): the p-value for tests, the distance for distances.
pub const FEATURE_DRIFT_SCORE: MetricSpec = MetricSpec::new(
    "recommendation_feature_drift_score",
    Gauge,
    MetricUnit::None,
    "drift",
    "Drift score of one feature in the last drift check: p-value for tests (ks, chisquare, z), distance for distances.",
)
.labels(FEATURE_LABELS);

/// `recommendation_feature_drift_detected`: whether one feature drifted in the last check
/// (gauge, 0 or 1; feature, stattest).
pub const FEATURE_DRIFT_DETECTED: MetricSpec = MetricSpec::new(
    "recommendation_feature_drift_detected",
    Gauge,
    MetricUnit::None,
    "drift",
    "1 when the feature drifted in the last drift check, else 0.",
)
.labels(FEATURE_LABELS);

/// `recommendation_target_drift_score`: drift score of the target or the prediction in the
/// last check (gauge; role, stattest).
pub const TARGET_DRIFT_SCORE: MetricSpec = MetricSpec::new(
    "recommendation_target_drift_score",
    Gauge,
    MetricUnit::None,
    "drift",
    "Drift score of the target or prediction column in the last drift check.",
)
.labels(ROLE_LABELS);

/// `recommendation_target_drift_detected`: whether the target or the prediction drifted in
/// the last check (gauge, 0 or 1; role, stattest).
pub const TARGET_DRIFT_DETECTED: MetricSpec = MetricSpec::new(
    "recommendation_target_drift_detected",
    Gauge,
    MetricUnit::None,
    "drift",
    "1 when the target or prediction column drifted in the last drift check, else 0.",
)
.labels(ROLE_LABELS);

/// `recommendation_drift_checks_total`: drift checks run (counter; outcome = `drift`,
/// `no_drift`, `error`).
pub const DRIFT_CHECKS_TOTAL: MetricSpec = MetricSpec::new(
    "recommendation_drift_checks_total",
    Counter,
    MetricUnit::None,
    "drift",
    "Drift checks run, by outcome (drift, no_drift, error).",
)
.labels(&["outcome"]);

/// `recommendation_drift_notifications_total`: drift alerts handed to a notifier (counter;
/// notifier, outcome = `sent`, `failed` after every retry, `dropped` when the queue was full).
pub const DRIFT_NOTIFICATIONS_TOTAL: MetricSpec = MetricSpec::new(
    "recommendation_drift_notifications_total",
    Counter,
    MetricUnit::None,
    "drift",
    "Drift alerts by notifier and outcome (sent, failed after all retries, dropped).",
)
.labels(&["notifier", "outcome"]);

/// `recommendation_drift_notification_retries_total`: notification attempts that failed and
/// were retried (counter; notifier).
pub const DRIFT_NOTIFICATION_RETRIES_TOTAL: MetricSpec = MetricSpec::new(
    "recommendation_drift_notification_retries_total",
    Counter,
    MetricUnit::None,
    "drift",
    "Failed drift-alert deliveries that were retried, by notifier.",
)
.labels(&["notifier"]);

/// `recommendation_drift_window_rows`: rows in the monitor's current window (gauge).
pub const DRIFT_WINDOW_ROWS: MetricSpec = MetricSpec::new(
    "recommendation_drift_window_rows",
    Gauge,
    MetricUnit::None,
    "drift",
    "Rows of recent traffic in the drift monitor's window.",
);

pub(super) const SPECS: &[MetricSpec] = &[
    DRIFT_SCORE,
    FEATURE_DRIFT_SCORE,
    FEATURE_DRIFT_DETECTED,
    TARGET_DRIFT_SCORE,
    TARGET_DRIFT_DETECTED,
    DRIFT_CHECKS_TOTAL,
    DRIFT_NOTIFICATIONS_TOTAL,
    DRIFT_NOTIFICATION_RETRIES_TOTAL,
    DRIFT_WINDOW_ROWS,
];
