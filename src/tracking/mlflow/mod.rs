//! An MLflow tracking client (MLflow 2.x/3.x REST API) that never blocks the training loop.
//!
//! [`MlflowConfig::spawn`] starts one background worker thread. Logging calls on a [`Run`]
//! validate their input (typed errors, mirroring the server's checks) and enqueue it to a
//! bounded queue; they never wait for the network. The worker:
//!
//! - gets or creates the experiment (safe when several processes race to create it) and the
//!   run, tagged `recwatch.local_id` so a retried create never makes a second run;
//! - merges params, tags and metrics into `runs/log-batch` requests within the server's limits
//!   (1000 metrics, 100 params, 100 tags, 1000 entities per request, one value per param key);
//! - uploads artifacts through the server's `mlflow-artifacts` proxy and registers model
//!   versions;
//! - retries transient failures (connection errors, timeouts, HTTP 5xx/408/429) with exponential
//!   backoff, then writes every further operation, in order, to an on-disk **journal** (JSON
//!   lines; artifact bytes beside it) and probes the server with growing intervals; when the
//!   server answers, the journal is replayed in order and removed. Nothing is lost.
//!   Replay is idempotent where the server is not (runs are found by their local id, model
//!   versions by run and source; metric points and params repeat harmlessly).
//!
//! [`MlflowTracker::flush`] waits (at most a timeout) until everything logged before it is on
//! the server or in the journal, and says which ([`FlushStatus`]); rejections by the server
//! (a param logged twice with different values, …) come back from it as
//! [`TrackingError::Rejected`]. Without a tracking URI the worker writes the journal only;
//! [`replay_journal`] sends it to a server later.
//!
//! A [`Run`] dropped without being ended ends `FAILED` when the thread is panicking (a panic in
//! the training loop) and `KILLED` otherwise.
//!
//! # Environment
//!
//! [`MlflowConfig::from_env`] honours `MLFLOW_TRACKING_URI`, `MLFLOW_EXPERIMENT_NAME`,
//! `MLFLOW_EXPERIMENT_ID`, `MLFLOW_TRACKING_USERNAME` / `MLFLOW_TRACKING_PASSWORD` (basic auth),
//! `MLFLOW_TRACKING_TOKEN` (bearer), `MLFLOW_HTTP_REQUEST_TIMEOUT` (seconds) and
//! `MLFLOW_HTTP_REQUEST_MAX_RETRIES`, plus `RECWATCH_MLFLOW_JOURNAL_DIR`. Only `http://` URIs
//! are supported (no TLS client is linked; put a local proxy in front of an `https://` server).
//!
//! # Example
//!
//! ```no_run
//! use std::time::Duration;
//! use recwatch::tracking::mlflow::{FlushStatus, MlflowConfig, RunConfig};
//!
//! let tracker = MlflowConfig::from_env()?
//!     .with_experiment_name("movie-recommendation")
//!     .spawn()?;
//! let run = tracker.start_run(RunConfig::new())?; // named training_<YYYYmmdd_HHMMSS>
//! run.log_param("learning_rate", 0.01)?;
//! for epoch in 0..3 {
//!     run.log_metric("train_loss", 1.0 / (epoch + 1) as f64, epoch)?;
//! }
//! run.log_artifact("notes.txt", b"hello".to_vec())?;
//! run.finish()?;
//! match tracker.shutdown(Duration::from_secs(30))? {
//!     FlushStatus::Delivered => println!("all on the server"),
//!     FlushStatus::Journaled { path, .. } => println!("journaled to {}", path.display()),
//!     _ => {}
//! }
//! # Ok::<(), recwatch::TrackingError>(())
//! ```

mod rest;
mod types;
mod validate;
mod worker;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use rest::{Auth, Rest};
pub use types::RunStatus;
use types::{Experiment, Metric, Op, KV};
use validate::{check_key, check_value};
pub use validate::{
    sanitize_key, MAX_ENTITIES_PER_BATCH, MAX_EXPERIMENT_NAME_LENGTH, MAX_KEY_LENGTH,
    MAX_METRICS_PER_BATCH, MAX_PARAMS_TAGS_PER_BATCH, MAX_PARAM_VALUE_LENGTH, MAX_TAG_VALUE_LENGTH,
};
pub use worker::FlushStatus;
use worker::{Msg, Queue, RunIds, Settings, Worker};

use super::TrackingError;

/// The tag that carries a run's client-side id.
pub const LOCAL_ID_TAG: &str = "recwatch.local_id";

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

/// `YYYYmmdd_HHMMSS` (UTC) of a Unix time in seconds.
fn timestamp_name(secs: i64) -> String {
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}{m:02}{d:02}_{:02}{:02}{:02}",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

fn local_id() -> String {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    format!(
        "{:x}{:08x}{:x}",
        nanos,
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    )
}

/// Configuration of the MLflow tracker.
#[derive(Debug, Clone)]
#[must_use]
pub struct MlflowConfig {
    uri: Option<String>,
    experiment: Experiment,
    auth: Auth,
    timeout: Duration,
    max_retries: u32,
    backoff: Duration,
    max_backoff: Duration,
    probe_interval: Duration,
    queue_capacity: usize,
    journal_dir: PathBuf,
}

impl Default for MlflowConfig {
    fn default() -> Self {
        Self::new()
    }
}

impl MlflowConfig {
    /// No tracking URI (journal only), experiment `Default`, the defaults of each setter.
    pub fn new() -> Self {
        Self {
            uri: None,
            experiment: Experiment::Name("Default".into()),
            auth: Auth::None,
            timeout: Duration::from_secs(30),
            max_retries: 4,
            backoff: Duration::from_millis(200),
            max_backoff: Duration::from_secs(30),
            probe_interval: Duration::from_secs(1),
            queue_capacity: 100_000,
            journal_dir: PathBuf::from("mlflow-journal"),
        }
    }

    /// [`new`](Self::new) with the standard MLflow environment variables applied (see the
    /// module documentation). An empty `MLFLOW_TRACKING_URI` means none.
    ///
    /// # Errors
    ///
    /// [`TrackingError::UnsupportedUri`] or [`TrackingError::InvalidEnv`].
    pub fn from_env() -> Result<Self, TrackingError> {
        let var = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
        let mut cfg = Self::new();
        if let Some(uri) = var("MLFLOW_TRACKING_URI") {
            cfg = cfg.with_tracking_uri(uri)?;
        }
        if let Some(name) = var("MLFLOW_EXPERIMENT_NAME") {
            cfg = cfg.with_experiment_name(name);
        }
        if let Some(id) = var("MLFLOW_EXPERIMENT_ID") {
            cfg = cfg.with_experiment_id(id);
        }
        if let (Some(u), Some(p)) = (
            var("MLFLOW_TRACKING_USERNAME"),
            var("MLFLOW_TRACKING_PASSWORD"),
        ) {
            cfg = cfg.with_basic_auth(u, p);
        }
        if let Some(t) = var("MLFLOW_TRACKING_TOKEN") {
            cfg = cfg.with_token(t);
        }
        if let Some(v) = var("MLFLOW_HTTP_REQUEST_TIMEOUT") {
            let secs: f64 = v
                .parse()
                .ok()
                .filter(|s: &f64| s.is_finite() && *s > 0.0)
                .ok_or(TrackingError::InvalidEnv {
                    name: "MLFLOW_HTTP_REQUEST_TIMEOUT",
                    value: v.clone(),
                })?;
            cfg = cfg.with_request_timeout(Duration::from_secs_f64(secs));
        }
        if let Some(v) = var("MLFLOW_HTTP_REQUEST_MAX_RETRIES") {
            let n = v.parse().map_err(|_| TrackingError::InvalidEnv {
                name: "MLFLOW_HTTP_REQUEST_MAX_RETRIES",
                value: v.clone(),
            })?;
            cfg = cfg.with_max_retries(n);
        }
        if let Some(dir) = var("RECWATCH_MLFLOW_JOURNAL_DIR") {
            cfg = cfg.with_journal_dir(dir);
        }
        Ok(cfg)
    }

    /// The tracking server, `http://host:port` (a path prefix is kept). Defaults to none: the
    /// tracker then writes the journal only.
    ///
    /// # Errors
    ///
    /// [`TrackingError::UnsupportedUri`] for anything but `http://` (MLflow's `file:` and
    /// database URIs name stores, not servers; `https://` needs a TLS client this build does not
    /// link).
    pub fn with_tracking_uri(mut self, uri: impl Into<String>) -> Result<Self, TrackingError> {
        let uri = uri.into();
        let ok = uri
            .strip_prefix("http://")
            .is_some_and(|rest| !rest.is_empty() && !rest.starts_with('/'));
        if !ok {
            return Err(TrackingError::UnsupportedUri { uri });
        }
        self.uri = Some(uri);
        Ok(self)
    }

    /// The experiment runs go to, by name (created when missing). Defaults to `Default`.
    pub fn with_experiment_name(mut self, name: impl Into<String>) -> Self {
        self.experiment = Experiment::Name(name.into());
        self
    }

    /// The experiment runs go to, by id. Defaults to none (the name is used).
    pub fn with_experiment_id(mut self, id: impl Into<String>) -> Self {
        self.experiment = Experiment::Id(id.into());
        self
    }

    /// HTTP basic authentication. Defaults to none.
    pub fn with_basic_auth(mut self, user: impl Into<String>, password: impl Into<String>) -> Self {
        self.auth = Auth::Basic(user.into(), password.into());
        self
    }

    /// Bearer-token authentication. Defaults to none.
    pub fn with_token(mut self, token: impl Into<String>) -> Self {
        self.auth = Auth::Bearer(token.into());
        self
    }

    /// Timeout of one HTTP request. Defaults to 30 s.
    pub fn with_request_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Retries of a transient failure before operations go to the journal. Defaults to 4.
    pub fn with_max_retries(mut self, retries: u32) -> Self {
        self.max_retries = retries;
        self
    }

    /// First retry delay (doubled each retry) and the cap of retry and probe delays. Defaults to
    /// 200 ms and 30 s.
    pub fn with_retry_backoff(mut self, first: Duration, max: Duration) -> Self {
        self.backoff = first;
        self.max_backoff = max.max(first);
        self
    }

    /// How soon the worker first probes a server that went away (then doubling, up to the
    /// backoff cap). Defaults to 1 s.
    pub fn with_probe_interval(mut self, interval: Duration) -> Self {
        self.probe_interval = interval;
        self
    }

    /// Operations the queue holds before logging calls are refused with
    /// [`TrackingError::QueueFull`]. Defaults to 100 000.
    pub fn with_queue_capacity(mut self, capacity: usize) -> Self {
        self.queue_capacity = capacity.max(1);
        self
    }

    /// Directory of the journal (`mlflow-<unix ms>-<pid>.jsonl` in it). Defaults to
    /// `mlflow-journal` in the working directory.
    pub fn with_journal_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.journal_dir = dir.into();
        self
    }

    fn rest(&self) -> Result<Option<Rest>, TrackingError> {
        self.uri
            .as_deref()
            .map(|u| Rest::new(u, self.auth.clone(), self.timeout))
            .transpose()
    }

    fn settings(&self, journal_path: PathBuf) -> Settings {
        Settings {
            max_retries: self.max_retries,
            backoff: self.backoff,
            max_backoff: self.max_backoff,
            probe_interval: self.probe_interval,
            journal_path,
        }
    }

    /// Starts the worker thread (`recwatch-mlflow`) and returns its handle.
    ///
    /// # Errors
    ///
    /// [`TrackingError::Client`] or [`TrackingError::SpawnThread`].
    pub fn spawn(self) -> Result<MlflowTracker, TrackingError> {
        let journal_path =
            self.journal_dir
                .join(format!("mlflow-{}-{}.jsonl", now_ms(), std::process::id()));
        let rest = self.rest()?;
        let offline = rest.is_none();
        let run_ids: RunIds = Arc::new(Mutex::new(HashMap::new()));
        let worker = Worker::new(rest, self.settings(journal_path.clone()), run_ids.clone());
        let queue = Arc::new(Queue::new(self.queue_capacity));
        let q = queue.clone();
        let thread = std::thread::Builder::new()
            .name("recwatch-mlflow".into())
            .spawn(move || worker.run(&q))
            .map_err(TrackingError::SpawnThread)?;
        Ok(MlflowTracker {
            shared: Arc::new(Shared {
                queue,
                run_ids,
                experiment: self.experiment,
            }),
            thread: Some(thread),
            journal_path,
            offline,
        })
    }
}

struct Shared {
    queue: Arc<Queue>,
    run_ids: RunIds,
    experiment: Experiment,
}

/// Handle of the tracking worker. Dropping it asks the worker to deliver (or journal) what is
/// queued and stop, without waiting; call [`shutdown`](Self::shutdown) to wait.
#[derive(Debug)]
pub struct MlflowTracker {
    shared: Arc<Shared>,
    thread: Option<JoinHandle<()>>,
    journal_path: PathBuf,
    offline: bool,
}

impl std::fmt::Debug for Shared {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Shared")
            .field("experiment", &self.experiment)
            .finish_non_exhaustive()
    }
}

impl MlflowTracker {
    /// Starts a run (asynchronously: the server run is created by the worker).
    ///
    /// # Errors
    ///
    /// [`TrackingError::InvalidKey`] / [`TrackingError::ValueTooLong`] for a bad tag or run name,
    /// [`TrackingError::QueueFull`].
    pub fn start_run(&self, config: RunConfig) -> Result<Run, TrackingError> {
        let name = config
            .name
            .unwrap_or_else(|| format!("training_{}", timestamp_name(now_ms() / 1000)));
        check_value("run name", "run_name", &name, MAX_TAG_VALUE_LENGTH)?;
        let local = local_id();
        let mut tags = Vec::with_capacity(config.tags.len() + 1);
        for (key, value) in config.tags {
            check_key("tag", &key)?;
            check_value("tag", &key, &value, MAX_TAG_VALUE_LENGTH)?;
            tags.push(KV { key, value });
        }
        tags.push(KV {
            key: LOCAL_ID_TAG.into(),
            value: local.clone(),
        });
        let experiment = match config.experiment {
            Some(name) => Experiment::Name(name),
            None => self.shared.experiment.clone(),
        };
        self.shared.queue.push(Op::CreateRun {
            local: local.clone(),
            experiment,
            run_name: name.clone(),
            start_time: now_ms(),
            tags,
        })?;
        Ok(Run {
            shared: self.shared.clone(),
            local,
            name,
            ended: false,
        })
    }

    /// Waits until everything logged before this call is on the server or in the journal.
    ///
    /// # Errors
    ///
    /// [`TrackingError::Rejected`] when the server rejected operations since the last flush,
    /// [`TrackingError::Journal`] when the journal could not be written,
    /// [`TrackingError::Timeout`], [`TrackingError::Stopped`].
    pub fn flush(&self, timeout: Duration) -> Result<FlushStatus, TrackingError> {
        let (tx, rx) = std::sync::mpsc::channel();
        self.shared.queue.push_control(Msg::Flush(tx));
        match rx.recv_timeout(timeout) {
            Ok(r) => r,
            Err(std::sync::mpsc::RecvTimeoutError::Timeout) => Err(TrackingError::Timeout(timeout)),
            Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => Err(TrackingError::Stopped),
        }
    }

    /// Flushes, stops the worker and waits for it, at most `timeout` in all.
    ///
    /// # Errors
    ///
    /// As [`flush`](Self::flush).
    pub fn shutdown(mut self, timeout: Duration) -> Result<FlushStatus, TrackingError> {
        let start = std::time::Instant::now();
        let status = self.flush(timeout);
        self.shared.queue.push_control(Msg::Stop);
        if let Some(thread) = self.thread.take() {
            while !thread.is_finished() {
                if start.elapsed() >= timeout {
                    return Err(TrackingError::Timeout(timeout));
                }
                std::thread::sleep(Duration::from_millis(5));
            }
            let _ = thread.join();
        }
        status
    }

    /// Keeps the worker running for the rest of the process.
    pub fn detach(mut self) {
        self.thread.take();
    }

    /// The journal this tracker writes when the server is unreachable (or always, offline).
    pub fn journal_path(&self) -> &Path {
        &self.journal_path
    }

    /// Whether no tracking URI was configured (everything goes to the journal).
    pub fn is_offline(&self) -> bool {
        self.offline
    }
}

impl Drop for MlflowTracker {
    fn drop(&mut self) {
        if self.thread.take().is_some() {
            self.shared.queue.push_control(Msg::Stop);
        }
    }
}

/// Options of a new run.
#[derive(Debug, Clone, Default)]
#[must_use]
pub struct RunConfig {
    name: Option<String>,
    experiment: Option<String>,
    tags: Vec<(String, String)>,
}

impl RunConfig {
    /// Defaults: name `training_<YYYYmmdd_HHMMSS>` (UTC), the tracker's experiment, no tags.
    pub fn new() -> Self {
        Self::default()
    }

    /// The run name. Defaults to `training_<YYYYmmdd_HHMMSS>` (UTC, the original design's form).
    pub fn with_name(mut self, name: impl Into<String>) -> Self {
        self.name = Some(name.into());
        self
    }

    /// The experiment, by name (created when missing). Defaults to the tracker's.
    pub fn with_experiment_name(mut self, name: impl Into<String>) -> Self {
        self.experiment = Some(name.into());
        self
    }

    /// Adds a tag set when the run is created.
    pub fn add_tag(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.tags.push((key.into(), value.into()));
        self
    }
}

/// A run being logged to. Every call validates and enqueues; none waits for the server.
///
/// End it with [`finish`](Self::finish) (or [`end`](Self::end)); dropped unended, it ends
/// `FAILED` when the thread is panicking and `KILLED` otherwise.
#[derive(Debug)]
#[must_use = "a run dropped at once ends KILLED"]
pub struct Run {
    shared: Arc<Shared>,
    local: String,
    name: String,
    ended: bool,
}

impl Run {
    /// The client-side id (tag `recwatch.local_id` on the server).
    pub fn local_id(&self) -> &str {
        &self.local
    }

    /// The run name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The server's run id, once the worker has created the run (after a successful
    /// [`MlflowTracker::flush`]).
    pub fn run_id(&self) -> Option<String> {
        self.shared
            .run_ids
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .get(&self.local)
            .cloned()
    }

    fn push(
        &self,
        metrics: Vec<Metric>,
        params: Vec<KV>,
        tags: Vec<KV>,
    ) -> Result<(), TrackingError> {
        self.shared.queue.push(Op::LogBatch {
            local: self.local.clone(),
            metrics,
            params,
            tags,
        })
    }

    /// Logs one metric point at `step`, timestamped now. NaN and ±∞ are sent as MLflow expects.
    ///
    /// # Errors
    ///
    /// [`TrackingError::InvalidKey`], [`TrackingError::QueueFull`].
    pub fn log_metric(&self, key: &str, value: f64, step: i64) -> Result<(), TrackingError> {
        self.log_metric_at(key, value, step, now_ms())
    }

    /// Logs one metric point with an explicit timestamp (milliseconds since the Unix epoch).
    ///
    /// # Errors
    ///
    /// As [`log_metric`](Self::log_metric).
    pub fn log_metric_at(
        &self,
        key: &str,
        value: f64,
        step: i64,
        timestamp_ms: i64,
    ) -> Result<(), TrackingError> {
        check_key("metric", key)?;
        self.push(
            vec![Metric {
                key: key.to_owned(),
                value,
                timestamp: timestamp_ms.max(0),
                step,
            }],
            vec![],
            vec![],
        )
    }

    /// Logs several metrics at one step (one queue entry; all or none are enqueued).
    ///
    /// # Errors
    ///
    /// As [`log_metric`](Self::log_metric), for the first bad key.
    pub fn log_metrics<K: AsRef<str>>(
        &self,
        metrics: impl IntoIterator<Item = (K, f64)>,
        step: i64,
    ) -> Result<(), TrackingError> {
        let ts = now_ms();
        let metrics = metrics
            .into_iter()
            .map(|(k, value)| {
                check_key("metric", k.as_ref())?;
                Ok(Metric {
                    key: k.as_ref().to_owned(),
                    value,
                    timestamp: ts,
                    step,
                })
            })
            .collect::<Result<Vec<_>, TrackingError>>()?;
        self.push(metrics, vec![], vec![])
    }

    /// Logs a param (its `Display` form). MLflow params are immutable: logging a key again
    /// with another value is rejected by the server (reported by the next flush).
    ///
    /// # Errors
    ///
    /// [`TrackingError::InvalidKey`], [`TrackingError::ValueTooLong`] (over 6000 characters),
    /// [`TrackingError::QueueFull`].
    pub fn log_param(&self, key: &str, value: impl std::fmt::Display) -> Result<(), TrackingError> {
        self.log_params([(key, value)])
    }

    /// Logs several params (all or none are enqueued).
    ///
    /// # Errors
    ///
    /// As [`log_param`](Self::log_param).
    pub fn log_params<K: AsRef<str>, V: std::fmt::Display>(
        &self,
        params: impl IntoIterator<Item = (K, V)>,
    ) -> Result<(), TrackingError> {
        let params = params
            .into_iter()
            .map(|(k, v)| {
                let (key, value) = (k.as_ref().to_owned(), v.to_string());
                check_key("param", &key)?;
                check_value("param", &key, &value, MAX_PARAM_VALUE_LENGTH)?;
                Ok(KV { key, value })
            })
            .collect::<Result<Vec<_>, TrackingError>>()?;
        self.push(vec![], params, vec![])
    }

    /// Sets a tag (a later value replaces an earlier one).
    ///
    /// # Errors
    ///
    /// [`TrackingError::InvalidKey`], [`TrackingError::ValueTooLong`] (over 8000 characters),
    /// [`TrackingError::QueueFull`].
    pub fn set_tag(&self, key: &str, value: impl Into<String>) -> Result<(), TrackingError> {
        let value = value.into();
        check_key("tag", key)?;
        check_value("tag", key, &value, MAX_TAG_VALUE_LENGTH)?;
        self.push(
            vec![],
            vec![],
            vec![KV {
                key: key.to_owned(),
                value,
            }],
        )
    }

    /// Uploads `data` as the run artifact `path` (relative, `/`-separated, e.g.
    /// `plots/residuals.png`).
    ///
    /// # Errors
    ///
    /// [`TrackingError::InvalidKey`] for a path that is not a normalised relative path of
    /// allowed characters, [`TrackingError::QueueFull`].
    pub fn log_artifact(&self, path: &str, data: Vec<u8>) -> Result<(), TrackingError> {
        check_key("artifact path", path)?;
        self.shared.queue.push(Op::Artifact {
            local: self.local.clone(),
            path: path.to_owned(),
            data: Some(Arc::new(data)),
            file: None,
        })
    }

    /// Reads `file` now and uploads it as the run artifact `path`.
    ///
    /// # Errors
    ///
    /// [`TrackingError::ReadArtifact`], and as [`log_artifact`](Self::log_artifact).
    pub fn log_artifact_file(&self, file: &Path, path: &str) -> Result<(), TrackingError> {
        let data = std::fs::read(file).map_err(|source| TrackingError::ReadArtifact {
            path: file.to_owned(),
            source,
        })?;
        self.log_artifact(path, data)
    }

    /// Registers the run artifact directory `artifact_path` (logged with
    /// [`log_artifact`](Self::log_artifact)) as a new version of registered model `name`
    /// (created when missing).
    ///
    /// # Errors
    ///
    /// [`TrackingError::InvalidKey`] for a model name outside letters, digits, `_ - . :` and
    /// space, or a bad path; [`TrackingError::QueueFull`].
    pub fn register_model(&self, name: &str, artifact_path: &str) -> Result<(), TrackingError> {
        check_key("model name", name)?;
        if name.contains('/') {
            return Err(TrackingError::InvalidKey {
                what: "model name",
                key: name.to_owned(),
                problem: super::KeyProblem::Character('/'),
            });
        }
        check_key("artifact path", artifact_path)?;
        self.shared.queue.push(Op::RegisterModel {
            local: self.local.clone(),
            name: name.to_owned(),
            artifact_path: artifact_path.to_owned(),
        })
    }

    /// Ends the run `FINISHED`.
    ///
    /// # Errors
    ///
    /// None in practice (the end is enqueued even when the queue is full); the `Result` leaves
    /// room for validation.
    pub fn finish(self) -> Result<(), TrackingError> {
        self.end(RunStatus::Finished)
    }

    /// Ends the run with `status` (`FINISHED`, `FAILED` or `KILLED`).
    ///
    /// # Errors
    ///
    /// [`TrackingError::InvalidStatus`] for `RUNNING` or `SCHEDULED` (the run stays open).
    pub fn end(mut self, status: RunStatus) -> Result<(), TrackingError> {
        if !status.is_terminal() {
            return Err(TrackingError::InvalidStatus(status));
        }
        self.send_end(status);
        Ok(())
    }

    fn send_end(&mut self, status: RunStatus) {
        self.ended = true;
        self.shared.queue.push_control(Msg::Op(Op::EndRun {
            local: self.local.clone(),
            status,
            end_time: now_ms(),
        }));
    }
}

impl Drop for Run {
    fn drop(&mut self) {
        if !self.ended {
            let status = if std::thread::panicking() {
                RunStatus::Failed
            } else {
                RunStatus::Killed
            };
            self.send_end(status);
        }
    }
}

/// What [`replay_journal`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ReplayReport {
    /// Operations delivered.
    pub replayed: usize,
    /// Whether the journal was fully delivered (and removed).
    pub complete: bool,
}

/// Sends a journal written by an offline (or cut-off) tracker to the server in `config`, in
/// order, and removes it when everything is delivered. Blocking: call it from a tool or a
/// thread of its own, not from a training loop.
///
/// # Errors
///
/// [`TrackingError::UnsupportedUri`] when `config` has no tracking URI,
/// [`TrackingError::Journal`] / [`TrackingError::JournalEntry`] for an unreadable journal,
/// [`TrackingError::Rejected`] when the server rejected entries (the others are delivered).
pub fn replay_journal(config: &MlflowConfig, path: &Path) -> Result<ReplayReport, TrackingError> {
    let rest = config
        .rest()?
        .ok_or_else(|| TrackingError::UnsupportedUri { uri: String::new() })?;
    // Fail on a malformed journal before sending anything.
    worker::read_journal(path)?;
    let mut w = Worker::new(
        Some(rest),
        config.settings(path.to_owned()),
        Arc::new(Mutex::new(HashMap::new())),
    );
    let replayed = w.replay();
    let complete = !path.exists();
    match w.flush() {
        Err(e @ TrackingError::Rejected { .. }) => Err(e),
        _ => Ok(ReplayReport { replayed, complete }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn run_names_use_the_original_form() {
        assert_eq!(timestamp_name(0), "19700101_000000");
        // date -u -d @1796113215 +%Y%m%d_%H%M%S
        assert_eq!(timestamp_name(1_796_113_215), "20261201_082015");
        assert_eq!(timestamp_name(951_782_400), "20000229_000000");
    }

    #[test]
    fn only_http_uris_are_accepted() {
        for bad in [
            "file:///x",
            "sqlite:///db",
            "https://h",
            "http://",
            "databricks",
        ] {
            assert!(
                matches!(
                    MlflowConfig::new().with_tracking_uri(bad),
                    Err(TrackingError::UnsupportedUri { .. })
                ),
                "{bad}"
            );
        }
        assert!(MlflowConfig::new()
            .with_tracking_uri("http://127.0.0.1:5000")
            .is_ok());
    }
}
