//! `POST /feedback`: online recommendation quality from what users did with what we recommended.
//!
//! Body: `{"user_id": u64, "movie_id": u64, "rating": 0.5..=5.0}` or
//! `{"user_id": u64, "movie_id": u64, "event": "click"}`. The event is joined with what
//! `/recommend` returned to that user in the last hour ([`recwatch::quality::OnlineQuality`]:
//! at most 10 000 users × 50 items remembered, least recently served user forgotten first, so
//! memory stays bounded whatever the traffic), and
//!
//! - `recommendation_quality_score` is the **online hit rate**: the share of the last 1000
//!   positive events (a click, or a rating ≥ 4) whose movie had been recommended to that user —
//!   the value the `LowRecommendationQuality` alert watches;
//! - `recommendation_quality_metric{metric="online_hit_rate"|"online_mrr"}` carry it and the mean
//!   reciprocal rank of those movies;
//! - `recommendation_feedback_total{kind="rating"|"click", outcome="recommended"|"not_recommended"|"rejected"}`
//!   counts events.
//!
//! Bad feedback gets a 4xx with a reason: malformed JSON (400/415/422 from the extractor), both or
//! neither of `rating` and `event`, an unknown event, a rating that is not finite or outside
//! 0.5–5, a movie that is not in the catalogue (all 422).

use std::sync::Arc;

use axum::extract::rejection::JsonRejection;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use recwatch::catalogue::FEEDBACK_TOTAL;
use recwatch::quality::{Feedback, OnlineQuality, OnlineQualityConfig};
use serde::{Deserialize, Serialize};

use super::{error, AppState};

/// The service's online-quality tracker, with the defaults documented above.
pub fn online_quality() -> OnlineQuality {
    OnlineQualityConfig::new()
        .build()
        .expect("the default configuration is valid")
}

/// Remembers what `/recommend` returned (called once per response).
pub fn remember(online: &OnlineQuality, user_id: u64, movie_ids: impl Iterator<Item = u64>) {
    let ids: Vec<u64> = movie_ids.collect();
    online.record_recommendations(user_id, &ids);
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FeedbackRequest {
    user_id: u64,
    movie_id: u64,
    rating: Option<f64>,
    event: Option<String>,
}

#[derive(Serialize)]
struct FeedbackResponse {
    user_id: u64,
    movie_id: u64,
    /// Whether the movie was among those recommended to the user in the window.
    recommended: bool,
    /// Its 1-based rank in that recommendation.
    rank: Option<u32>,
    positive: bool,
    /// The online hit rate after this event (absent before any positive event).
    quality_score: Option<f64>,
}

fn rejected(kind: &'static str, reason: String) -> Response {
    metrics::counter!(FEEDBACK_TOTAL.name, "kind" => kind, "outcome" => "rejected").increment(1);
    error(StatusCode::UNPROCESSABLE_ENTITY, reason)
}

pub async fn feedback(
    State(state): State<Arc<AppState>>,
    body: Result<Json<FeedbackRequest>, JsonRejection>,
) -> Response {
    let Json(req) = match body {
        Ok(json) => json,
        Err(rejection) => return error(rejection.status(), rejection.body_text()),
    };
    let (kind, fb) = match (req.rating, req.event.as_deref()) {
        (Some(r), None) => ("rating", Feedback::rating(req.user_id, req.movie_id, r)),
        (None, Some("click")) => ("click", Feedback::click(req.user_id, req.movie_id)),
        (None, Some(other)) => {
            return rejected(
                "click",
                format!(
                    "unknown event {:?}: only \"click\"",
                    other.chars().take(40).collect::<String>()
                ),
            )
        }
        (Some(_), Some(_)) => {
            return rejected("rating", "give either rating or event, not both".into())
        }
        (None, None) => {
            return rejected(
                "click",
                "give a rating (0.5 to 5) or \"event\": \"click\"".into(),
            )
        }
    };
    if usize::try_from(req.movie_id).map_or(true, |i| i >= state.model.movies.len()) {
        return rejected(kind, format!("no movie with id {}", req.movie_id));
    }
    match state.online.record_feedback(fb) {
        Ok(outcome) => Json(FeedbackResponse {
            user_id: req.user_id,
            movie_id: req.movie_id,
            recommended: outcome.rank.is_some(),
            rank: outcome.rank,
            positive: outcome.positive,
            quality_score: state.online.score(),
        })
        .into_response(),
        // Counted as rejected by OnlineQuality itself.
        Err(e) => error(StatusCode::UNPROCESSABLE_ENTITY, e.to_string()),
    }
}
