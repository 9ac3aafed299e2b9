//! The sketch mode of a reference profile: a numerical column as its exact count, extremes and
//! moments, its distinct values while there are few, and an Apache DataSketches KLL quantile
//! sketch (mergeable, bounded size).

use crate::drift::stats::sample::{Sample, Summary};
use crate::drift::DriftError;
use base64::Engine as _;
use datasketches::common::SearchCriteria;
use datasketches::kll::{KllFloat, KllSketch};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Settings of a sketch-mode profile ([`ReferenceProfile::fit_sketch`](super::ReferenceProfile::fit_sketch)).
///
/// - `k` (default 1000): the KLL sketch's accuracy. Its normalised rank error is about
///   `2.3 / k^0.97` (0.28 % at 1000, 1.3 % at 200) with 99 % confidence, and it retains about
///   `3k` values whatever the number of rows.
/// - `max_exact_values` (default 1024): a numerical column with at most this many distinct
///   values is held exactly (values and counts), so its tests equal the exact mode's.
/// - `max_categories` (default 10 000): a categorical column keeps exact counts up to this many
///   categories; beyond, the profile keeps no counts and its drift test is skipped with that
///   reason.
///
/// ```
/// use recwatch::drift::SketchOptions;
/// let opts = SketchOptions::new().with_k(400)?.with_max_categories(500);
/// assert_eq!(opts.k(), 400);
/// # Ok::<(), recwatch::drift::DriftError>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SketchOptions {
    k: u16,
    max_exact_values: usize,
    max_categories: usize,
}

impl Default for SketchOptions {
    fn default() -> Self {
        SketchOptions {
            k: 1000,
            max_exact_values: 1024,
            max_categories: 10_000,
        }
    }
}

impl SketchOptions {
    /// The defaults (see the type's documentation).
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets the KLL sketch's `k`.
    ///
    /// # Errors
    ///
    /// [`DriftError::InvalidOption`] when `k` is below 8 (the sketch's smallest).
    pub fn with_k(mut self, k: u16) -> Result<Self, DriftError> {
        if k < 8 {
            return Err(DriftError::InvalidOption {
                name: "k",
                reason: format!("the KLL sketch needs k >= 8, got {k}"),
            });
        }
        self.k = k;
        Ok(self)
    }

    /// Sets how many distinct values a numerical column may have and still be held exactly.
    /// Values below 32 count as 32: the column typing asks whether a column has more than
    /// 20 distinct values, which a sketch alone cannot answer.
    #[must_use]
    pub fn with_max_exact_values(mut self, n: usize) -> Self {
        self.max_exact_values = n.max(32);
        self
    }

    /// Sets how many categories a categorical column may have and keep its counts.
    #[must_use]
    pub fn with_max_categories(mut self, n: usize) -> Self {
        self.max_categories = n;
        self
    }

    /// The KLL sketch's `k`.
    pub fn k(&self) -> u16 {
        self.k
    }

    /// Largest number of distinct values a numerical column is held exactly with.
    pub fn max_exact_values(&self) -> usize {
        self.max_exact_values
    }

    /// Largest number of categories a categorical column keeps counts for.
    pub fn max_categories(&self) -> usize {
        self.max_categories
    }

    /// The KLL sketch's normalised rank error for this `k` (99 % confidence, one-sided), the
    /// bound on how far a sketched reference CDF may be from the exact one.
    ///
    /// ```
    /// let e = recwatch::drift::SketchOptions::new().rank_error();
    /// assert!(e > 0.002 && e < 0.004);
    /// ```
    pub fn rank_error(&self) -> f64 {
        KllSketch::<KllFloat<f64>>::new(self.k)
            .map(|s| s.normalized_rank_error())
            .unwrap_or(1.0)
    }
}

type Kll = KllSketch<KllFloat<f64>>;

/// How many of the smallest and of the largest values a sketched column keeps exactly: the
/// extreme bins of a histogram (Sturges bins over the range, as Evidently's PSI and
/// Jensen–Shannon use) hold few values, where a sketch's absolute rank error would be a large
/// share of the bin.
pub(crate) const TAIL: usize = 1024;

/// One numerical column in sketch mode.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct NumericSketch {
    pub integer: bool,
    /// Finite values.
    pub n: u64,
    pub min: f64,
    pub max: f64,
    pub mean: f64,
    /// Σ (x − mean)².
    pub m2: f64,
    /// Distinct values (IEEE-754 bits) with counts, while there are at most
    /// `max_exact_values` of them or at most `2 × TAIL` values; `null` beyond.
    pub values: Option<Vec<(u64, u64)>>,
    /// The `TAIL` smallest and largest values (ascending, little-endian f64, base64) when
    /// `values` is `null`.
    #[serde(default, serialize_with = "floats_out", deserialize_with = "floats_in")]
    pub low: Vec<f64>,
    #[serde(default, serialize_with = "floats_out", deserialize_with = "floats_in")]
    pub high: Vec<f64>,
    /// The KLL sketch in DataSketches' compact binary form, base64.
    #[serde(serialize_with = "kll_out", deserialize_with = "kll_in")]
    pub kll: Kll,
}

fn b64() -> base64::engine::GeneralPurpose {
    base64::engine::general_purpose::STANDARD
}

fn kll_out<S: Serializer>(k: &Kll, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&b64().encode(k.serialize()))
}

fn kll_in<'de, D: Deserializer<'de>>(d: D) -> Result<Kll, D::Error> {
    let text = String::deserialize(d)?;
    let bytes = b64()
        .decode(text.as_bytes())
        .map_err(serde::de::Error::custom)?;
    Kll::deserialize(&bytes).map_err(|e| serde::de::Error::custom(format!("KLL sketch: {e}")))
}

fn floats_out<S: Serializer>(v: &[f64], s: S) -> Result<S::Ok, S::Error> {
    let bytes: Vec<u8> = v.iter().flat_map(|x| x.to_le_bytes()).collect();
    s.serialize_str(&b64().encode(bytes))
}

fn floats_in<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<f64>, D::Error> {
    let text = String::deserialize(d)?;
    let bytes = b64()
        .decode(text.as_bytes())
        .map_err(serde::de::Error::custom)?;
    if bytes.len() % 8 != 0 {
        return Err(serde::de::Error::custom(
            "tail values: not a whole number of f64",
        ));
    }
    let v: Vec<f64> = bytes
        .chunks_exact(8)
        .map(|c| f64::from_le_bytes(c.try_into().unwrap_or([0; 8])))
        .collect();
    if v.iter().any(|x| !x.is_finite()) || v.windows(2).any(|w| w[0] > w[1]) {
        return Err(serde::de::Error::custom(
            "tail values: not finite and ascending",
        ));
    }
    Ok(v)
}

impl NumericSketch {
    /// Sketches finite values in ascending order.
    pub fn fit(sorted: &[f64], integer: bool, opts: &SketchOptions) -> Self {
        let mut kll = Kll::new(opts.k).unwrap_or_default();
        for v in sorted {
            if let Ok(x) = KllFloat::<f64>::new(*v) {
                kll.update(x);
            }
        }
        let n = sorted.len() as u64;
        // Two passes, as the exact mode's std is computed.
        let mean = if n == 0 {
            0.0
        } else {
            sorted.iter().sum::<f64>() / n as f64
        };
        let m2 = sorted.iter().map(|v| (v - mean) * (v - mean)).sum();
        let exact = sorted.len() <= 2 * TAIL
            || sorted.distinct_capped(opts.max_exact_values + 1) <= opts.max_exact_values;
        let (values, low, high) = if exact {
            let runs = sorted.runs().map(|(v, k)| (v.to_bits(), k)).collect();
            (Some(runs), Vec::new(), Vec::new())
        } else {
            let t = TAIL.min(sorted.len());
            let (low, high) = (sorted[..t].to_vec(), sorted[sorted.len() - t..].to_vec());
            (None, low, high)
        };
        NumericSketch {
            integer,
            n,
            min: sorted.first().copied().unwrap_or(0.0),
            max: sorted.last().copied().unwrap_or(0.0),
            mean,
            m2,
            values,
            low,
            high,
            kll,
        }
    }

    /// The smallest and largest `TAIL` values (from the exact values when held).
    fn tails(&self) -> (Vec<f64>, Vec<f64>) {
        match &self.values {
            None => (self.low.clone(), self.high.clone()),
            Some(v) => {
                let mut low = Vec::new();
                for (b, k) in v {
                    let take = (*k as usize).min(TAIL - low.len());
                    low.extend(std::iter::repeat_n(f64::from_bits(*b), take));
                    if low.len() == TAIL {
                        break;
                    }
                }
                let mut high = Vec::new();
                for (b, k) in v.iter().rev() {
                    let take = (*k as usize).min(TAIL - high.len());
                    high.extend(std::iter::repeat_n(f64::from_bits(*b), take));
                    if high.len() == TAIL {
                        break;
                    }
                }
                high.reverse();
                (low, high)
            }
        }
    }

    /// The column of two shards: counts and moments exactly (Chan et al.'s pairwise update),
    /// the distinct values while they stay few, the exact tails of the union, the KLL
    /// sketches merged.
    pub fn merge(&self, other: &Self, opts_max_exact: usize) -> Result<Self, String> {
        if self.n == 0 {
            return Ok(Self {
                integer: self.integer && other.integer,
                ..other.clone()
            });
        }
        if other.n == 0 {
            return Ok(Self {
                integer: self.integer && other.integer,
                ..self.clone()
            });
        }
        let mut kll = self.kll.clone();
        kll.merge(&other.kll).map_err(|e| e.to_string())?;
        let n = self.n + other.n;
        let (na, nb) = (self.n as f64, other.n as f64);
        let delta = other.mean - self.mean;
        let mean = self.mean + delta * nb / n as f64;
        let m2 = self.m2 + other.m2 + delta * delta * na * nb / n as f64;
        let values = match (&self.values, &other.values) {
            (Some(a), Some(b)) => {
                let all = merge_counts(a, b);
                (all.len() <= opts_max_exact || n as usize <= 2 * TAIL).then_some(all)
            }
            _ => None,
        };
        let (low, high) = if values.is_some() {
            (Vec::new(), Vec::new())
        } else {
            let ((la, ha), (lb, hb)) = (self.tails(), other.tails());
            let mut low = [la, lb].concat();
            low.sort_by(f64::total_cmp);
            low.truncate(TAIL);
            let mut high = [ha, hb].concat();
            high.sort_by(f64::total_cmp);
            let cut = high.len().saturating_sub(TAIL);
            (low, high.split_off(cut))
        };
        Ok(NumericSketch {
            integer: self.integer && other.integer,
            n,
            min: self.min.min(other.min),
            max: self.max.max(other.max),
            mean,
            m2,
            values,
            low,
            high,
            kll,
        })
    }

    /// The column as the drift kernels read it: exact when the distinct values are held,
    /// else the exact tails around the KLL sketch's retained values in between (weighted to
    /// the count the tails leave), with the exact count, extremes and std. `None` when the
    /// column has no finite value.
    pub fn summary(&self) -> Option<Summary> {
        if self.n == 0 {
            return None;
        }
        if let Some(values) = &self.values {
            let runs = values.iter().map(|(b, k)| (f64::from_bits(*b), *k));
            return Summary::new(runs, self.min, self.max, None, true);
        }
        let std = (self.m2 / self.n as f64).max(0.0).sqrt();
        let kll = kll_runs(&self.kll);
        let runs = match (self.low.last(), self.high.first()) {
            (Some(&lo), Some(&hi))
                if lo < hi && (self.low.len() + self.high.len()) as u64 <= self.n =>
            {
                let middle_n = self.n - (self.low.len() + self.high.len()) as u64;
                // A value at a tail's edge may have more copies than the tail holds (ties).
                // The sketch then retains it with a weight of its own: the part of that
                // weight the tail does not account for stays at the value rather than
                // spreading over the middle.
                let weight = |f: &dyn Fn(f64) -> bool| -> u64 {
                    kll.iter().filter(|(v, _)| f(*v)).map(|r| r.1).sum()
                };
                let edge = |at: f64, beyond: u64, tail: usize| {
                    weight(&|v| v == at).min(beyond.saturating_sub(tail as u64))
                };
                let extra_lo = edge(lo, weight(&|v| v <= lo), self.low.len());
                let extra_hi = edge(hi, weight(&|v| v >= hi), self.high.len());
                let mut middle = vec![(lo, extra_lo)];
                middle.extend(kll.iter().copied().filter(|(v, _)| *v > lo && *v < hi));
                middle.push((hi, extra_hi));
                let mut runs: Vec<(f64, u64)> = self.low.iter().map(|v| (*v, 1)).collect();
                runs.extend(rescale(&middle, middle_n, lo));
                runs.extend(self.high.iter().map(|v| (*v, 1)));
                runs
            }
            _ => kll,
        };
        Summary::new(runs, self.min, self.max, Some(std), false)
    }
}

/// Weights of `runs` scaled to add up to `total` (cumulative weights rounded, so the sum is
/// exact); with no run, the whole weight sits at `fallback`.
fn rescale(runs: &[(f64, u64)], total: u64, fallback: f64) -> Vec<(f64, u64)> {
    let w: u64 = runs.iter().map(|r| r.1).sum();
    if w == 0 {
        return if total == 0 {
            Vec::new()
        } else {
            vec![(fallback, total)]
        };
    }
    let scale = total as f64 / w as f64;
    let (mut cum, mut prev) = (0u64, 0u64);
    runs.iter()
        .map(|(v, k)| {
            cum += k;
            let c = ((cum as f64 * scale).round() as u64).min(total);
            let out = (*v, c - prev);
            prev = c;
            out
        })
        .collect()
}

/// Two ascending lists of (IEEE-754 bits, count) joined into one, equal values added.
pub(super) fn merge_counts(a: &[(u64, u64)], b: &[(u64, u64)]) -> Vec<(u64, u64)> {
    let key = f64::from_bits;
    let mut all: Vec<(u64, u64)> = Vec::with_capacity(a.len() + b.len());
    let (mut i, mut j) = (0, 0);
    while i < a.len() || j < b.len() {
        let take_a = j >= b.len() || (i < a.len() && key(a[i].0).total_cmp(&key(b[j].0)).is_le());
        let (v, k) = if take_a {
            i += 1;
            a[i - 1]
        } else {
            j += 1;
            b[j - 1]
        };
        match all.last_mut() {
            Some((last, c)) if key(*last) == key(v) => *c += k,
            _ => all.push((v, k)),
        }
    }
    all
}

/// The distinct retained values of a KLL sketch with their total weights, ascending, read
/// through its sorted view: each step asks for the first value whose cumulative weight passes
/// the weight so far, then for that value's cumulative weight.
fn kll_runs(kll: &Kll) -> Vec<(f64, u64)> {
    let view = kll.sorted_view();
    let total = view.total_weight();
    let mut out = Vec::with_capacity(view.len());
    let mut done = 0u64;
    while done < total {
        let rank = (done as f64 + 0.5) / total as f64;
        let Ok(Some(item)) = view.quantile(rank, SearchCriteria::Exclusive) else {
            break;
        };
        let Some(r) = view.rank(&item, SearchCriteria::Inclusive) else {
            break;
        };
        let cum = (r * total as f64).round() as u64;
        if cum <= done {
            break;
        }
        out.push((*item, cum - done));
        done = cum;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kll_runs_hold_every_retained_weight() {
        let v: Vec<f64> = (0..100_000)
            .map(|i| ((i * 7919) % 100_000) as f64)
            .collect();
        let mut sorted = v.clone();
        sorted.sort_by(f64::total_cmp);
        let s = NumericSketch::fit(&sorted, false, &SketchOptions::new().with_k(200).unwrap());
        assert!(s.values.is_none());
        let runs = kll_runs(&s.kll);
        assert_eq!(runs.iter().map(|r| r.1).sum::<u64>(), 100_000);
        assert!(runs.len() < 2_000, "{}", runs.len());
        assert!(runs.windows(2).all(|w| w[0].0 < w[1].0));
        let m = s.summary().unwrap();
        assert_eq!((m.total(), m.min(), m.max()), (100_000, 0.0, 99_999.0));
        let exact_std = sorted.as_slice().population_std();
        assert!((m.population_std() - exact_std).abs() < 1e-9 * exact_std);
    }

    #[test]
    fn merged_moments_equal_the_whole() {
        let a: Vec<f64> = (0..1000).map(|i| i as f64 * 0.5).collect();
        let b: Vec<f64> = (0..3000).map(|i| 100.0 + i as f64).collect();
        let o = SketchOptions::new();
        let m = NumericSketch::fit(&a, false, &o)
            .merge(&NumericSketch::fit(&b, false, &o), o.max_exact_values())
            .unwrap();
        let mut all = [a, b].concat();
        all.sort_by(f64::total_cmp);
        let whole = NumericSketch::fit(&all, false, &o);
        assert_eq!(m.n, whole.n);
        assert!((m.mean - whole.mean).abs() < 1e-9 * whole.mean);
        assert!((m.m2 - whole.m2).abs() < 1e-9 * whole.m2);
        // 4000 distinct values: more than the exact limit once merged
        assert!(m.values.is_none());
        assert_eq!((m.min, m.max), (0.0, 3099.0));
    }
}
