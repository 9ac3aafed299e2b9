//! Metrics of recommendation quality (`recwatch::quality`): offline reports and online quality
//! from feedback.

use super::{MetricKind::*, MetricSpec, MetricUnit};

/// `recommendation_quality_score`: the headline quality metric (gauge, no labels).
///
/// Which metric is the headline is the publisher's choice (NDCG@k of an offline evaluation,
/// online hit rate of feedback, …); it is always "higher is better", so an alert such as
/// `LowRecommendationQuality` (`recommendation_quality_score < 0.7`) keeps one meaning.
pub const QUALITY_SCORE: MetricSpec = MetricSpec::new(
    "recommendation_quality_score",
    Gauge,
    MetricUnit::Ratio,
    "quality",
    "Headline recommendation quality (higher is better; which metric is configured by the publisher).",
);

/// `recommendation_quality_metric`: every quality metric of the last published report (gauge;
/// `metric`).
///
/// `metric` takes only the fixed names of `recwatch::quality::QualityMetric` (`rmse`, `mae`,
/// `ndcg_at_k`, `online_hit_rate`, …), so the series count is bounded by that list.
pub const QUALITY_METRIC: MetricSpec = MetricSpec::new(
    "recommendation_quality_metric",
    Gauge,
    MetricUnit::None,
    "quality",
    "Recommendation quality metrics of the last evaluation or the online window, by metric name.",
)
.labels(&["metric"]);

/// `recommendation_feedback_total`: feedback events received (counter; `kind`, `outcome`).
///
/// `kind` is `rating` or `click`; `outcome` is `recommended` (the item was among those
/// recommended to the user in the window), `not_recommended`, or `rejected` (invalid feedback).
pub const FEEDBACK_TOTAL: MetricSpec = MetricSpec::new(
    "recommendation_feedback_total",
    Counter,
    MetricUnit::None,
    "quality",
    "Feedback events received, by kind and whether the item had been recommended to the user.",
)
.labels(&["kind", "outcome"]);

/// `recommendation_feedback_window_users`: users whose recent recommendations are remembered
/// for joining feedback (gauge).
pub const FEEDBACK_WINDOW_USERS: MetricSpec = MetricSpec::new(
    "recommendation_feedback_window_users",
    Gauge,
    MetricUnit::None,
    "quality",
    "Users whose recent recommendations are held for joining feedback (bounded).",
);

pub(super) const SPECS: &[MetricSpec] = &[
    QUALITY_SCORE,
    QUALITY_METRIC,
    FEEDBACK_TOTAL,
    FEEDBACK_WINDOW_USERS,
];
