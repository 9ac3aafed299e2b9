//! Online quality: joins user feedback with what was recommended to that user, in bounded
//! memory, and keeps `recommendation_quality_score` current.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use super::{QualityError, QualityMetric};
use crate::catalogue::{FEEDBACK_TOTAL, FEEDBACK_WINDOW_USERS, QUALITY_METRIC, QUALITY_SCORE};

/// What a user did with an item.
#[derive(Debug, Clone, Copy, PartialEq)]
#[non_exhaustive]
pub enum FeedbackKind {
    /// An explicit rating; positive when at least the configured positive rating.
    Rating(f64),
    /// A click (or play, or purchase): always positive.
    Click,
}

impl FeedbackKind {
    /// The `kind` label value: `rating` or `click`.
    pub const fn as_str(&self) -> &'static str {
        match self {
            FeedbackKind::Rating(_) => "rating",
            FeedbackKind::Click => "click",
        }
    }
}

/// One feedback event.
#[derive(Debug, Clone, Copy, PartialEq)]
#[non_exhaustive]
pub struct Feedback {
    /// The user.
    pub user_id: u64,
    /// The item the feedback is about.
    pub item_id: u64,
    /// Rating or click.
    pub kind: FeedbackKind,
}

impl Feedback {
    /// A rating of `item_id` by `user_id`.
    pub const fn rating(user_id: u64, item_id: u64, rating: f64) -> Self {
        Self {
            user_id,
            item_id,
            kind: FeedbackKind::Rating(rating),
        }
    }

    /// A click on `item_id` by `user_id`.
    pub const fn click(user_id: u64, item_id: u64) -> Self {
        Self {
            user_id,
            item_id,
            kind: FeedbackKind::Click,
        }
    }
}

/// How one feedback event was joined.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[non_exhaustive]
pub struct FeedbackOutcome {
    /// 1-based rank of the item in the most recent recommendation to this user that held it,
    /// within the window; `None` when it was not recommended (or the window forgot it).
    pub rank: Option<u32>,
    /// Whether the feedback is positive (a click, or a rating at least the positive rating).
    pub positive: bool,
}

/// Configuration of [`OnlineQuality`].
///
/// Memory is bounded by `max_users × max_items_per_user` remembered recommendations (24 bytes
/// each) plus `score_window` outcomes (16 bytes each), whatever the traffic: with the defaults,
/// about 12 MB at most.
#[derive(Debug, Clone)]
#[must_use]
pub struct OnlineQualityConfig {
    max_users: usize,
    max_items_per_user: usize,
    window: Duration,
    score_window: usize,
    positive_rating: f64,
    rating_range: (f64, f64),
}

impl Default for OnlineQualityConfig {
    fn default() -> Self {
        Self::new()
    }
}

impl OnlineQualityConfig {
    /// The defaults below.
    pub fn new() -> Self {
        Self {
            max_users: 10_000,
            max_items_per_user: 50,
            window: Duration::from_secs(3600),
            score_window: 1000,
            positive_rating: 4.0,
            rating_range: (0.5, 5.0),
        }
    }

    /// Users whose recommendations are remembered; the least recently served user is forgotten
    /// first. Defaults to 10 000.
    pub fn with_max_users(mut self, n: usize) -> Self {
        self.max_users = n;
        self
    }

    /// Recommended items remembered per user (the oldest are forgotten first). Defaults to 50.
    pub fn with_max_items_per_user(mut self, n: usize) -> Self {
        self.max_items_per_user = n;
        self
    }

    /// How long a recommendation can be credited with feedback. Defaults to one hour.
    pub fn with_window(mut self, window: Duration) -> Self {
        self.window = window;
        self
    }

    /// How many recent positive feedback events the score is over. Defaults to 1000.
    pub fn with_score_window(mut self, n: usize) -> Self {
        self.score_window = n;
        self
    }

    /// The lowest rating that counts as positive. Defaults to 4.0.
    pub fn with_positive_rating(mut self, rating: f64) -> Self {
        self.positive_rating = rating;
        self
    }

    /// Accepted ratings, inclusive. Defaults to 0.5 ..= 5.0 (MovieLens).
    pub fn with_rating_range(mut self, min: f64, max: f64) -> Self {
        self.rating_range = (min, max);
        self
    }

    /// Validates the configuration and builds the tracker (no thread, no global state).
    ///
    /// # Errors
    ///
    /// [`QualityError::InvalidConfig`] for a zero bound or window, or a rating range that is
    /// empty, not finite, or excludes the positive rating.
    pub fn build(self) -> Result<OnlineQuality, QualityError> {
        if self.max_users == 0 || self.max_items_per_user == 0 || self.score_window == 0 {
            return Err(QualityError::InvalidConfig(
                "max_users, max_items_per_user and score_window must be at least 1",
            ));
        }
        if self.window.is_zero() {
            return Err(QualityError::InvalidConfig("window must be positive"));
        }
        let (min, max) = self.rating_range;
        let valid = min.is_finite()
            && max.is_finite()
            && min <= max
            && (min..=max).contains(&self.positive_rating);
        if !valid {
            return Err(QualityError::InvalidConfig(
                "rating range must be finite, non-empty and contain the positive rating",
            ));
        }
        Ok(OnlineQuality {
            inner: Arc::new(Inner {
                config: self,
                state: Mutex::new(State::default()),
            }),
        })
    }
}

struct Served {
    at: Instant,
    item: u64,
    rank: u32,
}

struct UserWindow {
    seq: u64,
    served: VecDeque<Served>,
}

#[derive(Default)]
struct State {
    seq: u64,
    users: HashMap<u64, UserWindow>,
    by_age: BTreeMap<u64, u64>,
    outcomes: VecDeque<(bool, f64)>,
    hits: usize,
}

struct Inner {
    config: OnlineQualityConfig,
    state: Mutex<State>,
}

/// Online recommendation quality from feedback, in bounded memory.
///
/// The service calls [`record_recommendations`](Self::record_recommendations) with what it
/// returned, and [`record_feedback`](Self::record_feedback) for each rating or click. The score
/// is the **online hit rate**: the share of the last `score_window` positive feedback events
/// whose item had been recommended to that user within `window`. It is published as
/// `recommendation_quality_score` (and `recommendation_quality_metric{metric="online_hit_rate"}`,
/// with `online_mrr`, the mean of `1/rank` over the same events, 0 for an item not recommended)
/// after every positive feedback event. Negative ratings are counted but do not move the score.
///
/// Cloning is cheap (shared state).
///
/// # Examples
///
/// ```
/// use recwatch::quality::{Feedback, OnlineQualityConfig};
///
/// let online = OnlineQualityConfig::new().build()?;
/// online.record_recommendations(7, &[10, 11, 12]);
/// let outcome = online.record_feedback(Feedback::rating(7, 11, 5.0))?;
/// assert_eq!(outcome.rank, Some(2));
/// online.record_feedback(Feedback::click(7, 99))?;
/// assert_eq!(online.score(), Some(0.5));
/// // Bad feedback is a typed error (and counted as rejected).
/// assert!(online.record_feedback(Feedback::rating(7, 11, 9.0)).is_err());
/// # Ok::<(), recwatch::quality::QualityError>(())
/// ```
#[derive(Clone)]
pub struct OnlineQuality {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for OnlineQuality {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OnlineQuality")
            .field("config", &self.inner.config)
            .finish_non_exhaustive()
    }
}

impl OnlineQuality {
    fn state(&self) -> MutexGuard<'_, State> {
        // A panic while holding the lock leaves consistent-enough state (counters only).
        self.inner
            .state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Remembers that `items` (best first) were recommended to `user_id` now.
    pub fn record_recommendations(&self, user_id: u64, items: &[u64]) {
        self.record_recommendations_at(user_id, items, Instant::now());
    }

    fn record_recommendations_at(&self, user_id: u64, items: &[u64], now: Instant) {
        let cfg = &self.inner.config;
        let mut guard = self.state();
        let st = &mut *guard;
        st.seq += 1;
        let seq = st.seq;
        if let Some(w) = st.users.get_mut(&user_id) {
            st.by_age.remove(&w.seq);
            w.seq = seq;
        } else {
            while st.users.len() >= cfg.max_users {
                let Some((_, oldest)) = st.by_age.pop_first() else {
                    break;
                };
                st.users.remove(&oldest);
            }
            st.users.insert(
                user_id,
                UserWindow {
                    seq,
                    served: VecDeque::new(),
                },
            );
        }
        st.by_age.insert(seq, user_id);
        let w = st.users.get_mut(&user_id).expect("inserted above");
        let skip = items.len().saturating_sub(cfg.max_items_per_user);
        for (i, item) in items.iter().enumerate().skip(skip) {
            w.served.push_back(Served {
                at: now,
                item: *item,
                rank: u32::try_from(i + 1).unwrap_or(u32::MAX),
            });
        }
        while w.served.len() > cfg.max_items_per_user {
            w.served.pop_front();
        }
        let users = st.users.len();
        drop(guard);
        metrics::gauge!(FEEDBACK_WINDOW_USERS.name).set(users as f64);
    }

    /// Joins one feedback event with the user's recent recommendations, updates the score and
    /// the counters, and publishes the gauges.
    ///
    /// # Errors
    ///
    /// [`QualityError::NonFinite`] or [`QualityError::RatingOutOfRange`] for a bad rating
    /// (counted as `outcome="rejected"`).
    pub fn record_feedback(&self, feedback: Feedback) -> Result<FeedbackOutcome, QualityError> {
        self.record_feedback_at(feedback, Instant::now())
    }

    fn record_feedback_at(
        &self,
        feedback: Feedback,
        now: Instant,
    ) -> Result<FeedbackOutcome, QualityError> {
        let cfg = &self.inner.config;
        let kind = feedback.kind.as_str();
        let positive = match feedback.kind {
            FeedbackKind::Click => true,
            FeedbackKind::Rating(r) => {
                let (min, max) = cfg.rating_range;
                let err = if !r.is_finite() {
                    Some(QualityError::NonFinite {
                        what: "rating",
                        index: 0,
                        value: r,
                    })
                } else if !(min..=max).contains(&r) {
                    Some(QualityError::RatingOutOfRange {
                        rating: r,
                        min,
                        max,
                    })
                } else {
                    None
                };
                if let Some(err) = err {
                    metrics::counter!(FEEDBACK_TOTAL.name, "kind" => kind, "outcome" => "rejected")
                        .increment(1);
                    return Err(err);
                }
                r >= cfg.positive_rating
            }
        };
        let mut guard = self.state();
        let st = &mut *guard;
        let rank = st.users.get_mut(&feedback.user_id).and_then(|w| {
            while w
                .served
                .front()
                .is_some_and(|s| now.saturating_duration_since(s.at) > cfg.window)
            {
                w.served.pop_front();
            }
            w.served
                .iter()
                .rev()
                .find(|s| s.item == feedback.item_id)
                .map(|s| s.rank)
        });
        let published = if positive {
            let rr = rank.map_or(0.0, |r| 1.0 / f64::from(r));
            st.outcomes.push_back((rank.is_some(), rr));
            st.hits += usize::from(rank.is_some());
            while st.outcomes.len() > cfg.score_window {
                if let Some((hit, _)) = st.outcomes.pop_front() {
                    st.hits -= usize::from(hit);
                }
            }
            Some(Self::scores(st))
        } else {
            None
        };
        drop(guard);
        let outcome = if rank.is_some() {
            "recommended"
        } else {
            "not_recommended"
        };
        metrics::counter!(FEEDBACK_TOTAL.name, "kind" => kind, "outcome" => outcome).increment(1);
        if let Some((hit_rate, mrr)) = published {
            Self::publish_values(hit_rate, mrr);
        }
        Ok(FeedbackOutcome { rank, positive })
    }

    fn scores(st: &State) -> (f64, f64) {
        let n = st.outcomes.len() as f64;
        // Summed afresh (at most score_window values): no drift from repeated subtraction.
        let rr: f64 = st.outcomes.iter().map(|(_, rr)| rr).sum();
        (st.hits as f64 / n, rr / n)
    }

    fn publish_values(hit_rate: f64, mrr: f64) {
        let label = QUALITY_METRIC.labels[0];
        metrics::gauge!(QUALITY_METRIC.name, label => QualityMetric::OnlineHitRate.as_str())
            .set(hit_rate);
        metrics::gauge!(QUALITY_METRIC.name, label => QualityMetric::OnlineMrr.as_str()).set(mrr);
        metrics::gauge!(QUALITY_SCORE.name).set(hit_rate);
    }

    /// The online hit rate over the score window, or `None` before any positive feedback.
    pub fn score(&self) -> Option<f64> {
        let st = self.state();
        (!st.outcomes.is_empty()).then(|| Self::scores(&st).0)
    }

    /// The online mean reciprocal rank over the score window, or `None` before any positive
    /// feedback.
    pub fn mrr(&self) -> Option<f64> {
        let st = self.state();
        (!st.outcomes.is_empty()).then(|| Self::scores(&st).1)
    }

    /// Users currently remembered (at most `max_users`).
    pub fn users(&self) -> usize {
        self.state().users.len()
    }

    /// Publishes the current gauges again (for a collector hook); does nothing before any
    /// positive feedback, so the score is absent rather than a fake value.
    pub fn publish(&self) {
        let (users, scores) = {
            let st = self.state();
            let scores = (!st.outcomes.is_empty()).then(|| Self::scores(&st));
            (st.users.len(), scores)
        };
        metrics::gauge!(FEEDBACK_WINDOW_USERS.name).set(users as f64);
        if let Some((hit_rate, mrr)) = scores {
            Self::publish_values(hit_rate, mrr);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn memory_is_bounded_by_users_and_items() {
        let q = OnlineQualityConfig::new()
            .with_max_users(3)
            .with_max_items_per_user(2)
            .build()
            .unwrap();
        let t = Instant::now();
        for user in 0..100u64 {
            q.record_recommendations_at(user, &[1, 2, 3, 4, 5], t);
        }
        assert_eq!(q.users(), 3);
        // Users 97..=99 remain, each with its last two items (ranks 4 and 5).
        let o = q.record_feedback_at(Feedback::click(99, 5), t).unwrap();
        assert_eq!(o.rank, Some(5));
        let o = q.record_feedback_at(Feedback::click(99, 1), t).unwrap();
        assert_eq!(o.rank, None);
        let o = q.record_feedback_at(Feedback::click(0, 5), t).unwrap();
        assert_eq!(o.rank, None);
        let st = q.state();
        assert!(st.users.values().all(|w| w.served.len() <= 2));
        assert_eq!(st.by_age.len(), 3);
    }

    #[test]
    fn least_recently_served_user_is_evicted() {
        let q = OnlineQualityConfig::new()
            .with_max_users(2)
            .build()
            .unwrap();
        let t = Instant::now();
        q.record_recommendations_at(1, &[10], t);
        q.record_recommendations_at(2, &[20], t);
        q.record_recommendations_at(1, &[11], t); // 1 is fresher than 2 now
        q.record_recommendations_at(3, &[30], t);
        assert_eq!(
            q.record_feedback_at(Feedback::click(1, 10), t)
                .unwrap()
                .rank,
            Some(1)
        );
        assert_eq!(
            q.record_feedback_at(Feedback::click(2, 20), t)
                .unwrap()
                .rank,
            None
        );
    }

    #[test]
    fn window_forgets_old_recommendations_and_score_window_slides() {
        let q = OnlineQualityConfig::new()
            .with_window(Duration::from_secs(60))
            .with_score_window(2)
            .build()
            .unwrap();
        let t = Instant::now();
        q.record_recommendations_at(1, &[10, 11], t);
        let later = t + Duration::from_secs(61);
        assert_eq!(
            q.record_feedback_at(Feedback::click(1, 10), later)
                .unwrap()
                .rank,
            None
        );
        q.record_recommendations_at(1, &[12], later);
        q.record_feedback_at(Feedback::click(1, 12), later).unwrap();
        q.record_feedback_at(Feedback::click(1, 12), later).unwrap();
        // The miss slid out of the two-event window.
        assert_eq!(q.score(), Some(1.0));
        assert_eq!(q.mrr(), Some(1.0));
    }

    #[test]
    fn negative_and_bad_feedback_do_not_move_the_score() {
        let q = OnlineQualityConfig::new().build().unwrap();
        q.record_recommendations(1, &[10]);
        let o = q.record_feedback(Feedback::rating(1, 10, 1.0)).unwrap();
        assert_eq!(
            o,
            FeedbackOutcome {
                rank: Some(1),
                positive: false
            }
        );
        assert_eq!(q.score(), None);
        assert!(matches!(
            q.record_feedback(Feedback::rating(1, 10, f64::NAN)),
            Err(QualityError::NonFinite { .. })
        ));
        assert!(matches!(
            q.record_feedback(Feedback::rating(1, 10, 0.0)),
            Err(QualityError::RatingOutOfRange { .. })
        ));
        assert!(OnlineQualityConfig::new()
            .with_max_users(0)
            .build()
            .is_err());
        assert!(OnlineQualityConfig::new()
            .with_rating_range(1.0, 3.0)
            .build()
            .is_err());
    }

    #[test]
    fn gauges_and_counters_reach_the_recorder() {
        use metrics_util::debugging::{DebugValue, DebuggingRecorder};
        let recorder = DebuggingRecorder::new();
        let snapshotter = recorder.snapshotter();
        metrics::with_local_recorder(&recorder, || {
            let q = OnlineQualityConfig::new().build().unwrap();
            q.record_recommendations(1, &[10, 11]);
            q.record_feedback(Feedback::click(1, 11)).unwrap();
            q.record_feedback(Feedback::rating(1, 12, 5.0)).unwrap();
            let _ = q.record_feedback(Feedback::rating(1, 12, 50.0));
        });
        let snap = snapshotter.snapshot().into_vec();
        let find = |name: &str, labels: &[(&str, &str)]| {
            snap.iter()
                .find(|(k, _, _, _)| {
                    k.key().name() == name
                        && labels.iter().all(|(lk, lv)| {
                            k.key().labels().any(|l| l.key() == *lk && l.value() == *lv)
                        })
                })
                .map(|(_, _, _, v)| v)
        };
        assert_eq!(
            find("recommendation_quality_score", &[]),
            Some(&DebugValue::Gauge(0.5.into()))
        );
        assert_eq!(
            find("recommendation_quality_metric", &[("metric", "online_mrr")]),
            Some(&DebugValue::Gauge(0.25.into()))
        );
        for outcome in ["recommended", "not_recommended"] {
            assert_eq!(
                find("recommendation_feedback_total", &[("outcome", outcome)]),
                Some(&DebugValue::Counter(1)),
                "{outcome}"
            );
        }
        assert_eq!(
            find(
                "recommendation_feedback_total",
                &[("kind", "rating"), ("outcome", "rejected")]
            ),
            Some(&DebugValue::Counter(1))
        );
    }
}
