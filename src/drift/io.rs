//! Opening Parquet and CSV files as lazy frames, with errors that name the file.

use super::DriftError;
use polars::prelude::*;
use std::io::{Read, Seek, SeekFrom};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::Path;

/// Scans a Parquet or CSV file lazily (only the columns a report needs are read).
///
/// Files ending in `.csv` (any case) are read as CSV with a header row and schema inference
/// over all rows (so a float appearing late does not break an integer guess); every other
/// file must be Parquet (checked by its `PAR1` magic
/// bytes at both ends). The schema is resolved eagerly, so an unreadable, truncated or
/// non-Parquet file is reported here and not later. Index columns that pandas stored in a
/// Parquet file (listed in its `pandas` metadata, such as `__index_level_0__` after
/// filtering a frame) are left out: they are not data.
///
/// # Errors
///
/// [`DriftError::Io`] when the file cannot be opened, [`DriftError::NotParquet`] for a file
/// without Parquet magic bytes, [`DriftError::Polars`] when polars rejects it,
/// [`DriftError::UnreadableFile`] when its reader panics, and
/// [`DriftError::EmptyFrame`] is *not* checked here (the detector does it).
///
/// ```no_run
/// use recwatch::drift::{scan_file, DriftDetector};
/// let reference = scan_file("reference.parquet")?;
/// let current = scan_file("current.csv")?;
/// let report = DriftDetector::new().run_lazy(reference, current)?;
/// println!("{}", report.to_json_pretty());
/// # Ok::<(), recwatch::drift::DriftError>(())
/// ```
pub fn scan_file(path: impl AsRef<Path>) -> Result<LazyFrame, DriftError> {
    let path = path.as_ref();
    let io_err = |source| DriftError::Io {
        path: path.to_path_buf(),
        source,
    };
    let mut file = std::fs::File::open(path).map_err(io_err)?;
    let meta = file.metadata().map_err(io_err)?;
    if meta.is_dir() {
        return Err(io_err(std::io::Error::other("is a directory")));
    }
    let path_str = path.to_string_lossy().to_string();
    let context = format!("cannot read {}", path.display());
    let is_csv = path
        .extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| e.eq_ignore_ascii_case("csv"));
    let mut lf = if is_csv {
        LazyCsvReader::new(PlRefPath::new(path_str.as_str()))
            .with_has_header(true)
            .with_infer_schema_length(None)
            .finish()
            .map_err(|source| DriftError::Polars {
                context: context.clone(),
                source,
            })?
    } else {
        let len = meta.len();
        let mut head = [0u8; 4];
        let mut tail = [0u8; 4];
        let ok = len >= 12
            && file.read_exact(&mut head).is_ok()
            && file.seek(SeekFrom::End(-4)).is_ok()
            && file.read_exact(&mut tail).is_ok()
            && &head == b"PAR1"
            && &tail == b"PAR1";
        if !ok {
            return Err(DriftError::NotParquet {
                path: path.to_path_buf(),
            });
        }
        let index = pandas_index_columns(file);
        let lf = LazyFrame::scan_parquet(
            PlRefPath::new(path_str.as_str()),
            ScanArgsParquet::default(),
        )
        .map_err(|source| DriftError::Polars {
            context: context.clone(),
            source,
        })?;
        if index.is_empty() {
            lf
        } else {
            let mut lf = lf;
            let schema = catch_unwind(AssertUnwindSafe(|| lf.collect_schema()))
                .map_err(|p| unreadable(path, &p))?
                .map_err(|source| DriftError::Polars {
                    context: context.clone(),
                    source,
                })?;
            let keep: Vec<Expr> = schema
                .iter_names()
                .filter(|n| !index.iter().any(|i| i == n.as_str()))
                .map(|n| col(n.as_str()))
                .collect();
            lf.select(keep)
        }
    };
    catch_unwind(AssertUnwindSafe(|| lf.collect_schema()))
        .map_err(|p| unreadable(path, &p))?
        .map_err(|source| DriftError::Polars { context, source })?;
    Ok(lf)
}

fn unreadable(path: &Path, p: &Box<dyn std::any::Any + Send>) -> DriftError {
    let detail = p
        .downcast_ref::<String>()
        .cloned()
        .or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()))
        .unwrap_or_else(|| "the Parquet reader panicked".into());
    DriftError::UnreadableFile {
        path: path.to_path_buf(),
        detail: detail.split_whitespace().collect::<Vec<_>>().join(" "),
    }
}

/// The index columns pandas stored in a Parquet file (`index_columns` of its `pandas`
/// metadata; a range index is not stored as a column and is not listed). A file without
/// readable pandas metadata has none.
fn pandas_index_columns(file: std::fs::File) -> Vec<String> {
    let read = move || -> Option<Vec<String>> {
        let mut reader = ParquetReader::new(file);
        let meta = reader.get_metadata().ok()?;
        let kv = meta.key_value_metadata().as_ref()?;
        let pandas = kv.iter().find(|k| k.key == "pandas")?.value.as_ref()?;
        let v: serde_json::Value = serde_json::from_str(pandas).ok()?;
        Some(
            v.get("index_columns")?
                .as_array()?
                .iter()
                .filter_map(|c| c.as_str().map(str::to_string))
                .collect(),
        )
    };
    catch_unwind(AssertUnwindSafe(read))
        .ok()
        .flatten()
        .unwrap_or_default()
}
