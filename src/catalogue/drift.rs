//! Metrics of the drift monitor (`recwatch::drift`).

use super::{MetricKind::*, MetricSpec, MetricUnit};

/// Labels of the per-feature drift gauges: the column and the statistical test applied to it.
const FEATURE_LABELS: &[&str] = &["feature", "stattest"];

/// `recommendation_drift_score`: share of drifted columns in the last drift check, 0-1 (gauge).
pub const DRIFT_SCORE: MetricSpec = MetricSpec::new(
    "recommendation_drift_score",
    Gauge,
    MetricUnit::Ratio,
    "drift",
    "Share of drifted columns in the last drift check, 0-1.",
);

/// `recommendation_feature_drift_score`: the drift statistic of one feature in the last check
/// (gauge; feature, stattest). `feature` takes the monitored frame's column names, a set fixed
/// by the monitor's configuration.
pub const FEATURE_DRIFT_SCORE: MetricSpec = MetricSpec::new(
    "recommendation_feature_drift_score",
    Gauge,
    MetricUnit::None,
    "drift",
    "Drift statistic of one feature in the last check (a p-value or a distance, per stattest).",
)
.labels(FEATURE_LABELS);

/// `recommendation_feature_drift_detected`: 1 if the feature drifted in the last check, else 0
/// (gauge; feature, stattest).
pub const FEATURE_DRIFT_DETECTED: MetricSpec = MetricSpec::new(
    "recommendation_feature_drift_detected",
    Gauge,
    MetricUnit::None,
    "drift",
    "1 if the feature drifted in the last check, else 0.",
)
.labels(FEATURE_LABELS);

pub(super) const SPECS: &[MetricSpec] = &[DRIFT_SCORE, FEATURE_DRIFT_SCORE, FEATURE_DRIFT_DETECTED];
