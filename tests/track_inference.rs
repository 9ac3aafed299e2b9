//! Behaviour of `#[track_inference]` and the timer API, per exit path, asserted through a
//! local recorder.
#![cfg(feature = "macros")]

use std::collections::BTreeMap;
use std::future::Future;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::pin::pin;
use std::task::{Context, Waker};

use metrics_util::debugging::{DebugValue, DebuggingRecorder};
use metrics_util::MetricKind;
use recwatch::inference::{
    record_batch_size, time_inference, try_time_inference, InferenceModel, InferenceTimer, Outcome,
};

const INFERENCE_DURATION_SECONDS: &str = recwatch::catalogue::INFERENCE_DURATION_SECONDS.name;
const INFERENCE_BATCH_SIZE: &str = recwatch::catalogue::INFERENCE_BATCH_SIZE.name;
use recwatch::track_inference;

/// Histogram observation counts by (name, sorted `k=v` labels).
type Counts = BTreeMap<(String, String), usize>;

fn record(f: impl FnOnce()) -> Counts {
    let recorder = DebuggingRecorder::new();
    metrics::with_local_recorder(&recorder, f);
    let mut out = Counts::new();
    for (ck, _, _, value) in recorder.snapshotter().snapshot().into_vec() {
        assert_eq!(
            ck.kind(),
            MetricKind::Histogram,
            "only histograms are emitted"
        );
        let key = ck.key();
        let mut labels: Vec<String> = key
            .labels()
            .map(|l| format!("{}={}", l.key(), l.value()))
            .collect();
        labels.sort();
        let DebugValue::Histogram(values) = value else {
            unreachable!()
        };
        assert!(values.iter().all(|v| v.into_inner() >= 0.0));
        *out.entry((key.name().to_string(), labels.join(",")))
            .or_default() += values.len();
    }
    out
}

fn duration(labels: &str, n: usize) -> ((String, String), usize) {
    (
        (INFERENCE_DURATION_SECONDS.to_string(), labels.to_string()),
        n,
    )
}

fn expect(pairs: impl IntoIterator<Item = ((String, String), usize)>) -> Counts {
    pairs.into_iter().collect()
}

/// Runs a future to completion on a current-thread runtime built inside the recorder scope.
fn block_on<F: Future>(f: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(f)
}

fn quiet_panic<R>(f: impl FnOnce() -> R) -> std::thread::Result<R> {
    catch_unwind(AssertUnwindSafe(f))
}

// ---- sync functions -------------------------------------------------------------------

#[track_inference]
fn default_name(x: u32) -> u32 {
    x + 1
}

#[track_inference(model = "parser", version = "v2")]
fn parse(input: &str) -> Result<u32, std::num::ParseIntError> {
    if input.is_empty() {
        return Ok(0);
    }
    let n: u32 = input.parse()?;
    Ok(n * 2)
}

#[track_inference(model = "boom")]
fn boom(fail: bool) -> u32 {
    if fail {
        panic!("model exploded");
    }
    7
}

type InferResult<T> = Result<T, String>;

#[track_inference(version = "alias")]
fn aliased(ok: bool) -> InferResult<u8> {
    if ok {
        Ok(1)
    } else {
        Err("bad".into())
    }
}

#[test]
fn sync_ok_uses_function_name_by_default() {
    let counts = record(|| {
        assert_eq!(default_name(1), 2);
        assert_eq!(default_name(2), 3);
    });
    assert_eq!(
        counts,
        expect([duration("model=default_name,outcome=ok", 2)])
    );
}

#[test]
fn sync_result_ok_error_question_mark_and_early_return() {
    let counts = record(|| {
        assert_eq!(parse("21"), Ok(42)); // ok
        assert_eq!(parse(""), Ok(0)); // early `return Ok`
        assert!(parse("x").is_err()); // `?` early return
    });
    assert_eq!(
        counts,
        expect([
            duration("model=parser,model_version=v2,outcome=error", 1),
            duration("model=parser,model_version=v2,outcome=ok", 2),
        ])
    );
}

#[test]
fn result_alias_is_classified_by_type() {
    let counts = record(|| {
        assert!(aliased(true).is_ok());
        assert!(aliased(false).is_err());
    });
    assert_eq!(
        counts,
        expect([
            duration("model=aliased,model_version=alias,outcome=error", 1),
            duration("model=aliased,model_version=alias,outcome=ok", 1),
        ])
    );
}

#[test]
fn sync_panic_records_panic_and_propagates() {
    let counts = record(|| {
        let err = quiet_panic(|| boom(true)).unwrap_err();
        assert_eq!(err.downcast_ref::<&str>(), Some(&"model exploded"));
        assert_eq!(boom(false), 7);
    });
    assert_eq!(
        counts,
        expect([
            duration("model=boom,outcome=ok", 1),
            duration("model=boom,outcome=panic", 1),
        ])
    );
}

// ---- methods, generics, impl Trait ----------------------------------------------------

struct Model {
    weights: Vec<f32>,
    calls: u32,
}

impl Model {
    #[track_inference(model = "by_ref")]
    fn score(&self, i: usize) -> Option<&f32> {
        self.weights.get(i)
    }

    #[track_inference(model = "by_mut")]
    fn bump(&mut self) -> &mut u32 {
        self.calls += 1;
        &mut self.calls
    }

    #[track_inference(model = "by_value")]
    fn into_weights(self) -> Vec<f32> {
        self.weights
    }

    #[track_inference(model = "generic")]
    fn top<T, I>(items: I) -> Option<T>
    where
        T: Ord,
        I: IntoIterator<Item = T>,
    {
        items.into_iter().max()
    }

    #[track_inference(model = "impl_trait")]
    fn iter(&self) -> impl Iterator<Item = &f32> + '_ {
        self.weights.iter()
    }
}

#[test]
fn methods_generics_and_impl_trait() {
    let counts = record(|| {
        let mut m = Model {
            weights: vec![0.5, 0.25],
            calls: 0,
        };
        assert_eq!(m.score(1), Some(&0.25));
        *m.bump() += 10;
        assert_eq!(m.calls, 11);
        assert_eq!(m.iter().count(), 2);
        assert_eq!(Model::top(vec![3, 9, 2]), Some(9));
        assert_eq!(m.into_weights(), vec![0.5, 0.25]);
    });
    assert_eq!(
        counts,
        expect([
            duration("model=by_mut,outcome=ok", 1),
            duration("model=by_ref,outcome=ok", 1),
            duration("model=by_value,outcome=ok", 1),
            duration("model=generic,outcome=ok", 1),
            duration("model=impl_trait,outcome=ok", 1),
        ])
    );
}

// ---- async functions -------------------------------------------------------------------

#[track_inference(model = "llm")]
async fn generate(prompt: &str) -> Result<String, String> {
    tokio::task::yield_now().await;
    if prompt.is_empty() {
        return Err("empty prompt".into());
    }
    let upper = prompt.to_uppercase();
    let n: usize = "3"
        .parse()
        .map_err(|e: std::num::ParseIntError| e.to_string())?;
    Ok(upper.repeat(n))
}

#[track_inference(model = "llm_panic")]
async fn generate_panics() -> u8 {
    tokio::task::yield_now().await;
    panic!("llm panicked")
}

#[track_inference(model = "llm_slow")]
async fn generate_forever() -> u8 {
    std::future::pending::<()>().await;
    1
}

struct AsyncModel(u32);

impl AsyncModel {
    #[track_inference(model = "async_by_ref")]
    async fn get(&self) -> &u32 {
        &self.0
    }

    #[track_inference(model = "async_by_mut")]
    async fn set(&mut self, v: u32) {
        self.0 = v;
    }

    #[track_inference(model = "async_by_value")]
    async fn take(self) -> u32 {
        self.0
    }
}

#[test]
fn async_ok_error_and_methods() {
    let counts = record(|| {
        block_on(async {
            assert_eq!(generate("ab").await.unwrap(), "ABABAB");
            assert!(generate("").await.is_err());
            let mut m = AsyncModel(1);
            m.set(5).await;
            assert_eq!(*m.get().await, 5);
            assert_eq!(m.take().await, 5);
        });
    });
    assert_eq!(
        counts,
        expect([
            duration("model=async_by_mut,outcome=ok", 1),
            duration("model=async_by_ref,outcome=ok", 1),
            duration("model=async_by_value,outcome=ok", 1),
            duration("model=llm,outcome=error", 1),
            duration("model=llm,outcome=ok", 1),
        ])
    );
}

#[test]
fn async_panic_records_panic_and_propagates() {
    let counts = record(|| {
        let err = quiet_panic(|| block_on(generate_panics())).unwrap_err();
        assert_eq!(err.downcast_ref::<&str>(), Some(&"llm panicked"));
    });
    assert_eq!(
        counts,
        expect([duration("model=llm_panic,outcome=panic", 1)])
    );
}

#[test]
fn async_panic_caught_by_executor_then_dropped_is_still_panic() {
    // An executor that catches the panic of `poll` and drops the future afterwards, when the
    // thread is no longer panicking.
    let counts = record(|| {
        let mut fut = Box::pin(generate_panics());
        let mut cx = Context::from_waker(Waker::noop());
        assert!(fut.as_mut().poll(&mut cx).is_pending());
        assert!(quiet_panic(|| fut.as_mut().poll(&mut cx)).is_err());
        drop(fut);
    });
    assert_eq!(
        counts,
        expect([duration("model=llm_panic,outcome=panic", 1)])
    );
}

#[test]
fn async_dropped_future_records_cancelled() {
    let counts = record(|| {
        block_on(async {
            let timed_out =
                tokio::time::timeout(std::time::Duration::from_millis(1), generate_forever()).await;
            assert!(timed_out.is_err());
        });
        // Dropped after one poll, by hand.
        let mut fut = pin!(generate("x"));
        let mut cx = Context::from_waker(Waker::noop());
        assert!(fut.as_mut().poll(&mut cx).is_pending());
    });
    assert_eq!(
        counts,
        expect([
            duration("model=llm,outcome=cancelled", 1),
            duration("model=llm_slow,outcome=cancelled", 1),
        ])
    );
}

#[test]
fn async_never_polled_records_nothing() {
    let counts = record(|| drop(generate("never polled")));
    assert_eq!(counts, Counts::new());
}

#[test]
fn async_spawned_panic_is_panic() {
    let counts = record(|| {
        block_on(async {
            // Spawned tasks: tokio catches the panic; the local recorder is per-thread and a
            // current-thread runtime polls tasks on this thread.
            let joined = tokio::task::spawn(generate_panics()).await;
            assert!(joined.unwrap_err().is_panic());
        });
    });
    assert_eq!(
        counts,
        expect([duration("model=llm_panic,outcome=panic", 1)])
    );
}

// ---- non-macro API -----------------------------------------------------------------------

#[test]
fn timer_guard_and_helpers() {
    let counts = record(|| {
        let model = InferenceModel::new("batch").with_version("v1");
        for batch in [&[1, 2, 3][..], &[4]] {
            let timer = model.start_timer();
            model.record_batch_size(batch.len());
            let _: i32 = batch.iter().sum();
            assert!(timer.finish(Outcome::Ok) >= std::time::Duration::ZERO);
        }
        let t = InferenceTimer::start("guard");
        assert_eq!(t.finish_result(&Err::<(), _>(())), Outcome::Error);
        drop(InferenceTimer::start("guard")); // dropped unfinished
        assert_eq!(time_inference("closure", || 5), 5);
        assert!(try_time_inference("closure", || "x".parse::<u8>()).is_err());
        assert!(quiet_panic(|| time_inference("closure", || panic!("closure panicked"))).is_err());
        assert_eq!(model.time(|| 1), 1);
        assert_eq!(model.try_time(|| Ok::<_, ()>(2)), Ok(2));
        record_batch_size(String::from("dynamic"), 64);
    });
    assert_eq!(
        counts,
        expect([
            duration("model=batch,model_version=v1,outcome=ok", 4),
            duration("model=closure,outcome=error", 1),
            duration("model=closure,outcome=ok", 1),
            duration("model=closure,outcome=panic", 1),
            duration("model=guard,outcome=cancelled", 1),
            duration("model=guard,outcome=error", 1),
            (
                (
                    INFERENCE_BATCH_SIZE.into(),
                    "model=batch,model_version=v1".into()
                ),
                2
            ),
            ((INFERENCE_BATCH_SIZE.into(), "model=dynamic".into()), 1),
        ])
    );
}

#[test]
fn no_recorder_is_a_no_op() {
    assert_eq!(default_name(0), 1);
    assert_eq!(block_on(generate("a")).unwrap(), "AAA");
}

// ---- Prometheus exposition -------------------------------------------------------------

#[track_inference(model = "ranker", version = "v3")]
fn ranker(x: u32) -> Result<u32, String> {
    Ok(x)
}

#[test]
fn exposition_carries_service_version_and_model_version_together() {
    // The service's global `version` and the call site's `model_version` are different
    // labels, so neither hides the other.
    let (recorder, handle) = recwatch::exporter::ExporterBuilder::new()
        .with_service("svc")
        .with_version("1.4.2")
        .build();
    const N: u32 = 25;
    metrics::with_local_recorder(&recorder, || {
        for i in 0..N {
            ranker(i).unwrap();
        }
    });
    let text = handle.render();
    let labels = r#"service="svc",version="1.4.2",model="ranker",model_version="v3",outcome="ok""#;
    assert!(
        text.contains(&format!(
            "model_inference_duration_seconds_count{{{labels}}} {N}"
        )),
        "{text}"
    );
    assert!(
        text.contains(&format!(
            "model_inference_duration_seconds_bucket{{{labels},le=\"120\"}} {N}"
        )),
        "{text}"
    );
    assert!(text.contains(&format!(
        "model_inference_duration_seconds_bucket{{{labels},le=\"+Inf\"}} {N}"
    )));
}
