//! Two-proportion Z-test (Evidently's `z`).

use super::{StatsError, TestResult};
use statrs::distribution::{ContinuousCDF, Normal};

/// Two-proportion Z-test with pooled variance, as Evidently's `z` drift test computes it.
///
/// With `p₁ = x₁/n₁` (reference), `p₂ = x₂/n₂` (current) and pooled `P = (x₁+x₂)/(n₁+n₂)`:
///
/// ```text
/// z = (p₁ − p₂) / √( P(1 − P)(1/n₁ + 1/n₂) ),     p-value = 2 · (1 − Φ(|z|))
/// ```
///
/// The p-value is evaluated as `2·(1 − Φ(|z|))`, exactly Evidently's expression (so it reaches
/// 0 a little earlier than `2·Φ(−|z|)` would). Evidently codes the first category in sorted
/// order as 0 and every other as 1; `x` counts the 1s. When both samples hold the same single
/// value (`P·(1−P) = 0`) the result is z = 0, p = 1, as in Evidently.
///
/// Reference: J. L. Fleiss, B. Levin, M. C. Paik, *Statistical Methods for Rates and
/// Proportions*, 3rd ed., Wiley (2003), §2.5.
///
/// # Errors
///
/// [`StatsError::EmptySample`] when `n₁` or `n₂` is 0; [`StatsError::InvalidParameter`] when
/// `x > n`.
///
/// ```
/// use recwatch::drift::stats::z_test_proportions;
/// let r = z_test_proportions(30, 100, 45, 100)?;
/// assert!(r.statistic < 0.0);
/// assert!(r.p_value < 0.05);
/// # Ok::<(), recwatch::drift::stats::StatsError>(())
/// ```
pub fn z_test_proportions(x1: u64, n1: u64, x2: u64, n2: u64) -> Result<TestResult, StatsError> {
    if n1 == 0 {
        return Err(StatsError::EmptySample { name: "reference" });
    }
    if n2 == 0 {
        return Err(StatsError::EmptySample { name: "current" });
    }
    if x1 > n1 || x2 > n2 {
        return Err(StatsError::InvalidParameter {
            name: "x",
            reason: "successes exceed the sample size",
        });
    }
    let (n1f, n2f) = (n1 as f64, n2 as f64);
    let p1 = x1 as f64 / n1f;
    let p2 = x2 as f64 / n2f;
    let pooled = (p1 * n1f + p2 * n2f) / (n1f + n2f);
    let var = pooled * (1.0 - pooled) * (1.0 / n1f + 1.0 / n2f);
    if var <= 0.0 {
        return Ok(TestResult {
            statistic: 0.0,
            p_value: 1.0,
        });
    }
    let z = (p1 - p2) / var.sqrt();
    let phi = Normal::standard().cdf(z.abs());
    Ok(TestResult {
        statistic: z,
        p_value: (2.0 * (1.0 - phi)).clamp(0.0, 1.0),
    })
}
