//! The drift report (serde), with field names close to Evidently's.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Whether a column is treated as numerical or categorical.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum ColumnType {
    /// Continuous or high-cardinality integer values.
    Numerical,
    /// A finite set of values (strings, booleans, low-cardinality integers).
    Categorical,
    /// Free text (high-cardinality strings): not tested, reported as skipped.
    Text,
    /// A type the detector cannot test (dates, lists, binary, …): reported as skipped.
    Unsupported,
}

/// Whether a column was tested.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum ColumnStatus {
    /// The test ran; `drift_score` and `drift_detected` are meaningful.
    Ok,
    /// The column could not be tested; `reason` says why.
    Skipped,
}

/// Drift result for one column.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ColumnDrift {
    /// Column name.
    pub column_name: String,
    /// Column type used for the test (inferred or overridden).
    pub column_type: ColumnType,
    /// Test or distance used (`"ks"`, `"chisquare"`, `"z"`, `"wasserstein"`,
    /// `"jensenshannon"`, `"psi"`); `null` when skipped before a test was chosen.
    pub stattest_name: Option<String>,
    /// Threshold the drift score was compared with.
    pub stattest_threshold: Option<f64>,
    /// The value compared with the threshold: the p-value for tests (after multiple-testing
    /// correction when enabled), the distance for distances.
    pub drift_score: Option<f64>,
    /// The test statistic (KS *D*, χ², *z*, the distance itself for distances).
    pub statistic: Option<f64>,
    /// The raw p-value; `null` for distances.
    pub p_value: Option<f64>,
    /// Whether drift was detected (`false` when skipped).
    pub drift_detected: bool,
    /// `"ok"` or `"skipped"`.
    pub status: ColumnStatus,
    /// Why the column was skipped, or a note on the test (`null` when there is none).
    pub reason: Option<String>,
    /// Reference values used by the test (nulls, NaN and ±∞ excluded).
    pub n_reference: usize,
    /// Current values used by the test (nulls, NaN and ±∞ excluded).
    pub n_current: usize,
    /// Share of reference rows left out: null, NaN or ±∞.
    pub null_share_reference: f64,
    /// Share of current rows left out: null, NaN or ±∞.
    pub null_share_current: f64,
    /// Share of reference rows that are NaN or ±∞ (included in `null_share_reference`).
    pub nonfinite_share_reference: f64,
    /// Share of current rows that are NaN or ±∞ (included in `null_share_current`).
    pub nonfinite_share_current: f64,
    /// Effect size used by the effect-size gate, when the gate is on.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub effect_size: Option<f64>,
    /// Null-rate drift (two-proportion z-test on the excluded shares), when enabled.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub null_rate_drift: Option<NullRateDrift>,
    /// Categories present in the current data but not in the reference (at most 20 listed),
    /// for categorical columns.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub unseen_categories: Option<Vec<String>>,
    /// Reference and current shares on shared bins, when the detector records them
    /// ([`DriftDetector::with_distributions`](crate::drift::DriftDetector::with_distributions)):
    /// what the HTML report draws.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub distribution: Option<Distribution>,
}

/// A column's reference and current distributions on shared bins: at most 20 equal-width bins
/// over the range of both frames for a numerical column, the 20 most frequent categories (and
/// `other`) for a categorical one. Its size does not depend on the number of rows.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Distribution {
    /// Bin labels: `"[a, b)"` ranges, or category names.
    pub bins: Vec<String>,
    /// Share of reference values per bin.
    pub reference: Vec<f64>,
    /// Share of current values per bin.
    pub current: Vec<f64>,
}

impl ColumnDrift {
    /// A column that could not be read or tested, with the reason.
    pub(crate) fn skipped(name: &str, reason: String) -> Self {
        ColumnDrift {
            column_name: name.to_string(),
            column_type: ColumnType::Unsupported,
            stattest_name: None,
            stattest_threshold: None,
            drift_score: None,
            statistic: None,
            p_value: None,
            drift_detected: false,
            status: ColumnStatus::Skipped,
            reason: Some(reason),
            n_reference: 0,
            n_current: 0,
            null_share_reference: 0.0,
            null_share_current: 0.0,
            nonfinite_share_reference: 0.0,
            nonfinite_share_current: 0.0,
            effect_size: None,
            null_rate_drift: None,
            unseen_categories: None,
            distribution: None,
        }
    }
}

/// Null-rate drift of one column: has the share of missing values changed?
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct NullRateDrift {
    /// Two-proportion z statistic (reference share minus current share).
    pub statistic: f64,
    /// Two-sided p-value.
    pub p_value: f64,
    /// Whether `p_value < threshold`.
    pub drift_detected: bool,
}

/// Differences between the two schemas.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[non_exhaustive]
pub struct SchemaDiff {
    /// Columns of the reference that the current frame lacks.
    pub missing_in_current: Vec<String>,
    /// Columns of the current frame that the reference lacks.
    pub new_in_current: Vec<String>,
    /// Common columns whose data type differs (details in the column's `reason`).
    pub type_changed: Vec<String>,
}

/// A dataset drift report.
///
/// ```
/// use recwatch::drift::DriftReport;
/// let json = r#"{"dataset_drift":false,"drift_share":0.5,"number_of_columns":0,
///   "number_of_drifted_columns":0,"share_of_drifted_columns":0.0,"drift_by_columns":{},
///   "schema":{"missing_in_current":[],"new_in_current":[],"type_changed":[]}}"#;
/// let report: DriftReport = serde_json::from_str(json).unwrap();
/// assert!(!report.dataset_drift);
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct DriftReport {
    /// `share_of_drifted_columns ≥ drift_share` (and at least one column tested).
    pub dataset_drift: bool,
    /// The share of drifted columns at which the dataset counts as drifted.
    pub drift_share: f64,
    /// Columns tested (status `ok`); skipped columns are not counted.
    pub number_of_columns: usize,
    /// Tested columns with drift.
    pub number_of_drifted_columns: usize,
    /// `number_of_drifted_columns / number_of_columns` (0 when no column was tested).
    pub share_of_drifted_columns: f64,
    /// Per-column results, by column name (every common column, tested or skipped).
    pub drift_by_columns: BTreeMap<String, ColumnDrift>,
    /// Schema differences.
    pub schema: SchemaDiff,
    /// Multiple-testing correction applied to the p-values, when one was.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub correction: Option<String>,
    /// Drift of the target column named by the column mapping (not counted among the
    /// features).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub target_drift: Option<ColumnDrift>,
    /// Drift of the prediction column named by the column mapping (not counted among the
    /// features).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub prediction_drift: Option<ColumnDrift>,
    /// Data-quality test results, when the suite ran (Evidently's `TestSuite` names and
    /// verdicts).
    #[serde(skip_serializing_if = "Vec::is_empty", default)]
    pub tests: Vec<crate::drift::QualityTestResult>,
}

impl DriftReport {
    /// The report as pretty-printed JSON.
    ///
    /// ```
    /// # use recwatch::drift::DriftReport;
    /// # let json = r#"{"dataset_drift":false,"drift_share":0.5,"number_of_columns":0,
    /// #  "number_of_drifted_columns":0,"share_of_drifted_columns":0.0,"drift_by_columns":{},
    /// #  "schema":{"missing_in_current":[],"new_in_current":[],"type_changed":[]}}"#;
    /// # let report: DriftReport = serde_json::from_str(json).unwrap();
    /// assert!(report.to_json_pretty().contains("\"dataset_drift\": false"));
    /// ```
    pub fn to_json_pretty(&self) -> String {
        // Serialising plain structs with string keys and finite-or-null floats cannot fail.
        serde_json::to_string_pretty(self).unwrap_or_default()
    }

    /// Columns with drift, by name.
    ///
    /// ```
    /// # use recwatch::drift::DriftReport;
    /// # let json = r#"{"dataset_drift":false,"drift_share":0.5,"number_of_columns":0,
    /// #  "number_of_drifted_columns":0,"share_of_drifted_columns":0.0,"drift_by_columns":{},
    /// #  "schema":{"missing_in_current":[],"new_in_current":[],"type_changed":[]}}"#;
    /// # let report: DriftReport = serde_json::from_str(json).unwrap();
    /// assert_eq!(report.drifted_columns().count(), 0);
    /// ```
    pub fn drifted_columns(&self) -> impl Iterator<Item = &str> + '_ {
        self.drift_by_columns
            .values()
            .filter(|c| c.drift_detected)
            .map(|c| c.column_name.as_str())
    }

    /// The result of one data-quality test, when the suite ran it.
    ///
    /// ```
    /// # use recwatch::drift::{DriftReport, QualityTest};
    /// # let json = r#"{"dataset_drift":false,"drift_share":0.5,"number_of_columns":0,
    /// #  "number_of_drifted_columns":0,"share_of_drifted_columns":0.0,"drift_by_columns":{},
    /// #  "schema":{"missing_in_current":[],"new_in_current":[],"type_changed":[]}}"#;
    /// # let report: DriftReport = serde_json::from_str(json).unwrap();
    /// assert!(report.test(QualityTest::NumberOfRows).is_none());
    /// ```
    pub fn test(
        &self,
        test: crate::drift::QualityTest,
    ) -> Option<&crate::drift::QualityTestResult> {
        self.tests.iter().find(|t| t.test == test.name())
    }
}
