//! The background worker: a bounded queue, batching, retries with backoff, the journal.

use std::collections::{HashMap, VecDeque};
use std::fs::{self, File, OpenOptions};
use std::io::{BufRead, BufReader, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use super::rest::{CallError, Rest};
use super::types::{Experiment, Metric, Op, KV};
use super::validate::{MAX_ENTITIES_PER_BATCH, MAX_METRICS_PER_BATCH, MAX_PARAMS_TAGS_PER_BATCH};
use crate::catalogue::{
    TRACKING_DROPPED_TOTAL, TRACKING_JOURNALED_TOTAL, TRACKING_QUEUE_DEPTH,
    TRACKING_REPLAYED_TOTAL, TRACKING_REQUESTS_TOTAL,
};
use crate::tracking::{ApiError, TrackingError};

/// Whether everything logged so far has reached the server.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum FlushStatus {
    /// Everything logged before the flush is on the server.
    Delivered,
    /// Some operations are in the on-disk journal (the server is unreachable, or no tracking
    /// URI is configured); they are replayed when the server answers again, or later with
    /// [`replay_journal`](super::replay_journal).
    Journaled {
        /// The journal file.
        path: PathBuf,
        /// Operations waiting in it.
        pending: usize,
    },
}

pub(crate) enum Msg {
    Op(Op),
    Flush(std::sync::mpsc::Sender<Result<FlushStatus, TrackingError>>),
    Stop,
}

/// A bounded queue whose control messages (end of run, flush, stop) are never refused.
pub(crate) struct Queue {
    items: Mutex<VecDeque<Msg>>,
    ready: Condvar,
    capacity: usize,
}

impl Queue {
    pub(crate) fn new(capacity: usize) -> Self {
        Self {
            items: Mutex::new(VecDeque::new()),
            ready: Condvar::new(),
            capacity,
        }
    }

    fn lock(&self) -> MutexGuard<'_, VecDeque<Msg>> {
        self.items
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Enqueues a data operation; refuses (never blocks) when the queue is full.
    pub(crate) fn push(&self, op: Op) -> Result<(), TrackingError> {
        let mut q = self.lock();
        if q.len() >= self.capacity {
            drop(q);
            metrics::counter!(TRACKING_DROPPED_TOTAL.name).increment(1);
            return Err(TrackingError::QueueFull {
                capacity: self.capacity,
            });
        }
        q.push_back(Msg::Op(op));
        let depth = q.len();
        drop(q);
        self.ready.notify_one();
        metrics::gauge!(TRACKING_QUEUE_DEPTH.name).set(depth as f64);
        Ok(())
    }

    /// Enqueues a control message (or a run's end) whatever the queue's length.
    pub(crate) fn push_control(&self, msg: Msg) {
        self.lock().push_back(msg);
        self.ready.notify_one();
    }

    fn pop(&self, timeout: Duration) -> Option<Msg> {
        let mut q = self.lock();
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(m) = q.pop_front() {
                let depth = q.len();
                drop(q);
                metrics::gauge!(TRACKING_QUEUE_DEPTH.name).set(depth as f64);
                return Some(m);
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return None;
            }
            q = self
                .ready
                .wait_timeout(q, left)
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .0;
        }
    }

    fn try_pop_op(&self) -> Option<Op> {
        let mut q = self.lock();
        if matches!(q.front(), Some(Msg::Op(_))) {
            if let Some(Msg::Op(op)) = q.pop_front() {
                return Some(op);
            }
        }
        None
    }
}

#[derive(Debug, Clone)]
pub(crate) struct RunInfo {
    pub run_id: String,
    pub experiment_id: String,
    pub artifact_uri: String,
}

pub(crate) struct Settings {
    pub max_retries: u32,
    pub backoff: Duration,
    pub max_backoff: Duration,
    pub probe_interval: Duration,
    pub journal_path: PathBuf,
}

/// Server run ids by local id, shared with the handles.
pub(crate) type RunIds = Arc<Mutex<HashMap<String, String>>>;

pub(crate) struct Worker {
    rest: Option<Rest>,
    settings: Settings,
    runs: HashMap<String, RunInfo>,
    experiments: HashMap<String, String>,
    run_ids: RunIds,
    journal: Journal,
    degraded: bool,
    next_probe: Instant,
    probe_backoff: Duration,
    rejected: Vec<(&'static str, ApiError)>,
}

impl Worker {
    pub(crate) fn new(rest: Option<Rest>, settings: Settings, run_ids: RunIds) -> Self {
        let journal = Journal::new(settings.journal_path.clone());
        let probe = settings.probe_interval;
        Self {
            rest,
            settings,
            runs: HashMap::new(),
            experiments: HashMap::new(),
            run_ids,
            journal,
            degraded: false,
            next_probe: Instant::now(),
            probe_backoff: probe,
            rejected: Vec::new(),
        }
    }

    pub(crate) fn run(mut self, queue: &Queue) {
        loop {
            let wait = if self.degraded && self.rest.is_some() {
                self.next_probe.saturating_duration_since(Instant::now())
            } else {
                Duration::from_secs(3600)
            };
            match queue.pop(wait) {
                Some(Msg::Op(op)) => {
                    let mut ops = vec![op];
                    while ops.len() < 4096 {
                        match queue.try_pop_op() {
                            Some(op) => ops.push(op),
                            None => break,
                        }
                    }
                    for op in coalesce(ops) {
                        self.deliver(op);
                    }
                }
                Some(Msg::Flush(ack)) => {
                    let _ = ack.send(self.flush());
                }
                Some(Msg::Stop) => {
                    // Whatever is still queued goes out (or to the journal) before stopping.
                    let mut rest = Vec::new();
                    while let Some(op) = queue.try_pop_op() {
                        rest.push(op);
                    }
                    for op in coalesce(rest) {
                        self.deliver(op);
                    }
                    if self.degraded {
                        self.replay();
                    }
                    return;
                }
                None => {
                    if self.degraded {
                        self.replay();
                    }
                }
            }
        }
    }

    pub(crate) fn flush(&mut self) -> Result<FlushStatus, TrackingError> {
        if self.degraded {
            self.replay();
        }
        if !self.rejected.is_empty() {
            let count = self.rejected.len();
            let (op, source) = self.rejected.remove(0);
            self.rejected.clear();
            return Err(TrackingError::Rejected { op, count, source });
        }
        if let Some(e) = self.journal.error.take() {
            return Err(e);
        }
        Ok(
            if self.degraded || (self.rest.is_none() && self.journal.pending > 0) {
                FlushStatus::Journaled {
                    path: self.journal.path.clone(),
                    pending: self.journal.pending,
                }
            } else {
                FlushStatus::Delivered
            },
        )
    }

    fn deliver(&mut self, op: Op) {
        if self.degraded || self.rest.is_none() {
            self.journal_op(op);
            return;
        }
        match self.execute(&op, self.settings.max_retries, false) {
            Ok(()) => {}
            Err(CallError::Permanent(e)) => self.rejected.push((op.name(), e)),
            Err(CallError::Transient) => {
                self.degraded = true;
                self.probe_backoff = self.settings.probe_interval;
                self.next_probe = Instant::now() + self.probe_backoff;
                self.journal_op(op);
            }
        }
    }

    fn known_runs(&self) -> Vec<Op> {
        let mut known: Vec<Op> = self
            .runs
            .iter()
            .map(|(local, r)| Op::RunKnown {
                local: local.clone(),
                run_id: r.run_id.clone(),
                experiment_id: r.experiment_id.clone(),
                artifact_uri: r.artifact_uri.clone(),
            })
            .collect();
        known.sort_by(|a, b| match (a, b) {
            (Op::RunKnown { local: x, .. }, Op::RunKnown { local: y, .. }) => x.cmp(y),
            _ => std::cmp::Ordering::Equal,
        });
        known
    }

    fn journal_op(&mut self, op: Op) {
        if self.journal.pending == 0 {
            let known = self.known_runs();
            self.journal.rewrite(known);
        }
        self.journal.append(op);
        metrics::counter!(TRACKING_JOURNALED_TOTAL.name).increment(1);
    }

    /// Replays the journal in order, once per entry; stops at the first transient failure.
    pub(crate) fn replay(&mut self) -> usize {
        let Some(_) = self.rest else { return 0 };
        let entries = match self.journal.read() {
            Ok(e) => e,
            Err(e) => {
                self.journal.error = Some(e);
                return 0;
            }
        };
        let mut replayed = 0;
        for (i, op) in entries.iter().enumerate() {
            if let Op::RunKnown {
                local,
                run_id,
                experiment_id,
                artifact_uri,
            } = op
            {
                self.remember(local, run_id, experiment_id, artifact_uri);
                continue;
            }
            match self.execute(op, 0, true) {
                Ok(()) => {
                    replayed += 1;
                    metrics::counter!(TRACKING_REPLAYED_TOTAL.name).increment(1);
                }
                Err(CallError::Permanent(e)) => self.rejected.push((op.name(), e)),
                Err(CallError::Transient) => {
                    let mut left = self.known_runs();
                    left.extend(entries[i..].iter().cloned());
                    self.journal.rewrite(left);
                    self.probe_backoff = (self.probe_backoff * 2).min(self.settings.max_backoff);
                    self.next_probe = Instant::now() + self.probe_backoff;
                    return replayed;
                }
            }
        }
        self.journal.clear();
        self.degraded = false;
        replayed
    }

    fn remember(&mut self, local: &str, run_id: &str, experiment_id: &str, artifact_uri: &str) {
        self.runs.insert(
            local.to_owned(),
            RunInfo {
                run_id: run_id.to_owned(),
                experiment_id: experiment_id.to_owned(),
                artifact_uri: artifact_uri.to_owned(),
            },
        );
        self.run_ids
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .insert(local.to_owned(), run_id.to_owned());
    }

    fn execute(&mut self, op: &Op, retries: u32, replaying: bool) -> Result<(), CallError> {
        let mut attempt = 0;
        loop {
            let result = self.execute_once(op, replaying || attempt > 0);
            let outcome = match &result {
                Ok(()) => "ok",
                Err(CallError::Permanent(_)) => "failed",
                Err(CallError::Transient) if attempt < retries => "retried",
                Err(CallError::Transient) => "failed",
            };
            metrics::counter!(TRACKING_REQUESTS_TOTAL.name, "outcome" => outcome).increment(1);
            match result {
                Err(CallError::Transient) if attempt < retries => {
                    let factor = 1u32.checked_shl(attempt).unwrap_or(u32::MAX);
                    std::thread::sleep(
                        self.settings
                            .backoff
                            .saturating_mul(factor)
                            .min(self.settings.max_backoff),
                    );
                    attempt += 1;
                }
                other => return other,
            }
        }
    }

    fn unknown_run(local: &str) -> CallError {
        CallError::Permanent(ApiError {
            status: 0,
            error_code: "RESOURCE_DOES_NOT_EXIST".into(),
            message: format!("run {local} was never created on the server"),
        })
    }

    fn execute_once(&mut self, op: &Op, dedupe: bool) -> Result<(), CallError> {
        let rest = self.rest.as_ref().expect("checked by the callers");
        match op {
            Op::RunKnown { .. } => Ok(()),
            Op::CreateRun {
                local,
                experiment,
                run_name,
                start_time,
                tags,
            } => {
                if self.runs.contains_key(local) {
                    return Ok(());
                }
                let experiment_id = match experiment {
                    Experiment::Id(id) => id.clone(),
                    Experiment::Name(name) => match self.experiments.get(name) {
                        Some(id) => id.clone(),
                        None => {
                            let id = rest.experiment_id(name)?;
                            self.experiments.insert(name.clone(), id.clone());
                            id
                        }
                    },
                };
                let found = if dedupe {
                    rest.find_run(&experiment_id, local)?
                } else {
                    None
                };
                let run = match found {
                    Some(run) => run,
                    None => rest.create_run(&experiment_id, run_name, *start_time, tags)?,
                };
                self.remember(local, &run.run_id, &run.experiment_id, &run.artifact_uri);
                Ok(())
            }
            Op::LogBatch {
                local,
                metrics,
                params,
                tags,
            } => {
                let run = self
                    .runs
                    .get(local)
                    .ok_or_else(|| Self::unknown_run(local))?;
                rest.log_batch(&run.run_id, metrics, params, tags)
            }
            Op::Artifact {
                local,
                path,
                data,
                file,
            } => {
                let run = self
                    .runs
                    .get(local)
                    .ok_or_else(|| Self::unknown_run(local))?;
                let bytes = match (data, file) {
                    (Some(d), _) => d.as_ref().clone(),
                    (None, Some(f)) => fs::read(f).map_err(|e| {
                        CallError::Permanent(ApiError {
                            status: 0,
                            error_code: "JOURNAL_ARTIFACT_MISSING".into(),
                            message: format!("{}: {e}", f.display()),
                        })
                    })?,
                    (None, None) => Vec::new(),
                };
                rest.upload_artifact(&run.artifact_uri, path, bytes)
            }
            Op::RegisterModel {
                local,
                name,
                artifact_path,
            } => {
                let run = self
                    .runs
                    .get(local)
                    .ok_or_else(|| Self::unknown_run(local))?;
                let source = format!(
                    "{}/{}",
                    run.artifact_uri.trim_end_matches('/'),
                    artifact_path.trim_matches('/')
                );
                rest.create_registered_model(name)?;
                if dedupe
                    && rest
                        .find_model_version(name, &run.run_id, &source)?
                        .is_some()
                {
                    return Ok(());
                }
                rest.create_model_version(name, &run.run_id, &source)
                    .map(drop)
            }
            Op::EndRun {
                local,
                status,
                end_time,
            } => {
                let run = self
                    .runs
                    .get(local)
                    .ok_or_else(|| Self::unknown_run(local))?;
                rest.update_run(&run.run_id, *status, *end_time)
            }
        }
    }
}

/// Merges consecutive log-batch operations of one run into requests within the server's limits
/// (1000 metrics, 100 params, 100 tags, 1000 entities; one value per param key).
pub(crate) fn coalesce(ops: Vec<Op>) -> Vec<Op> {
    let mut out: Vec<Op> = Vec::with_capacity(ops.len());
    for op in ops {
        match op {
            Op::LogBatch {
                local,
                metrics,
                params,
                tags,
            } => {
                for item in split(metrics, params, tags) {
                    push_item(&mut out, &local, item);
                }
            }
            other => out.push(other),
        }
    }
    out
}

enum Item {
    M(Metric),
    P(KV),
    T(KV),
}

fn split(metrics: Vec<Metric>, params: Vec<KV>, tags: Vec<KV>) -> impl Iterator<Item = Item> {
    params
        .into_iter()
        .map(Item::P)
        .chain(tags.into_iter().map(Item::T))
        .chain(metrics.into_iter().map(Item::M))
}

fn push_item(out: &mut Vec<Op>, run: &str, item: Item) {
    if let Some(Op::LogBatch {
        local,
        metrics,
        params,
        tags,
    }) = out.last_mut()
    {
        let fits = local == run
            && metrics.len() + params.len() + tags.len() < MAX_ENTITIES_PER_BATCH
            && match &item {
                Item::M(_) => metrics.len() < MAX_METRICS_PER_BATCH,
                Item::P(p) => {
                    params.len() < MAX_PARAMS_TAGS_PER_BATCH
                        && !params.iter().any(|q| q.key == p.key)
                }
                Item::T(t) => {
                    tags.len() < MAX_PARAMS_TAGS_PER_BATCH && !tags.iter().any(|q| q.key == t.key)
                }
            };
        if fits {
            match item {
                Item::M(m) => metrics.push(m),
                Item::P(p) => params.push(p),
                Item::T(t) => tags.push(t),
            }
            return;
        }
    }
    let (mut metrics, mut params, mut tags) = (Vec::new(), Vec::new(), Vec::new());
    match item {
        Item::M(m) => metrics.push(m),
        Item::P(p) => params.push(p),
        Item::T(t) => tags.push(t),
    }
    out.push(Op::LogBatch {
        local: run.to_owned(),
        metrics,
        params,
        tags,
    });
}

/// The on-disk journal: JSON lines, artifact bytes in a sibling directory.
pub(crate) struct Journal {
    pub path: PathBuf,
    pub pending: usize,
    writer: Option<BufWriter<File>>,
    seq: u64,
    pub error: Option<TrackingError>,
}

impl Journal {
    pub(crate) fn new(path: PathBuf) -> Self {
        Self {
            path,
            pending: 0,
            writer: None,
            seq: 0,
            error: None,
        }
    }

    fn artifacts_dir(&self) -> PathBuf {
        let mut name = self.path.file_name().unwrap_or_default().to_owned();
        name.push(".artifacts");
        self.path.with_file_name(name)
    }

    fn io_err(&self, source: std::io::Error) -> TrackingError {
        TrackingError::Journal {
            path: self.path.clone(),
            source,
        }
    }

    fn open(&mut self, truncate: bool) -> Result<&mut BufWriter<File>, TrackingError> {
        if truncate {
            self.writer = None;
        }
        if self.writer.is_none() {
            if let Some(dir) = self.path.parent().filter(|d| !d.as_os_str().is_empty()) {
                fs::create_dir_all(dir).map_err(|e| self.io_err(e))?;
            }
            let file = OpenOptions::new()
                .create(true)
                .append(!truncate)
                .write(true)
                .truncate(truncate)
                .open(&self.path)
                .map_err(|e| self.io_err(e))?;
            self.writer = Some(BufWriter::new(file));
        }
        Ok(self.writer.as_mut().expect("opened above"))
    }

    fn write_line(&mut self, mut op: Op) -> Result<(), TrackingError> {
        if let Op::Artifact {
            data: data @ Some(_),
            file,
            path,
            ..
        } = &mut op
        {
            let dir = self.artifacts_dir();
            fs::create_dir_all(&dir).map_err(|e| self.io_err(e))?;
            self.seq += 1;
            let name = format!("{:06}-{}", self.seq, path.replace('/', "_"));
            let target = dir.join(name);
            fs::write(&target, data.take().expect("matched Some").as_slice())
                .map_err(|e| self.io_err(e))?;
            *file = Some(target);
        }
        // Serialising plain data cannot fail.
        let line = serde_json::to_string(&op).unwrap_or_default();
        let w = self.open(false)?;
        w.write_all(line.as_bytes())
            .and_then(|()| w.write_all(b"\n"))
            .and_then(|()| w.flush())
            .map_err(|e| TrackingError::Journal {
                path: PathBuf::new(),
                source: e,
            })
    }

    pub(crate) fn append(&mut self, op: Op) {
        let counts = !matches!(op, Op::RunKnown { .. });
        match self.write_line(op) {
            Ok(()) => self.pending += usize::from(counts),
            Err(e) => self.error = Some(self.with_path(e)),
        }
    }

    fn with_path(&self, e: TrackingError) -> TrackingError {
        match e {
            TrackingError::Journal { source, .. } => self.io_err(source),
            other => other,
        }
    }

    /// Replaces the journal's content with `ops` (kept artifact files stay where they are).
    pub(crate) fn rewrite(&mut self, ops: Vec<Op>) {
        if let Err(e) = self.open(true) {
            self.error = Some(e);
            return;
        }
        self.pending = 0;
        for op in ops {
            self.append(op);
        }
    }

    pub(crate) fn read(&self) -> Result<Vec<Op>, TrackingError> {
        read_journal(&self.path)
    }

    pub(crate) fn clear(&mut self) {
        self.writer = None;
        self.pending = 0;
        let _ = fs::remove_file(&self.path);
        let _ = fs::remove_dir_all(self.artifacts_dir());
    }
}

pub(crate) fn read_journal(path: &Path) -> Result<Vec<Op>, TrackingError> {
    let file = match File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(source) => {
            return Err(TrackingError::Journal {
                path: path.to_owned(),
                source,
            })
        }
    };
    let mut ops = Vec::new();
    for (i, line) in BufReader::new(file).lines().enumerate() {
        let line = line.map_err(|source| TrackingError::Journal {
            path: path.to_owned(),
            source,
        })?;
        if line.trim().is_empty() {
            continue;
        }
        ops.push(
            serde_json::from_str(&line).map_err(|source| TrackingError::JournalEntry {
                path: path.to_owned(),
                line: i + 1,
                source,
            })?,
        );
    }
    Ok(ops)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn metric(i: i64) -> Metric {
        Metric {
            key: "m".into(),
            value: i as f64,
            timestamp: 0,
            step: i,
        }
    }

    #[test]
    fn batches_respect_the_server_limits() {
        let ops = vec![
            Op::LogBatch {
                local: "a".into(),
                metrics: (0..2500).map(metric).collect(),
                params: (0..150)
                    .map(|i| KV {
                        key: format!("p{i}"),
                        value: "v".into(),
                    })
                    .collect(),
                tags: vec![],
            },
            Op::LogBatch {
                local: "a".into(),
                metrics: vec![],
                params: vec![KV {
                    key: "p0".into(),
                    value: "v".into(),
                }],
                tags: vec![],
            },
            Op::LogBatch {
                local: "b".into(),
                metrics: vec![metric(1)],
                params: vec![],
                tags: vec![],
            },
        ];
        let out = coalesce(ops);
        let mut metrics = 0;
        for op in &out {
            let Op::LogBatch {
                metrics: m,
                params: p,
                tags: t,
                ..
            } = op
            else {
                panic!("only log-batch expected")
            };
            assert!(m.len() <= 1000 && p.len() <= 100 && t.len() <= 100);
            assert!(m.len() + p.len() + t.len() <= 1000);
            let mut keys: Vec<_> = p.iter().map(|p| &p.key).collect();
            keys.sort();
            keys.dedup();
            assert_eq!(keys.len(), p.len(), "one value per param key per request");
            metrics += m.len();
        }
        assert_eq!(metrics, 2501);
        // Points stay in order.
        let steps: Vec<i64> = out
            .iter()
            .flat_map(|op| match op {
                Op::LogBatch { local, metrics, .. } if local == "a" => {
                    metrics.iter().map(|m| m.step).collect::<Vec<_>>()
                }
                _ => vec![],
            })
            .collect();
        assert!(steps.windows(2).all(|w| w[0] < w[1]));
    }

    #[test]
    fn a_full_queue_refuses_data_but_not_control() {
        let q = Queue::new(1);
        let op = || Op::EndRun {
            local: "a".into(),
            status: super::super::RunStatus::Finished,
            end_time: 0,
        };
        q.push(op()).unwrap();
        assert!(matches!(
            q.push(op()),
            Err(TrackingError::QueueFull { capacity: 1 })
        ));
        q.push_control(Msg::Stop);
        assert!(matches!(q.pop(Duration::ZERO), Some(Msg::Op(_))));
        assert!(matches!(q.pop(Duration::ZERO), Some(Msg::Stop)));
        assert!(q.pop(Duration::ZERO).is_none());
    }

    #[test]
    fn journal_round_trips_non_finite_values_and_artifacts() {
        let dir = std::env::temp_dir().join(format!("recwatch-journal-{}", std::process::id()));
        let path = dir.join("j.jsonl");
        let mut j = Journal::new(path.clone());
        j.append(Op::LogBatch {
            local: "a".into(),
            metrics: vec![Metric {
                key: "m".into(),
                value: f64::NAN,
                timestamp: 1,
                step: 2,
            }],
            params: vec![],
            tags: vec![],
        });
        j.append(Op::Artifact {
            local: "a".into(),
            path: "plots/x.png".into(),
            data: Some(Arc::new(vec![1, 2, 3])),
            file: None,
        });
        assert_eq!(j.pending, 2);
        let ops = read_journal(&path).unwrap();
        match &ops[0] {
            Op::LogBatch { metrics, .. } => assert!(metrics[0].value.is_nan()),
            _ => panic!("log-batch first"),
        }
        match &ops[1] {
            Op::Artifact { file: Some(f), .. } => assert_eq!(fs::read(f).unwrap(), [1, 2, 3]),
            _ => panic!("artifact second"),
        }
        j.clear();
        assert!(!path.exists());
        let _ = fs::remove_dir_all(dir);
    }
}
