//! A set of quality values, published as gauges and logged to trackers.

use std::collections::BTreeMap;

use super::{QualityError, RankingMetrics, RatingMetrics};
use crate::catalogue::{QUALITY_METRIC, QUALITY_SCORE};

/// The fixed set of quality metric names (the values of the `metric` label of
/// `recommendation_quality_metric`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum QualityMetric {
    /// [`rmse`](super::rmse) (lower is better).
    Rmse,
    /// [`mae`](super::mae) (lower is better).
    Mae,
    /// [`prediction_variance`](super::prediction_variance).
    PredictionVariance,
    /// [`prediction_value_coverage`](super::prediction_value_coverage).
    PredictionValueCoverage,
    /// Mean precision@k.
    PrecisionAtK,
    /// Mean recall@k.
    RecallAtK,
    /// Mean NDCG@k.
    NdcgAtK,
    /// MAP@k.
    MapAtK,
    /// MRR@k.
    MrrAtK,
    /// Hit rate@k.
    HitRateAtK,
    /// [`catalogue_coverage`](super::catalogue_coverage).
    CatalogueCoverage,
    /// [`diversity`](super::diversity) (distinct / total recommended).
    Diversity,
    /// [`intra_list_diversity`](super::intra_list_diversity) by genre.
    IntraListDiversity,
    /// [`novelty`](super::novelty) (bits).
    Novelty,
    /// [`personalization`](super::personalization).
    Personalization,
    /// [`gini_exposure`](super::gini_exposure) (lower is more equal).
    GiniExposure,
    /// Online hit rate of positive feedback ([`OnlineQuality`](super::OnlineQuality)).
    OnlineHitRate,
    /// Online mean reciprocal rank of positively rated items.
    OnlineMrr,
}

impl QualityMetric {
    /// Every metric, in a stable order.
    pub const ALL: &'static [QualityMetric] = &[
        Self::Rmse,
        Self::Mae,
        Self::PredictionVariance,
        Self::PredictionValueCoverage,
        Self::PrecisionAtK,
        Self::RecallAtK,
        Self::NdcgAtK,
        Self::MapAtK,
        Self::MrrAtK,
        Self::HitRateAtK,
        Self::CatalogueCoverage,
        Self::Diversity,
        Self::IntraListDiversity,
        Self::Novelty,
        Self::Personalization,
        Self::GiniExposure,
        Self::OnlineHitRate,
        Self::OnlineMrr,
    ];

    /// The `metric` label value (`ndcg_at_k`, …).
    ///
    /// # Examples
    ///
    /// ```
    /// assert_eq!(recwatch::quality::QualityMetric::NdcgAtK.as_str(), "ndcg_at_k");
    /// ```
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Rmse => "rmse",
            Self::Mae => "mae",
            Self::PredictionVariance => "prediction_variance",
            Self::PredictionValueCoverage => "prediction_value_coverage",
            Self::PrecisionAtK => "precision_at_k",
            Self::RecallAtK => "recall_at_k",
            Self::NdcgAtK => "ndcg_at_k",
            Self::MapAtK => "map_at_k",
            Self::MrrAtK => "mrr_at_k",
            Self::HitRateAtK => "hit_rate_at_k",
            Self::CatalogueCoverage => "catalogue_coverage",
            Self::Diversity => "diversity",
            Self::IntraListDiversity => "intra_list_diversity",
            Self::Novelty => "novelty",
            Self::Personalization => "personalization",
            Self::GiniExposure => "gini_exposure",
            Self::OnlineHitRate => "online_hit_rate",
            Self::OnlineMrr => "online_mrr",
        }
    }

    /// A key for experiment trackers, with `k` spelled out (`ndcg_at_10`): MLflow rejects `@`.
    ///
    /// # Examples
    ///
    /// ```
    /// use recwatch::quality::QualityMetric;
    /// assert_eq!(QualityMetric::NdcgAtK.tracking_key(Some(10)), "ndcg_at_10");
    /// assert_eq!(QualityMetric::Rmse.tracking_key(Some(10)), "rmse");
    /// ```
    pub fn tracking_key(self, k: Option<usize>) -> String {
        match (self.as_str().strip_suffix("_at_k"), k) {
            (Some(stem), Some(k)) => format!("{stem}_at_{k}"),
            _ => self.as_str().to_owned(),
        }
    }
}

/// Quality values of one evaluation (or of the online window).
///
/// # Examples
///
/// ```
/// use recwatch::quality::{QualityMetric, QualityReport, RatingMetrics};
///
/// let rating = RatingMetrics::compute(&[4.0, 3.0], &[3.5, 3.0])?;
/// let report = QualityReport::new()
///     .with_rating(&rating)
///     .with_value(QualityMetric::Diversity, 0.8);
/// assert_eq!(report.get(QualityMetric::Mae), Some(0.25));
/// // Gauges go to the current recorder (the installed exporter).
/// report.publish(QualityMetric::Diversity)?;
/// # Ok::<(), recwatch::quality::QualityError>(())
/// ```
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize)]
#[must_use]
pub struct QualityReport {
    values: BTreeMap<QualityMetric, f64>,
    k: Option<usize>,
    genre_distribution: BTreeMap<String, f64>,
}

impl QualityReport {
    /// An empty report.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets one metric (replaces an earlier value).
    pub fn with_value(mut self, metric: QualityMetric, value: f64) -> Self {
        self.values.insert(metric, value);
        self
    }

    /// Sets the four rating metrics.
    pub fn with_rating(self, m: &RatingMetrics) -> Self {
        self.with_value(QualityMetric::Rmse, m.rmse)
            .with_value(QualityMetric::Mae, m.mae)
            .with_value(QualityMetric::PredictionVariance, m.prediction_variance)
            .with_value(
                QualityMetric::PredictionValueCoverage,
                m.prediction_value_coverage,
            )
    }

    /// Sets the six ranking metrics and the cut-off `k`.
    pub fn with_ranking(mut self, m: &RankingMetrics) -> Self {
        self.k = Some(m.k);
        self.with_value(QualityMetric::PrecisionAtK, m.precision)
            .with_value(QualityMetric::RecallAtK, m.recall)
            .with_value(QualityMetric::NdcgAtK, m.ndcg)
            .with_value(QualityMetric::MapAtK, m.map)
            .with_value(QualityMetric::MrrAtK, m.mrr)
            .with_value(QualityMetric::HitRateAtK, m.hit_rate)
    }

    /// Sets the genre distribution (logged to trackers; not a Prometheus gauge, since genre
    /// names are data). Defaults to empty.
    pub fn with_genre_distribution<G: ToString>(
        mut self,
        distribution: impl IntoIterator<Item = (G, f64)>,
    ) -> Self {
        self.genre_distribution = distribution
            .into_iter()
            .map(|(g, v)| (g.to_string(), v))
            .collect();
        self
    }

    /// The value of `metric`, if set.
    pub fn get(&self, metric: QualityMetric) -> Option<f64> {
        self.values.get(&metric).copied()
    }

    /// The cut-off of the ranking metrics, if set.
    pub fn k(&self) -> Option<usize> {
        self.k
    }

    /// Every metric set, in [`QualityMetric::ALL`] order.
    pub fn iter(&self) -> impl Iterator<Item = (QualityMetric, f64)> + '_ {
        self.values.iter().map(|(m, v)| (*m, *v))
    }

    /// The genre distribution.
    pub fn genre_distribution(&self) -> &BTreeMap<String, f64> {
        &self.genre_distribution
    }

    /// `(key, value)` pairs for an experiment tracker: [`QualityMetric::tracking_key`] names,
    /// and `genre_share/<genre>` for the genre distribution, where every character of the genre
    /// name other than a letter, digit, `_`, `-` or `.` becomes `_` (so `Children's` is
    /// `genre_share/Children_s`, a key MLflow accepts).
    ///
    /// # Examples
    ///
    /// ```
    /// use recwatch::quality::{QualityMetric, QualityReport};
    /// let r = QualityReport::new()
    ///     .with_value(QualityMetric::Rmse, 0.9)
    ///     .with_genre_distribution([("Children's", 1.0)]);
    /// assert_eq!(
    ///     r.tracking_metrics(),
    ///     [("rmse".to_owned(), 0.9), ("genre_share/Children_s".to_owned(), 1.0)]
    /// );
    /// ```
    pub fn tracking_metrics(&self) -> Vec<(String, f64)> {
        let mut out: Vec<(String, f64)> = self
            .iter()
            .map(|(m, v)| (m.tracking_key(self.k), v))
            .collect();
        out.extend(self.genre_distribution.iter().map(|(g, v)| {
            let g: String = g
                .chars()
                .map(|c| {
                    if c.is_alphanumeric() || matches!(c, '_' | '-' | '.') {
                        c
                    } else {
                        '_'
                    }
                })
                .collect();
            let g = if g.is_empty() || g == "." || g == ".." {
                "_".to_owned()
            } else {
                g
            };
            (format!("genre_share/{g}"), *v)
        }));
        out
    }

    /// Sets `recommendation_quality_metric{metric}` for every metric in the report and
    /// `recommendation_quality_score` to `headline`'s value, on the current recorder.
    ///
    /// # Errors
    ///
    /// [`QualityError::MissingHeadline`] when `headline` is not in the report (nothing is
    /// published then).
    pub fn publish(&self, headline: QualityMetric) -> Result<(), QualityError> {
        let score = self
            .get(headline)
            .ok_or(QualityError::MissingHeadline(headline.as_str()))?;
        for (m, v) in self.iter() {
            metrics::gauge!(QUALITY_METRIC.name, QUALITY_METRIC.labels[0] => m.as_str()).set(v);
        }
        metrics::gauge!(QUALITY_SCORE.name).set(score);
        Ok(())
    }
}
