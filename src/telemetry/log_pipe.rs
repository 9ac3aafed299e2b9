//! Log lines leave the calling thread through a bounded queue: a slow stdout (a stalled log
//! shipper, a full pipe) never blocks an async worker. When the queue is full, lines are dropped
//! and counted, never waited for.

use std::io::{self, Write};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::{self, Receiver, SyncSender, TrySendError};
use std::sync::Arc;
use std::time::Duration;

use tracing_subscriber::fmt::writer::BoxMakeWriter;
use tracing_subscriber::fmt::MakeWriter;

/// Name of the counter incremented for every log line dropped because the log queue was full.
///
/// ```
/// assert_eq!(
///     recwatch::telemetry::DROPPED_LOG_LINES_METRIC,
///     "recwatch_telemetry_dropped_log_lines_total"
/// );
/// ```
pub const DROPPED_LOG_LINES_METRIC: &str = "recwatch_telemetry_dropped_log_lines_total";

enum Msg {
    Line(Vec<u8>),
    Flush(mpsc::Sender<()>),
}

#[derive(Debug, Default)]
pub(crate) struct PipeStats {
    dropped: AtomicU64,
    reported: AtomicBool,
}

impl PipeStats {
    pub(crate) fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }
}

/// The `MakeWriter` handed to the fmt layer.
pub(crate) struct LogPipe {
    tx: SyncSender<Msg>,
    stats: Arc<PipeStats>,
}

/// Kept by the guard, to flush at shutdown.
#[derive(Debug)]
pub(crate) struct PipeHandle {
    tx: SyncSender<Msg>,
    pub(crate) stats: Arc<PipeStats>,
}

impl std::fmt::Debug for LogPipe {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LogPipe").finish_non_exhaustive()
    }
}

/// Starts the writer thread that owns `target`.
pub(crate) fn spawn(target: BoxMakeWriter, capacity: usize) -> io::Result<(LogPipe, PipeHandle)> {
    let (tx, rx) = mpsc::sync_channel(capacity.max(1));
    let stats = Arc::new(PipeStats::default());
    let thread_stats = stats.clone();
    std::thread::Builder::new()
        .name("recwatch-log-writer".into())
        .spawn(move || drain(rx, target, thread_stats))?;
    Ok((
        LogPipe {
            tx: tx.clone(),
            stats: stats.clone(),
        },
        PipeHandle { tx, stats },
    ))
}

fn drain(rx: Receiver<Msg>, target: BoxMakeWriter, stats: Arc<PipeStats>) {
    while let Ok(msg) = rx.recv() {
        match msg {
            Msg::Line(line) => {
                let mut w = target.make_writer();
                let _ = w.write_all(&line);
                let _ = w.flush();
                let dropped = stats.dropped();
                if dropped > 0 && !stats.reported.swap(true, Ordering::Relaxed) {
                    // Not inside a subscriber callback here, so emitting an event is safe.
                    tracing::warn!(
                        target: "recwatch::telemetry",
                        dropped_log_lines = dropped,
                        "log queue full: output is slower than logging; dropping lines \
                         (reported once; the total is logged at shutdown and counted in \
                         {DROPPED_LOG_LINES_METRIC})"
                    );
                }
            }
            Msg::Flush(ack) => {
                let _ = target.make_writer().flush();
                let _ = ack.send(());
            }
        }
    }
}

impl PipeHandle {
    /// Waits, at most `timeout`, until every line queued before this call is written.
    pub(crate) fn flush(&self, timeout: Duration) -> bool {
        let (ack_tx, ack_rx) = mpsc::channel();
        // Blocking send on purpose: the guard flushes at shutdown, off the hot path; bounded by
        // the writer making progress, then by `timeout`.
        if self.tx.send(Msg::Flush(ack_tx)).is_err() {
            return false;
        }
        ack_rx.recv_timeout(timeout).is_ok()
    }
}

/// Buffers one event's output; hands it to the writer thread when the event is done.
pub(crate) struct LineWriter<'a> {
    buf: Vec<u8>,
    pipe: &'a LogPipe,
}

impl Write for LineWriter<'_> {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        self.buf.extend_from_slice(data);
        Ok(data.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl Drop for LineWriter<'_> {
    fn drop(&mut self) {
        if self.buf.is_empty() {
            return;
        }
        let line = std::mem::take(&mut self.buf);
        match self.pipe.tx.try_send(Msg::Line(line)) {
            Ok(()) => {}
            Err(TrySendError::Full(_)) => {
                self.pipe.stats.dropped.fetch_add(1, Ordering::Relaxed);
                metrics::counter!(DROPPED_LOG_LINES_METRIC).increment(1);
            }
            // The writer thread is gone (it cannot panic short of a panicking writer): write
            // here rather than lose the line.
            Err(TrySendError::Disconnected(Msg::Line(line))) => {
                let _ = io::stderr().write_all(&line);
            }
            Err(TrySendError::Disconnected(Msg::Flush(_))) => {}
        }
    }
}

impl<'a> MakeWriter<'a> for LogPipe {
    type Writer = LineWriter<'a>;

    fn make_writer(&'a self) -> Self::Writer {
        LineWriter {
            buf: Vec::with_capacity(256),
            pipe: self,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;

    #[test]
    fn lines_arrive_in_order_and_flush_waits_for_them() {
        let out = Arc::new(Mutex::new(Vec::<u8>::new()));
        let sink = out.clone();
        let target = BoxMakeWriter::new(move || SinkWriter(sink.clone()));
        let (pipe, handle) = spawn(target, 64).unwrap();
        for i in 0..10 {
            let mut w = pipe.make_writer();
            writeln!(w, "line {i}").unwrap();
        }
        assert!(handle.flush(Duration::from_secs(10)));
        let text = String::from_utf8(out.lock().unwrap().clone()).unwrap();
        let expected: String = (0..10).map(|i| format!("line {i}\n")).collect();
        assert_eq!(text, expected);
        assert_eq!(handle.stats.dropped(), 0);
    }

    #[test]
    fn full_queue_drops_instead_of_blocking() {
        // A writer that blocks until released: models a stalled log shipper.
        let gate = Arc::new(Mutex::new(()));
        let held = gate.lock().unwrap();
        let g = gate.clone();
        let target = BoxMakeWriter::new(move || BlockedWriter(g.clone()));
        let (pipe, handle) = spawn(target, 4).unwrap();
        for _ in 0..100 {
            let mut w = pipe.make_writer();
            w.write_all(b"x\n").unwrap();
        }
        // One line may be in the writer's hands, four queued: the rest dropped.
        assert!(handle.stats.dropped() >= 95, "{}", handle.stats.dropped());
        drop(held);
        assert!(handle.flush(Duration::from_secs(10)));
    }

    struct SinkWriter(Arc<Mutex<Vec<u8>>>);

    impl Write for SinkWriter {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    struct BlockedWriter(Arc<Mutex<()>>);

    impl Write for BlockedWriter {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            let _wait = self.0.lock().unwrap();
            Ok(buf.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }
}
