//! Weights & Biases offline runs, written natively: no Python, no sidecar process.
//!
//! A [`WandbRun`] writes the run directory that W&B's own client writes in offline mode —
//! `<dir>/wandb/offline-run-<YYYYMMDD_HHMMSS>-<id>/` with the `run-<id>.wandb` transaction log
//! and `files/media/images/` — so the official tools read it (`wandb leet inspect`) and upload it
//! later (`wandb sync <run dir>`). The format followed is that of the official client
//! **wandb 0.31.0** (its record framing and protobuf schema; see `docs/wandb.md`).
//!
//! Records go through a bounded queue to a background writer thread: [`WandbRun::log`] never
//! blocks (a full queue drops the row and says so), and each record reaches the file whole, so a
//! killed process leaves a log that the official reader opens up to its last complete record.
//! [`WandbRun::finish`] writes the exit record and flushes.
//!
//! [`RunBuilder::from_env`] honours W&B's environment variables: `WANDB_MODE` (`offline`,
//! `dryrun`, `disabled`; `online` is [`WandbError::OnlineUnsupported`]), `WANDB_DIR`,
//! `WANDB_PROJECT`, `WANDB_ENTITY`, `WANDB_RUN_ID`, `WANDB_NAME`, `WANDB_NOTES`, `WANDB_TAGS`
//! (comma-separated), `WANDB_RUN_GROUP` and `WANDB_JOB_TYPE`. Values set on the builder win over
//! the environment, as arguments to `wandb.init` do.
//!
//! ```
//! use std::time::Duration;
//! use recwatch::tracking::wandb::{Image, RunBuilder, Values};
//!
//! # let dir = std::env::temp_dir().join(format!("recwatch-doc-wandb-{}", std::process::id()));
//! let run = RunBuilder::from_env()
//!     .with_dir(&dir) // the run goes to <dir>/wandb/offline-run-…
//!     .with_project("movie-recommendation")
//!     .add_tag("recommendation")
//!     .add_config("learning_rate", 0.01)
//!     .add_config("embedding_dim", 64)
//!     .spawn()?;
//!
//! for epoch in 0..3 {
//!     let loss = 1.0 / f64::from(epoch + 1);
//!     // A full queue drops the row instead of blocking training; count it and go on.
//!     let _ = run.log(Values::new().add_scalar("train_loss", loss).add_scalar("val_loss", loss * 1.1));
//! }
//! run.log(
//!     Values::new()
//!         .add_map("genre_distribution", [("Drama", 0.4), ("Comedy", 0.6)])
//!         .add_image("plot", Image::from_rgb8(1, 1, &[0, 128, 255])?),
//! )?;
//! run.update_summary(Values::new().add_scalar("rmse", 0.91).add_scalar("mae", 0.72))?;
//!
//! let report = run.finish(0, Duration::from_secs(10))?;
//! assert_eq!(report.dropped, 0);
//! assert!(report.run_dir.unwrap().join("files/media/images").is_dir());
//! # std::fs::remove_dir_all(&dir).ok();
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod error;
mod log;
mod proto;
mod values;
mod writer;

use std::collections::hash_map::RandomState;
use std::hash::BuildHasher;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicI32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant, SystemTime};

use crossbeam_channel::{Receiver, Sender, TrySendError};

pub use error::WandbError;
pub use values::{Image, Values};

use writer::{Command, Writer};

/// The W&B client version whose offline format recwatch writes.
pub const WANDB_FORMAT_VERSION: &str = "0.31.0";

/// Where a run goes, as W&B's `WANDB_MODE`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Mode {
    /// Write the run locally for a later `wandb sync` (also `WANDB_MODE=dryrun`).
    Offline,
    /// Stream the run to a W&B server. Not supported: [`RunBuilder::spawn`] returns
    /// [`WandbError::OnlineUnsupported`].
    Online,
    /// Write nothing: every call succeeds and does nothing, as W&B's disabled mode.
    Disabled,
}

impl Mode {
    /// Parses a `WANDB_MODE` value (`offline`, `dryrun`, `online`, `run`, `disabled`).
    ///
    /// # Errors
    ///
    /// [`WandbError::UnknownMode`] for any other value.
    pub fn parse(value: &str) -> Result<Self, WandbError> {
        match value.trim().to_ascii_lowercase().as_str() {
            "offline" | "dryrun" => Ok(Self::Offline),
            "online" | "run" => Ok(Self::Online),
            "disabled" => Ok(Self::Disabled),
            _ => Err(WandbError::UnknownMode {
                value: value.to_owned(),
            }),
        }
    }
}

/// The W&B environment variables a [`RunBuilder`] reads.
#[derive(Debug, Clone, Default)]
struct EnvLayer {
    mode: Option<String>,
    dir: Option<PathBuf>,
    project: Option<String>,
    entity: Option<String>,
    run_id: Option<String>,
    name: Option<String>,
    notes: Option<String>,
    tags: Vec<String>,
    group: Option<String>,
    job_type: Option<String>,
}

/// Configures and starts a W&B offline run.
///
/// Unset values come from W&B's environment variables when the builder was made with
/// [`from_env`](Self::from_env), then from W&B's defaults.
#[derive(Debug, Clone)]
#[must_use]
pub struct RunBuilder {
    env: EnvLayer,
    mode: Option<Mode>,
    dir: Option<PathBuf>,
    project: Option<String>,
    entity: Option<String>,
    run_id: Option<String>,
    name: Option<String>,
    notes: Option<String>,
    tags: Vec<String>,
    group: Option<String>,
    job_type: Option<String>,
    config: serde_json::Map<String, serde_json::Value>,
    queue_capacity: usize,
}

impl Default for RunBuilder {
    fn default() -> Self {
        Self::new()
    }
}

impl RunBuilder {
    /// A builder that ignores the environment.
    pub fn new() -> Self {
        Self {
            env: EnvLayer::default(),
            mode: None,
            dir: None,
            project: None,
            entity: None,
            run_id: None,
            name: None,
            notes: None,
            tags: Vec::new(),
            group: None,
            job_type: None,
            config: serde_json::Map::new(),
            queue_capacity: 1024,
        }
    }

    /// A builder whose unset values come from this process's W&B environment variables (see the
    /// [module docs](self)).
    pub fn from_env() -> Self {
        Self::from_env_vars(std::env::vars())
    }

    /// As [`from_env`](Self::from_env), reading the variables from `vars` instead of the
    /// process environment. Empty values count as unset.
    pub fn from_env_vars<K: AsRef<str>, V: Into<String>>(
        vars: impl IntoIterator<Item = (K, V)>,
    ) -> Self {
        let mut env = EnvLayer::default();
        for (key, value) in vars {
            let value: String = value.into();
            if value.trim().is_empty() {
                continue;
            }
            match key.as_ref() {
                "WANDB_MODE" => env.mode = Some(value),
                "WANDB_DIR" => env.dir = Some(PathBuf::from(value)),
                "WANDB_PROJECT" => env.project = Some(value),
                "WANDB_ENTITY" => env.entity = Some(value),
                "WANDB_RUN_ID" => env.run_id = Some(value),
                "WANDB_NAME" => env.name = Some(value),
                "WANDB_NOTES" => env.notes = Some(value),
                "WANDB_RUN_GROUP" => env.group = Some(value),
                "WANDB_JOB_TYPE" => env.job_type = Some(value),
                "WANDB_TAGS" => {
                    env.tags = value
                        .split(',')
                        .map(str::trim)
                        .filter(|t| !t.is_empty())
                        .map(str::to_owned)
                        .collect();
                }
                _ => {}
            }
        }
        Self { env, ..Self::new() }
    }

    /// Sets the mode. Defaults to `WANDB_MODE`, else [`Mode::Offline`].
    pub fn with_mode(mut self, mode: Mode) -> Self {
        self.mode = Some(mode);
        self
    }

    /// Sets the directory under which `wandb/` is created. Defaults to `WANDB_DIR`, else the
    /// current directory.
    pub fn with_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.dir = Some(dir.into());
        self
    }

    /// Sets the project. Defaults to `WANDB_PROJECT`, else `uncategorized` (as W&B).
    pub fn with_project(mut self, project: impl Into<String>) -> Self {
        self.project = Some(project.into());
        self
    }

    /// Sets the entity (user or team). Defaults to `WANDB_ENTITY`, else none (`wandb sync`
    /// then uses the logged-in user's default entity).
    pub fn with_entity(mut self, entity: impl Into<String>) -> Self {
        self.entity = Some(entity.into());
        self
    }

    /// Sets the run id (letters, digits, `-`, `_`, `.`; at most 128 characters). Defaults to
    /// `WANDB_RUN_ID`, else 8 random lower-case letters and digits, as W&B.
    pub fn with_run_id(mut self, id: impl Into<String>) -> Self {
        self.run_id = Some(id.into());
        self
    }

    /// Sets the display name. Defaults to `WANDB_NAME`, else none (W&B names it on sync).
    pub fn with_name(mut self, name: impl Into<String>) -> Self {
        self.name = Some(name.into());
        self
    }

    /// Sets the notes. Defaults to `WANDB_NOTES`, else none.
    pub fn with_notes(mut self, notes: impl Into<String>) -> Self {
        self.notes = Some(notes.into());
        self
    }

    /// Sets the group. Defaults to `WANDB_RUN_GROUP`, else none.
    pub fn with_group(mut self, group: impl Into<String>) -> Self {
        self.group = Some(group.into());
        self
    }

    /// Sets the job type. Defaults to `WANDB_JOB_TYPE`, else none.
    pub fn with_job_type(mut self, job_type: impl Into<String>) -> Self {
        self.job_type = Some(job_type.into());
        self
    }

    /// Appends a tag. Tags added here replace `WANDB_TAGS`.
    pub fn add_tag(mut self, tag: impl Into<String>) -> Self {
        let tag = tag.into();
        if !self.tags.contains(&tag) {
            self.tags.push(tag);
        }
        self
    }

    /// Adds a config entry (a hyperparameter, a dataset fact); objects are kept nested.
    pub fn add_config(
        mut self,
        key: impl Into<String>,
        value: impl Into<serde_json::Value>,
    ) -> Self {
        self.config.insert(key.into(), value.into());
        self
    }

    /// Sets the bounded queue's capacity, in entries. Defaults to 1024; at least 1.
    pub fn with_queue_capacity(mut self, capacity: usize) -> Self {
        self.queue_capacity = capacity.max(1);
        self
    }

    fn resolve_mode(&self) -> Result<Mode, WandbError> {
        match (self.mode, &self.env.mode) {
            (Some(mode), _) => Ok(mode),
            (None, Some(value)) => Mode::parse(value),
            (None, None) => Ok(Mode::Offline),
        }
    }

    /// Creates the run directory, writes the log's header, run, environment and telemetry
    /// records, and starts the background writer.
    ///
    /// # Errors
    ///
    /// [`WandbError::OnlineUnsupported`] in online mode; [`WandbError::UnknownMode`],
    /// [`WandbError::InvalidRunId`] or [`WandbError::InvalidKey`] (a config key) for bad input;
    /// [`WandbError::CreateDir`] or [`WandbError::Write`] when the directory or log cannot be
    /// written; [`WandbError::SpawnThread`].
    pub fn spawn(self) -> Result<WandbRun, WandbError> {
        match self.resolve_mode()? {
            Mode::Online => return Err(WandbError::OnlineUnsupported),
            Mode::Disabled => return Ok(WandbRun { active: None }),
            Mode::Offline => {}
        }
        for key in self.config.keys() {
            values::check_key(key)?;
        }
        let env = self.env;
        let run_id = match self.run_id.or(env.run_id) {
            Some(id) => check_run_id(id)?,
            None => random_id(),
        };
        let tags = if self.tags.is_empty() {
            env.tags
        } else {
            self.tags
        };
        let spec = writer::RunSpec {
            run_id,
            project: self
                .project
                .or(env.project)
                .unwrap_or_else(|| "uncategorized".to_owned()),
            entity: self.entity.or(env.entity).unwrap_or_default(),
            name: self.name.or(env.name),
            notes: self.notes.or(env.notes),
            group: self.group.or(env.group),
            job_type: self.job_type.or(env.job_type),
            tags,
            config: self.config,
            root: self
                .dir
                .or(env.dir)
                .unwrap_or_else(|| PathBuf::from("."))
                .join("wandb"),
        };
        let started = Instant::now();
        let start_time = SystemTime::now();
        let run_id = spec.run_id.clone();
        let (writer, run_dir) = Writer::create(spec, start_time)?;

        let (tx, rx) = crossbeam_channel::bounded(self.queue_capacity);
        let (done_tx, done_rx) = crossbeam_channel::bounded(1);
        let shared = Arc::new(Shared {
            dropped: AtomicU64::new(0),
            exit_code_on_drop: AtomicI32::new(0),
        });
        let thread_shared = Arc::clone(&shared);
        let thread = std::thread::Builder::new()
            .name("recwatch-wandb".to_owned())
            .spawn(move || {
                let result = writer.run(&rx, &thread_shared);
                let _ = done_tx.send(result);
            })
            .map_err(WandbError::SpawnThread)?;
        Ok(WandbRun {
            active: Some(Active {
                tx: Some(tx),
                done: done_rx,
                thread: Some(thread),
                last_step: Mutex::new(None),
                shared,
                started,
                run_id,
                run_dir,
            }),
        })
    }
}

fn check_run_id(id: String) -> Result<String, WandbError> {
    let reason = if id.is_empty() {
        Some("it is empty")
    } else if id.len() > 128 {
        Some("it is longer than 128 characters")
    } else if !id
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
    {
        Some("only ASCII letters, digits, '-', '_' and '.' are allowed")
    } else if id.starts_with('.') {
        Some("it must not start with '.'")
    } else {
        None
    };
    match reason {
        Some(reason) => Err(WandbError::InvalidRunId { id, reason }),
        None => Ok(id),
    }
}

/// Random lower-case alphanumeric text of `len` characters (not cryptographic).
fn random_text(len: usize) -> String {
    const ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";
    let state = RandomState::new();
    let nanos = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    (0..len)
        .map(|i| {
            let h = state.hash_one((nanos, std::process::id(), i));
            ALPHABET[(h % ALPHABET.len() as u64) as usize] as char
        })
        .collect()
}

fn random_id() -> String {
    random_text(8)
}

/// How long dropping an unfinished run waits for the writer.
const DROP_WAIT: Duration = Duration::from_secs(1);

/// State shared by the handle and the writer thread.
#[derive(Debug)]
struct Shared {
    dropped: AtomicU64,
    /// The exit code written when the handle is dropped without `finish` (1 while panicking).
    exit_code_on_drop: AtomicI32,
}

/// What [`WandbRun::finish`] reports.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct FinishReport {
    /// The run directory (`…/wandb/offline-run-…`); `None` in disabled mode.
    pub run_dir: Option<PathBuf>,
    /// Records written to the transaction log, including header, run and exit.
    pub records: u64,
    /// Entries dropped because the queue was full.
    pub dropped: u64,
}

/// A running W&B offline run; see the [module docs](self).
///
/// Dropping it without [`finish`](Self::finish) makes the writer drain its queue and write the
/// exit record (exit code 1 if the thread is panicking, else 0); the drop waits at most one
/// second for that. Call `finish` to choose the exit code and to know the run is complete.
#[derive(Debug)]
pub struct WandbRun {
    active: Option<Active>,
}

#[derive(Debug)]
struct Active {
    tx: Option<Sender<Command>>,
    done: Receiver<Result<u64, WandbError>>,
    thread: Option<JoinHandle<()>>,
    last_step: Mutex<Option<u64>>,
    shared: Arc<Shared>,
    started: Instant,
    run_id: String,
    run_dir: PathBuf,
}

impl Active {
    fn send(&self, command: Command) -> Result<(), WandbError> {
        let Some(tx) = &self.tx else {
            return Err(WandbError::WriterStopped);
        };
        match tx.try_send(command) {
            Ok(()) => Ok(()),
            Err(TrySendError::Full(_)) => {
                self.shared.dropped.fetch_add(1, Ordering::Relaxed);
                Err(WandbError::QueueFull)
            }
            Err(TrySendError::Disconnected(_)) => Err(WandbError::WriterStopped),
        }
    }

    fn log(&self, step: Option<u64>, values: Values) -> Result<u64, WandbError> {
        values.validate()?;
        let mut last = self
            .last_step
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let step = match (step, *last) {
            (Some(step), Some(prev)) if step <= prev => {
                return Err(WandbError::StepNotIncreasing { step, last: prev })
            }
            (Some(step), _) => step,
            (None, Some(prev)) => prev + 1,
            (None, None) => 0,
        };
        self.send(Command::Log {
            step,
            values,
            time: SystemTime::now(),
            runtime: self.started.elapsed(),
        })?;
        *last = Some(step);
        Ok(step)
    }
}

impl WandbRun {
    /// The run id; `None` in disabled mode.
    pub fn id(&self) -> Option<&str> {
        self.active.as_ref().map(|a| a.run_id.as_str())
    }

    /// The run directory (`…/wandb/offline-run-<time>-<id>`); `None` in disabled mode.
    pub fn dir(&self) -> Option<&Path> {
        self.active.as_ref().map(|a| a.run_dir.as_path())
    }

    /// Logs one history row at the next step (0 for the first row) and returns that step.
    /// The summary is updated with the row's values, as the official client does.
    ///
    /// Never blocks: the row is queued for the writer thread.
    ///
    /// # Errors
    ///
    /// [`WandbError::InvalidKey`] for a bad key; [`WandbError::QueueFull`] when the queue is
    /// full (the row is dropped and counted, the step is not used); [`WandbError::WriterStopped`]
    /// after a write error. None of these affect rows logged before or after.
    pub fn log(&self, values: Values) -> Result<u64, WandbError> {
        match &self.active {
            Some(active) => active.log(None, values),
            None => Ok(0),
        }
    }

    /// Logs one history row at an explicit `step`, which must be greater than the last logged
    /// step; later [`log`](Self::log) calls continue from it.
    ///
    /// # Errors
    ///
    /// As [`log`](Self::log), and [`WandbError::StepNotIncreasing`].
    pub fn log_at(&self, step: u64, values: Values) -> Result<(), WandbError> {
        match &self.active {
            Some(active) => active.log(Some(step), values).map(|_| ()),
            None => Ok(()),
        }
    }

    /// Sets summary values (final metrics such as `rmse`), replacing earlier values of the same
    /// keys. Maps and JSON objects are kept nested.
    ///
    /// # Errors
    ///
    /// As [`log`](Self::log).
    pub fn update_summary(&self, values: Values) -> Result<(), WandbError> {
        let Some(active) = &self.active else {
            return Ok(());
        };
        values.validate()?;
        active.send(Command::Summary(values))
    }

    /// Sets one config value after the run started.
    ///
    /// # Errors
    ///
    /// [`WandbError::InvalidKey`], [`WandbError::QueueFull`], [`WandbError::WriterStopped`].
    pub fn update_config(
        &self,
        key: impl Into<String>,
        value: impl Into<serde_json::Value>,
    ) -> Result<(), WandbError> {
        let Some(active) = &self.active else {
            return Ok(());
        };
        let key = key.into();
        values::check_key(&key)?;
        active.send(Command::Config(key, value.into()))
    }

    /// Finishes the run: the writer drains the queue, writes the exit record with `exit_code`
    /// (0 is W&B's `finished`, other codes `failed`), flushes the log to disk and stops. Waits at
    /// most `timeout`.
    ///
    /// # Errors
    ///
    /// [`WandbError::FinishTimedOut`] when the writer did not finish in time (it goes on in the
    /// background); the write error that stopped the writer ([`WandbError::Write`]);
    /// [`WandbError::WriterPanicked`].
    pub fn finish(mut self, exit_code: i32, timeout: Duration) -> Result<FinishReport, WandbError> {
        let Some(mut active) = self.active.take() else {
            return Ok(FinishReport {
                run_dir: None,
                records: 0,
                dropped: 0,
            });
        };
        let deadline = Instant::now() + timeout;
        // Used if the finish command cannot be queued in time and the writer sees the
        // disconnect instead.
        active
            .shared
            .exit_code_on_drop
            .store(exit_code, Ordering::Relaxed);
        let tx = active.tx.take();
        if let Some(tx) = tx {
            let command = Command::Finish {
                exit_code,
                runtime: active.started.elapsed(),
            };
            match tx.send_deadline(command, deadline) {
                Ok(()) => {}
                Err(crossbeam_channel::SendTimeoutError::Timeout(_)) => {
                    return Err(WandbError::FinishTimedOut { timeout });
                }
                // The writer stopped on an error; it is waiting in `done`.
                Err(crossbeam_channel::SendTimeoutError::Disconnected(_)) => {}
            }
        }
        let result = match active.done.recv_deadline(deadline) {
            Ok(result) => result,
            Err(crossbeam_channel::RecvTimeoutError::Timeout) => {
                return Err(WandbError::FinishTimedOut { timeout });
            }
            Err(crossbeam_channel::RecvTimeoutError::Disconnected) => {
                Err(WandbError::WriterPanicked)
            }
        };
        if let Some(thread) = active.thread.take() {
            if thread.join().is_err() {
                return Err(WandbError::WriterPanicked);
            }
        }
        result.map(|records| FinishReport {
            run_dir: Some(active.run_dir.clone()),
            records,
            dropped: active.shared.dropped.load(Ordering::Relaxed),
        })
    }
}

impl Drop for WandbRun {
    fn drop(&mut self) {
        if let Some(active) = &mut self.active {
            let code = i32::from(std::thread::panicking());
            active
                .shared
                .exit_code_on_drop
                .store(code, Ordering::Relaxed);
            // Disconnecting makes the writer drain the queue, write the exit record and stop.
            active.tx.take();
            // Give it a moment, so that a run dropped while unwinding from a panic in the
            // training loop gets its exit record before the process ends.
            let _ = active.done.recv_timeout(DROP_WAIT);
        }
    }
}

#[cfg(test)]
mod tests;
