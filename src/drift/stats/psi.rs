//! Population stability index.

use super::binning::{histogram_sorted, quantile_of};
use super::sample::Sample;
use super::{check_finite, sorted_copy, StatsError};

/// Default floor for an empty bin's share in [`psi_quantile_bins`]: `1e-4`.
///
/// An empty bin would make `ln(r/c)` infinite; its share is raised to this value (in that
/// sample only) before the index is computed. The same constant is Evidently's default fill.
pub const PSI_DEFAULT_FLOOR: f64 = 1e-4;

/// Population stability index of two vectors of shares:
///
/// ```text
/// PSI = Σᵢ (rᵢ − cᵢ) · ln(rᵢ / cᵢ)
/// ```
///
/// It is the symmetrised Kullback–Leibler divergence `KL(r‖c) + KL(c‖r)`, so PSI ≥ 0 and it is
/// symmetric in its arguments. Common reading: < 0.1 stable, 0.1–0.25 moderate, > 0.25 shift.
///
/// Reference: B. Yurdakul, "Statistical properties of population stability index", PhD thesis,
/// Western Michigan University (2018).
///
/// # Errors
///
/// [`StatsError::EmptySample`], [`StatsError::LengthMismatch`], and [`StatsError::NonFinite`]
/// when a share is not finite or not strictly positive (fill empty bins first).
///
/// ```
/// use recwatch::drift::stats::psi;
/// let v = psi(&[0.5, 0.5], &[0.25, 0.75])?;
/// assert!((v - 0.25 * (2f64).ln() - 0.25 * (1.5f64).ln()).abs() < 1e-12);
/// # Ok::<(), recwatch::drift::stats::StatsError>(())
/// ```
pub fn psi(reference: &[f64], current: &[f64]) -> Result<f64, StatsError> {
    for (name, x) in [("reference", reference), ("current", current)] {
        if x.is_empty() {
            return Err(StatsError::EmptySample { name });
        }
        if x.iter().any(|v| !v.is_finite() || *v <= 0.0) {
            return Err(StatsError::NonFinite { name });
        }
    }
    if reference.len() != current.len() {
        return Err(StatsError::LengthMismatch {
            left: reference.len(),
            right: current.len(),
        });
    }
    Ok(reference
        .iter()
        .zip(current)
        .map(|(r, c)| (r - c) * (r / c).ln())
        .sum())
}

/// PSI with bins at reference quantiles (recwatch's default binning).
///
/// Inner edges are the reference quantiles at `k/n_bins`, `k = 1 … n_bins−1` ([`quantile`](super::quantile),
/// linear interpolation), duplicates removed; outer edges are ±∞, so every current value falls
/// in some bin. Bins are `[eₖ, eₖ₊₁)`. Shares of an empty bin are raised to `floor`
/// ([`PSI_DEFAULT_FLOOR`] is the usual choice), then [`psi`] is applied. A quantile that
/// repeats (a point mass of the reference, e.g. a constant reference at `v`) gets a bin of its
/// own, `[v, v⁺)` with `v⁺` the next float, so a current column that moved off it scores high.
///
/// # Errors
///
/// [`StatsError::EmptySample`] / [`StatsError::NonFinite`] for unusable samples;
/// [`StatsError::InvalidParameter`] for `n_bins < 2` or `floor` not in `(0, 1)`.
///
/// ```
/// use recwatch::drift::stats::{psi_quantile_bins, PSI_DEFAULT_FLOOR};
/// let r: Vec<f64> = (0..100).map(f64::from).collect();
/// assert!(psi_quantile_bins(&r, &r, 10, PSI_DEFAULT_FLOOR)?.abs() < 1e-12);
/// # Ok::<(), recwatch::drift::stats::StatsError>(())
/// ```
pub fn psi_quantile_bins(
    reference: &[f64],
    current: &[f64],
    n_bins: usize,
    floor: f64,
) -> Result<f64, StatsError> {
    check_finite("reference", reference)?;
    check_finite("current", current)?;
    psi_quantile_bins_sorted(
        sorted_copy(reference).as_slice(),
        sorted_copy(current).as_slice(),
        n_bins,
        floor,
    )
}

/// [`psi_quantile_bins`] on sorted finite samples.
pub(crate) fn psi_quantile_bins_sorted<R: Sample + ?Sized, C: Sample + ?Sized>(
    r: &R,
    c: &C,
    n_bins: usize,
    floor: f64,
) -> Result<f64, StatsError> {
    if n_bins < 2 {
        return Err(StatsError::InvalidParameter {
            name: "n_bins",
            reason: "at least 2 bins are needed",
        });
    }
    if !(floor > 0.0 && floor < 1.0) {
        return Err(StatsError::InvalidParameter {
            name: "floor",
            reason: "must lie in (0, 1)",
        });
    }
    let mut edges = vec![f64::NEG_INFINITY];
    let mut atoms = Vec::new();
    for k in 1..n_bins {
        let q = quantile_of(r, k as f64 / n_bins as f64);
        let last = *edges.last().unwrap_or(&f64::NEG_INFINITY);
        if q > last {
            edges.push(q);
        } else if q == last && atoms.last() != Some(&q) {
            atoms.push(q);
        }
    }
    // A repeated quantile is a point mass of the reference: it gets a bin of its own,
    // [q, next float after q), so values above it are not pooled with it (a constant
    // reference would otherwise leave one bin for everything ≥ q and a PSI of 0 for a
    // current column that moved entirely above it).
    for a in atoms {
        let up = next_up(a);
        if let Err(i) = edges.binary_search_by(|e| e.total_cmp(&up)) {
            edges.insert(i, up);
        }
    }
    edges.push(f64::INFINITY);
    let share = |h: Vec<f64>, n: u64| -> Vec<f64> {
        h.into_iter()
            .map(|v| (v / n as f64).max(if v == 0.0 { floor } else { 0.0 }))
            .collect()
    };
    psi(
        &share(histogram_sorted(r, &edges), r.total()),
        &share(histogram_sorted(c, &edges), c.total()),
    )
}

/// The smallest float greater than a finite `x` (`f64::next_up`, stable only from Rust 1.86).
fn next_up(x: f64) -> f64 {
    if x == 0.0 {
        return f64::from_bits(1);
    }
    let b = x.to_bits();
    f64::from_bits(if x > 0.0 { b + 1 } else { b - 1 })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn constant_reference_detects_a_moved_current() {
        let r = vec![3.0; 500];
        let moved: Vec<f64> = (0..500).map(|i| 10.0 + i as f64 / 100.0).collect();
        let v = psi_quantile_bins(&r, &moved, 10, PSI_DEFAULT_FLOOR).unwrap();
        // every value changes bin: (1 − 1e-4)·ln(1e4) twice
        assert!((v - 2.0 * (1.0 - 1e-4) * (1e4f64).ln()).abs() < 1e-9, "{v}");
        assert_eq!(
            psi_quantile_bins(&r, &r, 10, PSI_DEFAULT_FLOOR).unwrap(),
            0.0
        );
        assert!(next_up(-1.0) > -1.0 && next_up(0.0) > 0.0 && next_up(2.0) > 2.0);
    }
}
