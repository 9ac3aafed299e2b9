//! Span export with a bounded queue that never blocks the caller, and a drop counter that is
//! reported once.

use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use opentelemetry::Context;
use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::trace::{
    BatchConfigBuilder, BatchSpanProcessor, Span, SpanData, SpanExporter, SpanProcessor,
};
use opentelemetry_sdk::Resource;

/// Name of the counter incremented for every span dropped because the export queue was full.
///
/// Recorded through the `metrics` facade, so it appears on `/metrics` when the recwatch exporter
/// is installed.
///
/// ```
/// assert_eq!(
///     recwatch::telemetry::DROPPED_SPANS_METRIC,
///     "recwatch_telemetry_dropped_spans_total"
/// );
/// ```
pub const DROPPED_SPANS_METRIC: &str = "recwatch_telemetry_dropped_spans_total";

/// Shared between the processor (producer side) and the exporter (consumer side).
#[derive(Debug)]
pub(crate) struct QueueState {
    /// Spans accepted and not yet handed to the exporter.
    pending: AtomicUsize,
    capacity: usize,
    dropped: AtomicU64,
    reported: AtomicBool,
}

impl QueueState {
    pub(crate) fn new(capacity: usize) -> Arc<Self> {
        Arc::new(Self {
            pending: AtomicUsize::new(0),
            capacity,
            dropped: AtomicU64::new(0),
            reported: AtomicBool::new(false),
        })
    }

    pub(crate) fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }

    /// Reports the first drop, once, from the export thread (never from inside a subscriber
    /// callback, where emitting an event would re-enter the subscriber).
    fn report_once(&self) {
        let dropped = self.dropped();
        if dropped > 0 && !self.reported.swap(true, Ordering::Relaxed) {
            tracing::warn!(
                target: "recwatch::telemetry",
                dropped_spans = dropped,
                queue_size = self.capacity,
                "span export queue full: the collector is down or slow; dropping new spans \
                 (reported once; the total is logged at shutdown and counted in {DROPPED_SPANS_METRIC})"
            );
        }
    }
}

/// Wraps the SDK's batch processor: admits a span only while fewer than `capacity` are pending,
/// so the inner queue (same capacity) never fills and every drop is ours to count.
#[derive(Debug)]
pub(crate) struct CountingProcessor {
    inner: BatchSpanProcessor,
    state: Arc<QueueState>,
}

impl CountingProcessor {
    pub(crate) fn new<E>(exporter: E, state: Arc<QueueState>, delay: Duration) -> Self
    where
        E: SpanExporter + 'static,
    {
        let config = BatchConfigBuilder::default()
            .with_max_queue_size(state.capacity)
            .with_max_export_batch_size(state.capacity.min(512))
            .with_scheduled_delay(delay)
            .build();
        let exporter = CountingExporter {
            inner: exporter,
            state: state.clone(),
        };
        Self {
            inner: BatchSpanProcessor::builder(exporter)
                .with_batch_config(config)
                .build(),
            state,
        }
    }
}

impl SpanProcessor for CountingProcessor {
    fn on_start(&self, span: &mut Span, cx: &Context) {
        self.inner.on_start(span, cx);
    }

    fn on_end(&self, span: SpanData) {
        let admitted = self
            .state
            .pending
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |p| {
                (p < self.state.capacity).then_some(p + 1)
            })
            .is_ok();
        if admitted {
            self.inner.on_end(span);
        } else {
            self.state.dropped.fetch_add(1, Ordering::Relaxed);
            metrics::counter!(DROPPED_SPANS_METRIC).increment(1);
        }
    }

    fn force_flush(&self) -> OTelSdkResult {
        self.inner.force_flush()
    }

    fn shutdown_with_timeout(&self, timeout: Duration) -> OTelSdkResult {
        self.inner.shutdown_with_timeout(timeout)
    }

    fn set_resource(&mut self, resource: &Resource) {
        self.inner.set_resource(resource);
    }
}

/// Releases queue slots as batches leave for the collector.
#[derive(Debug)]
struct CountingExporter<E> {
    inner: E,
    state: Arc<QueueState>,
}

impl<E: SpanExporter> SpanExporter for CountingExporter<E> {
    fn export(
        &self,
        batch: Vec<SpanData>,
    ) -> impl std::future::Future<Output = OTelSdkResult> + Send {
        let n = batch.len();
        // Saturating: never underflow even if the SDK hands over something we did not count.
        let _ = self
            .state
            .pending
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |p| {
                Some(p.saturating_sub(n))
            });
        self.state.report_once();
        self.inner.export(batch)
    }

    fn shutdown_with_timeout(&self, timeout: Duration) -> OTelSdkResult {
        self.inner.shutdown_with_timeout(timeout)
    }

    fn force_flush(&self) -> OTelSdkResult {
        self.inner.force_flush()
    }

    fn set_resource(&mut self, resource: &Resource) {
        self.inner.set_resource(resource);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use opentelemetry::trace::{Tracer, TracerProvider as _};
    use opentelemetry_sdk::trace::SdkTracerProvider;
    use std::sync::Mutex;

    /// An exporter that never finishes quickly: models a collector that does not answer.
    #[derive(Debug, Default)]
    struct Stuck {
        seen: Arc<Mutex<usize>>,
    }

    impl SpanExporter for Stuck {
        async fn export(&self, batch: Vec<SpanData>) -> OTelSdkResult {
            *self.seen.lock().unwrap() += batch.len();
            std::thread::sleep(Duration::from_millis(200));
            Ok(())
        }
    }

    #[test]
    fn full_queue_drops_and_counts_without_blocking() {
        let state = QueueState::new(8);
        let processor =
            CountingProcessor::new(Stuck::default(), state.clone(), Duration::from_secs(60));
        let provider = SdkTracerProvider::builder()
            .with_span_processor(processor)
            .build();
        let tracer = provider.tracer("t");
        for _ in 0..100 {
            tracer.in_span("s", |_| {});
        }
        // At most `capacity` are pending at any time, so at least 100 - 8 - (exported) dropped;
        // with a 60 s delay nothing is exported before the queue fills.
        assert!(state.dropped() >= 92 - 8, "dropped {}", state.dropped());
        assert!(state.pending.load(Ordering::Relaxed) <= 8);
        let _ = provider.shutdown_with_timeout(Duration::from_secs(2));
    }
}
