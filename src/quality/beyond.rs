//! Beyond-accuracy metrics over the recommendation lists of many users: catalogue coverage,
//! diversity, intra-list diversity by genre, genre distribution, novelty, personalization and
//! the Gini coefficient of item exposure.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::hash::Hash;

use super::QualityError;

fn non_empty<L>(lists: &[L]) -> Result<(), QualityError> {
    if lists.is_empty() {
        Err(QualityError::Empty {
            what: "recommendation lists",
        })
    } else {
        Ok(())
    }
}

fn distinct<T: Eq + Hash, L: AsRef<[T]>>(lists: &[L]) -> HashSet<&T> {
    lists.iter().flat_map(|l| l.as_ref().iter()).collect()
}

/// Catalogue coverage: distinct recommended items / catalogue size, in [0, 1].
///
/// (recmetrics' `prediction_coverage` as a ratio rather than a percentage.)
///
/// # Errors
///
/// [`QualityError::Empty`] for no lists or a zero catalogue, [`QualityError::CatalogueTooSmall`]
/// when more distinct items were recommended than the catalogue holds.
///
/// # Examples
///
/// ```
/// let lists = [vec![1, 2], vec![2, 3]];
/// assert_eq!(recwatch::quality::catalogue_coverage(&lists, 10).unwrap(), 0.3);
/// ```
pub fn catalogue_coverage<T: Eq + Hash, L: AsRef<[T]>>(
    lists: &[L],
    catalogue_size: usize,
) -> Result<f64, QualityError> {
    non_empty(lists)?;
    if catalogue_size == 0 {
        return Err(QualityError::Empty { what: "catalogue" });
    }
    let n = distinct(lists).len();
    if n > catalogue_size {
        return Err(QualityError::CatalogueTooSmall {
            catalogue: catalogue_size,
            recommended: n,
        });
    }
    Ok(n as f64 / catalogue_size as f64)
}

/// Diversity as the original design defined it: distinct recommended items / all recommended
/// items (over every list), in (0, 1].
///
/// # Errors
///
/// [`QualityError::Empty`] when there are no recommended items.
///
/// # Examples
///
/// ```
/// let lists = [vec![1, 2], vec![2, 3]];
/// assert_eq!(recwatch::quality::diversity(&lists).unwrap(), 0.75);
/// ```
pub fn diversity<T: Eq + Hash, L: AsRef<[T]>>(lists: &[L]) -> Result<f64, QualityError> {
    let total: usize = lists.iter().map(|l| l.as_ref().len()).sum();
    if total == 0 {
        return Err(QualityError::Empty {
            what: "recommended items",
        });
    }
    Ok(distinct(lists).len() as f64 / total as f64)
}

fn jaccard_distance<G: Ord>(a: &BTreeSet<G>, b: &BTreeSet<G>) -> f64 {
    let union = a.union(b).count();
    if union == 0 {
        return 0.0;
    }
    1.0 - a.intersection(b).count() as f64 / union as f64
}

/// Intra-list diversity by genre: for each list, the mean Jaccard distance
/// `1 − |Gᵢ ∩ Gⱼ| / |Gᵢ ∪ Gⱼ|` between the genre sets of every pair of its items (two items
/// without genres are at distance 0); the result is the mean over lists with at least two items.
///
/// Items are taken as listed (a repeated item is a pair at distance 0).
///
/// # Errors
///
/// [`QualityError::Empty`] when no list has two items.
///
/// # Examples
///
/// ```
/// let genres = |m: &u32| match m { 1 => vec!["drama"], 2 => vec!["drama", "crime"], _ => vec!["comedy"] };
/// let ild = recwatch::quality::intra_list_diversity(&[vec![1, 2, 3]], genres).unwrap();
/// // pairs: (1,2) 0.5, (1,3) 1, (2,3) 1
/// assert!((ild - 2.5 / 3.0).abs() < 1e-12);
/// ```
pub fn intra_list_diversity<T, L, G, S>(
    lists: &[L],
    genres_of: impl Fn(&T) -> S,
) -> Result<f64, QualityError>
where
    L: AsRef<[T]>,
    S: IntoIterator<Item = G>,
    G: Ord,
{
    let mut sum = 0.0;
    let mut counted = 0usize;
    for list in lists {
        let sets: Vec<BTreeSet<G>> = list
            .as_ref()
            .iter()
            .map(|t| genres_of(t).into_iter().collect())
            .collect();
        if sets.len() < 2 {
            continue;
        }
        let mut pairs = 0usize;
        let mut dist = 0.0;
        for i in 0..sets.len() {
            for j in i + 1..sets.len() {
                dist += jaccard_distance(&sets[i], &sets[j]);
                pairs += 1;
            }
        }
        sum += dist / pairs as f64;
        counted += 1;
    }
    if counted == 0 {
        return Err(QualityError::Empty {
            what: "lists with two or more items",
        });
    }
    Ok(sum / counted as f64)
}

/// Genre distribution of what was recommended: each recommended item counts once for each of its
/// genres; the shares of all genre occurrences (they sum to 1).
///
/// # Errors
///
/// [`QualityError::Empty`] when the recommended items have no genre at all.
///
/// # Examples
///
/// ```
/// let genres = |m: &u32| if *m == 1 { vec!["drama", "crime"] } else { vec!["drama"] };
/// let d = recwatch::quality::genre_distribution(&[vec![1, 2]], genres).unwrap();
/// assert!((d["drama"] - 2.0 / 3.0).abs() < 1e-12);
/// ```
pub fn genre_distribution<T, L, G, S>(
    lists: &[L],
    genres_of: impl Fn(&T) -> S,
) -> Result<BTreeMap<G, f64>, QualityError>
where
    L: AsRef<[T]>,
    S: IntoIterator<Item = G>,
    G: Ord,
{
    let mut counts: BTreeMap<G, u64> = BTreeMap::new();
    let mut total = 0u64;
    for t in lists.iter().flat_map(|l| l.as_ref().iter()) {
        for g in genres_of(t) {
            *counts.entry(g).or_default() += 1;
            total += 1;
        }
    }
    if total == 0 {
        return Err(QualityError::Empty {
            what: "genres of recommended items",
        });
    }
    Ok(counts
        .into_iter()
        .map(|(g, c)| (g, c as f64 / total as f64))
        .collect())
}

/// Novelty: the mean over lists of the mean self-information `−log₂(popᵢ / users)` of the list's
/// items, where `popᵢ` is the number of users who interacted with item `i` (recmetrics'
/// `novelty`, with each list's own length as `n`). Higher means less popular items.
///
/// Empty lists are skipped.
///
/// # Errors
///
/// [`QualityError::Empty`] for no non-empty list or zero users,
/// [`QualityError::ZeroPopularity`] for an item nobody interacted with (its self-information is
/// infinite), [`QualityError::PopularityAboveUsers`].
///
/// # Examples
///
/// ```
/// let pop = |m: &u32| if *m == 1 { 50 } else { 25 };
/// let n = recwatch::quality::novelty(&[vec![1, 2]], pop, 100).unwrap();
/// assert_eq!(n, 1.5); // (1 + 2) / 2
/// ```
pub fn novelty<T, L: AsRef<[T]>>(
    lists: &[L],
    popularity: impl Fn(&T) -> u64,
    users: u64,
) -> Result<f64, QualityError> {
    if users == 0 {
        return Err(QualityError::Empty { what: "users" });
    }
    let mut sum = 0.0;
    let mut counted = 0usize;
    for (li, list) in lists.iter().enumerate() {
        let list = list.as_ref();
        if list.is_empty() {
            continue;
        }
        let mut info = 0.0;
        for (position, t) in list.iter().enumerate() {
            let count = popularity(t);
            if count == 0 {
                return Err(QualityError::ZeroPopularity { list: li, position });
            }
            if count > users {
                return Err(QualityError::PopularityAboveUsers { count, users });
            }
            info -= (count as f64 / users as f64).log2();
        }
        sum += info / list.len() as f64;
        counted += 1;
    }
    if counted == 0 {
        return Err(QualityError::Empty {
            what: "recommendation lists",
        });
    }
    Ok(sum / counted as f64)
}

/// Personalization: `1 −` the mean cosine similarity between the item sets of every pair of
/// lists (recmetrics' `personalization`). `1` means no two users share an item, `0` means every
/// user got the same items. Cost is O(lists² · k); sample users for large evaluations.
///
/// Cosine similarity of sets `A`, `B` is `|A ∩ B| / sqrt(|A| · |B|)`, and 0 when either is empty.
///
/// # Errors
///
/// [`QualityError::Empty`] with fewer than two lists.
///
/// # Examples
///
/// ```
/// let p = recwatch::quality::personalization(&[vec![1, 2], vec![1, 3]]).unwrap();
/// assert_eq!(p, 0.5);
/// ```
pub fn personalization<T: Eq + Hash, L: AsRef<[T]>>(lists: &[L]) -> Result<f64, QualityError> {
    if lists.len() < 2 {
        return Err(QualityError::Empty {
            what: "pairs of recommendation lists",
        });
    }
    let sets: Vec<HashSet<&T>> = lists.iter().map(|l| l.as_ref().iter().collect()).collect();
    let mut sum = 0.0;
    let mut pairs = 0u64;
    for i in 0..sets.len() {
        for j in i + 1..sets.len() {
            let (a, b) = (&sets[i], &sets[j]);
            if !a.is_empty() && !b.is_empty() {
                let (small, large) = if a.len() <= b.len() { (a, b) } else { (b, a) };
                let common = small.iter().filter(|t| large.contains(*t)).count();
                sum += common as f64 / ((a.len() * b.len()) as f64).sqrt();
            }
            pairs += 1;
        }
    }
    Ok(1.0 - sum / pairs as f64)
}

/// Which items form the population of [`gini_exposure`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum GiniPopulation {
    /// Every item of a catalogue of this many items; items never recommended have exposure 0.
    /// This is the usual choice: a recommender that never shows most of the catalogue is unequal.
    Catalogue(usize),
    /// Only the items that were recommended at least once.
    Recommended,
}

/// Gini coefficient of item exposure (how many times each item was recommended), in [0, 1):
/// with exposures sorted ascending `x₁ ≤ … ≤ xₙ`,
/// `G = Σᵢ (2i − n − 1) · xᵢ / (n · Σ x)`. `0` is perfect equality.
///
/// # Errors
///
/// [`QualityError::Empty`] when nothing was recommended (or the catalogue is empty),
/// [`QualityError::CatalogueTooSmall`].
///
/// # Examples
///
/// ```
/// use recwatch::quality::{gini_exposure, GiniPopulation};
/// let lists = [vec![1, 2], vec![1, 2]];
/// assert_eq!(gini_exposure(&lists, GiniPopulation::Recommended).unwrap(), 0.0);
/// // Two of four catalogue items never shown: 0.5.
/// assert_eq!(gini_exposure(&lists, GiniPopulation::Catalogue(4)).unwrap(), 0.5);
/// ```
pub fn gini_exposure<T: Eq + Hash, L: AsRef<[T]>>(
    lists: &[L],
    population: GiniPopulation,
) -> Result<f64, QualityError> {
    let mut counts: HashMap<&T, u64> = HashMap::new();
    for t in lists.iter().flat_map(|l| l.as_ref().iter()) {
        *counts.entry(t).or_default() += 1;
    }
    if counts.is_empty() {
        return Err(QualityError::Empty {
            what: "recommended items",
        });
    }
    let mut x: Vec<u64> = counts.into_values().collect();
    if let GiniPopulation::Catalogue(n) = population {
        if n < x.len() {
            return Err(QualityError::CatalogueTooSmall {
                catalogue: n,
                recommended: x.len(),
            });
        }
        x.resize(n, 0);
    }
    x.sort_unstable();
    let n = x.len() as f64;
    let total: f64 = x.iter().map(|v| *v as f64).sum();
    let weighted: f64 = x
        .iter()
        .enumerate()
        .map(|(i, v)| (2.0 * (i + 1) as f64 - n - 1.0) * *v as f64)
        .sum();
    Ok(weighted / (n * total))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_not_panics() {
        let none: [Vec<u8>; 0] = [];
        assert!(matches!(diversity(&none), Err(QualityError::Empty { .. })));
        assert!(matches!(
            catalogue_coverage(&[vec![1, 2, 3]], 2),
            Err(QualityError::CatalogueTooSmall { .. })
        ));
        assert!(matches!(
            novelty(&[vec![1]], |_| 0, 10),
            Err(QualityError::ZeroPopularity {
                list: 0,
                position: 0
            })
        ));
        assert!(matches!(
            personalization(&[vec![1]]),
            Err(QualityError::Empty { .. })
        ));
        assert!(matches!(
            gini_exposure(&[vec![1, 2]], GiniPopulation::Catalogue(1)),
            Err(QualityError::CatalogueTooSmall { .. })
        ));
    }

    #[test]
    fn identical_lists_are_not_personalised() {
        assert_eq!(personalization(&[vec![1, 2], vec![2, 1]]).unwrap(), 0.0);
    }
}
