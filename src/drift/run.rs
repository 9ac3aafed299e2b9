//! How a detector runs: one job per column on a rayon pool, each reading its column once for
//! the drift test and the data-quality statistics.

use super::column::{self, ColumnSettings, Extracted};
use super::detector::DriftDetector;
use super::mapping::Role;
use super::profile::ReferenceProfile;
use super::quality::{DriftCount, FrameAcc};
use super::report::{
    ColumnDrift, ColumnStatus, ColumnType, DriftReport, NullRateDrift, SchemaDiff,
};
use super::stats;
use super::{DriftError, Frame, StatTest};
use polars::prelude::*;
use rayon::prelude::*;
use std::collections::BTreeMap;
use std::panic::{catch_unwind, AssertUnwindSafe};

impl DriftDetector {
    pub(super) fn run_inner(
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
                if catch_unwind(AssertUnwindSafe(|| acc.pass(&c, pos))).is_err() {
                    acc.add_unreadable(name, pos);
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
            RefSource::Profile(profile) => profile.extracted(name),
        });
        let c = job.current.map(|p| load(current, Frame::Current, p));
        let (r, c) = match (r, c) {
            (Some(r), Some(c)) => (r, c),
            _ => return None,
        };
        let role = self.mapping.role(name);
        Some(match (r, c) {
            // A bug in a test on odd input must cost this column, not the report.
            (Ok(r), Ok(c)) => {
                match catch_unwind(AssertUnwindSafe(|| self.test_extracted(name, role, &r, &c))) {
                    Ok(t) => t,
                    Err(p) => {
                        Tested::skipped(name, role, format!("the test failed: {}", panic_text(&p)))
                    }
                }
            }
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
pub(super) enum RefSource<'a> {
    Frame(&'a LazyFrame),
    Profile(&'a ReferenceProfile),
}

pub(super) fn frame_height(lf: &LazyFrame, frame: Frame) -> Result<usize, DriftError> {
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
