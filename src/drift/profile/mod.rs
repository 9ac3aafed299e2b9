//! Reference profiles: what the detector needs from a reference frame, fitted once, saved,
//! loaded back, merged across shards.

mod sketch;

pub use sketch::SketchOptions;

use super::column::{self, Extracted, Num, Values};
use super::quality::{FrameAcc, FrameStats};
use super::stats::sample::Sample;
use super::stats::sample::Summary;
use super::{DriftError, Frame};
use polars::prelude::*;
use serde::{Deserialize, Serialize};
use sketch::{merge_counts, NumericSketch};
use std::collections::BTreeMap;
use std::path::Path;

/// The `format` field of a profile file.
pub const PROFILE_FORMAT: &str = "recwatch-reference-profile";
/// The profile format version this build writes (it reads 1 and 2; version 1 has exact mode
/// only).
pub const PROFILE_VERSION: u32 = 2;

/// A reference frame reduced to what drift tests and the data-quality suite need, so a
/// service need not hold (or read) the raw reference.
///
/// Two modes:
///
/// - **Exact** ([`fit`](Self::fit)): per column its dtype, row, null and NaN/±∞ counts, and
///   its values — distinct finite numbers with their counts, or category counts. Drift against
///   a loaded profile equals drift against the raw frame
///   ([`DriftDetector::run_profile`](super::DriftDetector::run_profile)); the size grows with
///   the number of distinct values, not rows.
/// - **Sketch** ([`fit_sketch`](Self::fit_sketch)): a numerical column keeps its exact count,
///   extremes, mean and sum of squares, its 1024 smallest and 1024 largest values, its distinct
///   values while there are at most [`SketchOptions::max_exact_values`] of them (then its
///   tests equal the exact mode's), and an
///   [Apache DataSketches](https://datasketches.apache.org/) KLL quantile sketch, whose size is
///   bounded (about `3k` values) whatever the number of rows. A test on a sketched column
///   reads the reference CDF off the sketch: within [`SketchOptions::rank_error`] of the exact
///   CDF, so the KS statistic moves by at most that much and PSI/Jensen–Shannon bin shares by
///   at most twice that (docs/drift.md gives the measured errors). Categorical columns keep
///   exact counts up to [`SketchOptions::max_categories`].
///
/// Profiles of shards of one dataset, fitted apart, [`merge`](Self::merge) into the profile
/// of the whole (sketch mode for a bounded result; exact mode works too).
///
/// The file is JSON: `{"format": "recwatch-reference-profile", "version": 2, "mode": "exact"
/// | "sketch", "rows": n, "columns": [{"name", "dtype", "len", "nulls", "nonfinite",
/// "values": {"numerical": {"integer": bool, "values": [[bits, count], …]}} | {"sketch":
/// {"integer", "n", "min", "max", "mean", "m2", "values": [[bits, count], …] | null, "low":
/// base64, "high": base64, "kll": base64}} | {"categorical": {"counts": {cat: count}}} |
/// {"overflow": {"categories": n}} |
/// {"unsupported": {}}}], "quality": {…}}`: each distinct finite value as its IEEE-754 bit
/// pattern (so it reads back exactly), `low`/`high` the tails as little-endian f64, `kll` the
/// sketch in DataSketches' compact binary form (which other DataSketches libraries read),
/// `quality` the data-quality suite's
/// reference statistics. Version 1 files (exact mode, no `mode`) still load.
///
/// ```
/// use polars::prelude::*;
/// use recwatch::drift::ReferenceProfile;
/// let reference = df!("x" => [1.0, 2.0, 2.0], "c" => ["a", "b", "a"])?;
/// let profile = ReferenceProfile::fit(reference.lazy())?;
/// let path = std::env::temp_dir().join(format!("profile-doc-{}.json", std::process::id()));
/// profile.save(&path)?;
/// assert_eq!(ReferenceProfile::load(&path)?, profile);
/// # std::fs::remove_file(&path).ok();
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReferenceProfile {
    format: String,
    version: u32,
    #[serde(default)]
    mode: Mode,
    pub(crate) rows: usize,
    pub(crate) columns: Vec<ProfileColumn>,
    pub(crate) quality: FrameStats,
}

/// How a profile holds numerical columns.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
enum Mode {
    #[default]
    Exact,
    Sketch,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct ProfileColumn {
    pub name: String,
    /// The polars dtype, as the schema prints it.
    pub dtype: String,
    /// The detector's dtype note (marks categoricals).
    value_dtype: String,
    len: usize,
    nulls: usize,
    nonfinite: usize,
    values: ProfileValues,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
enum ProfileValues {
    Numerical {
        integer: bool,
        /// Distinct finite values ascending, each as its IEEE-754 bit pattern, with its count.
        values: Vec<(u64, u64)>,
    },
    Sketch(NumericSketch),
    Categorical {
        counts: BTreeMap<String, u64>,
    },
    /// A categorical column with more categories than a sketch-mode profile keeps.
    Overflow {
        categories: usize,
    },
    Unsupported {},
}

impl ReferenceProfile {
    /// Fits an exact-mode profile on a reference frame (read column by column).
    ///
    /// # Errors
    ///
    /// [`DriftError::Polars`] when the frame cannot be read, [`DriftError::EmptyFrame`] when
    /// it has no rows or columns.
    pub fn fit(reference: LazyFrame) -> Result<Self, DriftError> {
        Self::fit_with(reference, None)
    }

    /// Fits a sketch-mode profile: bounded size per numerical column, mergeable with the
    /// profiles of other shards ([`merge`](Self::merge)).
    ///
    /// ```
    /// use polars::prelude::*;
    /// use recwatch::drift::{DriftDetector, ReferenceProfile, SketchOptions};
    /// let x: Vec<f64> = (0..50_000).map(|i| ((i * 7919) % 50_000) as f64 / 100.0).collect();
    /// let (a, b) = x.split_at(20_000);
    /// let shard = |v: &[f64]| -> Result<ReferenceProfile, Box<dyn std::error::Error>> {
    ///     Ok(ReferenceProfile::fit_sketch(df!("x" => v)?.lazy(), SketchOptions::new())?)
    /// };
    /// let whole = shard(a)?.merge(&shard(b)?)?;
    /// assert_eq!(whole.rows(), 50_000);
    /// let current = df!("x" => x.iter().map(|v| v + 50.0).collect::<Vec<_>>())?;
    /// let report = DriftDetector::new().run_profile(&whole, current.lazy())?;
    /// assert!(report.drift_by_columns["x"].drift_detected);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # Errors
    ///
    /// As [`fit`](Self::fit).
    pub fn fit_sketch(reference: LazyFrame, options: SketchOptions) -> Result<Self, DriftError> {
        Self::fit_with(reference, Some(options))
    }

    fn fit_with(
        mut reference: LazyFrame,
        sketch: Option<SketchOptions>,
    ) -> Result<Self, DriftError> {
        let pe = |source| DriftError::Polars {
            context: "cannot read reference frame".into(),
            source,
        };
        let schema = reference.collect_schema().map_err(pe)?;
        let df = reference.collect().map_err(pe)?;
        if schema.is_empty() || df.height() == 0 {
            return Err(DriftError::EmptyFrame {
                frame: Frame::Reference,
            });
        }
        let acc = FrameAcc::new(df.height());
        let mut columns = Vec::with_capacity(df.width());
        for (i, c) in df.columns().iter().enumerate() {
            acc.pass(c, i);
            let e = column::extract(c).map_err(pe)?;
            columns.push(ProfileColumn::from_extracted(
                c.name().as_str(),
                format!("{}", c.dtype()),
                e,
                sketch.as_ref(),
            ));
        }
        Ok(ReferenceProfile {
            format: PROFILE_FORMAT.into(),
            version: PROFILE_VERSION,
            mode: if sketch.is_some() {
                Mode::Sketch
            } else {
                Mode::Exact
            },
            rows: df.height(),
            columns,
            quality: acc.finish(),
        })
    }

    /// The profile of this profile's rows followed by `other`'s: two shards of one dataset
    /// with the same columns, fitted in the same mode. Counts, moments, extremes, category
    /// counts and the data-quality statistics join exactly, and KLL sketches merge with the
    /// same error bound. One count is a lower bound: duplicated rows, since a row repeated in
    /// two shards is seen by neither.
    ///
    /// A sketch-mode merge keeps the distinct values of a numerical column while the union
    /// has at most [`SketchOptions::max_exact_values`] (default) of them, and the counts of a
    /// categorical column up to [`SketchOptions::max_categories`] (default).
    ///
    /// # Errors
    ///
    /// [`DriftError::ProfileMismatch`] when the profiles differ in mode or columns (names,
    /// order or dtypes).
    pub fn merge(&self, other: &ReferenceProfile) -> Result<ReferenceProfile, DriftError> {
        let mismatch = |reason: String| DriftError::ProfileMismatch { reason };
        if self.mode != other.mode {
            return Err(mismatch(format!(
                "one profile is in {:?} mode, the other in {:?} mode",
                self.mode, other.mode
            )));
        }
        if self.columns.len() != other.columns.len() {
            return Err(mismatch(format!(
                "the profiles have {} and {} columns",
                self.columns.len(),
                other.columns.len()
            )));
        }
        let defaults = SketchOptions::default();
        let mut columns = Vec::with_capacity(self.columns.len());
        for (a, b) in self.columns.iter().zip(&other.columns) {
            columns.push(
                a.merge(b, &defaults, self.mode == Mode::Sketch)
                    .map_err(mismatch)?,
            );
        }
        let quality = self.quality.merge(&other.quality).map_err(mismatch)?;
        Ok(ReferenceProfile {
            format: PROFILE_FORMAT.into(),
            version: PROFILE_VERSION,
            mode: self.mode,
            rows: self.rows + other.rows,
            columns,
            quality,
        })
    }

    /// Rows of the reference.
    ///
    /// ```
    /// # use polars::prelude::*;
    /// let p = recwatch::drift::ReferenceProfile::fit(df!("x" => [1.0, 2.0])?.lazy())?;
    /// assert_eq!(p.rows(), 2);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn rows(&self) -> usize {
        self.rows
    }

    /// Whether the profile is in sketch mode.
    pub fn is_sketch(&self) -> bool {
        self.mode == Mode::Sketch
    }

    /// Column names with their polars dtypes, in the reference's order.
    pub fn schema(&self) -> Vec<(String, String)> {
        self.columns
            .iter()
            .map(|c| (c.name.clone(), c.dtype.clone()))
            .collect()
    }

    /// Column names with the polars dtypes a window of recorded rows gets (numbers and
    /// bools keep their dtype; anything else is held as strings).
    pub(crate) fn window_schema(&self) -> Vec<(String, DataType)> {
        self.columns
            .iter()
            .map(|c| {
                let dt = match c.dtype.as_str() {
                    "f64" => DataType::Float64,
                    "f32" => DataType::Float32,
                    "i8" => DataType::Int8,
                    "i16" => DataType::Int16,
                    "i32" => DataType::Int32,
                    "i64" => DataType::Int64,
                    "u8" => DataType::UInt8,
                    "u16" => DataType::UInt16,
                    "u32" => DataType::UInt32,
                    "u64" => DataType::UInt64,
                    "bool" => DataType::Boolean,
                    _ => DataType::String,
                };
                (c.name.clone(), dt)
            })
            .collect()
    }

    /// The profile as JSON.
    pub fn to_json(&self) -> String {
        // plain structs with finite floats: cannot fail
        serde_json::to_string(self).unwrap_or_default()
    }

    /// Writes the profile to a file.
    ///
    /// # Errors
    ///
    /// [`DriftError::Write`] when the file cannot be written.
    pub fn save(&self, path: impl AsRef<Path>) -> Result<(), DriftError> {
        let path = path.as_ref();
        std::fs::write(path, self.to_json()).map_err(|source| DriftError::Write {
            path: path.to_path_buf(),
            source,
        })
    }

    /// Reads a profile written by [`save`](Self::save) (this version or version 1).
    ///
    /// # Errors
    ///
    /// [`DriftError::Io`] when the file cannot be read, [`DriftError::BadProfile`] when it is
    /// not valid JSON of the format (a corrupt sketch included),
    /// [`DriftError::UnsupportedProfile`] when it is not a profile of a version this build
    /// reads.
    pub fn load(path: impl AsRef<Path>) -> Result<Self, DriftError> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path).map_err(|source| DriftError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        let bad = |source| DriftError::BadProfile {
            path: path.to_path_buf(),
            source,
        };
        let v: serde_json::Value = serde_json::from_str(&text).map_err(bad)?;
        let format = v.get("format").and_then(|f| f.as_str());
        let version = v.get("version").and_then(|f| f.as_u64());
        let readable = matches!(version, Some(1) | Some(2));
        if format != Some(PROFILE_FORMAT) || !readable {
            return Err(DriftError::UnsupportedProfile {
                path: path.to_path_buf(),
                version,
            });
        }
        let mut p: ReferenceProfile = serde_json::from_value(v).map_err(bad)?;
        p.version = PROFILE_VERSION;
        Ok(p)
    }

    /// The reference column as the detector reads it.
    pub(crate) fn extracted(&self, name: &str) -> Result<Extracted, String> {
        let c = self
            .columns
            .iter()
            .find(|c| c.name == name)
            .ok_or_else(|| "not in the reference profile".to_string())?;
        let num = |s: Option<Summary>| s.map_or(Num::Sorted(Vec::new()), Num::Summary);
        let values = match &c.values {
            ProfileValues::Numerical { integer, values } => {
                let runs = values.iter().map(|(v, k)| (f64::from_bits(*v), *k));
                let (lo, hi) = match (values.first(), values.last()) {
                    (Some(a), Some(b)) => (f64::from_bits(a.0), f64::from_bits(b.0)),
                    _ => (0.0, 0.0),
                };
                Values::Num {
                    num: num(Summary::new(runs, lo, hi, None, true)),
                    integer: *integer,
                }
            }
            ProfileValues::Sketch(s) => Values::Num {
                num: num(s.summary()),
                integer: s.integer,
            },
            ProfileValues::Categorical { counts } => Values::Cat(counts.clone()),
            ProfileValues::Overflow { categories } => {
                return Err(format!(
                    "the reference profile keeps no counts for this column ({categories} \
                     categories, more than its sketch's limit)"
                ))
            }
            ProfileValues::Unsupported {} => Values::Unsupported(c.value_dtype.clone()),
        };
        Ok(Extracted {
            values,
            len: c.len,
            nulls: c.nulls,
            nonfinite: c.nonfinite,
            dtype: c.value_dtype.clone(),
        })
    }
}

impl ProfileColumn {
    fn from_extracted(
        name: &str,
        dtype: String,
        e: Extracted,
        sketch: Option<&SketchOptions>,
    ) -> Self {
        let values = match (e.values, sketch) {
            (Values::Num { num, integer }, None) => ProfileValues::Numerical {
                integer,
                values: runs_of(&num),
            },
            (Values::Num { num, integer }, Some(opts)) => match num {
                Num::Sorted(v) => ProfileValues::Sketch(NumericSketch::fit(&v, integer, opts)),
                // extract() gives frames' columns, never summaries
                Num::Summary(_) => ProfileValues::Numerical {
                    integer,
                    values: runs_of(&num),
                },
            },
            (Values::Cat(counts), Some(opts)) if counts.len() > opts.max_categories() => {
                ProfileValues::Overflow {
                    categories: counts.len(),
                }
            }
            (Values::Cat(counts), _) => ProfileValues::Categorical { counts },
            (Values::Unsupported(_), _) => ProfileValues::Unsupported {},
        };
        ProfileColumn {
            name: name.to_string(),
            dtype,
            value_dtype: e.dtype,
            len: e.len,
            nulls: e.nulls,
            nonfinite: e.nonfinite,
            values,
        }
    }

    fn merge(
        &self,
        other: &ProfileColumn,
        opts: &SketchOptions,
        sketch: bool,
    ) -> Result<Self, String> {
        if self.name != other.name {
            return Err(format!(
                "column `{}` faces column `{}`",
                self.name, other.name
            ));
        }
        if self.dtype != other.dtype {
            return Err(format!(
                "column `{}` is {} in one profile and {} in the other",
                self.name, self.dtype, other.dtype
            ));
        }
        use ProfileValues as V;
        let values = match (&self.values, &other.values) {
            (
                V::Numerical { integer, values: a },
                V::Numerical {
                    integer: ib,
                    values: b,
                },
            ) => V::Numerical {
                integer: *integer && *ib,
                values: merge_counts(a, b),
            },
            (V::Sketch(a), V::Sketch(b)) => V::Sketch(a.merge(b, opts.max_exact_values())?),
            (V::Categorical { counts: a }, V::Categorical { counts: b }) => {
                let mut counts = a.clone();
                for (k, n) in b {
                    *counts.entry(k.clone()).or_insert(0) += n;
                }
                if sketch && counts.len() > opts.max_categories() {
                    V::Overflow {
                        categories: counts.len(),
                    }
                } else {
                    V::Categorical { counts }
                }
            }
            (V::Overflow { categories }, V::Categorical { counts })
            | (V::Categorical { counts }, V::Overflow { categories }) => V::Overflow {
                categories: (*categories).max(counts.len()),
            },
            (V::Overflow { categories: a }, V::Overflow { categories: b }) => V::Overflow {
                categories: (*a).max(*b),
            },
            (V::Unsupported {}, V::Unsupported {}) => V::Unsupported {},
            _ => {
                return Err(format!(
                    "column `{}` is held differently in the two profiles",
                    self.name
                ))
            }
        };
        Ok(ProfileColumn {
            name: self.name.clone(),
            dtype: self.dtype.clone(),
            value_dtype: self.value_dtype.clone(),
            len: self.len + other.len,
            nulls: self.nulls + other.nulls,
            nonfinite: self.nonfinite + other.nonfinite,
            values,
        })
    }
}

/// Distinct values (IEEE-754 bits) with their counts, ascending.
fn runs_of(num: &Num) -> Vec<(u64, u64)> {
    let bits = |(v, k): (f64, u64)| (v.to_bits(), k);
    match num {
        Num::Sorted(v) => v.runs().map(bits).collect(),
        Num::Summary(s) => s.runs().map(bits).collect(),
    }
}
