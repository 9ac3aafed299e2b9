//! Per-item cost of tracking a streamed generation: the same stream of `N` items polled bare and
//! wrapped by `Generation::track`, in the same run, against recwatch's installed recorder. The
//! per-generation work (start, first token, the end-of-stream recording of every metric) is
//! measured on its own.
//!
//! Run: `cargo bench --bench generation -- --warm-up-time 1 --measurement-time 3`
//! After criterion, the bench prints its own paired estimates (median of interleaved rounds):
//! nanoseconds added per streamed item, and per generation.

use std::hint::black_box;
use std::pin::Pin;
use std::task::{Context, Poll, Waker};
use std::time::Instant;

use criterion::{criterion_group, BenchmarkId, Criterion};
use futures_core::Stream;
use recwatch::inference::{GenerationTracker, ModelPrice, Outcome, StreamItem};

/// `left` items, each ready at once (a token generator that is never slower than the tracker).
struct Tokens {
    left: u64,
}

impl Stream for Tokens {
    type Item = u64;
    #[inline]
    fn poll_next(mut self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<Option<u64>> {
        if self.left == 0 {
            return Poll::Ready(None);
        }
        self.left -= 1;
        Poll::Ready(Some(black_box(self.left)))
    }
}

/// Polls `stream` to its end with a no-op waker; returns the sum of its items.
#[inline(never)]
fn drain<S: Stream<Item = u64>>(stream: S) -> u64 {
    let mut stream = std::pin::pin!(stream);
    let mut cx = Context::from_waker(Waker::noop());
    let mut sum = 0u64;
    while let Poll::Ready(Some(v)) = stream.as_mut().poll_next(&mut cx) {
        sum = sum.wrapping_add(v);
    }
    sum
}

fn tracker() -> GenerationTracker {
    GenerationTracker::new("bench_llm").with_price(
        ModelPrice::new()
            .with_input_per_1k(0.5)
            .and_then(|p| p.with_output_per_1k(1.5))
            .expect("valid prices"),
    )
}

fn install_recorder() {
    let (recorder, handle) = recwatch::exporter::ExporterBuilder::new().build();
    metrics::set_global_recorder(recorder).expect("recorder installs once");
    std::mem::forget(handle);
}

fn streams(c: &mut Criterion) {
    let tracker = tracker();
    let mut group = c.benchmark_group("generation_stream");
    for n in [1_u64, 256, 4096] {
        group.bench_with_input(BenchmarkId::new("bare", n), &n, |b, &n| {
            b.iter(|| drain(Tokens { left: n }))
        });
        group.bench_with_input(BenchmarkId::new("tracked", n), &n, |b, &n| {
            b.iter(|| {
                drain(
                    tracker
                        .start()
                        .with_input_tokens(32)
                        .track(Tokens { left: n }),
                )
            })
        });
        group.bench_with_input(BenchmarkId::new("tracked_with", n), &n, |b, &n| {
            b.iter(|| {
                drain(
                    tracker
                        .start()
                        .track_with(Tokens { left: n }, |v| StreamItem::Tokens(1 + (v & 1))),
                )
            })
        });
    }
    group.finish();
    let mut group = c.benchmark_group("generation_guard");
    group.bench_function("start_finish_one_token", |b| {
        b.iter(|| {
            let mut g = tracker.start().with_input_tokens(32);
            g.add_output_tokens(1);
            g.finish(Outcome::Ok)
        })
    });
    group.finish();
}

criterion_group!(benches, streams);

/// Paired estimate: interleaved rounds of each variant; median of the per-round differences.
fn added(label: &str, per: f64, base: impl Fn() -> u64, with: impl Fn() -> u64) {
    const ROUNDS: usize = 21;
    const REPS: u32 = 200;
    let round = |f: &dyn Fn() -> u64| {
        let start = Instant::now();
        for _ in 0..REPS {
            black_box(f());
        }
        start.elapsed().as_nanos() as f64 / f64::from(REPS) / per
    };
    let mut diffs = Vec::with_capacity(ROUNDS);
    for _ in 0..ROUNDS {
        let b = round(&base);
        let w = round(&with);
        diffs.push((b, w, w - b));
    }
    diffs.sort_by(|x, y| x.2.total_cmp(&y.2));
    let (b, w, d) = diffs[ROUNDS / 2];
    println!("{label}: bare {b:.2} ns, tracked {w:.2} ns, added {d:.2} ns (median of {ROUNDS} paired rounds)");
}

fn paired() {
    let tracker = tracker();
    const LONG: u64 = 100_000;
    added(
        "per streamed item (100k-item stream, start and end amortised)",
        LONG as f64,
        || drain(Tokens { left: LONG }),
        || drain(tracker.start().track(Tokens { left: LONG })),
    );
    added(
        "per streamed item, track_with classifier",
        LONG as f64,
        || drain(Tokens { left: LONG }),
        || {
            drain(
                tracker
                    .start()
                    .track_with(Tokens { left: LONG }, |v| StreamItem::Tokens(1 + (v & 1))),
            )
        },
    );
    added(
        "per generation (start, first token, end-of-stream metrics), 1-item stream",
        1.0,
        || drain(Tokens { left: 1 }),
        || {
            drain(
                tracker
                    .start()
                    .with_input_tokens(32)
                    .track(Tokens { left: 1 }),
            )
        },
    );
}

fn main() {
    install_recorder();
    benches();
    println!("-- paired estimates");
    paired();
    Criterion::default().configure_from_args().final_summary();
}
