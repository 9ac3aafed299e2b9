//! Property tests for the drift kernels and detector.
#![cfg(feature = "drift")]

use polars::prelude::*;
use proptest::prelude::*;
use recwatch::drift::stats::*;
use recwatch::drift::DriftDetector;

fn sample() -> impl Strategy<Value = Vec<f64>> {
    prop::collection::vec(
        prop_oneof![-1e6f64..1e6, (0i32..20).prop_map(f64::from)],
        1..200,
    )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn identical_inputs_show_no_drift(a in sample()) {
        let ks = ks_2samp(&a, &a).unwrap();
        prop_assert_eq!(ks.statistic, 0.0);
        prop_assert_eq!(ks.p_value, 1.0);
        prop_assert_eq!(wasserstein_normed(&a, &a).unwrap(), 0.0);
        prop_assert!(psi_quantile_bins(&a, &a, 10, PSI_DEFAULT_FLOOR).unwrap().abs() < 1e-12);
        let b = evidently_binned(&a, &a, true, false).unwrap();
        prop_assert_eq!(jensenshannon(&b.reference, &b.current).unwrap(), 0.0);
    }

    #[test]
    fn symmetric_measures_are_symmetric(a in sample(), b in sample()) {
        let ab = ks_2samp(&a, &b).unwrap();
        let ba = ks_2samp(&b, &a).unwrap();
        prop_assert_eq!(ab.statistic, ba.statistic);
        prop_assert!((ab.p_value - ba.p_value).abs() <= 1e-12 * ab.p_value.max(1e-300) + 1e-15);
        let w1 = wasserstein_distance(&a, &b).unwrap();
        let w2 = wasserstein_distance(&b, &a).unwrap();
        prop_assert!((w1 - w2).abs() <= 1e-9 * w1.max(1.0));
        let p: Vec<f64> = a.iter().map(|v| v.abs() + 1.0).collect();
        let q: Vec<f64> = a.iter().rev().map(|v| v.abs() + 0.5).collect();
        let j1 = jensenshannon(&p, &q).unwrap();
        let j2 = jensenshannon(&q, &p).unwrap();
        prop_assert!((j1 - j2).abs() <= 1e-12);
        let s1 = psi(&p, &q).unwrap();
        let s2 = psi(&q, &p).unwrap();
        prop_assert!((s1 - s2).abs() <= 1e-9 * s1.abs().max(1.0));
        prop_assert!(ab.p_value.is_finite() && (0.0..=1.0).contains(&ab.p_value));
    }

    #[test]
    fn row_order_does_not_matter(a in sample(), b in sample(), seed in any::<u64>()) {
        let shuffle = |v: &[f64]| {
            let mut v = v.to_vec();
            let mut s = seed | 1;
            for i in (1..v.len()).rev() {
                s ^= s << 13; s ^= s >> 7; s ^= s << 17;
                v.swap(i, (s % (i as u64 + 1)) as usize);
            }
            v
        };
        let (a2, b2) = (shuffle(&a), shuffle(&b));
        prop_assert_eq!(ks_2samp(&a, &b).unwrap(), ks_2samp(&a2, &b2).unwrap());
        prop_assert_eq!(
            psi_quantile_bins(&a, &b, 10, PSI_DEFAULT_FLOOR).unwrap(),
            psi_quantile_bins(&a2, &b2, 10, PSI_DEFAULT_FLOOR).unwrap()
        );
        prop_assert_eq!(wasserstein_normed(&a, &b).unwrap(), wasserstein_normed(&a2, &b2).unwrap());
        let r1 = DriftDetector::new().with_threads(1)
            .run(&df!("x" => a.clone()).unwrap(), &df!("x" => b.clone()).unwrap()).unwrap();
        let r2 = DriftDetector::new().with_threads(1)
            .run(&df!("x" => a2).unwrap(), &df!("x" => b2).unwrap()).unwrap();
        prop_assert_eq!(r1.drift_by_columns["x"].drift_score, r2.drift_by_columns["x"].drift_score);
    }
}
