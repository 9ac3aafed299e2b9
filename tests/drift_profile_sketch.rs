//! Sketch-mode reference profiles: the tests' scores against a sketched reference stay within
//! the sketch's stated error of the exact ones, the profile's size does not grow with rows,
//! and profiles fitted on shards merge into the profile of the whole.
#![cfg(feature = "drift")]

use polars::prelude::*;
use recwatch::drift::{
    DataQualitySuite, DriftDetector, DriftError, DriftReport, PsiBinning, ReferenceProfile,
    SketchOptions, StatTest,
};

/// A deterministic stand-in for recommendation features: `n` rows from `seed`, continuous
/// columns moved by `shift` (in standard deviations).
fn frame(n: usize, seed: u64, shift: f64) -> DataFrame {
    let mut state = seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
    let mut uniform = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        (state >> 11) as f64 / (1u64 << 53) as f64
    };
    let mut normal = Vec::with_capacity(n);
    let mut lognormal = Vec::with_capacity(n);
    let mut popularity = Vec::with_capacity(n);
    let mut rating = Vec::with_capacity(n);
    let mut genre = Vec::with_capacity(n);
    for i in 0..n {
        let (u1, u2) = (uniform().max(1e-300), uniform());
        let z = (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos();
        normal.push(z + shift);
        lognormal.push(if i % 50 == 7 {
            None
        } else {
            Some((0.5 * z + shift).exp() * 3.0)
        });
        popularity.push((uniform() * 40.0 + shift * 8.0).floor() as i64);
        rating.push(1 + (uniform() * 5.0) as i64);
        let g = ["drama", "comedy", "action", "horror", "sci-fi", "romance"];
        genre.push(g[((uniform() + shift * 0.1).fract() * g.len() as f64) as usize % g.len()]);
    }
    df!(
        "normal" => normal,
        "lognormal" => lognormal,
        "popularity" => popularity,
        "rating" => rating,
        "genre" => genre,
    )
    .unwrap()
}

fn opts(k: u16) -> SketchOptions {
    SketchOptions::new().with_k(k).unwrap()
}

/// Drift of `current` against `reference` (raw) and against its sketch profile.
fn both(
    d: &DriftDetector,
    reference: &DataFrame,
    p: &ReferenceProfile,
    current: &DataFrame,
) -> (DriftReport, DriftReport) {
    (
        d.run(reference, current).unwrap(),
        d.run_profile(p, current.clone().lazy()).unwrap(),
    )
}

#[test]
fn sketched_scores_stay_within_the_stated_error() {
    let reference = frame(200_000, 1, 0.0);
    let o = SketchOptions::new();
    let eps = o.rank_error();
    assert!(eps > 0.002 && eps < 0.004, "{eps}");
    let profile = ReferenceProfile::fit_sketch(reference.clone().lazy(), o).unwrap();
    let currents = [
        frame(5_000, 2, 0.0),
        frame(5_000, 3, 0.05),
        frame(40_000, 4, 0.4),
    ];
    let continuous = ["normal", "lognormal"];

    // KS: the statistic moves by at most the sketch's rank error (checked at 1.5× so that the
    // 99 %-confidence bound cannot make the test flaky).
    let ks = DriftDetector::new().with_stattest(StatTest::Ks);
    for c in &currents {
        let (exact, sketch) = both(&ks, &reference, &profile, c);
        for col in continuous {
            let (e, s) = (&exact.drift_by_columns[col], &sketch.drift_by_columns[col]);
            let gap = (e.statistic.unwrap() - s.statistic.unwrap()).abs();
            assert!(gap <= 1.5 * eps, "{col}: KS {gap} > 1.5 × {eps}");
            assert_eq!(e.n_reference, s.n_reference, "{col}");
        }
        // Columns with few distinct values are held exactly: the same report entry.
        for col in ["popularity", "rating", "genre"] {
            assert_eq!(
                exact.drift_by_columns[col], sketch.drift_by_columns[col],
                "{col}"
            );
        }
    }

    // Default tests (Wasserstein on > 1000 rows) and both PSI binnings: the sketch's CDF is
    // within eps, so W₁ moves by at most eps × range / std and a bin share by at most 2·eps.
    for d in [
        DriftDetector::new(),
        DriftDetector::new().with_stattest(StatTest::Psi),
        DriftDetector::new()
            .with_stattest(StatTest::Psi)
            .with_psi_binning(PsiBinning::Evidently),
        DriftDetector::new().with_stattest(StatTest::JensenShannon),
    ] {
        for (ci, c) in currents.iter().enumerate() {
            let (exact, sketch) = both(&d, &reference, &profile, c);
            for col in continuous {
                let (e, s) = (&exact.drift_by_columns[col], &sketch.drift_by_columns[col]);
                let (es, ss) = (e.drift_score.unwrap(), s.drift_score.unwrap());
                let name = e.stattest_name.clone().unwrap();
                let tolerance = match name.as_str() {
                    // W₁ error ≤ eps·(max − min)/σ; the data here span about 10σ
                    "wasserstein" => 10.0 * 1.5 * eps,
                    // Bins: the exact tails keep the sparse outer bins exact, the others
                    // are off by ≤ 2·eps; a tenth of the 0.1 thresholds (measured: below
                    // 4e-3, docs/drift.md)
                    _ => 0.01,
                };
                assert!(
                    (es - ss).abs() <= tolerance,
                    "{name} {col} current {ci}: exact {es} vs sketch {ss}"
                );
                // Verdicts agree away from the threshold.
                let thr = e.stattest_threshold.unwrap();
                if (es - thr).abs() > 2.0 * tolerance {
                    assert_eq!(e.drift_detected, s.drift_detected, "{name} {col} {ci}");
                }
            }
            assert_eq!(
                exact.drift_by_columns["genre"],
                sketch.drift_by_columns["genre"]
            );
        }
    }
}

#[test]
fn a_sketch_profile_does_not_grow_with_rows() {
    let size = |n| {
        let df = frame(n, 7, 0.0).select(["normal"]).unwrap();
        ReferenceProfile::fit_sketch(df.lazy(), SketchOptions::new())
            .unwrap()
            .to_json()
            .len()
    };
    let (small, large) = (size(20_000), size(400_000));
    let exact = ReferenceProfile::fit(frame(400_000, 7, 0.0).select(["normal"]).unwrap().lazy())
        .unwrap()
        .to_json()
        .len();
    assert!(
        large < small * 3 / 2,
        "20k rows: {small} B, 400k rows: {large} B"
    );
    assert!(large < 100_000, "{large} B");
    assert!(exact > 20 * large, "exact {exact} B vs sketch {large} B");
}

#[test]
fn sketch_profiles_save_and_load() {
    let reference = frame(30_000, 11, 0.0);
    let p = ReferenceProfile::fit_sketch(reference.lazy(), SketchOptions::new()).unwrap();
    assert!(p.is_sketch());
    let dir = std::env::temp_dir().join(format!("recwatch-sketch-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("p.json");
    p.save(&path).unwrap();
    let back = ReferenceProfile::load(&path).unwrap();
    // (the KLL's compact form is re-laid out once on load; after that it is stable)
    back.save(&path).unwrap();
    let again = ReferenceProfile::load(&path).unwrap();
    assert!(
        again.to_json() == back.to_json(),
        "a loaded sketch profile saves unchanged"
    );
    let current = frame(3_000, 12, 0.2).lazy();
    let d = DriftDetector::new().with_quality_suite(DataQualitySuite::new());
    assert_eq!(
        d.run_profile(&p, current.clone()).unwrap(),
        d.run_profile(&back, current).unwrap()
    );
    // A corrupt sketch is a typed error naming the file.
    let text = std::fs::read_to_string(&path).unwrap();
    let broken = text.replacen("\"kll\":\"", "\"kll\":\"!!", 1);
    std::fs::write(&path, broken).unwrap();
    assert!(matches!(
        ReferenceProfile::load(&path),
        Err(DriftError::BadProfile { .. })
    ));
    std::fs::remove_dir_all(&dir).ok();
}

/// Rows `lo..hi` of a frame.
fn rows(df: &DataFrame, lo: usize, hi: usize) -> LazyFrame {
    df.slice(lo as i64, hi - lo).lazy()
}

#[test]
fn exact_shard_profiles_merge_into_the_whole() {
    let whole = frame(9_000, 21, 0.0);
    let a = ReferenceProfile::fit(rows(&whole, 0, 2_000)).unwrap();
    let b = ReferenceProfile::fit(rows(&whole, 2_000, 6_500)).unwrap();
    let c = ReferenceProfile::fit(rows(&whole, 6_500, 9_000)).unwrap();
    let merged = a.merge(&b).unwrap().merge(&c).unwrap();
    // no row repeats across shards here, so even the duplicated-row count is exact
    let fitted = ReferenceProfile::fit(whole.clone().lazy()).unwrap();
    assert!(
        merged == fitted,
        "the merged exact profile differs from the whole's"
    );
    let current = frame(2_000, 22, 0.3);
    let d = DriftDetector::new().with_quality_suite(DataQualitySuite::new());
    assert_eq!(
        d.run_profile(&merged, current.clone().lazy()).unwrap(),
        d.run(&whole, &current).unwrap()
    );
}

#[test]
fn sketch_shard_profiles_merge_within_the_error() {
    let whole = frame(120_000, 31, 0.0);
    let o = opts(400);
    let eps = o.rank_error();
    let shard = |lo, hi| ReferenceProfile::fit_sketch(rows(&whole, lo, hi), o).unwrap();
    let merged = shard(0, 50_000)
        .merge(&shard(50_000, 70_000))
        .unwrap()
        .merge(&shard(70_000, 120_000))
        .unwrap();
    assert_eq!(merged.rows(), 120_000);
    let current = frame(8_000, 32, 0.1);
    let d = DriftDetector::new()
        .with_stattest(StatTest::Ks)
        .with_quality_suite(DataQualitySuite::new());
    let exact = d.run(&whole, &current).unwrap();
    let sketch = d.run_profile(&merged, current.lazy()).unwrap();
    for col in ["normal", "lognormal"] {
        let (e, s) = (&exact.drift_by_columns[col], &sketch.drift_by_columns[col]);
        let gap = (e.statistic.unwrap() - s.statistic.unwrap()).abs();
        assert!(gap <= 1.5 * eps, "{col}: {gap} > 1.5 × {eps}");
    }
    for col in ["popularity", "rating", "genre"] {
        assert_eq!(exact.drift_by_columns[col], sketch.drift_by_columns[col]);
    }
    // The data-quality suite reads the merged reference statistics exactly.
    assert_eq!(exact.tests, sketch.tests);
}

#[test]
fn duplicated_rows_across_shards_are_a_lower_bound() {
    let df =
        df!("x" => [1.0, 2.0, 3.0, 1.0, 2.0, 5.0], "c" => ["a", "b", "c", "a", "b", "d"]).unwrap();
    let a = ReferenceProfile::fit(rows(&df, 0, 3)).unwrap();
    let b = ReferenceProfile::fit(rows(&df, 3, 6)).unwrap();
    let merged = a.merge(&b).unwrap();
    let full = ReferenceProfile::fit(df.lazy()).unwrap();
    // two rows repeat across the shards: the whole sees them, the merge cannot
    let dup = |p: &ReferenceProfile| {
        let v: serde_json::Value = serde_json::from_str(&p.to_json()).unwrap();
        v["quality"]["duplicated_rows"].as_u64().unwrap()
    };
    assert_eq!((dup(&full), dup(&merged)), (2, 0));
}

#[test]
fn profiles_that_do_not_match_are_a_typed_error() {
    let df = frame(2_000, 41, 0.0);
    let exact = ReferenceProfile::fit(df.clone().lazy()).unwrap();
    let sketch = ReferenceProfile::fit_sketch(df.clone().lazy(), SketchOptions::new()).unwrap();
    let other = ReferenceProfile::fit(df.select(["normal", "genre"]).unwrap().lazy()).unwrap();
    for (a, b) in [(&exact, &sketch), (&exact, &other)] {
        match a.merge(b) {
            Err(e @ DriftError::ProfileMismatch { .. }) => {
                assert!(e.to_string().contains("cannot be merged"), "{e}")
            }
            other => panic!("{other:?}"),
        }
    }
    assert!(SketchOptions::new().with_k(4).is_err());
}

#[test]
fn too_many_categories_skip_the_column_with_a_reason() {
    let n = 3_000;
    let ids: Vec<String> = (0..n).map(|i| format!("user-{}", i % 1_200)).collect();
    let df =
        df!("user" => ids.clone(), "x" => (0..n).map(|i| i as f64).collect::<Vec<_>>()).unwrap();
    let p = ReferenceProfile::fit_sketch(
        df.clone().lazy(),
        SketchOptions::new().with_max_categories(1_000),
    )
    .unwrap();
    let r = DriftDetector::new().run_profile(&p, df.lazy()).unwrap();
    let user = &r.drift_by_columns["user"];
    assert!(
        user.reason
            .as_deref()
            .unwrap_or("")
            .contains("1200 categories"),
        "{:?}",
        user.reason
    );
    assert!(r.drift_by_columns["x"].drift_score.is_some());
}

#[test]
fn a_version_1_profile_still_loads() {
    let df = frame(1_500, 51, 0.0);
    let p = ReferenceProfile::fit(df.clone().lazy()).unwrap();
    let mut v: serde_json::Value = serde_json::from_str(&p.to_json()).unwrap();
    v["version"] = 1.into();
    v.as_object_mut().unwrap().remove("mode");
    for c in v["quality"]["columns"].as_array_mut().unwrap() {
        let c = c.as_object_mut().unwrap();
        c.remove("hash_sum");
        c.remove("value");
    }
    let dir = std::env::temp_dir().join(format!("recwatch-v1-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("v1.json");
    std::fs::write(&path, v.to_string()).unwrap();
    let back = ReferenceProfile::load(&path).unwrap();
    assert!(!back.is_sketch());
    let current = frame(1_000, 52, 0.5);
    let d = DriftDetector::new().with_quality_suite(DataQualitySuite::new());
    assert_eq!(
        d.run_profile(&back, current.clone().lazy()).unwrap(),
        d.run(&df, &current).unwrap()
    );
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn a_profile_whose_counts_disagree_with_its_values_skips_the_column() {
    let df = frame(2_000, 61, 0.0);
    let p = ReferenceProfile::fit(df.clone().lazy()).unwrap();
    let mut v: serde_json::Value = serde_json::from_str(&p.to_json()).unwrap();
    // the first column says 2000 rows, none missing, but lists no value
    v["columns"][0]["values"]["numerical"]["values"] = serde_json::json!([]);
    let dir = std::env::temp_dir().join(format!("recwatch-hollow-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("hollow.json");
    std::fs::write(&path, v.to_string()).unwrap();
    let hollow = ReferenceProfile::load(&path).unwrap();
    for d in [
        DriftDetector::new(),
        DriftDetector::new().with_stattest(StatTest::Psi),
        DriftDetector::new()
            .with_stattest(StatTest::Psi)
            .with_psi_binning(PsiBinning::Evidently),
        DriftDetector::new().with_stattest(StatTest::Ks),
        DriftDetector::new().with_distributions(true),
    ] {
        let r = d.run_profile(&hollow, df.clone().lazy()).unwrap();
        let c = &r.drift_by_columns["normal"];
        assert_eq!(c.reason.as_deref(), Some("no value to test"));
        // the other columns are tested as usual
        assert!(r.drift_by_columns["lognormal"].drift_score.is_some());
    }
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn ties_at_the_edge_of_a_tail_keep_their_mass() {
    // 500 values below 0.5, 15,000 copies of 0.5 (so the 1024 smallest end inside the tie), and
    // 5,000 distinct values above: the sketch must keep the point mass at 0.5.
    let build = |seed: u64| {
        let mut s = seed | 1;
        let mut u = move || {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            (s >> 11) as f64 / (1u64 << 53) as f64
        };
        let mut x: Vec<f64> = (0..500).map(|_| u() * 0.5).collect();
        x.extend(std::iter::repeat_n(0.5, 15_000));
        x.extend((0..5_000).map(|_| 1.0 + u() * 99.0));
        let mut ties_high: Vec<f64> = (0..5_000).map(|_| u() * 10.0).collect();
        ties_high.extend(std::iter::repeat_n(10.0, 15_000));
        ties_high.extend((0..500).map(|_| 10.0 + u()));
        df!("low_ties" => x, "high_ties" => ties_high).unwrap()
    };
    let reference = build(71);
    let o = SketchOptions::new();
    let p = ReferenceProfile::fit_sketch(reference.clone().lazy(), o).unwrap();
    let current = build(72);
    let d = DriftDetector::new().with_stattest(StatTest::Ks);
    let (exact, sketch) = both(&d, &reference, &p, &current);
    for col in ["low_ties", "high_ties"] {
        let (e, s) = (&exact.drift_by_columns[col], &sketch.drift_by_columns[col]);
        let gap = (e.statistic.unwrap() - s.statistic.unwrap()).abs();
        assert!(gap <= 1.5 * o.rank_error(), "{col}: {gap}");
    }
}
