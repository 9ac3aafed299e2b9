//! Two-sample Kolmogorov–Smirnov test.

use super::kolmogorov::kolmogorov_sf;
use super::sample::{Cursor, Sample};
use super::{check_finite, sorted_copy, StatsError, TestResult};

/// Sample sizes up to which [`KsMethod::Auto`] computes the exact p-value (scipy's
/// `MAX_AUTO_N`).
const MAX_AUTO_N: usize = 10_000;

/// How [`ks_2samp_pvalue`] computes the two-sided p-value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum KsMethod {
    /// Exact when `max(n1, n2) ≤ 10 000`, asymptotic otherwise (scipy's `method="auto"`).
    #[default]
    Auto,
    /// The exact null distribution of `D` (lattice-path counting).
    Exact,
    /// The asymptotic form: the one-sample Kolmogorov distribution with
    /// `n = round(n1·n2/(n1+n2))`.
    Asymptotic,
}

/// Two-sample Kolmogorov–Smirnov test, two-sided, on unsorted finite samples.
///
/// The statistic is the largest distance between the two empirical distribution functions,
///
/// ```text
/// D = sup_x | F₁(x) − F₂(x) |,   F_i(x) = #{ sample_i ≤ x } / n_i
/// ```
///
/// evaluated at every distinct value of the pooled sample, so **ties** (within and across the
/// samples) are treated as scipy treats them: both ECDFs jump by the full count of the tied
/// value at once. The p-value is computed as by `scipy.stats.ks_2samp(a, b, method="auto")`:
/// exact when `max(n1, n2) ≤ 10 000` (see [`ks_2samp_pvalue`]), asymptotic otherwise.
///
/// Reference: J. L. Hodges Jr., "The significance probability of the Smirnov two-sample test",
/// *Arkiv för Matematik* 3 (1958) 469–486.
///
/// # Errors
///
/// [`StatsError::EmptySample`] for an empty sample, [`StatsError::NonFinite`] for NaN or ±∞.
///
/// ```
/// use recwatch::drift::stats::ks_2samp;
/// // scipy.stats.ks_2samp([1, 2, 3, 4], [3, 4, 5, 6, 7]) -> statistic=0.6, pvalue=0.2857142857
/// let r = ks_2samp(&[1.0, 2.0, 3.0, 4.0], &[3.0, 4.0, 5.0, 6.0, 7.0])?;
/// assert!((r.statistic - 0.6).abs() < 1e-12);
/// assert!((r.p_value - 0.2857142857142857).abs() < 1e-9);
/// # Ok::<(), recwatch::drift::stats::StatsError>(())
/// ```
pub fn ks_2samp(a: &[f64], b: &[f64]) -> Result<TestResult, StatsError> {
    check_finite("a", a)?;
    check_finite("b", b)?;
    ks_2samp_sorted(&sorted_copy(a), &sorted_copy(b))
}

/// [`ks_2samp`] on samples that are already sorted ascending (no copy, no sort).
///
/// # Errors
///
/// [`StatsError::EmptySample`] for an empty sample, [`StatsError::NonFinite`] for NaN or ±∞,
/// [`StatsError::InvalidParameter`] when a sample is not sorted.
///
/// ```
/// use recwatch::drift::stats::ks_2samp_sorted;
/// let r = ks_2samp_sorted(&[1.0, 2.0, 3.0], &[1.0, 2.0, 3.0])?;
/// assert_eq!(r.statistic, 0.0);
/// assert_eq!(r.p_value, 1.0);
/// # Ok::<(), recwatch::drift::stats::StatsError>(())
/// ```
pub fn ks_2samp_sorted(a: &[f64], b: &[f64]) -> Result<TestResult, StatsError> {
    check_finite("a", a)?;
    check_finite("b", b)?;
    if a.windows(2).any(|w| w[0] > w[1]) || b.windows(2).any(|w| w[0] > w[1]) {
        return Err(StatsError::InvalidParameter {
            name: "a/b",
            reason: "samples must be sorted ascending",
        });
    }
    Ok(ks_2samp_of(a, b))
}

/// [`ks_2samp_sorted`] on two [`Sample`]s (checked by the caller); the p-value takes the
/// samples' sizes, which for a summarised sample are the sizes of the data it summarises.
pub(crate) fn ks_2samp_of<A: Sample + ?Sized, B: Sample + ?Sized>(a: &A, b: &B) -> TestResult {
    let (n1, n2) = (a.total(), b.total());
    let g = gcd(n1, n2);
    // Work in integer units of 1/lcm: F1 - F2 = (i·n2/g − j·n1/g) / lcm.
    let (s1, s2) = ((n2 / g) as i128, (n1 / g) as i128);
    let (mut i, mut j) = (0u64, 0u64);
    let mut h: i128 = 0;
    let (mut ca, mut cb) = (a.cursor(), b.cursor());
    while let (Some(p), Some(q)) = (ca.peek(), cb.peek()) {
        let x = p.min(q);
        i += ca.take_eq(x);
        j += cb.take_eq(x);
        let diff = (i as i128 * s1 - j as i128 * s2).abs();
        h = h.max(diff);
    }
    // After one sample is exhausted, F_exhausted = 1 and the other only grows toward 1,
    // so the distance can only shrink: the maximum is already found.
    let lcm = (n1 / g) as f64 * n2 as f64;
    let d = h as f64 / lcm;
    let p = pvalue_from_h(h as u128, n1, n2, g, d, KsMethod::Auto);
    TestResult {
        statistic: d,
        p_value: p,
    }
}

/// Two-sided p-value of the two-sample KS statistic `d` for sample sizes `n1`, `n2`.
///
/// - **Exact**: the proportion of monotone lattice paths from `(0,0)` to `(n1,n2)` that
///   touch or leave the band `|x/n1 − y/n2| < d`. For `n1 = n2 = n` it is the alternating
///   series `2 Σ_{k≥1} (−1)^{k+1} C(2n, n−kh)/C(2n, n)` evaluated in nested (Horner) form;
///   otherwise the complement probability is propagated column by column inside the band with
///   the recursion `q(x,y) = (x·q(x−1,y) + y·q(x,y−1))/(x+y)`, `q = 1` outside the band, which
///   gives the p-value without the cancellation of `1 − inside/C(n1+n2, n1)`
///   (Hodges 1958; T. Viehmann, "Numerically more stable computation of the p-values for the
///   two-sample Kolmogorov–Smirnov test", arXiv:2102.08037).
/// - **Asymptotic**: `kolmogorov_sf(round(n1·n2/(n1+n2)), d)`, as scipy does.
///
/// `Auto` is exact when `max(n1, n2) ≤ 10 000`.
///
/// ```
/// use recwatch::drift::stats::{ks_2samp_pvalue, KsMethod};
/// // scipy.stats.ks_2samp([1, 2, 3, 4], [3, 4, 5, 6, 7]).pvalue == 0.2857142857142857
/// let p = ks_2samp_pvalue(0.6, 4, 5, KsMethod::Exact);
/// assert!((p - 0.2857142857142857).abs() < 1e-9);
/// ```
pub fn ks_2samp_pvalue(d: f64, n1: u64, n2: u64, method: KsMethod) -> f64 {
    if n1 == 0 || n2 == 0 || d.is_nan() {
        return f64::NAN;
    }
    let g = gcd(n1, n2);
    let lcm = (n1 / g) as f64 * n2 as f64;
    let h = (d.clamp(0.0, 1.0) * lcm).round() as u128;
    pvalue_from_h(h, n1, n2, g, d, method)
}

fn pvalue_from_h(h: u128, n1: u64, n2: u64, g: u64, d: f64, method: KsMethod) -> f64 {
    let exact = match method {
        KsMethod::Auto => n1.max(n2) as usize <= MAX_AUTO_N,
        KsMethod::Exact => ((n1 / g) as u128) * (n2 as u128) < i32::MAX as u128,
        KsMethod::Asymptotic => false,
    };
    if exact {
        if h == 0 {
            return 1.0;
        }
        let p = if n1 == n2 {
            prob_outside_square(n1, h as u64)
        } else {
            prob_outside_band(n1, n2, g, h as u64)
        };
        if (0.0..=1.0).contains(&p) {
            return p;
        }
    }
    let (m, n) = (n1.max(n2) as f64, n1.min(n2) as f64);
    let en = (m * n / (m + n)).round_ties_even();
    kolmogorov_sf(en.max(1.0) as u64, d).clamp(0.0, 1.0)
}

/// `Pr(D_{n,n} ≥ h/n)`: `2·(A₁ − A₁A₂ + A₁A₂A₃ − …)` with
/// `A_k = C(2n, n−kh)/C(2n, n−(k−1)h)`, nested so that no large binomials appear.
fn prob_outside_square(n: u64, h: u64) -> f64 {
    let mut p = 0.0f64;
    let mut k = n / h;
    loop {
        // ratio C(2n, n − kh) / C(2n, n − (k−1)h): h factors.
        let mut ratio = 1.0f64;
        for j in 0..h {
            let num = n as f64 - (k * h) as f64 - j as f64;
            let den = n as f64 + (k * h) as f64 + j as f64 + 1.0;
            ratio = num * ratio / den;
        }
        p = ratio * (1.0 - p);
        if k == 0 {
            break;
        }
        k -= 1;
    }
    2.0 * p
}

/// Proportion of lattice paths from `(0,0)` to `(m,n)` that do not stay strictly inside
/// `|ng·x − mg·y| < h` (units of `1/lcm`), by the in-band complement recursion.
fn prob_outside_band(n1: u64, n2: u64, g: u64, h: u64) -> f64 {
    let (m, n) = if n1 >= n2 { (n1, n2) } else { (n2, n1) };
    let (mg, ng) = ((m / g) as i128, (n / g) as i128);
    let h = h as i128;
    let n_us = n as usize;
    // q[y] for the current column x; entries above the band hold 1.
    let mut q = vec![1.0f64; n_us + 1];
    // Column x = 0: y inside iff mg·y < h.
    let hi0 = ceil_div(h, mg).min(n as i128 + 1) as usize;
    for v in q.iter_mut().take(hi0) {
        *v = 0.0;
    }
    for x in 1..=m as i128 {
        // inside: (ng·x − h)/mg < y < (ng·x + h)/mg
        let lo = (floor_div(ng * x - h, mg) + 1).max(0).min(n as i128);
        let hi = ceil_div(ng * x + h, mg).min(n as i128 + 1);
        if hi <= lo {
            return 1.0;
        }
        let xf = x as f64;
        // q(x, lo − 1) is outside the band (or y = −1 with weight 0).
        let mut below = 1.0f64;
        for (y, qy) in q.iter_mut().enumerate().take(hi as usize).skip(lo as usize) {
            let yf = y as f64;
            let v = (xf * *qy + yf * below) / (xf + yf);
            *qy = v;
            below = v;
        }
    }
    // (m, n) lies on the diagonal, always inside the band.
    q[n_us]
}

fn floor_div(a: i128, b: i128) -> i128 {
    a.div_euclid(b)
}

fn ceil_div(a: i128, b: i128) -> i128 {
    -((-a).div_euclid(b))
}

fn gcd(mut a: u64, mut b: u64) -> u64 {
    while b != 0 {
        (a, b) = (b, a % b);
    }
    a
}
