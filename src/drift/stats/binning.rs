//! Binning helpers shared by PSI and Jensen–Shannon.

use super::sample::{Cursor, Sample};
use super::{check_finite, sorted_copy, StatsError};

/// Quantile of an ascending-sorted sample with linear interpolation between order statistics
/// (Hyndman–Fan type 7, numpy's default `method="linear"`): at virtual index `h = q·(n−1)`,
/// `Q = x⌊h⌋ + (h − ⌊h⌋)·(x⌊h⌋+1 − x⌊h⌋)`.
///
/// Reference: R. J. Hyndman and Y. Fan, "Sample quantiles in statistical packages",
/// *Amer. Statist.* 50(4) (1996) 361–365.
///
/// Returns NaN for an empty sample or `q` outside `[0, 1]`.
///
/// ```
/// use recwatch::drift::stats::quantile;
/// // numpy.quantile([1, 2, 3, 4], 0.5) == 2.5
/// assert_eq!(quantile(&[1.0, 2.0, 3.0, 4.0], 0.5), 2.5);
/// ```
pub fn quantile(sorted: &[f64], q: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    quantile_of(sorted, q)
}

/// [`quantile`] of a non-empty [`Sample`].
pub(crate) fn quantile_of<S: Sample + ?Sized>(s: &S, q: f64) -> f64 {
    if !(0.0..=1.0).contains(&q) {
        return f64::NAN;
    }
    let n = s.total();
    let h = q * (n - 1) as f64;
    let lo = h.floor() as u64;
    let t = h - lo as f64;
    if lo + 1 >= n {
        return s.max();
    }
    let (a, b) = (s.order_stat(lo), s.order_stat(lo + 1));
    // numpy's _lerp: symmetric form for t ≥ 0.5
    if t >= 0.5 {
        b - (b - a) * (1.0 - t)
    } else {
        a + (b - a) * t
    }
}

/// Histogram bin edges by Sturges' rule over `n` float values spanning `[min, max]`, exactly as
/// `numpy.histogram_bin_edges(x, bins="sturges")` computes them for a float array: bin width
/// `w = (max − min) / (log₂ n + 1)`, `⌈(max − min) / w⌉` equal bins (one bin when `min == max`,
/// widened to `[min − 0.5, max + 0.5]`), edges `first + i·step` with the last edge set to
/// `last` (numpy's `linspace`). The count is computed from the width, as numpy does, so it can
/// differ from `⌈log₂ n + 1⌉` by one where the division rounds.
///
/// Reference: H. A. Sturges, "The choice of a class interval", *JASA* 21 (1926) 65–66.
///
/// ```
/// use recwatch::drift::stats::sturges_edges;
/// // numpy.histogram_bin_edges(np.arange(8.0), bins="sturges") -> 5 edges from 0 to 7
/// let e = sturges_edges(0.0, 7.0, 8);
/// assert_eq!(e, vec![0.0, 1.75, 3.5, 5.25, 7.0]);
/// ```
pub fn sturges_edges(min: f64, max: f64, n: usize) -> Vec<f64> {
    numpy_sturges(min, max, n, false)
}

/// [`sturges_edges`] for an integer array: numpy raises a bin width below 1 to 1, so a narrow
/// integer range gets one bin per unit (`numpy.histogram_bin_edges(np.array([0, 5] * 500),
/// bins="sturges")` has 5 bins, not 11).
///
/// ```
/// use recwatch::drift::stats::sturges_edges_integer;
/// // numpy.histogram_bin_edges(np.array([0, 5] * 500), bins="sturges")
/// //   -> array([0., 1., 2., 3., 4., 5.])
/// assert_eq!(sturges_edges_integer(0.0, 5.0, 1000), vec![0.0, 1.0, 2.0, 3.0, 4.0, 5.0]);
/// ```
pub fn sturges_edges_integer(min: f64, max: f64, n: usize) -> Vec<f64> {
    numpy_sturges(min, max, n, true)
}

fn numpy_sturges(min: f64, max: f64, n: usize, integer: bool) -> Vec<f64> {
    let (mut first, mut last) = (min, max);
    if first == last {
        first -= 0.5;
        last += 0.5;
    }
    let nbins = if n == 0 {
        1
    } else {
        // numpy: width = ptp(x) / (log2(x.size) + 1.0) on the data (0 for a constant array).
        let mut width = (max - min) / ((n as f64).log2() + 1.0);
        if width > 0.0 {
            if integer && width < 1.0 {
                width = 1.0;
            }
            (((last - first) / width).ceil() as usize).max(1)
        } else {
            1
        }
    };
    let step = (last - first) / nbins as f64;
    let mut edges: Vec<f64> = (0..=nbins).map(|i| i as f64 * step + first).collect();
    edges[nbins] = last;
    edges
}

/// Counts of sorted values per bin: `[eᵢ, eᵢ₊₁)`, the last bin closed, values outside the
/// edges ignored (numpy's `histogram`).
pub(crate) fn histogram_sorted<S: Sample + ?Sized>(sorted: &S, edges: &[f64]) -> Vec<f64> {
    let nb = edges.len() - 1;
    let mut out = vec![0.0; nb];
    let mut prev = sorted.count_lt(edges[0]);
    for i in 0..nb {
        let end = if i + 1 == nb {
            sorted.count_le(edges[nb])
        } else {
            sorted.count_lt(edges[i + 1])
        };
        out[i] = (end - prev) as f64;
        prev = end;
    }
    out
}

/// The proportions Evidently's `psi` and `jensenshannon` tests compare.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct EvidentlyBinned {
    /// Share of reference values per bin (or per category).
    pub reference: Vec<f64>,
    /// Share of current values per bin (or per category).
    pub current: Vec<f64>,
}

/// Bins two samples the way Evidently 0.7's `get_binned_data` does.
///
/// - `numerical` and more than 20 distinct reference values: Sturges bins over the union of
///   both samples ([`sturges_edges`], float semantics), shares per bin;
/// - otherwise every distinct value is a category: shares per value over the union of values.
///
/// With `fill_zeros` (Evidently's `psi` uses it, `jensenshannon` does not), a zero share is
/// replaced by `min_nonzero / 10⁶` when the smallest non-zero share is ≤ 10⁻⁴, else by 10⁻⁴,
/// separately for each sample.
///
/// # Errors
///
/// [`StatsError::EmptySample`] or [`StatsError::NonFinite`] for unusable samples.
///
/// ```
/// use recwatch::drift::stats::evidently_binned;
/// let b = evidently_binned(&[1.0, 1.0, 2.0, 2.0], &[1.0, 2.0, 2.0, 2.0], false, false)?;
/// assert_eq!(b.reference, vec![0.5, 0.5]);
/// assert_eq!(b.current, vec![0.25, 0.75]);
/// # Ok::<(), recwatch::drift::stats::StatsError>(())
/// ```
pub fn evidently_binned(
    reference: &[f64],
    current: &[f64],
    numerical: bool,
    fill_zeros: bool,
) -> Result<EvidentlyBinned, StatsError> {
    check_finite("reference", reference)?;
    check_finite("current", current)?;
    let r = sorted_copy(reference);
    let c = sorted_copy(current);
    Ok(evidently_binned_sorted(
        r.as_slice(),
        c.as_slice(),
        numerical,
        false,
        fill_zeros,
    ))
}

/// [`evidently_binned`] on sorted, finite, non-empty samples; `integer` when both samples are
/// integer arrays in pandas (integer dtype, no missing value), for numpy's integer bin width.
pub(crate) fn evidently_binned_sorted<R: Sample + ?Sized, C: Sample + ?Sized>(
    r: &R,
    c: &C,
    numerical: bool,
    integer: bool,
    fill_zeros: bool,
) -> EvidentlyBinned {
    let (nr, nc) = (r.total() as f64, c.total() as f64);
    let (mut rp, mut cp) = if numerical && r.distinct_capped(21) > 20 {
        let min = r.min().min(c.min());
        let max = r.max().max(c.max());
        let edges = numpy_sturges(min, max, (r.total() + c.total()) as usize, integer);
        let rh = histogram_sorted(r, &edges);
        let ch = histogram_sorted(c, &edges);
        (
            rh.into_iter().map(|v| v / nr).collect::<Vec<_>>(),
            ch.into_iter().map(|v| v / nc).collect::<Vec<_>>(),
        )
    } else {
        let (rc, cc) = union_value_counts(r, c);
        (
            rc.into_iter().map(|v| v / nr).collect(),
            cc.into_iter().map(|v| v / nc).collect(),
        )
    };
    if fill_zeros {
        evidently_fill_zeros(&mut rp);
        evidently_fill_zeros(&mut cp);
    }
    EvidentlyBinned {
        reference: rp,
        current: cp,
    }
}

/// Evidently's zero fill (see [`evidently_binned`]); a vector with no non-zero share is left
/// as it is.
pub(crate) fn evidently_fill_zeros(p: &mut [f64]) {
    let min_nz = p
        .iter()
        .copied()
        .filter(|v| *v != 0.0)
        .fold(f64::INFINITY, f64::min);
    if !min_nz.is_finite() {
        return;
    }
    let fill = if min_nz <= 1e-4 { min_nz / 1e6 } else { 1e-4 };
    for v in p.iter_mut() {
        if *v == 0.0 {
            *v = fill;
        }
    }
}

/// Counts per distinct value over the union of two sorted samples, aligned.
pub(crate) fn union_value_counts<R: Sample + ?Sized, C: Sample + ?Sized>(
    r: &R,
    c: &C,
) -> (Vec<f64>, Vec<f64>) {
    let (mut rc, mut cc) = (Vec::new(), Vec::new());
    union_runs(r, c, |_, a, b| {
        rc.push(a as f64);
        cc.push(b as f64);
        true
    });
    (rc, cc)
}

/// Distinct values over the union of two sorted samples, counting no further than `cap`.
pub(crate) fn union_distinct_capped<R: Sample + ?Sized, C: Sample + ?Sized>(
    r: &R,
    c: &C,
    cap: usize,
) -> usize {
    let mut n = 0;
    union_runs(r, c, |_, _, _| {
        n += 1;
        n < cap
    });
    n
}

/// Walks the distinct values of the union of two sorted samples in ascending order, calling
/// `f(value, count in r, count in c)` until it returns `false`.
pub(crate) fn union_runs<R: Sample + ?Sized, C: Sample + ?Sized>(
    r: &R,
    c: &C,
    mut f: impl FnMut(f64, u64, u64) -> bool,
) {
    let (mut a, mut b) = (r.cursor(), c.cursor());
    loop {
        let x = match (a.peek(), b.peek()) {
            (Some(p), Some(q)) => p.min(q),
            (Some(p), None) => p,
            (None, Some(q)) => q,
            (None, None) => return,
        };
        let (ka, kb) = (a.take_eq(x), b.take_eq(x));
        if !f(x, ka, kb) {
            return;
        }
    }
}

/// Sorts integers ascending: one scatter pass into 2048 buckets over the keys' range (most
/// significant bits of `key − min`), then each bucket, small enough to stay in cache, with the
/// standard unstable sort. Two passes over memory instead of an LSD radix sort's six; a skewed
/// input only makes some buckets larger (still `O(n log n)`). Small inputs use the standard
/// sort directly.
pub(crate) fn bucket_sort_u64(keys: &mut Vec<u64>) {
    const SMALL: usize = 4096;
    const BITS: u32 = 11;
    const BUCKETS: usize = 1 << BITS;
    if keys.len() < SMALL {
        keys.sort_unstable();
        return;
    }
    let (mut lo, mut hi) = (u64::MAX, 0u64);
    for &k in keys.iter() {
        lo = lo.min(k);
        hi = hi.max(k);
    }
    if lo == hi {
        return;
    }
    let shift = (64 - (hi - lo).leading_zeros()).saturating_sub(BITS);
    let bucket = |k: u64| ((k - lo) >> shift) as usize;
    let mut start = vec![0usize; BUCKETS + 1];
    for &k in keys.iter() {
        start[bucket(k) + 1] += 1;
    }
    for i in 0..BUCKETS {
        start[i + 1] += start[i];
    }
    let mut next = start.clone();
    let mut out = vec![0u64; keys.len()];
    for &k in keys.iter() {
        let b = bucket(k);
        out[next[b]] = k;
        next[b] += 1;
    }
    for w in start.windows(2) {
        out[w[0]..w[1]].sort_unstable();
    }
    *keys = out;
}

/// Sorts finite floats ascending in the order of [`f64::total_cmp`], by [`bucket_sort_u64`]
/// on the order-preserving bit pattern; small inputs use the standard sort.
pub(crate) fn sort_f64(v: &mut [f64]) {
    const SMALL: usize = 4096;
    if v.len() < SMALL {
        v.sort_unstable_by(f64::total_cmp);
        return;
    }
    let key = |x: f64| -> u64 {
        let b = x.to_bits();
        if b >> 63 == 1 {
            !b
        } else {
            b | (1 << 63)
        }
    };
    let mut keys: Vec<u64> = v.iter().map(|x| key(*x)).collect();
    bucket_sort_u64(&mut keys);
    for (x, k) in v.iter_mut().zip(&keys) {
        let b = if k >> 63 == 1 { k & !(1 << 63) } else { !k };
        *x = f64::from_bits(b);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bucket_sort_sorts_skewed_keys() {
        let mut s = 0x2545_F491_4F6C_DD1Du64;
        let mut rand = move || {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            s
        };
        let cases: Vec<Vec<u64>> = vec![
            (0..10_000).map(|_| rand()).collect(),
            (0..10_000)
                .map(|i| if i % 3 == 0 { u64::MAX } else { 7 })
                .collect(),
            vec![42; 9_000],
            (0..10_000)
                .map(|_| rand() % 5)
                .chain([u64::MAX, 0])
                .collect(),
            (0..10_000).map(|i| (i as u64) << 40).rev().collect(),
        ];
        for mut v in cases {
            let mut want = v.clone();
            want.sort_unstable();
            bucket_sort_u64(&mut v);
            assert_eq!(v, want);
        }
    }

    #[test]
    fn float_sort_matches_total_cmp() {
        let mut s = 0x9E37_79B9_7F4A_7C15u64;
        let mut v: Vec<f64> = (0..20_000)
            .map(|i| {
                s ^= s << 13;
                s ^= s >> 7;
                s ^= s << 17;
                match i % 5 {
                    0 => (s % 100) as f64 - 50.0,
                    1 => -0.0,
                    2 => f64::from_bits(s >> 2) * if s & 1 == 0 { 1.0 } else { -1.0 },
                    _ => (s as f64 / u64::MAX as f64) * 1e-300,
                }
            })
            .filter(|x| x.is_finite())
            .collect();
        let mut want = v.clone();
        want.sort_unstable_by(f64::total_cmp);
        sort_f64(&mut v);
        assert_eq!(
            v.iter().map(|x| x.to_bits()).collect::<Vec<_>>(),
            want.iter().map(|x| x.to_bits()).collect::<Vec<_>>()
        );
    }

    #[test]
    fn sturges_matches_numpy() {
        // numpy.histogram_bin_edges(np.array([-1.768511857086917, 2.9425977372241086]
        //   + [-1.768511857086917] * 62), bins="sturges") -> 9 edges (8 bins, not 7)
        let e = sturges_edges(-1.768511857086917, 2.9425977372241086, 64);
        assert_eq!(e.len(), 9);
        // numpy.histogram_bin_edges(np.array([0, 15] * 300_000), bins="sturges") -> 16 edges
        // (integer arrays: width raised to 1); the float array [0.0, 15.0] * 300_000 -> 22
        assert_eq!(sturges_edges_integer(0.0, 15.0, 600_000).len(), 16);
        assert_eq!(sturges_edges(0.0, 15.0, 600_000).len(), 22);
        // a constant array: one bin, [v − 0.5, v + 0.5]
        assert_eq!(sturges_edges(2.0, 2.0, 100), vec![1.5, 2.5]);
    }

    #[test]
    fn union_distinct_capped_counts() {
        let s = |v: &'static [f64]| v;
        assert_eq!(
            union_distinct_capped(s(&[1.0, 1.0, 2.0]), s(&[2.0, 3.0]), 10),
            3
        );
        assert_eq!(
            union_distinct_capped(s(&[1.0, 2.0, 3.0, 4.0]), s(&[5.0, 6.0, 7.0]), 6),
            6
        );
        assert_eq!(union_distinct_capped(s(&[]), s(&[]), 6), 0);
    }
}
