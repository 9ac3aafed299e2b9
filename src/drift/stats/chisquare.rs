//! Chi-square tests: goodness of fit (Evidently's `chisquare`) and 2×K homogeneity.

use super::{StatsError, TestResult};
use statrs::distribution::{ChiSquared, ContinuousCDF};

/// Pearson's chi-square goodness-of-fit test, `scipy.stats.chisquare(f_obs, f_exp)`.
///
/// ```text
/// χ² = Σᵢ (Oᵢ − Eᵢ)² / Eᵢ,      p = Pr(χ²_{k−1} ≥ χ²)
/// ```
///
/// A category with `Eᵢ = 0` and `Oᵢ > 0` makes χ² infinite (p = 0), as in scipy; a category
/// with `Eᵢ = Oᵢ = 0` contributes nothing (scipy would give NaN). With a single category there
/// are no degrees of freedom: the result is χ² = 0, p = 1 (scipy gives NaN).
///
/// Reference: K. Pearson, "On the criterion that a given system of deviations from the
/// probable…", *Phil. Mag.* 50 (1900) 157–175.
///
/// # Errors
///
/// [`StatsError::EmptySample`], [`StatsError::LengthMismatch`], [`StatsError::NonFinite`] or a
/// negative frequency, and [`StatsError::InvalidParameter`] when the totals of `f_obs` and
/// `f_exp` differ by more than `1e-8` relative (scipy's check).
///
/// ```
/// use recwatch::drift::stats::chisquare;
/// // scipy.stats.chisquare([16, 18, 16, 14, 12, 12], [16, 16, 16, 16, 16, 8])
/// //   -> statistic=3.5, pvalue=0.6233876277495822
/// let r = chisquare(&[16., 18., 16., 14., 12., 12.], &[16., 16., 16., 16., 16., 8.])?;
/// assert!((r.statistic - 3.5).abs() < 1e-12);
/// assert!((r.p_value - 0.6233876277495822).abs() < 1e-9);
/// # Ok::<(), recwatch::drift::stats::StatsError>(())
/// ```
pub fn chisquare(f_obs: &[f64], f_exp: &[f64]) -> Result<TestResult, StatsError> {
    check_freq_pair(("f_obs", f_obs), ("f_exp", f_exp))?;
    let so: f64 = f_obs.iter().sum();
    let se: f64 = f_exp.iter().sum();
    if (so - se).abs() > 1e-8 * so.max(se) {
        return Err(StatsError::InvalidParameter {
            name: "f_exp",
            reason: "observed and expected frequencies must have the same total",
        });
    }
    let stat: f64 = f_obs
        .iter()
        .zip(f_exp)
        .map(|(&o, &e)| {
            if e == 0.0 {
                if o == 0.0 {
                    0.0
                } else {
                    f64::INFINITY
                }
            } else {
                (o - e) * (o - e) / e
            }
        })
        .sum();
    Ok(TestResult {
        statistic: stat,
        p_value: chi2_sf(stat, f_obs.len() as f64 - 1.0),
    })
}

/// Chi-square goodness of fit exactly as Evidently's `chisquare` drift test computes it:
/// expected counts are the reference proportions times the current count,
/// `Eᵢ = refᵢ · n_cur / n_ref`, observed counts are the current counts, then [`chisquare`].
///
/// Both slices are aligned by category (the union of categories; zero where absent). A
/// category absent from the reference but present in the current data gives p = 0.
///
/// # Errors
///
/// As [`chisquare`]; [`StatsError::EmptySample`] when either total is zero.
///
/// ```
/// use recwatch::drift::stats::chisquare_gof;
/// let r = chisquare_gof(&[50.0, 30.0, 20.0], &[25.0, 15.0, 10.0])?;
/// assert!(r.statistic.abs() < 1e-12);
/// assert!((r.p_value - 1.0).abs() < 1e-12);
/// # Ok::<(), recwatch::drift::stats::StatsError>(())
/// ```
pub fn chisquare_gof(reference: &[f64], current: &[f64]) -> Result<TestResult, StatsError> {
    check_freq_pair(("reference", reference), ("current", current))?;
    let nr: f64 = reference.iter().sum();
    let nc: f64 = current.iter().sum();
    if nr <= 0.0 {
        return Err(StatsError::EmptySample { name: "reference" });
    }
    if nc <= 0.0 {
        return Err(StatsError::EmptySample { name: "current" });
    }
    let k = nc / nr;
    let exp: Vec<f64> = reference.iter().map(|r| r * k).collect();
    chisquare(current, &exp)
}

/// Chi-square test of homogeneity on the 2×K contingency table whose rows are the reference and
/// current counts per category, `scipy.stats.chi2_contingency([reference, current],
/// correction=correction)`.
///
/// ```text
/// Eᵣₖ = rowᵣ · colₖ / N,    χ² = Σᵣₖ (Oᵣₖ − Eᵣₖ)² / Eᵣₖ,    dof = K − 1
/// ```
///
/// Unlike [`chisquare_gof`], a category unseen in the reference does not force p = 0: it is
/// one more column of the table. With `correction` and one degree of freedom (K = 2), Yates'
/// continuity correction moves each observed count up to 0.5 toward its expectation, as scipy
/// does. Categories with zero count in both rows are dropped.
///
/// Reference: K. Pearson (1900); F. Yates, "Contingency tables involving small numbers and the
/// χ² test", *Suppl. JRSS* 1(2) (1934) 217–235.
///
/// # Errors
///
/// As [`chisquare_gof`].
///
/// ```
/// use recwatch::drift::stats::chi2_contingency_2xk;
/// // scipy.stats.chi2_contingency([[10, 20, 30], [6, 9, 17]])
/// //   -> statistic=0.27157465150403504, pvalue=0.873028283380073
/// let r = chi2_contingency_2xk(&[10.0, 20.0, 30.0], &[6.0, 9.0, 17.0], true)?;
/// assert!((r.statistic - 0.27157465150403504).abs() < 1e-9);
/// assert!((r.p_value - 0.873028283380073).abs() < 1e-9);
/// # Ok::<(), recwatch::drift::stats::StatsError>(())
/// ```
pub fn chi2_contingency_2xk(
    reference: &[f64],
    current: &[f64],
    correction: bool,
) -> Result<TestResult, StatsError> {
    check_freq_pair(("reference", reference), ("current", current))?;
    let cols: Vec<(f64, f64)> = reference
        .iter()
        .zip(current)
        .filter(|(r, c)| **r + **c > 0.0)
        .map(|(r, c)| (*r, *c))
        .collect();
    let nr: f64 = cols.iter().map(|c| c.0).sum();
    let nc: f64 = cols.iter().map(|c| c.1).sum();
    if nr <= 0.0 {
        return Err(StatsError::EmptySample { name: "reference" });
    }
    if nc <= 0.0 {
        return Err(StatsError::EmptySample { name: "current" });
    }
    let n = nr + nc;
    let dof = cols.len() as f64 - 1.0;
    if dof <= 0.0 {
        return Ok(TestResult {
            statistic: 0.0,
            p_value: 1.0,
        });
    }
    let mut stat = 0.0;
    for &(r, c) in &cols {
        let col = r + c;
        for (o, row) in [(r, nr), (c, nc)] {
            let e = row * col / n;
            let mut o = o;
            if correction && dof == 1.0 {
                let diff = e - o;
                o += diff.signum() * diff.abs().min(0.5);
            }
            stat += (o - e) * (o - e) / e;
        }
    }
    Ok(TestResult {
        statistic: stat,
        p_value: chi2_sf(stat, dof),
    })
}

pub(crate) fn chi2_sf(stat: f64, dof: f64) -> f64 {
    if dof <= 0.0 {
        return 1.0;
    }
    if stat.is_infinite() {
        return 0.0;
    }
    match ChiSquared::new(dof) {
        Ok(d) => d.sf(stat).clamp(0.0, 1.0),
        Err(_) => f64::NAN,
    }
}

/// Both frequency vectors valid, and aligned (same length).
fn check_freq_pair(
    (left_name, left): (&'static str, &[f64]),
    (right_name, right): (&'static str, &[f64]),
) -> Result<(), StatsError> {
    check_freq(left_name, left)?;
    check_freq(right_name, right)?;
    if left.len() != right.len() {
        return Err(StatsError::LengthMismatch {
            left: left.len(),
            right: right.len(),
        });
    }
    Ok(())
}

fn check_freq(name: &'static str, x: &[f64]) -> Result<(), StatsError> {
    if x.is_empty() {
        return Err(StatsError::EmptySample { name });
    }
    if x.iter().any(|v| !v.is_finite() || *v < 0.0) {
        return Err(StatsError::NonFinite { name });
    }
    Ok(())
}
