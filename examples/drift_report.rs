//! Compare a reference and a current data file and print a drift summary.
//!
//! ```text
//! cargo run --release --no-default-features --features drift --example drift_report -- \
//!     --reference ref.parquet --current cur.parquet [--json OUT] [--html OUT] \
//!     [--drift-share X] [--stattest NAME] [--psi-binning evidently|quantile] \
//!     [--target COL] [--prediction COL] [--numerical A,B] [--categorical C,D] [--no-tests]
//! ```
//!
//! Reads Parquet (any extension but `.csv`) and CSV (`.csv`), runs the drift tests and the
//! data-quality suite (Evidently's TestSuite tests; `--no-tests` leaves it out). On unusable
//! input it prints one line naming the file and the problem on stderr and exits with status 2.
//!
//! Reference profiles: `--save-profile OUT` writes the profile of `--reference` (exact, or
//! with `--sketch` a bounded-size sketch), or of `--merge-profiles A,B,…` (profiles of shards);
//! `--reference-profile P` uses a saved profile as the reference. `--current` may then be left
//! out. Profiling a dataset shard by shard:
//!
//! ```text
//! drift_report --reference shard-0.parquet --sketch --save-profile p0.json   # on each shard
//! drift_report --merge-profiles p0.json,p1.json,p2.json --save-profile ref.json
//! drift_report --reference-profile ref.json --current today.parquet
//! ```

use polars::prelude::LazyFrame;
use recwatch::drift::{
    error_chain, scan_file, ColumnMapping, DataQualitySuite, DriftDetector, PsiBinning,
    ReferenceProfile, SketchOptions, StatTest,
};

enum Reference {
    Frame(Box<LazyFrame>),
    Profile(Box<ReferenceProfile>),
}
use std::process::ExitCode;

const USAGE: &str =
    "usage: drift_report (--reference PATH [--sketch] | --reference-profile P | --merge-profiles P1,P2,...) \
[--save-profile OUT] [--current PATH] [--json OUT] [--html OUT] [--drift-share X] \
[--stattest ks|chisquare|z|wasserstein|jensenshannon|psi] [--psi-binning evidently|quantile] \
[--target COL] [--prediction COL] [--numerical A,B,...] [--categorical C,D,...] [--no-tests]";

/// Where the reference comes from.
enum RefArg {
    Frame(String),
    Profile(String),
    Merge(Vec<String>),
}

struct Args {
    reference: RefArg,
    sketch: bool,
    save_profile: Option<String>,
    current: Option<String>,
    json: Option<String>,
    html: Option<String>,
    drift_share: f64,
    stattest: Option<StatTest>,
    psi_binning: Option<PsiBinning>,
    mapping: ColumnMapping,
    tests: bool,
}

enum Parsed {
    Run(Box<Args>),
    Help,
}

fn list(v: &str) -> impl Iterator<Item = String> + '_ {
    v.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
}

fn parse_args() -> Result<Parsed, String> {
    let mut it = std::env::args().skip(1);
    let (mut reference, mut current, mut json, mut html) = (None, None, None, None);
    let (mut sketch, mut save_profile) = (false, None);
    let mut set_ref = |r: RefArg| {
        if reference.replace(r).is_some() {
            Err(format!(
                "give one of --reference, --reference-profile and --merge-profiles\n{USAGE}"
            ))
        } else {
            Ok(())
        }
    };
    let mut drift_share = 0.5;
    let mut stattest = None;
    let mut psi_binning = None;
    let mut mapping = ColumnMapping::new();
    let mut tests = true;
    while let Some(a) = it.next() {
        let mut value = |flag: &str| it.next().ok_or_else(|| format!("{flag} needs a value"));
        match a.as_str() {
            "--reference" => set_ref(RefArg::Frame(value("--reference")?))?,
            "--reference-profile" => set_ref(RefArg::Profile(value("--reference-profile")?))?,
            "--merge-profiles" => {
                let v: Vec<String> = list(&value("--merge-profiles")?).collect();
                if v.is_empty() {
                    return Err("--merge-profiles needs at least one file".into());
                }
                set_ref(RefArg::Merge(v))?
            }
            "--sketch" => sketch = true,
            "--save-profile" => save_profile = Some(value("--save-profile")?),
            "--current" => current = Some(value("--current")?),
            "--json" => json = Some(value("--json")?),
            "--html" => html = Some(value("--html")?),
            "--psi-binning" => {
                let v = value("--psi-binning")?;
                psi_binning = Some(match v.as_str() {
                    "evidently" => PsiBinning::Evidently,
                    "quantile" => PsiBinning::default(),
                    _ => return Err(format!("--psi-binning: `{v}` is not evidently or quantile")),
                });
            }
            "--target" => mapping = mapping.with_target(value("--target")?),
            "--prediction" => mapping = mapping.with_prediction(value("--prediction")?),
            "--numerical" => {
                for c in list(&value("--numerical")?) {
                    mapping = mapping.add_numerical_feature(c);
                }
            }
            "--categorical" => {
                for c in list(&value("--categorical")?) {
                    mapping = mapping.add_categorical_feature(c);
                }
            }
            "--no-tests" => tests = false,
            "--drift-share" => {
                let v = value("--drift-share")?;
                drift_share = v
                    .parse::<f64>()
                    .ok()
                    .filter(|x| (0.0..=1.0).contains(x))
                    .ok_or_else(|| format!("--drift-share: `{v}` is not a number in [0, 1]"))?;
            }
            "--stattest" => {
                let v = value("--stattest")?;
                stattest = Some(v.parse::<StatTest>().map_err(|e| e.to_string())?);
            }
            "-h" | "--help" => return Ok(Parsed::Help),
            other => return Err(format!("unknown argument `{other}`\n{USAGE}")),
        }
    }
    let reference = reference.ok_or_else(|| format!("--reference is required\n{USAGE}"))?;
    if current.is_none() && save_profile.is_none() {
        return Err(format!(
            "--current is required (or --save-profile)\n{USAGE}"
        ));
    }
    if sketch && !matches!(reference, RefArg::Frame(_)) {
        return Err("--sketch goes with --reference (a data file to profile)".into());
    }
    Ok(Parsed::Run(Box::new(Args {
        reference,
        sketch,
        save_profile,
        current,
        json,
        html,
        drift_share,
        stattest,
        psi_binning,
        mapping,
        tests,
    })))
}

fn one_line(s: impl std::fmt::Display) -> String {
    s.to_string()
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

fn main() -> ExitCode {
    // A bug deep inside a reader must still end as one line and exit status 2, not a backtrace.
    std::panic::set_hook(Box::new(|_| {}));
    match std::panic::catch_unwind(run) {
        Ok(code) => code,
        Err(payload) => {
            let msg = payload
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| payload.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_else(|| "internal error".into());
            eprintln!("drift_report: internal error: {}", one_line(msg));
            ExitCode::from(2)
        }
    }
}

fn run() -> ExitCode {
    let args = match parse_args() {
        Ok(Parsed::Run(a)) => a,
        Ok(Parsed::Help) => {
            println!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Err(e) => {
            eprintln!("drift_report: {e}");
            return ExitCode::from(2);
        }
    };
    let fail = |e: String| {
        eprintln!("drift_report: {e}");
        ExitCode::from(2)
    };
    let open =
        |path: &str| scan_file(path).map_err(|e| format!("{path}: {}", one_line(error_chain(&e))));
    let load = |path: &str| {
        ReferenceProfile::load(path).map_err(|e| format!("{path}: {}", one_line(error_chain(&e))))
    };
    // The reference: a frame, or a profile (loaded, merged or fitted to be saved).
    let (reference, reference_name): (Reference, String) = match &args.reference {
        RefArg::Frame(path) => match open(path) {
            Ok(lf) => (Reference::Frame(Box::new(lf)), path.clone()),
            Err(e) => return fail(e),
        },
        RefArg::Profile(path) => match load(path) {
            Ok(p) => (Reference::Profile(Box::new(p)), path.clone()),
            Err(e) => return fail(e),
        },
        RefArg::Merge(paths) => {
            let mut merged: Option<ReferenceProfile> = None;
            for path in paths {
                let p = match load(path) {
                    Ok(p) => p,
                    Err(e) => return fail(e),
                };
                merged = Some(match merged {
                    None => p,
                    Some(m) => match m.merge(&p) {
                        Ok(m) => m,
                        Err(e) => return fail(format!("{path}: {}", one_line(error_chain(&e)))),
                    },
                });
            }
            match merged {
                Some(m) => (Reference::Profile(Box::new(m)), paths.join(",")),
                None => return fail("--merge-profiles needs at least one file".into()),
            }
        }
    };
    let reference = match (&args.save_profile, reference) {
        (Some(out), r) => {
            let profile = match r {
                Reference::Profile(p) => Ok(*p),
                Reference::Frame(lf) if args.sketch => {
                    ReferenceProfile::fit_sketch(*lf, SketchOptions::new())
                }
                Reference::Frame(lf) => ReferenceProfile::fit(*lf),
            };
            let profile = match profile {
                Ok(p) => p,
                Err(e) => return fail(format!("{reference_name}: {}", one_line(error_chain(&e)))),
            };
            if let Err(e) = profile.save(out) {
                return fail(format!("{out}: {}", one_line(error_chain(&e))));
            }
            println!(
                "profile of {} rows ({} mode) written to {out}",
                profile.rows(),
                if profile.is_sketch() {
                    "sketch"
                } else {
                    "exact"
                }
            );
            Reference::Profile(Box::new(profile))
        }
        (None, r) => r,
    };
    let Some(current_path) = args.current.clone() else {
        return ExitCode::SUCCESS;
    };
    let current = match open(&current_path) {
        Ok(lf) => lf,
        Err(e) => return fail(e),
    };
    let mut detector = DriftDetector::new()
        .with_drift_share(args.drift_share)
        .with_column_mapping(args.mapping.clone());
    if let Some(t) = args.stattest {
        detector = detector.with_stattest(t);
    }
    if let Some(b) = args.psi_binning {
        detector = detector.with_psi_binning(b);
    }
    if args.tests {
        detector = detector.with_quality_suite(DataQualitySuite::new());
    }
    if args.html.is_some() {
        detector = detector.with_distributions(true);
    }
    let run = match reference {
        Reference::Frame(lf) => detector.run_lazy(*lf, current),
        Reference::Profile(p) => detector.run_profile(&p, current),
    };
    let report = match run {
        Ok(r) => r,
        Err(e) => {
            let file = match &e {
                recwatch::drift::DriftError::EmptyFrame { frame } => match frame {
                    recwatch::drift::Frame::Reference => reference_name.as_str(),
                    _ => current_path.as_str(),
                },
                _ => "",
            };
            if file.is_empty() {
                eprintln!(
                    "drift_report: {} vs {}: {}",
                    reference_name,
                    current_path,
                    one_line(error_chain(&e))
                );
            } else {
                eprintln!("drift_report: {file}: {}", one_line(error_chain(&e)));
            }
            return ExitCode::from(2);
        }
    };
    if let Some(out) = &args.json {
        if let Err(e) = std::fs::write(out, report.to_json_pretty()) {
            eprintln!("drift_report: {out}: cannot write: {}", one_line(e));
            return ExitCode::from(2);
        }
    }
    if let Some(out) = &args.html {
        if let Err(e) = report.write_html(out) {
            eprintln!("drift_report: {out}: {}", one_line(error_chain(&e)));
            return ExitCode::from(2);
        }
    }
    println!(
        "dataset drift: {} ({} of {} columns drifted, share {:.3}, threshold {})",
        if report.dataset_drift { "YES" } else { "no" },
        report.number_of_drifted_columns,
        report.number_of_columns,
        report.share_of_drifted_columns,
        report.drift_share
    );
    let roles = [
        ("target", &report.target_drift),
        ("prediction", &report.prediction_drift),
    ];
    for c in report
        .drift_by_columns
        .values()
        .chain(roles.iter().filter_map(|(_, c)| c.as_ref()))
    {
        let score = c
            .drift_score
            .map(|s| format!("{s:.6}"))
            .unwrap_or_else(|| "-".into());
        let test = c.stattest_name.as_deref().unwrap_or("-");
        let verdict = match c.status {
            recwatch::drift::ColumnStatus::Ok if c.drift_detected => "DRIFT".to_string(),
            recwatch::drift::ColumnStatus::Ok => "ok".to_string(),
            _ => format!("skipped: {}", c.reason.as_deref().unwrap_or("")),
        };
        println!(
            "  {:<24} {:<14} {:>14}  {}",
            c.column_name, test, score, verdict
        );
    }
    let s = &report.schema;
    if !s.missing_in_current.is_empty()
        || !s.new_in_current.is_empty()
        || !s.type_changed.is_empty()
    {
        println!(
            "schema: missing in current {:?}, new in current {:?}, type changed {:?}",
            s.missing_in_current, s.new_in_current, s.type_changed
        );
    }
    for t in &report.tests {
        let value = t
            .value
            .map(|v| format!("{v}"))
            .unwrap_or_else(|| "-".into());
        println!(
            "  {:<8} {:<40} {:>12}",
            format!("{:?}", t.status).to_uppercase(),
            t.test,
            value
        );
    }
    ExitCode::SUCCESS
}
