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

pub(super) const SPECS: &[MetricSpec] = &[QUALITY_SCORE];
