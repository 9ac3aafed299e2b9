//! The data-quality suite and target/prediction drift against Evidently 0.7.23's legacy
//! `TestSuite` and `TargetDriftPreset` on the fixture frames of
//! scripts/drift_evidently_suite.py (tests/fixtures/drift/recsys_*.parquet and
//! evidently_suite_expected.json).
#![cfg(feature = "drift")]

use recwatch::drift::{
    scan_file, ColumnMapping, DataQualitySuite, DriftDetector, DriftReport, TestStatus,
};

fn fixture(name: &str) -> String {
    format!("{}/tests/fixtures/drift/{name}", env!("CARGO_MANIFEST_DIR"))
}

fn expected() -> serde_json::Value {
    serde_json::from_str(
        &std::fs::read_to_string(fixture("evidently_suite_expected.json")).unwrap(),
    )
    .unwrap()
}

fn mapping() -> ColumnMapping {
    ColumnMapping::new()
        .with_target("rating")
        .with_prediction("predicted_rating")
        .add_numerical_feature("avg_rating")
        .add_numerical_feature("rating_count")
        .add_numerical_feature("popularity_score")
        .add_categorical_feature("genres")
        .add_categorical_feature("user_type")
}

fn report(case: &str) -> DriftReport {
    let reference = scan_file(fixture(&format!("{case}_reference.parquet"))).unwrap();
    let current = scan_file(fixture(&format!("{case}_current.parquet"))).unwrap();
    DriftDetector::new()
        .with_column_mapping(mapping())
        .with_quality_suite(DataQualitySuite::new())
        .run_lazy(reference, current)
        .unwrap()
}

fn status(s: &str) -> TestStatus {
    match s {
        "SUCCESS" => TestStatus::Success,
        "FAIL" => TestStatus::Fail,
        _ => TestStatus::Error,
    }
}

fn check_case(case: &str) {
    check_case_with(case, 0.0)
}

/// `extra_drifted`: columns recwatch finds drifted that Evidently's legacy drift table does not
/// (a column with ±∞ values gets a NaN Wasserstein distance there: see Known differences in
/// docs/drift.md).
fn check_case_with(case: &str, extra_drifted: f64) {
    let exp = &expected()[case];
    let r = report(case);
    let tests = exp["tests"].as_object().unwrap();
    assert_eq!(r.tests.len(), tests.len(), "{case}");
    for t in &r.tests {
        let e = &tests[&t.test];
        assert_eq!(
            t.status,
            status(e["status"].as_str().unwrap()),
            "{case} {}: {t:?}",
            t.test
        );
        if let Some(mut v) = e["value"].as_f64() {
            if t.test == "TestNumberOfDriftedColumns" {
                v += extra_drifted;
            }
            let got = t.value.unwrap_or(f64::NAN);
            assert!(
                (got - v).abs() <= 1e-12 * v.abs().max(1.0),
                "{case} {}: {got} vs {v}",
                t.test
            );
        }
    }
    for (role, got) in [
        ("target", &r.target_drift),
        ("prediction", &r.prediction_drift),
    ] {
        let e = &exp[role];
        let got = got
            .as_ref()
            .unwrap_or_else(|| panic!("{case}: no {role} drift"));
        assert_eq!(got.column_name, e["column_name"].as_str().unwrap());
        assert_eq!(
            got.stattest_name.as_deref(),
            e["stattest_name"].as_str(),
            "{case} {role}"
        );
        let (s, es) = (got.drift_score.unwrap(), e["drift_score"].as_f64().unwrap());
        assert!(
            (s - es).abs() <= 1e-6 * es.abs().max(1e-12) + 1e-12,
            "{case} {role}: {s} vs {es}"
        );
        assert_eq!(
            got.drift_detected,
            e["drift_detected"].as_bool().unwrap(),
            "{case} {role}"
        );
    }
    // target and prediction are not features
    assert!(!r.drift_by_columns.contains_key("rating"));
    assert!(!r.drift_by_columns.contains_key("predicted_rating"));
}

#[test]
fn suite_and_target_drift_match_evidently_small() {
    check_case("recsys_small");
}

#[test]
fn suite_and_target_drift_match_evidently_small_same() {
    check_case("recsys_small_same");
}

#[test]
fn suite_and_target_drift_match_evidently_large() {
    // popularity_score has ±∞ in both frames: Evidently's legacy table scores it NaN (not
    // drifted); recwatch drops ±∞ and finds the shift.
    check_case_with("recsys_large", 1.0);
}

#[test]
fn suite_and_target_drift_match_evidently_large_same() {
    check_case("recsys_large_same");
}

#[test]
fn suite_without_reference_matches_evidently() {
    let exp = expected();
    for case in ["recsys_small", "recsys_large_same"] {
        let current = scan_file(fixture(&format!("{case}_current.parquet"))).unwrap();
        let results = DataQualitySuite::new()
            .run_without_reference(current)
            .unwrap();
        let tests = exp[case]["tests_no_reference"].as_object().unwrap();
        for t in &results {
            let e = &tests[&t.test];
            assert_eq!(
                t.status,
                status(e["status"].as_str().unwrap()),
                "{case} {}: {t:?}",
                t.test
            );
            if let Some(v) = e["value"].as_f64() {
                assert!(
                    (t.value.unwrap() - v).abs() <= 1e-12 * v.abs().max(1.0),
                    "{case} {}",
                    t.test
                );
            }
        }
    }
}

#[test]
fn unnamed_columns_of_a_named_kind_are_not_features() {
    let r = report("recsys_small");
    // `region` (strings) and `popularity_copy` (floats) are not named by the mapping, which
    // names both numerical and categorical features.
    for c in ["region", "popularity_copy"] {
        let d = &r.drift_by_columns[c];
        assert_eq!(
            d.reason.as_deref(),
            Some("not a feature under the column mapping")
        );
    }
    assert_eq!(r.number_of_columns, 5);
}

#[test]
fn json_report_has_tests_array() {
    let r = report("recsys_small");
    let v: serde_json::Value = serde_json::from_str(&r.to_json_pretty()).unwrap();
    let tests = v["tests"].as_array().unwrap();
    assert_eq!(tests.len(), 9);
    let first = &tests[0];
    assert_eq!(first["test"], "TestNumberOfColumnsWithMissingValues");
    assert!(first["status"].is_string());
    assert!(first["value"].is_number());
    assert!(first["condition"].is_object());
    assert!(first["description"].is_string());
    assert!(v["target_drift"]["stattest_name"].is_string());
}
