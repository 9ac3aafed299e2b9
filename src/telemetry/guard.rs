//! [`Telemetry`] (a built, not yet installed stack) and its [`Guard`], the handle of the
//! export pipelines and the log writer thread.

use std::sync::Arc;
use std::time::{Duration, Instant};

use opentelemetry_sdk::error::OTelSdkError;
use opentelemetry_sdk::logs::SdkLoggerProvider;
use opentelemetry_sdk::trace::SdkTracerProvider;
use tracing::Dispatch;

use super::export::QueueState;
use super::log_pipe::PipeHandle;
use super::TelemetryError;

/// A built but not yet installed telemetry stack: the subscriber as a [`Dispatch`] plus its
/// [`Guard`]. Made by [`TelemetryConfig::build`](super::TelemetryConfig::build).
///
/// Use [`install`](Self::install) to make it the global default (what
/// [`TelemetryConfig::install`](super::TelemetryConfig::install) does), or
/// [`into_parts`](Self::into_parts) to scope the subscriber with
/// [`tracing::dispatcher::with_default`] (tests, or a host that owns the global one).
///
/// ```
/// use std::time::Duration;
/// use recwatch::telemetry::{LogFormat, TelemetryConfig};
///
/// let (dispatch, guard) = TelemetryConfig::new()
///     .with_log_format(LogFormat::Off)
///     .build()?
///     .into_parts();
/// tracing::dispatcher::with_default(&dispatch, || tracing::info!("scoped"));
/// guard.shutdown(Duration::from_secs(1))?;
/// # Ok::<(), recwatch::telemetry::TelemetryError>(())
/// ```
#[derive(Debug)]
#[must_use = "a built telemetry stack does nothing until installed or used as a dispatch"]
pub struct Telemetry {
    pub(crate) dispatch: Dispatch,
    pub(crate) guard: Guard,
    /// The most verbose level the filter lets through, for the `log` crate bridge.
    pub(crate) log_level: log::LevelFilter,
    pub(crate) log_bridge: bool,
}

impl Telemetry {
    /// The subscriber.
    pub fn dispatch(&self) -> &Dispatch {
        &self.dispatch
    }

    /// Makes the subscriber the global default, the tracer provider and the W3C propagators
    /// (trace context + baggage) OpenTelemetry's globals, and, unless turned off with
    /// [`with_log_bridge`](super::TelemetryConfig::with_log_bridge), forwards the `log` crate's
    /// records to the subscriber (when another `log` logger is already installed, it stays and
    /// a warning says so).
    ///
    /// # Errors
    ///
    /// [`TelemetryError::SubscriberAlreadySet`] when a global subscriber exists; nothing is
    /// changed then.
    pub fn install(self) -> Result<Guard, TelemetryError> {
        let Self {
            dispatch,
            guard,
            log_level,
            log_bridge,
        } = self;
        tracing::dispatcher::set_global_default(dispatch)
            .map_err(|source| TelemetryError::SubscriberAlreadySet { source })?;
        opentelemetry::global::set_tracer_provider(guard.tracer_provider.clone());
        opentelemetry::global::set_text_map_propagator(super::propagation::w3c());
        if log_bridge {
            let mut bridge = tracing_log::LogTracer::builder().with_max_level(log_level);
            for name in super::subscriber::EXPORT_INTERNALS {
                bridge = bridge.ignore_crate(*name);
            }
            if let Err(error) = bridge.init() {
                tracing::warn!(
                    target: "recwatch::telemetry",
                    error = &error as &(dyn std::error::Error + 'static),
                    "records of the `log` crate do not reach this subscriber: another logger is \
                     installed"
                );
            }
        }
        Ok(guard)
    }

    /// The subscriber and the guard, without installing anything.
    pub fn into_parts(self) -> (Dispatch, Guard) {
        (self.dispatch, self.guard)
    }
}

/// The handle of the export pipelines and the log writer thread.
///
/// It follows the crate's handle rule:
///
/// - **dropping** it flushes and shuts the exporters down, waiting at most
///   [`with_shutdown_timeout`](super::TelemetryConfig::with_shutdown_timeout) in all, ignoring
///   errors: spans, logs and lines still queued are sent, nothing after that is;
/// - [`detach`](Self::detach) keeps everything running for as long as the subscriber lives (the
///   rest of the process once installed), for programs that never shut down in order;
/// - [`shutdown`](Self::shutdown) flushes and stops now, waiting at most the given timeout, and
///   says what failed or timed out.
///
/// The flush blocks the current thread. With gRPC export it needs the Tokio runtime to make
/// progress, so shut down with `tokio::task::spawn_blocking(move || guard.shutdown(t))` or after
/// the runtime has finished.
///
/// ```
/// use std::time::Duration;
/// use recwatch::telemetry::{LogFormat, TelemetryConfig};
///
/// let (_dispatch, guard) = TelemetryConfig::new()
///     .with_log_format(LogFormat::Off)
///     .build()?
///     .into_parts();
/// assert!(!guard.exports_traces());
/// assert_eq!(guard.dropped_spans(), 0);
/// guard.shutdown(Duration::from_secs(1))?;
/// # Ok::<(), recwatch::telemetry::TelemetryError>(())
/// ```
#[derive(Debug)]
#[must_use = "dropping the guard shuts telemetry export down; `detach` keeps it running"]
pub struct Guard {
    pub(crate) tracer_provider: SdkTracerProvider,
    pub(crate) logger_provider: Option<SdkLoggerProvider>,
    pub(crate) queue: Option<Arc<QueueState>>,
    pub(crate) log_pipe: Option<PipeHandle>,
    pub(crate) timeout: Duration,
    pub(crate) done: bool,
}

impl Guard {
    /// Spans dropped so far because the export queue was full (collector down or slow).
    pub fn dropped_spans(&self) -> u64 {
        self.queue.as_ref().map_or(0, |q| q.dropped())
    }

    /// Log lines dropped so far because the log queue was full (output slower than logging).
    pub fn dropped_log_lines(&self) -> u64 {
        self.log_pipe.as_ref().map_or(0, |p| p.stats.dropped())
    }

    /// Whether spans are being exported over OTLP.
    pub fn exports_traces(&self) -> bool {
        self.queue.is_some()
    }

    /// Whether logs are being exported over OTLP.
    pub fn exports_logs(&self) -> bool {
        self.logger_provider.is_some()
    }

    /// Sends everything queued now, waiting for the exporters, and writes every queued log line
    /// (waiting at most the shutdown timeout for those).
    ///
    /// # Errors
    ///
    /// [`TelemetryError::Shutdown`] when an exporter's flush fails, and
    /// [`TelemetryError::ShutdownTimedOut`] when the log lines are not written in time.
    pub fn force_flush(&self) -> Result<(), TelemetryError> {
        if let Some(pipe) = &self.log_pipe {
            if !pipe.flush(self.timeout) {
                return Err(TelemetryError::ShutdownTimedOut {
                    signal: "log lines",
                    timeout: self.timeout,
                });
            }
        }
        self.tracer_provider
            .force_flush()
            .map_err(|e| sdk_error("traces", e, self.timeout, None))?;
        if let Some(logs) = &self.logger_provider {
            logs.force_flush()
                .map_err(|e| sdk_error("logs", e, self.timeout, None))?;
        }
        Ok(())
    }

    /// Keeps the exporters and the log writer running for as long as the subscriber lives;
    /// nothing is flushed when the program ends without a shutdown.
    pub fn detach(mut self) {
        // The subscriber's layers own the providers and the pipe too; only the guard lets go.
        self.done = true;
    }

    /// Flushes and shuts the exporters down now, waiting at most `timeout` in all, and reports
    /// the totals of dropped spans and lines, if any.
    ///
    /// # Errors
    ///
    /// [`TelemetryError::ShutdownTimedOut`] when `timeout` runs out first (a collector that does
    /// not answer), [`TelemetryError::Shutdown`] when an exporter fails; the first of these, in
    /// the order traces, logs, log lines. Everything is shut down either way.
    pub fn shutdown(mut self, timeout: Duration) -> Result<(), TelemetryError> {
        self.shutdown_inner(timeout)
    }

    fn shutdown_inner(&mut self, timeout: Duration) -> Result<(), TelemetryError> {
        if std::mem::replace(&mut self.done, true) {
            return Ok(());
        }
        let deadline = Instant::now() + timeout;
        let left = || deadline.saturating_duration_since(Instant::now());
        let dropped = self.dropped_spans();
        if dropped > 0 {
            tracing::warn!(
                target: "recwatch::telemetry",
                dropped_spans = dropped,
                "spans dropped in total because the export queue was full"
            );
        }
        let dropped = self.dropped_log_lines();
        if dropped > 0 {
            tracing::warn!(
                target: "recwatch::telemetry",
                dropped_log_lines = dropped,
                "log lines dropped in total because the log queue was full"
            );
        }
        let traces = self
            .tracer_provider
            .shutdown_with_timeout(left())
            .map_err(|e| sdk_error("traces", e, timeout, Some(deadline)));
        let logs = match &self.logger_provider {
            Some(p) => p
                .shutdown_with_timeout(left())
                .map_err(|e| sdk_error("logs", e, timeout, Some(deadline))),
            None => Ok(()),
        };
        // Last, so the lines above (and the exporters' last words) are written.
        let lines = match &self.log_pipe {
            Some(pipe) if !pipe.flush(left()) => Err(TelemetryError::ShutdownTimedOut {
                signal: "log lines",
                timeout,
            }),
            _ => Ok(()),
        };
        traces.and(logs).and(lines)
    }
}

/// A timeout is its own variant — the SDK's own, or any failure once the deadline has passed
/// (the SDK reports a processor's timeout inside a generic failure); other errors keep their
/// cause.
fn sdk_error(
    signal: &'static str,
    error: OTelSdkError,
    timeout: Duration,
    deadline: Option<Instant>,
) -> TelemetryError {
    let past_deadline = deadline.is_some_and(|d| Instant::now() >= d);
    match error {
        OTelSdkError::Timeout(_) => TelemetryError::ShutdownTimedOut { signal, timeout },
        _ if past_deadline => TelemetryError::ShutdownTimedOut { signal, timeout },
        source => TelemetryError::Shutdown { signal, source },
    }
}

impl Drop for Guard {
    fn drop(&mut self) {
        let _ = self.shutdown_inner(self.timeout);
    }
}
