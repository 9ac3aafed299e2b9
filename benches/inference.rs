//! Overhead of `#[track_inference]`: a bare function vs the same function annotated, sync and
//! async, in the same run, against recwatch's installed Prometheus recorder (real histogram
//! buckets). Also measured: a hand-written `metrics::histogram!` timer (what a naive macro
//! would expand to) and the non-macro API.
//!
//! Run: `cargo bench --bench inference -- --warm-up-time 1 --measurement-time 3`
//! After criterion, the bench prints its own paired estimate of the nanoseconds added per
//! call (median of interleaved rounds).

use std::future::Future;
use std::hint::black_box;
use std::pin::pin;
use std::task::{Context, Poll, Waker};
use std::time::Instant;

use criterion::{criterion_group, Criterion};
use recwatch::inference::{cache_global_recorder_handles, time_inference, InferenceModel};
use recwatch::track_inference;

const INFERENCE_DURATION_SECONDS: &str = recwatch::catalogue::INFERENCE_DURATION_SECONDS.name;

#[inline(never)]
fn bare(x: u64) -> u64 {
    black_box(x).wrapping_mul(0x9E37_79B9_7F4A_7C15)
}

#[track_inference(model = "bench")]
#[inline(never)]
fn tracked(x: u64) -> u64 {
    black_box(x).wrapping_mul(0x9E37_79B9_7F4A_7C15)
}

#[track_inference(model = "bench_result", version = "v1")]
#[inline(never)]
fn tracked_result(x: u64) -> Result<u64, String> {
    Ok(black_box(x).wrapping_mul(0x9E37_79B9_7F4A_7C15))
}

/// What a straightforward macro would generate: labels built and looked up per call.
#[inline(never)]
fn naive(x: u64) -> u64 {
    let start = Instant::now();
    let out = black_box(x).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    metrics::histogram!(INFERENCE_DURATION_SECONDS, "model" => "naive", "outcome" => "ok")
        .record(start.elapsed().as_secs_f64());
    out
}

#[inline(never)]
async fn bare_async(x: u64) -> u64 {
    black_box(x).wrapping_mul(0x9E37_79B9_7F4A_7C15)
}

#[track_inference(model = "bench_async")]
#[inline(never)]
async fn tracked_async(x: u64) -> u64 {
    black_box(x).wrapping_mul(0x9E37_79B9_7F4A_7C15)
}

/// Creates and polls a future once with a no-op waker (these complete on the first poll).
#[inline(always)]
fn poll_once<F: Future>(fut: F) -> F::Output {
    let mut fut = pin!(fut);
    match fut.as_mut().poll(&mut Context::from_waker(Waker::noop())) {
        Poll::Ready(v) => v,
        Poll::Pending => unreachable!("bench futures complete on the first poll"),
    }
}

fn install_recorder() {
    // recwatch's exporter (fixed-bucket histograms), installed by hand so that handle caching
    // stays off for the first group (`ExporterBuilder::install` would turn it on).
    let (recorder, handle) = recwatch::exporter::ExporterBuilder::new().build();
    metrics::set_global_recorder(recorder).expect("recorder installs once");
    std::mem::forget(handle); // keep the upkeep thread for the whole run
}

fn bench_sync(c: &mut Criterion, group: &str) {
    let model = InferenceModel::new("bench_model");
    let mut sync = c.benchmark_group(group);
    sync.bench_function("bare", |b| b.iter(|| bare(black_box(7))));
    sync.bench_function("track_inference", |b| b.iter(|| tracked(black_box(7))));
    sync.bench_function("track_inference_result_version", |b| {
        b.iter(|| tracked_result(black_box(7)))
    });
    sync.bench_function("naive_histogram_macro", |b| b.iter(|| naive(black_box(7))));
    sync.bench_function("inference_model_time", |b| {
        b.iter(|| model.time(|| bare(black_box(7))))
    });
    sync.bench_function("time_inference_str", |b| {
        b.iter(|| time_inference("bench_str", || bare(black_box(7))))
    });
    sync.finish();
}

fn bench_async(c: &mut Criterion, group: &str) {
    let mut asynch = c.benchmark_group(group);
    asynch.bench_function("bare", |b| b.iter(|| poll_once(bare_async(black_box(7)))));
    asynch.bench_function("track_inference", |b| {
        b.iter(|| poll_once(tracked_async(black_box(7))))
    });
    asynch.finish();
}

/// Default: every call resolves its handle from the active recorder.
fn uncached(c: &mut Criterion) {
    bench_sync(c, "inference_sync");
    bench_async(c, "inference_async");
}

/// After `cache_global_recorder_handles()`: call sites keep their handles.
fn cached(c: &mut Criterion) {
    bench_sync(c, "inference_sync_cached");
    bench_async(c, "inference_async_cached");
}

criterion_group!(uncached_group, uncached);
criterion_group!(cached_group, cached);

/// Paired estimate: interleaves rounds of `n` calls of each variant and takes the median of
/// the per-round differences, in ns per call.
fn added_ns(label: &str, base: impl Fn(u64) -> u64, with: impl Fn(u64) -> u64) {
    const N: u64 = 200_000;
    let round = |f: &dyn Fn(u64) -> u64| {
        let start = Instant::now();
        for i in 0..N {
            black_box(f(black_box(i)));
        }
        start.elapsed().as_nanos() as f64 / N as f64
    };
    let mut diffs = Vec::new();
    let (mut b_sum, mut w_sum) = (0.0, 0.0);
    for _ in 0..21 {
        let b = round(&base);
        let w = round(&with);
        b_sum += b;
        w_sum += w;
        diffs.push(w - b);
    }
    diffs.sort_by(f64::total_cmp);
    println!(
        "{label}: bare {:.1} ns, annotated {:.1} ns, added {:.1} ns/call (median of 21 paired rounds)",
        b_sum / 21.0,
        w_sum / 21.0,
        diffs[10]
    );
}

fn main() {
    install_recorder();
    uncached_group();
    println!("-- paired estimates, handles resolved per call (default)");
    paired();
    assert!(cache_global_recorder_handles());
    cached_group();
    println!("-- paired estimates, after cache_global_recorder_handles()");
    paired();
    println!("-- cost breakdown");
    breakdown();
    Criterion::default().configure_from_args().final_summary();
}

fn paired() {
    added_ns("sync ", bare, tracked);
    added_ns(
        "async",
        |x| poll_once(bare_async(x)),
        |x| poll_once(tracked_async(x)),
    );
    added_ns("naive histogram! (for comparison)", bare, naive);
}

/// Where the added time goes: the clock, the recorder lookup, the histogram record.
fn breakdown() {
    static LABELS: [metrics::Label; 2] = [
        metrics::Label::from_static_parts("model", "breakdown"),
        metrics::Label::from_static_parts("outcome", "ok"),
    ];
    static KEY: metrics::Key = metrics::Key::from_static_parts(INFERENCE_DURATION_SECONDS, &LABELS);
    static META: metrics::Metadata<'static> =
        metrics::Metadata::new("bench", metrics::Level::INFO, None);
    added_ns("  part: clock, quanta::Instant (used)", bare, |x| {
        let t = quanta::Instant::now();
        let v = bare(x);
        black_box(t.elapsed());
        v
    });
    added_ns("  part: clock, std::time::Instant (not used)", bare, |x| {
        let t = Instant::now();
        let v = bare(x);
        black_box(t.elapsed());
        v
    });
    added_ns(
        "  part: with_recorder + register_histogram (static key)",
        bare,
        |x| {
            let _ = metrics::with_recorder(|r| black_box(r.register_histogram(&KEY, &META)));
            bare(x)
        },
    );
    let h = metrics::with_recorder(|r| r.register_histogram(&KEY, &META));
    added_ns("  part: Histogram::record on a held handle", bare, |x| {
        h.record(1e-3);
        bare(x)
    });
}
