//! recwatch::tracking::mlflow without a server: validation, the journal, run guards.
#![cfg(feature = "tracking")]

use std::time::Duration;

use recwatch::tracking::mlflow::{FlushStatus, MlflowConfig, RunConfig, RunStatus};
use recwatch::tracking::{KeyProblem, TrackingError};
use serde_json::Value;

fn journal_dir(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("recwatch-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

fn lines(path: &std::path::Path) -> Vec<Value> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

#[test]
fn bad_keys_and_values_are_typed_errors_at_the_call() {
    let t = MlflowConfig::new()
        .with_journal_dir(journal_dir("validation"))
        .spawn()
        .unwrap();
    let run = t.start_run(RunConfig::new()).unwrap();
    assert!(matches!(
        run.log_metric("ndcg@10", 0.3, 0),
        Err(TrackingError::InvalidKey {
            what: "metric",
            problem: KeyProblem::Character('@'),
            ..
        })
    ));
    assert!(matches!(
        run.log_param("", 1),
        Err(TrackingError::InvalidKey {
            problem: KeyProblem::Empty,
            ..
        })
    ));
    assert!(matches!(
        run.log_param("blob", "x".repeat(6001)),
        Err(TrackingError::ValueTooLong {
            limit: 6000,
            len: 6001,
            ..
        })
    ));
    assert!(run.log_param("blob", "x".repeat(6000)).is_ok());
    assert!(matches!(
        run.log_artifact("../escape.txt", vec![]),
        Err(TrackingError::InvalidKey {
            problem: KeyProblem::Path,
            ..
        })
    ));
    assert!(matches!(
        run.register_model("a/b", "model"),
        Err(TrackingError::InvalidKey { .. })
    ));
    // Sanitising is explicit and documented.
    run.log_metric(&recwatch::tracking::sanitize_key("ndcg@10"), 0.3, 0)
        .unwrap();
    assert!(matches!(
        run.end(RunStatus::Running),
        Err(TrackingError::InvalidStatus(RunStatus::Running))
    ));
}

#[test]
fn without_a_server_everything_goes_to_the_journal_in_order() {
    let dir = journal_dir("offline-order");
    let t = MlflowConfig::new()
        .with_experiment_name("movie-recommendation")
        .with_journal_dir(&dir)
        .spawn()
        .unwrap();
    let run = t.start_run(RunConfig::new()).unwrap();
    assert!(run.name().starts_with("training_"));
    run.log_param("lr", 0.01).unwrap();
    for step in 0..3 {
        run.log_metric("train_loss", 1.0 / (step + 1) as f64, step)
            .unwrap();
    }
    run.log_artifact("plots/x.svg", b"<svg/>".to_vec()).unwrap();
    run.finish().unwrap();
    let status = t.shutdown(Duration::from_secs(10)).unwrap();
    let FlushStatus::Journaled { path, .. } = status else {
        panic!("{status:?}");
    };
    assert!(path.starts_with(&dir));
    let ops: Vec<String> = lines(&path)
        .iter()
        .map(|l| l["op"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(ops, ["create_run", "log_batch", "artifact", "end_run"]);
    let entries = lines(&path);
    assert_eq!(entries[0]["experiment"]["name"], "movie-recommendation");
    assert_eq!(entries[1]["metrics"].as_array().unwrap().len(), 3);
    assert_eq!(entries[3]["status"], "FINISHED");
    // Artifact bytes live beside the journal.
    let file = entries[2]["file"].as_str().unwrap();
    assert_eq!(std::fs::read(file).unwrap(), b"<svg/>");
}

#[test]
fn an_unreachable_server_journals_after_the_retries() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let t = MlflowConfig::new()
        .with_tracking_uri(format!("http://127.0.0.1:{port}"))
        .unwrap()
        .with_journal_dir(journal_dir("unreachable"))
        .with_max_retries(1)
        .with_retry_backoff(Duration::from_millis(1), Duration::from_millis(5))
        .spawn()
        .unwrap();
    assert!(!t.is_offline());
    let run = t.start_run(RunConfig::new()).unwrap();
    run.log_metric("m", 1.0, 0).unwrap();
    drop(run);
    match t.flush(Duration::from_secs(30)).unwrap() {
        FlushStatus::Journaled { path, pending } => {
            assert_eq!(pending, 3);
            assert_eq!(path, t.journal_path());
            // Dropped without end and not panicking: KILLED.
            assert_eq!(lines(&path)[2]["status"], "KILLED");
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_panicking_training_loop_ends_its_run_failed() {
    let dir = journal_dir("panic");
    let t = std::sync::Arc::new(MlflowConfig::new().with_journal_dir(&dir).spawn().unwrap());
    let t2 = t.clone();
    let result = std::thread::spawn(move || {
        let run = t2.start_run(RunConfig::new()).unwrap();
        for epoch in 0.. {
            run.log_metric("train_loss", 1.0, epoch).unwrap();
            if epoch == 2 {
                panic!("diverged");
            }
        }
    })
    .join();
    assert!(result.is_err());
    let FlushStatus::Journaled { path, .. } = t.flush(Duration::from_secs(10)).unwrap() else {
        panic!("offline");
    };
    let last = lines(&path).pop().unwrap();
    assert_eq!(last["op"], "end_run");
    assert_eq!(last["status"], "FAILED");
}
