//! Rating-prediction metrics: RMSE, MAE, prediction variance and prediction value coverage.

use super::QualityError;

fn check(actual: &[f64], predicted: &[f64]) -> Result<(), QualityError> {
    if actual.len() != predicted.len() {
        return Err(QualityError::LengthMismatch {
            actual: actual.len(),
            predicted: predicted.len(),
        });
    }
    check_finite("actual", actual)?;
    check_finite("predicted", predicted)
}

fn check_finite(what: &'static str, values: &[f64]) -> Result<(), QualityError> {
    if values.is_empty() {
        return Err(QualityError::Empty { what });
    }
    match values.iter().position(|v| !v.is_finite()) {
        Some(index) => Err(QualityError::NonFinite {
            what,
            index,
            value: values[index],
        }),
        None => Ok(()),
    }
}

/// Root mean squared error, `sqrt(Σ (yᵢ − ŷᵢ)² / n)`.
///
/// # Errors
///
/// [`QualityError::Empty`], [`QualityError::LengthMismatch`] or [`QualityError::NonFinite`].
///
/// # Examples
///
/// ```
/// let e = recwatch::quality::rmse(&[3.0, 4.0], &[2.0, 4.0]).unwrap();
/// assert!((e - 0.5f64.sqrt()).abs() < 1e-12);
/// ```
pub fn rmse(actual: &[f64], predicted: &[f64]) -> Result<f64, QualityError> {
    check(actual, predicted)?;
    let sum: f64 = actual
        .iter()
        .zip(predicted)
        .map(|(a, p)| (a - p) * (a - p))
        .sum();
    Ok((sum / actual.len() as f64).sqrt())
}

/// Mean absolute error, `Σ |yᵢ − ŷᵢ| / n`.
///
/// # Errors
///
/// As [`rmse`].
///
/// # Examples
///
/// ```
/// assert_eq!(recwatch::quality::mae(&[3.0, 4.0], &[2.0, 4.5]).unwrap(), 0.75);
/// ```
pub fn mae(actual: &[f64], predicted: &[f64]) -> Result<f64, QualityError> {
    check(actual, predicted)?;
    let sum: f64 = actual
        .iter()
        .zip(predicted)
        .map(|(a, p)| (a - p).abs())
        .sum();
    Ok(sum / actual.len() as f64)
}

/// Population variance of the predictions, `Σ (ŷᵢ − mean(ŷ))² / n` (numpy's `np.var`, ddof 0).
///
/// A variance near zero means the model predicts almost the same rating for everything.
///
/// # Errors
///
/// [`QualityError::Empty`] or [`QualityError::NonFinite`].
///
/// # Examples
///
/// ```
/// assert_eq!(recwatch::quality::prediction_variance(&[1.0, 3.0]).unwrap(), 1.0);
/// ```
pub fn prediction_variance(predicted: &[f64]) -> Result<f64, QualityError> {
    check_finite("predicted", predicted)?;
    let n = predicted.len() as f64;
    let mean = predicted.iter().sum::<f64>() / n;
    Ok(predicted
        .iter()
        .map(|p| (p - mean) * (p - mean))
        .sum::<f64>()
        / n)
}

/// Prediction value coverage: distinct predicted values / number of predictions, in (0, 1].
///
/// This is the original design's "coverage" (`len(set(predictions)) / len(predictions)`), under
/// a name that does not suggest catalogue coverage (see
/// [`catalogue_coverage`](super::catalogue_coverage) for that). Values are distinct when their
/// `f64` values differ exactly (`-0.0` equals `0.0`). Round the predictions first to measure
/// coverage at a coarser resolution.
///
/// # Errors
///
/// [`QualityError::Empty`] or [`QualityError::NonFinite`].
///
/// # Examples
///
/// ```
/// assert_eq!(recwatch::quality::prediction_value_coverage(&[4.0, 4.0, 3.5, 2.0]).unwrap(), 0.75);
/// ```
pub fn prediction_value_coverage(predicted: &[f64]) -> Result<f64, QualityError> {
    check_finite("predicted", predicted)?;
    let mut bits: Vec<u64> = predicted.iter().map(|p| (p + 0.0).to_bits()).collect();
    bits.sort_unstable();
    bits.dedup();
    Ok(bits.len() as f64 / predicted.len() as f64)
}

/// The rating metrics of one evaluation.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
#[non_exhaustive]
pub struct RatingMetrics {
    /// Number of (actual, predicted) pairs.
    pub count: usize,
    /// [`rmse`].
    pub rmse: f64,
    /// [`mae`].
    pub mae: f64,
    /// [`prediction_variance`].
    pub prediction_variance: f64,
    /// [`prediction_value_coverage`].
    pub prediction_value_coverage: f64,
}

impl RatingMetrics {
    /// All rating metrics of `predicted` against `actual`.
    ///
    /// # Errors
    ///
    /// As [`rmse`].
    ///
    /// # Examples
    ///
    /// ```
    /// let m = recwatch::quality::RatingMetrics::compute(&[4.0, 3.0], &[3.5, 3.0]).unwrap();
    /// assert_eq!(m.mae, 0.25);
    /// ```
    pub fn compute(actual: &[f64], predicted: &[f64]) -> Result<Self, QualityError> {
        Ok(Self {
            count: actual.len(),
            rmse: rmse(actual, predicted)?,
            mae: mae(actual, predicted)?,
            prediction_variance: prediction_variance(predicted)?,
            prediction_value_coverage: prediction_value_coverage(predicted)?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bad_input_is_a_typed_error() {
        assert!(matches!(rmse(&[], &[]), Err(QualityError::Empty { .. })));
        assert!(matches!(
            mae(&[1.0, f64::NAN], &[1.0, 2.0]),
            Err(QualityError::NonFinite {
                what: "actual",
                index: 1,
                ..
            })
        ));
        assert!(matches!(
            prediction_variance(&[f64::INFINITY]),
            Err(QualityError::NonFinite {
                what: "predicted",
                index: 0,
                ..
            })
        ));
    }

    #[test]
    fn coverage_treats_signed_zeros_as_one_value() {
        assert_eq!(prediction_value_coverage(&[0.0, -0.0]).unwrap(), 0.5);
    }
}
