//! What a training loop pays per logged metric: recwatch's `Run::log_metric` (validate and
//! enqueue; the worker sends batches in the background) against a synchronous REST call per
//! metric (`runs/log-metric`, what a blocking client does), against the same real MLflow server.
//!
//! Run: `scripts/bench_tracking.sh` (starts `mlflow==3.17.2` and sets `MLFLOW_TRACKING_URI`).
//! Without `MLFLOW_TRACKING_URI` only the enqueue cost is measured (offline journal).

use std::hint::black_box;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion};
use recwatch::tracking::mlflow::{MlflowConfig, RunConfig};

fn bench(c: &mut Criterion) {
    let uri = std::env::var("MLFLOW_TRACKING_URI").ok();
    let journal = std::env::temp_dir().join(format!("recwatch-bench-{}", std::process::id()));
    let mut config = MlflowConfig::new()
        .with_experiment_name("recwatch-bench")
        .with_journal_dir(&journal);
    if let Some(uri) = &uri {
        config = config.with_tracking_uri(uri.clone()).expect("http:// URI");
    }
    let tracker = config.spawn().expect("tracker");
    let run = tracker.start_run(RunConfig::new()).expect("run");
    let mut step = 0i64;
    c.bench_function("recwatch_log_metric_enqueue", |b| {
        b.iter(|| {
            step += 1;
            run.log_metric("train_loss", black_box(0.5), step)
                .expect("enqueued");
        })
    });
    let status = tracker.flush(Duration::from_secs(600)).expect("flush");
    eprintln!("recwatch flush after the bench: {status:?}");

    if let Some(uri) = uri {
        let run_id = run.run_id().expect("run on the server");
        let http = reqwest::blocking::Client::new();
        let url = format!(
            "{}/api/2.0/mlflow/runs/log-metric",
            uri.trim_end_matches('/')
        );
        let mut step = 0i64;
        let mut group = c.benchmark_group("peer");
        group.sample_size(20);
        group.bench_function("synchronous_rest_log_metric", |b| {
            b.iter(|| {
                step += 1;
                let r = http
                    .post(&url)
                    .json(&serde_json::json!({
                        "run_id": run_id, "key": "sync_loss", "value": 0.5,
                        "timestamp": 0, "step": step,
                    }))
                    .send()
                    .expect("log-metric");
                assert!(r.status().is_success());
            })
        });
        group.finish();
    }
    run.finish().expect("end");
    let _ = tracker.shutdown(Duration::from_secs(60));
    let _ = std::fs::remove_dir_all(journal);
}

criterion_group!(benches, bench);
criterion_main!(benches);
