//! Reference profiles: what the detector needs from a reference frame, fitted once, saved,
//! loaded back.

use super::column::{self, Extracted, Values};
use super::quality::{column_pass, FrameAcc, FrameStats};
use super::{DriftError, Frame};
use polars::prelude::*;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::Path;

/// The `format` field of a profile file.
pub const PROFILE_FORMAT: &str = "recwatch-reference-profile";
/// The profile format version this build writes and reads.
pub const PROFILE_VERSION: u32 = 1;

/// A reference frame reduced to what drift tests and the data-quality suite need, so a
/// service need not hold (or read) the raw reference.
///
/// Exact mode (the only mode so far): per column its dtype, row, null and NaN/±∞ counts, and
/// its values — distinct finite numbers with their counts, or category counts. Drift against a
/// loaded profile equals drift against the raw frame
/// ([`DriftDetector::run_profile`](super::DriftDetector::run_profile)); the size grows with the
/// number of distinct values, not rows.
///
/// The file is JSON: `{"format": "recwatch-reference-profile", "version": 1, "rows": n,
/// "columns": [{"name", "dtype", "len", "nulls", "nonfinite", "values": {"numerical":
/// {"integer": bool, "values": [[bits, count], …]}} | {"categorical": {"counts": {cat: count}}}
/// | {"unsupported": {}}}], "quality": {…}}`, each distinct finite value as its IEEE-754 bit
/// pattern (so it reads back exactly), `quality` the data-quality suite's reference statistics.
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
    pub(crate) rows: usize,
    pub(crate) columns: Vec<ProfileColumn>,
    pub(crate) quality: FrameStats,
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
    Categorical {
        counts: BTreeMap<String, u64>,
    },
    Unsupported {},
}

impl ReferenceProfile {
    /// Fits a profile on a reference frame (read column by column).
    ///
    /// # Errors
    ///
    /// [`DriftError::Polars`] when the frame cannot be read, [`DriftError::EmptyFrame`] when
    /// it has no rows or columns.
    pub fn fit(mut reference: LazyFrame) -> Result<Self, DriftError> {
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
            acc.add(column_pass(c, i));
            let e = column::extract(c).map_err(pe)?;
            columns.push(ProfileColumn::from_extracted(
                c.name().as_str(),
                format!("{}", c.dtype()),
                e,
            ));
        }
        Ok(ReferenceProfile {
            format: PROFILE_FORMAT.into(),
            version: PROFILE_VERSION,
            rows: df.height(),
            columns,
            quality: acc.finish(),
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

    /// Reads a profile written by [`save`](Self::save).
    ///
    /// # Errors
    ///
    /// [`DriftError::Io`] when the file cannot be read, [`DriftError::BadProfile`] when it is
    /// not a profile of a version this build reads.
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
        if format != Some(PROFILE_FORMAT) || version != Some(PROFILE_VERSION as u64) {
            return Err(DriftError::UnsupportedProfile {
                path: path.to_path_buf(),
                version,
            });
        }
        serde_json::from_value(v).map_err(bad)
    }

    /// The reference column as the detector extracts it from a frame.
    pub(crate) fn extracted(&self, name: &str) -> Option<Extracted> {
        let c = self.columns.iter().find(|c| c.name == name)?;
        let values = match &c.values {
            ProfileValues::Numerical { integer, values } => {
                let n: u64 = values.iter().map(|(_, k)| k).sum();
                let mut sorted = Vec::with_capacity(n as usize);
                for (v, k) in values {
                    sorted.extend(std::iter::repeat_n(f64::from_bits(*v), *k as usize));
                }
                Values::Num {
                    sorted,
                    integer: *integer,
                }
            }
            ProfileValues::Categorical { counts } => Values::Cat(counts.clone()),
            ProfileValues::Unsupported {} => Values::Unsupported(c.value_dtype.clone()),
        };
        Some(Extracted {
            values,
            len: c.len,
            nulls: c.nulls,
            nonfinite: c.nonfinite,
            dtype: c.value_dtype.clone(),
        })
    }
}

impl ProfileColumn {
    fn from_extracted(name: &str, dtype: String, e: Extracted) -> Self {
        let values = match e.values {
            Values::Num { sorted, integer } => {
                let mut values: Vec<(u64, u64)> = Vec::new();
                for v in sorted {
                    match values.last_mut() {
                        Some((last, k)) if *last == v.to_bits() => *k += 1,
                        _ => values.push((v.to_bits(), 1)),
                    }
                }
                ProfileValues::Numerical { integer, values }
            }
            Values::Cat(counts) => ProfileValues::Categorical { counts },
            Values::Unsupported(_) => ProfileValues::Unsupported {},
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
}
