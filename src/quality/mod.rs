//! Recommendation-quality metrics (feature `quality`): rating prediction, ranking at `k` and
//! beyond-accuracy, on slices, with formulas and conventions documented on each function; a
//! [`QualityReport`] that publishes them as gauges; and [`OnlineQuality`], which joins live
//! feedback with what was recommended.
//!
//! | group | functions |
//! |---|---|
//! | rating prediction | [`rmse`], [`mae`], [`prediction_variance`], [`prediction_value_coverage`] (the original design's "coverage"), [`RatingMetrics`] |
//! | ranking @k | [`precision_at_k`], [`recall_at_k`], [`ndcg_at_k`] ([`Gain`]), [`average_precision_at_k`] (MAP), [`reciprocal_rank_at_k`] (MRR), [`hit_at_k`], [`RankingMetrics`] |
//! | beyond accuracy | [`catalogue_coverage`], [`diversity`] (the original's distinct / total), [`intra_list_diversity`], [`genre_distribution`], [`novelty`], [`personalization`], [`gini_exposure`] |
//! | publishing | [`QualityReport::publish`]: `recommendation_quality_score` (a headline metric you choose) and `recommendation_quality_metric{metric}` (one series per [`QualityMetric`]) |
//! | online | [`OnlineQuality`]: feedback joined with recent recommendations, bounded memory, `recommendation_feedback_total{kind,outcome}` |
//!
//! With the `drift` feature (which brings polars), [`rating_metrics_from_frame`] and
//! [`lists_from_frame`] read the inputs from polars frames.
//!
//! Every function returns a typed [`QualityError`] for empty, mismatched or non-finite input; none
//! panics on data.
//!
//! # Example
//!
//! ```
//! use recwatch::quality::{self, QualityMetric, QualityReport, RankingMetrics, RatingMetrics};
//!
//! // Rating prediction.
//! let rating = RatingMetrics::compute(&[4.0, 3.0, 5.0], &[3.8, 3.4, 4.1])?;
//!
//! // Ranking: what each user was recommended, and what they actually liked.
//! let recommended = [vec![1, 2, 3], vec![4, 5, 6]];
//! let liked = [vec![2], vec![7]];
//! let ranking = RankingMetrics::compute(
//!     recommended.iter().zip(&liked).map(|(r, l)| (&r[..], &l[..])),
//!     3,
//! )?;
//! assert_eq!(ranking.hit_rate, 0.5);
//!
//! let report = QualityReport::new()
//!     .with_rating(&rating)
//!     .with_ranking(&ranking)
//!     .with_value(QualityMetric::CatalogueCoverage, quality::catalogue_coverage(&recommended, 100)?)
//!     .with_value(QualityMetric::Diversity, quality::diversity(&recommended)?);
//! report.publish(QualityMetric::NdcgAtK)?;
//! # Ok::<(), recwatch::quality::QualityError>(())
//! ```

mod beyond;
mod error;
#[cfg(feature = "drift")]
mod frame;
mod online;
mod ranking;
mod rating;
mod report;

pub use beyond::{
    catalogue_coverage, diversity, genre_distribution, gini_exposure, intra_list_diversity,
    novelty, personalization, GiniPopulation,
};
pub use error::QualityError;
#[cfg(feature = "drift")]
pub use frame::{lists_from_frame, rating_metrics_from_frame};
pub use online::{Feedback, FeedbackKind, FeedbackOutcome, OnlineQuality, OnlineQualityConfig};
pub use ranking::{
    average_precision_at_k, hit_at_k, ndcg_at_k, precision_at_k, recall_at_k, reciprocal_rank_at_k,
    Gain, RankingMetrics,
};
pub use rating::{mae, prediction_value_coverage, prediction_variance, rmse, RatingMetrics};
pub use report::{QualityMetric, QualityReport};
