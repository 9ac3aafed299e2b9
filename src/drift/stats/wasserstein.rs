//! Wasserstein (earth mover's) distance.

use super::binning::union_runs;
use super::sample::Sample;
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
    wasserstein_of(u, v)
}

/// [`wasserstein_distance_sorted`] on two non-empty [`Sample`]s.
pub(crate) fn wasserstein_of<U: Sample + ?Sized, V: Sample + ?Sized>(u: &U, v: &V) -> f64 {
    if let (Some(a), Some(b)) = (u.as_slice(), v.as_slice()) {
        return wasserstein_slices(a, b);
    }
    let (nu, nv) = (u.total(), v.total());
    let (mut i, mut j) = (0u64, 0u64);
    let mut prev: Option<f64> = None;
    let mut total = 0.0;
    union_runs(u, v, |x, a, b| {
        if let Some(p) = prev {
            total += cdf_gap(i, nv, j, nu) * (x - p);
        }
        i += a;
        j += b;
        prev = Some(x);
        true
    });
    total / (nu as f64 * nv as f64)
}

/// `|F_u − F_v| · n_u · n_v = |i·n_v − j·n_u|` (exact while the products stay below 2⁵³).
#[inline]
fn cdf_gap(i: u64, nv: u64, j: u64, nu: u64) -> f64 {
    (i as f64 * nv as f64 - j as f64 * nu as f64).abs()
}

/// [`wasserstein_of`] on two sorted slices, one value at a time in merged order without a
/// data-dependent branch. It gives the same bits as the walk over distinct values: a value
/// equal to the previous one adds `gap × 0 = 0`, and every other step adds the same term,
/// computed the same way.
fn wasserstein_slices(u: &[f64], v: &[f64]) -> f64 {
    let (nu, nv) = (u.len() as u64, v.len() as u64);
    let (mut i, mut j) = (0usize, 0usize);
    let mut total = 0.0;
    let mut prev = match (u.first(), v.first()) {
        (Some(a), Some(b)) => a.min(*b),
        _ => return 0.0,
    };
    while i < u.len() && j < v.len() {
        let (a, b) = (u[i], v[j]);
        let take_u = a <= b;
        let x = if take_u { a } else { b };
        total += cdf_gap(i as u64, nv, j as u64, nu) * (x - prev);
        prev = x;
        i += take_u as usize;
        j += (!take_u) as usize;
    }
    for &x in &u[i..] {
        total += cdf_gap(i as u64, nv, j as u64, nu) * (x - prev);
        prev = x;
        i += 1;
    }
    for &x in &v[j..] {
        total += cdf_gap(i as u64, nv, j as u64, nu) * (x - prev);
        prev = x;
        j += 1;
    }
    total / (nu as f64 * nv as f64)
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
