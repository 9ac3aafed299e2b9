//! The data-quality statistics of one frame, gathered column by column in the drift pass.
//!
//! Each column is reduced to per-row 64-bit value hashes (equal values, as pandas compares
//! them, hash equal: NaN and null alike, −0.0 as 0.0, integers as the floats pandas holds
//! when the column has a missing value — so integers beyond 2⁵³ that round to one float
//! hash alike). A row's hash is the wrapping sum over columns of value hash × an odd
//! multiplier of the column's position, so columns can be added in any order; duplicated rows
//! are `rows − distinct row hashes`. A column's hash is the wrapping sum over rows of value
//! hash × `2·i·K + 1` (an odd multiplier, linear in the row index `i`, so the hash of shards
//! fitted apart can be joined: see [`FrameStats::merge`]); duplicated columns are pairs with
//! equal (pandas dtype, column hash). Two different rows or columns share a hash with probability about
//! 2⁻⁶⁴ per pair for data that is not built to collide (below 10⁻⁷ for a million rows).

use polars::prelude::*;
use std::sync::Mutex;

/// What the suite needs from one column of one frame.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub(crate) struct ColumnQuality {
    pub name: String,
    /// The dtype pandas gives the column when it reads the same Parquet file.
    pub pandas_dtype: String,
    /// Missing cells: null, NaN, ±∞, "".
    pub missing: usize,
    /// At most one distinct non-null value (pandas `nunique() <= 1`).
    pub constant: bool,
    /// Hash of the whole column, in row order.
    pub hash: u64,
    /// Wrapping sum of the value hashes (what shifting the column's rows changes its hash by).
    #[serde(default)]
    pub hash_sum: u64,
    /// For a constant column, a hash of its one value that does not depend on the dtype
    /// (so shards can be compared); `None` otherwise or when every value is missing.
    #[serde(default)]
    pub value: Option<u64>,
}

/// The statistics of one frame.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub(crate) struct FrameStats {
    pub rows: usize,
    pub columns: Vec<ColumnQuality>,
    pub rows_with_missing: usize,
    pub duplicated_rows: usize,
    pub duplicated_columns: usize,
}

impl FrameStats {
    /// The statistics of `self`'s rows followed by `other`'s (two shards of one dataset, with
    /// the same columns). Everything is exact except duplicated rows: a row repeated across
    /// the shards is not seen, so the count is the sum of each shard's (a lower bound).
    pub fn merge(&self, other: &FrameStats) -> Result<FrameStats, String> {
        if self.columns.len() != other.columns.len() {
            return Err(format!(
                "the profiles have {} and {} columns",
                self.columns.len(),
                other.columns.len()
            ));
        }
        let shift = row_multiplier(self.rows as u64).wrapping_sub(1);
        let mut columns = Vec::with_capacity(self.columns.len());
        for (a, b) in self.columns.iter().zip(&other.columns) {
            if a.name != b.name {
                return Err(format!("column `{}` faces column `{}`", a.name, b.name));
            }
            let pandas_dtype = joined_dtype(&a.pandas_dtype, &b.pandas_dtype).ok_or_else(|| {
                format!(
                    "column `{}` is {} in one profile and {} in the other",
                    a.name, a.pandas_dtype, b.pandas_dtype
                )
            })?;
            let constant = a.constant
                && b.constant
                && match (a.value, b.value) {
                    (Some(x), Some(y)) => x == y,
                    _ => true,
                };
            columns.push(ColumnQuality {
                name: a.name.clone(),
                pandas_dtype,
                missing: a.missing + b.missing,
                constant,
                // Σ v·(2(i + rows)K + 1) = Σ v·(2iK + 1) + 2·rows·K·Σ v
                hash: a
                    .hash
                    .wrapping_add(b.hash)
                    .wrapping_add(b.hash_sum.wrapping_mul(shift)),
                hash_sum: a.hash_sum.wrapping_add(b.hash_sum),
                value: if constant { a.value.or(b.value) } else { None },
            });
        }
        Ok(FrameStats {
            rows: self.rows + other.rows,
            rows_with_missing: self.rows_with_missing + other.rows_with_missing,
            duplicated_rows: self.duplicated_rows + other.duplicated_rows,
            duplicated_columns: duplicated_columns(&columns),
            columns,
        })
    }

    pub fn columns_with_missing(&self) -> usize {
        self.columns.iter().filter(|c| c.missing > 0).count()
    }
    pub fn constant_columns(&self) -> usize {
        self.columns.iter().filter(|c| c.constant).count()
    }
    pub fn share_of_missing(&self) -> f64 {
        let cells = self.rows * self.columns.len();
        if cells == 0 {
            0.0
        } else {
            self.columns.iter().map(|c| c.missing).sum::<usize>() as f64 / cells as f64
        }
    }
}

/// Per-row sums of the columns' contributions: row hashes and missing flags (64 rows a
/// word). Each thread running column passes writes into a lane of its own; the lanes are
/// added up at the end.
struct Lane {
    row_hash: Vec<u64>,
    missing: Vec<u64>,
}

/// Gathers the column passes of one frame (from several threads).
pub(crate) struct FrameAcc {
    rows: usize,
    columns: Mutex<Vec<(usize, ColumnQuality)>>,
    lanes: Mutex<Vec<Lane>>,
}

impl FrameAcc {
    pub fn new(rows: usize) -> Self {
        FrameAcc {
            rows,
            columns: Mutex::new(Vec::new()),
            lanes: Mutex::new(Vec::new()),
        }
    }

    /// Runs one column's pass (its position in the frame orders the report), adding its row
    /// contributions in place to a lane no other thread is using.
    pub fn pass(&self, col: &Column, position: usize) {
        // A poisoned lock only means a pass panicked elsewhere; the data under it are whole.
        let lane = lock(&self.lanes).pop();
        let mut lane = LaneGuard {
            acc: self,
            lane: Some(lane.unwrap_or_else(|| Lane {
                row_hash: vec![0; self.rows],
                missing: vec![0; self.rows.div_ceil(64)],
            })),
        };
        let quality = match lane.lane.as_mut() {
            Some(l) => column_pass(col, position, l),
            None => return,
        };
        lock(&self.columns).push((position, quality));
    }

    /// Counts a column whose pass could not run (as one of an unknown type with no missing
    /// value and no row contribution).
    pub fn add_unreadable(&self, name: &str, position: usize) {
        lock(&self.columns).push((
            position,
            ColumnQuality {
                name: name.to_string(),
                pandas_dtype: "object".into(),
                missing: 0,
                constant: self.rows <= 1,
                hash: fmix(column_seed(position)),
                hash_sum: 0,
                value: None,
            },
        ));
    }

    pub fn finish(self) -> FrameStats {
        let mut columns = self.columns.into_inner().unwrap_or_else(|e| e.into_inner());
        columns.sort_by_key(|(p, _)| *p);
        let columns: Vec<ColumnQuality> = columns.into_iter().map(|(_, c)| c).collect();
        let mut lanes = self.lanes.into_inner().unwrap_or_else(|e| e.into_inner());
        let (mut hashes, mut missing) = match lanes.pop() {
            Some(l) => (l.row_hash, l.missing),
            None => (vec![0; self.rows], vec![0; self.rows.div_ceil(64)]),
        };
        for l in lanes {
            for (h, c) in hashes.iter_mut().zip(&l.row_hash) {
                *h = h.wrapping_add(*c);
            }
            for (m, c) in missing.iter_mut().zip(&l.missing) {
                *m |= *c;
            }
        }
        let rows_with_missing = missing.iter().map(|w| w.count_ones() as usize).sum();
        crate::drift::stats::binning::bucket_sort_u64(&mut hashes);
        let distinct = if hashes.is_empty() {
            0
        } else {
            1 + hashes.windows(2).filter(|w| w[0] != w[1]).count()
        };
        let duplicated_columns = duplicated_columns(&columns);
        FrameStats {
            rows: self.rows,
            columns,
            rows_with_missing,
            duplicated_rows: self.rows - distinct,
            duplicated_columns,
        }
    }
}

/// Gives a lane back to its frame when the pass ends, a panicking one included.
struct LaneGuard<'a> {
    acc: &'a FrameAcc,
    lane: Option<Lane>,
}

impl Drop for LaneGuard<'_> {
    fn drop(&mut self) {
        if let Some(l) = self.lane.take() {
            lock(&self.acc.lanes).push(l);
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// Pairs of columns with equal (pandas dtype, column hash).
fn duplicated_columns(columns: &[ColumnQuality]) -> usize {
    let mut keys: Vec<(&str, u64)> = columns
        .iter()
        .map(|c| (c.pandas_dtype.as_str(), c.hash))
        .collect();
    keys.sort_unstable();
    let mut duplicated = 0;
    let mut i = 0;
    while i < keys.len() {
        let j = i + keys[i..].iter().take_while(|k| **k == keys[i]).count();
        let k = j - i;
        duplicated += k * (k - 1) / 2;
        i = j;
    }
    duplicated
}

/// The pandas dtype of a column made of two shards' columns: an integer (bool) column with
/// missing values in one shard is float64 (object) in the whole.
fn joined_dtype(a: &str, b: &str) -> Option<String> {
    let int = |d: &str| d.starts_with("int") || d.starts_with("uint");
    match (a, b) {
        _ if a == b => Some(a.to_string()),
        _ if (int(a) && b == "float64") || (a == "float64" && int(b)) => Some("float64".into()),
        ("bool", "object") | ("object", "bool") => Some("object".into()),
        _ => None,
    }
}

/// The odd multiplier of a column's value hashes in the row hashes, from its position.
fn column_seed(position: usize) -> u64 {
    fmix(position as u64 ^ 0x243f_6a88_85a3_08d3) | 1
}

/// The multiplier of row `i`'s value hash in the column hash: odd, and linear in `i`.
fn row_multiplier(i: u64) -> u64 {
    i.wrapping_mul(0x9e37_79b9_7f4a_7c15u64.wrapping_mul(2))
        .wrapping_add(1)
}

/// A hash of one value that is the same whatever numeric dtype holds it.
fn canonical_hash(v: &AnyValue) -> u64 {
    if v.is_primitive_numeric() || matches!(v, AnyValue::Decimal(..)) {
        if let Some(x) = v.extract::<f64>() {
            return hash_f64(x);
        }
    }
    match v {
        AnyValue::Boolean(b) => fmix(*b as u64 + 1),
        other => hash_bytes(other.str_value().as_bytes()),
    }
}

/// murmur3's 64-bit finaliser.
fn fmix(mut x: u64) -> u64 {
    x ^= x >> 33;
    x = x.wrapping_mul(0xff51_afd7_ed55_8ccd);
    x ^= x >> 33;
    x = x.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
    x ^= x >> 33;
    x
}

const NULL_HASH: u64 = 0x6a09_e667_f3bc_c908;

fn hash_f64(v: f64) -> u64 {
    if v.is_nan() {
        NULL_HASH
    } else if v == 0.0 {
        fmix(0)
    } else {
        fmix(v.to_bits())
    }
}

fn hash_bytes(b: &[u8]) -> u64 {
    let n = b.len();
    let u64_at = |i: usize| {
        b.get(i..i + 8)
            .map_or(0, |c| u64::from_le_bytes(c.try_into().unwrap_or([0; 8])))
    };
    let u32_at = |i: usize| {
        b.get(i..i + 4).map_or(0, |c| {
            u32::from_le_bytes(c.try_into().unwrap_or([0; 4])) as u64
        })
    };
    // Up to 16 bytes (most categories): two fixed-size loads, overlapping when shorter, and
    // one finaliser; longer strings chain 8-byte words.
    let (lo, hi) = match n {
        0 => (0, 0),
        1..=3 => (
            (b[0] as u64) << 16 | (b[n / 2] as u64) << 8 | b[n - 1] as u64,
            0,
        ),
        4..=7 => (u32_at(0), u32_at(n - 4)),
        8..=16 => (u64_at(0), u64_at(n - 8)),
        _ => {
            let mut h = fmix(n as u64 ^ 0x9e37_79b9_7f4a_7c15);
            let mut chunks = b.chunks_exact(8);
            for c in &mut chunks {
                h = fmix(h ^ u64::from_le_bytes(c.try_into().unwrap_or([0; 8])));
            }
            return fmix(h ^ u64_at(n - 8) ^ 0xff);
        }
    };
    fmix(
        lo.wrapping_mul(0x9e37_79b9_7f4a_7c15)
            ^ hi.wrapping_mul(0xc2b2_ae3d_27d4_eb4f).rotate_left(31)
            ^ n as u64,
    )
}

/// The dtype pandas (through pyarrow) gives a Parquet column of this polars dtype.
fn pandas_dtype(dtype: &DataType, has_nulls: bool) -> String {
    let s = match dtype {
        DataType::Int8 | DataType::Int16 | DataType::Int32 | DataType::Int64 if has_nulls => {
            "float64"
        }
        DataType::UInt8 | DataType::UInt16 | DataType::UInt32 | DataType::UInt64 if has_nulls => {
            "float64"
        }
        DataType::Int8 => "int8",
        DataType::Int16 => "int16",
        DataType::Int32 => "int32",
        DataType::Int64 => "int64",
        DataType::UInt8 => "uint8",
        DataType::UInt16 => "uint16",
        DataType::UInt32 => "uint32",
        DataType::UInt64 => "uint64",
        DataType::Float32 => "float32",
        DataType::Float64 => "float64",
        DataType::Boolean if has_nulls => "object",
        DataType::Boolean => "bool",
        DataType::Categorical(..) | DataType::Enum(..) => "category",
        DataType::Datetime(..) => "datetime64[ns]",
        DataType::Duration(..) => "timedelta64[ns]",
        _ => "object",
    };
    s.to_string()
}

/// Calls `f(value hash, missing)` for every row of one column, in order. Fails (before any
/// call) when the column cannot be converted.
fn each_value(s: &Series, mut f: impl FnMut(u64, bool)) -> PolarsResult<()> {
    let dtype = s.dtype().clone();
    // Integers hash as the floats pandas holds them as when one is missing, so shards with
    // and without a missing value agree.
    if dtype.is_float() || dtype.is_integer() || matches!(dtype, DataType::Decimal(..)) {
        let c = s.cast(&DataType::Float64)?;
        let ca = c.f64()?;
        if ca.null_count() == 0 {
            for x in ca.into_no_null_iter() {
                f(hash_f64(x), !x.is_finite());
            }
        } else {
            for v in ca.iter() {
                match v {
                    Some(x) => f(hash_f64(x), !x.is_finite()),
                    None => f(NULL_HASH, true),
                }
            }
        }
    } else if dtype.is_bool() {
        for v in s.bool()?.iter() {
            f(v.map_or(NULL_HASH, |b| fmix(b as u64 + 1)), v.is_none());
        }
    } else {
        let c = s.cast(&DataType::String)?;
        for v in c.str()?.iter() {
            match v {
                Some(x) => f(hash_bytes(x.as_bytes()), x.is_empty()),
                None => f(NULL_HASH, true),
            }
        }
    }
    Ok(())
}

/// Reduces one column to its quality statistics, in one pass over its values, adding its row
/// contributions to `lane`. A column polars cannot convert still counts (as a column of one
/// unknown type with no missing value).
///
/// The row contribution is `value hash × m_c` and the column hash `Σᵢ value hashᵢ × mᵢ`
/// (wrapping, odd multipliers from the column position and the row index): no dependency from
/// one row to the next, so the pass runs at memory speed.
fn column_pass(col: &Column, position: usize, lane: &mut Lane) -> ColumnQuality {
    let s = col.as_materialized_series();
    let n = s.len();
    let name = s.name().to_string();
    let has_nulls = s.null_count() > 0;
    let dtype = pandas_dtype(s.dtype(), has_nulls);
    let seed = column_seed(position);
    // A column of another length than the frame adds nothing per row.
    let fits = n == lane.row_hash.len();
    let (row_hash, missing_rows): (&mut [u64], &mut [u64]) = if fits {
        (&mut lane.row_hash, &mut lane.missing)
    } else {
        (&mut [], &mut [])
    };
    let mut col_hash = 0u64;
    let mut hash_sum = 0u64;
    let mut first: Option<u64> = None;
    let mut first_row = 0usize;
    let mut constant = true;
    let mut missing = 0usize;
    let mut i = 0usize;
    let read = each_value(s, |v: u64, m: bool| {
        col_hash = col_hash.wrapping_add(v.wrapping_mul(row_multiplier(i as u64)));
        hash_sum = hash_sum.wrapping_add(v);
        if let Some(h) = row_hash.get_mut(i) {
            *h = h.wrapping_add(v.wrapping_mul(seed));
        }
        if m {
            missing += 1;
            if let Some(w) = missing_rows.get_mut(i / 64) {
                *w |= 1 << (i % 64);
            }
        }
        if v != NULL_HASH {
            match first {
                None => {
                    first = Some(v);
                    first_row = i;
                }
                Some(f) if f != v => constant = false,
                _ => {}
            }
        }
        i += 1;
    });
    if read.is_err() {
        // unconvertible (failed before any value): distinct per row, nothing missing
        for (r, h) in row_hash.iter_mut().enumerate() {
            *h = h.wrapping_add(fmix(r as u64 ^ seed));
        }
        missing = 0;
        constant = n <= 1;
        col_hash = fmix(seed);
        hash_sum = 0;
        first = None;
    }
    let value = match first {
        Some(_) if constant => s.get(first_row).ok().map(|v| canonical_hash(&v)),
        _ => None,
    };
    ColumnQuality {
        name,
        pandas_dtype: dtype,
        missing,
        constant,
        hash: col_hash,
        hash_sum,
        value,
    }
}
