//! Per-column extraction (polars → plain vectors) and testing.

use super::options::{ChiSquareMode, PsiBinning, StatTest};
use super::report::{ColumnDrift, ColumnStatus, ColumnType};
use super::stats::sample::{Sample, Summary};
use super::stats::{self, binning, psi as psi_mod};
use polars::prelude::*;
use std::collections::{BTreeMap, HashMap};

use super::distribution::distribution;
pub(crate) use super::typing::{infer_type, legacy_feature_type, prediction_type, target_type};

/// A column's values, cleaned.
pub(crate) enum Values {
    /// Finite numbers, ascending.
    Num { num: Num, integer: bool },
    /// Category → count (sorted by category).
    Cat(BTreeMap<String, u64>),
    /// Data type the detector cannot test.
    Unsupported(String),
}

/// Finite numbers in ascending order: all of them (a frame's column), or a profile's summary.
pub(crate) enum Num {
    Sorted(Vec<f64>),
    Summary(Summary),
}

/// Runs `$body` with `$x`, `$y` bound to the two [`Num`]s as [`Sample`]s (one monomorphised
/// copy per pair of representations).
macro_rules! with_pair {
    ($a:expr, $b:expr, |$x:ident, $y:ident| $body:expr) => {
        match ($a, $b) {
            (Num::Sorted(p), Num::Sorted(q)) => {
                let ($x, $y) = (p.as_slice(), q.as_slice());
                $body
            }
            (Num::Sorted(p), Num::Summary(q)) => {
                let ($x, $y) = (p.as_slice(), q);
                $body
            }
            (Num::Summary(p), Num::Sorted(q)) => {
                let ($x, $y) = (p, q.as_slice());
                $body
            }
            (Num::Summary(p), Num::Summary(q)) => {
                let ($x, $y) = (p, q);
                $body
            }
        }
    };
}
pub(crate) use with_pair;

impl Num {
    pub fn total(&self) -> u64 {
        match self {
            Num::Sorted(v) => v.len() as u64,
            Num::Summary(s) => s.total(),
        }
    }
    pub fn is_empty(&self) -> bool {
        self.total() == 0
    }
    /// Smallest and largest value (`None` when empty).
    pub fn range(&self) -> Option<(f64, f64)> {
        match self {
            Num::Sorted(v) => Some((*v.first()?, *v.last()?)),
            Num::Summary(s) => Some((s.min(), s.max())),
        }
    }
    pub fn distinct_capped(&self, cap: usize) -> usize {
        match self {
            Num::Sorted(v) => v.distinct_capped(cap),
            Num::Summary(s) => s.distinct_capped(cap),
        }
    }
    /// Whether every distinct value and its count are known (not a sketch).
    pub fn is_exact(&self) -> bool {
        match self {
            Num::Sorted(_) => true,
            Num::Summary(s) => s.is_exact(),
        }
    }
    pub fn contains(&self, x: f64) -> bool {
        match self {
            Num::Sorted(v) => v.binary_search_by(|y| y.total_cmp(&x)).is_ok(),
            Num::Summary(s) => s.contains(x),
        }
    }
    /// Distinct values ascending.
    pub fn distinct(&self) -> Vec<f64> {
        match self {
            Num::Sorted(v) => v.runs().map(|r| r.0).collect(),
            Num::Summary(s) => s.runs().map(|r| r.0).collect(),
        }
    }
}

pub(crate) struct Extracted {
    pub values: Values,
    pub len: usize,
    pub nulls: usize,
    pub nonfinite: usize,
    pub dtype: String,
}

impl Extracted {
    pub fn used(&self) -> usize {
        match &self.values {
            Values::Num { num, .. } => num.total() as usize,
            Values::Cat(m) => m.values().sum::<u64>() as usize,
            Values::Unsupported(_) => 0,
        }
    }
    fn excluded_share(&self) -> f64 {
        if self.len == 0 {
            0.0
        } else {
            (self.nulls + self.nonfinite) as f64 / self.len as f64
        }
    }
    fn nonfinite_share(&self) -> f64 {
        if self.len == 0 {
            0.0
        } else {
            self.nonfinite as f64 / self.len as f64
        }
    }
}

/// Converts one polars column to cleaned plain values.
pub(crate) fn extract(col: &Column) -> PolarsResult<Extracted> {
    let s = col.as_materialized_series();
    let dtype = s.dtype().clone();
    let len = s.len();
    let nulls = s.null_count();
    let dtype_name = format!("{dtype}");
    let decimal = matches!(dtype, DataType::Decimal(..));
    if dtype.is_float() || dtype.is_integer() || decimal {
        let f = s.cast(&DataType::Float64)?;
        let ca = f.f64()?;
        let mut sorted = Vec::with_capacity(len - nulls);
        let mut nonfinite = 0;
        for v in ca.iter().flatten() {
            if v.is_finite() {
                sorted.push(v);
            } else {
                nonfinite += 1;
            }
        }
        binning::sort_f64(&mut sorted);
        return Ok(Extracted {
            values: Values::Num {
                num: Num::Sorted(sorted),
                integer: dtype.is_integer(),
            },
            len,
            nulls,
            nonfinite,
            dtype: dtype_name,
        });
    }
    if dtype.is_bool() {
        let ca = s.bool()?;
        let mut m = BTreeMap::new();
        for v in ca.iter().flatten() {
            *m.entry(if v { "True" } else { "False" }.to_string())
                .or_insert(0) += 1;
        }
        return Ok(Extracted {
            values: Values::Cat(m),
            len,
            nulls,
            nonfinite: 0,
            dtype: dtype_name,
        });
    }
    if dtype.is_string() || dtype.is_categorical() || dtype.is_enum() {
        let st = s.cast(&DataType::String)?;
        let ca = st.str()?;
        // Count in a hash map of borrowed strings, then sort the (few) categories once.
        let mut counts: HashMap<&str, u64, foldhash::fast::RandomState> = HashMap::default();
        for v in ca.iter().flatten() {
            *counts.entry(v).or_insert(0) += 1;
        }
        let m: BTreeMap<String, u64> = counts
            .into_iter()
            .map(|(k, c)| (k.to_string(), c))
            .collect();
        return Ok(Extracted {
            values: Values::Cat(m),
            len,
            nulls,
            nonfinite: 0,
            dtype: if dtype.is_string() {
                dtype_name
            } else {
                format!("{dtype_name}(categorical)")
            },
        });
    }
    Ok(Extracted {
        values: Values::Unsupported(dtype_name.clone()),
        len,
        nulls,
        nonfinite: 0,
        dtype: dtype_name,
    })
}

/// Per-column settings resolved from the detector's options.
pub(crate) struct ColumnSettings {
    pub column_type: Option<ColumnType>,
    pub stattest: Option<StatTest>,
    pub threshold: Option<f64>,
    pub psi_binning: PsiBinning,
    pub chisquare_mode: ChiSquareMode,
    pub effect_gate: Option<f64>,
    pub distributions: bool,
}

fn kind_of(v: &Values) -> &'static str {
    match v {
        Values::Num { .. } => "numeric",
        Values::Cat(_) => "categorical",
        Values::Unsupported(_) => "unsupported",
    }
}

/// Runs the drift test on one column.
pub(crate) fn test_column(
    name: &str,
    r: &Extracted,
    c: &Extracted,
    set: &ColumnSettings,
) -> ColumnDrift {
    // Skipped (with the reason set below) until a test runs.
    let mut out = ColumnDrift {
        reason: None,
        n_reference: r.used(),
        n_current: c.used(),
        null_share_reference: r.excluded_share(),
        null_share_current: c.excluded_share(),
        nonfinite_share_reference: r.nonfinite_share(),
        nonfinite_share_current: c.nonfinite_share(),
        ..ColumnDrift::skipped(name, String::new())
    };
    // Evidently 0.7 takes the data definition (column types) from the current dataset.
    let inferred = infer_type(c);
    let ctype = set.column_type.unwrap_or(inferred);
    out.column_type = ctype;
    let all_excluded = |e: &Extracted| e.nulls + e.nonfinite >= e.len;
    if all_excluded(r) {
        out.reason = Some("no usable value in reference (all null, NaN or infinite)".into());
        return out;
    }
    if all_excluded(c) {
        out.reason = Some("no usable value in current (all null, NaN or infinite)".into());
        return out;
    }
    if kind_of(&r.values) != kind_of(&c.values) {
        out.reason = Some(format!(
            "type changed: reference {} vs current {}",
            r.dtype, c.dtype
        ));
        return out;
    }
    if let (Values::Unsupported(dt), _) | (_, Values::Unsupported(dt)) = (&r.values, &c.values) {
        out.column_type = ColumnType::Unsupported;
        out.reason = Some(format!("unsupported data type {dt}"));
        return out;
    }
    // A profile whose counts disagree with its values (hand-edited, or cut short) may hold no
    // value for a column it counts as present.
    if r.used() == 0 || c.used() == 0 {
        out.reason = Some("no value to test".into());
        return out;
    }
    match ctype {
        ColumnType::Text => {
            out.reason = Some("text column (high-cardinality strings) is not tested".into());
            return out;
        }
        ColumnType::Unsupported => {
            out.reason = Some("column type set to unsupported".into());
            return out;
        }
        _ => {}
    }
    if ctype == ColumnType::Numerical && matches!(r.values, Values::Cat(_)) {
        out.reason = Some("numerical type requested for non-numeric values".into());
        return out;
    }

    // Distinct values over the union; for numbers only "more than 5" matters to the test
    // choice, so the count stops at 6 and full per-value counts are built only when a
    // categorical test needs them.
    let numeric_pair = match (&r.values, &c.values) {
        (Values::Num { num: a, .. }, Values::Num { num: b, .. }) => Some((a, b)),
        _ => None,
    };
    let n_values = match (&r.values, &c.values, numeric_pair) {
        (_, _, Some((a, b))) => with_pair!(a, b, |x, y| binning::union_distinct_capped(x, y, 6)),
        (Values::Cat(a), Values::Cat(b), None) => {
            a.len() + b.keys().filter(|k| !a.contains_key(*k)).count()
        }
        _ => 0,
    };
    if n_values == 0 {
        out.reason = Some("no value to test".into());
        return out;
    }
    let test = set
        .stattest
        .unwrap_or_else(|| default_stattest(ctype, out.n_reference, n_values));
    let needs_counts = numeric_pair.is_none()
        || ctype != ColumnType::Numerical
        || matches!(test, StatTest::ChiSquare | StatTest::Z);

    // Counts over the union (sorted keys), for categorical tests.
    let (keys, rc, cc): (Vec<String>, Vec<f64>, Vec<f64>) = match (&r.values, &c.values) {
        (Values::Cat(a), Values::Cat(b)) => {
            let mut keys: Vec<&String> = a.keys().chain(b.keys()).collect();
            keys.sort();
            keys.dedup();
            let rc = keys
                .iter()
                .map(|k| *a.get(*k).unwrap_or(&0) as f64)
                .collect();
            let cc = keys
                .iter()
                .map(|k| *b.get(*k).unwrap_or(&0) as f64)
                .collect();
            (keys.into_iter().cloned().collect(), rc, cc)
        }
        (Values::Num { num: a, .. }, Values::Num { num: b, .. }) if needs_counts => {
            if !a.is_exact() || !b.is_exact() {
                out.reason = Some(format!(
                    "{} needs the count of every value; the reference profile holds a sketch \
                     of this column",
                    set.stattest.map_or("a categorical test", |t| t.name())
                ));
                return out;
            }
            let (rc, cc) = with_pair!(a, b, |x, y| binning::union_value_counts(x, y));
            (Vec::new(), rc, cc)
        }
        _ => (Vec::new(), Vec::new(), Vec::new()),
    };
    if needs_counts && rc.is_empty() {
        out.reason = Some("no value to test".into());
        return out;
    }
    if ctype == ColumnType::Categorical {
        let unseen: Vec<String> = match (&r.values, &c.values) {
            (Values::Cat(_), Values::Cat(_)) => keys
                .iter()
                .zip(rc.iter().zip(&cc))
                .filter(|(_, (r, c))| **r == 0.0 && **c > 0.0)
                .map(|(k, _)| k.clone())
                .take(20)
                .collect(),
            (Values::Num { num: a, .. }, Values::Num { num: b, .. }) => b
                .distinct()
                .into_iter()
                .filter(|v| !a.contains(*v))
                .take(20)
                .map(format_num)
                .collect(),
            _ => Vec::new(),
        };
        out.unseen_categories = Some(unseen);
    }

    if set.distributions {
        out.distribution = distribution(&r.values, &c.values, ctype);
    }
    let threshold = set.threshold.unwrap_or(test.default_threshold());
    out.stattest_name = Some(test.name().to_string());
    out.stattest_threshold = Some(threshold);

    let numeric = numeric_pair;
    // numpy bins an integer array with a bin width of at least 1; pandas holds an integer
    // column with missing values as float.
    let integer_bins = match (&r.values, &c.values) {
        (Values::Num { integer: a, .. }, Values::Num { integer: b, .. }) => {
            *a && *b && r.nulls == 0 && c.nulls == 0
        }
        _ => false,
    };
    let result: Result<(f64, Option<f64>), String> = match test {
        StatTest::Ks => match numeric {
            Some((a, b)) => {
                let t = with_pair!(a, b, |x, y| stats::ks::ks_2samp_of(x, y));
                Ok((t.statistic, Some(t.p_value)))
            }
            None => Err("ks needs numeric values".into()),
        },
        StatTest::ChiSquare => match set.chisquare_mode {
            ChiSquareMode::GoodnessOfFit => stats::chisquare_gof(&rc, &cc),
            ChiSquareMode::Homogeneity => stats::chi2_contingency_2xk(&rc, &cc, true),
        }
        .map(|t| (t.statistic, Some(t.p_value)))
        .map_err(|e| e.to_string()),
        StatTest::Z => {
            // Evidently codes the first category (sorted) as 0, all others as 1.
            let (n1, n2) = (out.n_reference as u64, out.n_current as u64);
            let x1 = n1 - rc[0] as u64;
            let x2 = n2 - cc[0] as u64;
            let single_same = n_values == 1;
            if single_same {
                Ok((0.0, Some(1.0)))
            } else {
                stats::z_test_proportions(x1, n1, x2, n2)
                    .map(|t| (t.statistic, Some(t.p_value)))
                    .map_err(|e| e.to_string())
            }
        }
        StatTest::Wasserstein => match numeric {
            Some((a, b)) => Ok((with_pair!(a, b, |x, y| wasserstein_normed_of(x, y)), None)),
            None => Err("wasserstein needs numeric values".into()),
        },
        StatTest::JensenShannon => {
            let (p, q) = match numeric {
                Some((a, b)) => {
                    let bd = with_pair!(a, b, |x, y| binning::evidently_binned_sorted(
                        x,
                        y,
                        ctype == ColumnType::Numerical,
                        integer_bins,
                        false,
                    ));
                    (bd.reference, bd.current)
                }
                None => shares(&rc, &cc),
            };
            stats::jensenshannon(&p, &q)
                .map(|d| (d, None))
                .map_err(|e| e.to_string())
        }
        StatTest::Psi => match (set.psi_binning, numeric) {
            (PsiBinning::Quantile { n_bins, floor }, Some((a, b)))
                if ctype == ColumnType::Numerical =>
            {
                with_pair!(a, b, |x, y| psi_mod::psi_quantile_bins_sorted(
                    x, y, n_bins, floor
                ))
                .map(|d| (d, None))
                .map_err(|e| e.to_string())
            }
            (PsiBinning::Evidently, Some((a, b))) => {
                let bd = with_pair!(a, b, |x, y| binning::evidently_binned_sorted(
                    x,
                    y,
                    ctype == ColumnType::Numerical,
                    integer_bins,
                    true,
                ));
                stats::psi(&bd.reference, &bd.current)
                    .map(|d| (d, None))
                    .map_err(|e| e.to_string())
            }
            (binning_opt, _) => {
                let (mut p, mut q) = shares(&rc, &cc);
                match binning_opt {
                    PsiBinning::Quantile { floor, .. } => {
                        for v in p.iter_mut().chain(q.iter_mut()) {
                            if *v == 0.0 {
                                *v = floor;
                            }
                        }
                    }
                    PsiBinning::Evidently => {
                        binning::evidently_fill_zeros(&mut p);
                        binning::evidently_fill_zeros(&mut q);
                    }
                }
                stats::psi(&p, &q)
                    .map(|d| (d, None))
                    .map_err(|e| e.to_string())
            }
        },
    };
    match result {
        Ok((statistic, p_value)) => {
            let score = p_value.unwrap_or(statistic);
            if score.is_nan() {
                out.reason = Some(format!("{} returned NaN", test.name()));
                return out;
            }
            out.statistic = Some(statistic);
            out.p_value = p_value;
            out.drift_score = Some(score);
            out.drift_detected = test.is_drift(score, threshold);
            out.status = ColumnStatus::Ok;
            if let Some(tau) = set.effect_gate {
                let effect = match numeric {
                    Some((a, b)) if ctype == ColumnType::Numerical => {
                        with_pair!(a, b, |x, y| wasserstein_normed_of(x, y))
                    }
                    _ => {
                        let (p, q) = shares(&rc, &cc);
                        stats::jensenshannon(&p, &q).unwrap_or(0.0)
                    }
                };
                out.effect_size = Some(effect);
                out.drift_detected = out.drift_detected && effect >= tau;
            }
        }
        Err(e) => {
            out.reason = Some(e);
        }
    }
    out
}

/// Evidently's normed Wasserstein distance: W₁ over the reference's population std (at least
/// 0.001).
fn wasserstein_normed_of<R: Sample + ?Sized, C: Sample + ?Sized>(r: &R, c: &C) -> f64 {
    stats::wasserstein::wasserstein_of(r, c) / r.population_std().max(0.001)
}

fn shares(rc: &[f64], cc: &[f64]) -> (Vec<f64>, Vec<f64>) {
    let nr: f64 = rc.iter().sum();
    let nc: f64 = cc.iter().sum();
    (
        rc.iter().map(|v| v / nr).collect(),
        cc.iter().map(|v| v / nc).collect(),
    )
}

pub(crate) fn format_num(v: f64) -> String {
    if v.fract() == 0.0 && v.abs() < 1e15 {
        format!("{}", v as i64)
    } else {
        format!("{v}")
    }
}

/// Evidently 0.7's default test choice.
pub(crate) fn default_stattest(ctype: ColumnType, n_reference: usize, n_values: usize) -> StatTest {
    if n_reference <= 1000 {
        match ctype {
            ColumnType::Numerical if n_values > 5 => StatTest::Ks,
            _ => {
                if n_values > 2 {
                    StatTest::ChiSquare
                } else {
                    StatTest::Z
                }
            }
        }
    } else {
        match ctype {
            ColumnType::Numerical if n_values > 5 => StatTest::Wasserstein,
            _ => StatTest::JensenShannon,
        }
    }
}
