//! Column roles: target, prediction, numerical and categorical features.

use super::ColumnType;

/// The roles of a frame's columns, as Evidently's `ColumnMapping`: the target, the prediction
/// and the numerical / categorical features, each optional. Columns it does not name are
/// features typed by inference, as without a mapping.
///
/// The target and the prediction are tested apart from the features (they are reported in
/// [`DriftReport::target_drift`](super::DriftReport::target_drift) and
/// [`DriftReport::prediction_drift`](super::DriftReport::prediction_drift), not counted in the
/// share of drifted features), typed as Evidently's `TargetDriftPreset` types them when no task
/// is given: a numeric target with more than 5 distinct values is numerical (regression), any
/// other target categorical (classification); a string prediction, or a numeric one with at
/// most 5 distinct values that are integers or fall outside `[0, 1]`, is categorical, any
/// other prediction numerical (scores, probabilities). The test is then chosen as for
/// features.
///
/// ```
/// use polars::prelude::*;
/// use recwatch::drift::{ColumnMapping, DriftDetector};
///
/// let n = 300;
/// let reference = df!(
///     "avg_rating" => (0..n).map(|i| 3.0 + (i % 17) as f64 / 10.0).collect::<Vec<_>>(),
///     "rating" => (0..n).map(|i| (i % 5 + 1) as i64).collect::<Vec<_>>(),
///     "predicted_rating" => (0..n).map(|i| 1.0 + (i % 40) as f64 / 10.0).collect::<Vec<_>>(),
/// )?;
/// let current = df!(
///     "avg_rating" => (0..n).map(|i| 3.0 + (i % 17) as f64 / 10.0).collect::<Vec<_>>(),
///     "rating" => (0..n).map(|i| if i % 3 == 0 { 5 } else { (i % 5 + 1) as i64 }).collect::<Vec<_>>(),
///     "predicted_rating" => (0..n).map(|i| 2.0 + (i % 40) as f64 / 10.0).collect::<Vec<_>>(),
/// )?;
/// let mapping = ColumnMapping::new()
///     .with_target("rating")
///     .with_prediction("predicted_rating")
///     .add_numerical_feature("avg_rating");
/// let report = DriftDetector::new()
///     .with_column_mapping(mapping)
///     .run(&reference, &current)?;
/// assert_eq!(report.number_of_columns, 1); // the one feature
/// let target = report.target_drift.as_ref().unwrap();
/// assert_eq!(target.stattest_name.as_deref(), Some("chisquare")); // 5 classes, ≤ 1000 rows
/// let prediction = report.prediction_drift.as_ref().unwrap();
/// assert_eq!(prediction.stattest_name.as_deref(), Some("ks"));
/// assert!(prediction.drift_detected);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[must_use]
pub struct ColumnMapping {
    pub(crate) target: Option<String>,
    pub(crate) prediction: Option<String>,
    pub(crate) numerical: Vec<String>,
    pub(crate) categorical: Vec<String>,
}

/// A column's role under a [`ColumnMapping`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Role {
    Feature,
    Target,
    Prediction,
}

impl ColumnMapping {
    /// An empty mapping: every column is a feature typed by inference.
    ///
    /// ```
    /// let m = recwatch::drift::ColumnMapping::new();
    /// assert_eq!(m.target(), None);
    /// ```
    pub fn new() -> Self {
        Self::default()
    }

    /// The target column (e.g. `rating`). Defaults to none.
    ///
    /// ```
    /// let m = recwatch::drift::ColumnMapping::new().with_target("rating");
    /// assert_eq!(m.target(), Some("rating"));
    /// ```
    pub fn with_target(mut self, column: impl Into<String>) -> Self {
        self.target = Some(column.into());
        self
    }

    /// The prediction column (e.g. `predicted_rating`). Defaults to none.
    ///
    /// ```
    /// let m = recwatch::drift::ColumnMapping::new().with_prediction("predicted_rating");
    /// assert_eq!(m.prediction(), Some("predicted_rating"));
    /// ```
    pub fn with_prediction(mut self, column: impl Into<String>) -> Self {
        self.prediction = Some(column.into());
        self
    }

    /// Adds a feature column to treat as numerical.
    ///
    /// ```
    /// let m = recwatch::drift::ColumnMapping::new()
    ///     .add_numerical_feature("avg_rating")
    ///     .add_numerical_feature("rating_count");
    /// assert_eq!(m.numerical_features(), ["avg_rating", "rating_count"]);
    /// ```
    pub fn add_numerical_feature(mut self, column: impl Into<String>) -> Self {
        self.numerical.push(column.into());
        self
    }

    /// Adds a feature column to treat as categorical.
    ///
    /// ```
    /// let m = recwatch::drift::ColumnMapping::new().add_categorical_feature("genres");
    /// assert_eq!(m.categorical_features(), ["genres"]);
    /// ```
    pub fn add_categorical_feature(mut self, column: impl Into<String>) -> Self {
        self.categorical.push(column.into());
        self
    }

    /// The target column, if named.
    ///
    /// ```
    /// assert_eq!(recwatch::drift::ColumnMapping::new().target(), None);
    /// ```
    pub fn target(&self) -> Option<&str> {
        self.target.as_deref()
    }

    /// The prediction column, if named.
    ///
    /// ```
    /// assert_eq!(recwatch::drift::ColumnMapping::new().prediction(), None);
    /// ```
    pub fn prediction(&self) -> Option<&str> {
        self.prediction.as_deref()
    }

    /// The columns named numerical, in the order given.
    ///
    /// ```
    /// assert!(recwatch::drift::ColumnMapping::new().numerical_features().is_empty());
    /// ```
    pub fn numerical_features(&self) -> &[String] {
        &self.numerical
    }

    /// The columns named categorical, in the order given.
    ///
    /// ```
    /// assert!(recwatch::drift::ColumnMapping::new().categorical_features().is_empty());
    /// ```
    pub fn categorical_features(&self) -> &[String] {
        &self.categorical
    }

    pub(crate) fn role(&self, column: &str) -> Role {
        if self.target.as_deref() == Some(column) {
            Role::Target
        } else if self.prediction.as_deref() == Some(column) {
            Role::Prediction
        } else {
            Role::Feature
        }
    }

    /// The type the mapping gives a feature column, if it names it.
    pub(crate) fn feature_type(&self, column: &str) -> Option<ColumnType> {
        if self.categorical.iter().any(|c| c == column) {
            Some(ColumnType::Categorical)
        } else if self.numerical.iter().any(|c| c == column) {
            Some(ColumnType::Numerical)
        } else {
            None
        }
    }
}
