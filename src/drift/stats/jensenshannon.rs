//! Jensen–Shannon distance.

use super::StatsError;

/// Jensen–Shannon distance between two discrete distributions, natural logarithm, as
/// `scipy.spatial.distance.jensenshannon(p, q)`.
///
/// Both vectors are first normalised to sum to 1. With `m = (p + q)/2`:
///
/// ```text
/// JS(p, q) = √( (KL(p ‖ m) + KL(q ‖ m)) / 2 ),   KL(a ‖ b) = Σ aᵢ ln(aᵢ / bᵢ)   (0·ln 0 = 0)
/// ```
///
/// The result lies in `[0, √ln 2]`; a tiny negative rounding residue under the root is taken
/// as 0, so identical inputs give exactly 0 and never NaN.
///
/// Reference: J. Lin, "Divergence measures based on the Shannon entropy", *IEEE Trans. Inf.
/// Theory* 37(1) (1991) 145–151; D. M. Endres and J. E. Schindelin, "A new metric for
/// probability distributions", *IEEE Trans. Inf. Theory* 49(7) (2003) 1858–1860.
///
/// # Errors
///
/// [`StatsError::EmptySample`], [`StatsError::LengthMismatch`], [`StatsError::NonFinite`] for a
/// negative or non-finite weight, [`StatsError::InvalidParameter`] when a vector sums to 0.
///
/// ```
/// use recwatch::drift::stats::jensenshannon;
/// // scipy.spatial.distance.jensenshannon([1.0, 0.0, 0.0], [0.0, 1.0, 0.0]) == 0.8325546111576977
/// let d = jensenshannon(&[1.0, 0.0, 0.0], &[0.0, 1.0, 0.0])?;
/// assert!((d - 0.8325546111576977).abs() < 1e-12);
/// # Ok::<(), recwatch::drift::stats::StatsError>(())
/// ```
pub fn jensenshannon(p: &[f64], q: &[f64]) -> Result<f64, StatsError> {
    for (name, x) in [("p", p), ("q", q)] {
        if x.is_empty() {
            return Err(StatsError::EmptySample { name });
        }
        if x.iter().any(|v| !v.is_finite() || *v < 0.0) {
            return Err(StatsError::NonFinite { name });
        }
    }
    if p.len() != q.len() {
        return Err(StatsError::LengthMismatch {
            left: p.len(),
            right: q.len(),
        });
    }
    let sp: f64 = p.iter().sum();
    let sq: f64 = q.iter().sum();
    if sp <= 0.0 || sq <= 0.0 {
        return Err(StatsError::InvalidParameter {
            name: "p/q",
            reason: "weights must not all be zero",
        });
    }
    let rel_entr = |a: f64, b: f64| if a > 0.0 { a * (a / b).ln() } else { 0.0 };
    let mut left = 0.0;
    let mut right = 0.0;
    for (&a, &b) in p.iter().zip(q) {
        let (a, b) = (a / sp, b / sq);
        let m = (a + b) / 2.0;
        left += rel_entr(a, m);
        right += rel_entr(b, m);
    }
    Ok(((left + right) / 2.0).max(0.0).sqrt())
}
