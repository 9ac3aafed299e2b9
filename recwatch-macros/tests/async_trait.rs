//! `#[track_inference]` under `#[async_trait]` times the boxed future (outcome included),
//! not the call that builds it.

use std::task::{Context, Waker};

use async_trait::async_trait;
use metrics_util::debugging::{DebugValue, DebuggingRecorder};
use recwatch::track_inference;

#[async_trait]
trait Recommender {
    async fn recommend(&self, k: usize) -> Result<Vec<u64>, String>;
}

struct Popular;

#[async_trait]
impl Recommender for Popular {
    #[track_inference(model = "popular")]
    async fn recommend(&self, k: usize) -> Result<Vec<u64>, String> {
        tokio::task::yield_now().await;
        if k == 0 {
            return Err("k = 0".into());
        }
        Ok((0..k as u64).collect())
    }
}

fn outcomes(recorder: &DebuggingRecorder) -> Vec<(String, usize)> {
    let mut out: Vec<_> = recorder
        .snapshotter()
        .snapshot()
        .into_vec()
        .into_iter()
        .map(|(ck, _, _, v)| {
            let labels: Vec<String> = ck
                .key()
                .labels()
                .map(|l| format!("{}={}", l.key(), l.value()))
                .collect();
            let DebugValue::Histogram(v) = v else {
                panic!("not a histogram")
            };
            (labels.join(","), v.len())
        })
        .collect();
    out.sort();
    out
}

#[test]
fn async_trait_method_records_ok_error_and_cancelled() {
    let recorder = DebuggingRecorder::new();
    metrics::with_local_recorder(&recorder, || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        let model: Box<dyn Recommender + Send + Sync> = Box::new(Popular);
        rt.block_on(async {
            assert_eq!(model.recommend(2).await, Ok(vec![0, 1]));
            assert!(model.recommend(0).await.is_err());
        });
        // Building the future records nothing; dropping it after a poll records `cancelled`.
        let mut fut = model.recommend(1);
        let mut cx = Context::from_waker(Waker::noop());
        assert!(fut.as_mut().poll(&mut cx).is_pending());
        drop(fut);
        drop(model.recommend(1));
    });
    assert_eq!(
        outcomes(&recorder),
        vec![
            ("model=popular,outcome=cancelled".to_string(), 1),
            ("model=popular,outcome=error".to_string(), 1),
            ("model=popular,outcome=ok".to_string(), 1),
        ]
    );
}
