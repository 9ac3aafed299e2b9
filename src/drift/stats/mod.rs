//! Statistics kernels for drift detection: pure functions on slices, no polars.
//!
//! Every kernel documents its formula and a reference, and is tested against values produced
//! by scipy (and Evidently 0.7.23 where Evidently defines the statistic), with the generating
//! Python call next to each expected number.
//!
//! | kernel | what it returns | matches |
//! |---|---|---|
//! | [`ks_2samp`] | KS statistic *D* and two-sided p-value | `scipy.stats.ks_2samp(method="auto")` |
//! | [`chisquare`], [`chisquare_gof`] | χ² and p-value | `scipy.stats.chisquare`, Evidently `chisquare` |
//! | [`chi2_contingency_2xk`] | χ² homogeneity test | `scipy.stats.chi2_contingency` |
//! | [`z_test_proportions`] | two-proportion *z* and p-value | Evidently `z` |
//! | [`psi`], [`psi_quantile_bins`] | population stability index | Evidently `psi` (with [`evidently_binned`]) |
//! | [`wasserstein_distance`], [`wasserstein_normed`] | earth mover's distance | scipy / Evidently `wasserstein` |
//! | [`jensenshannon`] | Jensen–Shannon distance (natural log) | `scipy.spatial.distance.jensenshannon` |
//!
//! # Example
//!
//! ```
//! use recwatch::drift::stats::{ks_2samp, wasserstein_normed};
//!
//! let reference = [0.1, 0.4, 0.35, 0.8, 0.9, 0.2];
//! let current = [0.6, 0.7, 1.2, 1.4, 0.95, 1.1];
//! // scipy.stats.ks_2samp(reference, current) -> statistic=0.6666666666666666, pvalue=0.14285714285714285
//! let ks = ks_2samp(&reference, &current)?;
//! assert!((ks.statistic - 2.0 / 3.0).abs() < 1e-12);
//! assert!((ks.p_value - 0.14285714285714285).abs() < 1e-9);
//! let w = wasserstein_normed(&reference, &current)?;
//! assert!(w > 0.1);
//! # Ok::<(), recwatch::drift::stats::StatsError>(())
//! ```

pub(crate) mod binning;
mod chisquare;
mod error;
mod jensenshannon;
mod kolmogorov;
pub(crate) mod ks;
pub(crate) mod psi;
pub(crate) mod sample;
pub(crate) mod wasserstein;
mod ztest;

pub use binning::{
    evidently_binned, quantile, sturges_edges, sturges_edges_integer, EvidentlyBinned,
};
pub use chisquare::{chi2_contingency_2xk, chisquare, chisquare_gof};
pub use error::StatsError;
pub use jensenshannon::jensenshannon;
pub use kolmogorov::{kolmogorov_sf, smirnov_sf};
pub use ks::{ks_2samp, ks_2samp_pvalue, ks_2samp_sorted, KsMethod};
pub use psi::{psi, psi_quantile_bins, PSI_DEFAULT_FLOOR};
pub use wasserstein::{
    population_std, wasserstein_distance, wasserstein_distance_sorted, wasserstein_normed,
};
pub use ztest::z_test_proportions;

/// The result of a hypothesis test: the test statistic and its p-value.
#[derive(Debug, Clone, Copy, PartialEq)]
#[non_exhaustive]
pub struct TestResult {
    /// The test statistic (KS *D*, χ², *z*, …).
    pub statistic: f64,
    /// The p-value, in `[0, 1]`.
    pub p_value: f64,
}

/// Checks that a slice holds only finite values.
pub(crate) fn check_finite(name: &'static str, x: &[f64]) -> Result<(), StatsError> {
    if x.is_empty() {
        return Err(StatsError::EmptySample { name });
    }
    if x.iter().any(|v| !v.is_finite()) {
        return Err(StatsError::NonFinite { name });
    }
    Ok(())
}

/// Sorts a copy of finite values (total order).
pub(crate) fn sorted_copy(x: &[f64]) -> Vec<f64> {
    let mut v = x.to_vec();
    binning::sort_f64(&mut v);
    v
}
