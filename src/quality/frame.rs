//! Polars adapters (feature `drift`, which brings polars): the slice metrics over frame columns.

use polars::prelude::*;

use super::{QualityError, RatingMetrics};

fn f64_column(df: &DataFrame, column: &str) -> Result<Vec<f64>, QualityError> {
    let frame_err = |source| QualityError::Frame {
        column: column.to_owned(),
        source,
    };
    let s = df
        .column(column)
        .map_err(frame_err)?
        .cast(&DataType::Float64)
        .map_err(frame_err)?;
    let ca = s.f64().map_err(frame_err)?;
    let nulls = ca.null_count();
    if nulls > 0 {
        return Err(QualityError::Nulls {
            column: column.to_owned(),
            nulls,
        });
    }
    Ok(ca.into_no_null_iter().collect())
}

/// [`RatingMetrics`] of the `predicted` column against the `actual` column of `df` (any numeric
/// type, cast to `f64`).
///
/// # Errors
///
/// [`QualityError::Frame`] for a missing or non-numeric column, [`QualityError::Nulls`], and the
/// errors of [`RatingMetrics::compute`].
///
/// # Examples
///
/// ```
/// use polars::prelude::*;
/// let df = df!("rating" => [4.0, 3.0], "prediction" => [3.5, 3.0])?;
/// let m = recwatch::quality::rating_metrics_from_frame(&df, "rating", "prediction")?;
/// assert_eq!(m.mae, 0.25);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn rating_metrics_from_frame(
    df: &DataFrame,
    actual: &str,
    predicted: &str,
) -> Result<RatingMetrics, QualityError> {
    RatingMetrics::compute(&f64_column(df, actual)?, &f64_column(df, predicted)?)
}

/// Recommendation lists from a long frame of `(user, item, rank)` rows: one list per user
/// (users in ascending order), items sorted by ascending rank. `user` and `item` are cast to
/// `u64`, `rank` to `f64`.
///
/// # Errors
///
/// [`QualityError::Frame`] for a missing or non-numeric column, [`QualityError::Nulls`].
///
/// # Examples
///
/// ```
/// use polars::prelude::*;
/// let df = df!("user" => [1u64, 1, 2], "item" => [10u64, 11, 10], "rank" => [2, 1, 1])?;
/// let lists = recwatch::quality::lists_from_frame(&df, "user", "item", "rank")?;
/// assert_eq!(lists, vec![(1, vec![11, 10]), (2, vec![10])]);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn lists_from_frame(
    df: &DataFrame,
    user: &str,
    item: &str,
    rank: &str,
) -> Result<Vec<(u64, Vec<u64>)>, QualityError> {
    let u64_column = |column: &str| -> Result<Vec<u64>, QualityError> {
        let frame_err = |source| QualityError::Frame {
            column: column.to_owned(),
            source,
        };
        let s = df
            .column(column)
            .map_err(frame_err)?
            .strict_cast(&DataType::UInt64)
            .map_err(frame_err)?;
        let ca = s.u64().map_err(frame_err)?;
        if ca.null_count() > 0 {
            return Err(QualityError::Nulls {
                column: column.to_owned(),
                nulls: ca.null_count(),
            });
        }
        Ok(ca.into_no_null_iter().collect())
    };
    let users = u64_column(user)?;
    let items = u64_column(item)?;
    let ranks = f64_column(df, rank)?;
    let mut by_user: std::collections::BTreeMap<u64, Vec<(f64, u64)>> = Default::default();
    for ((u, i), r) in users.into_iter().zip(items).zip(ranks) {
        by_user.entry(u).or_default().push((r, i));
    }
    Ok(by_user
        .into_iter()
        .map(|(u, mut v)| {
            v.sort_by(|a, b| a.0.total_cmp(&b.0));
            (u, v.into_iter().map(|(_, i)| i).collect())
        })
        .collect())
}
