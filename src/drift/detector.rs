//! The drift detector over polars frames.

use super::mapping::ColumnMapping;
use super::options::{ChiSquareMode, Correction, PsiBinning, StatTest};
use super::profile::ReferenceProfile;
use super::quality::DataQualitySuite;
use super::report::{ColumnType, DriftReport};
use super::run::{frame_height, RefSource};
use super::{DriftError, Frame};
use polars::prelude::*;
use std::collections::HashMap;

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
#[must_use]
pub struct DriftDetector {
    pub(super) drift_share: f64,
    pub(super) stattest: Option<StatTest>,
    pub(super) threshold: Option<f64>,
    pub(super) column_stattest: HashMap<String, StatTest>,
    pub(super) column_threshold: HashMap<String, f64>,
    pub(super) column_type: HashMap<String, ColumnType>,
    pub(super) psi_binning: PsiBinning,
    pub(super) chisquare_mode: ChiSquareMode,
    pub(super) correction: Option<Correction>,
    pub(super) effect_gate: Option<f64>,
    pub(super) null_rate_threshold: Option<f64>,
    pub(super) threads: usize,
    pub(super) mapping: ColumnMapping,
    pub(super) suite: Option<DataQualitySuite>,
    pub(super) distributions: bool,
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
            mapping: ColumnMapping::new(),
            suite: None,
            distributions: false,
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

    /// The roles of the columns: target, prediction, numerical and categorical features.
    /// Defaults to none (every column a feature typed by inference).
    ///
    /// ```
    /// use recwatch::drift::{ColumnMapping, DriftDetector};
    /// let d = DriftDetector::new()
    ///     .with_column_mapping(ColumnMapping::new().with_target("rating"));
    /// # let _ = d;
    /// ```
    pub fn with_column_mapping(mut self, mapping: ColumnMapping) -> Self {
        self.mapping = mapping;
        self
    }

    /// Runs the data-quality suite in the same pass and puts its results in
    /// [`DriftReport::tests`]. Defaults to off.
    ///
    /// ```
    /// use recwatch::drift::{DataQualitySuite, DriftDetector};
    /// let d = DriftDetector::new().with_quality_suite(DataQualitySuite::new());
    /// # let _ = d;
    /// ```
    pub fn with_quality_suite(mut self, suite: DataQualitySuite) -> Self {
        self.suite = Some(suite);
        self
    }

    /// Records each column's reference and current shares on shared bins
    /// ([`ColumnDrift::distribution`](super::ColumnDrift::distribution), what [`DriftReport::to_html`] draws). Defaults to off.
    ///
    /// ```
    /// let d = recwatch::drift::DriftDetector::new().with_distributions(true);
    /// # let _ = d;
    /// ```
    pub fn with_distributions(mut self, on: bool) -> Self {
        self.distributions = on;
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
        let ref_rows = frame_height(&reference, Frame::Reference)?;
        let ref_schema: Vec<(String, String)> = rs
            .iter()
            .map(|(n, dt)| (n.to_string(), format!("{dt}")))
            .collect();
        self.run_inner(
            RefSource::Frame(&reference),
            &ref_schema,
            ref_rows,
            current,
            &cs,
        )
    }

    /// Compares a current lazy frame with a [`ReferenceProfile`] fitted earlier: the same
    /// report as [`run_lazy`](Self::run_lazy) against the frame the profile was fitted on.
    ///
    /// # Errors
    ///
    /// As [`run`](Self::run).
    ///
    /// ```
    /// use polars::prelude::*;
    /// use recwatch::drift::{DriftDetector, ReferenceProfile};
    /// let reference = df!("x" => (0..300).map(f64::from).collect::<Vec<_>>())?;
    /// let current = df!("x" => (0..300).map(|i| i as f64 + 50.0).collect::<Vec<_>>())?;
    /// let profile = ReferenceProfile::fit(reference.clone().lazy())?;
    /// let d = DriftDetector::new();
    /// assert_eq!(
    ///     d.run_profile(&profile, current.clone().lazy())?,
    ///     d.run(&reference, &current)?
    /// );
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn run_profile(
        &self,
        profile: &ReferenceProfile,
        mut current: LazyFrame,
    ) -> Result<DriftReport, DriftError> {
        self.validate()?;
        let cs = current
            .collect_schema()
            .map_err(|source| DriftError::Polars {
                context: "cannot read current frame".into(),
                source,
            })?;
        if cs.is_empty() {
            return Err(DriftError::EmptyFrame {
                frame: Frame::Current,
            });
        }
        let ref_schema = profile.schema();
        self.run_inner(
            RefSource::Profile(profile),
            &ref_schema,
            profile.rows,
            current,
            &cs,
        )
    }
}
