//! The finite-n Kolmogorov distribution (two-sided, one-sample) and Smirnov's one-sided
//! distribution, used for the asymptotic two-sample KS p-value.

use statrs::function::gamma::ln_gamma;
use std::f64::consts::PI;

/// Survival function of the one-sided Kolmogorov–Smirnov statistic, `Pr(D⁺ₙ ≥ x)`.
///
/// Computed with the Birnbaum–Tingey formula, summed in log space (all terms are positive):
///
/// ```text
/// Pr(D⁺ₙ ≥ x) = x · Σ_{j=0}^{⌊n(1−x)⌋} C(n, j) · (1 − x − j/n)^(n−j) · (x + j/n)^(j−1)
/// ```
///
/// Matches `scipy.special.smirnov(n, x)`.
///
/// Reference: Z. W. Birnbaum and F. H. Tingey, "One-sided confidence contours for probability
/// distribution functions", *Ann. Math. Statist.* 22 (1951) 592–596.
///
/// ```
/// let p = recwatch::drift::stats::smirnov_sf(10, 0.3);
/// assert!((p - 0.1354635556).abs() < 1e-9); // scipy.special.smirnov(10, 0.3)
/// ```
pub fn smirnov_sf(n: u64, x: f64) -> f64 {
    if n == 0 || x.is_nan() {
        return f64::NAN;
    }
    if x <= 0.0 {
        return 1.0;
    }
    if x >= 1.0 {
        return 0.0;
    }
    let nf = n as f64;
    let jmax = (nf * (1.0 - x)).floor() as u64;
    let ln_n_fact = ln_gamma(nf + 1.0);
    let ln_x = x.ln();
    // Streaming log-sum-exp. The terms are unimodal in j, so once past the peak and below
    // e^-60 of it (far under f64 resolution) the rest cannot matter.
    let mut max_t = f64::NEG_INFINITY;
    let mut sum = 0.0f64; // Σ exp(t − max_t)
    for j in 0..=jmax {
        let jf = j as f64;
        let a = 1.0 - x - jf / nf;
        if a <= 0.0 {
            // (1 − x − j/n)^(n − j) vanishes unless n − j == 0, excluded by j ≤ n(1 − x) < n.
            continue;
        }
        let ln_c = ln_n_fact - ln_gamma(jf + 1.0) - ln_gamma(nf - jf + 1.0);
        let t =
            ln_c + (nf - jf) * (-(x + jf / nf)).ln_1p() + (jf - 1.0) * (x + jf / nf).ln() + ln_x;
        if t > max_t {
            sum = sum * (max_t - t).exp() + 1.0;
            max_t = t;
        } else {
            sum += (t - max_t).exp();
            if t < max_t - 60.0 {
                break;
            }
        }
    }
    if max_t == f64::NEG_INFINITY {
        return 0.0;
    }
    (max_t + sum.ln()).exp().clamp(0.0, 1.0)
}

/// Survival function of the two-sided one-sample Kolmogorov–Smirnov statistic for sample
/// size `n`, `Pr(Dₙ ≥ x)` (scipy's `kstwo.sf(x, n)`).
///
/// Follows the region split of Simard & L'Ecuyer (2011): Ruben–Gambino closed forms at the
/// extremes, `2·smirnov(n, x)` in the upper tail (`n·x² ≥ 2.2`, or `x ≥ 0.5`), the
/// Durbin matrix in the Marsaglia–Tsang–Wang form for small `n` or small `x`, and the
/// Pelz–Good asymptotic series otherwise.
///
/// References: R. Simard and P. L'Ecuyer, "Computing the two-sided Kolmogorov–Smirnov
/// distribution", *J. Stat. Softw.* 39(11) (2011); G. Marsaglia, W. W. Tsang and J. Wang,
/// "Evaluating Kolmogorov's distribution", *J. Stat. Softw.* 8(18) (2003); W. Pelz and
/// I. J. Good, "Approximating the lower tail-areas of the Kolmogorov–Smirnov one-sample
/// statistic", *JRSS B* 38(2) (1976).
///
/// ```
/// // scipy.stats.kstwo.sf(0.05, 1000) == 0.013012074781090332
/// let p = recwatch::drift::stats::kolmogorov_sf(1000, 0.05);
/// assert!((p / 0.013012074781090332 - 1.0).abs() < 1e-6);
/// ```
pub fn kolmogorov_sf(n: u64, x: f64) -> f64 {
    if n == 0 || x.is_nan() {
        return f64::NAN;
    }
    if x >= 1.0 {
        return 0.0;
    }
    if x <= 0.0 {
        return 1.0;
    }
    let nf = n as f64;
    let t = nf * x;
    if t <= 1.0 {
        if t <= 0.5 {
            return 1.0;
        }
        // Pr(Dn <= x) = n!/n^n (2t − 1)^n
        let ln_cdf = ln_nfact_over_npow_n(n) + nf * (2.0 * t - 1.0).ln();
        return (1.0 - ln_cdf.exp()).clamp(0.0, 1.0);
    }
    if t >= nf - 1.0 {
        return (2.0 * (1.0 - x).powf(nf)).clamp(0.0, 1.0);
    }
    if x >= 0.5 {
        return (2.0 * smirnov_sf(n, x)).clamp(0.0, 1.0);
    }
    let nxx = t * x;
    if n <= 140 {
        if nxx <= 4.0 {
            return (1.0 - durbin_mtw_cdf(n, x)).clamp(0.0, 1.0);
        }
        return (2.0 * smirnov_sf(n, x)).clamp(0.0, 1.0);
    }
    if nxx >= 370.0 {
        return 0.0;
    }
    if nxx >= 2.2 {
        return (2.0 * smirnov_sf(n, x)).clamp(0.0, 1.0);
    }
    if n <= 100_000 && nf * x.powf(1.5) <= 1.4 {
        return (1.0 - durbin_mtw_cdf(n, x)).clamp(0.0, 1.0);
    }
    pelz_good_sf(n, x).clamp(0.0, 1.0)
}

/// `ln(n! / nⁿ)` (exact sum for small n, Stirling series otherwise).
fn ln_nfact_over_npow_n(n: u64) -> f64 {
    let nf = n as f64;
    if n <= 140 {
        return (1..=n).map(|i| (i as f64 / nf).ln()).sum();
    }
    ln_gamma(nf + 1.0) - nf * nf.ln()
}

/// Durbin's matrix formula for `Pr(Dₙ < d)` in the form of Marsaglia, Tsang and Wang (2003):
/// with `d = (k − h)/n`, the answer is `n!/nⁿ · (Hⁿ)ₖₖ` for an `m × m` matrix `H`,
/// `m = 2k − 1`, computed by repeated squaring with explicit exponent scaling.
fn durbin_mtw_cdf(n: u64, d: f64) -> f64 {
    let nd = n as f64 * d;
    if nd <= 0.5 {
        return 0.0;
    }
    let k = nd.ceil() as usize;
    let h = k as f64 - nd;
    let m = 2 * k - 1;
    let mut hm = vec![0.0f64; m * m];
    // First column v (and, reversed, last row); 1/(j)! on and below the super-diagonal.
    let mut v = vec![0.0f64; m];
    let mut w = vec![0.0f64; m];
    let mut fac = 1.0f64;
    for j in 1..=m {
        w[j - 1] = fac;
        fac /= j as f64;
        v[j - 1] = (1.0 - h.powi(j as i32)) * fac;
    }
    let tt = (2.0 * h - 1.0).max(0.0).powi(m as i32) - 2.0 * h.powi(m as i32);
    v[m - 1] = (1.0 + tt) * fac;
    for i in 1..m {
        // column i, rows i-1 .. m-1 get w[0 .. m-i+1]
        for r in (i - 1)..m {
            hm[r * m + i] = w[r - (i - 1)];
        }
    }
    for r in 0..m {
        hm[r * m] = v[r];
    }
    for c in 0..m {
        hm[(m - 1) * m + c] = v[m - 1 - c];
    }
    let matmul = |a: &[f64], b: &[f64]| -> Vec<f64> {
        let mut out = vec![0.0f64; m * m];
        for i in 0..m {
            for l in 0..m {
                let ail = a[i * m + l];
                if ail == 0.0 {
                    continue;
                }
                for j in 0..m {
                    out[i * m + j] += ail * b[l * m + j];
                }
            }
        }
        out
    };
    const E: i32 = 128;
    let big = 2f64.powi(E);
    let mut pw: Vec<f64> = (0..m * m)
        .map(|i| if i % (m + 1) == 0 { 1.0 } else { 0.0 })
        .collect();
    let mut nn = n;
    let mut expnt: i64 = 0;
    let mut hexp: i64 = 0;
    while nn > 0 {
        if nn % 2 == 1 {
            pw = matmul(&pw, &hm);
            expnt += hexp;
        }
        hm = matmul(&hm, &hm);
        hexp *= 2;
        if hm[(k - 1) * m + (k - 1)].abs() > big {
            for x in hm.iter_mut() {
                *x /= big;
            }
            hexp += E as i64;
        }
        nn /= 2;
    }
    let mut p = pw[(k - 1) * m + (k - 1)];
    let nf = n as f64;
    let small = 2f64.powi(-E);
    for i in 1..=n {
        p = i as f64 * p / nf;
        if p.abs() < small {
            p *= big;
            expnt -= E as i64;
        }
    }
    if expnt != 0 {
        p *= 2f64.powf(expnt as f64);
    }
    p
}

/// Pelz–Good asymptotic series for `Pr(Dₙ ≥ x)`:
/// `Pr(Dₙ ≤ x) ≈ K₀(z) + K₁(z)/√n + K₂(z)/n + K₃(z)/n^{3/2}`, `z = x√n`, with each `Kᵢ`
/// rewritten through Jacobi theta functions so that it converges for small `z`.
fn pelz_good_sf(n: u64, x: f64) -> f64 {
    let nf = n as f64;
    let z = nf.sqrt() * x;
    let z2 = z * z;
    let z3 = z2 * z;
    let z4 = z2 * z2;
    let z6 = z4 * z2;
    let qlog = -PI * PI / 8.0 / z2;
    if qlog < -708.0 {
        return 1.0;
    }
    let q = qlog.exp();
    let pi2 = PI * PI;
    let pi4 = pi2 * pi2;
    let pi6 = pi4 * pi2;
    let k1a = -z2;
    let k1b = pi2 / 4.0;
    let k2a = 6.0 * z6 + 2.0 * z4;
    let k2b = (2.0 * z4 - 5.0 * z2) * pi2 / 4.0;
    let k2c = pi4 * (1.0 - 2.0 * z2) / 16.0;
    let k3d = pi6 * (5.0 - 30.0 * z2) / 64.0;
    let k3c = pi4 * (-60.0 * z2 + 212.0 * z4) / 16.0;
    let k3b = pi2 * (135.0 * z4 - 96.0 * z6) / 4.0;
    let k3a = -30.0 * z6 - 90.0 * z6 * z2;
    let mut k = [0.0f64; 4];
    let maxk = (16.0 * z / PI).ceil() as i64;
    // Horner evaluation of Σ c_i q^{(2i−1)²} over odd integers.
    for kk in (1..=maxk).rev() {
        let m = (2 * kk - 1) as f64;
        let m2 = m * m;
        let m4 = m2 * m2;
        let m6 = m4 * m2;
        let qp = q.powf(8.0 * kk as f64);
        let c = [
            1.0,
            k1a + k1b * m2,
            k2a + k2b * m2 + k2c * m4,
            k3a + k3b * m2 + k3c * m4 + k3d * m6,
        ];
        for i in 0..4 {
            k[i] = k[i] * qp + c[i];
        }
    }
    let sqrt2pi = (2.0 * PI).sqrt();
    let div = [z, 6.0 * z4, 72.0 * z6 * z, 6480.0 * z6 * z4];
    for i in 0..4 {
        k[i] = k[i] * q * sqrt2pi / div[i];
    }
    // The remaining sums over all integers k.
    let q2 = (-pi2 / 2.0 / z2).exp();
    let sqrt3z = 3f64.sqrt() * z;
    let mut k2extra = 0.0;
    let mut k3extra = 0.0;
    for kk in (1..=maxk).rev() {
        let kf = kk as f64;
        let ks2 = kf * kf;
        let qpw = q2.powf(ks2);
        let kspi = PI * kf;
        k2extra += ks2 * qpw;
        k3extra += (sqrt3z + kspi) * (sqrt3z - kspi) * ks2 * qpw;
    }
    k[2] += k2extra * pi2 * sqrt2pi / (-36.0 * z3);
    k[3] += k3extra * pi2 * sqrt2pi / (216.0 * z6);
    for (i, ki) in k.iter_mut().enumerate() {
        *ki /= nf.powf(i as f64 / 2.0);
    }
    // sf = 1 − Σ K_i
    (1.0 - k[0]) - k[1] - k[2] - k[3]
}
