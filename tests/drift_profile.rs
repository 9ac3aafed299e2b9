//! Reference profiles: drift against a saved and loaded profile equals drift against the raw
//! reference frame, on every fixture pair (with the data-quality suite and a column mapping).
#![cfg(feature = "drift")]

use recwatch::drift::{
    scan_file, ColumnMapping, DataQualitySuite, DriftDetector, DriftError, ReferenceProfile,
};

fn fixture(name: &str) -> String {
    format!("{}/tests/fixtures/drift/{name}", env!("CARGO_MANIFEST_DIR"))
}

#[test]
fn loaded_profile_gives_the_raw_frame_report() {
    let dir = std::env::temp_dir().join(format!("recwatch-profile-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let mapping = ColumnMapping::new()
        .with_target("rating")
        .with_prediction("predicted_rating");
    for case in [
        "small",
        "large",
        "awkward_small",
        "awkward_large",
        "recsys_small",
        "recsys_large",
        "dtypes",
    ] {
        let reference = scan_file(fixture(&format!("{case}_reference.parquet"))).unwrap();
        let current = scan_file(fixture(&format!("{case}_current.parquet"))).unwrap();
        let path = dir.join(format!("{case}.profile.json"));
        ReferenceProfile::fit(reference.clone())
            .unwrap()
            .save(&path)
            .unwrap();
        let profile = ReferenceProfile::load(&path).unwrap();
        let d = DriftDetector::new()
            .with_column_mapping(mapping.clone())
            .with_quality_suite(DataQualitySuite::new())
            .with_distributions(true);
        let raw = d.run_lazy(reference, current.clone()).unwrap();
        let via_profile = d.run_profile(&profile, current).unwrap();
        assert_eq!(raw, via_profile, "{case}");
    }
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn a_file_that_is_not_a_profile_is_a_typed_error() {
    let dir = std::env::temp_dir().join(format!("recwatch-profile-bad-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let p = dir.join("p.json");
    std::fs::write(
        &p,
        r#"{"format": "recwatch-reference-profile", "version": 99}"#,
    )
    .unwrap();
    assert!(matches!(
        ReferenceProfile::load(&p),
        Err(DriftError::UnsupportedProfile {
            version: Some(99),
            ..
        })
    ));
    std::fs::write(&p, "not json").unwrap();
    assert!(matches!(
        ReferenceProfile::load(&p),
        Err(DriftError::BadProfile { .. })
    ));
    assert!(matches!(
        ReferenceProfile::load(dir.join("missing.json")),
        Err(DriftError::Io { .. })
    ));
    std::fs::remove_dir_all(&dir).ok();
}
