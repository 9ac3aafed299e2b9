//! The HTML report's size depends on the columns, not the rows.
#![cfg(feature = "drift")]

use polars::prelude::*;
use recwatch::drift::{DataQualitySuite, DriftDetector};

/// 12 columns (8 numerical, 4 categorical), `n` rows, `shift` moving some of them.
fn frame(n: usize, shift: f64, seed: u64) -> DataFrame {
    let mut s = seed;
    let mut next = move || {
        s ^= s << 13;
        s ^= s >> 7;
        s ^= s << 17;
        (s >> 11) as f64 / (1u64 << 53) as f64
    };
    let mut cols = Vec::new();
    for j in 0..8 {
        let v: Vec<f64> = (0..n)
            .map(|_| next() * 10.0 + j as f64 + if j < 3 { shift } else { 0.0 })
            .collect();
        cols.push(Column::new(format!("num_{j}").into(), v));
    }
    for j in 0..4 {
        let cats = ["a", "b", "c", "d", "e", "f"];
        let v: Vec<&str> = (0..n)
            .map(|_| {
                let u = next() + if j == 0 { shift / 20.0 } else { 0.0 };
                cats[((u * 6.0) as usize).min(5)]
            })
            .collect();
        cols.push(Column::new(format!("cat_{j}").into(), v));
    }
    DataFrame::new(n, cols).unwrap()
}

fn html(n: usize) -> String {
    DriftDetector::new()
        .with_distributions(true)
        .with_quality_suite(DataQualitySuite::new())
        .run(&frame(n, 0.0, 1), &frame(n, 2.0, 2))
        .unwrap()
        .to_html()
}

#[test]
fn one_chart_per_column_and_size_independent_of_rows() {
    let small = html(2_000);
    let large = html(200_000);
    assert_eq!(small.matches("<svg").count(), 12);
    assert_eq!(large.matches("<svg").count(), 12);
    assert!(
        large.len() < 2 * small.len(),
        "{} bytes for 200k rows vs {} for 2k",
        large.len(),
        small.len()
    );
    for bad in ["<script", "src=", "href=", "url(", "@import", "<link"] {
        assert!(!large.contains(bad), "{bad} in the page");
    }
}
