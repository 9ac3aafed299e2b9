//! The data-quality statistics of one frame, gathered column by column in the drift pass.
//!
//! Each column is reduced to per-row 64-bit value hashes (equal values, as pandas compares
//! them, hash equal: NaN and null alike, −0.0 as 0.0, an integer column with nulls as the
//! floats pandas holds). A row's hash is the wrapping sum over columns of value hash × an odd
//! multiplier of the column's position, so columns can be added in any order; duplicated rows
//! are `rows − distinct row hashes`. A column's hash is the wrapping sum over rows of value
//! hash × an odd multiplier of the row index; duplicated columns are pairs with equal (pandas
//! dtype, column hash). Two different rows or columns share a hash with probability about
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
}

/// One column's contribution to the frame statistics.
pub(crate) struct ColumnPass {
    pub quality: ColumnQuality,
    /// Per-row hash contributions (already mixed with the column position).
    pub row_hashes: Vec<u64>,
    /// Per-row missing flags, 64 rows a word.
    pub missing_rows: Vec<u64>,
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

struct Acc {
    rows: usize,
    columns: Vec<(usize, ColumnQuality)>,
    row_hash: Vec<u64>,
    missing: Vec<u64>,
}

/// Gathers column passes of one frame (from several threads).
pub(crate) struct FrameAcc(Mutex<Acc>);

impl FrameAcc {
    pub fn new(rows: usize) -> Self {
        FrameAcc(Mutex::new(Acc {
            rows,
            columns: Vec::new(),
            row_hash: vec![0; rows],
            missing: vec![0; rows.div_ceil(64)],
        }))
    }

    /// Adds one column (its position in the frame orders the report).
    pub fn add(&self, (position, pass): (usize, ColumnPass)) {
        // A poisoned lock means another column's pass panicked; its data are lost but what
        // is here is still consistent (each add completes under the lock).
        let mut g = self.0.lock().unwrap_or_else(|e| e.into_inner());
        if pass.row_hashes.len() == g.rows {
            for (h, c) in g.row_hash.iter_mut().zip(&pass.row_hashes) {
                *h = h.wrapping_add(*c);
            }
            for (m, c) in g.missing.iter_mut().zip(&pass.missing_rows) {
                *m |= *c;
            }
        }
        g.columns.push((position, pass.quality));
    }

    pub fn finish(self) -> FrameStats {
        let mut acc = self.0.into_inner().unwrap_or_else(|e| e.into_inner());
        acc.columns.sort_by_key(|(p, _)| *p);
        let columns: Vec<ColumnQuality> = acc.columns.into_iter().map(|(_, c)| c).collect();
        let rows_with_missing = acc.missing.iter().map(|w| w.count_ones() as usize).sum();
        let mut hashes = acc.row_hash;
        rayon_sort(&mut hashes);
        let distinct = if hashes.is_empty() {
            0
        } else {
            1 + hashes.windows(2).filter(|w| w[0] != w[1]).count()
        };
        let mut keys: Vec<(&str, u64)> = columns
            .iter()
            .map(|c| (c.pandas_dtype.as_str(), c.hash))
            .collect();
        keys.sort_unstable();
        let mut duplicated_columns = 0;
        let mut i = 0;
        while i < keys.len() {
            let j = i + keys[i..].iter().take_while(|k| **k == keys[i]).count();
            let k = j - i;
            duplicated_columns += k * (k - 1) / 2;
            i = j;
        }
        FrameStats {
            rows: acc.rows,
            columns,
            rows_with_missing,
            duplicated_rows: acc.rows - distinct,
            duplicated_columns,
        }
    }
}

fn rayon_sort(v: &mut [u64]) {
    use rayon::slice::ParallelSliceMut;
    v.par_sort_unstable();
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
    let mut h = fmix(b.len() as u64 ^ 0x9e37_79b9_7f4a_7c15);
    let mut chunks = b.chunks_exact(8);
    for c in &mut chunks {
        let mut w = [0u8; 8];
        w.copy_from_slice(c);
        h = fmix(h ^ u64::from_le_bytes(w));
    }
    let rest = chunks.remainder();
    if !rest.is_empty() {
        let mut w = [0u8; 8];
        w[..rest.len()].copy_from_slice(rest);
        h = fmix(h ^ u64::from_le_bytes(w) ^ 0xff);
    }
    h
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

/// Calls `f(value hash, missing)` for every row of one column, in order.
fn each_value(s: &Series, mut f: impl FnMut(u64, bool)) -> PolarsResult<()> {
    let dtype = s.dtype().clone();
    let nulls = s.null_count() > 0;
    if dtype.is_float() || matches!(dtype, DataType::Decimal(..)) || (dtype.is_integer() && nulls) {
        let c = s.cast(&DataType::Float64)?;
        for v in c.f64()?.iter() {
            match v {
                Some(x) => f(hash_f64(x), !x.is_finite()),
                None => f(NULL_HASH, true),
            }
        }
    } else if matches!(dtype, DataType::UInt64) {
        for v in s.u64()?.iter() {
            f(v.map_or(NULL_HASH, fmix), v.is_none());
        }
    } else if dtype.is_integer() {
        let c = s.cast(&DataType::Int64)?;
        for v in c.i64()?.iter() {
            f(v.map_or(NULL_HASH, |x| fmix(x as u64)), v.is_none());
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

/// Reduces one column to its quality statistics and row contributions, in one pass over its
/// values. A column polars cannot convert still counts (as a column of one unknown type with
/// no missing value).
///
/// The row contribution is `value hash × m_c` and the column hash `Σᵢ value hashᵢ × mᵢ`
/// (wrapping, odd multipliers from the column position and the row index): no dependency from
/// one row to the next, so the pass runs at memory speed.
pub(crate) fn column_pass(col: &Column, position: usize) -> (usize, ColumnPass) {
    let s = col.as_materialized_series();
    let n = s.len();
    let name = s.name().to_string();
    let has_nulls = s.null_count() > 0;
    let dtype = pandas_dtype(s.dtype(), has_nulls);
    let seed = fmix(position as u64 ^ 0x243f_6a88_85a3_08d3) | 1;
    let mut col_hash = 0u64;
    let mut first: Option<u64> = None;
    let mut constant = true;
    let mut row_hashes = Vec::with_capacity(n);
    let mut missing_rows = vec![0u64; n.div_ceil(64)];
    let mut missing = 0usize;
    let mut i = 0usize;
    let mut push = |v: u64, m: bool| {
        col_hash = col_hash
            .wrapping_add(v.wrapping_mul((i as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1));
        row_hashes.push(v.wrapping_mul(seed));
        if m {
            missing += 1;
            missing_rows[i / 64] |= 1 << (i % 64);
        }
        if v != NULL_HASH {
            match first {
                None => first = Some(v),
                Some(f) if f != v => constant = false,
                _ => {}
            }
        }
        i += 1;
    };
    if each_value(s, &mut push).is_err() || i != n {
        // unconvertible: distinct per row, nothing missing
        row_hashes.clear();
        row_hashes.extend((0..n).map(|r| fmix(r as u64 ^ seed)));
        missing_rows.iter_mut().for_each(|w| *w = 0);
        missing = 0;
        constant = n <= 1;
        col_hash = fmix(seed);
    }
    (
        position,
        ColumnPass {
            quality: ColumnQuality {
                name,
                pandas_dtype: dtype,
                missing,
                constant,
                hash: col_hash,
            },
            row_hashes,
            missing_rows,
        },
    )
}
