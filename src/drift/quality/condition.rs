//! Test conditions (Evidently's `TestValueCondition` and `approx`).

use serde::{Deserialize, Serialize};

/// A bound of a condition: a number, or Evidently's `approx(value, relative)`, which widens
/// the comparison by `max(relative·|value|, absolute)`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
#[non_exhaustive]
pub enum Bound {
    /// An exact bound.
    Exact(f64),
    /// `value ± max(relative·|value|, absolute)`.
    Approx {
        /// The central value.
        value: f64,
        /// Relative tolerance.
        relative: f64,
        /// Absolute tolerance (Evidently's default 1e-12).
        absolute: f64,
    },
}

impl Bound {
    fn tolerance(self) -> f64 {
        match self {
            Bound::Exact(_) => 0.0,
            Bound::Approx {
                value,
                relative,
                absolute,
            } => (value.abs() * relative).max(absolute),
        }
    }
    fn value(self) -> f64 {
        match self {
            Bound::Exact(v) => v,
            Bound::Approx { value, .. } => value,
        }
    }
    fn approx(value: f64, relative: f64) -> Self {
        Bound::Approx {
            value,
            relative,
            absolute: 1e-12,
        }
    }
}

impl std::fmt::Display for Bound {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Bound::Exact(v) => f.write_str(&fmt_g3(*v)),
            Bound::Approx { value, .. } => {
                write!(f, "{} ± {}", fmt_g3(*value), fmt_g3(self.tolerance()))
            }
        }
    }
}

/// A condition on a test's value: every bound that is set must hold.
///
/// ```
/// use recwatch::drift::Condition;
/// assert!(Condition::lte(3.0).check(3.0));
/// assert!(!Condition::lt(3.0).check(3.0));
/// assert!(Condition::eq_approx(100.0, 0.1).check(109.0)); // 100 ± 10
/// ```
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Condition {
    /// `value == eq` (within the tolerance of an approximate bound).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub eq: Option<Bound>,
    /// `value > gt`.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub gt: Option<Bound>,
    /// `value ≥ gte`.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub gte: Option<Bound>,
    /// `value < lt`.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub lt: Option<Bound>,
    /// `value ≤ lte`.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub lte: Option<Bound>,
    /// `value != not_eq`.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub not_eq: Option<Bound>,
}

impl Condition {
    /// `value == v`.
    ///
    /// ```
    /// assert!(recwatch::drift::Condition::eq(0.0).check(0.0));
    /// ```
    pub fn eq(v: f64) -> Self {
        Condition {
            eq: Some(Bound::Exact(v)),
            ..Default::default()
        }
    }
    /// `value == v ± max(relative·|v|, 1e-12)` (Evidently's `eq=approx(v, relative)`).
    ///
    /// ```
    /// assert!(!recwatch::drift::Condition::eq_approx(100.0, 0.1).check(111.0));
    /// ```
    pub fn eq_approx(v: f64, relative: f64) -> Self {
        Condition {
            eq: Some(Bound::approx(v, relative)),
            ..Default::default()
        }
    }
    /// `value > v`.
    ///
    /// ```
    /// assert!(recwatch::drift::Condition::gt(30.0).check(31.0));
    /// ```
    pub fn gt(v: f64) -> Self {
        Condition {
            gt: Some(Bound::Exact(v)),
            ..Default::default()
        }
    }
    /// `value ≥ v`.
    ///
    /// ```
    /// assert!(recwatch::drift::Condition::gte(30.0).check(30.0));
    /// ```
    pub fn gte(v: f64) -> Self {
        Condition {
            gte: Some(Bound::Exact(v)),
            ..Default::default()
        }
    }
    /// `value < v`.
    ///
    /// ```
    /// assert!(recwatch::drift::Condition::lt(1.0).check(0.0));
    /// ```
    pub fn lt(v: f64) -> Self {
        Condition {
            lt: Some(Bound::Exact(v)),
            ..Default::default()
        }
    }
    /// `value ≤ v`.
    ///
    /// ```
    /// assert!(recwatch::drift::Condition::lte(1.0).check(1.0));
    /// ```
    pub fn lte(v: f64) -> Self {
        Condition {
            lte: Some(Bound::Exact(v)),
            ..Default::default()
        }
    }
    /// `value ≤ v + max(relative·|v|, 1e-12)` (Evidently's `lte=approx(v, relative)`).
    ///
    /// ```
    /// assert!(recwatch::drift::Condition::lte_approx(10.0, 0.1).check(11.0));
    /// ```
    pub fn lte_approx(v: f64, relative: f64) -> Self {
        Condition {
            lte: Some(Bound::approx(v, relative)),
            ..Default::default()
        }
    }

    /// Whether `value` meets every bound (Evidently's `check_value`).
    ///
    /// ```
    /// assert!(recwatch::drift::Condition::default().check(1.0)); // no bound
    /// ```
    pub fn check(&self, value: f64) -> bool {
        let ok = |b: Option<Bound>, f: &dyn Fn(f64, f64, f64) -> bool| {
            b.is_none_or(|b| f(value, b.value(), b.tolerance()))
        };
        // An approximate bound compares as Evidently's ApproxValue does when it is on the
        // right of the operator: eq within ±t, gt beyond v + t, gte from v − t, lt below
        // v − t, lte up to v + t.
        ok(self.eq, &|x, v, t| v - t <= x && x <= v + t)
            && ok(self.gt, &|x, v, t| x > v + t)
            && ok(self.gte, &|x, v, t| x >= v - t)
            && ok(self.lt, &|x, v, t| x < v - t)
            && ok(self.lte, &|x, v, t| x <= v + t)
            && ok(self.not_eq, &|x, v, _| x != v)
    }
}

impl std::fmt::Display for Condition {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut first = true;
        for (op, b) in [
            ("eq", self.eq),
            ("gt", self.gt),
            ("gte", self.gte),
            ("lt", self.lt),
            ("lte", self.lte),
            ("not_eq", self.not_eq),
        ] {
            if let Some(b) = b {
                if !first {
                    f.write_str(" and ")?;
                }
                first = false;
                write!(f, "{op}={b}")?;
            }
        }
        Ok(())
    }
}

/// A number as Python's `format(v, ".3g")` writes it for the magnitudes tests produce
/// (integers as integers).
pub(crate) fn fmt_g3(v: f64) -> String {
    if v.fract() == 0.0 && v.abs() < 1e15 {
        return format!("{}", v as i64);
    }
    if v == 0.0 || !v.is_finite() {
        return format!("{v}");
    }
    let exp = v.abs().log10().floor() as i32;
    if !(-5..3).contains(&exp) {
        return format!("{:.2e}", v);
    }
    let decimals = (2 - exp).max(0) as usize;
    let s = format!("{v:.decimals$}");
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        s
    }
}
