//! The data-quality suite: Evidently 0.7.23's legacy `TestSuite` data-integrity tests, with the
//! conditions it derives from the reference (or its reference-free defaults).
//!
//! | test | value | condition with a reference | without |
//! |---|---|---|---|
//! | `TestNumberOfColumnsWithMissingValues` | columns with a missing value | `lte` reference count | `eq 0` |
//! | `TestNumberOfRowsWithMissingValues` | rows with a missing value | `lte` reference count × row ratio ± 10 % | `eq 0` |
//! | `TestNumberOfConstantColumns` | columns with ≤ 1 distinct value | `lte` reference count | `eq 0` |
//! | `TestNumberOfDuplicatedRows` | rows equal to an earlier row | `eq` reference count × row ratio ± 10 % | `eq 0` |
//! | `TestNumberOfDuplicatedColumns` | pairs of equal columns | `lte` reference count | `eq 0` |
//! | `TestColumnsType` | reference columns whose (pandas) type changed | all equal | `ERROR` |
//! | `TestNumberOfDriftedColumns` | drifted columns (features, target, prediction) | `lt` ⌊columns / 3⌋ | `ERROR` |
//! | `TestNumberOfRows` | rows | `eq` reference rows ± 10 % | `gt 30` |
//! | `TestShareOfMissingValues` | missing cells / all cells | `lte` reference share ± 10 % | `eq 0` |
//!
//! A missing value is Evidently's: null, NaN, ±∞ or the empty string. "± 10 %" is Evidently's
//! `approx(value, relative=0.1)`: the bound is widened by `max(0.1·|value|, 1e-12)`. The
//! row ratio is `current rows / reference rows`.
//!
//! Run it with the drift detector ([`DriftDetector::with_quality_suite`]), which computes it in
//! the same pass over the data and puts the results in [`DriftReport::tests`], or on a current
//! frame alone with [`DataQualitySuite::run_without_reference`].
//!
//! ```
//! use polars::prelude::*;
//! use recwatch::drift::{DataQualitySuite, DriftDetector, QualityTest, TestStatus};
//!
//! let reference = df!("x" => (0..100).map(f64::from).collect::<Vec<_>>(),
//!                     "c" => (0..100).map(|i| ["a", "b"][i % 2]).collect::<Vec<_>>())?;
//! let current = df!("x" => (0..100).map(|i| if i < 10 { f64::NAN } else { i as f64 }).collect::<Vec<_>>(),
//!                   "c" => (0..100).map(|i| ["a", "b"][i % 2]).collect::<Vec<_>>())?;
//! let report = DriftDetector::new()
//!     .with_quality_suite(DataQualitySuite::new())
//!     .run(&reference, &current)?;
//! let rows = report.test(QualityTest::NumberOfRowsWithMissingValues).unwrap();
//! assert_eq!(rows.value, Some(10.0));
//! assert_eq!(rows.status, TestStatus::Fail); // the reference had none
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! [`DriftDetector::with_quality_suite`]: super::DriftDetector::with_quality_suite
//! [`DriftReport::tests`]: super::DriftReport::tests

mod condition;
mod pass;

pub use condition::{Bound, Condition};
pub(crate) use pass::{FrameAcc, FrameStats};

use super::{DriftError, Frame};
use polars::prelude::*;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// One test of the data-quality suite, by Evidently's class name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum QualityTest {
    /// `TestNumberOfColumnsWithMissingValues`.
    NumberOfColumnsWithMissingValues,
    /// `TestNumberOfRowsWithMissingValues`.
    NumberOfRowsWithMissingValues,
    /// `TestNumberOfConstantColumns`.
    NumberOfConstantColumns,
    /// `TestNumberOfDuplicatedRows`.
    NumberOfDuplicatedRows,
    /// `TestNumberOfDuplicatedColumns`.
    NumberOfDuplicatedColumns,
    /// `TestColumnsType`.
    ColumnsType,
    /// `TestNumberOfDriftedColumns`.
    NumberOfDriftedColumns,
    /// `TestNumberOfRows`.
    NumberOfRows,
    /// `TestShareOfMissingValues`.
    ShareOfMissingValues,
}

impl QualityTest {
    /// Every test, in report order.
    pub const ALL: [QualityTest; 9] = [
        QualityTest::NumberOfColumnsWithMissingValues,
        QualityTest::NumberOfRowsWithMissingValues,
        QualityTest::NumberOfConstantColumns,
        QualityTest::NumberOfDuplicatedRows,
        QualityTest::NumberOfDuplicatedColumns,
        QualityTest::ColumnsType,
        QualityTest::NumberOfDriftedColumns,
        QualityTest::NumberOfRows,
        QualityTest::ShareOfMissingValues,
    ];

    /// Evidently's class name.
    ///
    /// ```
    /// use recwatch::drift::QualityTest;
    /// assert_eq!(QualityTest::NumberOfRows.name(), "TestNumberOfRows");
    /// ```
    pub fn name(self) -> &'static str {
        match self {
            QualityTest::NumberOfColumnsWithMissingValues => "TestNumberOfColumnsWithMissingValues",
            QualityTest::NumberOfRowsWithMissingValues => "TestNumberOfRowsWithMissingValues",
            QualityTest::NumberOfConstantColumns => "TestNumberOfConstantColumns",
            QualityTest::NumberOfDuplicatedRows => "TestNumberOfDuplicatedRows",
            QualityTest::NumberOfDuplicatedColumns => "TestNumberOfDuplicatedColumns",
            QualityTest::ColumnsType => "TestColumnsType",
            QualityTest::NumberOfDriftedColumns => "TestNumberOfDriftedColumns",
            QualityTest::NumberOfRows => "TestNumberOfRows",
            QualityTest::ShareOfMissingValues => "TestShareOfMissingValues",
        }
    }

    /// Parses Evidently's class name.
    ///
    /// ```
    /// use recwatch::drift::QualityTest;
    /// assert_eq!(QualityTest::from_name("TestColumnsType"), Some(QualityTest::ColumnsType));
    /// ```
    pub fn from_name(name: &str) -> Option<Self> {
        QualityTest::ALL.into_iter().find(|t| t.name() == name)
    }
}

/// A test's verdict, as Evidently writes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
#[non_exhaustive]
pub enum TestStatus {
    /// The value meets the condition.
    Success,
    /// The value does not meet the condition.
    Fail,
    /// The test cannot be evaluated (no reference to compare with, a column missing).
    Error,
}

/// The result of one data-quality test.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct QualityTestResult {
    /// Evidently's class name (`"TestNumberOfRows"`, …).
    pub test: String,
    /// `SUCCESS`, `FAIL` or `ERROR`.
    pub status: TestStatus,
    /// The tested value (`null` on `ERROR`).
    pub value: Option<f64>,
    /// The condition the value was checked against (`null` when there is none).
    pub condition: Option<Condition>,
    /// One sentence: the value and the condition, or why the test could not run.
    pub description: String,
}

/// The data-quality suite: which tests to run and their conditions.
///
/// ```
/// use recwatch::drift::{Condition, DataQualitySuite, QualityTest};
/// let suite = DataQualitySuite::new()
///     .with_condition(QualityTest::NumberOfRows, Condition::gte(1000.0));
/// # let _ = suite;
/// ```
#[derive(Debug, Clone, PartialEq)]
#[must_use]
pub struct DataQualitySuite {
    tests: Vec<QualityTest>,
    conditions: BTreeMap<QualityTest, Condition>,
}

impl Default for DataQualitySuite {
    fn default() -> Self {
        Self::new()
    }
}

/// What the drift part of the run found, for `TestNumberOfDriftedColumns`.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct DriftCount {
    pub tested: usize,
    pub drifted: usize,
}

impl DataQualitySuite {
    /// All nine tests with Evidently's default conditions.
    ///
    /// ```
    /// let suite = recwatch::drift::DataQualitySuite::new();
    /// # let _ = suite;
    /// ```
    pub fn new() -> Self {
        DataQualitySuite {
            tests: QualityTest::ALL.to_vec(),
            conditions: BTreeMap::new(),
        }
    }

    /// The tests to run, in report order. Defaults to [`QualityTest::ALL`].
    ///
    /// ```
    /// use recwatch::drift::{DataQualitySuite, QualityTest};
    /// let suite = DataQualitySuite::new().with_tests([QualityTest::NumberOfRows]);
    /// # let _ = suite;
    /// ```
    pub fn with_tests(mut self, tests: impl IntoIterator<Item = QualityTest>) -> Self {
        self.tests = tests.into_iter().collect();
        self
    }

    /// The condition of one test (replaces the reference-derived one). Defaults to Evidently's
    /// condition for the test. For [`QualityTest::ColumnsType`] a condition checks the number
    /// of columns whose type changed.
    ///
    /// ```
    /// use recwatch::drift::{Condition, DataQualitySuite, QualityTest};
    /// let suite = DataQualitySuite::new()
    ///     .with_condition(QualityTest::NumberOfDuplicatedRows, Condition::lte(10.0));
    /// # let _ = suite;
    /// ```
    pub fn with_condition(mut self, test: QualityTest, condition: Condition) -> Self {
        self.conditions.insert(test, condition);
        self
    }

    /// Runs the suite on a current frame alone, with Evidently's reference-free defaults
    /// (`TestColumnsType` and `TestNumberOfDriftedColumns` need a reference and give `ERROR`
    /// unless a condition is set for the former).
    ///
    /// # Errors
    ///
    /// [`DriftError::Polars`] when the frame cannot be read, [`DriftError::EmptyFrame`] when it
    /// has no column.
    ///
    /// ```
    /// use polars::prelude::*;
    /// use recwatch::drift::{DataQualitySuite, QualityTest, TestStatus};
    /// let current = df!("x" => [1.0, 1.0, 1.0])?;
    /// let results = DataQualitySuite::new().run_without_reference(current.lazy())?;
    /// let rows = results.iter().find(|r| r.test == "TestNumberOfRows").unwrap();
    /// assert_eq!(rows.status, TestStatus::Fail); // gt 30
    /// let constant = results.iter().find(|r| r.test == "TestNumberOfConstantColumns").unwrap();
    /// assert_eq!(constant.value, Some(1.0));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn run_without_reference(
        &self,
        current: LazyFrame,
    ) -> Result<Vec<QualityTestResult>, DriftError> {
        let df = current.collect().map_err(|source| DriftError::Polars {
            context: "cannot read current frame".into(),
            source,
        })?;
        if df.width() == 0 {
            return Err(DriftError::EmptyFrame {
                frame: Frame::Current,
            });
        }
        let acc = FrameAcc::new(df.height());
        for (i, c) in df.columns().iter().enumerate() {
            acc.pass(c, i);
        }
        Ok(self.evaluate(&acc.finish(), None, None))
    }

    /// Evaluates the tests on the gathered statistics.
    pub(crate) fn evaluate(
        &self,
        cur: &FrameStats,
        reference: Option<&FrameStats>,
        drift: Option<DriftCount>,
    ) -> Vec<QualityTestResult> {
        self.tests
            .iter()
            .map(|&t| self.one(t, cur, reference, drift))
            .collect()
    }

    fn one(
        &self,
        test: QualityTest,
        cur: &FrameStats,
        reference: Option<&FrameStats>,
        drift: Option<DriftCount>,
    ) -> QualityTestResult {
        let user = self.conditions.get(&test).cloned();
        let ratio = |r: &FrameStats| {
            if r.rows == 0 {
                0.0
            } else {
                cur.rows as f64 / r.rows as f64
            }
        };
        let (value, default, what): (Option<f64>, Option<Condition>, &str) = match test {
            QualityTest::NumberOfColumnsWithMissingValues => (
                Some(cur.columns_with_missing() as f64),
                Some(match reference {
                    Some(r) => Condition::lte(r.columns_with_missing() as f64),
                    None => Condition::eq(0.0),
                }),
                "The number of columns with missing values is",
            ),
            QualityTest::NumberOfRowsWithMissingValues => (
                Some(cur.rows_with_missing as f64),
                Some(match reference {
                    Some(r) => Condition::lte_approx(r.rows_with_missing as f64 * ratio(r), 0.1),
                    None => Condition::eq(0.0),
                }),
                "The number of rows with missing values is",
            ),
            QualityTest::NumberOfConstantColumns => (
                Some(cur.constant_columns() as f64),
                Some(match reference {
                    Some(r) => Condition::lte(r.constant_columns() as f64),
                    None => Condition::eq(0.0),
                }),
                "The number of constant columns is",
            ),
            QualityTest::NumberOfDuplicatedRows => (
                Some(cur.duplicated_rows as f64),
                Some(match reference {
                    Some(r) => Condition::eq_approx(r.duplicated_rows as f64 * ratio(r), 0.1),
                    None => Condition::eq(0.0),
                }),
                "The number of duplicate rows is",
            ),
            QualityTest::NumberOfDuplicatedColumns => (
                Some(cur.duplicated_columns as f64),
                Some(match reference {
                    Some(r) => Condition::lte(r.duplicated_columns as f64),
                    None => Condition::eq(0.0),
                }),
                "The number of duplicate columns is",
            ),
            QualityTest::ColumnsType => return columns_type(cur, reference, user),
            QualityTest::NumberOfDriftedColumns => match (drift, reference) {
                (Some(d), Some(_)) => (
                    Some(d.drifted as f64),
                    Some(Condition::lt((d.tested / 3) as f64)),
                    "The number of drifted columns is",
                ),
                _ => {
                    return error(
                        test,
                        "Drift cannot be tested without a reference".into(),
                        user,
                    )
                }
            },
            QualityTest::NumberOfRows => (
                Some(cur.rows as f64),
                Some(match reference {
                    Some(r) => Condition::eq_approx(r.rows as f64, 0.1),
                    None => Condition::gt(30.0),
                }),
                "The number of rows is",
            ),
            QualityTest::ShareOfMissingValues => (
                Some(cur.share_of_missing()),
                Some(match reference {
                    Some(r) => Condition::lte_approx(r.share_of_missing(), 0.1),
                    None => Condition::eq(0.0),
                }),
                "The share of missing values is",
            ),
        };
        let condition = user.or(default);
        verdict(test, value, condition, what)
    }
}

fn verdict(
    test: QualityTest,
    value: Option<f64>,
    condition: Option<Condition>,
    what: &str,
) -> QualityTestResult {
    let (status, description) = match (value, &condition) {
        (Some(v), Some(c)) => (
            if c.check(v) {
                TestStatus::Success
            } else {
                TestStatus::Fail
            },
            format!(
                "{what} {}. The test threshold is {c}.",
                condition::fmt_g3(v)
            ),
        ),
        _ => (TestStatus::Error, format!("{what} unknown.")),
    };
    QualityTestResult {
        test: test.name().to_string(),
        status,
        value,
        condition,
        description,
    }
}

fn error(
    test: QualityTest,
    description: String,
    condition: Option<Condition>,
) -> QualityTestResult {
    QualityTestResult {
        test: test.name().to_string(),
        status: TestStatus::Error,
        value: None,
        condition,
        description,
    }
}

/// `TestColumnsType`: every reference column must be present in the current frame with the
/// same pandas type.
fn columns_type(
    cur: &FrameStats,
    reference: Option<&FrameStats>,
    user: Option<Condition>,
) -> QualityTestResult {
    let test = QualityTest::ColumnsType;
    let Some(r) = reference else {
        return error(
            test,
            "Cannot compare column types without conditions or a reference".into(),
            user,
        );
    };
    let mut changed = 0usize;
    for rc in &r.columns {
        match cur.columns.iter().find(|c| c.name == rc.name) {
            None => {
                return error(
                    test,
                    format!("No column '{}' in the metrics data", rc.name),
                    user,
                )
            }
            Some(cc) if cc.pandas_dtype != rc.pandas_dtype => changed += 1,
            Some(_) => {}
        }
    }
    let value = changed as f64;
    let (status, condition) = match user {
        Some(c) => (c.check(value), Some(c)),
        None => (changed == 0, None),
    };
    QualityTestResult {
        test: test.name().to_string(),
        status: if status {
            TestStatus::Success
        } else {
            TestStatus::Fail
        },
        value: Some(value),
        condition,
        description: format!(
            "The number of columns with a type mismatch is {changed} out of {}.",
            r.columns.len()
        ),
    }
}
