//! Opening Parquet and CSV files as lazy frames, with errors that name the file.

use super::DriftError;
use polars::prelude::*;
use std::io::{Read, Seek, SeekFrom};
use std::path::Path;

/// Scans a Parquet or CSV file lazily (only the columns a report needs are read).
///
/// Files ending in `.csv` (any case) are read as CSV with a header row and schema inference
/// over all rows (so a float appearing late does not break an integer guess); every other
/// file must be Parquet (checked by its `PAR1` magic
/// bytes at both ends). The schema is resolved eagerly, so an unreadable, truncated or
/// non-Parquet file is reported here and not later.
///
/// # Errors
///
/// [`DriftError::Io`] when the file cannot be opened, [`DriftError::NotParquet`] for a file
/// without Parquet magic bytes, [`DriftError::Polars`] when polars rejects it, and
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
        LazyFrame::scan_parquet(
            PlRefPath::new(path_str.as_str()),
            ScanArgsParquet::default(),
        )
        .map_err(|source| DriftError::Polars {
            context: context.clone(),
            source,
        })?
    };
    lf.collect_schema()
        .map_err(|source| DriftError::Polars { context, source })?;
    Ok(lf)
}
