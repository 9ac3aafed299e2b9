//! recwatch::drift::stats against scipy 1.17.1 / Evidently 0.7.23.
//!
//! Samples: tests/fixtures/drift/stats_samples.json, written by
//! `python scripts/drift_stats_reference.py` (numpy default_rng(20261128)); every expected value
//! below was printed by that script, and the Python call is in the comment next to it.
#![cfg(feature = "drift")]

use recwatch::drift::stats::*;
use std::collections::HashMap;
use std::sync::OnceLock;

fn samples() -> &'static HashMap<String, Vec<f64>> {
    static S: OnceLock<HashMap<String, Vec<f64>>> = OnceLock::new();
    S.get_or_init(|| {
        let text = std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/fixtures/drift/stats_samples.json"
        ))
        .expect("fixture");
        serde_json::from_str(&text).expect("fixture json")
    })
}

fn s(name: &str) -> &'static [f64] {
    &samples()[name]
}

#[track_caller]
fn close(got: f64, want: f64, rel: f64) {
    let err = if want == 0.0 {
        got.abs()
    } else {
        ((got - want) / want).abs()
    };
    assert!(err <= rel, "got {got:e}, want {want:e} (rel err {err:e})");
}

const REL: f64 = 1e-6;

#[test]
fn ks_exact_equal_sizes() {
    // stats.ks_2samp(S['norm50_a'], S['norm50_b'], method='auto') -> (0.2, 0.2719135601522248)
    let r = ks_2samp(s("norm50_a"), s("norm50_b")).unwrap();
    close(r.statistic, 0.2, 1e-12);
    close(r.p_value, 0.2719135601522248, REL);
}

#[test]
fn ks_exact_with_ties() {
    // stats.ks_2samp(S['ties200'], S['ties300'], method='auto') -> (0.09, 0.2740590678125853)
    let r = ks_2samp(s("ties200"), s("ties300")).unwrap();
    close(r.statistic, 0.09, 1e-12);
    close(r.p_value, 0.2740590678125853, REL);
}

#[test]
fn ks_exact_large_unequal() {
    // stats.ks_2samp(S['n3000'], S['n7000'], method='auto')
    //   -> (0.042333333333333334, 0.0010469485405448487)
    let r = ks_2samp(s("n3000"), s("n7000")).unwrap();
    close(r.statistic, 0.042333333333333334, 1e-12);
    close(r.p_value, 0.0010469485405448487, REL);
}

#[test]
fn ks_exact_tiny_pvalue() {
    // stats.ks_2samp(S['n500'], S['n600'], method='auto')
    //   -> (0.2826666666666667, 1.104293992950144e-19)
    let r = ks_2samp(s("n500"), s("n600")).unwrap();
    close(r.statistic, 0.2826666666666667, 1e-12);
    close(r.p_value, 1.104293992950144e-19, REL);
}

#[test]
fn ks_asymptotic() {
    // stats.ks_2samp(S['n12000'], S['n9000'], method='auto')
    //   -> (0.013416666666666688, 0.3100214145993251)
    let r = ks_2samp(s("n12000"), s("n9000")).unwrap();
    close(r.statistic, 0.013416666666666688, 1e-12);
    close(r.p_value, 0.3100214145993251, REL);
    // stats.ks_2samp(S['n15000a'], S['n15000b'], method='auto')
    //   -> (0.011466666666666625, 0.2754366049661897)
    let r = ks_2samp(s("n15000a"), s("n15000b")).unwrap();
    close(r.statistic, 0.011466666666666625, 1e-12);
    close(r.p_value, 0.2754366049661897, REL);
}

#[test]
fn ks_asymptotic_unbalanced() {
    // stats.ks_2samp(S['n20000'], S['n60'], method='auto')
    //   -> (0.16628333333333334, 0.0642665464036718)
    let r = ks_2samp(s("n20000"), s("n60")).unwrap();
    close(r.statistic, 0.16628333333333334, 1e-12);
    close(r.p_value, 0.0642665464036718, REL);
}

#[test]
fn ks_rejects_bad_input() {
    assert!(matches!(
        ks_2samp(&[], &[1.0]),
        Err(StatsError::EmptySample { .. })
    ));
    assert!(matches!(
        ks_2samp(&[f64::NAN], &[1.0]),
        Err(StatsError::NonFinite { .. })
    ));
    assert!(ks_2samp_sorted(&[2.0, 1.0], &[1.0]).is_err());
}

#[test]
fn kolmogorov_distribution_regions() {
    let cases: &[(u64, f64, f64)] = &[
        (10, 0.3, 0.27053557479999946),          // stats.kstwo.sf(0.3, 10)
        (100, 0.05, 0.9532159710635725),         // stats.kstwo.sf(0.05, 100)
        (100, 0.15, 0.019839242125643017),       // stats.kstwo.sf(0.15, 100)
        (100, 0.3, 1.7719869892662917e-08),      // stats.kstwo.sf(0.3, 100)
        (1000, 0.05, 0.013012074781090332),      // stats.kstwo.sf(0.05, 1000)
        (1000, 0.02, 0.8108971656895577),        // stats.kstwo.sf(0.02, 1000)
        (1000, 0.01, 0.9999496745370611),        // stats.kstwo.sf(0.01, 1000)
        (500000, 0.001, 0.6989801443663661),     // stats.kstwo.sf(0.001, 500000)
        (500000, 0.0025, 0.0038544560212235442), // stats.kstwo.sf(0.0025, 500000)
        (200000, 0.0005, 0.999999999766341),     // stats.kstwo.sf(0.0005, 200000)
        (60, 0.1, 0.5521961259289287),           // stats.kstwo.sf(0.1, 60)
        (5143, 0.02, 0.03223251085215506),       // stats.kstwo.sf(0.02, 5143)
        (7500, 0.012, 0.22846880955054116),      // stats.kstwo.sf(0.012, 7500)
    ];
    for &(n, x, want) in cases {
        let got = kolmogorov_sf(n, x);
        let err = ((got - want) / want).abs();
        assert!(err <= REL, "kstwo.sf({x}, {n}): got {got:e}, want {want:e}");
    }
}

#[test]
fn smirnov_one_sided() {
    close(smirnov_sf(10, 0.3), 0.1354635556, 1e-9); // special.smirnov(10, 0.3)
    close(smirnov_sf(1000, 0.05), 0.006506037390545166, REL); // special.smirnov(1000, 0.05)
    close(smirnov_sf(500000, 0.003), 0.00012316150619593377, REL); // special.smirnov(500000, 0.003)
}

#[test]
fn chisquare_matches_scipy() {
    // stats.chisquare([16, 18, 16, 14, 12, 12], [16, 16, 16, 16, 16, 8]) -> (3.5, 0.6233876277495822)
    let r = chisquare(
        &[16., 18., 16., 14., 12., 12.],
        &[16., 16., 16., 16., 16., 8.],
    )
    .unwrap();
    close(r.statistic, 3.5, 1e-12);
    close(r.p_value, 0.6233876277495822, REL);
    assert!(chisquare(&[1.0, 2.0], &[1.0, 1.0]).is_err());
}

fn counts(r: &[f64], c: &[f64]) -> (Vec<f64>, Vec<f64>) {
    let mut keys: Vec<f64> = r.iter().chain(c).copied().collect();
    keys.sort_by(f64::total_cmp);
    keys.dedup();
    let cnt = |x: &[f64]| {
        keys.iter()
            .map(|k| x.iter().filter(|v| *v == k).count() as f64)
            .collect()
    };
    (cnt(r), cnt(c))
}

#[test]
fn chisquare_gof_matches_evidently() {
    // _chi_stat_test(pd.Series(S['cat_ref']), pd.Series(S['cat_ref'][:400]), ColumnType.Categorical, 0.05)
    //   -> (0.5508864823375457, False)
    let (r, c) = counts(s("cat_ref"), &s("cat_ref")[..400]);
    close(
        chisquare_gof(&r, &c).unwrap().p_value,
        0.5508864823375457,
        REL,
    );
    // cur = S['cat_cur'][S['cat_cur'] < 4]
    // _chi_stat_test(pd.Series(S['cat_ref'][:300]), pd.Series(cur), ColumnType.Categorical, 0.05)
    //   -> (0.001450166473974087, True)
    let cur: Vec<f64> = s("cat_cur").iter().copied().filter(|v| *v < 4.0).collect();
    let (r, c) = counts(&s("cat_ref")[..300], &cur);
    close(
        chisquare_gof(&r, &c).unwrap().p_value,
        0.001450166473974087,
        REL,
    );
    // An unseen category: _chi_stat_test(S['cat_ref'], S['cat_cur'], ...) -> (0.0, True)
    let (r, c) = counts(s("cat_ref"), s("cat_cur"));
    assert_eq!(chisquare_gof(&r, &c).unwrap().p_value, 0.0);
}

#[test]
fn chi2_contingency_matches_scipy() {
    // table = [[353, 220, 158, 69, 0], [179, 160, 83, 55, 23]]  (cat_ref vs cat_cur counts)
    // stats.chi2_contingency(table)[:2] -> (47.6089726139066, 1.138605270298736e-09)
    let (r, c) = counts(s("cat_ref"), s("cat_cur"));
    assert_eq!(r, vec![353., 220., 158., 69., 0.]);
    let t = chi2_contingency_2xk(&r, &c, true).unwrap();
    close(t.statistic, 47.6089726139066, REL);
    close(t.p_value, 1.138605270298736e-09, REL);
    // stats.chi2_contingency([[12, 30], [25, 14]])[:2] -> (8.906634750384754, 0.0028413639966981363)
    let t = chi2_contingency_2xk(&[12., 30.], &[25., 14.], true).unwrap();
    close(t.statistic, 8.906634750384754, REL);
    close(t.p_value, 0.0028413639966981363, REL);
    // stats.chi2_contingency([[12, 30], [25, 14]], correction=False)[:2]
    //   -> (10.288751788751794, 0.0013384359919009507)
    let t = chi2_contingency_2xk(&[12., 30.], &[25., 14.], false).unwrap();
    close(t.statistic, 10.288751788751794, REL);
    close(t.p_value, 0.0013384359919009507, REL);
}

#[test]
fn z_test_matches_evidently() {
    // (int(S['bin_ref'].sum()), len(S['bin_ref']), int(S['bin_cur'].sum()), len(S['bin_cur']))
    //   -> (272, 900, 161, 400)
    // proportions_diff_z_stat_ind(pd.Series(S['bin_ref']), pd.Series(S['bin_cur'])) -> -3.540577708909603
    // _z_stat_test(pd.Series(S['bin_ref']), pd.Series(S['bin_cur']), ColumnType.Categorical, 0.05)
    //   -> (0.0003992520427429369, True)
    let r = z_test_proportions(272, 900, 161, 400).unwrap();
    close(r.statistic, -3.540577708909603, REL);
    close(r.p_value, 0.0003992520427429369, REL);
    let same = z_test_proportions(0, 10, 0, 20).unwrap();
    assert_eq!((same.statistic, same.p_value), (0.0, 1.0));
}

#[test]
fn wasserstein_matches() {
    // stats.wasserstein_distance(S['n3000'], S['n7000']) -> 0.10222820938095235
    close(
        wasserstein_distance(s("n3000"), s("n7000")).unwrap(),
        0.10222820938095235,
        REL,
    );
    // _wasserstein_distance_norm(pd.Series(S['n3000']), pd.Series(S['n7000']), ColumnType.Numerical, 0.1)
    //   -> (0.10443132385583861, True)
    close(
        wasserstein_normed(s("n3000"), s("n7000")).unwrap(),
        0.10443132385583861,
        REL,
    );
    // _wasserstein_distance_norm(pd.Series(S['ties200']), pd.Series(S['ties300']), ColumnType.Numerical, 0.1)
    //   -> (0.17273923887831263, True)
    close(
        wasserstein_normed(s("ties200"), s("ties300")).unwrap(),
        0.17273923887831263,
        REL,
    );
}

#[test]
fn jensenshannon_matches() {
    // distance.jensenshannon([0.1, 0.2, 0.7], [0.3, 0.3, 0.4]) -> 0.22784261945058354
    close(
        jensenshannon(&[0.1, 0.2, 0.7], &[0.3, 0.3, 0.4]).unwrap(),
        0.22784261945058354,
        REL,
    );
    // _jensenshannon(pd.Series(S['n3000']), pd.Series(S['n7000']), ColumnType.Numerical, 0.1)
    //   -> (0.06350976265209238, False)
    let b = evidently_binned(s("n3000"), s("n7000"), true, false).unwrap();
    close(
        jensenshannon(&b.reference, &b.current).unwrap(),
        0.06350976265209238,
        REL,
    );
    // _jensenshannon(pd.Series(S['cat_ref']), pd.Series(S['cat_cur']), ColumnType.Categorical, 0.1)
    //   -> (0.14272143625152744, True)
    let b = evidently_binned(s("cat_ref"), s("cat_cur"), false, false).unwrap();
    close(
        jensenshannon(&b.reference, &b.current).unwrap(),
        0.14272143625152744,
        REL,
    );
    // _jensenshannon(pd.Series(S['ties200']), pd.Series(S['ties300']), ColumnType.Numerical, 0.1)
    //   -> (0.10288807344257411, True)
    let b = evidently_binned(s("ties200"), s("ties300"), true, false).unwrap();
    close(
        jensenshannon(&b.reference, &b.current).unwrap(),
        0.10288807344257411,
        REL,
    );
    assert_eq!(jensenshannon(&[0.2, 0.8], &[0.2, 0.8]).unwrap(), 0.0);
}

#[test]
fn psi_evidently_binning() {
    // _psi(pd.Series(S['n3000']), pd.Series(S['n7000']), ColumnType.Numerical, 0.1)
    //   -> (0.031917996714197316, False)
    let b = evidently_binned(s("n3000"), s("n7000"), true, true).unwrap();
    close(
        psi(&b.reference, &b.current).unwrap(),
        0.031917996714197316,
        REL,
    );
    // _psi(pd.Series(S['cat_ref']), pd.Series(S['cat_cur']), ColumnType.Categorical, 0.1)
    //   -> (0.31689870648493523, True)
    let b = evidently_binned(s("cat_ref"), s("cat_cur"), false, true).unwrap();
    close(
        psi(&b.reference, &b.current).unwrap(),
        0.31689870648493523,
        REL,
    );
    // _psi(pd.Series(S['n500']), pd.Series(S['n600']), ColumnType.Numerical, 0.1)
    //   -> (0.49160776065237743, True)
    let b = evidently_binned(s("n500"), s("n600"), true, true).unwrap();
    close(
        psi(&b.reference, &b.current).unwrap(),
        0.49160776065237743,
        REL,
    );
}

#[test]
fn psi_quantile_binning() {
    // psi_quantile(S['n3000'], S['n7000']) -> 0.021956711216079203   (see the script)
    close(
        psi_quantile_bins(s("n3000"), s("n7000"), 10, PSI_DEFAULT_FLOOR).unwrap(),
        0.021956711216079203,
        REL,
    );
    // psi_quantile(S['ties200'], S['ties300']) -> 0.07893986324341842
    close(
        psi_quantile_bins(s("ties200"), s("ties300"), 10, PSI_DEFAULT_FLOOR).unwrap(),
        0.07893986324341842,
        REL,
    );
    // psi_quantile(S['n500'], S['n600'] + 3.0) -> 7.745494663794604
    let shifted: Vec<f64> = s("n600").iter().map(|v| v + 3.0).collect();
    close(
        psi_quantile_bins(s("n500"), &shifted, 10, PSI_DEFAULT_FLOOR).unwrap(),
        7.745494663794604,
        REL,
    );
    assert!(psi_quantile_bins(&[1.0], &[1.0], 1, PSI_DEFAULT_FLOOR).is_err());
}
