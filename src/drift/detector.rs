//! The drift detector over polars frames.

use super::column::{self, ColumnSettings, Extracted};
use super::mapping::{ColumnMapping, Role};
use super::options::{ChiSquareMode, Correction, PsiBinning, StatTest};
use super::profile::ReferenceProfile;
use super::quality::{DataQualitySuite, DriftCount, FrameAcc};
use super::report::{
    ColumnDrift, ColumnStatus, ColumnType, DriftReport, NullRateDrift, SchemaDiff,
};
use super::stats;
use super::{DriftError, Frame};
use polars::prelude::*;
use rayon::prelude::*;
use std::collections::{BTreeMap, HashMap};
use std::panic::{catch_unwind, AssertUnwindSafe};

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
    mapping: ColumnMapping,
    suite: Option<DataQualitySuite>,
    distributions: bool,
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
    /// ([`ColumnDrift::distribution`], what [`DriftReport::to_html`] draws). Defaults to off.
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
        let ref_schema: Vec<(String, String)> = profile
            .columns
            .iter()
            .map(|c| (c.name.clone(), c.dtype.clone()))
            .collect();
        self.run_inner(
            RefSource::Profile(profile),
            &ref_schema,
            profile.rows,
            current,
            &cs,
        )
    }

    fn run_inner(
        &self,
        reference: RefSource<'_>,
        rs: &[(String, String)],
        ref_rows: usize,
        current: LazyFrame,
        cs: &Schema,
    ) -> Result<DriftReport, DriftError> {
        if rs.is_empty() || ref_rows == 0 {
            return Err(DriftError::EmptyFrame {
                frame: Frame::Reference,
            });
        }
        let cur_rows = frame_height(&current, Frame::Current)?;
        if cur_rows == 0 {
            return Err(DriftError::EmptyFrame {
                frame: Frame::Current,
            });
        }
        let mut schema = SchemaDiff::default();
        let mut jobs = Vec::new();
        for (pos, (name, dt)) in rs.iter().enumerate() {
            match cs.get_full(name.as_str()) {
                Some((cpos, _, cdt)) => {
                    if format!("{cdt}") != *dt {
                        schema.type_changed.push(name.to_string());
                    }
                    jobs.push(Job {
                        name: name.to_string(),
                        reference: Some(pos),
                        current: Some(cpos),
                    });
                }
                None => {
                    schema.missing_in_current.push(name.to_string());
                    jobs.push(Job {
                        name: name.to_string(),
                        reference: Some(pos),
                        current: None,
                    });
                }
            }
        }
        for (cpos, (name, _)) in cs.iter().enumerate() {
            if !rs.iter().any(|(n, _)| n == name.as_str()) {
                schema.new_in_current.push(name.to_string());
                jobs.push(Job {
                    name: name.to_string(),
                    reference: None,
                    current: Some(cpos),
                });
            }
        }
        if jobs
            .iter()
            .all(|j| j.reference.is_none() || j.current.is_none())
        {
            return Err(DriftError::NoCommonColumns);
        }
        if self.suite.is_none() {
            jobs.retain(|j| j.reference.is_some() && j.current.is_some());
        }
        let accs = self
            .suite
            .as_ref()
            .map(|_| (FrameAcc::new(ref_rows), FrameAcc::new(cur_rows)));
        let work = |job: &Job| self.one_job(job, reference, &current, accs.as_ref());
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(self.threads.min(jobs.len()).max(1))
            .thread_name(|i| format!("recwatch-drift-{i}"))
            .build();
        let results: Vec<Option<Tested>> = match pool {
            Ok(pool) => pool.install(|| jobs.par_iter().map(work).collect()),
            // No thread could be started: test the columns on this one.
            Err(_) => jobs.iter().map(work).collect(),
        };
        let mut by_col = BTreeMap::new();
        let (mut target_drift, mut prediction_drift) = (None, None);
        let mut legacy = DriftCount::default();
        for t in results.into_iter().flatten() {
            if let Some((tested, drifted)) = t.legacy {
                legacy.tested += usize::from(tested);
                legacy.drifted += usize::from(drifted);
            }
            match t.role {
                Role::Target => target_drift = Some(t.drift),
                Role::Prediction => prediction_drift = Some(t.drift),
                Role::Feature => {
                    by_col.insert(t.drift.column_name.clone(), t.drift);
                }
            }
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
            target_drift,
            prediction_drift,
            tests: match (&self.suite, accs, reference) {
                (Some(suite), Some((_, ca)), RefSource::Profile(p)) => {
                    suite.evaluate(&ca.finish(), Some(&p.quality), Some(legacy))
                }
                (Some(suite), Some((ra, ca)), RefSource::Frame(_)) => {
                    suite.evaluate(&ca.finish(), Some(&ra.finish()), Some(legacy))
                }
                _ => Vec::new(),
            },
        })
    }

    /// One column: its quality statistics (when the suite runs) and, for a common column,
    /// its drift. A column that cannot be read or tested becomes a skipped column; a panic
    /// inside polars while reading it is caught and reported the same way.
    fn one_job(
        &self,
        job: &Job,
        reference: RefSource<'_>,
        current: &LazyFrame,
        accs: Option<&(FrameAcc, FrameAcc)>,
    ) -> Option<Tested> {
        let name = job.name.as_str();
        let load = |lf: &LazyFrame, frame: Frame, pos: usize| -> Result<Extracted, String> {
            let read = || -> PolarsResult<Column> {
                let df = lf.clone().select([col(name)]).collect()?;
                Ok(df.column(name)?.clone())
            };
            let c = match catch_unwind(AssertUnwindSafe(read)) {
                Ok(Ok(c)) => c,
                Ok(Err(e)) => return Err(format!("cannot read the {frame} column: {e}")),
                Err(p) => {
                    return Err(format!(
                        "cannot read the {frame} column: {}",
                        panic_text(&p)
                    ))
                }
            };
            if let Some((ra, ca)) = accs {
                let acc = if frame == Frame::Reference { ra } else { ca };
                match catch_unwind(AssertUnwindSafe(|| super::quality::column_pass(&c, pos))) {
                    Ok(p) => acc.add(p),
                    Err(_) => acc.add(super::quality::column_pass(
                        &Column::new_empty(name.into(), &DataType::Null),
                        pos,
                    )),
                }
            }
            match catch_unwind(AssertUnwindSafe(|| column::extract(&c))) {
                Ok(Ok(e)) => Ok(e),
                Ok(Err(e)) => Err(format!("cannot convert the {frame} column: {e}")),
                Err(_) => Err(format!(
                    "cannot convert the {frame} column (polars panicked)"
                )),
            }
        };
        let r = job.reference.map(|p| match reference {
            RefSource::Frame(lf) => load(lf, Frame::Reference, p),
            RefSource::Profile(profile) => profile
                .extracted(name)
                .ok_or_else(|| "not in the reference profile".to_string()),
        });
        let c = job.current.map(|p| load(current, Frame::Current, p));
        let (r, c) = match (r, c) {
            (Some(r), Some(c)) => (r, c),
            _ => return None,
        };
        let role = self.mapping.role(name);
        Some(match (r, c) {
            (Ok(r), Ok(c)) => self.test_extracted(name, role, &r, &c),
            (Err(e), _) | (_, Err(e)) => Tested::skipped(name, role, e),
        })
    }

    fn test_extracted(&self, name: &str, role: Role, r: &Extracted, c: &Extracted) -> Tested {
        let explicit = self.column_type.get(name).copied();
        let column_type = explicit.or_else(|| match role {
            Role::Target => Some(column::target_type(r, c)),
            Role::Prediction => Some(column::prediction_type(r, c)),
            Role::Feature => self.mapping.feature_type(name),
        });
        // Under a mapping that names the numerical (categorical) features, an unnamed column
        // of that kind is not a feature (as in Evidently's ColumnMapping).
        if role == Role::Feature && column_type.is_none() {
            let inferred = column::infer_type(c);
            let excluded = (inferred == ColumnType::Numerical
                && !self.mapping.numerical.is_empty())
                || (matches!(inferred, ColumnType::Categorical | ColumnType::Text)
                    && !self.mapping.categorical.is_empty());
            if excluded {
                let mut d =
                    ColumnDrift::skipped(name, "not a feature under the column mapping".into());
                d.column_type = inferred;
                return Tested {
                    drift: d,
                    role,
                    legacy: None,
                };
            }
        }
        let settings = |column_type| ColumnSettings {
            column_type,
            stattest: self.column_stattest.get(name).copied().or(self.stattest),
            threshold: self.column_threshold.get(name).copied().or(self.threshold),
            psi_binning: self.psi_binning,
            chisquare_mode: self.chisquare_mode,
            effect_gate: self.effect_gate,
            distributions: self.distributions,
        };
        let mut out = column::test_column(name, r, c, &settings(column_type));
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
        // Evidently's TestSuite counts drift with its legacy column typing; re-test the
        // column when that typing differs.
        let legacy = self.suite.as_ref().map(|_| {
            let lt = column_type.unwrap_or_else(|| column::legacy_feature_type(r, c));
            if Some(lt) == column_type || lt == out.column_type {
                (out.status == ColumnStatus::Ok, out.drift_detected)
            } else {
                let l = column::test_column(name, r, c, &settings(Some(lt)));
                (l.status == ColumnStatus::Ok, l.drift_detected)
            }
        });
        Tested {
            drift: out,
            role,
            legacy,
        }
    }
}

/// Where the reference comes from: a frame, or a profile fitted from one.
#[derive(Clone, Copy)]
enum RefSource<'a> {
    Frame(&'a LazyFrame),
    Profile(&'a ReferenceProfile),
}

fn frame_height(lf: &LazyFrame, frame: Frame) -> Result<usize, DriftError> {
    let df = lf
        .clone()
        .select([len()])
        .collect()
        .map_err(|source| DriftError::Polars {
            context: format!("cannot read {frame} frame"),
            source,
        })?;
    Ok(df
        .columns()
        .first()
        .and_then(|c| c.get(0).ok())
        .and_then(|v| v.extract::<u64>())
        .unwrap_or(0) as usize)
}

/// One column to read: its name and its position in each frame that has it.
struct Job {
    name: String,
    reference: Option<usize>,
    current: Option<usize>,
}

/// One common column's outcome.
struct Tested {
    drift: ColumnDrift,
    role: Role,
    /// (tested, drifted) under Evidently's legacy typing, when the suite runs.
    legacy: Option<(bool, bool)>,
}

impl Tested {
    fn skipped(name: &str, role: Role, reason: String) -> Self {
        Tested {
            drift: ColumnDrift::skipped(name, reason),
            role,
            legacy: Some((false, false)),
        }
    }
}

fn panic_text(p: &Box<dyn std::any::Any + Send>) -> String {
    p.downcast_ref::<String>()
        .cloned()
        .or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()))
        .unwrap_or_else(|| "polars panicked".into())
}
