//! Streamed generation through the public API: a token stream served as server-sent events
//! through axum, with real (short) delays between tokens. Nothing here asserts on elapsed time
//! beyond lower bounds the delays guarantee; metrics go to a local recorder on a current-thread
//! runtime, so every task of a test sees it.
#![cfg(all(feature = "generation", feature = "http"))]

use std::collections::HashMap;
use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::task::{ready, Context, Poll};
use std::time::{Duration, Instant};

use axum::response::sse::{Event, Sse};
use axum::routing::get;
use axum::Router;
use futures_core::Stream;
use metrics_util::debugging::{DebugValue, DebuggingRecorder, Snapshotter};
use recwatch::inference::{GenerationTracker, ModelPrice};

/// `n` tokens, one every `delay`, as SSE events.
struct Ticker {
    left: u32,
    delay: Duration,
    sleep: Option<Pin<Box<tokio::time::Sleep>>>,
}

impl Ticker {
    fn new(n: u32, delay: Duration) -> Self {
        Ticker {
            left: n,
            delay,
            sleep: None,
        }
    }
}

impl Stream for Ticker {
    type Item = Result<Event, Infallible>;
    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        if self.left == 0 {
            return Poll::Ready(None);
        }
        let delay = self.delay;
        let sleep = self
            .sleep
            .get_or_insert_with(|| Box::pin(tokio::time::sleep(delay)));
        ready!(sleep.as_mut().poll(cx));
        self.sleep = None;
        self.left -= 1;
        Poll::Ready(Some(Ok(Event::default().data(format!("tok{}", self.left)))))
    }
}

type Values = HashMap<(String, Vec<String>), Vec<f64>>;

fn snapshot(snapshotter: &Snapshotter) -> Values {
    snapshotter
        .snapshot()
        .into_vec()
        .into_iter()
        .map(|(ck, _, _, value)| {
            let key = ck.key();
            let mut labels: Vec<String> = key
                .labels()
                .map(|l| format!("{}={}", l.key(), l.value()))
                .collect();
            labels.sort();
            let values = match value {
                DebugValue::Counter(c) => vec![c as f64],
                DebugValue::Gauge(g) => vec![g.into_inner()],
                DebugValue::Histogram(h) => h.into_iter().map(|v| v.into_inner()).collect(),
            };
            ((key.name().to_owned(), labels), values)
        })
        .collect()
}

fn values<'a>(s: &'a Values, name: &str, labels: &[&str]) -> Option<&'a [f64]> {
    let mut labels: Vec<String> = labels.iter().map(|l| (*l).to_owned()).collect();
    labels.sort();
    s.get(&(name.to_owned(), labels)).map(Vec::as_slice)
}

fn app(tracker: GenerationTracker, tokens: u32, delay: Duration) -> Router {
    Router::new().route(
        "/explain",
        get(move || {
            let tracker = tracker.clone();
            async move {
                let stream = tracker
                    .start()
                    .with_input_tokens(7)
                    .track(Ticker::new(tokens, delay));
                Sse::new(stream)
            }
        }),
    )
}

/// Runs `f` on a current-thread runtime under a local recorder.
fn with_recorder<F: Future>(f: impl FnOnce() -> F) -> (F::Output, Values) {
    let recorder = DebuggingRecorder::new();
    let snapshotter = recorder.snapshotter();
    let out = metrics::with_local_recorder(&recorder, || {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
            .block_on(f())
    });
    (out, snapshot(&snapshotter))
}

#[test]
fn streamed_response_records_first_token_per_token_and_tokens() {
    let delay = Duration::from_millis(5);
    let ((), s) = with_recorder(|| async move {
        let tracker = GenerationTracker::new("explainer").with_price(
            ModelPrice::new()
                .with_input_per_1k(1.0)
                .unwrap()
                .with_output_per_1k(4.0)
                .unwrap(),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            axum::serve(listener, app(tracker, 6, delay)).await.unwrap();
        });
        let client = reqwest::Client::new();
        for _ in 0..3 {
            let body = client
                .get(format!("http://{addr}/explain"))
                .send()
                .await
                .unwrap()
                .text()
                .await
                .unwrap();
            assert_eq!(body.matches("data: tok").count(), 6, "{body}");
        }
    });
    let m = "model=explainer";
    let ttft = values(&s, "model_time_to_first_token_seconds", &[m]).unwrap();
    assert_eq!(ttft.len(), 3, "one first token per request");
    // Lower bounds the sleeps guarantee; no upper bound.
    assert!(ttft.iter().all(|t| *t >= delay.as_secs_f64()), "{ttft:?}");
    let tpot = values(&s, "model_time_per_output_token_seconds", &[m]).unwrap();
    assert_eq!(tpot.len(), 3, "one observation per successful request");
    assert!(tpot.iter().all(|t| *t >= delay.as_secs_f64()), "{tpot:?}");
    let ok = values(&s, "model_generation_duration_seconds", &[m, "outcome=ok"]).unwrap();
    assert_eq!(ok.len(), 3);
    assert!(ok.iter().all(|d| *d >= 6.0 * delay.as_secs_f64()), "{ok:?}");
    assert_eq!(
        values(&s, "model_tokens_total", &[m, "type=output"]),
        Some(&[18.0][..])
    );
    assert_eq!(
        values(&s, "model_tokens_total", &[m, "type=input"]),
        Some(&[21.0][..])
    );
    assert_eq!(
        values(&s, "model_token_usage", &[m, "type=output"]),
        Some(&[6.0, 6.0, 6.0][..])
    );
    // Cost = tokens × price: 21 input at 1 per 1k, 18 output at 4 per 1k.
    let cost_in = values(&s, "model_cost_total", &[m, "type=input"]).unwrap()[0];
    let cost_out = values(&s, "model_cost_total", &[m, "type=output"]).unwrap()[0];
    assert!((cost_in - 0.021).abs() < 1e-12, "{cost_in}");
    assert!((cost_out - 0.072).abs() < 1e-12, "{cost_out}");
    assert_eq!(values(&s, "model_requests_running", &[m]), Some(&[0.0][..]));
}

/// Passes a stream through and raises a flag when dropped (the server let go of the body).
struct DropFlag<S> {
    inner: Pin<Box<S>>,
    dropped: Arc<AtomicBool>,
}

impl<S: Stream> Stream for DropFlag<S> {
    type Item = S::Item;
    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<S::Item>> {
        self.inner.as_mut().poll_next(cx)
    }
}

impl<S> Drop for DropFlag<S> {
    fn drop(&mut self) {
        self.dropped.store(true, Ordering::SeqCst);
    }
}

#[test]
fn client_that_hangs_up_mid_stream_is_cancelled_with_tokens_so_far() {
    let (read, s) = with_recorder(|| async {
        let tracker = GenerationTracker::new("explainer");
        let dropped = Arc::new(AtomicBool::new(false));
        let flag = dropped.clone();
        let app = Router::new().route(
            "/explain",
            get(move || {
                let stream = DropFlag {
                    inner: Box::pin(tracker.track(Ticker::new(10_000, Duration::from_millis(2)))),
                    dropped: flag.clone(),
                };
                async move { Sse::new(stream) }
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        let mut response = reqwest::Client::new()
            .get(format!("http://{addr}/explain"))
            .send()
            .await
            .unwrap();
        let mut text = String::new();
        while text.matches("data: tok").count() < 3 {
            let chunk = response.chunk().await.unwrap().expect("stream still open");
            text.push_str(&String::from_utf8_lossy(&chunk));
        }
        drop(response);
        // The server notices on its next write. A hang detector, not a timing assertion. On
        // this single-threaded runtime the whole body (and so the generation) is dropped
        // before this task sees the flag.
        let deadline = Instant::now() + Duration::from_secs(30);
        while !dropped.load(Ordering::SeqCst) {
            assert!(
                Instant::now() < deadline,
                "the server never noticed the client hung up"
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        text.matches("data: tok").count()
    });
    let m = "model=explainer";
    let cancelled = values(
        &s,
        "model_generation_duration_seconds",
        &[m, "outcome=cancelled"],
    )
    .expect("a cancelled generation");
    assert_eq!(cancelled.len(), 1);
    assert!(values(&s, "model_generation_duration_seconds", &[m, "outcome=ok"]).is_none());
    let sent = values(&s, "model_tokens_total", &[m, "type=output"]).unwrap()[0];
    assert!(
        sent >= read as f64 && sent < 10_000.0,
        "server counted {sent} tokens, client read {read}"
    );
    assert_eq!(
        values(&s, "model_time_to_first_token_seconds", &[m]).map(<[f64]>::len),
        Some(1)
    );
    assert!(values(&s, "model_time_per_output_token_seconds", &[m]).is_none());
}

/// The generation span nests under the request span and covers the stream; the request span of
/// a streamed response ends with its body, not with its head.
#[cfg(feature = "telemetry")]
mod spans {
    use super::*;
    use recwatch::telemetry::TraceLayer;
    use std::sync::Mutex;
    use tower::ServiceExt;
    use tracing::instrument::WithSubscriber;
    use tracing::span::{Attributes, Id};
    use tracing::Subscriber;
    use tracing_subscriber::layer::{Context as LayerContext, SubscriberExt};
    use tracing_subscriber::registry::LookupSpan;
    use tracing_subscriber::Layer;

    /// Records span openings (with their parent) and closings, in order.
    #[derive(Clone, Default)]
    struct Journal(Arc<Mutex<Vec<String>>>);

    impl Journal {
        fn entries(&self) -> Vec<String> {
            self.0.lock().unwrap().clone()
        }
    }

    impl<S: Subscriber + for<'a> LookupSpan<'a>> Layer<S> for Journal {
        fn on_new_span(&self, _: &Attributes<'_>, id: &Id, ctx: LayerContext<'_, S>) {
            let span = ctx.span(id).unwrap();
            let parent = span.parent().map(|p| p.name()).unwrap_or("-");
            self.0
                .lock()
                .unwrap()
                .push(format!("open {} under {parent}", span.name()));
        }
        fn on_close(&self, id: Id, ctx: LayerContext<'_, S>) {
            let name = ctx.span(&id).unwrap().name();
            self.0.lock().unwrap().push(format!("close {name}"));
        }
    }

    #[test]
    fn generation_span_under_request_span_and_request_span_ends_with_the_body() {
        let journal = Journal::default();
        let subscriber = tracing_subscriber::registry().with(journal.clone());
        let tracker = GenerationTracker::new("explainer");
        let app = Router::new()
            .route(
                "/explain",
                get(move || {
                    let stream = tracker.track(Ticker::new(3, Duration::from_millis(1)));
                    async move { Sse::new(stream) }
                }),
            )
            .route(
                "/plain",
                get(|| async { Sse::new(Ticker::new(3, Duration::from_millis(1))) }),
            )
            .layer(TraceLayer::new());
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let probe = journal.clone();
        rt.block_on(
            async move {
                for path in ["/explain", "/plain"] {
                    let response = app
                        .clone()
                        .oneshot(
                            axum::http::Request::get(path)
                                .body(axum::body::Body::empty())
                                .unwrap(),
                        )
                        .await
                        .unwrap();
                    let head_seen = probe.entries();
                    assert!(
                        !head_seen.iter().any(|e| e == "close HTTP request"),
                        "{path}: request span closed with the response head: {head_seen:?}"
                    );
                    let body = axum::body::to_bytes(response.into_body(), usize::MAX)
                        .await
                        .unwrap();
                    assert_eq!(body.windows(9).filter(|w| w == b"data: tok").count(), 3);
                    let done = probe.entries();
                    assert_eq!(
                        done.last().map(String::as_str),
                        Some("close HTTP request"),
                        "{path}: {done:?}"
                    );
                    probe.0.lock().unwrap().clear();
                    if path == "/explain" {
                        assert_eq!(
                            done,
                            [
                                "open HTTP request under -",
                                "open generation under HTTP request",
                                "close generation",
                                "close HTTP request"
                            ]
                        );
                    }
                }
            }
            .with_subscriber(subscriber),
        );
    }
}
