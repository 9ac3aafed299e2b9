//! What the drift kernels read from a numeric sample: its size, extremes, cumulative counts,
//! order statistics and runs of equal values. A sorted slice is one such sample (every value
//! weighs one); a [`Summary`] is another (distinct values with counts, from a reference
//! profile — exact, or read off a quantile sketch).

/// A walk over a sample's values in ascending order.
pub(crate) trait Cursor {
    /// The next value, if any.
    fn peek(&self) -> Option<f64>;
    /// Steps over the values equal to `x` (the next ones, if equal), returning how many.
    fn take_eq(&mut self, x: f64) -> u64;
}

/// A non-empty numeric sample in ascending order, possibly summarised.
pub(crate) trait Sample {
    type Cursor<'a>: Cursor
    where
        Self: 'a;
    /// A walk from the smallest value.
    fn cursor(&self) -> Self::Cursor<'_>;
    /// Number of values.
    fn total(&self) -> u64;
    /// Smallest value.
    fn min(&self) -> f64;
    /// Largest value.
    fn max(&self) -> f64;
    /// Number of values `< x`.
    fn count_lt(&self, x: f64) -> u64;
    /// Number of values `≤ x`.
    fn count_le(&self, x: f64) -> u64;
    /// The `k`-th smallest value (0-based, `k < total`).
    fn order_stat(&self, k: u64) -> f64;
    /// Distinct values ascending, each with its count.
    fn runs(&self) -> impl Iterator<Item = (f64, u64)> + '_ {
        let mut c = self.cursor();
        std::iter::from_fn(move || {
            let x = c.peek()?;
            Some((x, c.take_eq(x)))
        })
    }
    /// Distinct values, counted no further than `cap`.
    fn distinct_capped(&self, cap: usize) -> usize;
    /// Population standard deviation (numpy's `np.std`).
    fn population_std(&self) -> f64;
    /// The values themselves, when the sample is a plain sorted slice (for kernels with a
    /// faster form there).
    fn as_slice(&self) -> Option<&[f64]> {
        None
    }
}

/// A position in a sorted slice.
pub(crate) struct SliceCursor<'a> {
    s: &'a [f64],
    i: usize,
}

impl Cursor for SliceCursor<'_> {
    #[inline]
    fn peek(&self) -> Option<f64> {
        self.s.get(self.i).copied()
    }
    #[inline]
    fn take_eq(&mut self, x: f64) -> u64 {
        let start = self.i;
        while self.i < self.s.len() && self.s[self.i] == x {
            self.i += 1;
        }
        (self.i - start) as u64
    }
}

/// A position in a [`Summary`].
pub(crate) struct SummaryCursor<'a> {
    s: &'a Summary,
    i: usize,
}

impl Cursor for SummaryCursor<'_> {
    #[inline]
    fn peek(&self) -> Option<f64> {
        self.s.values.get(self.i).copied()
    }
    #[inline]
    fn take_eq(&mut self, x: f64) -> u64 {
        match self.s.values.get(self.i) {
            Some(v) if *v == x => {
                let below = if self.i == 0 {
                    0
                } else {
                    self.s.cum[self.i - 1]
                };
                self.i += 1;
                self.s.cum[self.i - 1] - below
            }
            _ => 0,
        }
    }
}

impl Sample for [f64] {
    type Cursor<'a> = SliceCursor<'a>;
    fn cursor(&self) -> SliceCursor<'_> {
        SliceCursor { s: self, i: 0 }
    }
    fn total(&self) -> u64 {
        self.len() as u64
    }
    fn min(&self) -> f64 {
        self[0]
    }
    fn max(&self) -> f64 {
        self[self.len() - 1]
    }
    fn count_lt(&self, x: f64) -> u64 {
        self.partition_point(|v| *v < x) as u64
    }
    fn count_le(&self, x: f64) -> u64 {
        self.partition_point(|v| *v <= x) as u64
    }
    fn order_stat(&self, k: u64) -> f64 {
        self[k as usize]
    }
    fn distinct_capped(&self, cap: usize) -> usize {
        // Long runs are common (integer or rounded data): skip them by binary search.
        let (mut i, mut n) = (0, 0);
        while n < cap && i < self.len() {
            let x = self[i];
            i += self[i..].partition_point(|v| *v <= x);
            n += 1;
        }
        n
    }
    fn population_std(&self) -> f64 {
        super::population_std(self)
    }
    fn as_slice(&self) -> Option<&[f64]> {
        Some(self)
    }
}

/// Distinct values with their counts, ascending: a reference column as a profile holds it.
///
/// `exact` summaries hold every distinct value; others are read off a quantile sketch, whose
/// values and counts approximate the column's (the count, extremes and moments stay exact).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Summary {
    values: Vec<f64>,
    /// `cum[i]`: number of values ≤ `values[i]`.
    cum: Vec<u64>,
    min: f64,
    max: f64,
    std: f64,
    exact: bool,
}

impl Summary {
    /// A summary of `(value, count)` runs in ascending order (equal neighbours are joined);
    /// `None` when there is no value.
    pub fn new(
        runs: impl IntoIterator<Item = (f64, u64)>,
        min: f64,
        max: f64,
        std: Option<f64>,
        exact: bool,
    ) -> Option<Self> {
        let (mut values, mut cum): (Vec<f64>, Vec<u64>) = (Vec::new(), Vec::new());
        let mut total = 0u64;
        for (v, k) in runs {
            if k == 0 {
                continue;
            }
            total += k;
            if values.last() == Some(&v) {
                *cum.last_mut()? = total;
            } else {
                values.push(v);
                cum.push(total);
            }
        }
        if values.is_empty() {
            return None;
        }
        let mut s = Summary {
            values,
            cum,
            min,
            max,
            std: 0.0,
            exact,
        };
        s.std = match std {
            Some(std) => std,
            None => s.run_std(),
        };
        Some(s)
    }

    /// Whether every distinct value is held with its exact count.
    pub fn is_exact(&self) -> bool {
        self.exact
    }

    /// Whether `x` is one of the values (exact summaries only; `false` otherwise).
    pub fn contains(&self, x: f64) -> bool {
        self.exact && self.values.binary_search_by(|v| v.total_cmp(&x)).is_ok()
    }

    /// The population std of the runs, summed in the order a sorted slice would be (so an
    /// exact summary gives the slice's value to the bit) up to 2²⁴ values; beyond, from
    /// weighted sums (the same to about 1e-15, without a step per value).
    fn run_std(&self) -> f64 {
        let n = self.total() as f64;
        if self.total() > 1 << 24 {
            let mean = self.runs().map(|(v, k)| v * k as f64).sum::<f64>() / n;
            let ss: f64 = self
                .runs()
                .map(|(v, k)| (v - mean) * (v - mean) * k as f64)
                .sum();
            return (ss / n).sqrt();
        }
        let mut sum = 0.0;
        for (v, k) in self.runs() {
            for _ in 0..k {
                sum += v;
            }
        }
        let mean = sum / n;
        let mut ss = 0.0;
        for (v, k) in self.runs() {
            let d = (v - mean) * (v - mean);
            for _ in 0..k {
                ss += d;
            }
        }
        (ss / n).sqrt()
    }
}

impl Sample for Summary {
    type Cursor<'a> = SummaryCursor<'a>;
    fn cursor(&self) -> SummaryCursor<'_> {
        SummaryCursor { s: self, i: 0 }
    }
    fn total(&self) -> u64 {
        self.cum[self.cum.len() - 1]
    }
    fn min(&self) -> f64 {
        self.min
    }
    fn max(&self) -> f64 {
        self.max
    }
    fn count_lt(&self, x: f64) -> u64 {
        match self.values.partition_point(|v| *v < x) {
            0 => 0,
            i => self.cum[i - 1],
        }
    }
    fn count_le(&self, x: f64) -> u64 {
        match self.values.partition_point(|v| *v <= x) {
            0 => 0,
            i => self.cum[i - 1],
        }
    }
    fn order_stat(&self, k: u64) -> f64 {
        let i = self.cum.partition_point(|c| *c <= k);
        self.values[i.min(self.values.len() - 1)]
    }
    fn distinct_capped(&self, cap: usize) -> usize {
        if self.exact {
            self.values.len().min(cap)
        } else {
            // A sketch is only kept for columns with more distinct values than any cap asks.
            cap
        }
    }
    fn population_std(&self) -> f64 {
        self.std
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_summary_reads_like_the_slice_it_summarises() {
        let s = [1.0, 1.0, 2.5, 3.0, 3.0, 3.0, 7.0];
        let runs: Vec<(f64, u64)> = s.runs().collect();
        assert_eq!(runs, vec![(1.0, 2), (2.5, 1), (3.0, 3), (7.0, 1)]);
        let m = Summary::new(runs, 1.0, 7.0, None, true).unwrap();
        assert_eq!(m.total(), 7);
        for x in [0.0, 1.0, 2.0, 2.5, 3.0, 5.0, 7.0, 8.0] {
            assert_eq!(m.count_lt(x), s.count_lt(x), "{x}");
            assert_eq!(m.count_le(x), s.count_le(x), "{x}");
        }
        for k in 0..7 {
            assert_eq!(m.order_stat(k), s.order_stat(k));
        }
        assert_eq!(m.population_std(), s.population_std());
        assert_eq!(m.distinct_capped(3), 3);
        assert!(m.contains(2.5) && !m.contains(2.0));
        assert!(Summary::new(Vec::new(), 0.0, 0.0, None, true).is_none());
    }
}
