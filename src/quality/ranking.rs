//! Ranking metrics at a cut-off `k`: precision, recall, NDCG, average precision (MAP), reciprocal
//! rank (MRR) and hit rate.
//!
//! Conventions, for one user with recommended list `r` (best first) and relevant set `R`:
//!
//! - Only the first `k` recommended items count. An item recommended twice counts once (its
//!   first position); the repeat is treated as not relevant.
//! - `precision@k = |top-k ∩ R| / k` — the denominator is `k` even when fewer than `k` items were
//!   recommended (a short list is penalised).
//! - `recall@k = |top-k ∩ R| / |R|`.
//! - `DCG@k = Σᵢ gain(relᵢ) / log₂(i + 1)` over positions `i = 1..=k`; the ideal DCG sorts the
//!   user's relevance grades in decreasing order and sums over the first `min(|R|, k)` of them;
//!   `NDCG@k = DCG@k / IDCG@k`. The gain is binary (`1` for a relevant item) by default, or
//!   `2^rel − 1` with [`Gain::Exponential`].
//! - `AP@k = Σᵢ precision@i · relᵢ / min(|R|, k)` (relᵢ is 1 when the item at `i` is relevant);
//!   `MAP@k` is its mean over users.
//! - `RR@k = 1 / rank` of the first relevant item in the top `k`, `0` if there is none; `MRR@k` is
//!   its mean.
//! - `hit@k = 1` when the top `k` has at least one relevant item; hit rate is its mean.
//!
//! Means over users ([`RankingMetrics`]) skip users with no relevant item (their recall and NDCG
//! are undefined) and report how many were skipped.

use std::collections::{HashMap, HashSet};
use std::hash::Hash;

use super::QualityError;

/// The gain of a relevant item in DCG.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize)]
#[non_exhaustive]
pub enum Gain {
    /// `1` for every item with relevance > 0 (scikit-learn's `ndcg_score` on 0/1 labels).
    #[default]
    Binary,
    /// `2^rel − 1`, for graded relevance (ratings).
    Exponential,
    /// `rel` itself (scikit-learn's `ndcg_score` on graded labels).
    Linear,
}

impl Gain {
    fn of(self, rel: f64) -> f64 {
        match self {
            Gain::Binary => {
                if rel > 0.0 {
                    1.0
                } else {
                    0.0
                }
            }
            Gain::Exponential => rel.exp2() - 1.0,
            Gain::Linear => rel,
        }
    }
}

/// Per-position relevance of the deduplicated top-k list, and the graded relevance map.
struct Judged {
    /// Relevance grade at each of the first k positions (0 for not relevant / repeats).
    grades: Vec<f64>,
    /// Relevance grades of all relevant items (> 0).
    relevant: Vec<f64>,
}

fn judge<T: Eq + Hash>(
    recommended: &[T],
    relevance: impl IntoIterator<Item = (T, f64)>,
    k: usize,
) -> Result<Judged, QualityError> {
    if k == 0 {
        return Err(QualityError::ZeroK);
    }
    let mut grades_of: HashMap<T, f64> = HashMap::new();
    for (index, (item, rel)) in relevance.into_iter().enumerate() {
        if !rel.is_finite() {
            return Err(QualityError::NonFinite {
                what: "relevance",
                index,
                value: rel,
            });
        }
        if rel > 0.0 {
            let g = grades_of.entry(item).or_insert(rel);
            *g = g.max(rel);
        }
    }
    let mut seen = HashSet::new();
    let grades = recommended
        .iter()
        .take(k)
        .map(|item| {
            if seen.insert(item) {
                grades_of.get(item).copied().unwrap_or(0.0)
            } else {
                0.0
            }
        })
        .collect();
    Ok(Judged {
        grades,
        relevant: grades_of.into_values().collect(),
    })
}

fn binary<'a, T: Eq + Hash + Clone + 'a>(relevant: &'a [T]) -> impl Iterator<Item = (T, f64)> + 'a {
    relevant.iter().map(|t| (t.clone(), 1.0))
}

fn need_relevant(j: &Judged) -> Result<(), QualityError> {
    if j.relevant.is_empty() {
        Err(QualityError::Empty {
            what: "relevant items",
        })
    } else {
        Ok(())
    }
}

impl Judged {
    fn hits(&self) -> usize {
        self.grades.iter().filter(|g| **g > 0.0).count()
    }
    fn precision(&self, k: usize) -> f64 {
        self.hits() as f64 / k as f64
    }
    fn recall(&self) -> f64 {
        self.hits() as f64 / self.relevant.len() as f64
    }
    fn ndcg(&self, k: usize, gain: Gain) -> f64 {
        let discount = |i: usize| 1.0 / ((i + 2) as f64).log2();
        let dcg: f64 = self
            .grades
            .iter()
            .enumerate()
            .map(|(i, g)| gain.of(*g) * discount(i))
            .sum();
        let mut ideal = self.relevant.clone();
        ideal.sort_by(|a, b| b.total_cmp(a));
        let idcg: f64 = ideal
            .iter()
            .take(k)
            .enumerate()
            .map(|(i, g)| gain.of(*g) * discount(i))
            .sum();
        if idcg > 0.0 {
            dcg / idcg
        } else {
            0.0
        }
    }
    fn average_precision(&self, k: usize) -> f64 {
        let mut hits = 0usize;
        let mut sum = 0.0;
        for (i, g) in self.grades.iter().enumerate() {
            if *g > 0.0 {
                hits += 1;
                sum += hits as f64 / (i + 1) as f64;
            }
        }
        sum / self.relevant.len().min(k) as f64
    }
    fn reciprocal_rank(&self) -> f64 {
        self.grades
            .iter()
            .position(|g| *g > 0.0)
            .map_or(0.0, |i| 1.0 / (i + 1) as f64)
    }
    fn hit(&self) -> f64 {
        if self.hits() > 0 {
            1.0
        } else {
            0.0
        }
    }
}

/// Precision@k: relevant items in the top `k`, divided by `k`.
///
/// # Errors
///
/// [`QualityError::ZeroK`].
///
/// # Examples
///
/// ```
/// let p = recwatch::quality::precision_at_k(&[1, 2, 3, 4], &[2, 4, 9], 4).unwrap();
/// assert_eq!(p, 0.5);
/// ```
pub fn precision_at_k<T: Eq + Hash + Clone>(
    recommended: &[T],
    relevant: &[T],
    k: usize,
) -> Result<f64, QualityError> {
    Ok(judge(recommended, binary(relevant), k)?.precision(k))
}

/// Recall@k: relevant items in the top `k`, divided by the number of relevant items.
///
/// # Errors
///
/// [`QualityError::ZeroK`], or [`QualityError::Empty`] when `relevant` is empty.
///
/// # Examples
///
/// ```
/// let r = recwatch::quality::recall_at_k(&[1, 2, 3, 4], &[2, 4, 9, 10], 4).unwrap();
/// assert_eq!(r, 0.5);
/// ```
pub fn recall_at_k<T: Eq + Hash + Clone>(
    recommended: &[T],
    relevant: &[T],
    k: usize,
) -> Result<f64, QualityError> {
    let j = judge(recommended, binary(relevant), k)?;
    need_relevant(&j)?;
    Ok(j.recall())
}

/// NDCG@k with graded relevance `(item, grade)` (grades ≤ 0 are not relevant) and the given
/// [`Gain`]; the ideal DCG is over the best `min(|relevant|, k)` grades.
///
/// # Errors
///
/// [`QualityError::ZeroK`], [`QualityError::NonFinite`] for a NaN/infinite grade, or
/// [`QualityError::Empty`] when no item has a grade above 0.
///
/// # Examples
///
/// ```
/// use recwatch::quality::{ndcg_at_k, Gain};
/// // The only relevant item is at position 2: 1/log2(3).
/// let n = ndcg_at_k(&[7, 8, 9], &[(8, 1.0)], 3, Gain::Binary).unwrap();
/// assert!((n - 1.0 / 3f64.log2()).abs() < 1e-12);
/// ```
pub fn ndcg_at_k<T: Eq + Hash + Clone>(
    recommended: &[T],
    relevance: &[(T, f64)],
    k: usize,
    gain: Gain,
) -> Result<f64, QualityError> {
    let j = judge(recommended, relevance.iter().cloned(), k)?;
    need_relevant(&j)?;
    Ok(j.ndcg(k, gain))
}

/// Average precision@k: `Σᵢ precision@i · relᵢ / min(|relevant|, k)`.
///
/// # Errors
///
/// [`QualityError::ZeroK`], or [`QualityError::Empty`] when `relevant` is empty.
///
/// # Examples
///
/// ```
/// // Relevant at positions 1 and 3: (1/1 + 2/3) / 2.
/// let ap = recwatch::quality::average_precision_at_k(&[1, 2, 3], &[1, 3], 3).unwrap();
/// assert!((ap - 5.0 / 6.0).abs() < 1e-12);
/// ```
pub fn average_precision_at_k<T: Eq + Hash + Clone>(
    recommended: &[T],
    relevant: &[T],
    k: usize,
) -> Result<f64, QualityError> {
    let j = judge(recommended, binary(relevant), k)?;
    need_relevant(&j)?;
    Ok(j.average_precision(k))
}

/// Reciprocal rank@k: `1 / rank` of the first relevant item in the top `k`, or `0`.
///
/// # Errors
///
/// [`QualityError::ZeroK`].
///
/// # Examples
///
/// ```
/// assert_eq!(recwatch::quality::reciprocal_rank_at_k(&[5, 6, 7], &[7], 3).unwrap(), 1.0 / 3.0);
/// ```
pub fn reciprocal_rank_at_k<T: Eq + Hash + Clone>(
    recommended: &[T],
    relevant: &[T],
    k: usize,
) -> Result<f64, QualityError> {
    Ok(judge(recommended, binary(relevant), k)?.reciprocal_rank())
}

/// Hit@k: `1` when at least one relevant item is in the top `k`, else `0`.
///
/// # Errors
///
/// [`QualityError::ZeroK`].
///
/// # Examples
///
/// ```
/// assert_eq!(recwatch::quality::hit_at_k(&[5, 6, 7], &[7], 2).unwrap(), 0.0);
/// ```
pub fn hit_at_k<T: Eq + Hash + Clone>(
    recommended: &[T],
    relevant: &[T],
    k: usize,
) -> Result<f64, QualityError> {
    Ok(judge(recommended, binary(relevant), k)?.hit())
}

/// Ranking metrics averaged over users (users with no relevant item are skipped).
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
#[non_exhaustive]
pub struct RankingMetrics {
    /// The cut-off.
    pub k: usize,
    /// The gain used for NDCG.
    pub gain: Gain,
    /// Users the means are over.
    pub users: usize,
    /// Users skipped because they had no relevant item.
    pub skipped_users: usize,
    /// Mean precision@k.
    pub precision: f64,
    /// Mean recall@k.
    pub recall: f64,
    /// Mean NDCG@k.
    pub ndcg: f64,
    /// MAP@k (mean average precision).
    pub map: f64,
    /// MRR@k (mean reciprocal rank).
    pub mrr: f64,
    /// Hit rate@k (share of users with a relevant item in their top k).
    pub hit_rate: f64,
}

impl RankingMetrics {
    /// Means over users of binary relevance: each item is `(recommended, relevant)`.
    ///
    /// # Errors
    ///
    /// [`QualityError::ZeroK`], or [`QualityError::Empty`] when no user has a relevant item.
    ///
    /// # Examples
    ///
    /// ```
    /// use recwatch::quality::RankingMetrics;
    /// let users: Vec<(Vec<u32>, Vec<u32>)> = vec![(vec![1, 2], vec![2]), (vec![3, 4], vec![3])];
    /// let m = RankingMetrics::compute(users.iter().map(|(r, t)| (&r[..], &t[..])), 2).unwrap();
    /// assert_eq!(m.hit_rate, 1.0);
    /// assert_eq!(m.mrr, 0.75);
    /// ```
    pub fn compute<'a, T: Eq + Hash + Clone + 'a>(
        users: impl IntoIterator<Item = (&'a [T], &'a [T])>,
        k: usize,
    ) -> Result<Self, QualityError> {
        Self::fold(
            users
                .into_iter()
                .map(|(rec, rel)| judge(rec, binary(rel), k)),
            k,
            Gain::Binary,
        )
    }

    /// Means over users of graded relevance: each item is `(recommended, [(item, grade)])`;
    /// items with grade > 0 are relevant; NDCG uses `gain`.
    ///
    /// # Errors
    ///
    /// As [`compute`](Self::compute), plus [`QualityError::NonFinite`] for a NaN grade.
    pub fn compute_graded<'a, T: Eq + Hash + Clone + 'a>(
        users: impl IntoIterator<Item = (&'a [T], &'a [(T, f64)])>,
        k: usize,
        gain: Gain,
    ) -> Result<Self, QualityError> {
        Self::fold(
            users
                .into_iter()
                .map(|(rec, rel)| judge(rec, rel.iter().cloned(), k)),
            k,
            gain,
        )
    }

    fn fold(
        judged: impl Iterator<Item = Result<Judged, QualityError>>,
        k: usize,
        gain: Gain,
    ) -> Result<Self, QualityError> {
        if k == 0 {
            return Err(QualityError::ZeroK);
        }
        let mut m = RankingMetrics {
            k,
            gain,
            users: 0,
            skipped_users: 0,
            precision: 0.0,
            recall: 0.0,
            ndcg: 0.0,
            map: 0.0,
            mrr: 0.0,
            hit_rate: 0.0,
        };
        for j in judged {
            let j = j?;
            if j.relevant.is_empty() {
                m.skipped_users += 1;
                continue;
            }
            m.users += 1;
            m.precision += j.precision(k);
            m.recall += j.recall();
            m.ndcg += j.ndcg(k, gain);
            m.map += j.average_precision(k);
            m.mrr += j.reciprocal_rank();
            m.hit_rate += j.hit();
        }
        if m.users == 0 {
            return Err(QualityError::Empty {
                what: "users with a relevant item",
            });
        }
        let n = m.users as f64;
        for v in [
            &mut m.precision,
            &mut m.recall,
            &mut m.ndcg,
            &mut m.map,
            &mut m.mrr,
            &mut m.hit_rate,
        ] {
            *v /= n;
        }
        Ok(m)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repeats_count_once_and_short_lists_are_penalised() {
        assert_eq!(precision_at_k(&[1, 1, 1], &[1], 3).unwrap(), 1.0 / 3.0);
        assert_eq!(precision_at_k(&[1], &[1], 4).unwrap(), 0.25);
        assert!(matches!(
            precision_at_k(&[1], &[1], 0),
            Err(QualityError::ZeroK)
        ));
        assert!(matches!(
            recall_at_k(&[1], &[], 1),
            Err(QualityError::Empty { .. })
        ));
    }

    #[test]
    fn ideal_dcg_is_over_min_relevant_k() {
        // 3 relevant items, k = 2, both recommended relevant: NDCG is 1 (IDCG over 2 items).
        assert_eq!(
            ndcg_at_k(&[1, 2], &[(1, 1.0), (2, 1.0), (3, 1.0)], 2, Gain::Binary).unwrap(),
            1.0
        );
        assert!(matches!(
            ndcg_at_k(&[1], &[(1, f64::NAN)], 1, Gain::Binary),
            Err(QualityError::NonFinite { .. })
        ));
    }

    #[test]
    fn users_without_relevant_items_are_skipped() {
        let users: Vec<(Vec<u8>, Vec<u8>)> = vec![(vec![1], vec![1]), (vec![2], vec![])];
        let m = RankingMetrics::compute(users.iter().map(|(a, b)| (&a[..], &b[..])), 1).unwrap();
        assert_eq!((m.users, m.skipped_users, m.hit_rate), (1, 1, 1.0));
    }
}
