//! Shares on shared bins for the HTML report.

use super::column::{format_num, with_pair, Num, Values};
use super::report::{ColumnType, Distribution};
use super::stats::binning;

/// Shares on shared bins for the HTML report (see [`Distribution`]).
pub(crate) fn distribution(r: &Values, c: &Values, ctype: ColumnType) -> Option<Distribution> {
    const MAX_BINS: usize = 20;
    let share = |v: Vec<f64>| {
        let n: f64 = v.iter().sum();
        v.into_iter()
            .map(|x| if n > 0.0 { x / n } else { 0.0 })
            .collect::<Vec<_>>()
    };
    match (r, c) {
        (Values::Num { num: a, .. }, Values::Num { num: b, .. })
            if ctype == ColumnType::Numerical && !a.is_empty() && !b.is_empty() =>
        {
            let ((alo, ahi), (blo, bhi)) = (a.range()?, b.range()?);
            let lo = alo.min(blo);
            let hi = ahi.max(bhi);
            let n = if lo == hi { 1 } else { MAX_BINS };
            let (lo, hi) = if lo == hi {
                (lo - 0.5, hi + 0.5)
            } else {
                (lo, hi)
            };
            let step = (hi - lo) / n as f64;
            let mut edges: Vec<f64> = (0..=n).map(|i| lo + step * i as f64).collect();
            edges[n] = hi;
            let bins = edges
                .windows(2)
                .map(|w| format!("[{}, {})", format_g(w[0]), format_g(w[1])))
                .collect();
            Some(Distribution {
                bins,
                reference: share(histogram(a, &edges)),
                current: share(histogram(b, &edges)),
            })
        }
        _ => {
            let (keys, rc, cc): (Vec<String>, Vec<f64>, Vec<f64>) = match (r, c) {
                (Values::Cat(a), Values::Cat(b)) => {
                    let mut keys: Vec<&String> = a.keys().chain(b.keys()).collect();
                    keys.sort();
                    keys.dedup();
                    (
                        keys.iter().map(|k| (*k).clone()).collect(),
                        keys.iter()
                            .map(|k| *a.get(*k).unwrap_or(&0) as f64)
                            .collect(),
                        keys.iter()
                            .map(|k| *b.get(*k).unwrap_or(&0) as f64)
                            .collect(),
                    )
                }
                (Values::Num { num: a, .. }, Values::Num { num: b, .. }) => {
                    if !a.is_exact() || !b.is_exact() {
                        return None;
                    }
                    let mut u: Vec<f64> = Vec::new();
                    let (mut rc, mut cc) = (Vec::new(), Vec::new());
                    with_pair!(a, b, |x, y| binning::union_runs(x, y, |v, ka, kb| {
                        u.push(v);
                        rc.push(ka as f64);
                        cc.push(kb as f64);
                        true
                    }));
                    (u.into_iter().map(format_num).collect(), rc, cc)
                }
                _ => return None,
            };
            let mut idx: Vec<usize> = (0..keys.len()).collect();
            idx.sort_by(|&x, &y| (rc[y] + cc[y]).total_cmp(&(rc[x] + cc[x])));
            let (top, rest) = idx.split_at(idx.len().min(MAX_BINS));
            let mut top = top.to_vec();
            top.sort_unstable();
            let mut bins: Vec<String> = top.iter().map(|&i| keys[i].clone()).collect();
            let mut rv: Vec<f64> = top.iter().map(|&i| rc[i]).collect();
            let mut cv: Vec<f64> = top.iter().map(|&i| cc[i]).collect();
            if !rest.is_empty() {
                bins.push(format!("other ({})", rest.len()));
                rv.push(rest.iter().map(|&i| rc[i]).sum());
                cv.push(rest.iter().map(|&i| cc[i]).sum());
            }
            Some(Distribution {
                bins,
                reference: share(rv),
                current: share(cv),
            })
        }
    }
}

fn histogram(n: &Num, edges: &[f64]) -> Vec<f64> {
    match n {
        Num::Sorted(v) => binning::histogram_sorted(v.as_slice(), edges),
        Num::Summary(s) => binning::histogram_sorted(s, edges),
    }
}

fn format_g(v: f64) -> String {
    let s = format!("{v:.4}");
    let s = s.trim_end_matches('0').trim_end_matches('.');
    if s.is_empty() || s == "-" {
        "0".into()
    } else {
        s.to_string()
    }
}
