//! Drift alerts and the notifiers that deliver them.

use serde::Serialize;
use std::io::Write;
use std::sync::Mutex;
use std::time::Duration;
use thiserror::Error;

/// What a notifier is told when the drift score passes the alert threshold.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[non_exhaustive]
pub struct DriftAlert {
    /// Share of drifted feature columns (`recommendation_drift_score`).
    pub score: f64,
    /// The alert threshold the score passed.
    pub threshold: f64,
    /// The drifted features, by name.
    pub drifted_features: Vec<String>,
    /// Feature columns tested.
    pub tested_features: usize,
    /// Rows of current data in the window that was checked.
    pub window_rows: usize,
    /// Whether the target drifted (`None` without a target column).
    pub target_drift: Option<bool>,
    /// Whether the prediction drifted (`None` without a prediction column).
    pub prediction_drift: Option<bool>,
    /// What to do about it.
    pub action: String,
}

impl DriftAlert {
    /// The alert as one line of text (the `text` of the webhook payload).
    ///
    /// ```
    /// # use recwatch::drift::DriftAlert;
    /// # fn show(a: &DriftAlert) { println!("{}", a.summary()); }
    /// ```
    pub fn summary(&self) -> String {
        let mut s = format!(
            "Data drift detected: score {:.2} > {:.2} ({} of {} features drifted: {}) over {} recent rows.",
            self.score,
            self.threshold,
            self.drifted_features.len(),
            self.tested_features,
            self.drifted_features.join(", "),
            self.window_rows
        );
        if self.target_drift == Some(true) {
            s.push_str(" Target drifted.");
        }
        if self.prediction_drift == Some(true) {
            s.push_str(" Prediction drifted.");
        }
        s.push_str(" Action: ");
        s.push_str(&self.action);
        s
    }

    /// The Slack-compatible JSON payload (`text`, plus the fields as data).
    pub(crate) fn payload(&self) -> serde_json::Value {
        serde_json::json!({
            "text": self.summary(),
            "score": self.score,
            "threshold": self.threshold,
            "drifted_features": self.drifted_features,
            "tested_features": self.tested_features,
            "window_rows": self.window_rows,
            "target_drift": self.target_drift,
            "prediction_drift": self.prediction_drift,
            "action": self.action,
        })
    }
}

/// Why a notification failed.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum NotifyError {
    /// The HTTP request could not be sent or its answer read.
    #[error("webhook request failed")]
    Http {
        /// The underlying reqwest error.
        #[source]
        source: reqwest::Error,
    },
    /// The receiver answered with a status other than 2xx.
    #[error("webhook answered HTTP {status}")]
    Status {
        /// The HTTP status code.
        status: u16,
    },
    /// Writing the log line failed.
    #[error("cannot write the alert")]
    Write {
        /// The underlying I/O error.
        #[source]
        source: std::io::Error,
    },
    /// A custom notifier failed (its own description: a custom notifier has no typed cause
    /// recwatch knows of).
    #[error("{reason}")]
    Failed {
        /// What went wrong.
        reason: String,
    },
}

/// Delivers drift alerts. Called on the monitor's notifier thread, never on the caller's
/// request path; an `Err` is retried with backoff and counted.
///
/// ```
/// use recwatch::drift::{DriftAlert, Notifier, NotifyError};
///
/// struct Pager;
/// impl Notifier for Pager {
///     fn name(&self) -> &'static str {
///         "pager"
///     }
///     fn notify(&self, alert: &DriftAlert) -> Result<(), NotifyError> {
///         println!("page: {}", alert.summary());
///         Ok(())
///     }
/// }
/// ```
pub trait Notifier: Send + Sync + 'static {
    /// A short fixed name, used as the `notifier` label of the notification counters.
    fn name(&self) -> &'static str;
    /// Delivers one alert (may block: it runs on the notifier thread).
    ///
    /// # Errors
    ///
    /// Any [`NotifyError`]; the monitor retries, then counts the failure.
    fn notify(&self, alert: &DriftAlert) -> Result<(), NotifyError>;
}

/// Posts alerts as Slack-compatible JSON (`{"text": …}` plus the alert's fields) to a webhook
/// URL (Slack, Mattermost, Teams workflows and most chat tools accept it).
///
/// The blocking HTTP client is built on the notifier thread at the first alert, so the
/// notifier can be created anywhere, inside an async runtime too.
///
/// ```
/// use recwatch::drift::WebhookNotifier;
/// let n = WebhookNotifier::new("https://hooks.slack.com/services/T000/B000/XXXX");
/// # let _ = n;
/// ```
#[derive(Debug)]
pub struct WebhookNotifier {
    url: String,
    timeout: Duration,
    client: std::sync::OnceLock<reqwest::blocking::Client>,
}

impl WebhookNotifier {
    /// A notifier posting to `url` with a 10-second timeout per attempt.
    pub fn new(url: impl Into<String>) -> Self {
        Self::with_timeout(url, Duration::from_secs(10))
    }

    /// A notifier posting to `url` with the given timeout per attempt.
    pub fn with_timeout(url: impl Into<String>, timeout: Duration) -> Self {
        WebhookNotifier {
            url: url.into(),
            timeout,
            client: std::sync::OnceLock::new(),
        }
    }

    fn client(&self) -> Result<&reqwest::blocking::Client, NotifyError> {
        if let Some(c) = self.client.get() {
            return Ok(c);
        }
        let c = reqwest::blocking::Client::builder()
            .timeout(self.timeout)
            .build()
            .map_err(|source| NotifyError::Http { source })?;
        Ok(self.client.get_or_init(|| c))
    }
}

impl Notifier for WebhookNotifier {
    fn name(&self) -> &'static str {
        "webhook"
    }

    fn notify(&self, alert: &DriftAlert) -> Result<(), NotifyError> {
        let resp = self
            .client()?
            .post(&self.url)
            .json(&alert.payload())
            .send()
            .map_err(|source| NotifyError::Http { source })?;
        let status = resp.status();
        if status.is_success() {
            Ok(())
        } else {
            Err(NotifyError::Status {
                status: status.as_u16(),
            })
        }
    }
}

/// Writes each alert as one line (to standard error by default).
///
/// ```
/// use recwatch::drift::LogNotifier;
/// let n = LogNotifier::new(Vec::new());
/// # let _ = n;
/// ```
pub struct LogNotifier {
    out: Mutex<Box<dyn Write + Send>>,
}

impl std::fmt::Debug for LogNotifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LogNotifier").finish_non_exhaustive()
    }
}

impl LogNotifier {
    /// A notifier writing to standard error.
    ///
    /// ```
    /// let n = recwatch::drift::LogNotifier::stderr();
    /// # let _ = n;
    /// ```
    pub fn stderr() -> Self {
        Self::new(std::io::stderr())
    }

    /// A notifier writing to `out`.
    pub fn new(out: impl Write + Send + 'static) -> Self {
        LogNotifier {
            out: Mutex::new(Box::new(out)),
        }
    }
}

impl Notifier for LogNotifier {
    fn name(&self) -> &'static str {
        "log"
    }

    fn notify(&self, alert: &DriftAlert) -> Result<(), NotifyError> {
        let mut out = self.out.lock().unwrap_or_else(|e| e.into_inner());
        writeln!(out, "recwatch drift alert: {}", alert.summary())
            .and_then(|_| out.flush())
            .map_err(|source| NotifyError::Write { source })
    }
}
