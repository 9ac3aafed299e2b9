//! Wasserstein (earth mover's) distance.

use super::{check_finite, sorted_copy, StatsError};

/// First Wasserstein distance between two 1-D empirical distributions,
/// `scipy.stats.wasserstein_distance(u, v)`:
///
/// ```text
/// W₁(u, v) = ∫ |F_u(x) − F_v(x)| dx
/// ```
///
/// computed exactly as a sum over the pooled sorted values.
///
/// Reference: C. Villani, *Optimal Transport: Old and New*, Springer (2009); S. S. Vallender,
/// "Calculation of the Wasserstein distance between probability distributions on the line",
/// *Theory Probab. Appl.* 18 (1974) 784–786.
///
/// # Errors
///
/// [`StatsError::EmptySample`] or [`StatsError::NonFinite`].
///
/// ```
/// use recwatch::drift::stats::wasserstein_distance;
/// // scipy.stats.wasserstein_distance([0, 1, 3], [5, 6, 8]) == 5.0
/// assert_eq!(wasserstein_distance(&[0.0, 1.0, 3.0], &[5.0, 6.0, 8.0])?, 5.0);
/// # Ok::<(), recwatch::drift::stats::StatsError>(())
/// ```
pub fn wasserstein_distance(u: &[f64], v: &[f64]) -> Result<f64, StatsError> {
    check_finite("u", u)?;
    check_finite("v", v)?;
    Ok(wasserstein_distance_sorted(
        &sorted_copy(u),
        &sorted_copy(v),
    ))
}

/// [`wasserstein_distance`] on ascending-sorted finite non-empty samples (no checks).
///
/// ```
/// use recwatch::drift::stats::wasserstein_distance_sorted;
/// assert_eq!(wasserstein_distance_sorted(&[0.0, 1.0], &[0.0, 1.0]), 0.0);
/// ```
pub fn wasserstein_distance_sorted(u: &[f64], v: &[f64]) -> f64 {
    let (nu, nv) = (u.len() as f64, v.len() as f64);
    let (mut i, mut j) = (0usize, 0usize);
    let mut prev: Option<f64> = None;
    let mut total = 0.0;
    loop {
        let x = match (u.get(i), v.get(j)) {
            (Some(a), Some(b)) => a.min(*b),
            (Some(a), None) => *a,
            (None, Some(b)) => *b,
            (None, None) => break,
        };
        if let Some(p) = prev {
            total += (i as f64 / nu - j as f64 / nv).abs() * (x - p);
        }
        while i < u.len() && u[i] == x {
            i += 1;
        }
        while j < v.len() && v[j] == x {
            j += 1;
        }
        prev = Some(x);
    }
    total
}

/// Population standard deviation `√(Σ (xᵢ − x̄)² / n)` (numpy's `np.std`, `ddof = 0`), two-pass.
///
/// Returns NaN for an empty slice.
///
/// ```
/// use recwatch::drift::stats::population_std;
/// assert_eq!(population_std(&[1.0, 3.0]), 1.0);
/// ```
pub fn population_std(x: &[f64]) -> f64 {
    if x.is_empty() {
        return f64::NAN;
    }
    let n = x.len() as f64;
    let mean = x.iter().sum::<f64>() / n;
    (x.iter().map(|v| (v - mean) * (v - mean)).sum::<f64>() / n).sqrt()
}

/// Wasserstein distance normed by the reference standard deviation, Evidently's `wasserstein`
/// drift measure:
///
/// ```text
/// W_norm = W₁(reference, current) / max(σ_reference, 0.001)
/// ```
///
/// with `σ` the population standard deviation. The floor of 0.001 keeps a constant reference
/// from dividing by zero.
///
/// # Errors
///
/// [`StatsError::EmptySample`] or [`StatsError::NonFinite`].
///
/// ```
/// use recwatch::drift::stats::wasserstein_normed;
/// let w = wasserstein_normed(&[0.0, 2.0], &[1.0, 3.0])?;
/// assert!((w - 1.0).abs() < 1e-12);
/// # Ok::<(), recwatch::drift::stats::StatsError>(())
/// ```
pub fn wasserstein_normed(reference: &[f64], current: &[f64]) -> Result<f64, StatsError> {
    check_finite("reference", reference)?;
    check_finite("current", current)?;
    // The std is taken over the sorted copy so that the result does not depend on row order.
    let r = sorted_copy(reference);
    let norm = population_std(&r).max(0.001);
    Ok(wasserstein_distance_sorted(&r, &sorted_copy(current)) / norm)
}
