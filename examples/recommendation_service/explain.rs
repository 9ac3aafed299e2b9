//! `POST /explain`: a streamed explanation of a recommendation, as server-sent events, one
//! event per generated token.
//!
//! There is no language model here: a small deterministic token generator stands in for one.
//! It picks words from a fixed vocabulary with a pseudo-random stream seeded by the user and the
//! movie, so the same request always yields the same tokens, and waits `--token-delay-ms`
//! before each token (default 20 ms) to behave like a decoder. The prompt's "tokens" are its
//! whitespace-separated words. Everything a real LLM-backed endpoint records is recorded the
//! same way: `recwatch::inference::GenerationTracker` measures time to first token, time per
//! output token, duration, tokens and (with `--price-table FILE`) cost; with the `telemetry`
//! feature the generation span sits under the request span and covers the whole stream.
//!
//! Request: `{"user_id": u64, "movie_id": u64, "max_tokens": 1..=512}` (`max_tokens` defaults
//! to 64). The answer stops on its own after a length fixed by the seed, or at `max_tokens`.
//! At most `--max-generations N` (default 8) generations run at once; the others wait, counted
//! by `model_requests_waiting`.
//!
//! ```text
//! curl -N -X POST localhost:8000/explain -H 'content-type: application/json' \
//!      -d '{"user_id": 7, "movie_id": 42}'
//! ```

use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{ready, Context, Poll};
use std::time::Duration;

use axum::extract::rejection::JsonRejection;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::sse::{Event, Sse};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use futures_core::Stream;
use recwatch::inference::{FinishReason, GenerationTracker, PriceTable};
use serde::Deserialize;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use super::{error, splitmix, AppState};

/// The `model` label of the stand-in generator.
const MODEL: &str = "explainer";

/// Command-line options of the endpoint.
pub struct Options {
    token_delay: Duration,
    prices: Option<PriceTable>,
    max_generations: usize,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            token_delay: Duration::from_millis(20),
            prices: None,
            max_generations: 8,
        }
    }
}

/// The flags [`Options::parse`] understands.
pub const FLAGS: &[&str] = &["--token-delay-ms", "--price-table", "--max-generations"];

/// Usage text of the flags.
pub const USAGE: &str = "[--token-delay-ms MS] [--price-table FILE.json] [--max-generations N]";

impl Options {
    /// Applies one flag of [`FLAGS`] with its value.
    pub fn parse(&mut self, flag: &str, value: String) -> Result<(), String> {
        match flag {
            "--token-delay-ms" => {
                let ms: u64 = value.parse().map_err(|e| format!("{flag} {value}: {e}"))?;
                self.token_delay = Duration::from_millis(ms);
            }
            "--price-table" => {
                let text =
                    std::fs::read_to_string(&value).map_err(|e| format!("{flag} {value}: {e}"))?;
                let table = PriceTable::from_json(&text).map_err(|e| {
                    let why = std::error::Error::source(&e)
                        .map(|s| format!(": {s}"))
                        .unwrap_or_default();
                    format!("{flag} {value}: {e}{why}")
                })?;
                self.prices = Some(table);
            }
            "--max-generations" => {
                let n: usize = value.parse().map_err(|e| format!("{flag} {value}: {e}"))?;
                if n == 0 {
                    return Err(format!("{flag} must be at least 1"));
                }
                self.max_generations = n;
            }
            other => return Err(format!("unknown argument {other}")),
        }
        Ok(())
    }
}

struct ExplainState {
    app: Arc<AppState>,
    tracker: GenerationTracker,
    token_delay: Duration,
    permits: Arc<Semaphore>,
}

/// The `/explain` route, over the service's catalogue.
pub fn router(app: Arc<AppState>, options: &Options) -> Router {
    let mut tracker = GenerationTracker::new(MODEL);
    if let Some(prices) = &options.prices {
        tracker = tracker.with_prices(prices);
    }
    let state = Arc::new(ExplainState {
        app,
        tracker,
        token_delay: options.token_delay,
        permits: Arc::new(Semaphore::new(options.max_generations)),
    });
    Router::new()
        .route("/explain", post(explain))
        .with_state(state)
}

#[derive(Deserialize)]
struct ExplainRequest {
    user_id: u64,
    movie_id: u64,
    #[serde(default = "default_max_tokens")]
    max_tokens: u32,
}

fn default_max_tokens() -> u32 {
    64
}

const VOCABULARY: &[&str] = &[
    "because",
    "you",
    "enjoyed",
    "similar",
    "stories",
    "this",
    "film",
    "offers",
    "a",
    "the",
    "pacing",
    "cast",
    "mood",
    "score",
    "twist",
    "and",
    "of",
    "with",
    "its",
    "memorable",
    "characters",
    "quiet",
    "bold",
    "visual",
    "style",
    "fans",
    "like",
    "often",
    "rate",
    "highly",
];

async fn explain(
    State(state): State<Arc<ExplainState>>,
    body: Result<Json<ExplainRequest>, JsonRejection>,
) -> Response {
    let Json(req) = match body {
        Ok(json) => json,
        Err(rejection) => return error(rejection.status(), rejection.body_text()),
    };
    if !(1..=512).contains(&req.max_tokens) {
        return error(
            StatusCode::UNPROCESSABLE_ENTITY,
            format!(
                "max_tokens must be between 1 and 512, got {}",
                req.max_tokens
            ),
        );
    }
    let Some(movie) = usize::try_from(req.movie_id)
        .ok()
        .and_then(|i| state.app.model.movies.get(i))
    else {
        return error(
            StatusCode::NOT_FOUND,
            format!("no movie with id {}", req.movie_id),
        );
    };
    state.app.users.observe(req.user_id);
    let prompt = format!(
        "Explain in a few sentences why user {} would enjoy {} ({}).",
        req.user_id,
        movie.title,
        movie.genres.join(", ")
    );
    let input_tokens = prompt.split_whitespace().count() as u64;

    // Waits for a free generation slot; counted as waiting meanwhile.
    let queued = state.tracker.enqueue();
    let Ok(permit) = state.permits.clone().acquire_owned().await else {
        return error(StatusCode::SERVICE_UNAVAILABLE, "shutting down");
    };
    let mut seed = req.user_id.rotate_left(32) ^ req.movie_id ^ 0xE7_0A1E;
    let natural = 24 + (splitmix(&mut seed) % 40) as u32;
    let length = natural.min(req.max_tokens);
    let generator = Generator {
        seed,
        left: length,
        delay: state.token_delay,
        sleep: None,
        _permit: permit,
    };
    let mut generation = queued.start().with_input_tokens(input_tokens);
    if length < natural {
        generation.record_finish_reason(FinishReason::Length);
    }
    Sse::new(generation.track(generator)).into_response()
}

/// The stand-in for a language model: `left` more tokens, one per `delay`, deterministic.
struct Generator {
    seed: u64,
    left: u32,
    delay: Duration,
    sleep: Option<Pin<Box<tokio::time::Sleep>>>,
    /// The generation slot, released when the stream ends or the client goes away.
    _permit: OwnedSemaphorePermit,
}

impl Stream for Generator {
    type Item = Result<Event, Infallible>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        if self.left == 0 {
            return Poll::Ready(None);
        }
        if !self.delay.is_zero() {
            let delay = self.delay;
            let sleep = self
                .sleep
                .get_or_insert_with(|| Box::pin(tokio::time::sleep(delay)));
            ready!(sleep.as_mut().poll(cx));
            self.sleep = None;
        }
        self.left -= 1;
        let word = VOCABULARY[(splitmix(&mut self.seed) % VOCABULARY.len() as u64) as usize];
        Poll::Ready(Some(Ok(Event::default().data(word))))
    }
}
