//! How far drift scores against a sketch-mode reference profile are from the exact ones.
//!
//!     cargo run --release --no-default-features --features drift --example sketch_error -- \
//!         [--rows 1000000] [--current 10000] [--trials 20] [--k 1000] [--shards 1]
//!
//! Fits a sketch profile (optionally as `--shards` merged shard profiles) of a reference of
//! `--rows` rows (a normal and a log-normal column), then compares each test's score against
//! the raw reference with the score against the profile, on `--trials` current frames (half
//! unshifted, half shifted by 0.1σ). Prints one Markdown row per test and column: the largest
//! and median absolute score difference, and the sketch's stated rank error.

use polars::prelude::*;
use recwatch::drift::{DriftDetector, PsiBinning, ReferenceProfile, SketchOptions, StatTest};

fn frame(n: usize, seed: u64, shift: f64) -> PolarsResult<DataFrame> {
    let mut state = seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
    let mut uniform = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        (state >> 11) as f64 / (1u64 << 53) as f64
    };
    let (mut normal, mut lognormal) = (Vec::with_capacity(n), Vec::with_capacity(n));
    for _ in 0..n {
        let (u1, u2) = (uniform().max(1e-300), uniform());
        let z = (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos();
        normal.push(z + shift);
        lognormal.push((0.5 * z + shift).exp() * 3.0);
    }
    df!("normal" => normal, "lognormal" => lognormal)
}

fn arg(args: &[String], name: &str, default: usize) -> usize {
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let rows = arg(&args, "--rows", 1_000_000);
    let current_rows = arg(&args, "--current", 10_000);
    let trials = arg(&args, "--trials", 20).max(1);
    let k = arg(&args, "--k", 1000) as u16;
    let shards = arg(&args, "--shards", 1).max(1);
    let opts = SketchOptions::new().with_k(k)?;
    let reference = frame(rows, 1, 0.0)?;
    let step = rows.div_ceil(shards);
    let mut profile: Option<ReferenceProfile> = None;
    for s in 0..shards {
        let part = reference.slice((s * step) as i64, step).lazy();
        let p = ReferenceProfile::fit_sketch(part, opts)?;
        profile = Some(match profile {
            None => p,
            Some(acc) => acc.merge(&p)?,
        });
    }
    let profile = profile.ok_or("no rows")?;
    let exact_size = ReferenceProfile::fit(reference.clone().lazy())?
        .to_json()
        .len();
    println!(
        "reference {rows} rows in {shards} shard(s), k = {k}: stated rank error {:.4}; \
         profile {} B (exact mode {} B)\n",
        opts.rank_error(),
        profile.to_json().len(),
        exact_size
    );
    let detectors = [
        (
            "ks (statistic)",
            DriftDetector::new().with_stattest(StatTest::Ks),
        ),
        ("wasserstein (normed)", DriftDetector::new()),
        (
            "psi (quantile bins)",
            DriftDetector::new().with_stattest(StatTest::Psi),
        ),
        (
            "psi (Evidently bins)",
            DriftDetector::new()
                .with_stattest(StatTest::Psi)
                .with_psi_binning(PsiBinning::Evidently),
        ),
        (
            "jensenshannon",
            DriftDetector::new().with_stattest(StatTest::JensenShannon),
        ),
    ];
    println!("| test | column | max abs. difference | median | typical score |");
    println!("|---|---|---|---|---|");
    for (name, d) in &detectors {
        for col in ["normal", "lognormal"] {
            let mut diffs = Vec::with_capacity(trials);
            let mut scores = Vec::with_capacity(trials);
            for t in 0..trials {
                let shift = if t % 2 == 0 { 0.0 } else { 0.1 };
                let current = frame(current_rows, 100 + t as u64, shift)?;
                let e = d.run(&reference, &current)?;
                let s = d.run_profile(&profile, current.lazy())?;
                let pick = |r: &recwatch::drift::DriftReport| {
                    let c = &r.drift_by_columns[col];
                    if name.starts_with("ks") {
                        c.statistic
                    } else {
                        c.drift_score
                    }
                };
                let (Some(a), Some(b)) = (pick(&e), pick(&s)) else {
                    continue;
                };
                diffs.push((a - b).abs());
                scores.push(a);
            }
            diffs.sort_by(f64::total_cmp);
            scores.sort_by(f64::total_cmp);
            let med = |v: &[f64]| v.get(v.len() / 2).copied().unwrap_or(f64::NAN);
            println!(
                "| {name} | {col} | {:.2e} | {:.2e} | {:.3e} |",
                diffs.last().copied().unwrap_or(f64::NAN),
                med(&diffs),
                med(&scores)
            );
        }
    }
    Ok(())
}
