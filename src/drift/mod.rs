//! Data drift detection: reference vs current frames, Evidently-compatible by default.
//!
//! - [`stats`]: pure statistics kernels on slices (KS, chi-square, Z, PSI, Wasserstein,
//!   Jensen–Shannon), each matched against scipy / Evidently.
//! - [`DriftDetector`]: per-column tests over polars [`DataFrame`](polars::prelude::DataFrame)s
//!   or [`LazyFrame`](polars::prelude::LazyFrame)s, with Evidently 0.7 DataDriftPreset's
//!   column typing, test choice, thresholds and dataset verdict.
//! - [`DriftReport`]: the JSON report (serde), with Evidently-like field names.
//! - [`scan_file`]: Parquet / CSV input with errors that name the file.
//!
//! # Defaults (Evidently 0.7 DataDriftPreset)
//!
//! | column | reference ≤ 1000 rows | reference > 1000 rows |
//! |---|---|---|
//! | numerical, > 5 distinct values | `ks` (p ≤ 0.05) | `wasserstein` normed (≥ 0.1) |
//! | numerical with 3–5, categorical with > 2 distinct | `chisquare` (p < 0.05) | `jensenshannon` (≥ 0.1) |
//! | 1–2 distinct values | `z` (p < 0.05) | `jensenshannon` (≥ 0.1) |
//!
//! Column types are inferred on the **current** frame, as Evidently 0.7 does (its data definition
//! comes from the current dataset): float → numerical; integer → categorical with at most 10 distinct values
//! (and no nulls, since pandas would hold it as float), else numerical; bool, categorical and
//! strings with at most 50 % distinct values → categorical; other strings are text and
//! skipped. Distinct counts are over the union of both frames after removing nulls, NaN and
//! ±∞; "reference rows" counts the remaining reference values.
//!
//! # Example
//!
//! ```
//! use polars::prelude::*;
//! use recwatch::drift::{DriftDetector, StatTest};
//!
//! let reference = df!("score" => (0..500).map(|i| (i % 97) as f64).collect::<Vec<_>>())?;
//! let current = df!("score" => (0..500).map(|i| (i % 97) as f64 * 1.5).collect::<Vec<_>>())?;
//! let report = DriftDetector::new()
//!     .with_column_stattest("score", StatTest::Wasserstein)
//!     .run(&reference, &current)?;
//! let col = &report.drift_by_columns["score"];
//! assert_eq!(col.stattest_name.as_deref(), Some("wasserstein"));
//! assert!(col.drift_detected);
//! println!("{}", report.to_json_pretty());
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod column;
mod detector;
mod distribution;
mod error;
mod html;
mod io;
mod mapping;
mod monitor;
mod options;
mod profile;
pub mod quality;
mod report;
mod run;
pub mod stats;
mod typing;

pub use detector::DriftDetector;
pub use error::{error_chain, DriftError, Frame};
pub use io::scan_file;
pub use mapping::ColumnMapping;
pub use monitor::{
    CheckSummary, DriftAlert, DriftMonitor, DriftMonitorBuilder, FeatureValue, LogNotifier,
    Notifier, NotifyError, WebhookNotifier, Window,
};
pub use options::{ChiSquareMode, Correction, PsiBinning, StatTest};
pub use profile::{ReferenceProfile, SketchOptions, PROFILE_FORMAT, PROFILE_VERSION};
pub use quality::{Condition, DataQualitySuite, QualityTest, QualityTestResult, TestStatus};
pub use report::{
    ColumnDrift, ColumnStatus, ColumnType, Distribution, DriftReport, NullRateDrift, SchemaDiff,
};
