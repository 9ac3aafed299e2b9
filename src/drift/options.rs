//! Test choice and options of the drift detector: [`StatTest`], [`PsiBinning`],
//! [`ChiSquareMode`], [`Correction`].

use super::stats;
use super::DriftError;

/// A drift test or distance.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum StatTest {
    /// Two-sample Kolmogorov–Smirnov ([`stats::ks_2samp`]); drift when `p ≤ threshold`.
    Ks,
    /// Chi-square ([`stats::chisquare_gof`], or [`stats::chi2_contingency_2xk`] with
    /// [`ChiSquareMode::Homogeneity`]); drift when `p < threshold`.
    ChiSquare,
    /// Two-proportion Z-test ([`stats::z_test_proportions`]); drift when `p < threshold`.
    Z,
    /// Wasserstein distance normed by the reference std ([`stats::wasserstein_normed`]);
    /// drift when `distance ≥ threshold`.
    Wasserstein,
    /// Jensen–Shannon distance on Evidently's bins ([`stats::jensenshannon`]); drift when
    /// `distance ≥ threshold`.
    JensenShannon,
    /// Population stability index ([`stats::psi`], binning per [`PsiBinning`]); drift when
    /// `psi ≥ threshold`.
    Psi,
}

impl StatTest {
    /// The name used in reports (Evidently's names).
    ///
    /// ```
    /// assert_eq!(recwatch::drift::StatTest::Wasserstein.name(), "wasserstein");
    /// ```
    pub fn name(self) -> &'static str {
        match self {
            StatTest::Ks => "ks",
            StatTest::ChiSquare => "chisquare",
            StatTest::Z => "z",
            StatTest::Wasserstein => "wasserstein",
            StatTest::JensenShannon => "jensenshannon",
            StatTest::Psi => "psi",
        }
    }

    /// Parses a report name (`"ks"`, `"chisquare"`, `"z"`, `"wasserstein"`,
    /// `"jensenshannon"`, `"psi"`).
    ///
    /// ```
    /// use recwatch::drift::StatTest;
    /// assert_eq!(StatTest::from_name("ks"), Some(StatTest::Ks));
    /// assert_eq!(StatTest::from_name("t_test"), None);
    /// ```
    pub fn from_name(name: &str) -> Option<Self> {
        Some(match name {
            "ks" => StatTest::Ks,
            "chisquare" => StatTest::ChiSquare,
            "z" => StatTest::Z,
            "wasserstein" => StatTest::Wasserstein,
            "jensenshannon" => StatTest::JensenShannon,
            "psi" => StatTest::Psi,
            _ => return None,
        })
    }

    /// Whether the score is a p-value (else a distance).
    ///
    /// ```
    /// assert!(recwatch::drift::StatTest::Ks.is_pvalue());
    /// ```
    pub fn is_pvalue(self) -> bool {
        matches!(self, StatTest::Ks | StatTest::ChiSquare | StatTest::Z)
    }

    /// Evidently's default threshold: 0.05 for p-values, 0.1 for distances.
    ///
    /// ```
    /// assert_eq!(recwatch::drift::StatTest::Psi.default_threshold(), 0.1);
    /// ```
    pub fn default_threshold(self) -> f64 {
        if self.is_pvalue() {
            0.05
        } else {
            0.1
        }
    }

    /// Evidently's drift decision: `p ≤ t` for KS, `p < t` for chi-square and Z,
    /// `d ≥ t` for distances.
    ///
    /// ```
    /// use recwatch::drift::StatTest;
    /// assert!(StatTest::Ks.is_drift(0.05, 0.05));
    /// assert!(!StatTest::Z.is_drift(0.05, 0.05));
    /// assert!(StatTest::Wasserstein.is_drift(0.1, 0.1));
    /// ```
    pub fn is_drift(self, score: f64, threshold: f64) -> bool {
        match self {
            StatTest::Ks => score <= threshold,
            StatTest::ChiSquare | StatTest::Z => score < threshold,
            _ => score >= threshold,
        }
    }
}

impl std::str::FromStr for StatTest {
    type Err = DriftError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        StatTest::from_name(s).ok_or_else(|| DriftError::InvalidOption {
            name: "stattest",
            reason: format!(
                "unknown test `{s}` (ks, chisquare, z, wasserstein, jensenshannon, psi)"
            ),
        })
    }
}

/// How [`StatTest::Psi`] bins numerical columns.
#[derive(Debug, Clone, Copy, PartialEq)]
#[non_exhaustive]
pub enum PsiBinning {
    /// Bins at reference quantiles with ±∞ outer edges ([`stats::psi_quantile_bins`]);
    /// empty bins get the share `floor`.
    Quantile {
        /// Number of bins (before merging duplicate edges).
        n_bins: usize,
        /// Share given to an empty bin.
        floor: f64,
    },
    /// Evidently's binning: Sturges bins over the union, its zero fill
    /// ([`stats::evidently_binned`]).
    Evidently,
}

impl Default for PsiBinning {
    fn default() -> Self {
        PsiBinning::Quantile {
            n_bins: 10,
            floor: stats::PSI_DEFAULT_FLOOR,
        }
    }
}

/// Which chi-square test [`StatTest::ChiSquare`] runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum ChiSquareMode {
    /// Goodness of fit against the reference proportions (Evidently's `chisquare`). A category
    /// unseen in the reference gives p = 0.
    #[default]
    GoodnessOfFit,
    /// 2×K homogeneity test (`scipy.stats.chi2_contingency`), which treats reference and current
    /// symmetrically and handles unseen categories.
    Homogeneity,
}

/// Multiple-testing correction across the p-value columns of one report.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Correction {
    /// Bonferroni: `p·m`, capped at 1 (family-wise error rate).
    Bonferroni,
    /// Holm's step-down (family-wise error rate, uniformly more powerful than Bonferroni).
    Holm,
    /// Benjamini–Hochberg step-up (false discovery rate).
    BenjaminiHochberg,
}

impl Correction {
    pub(crate) fn name(self) -> &'static str {
        match self {
            Correction::Bonferroni => "bonferroni",
            Correction::Holm => "holm",
            Correction::BenjaminiHochberg => "benjamini-hochberg",
        }
    }

    /// Adjusted p-values, in input order (as `statsmodels.stats.multitest.multipletests`).
    ///
    /// ```
    /// use recwatch::drift::Correction;
    /// let adj = Correction::Holm.adjust(&[0.01, 0.04, 0.03]);
    /// assert_eq!(adj, vec![0.03, 0.06, 0.06]);
    /// ```
    pub fn adjust(self, p: &[f64]) -> Vec<f64> {
        let m = p.len();
        let mf = m as f64;
        let mut idx: Vec<usize> = (0..m).collect();
        idx.sort_by(|&a, &b| p[a].total_cmp(&p[b]));
        let mut out = vec![0.0; m];
        match self {
            Correction::Bonferroni => {
                for (o, v) in out.iter_mut().zip(p) {
                    *o = (v * mf).min(1.0);
                }
            }
            Correction::Holm => {
                let mut run = 0.0f64;
                for (rank, &i) in idx.iter().enumerate() {
                    let v = ((mf - rank as f64) * p[i]).min(1.0);
                    run = run.max(v);
                    out[i] = run;
                }
            }
            Correction::BenjaminiHochberg => {
                let mut run = 1.0f64;
                for (rank, &i) in idx.iter().enumerate().rev() {
                    let v = (p[i] * mf / (rank as f64 + 1.0)).min(1.0);
                    run = run.min(v);
                    out[i] = run;
                }
            }
        }
        out
    }
}
