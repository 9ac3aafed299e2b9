//! recwatch::tracking::mlflow against a real MLflow server (`mlflow==3.17.2` from PyPI).
//!
//! Ignored by default: `scripts/integration-mlflow.sh` starts the server once and runs them with
//! `MLFLOW_TRACKING_URI` set. The outage test starts (and stops, and restarts) a server of its
//! own with `scripts/start-mlflow.sh`. Without the variable the tests fail loudly.
#![cfg(feature = "tracking")]

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, Barrier};
use std::time::Duration;

use recwatch::tracking::mlflow::{
    replay_journal, FlushStatus, MlflowConfig, MlflowTracker, RunConfig, RunStatus,
};
use recwatch::TrackingError;
use serde_json::{json, Value};

const LONG: Duration = Duration::from_secs(120);

fn uri() -> String {
    std::env::var("MLFLOW_TRACKING_URI").expect(
        "MLFLOW_TRACKING_URI must point at a real MLflow server (run scripts/integration-mlflow.sh)",
    )
}

fn unique(prefix: &str) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    format!("{prefix}-{nanos}-{}", std::process::id())
}

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(unique(name));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// A few REST reads to check what the server holds, independent of the client under test.
struct Server {
    base: String,
    http: reqwest::blocking::Client,
}

impl Server {
    fn new(base: &str) -> Self {
        Self {
            base: base.trim_end_matches('/').to_owned(),
            http: reqwest::blocking::Client::new(),
        }
    }
    fn get(&self, endpoint: &str, query: &[(&str, &str)]) -> Value {
        let resp = self
            .http
            .get(format!("{}/api/2.0/mlflow/{endpoint}", self.base))
            .query(query)
            .send()
            .unwrap();
        resp.json().unwrap()
    }
    fn post(&self, endpoint: &str, body: Value) -> Value {
        let resp = self
            .http
            .post(format!("{}/api/2.0/mlflow/{endpoint}", self.base))
            .json(&body)
            .send()
            .unwrap();
        resp.json().unwrap()
    }
    fn run(&self, run_id: &str) -> Value {
        self.get("runs/get", &[("run_id", run_id)])["run"].clone()
    }
    fn history(&self, run_id: &str, key: &str) -> Vec<(i64, f64)> {
        let v = self.get(
            "metrics/get-history",
            &[
                ("run_id", run_id),
                ("metric_key", key),
                ("max_results", "25000"),
            ],
        );
        let mut points: Vec<(i64, f64)> = v["metrics"]
            .as_array()
            .cloned()
            .unwrap_or_default()
            .iter()
            .map(|m| {
                (
                    m["step"].as_i64().unwrap(),
                    m["value"].as_f64().unwrap_or(f64::NAN),
                )
            })
            .collect();
        points.sort_by_key(|p| p.0);
        points
    }
    fn params(&self, run_id: &str) -> Vec<(String, String)> {
        self.run(run_id)["data"]["params"]
            .as_array()
            .cloned()
            .unwrap_or_default()
            .iter()
            .map(|p| {
                (
                    p["key"].as_str().unwrap().to_owned(),
                    p["value"].as_str().unwrap().to_owned(),
                )
            })
            .collect()
    }
    fn artifacts(&self, run_id: &str, path: &str) -> Vec<String> {
        self.get("artifacts/list", &[("run_id", run_id), ("path", path)])["files"]
            .as_array()
            .cloned()
            .unwrap_or_default()
            .iter()
            .map(|f| f["path"].as_str().unwrap().to_owned())
            .collect()
    }
}

fn tracker(uri: &str, experiment: &str, journal: &Path) -> MlflowTracker {
    MlflowConfig::new()
        .with_tracking_uri(uri)
        .unwrap()
        .with_experiment_name(experiment)
        .with_journal_dir(journal)
        .with_max_retries(2)
        .with_retry_backoff(Duration::from_millis(50), Duration::from_millis(500))
        .with_probe_interval(Duration::from_millis(100))
        .spawn()
        .unwrap()
}

#[test]
#[ignore = "needs a real MLflow server: scripts/integration-mlflow.sh"]
fn a_whole_run_arrives_batched_within_the_server_limits() {
    let uri = uri();
    let server = Server::new(&uri);
    let dir = temp_dir("mlflow-run");
    let experiment = unique("recwatch-run");
    let t = tracker(&uri, &experiment, &dir);
    let run = t
        .start_run(
            RunConfig::new()
                .with_name("full-run")
                .add_tag("team", "recs"),
        )
        .unwrap();
    // 150 params and 2500 points of one metric: several log-batch requests.
    run.log_params((0..150).map(|i| (format!("p{i}"), i)))
        .unwrap();
    for step in 0..2500 {
        run.log_metric("train_loss", 1.0 / (step + 1) as f64, step)
            .unwrap();
    }
    run.log_metric("odd", f64::NAN, 0).unwrap();
    run.set_tag("stage", "test").unwrap();
    run.log_artifact("plots/a.txt", b"hello".to_vec()).unwrap();
    run.log_artifact("model/weights.bin", vec![7; 4096])
        .unwrap();
    run.register_model(&unique("recwatch-model"), "model")
        .unwrap();
    let local = run.local_id().to_owned();
    let handle = run;
    assert_eq!(t.flush(LONG).unwrap(), FlushStatus::Delivered);
    let run_id = handle
        .run_id()
        .expect("the run exists on the server after a flush");
    handle.finish().unwrap();
    assert_eq!(t.shutdown(LONG).unwrap(), FlushStatus::Delivered);

    let got = server.run(&run_id);
    assert_eq!(got["info"]["status"], "FINISHED");
    assert_eq!(got["info"]["run_name"], "full-run");
    let tags = got["data"]["tags"].as_array().unwrap();
    for (k, v) in [
        ("team", "recs"),
        ("stage", "test"),
        ("recwatch.local_id", local.as_str()),
    ] {
        assert!(
            tags.iter().any(|t| t["key"] == k && t["value"] == v),
            "tag {k}"
        );
    }
    assert_eq!(server.params(&run_id).len(), 150);
    let history = server.history(&run_id, "train_loss");
    assert_eq!(history.len(), 2500);
    assert!(history.iter().enumerate().all(|(i, (s, _))| *s == i as i64));
    assert!(server.history(&run_id, "odd")[0].1.is_nan());
    assert_eq!(server.artifacts(&run_id, "plots"), ["plots/a.txt"]);
    assert_eq!(server.artifacts(&run_id, "model"), ["model/weights.bin"]);
    let versions = server.get(
        "model-versions/search",
        &[("filter", &format!("run_id='{run_id}'"))],
    );
    assert_eq!(versions["model_versions"].as_array().unwrap().len(), 1);
}

#[test]
#[ignore = "needs a real MLflow server: scripts/integration-mlflow.sh"]
fn clients_racing_to_create_one_experiment_share_it() {
    let uri = uri();
    let server = Server::new(&uri);
    let experiment = unique("recwatch-race");
    let n = 6;
    let barrier = Arc::new(Barrier::new(n));
    let threads: Vec<_> = (0..n)
        .map(|i| {
            let (uri, experiment, barrier) = (uri.clone(), experiment.clone(), barrier.clone());
            std::thread::spawn(move || {
                let dir = temp_dir("mlflow-race");
                let t = tracker(&uri, &experiment, &dir);
                barrier.wait();
                let run = t
                    .start_run(RunConfig::new().with_name(format!("racer-{i}")))
                    .unwrap();
                run.log_metric("x", i as f64, 0).unwrap();
                assert_eq!(t.flush(LONG).unwrap(), FlushStatus::Delivered);
                let id = run.run_id().unwrap();
                run.finish().unwrap();
                assert_eq!(t.shutdown(LONG).unwrap(), FlushStatus::Delivered);
                id
            })
        })
        .collect();
    let run_ids: Vec<String> = threads.into_iter().map(|t| t.join().unwrap()).collect();
    let exp = server.get(
        "experiments/get-by-name",
        &[("experiment_name", &experiment)],
    );
    let exp_id = exp["experiment"]["experiment_id"]
        .as_str()
        .unwrap()
        .to_owned();
    for id in &run_ids {
        assert_eq!(server.run(id)["info"]["experiment_id"], exp_id.as_str());
    }
    let found = server.post(
        "experiments/search",
        json!({ "filter": format!("name = '{experiment}'"), "max_results": 10 }),
    );
    assert_eq!(found["experiments"].as_array().unwrap().len(), 1);
}

#[test]
#[ignore = "needs a real MLflow server: scripts/integration-mlflow.sh"]
fn a_panic_in_the_training_loop_ends_the_run_failed_and_rejections_are_typed() {
    let uri = uri();
    let server = Server::new(&uri);
    let dir = temp_dir("mlflow-panic");
    let t = Arc::new(tracker(&uri, &unique("recwatch-panic"), &dir));
    let t2 = t.clone();
    let training = std::thread::spawn(move || {
        let run = t2.start_run(RunConfig::new()).unwrap();
        run.log_metric("train_loss", 0.5, 0).unwrap();
        let local = run.local_id().to_owned();
        // The run guard is dropped while unwinding: it ends the run FAILED.
        std::panic::panic_any(local);
    });
    let local = *training.join().unwrap_err().downcast::<String>().unwrap();
    assert_eq!(t.flush(LONG).unwrap(), FlushStatus::Delivered);
    let run = t.start_run(RunConfig::new()).unwrap();
    run.log_param("lr", 0.1).unwrap();
    run.log_param("lr", 0.2).unwrap();
    match t.flush(LONG) {
        Err(TrackingError::Rejected { op, source, .. }) => {
            assert_eq!(op, "log-batch");
            assert_eq!(source.error_code, "INVALID_PARAMETER_VALUE");
        }
        other => panic!("expected a rejection, got {other:?}"),
    }
    let run_id = run.run_id().unwrap();
    let exp_id = server.run(&run_id)["info"]["experiment_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let runs = server.post(
        "runs/search",
        json!({ "experiment_ids": [exp_id],
                "filter": format!("tags.`recwatch.local_id` = '{local}'") }),
    );
    assert_eq!(runs["runs"][0]["info"]["status"], "FAILED");
    run.end(RunStatus::Killed).unwrap();
    drop(t);
}

#[test]
#[ignore = "needs a real MLflow server: scripts/integration-mlflow.sh"]
fn an_offline_journal_replays_to_the_server() {
    let uri = uri();
    let server = Server::new(&uri);
    let dir = temp_dir("mlflow-offline");
    let experiment = unique("recwatch-offline");
    let t = MlflowConfig::new()
        .with_experiment_name(&experiment)
        .with_journal_dir(&dir)
        .spawn()
        .unwrap();
    assert!(t.is_offline());
    let run = t.start_run(RunConfig::new().with_name("offline")).unwrap();
    run.log_param("epochs", 3).unwrap();
    for step in 0..3 {
        run.log_metric("val_loss", 1.0 - step as f64 * 0.1, step)
            .unwrap();
    }
    run.log_artifact("plots/p.svg", b"<svg/>".to_vec()).unwrap();
    run.finish().unwrap();
    let FlushStatus::Journaled { path, pending } = t.shutdown(LONG).unwrap() else {
        panic!("offline trackers journal");
    };
    // create-run, one coalesced log-batch (param and three points), the artifact, end-run.
    assert_eq!(pending, 4);
    let config = MlflowConfig::new().with_tracking_uri(&uri).unwrap();
    let report = replay_journal(&config, &path).unwrap();
    assert!(report.complete);
    assert_eq!(report.replayed, 4);
    assert!(!path.exists(), "a delivered journal is removed");

    let exp = server.get(
        "experiments/get-by-name",
        &[("experiment_name", &experiment)],
    );
    let exp_id = exp["experiment"]["experiment_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let runs = server.post("runs/search", json!({ "experiment_ids": [exp_id] }));
    let runs = runs["runs"].as_array().unwrap();
    assert_eq!(runs.len(), 1);
    let run_id = runs[0]["info"]["run_id"].as_str().unwrap();
    assert_eq!(runs[0]["info"]["status"], "FINISHED");
    assert_eq!(server.history(run_id, "val_loss").len(), 3);
    assert_eq!(server.artifacts(run_id, "plots"), ["plots/p.svg"]);
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn start_server(port: u16, data: &Path) -> u32 {
    let out = Command::new("bash")
        .arg(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/scripts/start-mlflow.sh"
        ))
        .arg(port.to_string())
        .arg(data)
        .output()
        .expect("bash runs scripts/start-mlflow.sh");
    assert!(
        out.status.success(),
        "mlflow server did not start: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    std::fs::read_to_string(data.join("server.pid"))
        .unwrap()
        .trim()
        .parse()
        .unwrap()
}

fn stop_server(pid: u32, port: u16) {
    // The script starts the server in its own process group.
    let _ = Command::new("kill")
        .arg("--")
        .arg(format!("-{pid}"))
        .status();
    // Wait until the port no longer answers (the kill is asynchronous).
    for _ in 0..600 {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("mlflow server {pid} still listening on {port}");
}

#[test]
#[ignore = "needs mlflow (scripts/install-mlflow.sh): scripts/integration-mlflow.sh"]
fn a_server_stopped_mid_run_gets_everything_after_it_comes_back() {
    let port = free_port();
    let data = temp_dir("mlflow-outage-server");
    let pid = start_server(port, &data);
    let uri = format!("http://127.0.0.1:{port}");
    let server = Server::new(&uri);
    let journal_dir = temp_dir("mlflow-outage-journal");
    let t = tracker(&uri, "movie-recommendation", &journal_dir);
    let run = t.start_run(RunConfig::new().with_name("outage")).unwrap();
    run.log_param("epochs", 100).unwrap();
    for step in 0..50 {
        run.log_metric("train_loss", step as f64, step).unwrap();
    }
    assert_eq!(t.flush(LONG).unwrap(), FlushStatus::Delivered);
    let run_id = run.run_id().unwrap();

    stop_server(pid, port);
    // Training goes on while the server is down: every call returns at once.
    for step in 50..100 {
        run.log_metric("train_loss", step as f64, step).unwrap();
        run.log_metric("val_loss", step as f64 / 2.0, step).unwrap();
    }
    run.log_param("best_epoch", 99).unwrap();
    run.log_artifact("plots/late.txt", b"after the outage".to_vec())
        .unwrap();
    run.register_model("recwatch_outage_model", "plots")
        .unwrap();
    run.finish().unwrap();
    let status = t.flush(LONG).unwrap();
    let FlushStatus::Journaled { path, pending } = status else {
        panic!("expected the journal while the server is down, got {status:?}");
    };
    // At least: log-batch(es), artifact, model registration, end-run.
    assert!(pending >= 4, "{pending} journaled");
    let journal = std::fs::read_to_string(&path).unwrap();
    assert!(
        journal.contains("\"op\":\"run_known\""),
        "the journal names the server run"
    );

    let pid = start_server(port, &data);
    // The first flush after the restart replays the journal in order.
    assert_eq!(t.flush(LONG).unwrap(), FlushStatus::Delivered);
    assert!(!path.exists());
    assert_eq!(t.shutdown(LONG).unwrap(), FlushStatus::Delivered);

    let history = server.history(&run_id, "train_loss");
    assert_eq!(history.len(), 100, "nothing lost");
    assert!(history
        .iter()
        .enumerate()
        .all(|(i, p)| *p == (i as i64, i as f64)));
    assert_eq!(server.history(&run_id, "val_loss").len(), 50);
    let params = server.params(&run_id);
    assert!(params.contains(&("best_epoch".into(), "99".into())));
    assert_eq!(server.run(&run_id)["info"]["status"], "FINISHED");
    assert_eq!(server.artifacts(&run_id, "plots"), ["plots/late.txt"]);
    let versions = server.get(
        "model-versions/search",
        &[("filter", "name='recwatch_outage_model'")],
    );
    assert_eq!(versions["model_versions"].as_array().unwrap().len(), 1);
    stop_server(pid, port);
    let _ = std::fs::remove_dir_all(data);
    let _ = std::fs::remove_dir_all(journal_dir);
}
