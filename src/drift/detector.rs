//! The drift detector over polars frames.

use super::column::{self, ColumnSettings, Extracted};
use super::report::{
    ColumnDrift, ColumnStatus, ColumnType, DriftReport, NullRateDrift, SchemaDiff,
};
use super::stats;
use super::{DriftError, Frame};
use polars::prelude::*;
use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

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
    fn name(self) -> &'static str {
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

/// Reference-vs-current drift detector over polars frames, with Evidently 0.7 DataDriftPreset
/// defaults.
///
/// Per common column: nulls, NaN and ±∞ are dropped (and reported as shares), the column type
/// is inferred as Evidently does (see [`ColumnType`]) unless overridden, the test is chosen as
/// Evidently does unless overridden, and the column drifts when its score passes the threshold.
/// The dataset drifts when the share of drifted columns reaches `drift_share`.
///
/// ```
/// use polars::prelude::*;
/// use recwatch::drift::DriftDetector;
///
/// let reference = df!("x" => (0..200).map(|i| i as f64).collect::<Vec<_>>(),
///                     "c" => (0..200).map(|i| ["a", "b", "c"][i % 3]).collect::<Vec<_>>())?;
/// let current = df!("x" => (0..200).map(|i| i as f64 + 80.0).collect::<Vec<_>>(),
///                   "c" => (0..200).map(|i| ["a", "b", "c"][i % 3]).collect::<Vec<_>>())?;
/// let report = DriftDetector::new().run(&reference, &current)?;
/// assert_eq!(report.drift_by_columns["x"].stattest_name.as_deref(), Some("ks"));
/// assert!(report.drift_by_columns["x"].drift_detected);
/// assert!(!report.drift_by_columns["c"].drift_detected);
/// assert!(report.dataset_drift); // 1 of 2 columns ≥ 0.5
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone)]
pub struct DriftDetector {
    drift_share: f64,
    stattest: Option<StatTest>,
    threshold: Option<f64>,
    column_stattest: HashMap<String, StatTest>,
    column_threshold: HashMap<String, f64>,
    column_type: HashMap<String, ColumnType>,
    psi_binning: PsiBinning,
    chisquare_mode: ChiSquareMode,
    correction: Option<Correction>,
    effect_gate: Option<f64>,
    null_rate_threshold: Option<f64>,
    threads: usize,
}

impl Default for DriftDetector {
    fn default() -> Self {
        Self::new()
    }
}

impl DriftDetector {
    /// A detector with Evidently's defaults (drift share 0.5, default tests and thresholds).
    ///
    /// ```
    /// let d = recwatch::drift::DriftDetector::new();
    /// # let _ = d;
    /// ```
    pub fn new() -> Self {
        DriftDetector {
            drift_share: 0.5,
            stattest: None,
            threshold: None,
            column_stattest: HashMap::new(),
            column_threshold: HashMap::new(),
            column_type: HashMap::new(),
            psi_binning: PsiBinning::default(),
            chisquare_mode: ChiSquareMode::default(),
            correction: None,
            effect_gate: None,
            null_rate_threshold: None,
            threads: std::thread::available_parallelism()
                .map(|n| n.get())
                .unwrap_or(1),
        }
    }

    /// Share of drifted columns at which the dataset counts as drifted. Defaults to 0.5.
    ///
    /// ```
    /// let d = recwatch::drift::DriftDetector::new().with_drift_share(0.3);
    /// # let _ = d;
    /// ```
    pub fn with_drift_share(mut self, share: f64) -> Self {
        self.drift_share = share;
        self
    }

    /// One test for every column (overrides the default choice). Defaults to Evidently's choice.
    ///
    /// ```
    /// use recwatch::drift::{DriftDetector, StatTest};
    /// let d = DriftDetector::new().with_stattest(StatTest::Psi);
    /// # let _ = d;
    /// ```
    pub fn with_stattest(mut self, test: StatTest) -> Self {
        self.stattest = Some(test);
        self
    }

    /// One threshold for every column. Defaults to the test's default threshold.
    ///
    /// ```
    /// let d = recwatch::drift::DriftDetector::new().with_threshold(0.01);
    /// # let _ = d;
    /// ```
    pub fn with_threshold(mut self, threshold: f64) -> Self {
        self.threshold = Some(threshold);
        self
    }

    /// The test for one column (wins over [`with_stattest`](Self::with_stattest)).
    ///
    /// ```
    /// use recwatch::drift::{DriftDetector, StatTest};
    /// let d = DriftDetector::new().with_column_stattest("price", StatTest::Ks);
    /// # let _ = d;
    /// ```
    pub fn with_column_stattest(mut self, column: impl Into<String>, test: StatTest) -> Self {
        self.column_stattest.insert(column.into(), test);
        self
    }

    /// The threshold for one column (wins over [`with_threshold`](Self::with_threshold)).
    ///
    /// ```
    /// let d = recwatch::drift::DriftDetector::new().with_column_threshold("price", 0.2);
    /// # let _ = d;
    /// ```
    pub fn with_column_threshold(mut self, column: impl Into<String>, threshold: f64) -> Self {
        self.column_threshold.insert(column.into(), threshold);
        self
    }

    /// The type of one column (instead of inference).
    ///
    /// ```
    /// use recwatch::drift::{ColumnType, DriftDetector};
    /// let d = DriftDetector::new().with_column_type("user_id", ColumnType::Categorical);
    /// # let _ = d;
    /// ```
    pub fn with_column_type(mut self, column: impl Into<String>, column_type: ColumnType) -> Self {
        self.column_type.insert(column.into(), column_type);
        self
    }

    /// Binning for [`StatTest::Psi`]. Defaults to reference-quantile bins (10, floor 1e-4).
    ///
    /// ```
    /// use recwatch::drift::{DriftDetector, PsiBinning};
    /// let d = DriftDetector::new().with_psi_binning(PsiBinning::Evidently);
    /// # let _ = d;
    /// ```
    pub fn with_psi_binning(mut self, binning: PsiBinning) -> Self {
        self.psi_binning = binning;
        self
    }

    /// Which chi-square test runs. Defaults to [`ChiSquareMode::GoodnessOfFit`] (Evidently).
    ///
    /// ```
    /// use recwatch::drift::{ChiSquareMode, DriftDetector};
    /// let d = DriftDetector::new().with_chisquare_mode(ChiSquareMode::Homogeneity);
    /// # let _ = d;
    /// ```
    pub fn with_chisquare_mode(mut self, mode: ChiSquareMode) -> Self {
        self.chisquare_mode = mode;
        self
    }

    /// Opt-in multiple-testing correction of the p-values across columns. Defaults to none
    /// (Evidently).
    ///
    /// ```
    /// use recwatch::drift::{Correction, DriftDetector};
    /// let d = DriftDetector::new().with_correction(Correction::Holm);
    /// # let _ = d;
    /// ```
    pub fn with_correction(mut self, correction: Correction) -> Self {
        self.correction = Some(correction);
        self
    }

    /// Opt-in effect-size gate: a column drifts only when its test fires *and* its effect size
    /// (normed Wasserstein for numerical columns, Jensen–Shannon distance of the category shares
    /// for categorical ones) is at least `tau`. Defaults to off.
    ///
    /// ```
    /// let d = recwatch::drift::DriftDetector::new().with_effect_size_gate(0.1);
    /// # let _ = d;
    /// ```
    pub fn with_effect_size_gate(mut self, tau: f64) -> Self {
        self.effect_gate = Some(tau);
        self
    }

    /// Opt-in null-rate drift: a two-proportion z-test on the share of null/NaN/±∞ values,
    /// drift when `p < threshold`. Defaults to off.
    ///
    /// ```
    /// let d = recwatch::drift::DriftDetector::new().with_null_rate_drift(0.05);
    /// # let _ = d;
    /// ```
    pub fn with_null_rate_drift(mut self, threshold: f64) -> Self {
        self.null_rate_threshold = Some(threshold);
        self
    }

    /// Worker threads (columns are tested in parallel). Defaults to the available parallelism.
    ///
    /// ```
    /// let d = recwatch::drift::DriftDetector::new().with_threads(1);
    /// # let _ = d;
    /// ```
    pub fn with_threads(mut self, threads: usize) -> Self {
        self.threads = threads.max(1);
        self
    }

    fn validate(&self) -> Result<(), DriftError> {
        if !(self.drift_share.is_finite() && (0.0..=1.0).contains(&self.drift_share)) {
            return Err(DriftError::InvalidOption {
                name: "drift_share",
                reason: format!("{} is not in [0, 1]", self.drift_share),
            });
        }
        let thresholds = self.threshold.iter().chain(self.column_threshold.values());
        for t in thresholds
            .chain(self.effect_gate.iter())
            .chain(self.null_rate_threshold.iter())
        {
            if !t.is_finite() {
                return Err(DriftError::InvalidOption {
                    name: "threshold",
                    reason: format!("{t} is not finite"),
                });
            }
        }
        if let PsiBinning::Quantile { n_bins, floor } = self.psi_binning {
            if n_bins < 2 || !(floor > 0.0 && floor < 1.0) {
                return Err(DriftError::InvalidOption {
                    name: "psi_binning",
                    reason: "n_bins must be ≥ 2 and floor in (0, 1)".into(),
                });
            }
        }
        Ok(())
    }

    /// Compares two in-memory frames.
    ///
    /// # Errors
    ///
    /// [`DriftError::EmptyFrame`], [`DriftError::NoCommonColumns`],
    /// [`DriftError::InvalidOption`], [`DriftError::Polars`].
    ///
    /// ```
    /// use polars::prelude::*;
    /// let a = df!("x" => [1.0, 2.0, 3.0])?;
    /// let r = recwatch::drift::DriftDetector::new().run(&a, &a)?;
    /// assert!(!r.dataset_drift);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn run(
        &self,
        reference: &DataFrame,
        current: &DataFrame,
    ) -> Result<DriftReport, DriftError> {
        self.run_lazy(reference.clone().lazy(), current.clone().lazy())
    }

    /// Compares two lazy frames, reading one column at a time (so Parquet files larger than
    /// memory can be compared), several columns in parallel.
    ///
    /// # Errors
    ///
    /// As [`run`](Self::run).
    ///
    /// ```
    /// use polars::prelude::*;
    /// let a = df!("x" => [1.0, 2.0, 3.0])?.lazy();
    /// let r = recwatch::drift::DriftDetector::new().run_lazy(a.clone(), a)?;
    /// assert_eq!(r.number_of_columns, 1);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn run_lazy(
        &self,
        mut reference: LazyFrame,
        mut current: LazyFrame,
    ) -> Result<DriftReport, DriftError> {
        self.validate()?;
        let pe = |frame: Frame| {
            move |source| DriftError::Polars {
                context: format!("cannot read {frame} frame"),
                source,
            }
        };
        let rs = reference.collect_schema().map_err(pe(Frame::Reference))?;
        let cs = current.collect_schema().map_err(pe(Frame::Current))?;
        if rs.is_empty() {
            return Err(DriftError::EmptyFrame {
                frame: Frame::Reference,
            });
        }
        if cs.is_empty() {
            return Err(DriftError::EmptyFrame {
                frame: Frame::Current,
            });
        }
        let height = |lf: &LazyFrame, frame: Frame| -> Result<usize, DriftError> {
            let df = lf.clone().select([len()]).collect().map_err(pe(frame))?;
            let n = df
                .columns()
                .first()
                .and_then(|c| c.get(0).ok())
                .and_then(|v| v.extract::<u64>())
                .unwrap_or(0);
            Ok(n as usize)
        };
        if height(&reference, Frame::Reference)? == 0 {
            return Err(DriftError::EmptyFrame {
                frame: Frame::Reference,
            });
        }
        if height(&current, Frame::Current)? == 0 {
            return Err(DriftError::EmptyFrame {
                frame: Frame::Current,
            });
        }

        let mut schema = SchemaDiff::default();
        let mut common = Vec::new();
        for (name, dt) in rs.iter() {
            match cs.get(name.as_str()) {
                Some(cdt) => {
                    if cdt != dt {
                        schema.type_changed.push(name.to_string());
                    }
                    common.push(name.to_string());
                }
                None => schema.missing_in_current.push(name.to_string()),
            }
        }
        for (name, _) in cs.iter() {
            if rs.get(name.as_str()).is_none() {
                schema.new_in_current.push(name.to_string());
            }
        }
        if common.is_empty() {
            return Err(DriftError::NoCommonColumns);
        }
        let next = AtomicUsize::new(0);
        let results: Mutex<Vec<Result<ColumnDrift, DriftError>>> = Mutex::new(Vec::new());
        let workers = self.threads.min(common.len()).max(1);
        std::thread::scope(|scope| {
            for _ in 0..workers {
                scope.spawn(|| loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(name) = common.get(i) else { break };
                    let res = self.one_column(name, &reference, &current);
                    if let Ok(mut g) = results.lock() {
                        g.push(res);
                    }
                });
            }
        });
        let results = results.into_inner().unwrap_or_default();
        let mut by_col = BTreeMap::new();
        for r in results {
            let c = r?;
            by_col.insert(c.column_name.clone(), c);
        }

        if let Some(corr) = self.correction {
            let keys: Vec<String> = by_col
                .values()
                .filter(|c| c.status == ColumnStatus::Ok && c.p_value.is_some())
                .map(|c| c.column_name.clone())
                .collect();
            let ps: Vec<f64> = keys
                .iter()
                .map(|k| by_col[k].p_value.unwrap_or(1.0))
                .collect();
            let adj = corr.adjust(&ps);
            for (k, a) in keys.iter().zip(adj) {
                if let Some(c) = by_col.get_mut(k) {
                    let test = c.stattest_name.as_deref().and_then(StatTest::from_name);
                    let thr = c.stattest_threshold.unwrap_or(0.05);
                    c.drift_score = Some(a);
                    if let Some(t) = test {
                        let gate = match (self.effect_gate, c.effect_size) {
                            (Some(tau), Some(e)) => e >= tau,
                            _ => true,
                        };
                        c.drift_detected = t.is_drift(a, thr) && gate;
                    }
                }
            }
        }

        let tested = by_col
            .values()
            .filter(|c| c.status == ColumnStatus::Ok)
            .count();
        let drifted = by_col.values().filter(|c| c.drift_detected).count();
        let share = if tested == 0 {
            0.0
        } else {
            drifted as f64 / tested as f64
        };
        Ok(DriftReport {
            dataset_drift: tested > 0 && share >= self.drift_share,
            drift_share: self.drift_share,
            number_of_columns: tested,
            number_of_drifted_columns: drifted,
            share_of_drifted_columns: share,
            drift_by_columns: by_col,
            schema,
            correction: self.correction.map(|c| c.name().to_string()),
        })
    }

    fn one_column(
        &self,
        name: &str,
        reference: &LazyFrame,
        current: &LazyFrame,
    ) -> Result<ColumnDrift, DriftError> {
        let load = |lf: &LazyFrame, frame: Frame| -> Result<Extracted, DriftError> {
            let err = |source| DriftError::Polars {
                context: format!("cannot read column `{name}` of the {frame} frame"),
                source,
            };
            let df = lf.clone().select([col(name)]).collect().map_err(err)?;
            let c = df.column(name).map_err(err)?;
            column::extract(c).map_err(err)
        };
        let r = load(reference, Frame::Reference)?;
        let c = load(current, Frame::Current)?;
        let settings = ColumnSettings {
            column_type: self.column_type.get(name).copied(),
            stattest: self.column_stattest.get(name).copied().or(self.stattest),
            threshold: self.column_threshold.get(name).copied().or(self.threshold),
            psi_binning: self.psi_binning,
            chisquare_mode: self.chisquare_mode,
            effect_gate: self.effect_gate,
        };
        let mut out = column::test_column(name, &r, &c, &settings);
        if let Some(thr) = self.null_rate_threshold {
            let (xr, xc) = (
                (r.nulls + r.nonfinite) as u64,
                (c.nulls + c.nonfinite) as u64,
            );
            if let Ok(t) = stats::z_test_proportions(xr, r.len as u64, xc, c.len as u64) {
                out.null_rate_drift = Some(NullRateDrift {
                    statistic: t.statistic,
                    p_value: t.p_value,
                    drift_detected: t.p_value < thr,
                });
            }
        }
        Ok(out)
    }
}
