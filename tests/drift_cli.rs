//! The `drift_report` example as a process: exit codes and one-line errors.
//!
//! Uses the example binary cargo builds next to the test binaries (`cargo test` builds
//! examples before running tests; with a `--test` filter build it first with
//! `cargo build --example drift_report --features drift`).
#![cfg(feature = "drift")]

use std::path::PathBuf;
use std::process::Command;

fn example() -> PathBuf {
    // target/<profile>/deps/drift_cli-<hash> → target/<profile>/examples/drift_report
    let exe = std::env::current_exe().unwrap();
    let profile_dir = exe.parent().unwrap().parent().unwrap();
    let bin = profile_dir
        .join("examples")
        .join(format!("drift_report{}", std::env::consts::EXE_SUFFIX));
    assert!(
        bin.exists(),
        "{} is missing: run `cargo build --example drift_report --features drift` first",
        bin.display()
    );
    bin
}

fn fixture(name: &str) -> String {
    format!("{}/tests/fixtures/drift/{name}", env!("CARGO_MANIFEST_DIR"))
}

fn run(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(example()).args(args).output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn report_and_json() {
    let dir = std::env::temp_dir().join(format!("recwatch-drift-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let json = dir.join("report.json");
    let (code, stdout, stderr) = run(&[
        "--reference",
        &fixture("small_reference.parquet"),
        "--current",
        &fixture("small_current.parquet"),
        "--json",
        json.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.contains("dataset drift"));
    let v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    assert_eq!(v["number_of_columns"], 11);
    assert_eq!(v["drift_by_columns"]["num_shift"]["stattest_name"], "ks");
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn unusable_input_exits_2_with_one_line() {
    let dir = std::env::temp_dir().join(format!("recwatch-drift-cli-bad-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let garbage = dir.join("garbage.parquet");
    std::fs::write(&garbage, b"definitely not parquet").unwrap();
    let empty = dir.join("empty.csv");
    std::fs::write(&empty, b"").unwrap();
    let header_only = dir.join("header.csv");
    std::fs::write(&header_only, b"num_same,city\n").unwrap();
    let missing = dir.join("missing.parquet");
    let good = fixture("small_current.parquet");
    for bad in [&garbage, &empty, &header_only, &missing] {
        let bad = bad.to_str().unwrap();
        for args in [
            ["--reference", bad, "--current", &good],
            ["--reference", &good, "--current", bad],
        ] {
            let (code, _, stderr) = run(&args);
            assert_eq!(code, 2, "{args:?}: {stderr}");
            assert_eq!(stderr.trim_end().lines().count(), 1, "{stderr}");
            assert!(stderr.contains(bad), "error must name the file: {stderr}");
            assert!(!stderr.contains("panicked") && !stderr.contains("backtrace"));
        }
    }
    let (code, _, stderr) = run(&[
        "--reference",
        &good,
        "--current",
        &good,
        "--html",
        dir.join("no/such/dir/out.html").to_str().unwrap(),
    ]);
    assert_eq!(code, 2);
    assert!(stderr.contains("out.html"), "{stderr}");
    let (code, _, _) = run(&["--reference", &good]);
    assert_eq!(code, 2);
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn help_exits_0_and_lists_the_options() {
    let (code, stdout, _) = run(&["--help"]);
    assert_eq!(code, 0);
    for flag in [
        "--psi-binning",
        "--target",
        "--prediction",
        "--numerical",
        "--categorical",
    ] {
        assert!(stdout.contains(flag), "{flag} missing from {stdout}");
    }
}

#[test]
fn psi_binning_and_column_mapping_options() {
    let dir = std::env::temp_dir().join(format!("recwatch-drift-cli-map-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let json = dir.join("report.json");
    let read = || -> serde_json::Value {
        serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap()
    };
    let (r, c) = (
        fixture("recsys_small_reference.parquet"),
        fixture("recsys_small_current.parquet"),
    );
    let base = [
        "--reference",
        &r,
        "--current",
        &c,
        "--json",
        json.to_str().unwrap(),
    ];
    let mut args = base.to_vec();
    args.extend(["--stattest", "psi", "--psi-binning", "evidently"]);
    let (code, _, stderr) = run(&args);
    assert_eq!(code, 0, "{stderr}");
    let evidently = read()["drift_by_columns"]["avg_rating"]["drift_score"]
        .as_f64()
        .unwrap();
    let mut args = base.to_vec();
    args.extend(["--stattest", "psi", "--psi-binning", "quantile"]);
    assert_eq!(run(&args).0, 0);
    let quantile = read()["drift_by_columns"]["avg_rating"]["drift_score"]
        .as_f64()
        .unwrap();
    assert_ne!(evidently, quantile);
    let (code, _, stderr) = run(&[&base[..], &["--psi-binning", "sturges"]].concat());
    assert_eq!(code, 2);
    assert!(stderr.contains("--psi-binning"), "{stderr}");

    let mut args = base.to_vec();
    args.extend([
        "--target",
        "rating",
        "--prediction",
        "predicted_rating",
        "--numerical",
        "avg_rating,rating_count,popularity_score",
        "--categorical",
        "genres,user_type",
    ]);
    let (code, stdout, stderr) = run(&args);
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.contains("TestNumberOfDuplicatedRows"), "{stdout}");
    let v = read();
    assert_eq!(v["target_drift"]["column_name"], "rating");
    assert_eq!(v["prediction_drift"]["stattest_name"], "ks");
    assert_eq!(v["number_of_columns"], 5);
    assert_eq!(v["tests"].as_array().unwrap().len(), 9);
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn html_report_is_one_self_contained_file() {
    let dir = std::env::temp_dir().join(format!("recwatch-drift-cli-html-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let html = dir.join("report.html");
    let (code, _, stderr) = run(&[
        "--reference",
        &fixture("recsys_small_reference.parquet"),
        "--current",
        &fixture("recsys_small_current.parquet"),
        "--target",
        "rating",
        "--prediction",
        "predicted_rating",
        "--html",
        html.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{stderr}");
    let page = std::fs::read_to_string(&html).unwrap();
    // 7 features + target + prediction, each with a chart
    assert_eq!(page.matches("<svg").count(), 9, "one chart per column");
    for part in [
        "Target and prediction",
        "Schema changes",
        "Data quality",
        "TestNumberOfDuplicatedRows",
        "rating_count",
    ] {
        assert!(page.contains(part), "{part} missing");
    }
    // nothing fetched: no script, no linked resource (the SVG namespace URI is not fetched)
    for bad in ["<script", "src=", "href=", "url(", "@import", "<link"] {
        assert!(!page.contains(bad), "{bad} in the page");
    }
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn profiles_fitted_on_shards_merge_and_serve_as_the_reference() {
    let dir = std::env::temp_dir().join(format!("recwatch-drift-cli-prof-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let p = |name: &str| dir.join(name).to_str().unwrap().to_string();
    // the two fixture references stand in for two shards of one dataset
    for (shard, out) in [("large", "a.json"), ("large", "b.json")] {
        let (code, stdout, stderr) = run(&[
            "--reference",
            &fixture(&format!("{shard}_reference.parquet")),
            "--sketch",
            "--save-profile",
            &p(out),
        ]);
        assert_eq!(code, 0, "{stderr}");
        assert!(stdout.contains("sketch mode"), "{stdout}");
    }
    let (code, stdout, stderr) = run(&[
        "--merge-profiles",
        &format!("{},{}", p("a.json"), p("b.json")),
        "--save-profile",
        &p("whole.json"),
        "--current",
        &fixture("large_current.parquet"),
        "--json",
        &p("report.json"),
    ]);
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.contains("dataset drift"), "{stdout}");
    let (code, stdout2, stderr) = run(&[
        "--reference-profile",
        &p("whole.json"),
        "--current",
        &fixture("large_current.parquet"),
    ]);
    assert_eq!(code, 0, "{stderr}");
    // the saved profile gives the report the merge gave
    let verdicts = |s: &str| s.lines().skip(1).map(str::to_string).collect::<Vec<_>>();
    assert_eq!(verdicts(&stdout)[1..], verdicts(&stdout2)[..]);
    let v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(p("whole.json")).unwrap()).unwrap();
    assert_eq!(v["mode"], "sketch");
    // mismatched profiles and misuse are one-line errors with status 2
    let (code, _, stderr) = run(&[
        "--merge-profiles",
        &format!("{},{}", p("a.json"), p("report.json")),
        "--save-profile",
        &p("bad.json"),
    ]);
    assert_eq!(code, 2);
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    let (code, _, stderr) = run(&["--reference-profile", &p("whole.json"), "--sketch"]);
    assert_eq!(code, 2, "{stderr}");
    std::fs::remove_dir_all(&dir).ok();
}
