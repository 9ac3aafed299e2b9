//! Column typing: Evidently 0.7's inference for features, and its legacy data definition's
//! typing of targets, predictions and (for the TestSuite drift count) features.

use super::column::{Extracted, Values};
use super::report::ColumnType;

/// Largest number of distinct integers for which an integer column is categorical
/// (Evidently's `INTEGER_CARDINALITY_LIMIT`).
const INTEGER_CARDINALITY_LIMIT: usize = 10;

/// Evidently 0.7's column type inference (`infer_column_type`) on one frame's column.
pub(crate) fn infer_type(e: &Extracted) -> ColumnType {
    match &e.values {
        Values::Num { num, integer } => {
            // pandas stores an integer column with missing values as float64.
            if *integer
                && e.nulls == 0
                && num.distinct_capped(INTEGER_CARDINALITY_LIMIT + 1) <= INTEGER_CARDINALITY_LIMIT
            {
                ColumnType::Categorical
            } else {
                ColumnType::Numerical
            }
        }
        Values::Cat(m) => {
            if e.dtype.starts_with("str") {
                let count: u64 = m.values().sum();
                if m.len() as f64 > count as f64 * 0.5 {
                    return ColumnType::Text;
                }
            }
            ColumnType::Categorical
        }
        Values::Unsupported(_) => ColumnType::Unsupported,
    }
}

/// Distinct finite values of a column (`nunique`).
fn nunique(e: &Extracted) -> usize {
    match &e.values {
        // Only "more than 5" matters to the callers.
        Values::Num { num, .. } => num.distinct_capped(NUMBER_UNIQUE_AS_CATEGORICAL + 1),
        Values::Cat(m) => m.len(),
        Values::Unsupported(_) => 0,
    }
}

/// pandas `ref_unique or cur_unique`: the reference count unless it is zero.
fn nunique_ref_or_cur(r: &Extracted, c: &Extracted) -> usize {
    match nunique(r) {
        0 => nunique(c),
        n => n,
    }
}

/// Evidently's `NUMBER_UNIQUE_AS_CATEGORICAL` (legacy column typing).
const NUMBER_UNIQUE_AS_CATEGORICAL: usize = 5;

/// The type Evidently's legacy data definition gives a target column with no task set:
/// numerical when numeric with more than 5 distinct values, else categorical (classification).
pub(crate) fn target_type(r: &Extracted, c: &Extracted) -> ColumnType {
    match (&r.values, &c.values) {
        (Values::Unsupported(_), _) | (_, Values::Unsupported(_)) => ColumnType::Unsupported,
        (_, Values::Num { .. }) if nunique_ref_or_cur(r, c) > NUMBER_UNIQUE_AS_CATEGORICAL => {
            ColumnType::Numerical
        }
        _ => ColumnType::Categorical,
    }
}

/// The type Evidently's legacy data definition gives a prediction column with no task set:
/// categorical for strings, for integers with at most 5 distinct values, and for numbers with
/// at most 5 distinct values outside `[0, 1]`; numerical otherwise (scores, probabilities).
pub(crate) fn prediction_type(r: &Extracted, c: &Extracted) -> ColumnType {
    match &c.values {
        Values::Unsupported(_) => ColumnType::Unsupported,
        Values::Cat(_) => ColumnType::Categorical,
        Values::Num { num, integer } => {
            let few = nunique_ref_or_cur(r, c) <= NUMBER_UNIQUE_AS_CATEGORICAL;
            let pandas_int = *integer && c.nulls == 0;
            let outside_unit = num.range().is_some_and(|(lo, hi)| lo < 0.0 || hi > 1.0);
            if few && (pandas_int || outside_unit) {
                ColumnType::Categorical
            } else {
                ColumnType::Numerical
            }
        }
    }
}

/// The type Evidently's legacy data definition (used by its `TestSuite` drift tests) gives a
/// feature column: integers with at most 5 distinct values (reference first) and bools and
/// strings are categorical, other numbers numerical.
pub(crate) fn legacy_feature_type(r: &Extracted, c: &Extracted) -> ColumnType {
    match (&r.values, &c.values) {
        (Values::Unsupported(_), _) | (_, Values::Unsupported(_)) => ColumnType::Unsupported,
        (_, Values::Num { integer, .. }) => {
            if *integer && c.nulls == 0 && nunique_ref_or_cur(r, c) <= NUMBER_UNIQUE_AS_CATEGORICAL
            {
                ColumnType::Categorical
            } else {
                ColumnType::Numerical
            }
        }
        _ => ColumnType::Categorical,
    }
}
