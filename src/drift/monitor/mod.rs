//! The drift monitor: checks windows of recent traffic against a reference, publishes drift
//! gauges and alerts through notifiers, all on background threads.
//!
//! The request path only calls [`DriftMonitor::record`], which converts one row and hands it
//! to a bounded queue without waiting (a full queue drops the row). A check thread keeps the
//! window (the last N rows, or the rows of the last D seconds) and, every interval, runs the
//! [`DriftDetector`] on it and publishes:
//!
//! | metric | labels |
//! |---|---|
//! | `recommendation_drift_score` (share of drifted features, 0–1) | |
//! | `recommendation_feature_drift_score`, `recommendation_feature_drift_detected` | feature, stattest |
//! | `recommendation_target_drift_score`, `recommendation_target_drift_detected` | role, stattest |
//! | `recommendation_drift_checks_total` | outcome |
//! | `recommendation_drift_window_rows` | |
//!
//! When the score rises above the alert threshold (default 0.5), the alert goes to a notifier
//! thread that delivers it to each [`Notifier`] with retries and exponential backoff, counting
//! `recommendation_drift_notifications_total{notifier, outcome}` and
//! `recommendation_drift_notification_retries_total{notifier}`. One alert is sent per episode:
//! the score must fall back to the threshold or below before the next alert.
//!
//! ```
//! use polars::prelude::*;
//! use recwatch::drift::{DriftMonitorBuilder, FeatureValue, LogNotifier, Window};
//! use std::time::Duration;
//!
//! let reference = df!("k" => (0..500).map(|i| (i % 10) as f64).collect::<Vec<_>>())?;
//! let monitor = DriftMonitorBuilder::new(reference)
//!     .with_window(Window::Rows(1000))
//!     .with_interval(Duration::from_secs(30))
//!     .add_notifier(LogNotifier::stderr())
//!     .spawn()?;
//! monitor.record([("k", FeatureValue::from(5.0))]);
//! monitor.shutdown(Duration::from_secs(5))?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod notify;
mod publish;
mod window;

pub use notify::{DriftAlert, LogNotifier, Notifier, NotifyError, WebhookNotifier};
pub use window::{FeatureValue, Window};

use super::{DriftDetector, DriftError, DriftReport, ReferenceProfile};
use polars::prelude::*;
use std::collections::HashMap;
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, SyncSender, TrySendError};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// Builds a [`DriftMonitor`].
#[must_use]
pub struct DriftMonitorBuilder {
    reference: Reference,
    detector: DriftDetector,
    window: Window,
    interval: Duration,
    threshold: f64,
    notifiers: Vec<Arc<dyn Notifier>>,
    retries: u32,
    backoff: Duration,
    min_rows: usize,
    queue: usize,
    action: String,
}

impl std::fmt::Debug for DriftMonitorBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DriftMonitorBuilder")
            .field("window", &self.window)
            .field("interval", &self.interval)
            .field("threshold", &self.threshold)
            .field("notifiers", &self.notifiers.len())
            .finish_non_exhaustive()
    }
}

impl DriftMonitorBuilder {
    /// A monitor of traffic against `reference` (its columns are the features recorded; its
    /// column names become the `feature` label values).
    ///
    /// ```
    /// use polars::prelude::*;
    /// let b = recwatch::drift::DriftMonitorBuilder::new(df!("x" => [1.0, 2.0])?);
    /// # let _ = b;
    /// # Ok::<(), PolarsError>(())
    /// ```
    pub fn new(reference: DataFrame) -> Self {
        Self::with_reference(Reference::Frame(reference))
    }

    /// A monitor of traffic against a reference profile (its columns are the features
    /// recorded), so the service holds the profile, not the reference rows.
    ///
    /// ```
    /// use polars::prelude::*;
    /// use recwatch::drift::{DriftMonitorBuilder, ReferenceProfile, SketchOptions};
    /// let reference = df!("x" => (0..2000).map(f64::from).collect::<Vec<_>>())?;
    /// let profile = ReferenceProfile::fit_sketch(reference.lazy(), SketchOptions::new())?;
    /// let b = DriftMonitorBuilder::from_profile(profile);
    /// # let _ = b;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn from_profile(profile: ReferenceProfile) -> Self {
        Self::with_reference(Reference::Profile(Box::new(profile)))
    }

    fn with_reference(reference: Reference) -> Self {
        DriftMonitorBuilder {
            reference,
            detector: DriftDetector::new(),
            window: Window::Rows(1000),
            interval: Duration::from_secs(60),
            threshold: 0.5,
            notifiers: Vec::new(),
            retries: 3,
            backoff: Duration::from_millis(500),
            min_rows: 30,
            queue: 65_536,
            action: "check the upstream feature pipeline and the traffic mix; consider \
                     retraining the model on recent data"
                .into(),
        }
    }

    /// The detector the checks run (tests, thresholds, column mapping). Defaults to
    /// [`DriftDetector::new`].
    pub fn with_detector(mut self, detector: DriftDetector) -> Self {
        self.detector = detector;
        self
    }

    /// Which recent rows a check looks at. Defaults to the last 1000 rows.
    pub fn with_window(mut self, window: Window) -> Self {
        self.window = window;
        self
    }

    /// Time between checks. Defaults to 60 s.
    pub fn with_interval(mut self, interval: Duration) -> Self {
        self.interval = interval;
        self
    }

    /// The drift score above which the notifiers are told. Defaults to 0.5 (the original
    /// design's threshold).
    pub fn with_alert_threshold(mut self, threshold: f64) -> Self {
        self.threshold = threshold;
        self
    }

    /// Adds a notifier.
    pub fn add_notifier(mut self, notifier: impl Notifier) -> Self {
        self.notifiers.push(Arc::new(notifier));
        self
    }

    /// Retries after a failed delivery, and the first backoff (doubled at each retry).
    /// Defaults to 3 retries from 500 ms.
    pub fn with_retries(mut self, retries: u32, first_backoff: Duration) -> Self {
        self.retries = retries;
        self.backoff = first_backoff;
        self
    }

    /// Fewest rows in the window for a check to run. Defaults to 30.
    pub fn with_min_rows(mut self, rows: usize) -> Self {
        self.min_rows = rows.max(1);
        self
    }

    /// The action line of alerts. Defaults to a line asking to check the feature pipeline
    /// and consider retraining.
    pub fn with_action(mut self, action: impl Into<String>) -> Self {
        self.action = action.into();
        self
    }

    /// Starts the check and notifier threads.
    ///
    /// # Errors
    ///
    /// [`DriftError::InvalidOption`] for a threshold outside `[0, 1]`, an empty window or a
    /// zero interval; [`DriftError::EmptyFrame`] for a reference with no rows or columns;
    /// [`DriftError::Spawn`] when a thread cannot be started.
    pub fn spawn(self) -> Result<DriftMonitor, DriftError> {
        let invalid = |name, reason: &str| DriftError::InvalidOption {
            name,
            reason: reason.into(),
        };
        if !(self.threshold.is_finite() && (0.0..=1.0).contains(&self.threshold)) {
            return Err(invalid("alert_threshold", "must lie in [0, 1]"));
        }
        if self.interval.is_zero() {
            return Err(invalid("interval", "must be positive"));
        }
        match self.window {
            Window::Rows(0) => return Err(invalid("window", "must hold at least one row")),
            Window::Duration(d) if d.is_zero() => {
                return Err(invalid("window", "must be positive"))
            }
            _ => {}
        }
        let schema: Vec<(String, DataType)> = match &self.reference {
            Reference::Frame(df) => df
                .columns()
                .iter()
                .map(|c| (c.name().to_string(), c.dtype().clone()))
                .collect(),
            Reference::Profile(p) => p.window_schema(),
        };
        let rows = match &self.reference {
            Reference::Frame(df) => df.height(),
            Reference::Profile(p) => p.rows(),
        };
        if rows == 0 || schema.is_empty() {
            return Err(DriftError::EmptyFrame {
                frame: super::Frame::Reference,
            });
        }
        let index: HashMap<String, usize> = schema
            .iter()
            .enumerate()
            .map(|(i, (n, _))| (n.clone(), i))
            .collect();
        let (tx, rx) = mpsc::sync_channel::<Msg>(self.queue);
        let (atx, arx) = mpsc::sync_channel::<DriftAlert>(16);
        let last = Arc::new(Mutex::new(None));
        let names: Vec<&'static str> = self.notifiers.iter().map(|n| n.name()).collect();
        let notifiers = self.notifiers;
        let (retries, backoff) = (self.retries, self.backoff);
        let notifier_thread = std::thread::Builder::new()
            .name("recwatch-drift-notify".into())
            .spawn(move || notify_loop(arx, notifiers, retries, backoff))
            .map_err(|source| DriftError::Spawn { source })?;
        let check = Checker {
            reference: self.reference,
            detector: self.detector,
            schema,
            window: window::RowWindow::new(self.window),
            interval: self.interval,
            threshold: self.threshold,
            min_rows: self.min_rows,
            action: self.action,
            alerts: atx,
            notifier_names: names,
            last: Arc::clone(&last),
            alerting: false,
        };
        let check_thread = std::thread::Builder::new()
            .name("recwatch-drift-check".into())
            .spawn(move || check.run(rx))
            .map_err(|source| DriftError::Spawn { source })?;
        Ok(DriftMonitor {
            tx,
            index: Arc::new(index),
            last,
            threads: Some((check_thread, notifier_thread)),
        })
    }
}

/// The summary of the last check.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct CheckSummary {
    /// `recommendation_drift_score` of the check.
    pub score: f64,
    /// Rows in the window checked.
    pub window_rows: usize,
    /// The full report.
    pub report: DriftReport,
}

enum Msg {
    Row(Vec<FeatureValue>),
    CheckNow,
    Stop,
}

/// Handle of a running drift monitor. Dropping it stops the threads (without waiting);
/// [`detach`](Self::detach) keeps them for the rest of the process;
/// [`shutdown`](Self::shutdown) stops them and waits.
#[derive(Debug)]
pub struct DriftMonitor {
    tx: SyncSender<Msg>,
    index: Arc<HashMap<String, usize>>,
    last: Arc<Mutex<Option<CheckSummary>>>,
    threads: Option<(JoinHandle<()>, JoinHandle<()>)>,
}

impl DriftMonitor {
    /// Records one row of features (name → value; names not in the reference are ignored,
    /// missing ones are null). Never blocks: when the queue is full the row is dropped.
    pub fn record<I, K, V>(&self, row: I)
    where
        I: IntoIterator<Item = (K, V)>,
        K: AsRef<str>,
        V: Into<FeatureValue>,
    {
        let mut values = vec![FeatureValue::Null; self.index.len()];
        for (k, v) in row {
            if let Some(&i) = self.index.get(k.as_ref()) {
                values[i] = v.into();
            }
        }
        if let Err(TrySendError::Full(_)) = self.tx.try_send(Msg::Row(values)) {
            // dropped: the check thread is behind; drift is a statistic, a lost row is fine
        }
    }

    /// Asks for a check as soon as the rows recorded so far are in the window (it still
    /// needs the minimum number of rows). Never blocks.
    pub fn check_now(&self) {
        let _ = self.tx.try_send(Msg::CheckNow);
    }

    /// The last check, if one ran.
    pub fn last_check(&self) -> Option<CheckSummary> {
        self.last.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// Keeps the threads running for the rest of the process.
    pub fn detach(mut self) {
        self.threads = None;
        // keep the sender alive so the check thread does not see a disconnect
        std::mem::forget(self.tx.clone());
    }

    /// Stops the threads and waits at most `timeout` for them.
    ///
    /// # Errors
    ///
    /// [`DriftError::ShutdownTimeout`] when they are still running after `timeout` (they
    /// stop on their own afterwards).
    pub fn shutdown(mut self, timeout: Duration) -> Result<(), DriftError> {
        let _ = self.tx.try_send(Msg::Stop);
        let Some((a, b)) = self.threads.take() else {
            return Ok(());
        };
        let deadline = Instant::now() + timeout;
        while !(a.is_finished() && b.is_finished()) {
            if Instant::now() >= deadline {
                return Err(DriftError::ShutdownTimeout { timeout });
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        let _ = a.join();
        let _ = b.join();
        Ok(())
    }
}

impl Drop for DriftMonitor {
    fn drop(&mut self) {
        if self.threads.is_some() {
            let _ = self.tx.try_send(Msg::Stop);
        }
    }
}

/// What the checks compare the window with.
enum Reference {
    Frame(DataFrame),
    Profile(Box<ReferenceProfile>),
}

struct Checker {
    reference: Reference,
    detector: DriftDetector,
    schema: Vec<(String, DataType)>,
    window: window::RowWindow,
    interval: Duration,
    threshold: f64,
    min_rows: usize,
    action: String,
    alerts: SyncSender<DriftAlert>,
    notifier_names: Vec<&'static str>,
    last: Arc<Mutex<Option<CheckSummary>>>,
    alerting: bool,
}

impl Checker {
    fn run(mut self, rx: Receiver<Msg>) {
        let mut next = Instant::now() + self.interval;
        loop {
            let wait = next.saturating_duration_since(Instant::now());
            let mut now_requested = false;
            match rx.recv_timeout(wait) {
                Ok(Msg::Row(r)) => {
                    self.window.push(r);
                    // drain what is queued without waking up per row
                    while let Ok(m) = rx.try_recv() {
                        match m {
                            Msg::Row(r) => self.window.push(r),
                            Msg::CheckNow => now_requested = true,
                            Msg::Stop => return,
                        }
                    }
                }
                Ok(Msg::CheckNow) => now_requested = true,
                Ok(Msg::Stop) | Err(RecvTimeoutError::Disconnected) => return,
                Err(RecvTimeoutError::Timeout) => {}
            }
            if now_requested || Instant::now() >= next {
                if Instant::now() >= next {
                    next = Instant::now() + self.interval;
                }
                self.window.expire();
                if self.window.len() >= self.min_rows {
                    self.check();
                }
            }
        }
    }

    fn check(&mut self) {
        let rows = self.window.len();
        publish::window_rows(rows);
        let report = self
            .window
            .to_frame(&self.schema)
            .map_err(|source| DriftError::Polars {
                context: "cannot build the window frame".into(),
                source,
            })
            .and_then(|current| match &self.reference {
                Reference::Frame(df) => self.detector.run(df, &current),
                Reference::Profile(p) => self.detector.run_profile(p, current.lazy()),
            });
        let report = match report {
            Ok(r) => r,
            Err(_) => {
                publish::check_failed();
                return;
            }
        };
        let score = publish::report(&report);
        let above = score > self.threshold;
        if above && !self.alerting {
            let alert = DriftAlert {
                score,
                threshold: self.threshold,
                drifted_features: report.drifted_columns().map(str::to_string).collect(),
                tested_features: report.number_of_columns,
                window_rows: rows,
                target_drift: report.target_drift.as_ref().map(|c| c.drift_detected),
                prediction_drift: report.prediction_drift.as_ref().map(|c| c.drift_detected),
                action: self.action.clone(),
            };
            if self.alerts.try_send(alert).is_err() {
                for n in &self.notifier_names {
                    publish::notification(n, "dropped");
                }
            }
        }
        self.alerting = above;
        *self.last.lock().unwrap_or_else(|e| e.into_inner()) = Some(CheckSummary {
            score,
            window_rows: rows,
            report,
        });
    }
}

fn notify_loop(
    rx: Receiver<DriftAlert>,
    notifiers: Vec<Arc<dyn Notifier>>,
    retries: u32,
    backoff: Duration,
) {
    while let Ok(alert) = rx.recv() {
        for n in &notifiers {
            let mut wait = backoff;
            let mut attempt = 0;
            loop {
                let res =
                    std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| n.notify(&alert)));
                match res {
                    Ok(Ok(())) => {
                        publish::notification(n.name(), "sent");
                        break;
                    }
                    _ if attempt < retries => {
                        publish::retry(n.name());
                        attempt += 1;
                        std::thread::sleep(wait);
                        wait = wait.saturating_mul(2);
                    }
                    _ => {
                        publish::notification(n.name(), "failed");
                        break;
                    }
                }
            }
        }
    }
}
